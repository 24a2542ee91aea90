//! A container's files seen from the host: `diff`, `export` and the three archive
//! operations `cp` is made of (Docker's `HEAD`/`GET`/`PUT /containers/{id}/archive`), plus
//! the host-side halves of `cp` (packing and unpacking local paths).
//!
//! # Security design
//! A container's root filesystem is attacker-controlled, and a running container can change
//! it while berth works in it. `docker cp` got this wrong twice: it resolved a path and used
//! the result later, so a symlink swapped in between gave host read/write as root
//! (CVE-2018-15664), and it chrooted into the container and let glibc load the container's
//! NSS libraries (CVE-2019-14271). Here:
//! - the container side is reached only through a directory fd of the mounted root
//!   (checked to be an overlay), and every path is resolved with
//!   `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)` relative to it: `..` and symlinks,
//!   absolute or relative, stay inside the container whatever they say, at the moment of use;
//! - the final component of a source is never followed (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`),
//!   files are described with `fstat` of the fd that is then read, and a regular file is
//!   read only through a re-open of an `O_PATH` fd already checked to be regular (never a
//!   device or FIFO a racing container swapped in);
//! - writes go through `berth_tar::apply_layer` rooted at an fd of the destination directory
//!   (parents made with `mkdirat` relative to fds resolved in that root, CVE-2021-41089,
//!   GHSA-rg2x-37c3-w2rh); the destination itself was resolved in the container root;
//! - nothing is exec'd, nothing chroots, users are looked up by parsing the container's own
//!   `/etc/passwd` through the root fd (CVE-2019-14271).
//!
//! A root fd is handed to `berth_tar` as `/proc/self/fd/N` (this process's own procfs
//! entry for an fd it holds), which re-opens exactly that directory.
//!
//! A stopped container's overlay is mounted for the duration of one operation and unmounted
//! after (also on error), unless the container was started meanwhile.
//!
//! Paths the runtime creates only as mount points (`/etc/hosts`, `/etc/hostname`,
//! `/etc/resolv.conf`, `/proc`, `/sys`, `/dev`) live in Docker's separate init layer, so
//! Docker's `diff` and `commit` never show them; berth's runtime creates them in the upper
//! dir, so `diff` and `commit` leave them out when they are still empty placeholders.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use berth_tar::{ApplyOptions, Limits, TarError, WhiteoutMode};
use berth_types::{Classify, ErrorKind};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;

use super::paths::Paths;
use super::userdb::{self, UserError};
use super::{rootfs, Container};
use crate::{Engine, EngineError};

/// Why a file operation on a container (or its host-side half) failed. Messages are
/// Docker's (the daemon's for the container side, the CLI's for the host side).
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// The path does not exist in the container.
    #[error("Could not find the file {path} in container {container}")]
    NotFound {
        /// The path as the user gave it.
        path: String,
        /// The container as the user named it.
        container: String,
    },
    /// The destination of an extraction is not a directory.
    #[error("extraction point is not a directory")]
    ExtractPointNotDirectory,
    /// The container was created with `--read-only`.
    #[error("container rootfs is marked read-only")]
    ReadOnlyRootfs,
    /// The destination is on a read-only volume or bind mount.
    #[error("mounted volume is marked read-only")]
    ReadOnlyVolume,
    /// A running container whose root filesystem is not mounted on the host.
    #[error("container {0} is running but its root filesystem is not mounted")]
    NotMounted(String),
    /// An archive entry would replace a directory with something else.
    #[error("cannot overwrite directory {path:?} with non-directory {dest:?}")]
    OverwriteDirectory {
        /// The existing directory.
        path: String,
        /// The extraction directory.
        dest: String,
    },
    /// An archive entry would replace a non-directory with a directory.
    #[error("cannot overwrite non-directory {path:?} with directory {dest:?}")]
    OverwriteNonDirectory {
        /// The existing non-directory.
        path: String,
        /// The extraction directory.
        dest: String,
    },
    /// Host side: a directory was expected (moby `archive.ErrNotDirectory`).
    #[error("not a directory")]
    NotADirectory,
    /// Host side: the destination must exist as a directory (`archive.ErrDirNotExists`).
    #[error("no such directory")]
    DirNotExists,
    /// Host side: a directory cannot replace a file (`archive.ErrCannotCopyDir`).
    #[error("cannot copy directory")]
    CannotCopyDir,
    /// `cp -a` names a user the container does not have.
    #[error(transparent)]
    User(#[from] UserError),
    /// Packing or applying the archive failed.
    #[error(transparent)]
    Tar(#[from] TarError),
    /// A system call failed (Go's `*PathError` wording: `op path: reason`).
    #[error("{op} {path}: {}", go_err(.source))]
    Io {
        /// What was done (`lstat`, `open`, …).
        op: &'static str,
        /// On what.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The engine failed (no such container, store errors).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Classify for FsError {
    fn kind(&self) -> ErrorKind {
        match self {
            FsError::NotFound { .. } => ErrorKind::NotFound,
            FsError::ExtractPointNotDirectory
            | FsError::OverwriteDirectory { .. }
            | FsError::OverwriteNonDirectory { .. }
            | FsError::NotADirectory
            | FsError::DirNotExists
            | FsError::CannotCopyDir
            | FsError::User(_) => ErrorKind::InvalidArgument,
            FsError::ReadOnlyRootfs | FsError::ReadOnlyVolume | FsError::NotMounted(_) => {
                ErrorKind::FailedPrecondition
            }
            FsError::Tar(e) if e.is_invalid_input() => ErrorKind::InvalidArgument,
            FsError::Tar(_) | FsError::Io { .. } => ErrorKind::Internal,
            FsError::Engine(e) => e.kind(),
        }
    }
}

impl FsError {
    /// Whether this is a write to a pipe whose reader went away (the other side of a copy
    /// failed first).
    pub fn is_broken_pipe(&self) -> bool {
        is_broken_pipe(self)
    }

    /// Whether the failure happened on the engine's side of the operation (Docker's CLI
    /// prints those as "Error response from daemon: …").
    pub fn from_daemon(&self) -> bool {
        !matches!(
            self,
            FsError::NotADirectory | FsError::DirNotExists | FsError::CannotCopyDir
        )
    }
}

type Result<T> = std::result::Result<T, FsError>;

/// Go's error text for an errno: lowercase, without Rust's `(os error N)`
/// (`no such file or directory`).
pub fn go_err(e: &io::Error) -> String {
    let s = e.to_string();
    let s = match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    };
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}

fn io_fail(op: &'static str, path: impl Into<String>) -> impl FnOnce(io::Error) -> FsError {
    let path = path.into();
    move |source| FsError::Io { op, path, source }
}

fn errno_fail(op: &'static str, path: impl Into<String>) -> impl FnOnce(Errno) -> FsError {
    let f = io_fail(op, path);
    move |e| f(e.into())
}

/// Go's `path/filepath` functions for `/`-separated paths, so `cp`'s path rules (trailing
/// `/` and `/.`) behave exactly as Docker's.
pub mod gopath {
    /// `filepath.Clean`.
    pub use berth_types::clean_path as clean;

    /// `filepath.Base`.
    pub fn base(p: &str) -> String {
        if p.is_empty() {
            return ".".into();
        }
        let t = p.trim_end_matches('/');
        if t.is_empty() {
            return "/".into();
        }
        t.rsplit('/').next().unwrap_or(t).to_string()
    }

    /// `filepath.Dir`.
    pub fn dir(p: &str) -> String {
        match p.rfind('/') {
            Some(i) => clean(&p[..=i]),
            None => ".".into(),
        }
    }

    /// `filepath.Split`: everything up to and including the last `/`, and the rest.
    pub fn split(p: &str) -> (&str, &str) {
        match p.rfind('/') {
            Some(i) => (&p[..=i], &p[i + 1..]),
            None => ("", p),
        }
    }

    /// `filepath.Join` of two elements.
    pub fn join(a: &str, b: &str) -> String {
        match (a.is_empty(), b.is_empty()) {
            (true, true) => String::new(),
            (true, false) => clean(b),
            (false, true) => clean(a),
            (false, false) => clean(&format!("{a}/{b}")),
        }
    }

    /// moby `specifiesCurrentDir`: the path names `.` (`dir/.`).
    pub fn specifies_current_dir(p: &str) -> bool {
        base(p) == "."
    }

    /// moby `hasTrailingPathSeparator`.
    pub fn has_trailing_separator(p: &str) -> bool {
        p.ends_with('/')
    }

    /// moby `archive.PreserveTrailingDotOrSeparator`.
    pub fn preserve_trailing_dot_or_separator(cleaned: &str, original: &str) -> String {
        let mut c = cleaned.to_string();
        if !specifies_current_dir(&c) && specifies_current_dir(original) {
            if !has_trailing_separator(&c) {
                c.push('/');
            }
            c.push('.');
        }
        if !has_trailing_separator(&c) && has_trailing_separator(original) {
            c.push('/');
        }
        c
    }

    /// moby `archive.SplitPathDirEntry`: the directory and the entry to archive from it
    /// (`.` for `dir/.`).
    pub fn split_path_dir_entry(p: &str) -> (String, String) {
        let mut cleaned = clean(p);
        if specifies_current_dir(p) {
            cleaned.push_str("/.");
        }
        (dir(&cleaned), base(&cleaned))
    }

    /// moby `archive.GetRebaseName`: `resolved` with `path`'s trailing `/` or `/.`, and the
    /// name entries must get when symlink evaluation changed the last component.
    pub fn get_rebase_name(path: &str, resolved: &str) -> (String, Option<String>) {
        let mut r = resolved.to_string();
        if specifies_current_dir(path) && !specifies_current_dir(&r) {
            r.push_str("/.");
        }
        if has_trailing_separator(path) && !has_trailing_separator(&r) {
            r.push('/');
        }
        let rebase = (base(path) != base(&r)).then(|| base(path));
        (r, rebase)
    }

    /// The absolute, cleaned form of a container path, keeping a trailing `/` or `/.`
    /// (moby `ResolvePath`'s first step).
    pub fn container_abs(p: &str) -> String {
        preserve_trailing_dot_or_separator(&clean(&format!("/{p}")), p)
    }
}

// ---------------------------------------------------------------------------------------------
// The container's mounted root

const OVERLAYFS_SUPER_MAGIC: u64 = 0x794c_7630;

/// A container's root filesystem, open as a directory fd and mounted for as long as this
/// lives. When it was mounted only for this operation, dropping it unmounts it again,
/// unless the container was started in the meantime (the runtime then uses the mount).
pub struct ContainerRoot {
    root: Option<OwnedFd>,
    merged: PathBuf,
    name: String,
    temporary: Option<(Paths, PathBuf)>,
}

impl ContainerRoot {
    fn fd(&self) -> BorrowedFd<'_> {
        self.root.as_ref().expect("root fd open").as_fd()
    }

    /// Resolves `rel` (relative to the container root) inside the root.
    fn open(&self, rel: &str, flags: OFlags) -> rustix::io::Result<OwnedFd> {
        open_in(self.fd(), rel.as_bytes(), flags)
    }
}

