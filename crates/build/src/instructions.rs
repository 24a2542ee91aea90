//! Typed, checked instructions and stages from parsed nodes.
//!
//! Arguments that Docker expands at build time (`ENV`, `COPY`, `WORKDIR`, …) are kept as
//! written here and processed by [`crate::lex`] when the step runs, with the environment
//! and build args of that moment. `RUN`, `CMD` and `ENTRYPOINT` are never expanded by the
//! builder (the shell does it in the container).

use crate::parser::{self, Heredoc, Node, ParseError};
use berth_image::change::split_words;

/// The exec (JSON array) or shell form of `RUN`, `CMD`, `ENTRYPOINT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdForm {
    /// `["a", "b"]`: run as is.
    Exec(Vec<String>),
    /// `a b`: run through the stage's `SHELL` (default `/bin/sh -c`).
    Shell(String),
}

/// `COPY` or `ADD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    /// `ADD` (local tars extracted, URLs fetched) rather than `COPY`.
    pub add: bool,
    /// Sources as written (or heredoc names).
    pub sources: Vec<String>,
    /// The destination as written.
    pub dest: String,
    /// `--from=stage|index|image`.
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=octal`.
    pub chmod: Option<String>,
    /// Inline files (`COPY <<EOF /dest`).
    pub heredocs: Vec<Heredoc>,
}

/// One checked instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `FROM [--platform=p] image [AS name]`.
    From {
        /// The base (image reference, stage name or `scratch`), unexpanded.
        image: String,
        /// `AS name`, lower-cased.
        name: Option<String>,
        /// `--platform`, accepted.
        platform: Option<String>,
    },
    /// `RUN`.
    Run {
        /// The command (a heredoc script becomes the shell form).
        cmd: CmdForm,
        /// `--network=default|none|host`.
        network: Option<String>,
    },
    /// `CMD`.
    Cmd(CmdForm),
    /// `ENTRYPOINT`.
    Entrypoint(CmdForm),
    /// `SHELL ["exe", "arg"]`.
    Shell(Vec<String>),
    /// `ENV k=v …` (unprocessed words).
    Env(Vec<(String, String)>),
    /// `LABEL k=v …` (unprocessed words).
    Label(Vec<(String, String)>),
    /// `ARG name[=default] …` (defaults unprocessed).
    Arg(Vec<(String, Option<String>)>),
    /// `EXPOSE` (unprocessed text).
    Expose(String),
    /// `VOLUME` (JSON form already split, else unprocessed text).
    Volume(Vec<String>, bool),
    /// `WORKDIR` (unprocessed).
    Workdir(String),
    /// `USER` (unprocessed).
    User(String),
    /// `STOPSIGNAL` (unprocessed).
    StopSignal(String),
    /// `COPY` / `ADD`.
    Copy(CopySpec),
    /// `HEALTHCHECK` as a `--change` line (checked).
    Healthcheck(String),
    /// `ONBUILD` trigger text (checked).
    OnBuild(String),
    /// `MAINTAINER` (deprecated; sets the author).
    Maintainer(String),
}

/// An instruction with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The instruction.
    pub instruction: Instruction,
    /// First line.
    pub line: usize,
    /// Last line.
    pub end_line: usize,
    /// The logical line as written (keyword, flags, arguments).
    pub text: String,
}

/// One build stage: a `FROM` and what follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Position in the file (0-based).
    pub index: usize,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// The base as written (may use meta ARGs).
    pub base: String,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// The `FROM` line.
    pub line: usize,
    /// The `FROM` as written.
    pub text: String,
    /// The instructions after `FROM`.
    pub commands: Vec<Command>,
}

impl Stage {
    /// The name BuildKit shows (`name` or `stage-N`).
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// A checked Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    /// The escape character.
    pub escape: char,
    /// `# syntax=`, if given.
    pub syntax: Option<String>,
    /// `ARG`s before the first `FROM` (usable in `FROM` lines, and in stages that
    /// redeclare them).
    pub meta_args: Vec<(String, Option<String>)>,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// Parses and checks a whole Dockerfile.
    pub fn parse(text: &str) -> Result<Dockerfile, ParseError> {
        let parsed = parser::parse(text)?;
        let mut df = Dockerfile {
            escape: parsed.escape,
            syntax: parsed.syntax,
            meta_args: Vec::new(),
            stages: Vec::new(),
        };
        for node in &parsed.nodes {
            let instruction = parse_node(node)?;
            match instruction {
                Instruction::From {
                    image,
                    name,
                    platform,
                } => {
                    if let Some(n) = &name {
                        if df.stages.iter().any(|s| s.name.as_deref() == Some(n)) {
                            return Err(err(node, format!("duplicate stage name {n:?}")));
                        }
                    }
                    df.stages.push(Stage {
                        index: df.stages.len(),
                        name,
                        base: image,
                        platform,
                        line: node.start_line,
                        text: node.original(),
                        commands: Vec::new(),
                    })
                }
                Instruction::Arg(args) if df.stages.is_empty() => df.meta_args.extend(args),
                other => {
                    let Some(stage) = df.stages.last_mut() else {
                        return Err(err(node, "no build stage in current context".into()));
                    };
                    stage.commands.push(Command {
                        instruction: other,
                        line: node.start_line,
                        end_line: node.end_line,
                        text: node.original(),
                    });
                }
            }
        }
        if df.stages.is_empty() {
            return Err(ParseError {
                line: parsed.nodes.last().map(|n| n.end_line).unwrap_or(1),
                message: "the Dockerfile has no FROM instruction (file with no instructions)"
                    .into(),
            });
        }
        Ok(df)
    }

    /// The stage a `--target` names (case-insensitive), or the last one.
    pub fn target(&self, target: Option<&str>) -> Option<usize> {
        match target {
            None | Some("") => Some(self.stages.len() - 1),
            Some(t) => {
                let t = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(t.as_str()))
            }
        }
    }
}

