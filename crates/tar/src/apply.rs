//! Applying a layer tar stream to a directory, entry by entry, through directory fds.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{
    self as rfs, AtFlags, FileType, Gid, Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid,
    XattrFlags,
};
use rustix::io::Errno;

use crate::path::{components, join};
use crate::TarError;

/// How `.wh.` whiteout entries are materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Each layer is its own overlayfs lowerdir (Docker's overlay2): `.wh.NAME` becomes a 0:0
    /// character device `NAME`; `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its directory.
    Overlay,
    /// The layer is applied over a directory holding the layers below: `.wh.NAME` removes
    /// `NAME`; `.wh..wh..opq` empties its directory of what earlier layers put there.
    Apply,
}

/// Limits enforced while streaming.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of file content.
    pub max_bytes: u64,
    /// Number of entries.
    pub max_entries: u64,
    /// Length of an entry name or link target.
    pub max_path_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 << 30,
            max_entries: 10_000_000,
            max_path_len: 4096,
        }
    }
}

/// Options of [`apply_layer`].
#[derive(Debug, Clone, Copy)]
pub struct ApplyOptions {
    /// How whiteouts are materialised.
    pub whiteouts: WhiteoutMode,
    /// Limits.
    pub limits: Limits,
    /// Whether to set owners from the tar (needs CAP_CHOWN).
    pub preserve_owner: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            whiteouts: WhiteoutMode::Overlay,
            limits: Limits::default(),
            preserve_owner: true,
        }
    }
}

/// What [`apply_layer`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApplyStats {
    /// Entries processed.
    pub entries: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
}

const WH_PREFIX: &[u8] = b".wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";

struct Applier<'a> {
    root: OwnedFd,
    opts: &'a ApplyOptions,
    /// The last parent directory opened, by relative path.
    cache: Option<(Vec<u8>, OwnedFd)>,
    /// Directory mtimes, set at the end so later entries don't disturb them.
    dir_times: Vec<(Vec<Vec<u8>>, i64)>,
    /// Paths this layer wrote (for opaque directories in Apply mode).
    written: HashSet<Vec<u8>>,
    buf: Vec<u8>,
}

