//! `inspect` and `image inspect`.

use serde_json::Value;

use crate::args::{ContainerInspectArgs, ImageInspectArgs, InspectArgs};
use crate::exit::StatusError;
use crate::output::engine;

/// Which objects a name may denote.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kinds {
    Any,
    Image,
    Container,
    Volume,
}

/// Runs `image inspect`.
pub fn run_image(a: ImageInspectArgs) -> anyhow::Result<i32> {
    inspect(&a.images, a.format.as_deref(), Kinds::Image, |n| {
        format!("No such image: {n}")
    })
}

/// Runs `container inspect`.
pub fn run_container(a: ContainerInspectArgs) -> anyhow::Result<i32> {
    inspect(&a.containers, a.format.as_deref(), Kinds::Container, |n| {
        format!("No such container: {n}")
    })
}

/// Runs `inspect` (images only until containers, volumes and networks exist).
pub fn run(a: InspectArgs) -> anyhow::Result<i32> {
    let kinds = match a.kind.as_deref() {
        None => Kinds::Any,
        Some("image") => Kinds::Image,
        Some("container") => Kinds::Container,
        Some("volume") => Kinds::Volume,
        Some(k @ "network") => {
            return Err(StatusError::error(
                1,
                format!("Error: inspecting objects of type {k} is not supported yet"),
            ))
        }
        Some(k) => {
            return Err(StatusError::error(
                1,
                format!("\"{k}\" is not a valid value for --type"),
            ))
        }
    };
    inspect(&a.names, a.format.as_deref(), kinds, |n| {
        format!("No such object: {n}")
    })
}

fn inspect(
    names: &[String],
    format: Option<&str>,
    kinds: Kinds,
    missing: impl Fn(&str) -> String,
) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let template = format
        .map(berth_template::Template::parse)
        .transpose()
        .map_err(|e| StatusError::error(1, format!("template parsing error: {e}")))?;
    let mut found: Vec<Value> = Vec::new();
    let mut errors = Vec::new();
    for n in names {
        if kinds == Kinds::Volume {
            match engine.volume(n) {
                Ok(v) => found.push(v.inspect()),
                Err(berth_engine::EngineError::NoSuchVolume(_)) => errors.push(missing(n)),
                Err(e) => errors.push(crate::exit::message(&e.into())),
            }
            continue;
        }
        if kinds != Kinds::Image {
            match engine.container(n) {
                Ok(c) => {
                    found.push(engine.inspect_container(&c));
                    continue;
                }
                Err(berth_engine::EngineError::NoSuchContainer(_)) => {}
                Err(e) => {
                    errors.push(crate::exit::message(&e.into()));
                    continue;
                }
            }
            if kinds == Kinds::Container {
                errors.push(missing(n));
                continue;
            }
        }
        match engine.inspect_image(n) {
            Ok(v) => found.push(v),
            Err(berth_engine::EngineError::NoSuchImage(_)) if kinds == Kinds::Any => {
                match engine.volume(n) {
                    Ok(v) => found.push(v.inspect()),
                    Err(_) => errors.push(missing(n)),
                }
            }
            Err(berth_engine::EngineError::NoSuchImage(_)) => errors.push(missing(n)),
            Err(e) => errors.push(crate::exit::message(&e.into())),
        }
    }
    let errors = if errors.is_empty() {
        errors
    } else {
        vec![format!("Error: {}", errors.join("\n"))]
    };
    crate::output::print_inspected(found, template.as_ref(), &errors)
}
