//! Health checks: when they run (Docker's defaults: every 30 s, 30 s timeout, 3 retries,
//! no start period) and one check, run by the monitor in a forked child that records the
//! result in the container's `State.Health`.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berth_image::spec::HealthConfig;
use berth_runtime::oci;
use berth_store::{containers as rows, Db};
use serde::{Deserialize, Serialize};

use super::config::ContainerDoc;
use super::inspect::rfc3339_nanos;
use super::monitor::Settings;
use super::paths::Paths;
use super::{procs, userdb};

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_START_INTERVAL: Duration = Duration::from_secs(5);
const DEFAULT_RETRIES: i64 = 3;
const MAX_OUTPUT: usize = 4096;
const MAX_LOG: usize = 5;

fn dur(nanos: i64, default: Duration) -> Duration {
    if nanos > 0 {
        Duration::from_nanos(nanos as u64)
    } else {
        default
    }
}

/// Whether a config asks for checks (`[]` inherits, `["NONE"]` disables).
pub fn enabled(h: &HealthConfig) -> bool {
    matches!(
        h.test.first().map(String::as_str),
        Some("CMD" | "CMD-SHELL")
    )
}

/// When the next check is due.
pub struct Schedule {
    cfg: HealthConfig,
    started: Instant,
    next: Instant,
}

impl Schedule {
    /// A schedule starting now (the container just started).
    pub fn new(cfg: HealthConfig) -> Schedule {
        let now = Instant::now();
        let first = Self::gap(&cfg, now, now);
        Schedule {
            next: now + first,
            started: now,
            cfg,
        }
    }

    fn gap(cfg: &HealthConfig, started: Instant, now: Instant) -> Duration {
        let start_period = dur(cfg.start_period, Duration::ZERO);
        if now.duration_since(started) < start_period {
            dur(cfg.start_interval, DEFAULT_START_INTERVAL)
        } else {
            dur(cfg.interval, DEFAULT_INTERVAL)
        }
    }

    /// Whether a check is due.
    pub fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// Time until the next check.
    pub fn until_due(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }

    /// Records that a check was started now.
    pub fn ran(&mut self) {
        let now = Instant::now();
        self.next = now + Self::gap(&self.cfg, self.started, now);
    }

    /// How long one check may take.
    pub fn attempt_timeout(&self) -> Duration {
        dur(self.cfg.timeout, DEFAULT_TIMEOUT)
    }
}

/// Docker's `State.Health`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Consecutive failures.
    pub failing_streak: i64,
    /// The last results, oldest first.
    pub log: Vec<HealthResult>,
}

/// One check's result.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthResult {
    /// When it started.
    pub start: String,
    /// When it ended.
    pub end: String,
    /// Its exit code (-1: timed out or could not run).
    pub exit_code: i64,
    /// Its output (at most 4 KiB).
    pub output: String,
}

/// The state a container starts with.
pub fn starting() -> String {
    serde_json::to_string(&HealthState {
        status: "starting".into(),
        failing_streak: 0,
        log: Vec::new(),
    })
    .unwrap_or_default()
}

