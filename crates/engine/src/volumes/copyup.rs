//! Docker's copy-up: an empty volume mounted over a path that holds files in the image is
//! first filled with those files (owners, modes, times, xattrs, links kept), unless the
//! mount says `nocopy`.
//!
//! # Security design
//! The image is attacker-controlled. The source directory is resolved inside the mounted
//! rootfs with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`, so a symlinked `VOLUME`
//! path resolves inside the container; the tree is then read by `berth_tar::pack_dir`
//! (fd-relative walk, symlinks stored as symlinks and never followed) and written by
//! `berth_tar::apply_layer` rooted at an fd of the volume (every write relative to it, no
//! symlink followed out of it). The volume root itself is opened `O_NOFOLLOW`.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader, BufWriter};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use berth_tar::{ApplyOptions, Limits, PackMode, WhiteoutMode};
use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

fn proc_fd(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn is_empty_dir(fd: &OwnedFd) -> io::Result<bool> {
    let dup = rfs::openat(
        fd,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let dir = rfs::Dir::read_from(&dup)?;
    for e in dir {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Copies the image content at `dest` (a path in the container, resolved in `rootfs`) into
/// the volume directory `volume` when the volume is empty. A missing or non-directory
/// `dest` copies nothing.
pub fn copy_up(rootfs: &Path, dest: &str, volume: &Path) -> io::Result<()> {
    let root = rfs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let rel = dest.trim_start_matches('/');
    let src = match rfs::openat2(
        &root,
        OsStr::new(if rel.is_empty() { "." } else { rel }),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let vol = rfs::open(
        volume,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if !is_empty_dir(&vol)? {
        return Ok(());
    }
    // The volume's root takes the owner and mode of the image directory (moby
    // `copyOwnership`), so a VOLUME owned by a service user stays writable for it.
    let st = rfs::fstat(&src)?;
    rfs::fchown(
        &vol,
        Some(rustix::fs::Uid::from_raw(st.st_uid)),
        Some(rustix::fs::Gid::from_raw(st.st_gid)),
    )?;
    rfs::fchmod(&vol, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    if is_empty_dir(&src)? {
        return Ok(());
    }
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (r, w) = (File::from(r), File::from(w));
    let src_path = proc_fd(src.as_fd());
    let vol_path = proc_fd(vol.as_fd());
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Apply,
        limits: Limits::default(),
        preserve_owner: true,
    };
    std::thread::scope(|s| {
        let packer = s.spawn(move || {
            berth_tar::pack_dir(
                &src_path,
                BufWriter::with_capacity(256 * 1024, w),
                PackMode::Plain,
            )
        });
        let applied =
            berth_tar::apply_layer(BufReader::with_capacity(256 * 1024, r), &vol_path, &opts);
        let packed = packer.join().unwrap_or_else(|_| {
            Err(berth_tar::TarError::Malformed {
                name: String::new(),
                reason: "the packer panicked".into(),
            })
        });
        match (packed, applied) {
            (Ok(_), Ok(_)) => Ok(()),
            (Err(e), _) | (_, Err(e)) => Err(io::Error::other(e.to_string())),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    #[test]
    fn copies_tree_keeps_links_and_stays_inside() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let vol = t.path().join("vol");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(root.join("data/sub")).unwrap();
        std::fs::create_dir_all(&vol).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "host").unwrap();
        std::fs::write(root.join("data/a"), "A").unwrap();
        std::fs::write(root.join("data/sub/b"), "B").unwrap();
        std::fs::set_permissions(root.join("data"), std::fs::Permissions::from_mode(0o750))
            .unwrap();
        // An absolute symlink to a host path: copied as a link, never followed.
        symlink(&outside, root.join("data/escape")).unwrap();
        copy_up(&root, "/data", &vol).unwrap();
        assert_eq!(std::fs::read_to_string(vol.join("a")).unwrap(), "A");
        assert_eq!(std::fs::read_to_string(vol.join("sub/b")).unwrap(), "B");
        assert_eq!(std::fs::read_link(vol.join("escape")).unwrap(), outside);
        assert_eq!(std::fs::metadata(&vol).unwrap().mode() & 0o7777, 0o750);
        assert!(!outside.join("a").exists());
        // Not empty any more: a second copy changes nothing.
        std::fs::write(root.join("data/c"), "C").unwrap();
        copy_up(&root, "/data", &vol).unwrap();
        assert!(!vol.join("c").exists());
    }

    #[test]
    fn symlinked_volume_path_resolves_inside_the_root() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let vol = t.path().join("vol");
        let outside = t.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&vol).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), "host").unwrap();
        // /data -> <host path>: resolved in the root, where it does not exist.
        symlink(&outside, root.join("data")).unwrap();
        copy_up(&root, "/data", &vol).unwrap();
        assert!(!vol.join("secret").exists());
        symlink("../../..", root.join("up")).unwrap();
        copy_up(&root, "/up", &vol).unwrap();
        assert!(std::fs::symlink_metadata(vol.join("data"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(!vol.join("secret").exists());
    }

    #[test]
    fn missing_source_copies_nothing() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(t.path().join("vol")).unwrap();
        copy_up(t.path(), "/nope", &t.path().join("vol")).unwrap();
    }
}