impl Drop for ContainerRoot {
    fn drop(&mut self) {
        // Close the fd first, so the unmount is not busy because of us.
        drop(self.root.take());
        if let Some((paths, state)) = self.temporary.take() {
            if !state.exists() {
                if let Err(e) = rootfs::unmount(&paths) {
                    tracing::warn!(container = %self.name, error = %e, "unmount root filesystem");
                }
            }
        }
    }
}

/// Opens `rel` below `dir` as if `dir` were `/` (never leaving it), following symlinks
/// inside it.
fn open_in(dir: BorrowedFd<'_>, rel: &[u8], flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let mut rel = rel;
    while let [b'/', rest @ ..] = rel {
        rel = rest;
    }
    rfs::openat2(
        dir,
        OsStr::from_bytes(if rel.is_empty() { b"." } else { rel }),
        flags | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
    )
}

fn proc_fd(fd: BorrowedFd<'_>) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn pipe() -> Result<(File, File)> {
    let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(errno_fail("pipe", ""))?;
    Ok((File::from(r), File::from(w)))
}

fn tar_broken_pipe(e: &TarError) -> bool {
    matches!(e, TarError::Pack { source, .. } | TarError::Io { source, .. }
        if source.kind() == io::ErrorKind::BrokenPipe)
}

fn is_broken_pipe(e: &FsError) -> bool {
    match e {
        FsError::Io { source, .. } => source.kind() == io::ErrorKind::BrokenPipe,
        FsError::Tar(t) => tar_broken_pipe(t),
        _ => false,
    }
}