/// Applies an uncompressed layer tar stream into the existing directory `dest`.
/// Nothing is ever written outside `dest`.
pub fn apply_layer<R: Read>(
    reader: R,
    dest: &Path,
    opts: &ApplyOptions,
) -> Result<ApplyStats, TarError> {
    let root = rfs::open(
        dest,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| TarError::Io {
        name: dest.display().to_string(),
        op: "open layer root",
        source: e.into(),
    })?;
    let mut a = Applier {
        root,
        opts,
        cache: None,
        dir_times: Vec::new(),
        written: HashSet::new(),
        buf: vec![0u8; 256 * 1024],
    };
    let mut stats = ApplyStats::default();
    let mut archive = tar::Archive::new(reader);
    let entries = archive
        .entries()
        .map_err(|e| TarError::Malformed(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| TarError::Malformed(e.to_string()))?;
        stats.entries += 1;
        if stats.entries > opts.limits.max_entries {
            return Err(TarError::LimitExceeded {
                what: "entry count",
                limit: opts.limits.max_entries,
            });
        }
        a.entry(&mut entry, &mut stats)?;
    }
    a.finish()?;
    Ok(stats)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Applier<'_> {
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        stats: &mut ApplyStats,
    ) -> Result<(), TarError> {
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let parts = components(&raw, self.opts.limits.max_path_len)?;
        let header = entry.header().clone();
        let kind = header.entry_type();
        let mode = header
            .mode()
            .map_err(|e| TarError::Malformed(format!("{name}: {e}")))?
            & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let mtime = to_i64(header.mtime().unwrap_or(0));

        if parts.is_empty() {
            // The root directory itself ("./"): take its metadata.
            if kind.is_dir() {
                self.set_meta(self.root_fd(), &name, mode, uid, gid)?;
                self.dir_times.push((Vec::new(), mtime));
            }
            return Ok(());
        }
        let (file, parent_parts) = parts.split_last().expect("non-empty");
        if file.starts_with(WH_PREFIX) {
            return self.whiteout(&name, parent_parts, file);
        }
        let parent = self.parent(&name, parent_parts)?;
        let rel = join(&parts);
        self.written.insert(rel.clone());
        let fname = OsStr::from_bytes(file);
        match kind {
            tar::EntryType::Directory => {
                match rfs::statat(&parent, fname, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
                    Ok(_) => {
                        remove_at(parent.as_fd(), fname, &name)?;
                        mkdir(&parent, fname, &name)?;
                    }
                    Err(Errno::NOENT) => mkdir(&parent, fname, &name)?,
                    Err(e) => return Err(TarError::io(&name, "stat")(e)),
                }
                let fd = rfs::openat(
                    &parent,
                    fname,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(TarError::io(&name, "open directory"))?;
                self.set_meta(fd.as_fd(), &name, mode, uid, gid)?;
                self.set_xattrs(fd.as_fd(), entry, &name)?;
                self.dir_times.push((parts.clone(), mtime));
                // A cached fd for this path may now be stale (replaced); drop it.
                self.cache = None;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                stats.bytes = stats.bytes.saturating_add(size);
                if stats.bytes > self.opts.limits.max_bytes {
                    return Err(TarError::LimitExceeded {
                        what: "total size",
                        limit: self.opts.limits.max_bytes,
                    });
                }
                replace(parent.as_fd(), fname, &name)?;
                let fd = rfs::openat(
                    &parent,
                    fname,
                    OFlags::WRONLY
                        | OFlags::CREATE
                        | OFlags::EXCL
                        | OFlags::NOFOLLOW
                        | OFlags::CLOEXEC,
                    Mode::from_raw_mode(0o600),
                )
                .map_err(TarError::io(&name, "create file"))?;
                let mut file = std::fs::File::from(fd);
                let mut left = size;
                while left > 0 {
                    let want = (self.buf.len() as u64).min(left) as usize;
                    let n = entry
                        .read(&mut self.buf[..want])
                        .map_err(|e| TarError::Malformed(format!("{name}: {e}")))?;
                    if n == 0 {
                        return Err(TarError::Malformed(format!(
                            "{name}: archive truncated ({left} bytes missing)"
                        )));
                    }
                    file.write_all(&self.buf[..n]).map_err(|e| TarError::Io {
                        name: name.clone(),
                        op: "write",
                        source: e,
                    })?;
                    left -= n as u64;
                }
                self.set_meta(file.as_fd(), &name, mode, uid, gid)?;
                self.set_xattrs(file.as_fd(), entry, &name)?;
                let ts = times(mtime);
                rfs::futimens(&file, &ts).map_err(TarError::io(&name, "set times"))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                if target.len() > self.opts.limits.max_path_len || target.contains(&0) {
                    return Err(TarError::BadEntry {
                        name,
                        reason: "invalid symlink target",
                    });
                }
                replace(parent.as_fd(), fname, &name)?;
                rfs::symlinkat(OsStr::from_bytes(&target), &parent, fname)
                    .map_err(TarError::io(&name, "create symlink"))?;
                if self.opts.preserve_owner {
                    rfs::chownat(
                        &parent,
                        fname,
                        Some(Uid::from_raw(uid as u32)),
                        Some(Gid::from_raw(gid as u32)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                    .map_err(TarError::io(&name, "chown"))?;
                }
                rfs::utimensat(&parent, fname, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(TarError::io(&name, "set times"))?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                self.hardlink(&name, &parent, fname, &target, &rel)?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let dev = rfs::makedev(
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                replace(parent.as_fd(), fname, &name)?;
                rfs::mknodat(&parent, fname, ft, Mode::from_raw_mode(0o600), dev)
                    .map_err(TarError::io(&name, "mknod"))?;
                if self.opts.preserve_owner {
                    rfs::chownat(
                        &parent,
                        fname,
                        Some(Uid::from_raw(uid as u32)),
                        Some(Gid::from_raw(gid as u32)),
                        AtFlags::SYMLINK_NOFOLLOW,
                    )
                    .map_err(TarError::io(&name, "chown"))?;
                }
                // The node was just created by us in a private directory: not a symlink.
                rfs::chmodat(&parent, fname, Mode::from_raw_mode(mode), AtFlags::empty())
                    .map_err(TarError::io(&name, "chmod"))?;
                rfs::utimensat(&parent, fname, &times(mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(TarError::io(&name, "set times"))?;
            }
            tar::EntryType::XGlobalHeader => {}
            _ => {
                return Err(TarError::BadEntry {
                    name,
                    reason: "unsupported entry type",
                })
            }
        }
        Ok(())
    }

    fn root_fd(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// Opens the directory holding an entry, creating missing directories (mode 0755),
    /// resolving symlinks met on the way inside the root.
    fn parent(&mut self, name: &str, parts: &[Vec<u8>]) -> Result<OwnedFd, TarError> {
        let rel = join(parts);
        if let Some((p, fd)) = &self.cache {
            if *p == rel {
                return fd.try_clone().map_err(|e| TarError::Io {
                    name: name.to_string(),
                    op: "dup",
                    source: e,
                });
            }
        }
        let fd = if parts.is_empty() {
            self.root.try_clone().map_err(|e| TarError::Io {
                name: name.to_string(),
                op: "dup",
                source: e,
            })?
        } else {
            match ensure_dir_in_root(self.root.as_fd(), parts.to_vec(), 0) {
                Ok(fd) => fd,
                Err(Errno::NOTDIR) | Err(Errno::LOOP) => {
                    return Err(TarError::BadEntry {
                        name: name.to_string(),
                        reason: "a parent is not a directory",
                    })
                }
                Err(Errno::XDEV) => {
                    return Err(TarError::BadEntry {
                        name: name.to_string(),
                        reason: "path escapes the layer root",
                    })
                }
                Err(e) => return Err(TarError::io(name, "open parent")(e)),
            }
        };
        let dup = fd.try_clone().map_err(|e| TarError::Io {
            name: name.to_string(),
            op: "dup",
            source: e,
        })?;
        self.cache = Some((rel, dup));
        Ok(fd)
    }

    fn set_meta(
        &self,
        fd: BorrowedFd<'_>,
        name: &str,
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> Result<(), TarError> {
        if self.opts.preserve_owner {
            rfs::fchown(
                fd,
                Some(Uid::from_raw(uid as u32)),
                Some(Gid::from_raw(gid as u32)),
            )
            .map_err(TarError::io(name, "chown"))?;
        }
        // After chown, which clears set-id bits.
        rfs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(TarError::io(name, "chmod"))
    }

    fn set_xattrs<R: Read>(
        &self,
        fd: BorrowedFd<'_>,
        entry: &mut tar::Entry<'_, R>,
        name: &str,
    ) -> Result<(), TarError> {
        let Ok(Some(exts)) = entry.pax_extensions() else {
            return Ok(());
        };
        for ext in exts.flatten() {
            let Ok(key) = ext.key() else { continue };
            let Some(attr) = key.strip_prefix("SCHILY.xattr.") else {
                continue;
            };
            // Overlay metadata must never come from image content.
            if attr.starts_with("trusted.overlay.") {
                continue;
            }
            if let Err(e) = rfs::fsetxattr(fd, attr, ext.value_bytes(), XattrFlags::empty()) {
                if e == Errno::NOTSUP || e == Errno::PERM {
                    tracing::debug!(entry = name, attr, "xattr not supported here; skipped");
                    continue;
                }
                return Err(TarError::io(name, "set xattr")(e));
            }
        }
        Ok(())
    }

    fn hardlink(
        &mut self,
        name: &str,
        parent: &OwnedFd,
        fname: &OsStr,
        target: &[u8],
        rel: &[u8],
    ) -> Result<(), TarError> {
        let bad = |reason: &str| TarError::BadLink {
            name: name.to_string(),
            target: String::from_utf8_lossy(target).into_owned(),
            reason: reason.to_string(),
        };
        let tparts = components(target, self.opts.limits.max_path_len)
            .map_err(|_| bad("target escapes the layer root"))?;
        let Some((tfile, tdir)) = tparts.split_last() else {
            return Err(bad("target is the layer root"));
        };
        if join(&tparts) == rel {
            return Ok(());
        }
        let tparent = if tdir.is_empty() {
            self.root.try_clone().map_err(|e| TarError::Io {
                name: name.to_string(),
                op: "dup",
                source: e,
            })?
        } else {
            open_in_root(self.root.as_fd(), &join(tdir)).map_err(|_| bad("target not found"))?
        };
        let tname = OsStr::from_bytes(tfile);
        match rfs::statat(&tparent, tname, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                return Err(bad("target is a directory"))
            }
            Ok(_) => {}
            Err(_) => return Err(bad("target not found")),
        }
        replace(parent.as_fd(), fname, name)?;
        // linkat without AT_SYMLINK_FOLLOW links a symlink itself, never what it points to.
        rfs::linkat(&tparent, tname, parent, fname, AtFlags::empty())
            .map_err(TarError::io(name, "create hardlink"))
    }

    fn whiteout(
        &mut self,
        name: &str,
        parent_parts: &[Vec<u8>],
        file: &[u8],
    ) -> Result<(), TarError> {
        let parent = self.parent(name, parent_parts)?;
        if file == WH_OPAQUE {
            match self.opts.whiteouts {
                WhiteoutMode::Overlay => {
                    let dir = rfs::openat(
                        &parent,
                        ".",
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(TarError::io(name, "open directory"))?;
                    rfs::fsetxattr(&dir, "trusted.overlay.opaque", b"y", XattrFlags::empty())
                        .map_err(TarError::io(name, "mark opaque"))?;
                }
                WhiteoutMode::Apply => {
                    let prefix = join(parent_parts);
                    let dir = rfs::openat(
                        &parent,
                        ".",
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                        Mode::empty(),
                    )
                    .map_err(TarError::io(name, "open directory"))?;
                    for child in list_dir(dir.as_fd(), name)? {
                        let mut p = prefix.clone();
                        if !p.is_empty() {
                            p.push(b'/');
                        }
                        p.extend_from_slice(&child);
                        if !self.written.contains(&p) {
                            remove_at(parent.as_fd(), OsStr::from_bytes(&child), name)?;
                        }
                    }
                }
            }
            self.cache = None;
            return Ok(());
        }
        let victim = &file[WH_PREFIX.len()..];
        if victim.is_empty() || victim == b"." || victim == b".." || victim.contains(&b'/') {
            return Err(TarError::BadEntry {
                name: name.to_string(),
                reason: "invalid whiteout name",
            });
        }
        let vname = OsStr::from_bytes(victim);
        match self.opts.whiteouts {
            WhiteoutMode::Overlay => {
                replace(parent.as_fd(), vname, name)?;
                rfs::mknodat(
                    &parent,
                    vname,
                    FileType::CharacterDevice,
                    Mode::empty(),
                    rfs::makedev(0, 0),
                )
                .map_err(TarError::io(name, "create whiteout"))?;
            }
            WhiteoutMode::Apply => remove_at(parent.as_fd(), vname, name)?,
        }
        self.cache = None;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), TarError> {
        let times_list = std::mem::take(&mut self.dir_times);
        for (parts, mtime) in times_list.iter().rev() {
            let ts = times(*mtime);
            if parts.is_empty() {
                rfs::futimens(&self.root, &ts).map_err(TarError::io(".", "set times"))?;
                continue;
            }
            let rel = join(parts);
            let name = String::from_utf8_lossy(&rel).into_owned();
            // Re-resolve inside the root: the path may have been replaced since.
            if let Ok(fd) = open_in_root(self.root.as_fd(), &rel) {
                let _ = rfs::futimens(&fd, &ts).map_err(TarError::io(&name, "set times"));
            }
        }
        Ok(())
    }
}

fn times(mtime: i64) -> Timestamps {
    let t = Timespec {
        tv_sec: mtime,
        tv_nsec: 0,
    };
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// Opens the directory `parts` inside `root`, creating what is missing (mode 0755). A
/// dangling symlink met on the way is followed *inside* the root and its target created
/// there, as containerd's `RootPath` + `MkdirAll` do; `..` is resolved by the kernel
/// (`RESOLVE_IN_ROOT` clamps it at the root).
fn ensure_dir_in_root(
    root: BorrowedFd<'_>,
    parts: Vec<Vec<u8>>,
    depth: usize,
) -> rustix::io::Result<OwnedFd> {
    if depth > 40 {
        return Err(Errno::LOOP);
    }
    match open_in_root(root, &join(&parts)) {
        Err(Errno::NOENT) => {}
        r => return r,
    }
    let mut parent = rfs::openat(
        root,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for i in 0..parts.len() {
        let prefix = join(&parts[..=i]);
        match open_in_root(root, &prefix) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Errno::NOENT) => {}
            Err(e) => return Err(e),
        }
        let c = OsStr::from_bytes(&parts[i]);
        match rfs::statat(&parent, c, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => {
                match rfs::mkdirat(&parent, c, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e),
                }
                parent = open_in_root(root, &prefix)?;
            }
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                let target = rfs::readlinkat(&parent, c, Vec::new())?;
                let target = target.as_bytes();
                let mut next: Vec<Vec<u8>> = if target.starts_with(b"/") {
                    Vec::new()
                } else {
                    parts[..i].to_vec()
                };
                next.extend(
                    target
                        .split(|&b| b == b'/')
                        .filter(|c| !c.is_empty() && *c != b".")
                        .map(<[u8]>::to_vec),
                );
                next.extend(parts[i + 1..].iter().cloned());
                return ensure_dir_in_root(root, next, depth + 1);
            }
            Ok(_) => return Err(Errno::NOTDIR),
            Err(e) => return Err(e),
        }
    }
    Ok(parent)
}

/// Opens a directory by a path relative to `root`, resolved as if `root` were `/`.
fn open_in_root(root: BorrowedFd<'_>, rel: &[u8]) -> rustix::io::Result<OwnedFd> {
    rfs::openat2(
        root,
        OsStr::from_bytes(rel),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

fn mkdir(parent: &OwnedFd, name: &OsStr, entry: &str) -> Result<(), TarError> {
    rfs::mkdirat(parent, name, Mode::from_raw_mode(0o755)).map_err(TarError::io(entry, "mkdir"))
}

/// Removes whatever is at `name` (unless it is absent) so a new entry can take its place.
fn replace(parent: BorrowedFd<'_>, name: &OsStr, entry: &str) -> Result<(), TarError> {
    match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(TarError::io(entry, "stat")(e)),
        Ok(_) => remove_at(parent, name, entry),
    }
}

fn list_dir(dir: BorrowedFd<'_>, entry: &str) -> Result<Vec<Vec<u8>>, TarError> {
    let mut out = Vec::new();
    let d = rfs::Dir::read_from(dir).map_err(TarError::io(entry, "read directory"))?;
    for e in d {
        let e = e.map_err(TarError::io(entry, "read directory"))?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            out.push(n.to_vec());
        }
    }
    Ok(out)
}

/// Removes `name` under `parent`, recursively for directories, never following symlinks.
pub(crate) fn remove_at(parent: BorrowedFd<'_>, name: &OsStr, entry: &str) -> Result<(), TarError> {
    let st = match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(TarError::io(entry, "stat")(e)),
        Ok(st) => st,
    };
    if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
        let dir = rfs::openat(
            parent,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(TarError::io(entry, "open directory"))?;
        for child in list_dir(dir.as_fd(), entry)? {
            remove_at(dir.as_fd(), OsStr::from_bytes(&child), entry)?;
        }
        rfs::unlinkat(parent, name, AtFlags::REMOVEDIR).map_err(TarError::io(entry, "rmdir"))
    } else {
        rfs::unlinkat(parent, name, AtFlags::empty()).map_err(TarError::io(entry, "unlink"))
    }
}

#[allow(dead_code)]
fn _io(e: io::Error) -> io::Error {
    e
}
