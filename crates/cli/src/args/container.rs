//! Container command arguments, with docker CLI 27's flag names, short forms and help
//! texts (`cli/command/container/*.go`).
//!
//! Values whose parsing can fail (sizes, durations, numbers) are kept as the strings the user
//! typed: [`crate::args::container_opts::to_create_request`] parses them with Docker's own
//! error messages (`invalid argument "x" for "-m, --memory" flag: …`), which clap's typed
//! parsers cannot reproduce.

use clap::{ArgAction, Args, Subcommand};

/// `container` subcommands.
#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Create a new container
    Create(CreateArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Display detailed information on one or more containers
    Inspect(ContainerInspectArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// List containers
    #[command(visible_alias = "ps", visible_alias = "list")]
    Ls(PsArgs),
    /// Pause all processes within one or more containers
    Pause(PauseArgs),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Remove all stopped containers
    Prune(ContainerPruneArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Restart one or more containers
    Restart(RestartArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Create and run a new container from an image
    Run(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(UnpauseArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(WaitArgs),
}

/// `create` / `container create`. Flags end at IMAGE (Docker's `SetInterspersed(false)`):
/// everything after it is the container's command.
#[derive(Debug, Args)]
#[command(disable_help_flag = true, args_override_self = true)]
pub struct CreateArgs {
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Assign a name to the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub name: Option<String>,
    /// Automatically remove the container and its associated anonymous volumes when it exits
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub rm: bool,
    /// Attach to STDIN, STDOUT or STDERR
    #[arg(short = 'a', long, value_name = "list", allow_hyphen_values = true)]
    pub attach: Vec<String>,
    /// Pull image before creating ("always", "missing", "never")
    #[arg(
        long,
        value_name = "string",
        default_value = "missing",
        allow_hyphen_values = true
    )]
    pub pull: String,
    /// Suppress the pull output
    #[arg(short = 'q', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub quiet: bool,
    /// Set platform if server is multi-platform capable
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub platform: Option<String>,
    /// Skip image verification (accepted for compatibility; berth does not verify signatures)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = true, action = ArgAction::Set)]
    pub disable_content_trust: bool,
    /// The container options shared by `run` and `create`.
    #[command(flatten)]
    pub opts: ContainerOpts,
    /// IMAGE [COMMAND] [ARG...]: one positional, so that option parsing stops at IMAGE
    /// (a flag right after IMAGE belongs to the container, as with Docker). Read it with
    /// [`CreateArgs::image`] and [`CreateArgs::command`].
    #[arg(
        value_name = "IMAGE [COMMAND] [ARG...]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub args: Vec<String>,
}

impl CreateArgs {
    /// IMAGE.
    pub fn image(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }

    /// COMMAND and its arguments (empty: the image's).
    pub fn command(&self) -> &[String] {
        self.args.get(1..).unwrap_or_default()
    }
}

/// `run` / `container run`.
#[derive(Debug, Args)]
#[command(disable_help_flag = true, args_override_self = true)]
pub struct RunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub detach: bool,
    /// Proxy received signals to the process
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = true, action = ArgAction::Set)]
    pub sig_proxy: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// Everything `create` takes.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// The flags of Docker's `addFlags` (`opts.go`), shared by `run` and `create`. `--rm` and
/// `-a` live in [`CreateArgs`] because [`to_create_request`](crate::args::container_opts::to_create_request)
/// takes them separately.
#[derive(Debug, Default, Args)]
pub struct ContainerOpts {
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub tty: bool,
    /// Set environment variables
    #[arg(
        short = 'e',
        long = "env",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list", allow_hyphen_values = true)]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string", allow_hyphen_values = true)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short = 'u', long, value_name = "string", allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "string", allow_hyphen_values = true)]
    pub hostname: Option<String>,
    /// Container NIS domain name
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub domainname: Option<String>,
    /// Set meta data on a container
    #[arg(
        short = 'l',
        long = "label",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub label: Vec<String>,
    /// Read in a line delimited file of labels
    #[arg(long = "label-file", value_name = "list", allow_hyphen_values = true)]
    pub label_file: Vec<String>,
    /// Restart policy to apply when a container exits
    #[arg(
        long,
        value_name = "string",
        default_value = "no",
        allow_hyphen_values = true
    )]
    pub restart: String,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = ArgAction::Set)]
    pub init: Option<bool>,
    /// Signal to stop the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub stop_signal: Option<String>,
    /// Timeout (in seconds) to stop a container
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub stop_timeout: Option<String>,
    /// Memory limit
    #[arg(short = 'm', long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: '-1' to enable unlimited swap
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "decimal", allow_hyphen_values = true)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_shares: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) period
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_period: Option<String>,
    /// Limit CPU CFS (Completely Fair Scheduler) quota
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub cpu_quota: Option<String>,
    /// CPUs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cpuset_cpus: Option<String>,
    /// MEMs in which to allow execution (0-3, 0,1)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub cpuset_mems: Option<String>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)
    #[arg(long, value_name = "uint16", allow_hyphen_values = true)]
    pub blkio_weight: Option<String>,
    /// Ulimit options
    #[arg(long, value_name = "ulimit", allow_hyphen_values = true)]
    pub ulimit: Vec<String>,
    /// Size of /dev/shm
    #[arg(long, value_name = "bytes", allow_hyphen_values = true)]
    pub shm_size: Option<String>,
    /// Add Linux capabilities
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to this container
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub privileged: bool,
    /// Security Options
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub security_opt: Vec<String>,
    /// Add a host device to the container
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub device: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub read_only: bool,
    /// Mount a tmpfs directory
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub tmpfs: Vec<String>,
    /// Connect a container to a network
    #[arg(
        long,
        visible_alias = "net",
        value_name = "network",
        allow_hyphen_values = true
    )]
    pub network: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(
        long,
        alias = "net-alias",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub network_alias: Vec<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub dns: Vec<String>,
    /// Set DNS options
    #[arg(
        long,
        alias = "dns-opt",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub dns_option: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub dns_search: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip)
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub add_host: Vec<String>,
    /// Add additional groups to join
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub group_add: Vec<String>,
    /// Tune host's OOM preferences (-1000 to 1000)
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// Runtime to use for this container (the embedded one by default; runc or crun when
    /// installed)
    #[arg(long, value_name = "string")]
    pub runtime: Option<String>,
    /// Sysctl options
    #[arg(long, value_name = "map", allow_hyphen_values = true)]
    pub sysctl: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long, value_name = "list", allow_hyphen_values = true)]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub expose: Vec<String>,
    /// Bind mount a volume
    #[arg(short = 'v', long, value_name = "list", allow_hyphen_values = true)]
    pub volume: Vec<String>,
    /// Attach a filesystem mount to the container
    #[arg(long, value_name = "mount", allow_hyphen_values = true)]
    pub mount: Vec<String>,
    /// Mount volumes from the specified container(s)
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub volumes_from: Vec<String>,
    /// Command to run to check health
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub health_cmd: Option<String>,
    /// Time between running the check (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_interval: Option<String>,
    /// Maximum time to allow one check to run (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_timeout: Option<String>,
    /// Consecutive failures needed to report unhealthy
    #[arg(long, value_name = "int", allow_hyphen_values = true)]
    pub health_retries: Option<String>,
    /// Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_period: Option<String>,
    /// Time between running the check during the start period (ms|s|m|h) (default 0s)
    #[arg(long, value_name = "duration", allow_hyphen_values = true)]
    pub health_start_interval: Option<String>,
    /// Disable any container-specified HEALTHCHECK
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = false, action = ArgAction::Set)]
    pub no_healthcheck: bool,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub ip: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub mac_address: Option<String>,
    /// Logging driver for the container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub log_driver: Option<String>,
    /// Log driver options
    #[arg(long, value_name = "list", allow_hyphen_values = true)]
    pub log_opt: Vec<String>,
}

