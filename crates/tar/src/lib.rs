//! Safe application of layer tarballs, and packing directories back into tarballs.
//!
//! # Security design
//! A layer tar is hostile input (CVE-2014-6407, CVE-2014-9356, CVE-2021-32760,
//! CVE-2018-15664). Every write is made relative to a directory fd of the destination:
//! parent directories are resolved with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`,
//! so `..` and symlinks met on the way (absolute or relative) are resolved *inside* the
//! destination, never outside it; the final component is handled with `*at` calls that do
//! not follow symlinks (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`). Metadata is set through fds
//! (`fchown`, `fchmod`, `futimens`) on files opened `O_NOFOLLOW`, never through a path that
//! could be a symlink. Entry names that climb above the root with `..` are refused outright,
//! as Docker refuses them; absolute names are made relative, as Docker does. Overlay
//! metadata (`trusted.overlay.*` xattrs) can never come from the tar itself: whiteouts are
//! derived only from `.wh.` names. Sizes, entry counts and name lengths are limited while
//! streaming (CVE-2017-14992).

mod apply;
mod compress;
mod error;
mod pack;
mod path;

pub use apply::{apply_layer, ApplyOptions, ApplyStats, Limits, WhiteoutMode};
pub use compress::{decompress, Compression};
pub use error::TarError;
pub use pack::{pack_dir, PackMode, PackStats};
