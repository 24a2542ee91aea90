//! `stats`: one reading of a container's resource usage, with the values moby's stats
//! collector puts in its stats response (`daemon/stats_linux.go`). Percentages need two
//! readings and are the client's business, as in Docker (the docker CLI computes them).

use std::collections::BTreeMap;

use berth_runtime::cgroups::{self, CgroupError, Layout, NetDev};

use super::Container;
use crate::{Engine, EngineError};

/// One reading of a container's resource usage. A container that is not running (or whose
/// cgroup just went away) reads as all zeros with `running` false, as moby answers for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerStats {
    /// Full id.
    pub id: String,
    /// Name, without Docker's leading `/`.
    pub name: String,
    /// Whether the values come from a running container's cgroup.
    pub running: bool,
    /// When the reading was taken, unix nanoseconds.
    pub read: i64,
    /// CPU time of the container, nanoseconds (`cpu_stats.cpu_usage.total_usage`).
    pub cpu_total_ns: u64,
    /// CPU time of the host, nanoseconds (`cpu_stats.system_cpu_usage`).
    pub system_cpu_ns: u64,
    /// Online CPUs of the host (`cpu_stats.online_cpus`).
    pub online_cpus: u32,
    /// Memory use including the page cache (`memory_stats.usage`).
    pub memory_usage: u64,
    /// The memory limit, or the host's memory when there is none (`memory_stats.limit`).
    pub memory_limit: u64,
    /// `memory.stat` (`memory_stats.stats`).
    pub memory_stat: BTreeMap<String, u64>,
    /// Tasks in the container (`pids_stats.current`).
    pub pids_current: u64,
    /// `--pids-limit`, if any (`pids_stats.limit`).
    pub pids_limit: Option<u64>,
    /// Bytes read from block devices.
    pub blkio_read: u64,
    /// Bytes written to block devices.
    pub blkio_write: u64,
    /// The container's network interfaces (not `lo`) with their traffic; none with
    /// `--network host` or `container:`, which have no interfaces of their own.
    pub networks: Vec<NetDev>,
}

pub use super::paths::cgroup_path;

/// A cgroup read failure as an engine error.
pub(crate) fn cgroup_err(e: CgroupError) -> EngineError {
    EngineError::Stream {
        what: "read container cgroup",
        source: std::io::Error::other(e),
    }
}

impl Engine {
    /// Reads the resource usage of a container.
    pub fn container_stats(&mut self, name_or_id: &str) -> Result<ContainerStats, EngineError> {
        let c = self.container(name_or_id)?;
        self.stats_of(&c)
    }

    /// Reads the resource usage of a container already looked up (see
    /// [`Engine::containers`]).
    pub fn stats_of(&self, c: &Container) -> Result<ContainerStats, EngineError> {
        let mut s = ContainerStats {
            id: c.row.id.clone(),
            name: c.row.name.clone(),
            read: berth_store::now_nanos(),
            ..Default::default()
        };
        if !matches!(c.row.state.as_str(), "running" | "paused") {
            return Ok(s);
        }
        let layout = Layout::detect().map_err(cgroup_err)?;
        let Some(cg) = layout.stats(&cgroup_path(&c.row.id)).map_err(cgroup_err)? else {
            return Ok(s);
        };
        let host = cgroups::host_cpu().map_err(cgroup_err)?;
        s.running = true;
        s.cpu_total_ns = cg.cpu_usage_ns;
        s.system_cpu_ns = host.usage_ns;
        s.online_cpus = host.online_cpus;
        s.memory_usage = cg.memory.usage;
        s.memory_limit = cg.memory.limit;
        // moby: "if the container does not set memory limit, use the machineMemory".
        if let Ok(machine) = cgroups::machine_memory() {
            if machine > 0 && s.memory_limit > machine {
                s.memory_limit = machine;
            }
        }
        s.memory_stat = cg.memory.stat;
        s.pids_current = cg.pids_current;
        s.pids_limit = cg.pids_limit;
        s.blkio_read = cg.blkio.read_bytes;
        s.blkio_write = cg.blkio.write_bytes;
        let mode = c.doc.host_config.network_mode.as_str();
        if mode != "host" && !mode.starts_with("container:") && c.row.pid > 0 {
            s.networks = cgroups::net_dev(c.row.pid)
                .map_err(cgroup_err)?
                .into_iter()
                .filter(|n| n.name != "lo")
                .collect();
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_path_matches_the_runtime_spec() {
        assert_eq!(cgroup_path("abc"), "/berth/abc");
    }
}
