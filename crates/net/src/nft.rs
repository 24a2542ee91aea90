//! berth's firewall: one nftables table, `inet berth`, changed only in whole transactions
//! (`nft -f -`).
//!
//! ```text
//! table inet berth
//!   map fwd_in   ifname : verdict             bridge → jump nw-<id>   (isolation, --internal)
//!   map nat_out  ifname : verdict             bridge → jump nat-<id>  (masquerade, hairpin)
//!   set bridges  ifname                         every berth bridge
//!   map ports    l4proto . port : addr . port   -p PORT:…      (any host address)
//!   map ports_ip addr . l4proto . port : addr . port   -p IP:PORT:…
//!   chain forward      (filter hook)  established → accept; DNAT'd → accept;
//!                                     iifname vmap @fwd_in; into a bridge otherwise → drop
//!   chain prerouting / output (nat)   to a local address → publish
//!   chain publish                     dnat through ports_ip, then ports
//!   chain postrouting  (nat)          DNAT'd from 127/8 → masquerade; iifname vmap @nat_out
//! ```
//! Base chains are flushed and re-filled whenever a bridge is (re)created, so the script is
//! idempotent; network chains likewise. Published ports are map elements, added and deleted
//! by key.

use std::net::Ipv4Addr;

use crate::ipam::Subnet;
use crate::NetError;

/// The table's name (family `inet`).
pub const TABLE: &str = "berth";

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRule {
    /// `tcp` or `udp`.
    pub proto: String,
    /// Host address; `None` for every address.
    pub host_ip: Option<Ipv4Addr>,
    /// Host port.
    pub host_port: u16,
    /// Container address.
    pub container_ip: Ipv4Addr,
    /// Container port.
    pub container_port: u16,
}

/// One network's rules.
#[derive(Debug, Clone)]
pub struct NetworkRules {
    /// 12-hex id, for chain names.
    pub short_id: String,
    /// The bridge device.
    pub bridge: String,
    /// The subnet.
    pub subnet: Subnet,
    /// `--internal`: no traffic leaves the bridge.
    pub internal: bool,
}

/// Runs `script` through `nft -f -` as one transaction.
pub fn apply(script: &str) -> Result<(), NetError> {
    if script.trim().is_empty() {
        return Ok(());
    }
    crate::guard_host_namespace()?;
    crate::run_with_input("nft", &["-f", "-"], script)
}

/// The table, its maps and base chains (idempotent).
pub fn base_script() -> String {
    let t = format!("inet {TABLE}");
    format!(
        "add table {t}
add map {t} fwd_in {{ type ifname : verdict; }}
add map {t} nat_out {{ type ifname : verdict; }}
add set {t} bridges {{ type ifname; }}
add map {t} ports {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
add map {t} ports_ip {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
add chain {t} publish
flush chain {t} publish
add rule {t} publish meta nfproto ipv4 meta l4proto {{ tcp, udp }} dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
add rule {t} publish meta nfproto ipv4 meta l4proto {{ tcp, udp }} dnat ip to meta l4proto . th dport map @ports
add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}
flush chain {t} forward
add rule {t} forward ct state established,related accept
add rule {t} forward ct status dnat accept
add rule {t} forward iifname vmap @fwd_in
add rule {t} forward oifname @bridges drop
add chain {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}
flush chain {t} prerouting
add rule {t} prerouting fib daddr type local jump publish
add chain {t} output {{ type nat hook output priority -100; policy accept; }}
flush chain {t} output
add rule {t} output fib daddr type local jump publish
add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}
flush chain {t} postrouting
add rule {t} postrouting ip saddr 127.0.0.0/8 ct status dnat masquerade
add rule {t} postrouting iifname vmap @nat_out
"
    )
}

