//! Reading a container's cgroup: resource usage for `stats` and the process list for `top`.
//!
//! # Design
//! libcontainer *creates* the cgroup (`linux.cgroupsPath`, e.g. `/berth/<id>`) and writes the
//! limits; this module only *reads* it, with plain file reads, so that `stats` needs neither
//! a cgroup manager nor libcontainer's state. Three layouts exist (see
//! `Documentation/admin-guide/cgroup-v2.rst` and systemd's "cgroup delegation" notes):
//! * **legacy**: one cgroup v1 hierarchy per controller (`/sys/fs/cgroup/memory`, …);
//! * **hybrid**: the same, plus a cgroup2 mount (`/sys/fs/cgroup/unified`) that carries no
//!   resource controllers, so containers are accounted in v1 only (libcontainer's v1
//!   manager is used there too);
//! * **unified**: one cgroup2 hierarchy (`/sys/fs/cgroup`).
//!
//! The mount points come from `/proc/self/mountinfo` ([`Layout::detect`]), so co-mounted
//! controllers (`cpu,cpuacct`) and unusual roots work; [`Layout::from_mountinfo`] takes the
//! text so tests can describe any host. The values are what moby's stats collector reports
//! (`daemon/stats_linux.go`): `cpuacct.usage` or `cpu.stat usage_usec`, `memory.usage_in_bytes`
//! or `memory.current` with the whole `memory.stat`, `pids.current`, and the first non-empty
//! blkio file in runc's order (`libcontainer/cgroups/fs/blkio.go`) or `io.stat`.
//! A file that does not exist reads as zero (a controller that is not mounted or not
//! enabled); a cgroup that does not exist reads as `None` (the container just exited).

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use berth_types::{Classify, ErrorKind};

/// Why a cgroup or `/proc` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// Reading a file failed (other than it not existing).
    #[error("failed to read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A file did not have the kernel's format.
    #[error("malformed {path}: {detail}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// `/proc/self/mountinfo` lists no cgroup hierarchy.
    #[error("no cgroup hierarchy is mounted")]
    NoHierarchy,
    /// A cgroup path that is not absolute or leaves the hierarchy (`..`).
    #[error("invalid cgroup path {0:?}")]
    InvalidPath(String),
}

impl CgroupError {
    /// The file concerned, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            CgroupError::Read { path, .. } | CgroupError::Parse { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl Classify for CgroupError {
    fn kind(&self) -> ErrorKind {
        match self {
            CgroupError::InvalidPath(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

type Result<T> = std::result::Result<T, CgroupError>;

/// The cgroup layout of the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hierarchy {
    /// cgroup v1 only.
    Legacy,
    /// cgroup v1 controllers plus a cgroup2 mount without them: accounting is in v1.
    Hybrid,
    /// cgroup v2 only.
    Unified,
}

/// The v1 controllers whose hierarchies berth reads or that hold a container's processes.
const V1_CONTROLLERS: &[&str] = &[
    "blkio",
    "cpu",
    "cpuacct",
    "cpuset",
    "devices",
    "freezer",
    "hugetlb",
    "memory",
    "net_cls",
    "net_prio",
    "perf_event",
    "pids",
    "rdma",
    "misc",
];

/// Where the cgroup hierarchies of this host are mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    hierarchy: Hierarchy,
    /// v1 controller name → its hierarchy's mount point (legacy and hybrid).
    controllers: BTreeMap<String, PathBuf>,
    /// The cgroup2 mount point, if any.
    unified: Option<PathBuf>,
}

/// One reading of a cgroup, in the units moby reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupStats {
    /// CPU time used by all tasks, nanoseconds.
    pub cpu_usage_ns: u64,
    /// Memory use and limit.
    pub memory: MemoryStats,
    /// Tasks in the cgroup (`pids.current`).
    pub pids_current: u64,
    /// `pids.max`; `None` when unlimited or unknown.
    pub pids_limit: Option<u64>,
    /// Bytes read from and written to block devices.
    pub blkio: BlkioStats,
}

/// Memory use of a cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// `memory.usage_in_bytes` (v1) or `memory.current` (v2): includes the page cache.
    pub usage: u64,
    /// `memory.limit_in_bytes` (v1, a huge number when unlimited) or `memory.max` (v2,
    /// `u64::MAX` for `max`).
    pub limit: u64,
    /// `memory.stat` as name → value (`total_inactive_file` only exists on v1; the docker
    /// CLI uses that to tell the versions apart).
    pub stat: BTreeMap<String, u64>,
}

