//! The end-to-end harness: each test gets its own berth installation (a fresh temporary
//! `BERTH_ROOT` and `BERTH_RUN`), a command builder for the built `berth` binary whose
//! assertions print everything needed to debug a failure, and the test image factory
//! ([`images`]).
//!
//! ```ignore
//! use crate::support::{busybox_image, docker_archive, Berth};
//!
//! let b = Berth::new();
//! b.load(&docker_archive(&[busybox_image("busybox:latest")]));
//! let out = b.cmd(&["images", "-q"]).ok();
//! let err = b.cmd(&["rmi", "nosuch"]).fails_with(1);
//! ```
//!
//! Tests run as root (STYLE.md §15): [`Berth::new`] panics when they do not, so a suite that
//! ran nothing can never look green. Set `BERTH_E2E_LOG` (e.g. `debug`) to pass it to berth as
//! `BERTH_LOG`.
#![allow(dead_code)]

pub mod containers;
pub mod images;
pub mod netns;

pub use images::*;

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a command may run before [`Cmd::run`] kills it and panics.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// One test's berth installation: a temporary `BERTH_ROOT`, `BERTH_RUN`, `HOME` and a scratch
/// directory for the test's own files, all removed when it drops (after [`Berth::cleanup`]).
pub struct Berth {
    root: tempfile::TempDir,
    run: tempfile::TempDir,
    scratch: tempfile::TempDir,
}

/// What a finished command did.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code; `128 + signal` when a signal ended it, as a shell reports it.
    pub code: i32,
    /// The signal that ended it, if any.
    pub signal: Option<i32>,
    /// stdout, lossily decoded.
    pub stdout: String,
    /// stderr, lossily decoded.
    pub stderr: String,
    /// stdout as bytes (e.g. an archive written by `berth save`).
    pub stdout_bytes: Vec<u8>,
}

enum Input {
    Null,
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// A `berth` command under construction; made by [`Berth::cmd`].
pub struct Cmd {
    cmd: Command,
    input: Input,
    line: String,
    timeout: Duration,
}

/// The test process's own network namespace (the host's), as `/proc/self/ns/net` names it.
fn host_netns() -> PathBuf {
    std::fs::read_link("/proc/self/ns/net").expect("readlink /proc/self/ns/net")
}

fn mkdtemp(prefix: &str) -> tempfile::TempDir {
    // tempfile honours $TMPDIR; the prefixes keep BERTH_RUN socket paths short.
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory {prefix}*: {e}"))
}

impl Berth {
    /// A fresh, empty installation. Panics unless running as root.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Berth {
        assert!(
            rustix::process::geteuid().is_root(),
            "the berth end-to-end tests must run as root (they mount, make namespaces and \
             chown); run them with sudo or as root rather than skipping them"
        );
        let b = Berth {
            root: mkdtemp("berth-e2e-root-"),
            run: mkdtemp("berth-e2e-run-"),
            scratch: mkdtemp("berth-e2e-tmp-"),
        };
        std::fs::create_dir(b.home())
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", b.home().display()));
        b
    }

    /// The `BERTH_ROOT` of this installation.
    pub fn root_path(&self) -> &Path {
        self.root.path()
    }

    /// The `BERTH_RUN` of this installation.
    pub fn run_path(&self) -> &Path {
        self.run.path()
    }

    /// A scratch directory for the test's own files (archives, build contexts, ...).
    pub fn scratch(&self) -> &Path {
        self.scratch.path()
    }

    /// The `HOME` berth sees (inside the scratch directory, so nothing reads the host's
    /// `~/.docker`).
    pub fn home(&self) -> PathBuf {
        self.scratch.path().join("home")
    }

