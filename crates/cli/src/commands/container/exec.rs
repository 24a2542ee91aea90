//! `exec`.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixListener;

use berth_engine::containers::exec::ExecRequest;
use berth_engine::containers::exec::{recv_fd, Stdio};
use berth_engine::EngineError;

use crate::args::ExecArgs;
use crate::exit::StatusError;
use crate::output::engine;

fn dup_std(fd: impl std::os::fd::AsFd) -> anyhow::Result<OwnedFd> {
    Ok(rustix::io::fcntl_dupfd_cloexec(fd, 3)?)
}

fn env_list(a: &ExecArgs) -> anyhow::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut add = |e: &str| {
        if e.contains('=') {
            out.push(e.to_string());
        } else if let Ok(v) = std::env::var(e) {
            out.push(format!("{e}={v}"));
        }
    };
    for f in &a.env_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| StatusError::error(125, format!("open {f}: {e}")))?;
        for l in text.lines() {
            let l = l.trim_start();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            add(l);
        }
    }
    for e in &a.env {
        add(e);
    }
    Ok(out)
}

/// `exec`.
pub fn run(a: ExecArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let env = env_list(&a)?;
    let name = a.container().to_string();
    let tty = a.tty && !a.detach;
    let mut console: Option<(UnixListener, std::path::PathBuf)> = None;
    let stdio = if tty {
        let dir = engine.config().run.join("exec");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{}-{}.sock", std::process::id(), rand_suffix()));
        let l = berth_engine::containers::paths::bind_unix(&path)?;
        console = Some((l, path));
        Stdio::default()
    } else if a.detach {
        let null = || -> anyhow::Result<OwnedFd> { Ok(std::fs::File::open("/dev/null")?.into()) };
        Stdio {
            stdin: Some(null()?),
            stdout: Some(null()?),
            stderr: Some(null()?),
        }
    } else {
        let stdin = if a.interactive {
            dup_std(rustix::stdio::stdin())?
        } else {
            std::fs::File::open("/dev/null")?.into()
        };
        Stdio {
            stdin: Some(stdin),
            stdout: Some(dup_std(rustix::stdio::stdout())?),
            stderr: Some(dup_std(rustix::stdio::stderr())?),
        }
    };
    let req = ExecRequest {
        cmd: a.command().to_vec(),
        env,
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        tty,
        privileged: a.privileged,
        console_socket: console.as_ref().map(|(_, p)| p.clone()),
    };
    let (pid, exec_id) = match engine.exec_container(&name, req, stdio) {
        Ok(started) => started,
        Err(EngineError::StartFailed { code, message }) => {
            if let Some((_, p)) = &console {
                let _ = std::fs::remove_file(p);
            }
            return Err(StatusError::error(code, message.clone()));
        }
        Err(e) => {
            if let Some((_, p)) = &console {
                let _ = std::fs::remove_file(p);
            }
            return Err(e.into());
        }
    };
    if a.detach {
        return Ok(0);
    }
    let mut raw_guard = None;
    if let Some((l, p)) = console {
        let (s, _) = l.accept()?;
        let _ = std::fs::remove_file(&p);
        let master = recv_fd(std::os::fd::AsFd::as_fd(&s))?;
        raw_guard = Some(super::client::RawGuard::enter(a.interactive));
        pump_tty(master, a.interactive);
    }
    let code = wait_pid(pid);
    drop(raw_guard);
    engine.exec_finished(&name, &exec_id, code);
    Ok(code)
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

fn pump_tty(master: OwnedFd, interactive: bool) {
    if let Some((r, c)) = super::client::winsize() {
        let ws = rustix::termios::Winsize {
            ws_row: r,
            ws_col: c,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let _ = rustix::termios::tcsetwinsize(&master, ws);
    }
    let mut reader = std::fs::File::from(master);
    if interactive {
        if let Ok(mut w) = reader.try_clone() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut stdin = std::io::stdin().lock();
                while let Ok(n) = stdin.read(&mut buf) {
                    if n == 0 || w.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    }
    let mut buf = [0u8; 32 * 1024];
    let mut out = std::io::stdout();
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 || out.write_all(&buf[..n]).and_then(|_| out.flush()).is_err() {
            break;
        }
    }
}

fn wait_pid(pid: i32) -> i32 {
    let Some(p) = rustix::process::Pid::from_raw(pid) else {
        return 126;
    };
    loop {
        match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => {
                return st
                    .exit_status()
                    .or_else(|| st.terminating_signal().map(|s| 128 + s))
                    .unwrap_or(255)
            }
            Err(rustix::io::Errno::INTR) => continue,
            _ => return 126,
        }
    }
}
