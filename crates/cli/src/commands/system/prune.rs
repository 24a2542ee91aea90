//! `system prune`: stopped containers, unused networks, dangling (with `-a` unused) images,
//! the build cache, and with `--volumes` unused anonymous volumes, after asking
//! (docker/cli `cli/command/system/prune.go`).

use berth_engine::containers::prune::ContainerPruneFilters;
use berth_engine::images::{ImageFilters, RemoveAction};
use berth_template::units::human_size_with_precision;

use crate::args::SystemPruneArgs;
use crate::exit::{StatusError, USAGE};
use crate::output::{engine, write_stdout};

fn warning(a: &SystemPruneArgs) -> String {
    let mut items = vec![
        "all stopped containers",
        "all networks not used by at least one container",
    ];
    if a.volumes {
        items.push("all anonymous volumes not used by at least one container");
    }
    items.push(if a.all {
        "all images without at least one container associated to them"
    } else {
        "all dangling images"
    });
    items.push("unused build cache");
    let mut s = String::from("WARNING! This will remove:");
    for i in items {
        s.push_str(&format!("\n  - {i}"));
    }
    s.push('\n');
    if !a.filter.is_empty() {
        s.push_str("\n  Items to be pruned will be filtered with:");
        for f in &a.filter {
            s.push_str(&format!("\n  - {f}"));
        }
        s.push('\n');
    }
    s.push_str("\nAre you sure you want to continue?");
    s
}

/// Runs `system prune`.
pub fn run(a: SystemPruneArgs) -> anyhow::Result<i32> {
    if let Some(bad) = a.filter.iter().find(|f| !f.contains('=')) {
        return Err(StatusError::error(
            USAGE,
            format!(
                "invalid argument \"{bad}\" for \"--filter\" flag: bad format of filter (expected name=value)\nSee 'berth system prune --help'."
            ),
        ));
    }
    // Check every filter before removing anything.
    let container_filters = ContainerPruneFilters::parse(&a.filter)?;
    let image_filter_args: Vec<String> = a
        .filter
        .iter()
        .filter(|f| !f.starts_with("label!="))
        .cloned()
        .collect();
    let image_filters = ImageFilters::parse(&image_filter_args, &["until", "label"])?;
    let volume_filter_args: Vec<String> = a
        .filter
        .iter()
        .filter(|f| f.starts_with("label=") || f.starts_with("label!="))
        .cloned()
        .collect();
    let volume_filters =
        berth_engine::volumes::VolumeFilters::parse(&volume_filter_args, &["label", "label!"])?;
    let network_keep = crate::commands::network::prune_keep(&a.filter)?;
    if !a.force && !crate::output::confirm(&warning(&a))? {
        return Ok(0);
    }
    let mut engine = engine()?;
    let mut out = String::new();
    let mut reclaimed = 0u64;
    let containers = engine.prune_containers(&container_filters)?;
    reclaimed += containers.reclaimed;
    if !containers.deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &containers.deleted {
            out.push_str(&format!("{id}\n"));
        }
        out.push('\n');
    }
    let networks = engine.network_prune(network_keep)?;
    if !networks.is_empty() {
        out.push_str("Deleted Networks:\n");
        for n in &networks {
            out.push_str(&format!("{n}\n"));
        }
        out.push('\n');
    }
    if a.volumes {
        let (removed, bytes) = engine.prune_volumes(false, &volume_filters)?;
        reclaimed += bytes;
        if !removed.is_empty() {
            out.push_str("Deleted Volumes:\n");
            for n in &removed {
                out.push_str(&format!("{n}\n"));
            }
            out.push('\n');
        }
    }
    let images = engine.prune_images(a.all, &image_filters)?;
    reclaimed += images.reclaimed;
    if !images.actions.is_empty() {
        out.push_str("Deleted Images:\n");
        for act in &images.actions {
            match act {
                RemoveAction::Untagged(t) => out.push_str(&format!("untagged: {t}\n")),
                RemoveAction::Deleted(d) => out.push_str(&format!("deleted: {d}\n")),
            }
        }
        out.push('\n');
    }
    reclaimed += engine.prune_build_cache()?;
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size_with_precision(reclaimed as f64, 4)
    ));
    write_stdout(&out)?;
    Ok(0)
}
