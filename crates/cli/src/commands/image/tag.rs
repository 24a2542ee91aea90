//! `tag`.

use crate::args::TagArgs;
use crate::output::engine;

/// Runs `tag`.
pub fn run(a: TagArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.tag_image(&a.source, &a.target)?;
    Ok(0)
}