    /// Writes `data` to `name` in the scratch directory (making parents) and returns its path.
    pub fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.scratch.path().join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
        }
        std::fs::write(&p, data).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }

    /// A command for the built `berth` binary with this installation's environment: the
    /// temporary `BERTH_ROOT`/`BERTH_RUN`/`HOME`, no `DOCKER_*` or other `BERTH_*` variables,
    /// stdin from /dev/null.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Cmd {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args);
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("DOCKER_") || k.starts_with("BERTH_") {
                cmd.env_remove(&*k);
            }
        }
        // Networking only ever in a namespace the test made: berth refuses to touch links,
        // sysctls or nftables in the host's namespace (a test forgetting `--network none`
        // or its own namespace fails instead).
        cmd.env("BERTH_ROOT", self.root_path())
            .env("BERTH_RUN", self.run_path())
            .env("HOME", self.home())
            .env("BERTH_FORBID_HOST_NETWORK", host_netns());
        if let Some(level) = std::env::var_os("BERTH_E2E_LOG") {
            cmd.env("BERTH_LOG", level);
        }
        let line = std::iter::once("berth".to_string())
            .chain(
                args.iter()
                    .map(|a| a.as_ref().to_string_lossy().into_owned()),
            )
            .collect::<Vec<_>>()
            .join(" ");
        Cmd {
            cmd,
            input: Input::Null,
            line,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Runs `berth ARGS`, asserts it exits 0, returns stdout.
    pub fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        self.cmd(args).ok()
    }

    /// Runs `berth ARGS`, asserts it exits with `code`, returns stderr.
    pub fn fails_with<S: AsRef<OsStr>>(&self, args: &[S], code: i32) -> String {
        self.cmd(args).fails_with(code)
    }

    /// `berth load` of an archive on stdin; asserts success, returns stdout.
    pub fn load(&self, archive: &[u8]) -> String {
        self.cmd(&["load"]).stdin(archive).ok()
    }

    /// Starts `berth ARGS` in the background with stdout and stderr piped (for concurrency
    /// tests); collect it with [`wait`].
    pub fn spawn<S: AsRef<OsStr>>(&self, args: &[S]) -> Child {
        self.cmd(args).spawn()
    }

    /// Names (not paths) in a directory below `BERTH_ROOT`, sorted; empty if it is missing.
    pub fn list(&self, sub: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root_path().join(sub))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Detaches every mount at or below `BERTH_ROOT`, `BERTH_RUN` or the scratch directory,
    /// deepest first, so the temporary directories can be removed. Runs on drop; safe to call
    /// more than once.
    pub fn cleanup(&self) {
        let roots = [self.root_path(), self.run_path(), self.scratch()];
        let mut mounts: Vec<PathBuf> = mount_points()
            .into_iter()
            .filter(|m| roots.iter().any(|r| m.starts_with(r)))
            .collect();
        // Later mounts may sit on top of earlier ones: undo in reverse mountinfo order.
        mounts.reverse();
        for m in mounts {
            if let Err(e) = rustix::mount::unmount(&m, rustix::mount::UnmountFlags::DETACH) {
                eprintln!(
                    "berth e2e cleanup: umount2({}, MNT_DETACH): {e}",
                    m.display()
                );
            }
        }
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Mount points of this process's mount namespace, in /proc/self/mountinfo order.
pub fn mount_points() -> Vec<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|m| PathBuf::from(unescape_mountinfo(m)))
        .collect()
}

