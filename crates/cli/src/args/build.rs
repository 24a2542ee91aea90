//! `build` / `image build` and `builder` arguments.

use clap::{Args, Subcommand};

/// `build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name and optionally a tag in the "name:tag" format
    #[arg(short = 't', long = "tag", value_name = "list")]
    pub tags: Vec<String>,
    /// Name of the Dockerfile (default: "PATH/Dockerfile")
    #[arg(short = 'f', long = "file", value_name = "string")]
    pub file: Option<String>,
    /// Set build-time variables
    #[arg(long = "build-arg", value_name = "list")]
    pub build_args: Vec<String>,
    /// Set the target build stage to build
    #[arg(long, value_name = "string")]
    pub target: Option<String>,
    /// Do not use cache when building the image
    #[arg(long)]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output and print image ID on success
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Set metadata for an image
    #[arg(long = "label", value_name = "list")]
    pub labels: Vec<String>,
    /// Set the networking mode for the RUN instructions during build
    #[arg(long, value_name = "string", default_value = "default")]
    pub network: String,
    /// Set type of progress output ("auto", "plain", "tty")
    #[arg(long, value_name = "string", default_value = "auto")]
    pub progress: String,
    /// Write the image ID to the file
    #[arg(long, value_name = "string")]
    pub iidfile: Option<String>,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string")]
    pub platform: Option<String>,
    /// Remove intermediate containers after a successful build (always)
    #[arg(long, value_name = "bool", num_args = 0..=1, default_missing_value = "true")]
    pub rm: Option<bool>,
    /// Always remove intermediate containers (always)
    #[arg(long)]
    pub force_rm: bool,
    /// PATH | URL | -
    #[arg(value_name = "PATH | URL | -")]
    pub context: String,
}

/// `builder` subcommands.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum BuilderCommand {
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Remove build cache
    Prune(BuilderPruneArgs),
}

/// `builder prune`.
#[derive(Debug, Args)]
pub struct BuilderPruneArgs {
    /// Remove all unused build cache, not just dangling ones
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Provide filter values
    #[arg(long = "filter", value_name = "filter")]
    pub filter: Vec<String>,
}
