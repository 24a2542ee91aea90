//! Helpers for the container tests: an installation with busybox loaded ([`Ct`]) that removes
//! every container it made when it drops, and host-side probes (processes, cgroups, mounts)
//! to check what a container really got and what it left behind.
//!
//! ```ignore
//! use crate::support::containers::Ct;
//!
//! let ct = Ct::new();
//! assert_eq!(ct.run(&["busybox", "echo", "hi"]).stdout, "hi\n");
//! let id = ct.run_d(&["busybox", "sleep", "30"]);
//! ct.finish(); // asserts nothing is left behind
//! ```

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{
    busybox_image, mount_points, to_docker_archive, wait_timeout, Berth, Cmd, Output, TestImage,
};

/// The image every container test uses.
pub const BUSYBOX: &str = "busybox:latest";

/// One test's berth installation with `busybox:latest` loaded; derefs to [`Berth`] for its
/// paths and scratch files. On drop it force-removes every
/// container, then kills (by pid) any monitor or container process of this installation
/// that is still alive and removes its cgroups, so a failed test leaves nothing running.
pub struct Ct {
    b: Berth,
}

impl std::ops::Deref for Ct {
    type Target = Berth;
    fn deref(&self) -> &Berth {
        &self.b
    }
}

impl Ct {
    /// A fresh installation with `busybox:latest` loaded.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Ct {
        let ct = Ct::empty();
        ct.load_images(&[busybox_image(BUSYBOX)]);
        ct
    }

    /// A fresh installation with no image.
    pub fn empty() -> Ct {
        Ct { b: Berth::new() }
    }

    /// Loads images (as one `docker save` archive).
    pub fn load_images(&self, images: &[TestImage]) {
        self.cmd(&["load"]).stdin(to_docker_archive(images)).ok();
    }

    /// `berth ARGS` with this installation's environment.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Cmd {
        self.b.cmd(args)
    }

    /// Runs `berth ARGS`, asserts exit 0, returns stdout.
    #[track_caller]
    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        self.cmd(args).ok()
    }

    /// Runs `berth ARGS`, asserts exit `code`, returns stderr.
    #[track_caller]
    pub fn fails_with<S: AsRef<OsStr>>(&self, args: &[S], code: i32) -> String {
        self.cmd(args).fails_with(code)
    }

    /// Starts `berth ARGS` in the background (stdout and stderr piped).
    pub fn spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Child {
        self.cmd(args).spawn()
    }

    /// `berth run --network none ARGS` (never the host network), to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(&run_args(args)).run()
    }

    /// The command `berth run --network none ARGS`, to add stdin or a timeout.
    pub fn run_cmd(&self, args: &[&str]) -> Cmd {
        self.cmd(&run_args(args))
    }

    /// `berth run -d --network none ARGS`: asserts success and a 64-hex id; returns the id.
    #[track_caller]
    pub fn run_d(&self, args: &[&str]) -> String {
        let mut a = vec!["-d"];
        a.extend_from_slice(args);
        let out = self.cmd(&run_args(&a)).ok();
        let id = out.trim().to_string();
        assert!(is_full_id(&id), "`run -d` printed {out:?}, not a 64-hex id");
        id
    }

    /// `berth inspect -f FORMAT NAME`, trimmed.
    #[track_caller]
    pub fn inspect(&self, name: &str, format: &str) -> String {
        self.ok(&["inspect", "-f", format, name]).trim().to_string()
    }

    /// `berth inspect NAME` as JSON (the single object).
    #[track_caller]
    pub fn json(&self, name: &str) -> Value {
        let out = self.ok(&["inspect", name]);
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("inspect {name}: not JSON ({e}):\n{out}"));
        v.get(0)
            .cloned()
            .unwrap_or_else(|| panic!("inspect {name}: not an array of one: {out}"))
    }

    /// `State.Status`.
    pub fn status(&self, name: &str) -> String {
        self.inspect(name, "{{.State.Status}}")
    }

    /// `State.Pid` (0 when not running).
    pub fn pid(&self, name: &str) -> i32 {
        let p = self.inspect(name, "{{.State.Pid}}");
        p.parse()
            .unwrap_or_else(|e| panic!("State.Pid of {name} is {p:?}: {e}"))
    }

    /// The full id of a container.
    pub fn id(&self, name: &str) -> String {
        self.inspect(name, "{{.Id}}")
    }

    /// `ps -a --format '{{.Names}} {{.Status}}'` row of one container, if listed.
    pub fn ps_status(&self, name: &str) -> Option<String> {
        self.ok(&["ps", "-a", "--format", "{{.Names}}\t{{.Status}}"])
            .lines()
            .find_map(|l| {
                let (n, s) = l.split_once('\t')?;
                (n == name).then(|| s.to_string())
            })
    }

    /// Waits until `State.Status` of `name` is `want`; panics with the last state after
    /// `timeout`.
    #[track_caller]
    pub fn wait_status(&self, name: &str, want: &str, timeout: Duration) {
        let mut last = String::new();
        let ok = wait_until(timeout, || {
            last = self.status(name);
            last == want
        });
        assert!(
            ok,
            "{name}: state still {last:?} after {timeout:?}, want {want:?}"
        );
    }

    /// Every container id this installation knows (from its state directory and `ps -a`).
    pub fn all_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .b
            .list("containers")
            .into_iter()
            .filter(|n| is_full_id(n))
            .collect();
        let o = self.cmd(&["ps", "-aq", "--no-trunc"]).run();
        if o.success() {
            ids.extend(
                o.stdout
                    .lines()
                    .map(str::to_string)
                    .filter(|l| is_full_id(l)),
            );
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// Live `berth __monitor` processes of this installation (by its `BERTH_ROOT`).
    pub fn monitors(&self) -> Vec<i32> {
        let want = format!("BERTH_ROOT={}", self.b.root_path().display());
        pids()
            .into_iter()
            .filter(|&p| {
                let cmd = std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
                if !cmd.split(|&c| c == 0).any(|a| a == b"__monitor") {
                    return false;
                }
                let env = std::fs::read(format!("/proc/{p}/environ")).unwrap_or_default();
                env.split(|&c| c == 0).any(|kv| kv == want.as_bytes()) && alive(p)
            })
            .collect()
    }

    /// What this installation left behind on the host: mounts under its directories,
    /// monitor processes, cgroups of `ids`, entries of `BERTH_RUN/containers` and of the
    /// runtime's state directory. Empty when clean.
    pub fn leftovers(&self, ids: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        for m in mount_points() {
            if m.starts_with(self.b.root_path()) || m.starts_with(self.b.run_path()) {
                out.push(format!("mount {}", m.display()));
            }
        }
        for p in self.monitors() {
            out.push(format!("monitor process {p}: {}", cmdline(p)));
        }
        for id in ids {
            for d in cgroup_dirs(id) {
                out.push(format!("cgroup {}", d.display()));
            }
        }
        for sub in ["containers", "runtime"] {
            let dir = self.b.run_path().join(sub);
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    out.push(format!("{}", e.path().display()));
                }
            }
        }
        out
    }

    /// Removes every container (`rm -f`) and asserts nothing is left behind (no mounts,
    /// processes, cgroups or run-time state).
    #[track_caller]
    pub fn finish(&self) {
        let ids = self.all_ids();
        for id in &ids {
            let o = self.cmd(&["rm", "-f", id]).run();
            assert!(
                o.success() || o.stderr.contains("No such container"),
                "rm -f {id}\n{o}"
            );
        }
        let ps = self.ok(&["ps", "-aq"]);
        assert_eq!(ps, "", "containers still listed after rm -f");
        let mut left = Vec::new();
        wait_until(Duration::from_secs(5), || {
            left = self.leftovers(&ids);
            left.is_empty()
        });
        assert!(left.is_empty(), "left behind:\n{}", left.join("\n"));
    }

    /// Best effort: removes containers and kills and removes what is left, whatever berth
    /// does. Never panics (it runs on drop, maybe while a test is failing).
    fn force_clean(&self) {
        let ids = self.all_ids();
        for id in &ids {
            thaw(id);
            let _ = wait_timeout(self.cmd(&["rm", "-f", id]).spawn(), Duration::from_secs(60));
        }
        for p in self.monitors() {
            kill9(p);
        }
        for id in &ids {
            thaw(id);
            for p in cgroup_procs(id) {
                kill9(p);
            }
        }
        for id in &ids {
            wait_until(Duration::from_secs(5), || cgroup_procs(id).is_empty());
            for d in cgroup_dirs(id) {
                let _ = std::fs::remove_dir(&d);
            }
        }
        let left = self.leftovers(&ids);
        if !left.is_empty() {
            eprintln!("container test clean-up: left behind\n{}", left.join("\n"));
        }
    }
}

