//! `network create/ls/inspect/rm/prune/connect/disconnect`, printed as the docker CLI does.

use std::collections::BTreeMap;

use berth_engine::networks::{EndpointIpam, EndpointSettings, Network, NetworkCreate};
use serde_json::{json, Value};

use crate::args::{
    NetworkCommand, NetworkConnectArgs, NetworkCreateArgs, NetworkDisconnectArgs,
    NetworkInspectArgs, NetworkLsArgs, NetworkPruneArgs, NetworkRmArgs,
};
use crate::exit::{message, StatusError};
use crate::output::{engine, print_rows, write_stdout};

/// Dispatches a `network` subcommand.
pub fn run(cmd: NetworkCommand) -> anyhow::Result<i32> {
    match cmd {
        NetworkCommand::Create(a) => create(a),
        NetworkCommand::Ls(a) => ls(a),
        NetworkCommand::Inspect(a) => inspect(a),
        NetworkCommand::Rm(a) => rm(a),
        NetworkCommand::Prune(a) => prune(a),
        NetworkCommand::Connect(a) => connect(a),
        NetworkCommand::Disconnect(a) => disconnect(a),
    }
}

fn kv(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn create(a: NetworkCreateArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.repair()?;
    if a.subnet.len() > 1 || a.gateway.len() > 1 || a.ip_range.len() > 1 {
        return Err(StatusError::error(
            1,
            "Error response from daemon: berth supports one IPv4 subnet per network",
        ));
    }
    if a.gateway.len() > a.subnet.len() {
        return Err(StatusError::error(
            1,
            "Error: every ip-range or gateway must have a corresponding subnet",
        ));
    }
    if a.ip_range.len() > a.subnet.len() {
        return Err(StatusError::error(
            1,
            "Error: every ip-range or gateway must have a corresponding subnet",
        ));
    }
    let id = engine.network_create(NetworkCreate {
        name: a.name,
        driver: a.driver,
        subnet: a.subnet.first().cloned(),
        gateway: a.gateway.first().cloned(),
        ip_range: a.ip_range.first().cloned(),
        internal: a.internal,
        attachable: a.attachable,
        labels: kv(&a.label),
        options: kv(&a.opt),
    })?;
    write_stdout(&format!("{id}\n"))?;
    Ok(0)
}

/// `network ls --filter` keys.
fn matches(n: &Network, filters: &[(String, String)]) -> anyhow::Result<bool> {
    let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    for (k, vals) in by_key {
        let ok = match k {
            "driver" => vals.iter().any(|v| n.row.driver == *v),
            "id" => vals.iter().any(|v| n.row.id.starts_with(v)),
            "name" => vals.iter().any(|v| n.row.name.contains(v)),
            "scope" => vals.contains(&"local"),
            "type" => vals.iter().any(|v| match *v {
                "builtin" => n.is_builtin(),
                "custom" => !n.is_builtin(),
                _ => false,
            }),
            "label" => vals.iter().any(|v| match v.split_once('=') {
                Some((lk, lv)) => n.doc.labels.get(lk).is_some_and(|x| x == lv),
                None => n.doc.labels.contains_key(*v),
            }),
            "dangling" => true,
            other => {
                return Err(StatusError::error(
                    1,
                    format!("Error response from daemon: invalid filter '{other}'"),
                ))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(a: NetworkLsArgs) -> anyhow::Result<i32> {
    let engine = engine()?;
    let filters: Vec<(String, String)> = a
        .filter
        .iter()
        .map(|f| {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let mut nets = Vec::new();
    for n in engine.networks()? {
        if matches(&n, &filters)? {
            nets.push(n);
        }
    }
    nets.sort_by(|x, y| x.row.name.cmp(&y.row.name));
    let rows: Vec<Value> = nets
        .iter()
        .map(|n| {
            json!({
                "ID": if a.no_trunc { n.row.id.clone() } else { n.short_id().to_string() },
                "Name": n.row.name,
                "Driver": n.row.driver,
                "Scope": "local",
                "IPv6": false,
                "IPv4": true,
                "Internal": n.doc.internal,
                "CreatedAt": crate::output::go_time(n.row.created / 1_000_000_000),
                "Labels": n.doc.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            })
        })
        .collect();
    if a.quiet {
        let out: String = rows
            .iter()
            .map(|r| format!("{}\n", r["ID"].as_str().unwrap_or("")))
            .collect();
        write_stdout(&out)?;
        return Ok(0);
    }
    let headers = json!({
        "ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
        "IPv6": "IPV6", "IPv4": "IPV4", "Internal": "INTERNAL", "CreatedAt": "CREATED AT",
        "Labels": "LABELS",
    });
    print_rows(
        a.format.as_deref(),
        "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}",
        &rows,
        &headers,
    )?;
    Ok(0)
}

fn inspect(a: NetworkInspectArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let template = a
        .format
        .as_deref()
        .map(berth_template::Template::parse)
        .transpose()
        .map_err(|e| StatusError::error(1, format!("template parsing error: {e}")))?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for n in &a.networks {
        match engine.network(n) {
            Ok(net) => found.push(engine.network_inspect(&net)?),
            Err(berth_engine::EngineError::NoSuchNetwork(_)) => {
                errors.push(format!("Error: No such network: {n}"))
            }
            Err(e) => errors.push(message(&e.into())),
        }
    }
    crate::output::print_inspected(found, template.as_ref(), &errors)
}

fn rm(a: NetworkRmArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.repair()?;
    let mut failed = false;
    for n in &a.networks {
        match engine.network_remove(n) {
            Ok(()) => write_stdout(&format!("{n}\n"))?,
            Err(berth_engine::EngineError::NoSuchNetwork(_)) if a.force => {}
            Err(e) => {
                eprintln!("{}", message(&e.into()));
                failed = true;
            }
        }
    }
    Ok(if failed { 1 } else { 0 })
}

fn prune(a: NetworkPruneArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.repair()?;
    if !a.force && !crate::output::confirm(
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?",
        )? {
        return Ok(0);
    }
    let removed = engine.network_prune(prune_keep(&a.filter)?)?;
    if !removed.is_empty() {
        let mut out = String::from("Deleted Networks:\n");
        for r in removed {
            out.push_str(&r);
            out.push('\n');
        }
        out.push('\n');
        write_stdout(&out)?;
    }
    Ok(0)
}

fn connect(a: NetworkConnectArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.repair()?;
    let ep = EndpointSettings {
        ipam_config: a
            .ip
            .filter(|i| !i.is_empty())
            .map(|i| EndpointIpam { ipv4_address: i }),
        aliases: (!a.alias.is_empty()).then_some(a.alias),
    };
    engine.network_connect(&a.network, &a.container, ep)?;
    Ok(0)
}

fn disconnect(a: NetworkDisconnectArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.repair()?;
    engine.network_disconnect(&a.network, &a.container, a.force)?;
    Ok(0)
}

/// Which networks a prune's `label=` / `label!=` filters keep.
pub fn prune_keep(filters: &[String]) -> anyhow::Result<impl Fn(&Network) -> bool> {
    let has = |n: &Network, l: &str| match l.split_once('=') {
        Some((k, v)) => n.doc.labels.get(k).is_some_and(|x| x == v),
        None => n.doc.labels.contains_key(l),
    };
    let mut want = Vec::new();
    let mut unwanted = Vec::new();
    let mut until: Option<i64> = None;
    for f in filters {
        match f.split_once('=') {
            Some(("label", v)) => want.push(v.to_string()),
            Some(("label!", v)) => unwanted.push(v.to_string()),
            Some(("until", v)) => {
                if until.is_some() {
                    return Err(berth_engine::EngineError::InvalidArgument(
                        "more than one until filter specified".into(),
                    )
                    .into());
                }
                until = Some(berth_engine::timestamps::get_timestamp(
                    v,
                    chrono::Utc::now(),
                )?);
            }
            Some((k, _)) => {
                return Err(berth_engine::EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                ))
                .into())
            }
            None => {
                return Err(berth_engine::EngineError::InvalidArgument(
                    "bad format of filter (expected name=value)".into(),
                )
                .into())
            }
        }
    }
    Ok(move |n: &Network| {
        want.iter().any(|l| !has(n, l))
            || unwanted.iter().any(|l| has(n, l))
            || until.is_some_and(|u| n.row.created > u)
    })
}
