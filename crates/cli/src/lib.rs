//! Docker-compatible command line of berth.

/// Runs the CLI and returns the process exit code.
pub fn main() -> i32 {
    0
}
