//! Packing a directory into a deterministic tar (import of a directory, commit, export).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::TarError;

/// How a directory is packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackMode {
    /// As it is.
    Plain,
    /// An overlayfs upper directory: 0:0 character devices become `.wh.NAME` whiteouts and
    /// directories marked `trusted.overlay.opaque=y` get a `.wh..wh..opq` entry.
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
    links: HashMap<(u64, u64), PathBuf>,
    stats: PackStats,
}

fn perr(path: &Path) -> impl FnOnce(std::io::Error) -> TarError + '_ {
    move |source| TarError::Pack {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a tar of `src`'s contents (names relative to `src`, sorted). Symlinks are stored,
/// never followed; hardlinked files become tar hardlinks; sockets are skipped.
pub fn pack_dir<W: Write>(src: &Path, out: W, mode: PackMode) -> Result<PackStats, TarError> {
    let mut p = Packer {
        tar: tar::Builder::new(out),
        mode,
        links: HashMap::new(),
        stats: PackStats::default(),
    };
    p.tar.follow_symlinks(false);
    p.walk(src, Path::new(""))?;
    p.tar.finish().map_err(perr(src))?;
    Ok(p.stats)
}

impl<W: Write> Packer<W> {
    fn walk(&mut self, dir: &Path, rel: &Path) -> Result<(), TarError> {
        let mut names: Vec<_> = fs::read_dir(dir)
            .map_err(perr(dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(perr(dir))?;
        names.sort();
        if self.mode == PackMode::OverlayUpper && is_opaque(dir) {
            let h = header_for(tar::EntryType::Regular, 0o644, 0, 0, 0, 0);
            self.append(h, &rel.join(".wh..wh..opq"), &[][..], dir)?;
        }
        for name in names {
            let path = dir.join(&name);
            let rel_path = rel.join(&name);
            let meta = fs::symlink_metadata(&path).map_err(perr(&path))?;
            let ft = meta.file_type();
            let mtime = meta.mtime().max(0) as u64;
            let (uid, gid, mode) = (meta.uid() as u64, meta.gid() as u64, meta.mode() & 0o7777);
            if self.mode == PackMode::OverlayUpper && ft.is_char_device() && meta.rdev() == 0 {
                let wh = match rel_path.parent() {
                    Some(p) => p.join(format!(".wh.{}", name.to_string_lossy())),
                    None => PathBuf::from(format!(".wh.{}", name.to_string_lossy())),
                };
                let h = header_for(tar::EntryType::Regular, 0o644, 0, 0, mtime, 0);
                self.append(h, &wh, &[][..], &path)?;
                continue;
            }
            if ft.is_dir() {
                let h = header_for(tar::EntryType::Directory, mode, uid, gid, mtime, 0);
                self.append(h, &rel_path, &[][..], &path)?;
                self.walk(&path, &rel_path)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path).map_err(perr(&path))?;
                let mut h = header_for(tar::EntryType::Symlink, mode, uid, gid, mtime, 0);
                self.tar
                    .append_link(&mut h, &rel_path, &target)
                    .map_err(perr(&path))?;
                self.stats.entries += 1;
            } else if ft.is_file() {
                if meta.nlink() > 1 {
                    let key = (meta.dev(), meta.ino());
                    if let Some(first) = self.links.get(&key).cloned() {
                        let mut h = header_for(tar::EntryType::Link, mode, uid, gid, mtime, 0);
                        self.tar
                            .append_link(&mut h, &rel_path, &first)
                            .map_err(perr(&path))?;
                        self.stats.entries += 1;
                        continue;
                    }
                    self.links.insert(key, rel_path.clone());
                }
                let f = fs::File::open(&path).map_err(perr(&path))?;
                let h = header_for(tar::EntryType::Regular, mode, uid, gid, mtime, meta.len());
                self.stats.bytes += meta.len();
                self.append(h, &rel_path, f, &path)?;
            } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
                let kind = if ft.is_char_device() {
                    tar::EntryType::Char
                } else if ft.is_block_device() {
                    tar::EntryType::Block
                } else {
                    tar::EntryType::Fifo
                };
                let mut h = header_for(kind, mode, uid, gid, mtime, 0);
                let rdev = meta.rdev();
                let _ = h.set_device_major(rustix::fs::major(rdev));
                let _ = h.set_device_minor(rustix::fs::minor(rdev));
                self.append(h, &rel_path, &[][..], &path)?;
            }
            // Sockets cannot be archived; Docker skips them too.
        }
        Ok(())
    }

    fn append(
        &mut self,
        mut h: tar::Header,
        rel: &Path,
        data: impl std::io::Read,
        src: &Path,
    ) -> Result<(), TarError> {
        let mut name = rel.as_os_str().as_bytes().to_vec();
        if h.entry_type() == tar::EntryType::Directory {
            name.push(b'/');
        }
        self.tar
            .append_data(&mut h, Path::new(std::ffi::OsStr::from_bytes(&name)), data)
            .map_err(perr(src))?;
        self.stats.entries += 1;
        Ok(())
    }
}

fn header_for(
    kind: tar::EntryType,
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    size: u64,
) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(gid);
    h.set_mtime(mtime);
    h.set_size(size);
    h
}

fn is_opaque(dir: &Path) -> bool {
    let mut buf = [0u8; 8];
    matches!(
        rustix::fs::lgetxattr(dir, "trusted.overlay.opaque", &mut buf),
        Ok(1) if buf[0] == b'y'
    )
}
