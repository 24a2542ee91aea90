//! Errors of layer application and packing.

use std::io;
use std::path::PathBuf;

/// A failure applying or packing a layer. Every variant names the entry (or, for packing,
/// the file) it concerns; messages are one line.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// An entry name climbs above the layer root, or is otherwise unusable.
    #[error("layer entry {name:?}: {reason}")]
    BadEntry {
        /// The entry name as written in the tar.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A hardlink whose target is missing, a directory, or outside the layer.
    #[error("layer entry {name:?}: invalid hardlink target {target:?}: {reason}")]
    BadLink {
        /// The entry name.
        name: String,
        /// The link target.
        target: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The stream is not a (complete) tar archive.
    #[error("invalid layer tar at entry {name:?}: {reason}")]
    Malformed {
        /// The entry being read, or the last one read before the failure (empty at the
        /// start of the stream).
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A limit on size, entry count or name length was exceeded.
    #[error("layer entry {name:?}: layer exceeds the limit on {what} ({limit})")]
    LimitExceeded {
        /// The entry at which the limit was crossed.
        name: String,
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: u64,
    },
    /// A filesystem operation failed.
    #[error("layer entry {name:?}: {op}: {source}")]
    Io {
        /// The entry concerned.
        name: String,
        /// What was being done.
        op: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading a directory to pack, or writing the tar, failed.
    #[error("packing {path:?}: {op}: {source}")]
    Pack {
        /// The path concerned.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl TarError {
    /// Whether the input (not the system) is at fault: malformed or hostile tars, or
    /// limits exceeded. I/O failures of the host (disk full, permissions) are not.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            TarError::BadEntry { .. }
                | TarError::BadLink { .. }
                | TarError::Malformed { .. }
                | TarError::LimitExceeded { .. }
        )
    }

    pub(crate) fn io<'a>(
        name: &'a str,
        op: &'static str,
    ) -> impl FnOnce(rustix::io::Errno) -> TarError + 'a {
        move |e| TarError::Io {
            name: name.to_string(),
            op,
            source: e.into(),
        }
    }

    pub(crate) fn std_io<'a>(
        name: &'a str,
        op: &'static str,
    ) -> impl FnOnce(io::Error) -> TarError + 'a {
        move |source| TarError::Io {
            name: name.to_string(),
            op,
            source,
        }
    }
}
