//! `export`: the container's filesystem as a tar, to stdout or (atomically) to a file.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use super::cp::validate_output_path;
use super::diff::fs_error;
use crate::args::ExportArgs;
use crate::exit::StatusError;
use crate::output::engine;

/// Runs `export`.
pub fn run(a: ExportArgs) -> anyhow::Result<i32> {
    match a.output.as_deref().filter(|o| !o.is_empty()) {
        None | Some("-") => {
            if std::io::stdout().is_terminal() {
                return Err(StatusError::error(
                    1,
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let mut engine = engine()?;
            let mut out = std::io::stdout().lock();
            engine
                .export_container(&a.container, &mut out)
                .map_err(fs_error)?;
            match out.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r.context("write to stdout")?,
            }
        }
        Some(path) => {
            validate_output_path(path)
                .map_err(|e| StatusError::error(1, format!("failed to export container: {e}")))?;
            let mut engine = engine()?;
            // Write beside the target and rename (Docker's `CopyToFile`), so a failed export
            // never leaves a partial file.
            let target = Path::new(path);
            let dir = match target.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".docker_temp_")
                .tempfile_in(dir)
                .with_context(|| format!("failed to export container: create {path}"))?;
            engine
                .export_container(&a.container, tmp.as_file_mut())
                .map_err(fs_error)?;
            tmp.as_file_mut().flush()?;
            tmp.as_file().sync_all()?;
            tmp.persist(target)
                .with_context(|| format!("failed to export container: rename to {path}"))?;
        }
    }
    Ok(0)
}
