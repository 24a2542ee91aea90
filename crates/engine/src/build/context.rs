//! Where `COPY` and `ADD` read from: the build context (a directory, filtered by
//! `.dockerignore`) or another image's root filesystem (`COPY --from`).
//!
//! Every path is resolved through a directory fd with `openat2(RESOLVE_IN_ROOT)`, so a
//! symlink in a hostile context (`ln -s / escape`, `ln -s ../../etc/passwd x`) resolves
//! inside the context, never outside it; directories are walked without following any
//! symlink (symlinks are copied as symlinks), as Docker does. A source that climbs out of
//! the context lexically (`COPY ../x .`) is refused before anything is opened.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use berth_build::ignore::{clean, Matcher};
use berth_types::Hasher;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};

/// A root to copy from.
#[derive(Debug)]
pub struct SourceRoot {
    fd: OwnedFd,
    ignore: Option<Matcher>,
}

/// One source as the user named it, resolved.
#[derive(Debug)]
pub struct Found {
    /// The resolved source (an `O_PATH` fd).
    fd: OwnedFd,
    /// Its path relative to the root, cleaned (for ignore rules and messages).
    pub rel: String,
    /// Whether it is a directory (its contents are copied).
    pub is_dir: bool,
    /// Its base name.
    pub base: String,
}

/// What one copied entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symlink with its target.
    Symlink(Vec<u8>),
}

/// One entry below a [`Found`].
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path below the found source (empty for a file source itself).
    pub rel: String,
    /// Type.
    pub kind: Kind,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size (files).
    pub size: u64,
    /// Modification time (seconds).
    pub mtime: i64,
}

