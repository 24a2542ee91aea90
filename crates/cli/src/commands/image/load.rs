//! `load`.

use std::io::IsTerminal;

use anyhow::Context;

use crate::args::LoadArgs;
use crate::exit::StatusError;
use crate::output::{engine, write_stdout};

/// Runs `load`.
pub fn run(a: LoadArgs) -> anyhow::Result<i32> {
    let input: Box<dyn std::io::Read + Send> = match a.input.as_deref() {
        Some(path) if path != "-" => {
            Box::new(std::fs::File::open(path).with_context(|| format!("open {path}"))?)
        }
        _ => {
            if std::io::stdin().is_terminal() {
                return Err(StatusError::error(
                    1,
                    "requested load from stdin, but stdin is empty",
                ));
            }
            Box::new(std::io::stdin())
        }
    };
    let mut engine = engine()?;
    let loaded = engine.load_images(input)?;
    let mut out = String::new();
    for img in &loaded {
        for (tag, old) in &img.moved {
            out.push_str(&format!(
                "The image {tag} already exists, renaming the old one with ID {old} to empty string\n"
            ));
        }
        if img.tags.is_empty() {
            out.push_str(&format!("Loaded image ID: {}\n", img.id));
        }
        for t in &img.tags {
            out.push_str(&format!("Loaded image: {t}\n"));
        }
    }
    write_stdout(&out)?;
    Ok(0)
}
