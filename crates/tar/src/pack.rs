//! Packing a directory into a deterministic tar (import of a directory, commit, export).
//!
//! The directory may be a container's upper dir, i.e. attacker-controlled and possibly
//! still changing while it is packed: processes in the container can swap any name for a
//! symlink, a fifo or a device node (`CAP_MKNOD` is a default capability) at any moment.
//! So a name is looked up exactly once, with `openat(O_PATH | O_NOFOLLOW)` relative to its
//! parent's fd. An `O_PATH` open never reaches a driver and never blocks on a fifo, and the
//! fd pins the inode: its type, metadata, symlink target and contents all come from that
//! fd, never from an earlier `stat` of the name. Only regular files and directories are
//! then opened for reading, through the fd's `/proc/self/fd` entry (which names that very
//! inode, whatever the name now points to), and checked with `fstat` to be the same inode.
//! A name swapped mid-walk can therefore never make berth read a host file
//! (CVE-2018-15664), block on a fifo, or open a device node as root.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::TarError;

/// How a directory is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackMode {
    /// As it is (export, import of a directory).
    Plain,
    /// An overlayfs upper directory (commit, diff): 0:0 character devices become
    /// `.wh.NAME` whiteouts and directories marked `trusted.overlay.opaque=y` get a
    /// `.wh..wh..opq` entry.
    OverlayUpper,
}

/// What [`pack_dir`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct PackStats {
    /// Entries written.
    pub entries: u64,
    /// Bytes of file content.
    pub bytes: u64,
}

/// Points of the walk where a test can change the tree, to replay races deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    /// A name was read from its directory and is about to be looked up.
    Listed,
    /// The name is pinned by an `O_PATH` fd and not yet opened for reading.
    Pinned,
    /// A regular file is open for reading and its size known; no content read yet.
    Sized,
}

/// Called at each [`Point`] with the entry's path relative to the packed directory.
type Hook = Box<dyn FnMut(Point, &[u8])>;

/// GNU tar's name for the member holding a long link target (type `K`).
const LONG_LINK: &[u8] = b"././@LongLink";

struct Packer<W: Write> {
    tar: tar::Builder<W>,
    mode: PackMode,
    src: PathBuf,
    /// `/proc/self/fd`, checked to be procfs, for reopening pinned inodes.
    proc_fd: OwnedFd,
    /// First name seen of each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: PackStats,
    hook: Hook,
}

/// Writes a tar of `src`'s contents (names relative to `src`, sorted bytewise, so the
/// output is deterministic). Keeps type, mode (set-id and sticky bits included), owner,
/// mtime (seconds), xattrs of files and directories (except overlay's own), hardlinks
/// (same inode: a tar hardlink to the first name), symlinks (never followed, target stored
/// byte for byte), devices and fifos (never opened). Sockets are skipped, as Docker does.
///
/// `src` may change while it is packed (a running container's upper dir). Each entry is
/// described as it was when its name was looked up; a regular file's size is taken when
/// it is opened for reading, and exactly that many bytes are stored: if the file grows
/// meanwhile the rest is left out, and if it shrinks the missing tail is stored as zeros
/// (and a warning logged). The archive stays well-formed either way, which failing
/// half-way through a stream could not promise.
pub fn pack_dir<W: Write>(src: &Path, out: W, mode: PackMode) -> Result<PackStats, TarError> {
    pack_dir_with_hook(src, out, mode, Box::new(|_, _| {}))
}

