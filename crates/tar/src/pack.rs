//! Packing a directory into a deterministic tar (import of a directory, commit, export).
//!
//! The directory may be a container's upper dir, i.e. attacker-controlled and possibly
//! still changing: it is walked through directory fds, every file is opened `O_NOFOLLOW`
//! relative to its parent fd and described from `fstat` of that very fd, so a name
//! swapped for a symlink mid-walk can never make us read a host file (CVE-2018-15664).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat};
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

struct Packer<W: Write> {
    tar: tar::Builder<W>,
    mode: PackMode,
    src: PathBuf,
    /// First name seen of each multiply-linked inode.
    links: HashMap<(u64, u64), Vec<u8>>,
    stats: PackStats,
}

/// Writes a tar of `src`'s contents (names relative to `src`, sorted bytewise, so the
/// output is deterministic). Keeps type, mode (set-id and sticky bits included), owner,
/// mtime (seconds), xattrs of files and directories (except overlay's own), hardlinks
/// (same inode: a tar hardlink to the first name), symlinks (never followed), devices and
/// fifos. Sockets are skipped, as Docker does.
pub fn pack_dir<W: Write>(src: &Path, out: W, mode: PackMode) -> Result<PackStats, TarError> {
    let root = rfs::open(
        src,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| TarError::Pack {
        path: src.to_path_buf(),
        op: "open",
        source: e.into(),
    })?;
    let mut p = Packer {
        tar: tar::Builder::new(out),
        mode,
        src: src.to_path_buf(),
        links: HashMap::new(),
        stats: PackStats::default(),
    };
    p.walk(root.as_fd(), b"")?;
    p.tar.finish().map_err(p.err(b"", "write tar"))?;
    Ok(p.stats)
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
            let c = OsStr::from_bytes(&name);
            let st = match rfs::statat(dir, c, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue, // removed while walking
                Err(e) => return Err(self.errno(&path, "stat")(e)),
            };
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
                    let fd = match rfs::openat(
                        dir,
                        c,
                        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                        Mode::empty(),
                    ) {
                        Ok(fd) => fd,
                        Err(Errno::NOENT) => continue,
                        Err(e) => return Err(self.errno(&path, "open directory")(e)),
                    };
                    let st = rfs::fstat(&fd).map_err(self.errno(&path, "stat"))?;
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
                        FileType::RegularFile => self.file(dir, c, &path)?,
                        FileType::Symlink => {
                            let target = rfs::readlinkat(dir, c, Vec::new())
                                .map_err(self.errno(&path, "readlink"))?;
                            let mut h = header(tar::EntryType::Symlink, &st, 0);
                            self.tar
                                .append_link(
                                    &mut h,
                                    OsStr::from_bytes(&path),
                                    OsStr::from_bytes(target.as_bytes()),
                                )
                                .map_err(self.err(&path, "write tar"))?;
                            self.stats.entries += 1;
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

    /// Writes a tar hardlink if this inode was already packed under another name.
    fn hardlink(&mut self, st: &Stat, path: &[u8]) -> Result<bool, TarError> {
        let key = (st.st_dev, st.st_ino);
        let Some(first) = self.links.get(&key).cloned() else {
            self.links.insert(key, path.to_vec());
            return Ok(false);
        };
        let mut h = header(tar::EntryType::Link, st, 0);
        self.tar
            .append_link(&mut h, OsStr::from_bytes(path), OsStr::from_bytes(&first))
            .map_err(self.err(path, "write tar"))?;
        self.stats.entries += 1;
        Ok(true)
    }

    fn file(&mut self, dir: BorrowedFd<'_>, c: &OsStr, path: &[u8]) -> Result<(), TarError> {
        let fd = match rfs::openat(
            dir,
            c,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(e) => return Err(self.errno(path, "open")(e)),
        };
        // Describe what was opened, not what the name pointed to a moment earlier.
        let st = rfs::fstat(&fd).map_err(self.errno(path, "stat"))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Ok(());
        }
        let xattrs = self.xattrs(fd.as_fd(), path)?;
        let size = st.st_size as u64;
        let h = header(tar::EntryType::Regular, &st, size);
        // Exactly `size` bytes even if the file changes while being read: a shorter file is
        // padded with zeros, a longer one cut, so the archive stays well-formed.
        let data = std::fs::File::from(fd)
            .take(size)
            .chain(io::repeat(0))
            .take(size);
        self.append(h, path, &xattrs, data)?;
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