/// `start`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short = 'a', long)]
    pub attach: bool,
    /// Attach container's STDIN
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `stop`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct StopArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string", allow_hyphen_values = true)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub time: Option<i32>,
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `restart`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct RestartArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string", allow_hyphen_values = true)]
    pub signal: Option<String>,
    /// Seconds to wait before killing the container
    #[arg(
        short = 't',
        long = "time",
        value_name = "int",
        allow_hyphen_values = true
    )]
    pub time: Option<i32>,
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `kill`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short = 's', long, value_name = "string", allow_hyphen_values = true)]
    pub signal: Option<String>,
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `rm` / `container rm`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    /// Remove the specified link
    #[arg(short = 'l', long)]
    pub link: bool,
    /// Remove anonymous volumes associated with the container
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `ps` / `container ls`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
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
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long, value_name = "int", default_value_t = -1, allow_hyphen_values = true)]
    pub last: i64,
    /// Show the latest created container (includes all states)
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
}

/// `logs`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct LogsArgs {
    /// Show extra details provided to logs
    #[arg(long)]
    pub details: bool,
    /// Follow log output
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Number of lines to show from the end of the logs
    #[arg(
        short = 'n',
        long,
        value_name = "string",
        default_value = "all",
        allow_hyphen_values = true
    )]
    pub tail: String,
    /// Show timestamps
    #[arg(short = 't', long)]
    pub timestamps: bool,
    /// Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `exec`. Flags end at CONTAINER; everything after it is the command.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// Set environment variables
    #[arg(
        short = 'e',
        long = "env",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file", value_name = "list", allow_hyphen_values = true)]
    pub env_file: Vec<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long)]
    pub interactive: bool,
    /// Give extended privileges to the command
    #[arg(long)]
    pub privileged: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// Username or UID (format: "<name|uid>[:<group|gid>]")
    #[arg(short = 'u', long, value_name = "string", allow_hyphen_values = true)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long, value_name = "string", allow_hyphen_values = true)]
    pub workdir: Option<String>,
    /// CONTAINER COMMAND [ARG...]: one positional, so that option parsing stops at CONTAINER.
    #[arg(
        value_name = "CONTAINER COMMAND [ARG...]",
        required = true,
        num_args = 2..,
        trailing_var_arg = true
    )]
    pub args: Vec<String>,
}

