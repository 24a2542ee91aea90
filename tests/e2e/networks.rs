//! Networks (issue 5): the default bridge, user-defined networks with DNS, published ports,
//! host/none/container: modes, connect/disconnect, bad input, and leak checks. Every test
//! runs berth inside its own network namespace ([`TestNet`]); nothing touches the host's.

use crate::support::containers::Ct;
use crate::support::netns::TestNet;

fn no_leftovers(net: &TestNet<'_>, ct: &Ct) {
    let links: Vec<String> = net
        .links()
        .into_iter()
        .filter(|l| l.starts_with("vb"))
        .collect();
    assert!(links.is_empty(), "veths left: {links:?}");
    let rules = net.ruleset();
    assert!(
        !rules.contains(" . 80") && !rules.contains(": 17"),
        "port rules left:\n{rules}"
    );
    let ns_dir = ct.run_path().join("netns");
    let left: Vec<_> = std::fs::read_dir(&ns_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "netns files left: {left:?}");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !mounts.contains(&ns_dir.to_string_lossy().into_owned()),
        "netns mounts left"
    );
}

#[test]
fn default_bridge_gives_address_route_and_no_dns() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    let out = net.ok(&[
        "run", "--rm", "busybox", "sh", "-c",
        "ip -4 addr show eth0; ip route; cat /etc/resolv.conf",
    ]);
    assert!(out.contains("inet 172.17.0.2/16"), "{out}");
    assert!(out.contains("default via 172.17.0.1"), "{out}");
    assert!(!out.contains("127.0.0.11"), "{out}");
    assert!(net.links().contains(&"berth0".to_string()));
    no_leftovers(&net, &ct);
    // Containers on the default bridge do not resolve each other by name.
    net.ok(&["run", "-d", "--name", "aa", "busybox", "sleep", "60"]);
    let (code, _) = (net.cmd(&["run", "--rm", "busybox", "ping", "-c1", "-W1", "aa"]).run().code, ());
    assert_ne!(code, 0);
    // But they reach each other by address.
    let ip = net.ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "aa"]);
    assert_eq!(ip.trim(), "172.17.0.2");
    net.ok(&["run", "--rm", "busybox", "ping", "-c1", "-W2", ip.trim()]);
    net.ok(&["rm", "-f", "aa"]);
    no_leftovers(&net, &ct);
}

#[test]
fn user_network_resolves_names_and_aliases() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    let id = net.ok(&["network", "create", "app"]);
    assert_eq!(id.trim().len(), 64);
    net.ok(&[
        "run", "-d", "--name", "web", "--network", "app", "--network-alias", "www",
        "busybox", "httpd", "-f", "-p", "80", "-h", "/etc",
    ]);
    let out = net.ok(&[
        "run", "--rm", "--network", "app", "busybox", "sh", "-c",
        "cat /etc/resolv.conf; wget -q -O - http://web/hostname; wget -q -O - http://www/hostname",
    ]);
    assert!(out.contains("nameserver 127.0.0.11"), "{out}");
    let web_id = net.ok(&["inspect", "-f", "{{.Id}}", "web"]);
    assert_eq!(out.matches(&web_id.trim()[..12]).count(), 2, "{out}");
    let insp = net.ok(&["network", "inspect", "app"]);
    let v: serde_json::Value = serde_json::from_str(&insp).unwrap();
    assert_eq!(v[0]["Name"], "app");
    assert_eq!(v[0]["Driver"], "bridge");
    assert_eq!(v[0]["IPAM"]["Config"][0]["Subnet"], "172.18.0.0/16");
    assert_eq!(v[0]["Containers"][web_id.trim()]["Name"], "web");
    let rm = net.fails_with(&["network", "rm", "app"], 1);
    assert!(rm.contains("has active endpoints"), "{rm}");
    net.ok(&["rm", "-f", "web"]);
    net.ok(&["network", "rm", "app"]);
    assert!(!net.links().iter().any(|l| l.starts_with("br-")));
    no_leftovers(&net, &ct);
}