fn open_in(dir: BorrowedFd<'_>, rel: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let rel = rel.trim_start_matches('/');
    rfs::openat2(
        dir,
        if rel.is_empty() { "." } else { rel },
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

/// Whether a pattern has glob characters (`*`, `?`, `[`).
pub fn has_wildcards(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Go's `filepath.Match` (no `**`): `*` and `?` stop at `/`.
pub fn path_match(pattern: &str, name: &str) -> bool {
    // A `**` here is two stars, each within one component.
    let p = pattern.replace("**", "*");
    match Matcher::new(&[p.as_str()]) {
        // Matcher also matches parents; require the name itself to match by checking that
        // the pattern has as many components as the name.
        Ok(m) => p.matches('/').count() == name.matches('/').count() && m.matches(name),
        Err(_) => false,
    }
}

impl SourceRoot {
    /// Opens a directory as a root, with `.dockerignore` rules for a context.
    pub fn open(dir: &Path, ignore: Option<Matcher>) -> io::Result<SourceRoot> {
        let fd = rfs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(SourceRoot { fd, ignore })
    }

    fn ignored(&self, rel: &str) -> bool {
        self.ignore
            .as_ref()
            .is_some_and(|m| !rel.is_empty() && rel != "." && m.matches(rel))
    }

    /// Resolves one source (already expanded): a path or a wildcard pattern. `Err` holds
    /// the message for the user.
    pub fn find(&self, src: &str) -> Result<Vec<Found>, String> {
        let cleaned = clean(&format!("/{src}"));
        let lexical = clean(src.trim_start_matches('/'));
        if lexical == ".." || lexical.starts_with("../") {
            return Err(format!("forbidden path outside the build context: {src}"));
        }
        let rel = cleaned.trim_start_matches('/').to_string();
        if has_wildcards(&rel) {
            let mut names = Vec::new();
            self.glob(&rel, &mut names).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for n in names {
                if let Ok(f) = self.found(&n) {
                    out.push(f);
                }
            }
            if out.is_empty() {
                return Err(format!(
                    "no source files were specified (\"{src}\" matched nothing)"
                ));
            }
            return Ok(out);
        }
        if self.ignored(&rel) {
            return Err(format!("\"/{rel}\": not found"));
        }
        self.found(&rel)
            .map(|f| vec![f])
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => format!("\"/{rel}\": not found"),
                _ => format!("\"/{rel}\": {e}"),
            })
    }

    fn found(&self, rel: &str) -> io::Result<Found> {
        let fd = open_in(self.fd.as_fd(), rel, OFlags::PATH)?;
        let st = rfs::fstat(&fd)?;
        let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
        let base = rel.rsplit('/').next().unwrap_or("").to_string();
        Ok(Found {
            fd,
            rel: rel.to_string(),
            is_dir,
            base,
        })
    }

    /// Every path (relative, not ignored) matching `pattern`, component by component.
    fn glob(&self, pattern: &str, out: &mut Vec<String>) -> io::Result<()> {
        let comps: Vec<&str> = pattern.split('/').collect();
        let mut current = vec![String::new()];
        for (i, comp) in comps.iter().enumerate() {
            let mut next = Vec::new();
            for base in &current {
                if !has_wildcards(comp) {
                    next.push(join(base, comp));
                    continue;
                }
                let Ok(dir) = open_in(self.fd.as_fd(), base, OFlags::RDONLY | OFlags::DIRECTORY)
                else {
                    continue;
                };
                for name in list_dir(dir.as_fd())? {
                    let n = String::from_utf8_lossy(&name).into_owned();
                    if path_match(comp, &n) {
                        next.push(join(base, &n));
                    }
                }
            }
            let last = i + 1 == comps.len();
            current = next
                .into_iter()
                .filter(|p| !self.ignored(p) || !last)
                .collect();
        }
        current.sort();
        out.extend(current);
        Ok(())
    }

    /// The entries of a found source, sorted, ignore rules applied below it.
    pub fn entries(&self, f: &Found) -> io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        if !f.is_dir {
            let st = rfs::fstat(&f.fd)?;
            out.push(entry_of(String::new(), &st, None));
            // A symlink source was followed by find(); a found fd is never a symlink.
            return Ok(out);
        }
        let dir = rfs::openat(
            &f.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        self.walk(dir.as_fd(), &f.rel, "", &mut out)?;
        Ok(out)
    }

    fn walk(
        &self,
        dir: BorrowedFd<'_>,
        ctx_prefix: &str,
        rel: &str,
        out: &mut Vec<Entry>,
    ) -> io::Result<()> {
        for name in list_dir(dir)? {
            let n = String::from_utf8_lossy(&name).into_owned();
            let r = join(rel, &n);
            let ctx = join(ctx_prefix, &r);
            let ignored = self.ignored(&ctx);
            let st = rfs::statat(dir, OsStr::from_bytes(&name), AtFlags::SYMLINK_NOFOLLOW)?;
            match FileType::from_raw_mode(st.st_mode) {
                FileType::Directory => {
                    if ignored && !self.ignore.as_ref().is_some_and(|m| m.has_exclusions()) {
                        continue;
                    }
                    if !ignored {
                        out.push(entry_of(r.clone(), &st, None));
                    }
                    let sub = rfs::openat(
                        dir,
                        OsStr::from_bytes(&name),
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    )?;
                    self.walk(sub.as_fd(), ctx_prefix, &r, out)?;
                }
                FileType::Symlink if !ignored => {
                    let target = rfs::readlinkat(dir, OsStr::from_bytes(&name), Vec::new())?;
                    out.push(entry_of(r, &st, Some(target.into_bytes())));
                }
                FileType::RegularFile if !ignored => out.push(entry_of(r, &st, None)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Opens a regular file of an entry list for reading (never following a symlink).
    pub fn open_entry(&self, f: &Found, e: &Entry) -> io::Result<File> {
        let fd = if e.rel.is_empty() {
            rfs::openat(&f.fd, ".", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .or_else(|_| reopen(&f.fd))?
        } else {
            rfs::openat2(
                &f.fd,
                e.rel.as_str(),
                OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            )?
        };
        Ok(File::from(fd))
    }

    /// Reads a small file of the root (the Dockerfile, `.dockerignore`), `None` if absent.
    pub fn read_file(&self, rel: &str) -> io::Result<Option<Vec<u8>>> {
        match open_in(self.fd.as_fd(), rel, OFlags::RDONLY) {
            Ok(fd) => {
                let mut v = Vec::new();
                File::from(fd).read_to_end(&mut v)?;
                Ok(Some(v))
            }
            Err(rustix::io::Errno::NOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// Reopens an `O_PATH` fd of a regular file for reading.
fn reopen(fd: &OwnedFd) -> io::Result<OwnedFd> {
    let p = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(fd));
    Ok(rfs::open(
        p.as_str(),
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}/{b}")
    }
}

fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    let mut d = rfs::Dir::read_from(dir)?;
    let mut names = Vec::new();
    while let Some(e) = d.read() {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    names.sort();
    Ok(names)
}

fn entry_of(rel: String, st: &rfs::Stat, link: Option<Vec<u8>>) -> Entry {
    let kind = match (FileType::from_raw_mode(st.st_mode), link) {
        (FileType::Directory, _) => Kind::Dir,
        (_, Some(t)) => Kind::Symlink(t),
        _ => Kind::File,
    };
    Entry {
        rel,
        size: if kind == Kind::File {
            st.st_size as u64
        } else {
            0
        },
        kind,
        mode: st.st_mode & 0o7777,
        uid: st.st_uid,
        gid: st.st_gid,
        mtime: st.st_mtime,
    }
}

/// Hashes the entries of a source (names, types, modes, link targets and file contents;
/// not times, as Docker's content hash): the part of a `COPY` cache key that changes when a
/// copied file does. Owners count only when `owners` (copies from images keep them).
pub fn hash_source(
    root: &SourceRoot,
    f: &Found,
    entries: &[Entry],
    owners: bool,
    h: &mut Hasher,
) -> io::Result<()> {
    h.update(f.rel.as_bytes());
    h.update(&[0, f.is_dir as u8]);
    let mut buf = vec![0u8; 64 * 1024];
    for e in entries {
        h.update(e.rel.as_bytes());
        let kind = match &e.kind {
            Kind::Dir => b'd',
            Kind::File => b'f',
            Kind::Symlink(_) => b'l',
        };
        h.update(&[0, kind]);
        h.update(&e.mode.to_be_bytes());
        if owners {
            h.update(&e.uid.to_be_bytes());
            h.update(&e.gid.to_be_bytes());
        }
        match &e.kind {
            Kind::Symlink(t) => h.update(t),
            Kind::File => {
                h.update(&e.size.to_be_bytes());
                let mut file = root.open_entry(f, e)?;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
            }
            Kind::Dir => {}
        }
    }
    Ok(())
}

/// How copied entries are written.
pub struct TarOptions {
    /// Force owners (`--chown`, and root for context files).
    pub owner: Option<(u32, u32)>,
    /// Force permission bits (`--chmod`).
    pub mode: Option<u32>,
}

/// Appends the entries of `f` to `w` under `prefix` (a member name below the extraction
/// directory; for a file source, its whole member name).
pub fn append_source<W: Write>(
    root: &SourceRoot,
    f: &Found,
    entries: &[Entry],
    prefix: &str,
    opts: &TarOptions,
    w: &mut tar::Builder<W>,
) -> io::Result<()> {
    for e in entries {
        let name = if e.rel.is_empty() {
            prefix.to_string()
        } else if prefix.is_empty() {
            e.rel.clone()
        } else {
            format!("{prefix}/{}", e.rel)
        };
        if name.is_empty() {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        let (uid, gid) = opts.owner.unwrap_or((e.uid, e.gid));
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mode(opts.mode.unwrap_or(e.mode));
        h.set_mtime(e.mtime.max(0) as u64);
        match &e.kind {
            Kind::Dir => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                w.append_data(&mut h, format!("{name}/"), io::empty())?;
            }
            Kind::Symlink(t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                w.append_link(&mut h, &name, OsStr::from_bytes(t))?;
            }
            Kind::File => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(e.size);
                let file = root.open_entry(f, e)?;
                w.append_data(&mut h, &name, file.take(e.size))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_within_one_component() {
        assert!(has_wildcards("*.txt") && has_wildcards("a?") && has_wildcards("[ab]"));
        assert!(!has_wildcards("plain/path"));
        assert!(path_match("*.txt", "a.txt"));
        assert!(!path_match("*.txt", "dir/a.txt"));
        assert!(path_match("src/*.js", "src/a.js"));
        assert!(!path_match("src/*.js", "src"));
        assert!(path_match("a?c", "abc"));
        assert!(path_match("[ab]*", "beta"));
    }

    #[test]
    fn sources_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), "x").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/g"), "y").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("abs")).unwrap();
        let root = SourceRoot::open(dir.path(), Some(Matcher::new(&["d/g"]).unwrap())).unwrap();
        assert!(root
            .find("../x")
            .unwrap_err()
            .contains("outside the build context"));
        assert!(root.find("/nope").unwrap_err().contains("not found"));
        assert!(
            root.find("d/g").unwrap_err().contains("not found"),
            "ignored"
        );
        // An absolute symlink resolves inside the root (where /etc/passwd does not exist).
        assert!(root.find("abs").unwrap_err().contains("not found"));
        let found = root.find("d").unwrap();
        assert!(found[0].is_dir);
        assert!(
            root.entries(&found[0]).unwrap().is_empty(),
            "d/g is ignored"
        );
        let found = root.find("*").unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(names, vec!["d", "f"], "the dangling symlink is left out");
        let f = root.find("f").unwrap();
        let e = root.entries(&f[0]).unwrap();
        let mut h1 = Hasher::new();
        hash_source(&root, &f[0], &e, false, &mut h1).unwrap();
        std::fs::write(dir.path().join("f"), "z").unwrap();
        let e = root.entries(&f[0]).unwrap();
        let mut h2 = Hasher::new();
        hash_source(&root, &f[0], &e, false, &mut h2).unwrap();
        assert_ne!(h1.finish(), h2.finish(), "content changes the hash");
    }
}
