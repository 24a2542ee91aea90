//! Containers: create, start (through a per-container monitor), stop, kill, remove, wait,
//! list and inspect, with Docker's messages.
//!
//! # Design
//! The database row is the truth about a container; its monitor keeps it true while the
//! container runs (see [`monitor`]), and [`lifecycle::reconcile`] repairs it when a monitor
//! died or the machine rebooted, so `ps` and `inspect` never report a dead container as
//! running. The CLI process does the work that needs the engine (mounting the rootfs,
//! generating the OCI spec) and then hands the container to a new monitor.

pub mod attach;
pub mod commit;
pub mod config;
mod create;
pub mod exec;
pub mod fsops;
pub mod health;
pub mod inspect;
pub mod lifecycle;
pub mod logs;
pub mod monitor;
mod names;
pub mod paths;
pub mod procs;
pub mod prune;
pub mod rootfs;
pub mod signals;
pub(crate) mod start;
pub mod stats;
pub mod top;
pub mod userdb;
mod verbs;

pub use config::*;
pub use start::{StartError, Started};
pub use verbs::StopOptions;

use berth_store::{containers as rows, ContainerRow};

use crate::{Engine, EngineError};

/// A container as the engine reports it: its row (state made truthful) and configuration.
#[derive(Debug, Clone)]
pub struct Container {
    /// The stored row.
    pub row: ContainerRow,
    /// The parsed configuration.
    pub doc: ContainerDoc,
}

impl Container {
    /// The OCI runtime it runs on (from its already parsed configuration).
    pub fn runtime(&self) -> berth_runtime::oci::Runtime {
        berth_runtime::oci::Runtime::from_name(&self.doc.host_config.runtime)
    }

    /// The 12-hex short id.
    pub fn short_id(&self) -> &str {
        &self.row.id[..12.min(self.row.id.len())]
    }
}

impl Engine {
    /// The paths of a container.
    pub fn container_paths(&self, id: &str) -> paths::Paths {
        paths::Paths::new(&self.config.root, &self.config.run, id)
    }

    /// Finds a container by full id, name or unique id prefix (Docker's order), with its
    /// state reconciled.
    pub fn container(&mut self, name_or_id: &str) -> Result<Container, EngineError> {
        let row = self.container_row(name_or_id)?;
        let row = self.reconcile(row);
        let doc = serde_json::from_str(&row.config).unwrap_or_default();
        Ok(Container { row, doc })
    }

    fn container_row(&self, name_or_id: &str) -> Result<ContainerRow, EngineError> {
        let conn = self.store.db().conn();
        let db_err = |e| EngineError::from(self.store.db().err(e));
        if name_or_id.is_empty() {
            return Err(EngineError::NoSuchContainer(name_or_id.to_string()));
        }
        if let Some(r) = rows::get(conn, name_or_id).map_err(db_err)? {
            return Ok(r);
        }
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(r) = rows::by_name(conn, name).map_err(db_err)? {
            return Ok(r);
        }
        if name_or_id.chars().all(|c| c.is_ascii_hexdigit()) {
            let ids =
                rows::ids_by_prefix(conn, &name_or_id.to_ascii_lowercase()).map_err(db_err)?;
            match ids.len() {
                1 => {
                    if let Some(r) = rows::get(conn, &ids[0]).map_err(db_err)? {
                        return Ok(r);
                    }
                }
                0 => {}
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "Multiple IDs found with provided prefix: {name_or_id}"
                    )))
                }
            }
        }
        Err(EngineError::NoSuchContainer(name_or_id.to_string()))
    }

    pub(crate) fn reconcile(&mut self, row: ContainerRow) -> ContainerRow {
        let paths = self.container_paths(&row.id);
        lifecycle::reconcile(self.store.db_mut(), &paths, row)
    }

    /// Every container (reconciled), oldest first.
    pub fn containers(&mut self) -> Result<Vec<Container>, EngineError> {
        let all = rows::list(self.store.db().conn()).map_err(|e| self.store.db().err(e))?;
        Ok(all
            .into_iter()
            .map(|r| {
                let row = self.reconcile(r);
                let doc = serde_json::from_str(&row.config).unwrap_or_default();
                Container { row, doc }
            })
            .collect())
    }
}
