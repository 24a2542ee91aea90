//! Registries: `pull`, `push`, `login`, `logout`, `search`, and the pull-if-missing that
//! `run`, `create` and the builder share ([`Engine::ensure_image`]).
//!
//! # Design
//! The HTTP side (endpoints, TLS, auth, credentials) is `berth-registry`; this module
//! moves content between a registry and the store. A pull fetches and verifies the
//! manifest (choosing the platform's entry of an index), then downloads the missing layer
//! blobs in parallel threads into the store's resumable partial files
//! (`ingest/partial/<hex>`, resumed with `Range` on the next try), each verified against
//! its digest before it becomes a blob; only when every blob is verified are the layers
//! unpacked (in parallel, diff ids verified) and the image recorded in one transaction,
//! with its tag and `RepoDigest`. A failure records nothing. A push uploads the layer
//! blobs exactly as stored (so their digests, and the manifest's, are stable), skipping
//! blobs the registry has and mounting from another repository of the same registry
//! when the image came from one, then puts the manifest and records the `RepoDigest`.
//!
//! Progress is reported through a callback of [`Progress`] events; the CLI renders them
//! as Docker's lines or bars.

pub mod pull;
pub mod push;

use berth_image::reference::Reference;
use berth_registry::{CredentialStore, Credentials, Endpoint, RegistryError, Settings};
use berth_types::Digest;

use crate::{Engine, EngineError};

pub use pull::{PullOptions, PullOutcome};
pub use push::{PushOptions, PushOutcome};

/// What a layer is doing, with Docker's wording as its `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerStatus {
    /// Queued for download.
    PullingFsLayer,
    /// Waiting for a download slot.
    Waiting,
    /// The store has the layer.
    AlreadyExists,
    /// Bytes are arriving (see [`Progress::Bytes`]).
    Downloading,
    /// The download is being verified.
    VerifyingChecksum,
    /// Downloaded and verified.
    DownloadComplete,
    /// Being unpacked.
    Extracting,
    /// Unpacked and recorded.
    PullComplete,
    /// About to be pushed.
    Preparing,
    /// Bytes are leaving (see [`Progress::Bytes`]).
    Pushing,
    /// Uploaded.
    Pushed,
    /// The registry has it already.
    LayerAlreadyExists,
    /// Mounted from another repository of the registry.
    MountedFrom(String),
}

impl std::fmt::Display for LayerStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayerStatus::PullingFsLayer => f.write_str("Pulling fs layer"),
            LayerStatus::Waiting => f.write_str("Waiting"),
            LayerStatus::AlreadyExists => f.write_str("Already exists"),
            LayerStatus::Downloading => f.write_str("Downloading"),
            LayerStatus::VerifyingChecksum => f.write_str("Verifying Checksum"),
            LayerStatus::DownloadComplete => f.write_str("Download complete"),
            LayerStatus::Extracting => f.write_str("Extracting"),
            LayerStatus::PullComplete => f.write_str("Pull complete"),
            LayerStatus::Preparing => f.write_str("Preparing"),
            LayerStatus::Pushing => f.write_str("Pushing"),
            LayerStatus::Pushed => f.write_str("Pushed"),
            LayerStatus::LayerAlreadyExists => f.write_str("Layer already exists"),
            LayerStatus::MountedFrom(r) => write!(f, "Mounted from {r}"),
        }
    }
}

/// A progress event of a pull or push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// `run`/`create`: the image is not in the store and will be pulled
    /// (`Unable to find image 'x:latest' locally`).
    NotFoundLocally(String),
    /// `latest: Pulling from library/busybox`.
    PullingFrom {
        /// The tag or digest.
        reference: String,
        /// The repository path.
        repository: String,
    },
    /// `The push refers to repository [127.0.0.1:5000/app]`.
    PushRefersTo(String),
    /// A layer's status (`id` is 12 hex digits).
    Layer {
        /// The short id.
        id: String,
        /// The status.
        status: LayerStatus,
    },
    /// Bytes moved for a layer.
    Bytes {
        /// The short id.
        id: String,
        /// Bytes so far.
        current: u64,
        /// The layer's size.
        total: u64,
    },
    /// `Digest: sha256:…` (pull).
    Digest(Digest),
    /// `Status: …` (pull).
    Status(String),
    /// `tag: digest: sha256:… size: N` (push).
    Pushed {
        /// The tag pushed.
        tag: String,
        /// The manifest's digest.
        digest: Digest,
        /// The manifest's size.
        size: usize,
    },
}

/// A progress callback.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

/// `--pull` of `run` and `create` (and the builder's pull policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only when the image is not in the store (Docker's default).
    #[default]
    Missing,
    /// Always pull (and use what the registry has).
    Always,
    /// Never pull: a missing image is an error.
    Never,
}

impl std::str::FromStr for PullPolicy {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "missing" | "" => Ok(PullPolicy::Missing),
            "always" => Ok(PullPolicy::Always),
            "never" => Ok(PullPolicy::Never),
            other => Err(EngineError::InvalidArgument(format!(
                "invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\""
            ))),
        }
    }
}

/// One result of `search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchResult {
    /// The repository name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its stars.
    pub star_count: u64,
    /// Whether it is an official image.
    pub is_official: bool,
    /// Whether it is an automated build (always false nowadays).
    pub is_automated: bool,
}

/// Splits a search term into the registry it names and the term proper
/// (`127.0.0.1:5000/app` → (`127.0.0.1:5000`, `app`)), as Docker's `ParseSearchIndexInfo`.
fn split_search_term(term: &str) -> (String, String) {
    if let Some((first, rest)) = term.split_once('/') {
        if first.contains('.') || first.contains(':') || first == "localhost" {
            let registry = if first == "index.docker.io" || first == "docker.io" {
                berth_registry::hosts::DOCKER_HUB.to_string()
            } else {
                first.to_string()
            };
            return (registry, rest.to_string());
        }
    }
    (
        berth_registry::hosts::DOCKER_HUB.to_string(),
        term.to_string(),
    )
}

