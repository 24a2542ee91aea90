//! `image prune`.

use berth_engine::images::{ImageFilters, RemoveAction};
use berth_template::units::human_size;

use crate::args::ImagePruneArgs;
use crate::output::{engine, write_stdout};

/// Runs `image prune`.
pub fn run(a: ImagePruneArgs) -> anyhow::Result<i32> {
    let filters = ImageFilters::parse(&a.filter, &["until", "label"])?;
    if !a.force {
        let warning = if a.all {
            "WARNING! This will remove all images without at least one container associated to them."
        } else {
            "WARNING! This will remove all dangling images."
        };
        if !crate::output::confirm(&format!("{warning}\nAre you sure you want to continue?"))? {
            return Ok(0);
        }
    }
    let mut engine = engine()?;
    let report = engine.prune_images(a.all, &filters)?;
    let mut out = String::new();
    if !report.actions.is_empty() {
        out.push_str("Deleted Images:\n");
        for act in &report.actions {
            match act {
                RemoveAction::Untagged(t) => out.push_str(&format!("untagged: {t}\n")),
                RemoveAction::Deleted(d) => out.push_str(&format!("deleted: {d}\n")),
            }
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size(report.reclaimed as f64)
    ));
    write_stdout(&out)?;
    Ok(0)
}
