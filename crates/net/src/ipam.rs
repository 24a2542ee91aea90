//! IPv4 address management: subnets, Docker's default address pools, and allocation of
//! gateway and container addresses.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use crate::NetError;

/// An IPv4 subnet (`172.18.0.0/16`), always stored with its host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Subnet {
    addr: u32,
    prefix: u8,
}

impl Subnet {
    /// The subnet of `addr`/`prefix` (host bits dropped).
    pub fn new(addr: Ipv4Addr, prefix: u8) -> Subnet {
        let prefix = prefix.min(32);
        Subnet {
            addr: u32::from(addr) & mask(prefix),
            prefix,
        }
    }

    /// The network address.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr)
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The broadcast address.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.addr | !mask(self.prefix))
    }

    /// Whether `ip` is in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == self.addr
    }

    /// Whether the two subnets share an address.
    pub fn overlaps(&self, other: &Subnet) -> bool {
        let p = self.prefix.min(other.prefix);
        self.addr & mask(p) == other.addr & mask(p)
    }

    /// Whether `other` lies entirely inside this subnet.
    pub fn covers(&self, other: &Subnet) -> bool {
        other.prefix >= self.prefix && self.contains(other.network())
    }

    /// The first usable host address (Docker's default gateway).
    pub fn first_host(&self) -> Ipv4Addr {
        if self.prefix >= 31 {
            return self.network();
        }
        Ipv4Addr::from(self.addr + 1)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network(), self.prefix)
    }
}

impl FromStr for Subnet {
    type Err = NetError;

    /// `a.b.c.d/n`, as Go's `net.ParseCIDR` accepts it for IPv4.
    fn from_str(s: &str) -> Result<Subnet, NetError> {
        let bad = || NetError::Invalid(format!("invalid CIDR address: {s}"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ok(Subnet::new(addr, prefix))
    }
}

/// Docker's default local address pools: `172.17.0.0/16` … `172.31.0.0/16`, then
/// `192.168.0.0/16` cut into `/20`s.
pub fn default_pools() -> Vec<Subnet> {
    let mut v: Vec<Subnet> = (17..=31)
        .map(|b| Subnet::new(Ipv4Addr::new(172, b, 0, 0), 16))
        .collect();
    v.extend((0..16).map(|i| Subnet::new(Ipv4Addr::new(192, 168, i * 16, 0), 20)));
    v
}

/// The first default pool that overlaps neither a subnet in use nor a route of the
/// current network namespace.
pub fn choose_subnet(in_use: &[Subnet], routed: &[Subnet]) -> Option<Subnet> {
    default_pools()
        .into_iter()
        .find(|p| !in_use.iter().chain(routed).any(|u| u.overlaps(p)))
}

/// The destinations of the current network namespace's IPv4 routes (`/proc/net/route`),
/// default routes excluded.
pub fn routed_subnets() -> Vec<Subnet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    parse_proc_route(&text)
}

fn parse_proc_route(text: &str) -> Vec<Subnet> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dest), Ok(m)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16))
        else {
            continue;
        };
        // The kernel prints these in host byte order of a big-endian value (little-endian here).
        let dest = Ipv4Addr::from(u32::from_be(dest));
        let m = u32::from_be(m);
        if m == 0 {
            continue;
        }
        out.push(Subnet::new(dest, m.leading_ones() as u8));
    }
    out
}

/// The first free address of `range` (or the whole subnet) for a container: not the
/// network, broadcast or gateway address, and not in `used`.
pub fn allocate(
    subnet: &Subnet,
    range: Option<&Subnet>,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
) -> Option<Ipv4Addr> {
    let pool = range.unwrap_or(subnet);
    let start = u32::from(pool.network());
    let end = u32::from(pool.broadcast());
    (start..=end).map(Ipv4Addr::from).find(|ip| {
        *ip != subnet.network()
            && *ip != subnet.broadcast()
            && *ip != gateway
            && subnet.contains(*ip)
            && !used.contains(ip)
    })
}

/// The MAC address Docker derived from a container's address: `02:42` and the four octets.
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Subnet {
        x.parse().unwrap()
    }

    #[test]
    fn parses_and_masks() {
        assert_eq!(s("172.18.3.4/16").to_string(), "172.18.0.0/16");
        assert_eq!(
            s("10.0.0.0/8").broadcast(),
            Ipv4Addr::new(10, 255, 255, 255)
        );
        for bad in ["10.0.0.0", "10.0.0/8", "10.0.0.0/33", "x/8", "10.0.0.0/"] {
            assert!(bad.parse::<Subnet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overlap() {
        assert!(s("172.18.0.0/16").overlaps(&s("172.18.5.0/24")));
        assert!(s("172.18.5.0/24").overlaps(&s("172.18.0.0/16")));
        assert!(!s("172.18.0.0/16").overlaps(&s("172.19.0.0/16")));
        assert!(s("172.18.0.0/16").covers(&s("172.18.5.0/24")));
        assert!(!s("172.18.5.0/24").covers(&s("172.18.0.0/16")));
    }

    #[test]
    fn pools_like_docker() {
        let p = default_pools();
        assert_eq!(p[0], s("172.17.0.0/16"));
        assert_eq!(p[14], s("172.31.0.0/16"));
        assert_eq!(p[15], s("192.168.0.0/20"));
        assert_eq!(p[16], s("192.168.16.0/20"));
        assert_eq!(choose_subnet(&[], &[]), Some(s("172.17.0.0/16")));
        assert_eq!(
            choose_subnet(&[s("172.17.0.0/16")], &[s("172.18.1.0/24")]),
            Some(s("172.19.0.0/16"))
        );
    }

    #[test]
    fn proc_route() {
        let t =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(parse_proc_route(t), vec![s("192.168.0.0/24")]);
    }

    #[test]
    fn allocation() {
        let sub = s("172.18.0.0/16");
        let gw = sub.first_host();
        let mut used = HashSet::new();
        let a = allocate(&sub, None, gw, &used).unwrap();
        assert_eq!(a, Ipv4Addr::new(172, 18, 0, 2));
        used.insert(a);
        assert_eq!(
            allocate(&sub, None, gw, &used),
            Some(Ipv4Addr::new(172, 18, 0, 3))
        );
        let r = s("172.18.5.0/24");
        assert_eq!(
            allocate(&sub, Some(&r), gw, &used),
            Some(Ipv4Addr::new(172, 18, 5, 0))
        );
        let tiny = s("10.9.0.0/30");
        let mut used = HashSet::new();
        used.insert(Ipv4Addr::new(10, 9, 0, 2));
        assert_eq!(allocate(&tiny, None, tiny.first_host(), &used), None);
        assert_eq!(mac_for(Ipv4Addr::new(172, 17, 0, 2)), "02:42:ac:11:00:02");
    }
}
