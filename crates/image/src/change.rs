//! Docker's `--change` for `import` and `commit`: Dockerfile instructions applied to an
//! image's [`ContainerConfig`], as moby's `BuildFromConfig` applies them.
//!
//! Only Docker's allowed set is accepted (`validCommitCommands`): `CMD`, `ENTRYPOINT`,
//! `ENV`, `EXPOSE`, `HEALTHCHECK`, `LABEL`, `ONBUILD`, `STOPSIGNAL`, `USER`, `VOLUME`,
//! `WORKDIR`, with the keyword in any case. Every change is checked before any is
//! applied, so a bad one leaves the config untouched. As in a Dockerfile, `ENV`,
//! `LABEL`, `EXPOSE`, `USER`, `VOLUME`, `WORKDIR` and `STOPSIGNAL` expand `$VAR` from
//! the config's `Env` and strip quotes; `CMD`/`ENTRYPOINT` in shell form are kept as
//! written after the config's `Shell` (default `/bin/sh -c`); an `ENTRYPOINT` clears
//! `Cmd` unless a `CMD` came earlier in the same set of changes.
//!
//! Error messages are those dockerd returns (the CLI prefixes them with "Error response
//! from daemon: ").

mod lex;

pub use lex::split_words;

use std::collections::BTreeMap;

use berth_types::{Classify, ErrorKind};

use crate::spec::{ContainerConfig, Empty, HealthConfig};

/// Why a change could not be applied. Messages follow moby and BuildKit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// An instruction outside Docker's allowed set (the keyword as typed).
    #[error("{command} is not a valid change command")]
    NotValidCommand {
        /// The instruction keyword as the user typed it.
        command: String,
    },
    /// An instruction without its arguments.
    #[error("{instruction} requires at least one argument")]
    AtLeastOneArgument {
        /// `ENV`, `LABEL`, …
        instruction: &'static str,
    },
    /// An instruction that takes exactly one argument.
    #[error("{instruction} requires exactly one argument")]
    ExactlyOneArgument {
        /// `USER`, `WORKDIR`, `STOPSIGNAL`.
        instruction: &'static str,
    },
    /// Legacy `ENV key` / `LABEL key` with no value.
    #[error("{instruction} must have two arguments")]
    TwoArguments {
        /// `ENV` or `LABEL`.
        instruction: &'static str,
    },
    /// A `name=value` word without `=`.
    #[error("Syntax error - can't find = in {word:?}. Must be of the form: name=value")]
    MissingEquals {
        /// The word.
        word: String,
    },
    /// `ENV =x`.
    #[error("{instruction} names can not be blank")]
    BlankName {
        /// `ENV` or `LABEL`.
        instruction: &'static str,
    },
    /// A port that is not `port[-port][/proto]`.
    #[error("invalid containerPort: {port}")]
    InvalidPort {
        /// The port text.
        port: String,
    },
    /// A protocol other than tcp, udp, sctp.
    #[error("invalid proto: {proto}")]
    InvalidProto {
        /// The protocol text.
        proto: String,
    },
    /// `VOLUME ""`.
    #[error("VOLUME specified can not be an empty string")]
    EmptyVolume,
    /// `STOPSIGNAL` with an unknown signal.
    #[error("Invalid signal: {signal}")]
    InvalidSignal {
        /// The signal text.
        signal: String,
    },
    /// `ONBUILD ONBUILD …`.
    #[error("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")]
    OnBuildChain,
    /// `ONBUILD FROM`/`ONBUILD MAINTAINER`.
    #[error("{trigger} isn't allowed as an ONBUILD trigger")]
    OnBuildTrigger {
        /// The trigger keyword, upper case.
        trigger: String,
    },
    /// A malformed `HEALTHCHECK`.
    #[error("{message}")]
    Healthcheck {
        /// What is wrong, in BuildKit's words.
        message: String,
    },
    /// A word the shell lexer cannot process (unterminated quote, bad `${…}`).
    #[error("{message}")]
    Lex {
        /// What is wrong.
        message: String,
    },
    /// `WORKDIR` that expands to nothing.
    #[error("cannot normalize nothing")]
    EmptyWorkdir,
}

