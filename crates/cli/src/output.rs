//! Printing helpers shared by commands: `--format` handling, JSON, times and sizes.

use anyhow::Context;
use berth_template::Format;
use serde_json::Value;

/// Renders rows with a `--format` value (or the command's default table) to stdout.
pub fn print_rows(
    format: Option<&str>,
    default_table: &str,
    rows: &[Value],
    headers: &Value,
) -> anyhow::Result<()> {
    let f = Format::parse(format, default_table)
        .map_err(|e| crate::exit::StatusError::error(1, format!("template parsing error: {e}")))?;
    let out = f.render(rows, headers).context("executing template")?;
    write_stdout(&out)
}

/// Writes to stdout; a closed pipe is not an error.
pub fn write_stdout(s: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("write to stdout"),
    }
}

/// Docker's indented JSON (4 spaces), as `inspect` prints it.
pub fn pretty_json(v: &Value) -> String {
    use serde::Serialize;
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    v.serialize(&mut ser).expect("json");
    String::from_utf8(buf).expect("utf8")
}

/// "2 minutes ago", as Docker's CreatedSince.
pub fn since(unix: i64) -> String {
    if unix <= 0 {
        return "N/A".into();
    }
    let now = chrono::Utc::now().timestamp();
    let d = std::time::Duration::from_secs((now - unix).max(0) as u64);
    format!("{} ago", berth_template::units::human_duration(d))
}

/// Go's `time.Time.String()` in UTC, as Docker's CreatedAt.
pub fn go_time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string())
        .unwrap_or_default()
}

/// RFC 3339 in UTC, as Docker prints times with `-H=false`.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Opens the engine from the environment.
pub fn engine() -> anyhow::Result<berth_engine::Engine> {
    Ok(berth_engine::Engine::open(berth_engine::Config::from_env())?)
}

/// docker/cli `PromptForConfirmation`: prints `message [y/N] ` and reads one line; only
/// `y` or `yes` (any case) confirms, end of input refuses.
pub fn confirm(message: &str) -> anyhow::Result<bool> {
    use std::io::{BufRead, Write};
    print!("{message} [y/N] ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Prints what an `inspect` verb found: a JSON array, or `template` once per object; then
/// fails with exit 1 and `errors` (one per line, each already worded) when there are any,
/// as the docker CLI does after printing the objects it found.
pub fn print_inspected(
    found: Vec<Value>,
    template: Option<&berth_template::Template>,
    errors: &[String],
) -> anyhow::Result<i32> {
    let mut out = String::new();
    match template {
        Some(t) => {
            for v in &found {
                out.push_str(&t.render(v)?);
                out.push('\n');
            }
        }
        None => {
            out.push_str(&pretty_json(&Value::Array(found)));
            out.push('\n');
        }
    }
    write_stdout(&out)?;
    if errors.is_empty() {
        Ok(0)
    } else {
        Err(crate::exit::StatusError::error(1, errors.join("\n")))
    }
}
