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
        _ => {
            let _ = e.print();
            USAGE
        }
    }
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