impl Classify for ChangeError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// The instructions `--change` may use (moby's `validCommitCommands`).
const VALID: [&str; 11] = [
    "cmd",
    "entrypoint",
    "healthcheck",
    "env",
    "expose",
    "label",
    "onbuild",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

/// Applies one `--change` line to `cfg` (see [`apply_changes`]).
pub fn apply_change(cfg: &mut ContainerConfig, line: &str) -> Result<(), ChangeError> {
    apply_changes(cfg, &[line])
}

/// Applies `changes` (each one or more Dockerfile lines) to `cfg`, in order, all or
/// nothing.
pub fn apply_changes<S: AsRef<str>>(
    cfg: &mut ContainerConfig,
    changes: &[S],
) -> Result<(), ChangeError> {
    let joined = changes
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("\n");
    let lines = logical_lines(&joined);
    // moby checks every keyword before parsing any instruction.
    for (keyword, _) in &lines {
        if !VALID.contains(&keyword.to_ascii_lowercase().as_str()) {
            return Err(ChangeError::NotValidCommand {
                command: keyword.clone(),
            });
        }
    }
    let instructions = lines
        .iter()
        .map(|(k, rest)| parse_instruction(k, rest))
        .collect::<Result<Vec<_>, _>>()?;
    let mut state = State {
        cfg: cfg.clone(),
        cmd_set: false,
    };
    for i in instructions {
        state.dispatch(i)?;
    }
    *cfg = state.cfg;
    Ok(())
}

/// The Dockerfile's logical lines (continuations joined, blank and comment lines
/// dropped), each split into keyword and the rest.
fn logical_lines(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for raw in text.lines() {
        let trimmed = raw.trim_start();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(body) = raw.trim_end().strip_suffix('\\') {
            current.push_str(body);
            continue;
        }
        current.push_str(raw);
        push_line(&mut out, &current);
        current.clear();
    }
    if !current.is_empty() {
        push_line(&mut out, &current);
    }
    out
}

fn push_line(out: &mut Vec<(String, String)>, line: &str) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    let (k, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    out.push((k.to_string(), rest.trim().to_string()));
}

/// A parsed instruction, not yet expanded.
#[derive(Debug)]
enum Instruction {
    Cmd(CmdLine),
    Entrypoint(CmdLine),
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    Expose(Vec<String>),
    User(String),
    Volume(Vec<String>),
    Workdir(String),
    StopSignal(String),
    OnBuild(String),
    Healthcheck(HealthConfig),
}

/// The exec form (`["a","b"]`) or shell form of `CMD`/`ENTRYPOINT`.
#[derive(Debug)]
enum CmdLine {
    Exec(Vec<String>),
    Shell(String),
}

/// BuildKit's `parseMaybeJSON`: a JSON array of strings is the exec form; anything
/// else, including malformed JSON, is the shell form.
fn parse_cmd_line(rest: &str) -> CmdLine {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return CmdLine::Exec(v);
        }
    }
    CmdLine::Shell(rest.to_string())
}

