//! `ps` / `container ls`.

use berth_engine::containers::Container;
use berth_template::units::human_duration;
use serde_json::{json, Value};

use crate::args::PsArgs;
use crate::exit::StatusError;
use crate::output::{engine, print_rows, write_stdout};

const TABLE: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
const TABLE_SIZE: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}";

fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

fn ago(nanos: i64) -> String {
    let d = std::time::Duration::from_nanos((now_nanos() - nanos).max(0) as u64);
    human_duration(d)
}

/// Docker's `State.String()` for the STATUS column.
pub fn status(c: &Container) -> String {
    let r = &c.row;
    match r.state.as_str() {
        "running" | "paused" => {
            let mut s = format!("Up {}", ago(r.started_at));
            if r.state == "paused" {
                s.push_str(" (Paused)");
            } else if let Some(h) = health_status(&r.health) {
                s.push_str(&format!(" ({h})"));
            }
            s
        }
        "restarting" => format!("Restarting ({}) {} ago", r.exit_code, ago(r.finished_at)),
        "removing" => "Removal In Progress".into(),
        "dead" => "Dead".into(),
        "created" => "Created".into(),
        _ => {
            if r.finished_at <= 0 {
                String::new()
            } else {
                format!("Exited ({}) {} ago", r.exit_code, ago(r.finished_at))
            }
        }
    }
}

fn health_status(h: &str) -> Option<String> {
    let v: Value = serde_json::from_str(h).ok()?;
    let s = v.get("Status")?.as_str()?;
    Some(if s == "starting" {
        "health: starting".into()
    } else {
        s.to_string()
    })
}

