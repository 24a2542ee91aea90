//! Links and addresses through iproute2's batch mode, and the IPv4 sysctls Docker sets.

use std::net::Ipv4Addr;
use std::path::Path;

use crate::ipam::Subnet;
use crate::NetError;

/// Whether an interface named `name` exists in the current network namespace
/// (`/proc/net/dev` is per namespace; `/sys/class/net` is that of sysfs's mounter).
pub fn exists(name: &str) -> bool {
    interfaces().iter().any(|i| i == name)
}

/// The interfaces of the current network namespace.
pub fn interfaces() -> Vec<String> {
    std::fs::read_to_string("/proc/net/dev")
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim().to_string()))
        .collect()
}

/// Runs `ip -batch -` with `commands` (one per line).
pub fn batch(commands: &str) -> Result<(), NetError> {
    crate::guard_host_namespace()?;
    crate::run_with_input("ip", &["-batch", "-"], commands)
}

/// Creates bridge `name` with `gateway`/`subnet`'s prefix, up, with `route_localnet`
/// (published ports reachable on 127.0.0.1) and IPv4 forwarding on, as Docker does.
/// `internal` bridges get no forwarding of their own.
pub fn create_bridge(name: &str, gateway: Ipv4Addr, subnet: &Subnet) -> Result<(), NetError> {
    let cmds = format!(
        "link add {name} type bridge\naddr add {gateway}/{} dev {name}\nlink set {name} up\n",
        subnet.prefix()
    );
    if let Err(e) = batch(&cmds) {
        if exists(name) {
            // Another berth process made it meanwhile; make sure it is complete.
            let _ = batch(&format!(
                "addr replace {gateway}/{} dev {name}\nlink set {name} up\n",
                subnet.prefix()
            ));
        } else {
            return Err(e);
        }
    }
    set_sysctl(&format!("net/ipv4/conf/{name}/route_localnet"), "1")?;
    set_sysctl("net/ipv4/ip_forward", "1")?;
    Ok(())
}

/// Deletes links (bridges, host-side veths); missing links are not an error.
pub fn delete(names: &[String]) -> Result<(), NetError> {
    match delete_start(names)? {
        Some(p) => p.wait(),
        None => Ok(()),
    }
}

/// Starts deleting links, for the caller to wait on while it does other work (deleting a
/// veth waits for an RCU grace period in the kernel: tens of milliseconds).
pub fn delete_start(names: &[String]) -> Result<Option<crate::Pending>, NetError> {
    crate::guard_host_namespace()?;
    let present: Vec<&String> = {
        let all = interfaces();
        names.iter().filter(|n| all.contains(n)).collect()
    };
    if present.is_empty() {
        return Ok(None);
    }
    let cmds: String = present.iter().map(|n| format!("link del {n}\n")).collect();
    crate::start_with_input("ip", &["-force", "-batch", "-"], &cmds).map(Some)
}

/// Writes `/proc/sys/<key>` in the current thread's network namespace.
pub fn set_sysctl(key: &str, value: &str) -> Result<(), NetError> {
    crate::guard_host_namespace()?;
    let p = Path::new("/proc/sys").join(key);
    if std::fs::read_to_string(&p).is_ok_and(|v| v.trim() == value) {
        return Ok(());
    }
    std::fs::write(&p, value).map_err(|e| NetError::Command {
        program: "sysctl",
        message: format!("{}: {e}", p.display()),
    })
}

/// One container interface to create.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Host-side veth name.
    pub host_if: String,
    /// Name inside the container (`eth0`, `eth1`, …).
    pub container_if: String,
    /// The bridge to enslave the host side to.
    pub bridge: String,
    /// The container's address.
    pub ip: Ipv4Addr,
    /// Its prefix length.
    pub prefix: u8,
    /// Its MAC address.
    pub mac: String,
    /// The default route's gateway, for the endpoint that carries it.
    pub default_gateway: Option<Ipv4Addr>,
}

/// Creates the veth pairs of `endpoints`, the container side inside the namespace at
/// `netns`, and configures addresses, `lo` and the default route in there.
pub fn attach(netns: &Path, endpoints: &[Endpoint], bring_up_lo: bool) -> Result<(), NetError> {
    if !endpoints.is_empty() {
        let ns = netns.display();
        let mut host = String::new();
        for e in endpoints {
            host.push_str(&format!(
                "link add {} type veth peer name {} address {} netns {ns}\nlink set {} master {} up\n",
                e.host_if, e.container_if, e.mac, e.host_if, e.bridge
            ));
        }
        batch(&host)?;
    }
    let mut inside = String::new();
    if bring_up_lo {
        inside.push_str("link set lo up\n");
    }
    for e in endpoints {
        inside.push_str(&format!(
            "addr add {}/{} dev {}\nlink set {} up\n",
            e.ip, e.prefix, e.container_if, e.container_if
        ));
        if let Some(gw) = e.default_gateway {
            inside.push_str(&format!(
                "route add default via {gw} dev {}\n",
                e.container_if
            ));
        }
    }
    if inside.is_empty() {
        return Ok(());
    }
    crate::netns::run_in(netns, move || batch(&inside))
}

/// The host-side veth name of a container's endpoint on a network: `vb` and 11 hex digits of
/// a hash of both ids (interface names have at most 15 bytes).
pub fn host_veth_name(container_id: &str, network_id: &str) -> String {
    // FNV-1a: stable across releases, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in container_id.bytes().chain([b'/']).chain(network_id.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("vb{:011x}", h & 0xfff_ffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit() {
        let n = host_veth_name("abc", "def");
        assert_eq!(n.len(), 13);
        assert_ne!(n, host_veth_name("abc", "deg"));
        assert_eq!(n, host_veth_name("abc", "def"));
    }
}
