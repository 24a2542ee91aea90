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
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "ip -4 addr show eth0; ip route; cat /etc/resolv.conf",
    ]);
    assert!(out.contains("inet 172.17.0.2/16"), "{out}");
    assert!(out.contains("default via 172.17.0.1"), "{out}");
    assert!(!out.contains("127.0.0.11"), "{out}");
    assert!(net.links().contains(&"berth0".to_string()));
    no_leftovers(&net, &ct);
    // Containers on the default bridge do not resolve each other by name.
    net.ok(&["run", "-d", "--name", "aa", "busybox", "sleep", "60"]);
    let (code, _) = (
        net.cmd(&["run", "--rm", "busybox", "ping", "-c1", "-W1", "aa"])
            .run()
            .code,
        (),
    );
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
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "app",
        "--network-alias",
        "www",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/etc",
    ]);
    let out = net.ok(&[
        "run",
        "--rm",
        "--network",
        "app",
        "busybox",
        "sh",
        "-c",
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

#[test]
fn published_ports_reach_the_container_from_host_and_hairpin() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.sh("ip link add tv0 type veth peer name tv1 && ip addr add 10.99.0.1/24 dev tv0 && ip link set tv1 up && ip link set tv0 up");
    net.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "8080:80",
        "-p",
        "9999:9999/udp",
        "-p",
        "90",
        "-p",
        "127.0.0.1:5353:53/udp",
        "busybox",
        "sh",
        "-c",
        "echo hello > /tmp/index.html; httpd -f -p 80 -h /tmp",
    ]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Host → 127.0.0.1 and a host address.
    let out = net.sh("busybox wget -q -O - http://127.0.0.1:8080/index.html");
    assert_eq!(out, "hello\n");
    let out = net.sh("busybox wget -q -O - http://10.99.0.1:8080/index.html");
    assert_eq!(out, "hello\n");
    // UDP (busybox has no UDP server): datagrams to the published port arrive in the
    // container, where nothing listens, so its `Udp: NoPorts` counter grows.
    let no_ports = || -> u64 {
        let snmp = net.ok(&["exec", "web", "cat", "/proc/net/snmp"]);
        let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
        let (names, values) = (udp.next().unwrap(), udp.next().unwrap());
        let i = names
            .split_whitespace()
            .position(|n| n == "NoPorts")
            .unwrap();
        values.split_whitespace().nth(i).unwrap().parse().unwrap()
    };
    let before = no_ports();
    net.sh("for i in 1 2 3; do bash -c 'echo x > /dev/udp/127.0.0.1/9999'; done");
    assert!(no_ports() >= before + 3, "UDP datagrams did not arrive");
    // Hairpin: another container through the host's address.
    let out = net.ok(&[
        "run",
        "--rm",
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://10.99.0.1:8080/index.html",
    ]);
    assert_eq!(out, "hello\n");
    // `port`, `ps` and inspect.
    let port = net.ok(&["port", "web", "80"]);
    assert!(port.contains("0.0.0.0:8080\n[::]:8080"), "{port}");
    assert_eq!(net.ok(&["port", "web", "53/udp"]), "127.0.0.1:5353\n");
    let all = net.ok(&["port", "web"]);
    assert!(
        all.starts_with("53/udp -> 127.0.0.1:5353\n80/tcp -> 0.0.0.0:8080\n80/tcp -> [::]:8080\n"),
        "{all}"
    );
    assert!(all.contains("80/tcp -> 0.0.0.0:8080"), "{all}");
    assert!(
        all.lines().any(|l| l.starts_with("90/tcp -> 0.0.0.0:3")),
        "random port: {all}"
    );
    let ps = net.ok(&["ps", "--format", "{{.Ports}}"]);
    assert!(ps.contains("0.0.0.0:8080->80/tcp, :::8080->80/tcp"), "{ps}");
    let hp = net.ok(&[
        "inspect",
        "-f",
        "{{(index (index .NetworkSettings.Ports \"80/tcp\") 0).HostPort}}",
        "web",
    ]);
    assert_eq!(hp.trim(), "8080");
    // Already allocated.
    let err = net.fails_with(&["run", "--rm", "-p", "8080:80", "busybox", "true"], 125);
    assert!(
        err.contains("Bind for 0.0.0.0:8080 failed: port is already allocated"),
        "{err}"
    );
    net.ok(&["rm", "-f", "web"]);
    no_leftovers(&net, &ct);
    let (ok, _) = net.try_sh("busybox wget -q -T 1 -O - http://127.0.0.1:8080/index.html");
    assert!(!ok, "port still forwarded after rm");
}

