//! Applying a layer tar stream to a directory, entry by entry, through directory fds.
//!
//! Every filesystem call is relative to a directory fd obtained under the root fd:
//! parents with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, final components with
//! `*at` calls that never follow a final symlink. See the crate docs for the threat model.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{
    self as rfs, AtFlags, FileType, Gid, Mode, OFlags, ResolveFlags, Timespec, Timestamps, Uid,
    XattrFlags,
};
use rustix::io::Errno;

use crate::guard::{Guard, MetaTooLarge};
use crate::path::{components, display_name, join};
use crate::TarError;

/// How `.wh.` whiteout entries are materialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteoutMode {
    /// Each layer is its own overlayfs lowerdir (Docker's overlay2): `.wh.NAME` becomes a 0:0
    /// character device `NAME`; `.wh..wh..opq` sets `trusted.overlay.opaque=y` on its
    /// directory. Whiteout files themselves are never written.
    Overlay,
    /// The layer is applied over a directory holding the layers below (flattening):
    /// `.wh.NAME` removes `NAME`; `.wh..wh..opq` removes from its directory what earlier
    /// layers put there, keeping what this same layer wrote.
    Apply,
}

/// Limits enforced while streaming (CVE-2017-14992).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Total bytes of member data (file contents and any other payload).
    pub max_bytes: u64,
    /// Number of entries.
    pub max_entries: u64,
    /// Length of an entry name or link target.
    pub max_path_len: usize,
}

impl Default for Limits {
    /// 256 GiB of data, ten million entries, 4096-byte names (`PATH_MAX`).
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
    /// Whether to set owners from the tar (needs `CAP_CHOWN`; true by default).
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

/// What [`apply_layer`] did.
#[derive(Debug, Default, Clone, Copy)]
pub struct ApplyStats {
    /// Entries processed.
    pub entries: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
}

const WH_PREFIX: &[u8] = b".wh.";
const WH_OPAQUE: &[u8] = b".wh..wh..opq";
const COPY_BUF: usize = 256 * 1024;

/// Metadata of one entry, with PAX overrides applied.
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timespec,
    xattrs: Vec<(String, Vec<u8>)>,
}

struct Applier<'a> {
    root: OwnedFd,
    opts: &'a ApplyOptions,
    /// The last parent directory opened, by normalised relative path. Dropped whenever a
    /// directory or symlink is removed, since resolutions through it may have changed.
    cache: Option<(Vec<u8>, OwnedFd)>,
    /// Directory mtimes, set at the end so later entries don't disturb them (as Docker).
    dir_times: Vec<(Vec<Vec<u8>>, Timespec)>,
    /// Paths this layer wrote, with all their prefixes (Apply mode only, for opaque dirs).
    written: HashSet<Vec<u8>>,
    /// Total member data seen, for `Limits::max_bytes`.
    consumed: u64,
    buf: Vec<u8>,
}

/// Applies an uncompressed layer tar stream into the existing directory `dest`.
/// Nothing is ever written outside `dest`, whatever the stream holds.
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
        consumed: 0,
        buf: vec![0u8; COPY_BUF],
    };
    let mut stats = ApplyStats::default();
    let mut archive = tar::Archive::new(Guard::new(reader));
    let mut last = String::new();
    let stream_err = |last: &str, e: std::io::Error| match e
        .get_ref()
        .and_then(|i| i.downcast_ref::<MetaTooLarge>())
    {
        Some(_) => TarError::LimitExceeded {
            name: last.to_string(),
            what: "extended header size",
            limit: crate::guard::MAX_META,
        },
        None => TarError::Malformed {
            name: last.to_string(),
            reason: e.to_string(),
        },
    };
    let entries = archive.entries().map_err(|e| stream_err(&last, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| stream_err(&last, e))?;
        last = display_name(&entry.path_bytes());
        stats.entries += 1;
        if stats.entries > opts.limits.max_entries {
            return Err(TarError::LimitExceeded {
                name: last,
                what: "entry count",
                limit: opts.limits.max_entries,
            });
        }
        a.entry(&mut entry, &mut stats).map_err(|e| match e {
            // Errors reading member data come from the stream, not the filesystem.
            TarError::Io {
                name,
                op: "read",
                source,
            } => stream_err(&name, source),
            e => e,
        })?;
    }
    a.finish()?;
    Ok(stats)
}

