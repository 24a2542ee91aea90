//! Networks: the built-in `bridge`, `host` and `none`, user-defined bridge networks
//! (`network create/ls/inspect/rm/prune/connect/disconnect`), and what a container gets on
//! them when it starts ([`setup`]).
//!
//! # Design
//! The database holds the truth: networks (id, name, driver and a JSON document with the
//! IPAM and options), containers' attachments (the endpoint configuration, plus address and
//! MAC while the container runs) and published ports. The kernel objects are derived from
//! it and named after ids, so any berth process can tear them down:
//! bridges (`berth0` for `bridge`, `br-<id12>` otherwise), host-side veths
//! ([`berth_net::link::host_veth_name`]), the container's namespace at
//! `$BERTH_RUN/netns/<id>` and berth's nftables table. A bridge and its rules are created
//! when the network is created and re-created when a container starts on it and they are
//! missing (after a reboot, or in another network namespace).
//!
//! Name resolution on user-defined networks: each network has a records file
//! `$BERTH_RUN/networks/<id>.hosts` (hosts-file shaped, rewritten atomically whenever a
//! container joins or leaves), and each container on one has `dns.conf` in its run
//! directory naming its networks and upstream servers. The container's monitor serves DNS on
//! 127.0.0.11:53 inside the container's namespace from those files (see
//! `containers::monitor::dns`), so there is no daemon and no per-network server process.

