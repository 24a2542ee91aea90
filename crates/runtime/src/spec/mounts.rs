//! Mounts and path masking: Docker's default mounts (moby `daemon/pkg/oci/defaults.go`), the
//! `--init` bind, the container's own mounts, and how moby's `withMounts` merges them.

use std::path::PathBuf;

use libcontainer::oci_spec::runtime::{Mount as OciMount, MountBuilder};

use super::{RunSpec, SpecError};

/// Where `--init` puts the init binary in the container (moby `inContainerInitPath`).
pub const INIT_PATH: &str = "/sbin/docker-init";

/// `/dev/shm` size when `shm_size` is 0 (moby `config.DefaultShmSize`, 64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 * 1024 * 1024;

/// Paths masked in every unprivileged container (moby `defaultLinuxMaskedPaths`); the host's
/// `/sys/devices/system/cpu/cpuN/thermal_throttle` directories are added to these.
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/interrupts", // GHSA-6fw5-f8r9-fgfm
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/devices/virtual/powercap", // GHSA-jq35-85cj-fj4p
    "/sys/firmware",
];

/// Paths made read-only in every unprivileged container (moby `DefaultLinuxSpec`).
pub const READONLY_PATHS: [&str; 5] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// The masked paths for an unprivileged container on a host with these thermal paths.
pub(crate) fn masked_paths(thermal_throttle_paths: &[String]) -> Vec<String> {
    MASKED_PATHS
        .iter()
        .map(|p| p.to_string())
        .chain(thermal_throttle_paths.iter().cloned())
        .collect()
}

/// A mount while the list is being assembled.
struct Entry {
    destination: String,
    typ: String,
    source: PathBuf,
    options: Vec<String>,
    user: bool,
}

impl Entry {
    fn new(destination: &str, typ: &str, source: &str, options: &[&str]) -> Entry {
        Entry {
            destination: destination.to_string(),
            typ: typ.to_string(),
            source: PathBuf::from(source),
            options: options.iter().map(|o| o.to_string()).collect(),
            user: false,
        }
    }

    fn clear_read_only(&mut self) {
        self.options.retain(|o| o != "ro");
    }
}