fn parse_instruction(keyword: &str, rest: &str) -> Result<Instruction, ChangeError> {
    let kw = keyword.to_ascii_lowercase();
    Ok(match kw.as_str() {
        "cmd" => Instruction::Cmd(parse_cmd_line(rest)),
        "entrypoint" => Instruction::Entrypoint(parse_cmd_line(rest)),
        "env" => Instruction::Env(parse_name_val(rest, "ENV")?),
        "label" => Instruction::Label(parse_name_val(rest, "LABEL")?),
        "expose" => {
            let ports: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
            if ports.is_empty() {
                return Err(ChangeError::AtLeastOneArgument {
                    instruction: "EXPOSE",
                });
            }
            Instruction::Expose(ports)
        }
        "user" => Instruction::User(one_arg(rest, "USER")?),
        "workdir" => Instruction::Workdir(one_arg(rest, "WORKDIR")?),
        "stopsignal" => Instruction::StopSignal(one_arg(rest, "STOPSIGNAL")?),
        "volume" => {
            let vols = match parse_cmd_line(rest) {
                CmdLine::Exec(v) => v,
                CmdLine::Shell(s) => s.split_whitespace().map(str::to_string).collect(),
            };
            if vols.is_empty() {
                return Err(ChangeError::AtLeastOneArgument {
                    instruction: "VOLUME",
                });
            }
            Instruction::Volume(vols)
        }
        "onbuild" => {
            if rest.is_empty() {
                return Err(ChangeError::AtLeastOneArgument {
                    instruction: "ONBUILD",
                });
            }
            let trigger = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            match trigger.as_str() {
                "ONBUILD" => return Err(ChangeError::OnBuildChain),
                "FROM" | "MAINTAINER" => return Err(ChangeError::OnBuildTrigger { trigger }),
                _ => {}
            }
            Instruction::OnBuild(rest.to_string())
        }
        "healthcheck" => Instruction::Healthcheck(parse_healthcheck(rest)?),
        _ => {
            return Err(ChangeError::NotValidCommand {
                command: keyword.to_string(),
            })
        }
    })
}

fn one_arg(rest: &str, instruction: &'static str) -> Result<String, ChangeError> {
    if rest.is_empty() {
        return Err(ChangeError::ExactlyOneArgument { instruction });
    }
    Ok(rest.to_string())
}

/// BuildKit's `parseNameVal`: `k=v k2="v 2"`, or the legacy `k value with spaces`.
/// Keys and values are returned unexpanded, quotes still in place.
fn parse_name_val(
    rest: &str,
    instruction: &'static str,
) -> Result<Vec<(String, String)>, ChangeError> {
    let words = lex::split_words(rest, '\\');
    let Some(first) = words.first() else {
        return Err(ChangeError::AtLeastOneArgument { instruction });
    };
    if !first.contains('=') {
        let Some((k, v)) = rest.split_once(char::is_whitespace) else {
            return Err(ChangeError::TwoArguments { instruction });
        };
        return Ok(vec![(k.to_string(), v.trim_start().to_string())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(ChangeError::MissingEquals { word: w }),
        })
        .collect()
}

fn parse_healthcheck(rest: &str) -> Result<HealthConfig, ChangeError> {
    let bad = |message: String| ChangeError::Healthcheck { message };
    let mut words = rest;
    let mut flags: BTreeMap<&str, &str> = BTreeMap::new();
    loop {
        words = words.trim_start();
        let Some(flag) = words.strip_prefix("--") else {
            break;
        };
        let end = flag.find(char::is_whitespace).unwrap_or(flag.len());
        let (name, value) = flag[..end].split_once('=').unwrap_or((&flag[..end], ""));
        if !matches!(
            name,
            "interval" | "timeout" | "start-period" | "start-interval" | "retries"
        ) {
            return Err(bad(format!("Unknown flag: {name}")));
        }
        flags.insert(name, value);
        words = &flag[end..];
    }
    if words.is_empty() {
        return Err(ChangeError::AtLeastOneArgument {
            instruction: "HEALTHCHECK",
        });
    }
    let (kind, cmd) = words
        .split_once(char::is_whitespace)
        .map(|(k, c)| (k, c.trim()))
        .unwrap_or((words, ""));
    match kind.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !cmd.is_empty() {
                return Err(bad("HEALTHCHECK NONE takes no arguments".into()));
            }
            if !flags.is_empty() {
                return Err(bad("HEALTHCHECK NONE does not accept flags".into()));
            }
            Ok(HealthConfig {
                test: vec!["NONE".into()],
                ..Default::default()
            })
        }
        "CMD" => {
            if cmd.is_empty() {
                return Err(bad("Missing command after HEALTHCHECK CMD".into()));
            }
            let test = match parse_cmd_line(cmd) {
                CmdLine::Exec(v) => std::iter::once("CMD".to_string()).chain(v).collect(),
                CmdLine::Shell(s) => vec!["CMD-SHELL".to_string(), s],
            };
            let dur = |name: &str| -> Result<i64, ChangeError> {
                let Some(v) = flags.get(name).filter(|v| !v.is_empty()) else {
                    return Ok(0);
                };
                let d = lex::parse_go_duration(v)
                    .ok_or_else(|| bad(format!("time: invalid duration {v:?}")))?;
                if d != 0 && d < 1_000_000 {
                    return Err(bad(format!("Interval {name:?} cannot be less than 1ms")));
                }
                if d < 0 {
                    return Err(bad(format!("Interval {name:?} cannot be negative")));
                }
                Ok(d)
            };
            let retries = match flags.get("retries").filter(|v| !v.is_empty()) {
                None => 0,
                Some(r) => {
                    let n: i64 = r.parse().map_err(|_| {
                        bad(format!("strconv.ParseInt: parsing {r:?}: invalid syntax"))
                    })?;
                    if n < 0 {
                        return Err(bad(format!("--retries cannot be negative ({n})")));
                    }
                    n
                }
            };
            Ok(HealthConfig {
                test,
                interval: dur("interval")?,
                timeout: dur("timeout")?,
                start_period: dur("start-period")?,
                start_interval: dur("start-interval")?,
                retries,
            })
        }
        _ => Err(bad(format!(
            "Unknown type {kind:?} in HEALTHCHECK (try CMD)"
        ))),
    }
}

