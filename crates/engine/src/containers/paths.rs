//! Where a container's files live (ARCHITECTURE "On disk").

use std::path::{Path, PathBuf};

/// The container's cgroup, relative to each hierarchy's root.
pub fn cgroup_path(id: &str) -> String {
    format!("/berth/{id}")
}

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

/// Runs `f` with a path naming `path` that is short enough for a unix socket address
/// (`/proc/self/fd/N/NAME`, through an `O_PATH` handle on the parent directory): the socket
/// paths of a container exceed the 108-byte limit under a long `BERTH_RUN`.
fn with_short_path<T>(
    path: &Path,
    f: impl FnOnce(&Path) -> std::io::Result<T>,
) -> std::io::Result<T> {
    use rustix::fs::{Mode, OFlags};
    let parent = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "socket path has no file name",
        )
    })?;
    let dir = rustix::fs::open(
        parent,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let short = PathBuf::from(format!(
        "/proc/self/fd/{}",
        rustix::fd::AsRawFd::as_raw_fd(&dir)
    ))
    .join(name);
    f(&short)
}

/// Binds a unix socket at `path` (any length), replacing a stale one.
pub fn bind_unix(path: &Path) -> std::io::Result<std::os::unix::net::UnixListener> {
    let _ = std::fs::remove_file(path);
    with_short_path(path, |p| std::os::unix::net::UnixListener::bind(p))
}

/// Connects to the unix socket at `path` (any length).
pub fn connect_unix(path: &Path) -> std::io::Result<std::os::unix::net::UnixStream> {
    with_short_path(path, |p| std::os::unix::net::UnixStream::connect(p))
}
