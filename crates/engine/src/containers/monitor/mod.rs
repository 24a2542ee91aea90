//! The per-container monitor: the `berth` binary re-executed as `berth __monitor ID`,
//! detached with `setsid`, the container's parent (a child subreaper) for its whole life.
//!
//! # Design
//! The monitor's own address space stays small: everything heavy (libcontainer, SQLite,
//! unmounting, `--rm` clean-up) runs in short-lived forked children — the *creator*, which
//! creates and starts the container and records it as running, and the *finisher*, which
//! records the exit and decides on a restart. The long-lived parent only moves bytes: the
//! container's pipes or terminal to the json-file log and to attached clients, clients'
//! input to the container's stdin, and reaps children. It never starts a thread, so forking
//! is sound. For a container on a user-defined network it also serves the embedded DNS
//! ([`dns`]): one UDP socket bound inside the container's network namespace, polled with
//! the rest.

mod dns;
mod logfile;

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_sys::Forked;
use rustix::event::{PollFd, PollFlags};
use serde::{Deserialize, Serialize};

use super::attach::{Decoder, Frame, Want};
use super::config::RestartPolicy;
use super::paths::Paths;
use logfile::LogFile;

/// What the monitor needs to know, written by `start` to the run dir.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Container id.
    pub id: String,
    /// `BERTH_ROOT`.
    pub root: PathBuf,
    /// `BERTH_RUN`.
    pub run: PathBuf,
    /// Allocate a terminal.
    pub tty: bool,
    /// Keep stdin open (`-i`).
    pub open_stdin: bool,
    /// Close stdin when the first attached client's input ends.
    pub stdin_once: bool,
    /// The restart policy.
    pub restart: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// The health check, when the container has one (not `NONE`).
    #[serde(default)]
    pub health: Option<berth_image::spec::HealthConfig>,
    /// `HostConfig.Runtime` (`berth` for the embedded runtime).
    #[serde(default)]
    pub runtime: String,
}

/// Entry point of `berth __monitor ID`: returns the process exit code.
pub fn main(args: &[String]) -> i32 {
    let Some(id) = args.first() else {
        return 2;
    };
    // `__monitor ID SYNC_FD [ATTACH_FD]`: fds inherited from `start`.
    let fd_arg = |i: usize| args.get(i).and_then(|a| a.parse::<i32>().ok());
    let sync = fd_arg(1).and_then(berth_sys::take_inherited_fd);
    let first_client = fd_arg(2)
        .and_then(berth_sys::take_inherited_fd)
        .map(UnixStream::from);
    let root = std::env::var_os("BERTH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/var/lib/berth".into());
    let run = std::env::var_os("BERTH_RUN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/run/berth".into());
    let paths = Paths::new(&root, &run, id);
    let settings: Settings = match std::fs::read(&paths.monitor_json)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(s) => s,
        None => {
            report(
                sync,
                &format!(
                    "err 125\tmonitor: cannot read {}",
                    paths.monitor_json.display()
                ),
            );
            return 1;
        }
    };
    // Containers start with every signal at its default disposition, whatever the shell that
    // started berth ignored (a background job ignores SIGINT and SIGQUIT).
    berth_sys::default_signal_dispositions(false);
    let _ = rustix::process::setsid();
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    let mut m = Monitor {
        settings,
        paths,
        clients: Vec::new(),
        log: None,
        dns: None,
    };
    if let Some(c) = first_client {
        m.add_client(c);
    }
    m.run(sync)
}

fn report(sync: Option<OwnedFd>, line: &str) {
    if let Some(fd) = sync {
        let mut f = std::fs::File::from(fd);
        let _ = f.write_all(line.as_bytes());
        let _ = f.write_all(b"\n");
    }
}

struct Client {
    sock: UnixStream,
    want: Option<Want>,
    dec: Decoder,
}

struct Monitor {
    settings: Settings,
    paths: Paths,
    clients: Vec<Client>,
    log: Option<LogFile>,
    dns: Option<dns::DnsServer>,
}

