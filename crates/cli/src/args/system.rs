//! `info`, `events` and `system …`, with Docker's flags.

use clap::{Args, Subcommand};

/// `system` subcommands.
#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show docker disk usage
    Df(DfArgs),
    /// Get real time events from the server
    Events(EventsArgs),
    /// Display system-wide information
    Info(InfoArgs),
    /// Remove unused data
    Prune(SystemPruneArgs),
}

/// `info`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct InfoArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
}

/// `events`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(
        short = 'f',
        long = "filter",
        value_name = "filter",
        allow_hyphen_values = true
    )]
    pub filter: Vec<String>,
    /// Format output using a custom template
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub until: Option<String>,
}

/// `system df`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct DfArgs {
    /// Format output using a custom template
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Show detailed information on space usage
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// `system prune`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct SystemPruneArgs {
    /// Remove all unused images not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Provide filter values (e.g. "label=<key>=<value>")
    #[arg(long = "filter", value_name = "filter", allow_hyphen_values = true)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Prune anonymous volumes
    #[arg(long)]
    pub volumes: bool,
}
