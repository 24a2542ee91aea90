//! Events: what `berth events` streams.
//!
//! # Design
//! Docker keeps events in its daemon's memory; berth has no daemon, so every berth process
//! (the CLI, a container's monitor children, `berth serve`) appends each event as one JSON
//! line (Docker's `events.Message`) to `$BERTH_RUN/events.log` with a single `O_APPEND`
//! write, which the kernel keeps whole against concurrent writers. The log lives under
//! `BERTH_RUN` so that, like Docker's in-memory buffer, a reboot clears it; past
//! [`ROTATE_AT`] bytes it is renamed to `events.log.1` (one generation kept). Readers replay
//! both files for `--since`/`--until` and follow the live one by polling its size and inode,
//! which needs no server and costs nothing when nobody listens.
//!
//! Emitting never fails an operation: a failed append is logged at `warn` and dropped.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Engine, EngineError};

/// Size after which the log is rotated.
pub const ROTATE_AT: u64 = 4 << 20;

/// How often a follower looks for new events.
const POLL: Duration = Duration::from_millis(50);

/// The actor of an event: the object's id and attributes (name, image, labels, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Object id (container id, image id or reference, volume name, network id).
    #[serde(rename = "ID")]
    pub id: String,
    /// Attributes.
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One event, in Docker's `events.Message` JSON shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Deprecated: the action (container and image events only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Deprecated: the actor id (container and image events only).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Deprecated: the image of a container event.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// `container`, `image`, `volume`, `network`, `daemon`, `builder`.
    #[serde(rename = "Type")]
    pub typ: String,
    /// What happened (`create`, `start`, `die`, `exec_start: sh`, `health_status: healthy` …).
    #[serde(rename = "Action")]
    pub action: String,
    /// The object.
    #[serde(rename = "Actor")]
    pub actor: Actor,
    /// Always `local`.
    pub scope: String,
    /// Unix seconds.
    pub time: i64,
    /// Unix nanoseconds.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

impl Message {
    /// A new event now.
    pub fn new(typ: &str, action: &str, id: &str, attributes: BTreeMap<String, String>) -> Self {
        let time_nano = berth_store::now_nanos();
        let legacy = matches!(typ, "container" | "image");
        Message {
            status: if legacy { action.into() } else { String::new() },
            id: if legacy { id.into() } else { String::new() },
            from: if typ == "container" {
                attributes.get("image").cloned().unwrap_or_default()
            } else {
                String::new()
            },
            typ: typ.into(),
            action: action.into(),
            actor: Actor {
                id: id.into(),
                attributes,
            },
            scope: "local".into(),
            time: time_nano.div_euclid(1_000_000_000),
            time_nano,
        }
    }

    /// Docker's default line: `TIME TYPE ACTION ID (k=v, …)`, the time in local time with
    /// nanoseconds (`jsonmessage.RFC3339NanoFixed`).
    pub fn pretty(&self) -> String {
        let t = chrono::DateTime::from_timestamp(
            self.time_nano.div_euclid(1_000_000_000),
            self.time_nano.rem_euclid(1_000_000_000) as u32,
        )
        .unwrap_or_default()
        .with_timezone(&chrono::Local);
        let mut s = format!(
            "{} {} {} {}",
            t.format("%Y-%m-%dT%H:%M:%S%.9f%:z")
                .to_string()
                .replace("+00:00", "Z"),
            self.typ,
            self.action,
            self.actor.id
        );
        if !self.actor.attributes.is_empty() {
            let attrs: Vec<String> = self
                .actor
                .attributes
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            s.push_str(&format!(" ({})", attrs.join(", ")));
        }
        s
    }

    /// The message with Go's field names, what `--format` templates address
    /// (`{{.Type}} {{.Action}} {{.Actor.ID}} {{.Status}}`).
    pub fn template_value(&self) -> serde_json::Value {
        serde_json::json!({
            "Status": self.status, "ID": self.id, "From": self.from,
            "Type": self.typ, "Action": self.action,
            "Actor": {"ID": self.actor.id, "Attributes": self.actor.attributes},
            "Scope": self.scope, "Time": self.time, "TimeNano": self.time_nano,
        })
    }
}

/// The live log of a `BERTH_RUN`.
pub fn log_path(run: &Path) -> PathBuf {
    run.join("events.log")
}

fn rotated_path(run: &Path) -> PathBuf {
    run.join("events.log.1")
}

/// Appends `msg` to the log under `run`; failures are logged, never returned.
pub fn append(run: &Path, msg: &Message) {
    if let Err(e) = try_append(run, msg) {
        tracing::warn!(path = %log_path(run).display(), "cannot record event: {e}");
    }
}

