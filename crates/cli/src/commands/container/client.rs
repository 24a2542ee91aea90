//! The client side of the attach protocol: the user's terminal or pipes on one end, a
//! container's monitor on the other.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use berth_engine::containers::attach::Frame;

/// How to attach.
#[derive(Debug, Clone)]
pub struct AttachOptions {
    /// Forward our stdin.
    pub stdin: bool,
    /// The container has a terminal: put ours in raw mode and forward its size.
    pub tty: bool,
    /// The detach sequence (default ctrl-p ctrl-q).
    pub detach_keys: Vec<u8>,
}

/// How an attach ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The container exited with this code.
    Exited(i32),
    /// The monitor went away without an exit code.
    Lost,
}

/// Parses Docker's `--detach-keys` (`ctrl-p,ctrl-q`, `ctrl-@`, single characters).
pub fn parse_detach_keys(s: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let s = s.unwrap_or("ctrl-p,ctrl-q");
    let mut out = Vec::new();
    for k in s.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let b = match c {
                "@" => 0,
                "[" => 27,
                "\\" => 28,
                "]" => 29,
                "^" => 30,
                "_" => 31,
                c if c.len() == 1 && c.as_bytes()[0].is_ascii_lowercase() => {
                    c.as_bytes()[0] - b'a' + 1
                }
                _ => anyhow::bail!("Unknown character: '{k}'"),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.push(k.as_bytes()[0]);
        } else {
            anyhow::bail!("Unknown character: '{k}'");
        }
    }
    Ok(out)
}

/// Puts the terminal in raw mode while alive.
pub struct RawGuard {
    _inner: RawMode,
}

impl RawGuard {
    /// Raw mode when `on` and stdin is a terminal.
    pub fn enter(on: bool) -> RawGuard {
        RawGuard {
            _inner: RawMode::enter(on),
        }
    }
}

struct RawMode {
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    fn enter(on: bool) -> RawMode {
        let stdin = rustix::stdio::stdin();
        if !on || !rustix::termios::isatty(stdin) {
            return RawMode { saved: None };
        }
        let Ok(t) = rustix::termios::tcgetattr(stdin) else {
            return RawMode { saved: None };
        };
        let mut raw = t.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(stdin, rustix::termios::OptionalActions::Now, &raw);
        RawMode { saved: Some(t) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(
                rustix::stdio::stdin(),
                rustix::termios::OptionalActions::Now,
                t,
            );
        }
    }
}

/// The terminal's size (rows, cols).
pub fn winsize() -> Option<(u16, u16)> {
    let ws = rustix::termios::tcgetwinsize(rustix::stdio::stdout()).ok()?;
    (ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
}

/// Runs the attach session until the container exits, the monitor goes away, or the user
/// types the detach sequence (which ends the process with status 0, as Docker does).
pub fn attach(sock: UnixStream, opts: &AttachOptions) -> anyhow::Result<Ended> {
    let raw = RawMode::enter(opts.tty && opts.stdin);
    if opts.tty {
        if let Some((r, c)) = winsize() {
            Frame::Resize(r, c).write_to(&mut &sock)?;
        }
        let w = sock.try_clone()?;
        std::thread::spawn(move || {
            let mut last = winsize();
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let now = winsize();
                if now != last {
                    if let Some((r, c)) = now {
                        if Frame::Resize(r, c).write_to(&mut &w).is_err() {
                            return;
                        }
                    }
                    last = now;
                }
            }
        });
    }
    if opts.stdin {
        let w = sock.try_clone()?;
        let keys = opts.detach_keys.clone();
        let tty = opts.tty;
        let restore = raw.saved.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            let mut matched = 0usize;
            let mut stdin = std::io::stdin().lock();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = Frame::StdinEof.write_to(&mut &w);
                        return;
                    }
                    Ok(n) => n,
                };
                let mut out = Vec::with_capacity(n);
                for &b in &buf[..n] {
                    if tty && !keys.is_empty() && b == keys[matched] {
                        matched += 1;
                        if matched == keys.len() {
                            if let Some(t) = &restore {
                                let _ = rustix::termios::tcsetattr(
                                    rustix::stdio::stdin(),
                                    rustix::termios::OptionalActions::Now,
                                    t,
                                );
                            }
                            let _ = Frame::Stdin(out).write_to(&mut &w);
                            eprint!("\r\nread escape sequence\r\n");
                            std::process::exit(0);
                        }
                        continue;
                    }
                    if matched > 0 {
                        out.extend_from_slice(&keys[..matched]);
                        matched = 0;
                    }
                    out.push(b);
                }
                if !out.is_empty() && Frame::Stdin(out).write_to(&mut &w).is_err() {
                    return;
                }
            }
        });
    }
    let mut r = std::io::BufReader::with_capacity(64 * 1024, &sock);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    loop {
        match Frame::read_from(&mut r) {
            Ok(Some(Frame::Stdout(d))) => {
                let mut o = stdout.lock();
                let _ = o.write_all(&d);
                let _ = o.flush();
            }
            Ok(Some(Frame::Stderr(d))) => {
                let mut e = stderr.lock();
                let _ = e.write_all(&d);
                let _ = e.flush();
            }
            Ok(Some(Frame::Exit(code))) => {
                drop(raw);
                return Ok(Ended::Exited(code));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                drop(raw);
                return Ok(Ended::Lost);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_like_docker() {
        assert_eq!(parse_detach_keys(None).unwrap(), vec![16, 17]);
        assert_eq!(parse_detach_keys(Some("ctrl-a,x")).unwrap(), vec![1, b'x']);
        assert!(parse_detach_keys(Some("ctrl-aa")).is_err());
        assert!(parse_detach_keys(Some("abc")).is_err());
    }
}
