//! The registry client's error type.

use berth_types::{Classify, ErrorKind};

/// A registry failure. `Display` follows the wording the docker CLI prints after
/// "Error response from daemon: ", so scripts that grep Docker's messages keep working.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The registry could not be reached (refused, unresolvable, timed out, TLS failure).
    #[error("{method} \"{url}\": {reason}")]
    Unreachable {
        /// The HTTP method.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// The transport's complaint.
        reason: String,
    },
    /// The registry answered 401 and the credentials (or their absence) were refused.
    #[error("{method} \"{url}\": {reason}")]
    Unauthorized {
        /// The HTTP method.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// The registry's message, or Docker's `no basic auth credentials`.
        reason: String,
    },
    /// `login` with credentials the registry refused.
    #[error("login attempt to {url} failed with status: {status}")]
    LoginFailed {
        /// The URL tried.
        url: String,
        /// The HTTP status line.
        status: String,
    },
    /// The registry answered 403.
    #[error("{method} \"{url}\": denied: {reason}")]
    Forbidden {
        /// The HTTP method.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// The registry's message.
        reason: String,
    },
    /// A manifest or blob the registry does not have.
    #[error("{what} not found: {reason}")]
    NotFound {
        /// What was asked for (`manifest for x:tag`, `blob sha256:…`).
        what: String,
        /// The registry's error code and message.
        reason: String,
    },
    /// Any other unexpected HTTP status.
    #[error("{method} \"{url}\": unexpected status {status}: {reason}")]
    Status {
        /// The HTTP method.
        method: &'static str,
        /// The URL requested.
        url: String,
        /// The status code.
        status: u16,
        /// The registry's error body, shortened.
        reason: String,
    },
    /// Content that does not hash to its digest, or has the wrong size.
    #[error("{what}: digest verification failed: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was being verified.
        what: String,
        /// The digest promised.
        expected: String,
        /// What the content hashed to.
        actual: String,
    },
    /// A response that breaks the protocol (bad JSON, oversized document, bad header).
    #[error("{what}: {reason}")]
    Protocol {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A document of a media type berth does not handle.
    #[error("{what}: unsupported media type {media_type:?}")]
    MediaType {
        /// What was being read.
        what: String,
        /// The media type found.
        media_type: String,
    },
    /// A malformed manifest, index or config.
    #[error(transparent)]
    Spec(#[from] berth_image::spec::SpecError),
    /// The credential store (config.json or a helper) failed.
    #[error("{path}: {reason}")]
    Credentials {
        /// The file or helper concerned.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A certificate or key of the TLS configuration could not be read.
    #[error("TLS configuration {path}: {reason}")]
    Tls {
        /// The file concerned.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// Reading or writing the transferred content failed locally.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Classify for RegistryError {
    fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Unreachable { .. } => ErrorKind::Unavailable,
            RegistryError::Unauthorized { .. } | RegistryError::LoginFailed { .. } => {
                ErrorKind::Unauthorized
            }
            RegistryError::Forbidden { .. } => ErrorKind::Forbidden,
            RegistryError::NotFound { .. } => ErrorKind::NotFound,
            RegistryError::Status { .. } => ErrorKind::Unavailable,
            RegistryError::DigestMismatch { .. }
            | RegistryError::Protocol { .. }
            | RegistryError::MediaType { .. }
            | RegistryError::Spec(_) => ErrorKind::InvalidArgument,
            RegistryError::Credentials { .. } | RegistryError::Tls { .. } => {
                ErrorKind::FailedPrecondition
            }
            RegistryError::Io { .. } => ErrorKind::Internal,
        }
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, RegistryError>;