/// Block I/O of a cgroup, summed over devices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlkioStats {
    /// Bytes read.
    pub read_bytes: u64,
    /// Bytes written.
    pub write_bytes: u64,
}

/// The host's CPU time, as moby's `getSystemCPUUsage` computes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostCpu {
    /// Sum of the first seven fields of the `cpu` line of `/proc/stat` (user, nice, system,
    /// idle, iowait, irq, softirq), in nanoseconds.
    pub usage_ns: u64,
    /// Number of `cpuN` lines: the online CPUs.
    pub online_cpus: u32,
}

/// Traffic of one network interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetDev {
    /// Interface name.
    pub name: String,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
}

impl Layout {
    /// The layout of this host, from `/proc/self/mountinfo`.
    pub fn detect() -> Result<Layout> {
        let path = Path::new("/proc/self/mountinfo");
        let text = std::fs::read_to_string(path).map_err(|source| CgroupError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Layout::from_mountinfo(&text)
    }

    /// The layout described by the text of a `mountinfo` file (proc(5)).
    pub fn from_mountinfo(text: &str) -> Result<Layout> {
        let mut controllers = BTreeMap::new();
        let mut unified: Vec<PathBuf> = Vec::new();
        for line in text.lines() {
            // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
            let Some((left, right)) = line.split_once(" - ") else {
                continue;
            };
            let Some(mount_point) = left.split(' ').nth(4) else {
                continue;
            };
            let mut r = right.split(' ');
            let fstype = r.next().unwrap_or("");
            let super_opts = r.nth(1).unwrap_or("");
            let mount_point = PathBuf::from(unescape(mount_point));
            match fstype {
                "cgroup2" => unified.push(mount_point),
                "cgroup" => {
                    for opt in super_opts.split(',') {
                        if V1_CONTROLLERS.contains(&opt) {
                            controllers
                                .entry(opt.to_string())
                                .or_insert_with(|| mount_point.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        // libcontainer's v2 root is /sys/fs/cgroup; prefer it when it is the cgroup2 mount.
        let default_root = Path::new("/sys/fs/cgroup");
        let unified = unified
            .iter()
            .find(|p| p.as_path() == default_root)
            .or(unified.first())
            .cloned();
        let hierarchy = match (controllers.is_empty(), &unified) {
            (true, None) => return Err(CgroupError::NoHierarchy),
            (true, Some(_)) => Hierarchy::Unified,
            (false, None) => Hierarchy::Legacy,
            (false, Some(_)) => Hierarchy::Hybrid,
        };
        Ok(Layout {
            hierarchy,
            controllers,
            unified,
        })
    }

    /// A cgroup v2 layout rooted at `root` (for tests and hosts without `/proc`).
    pub fn unified_at(root: impl Into<PathBuf>) -> Layout {
        Layout {
            hierarchy: Hierarchy::Unified,
            controllers: BTreeMap::new(),
            unified: Some(root.into()),
        }
    }

    /// A cgroup v1 layout with one hierarchy per controller under `root`
    /// (`root/memory`, `root/cpuacct`, …), as most v1 hosts mount them.
    pub fn legacy_at(root: impl AsRef<Path>) -> Layout {
        let root = root.as_ref();
        Layout {
            hierarchy: Hierarchy::Legacy,
            controllers: V1_CONTROLLERS
                .iter()
                .map(|c| (c.to_string(), root.join(c)))
                .collect(),
            unified: None,
        }
    }

    /// The kind of layout.
    pub fn hierarchy(&self) -> Hierarchy {
        self.hierarchy
    }

    /// Whether resource accounting happens in cgroup v2.
    pub fn is_unified(&self) -> bool {
        self.hierarchy == Hierarchy::Unified
    }

    /// The directory of `cgroup` (absolute, as in the OCI spec's `cgroupsPath`) for a v1
    /// `controller`, or in the unified hierarchy (where `controller` is ignored). `None`
    /// when that v1 controller is not mounted.
    pub fn dir(&self, controller: &str, cgroup: &str) -> Result<Option<PathBuf>> {
        let rel = relative(cgroup)?;
        let base = if self.is_unified() {
            self.unified.as_ref()
        } else {
            self.controllers.get(controller)
        };
        Ok(base.map(|b| b.join(&rel)))
    }

    /// Reads the usage of `cgroup`; `None` when the cgroup does not exist (anymore).
    pub fn stats(&self, cgroup: &str) -> Result<Option<CgroupStats>> {
        if !self.exists(cgroup)? {
            return Ok(None);
        }
        let s = if self.is_unified() {
            let dir = self.dir("", cgroup)?.expect("unified layout has a root");
            stats_v2(&dir)?
        } else {
            self.stats_v1(cgroup)?
        };
        Ok(Some(s))
    }

    fn exists(&self, cgroup: &str) -> Result<bool> {
        Ok(self.procs_dir(cgroup)?.is_some())
    }

    /// The directory whose `cgroup.procs` lists the cgroup's processes: the unified one, or
    /// the first mounted v1 controller that has the cgroup (libcontainer adds the container
    /// to every mounted controller).
    fn procs_dir(&self, cgroup: &str) -> Result<Option<PathBuf>> {
        if self.is_unified() {
            return Ok(self.dir("", cgroup)?.filter(|d| d.is_dir()));
        }
        for c in [
            "pids", "memory", "cpuacct", "cpu", "devices", "freezer", "cpuset", "blkio",
        ] {
            if let Some(d) = self.dir(c, cgroup)? {
                if d.is_dir() {
                    return Ok(Some(d));
                }
            }
        }
        Ok(None)
    }

    fn stats_v1(&self, cgroup: &str) -> Result<CgroupStats> {
        let mut s = CgroupStats::default();
        if let Some(d) = self.dir("cpuacct", cgroup)? {
            s.cpu_usage_ns = read_u64(&d.join("cpuacct.usage"))?.unwrap_or(0);
        }
        if let Some(d) = self.dir("memory", cgroup)? {
            s.memory.usage = read_u64(&d.join("memory.usage_in_bytes"))?.unwrap_or(0);
            s.memory.limit = read_u64(&d.join("memory.limit_in_bytes"))?.unwrap_or(u64::MAX);
            s.memory.stat = read_flat_keyed(&d.join("memory.stat"))?;
        }
        if let Some(d) = self.dir("pids", cgroup)? {
            s.pids_current = read_u64(&d.join("pids.current"))?.unwrap_or(0);
            s.pids_limit = read_max(&d.join("pids.max"))?;
        }
        if let Some(d) = self.dir("blkio", cgroup)? {
            s.blkio = blkio_v1(&d)?;
        }
        Ok(s)
    }

    /// The host pids of every process in `cgroup` and its descendants, sorted; empty when
    /// the cgroup does not exist.
    pub fn pids(&self, cgroup: &str) -> Result<Vec<i32>> {
        let Some(dir) = self.procs_dir(cgroup)? else {
            return Ok(Vec::new());
        };
        let mut pids = Vec::new();
        collect_procs(&dir, &mut pids)?;
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }
}

/// `cgroup` without its leading `/`, refusing anything that could leave the hierarchy.
fn relative(cgroup: &str) -> Result<PathBuf> {
    let p = Path::new(cgroup);
    let mut rel = PathBuf::new();
    for c in p.components() {
        match c {
            Component::RootDir | Component::CurDir => {}
            Component::Normal(n) => rel.push(n),
            Component::ParentDir | Component::Prefix(_) => {
                return Err(CgroupError::InvalidPath(cgroup.to_string()))
            }
        }
    }
    if !p.is_absolute() || rel.as_os_str().is_empty() {
        return Err(CgroupError::InvalidPath(cgroup.to_string()));
    }
    Ok(rel)
}

fn collect_procs(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let procs = dir.join("cgroup.procs");
    let Some(text) = read_opt(&procs)? else {
        return Ok(());
    };
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        out.push(line.parse().map_err(|_| CgroupError::Parse {
            path: procs.clone(),
            detail: format!("bad pid {line:?}"),
        })?);
    }
    // Sub-cgroups the container made for itself (the kernel lists only direct members).
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            collect_procs(&e.path(), out)?;
        }
    }
    Ok(())
}

fn stats_v2(dir: &Path) -> Result<CgroupStats> {
    let cpu = read_flat_keyed(&dir.join("cpu.stat"))?;
    let io = read_opt(&dir.join("io.stat"))?.unwrap_or_default();
    Ok(CgroupStats {
        cpu_usage_ns: cpu.get("usage_usec").copied().unwrap_or(0) * 1000,
        memory: MemoryStats {
            usage: read_u64(&dir.join("memory.current"))?.unwrap_or(0),
            limit: read_max(&dir.join("memory.max"))?.unwrap_or(u64::MAX),
            stat: read_flat_keyed(&dir.join("memory.stat"))?,
        },
        pids_current: read_u64(&dir.join("pids.current"))?.unwrap_or(0),
        pids_limit: read_max(&dir.join("pids.max"))?,
        blkio: parse_io_stat(&io),
    })
}

/// runc's order: the first of these files that has entries wins.
const BLKIO_V1_FILES: &[&str] = &[
    "blkio.bfq.io_service_bytes_recursive",
    "blkio.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes_recursive",
    "blkio.throttle.io_service_bytes",
];

fn blkio_v1(dir: &Path) -> Result<BlkioStats> {
    for f in BLKIO_V1_FILES {
        if let Some(text) = read_opt(&dir.join(f))? {
            if let Some(s) = parse_blkio_v1(&text) {
                return Ok(s);
            }
        }
    }
    Ok(BlkioStats::default())
}

/// `MAJ:MIN Op VALUE` lines (and a final `Total VALUE`); `None` when there is no device line.
fn parse_blkio_v1(text: &str) -> Option<BlkioStats> {
    let mut s = BlkioStats::default();
    let mut any = false;
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 3 || !f[0].contains(':') {
            continue;
        }
        any = true;
        let v: u64 = f[2].parse().unwrap_or(0);
        match f[1] {
            "Read" => s.read_bytes += v,
            "Write" => s.write_bytes += v,
            _ => {}
        }
    }
    any.then_some(s)
}

/// `MAJ:MIN rbytes=N wbytes=N rios=N …` lines of a v2 `io.stat`.
fn parse_io_stat(text: &str) -> BlkioStats {
    let mut s = BlkioStats::default();
    for kv in text.split_whitespace() {
        if let Some((k, v)) = kv.split_once('=') {
            let v: u64 = v.parse().unwrap_or(0);
            match k {
                "rbytes" => s.read_bytes += v,
                "wbytes" => s.write_bytes += v,
                _ => {}
            }
        }
    }
    s
}

/// The host's CPU time and online CPUs from `/proc/stat`.
pub fn host_cpu() -> Result<HostCpu> {
    let path = Path::new("/proc/stat");
    let text = read_opt(path)?.unwrap_or_default();
    parse_proc_stat(&text).ok_or_else(|| CgroupError::Parse {
        path: path.to_path_buf(),
        detail: "no cpu line with seven fields".into(),
    })
}

/// Clock ticks per second of `/proc/stat`: `USER_HZ`, 100 on every Linux architecture
/// (moby hard-codes it too, `daemon/stats/collector_unix.go`).
const CLOCK_TICKS: u64 = 100;

fn parse_proc_stat(text: &str) -> Option<HostCpu> {
    let mut usage = None;
    let mut cpus = 0u32;
    for line in text.lines() {
        let mut f = line.split_whitespace();
        match f.next() {
            Some("cpu") => {
                let vals: Vec<u64> = f.take(7).filter_map(|v| v.parse().ok()).collect();
                if vals.len() == 7 {
                    let ticks: u64 = vals.iter().sum();
                    usage = Some(ticks.saturating_mul(1_000_000_000 / CLOCK_TICKS));
                }
            }
            Some(n) if n.starts_with("cpu") && n[3..].bytes().all(|b| b.is_ascii_digit()) => {
                cpus += 1
            }
            _ => {}
        }
    }
    Some(HostCpu {
        usage_ns: usage?,
        online_cpus: cpus,
    })
}

/// Total memory of the host (`MemTotal` of `/proc/meminfo`) in bytes; moby shows it as the
/// limit of a container without one.
pub fn machine_memory() -> Result<u64> {
    let path = Path::new("/proc/meminfo");
    let text = read_opt(path)?.unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| CgroupError::Parse {
            path: path.to_path_buf(),
            detail: "no MemTotal".into(),
        })
}

/// The interfaces of the network namespace of process `pid` with their traffic
/// (`/proc/PID/net/dev`); empty when the process is gone.
pub fn net_dev(pid: i32) -> Result<Vec<NetDev>> {
    let path = PathBuf::from(format!("/proc/{pid}/net/dev"));
    Ok(parse_net_dev(&read_opt(&path)?.unwrap_or_default()))
}

fn parse_net_dev(text: &str) -> Vec<NetDev> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let f: Vec<u64> = rest
                .split_whitespace()
                .map(|v| v.parse().unwrap_or(0))
                .collect();
            Some(NetDev {
                name: name.trim().to_string(),
                rx_bytes: *f.first()?,
                tx_bytes: *f.get(8)?,
            })
        })
        .collect()
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        // ENODEV: a file of a cgroup being removed.
        Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(19) => Ok(None),
        Err(source) => Err(CgroupError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn read_u64(path: &Path) -> Result<Option<u64>> {
    let Some(text) = read_opt(path)? else {
        return Ok(None);
    };
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| CgroupError::Parse {
            path: path.to_path_buf(),
            detail: format!("not a number: {:?}", text.trim()),
        })
}