/// The config being changed, and whether a `CMD` was seen in this set of changes.
struct State {
    cfg: ContainerConfig,
    cmd_set: bool,
}

impl State {
    fn expand(&self, word: &str) -> Result<String, ChangeError> {
        lex::process_word(word, &self.cfg.env).map_err(|message| ChangeError::Lex { message })
    }

    fn resolve(&self, c: CmdLine) -> Vec<String> {
        match c {
            CmdLine::Exec(v) => v,
            CmdLine::Shell(s) => {
                let mut v = if self.cfg.shell.is_empty() {
                    vec!["/bin/sh".to_string(), "-c".to_string()]
                } else {
                    self.cfg.shell.clone()
                };
                v.push(s);
                v
            }
        }
    }

    fn dispatch(&mut self, i: Instruction) -> Result<(), ChangeError> {
        match i {
            Instruction::Cmd(c) => {
                let empty = matches!(&c, CmdLine::Shell(s) if s.is_empty());
                self.cfg.cmd = if empty { None } else { Some(self.resolve(c)) };
                self.cfg.args_escaped = false;
                self.cmd_set |= !empty;
            }
            Instruction::Entrypoint(c) => {
                let empty = matches!(&c, CmdLine::Shell(s) if s.is_empty());
                self.cfg.entrypoint = if empty { None } else { Some(self.resolve(c)) };
                self.cfg.args_escaped = false;
                // Docker: an ENTRYPOINT resets the inherited CMD.
                if !self.cmd_set {
                    self.cfg.cmd = None;
                }
            }
            Instruction::Env(kvs) => {
                for (k, v) in kvs {
                    let k = self.expand(&k)?;
                    if k.is_empty() {
                        return Err(ChangeError::BlankName { instruction: "ENV" });
                    }
                    let v = self.expand(&v)?;
                    let entry = format!("{k}={v}");
                    let same = |e: &String| e.split('=').next() == Some(k.as_str());
                    match self.cfg.env.iter_mut().find(|e| same(e)) {
                        Some(e) => *e = entry,
                        None => self.cfg.env.push(entry),
                    }
                }
            }
            Instruction::Label(kvs) => {
                for (k, v) in kvs {
                    let k = self.expand(&k)?;
                    if k.is_empty() {
                        return Err(ChangeError::BlankName {
                            instruction: "LABEL",
                        });
                    }
                    let v = self.expand(&v)?;
                    self.cfg.labels.get_or_insert_default().insert(k, v);
                }
            }
            Instruction::Expose(ports) => {
                let mut keys = Vec::new();
                for p in ports {
                    for word in self.expand(&p)?.split_whitespace() {
                        keys.extend(port_spec(word)?);
                    }
                }
                for k in keys {
                    self.cfg.exposed_ports.insert(k, Empty);
                }
            }
            Instruction::User(u) => self.cfg.user = self.expand(&u)?,
            Instruction::Volume(vols) => {
                let mut out = Vec::new();
                for v in vols {
                    let v = self.expand(&v)?;
                    if v.trim().is_empty() {
                        return Err(ChangeError::EmptyVolume);
                    }
                    out.push(v);
                }
                for v in out {
                    self.cfg.volumes.insert(v, Empty);
                }
            }
            Instruction::Workdir(w) => {
                let w = self.expand(&w)?;
                if w.is_empty() {
                    return Err(ChangeError::EmptyWorkdir);
                }
                self.cfg.working_dir = if w.starts_with('/') {
                    clean_path(&w)
                } else {
                    clean_path(&format!("/{}/{w}", self.cfg.working_dir))
                };
            }
            Instruction::StopSignal(s) => {
                let s = self.expand(&s)?;
                if !is_signal(&s) {
                    return Err(ChangeError::InvalidSignal { signal: s });
                }
                self.cfg.stop_signal = s;
            }
            Instruction::OnBuild(t) => self.cfg.on_build.push(t),
            Instruction::Healthcheck(h) => self.cfg.healthcheck = Some(h),
        }
        Ok(())
    }
}

