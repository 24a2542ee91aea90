//! Image references, manifest and config formats for berth.
//!
//! This crate is the vocabulary of images, with no I/O of its own:
//!
//! - [`reference`] parses image names exactly as the docker CLI does
//!   (distribution/reference's `ParseNormalizedNamed`), with Docker's own error
//!   messages, since users and scripts see those verbatim.
//! - [`spec`] holds the serde types of the documents berth reads and writes (image
//!   configs, OCI descriptors, manifests, indexes, layouts, docker-archive manifests).
//!   They read leniently, as Go's `encoding/json` does, and write exactly what Docker
//!   writes; everything read from outside goes through size caps and the validation
//!   that closes known confusion attacks (CVE-2023-25153, CVE-2021-41190,
//!   CVE-2014-9358).
//! - [`change`] applies `--change` Dockerfile instructions (`import`, `commit`) to a
//!   config as dockerd does.
//! - [`history`] pairs history entries with layers for `berth history`.
//!
//! Errors are one enum per module, each classified ([`berth_types::Classify`]) as
//! `InvalidArgument`: everything here judges input.
#![forbid(unsafe_code)]

pub mod change;
pub mod duration;
pub mod history;
pub mod reference;
pub mod spec;

pub use change::{apply_change, apply_changes, ChangeError};
pub use history::history_with_layers;
pub use reference::{is_full_or_short_id, Reference, ReferenceError};
pub use spec::{ContainerConfig, Descriptor, History, ImageConfig, Index, Manifest, SpecError};
