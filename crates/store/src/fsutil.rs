//! Small durable-filesystem helpers: fsync of files and directories, atomic renames, and
//! removal of directory trees that may be half-deleted already.

use std::fs::{self, File};
use std::io;
use std::path::Path;

/// fsyncs the directory at `dir` so a rename or create inside it is durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Renames `from` to `to` and makes the rename durable by syncing the target's directory.
pub fn durable_rename(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Flushes every dirty page of the filesystem that holds `path` (syncfs(2)): one call makes
/// a whole freshly extracted layer durable, instead of an fsync per file.
pub fn sync_filesystem(path: &Path) -> io::Result<()> {
    let f = File::open(path)?;
    rustix::fs::syncfs(&f).map_err(Into::into)
}

/// Removes a file or a directory tree; a path that is already gone is not an error.
pub fn remove_all(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
        Ok(m) if m.is_dir() => match fs::remove_dir_all(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        },
        Ok(_) => match fs::remove_file(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        },
    }
}

/// Creates `dir` (and parents) and forces its mode to 0700, also when it already existed:
/// engine state must be unreachable for unprivileged host users (CVE-2021-41091).
pub fn ensure_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(dir)?;
    let meta = fs::metadata(dir)?;
    if meta.permissions().mode() & 0o7777 != 0o700 {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A random 16-hex-digit token for temporary names.
pub fn random_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}