pub mod setup;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use berth_net::ipam::{self, Subnet};
use berth_store::networks::{self as nrows, NetworkRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::{Engine, EngineError};

/// A network's configuration document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkDoc {
    /// `a.b.c.d/n` (empty until chosen, for `bridge`).
    pub subnet: String,
    /// The bridge's address.
    pub gateway: String,
    /// `--ip-range`: where container addresses come from.
    pub ip_range: String,
    /// `--internal`.
    pub internal: bool,
    /// `--attachable`.
    pub attachable: bool,
    /// Whether the user gave the subnet (`--ip` needs one).
    pub user_subnet: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o`.
    pub options: BTreeMap<String, String>,
    /// The bridge device.
    pub bridge: String,
}

/// A network: its row and parsed document.
#[derive(Debug, Clone)]
pub struct Network {
    /// The stored row.
    pub row: NetworkRow,
    /// The parsed document.
    pub doc: NetworkDoc,
}

impl Network {
    fn from_row(row: NetworkRow) -> Network {
        let doc = serde_json::from_str(&row.doc).unwrap_or_default();
        Network { row, doc }
    }

    /// `bridge`, `host` or `none`.
    pub fn is_builtin(&self) -> bool {
        matches!(self.row.name.as_str(), "bridge" | "host" | "none") && self.row.created == 0
    }

    /// Whether containers on it resolve each other by name (user-defined bridges).
    pub fn has_dns(&self) -> bool {
        self.row.driver == "bridge" && !self.is_builtin()
    }

    /// The 12-hex short id.
    pub fn short_id(&self) -> &str {
        &self.row.id[..12.min(self.row.id.len())]
    }

    /// The bridge device name.
    pub fn bridge(&self) -> String {
        if !self.doc.bridge.is_empty() {
            self.doc.bridge.clone()
        } else if self.is_builtin() {
            "berth0".into()
        } else {
            format!("br-{}", self.short_id())
        }
    }

    /// The subnet, once chosen.
    pub fn subnet(&self) -> Option<Subnet> {
        self.doc.subnet.parse().ok()
    }

    /// The gateway (the bridge's address).
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.doc.gateway.parse().ok()
    }

    fn rules(&self) -> Option<berth_net::nft::NetworkRules> {
        Some(berth_net::nft::NetworkRules {
            short_id: self.short_id().to_string(),
            bridge: self.bridge(),
            subnet: self.subnet()?,
            internal: self.doc.internal,
        })
    }
}

/// An endpoint's configuration, in Docker's `EndpointSettings` shape (the part berth uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    /// `--ip`.
    #[serde(rename = "IPAMConfig", skip_serializing_if = "Option::is_none")]
    pub ipam_config: Option<EndpointIpam>,
    /// `--network-alias` / `--alias`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<String>>,
}

/// `EndpointSettings.IPAMConfig`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EndpointIpam {
    /// The requested IPv4 address.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
}

impl EndpointSettings {
    fn requested_ip(&self) -> Option<&str> {
        self.ipam_config
            .as_ref()
            .map(|c| c.ipv4_address.as_str())
            .filter(|a| !a.is_empty())
    }

    fn alias_list(&self) -> &[String] {
        self.aliases.as_deref().unwrap_or(&[])
    }
}

/// `network create`'s request.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    /// The name.
    pub name: String,
    /// `--driver` (`bridge`).
    pub driver: String,
    /// `--subnet`.
    pub subnet: Option<String>,
    /// `--gateway`.
    pub gateway: Option<String>,
    /// `--ip-range`.
    pub ip_range: Option<String>,
    /// `--internal`.
    pub internal: bool,
    /// `--attachable`.
    pub attachable: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
    /// `-o`.
    pub options: BTreeMap<String, String>,
}

/// Where the records file of a network lives.
pub(crate) fn records_path(run: &Path, network_id: &str) -> PathBuf {
    run.join("networks").join(format!("{network_id}.hosts"))
}

/// The namespace file of a container.
pub(crate) fn netns_path(run: &Path, container_id: &str) -> PathBuf {
    run.join("netns").join(container_id)
}

pub(crate) fn db_err(db: &berth_store::Db) -> impl Fn(nrows::SqlError) -> EngineError + '_ {
    move |e| EngineError::from(db.err(e))
}

fn new_id() -> String {
    use rand::Rng;
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    hex::encode(b)
}

fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphanumeric())
        && c.all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'))
}

impl Engine {
    /// Records a network event (Docker's attributes: `name`, `type`, and `container` for
    /// connect/disconnect).
    fn emit_network(&self, action: &str, net: &Network, container: Option<&str>) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), net.row.name.clone());
        attrs.insert("type".to_string(), net.row.driver.clone());
        if let Some(c) = container {
            attrs.insert("container".to_string(), c.to_string());
        }
        self.emit("network", action, &net.row.id, attrs);
    }

    /// Every network (built-in first, then by creation).
    pub fn networks(&self) -> Result<Vec<Network>, EngineError> {
        let db = self.store.db();
        Ok(nrows::list(db.conn())
            .map_err(db_err(db))?
            .into_iter()
            .map(Network::from_row)
            .collect())
    }

    /// Finds a network by full id, name or unique id prefix (Docker's order).
    pub fn network(&self, name_or_id: &str) -> Result<Network, EngineError> {
        let db = self.store.db();
        if let Some(r) = nrows::get(db.conn(), name_or_id).map_err(db_err(db))? {
            return Ok(Network::from_row(r));
        }
        if let Some(r) = nrows::by_name(db.conn(), name_or_id).map_err(db_err(db))? {
            return Ok(Network::from_row(r));
        }
        if !name_or_id.is_empty() && name_or_id.chars().all(|c| c.is_ascii_hexdigit()) {
            let lower = name_or_id.to_ascii_lowercase();
            let found: Vec<Network> = self
                .networks()?
                .into_iter()
                .filter(|n| n.row.id.starts_with(&lower))
                .collect();
            match found.len() {
                1 => return Ok(found.into_iter().next().expect("one")),
                0 => {}
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "network {name_or_id} is ambiguous ({} matches found on name)",
                        found.len()
                    )))
                }
            }
        }
        Err(EngineError::NoSuchNetwork(name_or_id.to_string()))
    }

    /// The `bridge` network with its subnet chosen (the first free default pool).
    pub(crate) fn bridge_network(&mut self) -> Result<Network, EngineError> {
        let n = self.network("bridge")?;
        if n.subnet().is_some() {
            return Ok(n);
        }
        let used = self.used_subnets(&n.row.id)?;
        let subnet = ipam::choose_subnet(&used, &ipam::routed_subnets()).ok_or_else(|| {
            EngineError::InvalidArgument(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
            )
        })?;
        let mut doc = n.doc.clone();
        doc.subnet = subnet.to_string();
        doc.gateway = subnet.first_host().to_string();
        let json = serde_json::to_string(&doc).unwrap_or_default();
        let id = n.row.id.clone();
        self.store
            .db_mut()
            .write(|tx| nrows::set_doc(tx, &id, &json))?;
        self.network(&id)
    }

    fn used_subnets(&self, except: &str) -> Result<Vec<Subnet>, EngineError> {
        Ok(self
            .networks()?
            .iter()
            .filter(|n| n.row.id != except)
            .filter_map(Network::subnet)
            .collect())
    }

    /// `network create`: returns the new network's id.
    pub fn network_create(&mut self, req: NetworkCreate) -> Result<String, EngineError> {
        let inv = |m: String| EngineError::InvalidArgument(m);
        if !valid_name(&req.name) {
            return Err(inv(format!(
                "invalid name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                req.name
            )));
        }
        match req.driver.as_str() {
            "" | "bridge" => {}
            d @ ("host" | "null") => {
                return Err(EngineError::Forbidden(format!(
                    "only one instance of {d:?} network is allowed"
                )))
            }
            d => return Err(EngineError::NoSuchNetwork(format!("plugin {d:?}"))),
        }
        if nrows::by_name(self.store.db().conn(), &req.name)
            .map_err(db_err(self.store.db()))?
            .is_some()
        {
            return Err(EngineError::Conflict(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        // The default bridge's pool is taken first, as on a Docker host.
        let _ = self.bridge_network();
        let used = self.used_subnets("")?;
        let user_subnet = req.subnet.is_some();
        let subnet = match &req.subnet {
            Some(s) => {
                let sub: Subnet = s
                    .parse()
                    .map_err(|e: berth_net::NetError| inv(e.to_string()))?;
                if used.iter().any(|u| u.overlaps(&sub)) {
                    return Err(inv(
                        "invalid pool request: Pool overlaps with other one on this address space"
                            .into(),
                    ));
                }
                sub
            }
            None => {
                if let Some(g) = &req.gateway {
                    return Err(inv(format!("no matching subnet for gateway {g}")));
                }
                if let Some(r) = &req.ip_range {
                    return Err(inv(format!("no matching subnet for range {r}")));
                }
                ipam::choose_subnet(&used, &ipam::routed_subnets()).ok_or_else(|| {
                    inv("could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into())
                })?
            }
        };
        let gateway = match &req.gateway {
            Some(g) => {
                let ip: Ipv4Addr = g
                    .parse()
                    .map_err(|_| inv(format!("invalid gateway address {g}")))?;
                if !subnet.contains(ip) {
                    return Err(inv(format!("no matching subnet for gateway {g}")));
                }
                ip
            }
            None => subnet.first_host(),
        };
        if let Some(r) = &req.ip_range {
            let range: Subnet = r
                .parse()
                .map_err(|e: berth_net::NetError| inv(e.to_string()))?;
            if !subnet.covers(&range) {
                return Err(inv(format!("no matching subnet for range {r}")));
            }
        }
        let id = new_id();
        let options = req.options.clone();
        let bridge = options
            .get("com.docker.network.bridge.name")
            .cloned()
            .unwrap_or_else(|| format!("br-{}", &id[..12]));
        if bridge.is_empty()
            || bridge.len() > 15
            || !bridge
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(inv(format!("invalid bridge name {bridge:?}")));
        }
        // Never take over (and later delete) an interface berth did not make.
        if berth_net::link::exists(&bridge) {
            return Err(EngineError::Conflict(format!(
                "bridge name {bridge} is already in use by an interface of this host"
            )));
        }
        if self.networks()?.iter().any(|n| n.bridge() == bridge) {
            return Err(EngineError::Conflict(format!(
                "bridge name {bridge} is already in use by another network"
            )));
        }
        let doc = NetworkDoc {
            subnet: subnet.to_string(),
            gateway: gateway.to_string(),
            ip_range: req
                .ip_range
                .clone()
                .map(|r| r.parse::<Subnet>().map(|s| s.to_string()).unwrap_or(r))
                .unwrap_or_default(),
            internal: req.internal,
            attachable: req.attachable,
            user_subnet,
            labels: req.labels.clone(),
            options,
            bridge,
        };
        let row = NetworkRow {
            id: id.clone(),
            name: req.name.clone(),
            driver: "bridge".into(),
            created: berth_store::now_nanos(),
            doc: serde_json::to_string(&doc).unwrap_or_default(),
        };
        let r = row.clone();
        let inserted = self.store.db_mut().write(|tx| {
            if nrows::by_name(tx, &r.name)?.is_some() {
                return Ok(false);
            }
            nrows::insert(tx, &r)?;
            Ok(true)
        })?;
        if !inserted {
            return Err(EngineError::Conflict(format!(
                "network with name {} already exists",
                req.name
            )));
        }
        let net = Network::from_row(row);
        if let Err(e) = setup::realize(&net, true) {
            let _ = setup::unrealize(&net);
            let _ = self.store.db_mut().write(|tx| nrows::delete(tx, &id));
            return Err(e);
        }
        self.emit_network("create", &net, None);
        Ok(id)
    }

    /// `network rm`.
    pub fn network_remove(&mut self, name_or_id: &str) -> Result<(), EngineError> {
        let net = self.network(name_or_id)?;
        if net.is_builtin() {
            return Err(EngineError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                net.row.name
            )));
        }
        let atts = nrows::attachments_to(self.store.db().conn(), &net.row.id)
            .map_err(db_err(self.store.db()))?;
        if atts.iter().any(|a| a.ip.is_some()) {
            return Err(EngineError::Conflict(format!(
                "error while removing network: network {} id {} has active endpoints",
                net.row.name, net.row.id
            )));
        }
        setup::unrealize(&net)?;
        let id = net.row.id.clone();
        self.store.db_mut().write(|tx| nrows::delete(tx, &id))?;
        let _ = std::fs::remove_file(records_path(&self.config.run, &id));
        self.emit_network("destroy", &net, None);
        Ok(())
    }

    /// `network prune`: removes user-defined networks no container refers to; returns
    /// their names.
    pub fn network_prune(
        &mut self,
        keep: impl Fn(&Network) -> bool,
    ) -> Result<Vec<String>, EngineError> {
        let mut removed = Vec::new();
        for n in self.networks()? {
            if n.is_builtin() || keep(&n) {
                continue;
            }
            let atts = nrows::attachments_to(self.store.db().conn(), &n.row.id)
                .map_err(db_err(self.store.db()))?;
            if !atts.is_empty() {
                continue;
            }
            if self.network_remove(&n.row.id).is_ok() {
                removed.push(n.row.name.clone());
            }
        }
        Ok(removed)
    }

    /// Validates the networks of a container about to be created: returns the attachments
    /// to record once the container row exists.
    pub(crate) fn plan_attachments(
        &mut self,
        network_mode: &str,
        endpoints: &BTreeMap<String, EndpointSettings>,
    ) -> Result<Vec<(String, EndpointSettings)>, EngineError> {
        let primary = match network_mode {
            "" | "default" => "bridge",
            m => m,
        };
        if primary == "none" || primary == "host" {
            return Ok(Vec::new());
        }
        if let Some(other) = primary.strip_prefix("container:") {
            self.container(other)?;
            return Ok(Vec::new());
        }
        let mut names: Vec<&str> = vec![primary];
        for k in endpoints.keys() {
            if k != primary && !(primary == "bridge" && k == "default") {
                names.push(k);
            }
        }
        let mut out = Vec::new();
        for name in names {
            let net = self.network(name)?;
            let ep = endpoints
                .get(name)
                .or_else(|| {
                    (name == "bridge")
                        .then(|| endpoints.get("default"))
                        .flatten()
                })
                .cloned()
                .unwrap_or_default();
            match net.row.driver.as_str() {
                "bridge" => {}
                _ => return Err(EngineError::InvalidArgument(
                    "container cannot be connected to network endpoints: host and other networks"
                        .into(),
                )),
            }
            check_endpoint(&net, &ep)?;
            out.push((net.row.id.clone(), ep));
        }
        Ok(out)
    }

    /// Records the attachments planned by [`Engine::plan_attachments`].
    pub(crate) fn store_attachments(
        &mut self,
        container_id: &str,
        planned: &[(String, EndpointSettings)],
    ) -> Result<(), EngineError> {
        let rows: Vec<nrows::AttachmentRow> = planned
            .iter()
            .enumerate()
            .map(|(i, (nid, ep))| nrows::AttachmentRow {
                container_id: container_id.to_string(),
                network_id: nid.clone(),
                idx: i as i64,
                config: serde_json::to_string(ep).unwrap_or_default(),
                ip: None,
                mac: String::new(),
            })
            .collect();
        self.store.db_mut().write(|tx| {
            for r in &rows {
                nrows::put_attachment(tx, r)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// `network connect`.
    pub fn network_connect(
        &mut self,
        network: &str,
        container: &str,
        ep: EndpointSettings,
    ) -> Result<(), EngineError> {
        let net = self.network(network)?;
        let c = self.container(container)?;
        let mode = c.doc.host_config.network_mode.as_str();
        if net.row.driver != "bridge" || mode == "host" || mode == "none" {
            return Err(EngineError::Forbidden(
                "container cannot be disconnected from host network or connected to host network"
                    .into(),
            ));
        }
        if mode.starts_with("container:") {
            return Err(EngineError::Forbidden(
                "container sharing network namespace with another container or host cannot be connected to any other network".into(),
            ));
        }
        check_endpoint(&net, &ep)?;
        let conn = self.store.db().conn();
        let atts = nrows::attachments_of(conn, &c.row.id).map_err(db_err(self.store.db()))?;
        if atts.iter().any(|a| a.network_id == net.row.id) {
            return Err(EngineError::Forbidden(format!(
                "endpoint with name {} already exists in network {}",
                c.row.name, net.row.name
            )));
        }
        let row = nrows::AttachmentRow {
            container_id: c.row.id.clone(),
            network_id: net.row.id.clone(),
            idx: atts.iter().map(|a| a.idx + 1).max().unwrap_or(0),
            config: serde_json::to_string(&ep).unwrap_or_default(),
            ip: None,
            mac: String::new(),
        };
        self.store
            .db_mut()
            .write(|tx| nrows::put_attachment(tx, &row))?;
        if matches!(c.row.state.as_str(), "running" | "paused" | "restarting") {
            if let Err(e) = self.connect_running(&c, &net, &row) {
                let (cid, nid) = (c.row.id.clone(), net.row.id.clone());
                let _ = self
                    .store
                    .db_mut()
                    .write(|tx| nrows::delete_attachment(tx, &cid, &nid));
                return Err(e);
            }
        }
        self.emit_network("connect", &net, Some(&c.row.id));
        Ok(())
    }

    /// `network disconnect`.
    pub fn network_disconnect(
        &mut self,
        network: &str,
        container: &str,
        _force: bool,
    ) -> Result<(), EngineError> {
        let net = self.network(network)?;
        let c = self.container(container)?;
        let atts = nrows::attachments_of(self.store.db().conn(), &c.row.id)
            .map_err(db_err(self.store.db()))?;
        let Some(att) = atts.into_iter().find(|a| a.network_id == net.row.id) else {
            if net.row.driver != "bridge" {
                return Err(EngineError::Forbidden(
                    "container cannot be disconnected from host network or connected to host network".into(),
                ));
            }
            return Err(EngineError::Forbidden(format!(
                "container {} is not connected to network {}",
                c.row.id, net.row.name
            )));
        };
        if att.ip.is_some() {
            let _ =
                berth_net::link::delete(&[berth_net::link::host_veth_name(&c.row.id, &net.row.id)]);
        }
        let (cid, nid) = (c.row.id.clone(), net.row.id.clone());
        self.store
            .db_mut()
            .write(|tx| nrows::delete_attachment(tx, &cid, &nid))?;
        let run = self.config.run.clone();
        setup::write_records(self.store.db().conn(), &run, &net)?;
        setup::write_dns_conf(self.store.db().conn(), &run, &c.row.id)?;
        self.emit_network("disconnect", &net, Some(&c.row.id));
        Ok(())
    }

    /// Docker's `network inspect` document.
    pub fn network_inspect(&mut self, net: &Network) -> Result<Value, EngineError> {
        let net = if net.is_builtin() && net.row.name == "bridge" {
            self.bridge_network().unwrap_or_else(|_| net.clone())
        } else {
            net.clone()
        };
        let atts = nrows::attachments_to(self.store.db().conn(), &net.row.id)
            .map_err(db_err(self.store.db()))?;
        let mut containers = serde_json::Map::new();
        let prefix = net.subnet().map(|s| s.prefix()).unwrap_or(0);
        for a in atts.iter().filter(|a| a.ip.is_some()) {
            let name = berth_store::containers::get(self.store.db().conn(), &a.container_id)
                .ok()
                .flatten()
                .map(|r| r.name)
                .unwrap_or_default();
            containers.insert(
                a.container_id.clone(),
                json!({
                    "Name": name,
                    "EndpointID": endpoint_id(&a.container_id, &net.row.id),
                    "MacAddress": a.mac,
                    "IPv4Address": format!("{}/{prefix}", a.ip.clone().unwrap_or_default()),
                    "IPv6Address": "",
                }),
            );
        }
        let config = match (&net.row.driver[..], net.subnet()) {
            ("bridge", Some(s)) => {
                let mut c = json!({"Subnet": s.to_string(), "Gateway": net.doc.gateway});
                if !net.doc.ip_range.is_empty() {
                    c["IPRange"] = json!(net.doc.ip_range);
                }
                json!([c])
            }
            ("bridge", None) => json!([]),
            _ => Value::Null,
        };
        let mut options = serde_json::Map::new();
        if net.is_builtin() && net.row.name == "bridge" {
            for (k, v) in [
                ("com.docker.network.bridge.default_bridge", "true"),
                ("com.docker.network.bridge.enable_icc", "true"),
                ("com.docker.network.bridge.enable_ip_masquerade", "true"),
                ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
                ("com.docker.network.bridge.name", "berth0"),
                ("com.docker.network.driver.mtu", "1500"),
            ] {
                options.insert(k.into(), json!(v));
            }
        }
        for (k, v) in &net.doc.options {
            options.insert(k.clone(), json!(v));
        }
        Ok(json!({
            "Name": net.row.name,
            "Id": net.row.id,
            "Created": crate::containers::inspect::rfc3339_nanos(net.row.created),
            "Scope": "local",
            "Driver": net.row.driver,
            "EnableIPv4": true,
            "EnableIPv6": false,
            "IPAM": {
                "Driver": "default",
                "Options": if net.is_builtin() { Value::Null } else { json!({}) },
                "Config": config,
            },
            "Internal": net.doc.internal,
            "Attachable": net.doc.attachable,
            "Ingress": false,
            "ConfigFrom": {"Network": ""},
            "ConfigOnly": false,
            "Containers": containers,
            "Options": options,
            "Labels": net.doc.labels,
        }))
    }
}

/// A stable endpoint id (64 hex) for a container on a network.
pub(crate) fn endpoint_id(container_id: &str, network_id: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(container_id.as_bytes());
    h.update(b"/");
    h.update(network_id.as_bytes());
    hex::encode(h.finalize())
}

/// Docker's checks of `--ip` and `--network-alias` against the network.
fn check_endpoint(net: &Network, ep: &EndpointSettings) -> Result<(), EngineError> {
    let builtin_bridge = net.is_builtin() && net.row.name == "bridge";
    if let Some(a) = ep
        .alias_list()
        .iter()
        .find(|a| a.is_empty() || a.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(EngineError::InvalidArgument(format!("invalid alias {a:?}")));
    }
    if builtin_bridge && !ep.alias_list().is_empty() {
        return Err(EngineError::InvalidArgument(
            "network-scoped alias is supported only for containers in user defined networks".into(),
        ));
    }
    if let Some(ip) = ep.requested_ip() {
        if builtin_bridge {
            return Err(EngineError::InvalidArgument(
                "user specified IP address is supported on user defined networks only".into(),
            ));
        }
        if !net.doc.user_subnet {
            return Err(EngineError::InvalidArgument(
                "user specified IP address is supported only when connecting to networks with user configured subnets".into(),
            ));
        }
        let addr: Ipv4Addr = ip
            .parse()
            .map_err(|_| EngineError::InvalidArgument(format!("invalid IPv4 address: {ip}")))?;
        if !net.subnet().is_some_and(|s| s.contains(addr)) {
            return Err(EngineError::InvalidArgument(format!(
                "invalid address {ip}: It does not belong to any of this network's subnets"
            )));
        }
    }
    Ok(())
}