/// Adds (or refreshes) a network's chains and map elements.
pub fn network_add_script(n: &NetworkRules) -> String {
    let t = format!("inet {TABLE}");
    let (id, br, sub) = (&n.short_id, &n.bridge, n.subnet);
    let mut s = format!(
        "add chain {t} nw-{id}
flush chain {t} nw-{id}
add chain {t} nat-{id}
flush chain {t} nat-{id}
add rule {t} nw-{id} oifname \"{br}\" accept
"
    );
    if n.internal {
        s.push_str(&format!("add rule {t} nw-{id} drop\n"));
    } else {
        s.push_str(&format!(
            "add rule {t} nw-{id} oifname @bridges drop
add rule {t} nw-{id} accept
add rule {t} nat-{id} ip saddr {sub} oifname != \"{br}\" masquerade
"
        ));
    }
    s.push_str(&format!(
        "add rule {t} nat-{id} oifname \"{br}\" ct status dnat masquerade
add element {t} bridges {{ \"{br}\" }}
add element {t} fwd_in {{ \"{br}\" : jump nw-{id} }}
add element {t} nat_out {{ \"{br}\" : jump nat-{id} }}
"
    ));
    s
}

/// Removes a network's chains and elements (run only when they exist).
pub fn network_del_script(n: &NetworkRules) -> String {
    let t = format!("inet {TABLE}");
    let (id, br) = (&n.short_id, &n.bridge);
    format!(
        "delete element {t} fwd_in {{ \"{br}\" }}
delete element {t} nat_out {{ \"{br}\" }}
delete element {t} bridges {{ \"{br}\" }}
flush chain {t} nw-{id}
delete chain {t} nw-{id}
flush chain {t} nat-{id}
delete chain {t} nat-{id}
"
    )
}

fn port_element(p: &PortRule, with_value: bool) -> (String, String) {
    let value = if with_value {
        format!(" : {} . {}", p.container_ip, p.container_port)
    } else {
        String::new()
    };
    match p.host_ip {
        Some(ip) => (
            "ports_ip".into(),
            format!("{ip} . {} . {}{value}", p.proto, p.host_port),
        ),
        None => (
            "ports".into(),
            format!("{} . {}{value}", p.proto, p.host_port),
        ),
    }
}

/// Adds published ports.
pub fn ports_add_script(ports: &[PortRule]) -> String {
    ports
        .iter()
        .map(|p| {
            let (map, e) = port_element(p, true);
            format!("add element inet {TABLE} {map} {{ {e} }}\n")
        })
        .collect()
}

/// Removes published ports.
pub fn ports_del_script(ports: &[PortRule]) -> String {
    ports
        .iter()
        .map(|p| {
            let (map, e) = port_element(p, false);
            format!("delete element inet {TABLE} {map} {{ {e} }}\n")
        })
        .collect()
}

/// Whether berth's table exists in the current network namespace.
pub fn table_exists() -> bool {
    std::process::Command::new("nft")
        .args(["list", "table", "inet", TABLE])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_elements() {
        let p = PortRule {
            proto: "tcp".into(),
            host_ip: None,
            host_port: 8080,
            container_ip: Ipv4Addr::new(172, 17, 0, 2),
            container_port: 80,
        };
        assert_eq!(
            ports_add_script(std::slice::from_ref(&p)),
            "add element inet berth ports { tcp . 8080 : 172.17.0.2 . 80 }\n"
        );
        let q = PortRule {
            host_ip: Some(Ipv4Addr::LOCALHOST),
            proto: "udp".into(),
            ..p
        };
        assert_eq!(
            ports_del_script(&[q]),
            "delete element inet berth ports_ip { 127.0.0.1 . udp . 8080 }\n"
        );
    }

    #[test]
    fn internal_networks_do_not_masquerade() {
        let mut n = NetworkRules {
            short_id: "0123456789ab".into(),
            bridge: "br-0123456789ab".into(),
            subnet: "172.18.0.0/16".parse().unwrap(),
            internal: true,
        };
        assert!(!network_add_script(&n).contains("!= \"br-0123456789ab\" masquerade"));
        n.internal = false;
        assert!(network_add_script(&n).contains("!= \"br-0123456789ab\" masquerade"));
    }
}
