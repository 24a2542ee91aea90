//! Process identity and waiting: a pid is only trusted together with its start time and the
//! boot id, so a reused pid or a reboot never makes a dead container look alive.

use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

/// This boot's id (`/proc/sys/kernel/random/boot_id`).
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// Start time of `pid` in clock ticks after boot (`/proc/PID/stat` field 22); `None` when
/// the process does not exist (or is a zombie already reaped).
pub fn start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // rest starts at field 3 (state); field 22 is index 19. A zombie has ended.
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether `pid` is the same live process that started at `start` in boot `boot`.
pub fn alive(pid: i32, start: u64, boot: &str, this_boot: &str) -> bool {
    pid > 0 && boot == this_boot && start_time(pid) == Some(start)
}

/// A handle on a live process that stays valid if the pid is reused.
pub fn pidfd(pid: i32, start: u64) -> Option<OwnedFd> {
    let p = rustix::process::Pid::from_raw(pid)?;
    let fd = rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()?;
    // Checked after opening: the fd now pins this exact process.
    (start_time(pid) == Some(start)).then_some(fd)
}

/// Waits until the process behind `fd` ends, at most `timeout`; returns whether it ended.
pub fn wait_fd(fd: &OwnedFd, timeout: Option<Duration>) -> bool {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = match deadline {
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    return false;
                }
                Some(d - now)
            }
            None => None,
        };
        let ts = left.map(|d| rustix::fs::Timespec {
            tv_sec: d.as_secs() as i64,
            tv_nsec: d.subsec_nanos() as i64,
        });
        let mut fds = [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
        match rustix::event::poll(&mut fds, ts.as_ref()) {
            Ok(n) if n > 0 => return true,
            Ok(_) => return false,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
    }
}

/// Sends `sig` to the process behind `fd`.
pub fn signal_fd(fd: &OwnedFd, sig: i32) -> std::io::Result<()> {
    let s = rustix::process::Signal::from_named_raw(sig)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "bad signal"))?;
    rustix::process::pidfd_send_signal(fd, s).map_err(Into::into)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_identified() {
        let me = std::process::id() as i32;
        let st = start_time(me).unwrap();
        let b = boot_id();
        assert!(alive(me, st, &b, &b));
        assert!(!alive(me, st + 1, &b, &b));
        assert!(!alive(me, st, "other-boot", &b));
        assert!(pidfd(me, st).is_some());
        assert!(start_time(0).is_none());
    }
}