impl ExecArgs {
    /// CONTAINER.
    pub fn container(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }

    /// COMMAND and its arguments.
    pub fn command(&self) -> &[String] {
        self.args.get(1..).unwrap_or_default()
    }
}

/// `attach`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct AttachArgs {
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub detach_keys: Option<String>,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy all received signals to the process
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = true, action = ArgAction::Set)]
    pub sig_proxy: bool,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `rename`.
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// NEW_NAME
    #[arg(value_name = "NEW_NAME")]
    pub new_name: String,
}

/// `pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `unpause`.
#[derive(Debug, Args)]
pub struct UnpauseArgs {
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `top CONTAINER [ps OPTIONS]`: everything after CONTAINER goes to ps.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// CONTAINER [ps OPTIONS]: one positional, so that option parsing stops at CONTAINER.
    #[arg(
        value_name = "CONTAINER [ps OPTIONS]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true
    )]
    pub args: Vec<String>,
}

impl TopArgs {
    /// CONTAINER.
    pub fn container(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }

    /// The `ps` options.
    pub fn ps_args(&self) -> &[String] {
        self.args.get(1..).unwrap_or_default()
    }
}

/// `stats`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct StatsArgs {
    /// Show all containers (default shows just running)
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Format output using a custom template
    #[arg(long, value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Disable streaming stats and only pull the first result
    #[arg(long)]
    pub no_stream: bool,
    /// Do not truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// [CONTAINER...]
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// `port`.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// PRIVATE_PORT[/PROTO]
    #[arg(value_name = "PRIVATE_PORT[/PROTO]")]
    pub private_port: Option<String>,
}