fn pack_dir_with_hook<W: Write>(
    src: &Path,
    out: W,
    mode: PackMode,
    hook: Hook,
) -> Result<PackStats, TarError> {
    let pack_err = |path: &Path, op| {
        let path = path.to_path_buf();
        move |e: Errno| TarError::Pack {
            path,
            op,
            source: e.into(),
        }
    };
    let root = rfs::open(
        src,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(pack_err(src, "open"))?;
    let proc_fd = open_proc_fd().map_err(pack_err(Path::new("/proc/self/fd"), "open"))?;
    let mut p = Packer {
        tar: tar::Builder::new(out),
        mode,
        src: src.to_path_buf(),
        proc_fd,
        links: HashMap::new(),
        stats: PackStats::default(),
        hook,
    };
    p.walk(root.as_fd(), b"")?;
    p.tar.finish().map_err(p.err(b"", "write tar"))?;
    Ok(p.stats)
}

/// `/proc/self/fd` as an `O_PATH` fd, refused unless it is on procfs: reopening through a
/// look-alike could open something other than the pinned inode (the same-inode check
/// after each reopen would catch it, but only after the open).
fn open_proc_fd() -> rustix::io::Result<OwnedFd> {
    let fd = rfs::open(
        "/proc/self/fd",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if rfs::fstatfs(&fd)?.f_type != rfs::PROC_SUPER_MAGIC {
        return Err(Errno::XDEV);
    }
    Ok(fd)
}

fn join(rel: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = rel.to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name);
    p
}

impl<W: Write> Packer<W> {
    fn err(&self, rel: &[u8], op: &'static str) -> impl FnOnce(io::Error) -> TarError {
        let path = self.src.join(OsStr::from_bytes(rel));
        move |source| TarError::Pack { path, op, source }
    }

    fn errno(&self, rel: &[u8], op: &'static str) -> impl FnOnce(Errno) -> TarError {
        let f = self.err(rel, op);
        move |e| f(e.into())
    }

    fn walk(&mut self, dir: BorrowedFd<'_>, rel: &[u8]) -> Result<(), TarError> {
        let mut names = Vec::new();
        for e in rfs::Dir::read_from(dir).map_err(self.errno(rel, "read directory"))? {
            let e = e.map_err(self.errno(rel, "read directory"))?;
            let n = e.file_name().to_bytes();
            if n != b"." && n != b".." {
                names.push(n.to_vec());
            }
        }
        names.sort();
        for name in names {
            let path = join(rel, &name);
            (self.hook)(Point::Listed, &path);
            // The one lookup of this name. O_PATH: no driver open, no fifo wait, no
            // terminal; O_NOFOLLOW: a symlink is pinned as itself.
            let pinned = match rfs::openat(
                dir,
                OsStr::from_bytes(&name),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => continue, // removed while walking
                Err(e) => return Err(self.errno(&path, "open")(e)),
            };
            let st = rfs::fstat(&pinned).map_err(self.errno(&path, "stat"))?;
            (self.hook)(Point::Pinned, &path);
            let ft = FileType::from_raw_mode(st.st_mode);
            if self.mode == PackMode::OverlayUpper
                && ft == FileType::CharacterDevice
                && st.st_rdev == 0
            {
                // overlayfs whiteout (possibly a shared, hardlinked one): `.wh.NAME`.
                let mut wh = b".wh.".to_vec();
                wh.extend_from_slice(&name);
                let h = header(tar::EntryType::Regular, &st, 0);
                self.append(h, &join(rel, &wh), &[], io::empty())?;
                continue;
            }
            match ft {
                FileType::Directory => {
                    let (fd, st) = self.reopen(&pinned, &st, OFlags::DIRECTORY, &path)?;
                    let xattrs = self.xattrs(fd.as_fd(), &path)?;
                    let mut dname = path.clone();
                    dname.push(b'/');
                    self.append(
                        header(tar::EntryType::Directory, &st, 0),
                        &dname,
                        &xattrs,
                        io::empty(),
                    )?;
                    if self.mode == PackMode::OverlayUpper && is_opaque(fd.as_fd()) {
                        let h = header(tar::EntryType::Regular, &st, 0);
                        self.append(h, &join(&path, b".wh..wh..opq"), &[], io::empty())?;
                    }
                    self.walk(fd.as_fd(), &path)?;
                }
                FileType::Socket | FileType::Unknown => {}
                _ => {
                    if st.st_nlink > 1 && self.hardlink(&st, &path)? {
                        continue;
                    }
                    match ft {
                        FileType::RegularFile => self.file(&pinned, &st, &path)?,
                        FileType::Symlink => {
                            // An empty name with an O_PATH fd reads the pinned link itself.
                            let target = rfs::readlinkat(&pinned, "", Vec::new())
                                .map_err(self.errno(&path, "readlink"))?;
                            let h = header(tar::EntryType::Symlink, &st, 0);
                            self.append_link(h, &path, target.as_bytes())?;
                        }
                        _ => {
                            let kind = match ft {
                                FileType::CharacterDevice => tar::EntryType::Char,
                                FileType::BlockDevice => tar::EntryType::Block,
                                _ => tar::EntryType::Fifo,
                            };
                            let mut h = header(kind, &st, 0);
                            if kind != tar::EntryType::Fifo {
                                h.set_device_major(rfs::major(st.st_rdev))
                                    .map_err(self.err(&path, "device number"))?;
                                h.set_device_minor(rfs::minor(st.st_rdev))
                                    .map_err(self.err(&path, "device number"))?;
                            }
                            self.append(h, &path, &[], io::empty())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Opens for reading the inode `pinned` (an `O_PATH` fd) refers to, through its
    /// `/proc/self/fd` entry, and checks with `fstat` that what was opened is that same
    /// inode, still of the same type. `O_NONBLOCK | O_NOCTTY` so that, should the check
    /// ever be needed, the open itself could not hang or grab a terminal. Only regular
    /// files and directories are ever passed here.
    fn reopen(
        &self,
        pinned: &OwnedFd,
        was: &Stat,
        flags: OFlags,
        path: &[u8],
    ) -> Result<(OwnedFd, Stat), TarError> {
        let fd = rfs::openat(
            &self.proc_fd,
            pinned.as_raw_fd().to_string(),
            flags | OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(self.errno(path, "reopen"))?;
        let st = rfs::fstat(&fd).map_err(self.errno(path, "stat"))?;
        if (st.st_dev, st.st_ino) != (was.st_dev, was.st_ino)
            || FileType::from_raw_mode(st.st_mode) != FileType::from_raw_mode(was.st_mode)
        {
            return Err(self.err(path, "reopen")(io::Error::other(
                "reopened file is not the inode that was looked up",
            )));
        }
        Ok((fd, st))
    }

    /// Writes a tar hardlink if this inode was already packed under another name.
    fn hardlink(&mut self, st: &Stat, path: &[u8]) -> Result<bool, TarError> {
        let key = (st.st_dev, st.st_ino);
        let Some(first) = self.links.get(&key).cloned() else {
            self.links.insert(key, path.to_vec());
            return Ok(false);
        };
        self.append_link(header(tar::EntryType::Link, st, 0), path, &first)?;
        Ok(true)
    }

    /// Appends a symlink or hardlink entry whose target is stored byte for byte. The `tar`
    /// crate's `append_link` / `set_link_name` rebuild the target from its `Path`
    /// components, which changes it (`/` becomes `//`, `a/./b` becomes `a/b`, `a//b`
    /// becomes `a/b`), and a symlink must point where it pointed. A target longer than the
    /// header's 100-byte field goes in a GNU long-link (`K`) member before the entry, as
    /// GNU tar writes it (NUL-terminated, a truncated copy in the header).
    fn append_link(
        &mut self,
        mut h: tar::Header,
        path: &[u8],
        target: &[u8],
    ) -> Result<(), TarError> {
        let field = h.as_old().linkname.len();
        let short = if target.len() > field {
            let mut k = tar::Header::new_gnu();
            k.as_old_mut().name[..LONG_LINK.len()].copy_from_slice(LONG_LINK);
            k.set_mode(0o644);
            k.set_uid(0);
            k.set_gid(0);
            k.set_mtime(0);
            k.set_size(target.len() as u64 + 1);
            k.set_entry_type(tar::EntryType::GNULongLink);
            k.set_cksum();
            self.tar
                .append(&k, target.chain(&[0u8][..]))
                .map_err(self.err(path, "write tar"))?;
            &target[..field]
        } else {
            target
        };
        h.set_link_name_literal(short)
            .map_err(self.err(path, "link target"))?;
        self.append(h, path, &[], io::empty())
    }

    fn file(&mut self, pinned: &OwnedFd, st: &Stat, path: &[u8]) -> Result<(), TarError> {
        let (fd, st) = self.reopen(pinned, st, OFlags::empty(), path)?;
        (self.hook)(Point::Sized, path);
        let xattrs = self.xattrs(fd.as_fd(), path)?;
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let h = header(tar::EntryType::Regular, &st, size);
        let mut data = Exact {
            inner: std::fs::File::from(fd),
            left: size,
            padded: 0,
        };
        self.append(h, path, &xattrs, &mut data)?;
        if data.padded > 0 {
            tracing::warn!(
                path = %self.src.join(OsStr::from_bytes(path)).display(),
                size,
                padded = data.padded,
                "file shrank while being packed; missing bytes stored as zeros"
            );
        }
        self.stats.bytes += size;
        Ok(())
    }

    /// Extended attributes of an open file or directory, sorted, without overlayfs' own.
    fn xattrs(&self, fd: BorrowedFd<'_>, path: &[u8]) -> Result<Vec<(String, Vec<u8>)>, TarError> {
        let mut list = vec![0u8; 4096];
        let n = loop {
            match rfs::flistxattr(fd, &mut list[..]) {
                Ok(n) => break n,
                Err(Errno::RANGE) if list.len() < (1 << 20) => list.resize(list.len() * 4, 0),
                Err(Errno::NOTSUP) => return Ok(Vec::new()),
                Err(e) => return Err(self.errno(path, "list xattrs")(e)),
            }
        };
        let bytes = &list[..n];
        let mut out = Vec::new();
        for key in bytes.split(|&b| b == 0).filter(|k| !k.is_empty()) {
            let Ok(key) = std::str::from_utf8(key) else {
                continue;
            };
            if key.starts_with("trusted.overlay.") || key.starts_with("user.overlay.") {
                continue;
            }
            let mut val = vec![0u8; 256];
            let n = loop {
                match rfs::fgetxattr(fd, key, &mut val[..]) {
                    Ok(n) => break Some(n),
                    Err(Errno::RANGE) if val.len() < (1 << 20) => val.resize(val.len() * 4, 0),
                    Err(Errno::NODATA) => break None,
                    Err(e) => return Err(self.errno(path, "read xattr")(e)),
                }
            };
            if let Some(n) = n {
                val.truncate(n);
                out.push((key.to_string(), val));
            }
        }
        out.sort();
        Ok(out)
    }

    fn append(
        &mut self,
        mut h: tar::Header,
        path: &[u8],
        xattrs: &[(String, Vec<u8>)],
        data: impl Read,
    ) -> Result<(), TarError> {
        if !xattrs.is_empty() {
            let mut records = Vec::new();
            for (k, v) in xattrs {
                pax_record(&mut records, &format!("SCHILY.xattr.{k}"), v);
            }
            let mut x = tar::Header::new_ustar();
            x.set_entry_type(tar::EntryType::XHeader);
            x.set_mode(0o644);
            x.set_size(records.len() as u64);
            let mut xname = b"PaxHeaders/".to_vec();
            xname.extend(path.iter().take(80));
            // Only a label: readers take the path from the following header.
            let _ = x.set_path(OsStr::from_bytes(&xname));
            x.set_cksum();
            self.tar
                .append(&x, &records[..])
                .map_err(self.err(path, "write tar"))?;
        }
        self.tar
            .append_data(&mut h, OsStr::from_bytes(path), data)
            .map_err(self.err(path, "write tar"))?;
        self.stats.entries += 1;
        Ok(())
    }
}

/// Exactly `left` bytes of a file that may change while it is read: reading stops there
/// if the file grew, and zeros stand in for what is missing if it shrank, so the member is
/// as long as its header says.
struct Exact<R> {
    inner: R,
    left: u64,
    /// Zero bytes written in place of missing content.
    padded: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = usize::try_from(self.left).map_or(buf.len(), |l| l.min(buf.len()));
        let buf = &mut buf[..want];
        if want == 0 {
            return Ok(0);
        }
        let n = if self.padded == 0 {
            self.inner.read(buf)?
        } else {
            0
        };
        let n = if n == 0 {
            buf.fill(0);
            self.padded += want as u64;
            want
        } else {
            n
        };
        self.left -= n as u64;
        Ok(n)
    }
}

/// One PAX record: `"<len> <key>=<value>\n"`, where `len` counts the whole record.
fn pax_record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn header(kind: tar::EntryType, st: &Stat, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(size);
    h
}

fn is_opaque(dir: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8];
    matches!(
        rfs::fgetxattr(dir, "trusted.overlay.opaque", &mut buf),
        Ok(1) if buf[0] == b'y'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Packs `src` in a thread, calling `hook` on `target` at `point`, and fails instead of
    /// hanging if packing blocks (what reading a swapped-in fifo did).
    fn pack_racing(
        src: &Path,
        mode: PackMode,
        point: Point,
        target: &'static str,
        race: impl FnOnce(&Path) + Send + 'static,
    ) -> Result<Vec<u8>, TarError> {
        let src = src.to_path_buf();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut race = Some(race);
            let dir = src.clone();
            let hook: Hook = Box::new(move |p, path| {
                if p == point && path == target.as_bytes() {
                    if let Some(r) = race.take() {
                        r(&dir);
                    }
                }
            });
            let mut out = Vec::new();
            let r = pack_dir_with_hook(&src, &mut out, mode, hook).map(|_| out);
            let _ = tx.send(r);
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("pack_dir blocked: it opened a fifo for reading")
    }

    /// `(name, type, device number, data)` of a member.
    type Member = (String, tar::EntryType, (u32, u32), Vec<u8>);

    fn members(out: &[u8]) -> Vec<Member> {
        let mut ar = tar::Archive::new(out);
        ar.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let h = e.header();
                let dev = (
                    h.device_major().ok().flatten().unwrap_or(0),
                    h.device_minor().ok().flatten().unwrap_or(0),
                );
                let name = String::from_utf8(e.path_bytes().into_owned()).unwrap();
                (name, h.entry_type(), dev, data)
            })
            .collect()
    }

    fn replace_with_node(path: &Path, ft: FileType, dev: (u32, u32)) {
        std::fs::remove_file(path).unwrap();
        rfs::mknodat(
            rfs::CWD,
            path,
            ft,
            Mode::from_raw_mode(0o600),
            rfs::makedev(dev.0, dev.1),
        )
        .unwrap();
    }

    fn need_root() {
        assert!(
            rustix::process::geteuid().is_root(),
            "this test makes device nodes and needs root (CAP_MKNOD)"
        );
    }

    // The old walk stat'ed the name, then opened it `O_RDONLY`: a regular file swapped for
    // a fifo in between blocked berth forever.
    #[test]
    fn file_swapped_for_fifo_before_lookup_is_packed_as_fifo() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), b"data").unwrap();
        let out = pack_racing(src.path(), PackMode::Plain, Point::Listed, "f", |d| {
            replace_with_node(&d.join("f"), FileType::Fifo, (0, 0));
        })
        .unwrap();
        let m = members(&out);
        assert_eq!(m.len(), 1);
        assert_eq!((m[0].0.as_str(), m[0].1), ("f", tar::EntryType::Fifo));
        assert!(m[0].3.is_empty());
    }

    // A device node swapped in must be described, never opened (as root, an open reaches
    // the driver). 0:0 has no driver, so an `open` would fail the pack with ENXIO.
    #[test]
    fn file_swapped_for_device_before_lookup_is_not_opened() {
        need_root();
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), b"data").unwrap();
        let out = pack_racing(src.path(), PackMode::Plain, Point::Listed, "f", |d| {
            replace_with_node(&d.join("f"), FileType::CharacterDevice, (0, 0));
        })
        .unwrap();
        let m = members(&out);
        assert_eq!(m.len(), 1);
        assert_eq!(
            (m[0].0.as_str(), m[0].1, m[0].2),
            ("f", tar::EntryType::Char, (0, 0))
        );
    }

    // Once pinned, the inode is what gets read, whatever the name becomes: a fifo or
    // device put in the file's place is not opened, and a directory swapped for a symlink
    // to a host directory is still listed from the original directory.
    #[test]
    fn swaps_after_lookup_cannot_redirect_reads() {
        need_root();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("secret"), b"host").unwrap();
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("f"), b"original").unwrap();
        std::fs::write(src.path().join("g"), b"original").unwrap();
        std::fs::create_dir(src.path().join("d")).unwrap();
        std::fs::write(src.path().join("d/inner"), b"inside").unwrap();

        let out = pack_racing(src.path(), PackMode::Plain, Point::Pinned, "f", |d| {
            std::fs::rename(d.join("f"), d.join("f.old")).unwrap();
            rfs::mknodat(
                rfs::CWD,
                d.join("f"),
                FileType::Fifo,
                Mode::from_raw_mode(0o600),
                0,
            )
            .unwrap();
        })
        .unwrap();
        let f = members(&out).into_iter().find(|m| m.0 == "f").unwrap();
        assert_eq!((f.1, &f.3[..]), (tar::EntryType::Regular, &b"original"[..]));

        let out = pack_racing(src.path(), PackMode::Plain, Point::Pinned, "g", |d| {
            replace_with_node(&d.join("g"), FileType::CharacterDevice, (0, 0));
        })
        .unwrap();
        let g = members(&out).into_iter().find(|m| m.0 == "g").unwrap();
        assert_eq!((g.1, &g.3[..]), (tar::EntryType::Regular, &b"original"[..]));

        let hostdir = host.path().to_path_buf();
        let out = pack_racing(src.path(), PackMode::Plain, Point::Pinned, "d", move |d| {
            std::fs::rename(d.join("d"), d.join("d.old")).unwrap();
            std::os::unix::fs::symlink(&hostdir, d.join("d")).unwrap();
        })
        .unwrap();
        let names: Vec<String> = members(&out).into_iter().map(|m| m.0).collect();
        assert!(names.contains(&"d/".to_string()), "{names:?}");
        assert!(names.contains(&"d/inner".to_string()), "{names:?}");
        assert!(!names.iter().any(|n| n.contains("secret")), "{names:?}");
    }

    // The header's size is fixed when the file is opened; later growth is cut and a
    // shrink is padded with zeros, so the archive stays readable and exact.
    #[test]
    fn files_changing_size_while_read_keep_the_archive_valid() {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("grow"), vec![b'g'; 5000]).unwrap();
        let out = pack_racing(src.path(), PackMode::Plain, Point::Sized, "grow", |d| {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(d.join("grow"))
                .unwrap();
            f.write_all(&[b'x'; 3000]).unwrap();
        })
        .unwrap();
        let m = members(&out);
        assert_eq!(m[0].3, vec![b'g'; 5000]);

        std::fs::write(src.path().join("shrink"), vec![b's'; 5000]).unwrap();
        let out = pack_racing(src.path(), PackMode::Plain, Point::Sized, "shrink", |d| {
            std::fs::OpenOptions::new()
                .write(true)
                .open(d.join("shrink"))
                .unwrap()
                .set_len(10)
                .unwrap();
        })
        .unwrap();
        let m = members(&out);
        let shrink = m.iter().find(|m| m.0 == "shrink").unwrap();
        let mut want = vec![b's'; 10];
        want.resize(5000, 0);
        assert_eq!(shrink.3, want);
        // Still a complete, well-formed archive that applies.
        let dst = tempfile::tempdir().unwrap();
        crate::apply_layer(&out[..], dst.path(), &crate::ApplyOptions::default()).unwrap();
        assert_eq!(std::fs::read(dst.path().join("shrink")).unwrap(), want);
    }

    #[test]
    fn exact_reader_cuts_and_pads() {
        let mut r = Exact {
            inner: &b"abcdef"[..],
            left: 4,
            padded: 0,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!((&out[..], r.padded), (&b"abcd"[..], 0));
        let mut r = Exact {
            inner: &b"ab"[..],
            left: 5,
            padded: 0,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!((&out[..], r.padded), (&b"ab\0\0\0"[..], 3));
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        for (k, v) in [("a", &b"b"[..]), ("SCHILY.xattr.user.x", &[7u8; 95][..])] {
            let mut out = Vec::new();
            pax_record(&mut out, k, v);
            let sp = out.iter().position(|&b| b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&out[..sp]).unwrap().parse().unwrap();
            assert_eq!(len, out.len());
        }
    }
}
