//! The facts about the host that the spec depends on, read once per [`build`](super::build)
//! and injectable in tests.

use std::path::Path;

use crate::seccomp::Target;

use super::caps::LAST_KNOWN_CAP;

/// The most CPUs a kernel can be built for (`NR_CPUS` max); bounds the thermal-path probe.
const MAX_CPUS: usize = 8192;

/// Host facts used by [`build_with_host`](super::build_with_host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// `/proc/sys/kernel/cap_last_cap`: the highest capability the kernel supports.
    pub cap_last_cap: u32,
    /// Whether the kernel has cgroup namespaces (`/proc/self/ns/cgroup` exists).
    pub cgroup_namespace: bool,
    /// `/sys/devices/system/cpu/cpuN/thermal_throttle` for each possible CPU where it exists,
    /// masked in containers (GHSA-6fw5-f8r9-fgfm).
    pub thermal_throttle_paths: Vec<String>,
    /// Architecture and kernel, for the seccomp profile's conditions.
    pub seccomp: Target,
    /// The calling process's bounding set (`CapBnd`): a capability outside it cannot be
    /// granted, so `--privileged` and `--cap-add ALL` get only these (as when berth itself
    /// runs in a container with fewer capabilities). `None`: not known, no filtering.
    pub bounding: Option<u64>,
}

impl Host {
    /// Reads the facts from the running system. Never fails: a fact that cannot be read falls
    /// back to what berth knows (all known capabilities, no thermal paths to mask).
    pub fn detect() -> Host {
        Host {
            cap_last_cap: read_cap_last_cap(),
            cgroup_namespace: Path::new("/proc/self/ns/cgroup").exists(),
            thermal_throttle_paths: thermal_throttle_paths(),
            seccomp: Target::host(),
            bounding: read_bounding(),
        }
    }
}

fn read_bounding() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

fn read_cap_last_cap() -> u32 {
    match std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        Some(n) => n,
        None => {
            tracing::warn!(
                "cannot read /proc/sys/kernel/cap_last_cap, assuming every known capability"
            );
            LAST_KNOWN_CAP
        }
    }
}

fn thermal_throttle_paths() -> Vec<String> {
    possible_cpus()
        .into_iter()
        .map(|cpu| format!("/sys/devices/system/cpu/cpu{cpu}/thermal_throttle"))
        .filter(|p| Path::new(p).exists())
        .collect()
}

/// The possible CPUs (`/sys/devices/system/cpu/possible`), or `0..nproc` if that cannot be
/// read, as moby's `platform.PossibleCPU`.
fn possible_cpus() -> Vec<usize> {
    std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| parse_cpu_list(s.trim()))
        .unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            (0..n.min(MAX_CPUS)).collect()
        })
}

/// Parses a kernel cpu list (`0-3,8,10-11`); `None` if malformed.
pub(crate) fn parse_cpu_list(s: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.split(',') {
        let (start, end) = match part.split_once('-') {
            Some((a, b)) => (a.parse::<usize>().ok()?, b.parse::<usize>().ok()?),
            None => {
                let n = part.parse::<usize>().ok()?;
                (n, n)
            }
        };
        if end < start || end >= MAX_CPUS {
            return None;
        }
        cpus.extend(start..=end);
        if cpus.len() > MAX_CPUS {
            return None;
        }
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Some(vec![0]));
        assert_eq!(parse_cpu_list("0-3"), Some(vec![0, 1, 2, 3]));
        assert_eq!(parse_cpu_list("0-1,4,6-7"), Some(vec![0, 1, 4, 6, 7]));
        assert_eq!(parse_cpu_list(""), None);
        assert_eq!(parse_cpu_list("3-1"), None);
        assert_eq!(parse_cpu_list("0-18446744073709551615"), None);
        assert_eq!(parse_cpu_list("x"), None);
    }

    #[test]
    fn detect_reads_this_host() {
        let h = Host::detect();
        assert!(h.cap_last_cap >= 36, "cap_last_cap {}", h.cap_last_cap);
        for p in &h.thermal_throttle_paths {
            assert!(p.starts_with("/sys/devices/system/cpu/cpu"));
        }
    }
}
