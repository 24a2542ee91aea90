//! `stats` / `container stats`: the docker CLI's table of resource usage, from two readings
//! of each container a second apart (CPU % needs a delta), redrawn every second unless
//! `--no-stream`.
//!
//! The arithmetic and the number formats are the docker CLI's
//! (`cli/command/container/stats_helpers.go`, `formatter_stats.go`).

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use berth_engine::containers::stats::ContainerStats;
use berth_engine::containers::Container;
use berth_engine::{Engine, EngineError};
use berth_template::units::{bytes_size, human_size_with_precision};
use berth_template::Format;
use serde_json::{json, Value};

use crate::args::StatsArgs;
use crate::exit::StatusError;
use crate::output::engine;

const TABLE: &str =
    "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}";

/// How long the daemon's collector waits between two readings.
const INTERVAL: Duration = Duration::from_secs(1);

/// A container shown in the table: what the user called it, and its id.
struct Target {
    /// The `Container` column: the name or id as given, or the short id when listing.
    label: String,
    id: String,
}

/// One row's worth of reading: the latest, the one before, or nothing (container gone).
struct Reading {
    label: String,
    cur: Option<ContainerStats>,
    prev: Option<ContainerStats>,
}

/// `stats`.
pub fn run(a: StatsArgs) -> anyhow::Result<i32> {
    let format = Format::parse(a.format.as_deref(), TABLE)
        .map_err(|e| StatusError::error(1, format!("template parsing error: {e}")))?;
    let mut engine = engine()?;
    let named = !a.containers.is_empty();
    let mut targets = Vec::new();
    if named {
        let mut errors = Vec::new();
        for n in &a.containers {
            match engine.container(n) {
                Ok(c) => targets.push(Target {
                    label: n.clone(),
                    id: c.row.id,
                }),
                Err(e) => errors.push(crate::exit::message(&e.into())),
            }
        }
        if !errors.is_empty() {
            return Err(StatusError::error(1, errors.join("\n")));
        }
    }

    let mut prev: HashMap<String, ContainerStats> = HashMap::new();
    let mut first = true;
    loop {
        if !named {
            targets = listed(&mut engine, a.all)?;
        }
        let mut readings = sample(&mut engine, &targets, &prev)?;
        if first
            && readings
                .iter()
                .any(|r| r.cur.as_ref().is_some_and(|s| s.running))
        {
            // moby's collector sends a previous sample with the first result: CPU % needs it.
            std::thread::sleep(INTERVAL);
            let before: HashMap<String, ContainerStats> = readings
                .iter()
                .filter_map(|r| r.cur.clone().map(|s| (s.id.clone(), s)))
                .collect();
            readings = sample(&mut engine, &targets, &before)?;
        }
        first = false;
        let rows: Vec<Value> = readings
            .iter()
            .map(|r| row(r, !a.no_stream, !a.no_trunc))
            .collect();
        let text = format
            .render(&rows, &headers())
            .map_err(|e| StatusError::error(1, format!("template: {e}")))?;
        if a.no_stream {
            return write_or_stop(text.as_bytes()).map(|_| 0);
        }
        let mut frame = String::from("\x1b[H");
        for line in text.split('\n') {
            // Erase what a longer previous frame left on the line, then below the table.
            frame.push_str(line);
            frame.push_str("\x1b[K\n");
        }
        frame.push_str("\x1b[J");
        if !write_or_stop(frame.as_bytes())? {
            return Ok(0);
        }
        prev = readings
            .into_iter()
            .filter_map(|r| r.cur.map(|s| (s.id.clone(), s)))
            .collect();
        std::thread::sleep(INTERVAL);
    }
}

/// Writes to stdout; `false` once the reader went away (a closed pipe ends the stream).
fn write_or_stop(bytes: &[u8]) -> anyhow::Result<bool> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(anyhow::Error::new(e).context("write to stdout")),
    }
}

/// The containers `stats` shows without names: running ones (all with `-a`), newest first.
fn listed(engine: &mut Engine, all: bool) -> anyhow::Result<Vec<Target>> {
    let mut list: Vec<Container> = engine
        .containers()?
        .into_iter()
        .filter(|c| all || matches!(c.row.state.as_str(), "running" | "paused" | "restarting"))
        .collect();
    list.reverse();
    Ok(list
        .into_iter()
        .map(|c| Target {
            label: c.short_id().to_string(),
            id: c.row.id,
        })
        .collect())
}

fn sample(
    engine: &mut Engine,
    targets: &[Target],
    prev: &HashMap<String, ContainerStats>,
) -> anyhow::Result<Vec<Reading>> {
    let mut out = Vec::with_capacity(targets.len());
    for t in targets {
        let cur = match engine.container_stats(&t.id) {
            Ok(s) => Some(s),
            Err(EngineError::NoSuchContainer(_)) => None,
            Err(e) => return Err(e.into()),
        };
        out.push(Reading {
            label: t.label.clone(),
            cur,
            prev: prev.get(&t.id).cloned(),
        });
    }
    Ok(out)
}

/// The docker CLI's `calculateCPUPercentUnix`.
fn cpu_percent(prev: &ContainerStats, cur: &ContainerStats) -> f64 {
    let cpu_delta = cur.cpu_total_ns as f64 - prev.cpu_total_ns as f64;
    let system_delta = cur.system_cpu_ns as f64 - prev.system_cpu_ns as f64;
    let cpus = f64::from(cur.online_cpus);
    if system_delta > 0.0 && cpu_delta > 0.0 {
        cpu_delta / system_delta * cpus * 100.0
    } else {
        0.0
    }
}