fn try_append(run: &Path, msg: &Message) -> io::Result<()> {
    let mut line = serde_json::to_vec(msg).map_err(io::Error::other)?;
    line.push(b'\n');
    let path = log_path(run);
    if !run.exists() {
        berth_store::fsutil::ensure_private_dir(run)?;
    }
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
        .open(&path)?;
    // One write: O_APPEND makes it land whole at the end whatever others append.
    f.write_all(&line)?;
    if f.metadata()?.len() > ROTATE_AT {
        // Two rotators at once: the second rename moves a fresh, short file; harmless.
        let _ = std::fs::rename(&path, rotated_path(run));
    }
    Ok(())
}

/// The attributes Docker gives container events: `name`, `image` and the labels.
pub fn container_attributes(
    name: &str,
    image: &str,
    labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut a = labels.clone();
    a.insert("image".into(), image.into());
    a.insert("name".into(), name.trim_start_matches('/').into());
    a
}

/// A container event from a stored row (the monitor's children have no parsed config).
pub fn container_event_from_row(
    row: &berth_store::ContainerRow,
    action: &str,
    extra: &[(&str, String)],
) -> Message {
    let cfg: serde_json::Value = serde_json::from_str(&row.config).unwrap_or_default();
    let c = cfg.get("Config").unwrap_or(&cfg);
    let image = c.get("Image").and_then(|v| v.as_str()).unwrap_or_default();
    let labels: BTreeMap<String, String> = c
        .get("Labels")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    let mut attrs = container_attributes(&row.name, image, &labels);
    for (k, v) in extra {
        attrs.insert((*k).into(), v.clone());
    }
    Message::new("container", action, &row.id, attrs)
}

/// `--filter` of `events`: keys and values as moby's `events.Filter`; values of one key
/// are alternatives, different keys must all match.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    by_key: BTreeMap<String, Vec<String>>,
}

const FILTER_KEYS: &[&str] = &[
    "config",
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "node",
    "plugin",
    "scope",
    "secret",
    "service",
    "type",
    "volume",
];

impl EventFilter {
    /// Parses `key=value` filters.
    pub fn parse(args: &[String]) -> Result<EventFilter, EngineError> {
        let mut f = EventFilter::default();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                return Err(EngineError::InvalidArgument(
                    "bad format of filter (expected name=value)".into(),
                ));
            };
            let k = k.to_ascii_lowercase();
            if !FILTER_KEYS.contains(&k.as_str()) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )));
            }
            f.by_key.entry(k).or_default().push(v.to_string());
        }
        Ok(f)
    }

    fn key_matches(&self, key: &str, mut f: impl FnMut(&str) -> bool) -> bool {
        match self.by_key.get(key) {
            None => true,
            Some(vals) => vals.iter().any(|v| f(v)),
        }
    }

    /// Whether `m` passes every filter (moby's `Filter.Include`).
    pub fn matches(&self, m: &Message) -> bool {
        let attrs = &m.actor.attributes;
        // `container=` etc.: the id, a prefix of it, or the name.
        let object = |typ: &str, v: &str| {
            m.typ == typ
                && (m.actor.id == v
                    || (!v.is_empty() && m.actor.id.starts_with(v))
                    || attrs.get("name").is_some_and(|n| n == v))
        };
        let action_base = m.action.split(':').next().unwrap_or_default();
        self.key_matches("event", |v| v == m.action || v == action_base)
            && self.key_matches("type", |v| v == m.typ)
            && self.key_matches("scope", |v| v == m.scope)
            && self.key_matches("daemon", |_| m.typ == "daemon")
            && self.key_matches("container", |v| {
                object("container", v) || attrs.get("container").is_some_and(|c| c == v)
            })
            && self.key_matches("image", |v| self::image_matches(m, v))
            && self.key_matches("volume", |v| object("volume", v))
            && self.key_matches("network", |v| object("network", v))
            && self.key_matches("label", |v| match v.split_once('=') {
                Some((k, val)) => attrs.get(k).is_some_and(|x| x == val),
                None => attrs.contains_key(v),
            })
            && ["plugin", "service", "node", "secret", "config"]
                .iter()
                .all(|k| self.key_matches(k, |_| false))
    }
}

