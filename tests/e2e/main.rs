//! End-to-end tests: drive the built `berth` binary as a user would, as root, each test with
//! its own temporary `BERTH_ROOT` and `BERTH_RUN`.

mod fixtures;
mod harness;
mod support;
mod support_selftest;

mod containers_ops;
mod images_bad_input;
mod images_crash;
mod images_interop;
mod images_load_save;
mod images_manage;

mod containers_fs;
mod containers_lifecycle;
mod containers_run;
mod containers_runtime;
mod containers_security;
mod containers_stress;
mod networks;
mod system;
mod volumes;

mod build;
mod registry;
mod registry_support;