/// `diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short = 'o', long, value_name = "string", allow_hyphen_values = true)]
    pub output: Option<String>,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// `cp CONTAINER:SRC_PATH DEST_PATH|-` or `cp SRC_PATH|- CONTAINER:DEST_PATH`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// SRC_PATH (CONTAINER:SRC_PATH, a host path or -)
    #[arg(value_name = "SRC", allow_hyphen_values = true)]
    pub src: String,
    /// DEST_PATH (CONTAINER:DEST_PATH, a host path or -)
    #[arg(value_name = "DEST", allow_hyphen_values = true)]
    pub dest: String,
}

/// `commit`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short = 'a', long, value_name = "string", allow_hyphen_values = true)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(
        short = 'c',
        long = "change",
        value_name = "list",
        allow_hyphen_values = true
    )]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short = 'm', long, value_name = "string", allow_hyphen_values = true)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short = 'p', long, num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value_t = true, action = ArgAction::Set)]
    pub pause: bool,
    /// CONTAINER
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// REPOSITORY[:TAG]
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// `container prune`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ContainerPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>")
    #[arg(long = "filter", value_name = "filter", allow_hyphen_values = true)]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation
    #[arg(short = 'f', long)]
    pub force: bool,
}

/// `container inspect`.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template
    #[arg(short = 'f', long, value_name = "string", allow_hyphen_values = true)]
    pub format: Option<String>,
    /// Display total file sizes
    #[arg(short = 's', long)]
    pub size: bool,
    /// CONTAINER...
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(name = "berth")]
    struct T {
        #[command(subcommand)]
        cmd: ContainerCommand,
    }

    fn parse(args: &[&str]) -> Result<ContainerCommand, clap::Error> {
        let mut v = vec!["berth"];
        v.extend_from_slice(args);
        T::try_parse_from(v).map(|t| t.cmd)
    }

    fn run(args: &[&str]) -> RunArgs {
        let mut v = vec!["run"];
        v.extend_from_slice(args);
        match parse(&v).unwrap() {
            ContainerCommand::Run(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn command_args_after_image_belong_to_the_container() {
        let r = run(&["--rm", "-it", "busybox", "ls", "-la", "--rm", "-d"]);
        assert!(r.create.rm);
        assert!(!r.detach);
        assert!(r.create.opts.interactive && r.create.opts.tty);
        assert_eq!(r.create.image(), "busybox");
        assert_eq!(r.create.command(), ["ls", "-la", "--rm", "-d"]);
    }

    #[test]
    fn flag_right_after_image_goes_to_container() {
        let r = run(&["busybox", "--help"]);
        assert_eq!(r.create.command(), ["--help"]);
        let r = run(&["busybox", "-h"]);
        assert_eq!(r.create.command(), ["-h"]);
    }

    #[test]
    fn clustered_and_valued_short_flags() {
        let r = run(&["-dit", "-p", "80:80", "-e", "A=1", "-h", "host", "img"]);
        assert!(r.detach && r.create.opts.interactive && r.create.opts.tty);
        assert_eq!(r.create.opts.publish, ["80:80"]);
        assert_eq!(r.create.opts.env, ["A=1"]);
        assert_eq!(r.create.opts.hostname.as_deref(), Some("host"));
        assert!(r.create.command().is_empty());
        let r = run(&["--rm=false", "--sig-proxy=false", "--init", "img"]);
        assert!(!r.create.rm && !r.sig_proxy);
        assert_eq!(r.create.opts.init, Some(true));
        let r = run(&["-i", "-i", "--net", "host", "--memory-swap", "-1", "img"]);
        assert_eq!(r.create.opts.network, ["host"]);
        assert_eq!(r.create.opts.memory_swap.as_deref(), Some("-1"));
    }

    #[test]
    fn flag_values_may_start_with_a_hyphen() {
        // pflag takes the next argument as the value, whatever it looks like.
        let r = run(&["-e", "-x", "--health-cmd", "-1", "-w", "-", "img"]);
        assert_eq!(r.create.opts.env, ["-x"]);
        assert_eq!(r.create.opts.health_cmd.as_deref(), Some("-1"));
        assert_eq!(r.create.opts.workdir.as_deref(), Some("-"));
    }

    #[test]
    fn entrypoint_empty_is_given() {
        let r = run(&["--entrypoint", "", "img"]);
        assert_eq!(r.create.opts.entrypoint.as_deref(), Some(""));
        let r = run(&["--entrypoint=", "img"]);
        assert_eq!(r.create.opts.entrypoint.as_deref(), Some(""));
    }

    #[test]
    fn unknown_flag_before_image_is_an_error() {
        let e = parse(&["run", "--bogus", "img"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(parse(&["run"]).is_err());
    }

    #[test]
    fn exec_and_top_trailing_args() {
        match parse(&["exec", "-it", "c1", "sh", "-c", "echo -n hi"]).unwrap() {
            ContainerCommand::Exec(e) => {
                assert!(e.interactive && e.tty);
                assert_eq!(e.container(), "c1");
                assert_eq!(e.command(), ["sh", "-c", "echo -n hi"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(parse(&["exec", "c1"]).is_err());
        match parse(&["exec", "c1", "-d"]).unwrap() {
            ContainerCommand::Exec(e) => assert!(!e.detach && e.command() == ["-d"]),
            other => panic!("{other:?}"),
        }
        match parse(&["top", "c1", "-eo", "pid,comm"]).unwrap() {
            ContainerCommand::Top(t) => assert_eq!(t.ps_args(), ["-eo", "pid,comm"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verbs_and_aliases() {
        for verb in ["ls", "ps", "list"] {
            match parse(&[verb, "-aq", "-f", "status=exited", "--filter", "name=x"]).unwrap() {
                ContainerCommand::Ls(p) => {
                    assert!(p.all && p.quiet);
                    assert_eq!(p.filter, ["status=exited", "name=x"]);
                    assert_eq!(p.last, -1);
                }
                other => panic!("{other:?}"),
            }
        }
        match parse(&["remove", "-fv", "a", "b"]).unwrap() {
            ContainerCommand::Rm(r) => {
                assert!(r.force && r.volumes && !r.link);
                assert_eq!(r.containers, ["a", "b"]);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["stop", "-t", "0", "-s", "SIGINT", "c"]).unwrap() {
            ContainerCommand::Stop(s) => {
                assert_eq!(s.time, Some(0));
                assert_eq!(s.signal.as_deref(), Some("SIGINT"));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["logs", "-n", "5", "-ft", "c"]).unwrap() {
            ContainerCommand::Logs(l) => {
                assert_eq!(l.tail, "5");
                assert!(l.follow && l.timestamps);
            }
            other => panic!("{other:?}"),
        }
        match parse(&["commit", "--pause=false", "-c", "ENV A=1", "c", "img:tag"]).unwrap() {
            ContainerCommand::Commit(c) => {
                assert!(!c.pause);
                assert_eq!(c.reference.as_deref(), Some("img:tag"));
            }
            other => panic!("{other:?}"),
        }
        match parse(&["cp", "-", "c:/tmp"]).unwrap() {
            ContainerCommand::Cp(c) => {
                assert_eq!((c.src.as_str(), c.dest.as_str()), ("-", "c:/tmp"))
            }
            other => panic!("{other:?}"),
        }
        match parse(&["create", "--name", "x", "img", "true"]).unwrap() {
            ContainerCommand::Create(c) => {
                assert_eq!(c.name.as_deref(), Some("x"));
                assert_eq!(c.pull, "missing");
                assert_eq!(c.opts.restart, "no");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse(&["inspect", "-s", "-f", "{{.Id}}", "c"]).unwrap(),
            ContainerCommand::Inspect(_)
        ));
        assert!(matches!(
            parse(&["prune", "-f", "--filter", "until=1h"]).unwrap(),
            ContainerCommand::Prune(_)
        ));
    }
}
