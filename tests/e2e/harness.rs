//! The end-to-end harness: a fresh `BERTH_ROOT`/`BERTH_RUN` per test and a small command
//! builder for the built `berth` binary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// One test's berth installation.
pub struct Berth {
    dir: tempfile::TempDir,
}

/// What a command did.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// stdout as bytes (for archives written to stdout).
    pub raw: Vec<u8>,
}

pub struct Cmd {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    line: String,
}

impl Berth {
    pub fn new() -> Berth {
        assert!(
            rustix::process::geteuid().is_root(),
            "the end-to-end tests must run as root"
        );
        let dir = tempfile::Builder::new()
            .prefix("berth-e2e-")
            .tempdir()
            .expect("temp dir");
        Berth { dir }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// A scratch directory for the test's own files.
    pub fn scratch(&self) -> PathBuf {
        let p = self.dir.path().join("scratch");
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    pub fn cmd(&self, args: &[&str]) -> Cmd {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(args)
            .env("BERTH_ROOT", self.root())
            .env("BERTH_RUN", self.run_dir())
            .env_remove("DOCKER_HOST")
            .env_remove("BERTH_LOG")
            .stdin(Stdio::null());
        Cmd {
            cmd,
            stdin: None,
            line: format!("berth {}", args.join(" ")),
        }
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.cmd(args).ok()
    }

    /// Starts a command in the background.
    pub fn spawn(&self, args: &[&str]) -> Child {
        let mut c = self.cmd(args);
        c.cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn berth")
    }

    /// Files below a store directory (relative names), e.g. "layers" or "blobs/sha256".
    pub fn list(&self, sub: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.root().join(sub))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Cmd {
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> Cmd {
        self.stdin = Some(data.into());
        self
    }

    pub fn run(mut self) -> Out {
        if self.stdin.is_some() {
            self.cmd.stdin(Stdio::piped());
        }
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn berth");
        if let Some(data) = self.stdin.take() {
            let mut sin = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = sin.write_all(&data);
            });
        }
        let o = child.wait_with_output().expect("wait berth");
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            raw: o.stdout,
        }
    }

    pub fn ok(self) -> String {
        let line = self.line.clone();
        let o = self.run();
        assert_eq!(o.code, 0, "`{line}` failed: {}{}", o.stdout, o.stderr);
        o.stdout
    }

    /// Asserts the exit code and a one-line error; returns stderr.
    pub fn fails(self, code: i32) -> String {
        let line = self.line.clone();
        let o = self.run();
        assert_eq!(o.code, code, "`{line}`: {}{}", o.stdout, o.stderr);
        assert!(
            !o.stderr.contains("panicked"),
            "`{line}` panicked: {}",
            o.stderr
        );
        o.stderr
    }
}

/// sha256 hex of bytes.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

pub fn write(path: &Path, data: &[u8]) {
    std::fs::write(path, data).unwrap();
}