impl Engine {
    /// The ONE function that finds an image for `run`, `create` and the builder's `FROM`:
    /// per `policy`, resolves `name` in the store and pulls it when missing (or always),
    /// announcing the pull with [`Progress::NotFoundLocally`]. Returns the image id.
    pub fn ensure_image(
        &mut self,
        name: &str,
        policy: PullPolicy,
        platform: Option<&str>,
        progress: ProgressFn<'_>,
    ) -> Result<Digest, EngineError> {
        let opts = PullOptions {
            platform: platform.map(String::from),
            all_tags: false,
        };
        match policy {
            PullPolicy::Never => self.resolve_image(name),
            PullPolicy::Always => {
                let out = self.pull_image(name, &opts, progress)?;
                Ok(out
                    .into_iter()
                    .next()
                    .map(|o| o.id)
                    .expect("a pull without all_tags pulls one image"))
            }
            PullPolicy::Missing => match self.resolve_image(name) {
                Err(EngineError::NoSuchImage(_))
                    if !berth_image::reference::is_full_or_short_id(name) =>
                {
                    let r = Reference::parse_normalized(name)?;
                    let shown = if r.digest().is_some() {
                        r.familiar_string()
                    } else {
                        r.clone().with_default_tag().familiar_string()
                    };
                    progress(Progress::NotFoundLocally(shown));
                    let out = self.pull_image(name, &opts, progress)?;
                    Ok(out
                        .into_iter()
                        .next()
                        .map(|o| o.id)
                        .expect("a pull without all_tags pulls one image"))
                }
                r => r,
            },
        }
    }

    /// `login`: verifies the credentials against the registry (`server`, default Docker
    /// Hub) and stores them. Returns the `config.json` key used.
    pub fn login(
        server: Option<&str>,
        username: &str,
        password: &str,
    ) -> Result<String, EngineError> {
        let name = server
            .map(berth_registry::credentials::convert_to_hostname)
            .unwrap_or_else(|| berth_registry::hosts::DOCKER_HUB.to_string());
        let settings = Settings::from_env();
        let endpoint = Endpoint::for_registry(&name, &settings)?;
        let key = endpoint.auth_key.clone();
        let creds = Credentials {
            username: username.to_string(),
            password: password.to_string(),
        };
        let client = berth_registry::Client::connect(endpoint, Some(creds.clone()))?;
        client.login()?;
        CredentialStore::from_env().store(&key, &creds)?;
        Ok(key)
    }

    /// The credentials stored for `server` (for `login` without `-p`).
    pub fn stored_credentials(server: Option<&str>) -> Result<Option<Credentials>, EngineError> {
        let key = berth_registry::credentials::server_key(server.unwrap_or("docker.io"));
        Ok(CredentialStore::from_env().get(&key)?)
    }

    /// `logout`: forgets the credentials of `server` (default Docker Hub). Returns the key
    /// and whether there were any.
    pub fn logout(server: Option<&str>) -> Result<(String, bool), EngineError> {
        let key = berth_registry::credentials::server_key(server.unwrap_or("docker.io"));
        let found = CredentialStore::from_env().erase(&key)?;
        Ok((key, found))
    }

    /// `search`: Docker Hub's (or a registry's) v1 search, else the registry's catalog
    /// filtered by the term.
    pub fn search(term: &str, limit: usize) -> Result<Vec<SearchResult>, EngineError> {
        let (registry, query) = split_search_term(term);
        let settings = Settings::from_env();
        let endpoint = Endpoint::for_index(&registry, &settings)?;
        let creds = CredentialStore::from_env().get(&endpoint.auth_key)?;
        let client = berth_registry::Client::connect(endpoint, creds)?;
        if let Some(v) = client.search_v1(&query, limit)? {
            let results = v
                .get("results")
                .and_then(|r| r.as_array())
                .cloned()
                .unwrap_or_default();
            return Ok(results
                .iter()
                .map(|r| SearchResult {
                    name: r["name"].as_str().unwrap_or_default().to_string(),
                    description: r["description"].as_str().unwrap_or_default().to_string(),
                    star_count: r["star_count"].as_u64().unwrap_or(0),
                    is_official: r["is_official"].as_bool().unwrap_or(false),
                    is_automated: r["is_automated"].as_bool().unwrap_or(false),
                })
                .take(limit)
                .collect());
        }
        let repos = client.catalog()?;
        Ok(repos
            .into_iter()
            .filter(|r| r.contains(&query))
            .map(|r| SearchResult {
                name: format!("{registry}/{r}"),
                description: String::new(),
                star_count: 0,
                is_official: false,
                is_automated: false,
            })
            .take(limit)
            .collect())
    }
}

impl From<RegistryError> for EngineError {
    fn from(e: RegistryError) -> Self {
        EngineError::Registry(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms() {
        assert_eq!(
            split_search_term("busybox"),
            ("docker.io".into(), "busybox".into())
        );
        assert_eq!(
            split_search_term("127.0.0.1:5000/app"),
            ("127.0.0.1:5000".into(), "app".into())
        );
        assert_eq!(
            split_search_term("user/app"),
            ("docker.io".into(), "user/app".into())
        );
    }

    #[test]
    fn pull_policies() {
        assert_eq!("always".parse::<PullPolicy>().unwrap(), PullPolicy::Always);
        assert!("sometimes".parse::<PullPolicy>().is_err());
    }
}