/// `image=`: a container's image attribute, or an image event's id or name, with or without
/// the tag `latest` (moby strips tags from both sides when the filter has none).
fn image_matches(m: &Message, v: &str) -> bool {
    let strip = |s: &str| -> String {
        match s.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => name.to_string(),
            _ => s.to_string(),
        }
    };
    let candidates: Vec<&str> = match m.typ.as_str() {
        "container" => m
            .actor
            .attributes
            .get("image")
            .map(String::as_str)
            .into_iter()
            .collect(),
        "image" => [
            Some(m.actor.id.as_str()),
            m.actor.attributes.get("name").map(String::as_str),
        ]
        .into_iter()
        .flatten()
        .collect(),
        _ => Vec::new(),
    };
    candidates.iter().any(|c| {
        *c == v
            || c.strip_prefix("sha256:")
                .is_some_and(|h| v.strip_prefix("sha256:").unwrap_or(v) == h)
            || (!v.contains(':') && strip(c) == v)
    })
}

/// What [`Engine::events`] delivers.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventWindow {
    /// Replay events at or after this time (unix nanoseconds).
    pub since: Option<i64>,
    /// Stop at this time (unix nanoseconds); `None` follows forever.
    pub until: Option<i64>,
}

/// A reader of one log file that remembers where it stopped and keeps partial lines.
struct Tail {
    file: File,
    ino: u64,
    pending: Vec<u8>,
}

impl Tail {
    fn open(path: &Path, from_end: bool) -> io::Result<Option<Tail>> {
        let mut file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let ino = file.metadata()?.ino();
        if from_end {
            file.seek(SeekFrom::End(0))?;
        }
        Ok(Some(Tail {
            file,
            ino,
            pending: Vec::new(),
        }))
    }

    /// Complete lines appended since the last call.
    fn read_lines(&mut self) -> io::Result<Vec<Message>> {
        let mut buf = Vec::new();
        self.file.read_to_end(&mut buf)?;
        self.pending.extend_from_slice(&buf);
        let mut out = Vec::new();
        while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=nl).collect();
            if let Ok(m) = serde_json::from_slice::<Message>(&line) {
                out.push(m);
            }
        }
        Ok(out)
    }
}

fn read_all(path: &Path) -> io::Result<Vec<Message>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(BufReader::new(f)
        .split(b'\n')
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_slice(&l).ok())
        .collect())
}

impl Engine {
    /// Records an event.
    pub fn emit(&self, typ: &str, action: &str, id: &str, attrs: BTreeMap<String, String>) {
        append(&self.config.run, &Message::new(typ, action, id, attrs));
    }

    /// Records an image event: the image id as actor, `name` (a reference) as attribute.
    pub fn emit_image(&self, action: &str, id: &str, name: &str) {
        let mut attrs = BTreeMap::new();
        if !name.is_empty() {
            attrs.insert("name".to_string(), name.to_string());
        }
        append(&self.config.run, &Message::new("image", action, id, attrs));
    }

    /// Records a container event with Docker's attributes (`name`, `image`, labels, extra).
    pub fn emit_container(
        &self,
        c: &crate::containers::Container,
        action: &str,
        extra: &[(&str, String)],
    ) {
        let cfg = &c.doc.config;
        let mut attrs = container_attributes(&c.row.name, &cfg.image, &cfg.labels);
        for (k, v) in extra {
            attrs.insert((*k).into(), v.clone());
        }
        append(
            &self.config.run,
            &Message::new("container", action, &c.row.id, attrs),
        );
    }