/// Runs one check and records it (in a child of the monitor).
pub(crate) fn check_child(s: &Settings, paths: &Paths, timeout: Duration) {
    let Some(cfg) = &s.health else { return };
    berth_sys::default_signal_dispositions(true);
    let Ok(mut db) = Db::open(&s.root.join("berth.db")) else {
        return;
    };
    let Ok(Some(row)) = rows::get(db.conn(), &s.id) else {
        return;
    };
    let doc: ContainerDoc = serde_json::from_str(&row.config).unwrap_or_default();
    let start = berth_store::now_nanos();
    let (code, output) = match run_check(s.runtime.clone(), cfg, &doc, paths, &s.id, timeout) {
        Ok(r) => r,
        Err(e) => (-1, e),
    };
    let end = berth_store::now_nanos();
    let started_at = row.started_at;
    let id = s.id.clone();
    let retries = if cfg.retries > 0 {
        cfg.retries
    } else {
        DEFAULT_RETRIES
    };
    let start_period = cfg.start_period.max(0);
    let changed = db.write(|tx| {
        let Some(mut r) = rows::get(tx, &id)? else {
            return Ok(None);
        };
        if r.state != "running" || r.started_at != started_at {
            return Ok(None); // a check of a run that is over
        }
        let mut h: HealthState = serde_json::from_str(&r.health).unwrap_or_default();
        let before = h.status.clone();
        if code == 0 {
            h.status = "healthy".into();
            h.failing_streak = 0;
        } else if start - started_at >= start_period {
            h.failing_streak += 1;
            if h.failing_streak >= retries {
                h.status = "unhealthy".into();
            }
        }
        if h.status.is_empty() {
            h.status = "starting".into();
        }
        h.log.push(HealthResult {
            start: rfc3339_nanos(start),
            end: rfc3339_nanos(end),
            exit_code: code,
            output: output.clone(),
        });
        if h.log.len() > MAX_LOG {
            let extra = h.log.len() - MAX_LOG;
            h.log.drain(..extra);
        }
        r.health = serde_json::to_string(&h).unwrap_or_default();
        rows::update(tx, &r)?;
        Ok((h.status != before).then_some((r, h.status)))
    });
    // Docker reports a change of status, not every check.
    if let Ok(Some((r, status))) = changed {
        let action = format!("health_status: {status}");
        crate::events::append(
            &s.run,
            &crate::events::container_event_from_row(&r, &action, &[]),
        );
    }
}

fn run_check(
    rt_name: String,
    cfg: &HealthConfig,
    doc: &ContainerDoc,
    paths: &Paths,
    id: &str,
    timeout: Duration,
) -> Result<(i64, String), String> {
    let args: Vec<String> = match cfg.test.first().map(String::as_str) {
        Some("CMD") => cfg.test[1..].to_vec(),
        Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), cfg.test[1..].join(" ")],
        _ => return Err("no health check command".into()),
    };
    let user = userdb::resolve_in_root(&paths.merged, &doc.config.user)
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let (r, w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| e.to_string())?;
    let w2: OwnedFd = rustix::io::dup(&w).map_err(|e| e.to_string())?;
    let null: OwnedFd = std::fs::File::open("/dev/null")
        .map_err(|e| e.to_string())?
        .into();
    let cwd = if doc.config.working_dir.is_empty() {
        "/".to_string()
    } else {
        doc.config.working_dir.clone()
    };
    let spec = oci::ExecSpec {
        args,
        env: doc.config.env.clone(),
        cwd: Some(PathBuf::from(cwd)),
        user: Some((user.uid, user.gid)),
        additional_gids: user.additional_gids,
        capabilities: None,
        console_socket: None,
        bundle: None,
    };
    let pid = oci::exec(
        &oci::Runtime::from_name(&rt_name),
        &paths.runtime_root,
        id,
        spec,
        oci::Stdio {
            stdin: Some(null),
            stdout: Some(w),
            stderr: Some(w2),
        },
    )
    .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    let mut f = std::fs::File::from(r);
    let _ = rustix::io::ioctl_fionbio(&f, true);
    let pfd = procs::pidfd(pid, procs::start_time(pid).unwrap_or(0));
    let mut buf = [0u8; 4096];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if out.len() < MAX_OUTPUT {
                    out.extend_from_slice(&buf[..n.min(MAX_OUTPUT - out.len())]);
                }
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
        if Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let finished = pfd
        .as_ref()
        .map(|fd| procs::wait_fd(fd, Some(left)))
        .unwrap_or(true);
    if !finished {
        if let Some(fd) = &pfd {
            let _ = procs::signal_fd(fd, 9);
        }
        reap(pid);
        return Ok((
            -1,
            format!("Health check exceeded timeout ({}s)", timeout.as_secs()),
        ));
    }
    let code = reap(pid);
    Ok((code, String::from_utf8_lossy(&out).into_owned()))
}

fn reap(pid: i32) -> i64 {
    let Some(p) = rustix::process::Pid::from_raw(pid) else {
        return -1;
    };
    match rustix::process::waitpid(Some(p), rustix::process::WaitOptions::empty()) {
        Ok(Some((_, st))) => st
            .exit_status()
            .map(i64::from)
            .or_else(|| st.terminating_signal().map(|s| 128 + s as i64))
            .unwrap_or(-1),
        _ => -1,
    }
}
