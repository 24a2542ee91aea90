//! The engine: the one facade the CLI, the API server and compose call.
//!
//! # Design
//! `Engine` owns the store and every state transition; the CLI and API server are thin
//! layers that parse requests, call one engine method and print its result. Operations are
//! grouped by noun in modules (`images`, later `containers`, `volumes`, `networks`), each an
//! `impl Engine` block, so a remote client can later expose the same surface over HTTP.
//! Errors are [`EngineError`], classified by [`berth_types::ErrorKind`] so each front end
//! maps them to exit codes or HTTP statuses in one place.

#![recursion_limit = "256"]

pub mod build;
pub mod containers;
pub mod error;
pub mod events;
pub mod images;
pub mod networks;
pub mod registry;
pub mod system;
pub mod timestamps;
pub mod volumes;

use std::path::PathBuf;

pub use error::EngineError;

use berth_store::Store;

/// Where the engine keeps its state.
#[derive(Debug, Clone)]
pub struct Config {
    /// Persistent state (`BERTH_ROOT`, default `/var/lib/berth`).
    pub root: PathBuf,
    /// Runtime state that a reboot clears (`BERTH_RUN`, default `/run/berth`).
    pub run: PathBuf,
}

impl Config {
    /// Reads `BERTH_ROOT` and `BERTH_RUN`, with Docker-like defaults.
    pub fn from_env() -> Config {
        let var = |k: &str, d: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(d))
        };
        Config {
            root: var("BERTH_ROOT", "/var/lib/berth"),
            run: var("BERTH_RUN", "/run/berth"),
        }
    }
}

/// The engine over one store.
pub struct Engine {
    store: Store,
    config: Config,
}

impl Engine {
    /// Opens the store named by `config`.
    pub fn open(config: Config) -> Result<Engine, EngineError> {
        let store = Store::open(&config.root)?;
        Ok(Engine { store, config })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The underlying store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Removes leftovers of killed berth processes when no other berth process is running.
    /// Mutating commands call this first, so a crash is repaired by the next command.
    pub fn repair(&self) -> Result<(), EngineError> {
        self.store.sweep_if_alone()?;
        Ok(())
    }
}
