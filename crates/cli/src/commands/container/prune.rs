//! `container prune`: removes all stopped containers, after asking (docker/cli
//! `cli/command/container/prune.go`).

use berth_engine::containers::prune::ContainerPruneFilters;
use berth_template::units::human_size_with_precision;

use crate::args::ContainerPruneArgs;
use crate::exit::{StatusError, USAGE};
use crate::output::{engine, write_stdout};

const WARNING: &str =
    "WARNING! This will remove all stopped containers.\nAre you sure you want to continue?";

/// `container prune [-f] [--filter …]`.
pub fn run(a: ContainerPruneArgs) -> anyhow::Result<i32> {
    // The docker CLI checks the shape of each --filter while parsing flags.
    if let Some(bad) = a.filter.iter().find(|f| !f.contains('=')) {
        return Err(StatusError::error(
            USAGE,
            format!(
                "invalid argument \"{bad}\" for \"--filter\" flag: bad format of filter (expected name=value)\nSee 'berth container prune --help'."
            ),
        ));
    }
    if !a.force && !crate::output::confirm(WARNING)? {
        // Cancelled: the docker CLI exits 0 without a word.
        return Ok(0);
    }
    let filters = ContainerPruneFilters::parse(&a.filter)?;
    let mut engine = engine()?;
    let report = engine.prune_containers(&filters)?;
    for (id, e) in &report.failed {
        tracing::warn!(container_id = %id, error = %e, "failed to prune container");
    }
    let mut out = String::new();
    if !report.deleted.is_empty() {
        out.push_str("Deleted Containers:\n");
        for id in &report.deleted {
            out.push_str(id);
            out.push('\n');
        }
        out.push('\n');
    }
    // go-units `HumanSize` (4 significant digits), as the docker CLI prints it here.
    out.push_str(&format!(
        "Total reclaimed space: {}\n",
        human_size_with_precision(report.reclaimed as f64, 4)
    ));
    write_stdout(&out)?;
    Ok(0)
}
