//! `system df`: Docker's disk usage summary, or with `-v` one table per kind
//! (docker/cli `cli/command/formatter/disk_usage.go`).

use berth_engine::system::DiskUsage;
use berth_template::units::human_size_with_precision;
use serde_json::{json, Value};

use crate::args::DfArgs;
use crate::output::{engine, print_rows, since, write_stdout};

const SUMMARY: &str = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}";
const IMAGES: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}\t{{.SharedSize}}\t{{.UniqueSize}}\t{{.Containers}}";
const CONTAINERS: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.LocalVolumes}}\t{{.Size}}\t{{.RunningFor}}\t{{.Status}}\t{{.Names}}";
const VOLUMES: &str = "table {{.Name}}\t{{.Links}}\t{{.Size}}";
const BUILD_CACHE: &str = "table {{.ID}}\t{{.CacheType}}\t{{.Size}}\t{{.CreatedSince}}\t{{.LastUsedSince}}\t{{.UsageCount}}\t{{.Shared}}";

fn size3(n: u64) -> String {
    human_size_with_precision(n as f64, 3)
}

/// go-units `HumanSize` (4 significant digits), what the summary prints.
fn human_size(n: f64) -> String {
    human_size_with_precision(n, 4)
}

fn with_percent(reclaimable: u64, total: u64) -> String {
    match (reclaimable * 100).checked_div(total) {
        Some(pct) => format!("{} ({pct}%)", human_size(reclaimable as f64)),
        None => human_size(reclaimable as f64),
    }
}