/// Docker's MOUNTS column: volume names (bind sources), truncated to 15 characters
/// unless `no_trunc`.
fn mounts_column(c: &Container, no_trunc: bool) -> String {
    c.doc
        .mount_points
        .iter()
        .filter_map(|m| {
            let n = if m.name.is_empty() {
                &m.source
            } else {
                &m.name
            };
            if n.is_empty() {
                return None;
            }
            Some(if !no_trunc && n.chars().count() > 15 {
                n.chars().take(15).collect::<String>() + "…"
            } else {
                n.clone()
            })
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Docker's COMMAND column value.
pub(crate) fn command(c: &Container, no_trunc: bool) -> String {
    let mut cmd = c.doc.path.clone();
    if !c.doc.args.is_empty() {
        cmd.push(' ');
        cmd.push_str(&c.doc.args.join(" "));
    }
    if !no_trunc && cmd.chars().count() > 20 {
        cmd = cmd.chars().take(19).collect::<String>() + "…";
    }
    serde_json::to_string(&cmd).unwrap_or_default()
}

fn matches(c: &Container, filters: &[(String, String)], all: &[Container]) -> bool {
    let r = &c.row;
    let mut by_key: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (k, v) in filters {
        by_key.entry(k.as_str()).or_default().push(v.as_str());
    }
    by_key.iter().all(|(k, vals)| {
        vals.iter().any(|v| match *k {
            "status" => r.state == *v,
            "name" => r.name.contains(v.trim_start_matches('/')),
            "id" => r.id.starts_with(v),
            "label" => match v.split_once('=') {
                Some((lk, lv)) => c.doc.config.labels.get(lk).is_some_and(|x| x == lv),
                None => c.doc.config.labels.contains_key(*v),
            },
            "exited" => r.state == "exited" && v.parse::<i32>().ok() == Some(r.exit_code),
            "ancestor" => {
                c.doc.config.image == *v
                    || c.doc.config.image == format!("{v}:latest")
                    || r.image_id == *v
                    || r.image_id
                        .trim_start_matches("sha256:")
                        .starts_with(v.trim_start_matches("sha256:"))
            }
            "before" | "since" => {
                let other = all
                    .iter()
                    .find(|o| o.row.id.starts_with(v) || o.row.name == *v);
                match other {
                    Some(o) if *k == "before" => r.created < o.row.created,
                    Some(o) => r.created > o.row.created,
                    None => false,
                }
            }
            "network" => {
                let m = &c.doc.host_config.network_mode;
                m == v || (m == "default" && *v == "bridge")
            }
            "health" => health_status(&r.health).as_deref().unwrap_or("none") == *v,
            "is-task" => *v == "false",
            "volume" => c.doc.mount_points.iter().any(|m| {
                (!m.name.is_empty() && m.name == *v) || m.destination == *v || m.source == *v
            }),
            _ => true,
        })
    })
}

const FILTER_KEYS: &[&str] = &[
    "ancestor",
    "before",
    "expose",
    "exited",
    "health",
    "id",
    "isolation",
    "is-task",
    "label",
    "name",
    "network",
    "publish",
    "since",
    "status",
    "volume",
];
const STATUSES: &[&str] = &[
    "created",
    "restarting",
    "running",
    "removing",
    "paused",
    "exited",
    "dead",
];

/// `ps`.
pub fn run(a: PsArgs) -> anyhow::Result<i32> {
    let mut filters = Vec::new();
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            StatusError::error(
                1,
                "Error response from daemon: bad format of filter (expected name=value)",
            )
        })?;
        if !FILTER_KEYS.contains(&k) {
            return Err(StatusError::error(
                1,
                format!("Error response from daemon: invalid filter '{k}'"),
            ));
        }
        if k == "status" && !STATUSES.contains(&v) {
            return Err(StatusError::error(
                1,
                format!("Error response from daemon: invalid filter 'status={v}'"),
            ));
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let mut engine = engine()?;
    let all = engine.containers()?;
    let show_all = a.all
        || a.last > 0
        || a.latest
        || filters.iter().any(|(k, _)| k == "status" || k == "exited");
    let mut list: Vec<&Container> = all
        .iter()
        .filter(|c| {
            show_all
                || matches!(
                    c.row.state.as_str(),
                    "running" | "paused" | "restarting" | "removing"
                )
        })
        .filter(|c| matches(c, &filters, &all))
        .collect();
    list.reverse(); // newest first
    let limit = if a.latest {
        1
    } else if a.last > 0 {
        a.last as usize
    } else {
        usize::MAX
    };
    list.truncate(limit);
    if a.quiet {
        let mut out = String::new();
        for c in &list {
            out.push_str(if a.no_trunc { &c.row.id } else { c.short_id() });
            out.push('\n');
        }
        write_stdout(&out)?;
        return Ok(0);
    }
    let rows: Vec<Value> = list
        .iter()
        .map(|c| {
            let labels = c
                .doc
                .config
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            let image = {
                let i = &c.doc.config.image;
                if i.starts_with("sha256:") && !a.no_trunc {
                    i.trim_start_matches("sha256:").chars().take(12).collect()
                } else {
                    i.clone()
                }
            };
            let net = match c.doc.host_config.network_mode.as_str() {
                "default" => "bridge".to_string(),
                m => m.to_string(),
            };
            json!({
                "ID": if a.no_trunc { c.row.id.clone() } else { c.short_id().to_string() },
                "Image": image,
                "Command": command(c, a.no_trunc),
                "CreatedAt": chrono::DateTime::from_timestamp(c.row.created / 1_000_000_000, 0)
                    .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
                    .unwrap_or_default(),
                "RunningFor": format!("{} ago", ago(c.row.created)),
                "Ports": ports_column(&engine, c),
                "State": c.row.state,
                "Status": status(c),
                "Size": "0B (virtual 0B)",
                "Names": c.row.name,
                "Labels": labels,
                "Mounts": mounts_column(c, a.no_trunc),
                "Networks": net,
                "LocalVolumes": c
                    .doc
                    .mount_points
                    .iter()
                    .filter(|m| m.kind == "volume" && m.driver == "local")
                    .count()
                    .to_string(),
                "Platform": Value::Null,
            })
        })
        .collect();
    let headers = json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "CreatedAt": "CREATED AT",
        "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE", "Status": "STATUS",
        "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS", "Mounts": "MOUNTS",
        "Networks": "NETWORKS", "LocalVolumes": "LOCAL VOLUMES", "Platform": "PLATFORM",
    });
    let default = if a.size { TABLE_SIZE } else { TABLE };
    print_rows(a.format.as_deref(), default, &rows, &headers)?;
    Ok(0)
}

/// Docker's PORTS column: `0.0.0.0:8080->80/tcp, :::8080->80/tcp`, exposed-only ports as
/// `80/tcp`.
fn ports_column(engine: &berth_engine::Engine, c: &Container) -> String {
    let ports = if matches!(c.row.state.as_str(), "running" | "paused") {
        engine.container_ports(&c.row.id).unwrap_or_default()
    } else {
        Vec::new()
    };
    let exposed = c
        .doc
        .config
        .exposed_ports
        .iter()
        .flat_map(|m| m.keys().cloned());
    let map = berth_engine::networks::setup::ports_value(exposed, &ports);
    let mut out = Vec::new();
    for (k, v) in &map {
        match v.as_array() {
            Some(binds) => {
                for b in binds {
                    let ip = b["HostIp"].as_str().unwrap_or("");
                    let port = b["HostPort"].as_str().unwrap_or("");
                    out.push(format!("{ip}:{port}->{k}"));
                }
            }
            None => out.push(k.clone()),
        }
    }
    out.join(", ")
}
