//! `logs`.

use std::io::Write;

use berth_engine::containers::logs::LogOptions;

use crate::args::LogsArgs;
use crate::exit::StatusError;
use crate::output::engine;

/// Parses `--since`/`--until`: RFC 3339 (with or without zone), a unix timestamp (with
/// fraction), or a Go duration relative to now (`10m`, `1h30m`).
pub fn parse_time_arg(s: &str, now_nanos: i64) -> Result<i64, String> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return d
            .timestamp_nanos_opt()
            .ok_or_else(|| format!("invalid time {s}"));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return t
                .and_utc()
                .timestamp_nanos_opt()
                .ok_or_else(|| format!("invalid time {s}"));
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(s, f) {
            return Ok(d
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc()
                .timestamp_nanos_opt()
                .unwrap_or(0));
        }
    }
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1e9) as i64);
    }
    match crate::args::container_opts::parse_go_duration(s) {
        Ok(d) => Ok(now_nanos - d),
        Err(_) => Err(format!(
            "invalid value for \"since\": failed to parse value as time or duration: \"{s}\""
        )),
    }
}

/// `logs`.
pub fn run(a: LogsArgs) -> anyhow::Result<i32> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let since = a
        .since
        .as_deref()
        .map(|s| parse_time_arg(s, now))
        .transpose()
        .map_err(|e| StatusError::error(1, format!("Error response from daemon: {e}")))?;
    let until = a
        .until
        .as_deref()
        .map(|s| parse_time_arg(s, now))
        .transpose()
        .map_err(|e| StatusError::error(1, format!("Error response from daemon: {e}")))?;
    let tail = match a.tail.as_str() {
        "all" | "" => None,
        n => match n.parse::<i64>() {
            Ok(v) if v < 0 => None,
            Ok(v) => Some(v as usize),
            Err(_) => None,
        },
    };
    let opts = LogOptions {
        follow: a.follow,
        tail,
        since,
        until,
        stdout: true,
        stderr: true,
    };
    let mut engine = engine()?;
    let out = std::io::stdout();
    let err = std::io::stderr();
    let ts = a.timestamps;
    engine.container_logs(&a.container, &opts, |r| {
        let ok = if r.stream == 0 {
            let mut o = out.lock();
            (if ts { write!(o, "{} ", r.time) } else { Ok(()) })
                .and_then(|_| o.write_all(r.text.as_bytes()))
                .and_then(|_| o.flush())
        } else {
            let mut o = err.lock();
            (if ts { write!(o, "{} ", r.time) } else { Ok(()) })
                .and_then(|_| o.write_all(r.text.as_bytes()))
                .and_then(|_| o.flush())
        };
        ok.is_ok()
    })?;
    Ok(0)
}