fn err(node: &Node, message: String) -> ParseError {
    ParseError {
        line: node.start_line,
        message,
    }
}

/// BuildKit's `parseMaybeJSON`: a JSON array of strings is the exec form.
pub fn json_array(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if t.starts_with('[') {
        serde_json::from_str::<Vec<String>>(t).ok()
    } else {
        None
    }
}

fn cmd_form(args: &str) -> CmdForm {
    match json_array(args) {
        Some(v) => CmdForm::Exec(v),
        None => CmdForm::Shell(args.to_string()),
    }
}

fn name_vals(node: &Node, kw: &str) -> Result<Vec<(String, String)>, ParseError> {
    let words = split_words(&node.args, '\\');
    let Some(first) = words.first() else {
        return Err(err(node, format!("{kw} requires at least one argument")));
    };
    if !first.contains('=') {
        let Some((k, v)) = node.args.split_once(char::is_whitespace) else {
            return Err(err(node, format!("{kw} must have two arguments")));
        };
        return Ok(vec![(k.to_string(), v.trim().to_string())]);
    }
    words
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some(("", _)) => Err(err(node, format!("{kw} names can not be blank"))),
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(err(
                node,
                format!("Syntax error - can't find = in {w:?}. Must be of the form: name=value"),
            )),
        })
        .collect()
}

