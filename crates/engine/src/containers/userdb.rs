//! Resolving `-u user[:group]` against the container's own `/etc/passwd` and `/etc/group`,
//! read through the container root with `RESOLVE_IN_ROOT` (a symlinked `/etc/passwd` can
//! never make berth read a host file), and parsed without NSS (CVE-2019-14271).

use std::io::Read;
use std::path::Path;

use rustix::fs::{Mode, OFlags, ResolveFlags};

/// The resolved identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// uid.
    pub uid: u32,
    /// Primary gid.
    pub gid: u32,
    /// Supplementary groups (the user's memberships in `/etc/group`).
    pub additional_gids: Vec<u32>,
    /// Home directory (for `HOME`).
    pub home: String,
}

/// Why a user spec does not resolve (Docker's wording).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UserError {
    /// A name that is not in `/etc/passwd`.
    #[error("unable to find user {0}: no matching entries in passwd file")]
    NoUser(String),
    /// A group name that is not in `/etc/group`.
    #[error("unable to find group {0}: no matching entries in group file")]
    NoGroup(String),
}

const MAX_DB: u64 = 4 << 20;

/// Reads a file inside `root` without ever leaving it; `None` when absent.
pub fn read_in_root(root: &Path, rel: &str) -> std::io::Result<Option<Vec<u8>>> {
    let dir = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let fd = match rustix::fs::openat2(
        &dir,
        rel.trim_start_matches('/'),
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT | rustix::io::Errno::NOTDIR) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut f = std::fs::File::from(fd);
    let mut buf = Vec::new();
    f.by_ref().take(MAX_DB).read_to_end(&mut buf)?;
    Ok(Some(buf))
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f.get(5).unwrap_or(&"").to_string(),
            })
        })
        .collect()
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

fn groups(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f
                    .get(3)
                    .map(|m| {
                        m.split(',')
                            .filter(|s| !s.is_empty())
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// Resolves `spec` (`""`, `name`, `uid`, `name:group`, `uid:gid`, …) with the given
/// passwd/group file contents, as runc's `user.GetExecUser` does.
pub fn resolve(spec: &str, passwd_text: &str, group_text: &str) -> Result<User, UserError> {
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = passwd(passwd_text);
    let u = if u.is_empty() { "0" } else { u };
    let (uid, mut gid, name, home) = if let Ok(uid) = u.parse::<u32>() {
        match users.iter().find(|e| e.uid == uid) {
            Some(e) => (uid, e.gid, Some(e.name.clone()), e.home.clone()),
            None => (uid, 0, None, "/".to_string()),
        }
    } else {
        match users.iter().find(|e| e.name == u) {
            Some(e) => (e.uid, e.gid, Some(e.name.clone()), e.home.clone()),
            None => return Err(UserError::NoUser(u.to_string())),
        }
    };
    let all_groups = groups(group_text);
    if let Some(g) = g.filter(|g| !g.is_empty()) {
        gid = if let Ok(n) = g.parse::<u32>() {
            n
        } else {
            all_groups
                .iter()
                .find(|e| e.name == g)
                .map(|e| e.gid)
                .ok_or_else(|| UserError::NoGroup(g.to_string()))?
        };
    }
    let mut additional_gids = Vec::new();
    if g.is_none() {
        if let Some(name) = &name {
            for e in &all_groups {
                if e.members.iter().any(|m| m == name) && !additional_gids.contains(&e.gid) {
                    additional_gids.push(e.gid);
                }
            }
        }
    }
    let home = if home.is_empty() {
        "/".to_string()
    } else {
        home
    };
    Ok(User {
        uid,
        gid,
        additional_gids,
        home,
    })
}

/// Resolves `spec` inside the container root.
pub fn resolve_in_root(root: &Path, spec: &str) -> Result<Result<User, UserError>, std::io::Error> {
    let p = read_in_root(root, "/etc/passwd")?.unwrap_or_default();
    let g = read_in_root(root, "/etc/group")?.unwrap_or_default();
    Ok(resolve(
        spec,
        &String::from_utf8_lossy(&p),
        &String::from_utf8_lossy(&g),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n";
    const G: &str = "root:x:0:\nwheel:x:10:alice,bob\nusers:x:100:alice\nalice:x:1000:\n";

    #[test]
    fn resolves_names_numbers_and_groups() {
        let r = resolve("", P, G).unwrap();
        assert_eq!((r.uid, r.gid, r.home.as_str()), (0, 0, "/root"));
        let a = resolve("alice", P, G).unwrap();
        assert_eq!((a.uid, a.gid), (1000, 1000));
        assert_eq!(a.additional_gids, vec![10, 100]);
        assert_eq!(
            resolve("1000", P, G).unwrap().additional_gids,
            vec![10, 100]
        );
        let n = resolve("4242:4343", P, G).unwrap();
        assert_eq!((n.uid, n.gid, n.home.as_str()), (4242, 4343, "/"));
        assert_eq!(resolve("alice:wheel", P, G).unwrap().gid, 10);
        assert_eq!(
            resolve("nosuch", P, G),
            Err(UserError::NoUser("nosuch".into()))
        );
        assert_eq!(
            resolve("alice:nogrp", P, G),
            Err(UserError::NoGroup("nogrp".into()))
        );
        assert_eq!(
            resolve("nobody", "", ""),
            Err(UserError::NoUser("nobody".into()))
        );
    }

    #[test]
    fn reading_never_leaves_the_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", d.path().join("etc2")).unwrap();
        assert_eq!(read_in_root(d.path(), "/etc/passwd").unwrap(), None);
        assert_eq!(read_in_root(d.path(), "/etc2/shadow").unwrap(), None);
    }
}