/// Undoes the octal escapes (`\040` for a space, ...) of a mountinfo path (proc(5)).
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 4 <= b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Cmd {
    /// Feeds `data` on stdin.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.input = Input::Bytes(data.into());
        self
    }

    /// Feeds the file at `path` on stdin.
    pub fn stdin_file(mut self, path: impl AsRef<Path>) -> Cmd {
        self.input = Input::File(path.as_ref().to_path_buf());
        self
    }

    /// Sets an environment variable for berth.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.cmd.env(key, value);
        self
    }

    /// Runs berth in `dir`.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.cmd.current_dir(dir);
        self
    }

    /// Changes how long [`Cmd::run`] waits before killing berth and panicking.
    pub fn timeout(mut self, t: Duration) -> Cmd {
        self.timeout = t;
        self
    }

    /// The command line, for messages.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// Starts berth in the background, stdout and stderr piped. Input from [`Cmd::stdin`] is
    /// written by a helper thread.
    pub fn spawn(mut self) -> Child {
        match &self.input {
            Input::Null => self.cmd.stdin(Stdio::null()),
            Input::Bytes(_) => self.cmd.stdin(Stdio::piped()),
            Input::File(p) => {
                self.cmd.stdin(std::fs::File::open(p).unwrap_or_else(|e| {
                    panic!("`{}`: cannot open {}: {e}", self.line, p.display())
                }))
            }
        };
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{}`: {e}", self.line));
        if let Input::Bytes(data) = std::mem::replace(&mut self.input, Input::Null) {
            let mut sin = child.stdin.take().expect("piped stdin");
            // Berth may exit before reading it all (a rejected archive): ignore EPIPE.
            std::thread::spawn(move || {
                let _ = std::io::Write::write_all(&mut sin, &data);
            });
        }
        child
    }

    /// Runs berth to completion (killing it after the timeout, then panicking).
    pub fn run(self) -> Output {
        let line = self.line.clone();
        let timeout = self.timeout;
        let child = self.spawn();
        wait_timeout(child, timeout)
            .unwrap_or_else(|o| panic!("`{line}` still ran after {timeout:?}; killed it\n{o}"))
    }

    /// Runs, asserts exit 0, returns stdout.
    #[track_caller]
    pub fn ok(self) -> String {
        let line = self.line.clone();
        let o = self.run();
        assert!(o.code == 0, "`{line}` failed\n{o}");
        o.stdout
    }

    /// Runs, asserts the exit code is `code` and berth did not panic, returns stderr.
    #[track_caller]
    pub fn fails_with(self, code: i32) -> String {
        let line = self.line.clone();
        let o = self.run();
        assert!(o.code == code, "`{line}`: expected exit code {code}\n{o}");
        assert!(!o.panicked(), "`{line}` panicked\n{o}");
        o.stderr
    }
}

impl Output {
    /// Whether berth exited 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Whether stderr shows a Rust panic (never acceptable, whatever the input).
    pub fn panicked(&self) -> bool {
        self.stderr.contains("panicked at") || self.stderr.contains("RUST_BACKTRACE")
    }

    fn from_parts(status: std::process::ExitStatus, stdout: Vec<u8>, stderr: Vec<u8>) -> Output {
        use std::os::unix::process::ExitStatusExt;
        let signal = status.signal();
        Output {
            code: status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0)),
            signal,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            stdout_bytes: stdout,
        }
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.signal {
            Some(s) => writeln!(f, "killed by signal {s}")?,
            None => writeln!(f, "exit code {}", self.code)?,
        }
        writeln!(f, "--- stdout ---\n{}", truncate_for_display(&self.stdout))?;
        write!(f, "--- stderr ---\n{}", truncate_for_display(&self.stderr))
    }
}

fn truncate_for_display(s: &str) -> &str {
    const MAX: usize = 16 * 1024;
    if s.len() <= MAX {
        return s;
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Waits for a spawned berth (from [`Berth::spawn`]) and collects its output.
pub fn wait(child: Child) -> Output {
    wait_timeout(child, DEFAULT_TIMEOUT)
        .unwrap_or_else(|o| panic!("berth still ran after {DEFAULT_TIMEOUT:?}; killed it\n{o}"))
}

/// Waits up to `timeout`; on timeout kills the child and returns what it wrote as `Err`.
pub fn wait_timeout(mut child: Child, timeout: Duration) -> Result<Output, Output> {
    fn drain(r: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    }
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for killed berth");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for berth: {e}"),
        }
    };
    // A daemonised grandchild may hold the pipes open: do not wait on them forever.
    let join = |h: std::thread::JoinHandle<Vec<u8>>| {
        let until = Instant::now() + Duration::from_secs(5);
        while !h.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
        if h.is_finished() {
            h.join().unwrap_or_default()
        } else {
            b"<output pipe still held open by another process>".to_vec()
        }
    };
    let o = Output::from_parts(status, join(out), join(err));
    if timed_out {
        Err(o)
    } else {
        Ok(o)
    }
}

/// `sha256:<hex>` of bytes.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(data))
}

/// Lowercase hex sha256 of bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}
