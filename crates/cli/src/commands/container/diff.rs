//! `diff`: the container's changes to its image, one `KIND PATH` line each.

use berth_engine::containers::fsops::FsError;

use crate::args::DiffArgs;
use crate::exit::StatusError;
use crate::output::{engine, write_stdout};

/// Turns a file-operation error into the CLI's error: engine errors keep their own
/// mapping, the container side reads "Error response from daemon: …" (as the daemon's
/// answers do in Docker), the host side prints as it is.
pub(crate) fn fs_error(e: FsError) -> anyhow::Error {
    match e {
        FsError::Engine(e) => e.into(),
        FsError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe => {
            source.into()
        }
        e if e.from_daemon() => StatusError::error(1, format!("Error response from daemon: {e}")),
        e => StatusError::error(1, e.to_string()),
    }
}

/// Runs `diff`.
pub fn run(a: DiffArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let changes = engine.container_changes(&a.container).map_err(fs_error)?;
    let mut out = String::new();
    for c in changes {
        out.push(c.kind.letter());
        out.push(' ');
        out.push_str(&c.path);
        out.push('\n');
    }
    write_stdout(&out)?;
    Ok(0)
}
