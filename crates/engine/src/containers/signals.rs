//! `docker run --sig-proxy`: signals sent to the CLI go to the container's process.

/// Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 received by this process
/// to the process `pid` (the container's init). Call before any other thread starts: the
/// signals are blocked in every thread and read from a signalfd by a forwarding thread.
pub fn proxy_signals(pid: i32) {
    use nix::sys::signal::{SigSet, Signal};
    let signals = [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
    ];
    let mut set = SigSet::empty();
    for s in signals {
        set.add(s);
        let _ = berth_sys::default_signal_disposition(s);
    }
    if set.thread_block().is_err() {
        return;
    }
    let Ok(sfd) = nix::sys::signalfd::SignalFd::new(&set) else {
        return;
    };
    let Some(target) = rustix::process::Pid::from_raw(pid) else {
        return;
    };
    let Ok(pidfd) = rustix::process::pidfd_open(target, rustix::process::PidfdFlags::empty())
    else {
        return;
    };
    std::thread::spawn(move || {
        while let Ok(Some(info)) = sfd.read_signal() {
            if let Some(sig) = rustix::process::Signal::from_named_raw(info.ssi_signo as i32) {
                let _ = rustix::process::pidfd_send_signal(&pidfd, sig);
            }
        }
    });
}