    /// Delivers the events in `window` that pass `filter` to `sink`, in order: first the
    /// recorded ones (when a window bound is given), then live ones until `until` (never
    /// without one). Ends when `sink` fails (a closed pipe, a gone client).
    pub fn events(
        &self,
        window: EventWindow,
        filter: &EventFilter,
        mut sink: impl FnMut(&Message) -> io::Result<()>,
    ) -> Result<(), EngineError> {
        let run = &self.config.run;
        let live = log_path(run);
        let replay = window.since.is_some() || window.until.is_some();
        let in_window = |m: &Message| {
            window.since.is_none_or(|s| m.time_nano >= s)
                && window.until.is_none_or(|u| m.time_nano <= u)
        };
        let io_err = |e: io::Error| EngineError::Io {
            path: live.clone(),
            source: e,
        };
        // Open the live file first, so nothing appended while replaying is lost or doubled.
        let mut tail = Tail::open(&live, false).map_err(io_err)?;
        let mut first = Vec::new();
        if replay {
            first = read_all(&rotated_path(run)).map_err(io_err)?;
        }
        if let Some(t) = tail.as_mut() {
            let lines = t.read_lines().map_err(io_err)?;
            if replay {
                first.extend(lines);
            }
        }
        for m in first.iter().filter(|m| in_window(m) && filter.matches(m)) {
            if sink(m).is_err() {
                return Ok(());
            }
        }
        let now = berth_store::now_nanos();
        if window.until.is_some_and(|u| u <= now) {
            return Ok(());
        }
        loop {
            if window.until.is_some_and(|u| berth_store::now_nanos() > u) {
                return Ok(());
            }
            std::thread::sleep(POLL);
            // Rotated (or first created): finish the old file, then switch to the new one.
            let current = std::fs::metadata(&live).ok().map(|m| m.ino());
            let mut batch = Vec::new();
            if let Some(t) = tail.as_mut() {
                batch.extend(t.read_lines().map_err(io_err)?);
            }
            if current.is_some() && current != tail.as_ref().map(|t| t.ino) {
                tail = Tail::open(&live, false).map_err(io_err)?;
                if let Some(t) = tail.as_mut() {
                    batch.extend(t.read_lines().map_err(io_err)?);
                }
            }
            for m in batch.iter().filter(|m| in_window(m) && filter.matches(m)) {
                if sink(m).is_err() {
                    return Ok(());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(typ: &str, action: &str, id: &str, attrs: &[(&str, &str)]) -> Message {
        Message::new(
            typ,
            action,
            id,
            attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn f(args: &[&str]) -> EventFilter {
        EventFilter::parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn json_shape_is_dockers() {
        let m = msg(
            "container",
            "start",
            "abc",
            &[("image", "busybox"), ("name", "x")],
        );
        let v: serde_json::Value = serde_json::to_value(&m).unwrap();
        assert_eq!(v["status"], "start");
        assert_eq!(v["id"], "abc");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["Type"], "container");
        assert_eq!(v["Actor"]["Attributes"]["name"], "x");
        assert_eq!(v["scope"], "local");
        assert!(v["timeNano"].as_i64().unwrap() / 1_000_000_000 == v["time"].as_i64().unwrap());
        let vol = serde_json::to_value(msg("volume", "create", "v", &[])).unwrap();
        assert!(vol.get("status").is_none() && vol.get("from").is_none());
    }

    #[test]
    fn pretty_line() {
        let mut m = msg(
            "container",
            "die",
            "abc",
            &[("name", "x"), ("exitCode", "3")],
        );
        m.time_nano = 1_700_000_000_000_000_007;
        let p = m.pretty();
        assert!(
            p.ends_with(" container die abc (exitCode=3, name=x)"),
            "{p}"
        );
        assert!(p.contains(".000000007"), "{p}");
    }

    #[test]
    fn filters() {
        let c = msg(
            "container",
            "start",
            "abcdef",
            &[
                ("name", "web"),
                ("image", "busybox:latest"),
                ("env", "prod"),
            ],
        );
        let i = msg("image", "tag", "sha256:1234", &[("name", "busybox:latest")]);
        let h = msg(
            "container",
            "health_status: healthy",
            "abcdef",
            &[("name", "web")],
        );
        assert!(f(&["container=web"]).matches(&c));
        assert!(f(&["container=abc"]).matches(&c));
        assert!(!f(&["container=other"]).matches(&c));
        assert!(!f(&["container=web"]).matches(&i));
        assert!(f(&["event=start", "event=stop"]).matches(&c));
        assert!(!f(&["event=stop"]).matches(&c));
        assert!(f(&["event=health_status"]).matches(&h));
        assert!(f(&["type=image"]).matches(&i) && !f(&["type=image"]).matches(&c));
        assert!(f(&["image=busybox"]).matches(&c) && f(&["image=busybox"]).matches(&i));
        assert!(f(&["image=busybox:latest"]).matches(&c));
        assert!(!f(&["image=alpine"]).matches(&c));
        assert!(f(&["label=env"]).matches(&c) && f(&["label=env=prod"]).matches(&c));
        assert!(!f(&["label=env=dev"]).matches(&c));
        assert!(!f(&["type=container", "event=tag"]).matches(&c));
        assert_eq!(
            EventFilter::parse(&["color=red".into()])
                .unwrap_err()
                .to_string(),
            "invalid filter 'color'"
        );
    }

    #[test]
    fn append_rotate_and_read() {
        let d = tempfile::tempdir().unwrap();
        for n in 0..3 {
            append(d.path(), &msg("volume", "create", &format!("v{n}"), &[]));
        }
        let all = read_all(&log_path(d.path())).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].actor.id, "v2");
        let mut t = Tail::open(&log_path(d.path()), true).unwrap().unwrap();
        assert!(t.read_lines().unwrap().is_empty());
        append(d.path(), &msg("volume", "destroy", "v0", &[]));
        let new = t.read_lines().unwrap();
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].action, "destroy");
    }
}
