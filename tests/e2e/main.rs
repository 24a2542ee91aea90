//! End-to-end tests: drive the built `berth` binary as a user would.
