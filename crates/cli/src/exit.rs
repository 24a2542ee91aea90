//! Exit codes and error messages, mapped in one place as the docker CLI does.

use berth_engine::EngineError;
use berth_types::Classify;

/// An error that carries its own exit code and message (usage errors, partial failures).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StatusError {
    /// The exit code.
    pub code: i32,
    /// The message; empty when already printed.
    pub message: String,
}

impl StatusError {
    /// A status error with a message.
    pub fn error(code: i32, message: impl Into<String>) -> anyhow::Error {
        StatusError {
            code,
            message: message.into(),
        }
        .into()
    }
}

/// Docker's exit code for usage errors and engine failures of `run`.
pub const USAGE: i32 = 125;

/// The command a command line names (`berth container run`), for "See '… --help'".
pub fn command_path(argv: &[std::ffi::OsString]) -> String {
    use clap::CommandFactory;
    let mut cmd = crate::args::Cli::command();
    let mut path = vec!["berth".to_string()];
    for a in argv.iter().skip(1) {
        let a = a.to_string_lossy();
        if a.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(a.as_ref()) {
            Some(sc) => {
                path.push(sc.get_name().to_string());
                let next = sc.clone();
                cmd = next;
            }
            None => break,
        }
    }
    path.join(" ")
}

/// Prints a clap error in Docker's shape and returns its exit code.
pub fn clap_error(e: clap::Error) -> i32 {
    clap_error_for(e, "berth")
}

/// [`clap_error`] for the command `path` (`berth run`).
pub fn clap_error_for(e: clap::Error, path: &str) -> i32 {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            0
        }
        K::UnknownArgument => {
            use clap::error::{ContextKind, ContextValue};
            match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(flag)) if flag.starts_with('-') => {
                    let flag = flag.split('=').next().unwrap_or(flag);
                    eprintln!("unknown flag: {flag}\nSee '{path} --help'.");
                }
                _ => {
                    let _ = e.print();
                }
            }
            USAGE
        }
        K::MissingRequiredArgument => match arity_message(path) {
            // docker/cli's `cli.ExactArgs`/`RequiresMinArgs`/`RequiresRangeArgs`: exit 1.
            Some(m) => {
                eprintln!("{m}");
                1
            }
            None => {
                let _ = e.print();
                USAGE
            }
        },
        _ => {
            let _ = e.print();
            USAGE
        }
    }
}

/// The docker CLI's message for a command given too few arguments: `"docker rm" requires
/// at least 1 argument.` plus its usage line and description, from the clap definition of
/// the command at `path` (`berth rm`). `None` when the command has no positionals.
fn arity_message(path: &str) -> Option<String> {
    use clap::CommandFactory;
    let mut cmd = crate::args::Cli::command();
    for name in path.split(' ').skip(1) {
        cmd = cmd.find_subcommand(name)?.clone();
    }
    let positionals: Vec<&clap::Arg> = cmd.get_positionals().collect();
    if positionals.is_empty() {
        return None;
    }
    let mut min = 0usize;
    let mut max = Some(0usize);
    let mut shown = Vec::new();
    for a in &positionals {
        let range = a.get_num_args().unwrap_or_else(|| 1.into());
        let name = a
            .get_value_names()
            .and_then(|v| v.first())
            .map(|s| s.to_string())
            .unwrap_or_else(|| a.get_id().to_string().to_uppercase());
        let many = range.max_values() > 1;
        if a.is_required_set() {
            min += range.min_values().max(1);
            shown.push(if many {
                format!("{name} [{name}...]")
            } else {
                name
            });
        } else {
            shown.push(if many {
                format!("[{name}...]")
            } else {
                format!("[{name}]")
            });
        }
        max = match (max, many) {
            (Some(m), false) => Some(m + 1),
            _ => None,
        };
    }
    let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
    let need = match max {
        None => format!("requires at least {min} {}", plural(min)),
        Some(m) if m == min => format!("requires exactly {min} {}", plural(min)),
        Some(m) => format!("requires at least {min} and at most {m} {}", plural(m)),
    };
    let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
    Some(format!(
        "\"{path}\" {need}.\nSee '{path} --help'.\n\nUsage:  {path} [OPTIONS] {}\n\n{about}",
        shown.join(" ")
    ))
}

/// Prints an error (Docker's wording: engine errors as "Error response from daemon: …")
/// and returns the exit code.
pub fn report(e: &anyhow::Error) -> i32 {
    if let Some(s) = e.downcast_ref::<StatusError>() {
        if !s.message.is_empty() {
            eprintln!("{}", s.message);
        }
        return s.code;
    }
    if let Some(io) = e.root_cause().downcast_ref::<std::io::Error>() {
        if io.kind() == std::io::ErrorKind::BrokenPipe {
            return 0;
        }
    }
    eprintln!("{}", message(e));
    1
}

/// The one-line message for an error.
pub fn message(e: &anyhow::Error) -> String {
    if let Some(ee) = e.downcast_ref::<EngineError>() {
        let _ = ee.kind();
        return format!("Error response from daemon: {}", one_line(&format!("{ee}")));
    }
    format!("Error: {}", one_line(&format!("{e:#}")))
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::arity_message;

    #[test]
    fn arity_messages_are_dockers() {
        let rm = arity_message("berth rm").unwrap();
        assert!(
            rm.starts_with("\"berth rm\" requires at least 1 argument.\nSee 'berth rm --help'.\n\nUsage:  berth rm [OPTIONS] "),
            "{rm}"
        );
        let tag = arity_message("berth tag").unwrap();
        assert!(
            tag.starts_with("\"berth tag\" requires exactly 2 arguments."),
            "{tag}"
        );
        let build = arity_message("berth build").unwrap();
        assert!(
            build.starts_with("\"berth build\" requires exactly 1 argument."),
            "{build}"
        );
        let create = arity_message("berth network create").unwrap();
        assert!(
            create.starts_with("\"berth network create\" requires exactly 1 argument."),
            "{create}"
        );
        assert!(arity_message("berth ps").is_none(), "no positionals");
    }
}