impl Drop for Ct {
    fn drop(&mut self) {
        self.force_clean();
    }
}

fn run_args<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", "--network", "none"];
    a.extend_from_slice(args);
    a
}

/// Whether `s` is a full container id (64 lowercase hex digits).
pub fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// Polls `f` every 50 ms until it is true or `timeout` passed; returns its last answer.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// All pids on the host.
pub fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A field of `/proc/PID/status` (`State`, `PPid`, `CapEff`, ...), trimmed.
pub fn proc_status(pid: i32, field: &str) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == field).then(|| v.trim().to_string())
    })
}

/// The one-letter state of a process (`R`, `S`, `D`, `Z`, ...), `None` when it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    proc_status(pid, "State")?.chars().next()
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(c) if c != 'Z' && c != 'X')
}

/// Whether the process is gone or a zombie (dead, maybe not reaped yet).
pub fn dead(pid: i32) -> bool {
    !alive(pid)
}

/// The parent pid of a process.
pub fn ppid(pid: i32) -> Option<i32> {
    proc_status(pid, "PPid")?.parse().ok()
}

/// The session id of a process (`/proc/PID/stat` field 6).
pub fn session_id(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split(' ').nth(3)?.parse().ok()
}

/// The command line of a process, arguments joined with spaces.
pub fn cmdline(pid: i32) -> String {
    let c = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&c)
        .split('\0')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Sends SIGKILL to one process by pid (never by name).
