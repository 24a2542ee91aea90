//! The embedded DNS server of a container on a user-defined network: a UDP socket on
//! 127.0.0.11:53 inside the container's network namespace (bound by entering the namespace
//! for the duration of `bind`, which is sound because the monitor has one thread), answering
//! from the records files named in the container's `dns.conf` and forwarding other names to
//! the upstream servers from the monitor's own (the host's) namespace. No threads, no
//! allocation beyond one datagram buffer and a small table of forwarded queries.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_net::dns;

/// Forwarded queries remembered at most.
const PENDING: usize = 64;

pub(super) struct DnsServer {
    pub(super) sock: UdpSocket,
    pub(super) upstream: Option<UdpSocket>,
    conf: PathBuf,
    run: PathBuf,
    pending: Vec<(u16, u16, SocketAddr, Instant)>,
    next_id: u16,
}

impl DnsServer {
    /// Opens the server when the container has a `dns.conf`.
    pub(super) fn open(run: &Path, run_dir: &Path, id: &str) -> Option<DnsServer> {
        let conf = run_dir.join("dns.conf");
        if !conf.exists() {
            return None;
        }
        let ns = crate::networks::netns_path(run, id);
        let sock = berth_net::netns::with_process_in(&ns, || {
            UdpSocket::bind((Ipv4Addr::new(127, 0, 0, 11), 53))
        })
        .ok()?
        .ok()?;
        let _ = sock.set_nonblocking(true);
        let upstream = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok();
        if let Some(u) = &upstream {
            let _ = u.set_nonblocking(true);
        }
        Some(DnsServer {
            sock,
            upstream,
            conf,
            run: run.to_path_buf(),
            pending: Vec::new(),
            next_id: 1,
        })
    }

    /// Answers (or forwards) one query waiting on the socket.
    pub(super) fn on_query(&mut self, buf: &mut [u8]) {
        let Ok((n, from)) = self.sock.recv_from(buf) else {
            return;
        };
        let Some(q) = dns::parse_query(&buf[..n]) else {
            return;
        };
        let conf = std::fs::read_to_string(&self.conf).unwrap_or_default();
        let mut ips = Vec::new();
        let mut known = false;
        for line in conf.lines() {
            if let Some(net) = line.strip_prefix("network ") {
                let recs =
                    std::fs::read_to_string(crate::networks::records_path(&self.run, net.trim()))
                        .unwrap_or_default();
                let before = ips.len();
                dns::lookup(&recs, &q.name, &mut ips);
                known |= ips.len() > before;
            }
        }
        if known {
            let ips = if q.qtype == dns::TYPE_A {
                &ips[..]
            } else {
                &[]
            };
            let _ = self.sock.send_to(&dns::answer(&buf[..n], &q, ips, 0), from);
            return;
        }
        // Not a container: forward to the first upstream server.
        let upstream = conf
            .lines()
            .filter_map(|l| l.strip_prefix("upstream "))
            .find_map(|a| a.trim().parse::<Ipv4Addr>().ok());
        let sent = match (&self.upstream, upstream) {
            (Some(u), Some(addr)) => {
                let id = self.next_id;
                self.next_id = self.next_id.wrapping_add(1).max(1);
                let orig = q.id;
                buf[..2].copy_from_slice(&id.to_be_bytes());
                let ok = u.send_to(&buf[..n], SocketAddrV4::new(addr, 53)).is_ok();
                buf[..2].copy_from_slice(&orig.to_be_bytes());
                if ok {
                    self.pending
                        .retain(|p| p.3.elapsed() < Duration::from_secs(10));
                    if self.pending.len() >= PENDING {
                        self.pending.remove(0);
                    }
                    self.pending.push((id, orig, from, Instant::now()));
                }
                ok
            }
            _ => false,
        };
        if !sent {
            let _ = self.sock.send_to(&dns::answer(&buf[..n], &q, &[], 2), from);
        }
    }

    /// Relays an upstream answer back to the container.
    pub(super) fn on_upstream(&mut self, buf: &mut [u8]) {
        let Some(u) = &self.upstream else { return };
        let Ok(n) = u.recv(buf) else { return };
        if n < 12 {
            return;
        }
        let id = u16::from_be_bytes([buf[0], buf[1]]);
        if let Some(i) = self.pending.iter().position(|p| p.0 == id) {
            let (_, orig, to, _) = self.pending.remove(i);
            buf[..2].copy_from_slice(&orig.to_be_bytes());
            let _ = self.sock.send_to(&buf[..n], to);
        }
    }
}
