//! Container networking for berth: Linux bridges and veth pairs, IPv4 address management,
//! nftables NAT and port publishing, network namespaces, and the wire format of the embedded
//! DNS server.
//!
//! # Design
//! berth has no daemon, so nothing here keeps state in memory: every function takes what it
//! needs (names, subnets, addresses) and the engine keeps the truth in its database. Names
//! are derived from ids (`br-<id12>` bridges, `vb<hash>` host-side veths, `$BERTH_RUN/netns/<id>`
//! namespaces), so teardown needs nothing but the ids.
//!
//! * Links and addresses are configured with iproute2 in batch mode (`ip -batch -`): one
//!   process per side (host, container namespace) per container start, which costs about
//!   as much as a netlink library's setup while staying easy to audit (`ip monitor` shows the
//!   same commands). Commands for the container's side run from a thread that entered the
//!   namespace ([`netns::run_in`]), since `ip -n` only takes names under `/run/netns`.
//! * Firewall rules live in berth's own table, `table inet berth` ([`nft`]), fed to
//!   `nft -f -` as text in one transaction. Per-network rules sit in per-network chains
//!   reached through verdict maps, and published ports are elements of DNAT maps, so adding or
//!   removing a container or a network never needs rule handles.
//! * [`dns`] parses and answers queries; the socket lives in the container's monitor.

#![forbid(unsafe_code)]

pub mod dns;
pub mod ipam;
pub mod link;
pub mod netns;
pub mod nft;

use berth_types::{Classify, ErrorKind};

/// A networking failure.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A command (`ip`, `nft`) failed.
    #[error("{program} failed: {message}")]
    Command {
        /// The program run.
        program: &'static str,
        /// Its error output (first lines).
        message: String,
    },
    /// A command could not be run at all.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A namespace operation on a path failed.
    #[error("network namespace {path}: {source}")]
    Netns {
        /// The namespace file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Bad address input (Docker's wording).
    #[error("{0}")]
    Invalid(String),
}

impl Classify for NetError {
    fn kind(&self) -> ErrorKind {
        match self {
            NetError::Invalid(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Internal,
        }
    }
}

/// Set by the test harness to the host's network namespace (its `/proc/self/ns/net` link,
/// `net:[4026531833]`): berth then refuses to change links, sysctls or firewall rules in
/// that namespace, so a test that forgot its own namespace fails instead of touching the
/// host's network.
pub const FORBID_HOST_ENV: &str = "BERTH_FORBID_HOST_NETWORK";

/// Fails when this thread is in the namespace [`FORBID_HOST_ENV`] names (or cannot tell).
pub fn guard_host_namespace() -> Result<(), NetError> {
    let Some(forbidden) = std::env::var_os(FORBID_HOST_ENV) else {
        return Ok(());
    };
    match std::fs::read_link("/proc/thread-self/ns/net") {
        Ok(ours) if ours.as_os_str() != forbidden => Ok(()),
        _ => Err(NetError::Invalid(format!(
            "refusing to configure networking in the host's network namespace ({FORBID_HOST_ENV} is set)"
        ))),
    }
}

/// A command started by [`start_with_input`], to wait for later.
#[derive(Debug)]
pub struct Pending {
    program: &'static str,
    child: std::process::Child,
}

impl Pending {
    /// Waits for the command; fails with its stderr when it exits non-zero.
    pub fn wait(self) -> Result<(), NetError> {
        let program = self.program;
        let out = self
            .child
            .wait_with_output()
            .map_err(|source| NetError::Spawn { program, source })?;
        finish(program, out)
    }
}

/// Starts `program args…` with `input` on stdin.
pub(crate) fn start_with_input(
    program: &'static str,
    args: &[&str],
    input: &str,
) -> Result<Pending, NetError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    tracing::debug!(program, ?args, input, "running");
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| NetError::Spawn { program, source })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    Ok(Pending { program, child })
}

/// Runs `program args…` with `input` on stdin; fails with its stderr when it exits non-zero.
pub(crate) fn run_with_input(
    program: &'static str,
    args: &[&str],
    input: &str,
) -> Result<(), NetError> {
    start_with_input(program, args, input)?.wait()
}

fn finish(program: &'static str, out: std::process::Output) -> Result<(), NetError> {
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr);
    let msg: Vec<&str> = msg
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    Err(NetError::Command {
        program,
        message: msg.join("; "),
    })
}
