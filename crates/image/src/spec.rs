//! Serde types for the documents berth reads and writes: image configs, OCI
//! descriptors, manifests and indexes, the OCI layout marker and the docker-archive
//! (`docker save`) manifest.
//!
//! Input is read leniently, as Go's `encoding/json` reads it: `null` is the empty
//! value, unknown fields are kept (`extra`) so a config survives a round trip, and
//! `Cmd`/`Entrypoint` may be a bare string. Output is exact: fields Docker marks
//! `omitempty` are left out when empty, maps come out sorted (Go sorts map keys), and
//! an [`ImageConfig`]'s top-level keys are sorted as moby's `Image.MarshalJSON` sorts
//! them. Image ids are digests of the config's bytes, so berth keeps the bytes it read
//! and only ever serialises configs it creates itself.
//!
//! Every document from outside is hostile until checked: [`parse_json_capped`] refuses
//! documents over 4 MiB before parsing (CVE-2023-25153), [`Manifest::validate`] and
//! [`Index::validate`] refuse documents that are both a manifest and an index
//! (CVE-2021-41190), and [`validate_archive_path`] keeps archive member names inside
//! the archive (CVE-2014-9358).

pub mod mediatype;
mod platform;

use std::collections::BTreeMap;

use berth_types::{Classify, Digest, ErrorKind};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

pub use mediatype::Compression;
pub use platform::{select_host_manifest, Platform};

/// The largest JSON document (manifest, index, config, archive manifest) berth reads.
/// containerd caps manifests and indexes at 4 MiB since CVE-2023-25153; registries do
/// the same.
pub const MAX_JSON_SIZE: usize = 4 << 20;