#[test]
fn user_networks_are_isolated_and_internal_has_no_way_out() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.ok(&["network", "create", "n1"]);
    net.ok(&["network", "create", "--internal", "n2"]);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "n1",
        "busybox",
        "sleep",
        "60",
    ]);
    let ip1 = net.ok(&[
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.n1.IPAddress}}",
        "c1",
    ]);
    let ip1 = ip1.trim();
    assert!(ip1.starts_with("172.18."), "{ip1}");
    // n2 cannot reach n1.
    let o = net
        .cmd(&[
            "run",
            "--rm",
            "--network",
            "n2",
            "busybox",
            "ping",
            "-c1",
            "-W1",
            ip1,
        ])
        .run();
    assert_ne!(o.code, 0, "{o}");
    // n2 is internal: no default route.
    let r = net.ok(&["run", "--rm", "--network", "n2", "busybox", "ip", "route"]);
    assert!(!r.contains("default"), "{r}");
    // The default bridge cannot reach n1 either; n1 itself can.
    let o = net
        .cmd(&["run", "--rm", "busybox", "ping", "-c1", "-W1", ip1])
        .run();
    assert_ne!(o.code, 0, "{o}");
    net.ok(&[
        "run",
        "--rm",
        "--network",
        "n1",
        "busybox",
        "ping",
        "-c1",
        "-W2",
        "c1",
    ]);
    net.ok(&["rm", "-f", "c1"]);
    net.ok(&["network", "rm", "n1", "n2"]);
    no_leftovers(&net, &ct);
}

#[test]
fn none_host_and_container_modes() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.sh("ip link add tv7 type veth peer name tv8");
    let out = net.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "cat",
        "/proc/net/dev",
    ]);
    assert!(out.contains("lo:") && !out.contains("eth0"), "{out}");
    let out = net.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        "busybox",
        "cat",
        "/proc/net/dev",
    ]);
    assert!(out.contains("tv7"), "{out}");
    net.ok(&["run", "-d", "--name", "base", "busybox", "sleep", "60"]);
    let out = net.ok(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        "busybox",
        "ip",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(out.contains("172.17.0.2"), "{out}");
    net.ok(&["rm", "-f", "base"]);
    no_leftovers(&net, &ct);
}

#[test]
fn connect_and_disconnect_at_runtime() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.ok(&["network", "create", "--subnet", "10.42.0.0/24", "back"]);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "app",
        "--network",
        "back",
        "busybox",
        "sleep",
        "60",
    ]);
    net.ok(&["run", "-d", "--name", "other", "busybox", "sleep", "60"]);
    net.ok(&[
        "network",
        "connect",
        "--alias",
        "db",
        "--ip",
        "10.42.0.50",
        "back",
        "other",
    ]);
    let out = net.ok(&["exec", "other", "ip", "-4", "addr"]);
    assert!(out.contains("10.42.0.50/24"), "{out}");
    net.ok(&["exec", "app", "ping", "-c1", "-W2", "db"]);
    net.ok(&["exec", "app", "ping", "-c1", "-W2", "other"]);
    let err = net.fails_with(&["network", "connect", "back", "other"], 1);
    assert!(err.contains("already exists"), "{err}");
    net.ok(&["network", "disconnect", "back", "other"]);
    let out = net.ok(&["exec", "other", "ip", "-4", "addr"]);
    assert!(!out.contains("10.42.0.50"), "{out}");
    let o = net.cmd(&["exec", "app", "ping", "-c1", "-W1", "db"]).run();
    assert_ne!(o.code, 0);
    net.ok(&["rm", "-f", "app", "other"]);
    net.ok(&["network", "rm", "back"]);
    no_leftovers(&net, &ct);
}

