//! `stop`, `kill`, `restart`, `rm`, `wait`, `pause`, `unpause`, `rename`.

use std::time::Duration;

use berth_store::containers as rows;

use super::{lifecycle, procs, Container};

use crate::{Engine, EngineError};

/// How to stop a container.
#[derive(Debug, Clone, Default)]
pub struct StopOptions {
    /// Seconds to wait before SIGKILL (`-t`); the container's `StopTimeout` or 10 when unset.
    pub timeout: Option<i64>,
    /// The signal (`-s`); the container's `StopSignal` or SIGTERM when unset.
    pub signal: Option<String>,
}

/// Parses a signal name or number as Docker does (`KILL`, `SIGKILL`, `9`).
pub fn parse_signal(s: &str) -> Result<i32, EngineError> {
    let bad = || EngineError::InvalidArgument(format!("Invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return if (1..=64).contains(&n) {
            Ok(n)
        } else {
            Err(bad())
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    let n = match name {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "TRAP" => 5,
        "ABRT" | "IOT" => 6,
        "BUS" => 7,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        "STKFLT" => 16,
        "CHLD" | "CLD" => 17,
        "CONT" => 18,
        "STOP" => 19,
        "TSTP" => 20,
        "TTIN" => 21,
        "TTOU" => 22,
        "URG" => 23,
        "XCPU" => 24,
        "XFSZ" => 25,
        "VTALRM" => 26,
        "PROF" => 27,
        "WINCH" => 28,
        "IO" | "POLL" => 29,
        "PWR" => 30,
        "SYS" => 31,
        n if n.starts_with("RTMIN+") => 34 + n[6..].parse::<i32>().map_err(|_| bad())?,
        n if n.starts_with("RTMAX-") => 64 - n[6..].parse::<i32>().map_err(|_| bad())?,
        "RTMIN" => 34,
        "RTMAX" => 64,
        _ => return Err(bad()),
    };
    Ok(n)
}

fn is_live(state: &str) -> bool {
    matches!(state, "running" | "paused" | "restarting")
}

impl Engine {
    fn set_manual_stop(&mut self, id: &str) -> Result<(), EngineError> {
        let id = id.to_string();
        self.store.db_mut().write(|tx| {
            if let Some(mut r) = rows::get(tx, &id)? {
                r.manual_stop = true;
                rows::update(tx, &r)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Sends `sig` to the container's init; with `manual`, the restart policy will not bring
    /// it back.
    fn signal(&mut self, c: &Container, sig: i32) -> Result<bool, EngineError> {
        match procs::pidfd(c.row.pid, c.row.pid_start) {
            Some(fd) => {
                procs::signal_fd(&fd, sig).map_err(|source| EngineError::Stream {
                    what: "signal container",
                    source,
                })?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Stops a container: its stop signal, then SIGKILL after the timeout. No-op when it is
    /// not running. Returns once its exit is recorded.
    pub fn stop_container(
        &mut self,
        name_or_id: &str,
        opts: &StopOptions,
    ) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        if !is_live(&c.row.state) {
            return Ok(());
        }
        self.set_manual_stop(&c.row.id)?;
        if c.row.state == "restarting" {
            // Between two runs: end the monitor's back-off; reconcile records the stop.
            if let Some(fd) = procs::pidfd(c.row.monitor_pid, c.row.monitor_start) {
                let _ = procs::signal_fd(&fd, 9);
                procs::wait_fd(&fd, Some(Duration::from_secs(5)));
            }
            self.container(&c.row.id)?;
            return Ok(());
        }
        let sig = match opts
            .signal
            .as_deref()
            .or(c.doc.config.stop_signal.as_deref())
        {
            Some(s) => parse_signal(s)?,
            None => 15,
        };
        let timeout = opts.timeout.or(c.doc.config.stop_timeout).unwrap_or(10);
        if let Some(fd) = procs::pidfd(c.row.pid, c.row.pid_start) {
            let was_paused = c.row.state == "paused";
            self.emit_container(&c, "kill", &[("signal", sig.to_string())]);
            let _ = procs::signal_fd(&fd, sig);
            if was_paused {
                let _ = self.unpause_container(&c.row.id);
            }
            let done =
                timeout >= 0 && procs::wait_fd(&fd, Some(Duration::from_secs(timeout as u64)));
            if !done {
                self.emit_container(&c, "kill", &[("signal", "9".into())]);
                let _ = procs::signal_fd(&fd, 9);
                procs::wait_fd(&fd, None);
            }
        }
        lifecycle::wait_monitor(&c.row, Some(Duration::from_secs(30)));
        self.container(&c.row.id)?;
        self.emit_container(&c, "stop", &[]);
        Ok(())
    }

    /// Sends a signal (default SIGKILL) to a running container.
    pub fn kill_container(
        &mut self,
        name_or_id: &str,
        signal: Option<&str>,
    ) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        let sig = parse_signal(signal.unwrap_or("KILL"))?;
        if c.row.state != "running" && c.row.state != "paused" {
            return Err(EngineError::Conflict(format!(
                "Cannot kill container: {name_or_id}: Container {} is not running",
                c.row.id
            )));
        }
        let stop_sig = c
            .doc
            .config
            .stop_signal
            .as_deref()
            .and_then(|s| parse_signal(s).ok())
            .unwrap_or(15);
        if sig == 9 || sig == stop_sig {
            self.set_manual_stop(&c.row.id)?;
        }
        if !self.signal(&c, sig)? {
            return Err(EngineError::Conflict(format!(
                "Cannot kill container: {name_or_id}: Container {} is not running",
                c.row.id
            )));
        }
        self.emit_container(&c, "kill", &[("signal", sig.to_string())]);
        if sig == 9 {
            if let Some(fd) = procs::pidfd(c.row.pid, c.row.pid_start) {
                procs::wait_fd(&fd, Some(Duration::from_secs(10)));
            }
            lifecycle::wait_monitor(&c.row, Some(Duration::from_secs(10)));
        }
        Ok(())
    }

    /// Removes several containers (`rm`), as [`Engine::remove_container`] does for each, but
    /// in bulk: running ones (with `force`) are marked stopped in one transaction and killed
    /// together so their monitors wind down in parallel, and the rows go in one transaction.
    /// Returns each name's outcome, in order.
    pub fn remove_containers(
        &mut self,
        names: &[String],
        force: bool,
    ) -> Vec<(String, Result<(), EngineError>)> {
        self.remove_containers_with_volumes(names, force, false)
    }

    /// [`Engine::remove_containers`]; with `volumes` (`rm -v`), each container's anonymous
    /// volumes that no other container uses are removed with it.
    pub fn remove_containers_with_volumes(
        &mut self,
        names: &[String],
        force: bool,
        volumes: bool,
    ) -> Vec<(String, Result<(), EngineError>)> {
        let mut out: Vec<(String, Result<(), EngineError>)> = Vec::new();
        let mut found: Vec<(usize, Container)> = Vec::new();
        for n in names {
            match self.container(n) {
                Ok(c) if is_live(&c.row.state) && (!force || c.row.state != "running") => {
                    // Refusals and the rarer states take the one-by-one path.
                    let r = self.remove_container_with_volumes(n, force, volumes);
                    out.push((n.clone(), r));
                }
                Ok(c) => {
                    found.push((out.len(), c));
                    out.push((n.clone(), Ok(())));
                }
                Err(e) => out.push((n.clone(), Err(e))),
            }
        }
        let running: Vec<String> = found
            .iter()
            .filter(|(_, c)| c.row.state == "running")
            .map(|(_, c)| c.row.id.clone())
            .collect();
        if !running.is_empty() {
            let ids = running.clone();
            let marked = self.store.db_mut().write(|tx| {
                for id in &ids {
                    if let Some(mut r) = rows::get(tx, id)? {
                        // "removing": the monitor's finisher then records nothing (the row
                        // is about to go), which keeps 200 removals from queueing 200
                        // write transactions.
                        r.manual_stop = true;
                        r.state = "removing".into();
                        rows::update(tx, &r)?;
                    }
                }
                Ok(())
            });
            if let Err(e) = marked {
                for (i, _) in &found {
                    out[*i].1 = Err(EngineError::InvalidArgument(e.to_string()));
                }
                return out;
            }
            for (_, c) in &found {
                if c.row.state == "running" {
                    let _ = self.signal(c, 9);
                }
            }
        }
        // Wait for every monitor still at work, including those of containers another `rm`
        // is removing: the monitor's finisher removes the cgroup, which needs the runtime
        // state this removal deletes.
        for (_, c) in &found {
            if matches!(c.row.state.as_str(), "running" | "removing") {
                lifecycle::wait_monitor(&c.row, Some(Duration::from_secs(30)));
            }
        }
        let mut gone = Vec::new();
        for (_, c) in &found {
            let paths = self.container_paths(&c.row.id);
            let _ = super::rootfs::unmount(&paths);
            let _ = berth_runtime::oci::delete(&c.runtime(), &paths.runtime_root, &c.row.id);
            gone.push(c.row.id.clone());
        }
        let deleted = self.store.db_mut().write(|tx| {
            let mut dropped = Vec::new();
            for id in &gone {
                if volumes {
                    dropped.extend(berth_store::volumes::drop_anonymous_of(tx, id)?);
                }
                rows::delete(tx, id)?;
            }
            Ok(dropped)
        });
        let dropped = match deleted {
            Ok(d) => d,
            Err(e) => {
                let msg = e.to_string();
                for (i, _) in &found {
                    out[*i].1 = Err(EngineError::InvalidArgument(msg.clone()));
                }
                return out;
            }
        };
        for v in &dropped {
            self.remove_volume_dir(v);
            self.emit_volume("destroy", v, &[]);
        }
        for (_, c) in &found {
            let paths = self.container_paths(&c.row.id);
            let _ = std::fs::remove_dir_all(&paths.dir);
            let _ = std::fs::remove_dir_all(&paths.run_dir);
            self.emit_container(c, "destroy", &[]);
        }
        out
    }

    /// Removes a container (`force`: kills it first).
    pub fn remove_container(&mut self, name_or_id: &str, force: bool) -> Result<(), EngineError> {
        self.remove_container_with_volumes(name_or_id, force, false)
    }

    /// [`Engine::remove_container`]; with `volumes`, its anonymous volumes go too.
    pub fn remove_container_with_volumes(
        &mut self,
        name_or_id: &str,
        force: bool,
        volumes: bool,
    ) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        if is_live(&c.row.state) {
            if !force {
                let what = if c.row.state == "paused" {
                    "container is paused and must be unpaused first"
                } else if c.row.state == "restarting" {
                    "container is restarting: stop the container before removing or force remove"
                } else {
                    "container is running: stop the container before removing or force remove"
                };
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{}\": {what}",
                    c.row.name
                )));
            }
            self.set_manual_stop(&c.row.id)?;
            if c.row.state == "paused" {
                let _ = self.signal(&c, 9);
                let _ = self.unpause_container(&c.row.id);
            }
            if let Some(fd) = procs::pidfd(c.row.monitor_pid, c.row.monitor_start) {
                if c.row.state == "restarting" {
                    let _ = procs::signal_fd(&fd, 9);
                }
            }
            let _ = self.signal(&c, 9);
            lifecycle::wait_monitor(&c.row, Some(Duration::from_secs(30)));
        }
        let paths = self.container_paths(&c.row.id);
        let rt = c.runtime();
        lifecycle::remove_everything(self.store.db_mut(), &paths, &c.row.id, &rt, volumes)
            .map_err(EngineError::InvalidArgument)?;
        self.emit_container(&c, "destroy", &[]);
        Ok(())
    }

    /// Blocks until the container is not running; returns its exit code.
    pub fn wait_container(&mut self, name_or_id: &str) -> Result<i32, EngineError> {
        let c = self.container(name_or_id)?;
        if is_live(&c.row.state) {
            lifecycle::wait_monitor(&c.row, None);
            if procs::alive(
                c.row.pid,
                c.row.pid_start,
                &c.row.boot_id,
                &procs::boot_id(),
            ) {
                if let Some(fd) = procs::pidfd(c.row.pid, c.row.pid_start) {
                    procs::wait_fd(&fd, None);
                }
            }
        }
        match self.container(&c.row.id) {
            Ok(c) => Ok(c.row.exit_code),
            // Removed on exit (`--rm`): the exit code went with it.
            Err(EngineError::NoSuchContainer(_)) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Stops (if running) and starts a container again.
    pub fn restart_container(
        &mut self,
        name_or_id: &str,
        opts: &StopOptions,
    ) -> Result<(), EngineError> {
        self.stop_container(name_or_id, opts)?;
        self.start_container(name_or_id, None)?;
        if let Ok(c) = self.container(name_or_id) {
            self.emit_container(&c, "restart", &[]);
        }
        Ok(())
    }

    /// Freezes a running container.
    pub fn pause_container(&mut self, name_or_id: &str) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        match c.row.state.as_str() {
            "running" => {}
            "paused" => {
                return Err(EngineError::Conflict(format!(
                    "container {} is already paused",
                    c.row.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "container {} is not running",
                    c.row.id
                )))
            }
        }
        let paths = self.container_paths(&c.row.id);
        berth_runtime::oci::pause(&c.runtime(), &paths.runtime_root, &c.row.id)?;
        self.set_state(&c.row.id, "running", "paused")?;
        self.emit_container(&c, "pause", &[]);
        Ok(())
    }

    /// Thaws a paused container.
    pub fn unpause_container(&mut self, name_or_id: &str) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        if c.row.state != "paused" {
            return Err(EngineError::Conflict(format!(
                "container {} is not paused",
                c.row.id
            )));
        }
        let paths = self.container_paths(&c.row.id);
        berth_runtime::oci::resume(&c.runtime(), &paths.runtime_root, &c.row.id)?;
        self.set_state(&c.row.id, "paused", "running")?;
        self.emit_container(&c, "unpause", &[]);
        Ok(())
    }

    fn set_state(&mut self, id: &str, from: &str, to: &str) -> Result<(), EngineError> {
        let (id, from, to) = (id.to_string(), from.to_string(), to.to_string());
        self.store.db_mut().write(|tx| {
            if let Some(mut r) = rows::get(tx, &id)? {
                if r.state == from {
                    r.state = to;
                    rows::update(tx, &r)?;
                }
            }
            Ok(())
        })?;
        Ok(())
    }

    /// Renames a container.
    pub fn rename_container(
        &mut self,
        name_or_id: &str,
        new_name: &str,
    ) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        let new = super::names::validate(new_name).map_err(EngineError::InvalidArgument)?;
        if new == c.row.name {
            return Err(EngineError::Conflict(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        let id = c.row.id.clone();
        let n = new.clone();
        let taken = self.store.db_mut().write(|tx| {
            if let Some(other) = rows::by_name(tx, &n)? {
                return Ok(Some(other.id));
            }
            if let Some(mut r) = rows::get(tx, &id)? {
                r.name = n.clone();
                rows::update(tx, &r)?;
            }
            Ok(None)
        })?;
        if let Some(other) = taken {
            return Err(EngineError::Conflict(format!(
                "Conflict. The container name \"/{new}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
            )));
        }
        let mut renamed = c.clone();
        renamed.row.name = new;
        self.emit_container(
            &renamed,
            "rename",
            &[("oldName", format!("/{}", c.row.name))],
        );
        Ok(())
    }
}
