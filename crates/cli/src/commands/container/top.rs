//! `top` / `container top`: the container's processes as the host's `ps` shows them.

use berth_template::tabwriter;

use crate::args::TopArgs;
use crate::output::{engine, write_stdout};

/// `top CONTAINER [ps OPTIONS]`.
pub fn run(a: TopArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    // The docker CLI sends the options as one string, joined with spaces.
    let top = engine.top_container(a.container(), &a.ps_args().join(" "))?;
    let mut text = top.titles.join("\t");
    text.push('\n');
    for p in &top.processes {
        text.push_str(&p.join("\t"));
        text.push('\n');
    }
    // docker/cli `runTop`: tabwriter.NewWriter(out, 20, 1, 3, ' ', 0).
    write_stdout(&tabwriter::align(&text, 20, 1, 3, ' '))?;
    Ok(0)
}
