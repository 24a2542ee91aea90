//! The embedded DNS server's protocol side: parsing a query, looking a name up in a
//! network's records file, and building the answer. No allocation beyond the answer buffer,
//! so the monitor that serves it stays small.
//!
//! Records files are hosts-file shaped, one container per line: `IP NAME ALIAS…`, rewritten
//! atomically (temporary file and rename) whenever a container joins or leaves the network.

use std::net::Ipv4Addr;

/// Query type A.
pub const TYPE_A: u16 = 1;
/// Query type AAAA.
pub const TYPE_AAAA: u16 = 28;

/// A parsed question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Transaction id.
    pub id: u16,
    /// The name, lower case, without the trailing dot.
    pub name: String,
    /// The type (A, AAAA, …).
    pub qtype: u16,
    /// Offset just after the question.
    pub end: usize,
}

/// Parses a query with exactly one question; `None` for anything else.
pub fn parse_query(buf: &[u8]) -> Option<Query> {
    if buf.len() < 12 || buf[2] & 0x80 != 0 {
        return None;
    }
    let id = u16::from_be_bytes([buf[0], buf[1]]);
    let qd = u16::from_be_bytes([buf[4], buf[5]]);
    if qd != 1 {
        return None;
    }
    let mut i = 12;
    let mut name = String::new();
    loop {
        let len = *buf.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 || name.len() + len > 253 {
            return None;
        }
        let label = buf.get(i..i + len)?;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            name.push(b.to_ascii_lowercase() as char);
        }
        i += len;
    }
    let qtype = u16::from_be_bytes([*buf.get(i)?, *buf.get(i + 1)?]);
    let _class = buf.get(i + 2..i + 4)?;
    Some(Query {
        id,
        name,
        qtype,
        end: i + 4,
    })
}

/// The addresses of `name` in a records file's text.
pub fn lookup(records: &str, name: &str, out: &mut Vec<Ipv4Addr>) {
    for line in records.lines() {
        let mut f = line.split_whitespace();
        let Some(ip) = f.next().and_then(|a| a.parse::<Ipv4Addr>().ok()) else {
            continue;
        };
        if f.any(|n| n.eq_ignore_ascii_case(name)) && !out.contains(&ip) {
            out.push(ip);
        }
    }
}

/// The answer to `q` (whose bytes are `query`): `ips` as A records (none: an empty
/// NOERROR answer, for AAAA of a known name), or `rcode` when non-zero (3 NXDOMAIN,
/// 2 SERVFAIL).
pub fn answer(query: &[u8], q: &Query, ips: &[Ipv4Addr], rcode: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.end + ips.len() * 16);
    out.extend_from_slice(&query[..q.end]);
    // QR, opcode 0, AA, RD copied; RA; rcode.
    out[2] = 0x80 | 0x04 | (query[2] & 0x01);
    out[3] = 0x80 | (rcode & 0x0f);
    let an = if rcode == 0 { ips.len() as u16 } else { 0 };
    out[6..8].copy_from_slice(&an.to_be_bytes());
    out[8..12].fill(0);
    if rcode == 0 {
        for ip in ips {
            out.extend_from_slice(&[0xc0, 0x0c]); // the question's name
            out.extend_from_slice(&TYPE_A.to_be_bytes());
            out.extend_from_slice(&1u16.to_be_bytes()); // IN
            out.extend_from_slice(&600u32.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&ip.octets());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut b = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            b.push(l.len() as u8);
            b.extend_from_slice(l.as_bytes());
        }
        b.push(0);
        b.extend_from_slice(&qtype.to_be_bytes());
        b.extend_from_slice(&[0, 1]);
        b
    }

    #[test]
    fn answers_a() {
        let b = query("Web.", TYPE_A);
        let b = &b[..b.len()]; // "Web." has an empty last label: parse stops there
        let q = parse_query(b).unwrap();
        assert_eq!(q.name, "web");
        let mut ips = Vec::new();
        lookup("172.18.0.2 db\n172.18.0.3 web alias1\n", &q.name, &mut ips);
        assert_eq!(ips, [Ipv4Addr::new(172, 18, 0, 3)]);
        let a = answer(b, &q, &ips, 0);
        assert_eq!(a[..2], [0x12, 0x34]);
        assert_eq!(a[3] & 0x0f, 0);
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1);
        assert_eq!(a[a.len() - 4..], [172, 18, 0, 3]);
        let nx = answer(b, &q, &[], 3);
        assert_eq!(nx[3] & 0x0f, 3);
        assert_eq!(nx.len(), q.end);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_query(&[0; 5]).is_none());
        let mut b = query("a", TYPE_A);
        b[2] |= 0x80; // a response
        assert!(parse_query(&b).is_none());
        let b = query("a", TYPE_A);
        assert!(parse_query(&b[..b.len() - 1]).is_none());
    }
}
