//! A container's networking while it runs: set up by `start` (namespace, veths, addresses,
//! published ports, DNS records), torn down by whoever sees it stop (the monitor's finisher,
//! `rm`, or [`crate::containers::lifecycle::reconcile`] after a monitor died).

use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_net::{ipam, link, netns, nft};
use berth_runtime::spec::NetworkNamespace;
use berth_store::networks::{self as nrows, AttachmentRow, PortRow};
use berth_store::Db;

use super::{netns_path, records_path, EndpointSettings, Network};
use crate::containers::paths::Paths;
use crate::containers::Container;
use crate::{Engine, EngineError};

/// Makes sure the network's bridge and firewall rules exist in the current namespace
/// (`force`: even when the bridge is there).
pub(crate) fn realize(net: &Network, force: bool) -> Result<(), EngineError> {
    if net.row.driver != "bridge" {
        return Ok(());
    }
    let (Some(subnet), Some(gw)) = (net.subnet(), net.gateway()) else {
        return Ok(());
    };
    let bridge = net.bridge();
    if !force && link::exists(&bridge) {
        return Ok(());
    }
    link::create_bridge(&bridge, gw, &subnet)?;
    let rules = net.rules().expect("subnet checked");
    nft::apply(&(nft::base_script() + &nft::network_add_script(&rules)))?;
    Ok(())
}

/// Removes the network's bridge and rules.
pub(crate) fn unrealize(net: &Network) -> Result<(), EngineError> {
    if net.row.driver != "bridge" {
        return Ok(());
    }
    if let Some(rules) = net.rules() {
        if nft::table_exists() {
            // Missing elements (a half-made network) make the transaction fail: try the
            // whole, then nothing more (the chains are berth's own and harmless).
            let _ = nft::apply(&nft::network_del_script(&rules));
        }
    }
    link::delete(&[net.bridge()])?;
    Ok(())
}

