//! `import`.

use anyhow::Context;
use berth_engine::images::import::{ImportOptions, ImportSource};

use crate::args::ImportArgs;
use crate::exit::StatusError;
use crate::output::{engine, write_stdout};

/// Runs `import`.
pub fn run(a: ImportArgs) -> anyhow::Result<i32> {
    let source = if a.source == "-" {
        ImportSource::Tar(Box::new(std::io::stdin()))
    } else if a.source.starts_with("http://") || a.source.starts_with("https://") {
        return Err(StatusError::error(
            1,
            format!(
                "Error: importing from a URL ({}) is not supported yet",
                a.source
            ),
        ));
    } else if std::path::Path::new(&a.source).is_dir() {
        ImportSource::Dir(a.source.clone().into())
    } else {
        let f = std::fs::File::open(&a.source).with_context(|| format!("open {}", a.source))?;
        ImportSource::Tar(Box::new(f))
    };
    let mut engine = engine()?;
    let id = engine.import_image(
        source,
        ImportOptions {
            reference: a.reference,
            message: a.message,
            changes: a.change,
            source_name: a.source.clone(),
            platform: a.platform,
        },
    )?;
    write_stdout(&format!("{id}\n"))?;
    Ok(0)
}
