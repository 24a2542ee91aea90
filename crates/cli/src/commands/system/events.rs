//! `events`: Docker's event stream (docker/cli `cli/command/system/events.go`): past events
//! with `--since`/`--until`, then live ones until `--until` or Ctrl-C.

use std::io::Write;

use berth_engine::events::{EventFilter, EventWindow, Message};
use berth_engine::timestamps::get_timestamp;
use berth_engine::EngineError;

use crate::args::EventsArgs;
use crate::output::engine;

enum Shape {
    Pretty,
    Json,
    Template(berth_template::Template),
}

/// Runs `events`.
pub fn run(a: EventsArgs) -> anyhow::Result<i32> {
    let shape = match a.format.as_deref().map(str::trim) {
        None | Some("") => Shape::Pretty,
        Some("json") | Some("{{json .}}") => Shape::Json,
        Some(f) => Shape::Template(
            berth_template::Template::parse(f)
                .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?,
        ),
    };
    let now = chrono::Utc::now();
    let since = a
        .since
        .as_deref()
        .map(|v| get_timestamp(v, now))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|v| get_timestamp(v, now))
        .transpose()?;
    if let (Some(s), Some(u)) = (since, until) {
        if s > u {
            return Err(EngineError::InvalidArgument(format!(
                "`since` time ({}) cannot be after `until` time ({})",
                a.since.as_deref().unwrap_or_default(),
                a.until.as_deref().unwrap_or_default()
            ))
            .into());
        }
    }
    let filter = EventFilter::parse(&a.filter)?;
    let engine = engine()?;
    let stdout = std::io::stdout();
    let mut failed: Option<anyhow::Error> = None;
    engine.events(EventWindow { since, until }, &filter, |m: &Message| {
        let line = match &shape {
            Shape::Pretty => m.pretty(),
            Shape::Json => serde_json::to_string(m).unwrap_or_default(),
            Shape::Template(t) => match t.render(&m.template_value()) {
                Ok(s) => s,
                Err(e) => {
                    failed = Some(anyhow::anyhow!("{e}"));
                    return Err(std::io::Error::other("template"));
                }
            },
        };
        let mut out = stdout.lock();
        writeln!(out, "{line}")?;
        out.flush()
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
