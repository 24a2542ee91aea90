//! The engine's error type.

use std::io;
use std::path::PathBuf;

use berth_types::{Classify, ErrorKind};

/// An engine failure. `Display` is the one-line message users see (Docker's wording where
/// Docker has one).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No image matches the reference.
    #[error("No such image: {0}")]
    NoSuchImage(String),
    /// No container matches the name or id.
    #[error("No such container: {0}")]
    NoSuchContainer(String),
    /// No volume has that name.
    #[error("get {0}: no such volume")]
    NoSuchVolume(String),
    /// No network matches the name or id (also an unknown network driver plugin).
    #[error("network {0} not found")]
    NoSuchNetwork(String),
    /// An operation refused on principle (Docker's 403s: removing a built-in network).
    #[error("{0}")]
    Forbidden(String),
    /// Setting up networking failed.
    #[error(transparent)]
    Network(#[from] berth_net::NetError),
    /// The container's process could not be started; `code` is what `docker run` exits with
    /// (127 command not found, 126 not executable, 125 otherwise).
    #[error("{message}")]
    StartFailed {
        /// Exit code for `run`.
        code: i32,
        /// What failed.
        message: String,
    },
    /// The OCI spec could not be made from the configuration.
    #[error(transparent)]
    RuntimeSpec(#[from] berth_runtime::spec::SpecError),
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] berth_runtime::oci::RuntimeError),
    /// A reference that does not parse.
    #[error(transparent)]
    Reference(#[from] berth_image::reference::ReferenceError),
    /// An image archive (load, import) that is malformed or inconsistent.
    #[error("invalid image archive: {0}")]
    InvalidArchive(String),
    /// A layer tar that is malformed or hostile.
    #[error(transparent)]
    Tar(#[from] berth_tar::TarError),
    /// A malformed document (manifest, index, config).
    #[error(transparent)]
    Spec(#[from] berth_image::spec::SpecError),
    /// A malformed `--change`.
    #[error(transparent)]
    Change(#[from] berth_image::change::ChangeError),
    /// An operation the object's state forbids (Docker's "conflict: …" errors).
    #[error("{0}")]
    Conflict(String),
    /// A bad argument (filter, flag value).
    #[error("{0}")]
    InvalidArgument(String),
    /// A store failure.
    #[error(transparent)]
    Store(#[from] berth_store::StoreError),
    /// A registry failure (pull, push, login, search).
    #[error(transparent)]
    Registry(berth_registry::RegistryError),
    /// An I/O failure on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An I/O failure reading or writing a stream (stdin, stdout, a pipe).
    #[error("{what}: {source}")]
    Stream {
        /// What was being read or written.
        what: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl From<berth_store::BlobError> for EngineError {
    fn from(e: berth_store::BlobError) -> Self {
        EngineError::Store(e.into())
    }
}

impl From<berth_store::DbError> for EngineError {
    fn from(e: berth_store::DbError) -> Self {
        EngineError::Store(e.into())
    }
}

impl Classify for EngineError {
    fn kind(&self) -> ErrorKind {
        match self {
            EngineError::NoSuchImage(_)
            | EngineError::NoSuchContainer(_)
            | EngineError::NoSuchVolume(_) => ErrorKind::NotFound,
            EngineError::NoSuchNetwork(_) => ErrorKind::NotFound,
            EngineError::Forbidden(_) => ErrorKind::Forbidden,
            EngineError::Network(e) => e.kind(),
            EngineError::StartFailed { .. } => ErrorKind::Internal,
            EngineError::RuntimeSpec(e) => e.kind(),
            EngineError::Runtime(e) => e.kind(),
            EngineError::Reference(_)
            | EngineError::InvalidArchive(_)
            | EngineError::Spec(_)
            | EngineError::Change(_)
            | EngineError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            EngineError::Tar(e) if e.is_invalid_input() => ErrorKind::InvalidArgument,
            EngineError::Tar(_) => ErrorKind::Internal,
            EngineError::Conflict(_) => ErrorKind::Conflict,
            EngineError::Store(e) => e.kind(),
            EngineError::Io { .. } | EngineError::Stream { .. } => ErrorKind::Internal,
            EngineError::Registry(e) => e.kind(),
        }
    }
}

/// Wraps an I/O error with its path.
pub(crate) fn io_err(path: &std::path::Path) -> impl FnOnce(io::Error) -> EngineError + '_ {
    move |source| EngineError::Io {
        path: path.to_path_buf(),
        source,
    }
}
