//! The container's root filesystem: an overlay of the image's layers (read-only lower
//! dirs, top first) under the container's own upper dir.

use std::io;
use std::path::{Path, PathBuf};

use rustix::mount::{MountFlags, UnmountFlags};

use super::paths::Paths;

/// Whether `dir` is a mount point (its device differs from its parent's, or it is an overlay).
pub fn is_mounted(dir: &Path) -> bool {
    let Ok(st) = rustix::fs::statfs(dir) else {
        return false;
    };
    // OVERLAYFS_SUPER_MAGIC
    st.f_type as u64 == 0x794c_7630
}

/// Mounts the overlay at `paths.merged` (no-op when already mounted). `lowers` are the
/// image's layer diff dirs, bottom first; an image without layers gets an empty lower dir.
pub fn mount(paths: &Paths, lowers: &[PathBuf]) -> io::Result<()> {
    if is_mounted(&paths.merged) {
        return Ok(());
    }
    for d in [&paths.upper, &paths.work, &paths.merged] {
        std::fs::create_dir_all(d)?;
    }
    let empty;
    let lowers: Vec<&Path> = if lowers.is_empty() {
        empty = paths.dir.join("empty");
        std::fs::create_dir_all(&empty)?;
        vec![empty.as_path()]
    } else {
        lowers.iter().rev().map(|p| p.as_path()).collect()
    };
    let lower = lowers
        .iter()
        .map(|p| {
            p.to_string_lossy()
                .replace('\\', "\\\\")
                .replace(':', "\\:")
                .replace(',', "\\,")
        })
        .collect::<Vec<_>>()
        .join(":");
    let data = format!(
        "lowerdir={lower},upperdir={},workdir={},index=off,xino=off",
        paths.upper.display(),
        paths.work.display()
    );
    let data = std::ffi::CString::new(data)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in an overlay path"))?;
    rustix::mount::mount(
        "overlay",
        &paths.merged,
        "overlay",
        MountFlags::empty(),
        Some(data.as_c_str()),
    )
    .map_err(|e| {
        io::Error::new(
            io::Error::from(e).kind(),
            format!("mount overlay at {}: {e}", paths.merged.display()),
        )
    })
}

/// Unmounts the overlay (lazily if busy); no-op when not mounted.
pub fn unmount(paths: &Paths) -> io::Result<()> {
    if !is_mounted(&paths.merged) {
        return Ok(());
    }
    match rustix::mount::unmount(&paths.merged, UnmountFlags::NOFOLLOW) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::BUSY) => {
            rustix::mount::unmount(&paths.merged, UnmountFlags::NOFOLLOW | UnmountFlags::DETACH)
                .map_err(Into::into)
        }
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Writes `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` sources for the container.
pub fn write_etc_files(
    paths: &Paths,
    hostname: &str,
    host_network: bool,
    extra_hosts: &[String],
    dns: &[String],
    dns_search: &[String],
    dns_options: &[String],
) -> io::Result<()> {
    let hosts = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_default()
    } else {
        let mut h = String::from(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n",
        );
        for e in extra_hosts {
            if let Some((name, ip)) = e.split_once(':') {
                h.push_str(&format!("{ip}\t{name}\n"));
            }
        }
        h
    };
    let hostname_file = format!("{hostname}\n");
    let resolv = resolv_conf(
        &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        host_network,
        dns,
        dns_search,
        dns_options,
    );
    for (p, data) in [
        (&paths.hostname, hostname_file),
        (&paths.hosts, hosts),
        (&paths.resolv, resolv),
    ] {
        let tmp = p.with_extension("tmp");
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, p)?;
    }
    Ok(())
}

/// Docker's resolv.conf for a container: the host's, without localhost name servers (which
/// would not be reachable from another network namespace), Google's as a fallback, and the
/// user's `--dns*` overrides.
fn resolv_conf(
    host: &str,
    host_network: bool,
    dns: &[String],
    search: &[String],
    options: &[String],
) -> String {
    let mut ns = Vec::new();
    let mut other = Vec::new();
    for l in host.lines() {
        let t = l.trim();
        if let Some(a) = t.strip_prefix("nameserver") {
            let a = a.trim();
            if host_network || !(a.starts_with("127.") || a == "::1") {
                ns.push(a.to_string());
            }
        } else if t.starts_with("search") || t.starts_with("options") || t.starts_with("domain") {
            other.push(t.to_string());
        }
    }
    if !dns.is_empty() {
        ns = dns.to_vec();
    }
    if ns.is_empty() {
        ns = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    if !search.is_empty() {
        other.retain(|l| !l.starts_with("search") && !l.starts_with("domain"));
        other.push(format!("search {}", search.join(" ")));
    }
    if !options.is_empty() {
        other.retain(|l| !l.starts_with("options"));
        other.push(format!("options {}", options.join(" ")));
    }
    let mut out = String::new();
    for n in ns {
        out.push_str(&format!("nameserver {n}\n"));
    }
    for o in other {
        out.push_str(&o);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_drops_localhost_servers() {
        let r = resolv_conf("nameserver 127.0.0.53\nsearch lan\n", false, &[], &[], &[]);
        assert_eq!(r, "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\n");
        let r = resolv_conf(
            "nameserver 10.0.0.1\n",
            false,
            &["1.1.1.1".into()],
            &["x".into()],
            &[],
        );
        assert_eq!(r, "nameserver 1.1.1.1\nsearch x\n");
    }
}
