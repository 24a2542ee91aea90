//! `stop`, `restart`, `kill`, `rm`, `wait`, `pause`, `unpause`, `rename`: verbs over one or
//! more containers that print each name on success and report each failure, as Docker does.

use berth_engine::containers::StopOptions;
use berth_engine::{Engine, EngineError};

use crate::args::{
    KillArgs, PauseArgs, RenameArgs, RestartArgs, RmArgs, StopArgs, UnpauseArgs, WaitArgs,
};
use crate::exit::StatusError;
use crate::output::engine;

fn each(
    names: &[String],
    mut f: impl FnMut(&mut Engine, &str) -> Result<Option<String>, EngineError>,
) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let mut failed = false;
    for n in names {
        match f(&mut engine, n) {
            Ok(Some(out)) => println!("{out}"),
            Ok(None) => {}
            Err(e) => {
                failed = true;
                eprintln!("{}", crate::exit::message(&e.into()));
            }
        }
    }
    if failed {
        return Err(StatusError::error(1, ""));
    }
    Ok(0)
}

/// `stop`.
pub fn stop(a: StopArgs) -> anyhow::Result<i32> {
    let opts = StopOptions {
        timeout: a.time.map(i64::from),
        signal: a.signal.clone(),
    };
    each(&a.containers, |e, n| {
        e.stop_container(n, &opts).map(|_| Some(n.to_string()))
    })
}

/// `restart`.
pub fn restart(a: RestartArgs) -> anyhow::Result<i32> {
    let opts = StopOptions {
        timeout: a.time.map(i64::from),
        signal: a.signal.clone(),
    };
    each(&a.containers, |e, n| {
        e.restart_container(n, &opts).map(|_| Some(n.to_string()))
    })
}

/// `kill`.
pub fn kill(a: KillArgs) -> anyhow::Result<i32> {
    each(&a.containers, |e, n| {
        e.kill_container(n, a.signal.as_deref())
            .map(|_| Some(n.to_string()))
    })
}

/// `rm`.
pub fn rm(a: RmArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let mut failed = false;
    for (name, r) in engine.remove_containers_with_volumes(&a.containers, a.force, a.volumes) {
        match r {
            Ok(()) => println!("{name}"),
            Err(e) => {
                failed = true;
                eprintln!("{}", crate::exit::message(&e.into()));
            }
        }
    }
    if failed {
        return Err(StatusError::error(1, ""));
    }
    Ok(0)
}

/// `wait`.
pub fn wait(a: WaitArgs) -> anyhow::Result<i32> {
    each(&a.containers, |e, n| {
        e.wait_container(n).map(|c| Some(c.to_string()))
    })
}

/// `pause`.
pub fn pause(a: PauseArgs) -> anyhow::Result<i32> {
    each(&a.containers, |e, n| {
        e.pause_container(n).map(|_| Some(n.to_string()))
    })
}

/// `unpause`.
pub fn unpause(a: UnpauseArgs) -> anyhow::Result<i32> {
    each(&a.containers, |e, n| {
        e.unpause_container(n).map(|_| Some(n.to_string()))
    })
}

/// `rename`.
pub fn rename(a: RenameArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    engine.rename_container(&a.container, &a.new_name)?;
    Ok(0)
}
