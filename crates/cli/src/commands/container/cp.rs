//! `cp`: Docker's `cli/command/container/cp.go` over the engine's archive operations
//! (stat, archive, extract), with its path rules: a trailing `/` asserts a directory,
//! `dir/.` copies a directory's contents, an existing destination directory receives the
//! source under its own name, `-` streams a tar on stdin or stdout.
//!
//! The container side is only ever touched by the engine, through fds resolved inside the
//! container root (see `berth_engine::containers::fsops`); this file only decides names.

use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use berth_engine::containers::fsops::{self, gopath, ExtractOptions, FsError};
use berth_engine::Engine;

use super::diff::fs_error;
use crate::args::CpArgs;
use crate::exit::StatusError;
use crate::output::engine;

/// What is known about one side of a copy (moby `archive.CopyInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct CopyInfo {
    path: String,
    exists: bool,
    is_dir: bool,
    rebase_name: Option<String>,
}

fn fail(msg: impl Into<String>) -> anyhow::Error {
    StatusError::error(1, msg)
}

fn go_io(op: &str, path: &str, e: &std::io::Error) -> anyhow::Error {
    fail(format!("{op} {path}: {}", fsops::go_err(e)))
}

/// Docker's `splitCpArg`: `CONTAINER:PATH`, unless the argument is an absolute path or
/// starts with `.` (`./file:name` is local).
fn split_cp_arg(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => {
            if c.is_empty() {
                (None, p)
            } else {
                (Some(c), p)
            }
        }
        _ => (None, arg),
    }
}

/// Docker's `resolveLocalPath`: absolute, cleaned, keeping a trailing `/` or `/.`.
fn resolve_local_path(p: &str) -> anyhow::Result<String> {
    let abs = if p.starts_with('/') {
        gopath::clean(p)
    } else {
        let cwd = std::env::current_dir().map_err(|e| go_io("getwd", "", &e))?;
        gopath::join(&cwd.to_string_lossy(), p)
    };
    Ok(gopath::preserve_trailing_dot_or_separator(&abs, p))
}

/// Docker's `command.ValidateOutputPath`.
pub(crate) fn validate_output_path(path: &str) -> anyhow::Result<()> {
    let dir = gopath::dir(&gopath::clean(path));
    if !dir.is_empty() && dir != "." {
        if let Err(e) = std::fs::metadata(&dir) {
            if e.kind() == std::io::ErrorKind::NotFound {
                return Err(fail(format!(
                    "invalid output path: directory {dir:?} does not exist"
                )));
            }
        }
    }
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(go_io("stat", path, &e)),
        Ok(m) => {
            use std::os::unix::fs::FileTypeExt;
            let ft = m.file_type();
            if ft.is_block_device() || ft.is_char_device() {
                return Err(fail(format!(
                    "invalid output path: {path:?} must be a directory or a regular file: got a device"
                )));
            }
            Ok(())
        }
    }
}

