//! The container runtime layer of berth: OCI runtime spec generation with Docker's security
//! defaults ([`spec`]), the embedded OCI runtime (youki's `libcontainer`) behind a small
//! interface ([`oci`]), and cgroup access for limits, stats and freezing ([`cgroups`]).
//!
//! # Design
//! The engine decides *what* a container is (image config + flags → [`spec::RunSpec`]); this
//! crate decides *how* it is expressed to the kernel. The monitor (in the engine) calls
//! [`oci`] in a forked child so that libcontainer's allocations and its non-dumpable flag never
//! touch the long-lived monitor process.
#![forbid(unsafe_code)]

pub mod cgroups;
pub mod exec_path;
mod external;
pub mod oci;
pub mod seccomp;
pub mod spec;
