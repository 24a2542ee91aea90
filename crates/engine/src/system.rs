//! The engine about itself: `info` (Docker's `SystemInfo`) and `system df` (Docker's
//! `DiskUsage`).
//!
//! Both are read-only reports over the store, the container rows and the host (`uname`,
//! `/proc`, `/etc/os-release`, `statfs` of the root); nothing here changes state except the
//! engine id, a random UUID written once (atomically) to `$BERTH_ROOT/engine-id`, as Docker
//! keeps its `ID` in `/var/lib/docker/engine-id`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{json, Value};

use crate::containers::Container;
use crate::{Engine, EngineError};

/// One image in `system df`.
#[derive(Debug, Clone)]
pub struct ImageUsage {
    /// The image summary (tags, digests, creation time, size, containers using it).
    pub summary: crate::images::ImageSummary,
    /// Bytes of layers this image shares with other images.
    pub shared_size: u64,
}

/// One container in `system df`.
#[derive(Debug, Clone)]
pub struct ContainerUsage {
    /// The container.
    pub container: Container,
    /// Bytes of its writable layer.
    pub size_rw: u64,
}

/// One volume in `system df`.
#[derive(Debug, Clone, Default)]
pub struct VolumeUsage {
    /// The volume's name.
    pub name: String,
    /// Containers using it.
    pub links: u64,
    /// Bytes under its data directory.
    pub size: u64,
}

/// One build cache record in `system df`.
#[derive(Debug, Clone, Default)]
pub struct BuildCacheUsage {
    /// Cache id.
    pub id: String,
    /// `regular`, `source.local`, …
    pub kind: String,
    /// Bytes.
    pub size: u64,
    /// Unix nanoseconds.
    pub created: i64,
    /// Unix nanoseconds.
    pub last_used: i64,
    /// Times used.
    pub usage: u64,
    /// Whether a build uses it now.
    pub in_use: bool,
    /// Whether it is shared.
    pub shared: bool,
}

/// What `system df` reports.
#[derive(Debug, Clone, Default)]
pub struct DiskUsage {
    /// Bytes of all layers, each counted once.
    pub layers_size: u64,
    /// Images, newest first.
    pub images: Vec<ImageUsage>,
    /// Containers, newest first.
    pub containers: Vec<ContainerUsage>,
    /// Volumes.
    pub volumes: Vec<VolumeUsage>,
    /// Build cache records.
    pub build_cache: Vec<BuildCacheUsage>,
}

impl Engine {
    /// `system df`: sizes of images (with what they share), containers' writable layers,
    /// volumes and the build cache.
    pub fn disk_usage(&mut self) -> Result<DiskUsage, EngineError> {
        let records = self.store.images()?;
        // How many images use each layer, and its size.
        let mut users: HashMap<String, (u64, usize)> = HashMap::new();
        for r in &records {
            for c in &r.layers {
                let e = users.entry(c.to_string()).or_insert((0, 0));
                if e.1 == 0 {
                    e.0 = self.store.layer(c)?.map(|l| l.size).unwrap_or(0);
                }
                e.1 += 1;
            }
        }
        let layers_size = users.values().map(|(s, _)| s).sum();
        let mut images = Vec::new();
        for s in self.list_images(true, &Default::default())? {
            let r = records.iter().find(|r| r.id == s.id);
            let shared_size = r
                .map(|r| {
                    r.layers
                        .iter()
                        .filter_map(|c| users.get(&c.to_string()))
                        .filter(|(_, n)| *n > 1)
                        .map(|(size, _)| size)
                        .sum()
                })
                .unwrap_or(0);
            images.push(ImageUsage {
                summary: s,
                shared_size,
            });
        }
        let mut containers = Vec::new();
        for c in self.containers()? {
            let upper = self.container_paths(&c.row.id).upper;
            let size_rw = crate::containers::prune::dir_size(&upper);
            containers.push(ContainerUsage {
                container: c,
                size_rw,
            });
        }
        containers.sort_by_key(|c| std::cmp::Reverse(c.container.row.created));
        Ok(DiskUsage {
            layers_size,
            images,
            containers,
            volumes: self
                .volumes_usage()?
                .into_iter()
                .map(|u| VolumeUsage {
                    name: u.volume.row.name,
                    links: u.volume.ref_count.max(0) as u64,
                    size: u.size.max(0) as u64,
                })
                .collect(),
            build_cache: self.build_cache_usage()?,
        })
    }

