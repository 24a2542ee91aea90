//! Namespaces, as moby's `DefaultLinuxSpec` and `WithNamespaces` set them, and the network
//! sysctls Docker adds when a container gets its own network namespace.

use std::collections::BTreeMap;
use std::path::Path;

use libcontainer::oci_spec::runtime::{LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType};

use super::{NetworkNamespace, SpecError};

/// The container's namespaces in moby's order: mount, network, uts, pid, ipc, then cgroup
/// when the kernel has it (moby's default `--cgroupns=private` on cgroup v2).
///
/// Docker also asks for a new time namespace on kernels that have one. berth does not:
/// libcontainer's time-namespace support is not dependable yet, and without clock offsets
/// (which Docker does not set) the namespace has no visible effect on the container.
pub(crate) fn namespaces(
    network: &NetworkNamespace,
    cgroup_namespace: bool,
) -> Result<Vec<LinuxNamespace>, SpecError> {
    let new = |typ| LinuxNamespaceBuilder::default().typ(typ).build();
    let mut out = vec![new(LinuxNamespaceType::Mount)?];
    match network {
        NetworkNamespace::New => out.push(new(LinuxNamespaceType::Network)?),
        NetworkNamespace::Host => {}
        NetworkNamespace::Path(p) => out.push(
            LinuxNamespaceBuilder::default()
                .typ(LinuxNamespaceType::Network)
                .path(p.clone())
                .build()?,
        ),
    }
    out.push(new(LinuxNamespaceType::Uts)?);
    out.push(new(LinuxNamespaceType::Pid)?);
    out.push(new(LinuxNamespaceType::Ipc)?);
    if cgroup_namespace {
        out.push(new(LinuxNamespaceType::Cgroup)?);
    }
    Ok(out)
}

/// The sysctls Docker sets for a container with its own network namespace (moby
/// `withCommonOptions`; not for `--network host` or `--network container:…`), for the engine
/// to merge under the user's `--sysctl` values: unprivileged ICMP echo sockets
/// (`net.ipv4.ping_group_range`) and binding ports below 1024 without
/// CAP_NET_BIND_SERVICE (`net.ipv4.ip_unprivileged_port_start`). Each is included only if
/// the host kernel has it.
pub fn docker_network_sysctls() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (key, value) in [
        ("net.ipv4.ping_group_range", "0 2147483647"),
        ("net.ipv4.ip_unprivileged_port_start", "0"),
    ] {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        if Path::new(&path).exists() {
            out.insert(key.to_string(), value.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn kinds(ns: &[LinuxNamespace]) -> Vec<LinuxNamespaceType> {
        ns.iter().map(|n| n.typ()).collect()
    }

    #[test]
    fn new_network() {
        use LinuxNamespaceType::*;
        let ns = namespaces(&NetworkNamespace::New, true).unwrap();
        assert_eq!(kinds(&ns), [Mount, Network, Uts, Pid, Ipc, Cgroup]);
        assert!(ns.iter().all(|n| n.path().is_none()));
        assert!(!kinds(&ns).contains(&Time));
    }

    #[test]
    fn host_network_has_no_net_namespace() {
        use LinuxNamespaceType::*;
        let ns = namespaces(&NetworkNamespace::Host, false).unwrap();
        assert_eq!(kinds(&ns), [Mount, Uts, Pid, Ipc]);
    }

    #[test]
    fn joined_network() {
        let ns = namespaces(
            &NetworkNamespace::Path(PathBuf::from("/run/berth/netns/x")),
            true,
        )
        .unwrap();
        assert_eq!(ns[1].typ(), LinuxNamespaceType::Network);
        assert_eq!(
            ns[1].path().as_deref(),
            Some(Path::new("/run/berth/netns/x"))
        );
    }

    #[test]
    fn network_sysctls_only_known_keys() {
        for (k, v) in docker_network_sysctls() {
            assert!(
                (k == "net.ipv4.ping_group_range" && v == "0 2147483647")
                    || (k == "net.ipv4.ip_unprivileged_port_start" && v == "0")
            );
        }
    }
}
