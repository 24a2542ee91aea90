//! `history`.

use berth_template::units::human_size;
use serde_json::json;

use crate::args::HistoryArgs;
use crate::output::{engine, print_rows, rfc3339, since, write_stdout};

const TABLE: &str = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";

/// Runs `history`.
pub fn run(a: HistoryArgs) -> anyhow::Result<i32> {
    let engine = engine()?;
    let entries = engine.image_history(&a.image)?;
    let mut rows = Vec::new();
    for e in &entries {
        let id = match &e.id {
            Some(d) if a.no_trunc => d.to_string(),
            Some(d) => d.short(),
            None => "<missing>".to_string(),
        };
        let mut created_by = e.created_by.replace('\t', " ");
        if !a.no_trunc && created_by.chars().count() > 45 {
            created_by = created_by.chars().take(44).collect::<String>() + "…";
        }
        let (created_since, size) = if a.human {
            (since(e.created), human_size(e.size as f64))
        } else {
            (rfc3339(e.created), e.size.to_string())
        };
        rows.push(json!({
            "ID": id,
            "CreatedSince": created_since,
            "CreatedAt": rfc3339(e.created),
            "CreatedBy": created_by,
            "Size": size,
            "Comment": e.comment,
        }));
    }
    if a.quiet {
        let out: String = rows
            .iter()
            .map(|r| format!("{}\n", r["ID"].as_str().unwrap_or("")))
            .collect();
        write_stdout(&out)?;
        return Ok(0);
    }
    let headers = json!({
        "ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
        "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT",
    });
    print_rows(a.format.as_deref(), TABLE, &rows, &headers)?;
    Ok(0)
}
