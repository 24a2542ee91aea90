//! `push`.

use berth_engine::registry::PushOptions;

use super::{Display, Stream};
use crate::args::PushArgs;
use crate::output::{engine, write_stdout};

/// Runs `push`.
pub fn run(a: PushArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let display = Display::new(Stream::Stdout, a.quiet);
    let last = a.name.rsplit('/').next().unwrap_or(&a.name);
    if !a.quiet && !a.all_tags && !last.contains(':') {
        write_stdout("Using default tag: latest\n")?;
    }
    let opts = PushOptions {
        all_tags: a.all_tags,
    };
    let out = engine.push_image(&a.name, &opts, &|p| display.event(p))?;
    if a.quiet {
        let r = berth_image::reference::Reference::parse_normalized(&a.name)?;
        for o in &out {
            write_stdout(&format!("{}:{}\n", r.name(), o.tag))?;
        }
    }
    Ok(0)
}
