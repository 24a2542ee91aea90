//! Advisory file locks that coordinate concurrent `berth` processes.
//!
//! Two locks live under `$BERTH_ROOT/locks/`:
//! - `store.lock` is held *shared* by every process for as long as it has the store open.
//!   A process that manages to convert it to *exclusive* knows no other berth process is
//!   running, so leftovers of killed processes (temp files, half-renamed layers) cannot
//!   belong to anyone alive and may be swept.
//! - `layers.lock` is held *exclusively* around the short commit and delete phases of the
//!   layer store, so a load never reuses a layer that an `rmi` is deleting.
//!
//! flock(2) locks vanish with the process, so a `kill -9` never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::{flock, FlockOperation};

/// An open lock file.
#[derive(Debug)]
pub struct LockFile {
    file: File,
    path: PathBuf,
}

impl LockFile {
    /// Opens (creating if needed) the lock file at `path`.
    pub fn open(path: &Path) -> io::Result<LockFile> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        Ok(LockFile {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Blocks until a shared lock is held.
    pub fn lock_shared(&self) -> io::Result<()> {
        retry(|| flock(&self.file, FlockOperation::LockShared))
    }

    /// Blocks until an exclusive lock is held.
    pub fn lock_exclusive(&self) -> io::Result<()> {
        retry(|| flock(&self.file, FlockOperation::LockExclusive))
    }

    /// Tries to take (or convert to) an exclusive lock without waiting.
    pub fn try_lock_exclusive(&self) -> io::Result<bool> {
        match flock(&self.file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Releases the lock.
    pub fn unlock(&self) -> io::Result<()> {
        flock(&self.file, FlockOperation::Unlock).map_err(Into::into)
    }

    /// Takes an exclusive lock and returns a guard that releases it on drop.
    pub fn exclusive(&self) -> io::Result<LockGuard<'_>> {
        self.lock_exclusive()?;
        Ok(LockGuard { lock: self })
    }
}

/// Releases an exclusive [`LockFile`] lock when dropped.
#[derive(Debug)]
pub struct LockGuard<'a> {
    lock: &'a LockFile,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.lock.unlock();
    }
}

fn retry(mut f: impl FnMut() -> rustix::io::Result<()>) -> io::Result<()> {
    loop {
        match f() {
            Err(rustix::io::Errno::INTR) => continue,
            r => return r.map_err(Into::into),
        }
    }
}
