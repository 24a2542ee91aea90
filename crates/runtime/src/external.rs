//! `--runtime runc|crun`: an installed OCI runtime run as a program, with the same contract
//! as the embedded runtime (the container's init ends up a child of the monitor, a
//! subreaper, once the runtime process has exited).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::oci::{ExecSpec, Result, RuntimeError, Stdio};

/// Where an installed runtime is looked for.
const SEARCH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The installed binary of runtime `name`, if any.
pub fn find(name: &str) -> Option<PathBuf> {
    SEARCH.iter().map(|d| Path::new(d).join(name)).find(|p| {
        crate::exec_path::resolve(&p.to_string_lossy(), "") != crate::exec_path::Resolved::NotFound
            && p.is_file()
    })
}

fn runtime_error(op: &'static str, message: String) -> RuntimeError {
    if let Some(rest) = message.split("exec: \"").nth(1) {
        let cmd = rest.split('"').next().unwrap_or("").to_string();
        if message.contains("executable file not found") || message.contains("no such file") {
            return RuntimeError::NotFound(cmd);
        }
        if message.contains("permission denied") {
            return RuntimeError::NotExecutable(cmd);
        }
    }
    RuntimeError::Runtime { op, message }
}

fn run(bin: &Path, root: &Path, args: &[&str], op: &'static str) -> Result<()> {
    let out = Command::new(bin)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| RuntimeError::Runtime {
            op,
            message: format!("{}: {e}", bin.display()),
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(runtime_error(
        op,
        String::from_utf8_lossy(&out.stderr)
            .trim()
            .replace('\n', " "),
    ))
}

/// The last error line a runtime wrote to its `--log` file (JSON lines with a `msg`).
fn last_log_error(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = std::fs::File::open(log) {
        let _ = f.read_to_string(&mut text);
    }
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("level").and_then(|l| l.as_str()) == Some("error"))
        .and_then(|v| v.get("msg").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| text.lines().last().unwrap_or("failed").to_string())
}

/// Gives the runtime process the container's standard streams (`/dev/null` where unset):
/// a runtime hands its own to the container process.
fn set_stdio(cmd: &mut Command, stdio: Stdio) {
    let or_null = |fd: Option<std::os::fd::OwnedFd>| {
        fd.map(std::process::Stdio::from)
            .unwrap_or_else(std::process::Stdio::null)
    };
    cmd.stdin(or_null(stdio.stdin))
        .stdout(or_null(stdio.stdout))
        .stderr(or_null(stdio.stderr));
}

/// `RUNTIME create` then `RUNTIME start`; returns the init's pid.
pub fn create_and_start(
    bin: &Path,
    root: &Path,
    id: &str,
    bundle: &Path,
    stdio: Stdio,
    console_socket: Option<&Path>,
) -> Result<i32> {
    let _ = std::fs::create_dir_all(root);
    let pid_file = bundle.join("init.pid");
    let log = bundle.join("runtime.log");
    let _ = std::fs::remove_file(&pid_file);
    let _ = std::fs::remove_file(&log);
    let mut cmd = Command::new(bin);
    cmd.arg("--root")
        .arg(root)
        .arg("--log")
        .arg(&log)
        .arg("--log-format")
        .arg("json")
        .arg("create")
        .arg("--bundle")
        .arg(bundle)
        .arg("--pid-file")
        .arg(&pid_file);
    if let Some(c) = console_socket {
        cmd.arg("--console-socket").arg(c);
    }
    cmd.arg(id);
    set_stdio(&mut cmd, stdio);
    let status = cmd.status().map_err(|e| RuntimeError::Runtime {
        op: "create",
        message: format!("{}: {e}", bin.display()),
    })?;
    if !status.success() {
        return Err(runtime_error("create", last_log_error(&log)));
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| RuntimeError::Runtime {
            op: "create",
            message: "the runtime wrote no pid file".into(),
        })?;
    run(bin, root, &["start", id], "start")?;
    Ok(pid)
}

/// `RUNTIME delete --force`; nothing to delete is not an error.
pub fn delete(bin: &Path, root: &Path, id: &str) -> Result<()> {
    match run(bin, root, &["delete", "--force", id], "delete") {
        Err(RuntimeError::Runtime { message, .. })
            if message.contains("does not exist") || message.contains("not found") =>
        {
            Ok(())
        }
        r => r,
    }
}

/// `RUNTIME pause` / `resume`.
pub fn freeze(bin: &Path, root: &Path, id: &str, pause: bool) -> Result<()> {
    if pause {
        run(bin, root, &["pause", id], "pause")
    } else {
        run(bin, root, &["resume", id], "resume")
    }
}

/// `RUNTIME exec` as a child of the caller; its exit status is the command's, so the caller
/// waits for the returned pid as for an embedded exec.
pub fn exec(bin: &Path, root: &Path, id: &str, spec: ExecSpec, stdio: Stdio) -> Result<i32> {
    if spec.console_socket.is_some() {
        // `RUNTIME exec --console-socket` needs `--detach`, which would make the process
        // the runtime's child rather than ours (and its exit status unreachable).
        return Err(RuntimeError::Runtime {
            op: "exec",
            message: format!(
                "exec -t is not supported yet with --runtime {}",
                bin.file_name().unwrap_or_default().to_string_lossy()
            ),
        });
    }
    let mut cmd = Command::new(bin);
    cmd.arg("--root").arg(root).arg("exec");
    if let Some(cwd) = &spec.cwd {
        cmd.arg("--cwd").arg(cwd);
    }
    for e in &spec.env {
        cmd.arg("--env").arg(e);
    }
    if let Some((uid, gid)) = spec.user {
        cmd.arg("--user").arg(format!("{uid}:{gid}"));
    }
    for g in &spec.additional_gids {
        cmd.arg("--additional-gids").arg(g.to_string());
    }
    for c in spec.capabilities.iter().flatten() {
        cmd.arg("--cap").arg(c);
    }
    cmd.arg(id).args(&spec.args);
    set_stdio(&mut cmd, stdio);
    let child = cmd.spawn().map_err(|e| RuntimeError::Runtime {
        op: "exec",
        message: format!("{}: {e}", bin.display()),
    })?;
    Ok(child.id() as i32)
}
