//! The one crate of berth allowed `unsafe`: raw process primitives behind safe functions.
//! Every `unsafe` block carries a `// SAFETY:` comment stating the invariant it relies on.

use std::io;

/// Which side of a [`fork_single_threaded`] the caller is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forked {
    /// In the parent; the child's pid.
    Parent(i32),
    /// In the child.
    Child,
}

/// Forks the calling process.
///
/// Only sound in a process that has a single thread (the monitor, before it starts any);
/// this is checked through `/proc/self/task` and the call fails with `EINVAL` otherwise, so
/// a child can never inherit a lock held by a thread that no longer exists.
pub fn fork_single_threaded() -> io::Result<Forked> {
    let threads = std::fs::read_dir("/proc/self/task")?.count();
    if threads != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("fork refused: the process has {threads} threads"),
        ));
    }
    // SAFETY: the process has exactly one thread (checked just above, and no code of berth
    // starts a thread concurrently with this call since only this thread runs), so the
    // child's copy of every lock and allocator state is consistent.
    match unsafe { nix::unistd::fork() }.map_err(io::Error::from)? {
        nix::unistd::ForkResult::Parent { child } => Ok(Forked::Parent(child.as_raw())),
        nix::unistd::ForkResult::Child => Ok(Forked::Child),
    }
}

/// Ends the calling process at once with `code`, without running destructors or atexit
/// handlers (for a forked child, whose copies of the parent's buffers must not be flushed).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` has no preconditions; it never returns.
    unsafe { nix::libc::_exit(code) }
}

/// Takes ownership of file descriptor `n`, inherited from the parent process at exec (the
/// monitor's sync pipe and attach socket). Returns `None` when `n` is not an open fd. The
/// fd is marked close-on-exec.
///
/// Call at most once per fd number, at process start, before anything else could own it.
pub fn take_inherited_fd(n: i32) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    if n < 3 {
        return None;
    }
    // Validity check without taking ownership.
    nix::fcntl::fcntl(n, nix::fcntl::FcntlArg::F_GETFD).ok()?;
    // SAFETY: `n` is open (checked above); it was inherited across exec, so no Rust object in
    // this process owns it yet, and the caller promises to take each number only once.
    let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(n) };
    let _ = rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::CLOEXEC);
    Some(fd)
}

/// Receives one file descriptor sent with `SCM_RIGHTS` on a unix socket (the console socket
/// protocol of OCI runtimes, which send the terminal's master this way).
pub fn recv_fd(sock: std::os::fd::BorrowedFd<'_>) -> io::Result<std::os::fd::OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut buf = [0u8; 4096];
    let mut iov = [io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(io::Error::from)?;
    let mut received: Option<std::os::fd::OwnedFd> = None;
    for c in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            for fd in fds {
                // SAFETY: the kernel just installed `fd` in this process for this message;
                // nothing else refers to it. Extra fds are wrapped and so closed on drop.
                let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
                if received.is_none() {
                    received = Some(owned);
                }
            }
        }
    }
    received
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no file descriptor received"))
}

/// Drops this process's resident copies of file-backed pages it never wrote (program text
/// and read-only data of the executable and its libraries) and asks the kernel to fault them
/// back one page at a time (`MADV_RANDOM`: no fault-around). A long-lived, mostly idle
/// process (the container monitor) calls it once its start-up is over, so its resident set
/// holds only the pages its steady state touches. Mappings with any anonymous page (a
/// copy-on-write copy, e.g. relocated read-only data) are left alone: dropping those would
/// lose the relocations. (Page-cache pages not yet written back count as dirty in smaps but
/// are still the file's content; they are dropped like clean ones.)
/// Returns the bytes dropped.
pub fn drop_clean_file_pages() -> usize {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return 0;
    };
    struct Map {
        start: usize,
        end: usize,
        file: bool,
        writable: bool,
        anon: u64,
    }
    let mut maps: Vec<Map> = Vec::new();
    for line in smaps.lines() {
        let mut it = line.split_whitespace();
        let first = it.next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) =
                (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                let perms = it.next().unwrap_or("");
                let inode = it.nth(2).unwrap_or("0");
                let path = it.next().unwrap_or("");
                maps.push(Map {
                    start,
                    end,
                    file: inode != "0" && path.starts_with('/'),
                    writable: perms.as_bytes().get(1) == Some(&b'w'),
                    anon: 0,
                });
                continue;
            }
        }
        let value = || {
            it.clone()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        if let Some(m) = maps.last_mut() {
            if first == "Anonymous:" {
                m.anon += value();
            }
        }
    }
    // Collect the ranges on the stack and free every allocation *before* dropping pages, so
    // the allocator's code and data are not faulted back in right after.
    let mut ranges = [(0usize, 0usize); 128];
    let mut n = 0;
    for m in maps.iter().filter(|m| m.file && !m.writable && m.anon == 0) {
        if n == ranges.len() {
            break;
        }
        ranges[n] = (m.start, m.end);
        n += 1;
    }
    drop(maps);
    drop(smaps);
    // Give free heap pages (start-up's, and the smaps text just freed) back to the kernel.
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim has no preconditions; it only releases free memory of the
    // allocator, which no live object uses.
    unsafe {
        nix::libc::malloc_trim(0);
    }
    let mut total = 0;
    for &(start, end) in &ranges[..n] {
        let addr = start as *mut std::ffi::c_void;
        let len = end - start;
        // SAFETY: [start, end) is a mapping of this process as the kernel listed it a moment
        // ago (nothing unmaps in this single-threaded caller meanwhile): mapped from a file,
        // not writable, and with no anonymous (copy-on-write) page, so its content is exactly
        // the file's page cache. MADV_RANDOM only changes read-ahead, and MADV_DONTNEED on
        // such a mapping only unmaps pages that the next access reads back unchanged.
        unsafe {
            let _ = rustix::mm::madvise(addr, len, rustix::mm::Advice::Random);
            if rustix::mm::madvise(addr, len, rustix::mm::Advice::LinuxDontNeed).is_ok() {
                total += len;
            }
        }
    }
    total
}

/// Restores the default disposition of `signal` (a shell starts background jobs with SIGINT
/// and SIGQUIT ignored, and an ignored signal never reaches a signalfd).
pub fn default_signal_disposition(signal: nix::sys::signal::Signal) -> io::Result<()> {
    // SAFETY: installing SIG_DFL runs no code of ours in signal context, so no async-signal
    // safety obligation arises.
    unsafe { nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl) }
        .map(|_| ())
        .map_err(io::Error::from)
}

/// Restores the default disposition of every catchable signal; SIGPIPE too when
/// `include_pipe` (Rust's runtime ignores it on purpose; a process about to start container
/// code must not pass that on).
pub fn default_signal_dispositions(include_pipe: bool) {
    use nix::sys::signal::Signal;
    for s in Signal::iterator() {
        if matches!(s, Signal::SIGKILL | Signal::SIGSTOP) || (s == Signal::SIGPIPE && !include_pipe)
        {
            continue;
        }
        let _ = default_signal_disposition(s);
    }
}