    /// The build cache's records: each step's image, sized by the layer the step added
    /// (0 for metadata-only steps); shared when a tagged image is that step's image.
    fn build_cache_usage(&self) -> Result<Vec<BuildCacheUsage>, EngineError> {
        let rows: Vec<(String, String, i64)> = {
            let conn = self.store.db().conn();
            let mut st = conn
                .prepare("SELECT key, image_id, created FROM build_cache ORDER BY created")
                .map_err(|e| self.store.db().err(e))?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .and_then(|r| r.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| self.store.db().err(e))?;
            rows
        };
        let mut out = Vec::new();
        for (key, image, created) in rows {
            let Ok(id) = image.parse::<berth_types::Digest>() else {
                continue;
            };
            let Some(r) = self.store.image(&id)? else {
                continue;
            };
            let parent_top = match &r.parent {
                Some(p) => self.store.image(p)?.and_then(|p| p.layers.last().cloned()),
                None => None,
            };
            let size = match r.layers.last() {
                Some(top) if Some(top) != parent_top.as_ref() => {
                    self.store.layer(top)?.map(|l| l.size).unwrap_or(0)
                }
                _ => 0,
            };
            out.push(BuildCacheUsage {
                id: key.chars().take(25).collect(),
                kind: "regular".into(),
                size,
                created,
                last_used: created,
                usage: 1,
                in_use: false,
                shared: !r.tags.is_empty(),
            });
        }
        Ok(out)
    }

    /// The engine's id: a UUID made on first use and kept in `$BERTH_ROOT/engine-id`.
    pub fn engine_id(&self) -> String {
        let path = self.config.root.join("engine-id");
        if let Ok(s) = std::fs::read_to_string(&path) {
            let s = s.trim();
            if !s.is_empty() {
                return s.to_string();
            }
        }
        let id = new_uuid();
        let tmp = self
            .config
            .root
            .join(format!("engine-id.tmp{}", std::process::id()));
        let written = std::fs::write(&tmp, &id)
            .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
            .and_then(|_| {
                // Another berth may have won the race: keep whichever id landed first.
                std::fs::hard_link(&tmp, &path).or_else(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
            });
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => std::fs::read_to_string(&path)
                .map(|s| s.trim().to_string())
                .unwrap_or(id),
            Err(_) => id,
        }
    }

