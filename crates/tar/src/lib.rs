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
//! streaming (CVE-2017-14992), and a guard reader refuses oversized PAX / GNU long-name
//! members before the `tar` crate would buffer them in memory.
//!
//! In detail:
//! - Names: leading `/` and `./` are dropped; a `..` that would climb above the root is
//!   refused ("path escapes the layer root"); NULs and over-long names are refused.
//! - Parents: `mkdir -p` happens one component at a time, each `mkdirat` relative to a
//!   parent fd resolved in the root (CVE-2021-41089); a dangling symlink on the way is
//!   followed inside the root (as containerd does), never outside.
//! - Final components: existing entries are removed with `unlinkat` (recursively through
//!   `O_NOFOLLOW` dir fds), files are created `O_CREAT | O_EXCL | O_NOFOLLOW`, and owner,
//!   mode and times are set through that fd. Nodes are chmodded through an `O_PATH |
//!   O_NOFOLLOW` fd's `/proc/self/fd` link, symlinks get `fchownat`/`utimensat` with
//!   `AT_SYMLINK_NOFOLLOW` (CVE-2021-32760). Directory mtimes are set last, re-resolving the
//!   directory without following its last component.
//! - Hardlinks: the target's directory is resolved in the root and its last component is
//!   never followed (`linkat` without `AT_SYMLINK_FOLLOW`), so a link can only ever name an
//!   inode already inside the destination (CVE-2014-6407, CVE-2014-9356).
//! - Packing walks the source through directory fds and looks each name up once, with
//!   `O_PATH | O_NOFOLLOW`; the entry is described from `fstat` of that fd, and only
//!   regular files and directories are opened for reading, through the fd's
//!   `/proc/self/fd` entry and checked to be the same inode. So a name a running container
//!   swaps mid-walk can neither make berth read a host file (CVE-2018-15664) nor open a
//!   fifo (hang) or a device node (side effects as root). Link targets are stored byte for
//!   byte.
//!
//! The hostile-tar corpus in `tests/fixtures/hostile` (made by `examples/gen_hostile.rs`)
//! checks all of this against a sandbox snapshot.

mod apply;
mod compress;
mod error;
mod guard;
mod pack;
mod path;

pub use apply::{apply_layer, ApplyOptions, ApplyStats, Limits, WhiteoutMode};
pub use compress::{decompress, Compression};
pub use error::TarError;
pub use pack::{pack_dir, PackMode, PackStats};