/// Docker's default mounts, in moby's order.
fn default_mounts() -> Vec<Entry> {
    vec![
        Entry::new("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        Entry::new(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        Entry::new(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        Entry::new(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ),
        Entry::new(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["ro", "nosuid", "noexec", "nodev"],
        ),
        Entry::new(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        Entry::new(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777"],
        ),
    ]
}

/// The container's mounts: defaults (minus those a user mount replaces), the `--init` bind,
/// then `run.mounts` in order; then moby's read-only-rootfs and privileged adjustments.
pub(crate) fn mounts(run: &RunSpec) -> Result<Vec<OciMount>, SpecError> {
    let mut base = default_mounts();
    // moby adds the init bind to the spec before `withMounts` merges, so it sits after the
    // defaults and is subject to the same filtering.
    if let Some(init) = &run.init {
        base.push(Entry {
            destination: INIT_PATH.to_string(),
            typ: "bind".to_string(),
            source: init.clone(),
            options: vec!["bind".to_string(), "ro".to_string()],
            user: false,
        });
    }

    let user_dest = |d: &str| run.mounts.iter().any(|m| m.destination == d);
    let user_dev = user_dest("/dev");
    let shm_size = if run.shm_size == 0 {
        DEFAULT_SHM_SIZE
    } else {
        run.shm_size
    };

    let mut all: Vec<Entry> = Vec::with_capacity(base.len() + run.mounts.len());
    for mut m in base {
        if user_dest(&m.destination) {
            continue;
        }
        // A user-supplied /dev replaces everything Docker would mount under it.
        if user_dev && m.destination.starts_with("/dev/") {
            continue;
        }
        if m.destination == "/dev/shm" {
            m.options.push(format!("size={shm_size}"));
        }
        all.push(m);
    }
    all.extend(run.mounts.iter().map(|m| Entry {
        destination: m.destination.clone(),
        typ: m.kind.clone(),
        source: PathBuf::from(&m.source),
        options: m.options.clone(),
        user: true,
    }));

    if run.read_only {
        for m in all.iter_mut().filter(|m| !m.user) {
            let exempt = matches!(
                m.destination.as_str(),
                "/proc" | "/dev/pts" | "/dev/shm" | "/dev/mqueue" | "/dev"
            );
            if !exempt && !m.options.iter().any(|o| o == "ro") {
                m.options.push("ro".to_string());
            }
        }
    }

    if run.privileged {
        for m in all.iter_mut() {
            // moby: /sys is writable for privileged containers, and cgroups are writable
            // when privileged (its default for `WritableCgroups`).
            if m.destination == "/sys" || m.typ == "cgroup" {
                m.clear_read_only();
            }
        }
    }

    all.into_iter()
        .map(|m| {
            MountBuilder::default()
                .destination(m.destination)
                .typ(m.typ)
                .source(m.source)
                .options(m.options)
                .build()
                .map_err(SpecError::from)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Mount;
    use super::*;

    fn dests(ms: &[OciMount]) -> Vec<String> {
        ms.iter()
            .map(|m| m.destination().display().to_string())
            .collect()
    }

    fn opts<'a>(ms: &'a [OciMount], dest: &str) -> &'a [String] {
        ms.iter()
            .find(|m| m.destination().to_str() == Some(dest))
            .and_then(|m| m.options().as_deref())
            .unwrap()
    }

    fn bind(dest: &str) -> Mount {
        Mount {
            destination: dest.to_string(),
            kind: "bind".to_string(),
            source: format!("/host{dest}"),
            options: vec!["rbind".to_string()],
        }
    }

    #[test]
    fn defaults_in_moby_order_with_options() {
        let run = RunSpec {
            shm_size: 1 << 20,
            ..Default::default()
        };
        let ms = mounts(&run).unwrap();
        assert_eq!(
            dests(&ms),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm"
            ]
        );
        assert_eq!(opts(&ms, "/proc"), ["nosuid", "noexec", "nodev"]);
        assert_eq!(
            opts(&ms, "/dev"),
            ["nosuid", "strictatime", "mode=755", "size=65536k"]
        );
        assert_eq!(
            opts(&ms, "/dev/pts"),
            [
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5"
            ]
        );
        assert_eq!(opts(&ms, "/sys"), ["nosuid", "noexec", "nodev", "ro"]);
        assert_eq!(
            opts(&ms, "/sys/fs/cgroup"),
            ["ro", "nosuid", "noexec", "nodev"]
        );
        assert_eq!(opts(&ms, "/dev/mqueue"), ["nosuid", "noexec", "nodev"]);
        assert_eq!(
            opts(&ms, "/dev/shm"),
            ["nosuid", "noexec", "nodev", "mode=1777", "size=1048576"]
        );
        let types: Vec<_> = ms.iter().map(|m| m.typ().clone().unwrap()).collect();
        assert_eq!(
            types,
            ["proc", "tmpfs", "devpts", "sysfs", "cgroup", "mqueue", "tmpfs"]
        );
        let shm = ms
            .iter()
            .find(|m| m.destination().to_str() == Some("/dev/shm"))
            .unwrap();
        assert_eq!(shm.source().as_deref(), Some(std::path::Path::new("shm")));
    }

    #[test]
    fn zero_shm_size_means_docker_default() {
        let ms = mounts(&RunSpec::default()).unwrap();
        assert!(opts(&ms, "/dev/shm").contains(&"size=67108864".to_string()));
    }

    #[test]
    fn user_mounts_follow_and_replace_defaults() {
        let run = RunSpec {
            mounts: vec![bind("/etc/hosts"), bind("/dev/shm"), bind("/data")],
            ..Default::default()
        };
        let ms = mounts(&run).unwrap();
        assert_eq!(
            dests(&ms),
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/etc/hosts",
                "/dev/shm",
                "/data"
            ]
        );
        assert_eq!(opts(&ms, "/dev/shm"), ["rbind"]);
    }

    #[test]
    fn user_dev_replaces_everything_under_dev() {
        let run = RunSpec {
            mounts: vec![bind("/dev")],
            ..Default::default()
        };
        let ms = mounts(&run).unwrap();
        assert_eq!(dests(&ms), ["/proc", "/sys", "/sys/fs/cgroup", "/dev"]);
    }

    #[test]
    fn init_bind_is_read_only_after_defaults() {
        let run = RunSpec {
            init: Some(PathBuf::from("/usr/libexec/berth/tini")),
            mounts: vec![bind("/data")],
            ..Default::default()
        };
        let ms = mounts(&run).unwrap();
        let d = dests(&ms);
        assert_eq!(d[7], INIT_PATH);
        assert_eq!(d[8], "/data");
        let init = &ms[7];
        assert_eq!(init.typ().as_deref(), Some("bind"));
        assert_eq!(
            init.source().as_deref(),
            Some(std::path::Path::new("/usr/libexec/berth/tini"))
        );
        assert_eq!(opts(&ms, INIT_PATH), ["bind", "ro"]);
    }

    #[test]
    fn read_only_root_keeps_defaults_and_user_mounts() {
        let plain = mounts(&RunSpec {
            mounts: vec![bind("/data")],
            ..Default::default()
        })
        .unwrap();
        let ro = mounts(&RunSpec {
            read_only: true,
            mounts: vec![bind("/data")],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(plain, ro);
    }

    #[test]
    fn privileged_makes_sys_and_cgroup_writable() {
        for read_only in [false, true] {
            let ms = mounts(&RunSpec {
                privileged: true,
                read_only,
                ..Default::default()
            })
            .unwrap();
            assert_eq!(opts(&ms, "/sys"), ["nosuid", "noexec", "nodev"]);
            assert_eq!(opts(&ms, "/sys/fs/cgroup"), ["nosuid", "noexec", "nodev"]);
        }
    }

    #[test]
    fn masked_paths_include_thermal() {
        let m = masked_paths(&["/sys/devices/system/cpu/cpu0/thermal_throttle".to_string()]);
        assert_eq!(m.len(), 13);
        assert_eq!(m[2], "/proc/interrupts");
        assert_eq!(m[12], "/sys/devices/system/cpu/cpu0/thermal_throttle");
    }
}