/// The container side of one run: what the creator child gets.
pub(crate) struct ChildIo {
    pub(crate) stdin: Option<OwnedFd>,
    pub(crate) stdout: Option<OwnedFd>,
    pub(crate) stderr: Option<OwnedFd>,
}

/// The monitor side of one run.
struct ParentIo {
    stdin: Option<OwnedFd>,
    outputs: Vec<(usize, OwnedFd)>,
}

enum Outcome {
    Started(i32),
    Failed(i32, String),
}

impl Monitor {
    /// Takes a client once its opening `Hello` arrived (at most a second's wait), so that it
    /// gets every byte of output from then on.
    fn add_client(&mut self, mut sock: UnixStream) {
        let _ = sock.set_nonblocking(false);
        let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
        let want = match Frame::read_from(&mut sock) {
            Ok(Some(Frame::Hello(w))) => w,
            _ => return,
        };
        let _ = sock.set_read_timeout(None);
        let _ = sock.set_nonblocking(true);
        self.clients.push(Client {
            sock,
            want: Some(want),
            dec: Decoder::default(),
        });
    }

    fn run(&mut self, sync: Option<OwnedFd>) -> i32 {
        let listener = match super::paths::bind_unix(&self.paths.attach_sock) {
            Ok(l) => l,
            Err(e) => {
                report(
                    sync,
                    &format!(
                        "err 125\tmonitor: bind {}: {e}",
                        self.paths.attach_sock.display()
                    ),
                );
                return 1;
            }
        };
        let _ = listener.set_nonblocking(true);
        self.log = Some(LogFile::open(&self.paths.log));
        // The namespace is set up by `start` before the monitor runs and kept across restarts.
        self.dns = dns::DnsServer::open(&self.settings.run, &self.paths.run_dir, &self.settings.id);
        let mut sync = sync;
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = Instant::now();
            let (pio, outcome) = self.start_once();
            let pid = match outcome {
                Outcome::Started(pid) => {
                    report(sync.take(), &format!("ok {pid}"));
                    pid
                }
                Outcome::Failed(code, msg) => {
                    // Record (and with --rm remove) first: `run` returns when told.
                    self.finish_failed(code, &msg);
                    report(sync.take(), &format!("err {code}\t{msg}"));
                    self.send_exit(code);
                    let _ = std::fs::remove_file(&self.paths.attach_sock);
                    return 0;
                }
            };
            // Start-up is over: keep resident only what the steady state touches.
            berth_sys::drop_clean_file_pages();
            let code = self.pump(&listener, pio, pid);
            if let Some(l) = &mut self.log {
                l.flush();
            }
            let restart = self.finish(code);
            self.send_exit(code);
            if !restart {
                break;
            }
            if started.elapsed() >= Duration::from_secs(10) {
                backoff = Duration::from_millis(100);
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
        let _ = std::fs::remove_file(&self.paths.attach_sock);
        0
    }

    fn make_io(&self) -> std::io::Result<(ChildIo, ParentIo, Option<UnixListener>)> {
        if self.settings.tty {
            let l = super::paths::bind_unix(&self.paths.console_sock)?;
            return Ok((
                ChildIo {
                    stdin: None,
                    stdout: None,
                    stderr: None,
                },
                ParentIo {
                    stdin: None,
                    outputs: Vec::new(),
                },
                Some(l),
            ));
        }
        let pipe = || rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC);
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let (cin, pin) = if self.settings.open_stdin {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        } else {
            (Some(OwnedFd::from(std::fs::File::open("/dev/null")?)), None)
        };
        Ok((
            ChildIo {
                stdin: cin,
                stdout: Some(out_w),
                stderr: Some(err_w),
            },
            ParentIo {
                stdin: pin,
                outputs: vec![(0, out_r), (1, err_r)],
            },
            None,
        ))
    }

