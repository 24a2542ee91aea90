//! The `berth` binary: a thin entry point over `berth-cli`.

fn main() {
    std::process::exit(berth_cli::main());
}
