//! `pull`.

use berth_engine::registry::PullOptions;

use super::{Display, Stream};
use crate::args::PullArgs;
use crate::output::{engine, write_stdout};

/// Runs `pull`.
pub fn run(a: PullArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let display = Display::new(Stream::Stdout, a.quiet);
    if !a.quiet && !a.all_tags && !a.name.contains('@') && !has_tag(&a.name) {
        write_stdout("Using default tag: latest\n")?;
    }
    let opts = PullOptions {
        platform: a.platform.clone(),
        all_tags: a.all_tags,
    };
    let out = engine.pull_image(&a.name, &opts, &|p| display.event(p))?;
    let last = if a.all_tags {
        berth_image::reference::Reference::parse_normalized(&a.name)
            .map(|r| r.name())
            .unwrap_or_default()
    } else {
        out.first().map(|o| o.reference.clone()).unwrap_or_default()
    };
    write_stdout(&format!("{last}\n"))?;
    Ok(0)
}

fn has_tag(name: &str) -> bool {
    let last = name.rsplit('/').next().unwrap_or(name);
    last.contains(':')
}
