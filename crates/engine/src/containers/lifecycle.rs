//! State transitions: the work of the monitor's forked children (recording a start, an exit
//! or a failed start), and the verbs run from the CLI (`start`, `stop`, `kill`, `rm`, `wait`),
//! plus [`reconcile`], which makes the stored state tell the truth after a monitor died or
//! the machine rebooted.

use std::path::Path;
use std::time::Duration;

use berth_runtime::oci;
use berth_store::{containers as rows, ContainerRow, Db};

use super::monitor::{ChildIo, Settings};
use super::paths::Paths;
use super::procs;
use super::rootfs;
use crate::events;

fn open_db(root: &Path) -> Result<Db, String> {
    Db::open(&root.join("berth.db")).map_err(|e| e.to_string())
}

/// Creator child: creates and starts the container, records it as running; returns the line
/// for the monitor (`ok PID` or `err CODE\tMESSAGE`).
pub(crate) fn creator_child(
    s: &Settings,
    paths: &Paths,
    io: ChildIo,
    console: Option<&Path>,
) -> String {
    berth_sys::default_signal_dispositions(true);
    let stdio = oci::Stdio {
        stdin: io.stdin,
        stdout: io.stdout,
        stderr: io.stderr,
    };
    // A previous run's runtime state (a restart, a crash) would make libcontainer refuse.
    let rt = oci::Runtime::from_name(&s.runtime);
    let _ = oci::delete(&rt, &paths.runtime_root, &s.id);
    let pid = match oci::create_and_start(
        &rt,
        &s.id,
        &paths.runtime_root,
        &paths.bundle,
        stdio,
        console,
    ) {
        Ok(pid) => pid,
        Err(e) => return format!("err {}\t{}", e.exit_code(), one_line(&e.to_string())),
    };
    match record_running(s, pid) {
        Ok(()) => format!("ok {pid}"),
        Err(e) => {
            let _ = rustix::process::kill_process(
                rustix::process::Pid::from_raw(pid).expect("positive pid"),
                rustix::process::Signal::KILL,
            );
            format!("err 125\t{}", one_line(&e))
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\t'], " ")
}

fn record_running(s: &Settings, pid: i32) -> Result<(), String> {
    let mut db = open_db(&s.root)?;
    let monitor = rustix::process::getppid()
        .map(|p| p.as_raw_nonzero().get())
        .unwrap_or(0);
    let boot = procs::boot_id();
    let id = s.id.clone();
    let health = s.health.is_some();
    let found = db
        .write(|tx| {
            let Some(mut r) = rows::get(tx, &id)? else {
                return Ok(None);
            };
            r.state = "running".into();
            r.pid = pid;
            r.pid_start = procs::start_time(pid).unwrap_or(0);
            r.monitor_pid = monitor;
            r.monitor_start = procs::start_time(monitor).unwrap_or(0);
            r.boot_id = boot.clone();
            r.started_at = berth_store::now_nanos();
            r.exit_code = 0;
            r.error.clear();
            r.oom_killed = false;
            r.health = if health {
                super::health::starting()
            } else {
                String::new()
            };
            rows::update(tx, &r)?;
            Ok(Some(r))
        })
        .map_err(|e| e.to_string())?;
    if let Some(r) = found {
        events::append(&s.run, &events::container_event_from_row(&r, "start", &[]));
        Ok(())
    } else {
        Err(format!("container {id} was removed while starting"))
    }
}

/// Whether the restart policy restarts after an exit with `code`.
pub fn should_restart(policy: &str, max: i64, code: i32, manual: bool, count: i64) -> bool {
    if manual {
        return false;
    }
    match policy {
        "always" | "unless-stopped" => true,
        "on-failure" => code != 0 && (max <= 0 || count < max),
        _ => false,
    }
}

/// Finisher child: records the exit; returns whether the monitor restarts the container.
pub(crate) fn finisher_child(s: &Settings, paths: &Paths, code: i32) -> bool {
    let oom = code == 137 && oom_killed(&s.id);
    let rt = oci::Runtime::from_name(&s.runtime);
    let _ = oci::delete(&rt, &paths.runtime_root, &s.id);
    let Ok(mut db) = open_db(&s.root) else {
        return false;
    };
    let row = rows::get(db.conn(), &s.id).ok().flatten();
    if let Some(r) = &row {
        if oom {
            events::append(&s.run, &events::container_event_from_row(r, "oom", &[]));
        }
        let code = [("exitCode", code.to_string())];
        events::append(&s.run, &events::container_event_from_row(r, "die", &code));
    }
    if row.as_ref().is_some_and(|r| r.state == "removing") {
        // `rm -f` is removing it: nothing to record, the row is about to go.
        let _ = crate::networks::setup::teardown(&mut db, &s.run, &s.id);
        let _ = rootfs::unmount(paths);
        return false;
    }
    if s.auto_remove {
        // `--rm` (never with a restart policy): the exit is not recorded, the container goes.
        if remove_everything(&mut db, paths, &s.id, &rt, true).is_ok() {
            if let Some(r) = &row {
                events::append(&s.run, &events::container_event_from_row(r, "destroy", &[]));
            }
        }
        return false;
    }
    let id = s.id.clone();
    let policy = s.restart.clone();
    let outcome = db.write(|tx| {
        let Some(mut r) = rows::get(tx, &id)? else {
            return Ok(None);
        };
        let restart = should_restart(
            &policy.name,
            policy.maximum_retry_count,
            code,
            r.manual_stop,
            r.restart_count,
        );
        r.exit_code = code;
        r.finished_at = berth_store::now_nanos();
        r.oom_killed = oom;
        r.pid = 0;
        r.pid_start = 0;
        if restart {
            r.state = "restarting".into();
            r.restart_count += 1;
        } else {
            r.state = "exited".into();
            r.monitor_pid = 0;
            r.monitor_start = 0;
        }
        rows::update(tx, &r)?;
        Ok(Some(restart))
    });
    if !matches!(outcome, Ok(Some(true))) {
        let _ = crate::networks::setup::teardown(&mut db, &s.run, &id);
    }
    match outcome {
        Ok(Some(true)) => true,
        Ok(Some(false)) => {
            let _ = rootfs::unmount(paths);
            if s.auto_remove {
                let _ = remove_everything(&mut db, paths, &id, &rt, true);
            }
            false
        }
        _ => {
            let _ = rootfs::unmount(paths);
            false
        }
    }
}

/// Child run when the container could not start: records the error, cleans up.
pub(crate) fn failed_child(s: &Settings, paths: &Paths, code: i32, msg: &str) {
    let rt = oci::Runtime::from_name(&s.runtime);
    let _ = oci::delete(&rt, &paths.runtime_root, &s.id);
    let _ = rootfs::unmount(paths);
    let Ok(mut db) = open_db(&s.root) else {
        return;
    };
    let id = s.id.clone();
    let _ = crate::networks::setup::teardown(&mut db, &s.run, &id);
    let _ = db.write(|tx| {
        let Some(mut r) = rows::get(tx, &id)? else {
            return Ok(());
        };
        r.error = msg.to_string();
        r.exit_code = code;
        r.state = if r.started_at == 0 {
            "created"
        } else {
            "exited"
        }
        .into();
        r.pid = 0;
        r.monitor_pid = 0;
        rows::update(tx, &r)?;
        Ok(())
    });
    if s.auto_remove {
        let _ = remove_everything(&mut db, paths, &id, &rt, true);
    }
}

/// Deletes the row, then the files (rows before files on the way out).
pub(crate) fn remove_everything(
    db: &mut Db,
    paths: &Paths,
    id: &str,
    rt: &oci::Runtime,
    volumes: bool,
) -> Result<(), String> {
    let _ = rootfs::unmount(paths);
    let _ = oci::delete(rt, &paths.runtime_root, id);
    let _ = crate::networks::setup::teardown(db, &run_root(paths), id);
    let dropped = db
        .write(|tx| {
            // `rm -v` / `--rm`: the container's anonymous volumes go with it.
            let dropped = if volumes {
                berth_store::volumes::drop_anonymous_of(tx, id)?
            } else {
                Vec::new()
            };
            rows::delete(tx, id)?;
            Ok(dropped)
        })
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&paths.dir);
    let _ = std::fs::remove_dir_all(&paths.run_dir);
    crate::volumes::remove_dirs_beside(paths, &dropped);
    Ok(())
}

/// Makes a row tell the truth: a container recorded as running whose monitor and process
/// are gone (monitor killed, machine rebooted) is recorded as exited (code 255, as Docker
/// reports containers it lost), its rootfs unmounted and runtime state removed.
pub(crate) fn reconcile(db: &mut Db, paths: &Paths, row: ContainerRow) -> ContainerRow {
    if !matches!(
        row.state.as_str(),
        "running" | "paused" | "restarting" | "removing"
    ) {
        return row;
    }
    let boot = procs::boot_id();
    if procs::alive(row.monitor_pid, row.monitor_start, &row.boot_id, &boot) {
        return row;
    }
    if row.state != "restarting" && procs::alive(row.pid, row.pid_start, &row.boot_id, &boot) {
        // The monitor died but the container lives on, unsupervised.
        return row;
    }
    let _ = oci::delete(&runtime_of(&row), &paths.runtime_root, &row.id);
    let _ = rootfs::unmount(paths);
    let _ = crate::networks::setup::teardown(db, &run_root(paths), &row.id);
    let id = row.id.clone();
    let before = row.clone();
    let updated = db.write(|tx| {
        let Some(mut r) = rows::get(tx, &id)? else {
            return Ok(None);
        };
        if r.state != before.state || r.monitor_pid != before.monitor_pid {
            return Ok(Some(r)); // changed meanwhile: trust the newer record
        }
        r.state = "exited".into();
        if r.finished_at == 0 || r.finished_at < r.started_at {
            r.finished_at = berth_store::now_nanos();
        }
        if before.state != "restarting" {
            r.exit_code = 255;
        }
        r.pid = 0;
        r.monitor_pid = 0;
        rows::update(tx, &r)?;
        Ok(Some(r))
    });
    match updated {
        Ok(Some(r)) => r,
        _ => before,
    }
}

/// Waits for the monitor of `row` to end (it records the exit first); `false` on timeout.
pub(crate) fn wait_monitor(row: &ContainerRow, timeout: Option<Duration>) -> bool {
    match procs::pidfd(row.monitor_pid, row.monitor_start) {
        Some(fd) => procs::wait_fd(&fd, timeout),
        None => true,
    }
}

/// Whether the kernel's OOM killer killed a process of the container's cgroup (read before
/// the cgroup is removed): `oom_kill` in v1 `memory.oom_control` or v2 `memory.events`.
fn oom_killed(id: &str) -> bool {
    let cg = super::paths::cgroup_path(id);
    let candidates = [
        format!("/sys/fs/cgroup/memory{cg}/memory.oom_control"),
        format!("/sys/fs/cgroup{cg}/memory.events"),
    ];
    candidates.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|t| {
            t.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}

/// The runtime a stored container runs on.
pub(crate) fn runtime_of(row: &ContainerRow) -> oci::Runtime {
    let doc: super::config::ContainerDoc = serde_json::from_str(&row.config).unwrap_or_default();
    oci::Runtime::from_name(&doc.host_config.runtime)
}

/// `$BERTH_RUN` from a container's paths (`$BERTH_RUN/containers/<id>`).
fn run_root(paths: &Paths) -> std::path::PathBuf {
    paths
        .run_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