fn flag_value<'a>(node: &'a Node, allowed: &[&str]) -> Result<Vec<(&'a str, &'a str)>, ParseError> {
    let mut out = Vec::new();
    for f in &node.flags {
        let (k, v) = f.split_once('=').unwrap_or((f.as_str(), ""));
        if !allowed.contains(&k) {
            return Err(err(node, format!("unknown flag: {k}")));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn one_flag<'a>(flags: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .rev()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| *v)
}

/// Checks and types one node.
pub fn parse_node(node: &Node) -> Result<Instruction, ParseError> {
    let kw = node.keyword.as_str();
    let upper = node.keyword.to_ascii_uppercase();
    let args = node.args.as_str();
    let need_args = |n: &Node| {
        if n.args.is_empty() && n.heredocs.is_empty() {
            Err(err(n, format!("{upper} requires at least one argument")))
        } else {
            Ok(())
        }
    };
    Ok(match kw {
        "from" => {
            let flags = flag_value(node, &["platform"])?;
            let words: Vec<&str> = args.split_whitespace().collect();
            let (image, name) = match words.as_slice() {
                [image] => (image.to_string(), None),
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                    if !ok {
                        return Err(err(
                            node,
                            format!("invalid name for build stage: {name:?}, name can't start with a number or contain symbols"),
                        ));
                    }
                    (image.to_string(), Some(name.to_ascii_lowercase()))
                }
                _ => {
                    return Err(err(
                        node,
                        "FROM requires either one or three arguments".into(),
                    ))
                }
            };
            Instruction::From {
                image,
                name,
                platform: one_flag(&flags, "platform").map(str::to_string),
            }
        }
        "run" => {
            let flags = flag_value(node, &["network", "mount", "security"])?;
            if one_flag(&flags, "mount").is_some() {
                return Err(err(node, "RUN --mount is not supported by berth".into()));
            }
            if let Some(s) = one_flag(&flags, "security") {
                if s != "sandbox" {
                    return Err(err(
                        node,
                        format!("RUN --security={s} is not supported by berth"),
                    ));
                }
            }
            let network = one_flag(&flags, "network").map(str::to_string);
            if let Some(n) = &network {
                if !matches!(n.as_str(), "default" | "none" | "host") {
                    return Err(err(node, format!("unsupported network mode {n:?}")));
                }
            }
            need_args(node)?;
            let cmd = if node.heredocs.is_empty() {
                cmd_form(args)
            } else {
                let only = parser::heredoc_markers(args).len() == 1
                    && args.trim_start().starts_with("<<")
                    && !args.trim().contains(char::is_whitespace);
                if only {
                    CmdForm::Shell(node.heredocs[0].content.clone())
                } else {
                    let mut script = args.to_string();
                    script.push('\n');
                    for h in &node.heredocs {
                        script.push_str(&h.content);
                        script.push_str(&h.name);
                        script.push('\n');
                    }
                    CmdForm::Shell(script)
                }
            };
            Instruction::Run { cmd, network }
        }
        "cmd" | "entrypoint" => {
            flag_value(node, &[])?;
            let f = cmd_form(args);
            if kw == "cmd" {
                Instruction::Cmd(f)
            } else {
                Instruction::Entrypoint(f)
            }
        }
        "shell" => {
            flag_value(node, &[])?;
            match json_array(args) {
                Some(v) if !v.is_empty() => Instruction::Shell(v),
                Some(_) => return Err(err(node, "SHELL requires at least one argument".into())),
                None => {
                    return Err(err(
                        node,
                        "SHELL requires the arguments to be in JSON form".into(),
                    ))
                }
            }
        }
        "env" => {
            flag_value(node, &[])?;
            Instruction::Env(name_vals(node, "ENV")?)
        }
        "label" => {
            flag_value(node, &[])?;
            Instruction::Label(name_vals(node, "LABEL")?)
        }
        "arg" => {
            flag_value(node, &[])?;
            let words = split_words(args, '\\');
            if words.is_empty() {
                return Err(err(node, "ARG requires at least one argument".into()));
            }
            let mut out = Vec::new();
            for w in words {
                let (k, v) = match w.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (w.clone(), None),
                };
                if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(err(node, format!("invalid ARG name {k:?}")));
                }
                out.push((k, v));
            }
            Instruction::Arg(out)
        }
        "expose" => {
            flag_value(node, &[])?;
            need_args(node)?;
            Instruction::Expose(args.to_string())
        }
        "volume" => {
            flag_value(node, &[])?;
            need_args(node)?;
            match json_array(args) {
                Some(v) => Instruction::Volume(v, true),
                None => Instruction::Volume(vec![args.to_string()], false),
            }
        }
        "workdir" | "user" | "stopsignal" => {
            flag_value(node, &[])?;
            if args.is_empty() || (kw != "workdir" && split_words(args, '\\').len() != 1) {
                return Err(err(node, format!("{upper} requires exactly one argument")));
            }
            match kw {
                "workdir" => Instruction::Workdir(args.to_string()),
                "user" => Instruction::User(args.to_string()),
                _ => Instruction::StopSignal(args.to_string()),
            }
        }
        "copy" | "add" => {
            let add = kw == "add";
            let allowed: &[&str] = if add {
                &["chown", "chmod", "link"]
            } else {
                &["from", "chown", "chmod", "link"]
            };
            let flags = flag_value(node, allowed)?;
            let (words, _json) = match json_array(args) {
                Some(v) => (v, true),
                None => (split_words(args, '\\'), false),
            };
            if words.len() < 2 {
                return Err(err(
                    node,
                    format!("{upper} requires at least two arguments, but only one was provided. Destination could not be determined."),
                ));
            }
            let mut sources = words;
            let dest = sources.pop().unwrap_or_default();
            // Heredoc markers stand for inline files named after their terminator.
            let sources = sources
                .into_iter()
                .map(|s| match s.strip_prefix("<<") {
                    Some(m) => m
                        .trim_start_matches('-')
                        .trim_matches(|c| c == '"' || c == '\'')
                        .to_string(),
                    None => s,
                })
                .collect::<Vec<_>>();
            let chmod = one_flag(&flags, "chmod").map(str::to_string);
            if let Some(m) = &chmod {
                if m.is_empty() || u32::from_str_radix(m, 8).map_or(true, |v| v > 0o7777) {
                    return Err(err(node, format!("invalid chmod parameter: {m:?}")));
                }
            }
            Instruction::Copy(CopySpec {
                add,
                sources,
                dest,
                from: one_flag(&flags, "from").map(str::to_string),
                chown: one_flag(&flags, "chown").map(str::to_string),
                chmod,
                heredocs: node.heredocs.clone(),
            })
        }
        "healthcheck" => {
            let line = format!(
                "HEALTHCHECK {}",
                node.original().split_once(' ').map(|x| x.1).unwrap_or("")
            );
            let mut probe = berth_image::spec::ContainerConfig::default();
            berth_image::change::apply_change(&mut probe, &line)
                .map_err(|e| err(node, e.to_string()))?;
            Instruction::Healthcheck(line)
        }
        "onbuild" => {
            flag_value(node, &[])?;
            need_args(node)?;
            let trigger = args
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            match trigger.as_str() {
                "ONBUILD" => {
                    return Err(err(
                        node,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into(),
                    ))
                }
                "FROM" | "MAINTAINER" => {
                    return Err(err(
                        node,
                        format!("{trigger} isn't allowed as an ONBUILD trigger"),
                    ))
                }
                _ => {}
            }
            // The trigger must itself be a valid instruction.
            let inner = parser::parse(args).map_err(|e| err(node, e.message))?;
            for n in &inner.nodes {
                parse_node(n).map_err(|e| err(node, e.message))?;
            }
            Instruction::OnBuild(args.to_string())
        }
        "maintainer" => {
            flag_value(node, &[])?;
            need_args(node)?;
            Instruction::Maintainer(args.to_string())
        }
        _ => {
            return Err(err(
                node,
                format!(
                    "unknown instruction: {}",
                    node.keyword_raw.to_ascii_uppercase()
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Instruction {
        let df = Dockerfile::parse(&format!("FROM x\n{text}\n")).unwrap();
        df.stages[0].commands[0].instruction.clone()
    }

    fn fails(text: &str) -> ParseError {
        Dockerfile::parse(text).unwrap_err()
    }

    #[test]
    fn stages_and_meta_args() {
        let df = Dockerfile::parse(
            "ARG V=1\nFROM busybox:$V AS Build\nRUN a\nFROM --platform=linux/amd64 scratch\nCOPY --from=build /a /b\n",
        )
        .unwrap();
        assert_eq!(df.meta_args, vec![("V".into(), Some("1".into()))]);
        assert_eq!(df.stages.len(), 2);
        assert_eq!(df.stages[0].name.as_deref(), Some("build"));
        assert_eq!(df.stages[0].base, "busybox:$V");
        assert_eq!(df.stages[1].platform.as_deref(), Some("linux/amd64"));
        assert_eq!(df.stages[1].display_name(), "stage-1");
        assert_eq!(df.target(Some("BUILD")), Some(0));
        assert_eq!(df.target(None), Some(1));
        assert_eq!(df.target(Some("nope")), None);
        assert_eq!(df.stages[1].commands[0].line, 5);
    }

    #[test]
    fn forms() {
        assert_eq!(
            one("RUN [\"echo\", \"a b\"]"),
            Instruction::Run {
                cmd: CmdForm::Exec(vec!["echo".into(), "a b".into()]),
                network: None
            }
        );
        assert_eq!(
            one("CMD [not json"),
            Instruction::Cmd(CmdForm::Shell("[not json".into()))
        );
        assert_eq!(
            one("RUN --network=none echo hi"),
            Instruction::Run {
                cmd: CmdForm::Shell("echo hi".into()),
                network: Some("none".into())
            }
        );
        assert_eq!(
            one("SHELL [\"/bin/ash\", \"-c\"]"),
            Instruction::Shell(vec!["/bin/ash".into(), "-c".into()])
        );
        assert_eq!(
            one("ENV A=1 B=\"x y\""),
            Instruction::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"x y\"".into())
            ])
        );
        assert_eq!(
            one("ENV A hello world"),
            Instruction::Env(vec![("A".into(), "hello world".into())])
        );
        assert_eq!(
            one("ARG a b=2"),
            Instruction::Arg(vec![("a".into(), None), ("b".into(), Some("2".into()))])
        );
        assert_eq!(
            one("VOLUME [\"/a\", \"/b\"]"),
            Instruction::Volume(vec!["/a".into(), "/b".into()], true)
        );
        match one("COPY --chown=1:2 --chmod=640 a b /d/") {
            Instruction::Copy(c) => {
                assert_eq!(c.sources, vec!["a", "b"]);
                assert_eq!(c.dest, "/d/");
                assert_eq!(c.chown.as_deref(), Some("1:2"));
                assert_eq!(c.chmod.as_deref(), Some("640"));
                assert!(!c.add);
            }
            other => panic!("{other:?}"),
        }
        match one("COPY <<EOF /f\nhello\nEOF") {
            Instruction::Copy(c) => {
                assert_eq!(c.sources, vec!["EOF"]);
                assert_eq!(c.heredocs[0].content, "hello\n");
            }
            other => panic!("{other:?}"),
        }
        match one("RUN <<EOF\necho 1\necho 2\nEOF") {
            Instruction::Run { cmd, .. } => {
                assert_eq!(cmd, CmdForm::Shell("echo 1\necho 2\n".into()))
            }
            other => panic!("{other:?}"),
        }
        match one("RUN cat <<EOF > /f\nx\nEOF") {
            Instruction::Run { cmd, .. } => {
                assert_eq!(cmd, CmdForm::Shell("cat <<EOF > /f\nx\nEOF\n".into()))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            one("HEALTHCHECK --interval=5s CMD true"),
            Instruction::Healthcheck(_)
        ));
        assert_eq!(
            one("ONBUILD RUN echo hi"),
            Instruction::OnBuild("RUN echo hi".into())
        );
    }

    #[test]
    fn errors_name_lines() {
        let e = fails("FROM x\n\nFOO bar\n");
        assert_eq!(
            (e.line, e.message.as_str()),
            (3, "unknown instruction: FOO")
        );
        assert_eq!(
            e.to_string(),
            "dockerfile parse error on line 3: unknown instruction: FOO"
        );
        assert_eq!(
            fails("RUN x\n").message,
            "no build stage in current context"
        );
        assert_eq!(fails("FROM x\nCOPY a\n").line, 2);
        assert!(fails("FROM x\nCOPY a\n")
            .message
            .starts_with("COPY requires at least two arguments"));
        assert_eq!(
            fails("FROM x\nENV --foo=1 A=b\n").message,
            "unknown flag: foo"
        );
        assert_eq!(
            fails("FROM x\nSHELL sh -c\n").message,
            "SHELL requires the arguments to be in JSON form"
        );
        assert_eq!(
            fails("FROM x\nWORKDIR\n").message,
            "WORKDIR requires exactly one argument"
        );
        assert_eq!(
            fails("FROM x\nUSER a b\n").message,
            "USER requires exactly one argument"
        );
        assert_eq!(
            fails("FROM x a b\n").message,
            "FROM requires either one or three arguments"
        );
        assert!(fails("FROM x AS 1a\n")
            .message
            .contains("invalid name for build stage"));
        assert!(fails("FROM x AS a\nFROM y AS A\n")
            .message
            .contains("duplicate stage name"));
        assert_eq!(fails("FROM x\nONBUILD ONBUILD RUN x\n").line, 2);
        assert_eq!(
            fails("FROM x\nONBUILD FROM y\n").message,
            "FROM isn't allowed as an ONBUILD trigger"
        );
        assert!(fails("FROM x\nHEALTHCHECK --bogus=1 CMD x\n")
            .message
            .contains("Unknown flag"));
        assert_eq!(fails("FROM x\nRUN --network=bridge x\n").line, 2);
        assert!(fails("FROM x\nCOPY --chmod=99 a b\n")
            .message
            .contains("chmod"));
        assert!(fails("# only a comment\n").message.contains("no FROM"));
        assert_eq!(
            fails("FROM x\nENV A\n").message,
            "ENV must have two arguments"
        );
    }
}