fn timespec(secs: i64, nsecs: i64) -> Timespec {
    Timespec {
        tv_sec: secs,
        tv_nsec: nsecs as _,
    }
}

/// Parses a PAX time (`[-]SECONDS[.FRACTION]`).
fn pax_time(v: &[u8]) -> Option<Timespec> {
    let s = std::str::from_utf8(v).ok()?;
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let mut nsec: i64 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nsec += i64::from(c.to_digit(10)?) * 10i64.pow(8 - i as u32);
    }
    Some(if !neg {
        timespec(secs, nsec)
    } else if nsec == 0 {
        timespec(-secs, 0)
    } else {
        timespec(-secs - 1, 1_000_000_000 - nsec)
    })
}

/// Go's archive/tar (what Docker uses) reads a numeric field that holds only NULs or
/// spaces as 0; many writers leave uid/gid empty, so an empty field is not malformed.
fn go_numeric(parsed: std::io::Result<u64>, raw: &[u8]) -> std::io::Result<u64> {
    match parsed {
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        r => r,
    }
}

fn meta<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta, TarError> {
    let header = entry.header();
    let malformed = |e: std::io::Error| TarError::Malformed {
        name: name.to_string(),
        reason: e.to_string(),
    };
    // uid/gid PAX records are applied to the header by the tar crate.
    let mut m = Meta {
        mode: go_numeric(header.mode().map(u64::from), &header.as_old().mode).map_err(malformed)?
            as u32
            & 0o7777,
        uid: u32::try_from(go_numeric(header.uid(), &header.as_old().uid).map_err(malformed)?)
            .map_err(|_| TarError::BadEntry {
                name: name.to_string(),
                reason: "uid out of range",
            })?,
        gid: u32::try_from(go_numeric(header.gid(), &header.as_old().gid).map_err(malformed)?)
            .map_err(|_| TarError::BadEntry {
                name: name.to_string(),
                reason: "gid out of range",
            })?,
        mtime: timespec(
            i64::try_from(header.mtime().unwrap_or(0)).unwrap_or(i64::MAX),
            0,
        ),
        xattrs: Vec::new(),
    };
    if let Some(exts) = entry.pax_extensions().map_err(malformed)? {
        for ext in exts {
            let ext = ext.map_err(malformed)?;
            let key = ext.key_bytes();
            if key == b"mtime" {
                if let Some(t) = pax_time(ext.value_bytes()) {
                    m.mtime = t;
                }
            } else if let Some(attr) = key.strip_prefix(b"SCHILY.xattr.") {
                let Ok(attr) = std::str::from_utf8(attr) else {
                    continue;
                };
                // Overlay metadata must never come from image content: whiteouts and opaque
                // dirs are derived from `.wh.` names only (user.overlay.* is the namespace
                // overlayfs uses with `userxattr`).
                if attr.starts_with("trusted.overlay.") || attr.starts_with("user.overlay.") {
                    tracing::debug!(entry = name, attr, "overlay xattr in layer ignored");
                    continue;
                }
                m.xattrs
                    .push((attr.to_string(), ext.value_bytes().to_vec()));
            }
        }
    }
    Ok(m)
}