/// A document that is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The document is over [`MAX_JSON_SIZE`].
    #[error("{what} is too large: {size} bytes, the limit is {MAX_JSON_SIZE}")]
    TooLarge {
        /// What the document is (e.g. "image manifest").
        what: String,
        /// Its size.
        size: usize,
    },
    /// The document is not valid JSON of the expected shape.
    #[error("invalid {what}: {source}")]
    Json {
        /// What the document is.
        what: String,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest or index with a schema version other than 2.
    #[error("{what}: unsupported schema version {version}")]
    SchemaVersion {
        /// What the document is.
        what: String,
        /// The version it declares.
        version: i64,
    },
    /// A document whose `mediaType` is not what its kind (or its descriptor) says.
    #[error("{what}: unexpected media type {found:?}")]
    MediaType {
        /// What the document is.
        what: String,
        /// The media type found.
        found: String,
    },
    /// A document that is both a manifest and an index (CVE-2021-41190).
    #[error("{what} is ambiguous: it has both \"manifests\" and \"layers\" or \"config\"")]
    Ambiguous {
        /// What the document is.
        what: String,
    },
    /// An archive member path that could leave the archive's directory.
    #[error("unsafe path in archive {path:?}: {reason}")]
    UnsafeArchivePath {
        /// The path as written in the archive.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl Classify for SpecError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// Parses a JSON document of at most [`MAX_JSON_SIZE`] bytes; `what` names it in
/// errors. The size is checked before any parsing (CVE-2023-25153); serde_json's
/// recursion limit guards against deep nesting.
pub fn parse_json_capped<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, SpecError> {
    if bytes.len() > MAX_JSON_SIZE {
        return Err(SpecError::TooLarge {
            what: what.to_string(),
            size: bytes.len(),
        });
    }
    serde_json::from_slice(bytes).map_err(|source| SpecError::Json {
        what: what.to_string(),
        source,
    })
}

/// Checks a member path named by an archive's own metadata (`manifest.json`'s
/// `Config` and `Layers`, the `repositories` file): it must be relative, non-empty,
/// free of NUL and of `..` components, so joining it to the extraction directory can
/// never leave that directory (CVE-2014-9358).
pub fn validate_archive_path(p: &str) -> Result<(), SpecError> {
    let bad = |reason| {
        Err(SpecError::UnsafeArchivePath {
            path: p.to_string(),
            reason,
        })
    };
    if p.is_empty() {
        return bad("empty path");
    }
    if p.contains('\0') {
        return bad("NUL byte in path");
    }
    if p.starts_with('/') {
        return bad("absolute path");
    }
    if p.split('/').any(|c| c == "..") {
        return bad("\"..\" component");
    }
    if p.split('/').all(|c| c.is_empty() || c == ".") {
        return bad("path names no file");
    }
    Ok(())
}

/// Go's reading of `null`: the zero value.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// moby's `strslice.StrSlice`: a list of strings, a single string, or `null`.
fn str_slice<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

fn none_or_empty(v: &Option<Vec<String>>) -> bool {
    v.as_ref().is_none_or(Vec::is_empty)
}

fn none_or_empty_str(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(str::is_empty)
}

fn none_or_empty_map<K, V>(m: &Option<BTreeMap<K, V>>) -> bool {
    m.as_ref().is_none_or(BTreeMap::is_empty)
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The value of a Go `map[string]struct{}` entry: written `{}`, anything accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Empty, D::Error> {
        IgnoredAny::deserialize(d)?;
        Ok(Empty)
    }
}

/// A Docker/OCI image config (`application/vnd.docker.container.image.v1+json`,
/// `application/vnd.oci.image.config.v1+json`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ImageConfig {
    /// CPU architecture (`amd64`, …).
    #[serde(default, deserialize_with = "null_default")]
    pub architecture: String,
    /// Operating system (`linux`).
    #[serde(default, deserialize_with = "null_default")]
    pub os: String,
    /// CPU variant (`v8`, …).
    #[serde(default)]
    pub variant: Option<String>,
    /// OS version (Windows).
    #[serde(rename = "os.version", default)]
    pub os_version: Option<String>,
    /// OS features (Windows).
    #[serde(rename = "os.features", default, deserialize_with = "null_default")]
    pub os_features: Vec<String>,
    /// Creation time, RFC 3339.
    #[serde(default)]
    pub created: Option<String>,
    /// Author (`docker commit --author`, Dockerfile `MAINTAINER`).
    #[serde(default)]
    pub author: Option<String>,
    /// Docker's top-level comment (`docker import --message`, `commit --message`).
    #[serde(default)]
    pub comment: Option<String>,
    /// The default configuration of containers made from the image.
    #[serde(default)]
    pub config: Option<ContainerConfig>,
    /// The layers, as uncompressed-tar digests (diff ids), bottom first.
    #[serde(default, deserialize_with = "null_default")]
    pub rootfs: RootFs,
    /// How each layer was made, oldest first.
    #[serde(default, deserialize_with = "null_default")]
    pub history: Vec<History>,
    /// Docker only: the id of the container an image was committed from.
    #[serde(default)]
    pub container: Option<String>,
    /// Docker only: that container's config.
    #[serde(default)]
    pub container_config: Option<ContainerConfig>,
    /// Docker only: the version of the daemon that made the image.
    #[serde(default)]
    pub docker_version: Option<String>,
    /// Every other field, kept as it was read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Serialize for ImageConfig {
    /// moby's `Image.MarshalJSON` re-marshals through a map, so the top-level keys of a
    /// Docker config come out sorted; nested objects keep their struct order.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut m: BTreeMap<&str, Value> = BTreeMap::new();
        let mut put =
            |k: &'static str, v: Result<Value, serde_json::Error>| -> Result<(), S::Error> {
                m.insert(k, v.map_err(S::Error::custom)?);
                Ok(())
            };
        let str_val = |v: &str| Ok(Value::String(v.to_string()));
        if !self.architecture.is_empty() {
            put("architecture", str_val(&self.architecture))?;
        }
        if !self.os.is_empty() {
            put("os", str_val(&self.os))?;
        }
        for (k, v) in [
            ("variant", &self.variant),
            ("os.version", &self.os_version),
            ("created", &self.created),
            ("author", &self.author),
            ("comment", &self.comment),
            ("container", &self.container),
            ("docker_version", &self.docker_version),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                put(k, str_val(v))?;
            }
        }
        if !self.os_features.is_empty() {
            put("os.features", serde_json::to_value(&self.os_features))?;
        }
        if let Some(c) = &self.config {
            put("config", serde_json::to_value(c))?;
        }
        if let Some(c) = &self.container_config {
            put("container_config", serde_json::to_value(c))?;
        }
        put("rootfs", serde_json::to_value(&self.rootfs))?;
        if !self.history.is_empty() {
            put("history", serde_json::to_value(&self.history))?;
        }
        let mut all: BTreeMap<&str, &Value> = m.iter().map(|(k, v)| (*k, v)).collect();
        for (k, v) in &self.extra {
            all.entry(k.as_str()).or_insert(v);
        }
        all.serialize(s)
    }
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type", default, deserialize_with = "null_default")]
    pub r#type: String,
    /// The diff ids of the layers, bottom first.
    #[serde(default, deserialize_with = "null_default")]
    pub diff_ids: Vec<Digest>,
}