    /// Creates and starts the container in a forked child.
    fn start_once(&mut self) -> (ParentIo, Outcome) {
        let (cio, mut pio, console) = match self.make_io() {
            Ok(x) => x,
            Err(e) => {
                return (
                    ParentIo {
                        stdin: None,
                        outputs: Vec::new(),
                    },
                    Outcome::Failed(125, format!("monitor: stdio: {e}")),
                )
            }
        };
        let (res_r, res_w) = match rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC) {
            Ok(p) => p,
            Err(e) => return (pio, Outcome::Failed(125, format!("monitor: pipe: {e}"))),
        };
        let console_path = console.as_ref().map(|_| self.paths.console_sock.clone());
        match berth_sys::fork_single_threaded() {
            Ok(Forked::Child) => {
                drop(res_r);
                let line = super::lifecycle::creator_child(
                    &self.settings,
                    &self.paths,
                    cio,
                    console_path.as_deref(),
                );
                let mut f = std::fs::File::from(res_w);
                let _ = f.write_all(line.as_bytes());
                drop(f);
                berth_sys::exit_now(if line.starts_with("ok") { 0 } else { 1 });
            }
            Ok(Forked::Parent(child)) => {
                drop(res_w);
                drop(cio);
                let mut line = String::new();
                let _ = std::fs::File::from(res_r).read_to_string(&mut line);
                reap(child);
                let outcome = parse_outcome(&line);
                if let (Outcome::Started(_), Some(l)) = (&outcome, console) {
                    match accept_master(&l) {
                        Ok(master) => {
                            pio.stdin = rustix::io::dup(&master).ok();
                            pio.outputs.push((0, master));
                        }
                        Err(e) => tracing::warn!(error = %e, "no terminal received"),
                    }
                    let _ = std::fs::remove_file(&self.paths.console_sock);
                }
                (pio, outcome)
            }
            Err(e) => (pio, Outcome::Failed(125, format!("monitor: fork: {e}"))),
        }
    }

    /// Moves bytes until the container's init exits; returns its exit code.
    fn pump(&mut self, listener: &UnixListener, mut pio: ParentIo, pid: i32) -> i32 {
        let mut buf = vec![0u8; 32 * 1024];
        let mut exit: Option<i32> = None;
        let mut exit_seen_at: Option<Instant> = None;
        for (_, fd) in &pio.outputs {
            let _ = rustix::io::ioctl_fionbio(fd, true);
        }
        // Readable when the init exits (it is our child, so at worst a zombie: the pid
        // cannot be reused before we reap it).
        let init_fd = rustix::process::Pid::from_raw(pid).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        let mut health = self
            .settings
            .health
            .clone()
            .map(super::health::Schedule::new);
        let mut checker: Option<i32> = None;
        let mut next_trim = Instant::now() + Duration::from_millis(500);
        let mut trimmed = false;
        let mut last_events = 1;
        loop {
            if exit.is_none() {
                if let Some(h) = &mut health {
                    if checker.is_none() && h.due() {
                        checker = self.spawn_health_check(h.attempt_timeout());
                        h.ran();
                    }
                }
            }
            if let Some(code) = exit {
                // Drain what is left, then stop (other holders of the pipes die with the
                // container's PID namespace; a short grace covers slow ones).
                if pio.outputs.is_empty()
                    || exit_seen_at.is_some_and(|t| t.elapsed() > Duration::from_millis(200))
                {
                    return code;
                }
            }
            // Sleep until something happens: no periodic wake-up for an idle container, so
            // its monitor touches no memory. Timers: the drain after exit, the next health
            // check, the next trim of resident pages after activity.
            let now = Instant::now();
            let wait = if exit.is_some() {
                Some(Duration::from_millis(20))
            } else {
                let health_wait = health.as_ref().map(|h| h.until_due());
                let trim_wait = (!trimmed).then(|| next_trim.saturating_duration_since(now));
                match (health_wait, trim_wait) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
                .map(|d| d.max(Duration::from_millis(5)))
            };
            let timeout = wait.map(|d| rustix::fs::Timespec {
                tv_sec: d.as_secs() as i64,
                tv_nsec: d.subsec_nanos() as i64,
            });
            let mut fds: Vec<PollFd<'_>> =
                Vec::with_capacity(3 + pio.outputs.len() + self.clients.len());
            fds.push(PollFd::new(listener, PollFlags::IN));
            for (_, fd) in &pio.outputs {
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            for c in &self.clients {
                fds.push(PollFd::new(&c.sock, PollFlags::IN));
            }
            if exit.is_none() {
                if let Some(fd) = &init_fd {
                    fds.push(PollFd::new(fd, PollFlags::IN));
                }
            }
            let dns_at = fds.len();
            if let Some(d) = &self.dns {
                fds.push(PollFd::new(&d.sock, PollFlags::IN));
                if let Some(u) = &d.upstream {
                    fds.push(PollFd::new(u, PollFlags::IN));
                }
            }
            if last_events == 0 && !trimmed && exit.is_none() && Instant::now() >= next_trim {
                // Idle, about to sleep: give back the code pages start-up, a burst of output
                // or a client touched (right before sleeping, so that little is touched again).
                berth_sys::drop_clean_file_pages();
                trimmed = true;
            }
            // Without a pidfd (kernels before 5.3) the exit is only seen by polling waitpid.
            let timeout = if init_fd.is_none() && exit.is_none() {
                let second = rustix::fs::Timespec {
                    tv_sec: 1,
                    tv_nsec: 0,
                };
                Some(timeout.map_or(second, |t| if t.tv_sec >= 1 { second } else { t }))
            } else if trimmed && health.is_none() && exit.is_none() {
                None
            } else {
                timeout
            };
            let events = rustix::event::poll(&mut fds, timeout.as_ref()).unwrap_or(1);
            last_events = events;
            if events > 0 && trimmed {
                // Activity: trim again once things are quiet for a while.
                trimmed = false;
                next_trim = Instant::now() + Duration::from_secs(5);
            }
            let ready: Vec<bool> = fds.iter().map(|f| !f.revents().is_empty()).collect();
            drop(fds);
            // Reap: the init, and any orphan that was re-parented to us.
            while let Ok(Some((p, status))) =
                rustix::process::wait(rustix::process::WaitOptions::NOHANG)
            {
                if checker == Some(p.as_raw_nonzero().get()) {
                    checker = None;
                }
                if p.as_raw_nonzero().get() == pid {
                    let code = status
                        .exit_status()
                        .or_else(|| status.terminating_signal().map(|s| 128 + s))
                        .unwrap_or(255);
                    exit = Some(code);
                    exit_seen_at = Some(Instant::now());
                }
            }
            if let Some(d) = &mut self.dns {
                if ready.get(dns_at).copied().unwrap_or(false) {
                    d.on_query(&mut buf);
                }
                if ready.get(dns_at + 1).copied().unwrap_or(false) {
                    d.on_upstream(&mut buf);
                }
            }
            if ready[0] {
                while let Ok((s, _)) = listener.accept() {
                    self.add_client(s);
                }
            }
            let nout = pio.outputs.len();
            let mut closed = Vec::new();
            for i in 0..nout {
                if !ready[1 + i] {
                    continue;
                }
                let (stream, ref fd) = pio.outputs[i];
                match rustix::io::read(fd, &mut buf) {
                    Ok(0) => closed.push(i),
                    Ok(n) => self.output(stream, &buf[..n]),
                    Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => {}
                    Err(_) => closed.push(i),
                }
            }
            for i in closed.into_iter().rev() {
                pio.outputs.remove(i);
            }
            let nclients = self.clients.len();
            let mut gone = Vec::new();
            for i in 0..nclients {
                if !ready.get(1 + nout + i).copied().unwrap_or(false) {
                    continue;
                }
                if !self.client_input(i, &mut pio, &mut buf) {
                    gone.push(i);
                }
            }
            for i in gone.into_iter().rev() {
                self.clients.remove(i);
            }
        }
    }

    /// Handles input from client `i`; returns false when it is gone.
    fn client_input(&mut self, i: usize, pio: &mut ParentIo, buf: &mut [u8]) -> bool {
        let c = &mut self.clients[i];
        match c.sock.read(buf) {
            Ok(0) => return false,
            Ok(n) => c.dec.push(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
        loop {
            let f = match self.clients[i].dec.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return true,
                Err(_) => return false,
            };
            match f {
                Frame::Hello(w) => self.clients[i].want = Some(w),
                Frame::Stdin(d) => {
                    if let Some(fd) = &pio.stdin {
                        let _ = write_all_fd(fd, &d);
                    }
                }
                Frame::StdinEof if !self.settings.tty && self.settings.stdin_once => {
                    pio.stdin = None;
                }
                Frame::Resize(rows, cols) if self.settings.tty => {
                    if let Some((_, fd)) = pio.outputs.first() {
                        let ws = rustix::termios::Winsize {
                            ws_row: rows,
                            ws_col: cols,
                            ws_xpixel: 0,
                            ws_ypixel: 0,
                        };
                        let _ = rustix::termios::tcsetwinsize(fd, ws);
                    }
                }
                _ => {}
            }
        }
    }

    fn output(&mut self, stream: usize, data: &[u8]) {
        if let Some(l) = &mut self.log {
            l.write(stream, data);
        }
        let frame = if stream == 0 {
            Frame::Stdout(data.to_vec())
        } else {
            Frame::Stderr(data.to_vec())
        }
        .encode();
        self.clients.retain_mut(|c| {
            let Some(w) = c.want else { return true };
            if (stream == 0 && !w.stdout) || (stream == 1 && !w.stderr) {
                return true;
            }
            let _ = c.sock.set_nonblocking(false);
            let ok = c.sock.write_all(&frame).is_ok();
            let _ = c.sock.set_nonblocking(true);
            ok
        });
    }

    /// Runs one health check in a forked child (which records the result); returns its pid.
    fn spawn_health_check(&mut self, timeout: Duration) -> Option<i32> {
        match berth_sys::fork_single_threaded() {
            Ok(Forked::Child) => {
                super::health::check_child(&self.settings, &self.paths, timeout);
                berth_sys::exit_now(0);
            }
            Ok(Forked::Parent(child)) => Some(child),
            Err(_) => None,
        }
    }

    fn send_exit(&mut self, code: i32) {
        let frame = Frame::Exit(code).encode();
        for mut c in self.clients.drain(..) {
            let _ = c.sock.set_nonblocking(false);
            let _ = c.sock.write_all(&frame);
        }
    }

    /// Records the exit in a forked child; returns whether to restart.
    fn finish(&mut self, code: i32) -> bool {
        match berth_sys::fork_single_threaded() {
            Ok(Forked::Child) => {
                let restart = super::lifecycle::finisher_child(&self.settings, &self.paths, code);
                berth_sys::exit_now(if restart { 10 } else { 0 });
            }
            Ok(Forked::Parent(child)) => reap(child) == Some(10),
            Err(e) => {
                tracing::error!(error = %e, "cannot record the container's exit");
                false
            }
        }
    }

    fn finish_failed(&mut self, code: i32, msg: &str) {
        match berth_sys::fork_single_threaded() {
            Ok(Forked::Child) => {
                super::lifecycle::failed_child(&self.settings, &self.paths, code, msg);
                berth_sys::exit_now(0);
            }
            Ok(Forked::Parent(child)) => {
                reap(child);
            }
            Err(_) => {}
        }
    }
}

fn write_all_fd(fd: &OwnedFd, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        match rustix::io::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(rustix::io::Errno::AGAIN) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn accept_master(l: &UnixListener) -> std::io::Result<OwnedFd> {
    let (s, _) = l.accept()?;
    berth_sys::recv_fd(s.as_fd())
}

/// Waits for one specific child; returns its exit code.
fn reap(child: i32) -> Option<i32> {
    let pid = rustix::process::Pid::from_raw(child)?;
    loop {
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()) {
            Ok(Some((_, st))) => return st.exit_status(),
            Ok(None) => return None,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
        }
    }
}

fn parse_outcome(line: &str) -> Outcome {
    let line = line.trim_end();
    if let Some(pid) = line.strip_prefix("ok ") {
        if let Ok(p) = pid.parse() {
            return Outcome::Started(p);
        }
    }
    if let Some(rest) = line.strip_prefix("err ") {
        let (code, msg) = rest.split_once('\t').unwrap_or(("125", rest));
        return Outcome::Failed(code.parse().unwrap_or(125), msg.to_string());
    }
    Outcome::Failed(125, "monitor: the container could not be created".into())
}
