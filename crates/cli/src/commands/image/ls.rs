//! `images` / `image ls`.

use std::collections::BTreeMap;

use berth_engine::images::{ImageFilters, ImageSummary};
use berth_template::units::human_size;
use serde_json::{json, Value};

use crate::args::ImagesArgs;
use crate::output::{engine, go_time, print_rows, since, write_stdout};

const TABLE: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const TABLE_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";

/// Runs `images`.
pub fn run(a: ImagesArgs) -> anyhow::Result<i32> {
    let engine = engine()?;
    let mut filters = ImageFilters::parse(
        &a.filter,
        &["dangling", "reference", "label", "before", "since", "until"],
    )?;
    if let Some(r) = a.reference.clone() {
        filters.add_reference(r);
    }
    let images = engine.list_images(a.all, &filters)?;
    let mut rows = Vec::new();
    for img in &images {
        rows.extend(image_rows(img, a.digests, a.no_trunc));
    }
    if a.quiet {
        let mut out = String::new();
        for r in &rows {
            out.push_str(r["ID"].as_str().unwrap_or(""));
            out.push('\n');
        }
        write_stdout(&out)?;
        return Ok(0);
    }
    let default = if a.digests { TABLE_DIGESTS } else { TABLE };
    let headers = json!({
        "Repository": "REPOSITORY", "Tag": "TAG", "Digest": "DIGEST", "ID": "IMAGE ID",
        "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "Size": "SIZE",
        "Containers": "CONTAINERS", "SharedSize": "SHARED SIZE", "UniqueSize": "UNIQUE SIZE",
        "VirtualSize": "VIRTUAL SIZE",
    });
    let format = a.format.as_deref().map(|f| {
        // `--digests` with a custom table adds nothing; Docker only changes the default.
        f.to_string()
    });
    print_rows(format.as_deref(), default, &rows, &headers)?;
    Ok(0)
}

/// One row per (repository, tag), as Docker's image formatter builds them.
fn image_rows(img: &ImageSummary, show_digests: bool, no_trunc: bool) -> Vec<Value> {
    let id = if no_trunc {
        img.id.to_string()
    } else {
        img.id.short()
    };
    let mut repo_tags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut repo_digests: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &img.repo_tags {
        let (repo, tag) = split_tag(t);
        repo_tags.entry(repo).or_default().push(tag);
    }
    for d in &img.repo_digests {
        if let Some((repo, dg)) = d.split_once('@') {
            repo_digests
                .entry(repo.to_string())
                .or_default()
                .push(dg.to_string());
        }
    }
    let row = |repo: &str, tag: &str, digest: &str| {
        json!({
            "Containers": "N/A",
            "CreatedAt": go_time(img.created),
            "CreatedSince": since(img.created),
            "Digest": digest,
            "ID": id,
            "Repository": repo,
            "SharedSize": "N/A",
            "Size": human_size(img.size as f64),
            "Tag": tag,
            "UniqueSize": "N/A",
            "VirtualSize": human_size(img.size as f64),
        })
    };
    let mut rows = Vec::new();
    for (repo, tags) in &repo_tags {
        let digests = repo_digests.remove(repo).unwrap_or_default();
        for tag in tags {
            if show_digests && !digests.is_empty() {
                for d in &digests {
                    rows.push(row(repo, tag, d));
                }
            } else {
                let d = digests.first().map(String::as_str).unwrap_or("<none>");
                rows.push(row(repo, tag, d));
            }
        }
    }
    for (repo, digests) in &repo_digests {
        if show_digests {
            for d in digests {
                rows.push(row(repo, "<none>", d));
            }
        } else {
            rows.push(row(repo, "<none>", &digests[0]));
        }
    }
    if rows.is_empty() {
        rows.push(row("<none>", "<none>", "<none>"));
    }
    rows
}

/// Splits a familiar tag reference into repository and tag (the last `:` after the last `/`).
pub fn split_tag(t: &str) -> (String, String) {
    match t.rfind(':') {
        Some(i) if !t[i..].contains('/') => (t[..i].to_string(), t[i + 1..].to_string()),
        _ => (t.to_string(), "latest".to_string()),
    }
}