impl RootFs {
    /// A `layers` rootfs of `diff_ids`.
    pub fn layers(diff_ids: Vec<Digest>) -> RootFs {
        RootFs {
            r#type: "layers".to_string(),
            diff_ids,
        }
    }
}

impl Default for RootFs {
    fn default() -> RootFs {
        RootFs::layers(Vec::new())
    }
}

/// One entry of an image config's `history`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// When the step ran, RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Who made it.
    #[serde(default, skip_serializing_if = "none_or_empty_str")]
    pub author: Option<String>,
    /// The command that made it.
    #[serde(default, skip_serializing_if = "none_or_empty_str")]
    pub created_by: Option<String>,
    /// A free comment.
    #[serde(default, skip_serializing_if = "none_or_empty_str")]
    pub comment: Option<String>,
    /// True when the step made no layer.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub empty_layer: bool,
}

/// The `config` (and Docker's `container_config`) of an image config, with Docker's
/// field names. Fields of the full container config that images do not use
/// (`Hostname`, `AttachStdin`, …) land in `extra` and are written back as read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerConfig {
    /// `user[:group]`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub user: String,
    /// Exposed ports, `80/tcp` style keys.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub exposed_ports: BTreeMap<String, Empty>,
    /// `KEY=value` entries.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<String>,
    /// The entrypoint; `None` when unset (JSON `null` or absent).
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "none_or_empty"
    )]
    pub entrypoint: Option<Vec<String>>,
    /// The default command; `None` when unset.
    #[serde(
        default,
        deserialize_with = "str_slice",
        skip_serializing_if = "none_or_empty"
    )]
    pub cmd: Option<Vec<String>>,
    /// Anonymous volumes.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub volumes: BTreeMap<String, Empty>,
    /// The working directory.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub working_dir: String,
    /// Labels.
    #[serde(default, skip_serializing_if = "none_or_empty_map")]
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal that stops the container (`SIGTERM` when empty).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub stop_signal: String,
    /// Windows: the command line is already escaped.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_false"
    )]
    pub args_escaped: bool,
    /// The health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// `ONBUILD` triggers.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub on_build: Vec<String>,
    /// The shell for shell-form commands (`SHELL`).
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub shell: Vec<String>,
    /// Every other field, kept as it was read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Docker's `HealthConfig`. Durations are nanoseconds; zero means "inherit/default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `[]` inherit, `["NONE"]` disabled, `["CMD", …]` or `["CMD-SHELL", cmd]`.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub test: Vec<String>,
    /// Time between checks.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub interval: i64,
    /// Time a check may take.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub timeout: i64,
    /// Start-up time during which failures do not count.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub start_period: i64,
    /// Time between checks during the start period.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub start_interval: i64,
    /// Consecutive failures that make the container unhealthy.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "is_zero"
    )]
    pub retries: i64,
}

/// An OCI content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// The media type of the content.
    #[serde(default, deserialize_with = "null_default")]
    pub media_type: String,
    /// The digest of the content (berth accepts sha256 only).
    pub digest: Digest,
    /// The size of the content in bytes.
    #[serde(default, deserialize_with = "null_default")]
    pub size: i64,
    /// Where else the content may be fetched (non-distributable layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The platform of the manifest an index entry points at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The artifact type (OCI 1.1), for artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// A descriptor with no urls, annotations or platform.
    pub fn new(media_type: &str, digest: Digest, size: i64) -> Descriptor {
        Descriptor {
            media_type: media_type.to_string(),
            digest,
            size,
            urls: None,
            annotations: None,
            platform: None,
            artifact_type: None,
        }
    }
}