/// Rewrites a user-defined network's records file from the database (atomically).
pub(crate) fn write_records(
    conn: &berth_store::networks::Connection,
    run: &Path,
    net: &Network,
) -> Result<(), EngineError> {
    if !net.has_dns() {
        return Ok(());
    }
    let path = records_path(run, &net.row.id);
    let io = crate::error::io_err;
    let mut text = String::new();
    let atts = nrows::attachments_to(conn, &net.row.id).unwrap_or_default();
    for a in atts {
        let Some(ip) = &a.ip else { continue };
        let Ok(Some(row)) = berth_store::containers::get(conn, &a.container_id) else {
            continue;
        };
        let doc: crate::containers::ContainerDoc =
            serde_json::from_str(&row.config).unwrap_or_default();
        let ep: EndpointSettings = serde_json::from_str(&a.config).unwrap_or_default();
        let mut names = vec![row.name.clone(), row.id[..12].to_string()];
        if !doc.config.hostname.is_empty() {
            names.push(doc.config.hostname.clone());
        }
        names.extend(ep.alias_list().iter().cloned());
        text.push_str(&format!("{ip} {}\n", names.join(" ")));
    }
    let dir = run.join("networks");
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

/// Writes the container's `dns.conf` for its monitor (networks to answer from, upstream
/// servers), or removes it when the container is on no user-defined network.
pub(crate) fn write_dns_conf(
    conn: &berth_store::networks::Connection,
    run: &Path,
    container_id: &str,
) -> Result<(), EngineError> {
    let dir = run.join("containers").join(container_id);
    let path = dir.join("dns.conf");
    let atts = nrows::attachments_of(conn, container_id).unwrap_or_default();
    let mut nets = Vec::new();
    for a in atts.iter().filter(|a| a.ip.is_some()) {
        if let Ok(Some(r)) = nrows::get(conn, &a.network_id) {
            let n = Network::from_row(r);
            if n.has_dns() {
                nets.push(n.row.id.clone());
            }
        }
    }
    if nets.is_empty() {
        let _ = std::fs::remove_file(&path);
        return Ok(());
    }
    let doc: crate::containers::ContainerDoc = berth_store::containers::get(conn, container_id)
        .ok()
        .flatten()
        .and_then(|r| serde_json::from_str(&r.config).ok())
        .unwrap_or_default();
    let mut text = String::new();
    for n in nets {
        text.push_str(&format!("network {n}\n"));
    }
    for u in upstreams(&doc.host_config.dns) {
        text.push_str(&format!("upstream {u}\n"));
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(crate::error::io_err(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(crate::error::io_err(&path))?;
    Ok(())
}

/// `--dns` servers, else the host's.
fn upstreams(dns: &[String]) -> Vec<String> {
    if !dns.is_empty() {
        return dns.to_vec();
    }
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .map(|a| a.trim().to_string())
        .filter(|a| a.parse::<Ipv4Addr>().is_ok())
        .collect()
}

fn port_rule(p: &PortRow) -> Option<nft::PortRule> {
    Some(nft::PortRule {
        proto: p.proto.clone(),
        host_ip: if p.host_ip.is_empty() || p.host_ip == "0.0.0.0" {
            None
        } else {
            Some(p.host_ip.parse().ok()?)
        },
        host_port: p.host_port,
        container_ip: p.container_ip.parse().ok()?,
        container_port: p.container_port,
    })
}

/// Tears down a container's networking: port rules, veths, the namespace, addresses and
/// DNS records. Idempotent, cheap when there is nothing to do; keeps going after a failure.
pub(crate) fn teardown(db: &mut Db, run: &Path, container_id: &str) -> Result<(), String> {
    let conn = db.conn();
    let atts = nrows::attachments_of(conn, container_id).map_err(|e| e.to_string())?;
    let ports = nrows::ports_of(conn, container_id).map_err(|e| e.to_string())?;
    let live: Vec<&AttachmentRow> = atts.iter().filter(|a| a.ip.is_some()).collect();
    let ns = netns_path(run, container_id);
    if live.is_empty() && ports.is_empty() && !ns.exists() {
        return Ok(());
    }
    let mut errors = Vec::new();
    // The veths and the port rules go in parallel: both wait for the kernel (RCU grace
    // periods), not for the CPU.
    let veths: Vec<String> = live
        .iter()
        .map(|a| link::host_veth_name(container_id, &a.network_id))
        .collect();
    let deleting = match link::delete_start(&veths) {
        Ok(p) => p,
        Err(e) => {
            errors.push(e.to_string());
            None
        }
    };
    if !ports.is_empty() {
        let rules: Vec<nft::PortRule> = ports.iter().filter_map(port_rule).collect();
        if let Err(e) = nft::apply(&nft::ports_del_script(&rules)) {
            errors.push(e.to_string());
        }
    }
    if let Some(p) = deleting {
        if let Err(e) = p.wait() {
            errors.push(e.to_string());
        }
    }
    if let Err(e) = netns::remove(&ns) {
        errors.push(e.to_string());
    }
    let nets: Vec<String> = live.iter().map(|a| a.network_id.clone()).collect();
    let cid = container_id.to_string();
    let cleared = db.write(|tx| {
        for mut a in nrows::attachments_of(tx, &cid)? {
            if a.ip.is_some() {
                a.ip = None;
                a.mac.clear();
                nrows::put_attachment(tx, &a)?;
            }
        }
        nrows::delete_ports_of(tx, &cid)
    });
    if let Err(e) = cleared {
        errors.push(e.to_string());
    }
    for nid in nets {
        if let Ok(Some(r)) = nrows::get(db.conn(), &nid) {
            let _ = write_records(db.conn(), run, &Network::from_row(r));
        }
    }
    let _ = std::fs::remove_file(run.join("containers").join(container_id).join("dns.conf"));
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

/// A requested host port: one port, a range to pick from, or any (`None`).
fn host_ports(spec: &str) -> Result<Option<(u16, u16)>, EngineError> {
    if spec.is_empty() {
        return Ok(None);
    }
    let bad = || EngineError::InvalidArgument(format!("invalid host port: {spec}"));
    let (a, b) = spec.split_once('-').unwrap_or((spec, spec));
    let (a, b): (u16, u16) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a > b {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

/// Whether `port` can be bound on the host (nothing else listens there).
fn bindable(proto: &str, port: u16) -> bool {
    let addr = (Ipv4Addr::UNSPECIFIED, port);
    if proto == "udp" {
        std::net::UdpSocket::bind(addr).is_ok()
    } else {
        std::net::TcpListener::bind(addr).is_ok()
    }
}

/// The ports a container publishes: `-p` bindings, and with `-P` every exposed port.
fn wanted_ports(c: &Container) -> BTreeMap<String, Vec<crate::containers::PortBinding>> {
    let hc = &c.doc.host_config;
    let mut want = hc.port_bindings.clone();
    if hc.publish_all_ports {
        for p in c.doc.config.exposed_ports.iter().flat_map(|m| m.keys()) {
            want.entry(p.clone())
                .or_insert_with(|| vec![crate::containers::PortBinding::default()]);
        }
    }
    want
}

fn conflicts(a: &PortRow, proto: &str, host_ip: &str, port: u16) -> bool {
    a.proto == proto
        && a.host_port == port
        && (a.host_ip.is_empty() || host_ip.is_empty() || a.host_ip == host_ip)
}

/// What `setup` hands back to `start`.
pub(crate) struct NetSetup {
    /// The namespace for the OCI spec.
    pub(crate) namespace: NetworkNamespace,
}

impl Engine {
    /// Sets up the container's networking before its process starts; on failure nothing is
    /// left behind.
    pub(crate) fn net_setup(
        &mut self,
        c: &Container,
        paths: &Paths,
    ) -> Result<NetSetup, EngineError> {
        let mode = c.doc.host_config.network_mode.as_str();
        let run = self.config.run.clone();
        match mode {
            "host" => {
                return Ok(NetSetup {
                    namespace: NetworkNamespace::Host,
                })
            }
            "none" => {
                return Ok(NetSetup {
                    namespace: NetworkNamespace::New,
                })
            }
            _ => {}
        }
        if let Some(other) = mode.strip_prefix("container:") {
            let o = self.container(other)?;
            if !matches!(o.row.state.as_str(), "running" | "paused") {
                return Err(EngineError::Conflict(format!(
                    "cannot join network namespace of a non running container: {}",
                    o.row.id
                )));
            }
            let ns = netns_path(&run, &o.row.id);
            let path = if ns.exists() {
                ns
            } else {
                PathBuf::from(format!("/proc/{}/ns/net", o.row.pid))
            };
            // Share the other container's name resolution, as Docker does.
            let op = self.container_paths(&o.row.id);
            for (from, to) in [(&op.hosts, &paths.hosts), (&op.resolv, &paths.resolv)] {
                let _ = std::fs::copy(from, to);
            }
            return Ok(NetSetup {
                namespace: NetworkNamespace::Path(path),
            });
        }
        let _ = teardown(self.store.db_mut(), &run, &c.row.id);
        let atts = nrows::attachments_of(self.store.db().conn(), &c.row.id)
            .map_err(super::db_err(self.store.db()))?;
        if atts.is_empty() {
            // A network removed while the container was stopped: Docker's error on start.
            if !matches!(mode, "" | "default" | "bridge") {
                self.network(mode)?;
            }
            return Ok(NetSetup {
                namespace: NetworkNamespace::New,
            });
        }
        match self.net_setup_inner(c, paths, &atts) {
            Ok(s) => Ok(s),
            Err(e) => {
                let _ = teardown(self.store.db_mut(), &run, &c.row.id);
                Err(e)
            }
        }
    }

    fn net_setup_inner(
        &mut self,
        c: &Container,
        paths: &Paths,
        atts: &[AttachmentRow],
    ) -> Result<NetSetup, EngineError> {
        let run = self.config.run.clone();
        let mut nets = Vec::new();
        for a in atts {
            let mut n = self.network(&a.network_id)?;
            if n.is_builtin() && n.row.name == "bridge" {
                n = self.bridge_network()?;
            }
            realize(&n, false)?;
            nets.push(n);
        }
        // Addresses and ports, in one transaction.
        let want = wanted_ports(c);
        let cid = c.row.id.clone();
        let mut failure: Option<EngineError> = None;
        let nets_ref = &nets;
        let assigned = self.store.db_mut().write(|tx| {
            let mut out: Vec<(Ipv4Addr, String)> = Vec::new();
            for (a, n) in atts.iter().zip(nets_ref) {
                let ep: EndpointSettings = serde_json::from_str(&a.config).unwrap_or_default();
                let (Some(subnet), Some(gw)) = (n.subnet(), n.gateway()) else {
                    failure = Some(EngineError::InvalidArgument(format!(
                        "network {} has no subnet",
                        n.row.name
                    )));
                    return Err(nrows::SqlError::QueryReturnedNoRows);
                };
                let used: HashSet<Ipv4Addr> = nrows::attachments_to(tx, &n.row.id)?
                    .iter()
                    .filter_map(|x| x.ip.as_deref().and_then(|i| i.parse().ok()))
                    .collect();
                let ip = match ep.requested_ip().and_then(|i| i.parse::<Ipv4Addr>().ok()) {
                    Some(ip) => {
                        if used.contains(&ip) || ip == gw {
                            failure = Some(EngineError::Conflict(format!(
                                "failed to set up container networking: Address already in use ({ip})"
                            )));
                            return Err(nrows::SqlError::QueryReturnedNoRows);
                        }
                        ip
                    }
                    None => {
                        let range = n.doc.ip_range.parse().ok();
                        match ipam::allocate(&subnet, range.as_ref(), gw, &used) {
                            Some(ip) => ip,
                            None => {
                                failure = Some(EngineError::Conflict(format!(
                                    "no available IPv4 addresses on this network's address pools: {} ({})",
                                    n.row.name, n.row.id
                                )));
                                return Err(nrows::SqlError::QueryReturnedNoRows);
                            }
                        }
                    }
                };
                let mut row = a.clone();
                row.ip = Some(ip.to_string());
                row.mac = ipam::mac_for(ip);
                nrows::put_attachment(tx, &row)?;
                out.push((ip, row.mac.clone()));
            }
            // Published ports go to the first network's address.
            let target = out[0].0;
            let mut taken = nrows::ports(tx)?;
            for (key, bindings) in &want {
                let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
                let Ok(cport) = port.parse::<u16>() else {
                    continue;
                };
                for b in bindings {
                    let host_ip = match b.host_ip.as_str() {
                        "0.0.0.0" => "",
                        ip if ip.contains(':') => continue, // no IPv6 forwarding yet
                        ip => ip,
                    };
                    let range = match host_ports(&b.host_port) {
                        Ok(r) => r,
                        Err(e) => {
                            failure = Some(e);
                            return Err(nrows::SqlError::QueryReturnedNoRows);
                        }
                    };
                    let free = |p: u16, taken: &[PortRow]| {
                        !taken.iter().any(|t| conflicts(t, proto, host_ip, p))
                    };
                    let chosen = match range {
                        Some((a, b)) if a == b => {
                            if !free(a, &taken) {
                                let shown = if host_ip.is_empty() { "0.0.0.0" } else { host_ip };
                                failure = Some(EngineError::Conflict(format!(
                                    "driver failed programming external connectivity on endpoint {} ({}): Bind for {shown}:{a} failed: port is already allocated",
                                    c.row.name, super::endpoint_id(&c.row.id, &nets_ref[0].row.id)
                                )));
                                return Err(nrows::SqlError::QueryReturnedNoRows);
                            }
                            Some(a)
                        }
                        Some((a, b)) => (a..=b).find(|p| free(*p, &taken) && bindable(proto, *p)),
                        None => (32768..=60999).find(|p| free(*p, &taken) && bindable(proto, *p)),
                    };
                    let Some(hp) = chosen else {
                        failure = Some(EngineError::Conflict(format!(
                            "Bind for {}:{} failed: port is already allocated",
                            if host_ip.is_empty() { "0.0.0.0" } else { host_ip },
                            b.host_port
                        )));
                        return Err(nrows::SqlError::QueryReturnedNoRows);
                    };
                    let row = PortRow {
                        proto: proto.to_string(),
                        host_ip: host_ip.to_string(),
                        host_port: hp,
                        container_id: cid.clone(),
                        container_port: cport,
                        container_ip: target.to_string(),
                    };
                    nrows::insert_port(tx, &row)?;
                    taken.push(row);
                }
            }
            Ok(out)
        });
        let assigned = match assigned {
            Ok(a) => a,
            Err(e) => return Err(failure.unwrap_or_else(|| e.into())),
        };
        // Kernel objects.
        let ns = netns_path(&run, &c.row.id);
        let nsdir = run.join("netns");
        berth_store::fsutil::ensure_private_dir(&nsdir).map_err(crate::error::io_err(&nsdir))?;
        netns::create(&ns)?;
        let mut eps = Vec::new();
        let mut gateway_set = false;
        for (i, ((a, n), (ip, mac))) in atts.iter().zip(&nets).zip(&assigned).enumerate() {
            let subnet = n.subnet().expect("checked");
            let default_gateway = if !gateway_set && !n.doc.internal {
                gateway_set = true;
                n.gateway()
            } else {
                None
            };
            eps.push(link::Endpoint {
                host_if: link::host_veth_name(&c.row.id, &a.network_id),
                container_if: format!("eth{i}"),
                bridge: n.bridge(),
                ip: *ip,
                prefix: subnet.prefix(),
                mac: mac.clone(),
                default_gateway,
            });
        }
        link::attach(&ns, &eps, true)?;
        let ports = nrows::ports_of(self.store.db().conn(), &c.row.id)
            .map_err(super::db_err(self.store.db()))?;
        if !ports.is_empty() {
            let rules: Vec<nft::PortRule> = ports.iter().filter_map(port_rule).collect();
            nft::apply(&nft::ports_add_script(&rules))?;
        }
        for n in &nets {
            write_records(self.store.db().conn(), &run, n)?;
        }
        write_dns_conf(self.store.db().conn(), &run, &c.row.id)?;
        self.patch_etc_files(c, paths, &nets, &assigned)?;
        Ok(NetSetup {
            namespace: NetworkNamespace::Path(ns),
        })
    }

    /// `/etc/hosts` gets the container's own address; on a user-defined network
    /// `/etc/resolv.conf` points at the embedded DNS server.
    fn patch_etc_files(
        &self,
        c: &Container,
        paths: &Paths,
        nets: &[Network],
        assigned: &[(Ipv4Addr, String)],
    ) -> Result<(), EngineError> {
        let io = crate::error::io_err;
        let mut hosts = std::fs::read_to_string(&paths.hosts).unwrap_or_default();
        hosts.push_str(&format!("{}\t{}\n", assigned[0].0, c.doc.config.hostname));
        let tmp = paths.hosts.with_extension("tmp");
        std::fs::write(&tmp, hosts).map_err(io(&tmp))?;
        std::fs::rename(&tmp, &paths.hosts).map_err(io(&paths.hosts))?;
        if nets.iter().any(Network::has_dns) {
            let hc = &c.doc.host_config;
            let old = std::fs::read_to_string(&paths.resolv).unwrap_or_default();
            let mut out = String::from("nameserver 127.0.0.11\n");
            for l in old.lines() {
                if l.starts_with("search") || l.starts_with("domain") {
                    out.push_str(l);
                    out.push('\n');
                }
            }
            let mut opts = vec!["ndots:0".to_string()];
            opts.extend(hc.dns_options.iter().cloned());
            out.push_str(&format!("options {}\n", opts.join(" ")));
            let tmp = paths.resolv.with_extension("tmp");
            std::fs::write(&tmp, out).map_err(io(&tmp))?;
            std::fs::rename(&tmp, &paths.resolv).map_err(io(&paths.resolv))?;
        }
        Ok(())
    }

    /// `network connect` of a running container: a new interface in its namespace.
    pub(crate) fn connect_running(
        &mut self,
        c: &Container,
        net: &Network,
        att: &AttachmentRow,
    ) -> Result<(), EngineError> {
        let run = self.config.run.clone();
        let ns = netns_path(&run, &c.row.id);
        if !ns.exists() {
            return Err(EngineError::Conflict(format!(
                "container {} has no network namespace of berth's to connect",
                c.row.id
            )));
        }
        realize(net, false)?;
        let (Some(subnet), Some(gw)) = (net.subnet(), net.gateway()) else {
            return Err(EngineError::InvalidArgument(format!(
                "network {} has no subnet",
                net.row.name
            )));
        };
        let ep: EndpointSettings = serde_json::from_str(&att.config).unwrap_or_default();
        let mut failure = None;
        let a = att.clone();
        let nid = net.row.id.clone();
        let range = net.doc.ip_range.parse().ok();
        let res = self.store.db_mut().write(|tx| {
            let used: HashSet<Ipv4Addr> = nrows::attachments_to(tx, &nid)?
                .iter()
                .filter_map(|x| x.ip.as_deref().and_then(|i| i.parse().ok()))
                .collect();
            let ip = match ep.requested_ip().and_then(|i| i.parse::<Ipv4Addr>().ok()) {
                Some(ip) if used.contains(&ip) || ip == gw => None,
                Some(ip) => Some(ip),
                None => ipam::allocate(&subnet, range.as_ref(), gw, &used),
            };
            let Some(ip) = ip else {
                failure = Some(EngineError::Conflict("Address already in use".into()));
                return Err(nrows::SqlError::QueryReturnedNoRows);
            };
            let mut row = a.clone();
            row.ip = Some(ip.to_string());
            row.mac = ipam::mac_for(ip);
            nrows::put_attachment(tx, &row)?;
            Ok((ip, row.mac))
        });
        let (ip, mac) = match res {
            Ok(x) => x,
            Err(e) => return Err(failure.unwrap_or_else(|| e.into())),
        };
        let ep = link::Endpoint {
            host_if: link::host_veth_name(&c.row.id, &net.row.id),
            container_if: format!("eth{}", att.idx),
            bridge: net.bridge(),
            ip,
            prefix: subnet.prefix(),
            mac,
            default_gateway: None,
        };
        if let Err(e) = link::attach(&ns, &[ep], false) {
            let mut row = att.clone();
            row.ip = None;
            let _ = self
                .store
                .db_mut()
                .write(|tx| nrows::put_attachment(tx, &row));
            return Err(e.into());
        }
        write_records(self.store.db().conn(), &run, net)?;
        write_dns_conf(self.store.db().conn(), &run, &c.row.id)?;
        Ok(())
    }

    /// Tears down a container's networking (see [`teardown`]).
    pub(crate) fn net_teardown(&mut self, container_id: &str) {
        let run = self.config.run.clone();
        if let Err(e) = teardown(self.store.db_mut(), &run, container_id) {
            tracing::warn!(container_id, error = %e, "network teardown incomplete");
        }
    }

    /// A container's live endpoints: (network, attachment), in order.
    pub fn container_endpoints(
        &self,
        container_id: &str,
    ) -> Result<Vec<(Network, AttachmentRow)>, EngineError> {
        let conn = self.store.db().conn();
        let atts =
            nrows::attachments_of(conn, container_id).map_err(super::db_err(self.store.db()))?;
        let mut out = Vec::new();
        for a in atts {
            if let Ok(Some(r)) = nrows::get(conn, &a.network_id) {
                out.push((Network::from_row(r), a));
            }
        }
        Ok(out)
    }

    /// A container's published ports.
    pub fn container_ports(&self, container_id: &str) -> Result<Vec<PortRow>, EngineError> {
        nrows::ports_of(self.store.db().conn(), container_id)
            .map_err(super::db_err(self.store.db()))
    }
}

/// Docker's `NetworkSettings.Ports` value for a container: every exposed or published port,
/// with its host bindings while it runs (`0.0.0.0` and `::` for all addresses), else null.
pub fn ports_value(
    exposed: impl Iterator<Item = String>,
    ports: &[PortRow],
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::{json, Value};
    let mut m = serde_json::Map::new();
    for k in exposed {
        m.insert(k, Value::Null);
    }
    for p in ports {
        let key = format!("{}/{}", p.container_port, p.proto);
        let entry = m.entry(key).or_insert_with(|| json!([]));
        if entry.is_null() {
            *entry = json!([]);
        }
        let arr = entry.as_array_mut().expect("array");
        if p.host_ip.is_empty() {
            arr.push(json!({"HostIp": "0.0.0.0", "HostPort": p.host_port.to_string()}));
            arr.push(json!({"HostIp": "::", "HostPort": p.host_port.to_string()}));
        } else {
            arr.push(json!({"HostIp": p.host_ip, "HostPort": p.host_port.to_string()}));
        }
    }
    m
}

impl Engine {
    /// Fills `NetworkSettings` of a container's inspect document from its endpoints.
    pub(crate) fn fill_network_settings(&self, c: &Container, ns: &mut serde_json::Value) {
        use serde_json::{json, Value};
        let mode = c.doc.host_config.network_mode.as_str();
        if mode == "host" || mode == "none" || mode.starts_with("container:") {
            return;
        }
        let Ok(eps) = self.container_endpoints(&c.row.id) else {
            return;
        };
        let ports = self.container_ports(&c.row.id).unwrap_or_default();
        let exposed = c
            .doc
            .config
            .exposed_ports
            .iter()
            .flat_map(|m| m.keys().cloned())
            .chain(c.doc.host_config.port_bindings.keys().cloned());
        ns["Ports"] = Value::Object(ports_value(exposed, &ports));
        let mut networks = serde_json::Map::new();
        for (i, (n, a)) in eps.iter().enumerate() {
            let ep: EndpointSettings = serde_json::from_str(&a.config).unwrap_or_default();
            let live = a.ip.is_some();
            let prefix = n.subnet().map(|s| s.prefix()).unwrap_or(0);
            let mut dns_names = Vec::new();
            if n.has_dns() {
                dns_names.push(c.row.name.clone());
                dns_names.extend(ep.alias_list().iter().cloned());
                dns_names.push(c.short_id().to_string());
            }
            let v = json!({
                "IPAMConfig": ep.ipam_config,
                "Links": Value::Null,
                "Aliases": ep.aliases,
                "MacAddress": a.mac,
                "DriverOpts": Value::Null,
                "GwPriority": 0,
                "NetworkID": n.row.id,
                "EndpointID": if live { super::endpoint_id(&c.row.id, &n.row.id) } else { String::new() },
                "Gateway": if live { n.doc.gateway.clone() } else { String::new() },
                "IPAddress": a.ip.clone().unwrap_or_default(),
                "IPPrefixLen": if live { prefix } else { 0 },
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "DNSNames": if dns_names.is_empty() { Value::Null } else { json!(dns_names) },
            });
            if i == 0 && n.is_builtin() {
                for k in [
                    "EndpointID",
                    "Gateway",
                    "IPAddress",
                    "IPPrefixLen",
                    "MacAddress",
                ] {
                    ns[k] = v[k].clone();
                }
            }
            networks.insert(n.row.name.clone(), v);
        }
        if !networks.is_empty() {
            ns["Networks"] = Value::Object(networks);
        }
        if c.row.state == "running" || c.row.state == "paused" {
            let path = super::netns_path(&self.config.run, &c.row.id);
            if path.exists() {
                ns["SandboxKey"] = json!(path);
                ns["SandboxID"] = json!(super::endpoint_id(&c.row.id, "sandbox"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(proto: &str, host_ip: &str, host_port: u16) -> PortRow {
        PortRow {
            proto: proto.into(),
            host_ip: host_ip.into(),
            host_port,
            container_id: "c".into(),
            container_port: 80,
            container_ip: "172.17.0.2".into(),
        }
    }

    #[test]
    fn host_port_specs() {
        assert_eq!(host_ports("").unwrap(), None);
        assert_eq!(host_ports("8080").unwrap(), Some((8080, 8080)));
        assert_eq!(host_ports("8000-8010").unwrap(), Some((8000, 8010)));
        assert!(host_ports("9-1").is_err());
        assert!(host_ports("x").is_err());
    }

    #[test]
    fn port_conflicts_like_dockers_allocator() {
        let all = port("tcp", "", 8080);
        assert!(conflicts(&all, "tcp", "127.0.0.1", 8080));
        assert!(conflicts(&all, "tcp", "", 8080));
        assert!(!conflicts(&all, "udp", "", 8080));
        assert!(!conflicts(&all, "tcp", "", 8081));
        let one = port("tcp", "127.0.0.1", 8080);
        assert!(!conflicts(&one, "tcp", "10.0.0.1", 8080));
        assert!(conflicts(&one, "tcp", "", 8080));
    }

    #[test]
    fn ports_value_lists_both_families_for_all_addresses() {
        let v = ports_value(
            ["90/tcp".to_string()].into_iter(),
            &[port("tcp", "", 8080), port("udp", "127.0.0.1", 53)],
        );
        assert_eq!(v["90/tcp"], serde_json::Value::Null);
        assert_eq!(v["80/tcp"][0]["HostIp"], "0.0.0.0");
        assert_eq!(v["80/tcp"][1]["HostIp"], "::");
        assert_eq!(v["80/tcp"][1]["HostPort"], "8080");
        assert_eq!(v["80/udp"][0]["HostIp"], "127.0.0.1");
    }

    #[test]
    fn port_rules_from_rows() {
        let r = port_rule(&port("tcp", "", 8080)).unwrap();
        assert_eq!(r.host_ip, None);
        let r = port_rule(&port("udp", "127.0.0.1", 53)).unwrap();
        assert_eq!(r.host_ip, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(r.container_ip, Ipv4Addr::new(172, 17, 0, 2));
    }
}