#[test]
fn bad_input_is_refused_with_dockers_messages() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.ok(&["network", "create", "--subnet", "10.10.0.0/16", "one"]);
    let e = net.fails_with(&["network", "create", "--subnet", "10.10.5.0/24", "two"], 1);
    assert!(
        e.contains("Pool overlaps with other one on this address space"),
        "{e}"
    );
    let e = net.fails_with(&["network", "create", "one"], 1);
    assert!(e.contains("network with name one already exists"), "{e}");
    let e = net.fails_with(
        &["run", "--rm", "--network", "nosuch", "busybox", "true"],
        125,
    );
    assert!(e.contains("network nosuch not found"), "{e}");
    let e = net.fails_with(&["create", "--network", "nosuch", "busybox"], 125);
    assert!(e.contains("network nosuch not found"), "{e}");
    for b in ["bridge", "host", "none"] {
        let e = net.fails_with(&["network", "rm", b], 1);
        assert!(
            e.contains("pre-defined network and cannot be removed"),
            "{e}"
        );
    }
    let e = net.fails_with(&["run", "--rm", "-p", "99999:80", "busybox", "true"], 125);
    assert!(e.contains("99999"), "{e}");
    let e = net.fails_with(
        &["run", "--rm", "--network-alias", "x", "busybox", "true"],
        125,
    );
    assert!(
        e.contains(
            "network-scoped alias is supported only for containers in user defined networks"
        ),
        "{e}"
    );
    let e = net.fails_with(
        &[
            "run",
            "--rm",
            "--network",
            "one",
            "--ip",
            "10.11.0.5",
            "busybox",
            "true",
        ],
        125,
    );
    assert!(
        e.contains("does not belong to any of this network's subnets"),
        "{e}"
    );
    let e = net.fails_with(
        &[
            "network",
            "create",
            "-o",
            "com.docker.network.bridge.name=lo",
            "takeover",
        ],
        1,
    );
    assert!(e.contains("already in use"), "{e}");
    assert!(net.links().contains(&"lo".to_string()));
    let e = net.fails_with(
        &[
            "run",
            "--rm",
            "--network",
            "one",
            "--network-alias",
            "a b",
            "busybox",
            "true",
        ],
        125,
    );
    assert!(e.contains("invalid alias"), "{e}");
    // Nothing half-created.
    assert_eq!(net.ok(&["ps", "-aq"]), "");
    let ls = net.ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ]);
    assert_eq!(
        ls,
        "bridge bridge local\nhost host local\nnone null local\none bridge local\n"
    );
    let q = net.ok(&["network", "ls", "-q", "--filter", "type=custom"]);
    assert_eq!(q.trim().len(), 12);
    let header = net.ok(&["network", "ls"]);
    assert!(
        header.starts_with("NETWORK ID     NAME      DRIVER    SCOPE\n"),
        "{header}"
    );
    // A network removed under a stopped container: starting it fails as in Docker.
    net.ok(&["network", "create", "gone"]);
    net.ok(&[
        "create",
        "--name",
        "orphan",
        "--network",
        "gone",
        "busybox",
        "true",
    ]);
    net.ok(&["network", "rm", "gone"]);
    let e = net.fails_with(&["start", "orphan"], 1);
    assert!(e.contains("network gone not found"), "{e}");
    net.ok(&["rm", "orphan"]);
    // `until=`: only networks created before the time go; unknown filters are refused.
    let kept = net.ok(&["network", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(
        kept, "",
        "a network made just now is newer than an hour ago"
    );
    let e = net.fails_with(&["network", "prune", "-f", "--filter", "color=red"], 1);
    assert!(e.contains("invalid filter 'color'"), "{e}");
    let pruned = net.ok(&["network", "prune", "-f", "--filter", "until=0s"]);
    assert_eq!(pruned, "Deleted Networks:\none\n\n");
    no_leftovers(&net, &ct);
}

#[test]
fn hundred_run_rm_cycles_leave_nothing() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    for i in 0..100 {
        let p = if i % 2 == 0 { "8080:80" } else { "8081:80" };
        net.ok(&["run", "--rm", "-p", p, "busybox", "true"]);
    }
    no_leftovers(&net, &ct);
    let rules = net.ruleset();
    assert!(
        !rules.contains("8080") && !rules.contains("8081"),
        "{rules}"
    );
}

fn ppid(pid: i32) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn wait_dead(pid: i32) {
    for _ in 0..100 {
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        // A zombie is dead too.
        if std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{pid} still alive");
}

#[test]
fn restart_reestablishes_and_a_crashed_monitor_is_cleaned_up() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.ok(&["network", "create", "app"]);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "svc",
        "--hostname",
        "svchost",
        "--network",
        "app",
        "-p",
        "8080:80",
        "busybox",
        "sleep",
        "60",
    ]);
    net.ok(&["restart", "-t", "1", "svc"]);
    let out = net.ok(&["exec", "svc", "ip", "-4", "addr", "show", "eth0"]);
    assert!(out.contains("172.18.0."), "{out}");
    // Name and --hostname resolve after the restart.
    net.ok(&[
        "run",
        "--rm",
        "--network",
        "app",
        "busybox",
        "ping",
        "-c1",
        "-W2",
        "svc",
    ]);
    net.ok(&[
        "run",
        "--rm",
        "--network",
        "app",
        "busybox",
        "ping",
        "-c1",
        "-W2",
        "svchost",
    ]);
    // Monitor and container killed: the next command repairs the state and the network.
    let pid: i32 = net
        .ok(&["inspect", "-f", "{{.State.Pid}}", "svc"])
        .trim()
        .parse()
        .unwrap();
    let mon = ppid(pid);
    assert!(ct.monitors().contains(&mon));
    let _ = std::process::Command::new("kill")
        .args(["-9", &mon.to_string()])
        .status();
    wait_dead(mon);
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
    wait_dead(pid);
    let st = net.ok(&["inspect", "-f", "{{.State.Status}}", "svc"]);
    assert_eq!(st.trim(), "exited");
    no_leftovers(&net, &ct);
    // And it starts again with its port.
    net.ok(&["start", "svc"]);
    assert_eq!(
        net.ok(&["port", "svc", "80/tcp"]),
        "0.0.0.0:8080\n[::]:8080\n"
    );
    net.ok(&["rm", "-f", "svc"]);
    no_leftovers(&net, &ct);
}