impl Applier<'_> {
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        stats: &mut ApplyStats,
    ) -> Result<(), TarError> {
        let raw = entry.path_bytes().into_owned();
        let name = display_name(&raw);
        let kind = entry.header().entry_type();
        self.consumed = self.consumed.saturating_add(entry.size());
        if self.consumed > self.opts.limits.max_bytes {
            return Err(TarError::LimitExceeded {
                name,
                what: "total size",
                limit: self.opts.limits.max_bytes,
            });
        }
        if kind == tar::EntryType::XGlobalHeader {
            return Ok(());
        }
        let parts = components(&raw, self.opts.limits.max_path_len)?;
        let m = meta(entry, &name)?;

        let Some((file, parent_parts)) = parts.split_last() else {
            // The root itself ("./", "/", "."): only a directory entry makes sense.
            if !kind.is_dir() {
                return Err(TarError::BadEntry {
                    name,
                    reason: "entry names the layer root but is not a directory",
                });
            }
            self.set_meta(self.root.as_fd(), &name, &m)?;
            self.set_xattrs(self.root.as_fd(), &name, &m)?;
            self.dir_times.push((Vec::new(), m.mtime));
            return Ok(());
        };
        if parent_parts.iter().any(|c| c.starts_with(WH_PREFIX)) {
            return Err(TarError::BadEntry {
                name,
                reason: "whiteout name used as a directory",
            });
        }
        if file.starts_with(WH_PREFIX) {
            return self.whiteout(&name, parent_parts, file);
        }
        let parent = self.parent(&name, parent_parts)?;
        if self.opts.whiteouts == WhiteoutMode::Apply {
            for i in 1..=parts.len() {
                self.written.insert(join(&parts[..i]));
            }
        }
        let fname = OsStr::from_bytes(file);
        match kind {
            tar::EntryType::Directory => {
                match rfs::statat(&parent, fname, AtFlags::SYMLINK_NOFOLLOW) {
                    Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {}
                    Ok(_) => {
                        self.remove(parent.as_fd(), fname, &name)?;
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
                self.set_meta(fd.as_fd(), &name, &m)?;
                self.set_xattrs(fd.as_fd(), &name, &m)?;
                self.dir_times.push((parts.clone(), m.mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.size();
                self.remove(parent.as_fd(), fname, &name)?;
                // O_EXCL|O_NOFOLLOW: the name was just cleared; if anything (a symlink) got
                // there since, fail rather than write through it.
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
                        .map_err(TarError::std_io(&name, "read"))?;
                    if n == 0 {
                        return Err(TarError::Malformed {
                            name,
                            reason: format!("archive truncated ({left} bytes of data missing)"),
                        });
                    }
                    file.write_all(&self.buf[..n])
                        .map_err(TarError::std_io(&name, "write"))?;
                    left -= n as u64;
                }
                stats.bytes += size;
                self.set_meta(file.as_fd(), &name, &m)?;
                self.set_xattrs(file.as_fd(), &name, &m)?;
                rfs::futimens(&file, &times(m.mtime)).map_err(TarError::io(&name, "set times"))?;
            }
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                if target.is_empty() {
                    return Err(TarError::BadEntry {
                        name,
                        reason: "empty symlink target",
                    });
                }
                if target.len() > self.opts.limits.max_path_len {
                    return Err(TarError::LimitExceeded {
                        name,
                        what: "link target length",
                        limit: self.opts.limits.max_path_len as u64,
                    });
                }
                if target.contains(&0) {
                    return Err(TarError::BadEntry {
                        name,
                        reason: "symlink target contains a NUL byte",
                    });
                }
                self.remove(parent.as_fd(), fname, &name)?;
                // The target is data: stored verbatim, resolved (inside the root) only when
                // a later entry goes through it.
                rfs::symlinkat(OsStr::from_bytes(&target), &parent, fname)
                    .map_err(TarError::io(&name, "create symlink"))?;
                self.chown_at(&parent, fname, &name, &m)?;
                rfs::utimensat(&parent, fname, &times(m.mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(TarError::io(&name, "set times"))?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|c| c.into_owned())
                    .unwrap_or_default();
                self.hardlink(&name, &parent, fname, &target, &join(&parts))?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let ft = match kind {
                    tar::EntryType::Char => FileType::CharacterDevice,
                    tar::EntryType::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let header = entry.header();
                let dev = rfs::makedev(
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                self.remove(parent.as_fd(), fname, &name)?;
                rfs::mknodat(&parent, fname, ft, Mode::from_raw_mode(0o600), dev)
                    .map_err(TarError::io(&name, "mknod"))?;
                self.chown_at(&parent, fname, &name, &m)?;
                chmod_nofollow(&parent, fname, m.mode, &name)?;
                rfs::utimensat(&parent, fname, &times(m.mtime), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(TarError::io(&name, "set times"))?;
            }
            _ => {
                return Err(TarError::BadEntry {
                    name,
                    reason: "unsupported entry type",
                })
            }
        }
        Ok(())
    }

    /// Opens the directory holding an entry, creating missing directories (mode 0755),
    /// resolving symlinks met on the way inside the root.
    fn parent(&mut self, name: &str, parts: &[Vec<u8>]) -> Result<OwnedFd, TarError> {
        let rel = join(parts);
        if let Some((p, fd)) = &self.cache {
            if *p == rel {
                return fd.try_clone().map_err(TarError::std_io(name, "dup"));
            }
        }
        let fd = if parts.is_empty() {
            self.root
                .try_clone()
                .map_err(TarError::std_io(name, "dup"))?
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
        let dup = fd.try_clone().map_err(TarError::std_io(name, "dup"))?;
        self.cache = Some((rel, dup));
        Ok(fd)
    }

    /// Removes whatever is at `fname` (recursively, never following symlinks), dropping
    /// the parent cache if a directory or symlink went away.
    fn remove(
        &mut self,
        parent: BorrowedFd<'_>,
        fname: &OsStr,
        name: &str,
    ) -> Result<(), TarError> {
        if remove_at(parent, fname, name)? {
            self.cache = None;
        }
        Ok(())
    }

    fn chown_at(
        &self,
        parent: &OwnedFd,
        fname: &OsStr,
        name: &str,
        m: &Meta,
    ) -> Result<(), TarError> {
        if !self.opts.preserve_owner {
            return Ok(());
        }
        rfs::chownat(
            parent,
            fname,
            Some(Uid::from_raw(m.uid)),
            Some(Gid::from_raw(m.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(TarError::io(name, "chown"))
    }

    fn set_meta(&self, fd: BorrowedFd<'_>, name: &str, m: &Meta) -> Result<(), TarError> {
        if self.opts.preserve_owner {
            rfs::fchown(fd, Some(Uid::from_raw(m.uid)), Some(Gid::from_raw(m.gid)))
                .map_err(TarError::io(name, "chown"))?;
        }
        // After chown, which clears set-id bits.
        rfs::fchmod(fd, Mode::from_raw_mode(m.mode)).map_err(TarError::io(name, "chmod"))
    }

    fn set_xattrs(&self, fd: BorrowedFd<'_>, name: &str, m: &Meta) -> Result<(), TarError> {
        for (attr, value) in &m.xattrs {
            if let Err(e) = rfs::fsetxattr(fd, attr.as_str(), value, XattrFlags::empty()) {
                if e == Errno::NOTSUP || e == Errno::PERM || e == Errno::INVAL {
                    tracing::debug!(entry = name, attr, error = %e, "xattr not applicable here; skipped");
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
        let bad = |reason: &'static str| TarError::BadLink {
            name: name.to_string(),
            target: display_name(target),
            reason,
        };
        let tparts = match components(target, self.opts.limits.max_path_len) {
            Ok(p) => p,
            Err(TarError::LimitExceeded { .. }) => {
                return Err(TarError::LimitExceeded {
                    name: name.to_string(),
                    what: "link target length",
                    limit: self.opts.limits.max_path_len as u64,
                })
            }
            Err(_) => return Err(bad("target escapes the layer root")),
        };
        let Some((tfile, tdir)) = tparts.split_last() else {
            return Err(bad("target is the layer root"));
        };
        if join(&tparts) == rel {
            // A link to itself: nothing to do, but it must exist.
            return match rfs::statat(parent, fname, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => Ok(()),
                Ok(_) => Err(bad("target is a directory")),
                Err(_) => Err(bad("target not found")),
            };
        }
        // The target's directory is resolved inside the root, like any path; its last
        // component is never followed, so a symlink target is linked as the symlink itself.
        let tparent = if tdir.is_empty() {
            self.root
                .try_clone()
                .map_err(TarError::std_io(name, "dup"))?
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
        self.remove(parent.as_fd(), fname, name)?;
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
                    rfs::fsetxattr(&parent, "trusted.overlay.opaque", b"y", XattrFlags::empty())
                        .map_err(TarError::io(name, "mark opaque"))?;
                }
                WhiteoutMode::Apply => {
                    self.clear_lower(parent.as_fd(), &join(parent_parts), name)?;
                    self.cache = None;
                }
            }
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
        self.remove(parent.as_fd(), vname, name)?;
        if self.opts.whiteouts == WhiteoutMode::Overlay {
            // overlayfs whiteout: a 0:0 character device (Documentation/filesystems/overlayfs.rst).
            rfs::mknodat(
                &parent,
                vname,
                FileType::CharacterDevice,
                Mode::empty(),
                rfs::makedev(0, 0),
            )
            .map_err(TarError::io(name, "create whiteout"))?;
        }
        Ok(())
    }

    /// Removes everything below `dir` that this layer did not write (opaque directory in
    /// Apply mode): what is left is only this layer's view of the directory.
    fn clear_lower(&self, dir: BorrowedFd<'_>, prefix: &[u8], name: &str) -> Result<(), TarError> {
        for child in list_dir(dir, name)? {
            let mut p = prefix.to_vec();
            if !p.is_empty() {
                p.push(b'/');
            }
            p.extend_from_slice(&child);
            let c = OsStr::from_bytes(&child);
            if !self.written.contains(&p) {
                remove_at(dir, c, name)?;
                continue;
            }
            if let Ok(sub) = rfs::openat(
                dir,
                c,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                self.clear_lower(sub.as_fd(), &p, name)?;
            }
        }
        Ok(())
    }

    /// Sets directory mtimes last, in entry order (a later duplicate wins). Each directory
    /// is found again inside the root, its last component not followed: it may have been
    /// replaced by a symlink since, whose target must not be touched.
    fn finish(&mut self) -> Result<(), TarError> {
        let list = std::mem::take(&mut self.dir_times);
        for (parts, mtime) in &list {
            let ts = times(*mtime);
            let Some((last, dir)) = parts.split_last() else {
                rfs::futimens(&self.root, &ts).map_err(TarError::io(".", "set times"))?;
                continue;
            };
            let name = display_name(&join(parts));
            let parent = if dir.is_empty() {
                self.root
                    .try_clone()
                    .map_err(TarError::std_io(&name, "dup"))?
            } else {
                match open_in_root(self.root.as_fd(), &join(dir)) {
                    Ok(fd) => fd,
                    Err(_) => continue, // removed by a later entry
                }
            };
            if let Ok(fd) = rfs::openat(
                &parent,
                OsStr::from_bytes(last),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                rfs::futimens(&fd, &ts).map_err(TarError::io(&name, "set times"))?;
            }
        }
        Ok(())
    }
}

fn times(t: Timespec) -> Timestamps {
    Timestamps {
        last_access: t,
        last_modification: t,
    }
}

/// `chmod` of a just-made device node or fifo without following symlinks. Opening a
/// device for real could have side effects, and rustix's `chmodat` cannot do
/// `AT_SYMLINK_NOFOLLOW`, so (like glibc's `fchmodat` emulation) the node is pinned with an
/// `O_PATH | O_NOFOLLOW` fd, checked not to be a symlink, and changed through its
/// `/proc/self/fd` magic link, which names that very inode (CVE-2021-32760).
fn chmod_nofollow(parent: &OwnedFd, fname: &OsStr, mode: u32, name: &str) -> Result<(), TarError> {
    let fd = rfs::openat(
        parent,
        fname,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(TarError::io(name, "open node"))?;
    let st = rfs::fstat(&fd).map_err(TarError::io(name, "stat"))?;
    if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
        return Err(TarError::BadEntry {
            name: name.to_string(),
            reason: "node was replaced by a symlink",
        });
    }
    let proc = format!("/proc/self/fd/{}", fd.as_raw_fd());
    rfs::chmod(proc.as_str(), Mode::from_raw_mode(mode)).map_err(TarError::io(name, "chmod"))
}

/// Opens the directory `parts` inside `root`, creating what is missing (mode 0755). A
/// dangling symlink met on the way is followed *inside* the root and its target created
/// there, as containerd's `RootPath` + `MkdirAll` do; `..` is resolved by the kernel
/// (`RESOLVE_IN_ROOT` clamps it at the root). Every `mkdirat` is relative to a parent fd
/// that was itself resolved inside the root (CVE-2021-41089).
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

/// Removes `name` under `parent` if present, recursively for directories, never following
/// symlinks. Returns whether a directory or symlink was removed (path resolutions through
/// it may have changed).
pub(crate) fn remove_at(
    parent: BorrowedFd<'_>,
    name: &OsStr,
    entry: &str,
) -> Result<bool, TarError> {
    let st = match rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(Errno::NOENT) => return Ok(false),
        Err(e) => return Err(TarError::io(entry, "stat")(e)),
        Ok(st) => st,
    };
    match FileType::from_raw_mode(st.st_mode) {
        FileType::Directory => {
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
            rfs::unlinkat(parent, name, AtFlags::REMOVEDIR)
                .map_err(TarError::io(entry, "rmdir"))?;
            Ok(true)
        }
        ft => {
            rfs::unlinkat(parent, name, AtFlags::empty()).map_err(TarError::io(entry, "unlink"))?;
            Ok(ft == FileType::Symlink)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_times_parse() {
        let t = pax_time(b"1500000000.25").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (1_500_000_000, 250_000_000));
        let t = pax_time(b"-1.5").unwrap();
        assert_eq!((t.tv_sec, t.tv_nsec), (-2, 500_000_000));
        assert!(pax_time(b"x").is_none());
    }
}