/// The `port/proto` keys a port spec `[ip:][hostPort:]containerPort[-end][/proto]`
/// exposes (go-connections `nat.ParsePortSpec`; the host side is dropped).
fn port_spec(raw: &str) -> Result<Vec<String>, ChangeError> {
    let container = raw.rsplit(':').next().unwrap_or(raw);
    let (range, proto) = container.split_once('/').unwrap_or((container, ""));
    let proto = if proto.is_empty() {
        "tcp".to_string()
    } else {
        proto.to_ascii_lowercase()
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(ChangeError::InvalidProto { proto });
    }
    let invalid = || ChangeError::InvalidPort {
        port: range.to_string(),
    };
    let num = |s: &str| -> Result<u16, ChangeError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        s.parse().map_err(|_| invalid())
    };
    let (start, end) = match range.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(range)?, num(range)?),
    };
    if end < start {
        return Err(invalid());
    }
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

/// moby/sys/signal `ParseSignal` for Linux: a non-zero number, or a name with or
/// without `SIG`, any case.
fn is_signal(s: &str) -> bool {
    if let Ok(n) = s.parse::<i64>() {
        return n != 0;
    }
    let upper = s.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    const NAMES: [&str; 33] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
    ];
    if NAMES.contains(&name) || name == "XFSZ" || name == "UNUSED" {
        return true;
    }
    // RTMIN, RTMIN+1..RTMIN+15, RTMAX-14..RTMAX-1, RTMAX.
    let rt = |prefix: &str, sep: char| {
        name.strip_prefix(prefix).is_some_and(|r| {
            r.is_empty()
                || r.strip_prefix(sep)
                    .and_then(|n| n.parse::<u8>().ok())
                    .is_some_and(|n| (1..=15).contains(&n) && !r[1..].starts_with('0'))
        })
    };
    (rt("RTMIN", '+') || rt("RTMAX", '-')) && name != "RTMAX-15"
}

/// Go's `path.Clean`.
fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod tests;
