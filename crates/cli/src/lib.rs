//! Docker-compatible command line of berth.
//!
//! # Design
//! Arguments are parsed by clap structs in [`args`] (no I/O), then one function per verb in
//! [`commands`] calls the engine and prints. Errors travel as `anyhow` to [`main`], which
//! maps them to Docker's messages and exit codes in one place ([`exit`]): 125 for flag and
//! usage errors, 1 for failed operations, as the docker CLI does.

pub mod args;
pub mod commands;
pub mod exit;
pub mod output;

use clap::Parser;

use args::{
    BuilderCommand, Cli, Command, ContainerCommand, ImageCommand, SystemCommand, VolumeCommand,
};

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The per-container monitor: no clap, no logging set-up, as little memory as possible.
    if argv.get(1).is_some_and(|a| a == "__monitor") {
        let rest: Vec<String> = argv[2..]
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return berth_engine::containers::monitor::main(&rest);
    }
    if argv.iter().skip(1).any(|a| a == "-v" || a == "--version")
        && argv
            .iter()
            .skip(1)
            .all(|a| a.to_string_lossy().starts_with('-'))
    {
        println!("berth version {}", env!("CARGO_PKG_VERSION"));
        return 0;
    }
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => return exit::clap_error_for(e, &exit::command_path(&argv)),
    };
    init_logging(&cli);
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => exit::report(&e),
    }
}

fn init_logging(cli: &Cli) {
    let level = if cli.debug {
        "debug".to_string()
    } else {
        cli.log_level.clone().unwrap_or_else(|| "warn".into())
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BERTH_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},libcgroups=off,libcontainer=off"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .try_init();
}

fn dispatch(cmd: Command) -> anyhow::Result<i32> {
    use commands::{container, image};
    match cmd {
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => image::ls::run(a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => image::load::run(a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => image::save::run(a),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => image::import::run(a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => image::tag::run(a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => image::rm::run(a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => image::history::run(a),
        Command::Image(ImageCommand::Inspect(a)) => image::inspect::run_image(a),
        Command::Inspect(a) => image::inspect::run(a),
        Command::Image(ImageCommand::Prune(a)) => image::prune::run(a),
        Command::Version(a) => commands::version::run(a),
        Command::Run(a) | Command::Container(ContainerCommand::Run(a)) => container::run::run(a),
        Command::Create(a) | Command::Container(ContainerCommand::Create(a)) => {
            container::run::create_cmd(a)
        }
        Command::Start(a) | Command::Container(ContainerCommand::Start(a)) => {
            container::run::start(a)
        }
        Command::Stop(a) | Command::Container(ContainerCommand::Stop(a)) => {
            container::manage::stop(a)
        }
        Command::Restart(a) | Command::Container(ContainerCommand::Restart(a)) => {
            container::manage::restart(a)
        }
        Command::Kill(a) | Command::Container(ContainerCommand::Kill(a)) => {
            container::manage::kill(a)
        }
        Command::Rm(a) | Command::Container(ContainerCommand::Rm(a)) => container::manage::rm(a),
        Command::Ps(a) | Command::Container(ContainerCommand::Ls(a)) => container::ps::run(a),
        Command::Logs(a) | Command::Container(ContainerCommand::Logs(a)) => container::logs::run(a),
        Command::Exec(a) | Command::Container(ContainerCommand::Exec(a)) => container::exec::run(a),
        Command::Attach(a) | Command::Container(ContainerCommand::Attach(a)) => {
            container::attach::run(a)
        }
        Command::Wait(a) | Command::Container(ContainerCommand::Wait(a)) => {
            container::manage::wait(a)
        }
        Command::Rename(a) | Command::Container(ContainerCommand::Rename(a)) => {
            container::manage::rename(a)
        }
        Command::Pause(a) | Command::Container(ContainerCommand::Pause(a)) => {
            container::manage::pause(a)
        }
        Command::Unpause(a) | Command::Container(ContainerCommand::Unpause(a)) => {
            container::manage::unpause(a)
        }
        Command::Container(ContainerCommand::Inspect(a)) => image::inspect::run_container(a),
        Command::Top(a) | Command::Container(ContainerCommand::Top(a)) => container::top::run(a),
        Command::Stats(a) | Command::Container(ContainerCommand::Stats(a)) => {
            container::stats::run(a)
        }
        Command::Port(a) | Command::Container(ContainerCommand::Port(a)) => container::port::run(a),
        Command::Container(ContainerCommand::Prune(a)) => container::prune::run(a),
        Command::Diff(a) | Command::Container(ContainerCommand::Diff(a)) => container::diff::run(a),
        Command::Export(a) | Command::Container(ContainerCommand::Export(a)) => {
            container::export::run(a)
        }
        Command::Cp(a) | Command::Container(ContainerCommand::Cp(a)) => container::cp::run(a),
        Command::Volume(VolumeCommand::Create(a)) => commands::volume::create(a),
        Command::Volume(VolumeCommand::Ls(a)) => commands::volume::ls(a),
        Command::Volume(VolumeCommand::Inspect(a)) => commands::volume::inspect(a),
        Command::Volume(VolumeCommand::Rm(a)) => commands::volume::rm(a),
        Command::Volume(VolumeCommand::Prune(a)) => commands::volume::prune(a),
        Command::Commit(a) | Command::Container(ContainerCommand::Commit(a)) => {
            container::commit::run(a)
        }
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => {
            commands::registry::pull::run(a)
        }
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => {
            commands::registry::push::run(a)
        }
        Command::Login(a) => commands::registry::login::run(a),
        Command::Logout(a) => commands::registry::login::logout(a),
        Command::Search(a) => commands::registry::search::run(a),
        Command::Network(c) => commands::network::run(c),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => {
            commands::system::info::run(a)
        }
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => {
            commands::system::events::run(a)
        }
        Command::System(SystemCommand::Df(a)) => commands::system::df::run(a),
        Command::System(SystemCommand::Prune(a)) => commands::system::prune::run(a),
        Command::Build(a)
        | Command::Image(ImageCommand::Build(a))
        | Command::Builder(BuilderCommand::Build(a)) => commands::build::run(a),
        Command::Builder(BuilderCommand::Prune(a)) => commands::build::prune(a),
    }
}