    /// Docker's `SystemInfo` (`GET /info`, `docker info --format '{{json .}}'`).
    pub fn system_info(&mut self) -> Result<Value, EngineError> {
        let containers = self.containers()?;
        let count = |st: &[&str]| {
            containers
                .iter()
                .filter(|c| st.contains(&c.row.state.as_str()))
                .count()
        };
        let running = count(&["running", "restarting"]);
        let paused = count(&["paused"]);
        let stopped = containers.len() - running - paused;
        let images = self.store.images()?.len();
        let uts = rustix::system::uname();
        let os = os_release();
        let v2 = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let mem_total = read("/proc/meminfo")
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024;
        let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut runtimes = BTreeMap::new();
        runtimes.insert(
            "berth".to_string(),
            json!({"path": "berth", "status": {"engine": "embedded youki libcontainer"}}),
        );
        for name in ["runc", "crun"] {
            if let Some(p) = berth_runtime::oci::find_runtime(name) {
                runtimes.insert(name.to_string(), json!({"path": p.display().to_string()}));
            }
        }
        let mut security = vec!["name=seccomp,profile=builtin".to_string()];
        if std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
            .is_ok_and(|s| s.trim() == "Y")
        {
            security.insert(0, "name=apparmor".into());
        }
        if v2 {
            security.push("name=cgroupns".into());
        }
        let mut warnings = Vec::new();
        let swap = v2 || Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists();
        if !swap {
            warnings.push("WARNING: No swap limit support".to_string());
        }
        let env = |k: &str| {
            std::env::var(k)
                .or_else(|_| std::env::var(k.to_ascii_lowercase()))
                .unwrap_or_default()
        };
        Ok(json!({
            "ID": self.engine_id(),
            "Containers": containers.len(),
            "ContainersRunning": running,
            "ContainersPaused": paused,
            "ContainersStopped": stopped,
            "Images": images,
            "Driver": "overlay2",
            "DriverStatus": [
                ["Backing Filesystem", backing_fs(&self.config.root)],
                ["Supports d_type", "true"],
                ["Using metacopy", "false"],
                ["Native Overlay Diff", "true"],
                ["userxattr", "false"],
            ],
            "Plugins": {
                "Volume": ["local"],
                "Network": ["bridge", "host", "null"],
                "Authorization": null,
                "Log": ["json-file"],
            },
            "MemoryLimit": true,
            "SwapLimit": swap,
            "CpuCfsPeriod": true,
            "CpuCfsQuota": true,
            "CPUShares": true,
            "CPUSet": true,
            "PidsLimit": true,
            "IPv4Forwarding": read("/proc/sys/net/ipv4/ip_forward").trim() == "1",
            "BridgeNfIptables": false,
            "BridgeNfIp6tables": false,
            "Debug": false,
            "NFd": 0,
            "OomKillDisable": !v2,
            "NGoroutines": 0,
            "SystemTime": chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
            "LoggingDriver": "json-file",
            "CgroupDriver": "cgroupfs",
            "CgroupVersion": if v2 { "2" } else { "1" },
            "NEventsListener": 0,
            "KernelVersion": uts.release().to_string_lossy(),
            "OperatingSystem": os.get("PRETTY_NAME").cloned().unwrap_or_else(|| "Linux".into()),
            "OSVersion": os.get("VERSION_ID").cloned().unwrap_or_default(),
            "OSType": "linux",
            "Architecture": uts.machine().to_string_lossy(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {
                "AllowNondistributableArtifactsCIDRs": null,
                "AllowNondistributableArtifactsHostnames": null,
                "InsecureRegistryCIDRs": ["127.0.0.0/8", "::1/128"],
                "IndexConfigs": {
                    "docker.io": {"Name": "docker.io", "Mirrors": [], "Secure": true, "Official": true},
                },
                "Mirrors": null,
            },
            "NCPU": ncpu,
            "MemTotal": mem_total,
            "GenericResources": null,
            "DockerRootDir": self.config.root.display().to_string(),
            "HttpProxy": env("HTTP_PROXY"),
            "HttpsProxy": env("HTTPS_PROXY"),
            "NoProxy": env("NO_PROXY"),
            "Name": uts.nodename().to_string_lossy(),
            "Labels": [],
            "ExperimentalBuild": false,
            "ServerVersion": env!("CARGO_PKG_VERSION"),
            "Runtimes": runtimes,
            "DefaultRuntime": "berth",
            "Swarm": {
                "NodeID": "", "NodeAddr": "", "LocalNodeState": "inactive",
                "ControlAvailable": false, "Error": "", "RemoteManagers": null,
            },
            "LiveRestoreEnabled": false,
            "Isolation": "",
            "InitBinary": "docker-init",
            "ContainerdCommit": {"ID": ""},
            "RuncCommit": {"ID": ""},
            "InitCommit": {"ID": ""},
            "SecurityOptions": security,
            "CDISpecDirs": [],
            "Warnings": warnings,
        }))
    }
}

/// `/etc/os-release` as key → unquoted value.
fn os_release() -> BTreeMap<String, String> {
    std::fs::read_to_string("/etc/os-release")
        .or_else(|_| std::fs::read_to_string("/usr/lib/os-release"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// The file system under `root`, named as Docker's `fsutils` does (`extfs`, `xfs`, …).
fn backing_fs(root: &Path) -> String {
    let Ok(st) = rustix::fs::statfs(root) else {
        return "<unknown>".into();
    };
    match st.f_type as u64 {
        0xEF53 => "extfs",
        0x5846_5342 => "xfs",
        0x9123_683E => "btrfs",
        0x0102_1994 => "tmpfs",
        0x794C_7630 => "overlayfs",
        0x2FC1_2FC1 => "zfs",
        0x6969 => "nfs",
        0xF2F5_2010 => "f2fs",
        _ => "<unknown>",
    }
    .into()
}

/// A random version-4 UUID.
fn new_uuid() -> String {
    use rand::Rng;
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = new_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(u.chars().filter(|&c| c == '-').count() == 4);
    }

    #[test]
    fn engine_id_is_stable() {
        let root = tempfile::tempdir().unwrap();
        let run = tempfile::tempdir().unwrap();
        let e = Engine::open(crate::Config {
            root: root.path().into(),
            run: run.path().into(),
        })
        .unwrap();
        let a = e.engine_id();
        assert_eq!(a, e.engine_id());
        assert_eq!(a.len(), 36);
    }
}