pub fn kill9(pid: i32) {
    signal(pid, rustix::process::Signal::KILL);
}

/// Sends `sig` to one process by pid.
pub fn signal(pid: i32, sig: rustix::process::Signal) {
    if let Some(p) = rustix::process::Pid::from_raw(pid) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Whether `/sys/fs/cgroup` is the unified (v2) hierarchy.
pub fn cgroup_v2() -> bool {
    rustix::fs::statfs("/sys/fs/cgroup")
        .map(|s| s.f_type as u64 == 0x6367_7270)
        .unwrap_or(false)
}

/// The cgroup directory of a container for a v1 controller (`memory`, `pids`, `freezer`,
/// ...); on v2 the container's single directory.
pub fn cgroup_dir(controller: &str, id: &str) -> PathBuf {
    if cgroup_v2() {
        PathBuf::from(format!("/sys/fs/cgroup/berth/{id}"))
    } else {
        PathBuf::from(format!("/sys/fs/cgroup/{controller}/berth/{id}"))
    }
}

/// A file of a container's cgroup (v1 controller and file name, or the v2 file name when
/// the host is on v2), trimmed; `None` when missing.
pub fn cgroup_file(controller: &str, v1: &str, v2: &str, id: &str) -> Option<String> {
    let name = if cgroup_v2() { v2 } else { v1 };
    std::fs::read_to_string(cgroup_dir(controller, id).join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Every existing cgroup directory of a container (`/sys/fs/cgroup/*/berth/ID`, or the v2
/// one).
pub fn cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let v2 = PathBuf::from(format!("/sys/fs/cgroup/berth/{id}"));
    if v2.is_dir() {
        out.push(v2);
    }
    if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
        for e in rd.flatten() {
            let d = e.path().join("berth").join(id);
            if d.is_dir() {
                out.push(d);
            }
        }
    }
    out
}

/// Pids in a container's cgroups.
pub fn cgroup_procs(id: &str) -> Vec<i32> {
    let mut out: Vec<i32> = cgroup_dirs(id)
        .iter()
        .filter_map(|d| std::fs::read_to_string(d.join("cgroup.procs")).ok())
        .flat_map(|s| {
            s.lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Thaws a container's frozen cgroup (so that SIGKILL can be delivered).
pub fn thaw(id: &str) {
    if cgroup_v2() {
        let _ = std::fs::write(cgroup_dir("", id).join("cgroup.freeze"), "0");
    } else {
        let _ = std::fs::write(cgroup_dir("freezer", id).join("freezer.state"), "THAWED");
    }
}

/// The capability masks of the test process itself (`CapBnd`), as a number.
pub fn own_cap_bnd() -> u64 {
    let v = proc_status(std::process::id() as i32, "CapBnd").expect("CapBnd of self");
    u64::from_str_radix(&v, 16).expect("hex CapBnd")
}

/// Parses a `Cap*` line's value (16 hex digits).
pub fn parse_caps(v: &str) -> u64 {
    u64::from_str_radix(v.trim(), 16).unwrap_or_else(|e| panic!("caps {v:?}: {e}"))
}

/// The value of `Field:` in a `/proc/self/status` dump printed by a container.
pub fn status_field(dump: &str, field: &str) -> Option<String> {
    dump.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == field).then(|| v.trim().to_string())
    })
}

/// Unix sockets of the host's network namespace (`/proc/net/unix`): (inode, path), the path
/// starting with `@` for an abstract socket and empty for an unnamed one.
pub fn unix_sockets() -> Vec<(u64, String)> {
    std::fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let inode = f.get(6)?.parse().ok()?;
            Some((inode, f.get(7).copied().unwrap_or("").to_string()))
        })
        .collect()
}

/// Inodes of the sockets a process holds open.
pub fn socket_inodes(pid: i32) -> Vec<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let t = std::fs::read_link(e.path()).ok()?;
                    let t = t.to_str()?;
                    t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default()
}
