//! Where a container's files live (ARCHITECTURE "On disk").

use std::path::{Path, PathBuf};

/// Every path of one container.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `$BERTH_ROOT/containers/<id>`.
    pub dir: PathBuf,
    /// Overlay upper layer (the container's writes).
    pub upper: PathBuf,
    /// Overlay work dir.
    pub work: PathBuf,
    /// Overlay mount point: the container's root filesystem.
    pub merged: PathBuf,
    /// json-file log.
    pub log: PathBuf,
    /// `/etc/hostname` source.
    pub hostname: PathBuf,
    /// `/etc/hosts` source.
    pub hosts: PathBuf,
    /// `/etc/resolv.conf` source.
    pub resolv: PathBuf,
    /// `$BERTH_RUN/containers/<id>`: sockets, bundle, monitor settings.
    pub run_dir: PathBuf,
    /// OCI bundle (`config.json`).
    pub bundle: PathBuf,
    /// The monitor's attach socket.
    pub attach_sock: PathBuf,
    /// The console socket a TTY master arrives on.
    pub console_sock: PathBuf,
    /// The monitor's settings.
    pub monitor_json: PathBuf,
    /// libcontainer's state root (shared by all containers).
    pub runtime_root: PathBuf,
}

impl Paths {
    /// The paths of container `id` under the given roots.
    pub fn new(root: &Path, run: &Path, id: &str) -> Paths {
        let dir = root.join("containers").join(id);
        let run_dir = run.join("containers").join(id);
        Paths {
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            log: dir.join(format!("{id}-json.log")),
            hostname: dir.join("hostname"),
            hosts: dir.join("hosts"),
            resolv: dir.join("resolv.conf"),
            bundle: run_dir.join("bundle"),
            attach_sock: run_dir.join("attach.sock"),
            console_sock: run_dir.join("console.sock"),
            monitor_json: run_dir.join("monitor.json"),
            runtime_root: run.join("runtime"),
            dir,
            run_dir,
        }
    }
}
