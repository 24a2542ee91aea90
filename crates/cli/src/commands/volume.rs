//! `volume create/ls/inspect/rm/prune`.

use std::collections::BTreeMap;

use berth_engine::volumes::{Volume, VolumeCreate, VolumeFilters};
use berth_engine::EngineError;
use berth_template::units::human_size;
use serde_json::{json, Value};

use crate::args::{
    VolumeCreateArgs, VolumeInspectArgs, VolumeLsArgs, VolumePruneArgs, VolumeRmArgs,
};
use crate::exit::StatusError;
use crate::output::{engine, print_rows, write_stdout};

fn kv_map(items: &[String]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Runs `volume create`.
pub fn create(a: VolumeCreateArgs) -> anyhow::Result<i32> {
    let name = match (&a.name, &a.volume) {
        (Some(_), Some(_)) => {
            return Err(StatusError::error(
                1,
                "conflicting options: cannot specify a volume-name through both --name and as a positional arg",
            ))
        }
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    };
    let mut engine = engine()?;
    let v = engine.create_volume(VolumeCreate {
        name,
        driver: a.driver,
        options: kv_map(&a.opt),
        labels: kv_map(&a.label),
        implicit: false,
    })?;
    write_stdout(&format!("{}\n", v.row.name))?;
    Ok(0)
}

fn row(v: &Volume) -> Value {
    let labels = v
        .row
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    json!({
        "Name": v.row.name,
        "Driver": v.row.driver,
        "Scope": "local",
        "Mountpoint": v.mountpoint,
        "Labels": labels,
        "Links": "N/A",
        "Size": "N/A",
        "Availability": "N/A",
        "Group": "N/A",
        "Status": "N/A",
    })
}

/// Runs `volume ls`.
pub fn ls(a: VolumeLsArgs) -> anyhow::Result<i32> {
    let filters = VolumeFilters::parse(
        &a.filter,
        &["dangling", "name", "label", "label!", "driver"],
    )?;
    let engine = engine()?;
    let vols = engine.list_volumes(&filters)?;
    if a.quiet {
        let mut out = String::new();
        for v in &vols {
            out.push_str(&v.row.name);
            out.push('\n');
        }
        write_stdout(&out)?;
        return Ok(0);
    }
    let rows: Vec<Value> = vols.iter().map(row).collect();
    let headers = json!({
        "Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
        "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Availability": "AVAILABILITY",
        "Group": "GROUP", "Status": "STATUS",
    });
    print_rows(
        a.format.as_deref(),
        "table {{.Driver}}\t{{.Name}}",
        &rows,
        &headers,
    )?;
    Ok(0)
}

/// Runs `volume inspect`.
pub fn inspect(a: VolumeInspectArgs) -> anyhow::Result<i32> {
    let engine = engine()?;
    let template = a
        .format
        .as_deref()
        .map(berth_template::Template::parse)
        .transpose()
        .map_err(|e| StatusError::error(1, format!("template parsing error: {e}")))?;
    let mut found = Vec::new();
    let mut errors = Vec::new();
    for n in &a.volumes {
        match engine.volume(n) {
            Ok(v) => found.push(v.inspect()),
            Err(EngineError::NoSuchVolume(_)) => errors.push(format!("No such volume: {n}")),
            Err(e) => errors.push(crate::exit::message(&e.into())),
        }
    }
    let errors = if errors.is_empty() {
        errors
    } else {
        vec![format!("Error: {}", errors.join("\n"))]
    };
    crate::output::print_inspected(found, template.as_ref(), &errors)
}

/// Runs `volume rm`.
pub fn rm(a: VolumeRmArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let mut failed = false;
    for n in &a.volumes {
        match engine.remove_volume(n, a.force) {
            Ok(()) => write_stdout(&format!("{n}\n"))?,
            Err(e) => {
                failed = true;
                eprintln!("{}", crate::exit::message(&e.into()));
            }
        }
    }
    if failed {
        return Err(StatusError::error(1, ""));
    }
    Ok(0)
}

/// Runs `volume prune`.
pub fn prune(a: VolumePruneArgs) -> anyhow::Result<i32> {
    let filters = VolumeFilters::parse(&a.filter, &["label", "label!", "all"])?;
    if !a.force {
        let warning = if a.all {
            "WARNING! This will remove all local volumes not used by at least one container."
        } else {
            "WARNING! This will remove anonymous local volumes not used by at least one container."
        };
        if !crate::output::confirm(&format!("{warning}\nAre you sure you want to continue?"))? {
            return Ok(0);
        }
    }
    let mut engine = engine()?;
    let (removed, reclaimed) = engine.prune_volumes(a.all, &filters)?;
    let mut out = String::new();
    if !removed.is_empty() {
        out.push_str("Deleted Volumes:\n");
        for n in &removed {
            out.push_str(n);
            out.push('\n');
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(reclaimed as f64)
    ));
    write_stdout(&out)?;
    Ok(0)
}
