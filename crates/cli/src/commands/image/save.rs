//! `save`.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;
use berth_engine::images::save::SaveFormat;

use crate::args::SaveArgs;
use crate::exit::StatusError;
use crate::output::engine;

/// Runs `save`.
pub fn run(a: SaveArgs) -> anyhow::Result<i32> {
    let format = match a.format.as_str() {
        "docker-archive" | "docker" | "" => SaveFormat::DockerArchive,
        "oci-archive" | "oci" => SaveFormat::OciArchive,
        other => {
            return Err(StatusError::error(
                crate::exit::USAGE,
                format!("invalid --format {other:?}: expected docker-archive or oci-archive"),
            ))
        }
    };
    let engine = engine()?;
    match a.output.as_deref() {
        None | Some("-") => {
            if std::io::stdout().is_terminal() {
                return Err(StatusError::error(
                    1,
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let out = std::io::stdout().lock();
            engine.save_images(&a.images, format, out)?;
        }
        Some(path) => {
            // Write beside the target and rename, so a failed save never leaves a partial file.
            let target = Path::new(path);
            let dir = match target.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::Builder::new()
                .prefix(".berth-save-")
                .tempfile_in(dir)
                .with_context(|| format!("failed to save image: create {path}"))?;
            engine.save_images(&a.images, format, tmp.as_file_mut())?;
            tmp.as_file_mut().flush()?;
            tmp.as_file().sync_all()?;
            tmp.persist(target)
                .with_context(|| format!("failed to save image: rename to {path}"))?;
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o644));
        }
    }
    Ok(0)
}
