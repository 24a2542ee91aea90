//! `logs`: reading the json-file log (and following it while the container runs).

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::time::Duration;

use serde::Deserialize;

use super::procs;
use crate::{Engine, EngineError};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Keep reading while the container runs (`-f`).
    pub follow: bool,
    /// Only the last N records (`--tail`; `None` for all).
    pub tail: Option<usize>,
    /// Only records at or after this time, unix nanoseconds (`--since`).
    pub since: Option<i64>,
    /// Only records before this time, unix nanoseconds (`--until`).
    pub until: Option<i64>,
    /// Include stdout.
    pub stdout: bool,
    /// Include stderr.
    pub stderr: bool,
}

/// One log record.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// 0 stdout, 1 stderr.
    pub stream: usize,
    /// The bytes written.
    pub text: String,
    /// The time, RFC 3339 with nanoseconds, as stored.
    pub time: String,
}

#[derive(Deserialize)]
struct Raw {
    log: String,
    stream: String,
    time: String,
}

fn parse_time(t: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .and_then(|d| d.timestamp_nanos_opt())
}

impl Engine {
    /// Streams a container's log records to `sink` (which returns false to stop).
    pub fn container_logs(
        &mut self,
        name_or_id: &str,
        opts: &LogOptions,
        mut sink: impl FnMut(&LogRecord) -> bool,
    ) -> Result<(), EngineError> {
        let c = self.container(name_or_id)?;
        let paths = self.container_paths(&c.row.id);
        let file = match std::fs::File::open(&paths.log) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !opts.follow => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&paths.log)
                    .map_err(crate::error::io_err(&paths.log))?;
                std::fs::File::open(&paths.log).map_err(crate::error::io_err(&paths.log))?
            }
            Err(e) => return Err(crate::error::io_err(&paths.log)(e)),
        };
        let want = |r: &LogRecord| -> bool {
            (r.stream == 0 && opts.stdout) || (r.stream == 1 && opts.stderr)
        };
        let in_window = |t: &str| -> bool {
            let Some(n) = parse_time(t) else { return true };
            opts.since.is_none_or(|s| n >= s) && opts.until.is_none_or(|u| n < u)
        };
        let mut reader = BufReader::new(file);
        let mut records = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(crate::error::io_err(&paths.log)(e)),
            }
            if !line.ends_with('\n') {
                // A record being written: re-read it when following.
                let back = line.len() as i64;
                let _ = reader.seek(SeekFrom::Current(-back));
                break;
            }
            if let Some(r) = decode(&line) {
                if want(&r) && in_window(&r.time) {
                    records.push(r);
                }
            }
        }
        let skip = opts
            .tail
            .map(|n| records.len().saturating_sub(n))
            .unwrap_or(0);
        for r in &records[skip..] {
            if !sink(r) {
                return Ok(());
            }
        }
        if !opts.follow {
            return Ok(());
        }
        let boot = procs::boot_id();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    if let Some(r) = decode(&line) {
                        if want(&r) && in_window(&r.time) && !sink(&r) {
                            return Ok(());
                        }
                    }
                    continue;
                }
                Ok(n) => {
                    if n > 0 {
                        let _ = reader.seek(SeekFrom::Current(-(n as i64)));
                    }
                }
                Err(e) => return Err(crate::error::io_err(&paths.log)(e)),
            }
            // Nothing new: stop once the container is no longer running.
            let row = match self.container(&c.row.id) {
                Ok(c) => c.row,
                Err(_) => return Ok(()),
            };
            let live = matches!(row.state.as_str(), "running" | "paused" | "restarting")
                && (procs::alive(row.monitor_pid, row.monitor_start, &row.boot_id, &boot)
                    || procs::alive(row.pid, row.pid_start, &row.boot_id, &boot));
            if !live {
                // Read what the monitor wrote before it ended.
                loop {
                    line.clear();
                    match reader.read_line(&mut line) {
                        Ok(n) if n > 0 => {
                            if let Some(r) = decode(&line) {
                                if want(&r) && in_window(&r.time) && !sink(&r) {
                                    return Ok(());
                                }
                            }
                        }
                        _ => return Ok(()),
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn decode(line: &str) -> Option<LogRecord> {
    let raw: Raw = serde_json::from_str(line).ok()?;
    Some(LogRecord {
        stream: if raw.stream == "stderr" { 1 } else { 0 },
        text: raw.log,
        time: raw.time,
    })
}