/// moby `archive.CopyInfoDestinationPath`: follows symlinks at the (local) destination; a
/// missing destination is fine when its parent directory exists.
fn copy_info_destination_path(path: &str) -> anyhow::Result<CopyInfo> {
    let original = path.to_string();
    let mut path = path.to_string();
    let mut st = std::fs::symlink_metadata(&path);
    let mut n = 0;
    while let Ok(m) = &st {
        if !m.file_type().is_symlink() {
            break;
        }
        if n > 10 {
            return Err(fail(format!("too many symlinks in {original}")));
        }
        n += 1;
        let target = std::fs::read_link(&path).map_err(|e| go_io("readlink", &path, &e))?;
        let target = target.to_string_lossy().into_owned();
        path = if target.starts_with('/') {
            target
        } else {
            gopath::join(&gopath::split_path_dir_entry(&path).0, &target)
        };
        st = std::fs::symlink_metadata(&path);
    }
    match st {
        Ok(m) => Ok(CopyInfo {
            path,
            exists: true,
            is_dir: m.is_dir(),
            rebase_name: None,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let parent = gopath::split_path_dir_entry(&path).0;
            let pm = std::fs::metadata(&parent).map_err(|e| go_io("stat", &parent, &e))?;
            if !pm.is_dir() {
                return Err(fs_error(FsError::NotADirectory));
            }
            Ok(CopyInfo {
                path,
                ..CopyInfo::default()
            })
        }
        Err(e) => Err(go_io("lstat", &path, &e)),
    }
}

/// moby `archive.CopyInfoSourcePath`: with `follow`, the local source is fully resolved
/// (and keeps its own name); without, only its parent directory is.
fn copy_info_source_path(path: &str, follow: bool) -> anyhow::Result<CopyInfo> {
    let canon = |p: &str| -> anyhow::Result<String> {
        let p = if p.is_empty() { "." } else { p };
        std::fs::canonicalize(p)
            .map(|c| c.to_string_lossy().into_owned())
            .map_err(|e| go_io("lstat", p, &e))
    };
    let (resolved, rebase_name) = if follow {
        let r = canon(path)?;
        gopath::get_rebase_name(path, &r)
    } else {
        let (dir, base) = gopath::split(path);
        let mut r = canon(dir)?;
        if !r.ends_with('/') {
            r.push('/');
        }
        r.push_str(base);
        let rebase = (gopath::has_trailing_separator(path)
            && gopath::base(path) != gopath::base(&r))
        .then(|| gopath::base(path));
        (r, rebase)
    };
    let m = std::fs::symlink_metadata(&resolved).map_err(|e| go_io("lstat", &resolved, &e))?;
    Ok(CopyInfo {
        path: resolved,
        exists: true,
        is_dir: m.is_dir(),
        rebase_name,
    })
}

fn asserts_directory(p: &str) -> bool {
    gopath::has_trailing_separator(p) || gopath::specifies_current_dir(p)
}

/// moby `archive.PrepareArchiveCopy`: the directory to extract into and the name the
/// source's top entry must have there.
fn prepare_archive_copy(src: &CopyInfo, dst: &CopyInfo) -> Result<(String, String), FsError> {
    let (dst_dir, dst_base) = gopath::split_path_dir_entry(&dst.path);
    let src_base = src
        .rebase_name
        .clone()
        .unwrap_or_else(|| gopath::split_path_dir_entry(&src.path).1);
    if dst.exists && dst.is_dir {
        Ok((dst.path.clone(), src_base))
    } else if dst.exists && src.is_dir {
        Err(FsError::CannotCopyDir)
    } else if dst.exists || src.is_dir {
        Ok((dst_dir, dst_base))
    } else if asserts_directory(&dst.path) {
        Err(FsError::DirNotExists)
    } else {
        Ok((dst_dir, dst_base))
    }
}

struct Counting<T> {
    inner: T,
    n: Arc<AtomicU64>,
}

impl<T: Write> Write for Counting<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Counting<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The error of a two-sided copy: the side that failed first (the other then saw a broken
/// pipe or a short stream).
fn first_error(
    producer: Result<(), FsError>,
    producer_daemon: bool,
    consumer: Result<(), FsError>,
    consumer_daemon: bool,
) -> anyhow::Result<()> {
    let map = |e: FsError, daemon: bool| {
        if daemon {
            fs_error(e)
        } else {
            match e {
                FsError::Engine(e) => e.into(),
                e => fail(e.to_string()),
            }
        }
    };
    match (producer, consumer) {
        (Ok(()), Ok(())) => Ok(()),
        (Err(p), Err(c)) if p.is_broken_pipe() => Err(map(c, consumer_daemon)),
        (Err(p), _) => Err(map(p, producer_daemon)),
        (Ok(()), Err(c)) => Err(map(c, consumer_daemon)),
    }
}

/// Runs `cp`.
pub fn run(a: CpArgs) -> anyhow::Result<i32> {
    if a.src.is_empty() {
        return Err(fail("source can not be empty"));
    }
    if a.dest.is_empty() {
        return Err(fail("destination can not be empty"));
    }
    // Docker 25+ prints progress (to stderr) only when stdout is a terminal.
    let quiet = a.quiet || !std::io::stdout().is_terminal();
    let (src_ctr, src_path) = split_cp_arg(&a.src);
    let (dst_ctr, dst_path) = split_cp_arg(&a.dest);
    match (src_ctr, dst_ctr) {
        (Some(c), None) => from_container(c, src_path, dst_path, &a, quiet),
        (None, Some(c)) => to_container(c, src_path, dst_path, &a, quiet),
        (Some(_), Some(_)) => Err(fail("copying between containers is not supported")),
        (None, None) => Err(fail("must specify at least one container source")),
    }
}

fn summary(quiet: bool, bytes: u64, dest: &str) {
    if !quiet {
        eprintln!(
            "Successfully copied {} to {dest}",
            berth_template::units::human_size_with_precision(bytes as f64, 3)
        );
    }
}

/// The container path a symlink stat points to (`LinkTarget`, made absolute against the
/// link's directory as Docker's CLI does).
fn link_target(path: &str, target: &str) -> String {
    if target.starts_with('/') {
        target.to_string()
    } else {
        gopath::join(&gopath::split_path_dir_entry(path).0, target)
    }
}

fn from_container(
    container: &str,
    src: &str,
    dst: &str,
    a: &CpArgs,
    quiet: bool,
) -> anyhow::Result<i32> {
    let dst = if dst == "-" {
        dst.to_string()
    } else {
        resolve_local_path(dst)?
    };
    if dst != "-" {
        validate_output_path(&dst)?;
    }
    let mut engine = engine()?;
    let mut src_path = src.to_string();
    let mut rebase_name = None;
    if a.follow_link {
        if let Ok(st) = engine.container_stat_path(container, &src_path) {
            if st.is_symlink() {
                let target = link_target(&src_path, &st.link_target);
                let (t, r) = gopath::get_rebase_name(&src_path, &target);
                src_path = t;
                rebase_name = r;
            }
        }
    }
    if dst == "-" {
        let mut out = std::io::stdout().lock();
        engine
            .container_archive(container, &src_path, None, &mut out)
            .map_err(fs_error)?;
        return Ok(0);
    }
    let stat = engine
        .container_stat_path(container, &src_path)
        .map_err(fs_error)?;
    let src_info = CopyInfo {
        path: src_path.clone(),
        exists: true,
        is_dir: stat.is_dir(),
        rebase_name,
    };
    let dst_info = copy_info_destination_path(&dst)?;
    let (dst_dir, top) = prepare_archive_copy(&src_info, &dst_info).map_err(fs_error)?;
    let copied = Arc::new(AtomicU64::new(0));
    let (r, w) = std::io::pipe().map_err(|e| go_io("pipe", "", &e))?;
    let (produced, consumed) = std::thread::scope(|s| {
        let dir = dst_dir.as_str();
        let extractor = s.spawn(move || fsops::host_extract(r, dir));
        let mut out = Counting {
            inner: w,
            n: copied.clone(),
        };
        let produced = archive(&mut engine, container, &src_path, &top, &mut out);
        drop(out);
        let consumed = extractor.join().unwrap_or_else(|_| {
            Err(FsError::Io {
                op: "extract",
                path: dst_dir.clone(),
                source: std::io::Error::other("the extractor panicked"),
            })
        });
        (produced, consumed)
    });
    first_error(produced, true, consumed, false)?;
    summary(quiet, copied.load(Ordering::Relaxed), &dst);
    Ok(0)
}

fn archive(
    engine: &mut Engine,
    container: &str,
    path: &str,
    top: &str,
    out: &mut dyn Write,
) -> Result<(), FsError> {
    engine
        .container_archive(container, path, Some(top), out)
        .map(|_| ())
}

fn to_container(
    container: &str,
    src: &str,
    dst: &str,
    a: &CpArgs,
    quiet: bool,
) -> anyhow::Result<i32> {
    let src = if src == "-" {
        src.to_string()
    } else {
        resolve_local_path(src)?
    };
    let mut engine = engine()?;
    let mut dst_info = CopyInfo {
        path: dst.to_string(),
        ..CopyInfo::default()
    };
    // Stat errors are ignored, as Docker ignores them: the extraction reports the problem.
    if let Ok(mut st) = engine.container_stat_path(container, dst) {
        let mut found = true;
        if st.is_symlink() {
            dst_info.path = link_target(dst, &st.link_target);
            match engine.container_stat_path(container, &dst_info.path) {
                Ok(s) => st = s,
                Err(_) => found = false,
            }
        }
        if found {
            if st.is_device() {
                return Err(fail(format!(
                    "destination \"{container}:{dst}\" must be a directory or a regular file: got a device"
                )));
            }
            dst_info.exists = true;
            dst_info.is_dir = st.is_dir();
        }
    }
    let opts = ExtractOptions {
        copy_uid_gid: a.archive,
        no_overwrite_dir_non_dir: true,
    };
    let copied = Arc::new(AtomicU64::new(0));
    if src == "-" {
        if !dst_info.is_dir {
            return Err(fail(format!(
                "destination \"{container}:{dst}\" must be a directory"
            )));
        }
        let content = Counting {
            inner: std::io::stdin(),
            n: copied.clone(),
        };
        engine
            .container_extract(container, &dst_info.path, content, &opts)
            .map_err(fs_error)?;
    } else {
        let src_info = copy_info_source_path(&src, a.follow_link)?;
        let (dst_dir, top) = prepare_archive_copy(&src_info, &dst_info).map_err(fs_error)?;
        let (r, mut w) = std::io::pipe().map_err(|e| go_io("pipe", "", &e))?;
        let (produced, consumed) = std::thread::scope(|s| {
            let (path, top) = (src_info.path.as_str(), top.as_str());
            let producer = s.spawn(move || fsops::host_archive(path, top, &mut w).map(|_| ()));
            let content = Counting {
                inner: r,
                n: copied.clone(),
            };
            let consumed = engine.container_extract(container, &dst_dir, content, &opts);
            let produced = producer.join().unwrap_or_else(|_| {
                Err(FsError::Io {
                    op: "archive",
                    path: src_info.path.clone(),
                    source: std::io::Error::other("the archiver panicked"),
                })
            });
            (produced, consumed)
        });
        first_error(produced, false, consumed, true)?;
    }
    summary(
        quiet,
        copied.load(Ordering::Relaxed),
        &format!("{container}:{}", dst_info.path),
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_args_split_like_docker() {
        assert_eq!(split_cp_arg("c1:/tmp"), (Some("c1"), "/tmp"));
        assert_eq!(split_cp_arg("/abs:x"), (None, "/abs:x"));
        assert_eq!(split_cp_arg("./f:x"), (None, "./f:x"));
        assert_eq!(split_cp_arg("file"), (None, "file"));
        assert_eq!(split_cp_arg("-"), (None, "-"));
        assert_eq!(split_cp_arg("c1:"), (Some("c1"), ""));
    }

    fn info(path: &str, exists: bool, is_dir: bool) -> CopyInfo {
        CopyInfo {
            path: path.into(),
            exists,
            is_dir,
            rebase_name: None,
        }
    }

    #[test]
    fn archive_copy_is_prepared_like_moby() {
        let file = info("/c/f", true, false);
        let dir = info("/c/d", true, true);
        let contents = info("/c/d/.", true, true);
        // Into an existing directory: under the source's own name (or its contents).
        assert_eq!(
            prepare_archive_copy(&file, &info("/h/out", true, true)).unwrap(),
            ("/h/out".into(), "f".into())
        );
        assert_eq!(
            prepare_archive_copy(&contents, &info("/h/out", true, true)).unwrap(),
            ("/h/out".into(), ".".into())
        );
        // Onto an existing file, or to a new name: renamed.
        assert_eq!(
            prepare_archive_copy(&file, &info("/h/x", true, false)).unwrap(),
            ("/h".into(), "x".into())
        );
        assert_eq!(
            prepare_archive_copy(&dir, &info("/h/new", false, false)).unwrap(),
            ("/h".into(), "new".into())
        );
        assert!(matches!(
            prepare_archive_copy(&dir, &info("/h/x", true, false)),
            Err(FsError::CannotCopyDir)
        ));
        assert!(matches!(
            prepare_archive_copy(&file, &info("/h/new/", false, false)),
            Err(FsError::DirNotExists)
        ));
    }
}