/// A number or `max` (→ `None`, as a missing file).
fn read_max(path: &Path) -> Result<Option<u64>> {
    match read_opt(path)? {
        Some(t) if t.trim() == "max" => Ok(None),
        Some(_) => read_u64(path),
        None => Ok(None),
    }
}

/// A "flat keyed" file (`key value` per line), as `memory.stat` and `cpu.stat`.
fn read_flat_keyed(path: &Path) -> Result<BTreeMap<String, u64>> {
    let text = read_opt(path)?.unwrap_or_default();
    Ok(text
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect())
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push(
                b[i + 1..i + 4]
                    .iter()
                    .fold(0u8, |acc, c| acc.wrapping_mul(8).wrapping_add(c - b'0')),
            );
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn detects_layouts_from_mountinfo() {
        let l = Layout::from_mountinfo(HYBRID).unwrap();
        assert_eq!(l.hierarchy(), Hierarchy::Hybrid);
        assert_eq!(
            l.dir("cpuacct", "/berth/x").unwrap(),
            Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/berth/x"))
        );
        assert_eq!(
            l.dir("memory", "/berth/x").unwrap(),
            Some(PathBuf::from("/sys/fs/cgroup/memory/berth/x"))
        );
        assert_eq!(l.dir("blkio", "/berth/x").unwrap(), None);
        assert!(!l.controllers.contains_key("name=systemd"));

        let legacy: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            Layout::from_mountinfo(&legacy).unwrap().hierarchy(),
            Hierarchy::Legacy
        );

        let v2 = "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        let l = Layout::from_mountinfo(v2).unwrap();
        assert_eq!(l.hierarchy(), Hierarchy::Unified);
        assert_eq!(
            l.dir("memory", "/berth/x").unwrap(),
            Some(PathBuf::from("/sys/fs/cgroup/berth/x"))
        );

        assert!(matches!(
            Layout::from_mountinfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"),
            Err(CgroupError::NoHierarchy)
        ));
    }

    #[test]
    fn cgroup_paths_stay_inside_the_hierarchy() {
        let l = Layout::unified_at("/sys/fs/cgroup");
        for bad in ["", "/", "berth/x", "/berth/../../etc"] {
            assert!(l.dir("", bad).is_err(), "{bad}");
        }
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn reads_v1_stats() {
        let root = tempfile::tempdir().unwrap();
        let l = Layout::legacy_at(root.path());
        let cg = "/berth/abc";
        let d = |c: &str| root.path().join(c).join("berth/abc");
        assert_eq!(l.stats(cg).unwrap(), None);
        write(&d("cpuacct"), "cpuacct.usage", "123456789\n");
        write(&d("memory"), "memory.usage_in_bytes", "10485760\n");
        write(&d("memory"), "memory.limit_in_bytes", "67108864\n");
        write(
            &d("memory"),
            "memory.stat",
            "cache 4096\ninactive_file 8192\ntotal_inactive_file 8192\n",
        );
        write(&d("pids"), "pids.current", "3\n");
        write(&d("pids"), "pids.max", "max\n");
        write(&d("pids"), "cgroup.procs", "42\n7\n");
        write(&d("pids").join("sub"), "cgroup.procs", "99\n");
        write(
            &d("blkio"),
            "blkio.bfq.io_service_bytes_recursive",
            "Total 0\n",
        );
        write(
            &d("blkio"),
            "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Total 4608\n\
             8:16 Read 4\n8:16 Write 0\nTotal 4612\n",
        );
        let s = l.stats(cg).unwrap().unwrap();
        assert_eq!(s.cpu_usage_ns, 123456789);
        assert_eq!(s.memory.usage, 10485760);
        assert_eq!(s.memory.limit, 67108864);
        assert_eq!(s.memory.stat["total_inactive_file"], 8192);
        assert_eq!(s.pids_current, 3);
        assert_eq!(s.pids_limit, None);
        assert_eq!(
            s.blkio,
            BlkioStats {
                read_bytes: 4100,
                write_bytes: 512
            }
        );
        assert_eq!(l.pids(cg).unwrap(), vec![7, 42, 99]);
        assert_eq!(l.pids("/berth/none").unwrap(), Vec::<i32>::new());
    }

    #[test]
    fn reads_v2_stats() {
        let root = tempfile::tempdir().unwrap();
        let l = Layout::unified_at(root.path());
        let d = root.path().join("berth/abc");
        write(
            &d,
            "cpu.stat",
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
        );
        write(&d, "memory.current", "2097152\n");
        write(&d, "memory.max", "max\n");
        write(&d, "memory.stat", "anon 1048576\ninactive_file 4096\n");
        write(&d, "pids.current", "1\n");
        write(&d, "pids.max", "20\n");
        write(&d, "cgroup.procs", "5\n");
        write(
            &d,
            "io.stat",
            "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n\
             8:16 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n",
        );
        let s = l.stats("/berth/abc").unwrap().unwrap();
        assert_eq!(s.cpu_usage_ns, 1_500_000);
        assert_eq!(s.memory.usage, 2097152);
        assert_eq!(s.memory.limit, u64::MAX);
        assert_eq!(s.memory.stat["inactive_file"], 4096);
        assert_eq!(s.pids_limit, Some(20));
        assert_eq!(
            s.blkio,
            BlkioStats {
                read_bytes: 101,
                write_bytes: 202
            }
        );
        assert_eq!(l.pids("/berth/abc").unwrap(), vec![5]);

        write(&d, "memory.current", "lots\n");
        assert!(matches!(
            l.stats("/berth/abc"),
            Err(CgroupError::Parse { .. })
        ));
    }

    #[test]
    fn parses_proc_files() {
        let stat = "cpu  100 0 50 800 10 0 40 64 0 0\ncpu0 50 0 25 400 5 0 20 32 0 0\n\
                    cpu1 50 0 25 400 5 0 20 32 0 0\nintr 1 2 3\ncpufreq 1\n";
        assert_eq!(
            parse_proc_stat(stat),
            Some(HostCpu {
                usage_ns: 1000 * 10_000_000,
                online_cpus: 2
            })
        );
        assert_eq!(parse_proc_stat("intr 1\n"), None);
        let dev = "Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n\
                   lo: 10 1 0 0 0 0 0 0 20 2 0 0 0 0 0 0\n  eth0: 300 3 0 0 0 0 0 0 400 4 0 0 0 0 0 0\n";
        assert_eq!(
            parse_net_dev(dev),
            vec![
                NetDev {
                    name: "lo".into(),
                    rx_bytes: 10,
                    tx_bytes: 20
                },
                NetDev {
                    name: "eth0".into(),
                    rx_bytes: 300,
                    tx_bytes: 400
                }
            ]
        );
        assert!(host_cpu().unwrap().online_cpus >= 1);
        assert!(machine_memory().unwrap() > 0);
        assert!(!net_dev(std::process::id() as i32).unwrap().is_empty());
        assert_eq!(unescape("/a\\040b"), "/a b");
    }
}
