//! `exec`: a new process in a running container, a child of the caller.

use std::path::PathBuf;

use berth_runtime::oci;

pub use berth_runtime::oci::Stdio;

/// Receives the terminal master a runtime sends on a console socket.
pub fn recv_fd(sock: std::os::fd::BorrowedFd<'_>) -> std::io::Result<std::os::fd::OwnedFd> {
    berth_sys::recv_fd(sock)
}

use super::userdb;
use crate::{Engine, EngineError};

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    /// argv.
    pub cmd: Vec<String>,
    /// Extra `KEY=value` entries (`-e`), over the container's environment.
    pub env: Vec<String>,
    /// `-u`; the container's user when unset.
    pub user: Option<String>,
    /// `-w`; the container's working directory when unset.
    pub workdir: Option<String>,
    /// `-t`.
    pub tty: bool,
    /// `--privileged`.
    pub privileged: bool,
    /// A console socket (with `tty`) to receive the terminal's master.
    pub console_socket: Option<PathBuf>,
}

impl Engine {
    /// Starts `req` in the running container; returns the process's host pid and exec id.
    pub fn exec_container(
        &mut self,
        name_or_id: &str,
        req: ExecRequest,
        stdio: oci::Stdio,
    ) -> Result<(i32, String), EngineError> {
        let c = self.container(name_or_id)?;
        match c.row.state.as_str() {
            "running" => {}
            "paused" => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is paused, unpause the container before exec",
                    c.row.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "container {} is not running",
                    c.row.id
                )))
            }
        }
        let paths = self.container_paths(&c.row.id);
        let cfg = &c.doc.config;
        let user_spec = req.user.clone().unwrap_or_else(|| cfg.user.clone());
        let user = userdb::resolve_in_root(&paths.merged, &user_spec)
            .map_err(crate::error::io_err(&paths.merged))?
            .map_err(|e| EngineError::StartFailed {
                code: 126,
                message: e.to_string(),
            })?;
        let mut env = cfg.env.clone();
        let mut set = |kv: &str| {
            let k = kv.split('=').next().unwrap_or(kv);
            env.retain(|e| e.split('=').next() != Some(k));
            env.push(kv.to_string());
        };
        if !cfg.env.iter().any(|e| e.starts_with("HOSTNAME=")) {
            set(&format!("HOSTNAME={}", cfg.hostname));
        }
        if req.tty {
            set("TERM=xterm");
        }
        if !cfg.env.iter().any(|e| e.starts_with("HOME=")) {
            set(&format!("HOME={}", user.home));
        }
        for e in &req.env {
            set(e);
        }
        let cwd = req
            .workdir
            .clone()
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| {
                if cfg.working_dir.is_empty() {
                    "/".into()
                } else {
                    cfg.working_dir.clone()
                }
            });
        let spec = oci::ExecSpec {
            args: req.cmd.clone(),
            env,
            cwd: Some(PathBuf::from(cwd)),
            user: Some((user.uid, user.gid)),
            additional_gids: user.additional_gids,
            capabilities: req.privileged.then(|| {
                let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .unwrap_or(berth_runtime::spec::caps::LAST_KNOWN_CAP);
                berth_runtime::spec::caps::all_capabilities(last)
            }),
            console_socket: req.console_socket.clone(),
            bundle: Some(paths.bundle.clone()),
        };
        let exec_id = exec_id();
        let what = req.cmd.join(" ");
        let ev = [("execID", exec_id.clone())];
        self.emit_container(&c, &format!("exec_create: {what}"), &ev);
        self.emit_container(&c, &format!("exec_start: {what}"), &ev);
        // The new process inherits this one's dispositions: give it the defaults.
        berth_sys::default_signal_dispositions(true);
        let rt = c.runtime();
        let pid = oci::exec(&rt, &paths.runtime_root, &c.row.id, spec, stdio).map_err(|e| {
            let message = match e {
                oci::RuntimeError::NotFound(_) | oci::RuntimeError::NotExecutable(_) => format!(
                    "OCI runtime exec failed: exec failed: unable to start container process: {e}: unknown"
                ),
                _ => e.to_string(),
            };
            EngineError::StartFailed {
                code: e.exit_code(),
                message,
            }
        })?;
        Ok((pid, exec_id))
    }

    /// Records the end of an exec process (`exec_die`, with its exit code).
    pub fn exec_finished(&mut self, name_or_id: &str, exec_id: &str, code: i32) {
        if let Ok(c) = self.container(name_or_id) {
            let attrs = [
                ("execID", exec_id.to_string()),
                ("exitCode", code.to_string()),
            ];
            self.emit_container(&c, "exec_die", &attrs);
        }
    }
}

/// A fresh exec id (64 hex, as Docker's).
fn exec_id() -> String {
    use rand::Rng;
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}