/// A one-answer DNS server on `addr`:53 inside the test's namespace (a thread of the test
/// that entered it), answering every A query with 192.0.2.7 until `stop` is set.
fn fake_upstream(
    ns: &str,
    addr: &str,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let ns = std::fs::File::open(ns).unwrap();
    let addr: std::net::Ipv4Addr = addr.parse().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        rustix::thread::move_into_link_name_space(
            std::os::fd::AsFd::as_fd(&ns),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .unwrap();
        let sock = std::net::UdpSocket::bind((addr, 53)).unwrap();
        sock.set_read_timeout(Some(std::time::Duration::from_millis(100)))
            .unwrap();
        tx.send(()).unwrap();
        let mut buf = [0u8; 512];
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                continue;
            };
            // Header + question as asked, then one A record pointing at the question.
            let mut end = 12;
            while end < n && buf[end] != 0 {
                end += 1 + buf[end] as usize;
            }
            end += 5;
            let qtype = u16::from_be_bytes([buf[end - 4], buf[end - 3]]);
            let mut out = buf[..end].to_vec();
            out[2] = 0x81;
            out[3] = 0x80;
            out[6..12].copy_from_slice(&[0, (qtype == 1) as u8, 0, 0, 0, 0]);
            if qtype == 1 {
                out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
            }
            let _ = sock.send_to(&out, from);
        }
    });
    rx.recv().unwrap();
    h
}

#[test]
fn embedded_dns_forwards_other_names_to_the_upstream() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.sh("ip link add tv0 type veth peer name tv1 && ip addr add 10.98.0.1/24 dev tv0 && ip link set tv1 up && ip link set tv0 up");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = fake_upstream(&net.path(), "10.98.0.1", stop.clone());
    net.ok(&["network", "create", "fwd"]);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "peer",
        "--network",
        "fwd",
        "busybox",
        "sleep",
        "60",
    ]);
    let out = net.ok(&[
        "run",
        "--rm",
        "--network",
        "fwd",
        "--dns",
        "10.98.0.1",
        "busybox",
        "sh",
        "-c",
        "nslookup example.test; nslookup peer",
    ]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    server.join().unwrap();
    assert!(out.contains("192.0.2.7"), "not forwarded:\n{out}");
    assert!(out.contains("172.18.0.2"), "peer not resolved:\n{out}");
    net.ok(&["rm", "-f", "peer"]);
    no_leftovers(&net, &ct);
}

#[test]
fn port_ranges_and_publish_all() {
    let ct = Ct::new();
    let net = TestNet::new(&ct);
    net.ok(&[
        "run",
        "-d",
        "--name",
        "rr",
        "-p",
        "8000-8001:80-81",
        "-p",
        "127.0.0.1:9000-9005:90",
        "--expose",
        "7000",
        "-P",
        "busybox",
        "sleep",
        "60",
    ]);
    let all = net.ok(&["port", "rr"]);
    assert!(all.contains("80/tcp -> 0.0.0.0:8000\n"), "{all}");
    assert!(all.contains("81/tcp -> 0.0.0.0:8001\n"), "{all}");
    assert!(all.contains("90/tcp -> 127.0.0.1:9000\n"), "{all}");
    assert!(
        all.lines()
            .any(|l| l.starts_with("7000/tcp -> 0.0.0.0:") && !l.ends_with(":7000")),
        "-P gives exposed ports a random host port: {all}"
    );
    // The next container on the same host range gets the next free port of it.
    net.ok(&[
        "run",
        "-d",
        "--name",
        "ss",
        "-p",
        "127.0.0.1:9000-9005:90",
        "busybox",
        "sleep",
        "60",
    ]);
    assert_eq!(net.ok(&["port", "ss", "90"]), "127.0.0.1:9001\n");
    net.ok(&["rm", "-f", "rr", "ss"]);
    no_leftovers(&net, &ct);
}