fn is_live(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

impl Engine {
    /// The image's layer directories (overlay lower dirs), bottom first.
    pub(crate) fn image_layer_dirs(
        &self,
        image_id: &str,
    ) -> std::result::Result<Vec<PathBuf>, EngineError> {
        let id: berth_types::Digest = image_id
            .parse()
            .map_err(|_| EngineError::NoSuchImage(image_id.to_string()))?;
        let record = self
            .store
            .image(&id)?
            .ok_or_else(|| EngineError::NoSuchImage(image_id.to_string()))?;
        Ok(record
            .layers
            .iter()
            .map(|l| self.store.layer_diff_dir(l))
            .collect())
    }

    /// Opens the root filesystem of `c` (whom the user called `name`): the live mount of a
    /// running container, or a temporary mount of a stopped one.
    fn container_root(&mut self, c: &Container, name: &str) -> Result<ContainerRoot> {
        let paths = self.container_paths(&c.row.id);
        let mut temporary = None;
        if !rootfs::is_mounted(&paths.merged) {
            if is_live(&c.row.state) {
                return Err(FsError::NotMounted(name.to_string()));
            }
            let lowers = self.image_layer_dirs(&c.row.image_id)?;
            rootfs::mount(&paths, &lowers)
                .map_err(io_fail("mount", paths.merged.display().to_string()))?;
            let state = paths.runtime_root.join(&c.row.id).join("state.json");
            temporary = Some((paths.clone(), state));
        }
        let mut root = ContainerRoot {
            root: None,
            merged: paths.merged.clone(),
            name: name.to_string(),
            temporary,
        };
        let fd = rfs::open(
            &paths.merged,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno_fail("open", paths.merged.display().to_string()))?;
        let fs =
            rfs::fstatfs(&fd).map_err(errno_fail("statfs", paths.merged.display().to_string()))?;
        root.root = Some(fd);
        if fs.f_type as u64 != OVERLAYFS_SUPER_MAGIC {
            return Err(FsError::NotMounted(name.to_string()));
        }
        Ok(root)
    }
}

impl Engine {
    /// The root a container path is reached through: the volume or bind mounted at the
    /// longest destination that contains `abs` (Docker's `cp` reads and writes volumes,
    /// which berth mounts only inside the container), else the container's root
    /// filesystem. Returns the root, the path below it, and whether it is writable.
    fn root_for(
        &mut self,
        c: &Container,
        name: &str,
        abs: &str,
    ) -> Result<(ContainerRoot, String, bool)> {
        let clean = gopath::clean(abs);
        let under =
            |dest: &str| clean == dest || dest == "/" || clean.starts_with(&format!("{dest}/"));
        let best = c
            .doc
            .mount_points
            .iter()
            .filter(|m| m.kind != "tmpfs" && under(&m.destination))
            .max_by_key(|m| m.destination.len());
        let Some(mp) = best else {
            let root = self.container_root(c, name)?;
            return Ok((root, abs.to_string(), !c.doc.host_config.readonly_rootfs));
        };
        let opts = self
            .volume(&mp.name)
            .map(|v| v.row.options)
            .unwrap_or_default();
        if mp.kind == "volume" && opts.get("type").is_some_and(|t| t == "tmpfs") {
            // A tmpfs volume exists only inside the running container.
            let root = self.container_root(c, name)?;
            return Ok((root, abs.to_string(), !c.doc.host_config.readonly_rootfs));
        }
        let src = self.mount_source(mp);
        if !src.is_dir() {
            // A single-file bind: reached through the container's root as before.
            let root = self.container_root(c, name)?;
            return Ok((root, abs.to_string(), !c.doc.host_config.readonly_rootfs));
        }
        let fd = rfs::open(
            &src,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno_fail("open", src.display().to_string()))?;
        let rest = clean[mp.destination.len()..].to_string();
        let rest = if rest.is_empty() {
            "/".to_string()
        } else {
            rest
        };
        // Keep `dir/.` and trailing-separator forms the caller's path had.
        let rest = gopath::preserve_trailing_dot_or_separator(&rest, abs);
        Ok((
            ContainerRoot {
                root: Some(fd),
                merged: src,
                name: name.to_string(),
                temporary: None,
            },
            rest,
            mp.rw,
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Stat

/// What Docker's `HEAD /containers/{id}/archive` reports about a path (`ContainerPathStat`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    /// The base name of the path as asked.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// `st_mode` (type and permission bits).
    pub mode: u32,
    /// Modification time, unix seconds.
    pub mtime: i64,
    /// For a symlink: its target, fully evaluated inside the container (absolute).
    pub link_target: String,
}

impl PathStat {
    fn file_type(&self) -> FileType {
        FileType::from_raw_mode(self.mode)
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == FileType::Directory
    }

    /// A symlink.
    pub fn is_symlink(&self) -> bool {
        self.file_type() == FileType::Symlink
    }

    /// A character or block device.
    pub fn is_device(&self) -> bool {
        matches!(
            self.file_type(),
            FileType::CharacterDevice | FileType::BlockDevice
        )
    }

    /// The mode as Go's `os.FileMode` (what the Engine API carries).
    pub fn go_mode(&self) -> u32 {
        let mut m = self.mode & 0o777;
        m |= match self.file_type() {
            FileType::Directory => 1 << 31,
            FileType::Symlink => 1 << 27,
            FileType::Fifo => 1 << 25,
            FileType::Socket => 1 << 24,
            FileType::BlockDevice => 1 << 26,
            FileType::CharacterDevice => (1 << 26) | (1 << 21),
            _ => 0,
        };
        if self.mode & 0o4000 != 0 {
            m |= 1 << 23;
        }
        if self.mode & 0o2000 != 0 {
            m |= 1 << 22;
        }
        if self.mode & 0o1000 != 0 {
            m |= 1 << 20;
        }
        m
    }
}

/// One resolved source: a directory fd and an entry in it (`None`: the directory itself).
struct Item {
    parent: OwnedFd,
    name: Option<Vec<u8>>,
    st: Stat,
}

impl Item {
    fn name_os(&self) -> Option<&OsStr> {
        self.name.as_deref().map(OsStr::from_bytes)
    }
}

/// moby `ResolvePath` + `Lstat`, with fds: the directory part is resolved inside the root,
/// the last component is not followed (`dir/.` and `dir/` name the directory itself).
fn resolve_item(root: BorrowedFd<'_>, abs: &str) -> rustix::io::Result<Item> {
    let (dir, base) = gopath::split(abs);
    let parent = open_in(root, dir.as_bytes(), OFlags::PATH | OFlags::DIRECTORY)?;
    if base.is_empty() || base == "." {
        let st = rfs::fstat(&parent)?;
        return Ok(Item {
            parent,
            name: None,
            st,
        });
    }
    let st = rfs::statat(&parent, base, AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(Item {
        parent,
        name: Some(base.as_bytes().to_vec()),
        st,
    })
}

fn not_found(e: Errno) -> bool {
    matches!(e, Errno::NOENT | Errno::NOTDIR)
}

impl Engine {
    /// Docker's `ContainerStatPath`: what `path` is in the container, without following a
    /// final symlink (whose evaluated target is reported).
    pub fn container_stat_path(&mut self, name: &str, path: &str) -> Result<PathStat> {
        let c = self.container(name)?;
        let (root, rel, _) = self.root_for(&c, name, &gopath::container_abs(path))?;
        stat_in(&root, name, path, &rel)
    }
}

fn stat_in(root: &ContainerRoot, container: &str, path: &str, rel: &str) -> Result<PathStat> {
    let abs = rel.to_string();
    let shown = gopath::container_abs(path);
    let item = resolve_item(root.fd(), &abs).map_err(|e| {
        if not_found(e) {
            FsError::NotFound {
                path: path.to_string(),
                container: container.to_string(),
            }
        } else {
            FsError::Io {
                op: "lstat",
                path: abs.clone(),
                source: e.into(),
            }
        }
    })?;
    let mut link_target = String::new();
    if FileType::from_raw_mode(item.st.st_mode) == FileType::Symlink {
        link_target = evaluate_link(root, &item, &abs);
    }
    Ok(PathStat {
        name: gopath::base(&shown),
        size: item.st.st_size,
        mode: item.st.st_mode,
        mtime: item.st.st_mtime,
        link_target,
    })
}

/// The container path a symlink leads to, evaluated inside the root (moby reports this as
/// `LinkTarget`). The answer is only ever used as a new path to resolve in the root again.
fn evaluate_link(root: &ContainerRoot, item: &Item, abs: &str) -> String {
    if let Ok(fd) = root.open(abs, OFlags::PATH) {
        if let Ok(host) = std::fs::read_link(proc_fd(fd.as_fd())) {
            if let Ok(rel) = host.strip_prefix(&root.merged) {
                return format!("/{}", rel.to_string_lossy());
            }
        }
    }
    // Dangling: the target as written, relative to the link's directory.
    let target = item
        .name_os()
        .and_then(|n| rfs::readlinkat(&item.parent, n, Vec::new()).ok())
        .map(|t| String::from_utf8_lossy(t.as_bytes()).into_owned())
        .unwrap_or_default();
    if target.starts_with('/') {
        gopath::clean(&target)
    } else {
        gopath::join(&gopath::dir(abs), &target)
    }
}

// ---------------------------------------------------------------------------------------------
// Writing tars

/// Writes tar members with exact names (GNU long-name members when they do not fit), PAX
/// extended headers passed through, and counts the bytes written.
pub struct TarWriter<W: Write> {
    w: W,
    written: u64,
}

const BLOCK: usize = 512;

impl<W: Write> TarWriter<W> {
    /// A writer over `w`.
    pub fn new(w: W) -> TarWriter<W> {
        TarWriter { w, written: 0 }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.w.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rem = (len % BLOCK as u64) as usize;
        if rem != 0 {
            self.raw(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    fn meta_member(&mut self, kind: tar::EntryType, label: &[u8], data: &[u8]) -> io::Result<()> {
        let mut h = if kind == tar::EntryType::XHeader {
            tar::Header::new_ustar()
        } else {
            tar::Header::new_gnu()
        };
        h.set_entry_type(kind);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        h.set_size(data.len() as u64);
        let n = &mut h.as_old_mut().name;
        let l = label.len().min(n.len());
        n[..l].copy_from_slice(&label[..l]);
        h.set_cksum();
        self.raw(h.as_bytes())?;
        self.raw(data)?;
        self.pad(data.len() as u64)
    }

    /// Appends one member. `h` carries type, mode, owner, times, size and device numbers;
    /// its name and link fields are set here. Exactly `h`'s size bytes of `data` are
    /// written (padded with zeros if `data` ends early, so the archive stays well-formed).
    pub fn append(
        &mut self,
        mut h: tar::Header,
        name: &[u8],
        link: Option<&[u8]>,
        pax: &[(Vec<u8>, Vec<u8>)],
        data: &mut dyn Read,
    ) -> io::Result<()> {
        if !pax.is_empty() {
            let mut records = Vec::new();
            for (k, v) in pax {
                pax_record(&mut records, k, v);
            }
            let mut label = b"PaxHeaders.0/".to_vec();
            label.extend(name.iter().take(80));
            self.meta_member(tar::EntryType::XHeader, &label, &records)?;
        }
        if name.len() > 100 {
            let mut d = name.to_vec();
            d.push(0);
            self.meta_member(tar::EntryType::GNULongName, b"././@LongLink", &d)?;
        }
        if let Some(l) = link.filter(|l| l.len() > 100) {
            let mut d = l.to_vec();
            d.push(0);
            self.meta_member(tar::EntryType::GNULongLink, b"././@LongLink", &d)?;
        }
        {
            let old = h.as_old_mut();
            old.name.fill(0);
            let n = name.len().min(100);
            old.name[..n].copy_from_slice(&name[..n]);
            old.linkname.fill(0);
            if let Some(l) = link {
                let n = l.len().min(100);
                old.linkname[..n].copy_from_slice(&l[..n]);
            }
        }
        h.set_cksum();
        self.raw(h.as_bytes())?;
        let size = h.entry_size()?;
        let mut left = size;
        let mut buf = vec![0u8; 64 * 1024];
        while left > 0 {
            let want = (buf.len() as u64).min(left) as usize;
            let n = match data.read(&mut buf[..want]) {
                Ok(0) => {
                    // Shrunk while being read: keep the promised size.
                    buf[..want].fill(0);
                    want
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.raw(&buf[..n])?;
            left -= n as u64;
        }
        self.pad(size)
    }

    /// Writes the end-of-archive marker and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw(&[0u8; 2 * BLOCK])?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// One PAX record: `"<len> <key>=<value>\n"`, where `len` counts the whole record.
fn pax_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let rest = key.len() + value.len() + 3;
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} ").as_bytes());
    out.extend_from_slice(key);
    out.push(b'=');
    out.extend_from_slice(value);
    out.push(b'\n');
}

fn header_from_stat(kind: tar::EntryType, st: &Stat, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(st.st_mode & 0o7777);
    h.set_uid(u64::from(st.st_uid));
    h.set_gid(u64::from(st.st_gid));
    h.set_mtime(st.st_mtime.max(0) as u64);
    h.set_size(size);
    if matches!(kind, tar::EntryType::Char | tar::EntryType::Block) {
        let _ = h.set_device_major(rfs::major(st.st_rdev));
        let _ = h.set_device_minor(rfs::minor(st.st_rdev));
    }
    h
}

/// Extended attributes of an open file, as PAX records (overlayfs' own left out).
fn xattr_records(fd: BorrowedFd<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut list = vec![0u8; 4096];
    let n = loop {
        match rfs::flistxattr(fd, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) if list.len() < (1 << 20) => list.resize(list.len() * 4, 0),
            Err(_) => return Vec::new(),
        }
    };
    let mut out = Vec::new();
    for key in list[..n].split(|&b| b == 0).filter(|k| !k.is_empty()) {
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        if key.starts_with("trusted.overlay.") || key.starts_with("user.overlay.") {
            continue;
        }
        let mut val = vec![0u8; 256];
        loop {
            match rfs::fgetxattr(fd, key, &mut val[..]) {
                Ok(n) => {
                    val.truncate(n);
                    out.push((format!("SCHILY.xattr.{key}").into_bytes(), val));
                    break;
                }
                Err(Errno::RANGE) if val.len() < (1 << 20) => val.resize(val.len() * 4, 0),
                Err(_) => break,
            }
        }
    }
    out.sort();
    out
}

/// One member read from a tar stream, with its metadata in a fresh GNU header.
struct Member {
    name: Vec<u8>,
    link: Option<Vec<u8>>,
    kind: tar::EntryType,
    header: tar::Header,
    pax: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Reads the members of `input` and writes those `f` keeps (possibly changed) to `out`.
fn copy_members<R: Read, W: Write>(
    input: R,
    out: &mut TarWriter<W>,
    mut f: impl FnMut(&mut Member) -> Result<bool>,
) -> Result<()> {
    let bad = |e: io::Error| {
        FsError::Tar(TarError::Malformed {
            name: String::new(),
            reason: e.to_string(),
        })
    };
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let src = entry.header().clone();
        let kind = src.entry_type();
        if kind == tar::EntryType::XGlobalHeader {
            continue;
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(src.mode().map_err(bad)?);
        h.set_uid(src.uid().unwrap_or(0));
        h.set_gid(src.gid().unwrap_or(0));
        h.set_mtime(src.mtime().unwrap_or(0));
        h.set_size(entry.size());
        if let (Ok(Some(ma)), Ok(Some(mi))) = (src.device_major(), src.device_minor()) {
            let _ = h.set_device_major(ma);
            let _ = h.set_device_minor(mi);
        }
        let mut pax = Vec::new();
        if let Some(exts) = entry.pax_extensions().map_err(bad)? {
            for ext in exts {
                let ext = ext.map_err(bad)?;
                let k = ext.key_bytes();
                if !matches!(k, b"path" | b"linkpath" | b"size") {
                    pax.push((k.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
        let mut m = Member {
            name: entry.path_bytes().into_owned(),
            link: entry.link_name_bytes().map(|l| l.into_owned()),
            kind,
            header: h,
            pax,
        };
        if !f(&mut m)? {
            continue;
        }
        let link = if matches!(kind, tar::EntryType::Link | tar::EntryType::Symlink) {
            m.link.as_deref()
        } else {
            None
        };
        out.append(m.header, &m.name, link, &m.pax, &mut entry)
            .map_err(io_fail("write", "tar"))?;
    }
    Ok(())
}

/// `top/rest` (`./rest` for `.`), the name of a member below the top entry.
fn under(top: &[u8], rest: &[u8]) -> Vec<u8> {
    let mut n = top.to_vec();
    if !n.ends_with(b"/") {
        n.push(b'/');
    }
    n.extend_from_slice(rest);
    n
}

/// Writes a tar of one item (a file, symlink, device or directory tree) whose top member
/// is named `top`, never following symlinks anywhere in it. Sockets yield no members, as
/// in Docker.
fn tar_item<W: Write>(item: &Item, top: &[u8], out: &mut TarWriter<W>) -> Result<()> {
    let shown = String::from_utf8_lossy(top).into_owned();
    let top: &[u8] = if top == b"/" { b"." } else { top };
    match FileType::from_raw_mode(item.st.st_mode) {
        FileType::Directory => {
            let dir = match item.name_os() {
                Some(n) => rfs::openat(
                    &item.parent,
                    n,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ),
                None => rfs::openat(
                    &item.parent,
                    ".",
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                ),
            }
            .map_err(errno_fail("open", shown.clone()))?;
            let st = rfs::fstat(&dir).map_err(errno_fail("stat", shown.clone()))?;
            let mut dname = top.to_vec();
            if !dname.ends_with(b"/") {
                dname.push(b'/');
            }
            out.append(
                header_from_stat(tar::EntryType::Directory, &st, 0),
                &dname,
                None,
                &xattr_records(dir.as_fd()),
                &mut io::empty(),
            )
            .map_err(io_fail("write", "tar"))?;
            pack_tree(dir.as_fd(), berth_tar::PackMode::Plain, out, |m| {
                m.name = under(top, &m.name);
                if m.kind == tar::EntryType::Link {
                    m.link = m.link.as_ref().map(|l| under(top, l));
                }
                Ok(true)
            })
        }
        FileType::RegularFile => {
            // Pin the inode without opening it for reading, check what it is, and only then
            // re-open that very inode: a device or FIFO swapped in is never opened.
            let name = item.name_os().unwrap_or(OsStr::new("."));
            let pinned = rfs::openat(
                &item.parent,
                name,
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno_fail("open", shown.clone()))?;
            let st = rfs::fstat(&pinned).map_err(errno_fail("stat", shown.clone()))?;
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                return Err(FsError::Io {
                    op: "open",
                    path: shown,
                    source: io::Error::other("file changed while being copied"),
                });
            }
            let fd = rfs::open(
                proc_fd(pinned.as_fd()),
                OFlags::RDONLY | OFlags::NOCTTY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(errno_fail("open", shown.clone()))?;
            let size = st.st_size.max(0) as u64;
            let pax = xattr_records(fd.as_fd());
            let mut f = File::from(fd).take(size);
            out.append(
                header_from_stat(tar::EntryType::Regular, &st, size),
                top,
                None,
                &pax,
                &mut f,
            )
            .map_err(io_fail("read", shown))
        }
        FileType::Symlink => {
            let name = item.name_os().unwrap_or(OsStr::new("."));
            let target = rfs::readlinkat(&item.parent, name, Vec::new())
                .map_err(errno_fail("readlink", shown.clone()))?;
            out.append(
                header_from_stat(tar::EntryType::Symlink, &item.st, 0),
                top,
                Some(target.as_bytes()),
                &[],
                &mut io::empty(),
            )
            .map_err(io_fail("write", "tar"))
        }
        ft @ (FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo) => {
            let kind = match ft {
                FileType::CharacterDevice => tar::EntryType::Char,
                FileType::BlockDevice => tar::EntryType::Block,
                _ => tar::EntryType::Fifo,
            };
            out.append(
                header_from_stat(kind, &item.st, 0),
                top,
                None,
                &[],
                &mut io::empty(),
            )
            .map_err(io_fail("write", "tar"))
        }
        _ => Ok(()),
    }
}

/// Packs the contents of `dir` with `berth_tar::pack_dir` (which walks it through fds,
/// never following symlinks) and copies the members `f` keeps to `out`. The packer runs in
/// a thread writing into a pipe.
fn pack_tree<W: Write>(
    dir: BorrowedFd<'_>,
    mode: berth_tar::PackMode,
    out: &mut TarWriter<W>,
    f: impl FnMut(&mut Member) -> Result<bool>,
) -> Result<()> {
    let src = proc_fd(dir);
    let (r, w) = pipe()?;
    std::thread::scope(|s| {
        let packer = s.spawn(move || {
            berth_tar::pack_dir(&src, BufWriter::with_capacity(256 * 1024, w), mode)
        });
        let copied = copy_members(io::BufReader::with_capacity(256 * 1024, r), out, f);
        let packed = packer.join().unwrap_or_else(|_| {
            Err(TarError::Malformed {
                name: String::new(),
                reason: "the packer panicked".into(),
            })
        });
        match (packed, copied) {
            (Ok(_), c) => c,
            // The reader stopped first: its error explains the packer's broken pipe.
            (Err(p), Err(c)) if tar_broken_pipe(&p) => Err(c),
            // A packer failure explains a truncated stream.
            (Err(p), _) => Err(p.into()),
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Reading tars into a directory

/// How an archive is extracted.
#[derive(Debug, Clone, Default)]
pub struct ExtractOptions {
    /// `cp -a`: files get the container's configured user (Docker's `CopyUIDGID`); by
    /// default they keep the owners the archive records.
    pub copy_uid_gid: bool,
    /// Refuse to replace a directory with a non-directory and the other way round
    /// (Docker's `NoOverwriteDirNonDir`, what `cp` asks for).
    pub no_overwrite_dir_non_dir: bool,
}

struct ExtractSpec {
    /// Take owners from the archive (else files belong to this process).
    preserve_owner: bool,
    /// Force every member's owner.
    chown: Option<(u32, u32)>,
    no_overwrite_dir_non_dir: bool,
    /// The destination as the user knows it, for messages.
    shown: String,
}

/// Normalised components of a member name: `.` and empty parts dropped, `..` popped;
/// `None` when it climbs above the root (left for `apply_layer` to refuse).
fn components(name: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out: Vec<&[u8]> = Vec::new();
    for c in name.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop()?;
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// Extracts `content` (plain, gzip or zstd tar) into the directory `dest` with
/// `berth_tar::apply_layer` rooted there, after filtering the members: the member naming
/// `dest` itself is skipped (its metadata stays, as in Docker's `Untar`), `.wh.` names are
/// skipped (berth's applier would read them as whiteouts), owners are forced when asked,
/// and directory/non-directory replacements are refused when asked.
fn extract_into<R: Read + Send + 'static>(
    dest: OwnedFd,
    content: R,
    spec: &ExtractSpec,
) -> Result<()> {
    let (_, reader) = berth_tar::decompress(content)?;
    let (r, w) = pipe()?;
    let dest_path = proc_fd(dest.as_fd());
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Apply,
        limits: Limits::default(),
        preserve_owner: spec.preserve_owner || spec.chown.is_some(),
    };
    std::thread::scope(|s| {
        let applier = s.spawn(move || {
            berth_tar::apply_layer(
                io::BufReader::with_capacity(256 * 1024, r),
                &dest_path,
                &opts,
            )
        });
        let filtered = (|| -> Result<()> {
            let mut out = TarWriter::new(BufWriter::with_capacity(256 * 1024, w));
            let mut seen: HashMap<Vec<u8>, bool> = HashMap::new();
            copy_members(reader, &mut out, |m| {
                filter_member(m, dest.as_fd(), spec, &mut seen)
            })?;
            out.finish().map_err(io_fail("write", "tar"))?;
            Ok(())
        })();
        let applied = applier.join().unwrap_or_else(|_| {
            Err(TarError::Malformed {
                name: String::new(),
                reason: "the extractor panicked".into(),
            })
        });
        match (filtered, applied) {
            (Ok(()), Ok(_)) => Ok(()),
            // The applier stopped reading: its error explains the broken pipe.
            (Err(f), Err(a)) if is_broken_pipe(&f) => Err(a.into()),
            // The filter's own error comes first: the applier then saw a truncated stream.
            (Err(f), _) => Err(f),
            (Ok(()), Err(a)) => Err(a.into()),
        }
    })
}

fn filter_member(
    m: &mut Member,
    dest: BorrowedFd<'_>,
    spec: &ExtractSpec,
    seen: &mut HashMap<Vec<u8>, bool>,
) -> Result<bool> {
    let Some(parts) = components(&m.name) else {
        return Ok(true);
    };
    let Some((last, parents)) = parts.split_last() else {
        return Ok(false);
    };
    if last.starts_with(b".wh.") {
        tracing::warn!(
            entry = %String::from_utf8_lossy(&m.name),
            "skipping an archive member named like a whiteout"
        );
        return Ok(false);
    }
    if let Some((uid, gid)) = spec.chown {
        m.header.set_uid(u64::from(uid));
        m.header.set_gid(u64::from(gid));
        m.pax
            .retain(|(k, _)| !matches!(k.as_slice(), b"uid" | b"gid" | b"uname" | b"gname"));
    }
    let is_dir = m.kind == tar::EntryType::Directory;
    let key = parts.join(&b'/');
    if spec.no_overwrite_dir_non_dir {
        let existing = match seen.get(&key) {
            Some(d) => Some(*d),
            None => {
                let parent = open_in(dest, &parents.join(&b'/'), OFlags::PATH | OFlags::DIRECTORY);
                parent.ok().and_then(|p| {
                    rfs::statat(&p, OsStr::from_bytes(last), AtFlags::SYMLINK_NOFOLLOW)
                        .ok()
                        .map(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
                })
            }
        };
        let path = gopath::join(&spec.shown, &String::from_utf8_lossy(&key));
        match existing {
            Some(true) if !is_dir => {
                return Err(FsError::OverwriteDirectory {
                    path,
                    dest: spec.shown.clone(),
                })
            }
            Some(false) if is_dir => {
                return Err(FsError::OverwriteNonDirectory {
                    path,
                    dest: spec.shown.clone(),
                })
            }
            _ => {}
        }
    }
    seen.insert(key, is_dir);
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// The container side of cp

impl Engine {
    /// Docker's `CopyFromContainer`: writes a tar of `path` in the container to `out` and
    /// returns what `path` is. The top member is named `top` when given, else the base name
    /// of `path` (`.` for `dir/.`), as Docker's archive endpoint names it. A final symlink is
    /// archived as the symlink.
    pub fn container_archive(
        &mut self,
        name: &str,
        path: &str,
        top: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<PathStat> {
        let c = self.container(name)?;
        let abs = gopath::container_abs(path);
        let (root, rel, _) = self.root_for(&c, name, &abs)?;
        let item = resolve_item(root.fd(), &rel).map_err(|e| {
            if not_found(e) {
                FsError::NotFound {
                    path: path.to_string(),
                    container: name.to_string(),
                }
            } else {
                FsError::Io {
                    op: "lstat",
                    path: abs.clone(),
                    source: e.into(),
                }
            }
        })?;
        let stat = PathStat {
            name: gopath::base(&abs),
            size: item.st.st_size,
            mode: item.st.st_mode,
            mtime: item.st.st_mtime,
            link_target: String::new(),
        };
        let top = top
            .map(str::to_string)
            .unwrap_or_else(|| gopath::base(&abs));
        let mut w = TarWriter::new(BufWriter::with_capacity(256 * 1024, out));
        tar_item(&item, top.as_bytes(), &mut w)?;
        w.finish().map_err(io_fail("write", "tar"))?;
        self.emit_container(&c, "archive-path", &[("path", abs.clone())]);
        Ok(stat)
    }

    /// Docker's `CopyToContainer`: extracts the tar `content` into the directory `path` of
    /// the container (a final symlink is followed, inside the container).
    pub fn container_extract<R: Read + Send + 'static>(
        &mut self,
        name: &str,
        path: &str,
        content: R,
        opts: &ExtractOptions,
    ) -> Result<()> {
        let c = self.container(name)?;
        let abs = gopath::container_abs(path);
        let (root, rel, writable) = self.root_for(&c, name, &abs)?;
        let in_volume = root.merged != self.container_paths(&c.row.id).merged;
        let dest = root
            .open(&rel, OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(|e| match e {
                Errno::NOENT => FsError::NotFound {
                    path: path.to_string(),
                    container: name.to_string(),
                },
                Errno::NOTDIR => FsError::ExtractPointNotDirectory,
                e => FsError::Io {
                    op: "open",
                    path: abs.clone(),
                    source: e.into(),
                },
            })?;
        if !writable {
            return Err(if in_volume {
                FsError::ReadOnlyVolume
            } else {
                FsError::ReadOnlyRootfs
            });
        }
        let mut chown = None;
        if opts.copy_uid_gid && !c.doc.config.user.is_empty() {
            let croot = if in_volume {
                Some(self.container_root(&c, name)?)
            } else {
                None
            };
            let root_path = proc_fd(croot.as_ref().unwrap_or(&root).fd());
            let user = userdb::resolve_in_root(&root_path, &c.doc.config.user)
                .map_err(io_fail("read", "/etc/passwd"))??;
            chown = Some((user.uid, user.gid));
        }
        let spec = ExtractSpec {
            preserve_owner: true,
            chown,
            no_overwrite_dir_non_dir: opts.no_overwrite_dir_non_dir,
            shown: gopath::clean(&abs),
        };
        extract_into(dest, content, &spec)?;
        self.emit_container(&c, "extract-to-dir", &[("path", abs.clone())]);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The host side of cp

/// Writes a tar of the local `path` (resolved by the caller, `dir/.` for a directory's
/// contents) whose top member is named `top`; returns the bytes written. The last component
/// is not followed.
pub fn host_archive(path: &str, top: &str, out: &mut dyn Write) -> Result<u64> {
    let (dir, base) = gopath::split_path_dir_entry(path);
    let parent = rfs::open(
        dir.as_str(),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_fail("open", dir.clone()))?;
    let (name, st) = if base == "." || base == "/" {
        (
            None,
            rfs::fstat(&parent).map_err(errno_fail("lstat", path))?,
        )
    } else {
        let st = rfs::statat(&parent, base.as_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(errno_fail("lstat", path))?;
        (Some(base.into_bytes()), st)
    };
    let item = Item { parent, name, st };
    let mut w = TarWriter::new(BufWriter::with_capacity(256 * 1024, out));
    tar_item(&item, top.as_bytes(), &mut w)?;
    let n = w.written();
    w.finish().map_err(io_fail("write", "tar"))?;
    Ok(n + 2 * BLOCK as u64)
}

/// Extracts `content` into the local directory `dir`, as Docker's CLI does when copying
/// out of a container: files belong to the caller (`NoLchown`), and directories and
/// non-directories never replace each other. Nothing is written outside `dir`.
pub fn host_extract<R: Read + Send + 'static>(content: R, dir: &str) -> Result<()> {
    let dest = rfs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_fail("open", dir))?;
    let spec = ExtractSpec {
        preserve_owner: false,
        chown: None,
        no_overwrite_dir_non_dir: true,
        shown: dir.to_string(),
    };
    extract_into(dest, content, &spec)
}

// ---------------------------------------------------------------------------------------------
// export

impl Engine {
    /// `export`: a tar of the container's whole filesystem (its merged view, what the
    /// container sees without its mounts), mounted for the occasion if it is not running.
    pub fn export_container(&mut self, name: &str, out: &mut dyn Write) -> Result<()> {
        let c = self.container(name)?;
        let root = self.container_root(&c, name)?;
        let dir = rfs::openat(
            root.fd(),
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno_fail("open", root.merged.display().to_string()))?;
        let mut w = TarWriter::new(BufWriter::with_capacity(256 * 1024, out));
        pack_tree(dir.as_fd(), berth_tar::PackMode::Plain, &mut w, |_| {
            Ok(true)
        })?;
        w.finish().map_err(io_fail("write", "tar"))?;
        self.emit_container(&c, "export", &[]);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// diff

/// What happened to a path (Docker's `archive.ChangeType`, with its numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// `C`: modified.
    Modify = 0,
    /// `A`: added.
    Add = 1,
    /// `D`: deleted.
    Delete = 2,
}

impl ChangeKind {
    /// The letter `docker diff` prints.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modify => 'C',
            ChangeKind::Add => 'A',
            ChangeKind::Delete => 'D',
        }
    }
}

/// One line of `diff`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The absolute path in the container.
    pub path: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// Mount points the runtime creates as empty files (Docker's init layer has them).
const INIT_FILES: [&[u8]; 3] = [b"/etc/hosts", b"/etc/hostname", b"/etc/resolv.conf"];
/// Mount points the runtime creates as empty directories.
const INIT_DIRS: [&[u8]; 3] = [b"/proc", b"/sys", b"/dev"];

fn is_whiteout(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice && st.st_rdev == 0
}

fn is_opaque(dir: BorrowedFd<'_>) -> bool {
    let mut buf = [0u8; 8];
    matches!(rfs::fgetxattr(dir, "trusted.overlay.opaque", &mut buf), Ok(1) if buf[0] == b'y')
}

fn read_names(dir: BorrowedFd<'_>) -> rustix::io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for e in rfs::Dir::read_from(dir)? {
        let e = e?;
        let n = e.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(n.to_vec());
        }
    }
    names.sort();
    Ok(names)
}

fn open_subdir(dir: BorrowedFd<'_>, name: &[u8]) -> rustix::io::Result<OwnedFd> {
    rfs::openat(
        dir,
        OsStr::from_bytes(name),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// The image's layers as seen through overlayfs' lookup rules, for "did this path exist
/// below the container?". Lookups never follow symlinks.
struct Lowers {
    /// Layer roots, top layer first.
    layers: Vec<OwnedFd>,
}

enum Lookup {
    Found(Stat),
    Hidden,
    Missing { opaque: bool },
}

impl Lowers {
    fn open(dirs: &[PathBuf]) -> Result<Lowers> {
        let mut layers = Vec::new();
        for d in dirs.iter().rev() {
            layers.push(
                rfs::open(
                    d,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(errno_fail("open", d.display().to_string()))?,
            );
        }
        Ok(Lowers { layers })
    }

    /// The path (absolute, `/`-separated) in the lower view, or `None` when absent there.
    fn stat(&self, path: &[u8]) -> Option<Stat> {
        let comps: Vec<&[u8]> = path
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty())
            .collect();
        for layer in &self.layers {
            match Self::lookup(layer.as_fd(), &comps) {
                Lookup::Found(st) => return Some(st),
                Lookup::Hidden | Lookup::Missing { opaque: true } => return None,
                Lookup::Missing { opaque: false } => {}
            }
        }
        None
    }

    fn lookup(root: BorrowedFd<'_>, comps: &[&[u8]]) -> Lookup {
        let mut cur: Option<OwnedFd> = None;
        let mut opaque = false;
        for (i, c) in comps.iter().enumerate() {
            let dir = cur.as_ref().map(|f| f.as_fd()).unwrap_or(root);
            let st = match rfs::statat(dir, OsStr::from_bytes(c), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(_) => return Lookup::Missing { opaque },
            };
            if is_whiteout(&st) {
                return Lookup::Hidden;
            }
            if i + 1 == comps.len() {
                return Lookup::Found(st);
            }
            if FileType::from_raw_mode(st.st_mode) != FileType::Directory {
                return Lookup::Hidden;
            }
            match open_subdir(dir, c) {
                Ok(fd) => {
                    opaque |= is_opaque(fd.as_fd());
                    cur = Some(fd);
                }
                Err(_) => return Lookup::Missing { opaque },
            }
        }
        Lookup::Missing { opaque }
    }
}

/// Whether `name` (at absolute `path`) in the upper directory `dir` is a mount-point
/// placeholder the runtime made: an empty file at an init file path, an empty directory at
/// an init directory path.
fn is_placeholder(dir: BorrowedFd<'_>, name: &[u8], path: &[u8], st: &Stat) -> bool {
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => INIT_FILES.contains(&path) && st.st_size == 0,
        FileType::Directory => {
            INIT_DIRS.contains(&path)
                && open_subdir(dir, name)
                    .ok()
                    .and_then(|d| read_names(d.as_fd()).ok())
                    .is_some_and(|n| n.is_empty())
        }
        _ => false,
    }
}

/// Whether the upper directory `sub` (at `path`) exists only to hold placeholders: it holds
/// nothing else, is not opaque, and matches the directory below (or there is none).
fn only_placeholders(sub: BorrowedFd<'_>, path: &[u8], st: &Stat, lowers: &Lowers) -> bool {
    let Ok(names) = read_names(sub) else {
        return false;
    };
    if names.is_empty() || is_opaque(sub) {
        return false;
    }
    let all = names.iter().all(|n| {
        let child = join_path(path, n);
        rfs::statat(sub, OsStr::from_bytes(n), AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|cst| is_placeholder(sub, n, &child, &cst))
    });
    all && match lowers.stat(path) {
        None => true,
        Some(l) => l.st_mode == st.st_mode && l.st_uid == st.st_uid && l.st_gid == st.st_gid,
    }
}

fn join_path(parent: &[u8], name: &[u8]) -> Vec<u8> {
    let mut p = parent.to_vec();
    p.push(b'/');
    p.extend_from_slice(name);
    p
}

struct DiffWalk<'a> {
    lowers: &'a Lowers,
    changes: Vec<Change>,
    changed_dirs: HashSet<Vec<u8>>,
}

/// Go's `sameFsTime`: equal, or equal seconds when either side lacks nanoseconds.
fn same_time(a: &Stat, b: &Stat) -> bool {
    a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0)
}

/// Whether the upper directory `dir` (at `path`) was last modified by the runtime making
/// its mount-point placeholders: its mtime is within a second of the newest placeholder's
/// (the runtime touches the directory a moment later again). In Docker those are made in
/// the init layer, below, so the directory looks unchanged; a change of the user's in it
/// still shows, as its own line and, for an added or deleted entry, a `C` for the
/// directory (copy-up alone keeps a directory's times: overlayfs restores them).
fn touched_by_placeholders(dir: BorrowedFd<'_>, path: &[u8], st: &Stat) -> bool {
    let Ok(names) = read_names(dir) else {
        return false;
    };
    let nanos = |s: i64, ns: i64| i128::from(s) * 1_000_000_000 + i128::from(ns);
    let newest = names
        .iter()
        .filter_map(|n| {
            let cst = rfs::statat(dir, OsStr::from_bytes(n), AtFlags::SYMLINK_NOFOLLOW).ok()?;
            is_placeholder(dir, n, &join_path(path, n), &cst)
                .then(|| nanos(cst.st_mtime, cst.st_mtime_nsec as i64))
        })
        .max();
    newest.is_some_and(|t| {
        let d = nanos(st.st_mtime, st.st_mtime_nsec as i64) - t;
        (0..1_000_000_000).contains(&d)
    })
}

impl DiffWalk<'_> {
    fn push(&mut self, path: &[u8], kind: ChangeKind) {
        self.changes.push(Change {
            path: String::from_utf8_lossy(path).into_owned(),
            kind,
        });
    }

    /// moby `archive.changes` with `overlayDeletedFile`, walking the upper directory in
    /// `filepath.Walk` order (depth first, names sorted).
    fn walk(&mut self, dir: BorrowedFd<'_>, rel: &[u8]) -> Result<()> {
        let shown = || String::from_utf8_lossy(rel).into_owned();
        let names = read_names(dir).map_err(errno_fail("readdirent", shown()))?;
        for name in names {
            let path = join_path(rel, &name);
            let st = match rfs::statat(dir, OsStr::from_bytes(&name), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => st,
                Err(Errno::NOENT) => continue,
                Err(e) => return Err(errno_fail("lstat", String::from_utf8_lossy(&path))(e)),
            };
            if is_placeholder(dir, &name, &path, &st) {
                continue;
            }
            let is_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
            let sub = if is_dir {
                match open_subdir(dir, &name) {
                    Ok(fd) => Some(fd),
                    Err(Errno::NOENT) => continue,
                    Err(e) => return Err(errno_fail("open", String::from_utf8_lossy(&path))(e)),
                }
            } else {
                None
            };
            if let Some(s) = &sub {
                if only_placeholders(s.as_fd(), &path, &st, self.lowers) {
                    continue;
                }
            }
            let deleted = is_whiteout(&st) || sub.as_ref().is_some_and(|s| is_opaque(s.as_fd()));
            let kind = if deleted {
                Some(ChangeKind::Delete)
            } else {
                match self.lowers.stat(&path) {
                    None => Some(ChangeKind::Add),
                    Some(l) => {
                        let lower_dir = FileType::from_raw_mode(l.st_mode) == FileType::Directory;
                        if is_dir
                            && lower_dir
                            && l.st_size == st.st_size
                            && l.st_mode == st.st_mode
                            && (same_time(&l, &st)
                                || sub.as_ref().is_some_and(|d| {
                                    touched_by_placeholders(d.as_fd(), &path, &st)
                                }))
                        {
                            None
                        } else {
                            Some(ChangeKind::Modify)
                        }
                    }
                }
            };
            if let Some(kind) = kind {
                if is_dir {
                    self.changed_dirs.insert(path.clone());
                }
                if kind != ChangeKind::Modify && !rel.is_empty() && !self.changed_dirs.contains(rel)
                {
                    self.push(rel, ChangeKind::Modify);
                    self.changed_dirs.insert(rel.to_vec());
                }
                self.push(&path, kind);
            }
            if let Some(s) = sub {
                self.walk(s.as_fd(), &path)?;
            }
        }
        Ok(())
    }
}

impl Engine {
    /// `diff`: the container's changes to its image, from its upper directory, in Docker's
    /// order. Works whether or not the container runs.
    pub fn container_changes(&mut self, name: &str) -> Result<Vec<Change>> {
        let c = self.container(name)?;
        let paths = self.container_paths(&c.row.id);
        let upper = match rfs::open(
            &paths.upper,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Vec::new()),
            Err(e) => return Err(errno_fail("open", paths.upper.display().to_string())(e)),
        };
        let lowers = Lowers::open(&self.image_layer_dirs(&c.row.image_id)?)?;
        let mut w = DiffWalk {
            lowers: &lowers,
            changes: Vec::new(),
            changed_dirs: HashSet::new(),
        };
        w.walk(upper.as_fd(), b"")?;
        Ok(w.changes)
    }
}

/// Packs a container's upper directory as a layer (overlay whiteouts become `.wh.` names)
/// into `out`, leaving out the runtime's mount-point placeholders.
pub(crate) fn pack_upper<W: Write>(upper: &Path, lower_dirs: &[PathBuf], out: W) -> Result<W> {
    let dir = rfs::open(
        upper,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(errno_fail("open", upper.display().to_string()))?;
    let lowers = Lowers::open(lower_dirs)?;
    // Tar names (no leading `/`, directories with a trailing `/`) to leave out.
    let mut skip: HashSet<Vec<u8>> = HashSet::new();
    for p in INIT_FILES.iter().chain(INIT_DIRS.iter()) {
        let (parent, name) = match p.iter().rposition(|&b| b == b'/') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => continue,
        };
        let pdir = if parent.is_empty() {
            rfs::openat(
                &dir,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        } else {
            open_subdir(dir.as_fd(), &parent[1..]).ok()
        };
        let Some(pdir) = pdir else { continue };
        if let Ok(st) = rfs::statat(&pdir, OsStr::from_bytes(name), AtFlags::SYMLINK_NOFOLLOW) {
            if is_placeholder(pdir.as_fd(), name, p, &st) {
                let mut n = p[1..].to_vec();
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    n.push(b'/');
                }
                skip.insert(n);
            }
        }
    }
    if let Ok(etc) = open_subdir(dir.as_fd(), b"etc") {
        if let Ok(st) = rfs::fstat(&etc) {
            if only_placeholders(etc.as_fd(), b"/etc", &st, &lowers) {
                skip.insert(b"etc/".to_vec());
            }
        }
    }
    let mut w = TarWriter::new(out);
    pack_tree(
        dir.as_fd(),
        berth_tar::PackMode::OverlayUpper,
        &mut w,
        |m| Ok(!skip.contains(&m.name)),
    )?;
    w.finish().map_err(io_fail("write", "tar"))
}

#[cfg(test)]
mod tests {
    use super::gopath::*;
    use super::*;

    #[test]
    fn go_paths_behave_like_go() {
        assert_eq!(clean("/a/../../b/./c/"), "/b/c");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean(""), ".");
        assert_eq!(base("/a/b/"), "b");
        assert_eq!(base("/"), "/");
        assert_eq!(base("/a/."), ".");
        assert_eq!(dir("/a/b/"), "/a/b");
        assert_eq!(dir("/a/b"), "/a");
        assert_eq!(dir("b"), ".");
        assert_eq!(split("/a/b"), ("/a/", "b"));
        assert_eq!(container_abs("etc/."), "/etc/.");
        assert_eq!(container_abs("/etc/"), "/etc/");
        assert_eq!(container_abs("../../etc"), "/etc");
        assert_eq!(container_abs("/"), "/");
        assert_eq!(container_abs("."), "/.");
        assert_eq!(
            split_path_dir_entry("/a/b/."),
            ("/a/b".to_string(), ".".to_string())
        );
        assert_eq!(
            split_path_dir_entry("/a/b/"),
            ("/a".to_string(), "b".to_string())
        );
        assert_eq!(
            get_rebase_name("/x/link/", "/y/target"),
            ("/y/target/".to_string(), Some("link".to_string()))
        );
        assert_eq!(
            get_rebase_name("/x/d/.", "/x/d"),
            ("/x/d/.".to_string(), None)
        );
        assert_eq!(join("/a", "../b"), "/b");
    }

    fn names(tar: &[u8]) -> Vec<(String, Option<String>)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    e.link_name_bytes()
                        .map(|l| String::from_utf8_lossy(&l).into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn items_are_archived_under_their_top_name_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), b"data").unwrap();
        std::fs::hard_link(src.join("sub/f"), src.join("hl")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", src.join("esc")).unwrap();
        let long = "n".repeat(150);
        std::fs::write(src.join(&long), b"x").unwrap();
        let mut out = Vec::new();
        host_archive(src.to_str().unwrap(), "top", &mut out).unwrap();
        let n = names(&out);
        assert_eq!(n[0].0, "top/");
        assert!(
            n.contains(&("top/esc".into(), Some("/etc/hostname".into()))),
            "{n:?}"
        );
        assert!(n.iter().any(|(p, _)| p == &format!("top/{long}")), "{n:?}");
        assert!(
            n.contains(&("top/sub/f".into(), Some("top/hl".into()))),
            "{n:?}"
        );
        // dir/. names its members ./…
        let mut out = Vec::new();
        host_archive(&format!("{}/.", src.display()), ".", &mut out).unwrap();
        let n = names(&out);
        assert_eq!(n[0].0, "./");
        assert!(n.iter().any(|(p, _)| p == "./sub/f"), "{n:?}");
        // A symlink is archived as itself.
        let mut out = Vec::new();
        host_archive(src.join("esc").to_str().unwrap(), "esc", &mut out).unwrap();
        assert_eq!(
            names(&out),
            vec![("esc".into(), Some("/etc/hostname".into()))]
        );
    }

    #[test]
    fn extraction_stays_inside_and_refuses_dir_replacements() {
        let d = tempfile::tempdir().unwrap();
        let dest = d.path().join("dest");
        std::fs::create_dir_all(dest.join("keep")).unwrap();
        std::os::unix::fs::symlink("/", dest.join("up")).unwrap();
        let mut w = TarWriter::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_size(2);
        w.append(
            h.clone(),
            b"up/tmp/berth-fsops-escape",
            None,
            &[],
            &mut &b"hi"[..],
        )
        .unwrap();
        w.append(h.clone(), b".wh.keep", None, &[], &mut &b"hi"[..])
            .unwrap();
        let tar = w.finish().unwrap();
        host_extract(io::Cursor::new(tar), dest.to_str().unwrap()).unwrap();
        assert!(!Path::new("/tmp/berth-fsops-escape").exists());
        assert!(dest.join("tmp/berth-fsops-escape").exists() || dest.join("up").exists());
        assert!(
            dest.join("keep").is_dir(),
            "whiteout-named member must not delete"
        );
        let mut w = TarWriter::new(Vec::new());
        w.append(h, b"keep", None, &[], &mut &b"hi"[..]).unwrap();
        let tar = w.finish().unwrap();
        let e = host_extract(io::Cursor::new(tar), dest.to_str().unwrap()).unwrap_err();
        assert!(
            e.to_string().starts_with("cannot overwrite directory"),
            "{e}"
        );
        assert!(dest.join("keep").is_dir());
    }
}
