//! The distribution API v2 client of berth: authentication, credentials, and the transfer
//! of manifests and blobs.
//!
//! # Design
//! The survey picked `oci-client`; berth owns a small client instead because pulls and
//! pushes need what it does not offer: resuming a blob download into the store's partial
//! file with `Range`, chunked uploads, cross-repository mounts with several token scopes,
//! per-registry CA directories (`certs.d`), Docker's insecure-registry fallback to HTTP,
//! and byte counts for progress, all while the store stays synchronous. HTTP is `ureq`
//! (blocking, rustls); parallel layers are plain threads sharing one [`Client`].
//!
//! - [`hosts`]: where a registry is, which scheme and which TLS trust to use;
//! - [`credentials`]: `~/.docker/config.json` and `docker-credential-*` helpers;
//! - [`client`]: the v2 API (ping, token/basic auth, manifests, blobs, uploads, tags,
//!   catalog, v1 search).
//!
//! Every manifest and blob read is verified against its digest by the caller or here
//! ([`Client::manifest`], [`Client::blob_bytes`]); nothing unverified leaves this crate as
//! trusted.

#![forbid(unsafe_code)]
// ureq 2 returns its large `Error` by value; the request closures pass it through.
#![allow(clippy::result_large_err)]

pub mod client;
pub mod credentials;
pub mod error;
pub mod hosts;

pub use client::{Client, FetchedManifest, UploadStart};
pub use credentials::{CredentialStore, Credentials};
pub use error::RegistryError;
pub use hosts::{Endpoint, Settings};

/// Connects to the registry `name` (`docker.io`, `host:port`) with the credentials stored
/// for it, reading settings from the environment.
pub fn connect(name: &str) -> Result<Client, RegistryError> {
    let settings = Settings::from_env();
    let endpoint = Endpoint::for_registry(name, &settings)?;
    let creds = CredentialStore::from_env().get(&endpoint.auth_key)?;
    Client::connect(endpoint, creds)
}