/// An image manifest (OCI, or Docker schema 2, which has the same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: i64,
    /// The manifest's own media type (required by Docker schema 2, optional in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The image config.
    pub config: Descriptor,
    /// The layers, bottom first.
    #[serde(default, deserialize_with = "null_default")]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Never present in a valid manifest: kept only so [`Manifest::validate`] can refuse
    /// a document that is also an index (CVE-2021-41190).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests: Option<Value>,
}

impl Manifest {
    /// An OCI manifest of `config` and `layers`.
    pub fn new_oci(config: Descriptor, layers: Vec<Descriptor>) -> Manifest {
        Manifest {
            schema_version: 2,
            media_type: Some(mediatype::OCI_MANIFEST.to_string()),
            artifact_type: None,
            config,
            layers,
            subject: None,
            annotations: None,
            manifests: None,
        }
    }

    /// Parses and validates a manifest from untrusted bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Manifest, SpecError> {
        let m: Manifest = parse_json_capped(bytes, "image manifest")?;
        m.validate()?;
        Ok(m)
    }

    /// Refuses a manifest that is not schema version 2, declares a media type that is
    /// not a manifest's, or also holds `manifests` (CVE-2021-41190: a document both a
    /// manifest and an index could be read as either by different tools).
    pub fn validate(&self) -> Result<(), SpecError> {
        let what = "image manifest";
        if self.manifests.is_some() {
            return Err(SpecError::Ambiguous { what: what.into() });
        }
        if self.schema_version != 2 {
            return Err(SpecError::SchemaVersion {
                what: what.into(),
                version: self.schema_version,
            });
        }
        if let Some(mt) = &self.media_type {
            if !mediatype::is_manifest(mt) {
                return Err(SpecError::MediaType {
                    what: what.into(),
                    found: mt.clone(),
                });
            }
        }
        Ok(())
    }

    /// [`Manifest::validate`], plus: the media type the descriptor (or the registry's
    /// `Content-Type`) gave must agree with the document's own.
    pub fn validate_as(&self, descriptor_media_type: &str) -> Result<(), SpecError> {
        self.validate()?;
        check_declared(
            "image manifest",
            self.media_type.as_deref(),
            descriptor_media_type,
            mediatype::is_manifest,
        )
    }
}

/// An image index (OCI) or manifest list (Docker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: i64,
    /// The index's own media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests (or nested indexes).
    #[serde(default, deserialize_with = "null_default")]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Never present in a valid index (CVE-2021-41190); see [`Index::validate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Value>,
    /// Never present in a valid index (CVE-2021-41190); see [`Index::validate`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Value>,
}

impl Index {
    /// An OCI index of `manifests`.
    pub fn new_oci(manifests: Vec<Descriptor>) -> Index {
        Index {
            schema_version: 2,
            media_type: Some(mediatype::OCI_INDEX.to_string()),
            artifact_type: None,
            manifests,
            subject: None,
            annotations: None,
            config: None,
            layers: None,
        }
    }

    /// Parses and validates an index from untrusted bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Index, SpecError> {
        let i: Index = parse_json_capped(bytes, "image index")?;
        i.validate()?;
        Ok(i)
    }

    /// Refuses an index that is not schema version 2, declares a media type that is not
    /// an index's, or also holds `config` or `layers` (CVE-2021-41190).
    pub fn validate(&self) -> Result<(), SpecError> {
        let what = "image index";
        if self.config.is_some() || self.layers.is_some() {
            return Err(SpecError::Ambiguous { what: what.into() });
        }
        if self.schema_version != 2 {
            return Err(SpecError::SchemaVersion {
                what: what.into(),
                version: self.schema_version,
            });
        }
        if let Some(mt) = &self.media_type {
            if !mediatype::is_index(mt) {
                return Err(SpecError::MediaType {
                    what: what.into(),
                    found: mt.clone(),
                });
            }
        }
        Ok(())
    }

    /// [`Index::validate`], plus agreement with the descriptor's media type.
    pub fn validate_as(&self, descriptor_media_type: &str) -> Result<(), SpecError> {
        self.validate()?;
        check_declared(
            "image index",
            self.media_type.as_deref(),
            descriptor_media_type,
            mediatype::is_index,
        )
    }
}

