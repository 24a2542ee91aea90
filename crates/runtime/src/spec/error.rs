//! Errors from building a container's OCI spec.

use std::io;
use std::path::PathBuf;

use berth_types::{Classify, ErrorKind};
use libcontainer::oci_spec::OciSpecError;

use crate::seccomp::SeccompError;

/// Why a [`RunSpec`](super::RunSpec) could not be turned into an OCI spec.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// `args` is empty.
    #[error("no command specified")]
    NoCommand,
    /// A `--cap-add`/`--cap-drop` name berth does not know (Docker's wording).
    #[error("unknown capability: {0:?}")]
    UnknownCapability(String),
    /// A known capability the running kernel does not have (Docker's wording).
    #[error("capability not supported by your kernel or not available in the current environment: {0:?}")]
    UnsupportedCapability(String),
    /// A `--ulimit` name that is not a Docker ulimit (go-units' wording).
    #[error("invalid ulimit type: {0}")]
    UnknownUlimit(String),
    /// A `--ulimit` whose soft limit exceeds its hard limit (go-units' wording).
    #[error("ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")]
    UlimitSoftAboveHard {
        /// The ulimit name.
        name: String,
        /// The soft limit given.
        soft: u64,
        /// The hard limit given.
        hard: u64,
    },
    /// A `--device` host path that is missing or holds no device (Docker's wording, which
    /// ends with the system error text, so the error is kept as a field rather than a source
    /// to avoid printing it twice).
    #[error("error gathering device information while adding custom device {path:?}: {}", errno_text(.error))]
    Device {
        /// The host path as given.
        path: String,
        /// What went wrong looking at it.
        error: io::Error,
    },
    /// A `--device` cgroup permission string that is not a non-empty subset of `rwm`
    /// (the docker CLI's wording).
    #[error("bad mode specified: {0}")]
    DeviceMode(String),
    /// Listing the host's devices for `--privileged` failed.
    #[error("failed to list host devices under {path}")]
    HostDevices {
        /// The directory being read.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The seccomp profile could not be loaded or evaluated.
    #[error(transparent)]
    Seccomp(#[from] SeccompError),
    /// The OCI builder refused a value (a bug).
    #[error("failed to assemble the oci spec")]
    Assemble(#[from] OciSpecError),
}

impl Classify for SpecError {
    fn kind(&self) -> ErrorKind {
        match self {
            SpecError::NoCommand
            | SpecError::UnknownCapability(_)
            | SpecError::UnsupportedCapability(_)
            | SpecError::UnknownUlimit(_)
            | SpecError::UlimitSoftAboveHard { .. }
            | SpecError::Device { .. }
            | SpecError::DeviceMode(_) => ErrorKind::InvalidArgument,
            SpecError::Seccomp(e) => e.kind(),
            SpecError::HostDevices { .. } | SpecError::Assemble(_) => ErrorKind::Internal,
        }
    }
}

/// A system error as Go prints it (`no such file or directory`): the C library's text with a
/// lower-case first letter and no `(os error N)` suffix.
pub(crate) fn errno_text(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let desc = nix::errno::Errno::from_raw(code).desc();
            let mut chars = desc.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().chain(chars).collect(),
                None => e.to_string(),
            }
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_text_is_go_style() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(errno_text(&e), "no such file or directory");
        let e = io::Error::from_raw_os_error(13);
        assert_eq!(errno_text(&e), "permission denied");
        let e = io::Error::other("not a device node");
        assert_eq!(errno_text(&e), "not a device node");
    }

    #[test]
    fn kinds() {
        assert_eq!(SpecError::NoCommand.kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            SpecError::Device {
                path: "/dev/x".into(),
                error: io::Error::from_raw_os_error(2)
            }
            .kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            SpecError::Seccomp(SeccompError::NoDefaultAction).kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            SpecError::Assemble(OciSpecError::Other("x".into())).kind(),
            ErrorKind::Internal
        );
    }
}
