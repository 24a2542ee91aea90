//! `attach` to a running container.

use berth_engine::containers::attach::{Frame, Want};
use berth_engine::Engine;

use super::client::{self, AttachOptions, Ended};
use crate::args::AttachArgs;
use crate::exit::StatusError;
use crate::output::engine;

/// Connects to the monitor of a running container and runs the session.
pub fn attach_running(
    engine: &mut Engine,
    name: &str,
    want: Want,
    tty: bool,
    detach_keys: Vec<u8>,
) -> anyhow::Result<i32> {
    let c = engine.container(name)?;
    if c.row.state != "running" {
        return Err(StatusError::error(
            1,
            "You cannot attach to a stopped container, start it first",
        ));
    }
    let paths = engine.container_paths(&c.row.id);
    let sock = berth_engine::containers::paths::connect_unix(&paths.attach_sock)
        .map_err(|e| StatusError::error(1, format!("cannot attach to {name}: {e}")))?;
    Frame::Hello(want).write_to(&mut &sock)?;
    engine.emit_container(&c, "attach", &[]);
    let opts = AttachOptions {
        stdin: want.stdin,
        tty,
        detach_keys,
    };
    match client::attach(sock, &opts)? {
        Ended::Exited(code) => Ok(code),
        Ended::Lost => Ok(engine.wait_container(name).unwrap_or(1)),
    }
}

/// `attach`.
pub fn run(a: AttachArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let c = engine.container(&a.container)?;
    let want = Want {
        stdin: !a.no_stdin && c.doc.config.open_stdin,
        stdout: true,
        stderr: true,
    };
    let keys = client::parse_detach_keys(a.detach_keys.as_deref())?;
    let tty = c.doc.config.tty;
    attach_running(&mut engine, &a.container, want, tty, keys)
}