fn check_declared(
    what: &str,
    own: Option<&str>,
    declared: &str,
    is_kind: fn(&str) -> bool,
) -> Result<(), SpecError> {
    let bad = |found: &str| {
        Err(SpecError::MediaType {
            what: what.to_string(),
            found: found.to_string(),
        })
    };
    if !is_kind(declared) {
        return bad(declared);
    }
    match own {
        Some(own) if own != declared => bad(own),
        _ => Ok(()),
    }
}

/// A manifest or an index, told apart by the document itself.
#[derive(Debug, Clone, PartialEq)]
pub enum ManifestOrIndex {
    /// An image manifest.
    Manifest(Manifest),
    /// An index or manifest list.
    Index(Index),
}

/// Parses an untrusted manifest-or-index document. The kind is decided by
/// `media_type` (the descriptor's or the registry's `Content-Type`) when it names one,
/// else by the document's own `mediaType`, else by its shape; the chosen kind is then
/// validated, so an ambiguous document is refused either way.
pub fn parse_manifest_or_index(
    bytes: &[u8],
    media_type: Option<&str>,
) -> Result<ManifestOrIndex, SpecError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<IgnoredAny>,
    }
    let probe: Probe = parse_json_capped(bytes, "manifest")?;
    let kind = media_type
        .filter(|m| mediatype::is_manifest(m) || mediatype::is_index(m))
        .map(str::to_string)
        .or(probe.media_type);
    let is_index = match kind.as_deref() {
        Some(m) if mediatype::is_index(m) => true,
        Some(m) if mediatype::is_manifest(m) => false,
        Some(m) => {
            return Err(SpecError::MediaType {
                what: "manifest".into(),
                found: m.to_string(),
            })
        }
        None => probe.manifests.is_some(),
    };
    if is_index {
        let i = Index::from_slice(bytes)?;
        if let Some(m) = media_type {
            i.validate_as(m)?;
        }
        Ok(ManifestOrIndex::Index(i))
    } else {
        let m = Manifest::from_slice(bytes)?;
        if let Some(mt) = media_type {
            m.validate_as(mt)?;
        }
        Ok(ManifestOrIndex::Manifest(m))
    }
}

/// The `oci-layout` file of an OCI image layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OciLayout {
    /// `1.0.0`.
    #[serde(rename = "imageLayoutVersion")]
    pub image_layout_version: String,
}

impl Default for OciLayout {
    fn default() -> OciLayout {
        OciLayout {
            image_layout_version: "1.0.0".to_string(),
        }
    }
}

/// One entry of a docker-archive's `manifest.json` (which is a list of these), as
/// moby's `tarexport` writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArchiveManifestEntry {
    /// Path of the config in the archive (`<hex>.json` or `blobs/sha256/<hex>`).
    pub config: String,
    /// Familiar `name:tag` references; Docker writes `null` for an image saved by id.
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    /// Paths of the layer tars, bottom first.
    #[serde(default, deserialize_with = "null_default")]
    pub layers: Vec<String>,
    /// The parent image id (legacy builder images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Descriptors of foreign layers, by diff id.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub layer_sources: BTreeMap<String, Value>,
}

impl ArchiveManifestEntry {
    /// Checks every path the entry names with [`validate_archive_path`].
    pub fn validate_paths(&self) -> Result<(), SpecError> {
        validate_archive_path(&self.config)?;
        self.layers
            .iter()
            .try_for_each(|l| validate_archive_path(l))
    }
}

/// The legacy `repositories` file of a docker-archive: repository → tag → v1 image id.
pub type Repositories = BTreeMap<String, BTreeMap<String, String>>;

#[cfg(test)]
mod tests;
