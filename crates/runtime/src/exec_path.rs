//! Finding and starting the container's command, inside the container (after pivot_root).

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The outcome of looking a command up.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// An executable regular file.
    Found(PathBuf),
    /// Nothing of that name.
    NotFound,
    /// Something of that name that cannot be executed (directory, no x bit).
    NotExecutable,
}

/// Looks `cmd` up as execvp(3) would: as a path when it contains a `/`, else in each `PATH`
/// entry in order.
pub fn resolve(cmd: &str, path_var: &str) -> Resolved {
    if cmd.is_empty() {
        return Resolved::NotFound;
    }
    if cmd.contains('/') {
        return check(Path::new(cmd));
    }
    let mut seen_non_exec = false;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        match check(&Path::new(dir).join(cmd)) {
            Resolved::Found(p) => return Resolved::Found(p),
            Resolved::NotExecutable => seen_non_exec = true,
            Resolved::NotFound => {}
        }
    }
    if seen_non_exec {
        Resolved::NotExecutable
    } else {
        Resolved::NotFound
    }
}

fn check(p: &Path) -> Resolved {
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => {
            Resolved::Found(p.to_path_buf())
        }
        Ok(_) => Resolved::NotExecutable,
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Resolved::NotExecutable,
        Err(_) => Resolved::NotFound,
    }
}

/// Fails when the working directory is not reachable from the (new) root: a host directory
/// leaked through an inherited fd (runc's CVE-2024-21626).
pub fn check_cwd_inside() -> Result<(), String> {
    match std::env::current_dir() {
        Ok(p) if p.is_absolute() && !p.to_string_lossy().starts_with("(unreachable)") => Ok(()),
        Ok(p) => Err(format!(
            "current working directory is outside of container mount namespace root: {}",
            p.display()
        )),
        Err(e) => Err(format!("current working directory is not reachable: {e}")),
    }
}

/// Replaces the process with `args` (searching `PATH`); returns only on failure.
pub fn execvp(args: &[String]) -> std::io::Error {
    let c: Result<Vec<CString>, _> = args.iter().map(|a| CString::new(a.as_bytes())).collect();
    let Ok(c) = c else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "argument contains NUL");
    };
    let Some(first) = c.first() else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command");
    };
    match nix::unistd::execvp(first, &c) {
        Ok(never) => match never {},
        Err(e) => std::io::Error::from(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_execvp() {
        let d = tempfile::tempdir().unwrap();
        let exe = d.path().join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o700)).unwrap();
        let plain = d.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let path = format!("/nonexistent:{}", d.path().display());
        assert_eq!(resolve("tool", &path), Resolved::Found(exe.clone()));
        assert_eq!(resolve("plain", &path), Resolved::NotExecutable);
        assert_eq!(resolve("nosuch", &path), Resolved::NotFound);
        assert_eq!(resolve(exe.to_str().unwrap(), ""), Resolved::Found(exe));
        assert_eq!(
            resolve(d.path().to_str().unwrap(), ""),
            Resolved::NotExecutable
        );
        assert_eq!(resolve("", &path), Resolved::NotFound);
    }
}