/// The docker CLI's `calculateMemUsageUnixNoCache`: usage without the inactive page cache
/// (`total_inactive_file` on cgroup v1, `inactive_file` on v2).
fn mem_usage_no_cache(s: &ContainerStats) -> f64 {
    if let Some(&v) = s.memory_stat.get("total_inactive_file") {
        if v < s.memory_usage {
            return (s.memory_usage - v) as f64;
        }
    }
    let v = s.memory_stat.get("inactive_file").copied().unwrap_or(0);
    if v < s.memory_usage {
        return (s.memory_usage - v) as f64;
    }
    s.memory_usage as f64
}

fn percent(v: f64) -> String {
    format!("{v:.2}%")
}

fn io_pair(a: f64, b: f64) -> String {
    format!(
        "{} / {}",
        human_size_with_precision(a, 3),
        human_size_with_precision(b, 3)
    )
}

/// One row of the table. In a stream, a container that stopped or went away shows `--`
/// (the docker CLI's timed-out reading); with `--no-stream` a stopped one shows zeros (moby
/// answers an empty reading).
fn row(r: &Reading, stream: bool, trunc: bool) -> Value {
    let s = r.cur.clone().unwrap_or_default();
    let invalid = r.cur.is_none() || (stream && !s.running);
    let id = if trunc {
        s.id.chars().take(12).collect()
    } else {
        s.id.clone()
    };
    let name = if s.name.is_empty() || r.cur.is_none() {
        "--".to_string()
    } else {
        s.name.clone()
    };
    if invalid {
        return json!({
            "Container": r.label, "Name": name, "ID": id, "CPUPerc": "--",
            "MemUsage": "-- / --", "MemPerc": "--", "NetIO": "--", "BlockIO": "--",
            "PIDs": "--",
        });
    }
    let cpu = match &r.prev {
        Some(p) if p.running && s.running => cpu_percent(p, &s),
        _ => 0.0,
    };
    let mem = mem_usage_no_cache(&s);
    let limit = s.memory_limit as f64;
    let mem_perc = if limit != 0.0 {
        mem / limit * 100.0
    } else {
        0.0
    };
    let (rx, tx) = s.networks.iter().fold((0f64, 0f64), |(rx, tx), n| {
        (rx + n.rx_bytes as f64, tx + n.tx_bytes as f64)
    });
    json!({
        "Container": r.label,
        "Name": name,
        "ID": id,
        "CPUPerc": percent(cpu),
        "MemUsage": format!("{} / {}", bytes_size(mem), bytes_size(limit)),
        "MemPerc": percent(mem_perc),
        "NetIO": io_pair(rx, tx),
        "BlockIO": io_pair(s.blkio_read as f64, s.blkio_write as f64),
        "PIDs": s.pids_current.to_string(),
    })
}

fn headers() -> Value {
    json!({
        "Container": "CONTAINER", "Name": "NAME", "ID": "CONTAINER ID", "CPUPerc": "CPU %",
        "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
        "BlockIO": "BLOCK I/O", "PIDs": "PIDS",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(cpu: u64, system: u64) -> ContainerStats {
        ContainerStats {
            id: "0123456789abcdef0123".into(),
            name: "web".into(),
            running: true,
            cpu_total_ns: cpu,
            system_cpu_ns: system,
            online_cpus: 2,
            memory_usage: 10 * 1024 * 1024,
            memory_limit: 64 * 1024 * 1024,
            memory_stat: [("total_inactive_file".to_string(), 2 * 1024 * 1024)].into(),
            pids_current: 3,
            blkio_read: 1_500_000,
            blkio_write: 0,
            ..Default::default()
        }
    }

    #[test]
    fn computes_like_the_docker_cli() {
        let r = Reading {
            label: "web".into(),
            prev: Some(stats(1_000_000_000, 100_000_000_000)),
            cur: Some(stats(1_500_000_000, 102_000_000_000)),
        };
        let v = row(&r, false, true);
        // 0.5 s of CPU over 2 s of both CPUs' time: 0.5 / 2 × 2 × 100.
        assert_eq!(v["CPUPerc"], "50.00%");
        assert_eq!(v["MemUsage"], "8MiB / 64MiB");
        assert_eq!(v["MemPerc"], "12.50%");
        assert_eq!(v["NetIO"], "0B / 0B");
        assert_eq!(v["BlockIO"], "1.5MB / 0B");
        assert_eq!(v["PIDs"], "3");
        assert_eq!(v["ID"], "0123456789ab");
        assert_eq!(v["Name"], "web");
    }

    #[test]
    fn stopped_containers_read_zero_or_dashes() {
        let stopped = ContainerStats {
            id: "abc".into(),
            name: "old".into(),
            ..Default::default()
        };
        let r = Reading {
            label: "old".into(),
            prev: None,
            cur: Some(stopped),
        };
        let v = row(&r, false, true);
        assert_eq!(v["CPUPerc"], "0.00%");
        assert_eq!(v["MemUsage"], "0B / 0B");
        assert_eq!(v["MemPerc"], "0.00%");
        assert_eq!(v["PIDs"], "0");
        let v = row(&r, true, true);
        assert_eq!(v["CPUPerc"], "--");
        assert_eq!(v["MemUsage"], "-- / --");
    }

    #[test]
    fn v2_memory_uses_inactive_file() {
        let mut s = stats(0, 0);
        s.memory_stat = [("inactive_file".to_string(), 1024 * 1024)].into();
        assert_eq!(mem_usage_no_cache(&s), (9 * 1024 * 1024) as f64);
        s.memory_stat.clear();
        assert_eq!(mem_usage_no_cache(&s), (10 * 1024 * 1024) as f64);
    }
}
