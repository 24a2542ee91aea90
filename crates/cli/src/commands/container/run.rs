//! `run`, `create` and `start`.

use berth_engine::containers::attach::Want;
use berth_engine::{Engine, EngineError};

use super::client::{self, AttachOptions, Ended};
use crate::args::container_opts::to_create_request;
use crate::args::{CreateArgs, RunArgs, StartArgs};
use crate::exit::StatusError;
use crate::output::engine;

/// Prints an engine error the way `docker run`/`create` do and returns their exit code.
fn run_failure(cmd: &str, e: anyhow::Error) -> anyhow::Error {
    if let Some(s) = e.downcast_ref::<StatusError>() {
        // Flag and option errors in the docker CLI's shape (cobra's FlagErrorFunc and
        // `reportError`): the message, then where to get help.
        if s.code != 125 || s.message.is_empty() || s.message.contains("See 'berth") {
            return e;
        }
        let m = s.message.trim_end_matches('.');
        let shaped = if m.starts_with("invalid argument") {
            format!("{m}\nSee 'berth {cmd} --help'.")
        } else {
            format!("berth: {m}.\nSee 'berth {cmd} --help'.")
        };
        return StatusError::error(125, shaped);
    }
    let code = match e.downcast_ref::<EngineError>() {
        Some(EngineError::StartFailed { code, .. }) => *code,
        _ => 125,
    };
    let msg = crate::exit::message(&e);
    let msg = msg.trim_end_matches('.');
    StatusError::error(code, format!("berth: {msg}.\nSee 'berth {cmd} --help'."))
}

fn create(engine: &mut Engine, c: &CreateArgs, detach: bool) -> anyhow::Result<String> {
    let req = to_create_request(
        &c.opts,
        c.image(),
        c.command(),
        c.name.as_deref(),
        detach,
        c.rm,
        &c.attach,
    )?;
    crate::args::container_opts::validate_pull(&c.pull)?;
    let policy: berth_engine::registry::PullPolicy = c.pull.parse()?;
    if !(policy == berth_engine::registry::PullPolicy::Never
        && berth_image::reference::is_full_or_short_id(c.image()))
    {
        let display = crate::commands::registry::Display::new(
            crate::commands::registry::Stream::Stderr,
            c.quiet,
        );
        match engine.ensure_image(c.image(), policy, c.platform.as_deref(), &|p| {
            display.event(p)
        }) {
            Ok(_) | Err(EngineError::NoSuchImage(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    match engine.create_container(req) {
        Ok(id) => Ok(id),
        Err(EngineError::NoSuchImage(name)) => {
            let shown = berth_image::reference::Reference::parse_normalized(&name)
                .map(|r| r.with_default_tag().familiar_string())
                .unwrap_or(name.clone());
            eprintln!("Unable to find image '{shown}' locally");
            Err(EngineError::NoSuchImage(shown).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// `create`: prints the new container's id.
pub fn create_cmd(a: CreateArgs) -> anyhow::Result<i32> {
    let go = || -> anyhow::Result<String> {
        let mut engine = engine()?;
        create(&mut engine, &a, true)
    };
    let id = go().map_err(|e| run_failure("create", e))?;
    println!("{id}");
    Ok(0)
}

/// `run`.
pub fn run(a: RunArgs) -> anyhow::Result<i32> {
    let detach_keys = client::parse_detach_keys(a.detach_keys.as_deref())
        .map_err(|e| StatusError::error(125, format!("berth: {e}")))?;
    let mut engine = engine().map_err(|e| run_failure("run", e))?;
    let id = create(&mut engine, &a.create, a.detach).map_err(|e| run_failure("run", e))?;
    let c = engine
        .container(&id)
        .map_err(|e| run_failure("run", e.into()))?;
    let cfg = &c.doc.config;
    let want = (!a.detach).then_some(Want {
        stdin: cfg.attach_stdin,
        stdout: cfg.attach_stdout,
        stderr: cfg.attach_stderr,
    });
    let tty = cfg.tty;
    let auto_remove = c.doc.host_config.auto_remove;
    let started = match engine.start_container(&id, want) {
        Ok(s) => s,
        Err(e) => {
            if auto_remove {
                let _ = engine.remove_container_with_volumes(&id, true, true);
            }
            return Err(run_failure("run", e.into()));
        }
    };
    if a.detach {
        println!("{id}");
        return Ok(0);
    }
    let Some(sock) = started.attach else {
        return Ok(0);
    };
    if a.sig_proxy && !tty {
        berth_engine::containers::signals::proxy_signals(started.pid);
    }
    let opts = AttachOptions {
        stdin: want.is_some_and(|w| w.stdin),
        tty,
        detach_keys,
    };
    match client::attach(sock, &opts)? {
        Ended::Exited(code) => Ok(code),
        Ended::Lost => Ok(engine.wait_container(&id).unwrap_or(125)),
    }
}

/// `start`.
pub fn start(a: StartArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    if a.attach || a.interactive {
        if a.containers.len() > 1 {
            return Err(StatusError::error(
                1,
                "you cannot start and attach multiple containers at once",
            ));
        }
        let name = &a.containers[0];
        let c = engine.container(name)?;
        let cfg = &c.doc.config;
        let want = Want {
            stdin: a.interactive && cfg.open_stdin,
            stdout: true,
            stderr: true,
        };
        let detach_keys = client::parse_detach_keys(a.detach_keys.as_deref())?;
        let tty = cfg.tty;
        let started = engine.start_container(name, Some(want))?;
        let Some(sock) = started.attach else {
            // Already running: attach to it.
            return super::attach::attach_running(&mut engine, name, want, tty, detach_keys);
        };
        let opts = AttachOptions {
            stdin: want.stdin,
            tty,
            detach_keys,
        };
        return match client::attach(sock, &opts)? {
            Ended::Exited(code) => Ok(code),
            Ended::Lost => Ok(engine.wait_container(name).unwrap_or(1)),
        };
    }
    let mut failed = false;
    for name in &a.containers {
        match engine.start_container(name, None) {
            Ok(_) => println!("{name}"),
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
