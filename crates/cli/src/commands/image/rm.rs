//! `rmi` / `image rm`.

use berth_engine::images::RemoveAction;

use crate::args::RmiArgs;
use crate::output::{engine, write_stdout};

/// Runs `rmi`: every name is tried; failures are reported and make the exit code 1.
pub fn run(a: RmiArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let mut code = 0;
    for name in &a.images {
        match engine.remove_image(name, a.force, !a.no_prune) {
            Ok(actions) => {
                let mut out = String::new();
                for act in actions {
                    match act {
                        RemoveAction::Untagged(t) => out.push_str(&format!("Untagged: {t}\n")),
                        RemoveAction::Deleted(d) => out.push_str(&format!("Deleted: {d}\n")),
                    }
                }
                write_stdout(&out)?;
            }
            Err(e) => {
                eprintln!("{}", crate::exit::message(&e.into()));
                code = 1;
            }
        }
    }
    Ok(code)
}
