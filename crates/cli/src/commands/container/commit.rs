//! `commit`: a new image from a container's changes; prints its id.

use berth_engine::containers::commit::CommitOptions;
use berth_image::reference::Reference;

use crate::args::CommitArgs;
use crate::exit::StatusError;
use crate::output::{engine, write_stdout};

/// Runs `commit`.
pub fn run(a: CommitArgs) -> anyhow::Result<i32> {
    // The docker CLI checks the reference itself before asking the daemon.
    if let Some(r) = a.reference.as_deref().filter(|r| !r.is_empty()) {
        let parsed =
            Reference::parse_normalized(r).map_err(|e| StatusError::error(1, e.to_string()))?;
        if parsed.digest().is_some() {
            return Err(StatusError::error(
                1,
                "refusing to create a tag with a digest reference",
            ));
        }
    }
    let mut engine = engine()?;
    let id = engine.commit_container(
        &a.container,
        &CommitOptions {
            reference: a.reference.filter(|r| !r.is_empty()),
            comment: a.message,
            author: a.author,
            changes: a.change,
            pause: a.pause,
        },
    )?;
    write_stdout(&format!("{id}\n"))?;
    Ok(0)
}
