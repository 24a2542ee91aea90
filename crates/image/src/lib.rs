//! Image references, manifest and config formats for berth.
#![forbid(unsafe_code)]

pub mod reference;
pub mod spec;

pub use reference::{is_full_or_short_id, Reference, ReferenceError};
