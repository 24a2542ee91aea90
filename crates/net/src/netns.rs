//! Network namespaces kept alive by a bind mount (like `ip netns add`, but under
//! `$BERTH_RUN/netns/`), and running code inside one.
//!
//! `setns(2)` and `unshare(2)` with `CLONE_NEWNET` change only the calling thread, so both
//! happen on a short-lived thread of their own: the calling process (possibly multi-threaded)
//! never leaves its namespace, and children spawned from that thread inherit its namespace.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::NetError;

fn err(path: &Path) -> impl Fn(std::io::Error) -> NetError + '_ {
    move |source| NetError::Netns {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates a new network namespace and bind-mounts it at `path` (whose parent must exist).
pub fn create(path: &Path) -> Result<(), NetError> {
    let p = path.to_path_buf();
    std::fs::File::create(&p).map_err(err(path))?;
    let r = std::thread::spawn(move || -> std::io::Result<()> {
        unshare(CloneFlags::CLONE_NEWNET)?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &p,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )?;
        Ok(())
    })
    .join()
    .unwrap_or_else(|_| Err(std::io::Error::other("namespace thread panicked")));
    if let Err(e) = r {
        let _ = std::fs::remove_file(path);
        return Err(err(path)(e));
    }
    Ok(())
}

/// Unmounts and removes the namespace file; the namespace goes away with its last user.
/// A missing file is not an error.
pub fn remove(path: &Path) -> Result<(), NetError> {
    if !path.exists() {
        return Ok(());
    }
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(err(path)(e.into())),
    }
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(err(path)(e)),
    }
}

/// Runs `f` on a thread inside the namespace at `path`; returns its result.
pub fn run_in<T: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> Result<T, NetError> + Send + 'static,
) -> Result<T, NetError> {
    let ns = std::fs::File::open(path).map_err(err(path))?;
    let p: PathBuf = path.to_path_buf();
    std::thread::spawn(move || {
        setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| NetError::Netns {
            path: p,
            source: e.into(),
        })?;
        f()
    })
    .join()
    .unwrap_or_else(|_| Err(NetError::Invalid("namespace thread panicked".into())))
}

/// Enters the namespace at `path` for the whole (single-threaded) calling process, runs `f`,
/// and returns to the namespace it was in. For the monitor, which has one thread and must
/// not start others.
pub fn with_process_in<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T, NetError> {
    let own = std::fs::File::open("/proc/thread-self/ns/net").map_err(err(path))?;
    let ns = std::fs::File::open(path).map_err(err(path))?;
    setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| err(path)(e.into()))?;
    let out = f();
    setns(own.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|e| err(path)(e.into()))?;
    Ok(out)
}