fn active(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

/// The four summary rows.
fn summary(du: &DiskUsage) -> Vec<Value> {
    let used_by_images: u64 = du
        .images
        .iter()
        .filter(|i| i.summary.containers > 0)
        .map(|i| i.summary.size.saturating_sub(i.shared_size))
        .sum();
    let images_active = du
        .images
        .iter()
        .filter(|i| i.summary.containers > 0)
        .count();
    let ct_total: u64 = du.containers.iter().map(|c| c.size_rw).sum();
    let ct_reclaim: u64 = du
        .containers
        .iter()
        .filter(|c| !active(&c.container.row.state))
        .map(|c| c.size_rw)
        .sum();
    let ct_active = du
        .containers
        .iter()
        .filter(|c| active(&c.container.row.state))
        .count();
    let vol_total: u64 = du.volumes.iter().map(|v| v.size).sum();
    let vol_reclaim: u64 = du
        .volumes
        .iter()
        .filter(|v| v.links == 0)
        .map(|v| v.size)
        .sum();
    let bc_total: u64 = du.build_cache.iter().map(|b| b.size).sum();
    let bc_reclaim: u64 = du
        .build_cache
        .iter()
        .filter(|b| !b.in_use && !b.shared)
        .map(|b| b.size)
        .sum();
    let row = |t: &str, total: usize, act: usize, size: String, rec: String| {
        json!({"Type": t, "TotalCount": total.to_string(), "Active": act.to_string(),
               "Size": size, "Reclaimable": rec})
    };
    vec![
        row(
            "Images",
            du.images.len(),
            images_active,
            human_size(du.layers_size as f64),
            with_percent(
                du.layers_size.saturating_sub(used_by_images),
                du.layers_size,
            ),
        ),
        row(
            "Containers",
            du.containers.len(),
            ct_active,
            human_size(ct_total as f64),
            with_percent(ct_reclaim, ct_total),
        ),
        row(
            "Local Volumes",
            du.volumes.len(),
            du.volumes.iter().filter(|v| v.links > 0).count(),
            human_size(vol_total as f64),
            with_percent(vol_reclaim, vol_total),
        ),
        row(
            "Build Cache",
            du.build_cache.len(),
            du.build_cache.iter().filter(|b| b.in_use).count(),
            human_size(bc_total as f64),
            human_size(bc_reclaim as f64),
        ),
    ]
}

/// Runs `system df`.
pub fn run(a: DfArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let du = engine.disk_usage()?;
    if !a.verbose {
        let headers = json!({"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE",
                             "Size": "SIZE", "Reclaimable": "RECLAIMABLE"});
        print_rows(a.format.as_deref(), SUMMARY, &summary(&du), &headers)?;
        return Ok(0);
    }
    let mut images = Vec::new();
    for i in &du.images {
        let s = &i.summary;
        let id = s.id.to_string();
        let short = id
            .trim_start_matches("sha256:")
            .chars()
            .take(12)
            .collect::<String>();
        let names: Vec<(String, String)> = if s.repo_tags.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            s.repo_tags
                .iter()
                .map(|t| crate::commands::image::ls::split_tag(t))
                .collect()
        };
        for (repo, tag) in names {
            images.push(json!({
                "Repository": repo, "Tag": tag, "ID": short,
                "CreatedSince": since(s.created),
                "Size": size3(s.size), "SharedSize": size3(i.shared_size),
                "UniqueSize": size3(s.size.saturating_sub(i.shared_size)),
                "Containers": s.containers.to_string(),
            }));
        }
    }
    let mut containers = Vec::new();
    for c in &du.containers {
        let ct = &c.container;
        containers.push(json!({
            "ID": ct.short_id(), "Image": ct.doc.config.image,
            "Command": crate::commands::container::ps::command(ct, false),
            "LocalVolumes": ct.doc.mount_points.iter().filter(|m| m.kind == "volume").count().to_string(),
            "Size": size3(c.size_rw),
            "RunningFor": since(ct.row.created / 1_000_000_000),
            "Status": crate::commands::container::ps::status(ct),
            "Names": ct.row.name,
        }));
    }
    let volumes: Vec<Value> = du
        .volumes
        .iter()
        .map(|v| json!({"Name": v.name, "Links": v.links.to_string(), "Size": size3(v.size)}))
        .collect();
    let cache: Vec<Value> = du
        .build_cache
        .iter()
        .map(|b| {
            json!({
                "ID": b.id.chars().take(12).collect::<String>(), "CacheType": b.kind,
                "Size": size3(b.size),
                "CreatedSince": since(b.created / 1_000_000_000),
                "LastUsedSince": since(b.last_used / 1_000_000_000),
                "UsageCount": b.usage.to_string(), "Shared": b.shared.to_string(),
            })
        })
        .collect();
    let cache_total: u64 = du.build_cache.iter().map(|b| b.size).sum();
    let render = |table: &str, rows: &[Value], headers: Value| -> anyhow::Result<String> {
        let f = berth_template::Format::parse(Some(table), table)?;
        Ok(f.render(rows, &headers)?)
    };
    let mut out = String::from("Images space usage:\n\n");
    out.push_str(&render(
        IMAGES,
        &images,
        json!({
        "Repository": "REPOSITORY", "Tag": "TAG", "ID": "IMAGE ID", "CreatedSince": "CREATED",
        "Size": "SIZE", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
        "Containers": "CONTAINERS"}),
    )?);
    out.push_str("\nContainers space usage:\n\n");
    out.push_str(&render(
        CONTAINERS,
        &containers,
        json!({
        "ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
        "LocalVolumes": "LOCAL VOLUMES", "Size": "SIZE", "RunningFor": "CREATED",
        "Status": "STATUS", "Names": "NAMES"}),
    )?);
    out.push_str("\nLocal Volumes space usage:\n\n");
    out.push_str(&render(
        VOLUMES,
        &volumes,
        json!({"Name": "VOLUME NAME", "Links": "LINKS", "Size": "SIZE"}),
    )?);
    out.push_str(&format!(
        "\nBuild cache usage: {}\n\n",
        human_size(cache_total as f64)
    ));
    out.push_str(&render(
        BUILD_CACHE,
        &cache,
        json!({
        "ID": "CACHE ID", "CacheType": "CACHE TYPE", "Size": "SIZE", "CreatedSince": "CREATED",
        "LastUsedSince": "LAST USED", "UsageCount": "USAGE", "Shared": "SHARED"}),
    )?);
    write_stdout(&out)?;
    Ok(0)
}
