//! OCI runtime spec generation: from what a container asks for ([`RunSpec`], filled by the
//! engine from the image config and the user's flags) to an `oci_spec::runtime::Spec` with
//! Docker's security defaults (capabilities, seccomp profile, masked and read-only paths,
//! default mounts and devices) and the requested limits.
//!
//! Pure apart from reading the host: [`Host::detect`] (`cap_last_cap`, whether cgroup
//! namespaces exist, the CPUs' thermal paths to mask, the kernel release for the seccomp
//! profile) and the device nodes named by `--device` (all of `/dev` with `--privileged`).
//! [`build_with_host`] takes the host facts as a value so tests can pin them.
//!
//! Layout: [`caps`] (capability sets), `mounts` (default mounts and masked paths), `devices`
//! (device nodes and the device cgroup), `resources` (cgroup limits and rlimits),
//! `namespaces`, `host`, `error`; the seccomp profile lives in [`crate::seccomp`].

pub mod caps;
mod devices;
mod error;
mod host;
mod mounts;
mod namespaces;
mod resources;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use libcontainer::oci_spec::runtime::{
    Linux, LinuxCapabilitiesBuilder, Process, Root, Spec, UserBuilder,
};

use crate::seccomp;

pub use error::SpecError;
pub use host::Host;
pub use mounts::{DEFAULT_SHM_SIZE, INIT_PATH, MASKED_PATHS, READONLY_PATHS};
pub use namespaces::docker_network_sysctls;
pub use resources::CPU_PERIOD_US;

/// Builds the OCI runtime spec for `run` on this host, equivalent to what Docker (moby +
/// runc) would run: see [`build_with_host`].
pub fn build(run: &RunSpec) -> Result<Spec, SpecError> {
    build_with_host(run, &Host::detect())
}

/// Builds the OCI runtime spec for `run` given the host facts in `host`.
///
/// Reads nothing but the host device nodes named by `--device` (and, with `--privileged`,
/// those under `/dev`). The result has Docker's defaults: capabilities
/// ([`caps::DEFAULT_CAPABILITIES`] adjusted by `--cap-add`/`--cap-drop`, with empty
/// inheritable and ambient sets), default mounts, masked and read-only paths, device cgroup
/// rules and the default seccomp profile evaluated for the container's capabilities.
/// `--privileged` gets every capability, every host device, writable `/sys` and cgroups, and
/// no masking or default seccomp profile (an explicit `Seccomp::Profile` still applies, as in
/// moby).
pub fn build_with_host(run: &RunSpec, host: &Host) -> Result<Spec, SpecError> {
    if run.args.is_empty() {
        return Err(SpecError::NoCommand);
    }
    let mut cap_names = caps::tweak(
        &run.cap_add,
        &run.cap_drop,
        run.privileged,
        host.cap_last_cap,
    )?;
    if let Some(bounding) = host.bounding {
        cap_names.retain(|n| caps::number(n).is_none_or(|i| bounding >> i & 1 == 1));
    }
    let rlimits = resources::rlimits(&run.ulimits)?;
    let devs = devices::devices(run)?;
    let resources = resources::linux_resources(&run.resources, devs.rules)?;
    let seccomp = match &run.seccomp {
        Seccomp::Unconfined => None,
        Seccomp::Default if run.privileged => None,
        Seccomp::Default => seccomp::default_profile()?.to_oci(&cap_names, &host.seccomp)?,
        Seccomp::Profile(json) => {
            seccomp::Profile::from_json(json)?.to_oci(&cap_names, &host.seccomp)?
        }
    };

    let mut process = Process::default();
    let mut args = Vec::with_capacity(run.args.len() + 2);
    if run.init.is_some() {
        args.push(INIT_PATH.to_string());
        args.push("--".to_string());
    }
    args.extend(run.args.iter().cloned());
    process.set_args(Some(args));
    process.set_env(Some(run.env.clone()));
    process.set_cwd(PathBuf::from(if run.cwd.is_empty() {
        "/"
    } else {
        &run.cwd
    }));
    let mut user = UserBuilder::default().uid(run.user.uid).gid(run.user.gid);
    if let Some(umask) = run.user.umask {
        user = user.umask(umask);
    }
    if !run.user.additional_gids.is_empty() {
        user = user.additional_gids(run.user.additional_gids.clone());
    }
    process.set_user(user.build()?);
    process.set_terminal(Some(run.tty));
    process.set_console_size(None);
    process.set_no_new_privileges(Some(run.no_new_privileges));
    let caps = caps::to_oci(&cap_names);
    process.set_capabilities(Some(
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .permitted(caps.clone())
            .effective(caps)
            .inheritable(HashSet::new())
            .ambient(HashSet::new())
            .build()?,
    ));
    process.set_rlimits(rlimits);
    // moby always sets it, so the container does not inherit the engine's own score.
    process.set_oom_score_adj(Some(run.oom_score_adj.unwrap_or(0)));
    process.set_apparmor_profile(None);
    process.set_selinux_label(None);

    let mut root = Root::default();
    root.set_path(run.rootfs.clone());
    root.set_readonly(Some(run.read_only));

    let mut linux = Linux::default();
    linux.set_namespaces(Some(namespaces::namespaces(
        &run.network,
        host.cgroup_namespace,
    )?));
    linux.set_uid_mappings(None);
    linux.set_gid_mappings(None);
    linux.set_devices(if devs.devices.is_empty() {
        None
    } else {
        Some(devs.devices)
    });
    linux.set_resources(Some(resources));
    linux.set_cgroups_path(if run.cgroups_path.is_empty() {
        None
    } else {
        Some(PathBuf::from(&run.cgroups_path))
    });
    linux.set_sysctl(if run.sysctls.is_empty() {
        None
    } else {
        Some(run.sysctls.clone().into_iter().collect())
    });
    linux.set_seccomp(seccomp);
    if run.privileged {
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    } else {
        linux.set_masked_paths(Some(mounts::masked_paths(&host.thermal_throttle_paths)));
        linux.set_readonly_paths(Some(READONLY_PATHS.iter().map(|p| p.to_string()).collect()));
    }
    linux.set_rootfs_propagation(None);
    linux.set_mount_label(None);

    let mut spec = Spec::default();
    spec.set_process(Some(process));
    spec.set_root(Some(root));
    spec.set_hostname(if run.hostname.is_empty() {
        None
    } else {
        Some(run.hostname.clone())
    });
    spec.set_mounts(Some(mounts::mounts(run)?));
    spec.set_linux(Some(linux));
    spec.set_annotations(None);
    spec.set_hooks(None);
    Ok(spec)
}

/// Everything the spec builder needs to know about one container process.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    /// The container id (64 hex).
    pub id: String,
    /// The root filesystem (the overlay mount point).
    pub rootfs: PathBuf,
    /// The process: argv (entrypoint + cmd, already resolved), never empty.
    pub args: Vec<String>,
    /// `KEY=value` pairs (image env, then `-e`/`--env-file`), with `PATH` and `HOSTNAME`
    /// already added by the engine as Docker does.
    pub env: Vec<String>,
    /// The working directory inside the container (absolute).
    pub cwd: String,
    /// The numeric user the process runs as.
    pub user: ProcessUser,
    /// The container's hostname (UTS namespace).
    pub hostname: String,
    /// Allocate a terminal.
    pub tty: bool,
    /// `--read-only`: mount the root filesystem read-only.
    pub read_only: bool,
    /// `--privileged`: all capabilities, no seccomp, no masked/read-only paths, all host
    /// devices, writable /sys and cgroups.
    pub privileged: bool,
    /// `--cap-add` values, upper case with the `CAP_` prefix, or `ALL`.
    pub cap_add: Vec<String>,
    /// `--cap-drop` values, upper case with the `CAP_` prefix, or `ALL`.
    pub cap_drop: Vec<String>,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// The seccomp filter.
    pub seccomp: Seccomp,
    /// The network namespace.
    pub network: NetworkNamespace,
    /// Extra mounts, in order, after the default ones (`/etc/hosts`, `/etc/hostname`,
    /// `/etc/resolv.conf` binds, `--tmpfs`, later volumes).
    pub mounts: Vec<Mount>,
    /// Size of `/dev/shm` in bytes (`--shm-size`, default 64 MiB).
    pub shm_size: u64,
    /// cgroup limits.
    pub resources: Resources,
    /// `--ulimit` values; none means the process inherits berth's own limits (Docker
    /// inherits the daemon's).
    pub ulimits: Vec<Ulimit>,
    /// `--device` mappings.
    pub devices: Vec<DeviceMapping>,
    /// The cgroup path, relative to the hierarchy roots (e.g. `/berth/<id>`).
    pub cgroups_path: String,
    /// `--init`: the host path of a static init (tini) bind-mounted read-only at
    /// `/sbin/docker-init` and run as PID 1 with `args` after `--`.
    pub init: Option<PathBuf>,
    /// `--sysctl` values.
    pub sysctls: BTreeMap<String, String>,
    /// `--oom-score-adj`.
    pub oom_score_adj: Option<i32>,
}

/// The numeric identity of the container process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessUser {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (from the container's `/etc/group`, and `--group-add`).
    pub additional_gids: Vec<u32>,
    /// Process umask, if set.
    pub umask: Option<u32>,
}

/// Which seccomp filter the container gets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Seccomp {
    /// Docker's default profile, evaluated for the container's capabilities.
    #[default]
    Default,
    /// `--security-opt seccomp=unconfined` (also implied by `--privileged`).
    Unconfined,
    /// `--security-opt seccomp=PROFILE.json`: a profile in Docker's JSON format (its text).
    Profile(String),
}

/// The network namespace of the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkNamespace {
    /// A new, empty namespace (only `lo`): `--network none`.
    #[default]
    New,
    /// The host's namespace: `--network host`.
    Host,
    /// Join an existing namespace by path (`/proc/<pid>/ns/net`, a bind-mounted netns).
    Path(PathBuf),
}

/// One extra mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path inside the container.
    pub destination: String,
    /// `bind`, `tmpfs`, …
    pub kind: String,
    /// Host path for binds; the fs type name otherwise.
    pub source: String,
    /// Mount options (`rbind`, `ro`, `nosuid`, `size=…`, `mode=…`).
    pub options: Vec<String>,
}

/// cgroup limits (`None`: unlimited / not set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--memory-swap` in bytes (memory + swap; -1 unlimited).
    pub memory_swap: Option<i64>,
    /// `--memory-reservation` in bytes.
    pub memory_reservation: Option<i64>,
    /// `--cpu-shares` (relative weight, 2..262144).
    pub cpu_shares: Option<u64>,
    /// `--cpus` in billionths of a CPU (quota = nano_cpus * period / 1e9, period 100 ms).
    pub nano_cpus: Option<i64>,
    /// `--cpu-quota` in microseconds.
    pub cpu_quota: Option<i64>,
    /// `--cpu-period` in microseconds.
    pub cpu_period: Option<u64>,
    /// `--cpuset-cpus` (e.g. `0-1,3`).
    pub cpuset_cpus: Option<String>,
    /// `--cpuset-mems`.
    pub cpuset_mems: Option<String>,
    /// `--pids-limit` (> 0; ≤ 0 means unlimited, as Docker).
    pub pids_limit: Option<i64>,
    /// `--blkio-weight` (10..1000).
    pub blkio_weight: Option<u16>,
}

/// One `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    /// The Docker name (`nofile`, `nproc`, `core`, …).
    pub name: String,
    /// Soft limit.
    pub soft: u64,
    /// Hard limit.
    pub hard: u64,
}

/// One `--device host[:container[:rwm]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    /// The device node on the host.
    pub path_on_host: String,
    /// Where it appears in the container.
    pub path_in_container: String,
    /// Device cgroup permissions (`rwm` subset).
    pub cgroup_permissions: String,
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use libcontainer::oci_spec::runtime::{
        Capability, LinuxNamespaceType, LinuxSeccompAction, PosixRlimitType,
    };

    use super::*;
    use crate::seccomp::{KernelVersion, Target};

    fn host() -> Host {
        Host {
            bounding: None,
            cap_last_cap: 40,
            cgroup_namespace: true,
            thermal_throttle_paths: vec!["/sys/devices/system/cpu/cpu0/thermal_throttle".into()],
            seccomp: Target {
                arch: "amd64".into(),
                kernel: Some(KernelVersion {
                    kernel: 6,
                    major: 1,
                }),
            },
        }
    }

    fn run() -> RunSpec {
        RunSpec {
            id: "a".repeat(64),
            rootfs: PathBuf::from("/var/lib/berth/rootfs/x"),
            args: vec!["sh".into(), "-c".into(), "echo hi".into()],
            env: vec!["PATH=/usr/bin:/bin".into(), "HOSTNAME=box".into()],
            cwd: "/work".into(),
            user: ProcessUser {
                uid: 1000,
                gid: 1000,
                additional_gids: vec![1000, 27],
                umask: Some(0o022),
            },
            hostname: "box".into(),
            shm_size: DEFAULT_SHM_SIZE,
            cgroups_path: "/berth/aaaa".into(),
            ..Default::default()
        }
    }

    fn spec(run: &RunSpec) -> Spec {
        build_with_host(run, &host()).unwrap()
    }

    fn caps_of(s: &Spec) -> libcontainer::oci_spec::runtime::LinuxCapabilities {
        s.process()
            .as_ref()
            .unwrap()
            .capabilities()
            .clone()
            .unwrap()
    }

    fn has_syscall(s: &Spec, name: &str) -> bool {
        let seccomp = s.linux().as_ref().unwrap().seccomp().as_ref().unwrap();
        seccomp.syscalls().iter().flatten().any(|r| {
            r.action() == LinuxSeccompAction::ScmpActAllow
                && r.args().is_none()
                && r.names().iter().any(|n| n == name)
        })
    }

    #[test]
    fn process_basics() {
        let s = spec(&run());
        let p = s.process().as_ref().unwrap();
        assert_eq!(p.args().as_deref(), Some(&run().args[..]));
        assert_eq!(p.env().as_deref(), Some(&run().env[..]));
        assert_eq!(p.cwd(), Path::new("/work"));
        assert_eq!(p.user().uid(), 1000);
        assert_eq!(p.user().gid(), 1000);
        assert_eq!(p.user().umask(), Some(0o022));
        assert_eq!(p.user().additional_gids().as_deref(), Some(&[1000, 27][..]));
        assert_eq!(p.terminal(), Some(false));
        assert_eq!(p.no_new_privileges(), Some(false));
        assert_eq!(p.oom_score_adj(), Some(0));
        assert!(p.rlimits().is_none());
        assert_eq!(s.hostname().as_deref(), Some("box"));
        let root = s.root().as_ref().unwrap();
        assert_eq!(root.path(), Path::new("/var/lib/berth/rootfs/x"));
        assert_eq!(root.readonly(), Some(false));
        let linux = s.linux().as_ref().unwrap();
        assert_eq!(
            linux.cgroups_path().as_deref(),
            Some(Path::new("/berth/aaaa"))
        );
        assert!(linux.sysctl().is_none());
        assert!(linux.devices().is_none());
    }

    #[test]
    fn flags_reach_the_process() {
        let mut r = run();
        r.tty = true;
        r.no_new_privileges = true;
        r.oom_score_adj = Some(-200);
        r.read_only = true;
        r.cwd = String::new();
        r.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        let s = spec(&r);
        let p = s.process().as_ref().unwrap();
        assert_eq!(p.terminal(), Some(true));
        assert_eq!(p.no_new_privileges(), Some(true));
        assert_eq!(p.oom_score_adj(), Some(-200));
        assert_eq!(p.cwd(), Path::new("/"));
        assert_eq!(s.root().as_ref().unwrap().readonly(), Some(true));
        let sysctl = s.linux().as_ref().unwrap().sysctl().clone().unwrap();
        assert_eq!(
            sysctl.get("net.ipv4.ip_forward").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn default_capabilities_exactly() {
        let c = caps_of(&spec(&run()));
        let expected: HashSet<Capability> = [
            Capability::Chown,
            Capability::DacOverride,
            Capability::Fsetid,
            Capability::Fowner,
            Capability::Mknod,
            Capability::NetRaw,
            Capability::Setgid,
            Capability::Setuid,
            Capability::Setfcap,
            Capability::Setpcap,
            Capability::NetBindService,
            Capability::SysChroot,
            Capability::Kill,
            Capability::AuditWrite,
        ]
        .into();
        assert_eq!(c.bounding().as_ref(), Some(&expected));
        assert_eq!(c.permitted().as_ref(), Some(&expected));
        assert_eq!(c.effective().as_ref(), Some(&expected));
        // Present and empty, so the runtime clears them (CVE-2022-24769).
        assert_eq!(c.inheritable().as_ref(), Some(&HashSet::new()));
        assert_eq!(c.ambient().as_ref(), Some(&HashSet::new()));
    }

    #[test]
    fn cap_add_and_drop() {
        let mut r = run();
        r.cap_add = vec!["CAP_SYS_ADMIN".into()];
        r.cap_drop = vec!["CAP_NET_RAW".into()];
        let s = spec(&r);
        let b = caps_of(&s).bounding().clone().unwrap();
        assert!(b.contains(&Capability::SysAdmin));
        assert!(!b.contains(&Capability::NetRaw));
        assert_eq!(b.len(), 14);
        // The seccomp profile follows the capabilities.
        assert!(has_syscall(&s, "mount"));
        assert!(has_syscall(&s, "unshare"));
        assert!(!has_syscall(&spec(&run()), "mount"));

        let mut r = run();
        r.cap_drop = vec!["ALL".into()];
        r.cap_add = vec!["CAP_CHOWN".into()];
        let b = caps_of(&spec(&r)).bounding().clone().unwrap();
        assert_eq!(b, [Capability::Chown].into());

        let mut r = run();
        r.cap_add = vec!["CAP_FOO".into()];
        let err = build_with_host(&r, &host()).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
        assert_eq!(
            berth_types::Classify::kind(&err),
            berth_types::ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn privileged() {
        let mut r = run();
        r.privileged = true;
        let s = spec(&r);
        let c = caps_of(&s);
        assert_eq!(c.bounding().as_ref().unwrap().len(), 41);
        assert_eq!(c.effective().as_ref().unwrap().len(), 41);
        assert!(c.inheritable().as_ref().unwrap().is_empty());
        let mut h = host();
        h.cap_last_cap = 37;
        let c = caps_of(&build_with_host(&r, &h).unwrap());
        assert_eq!(c.bounding().as_ref().unwrap().len(), 38);
        assert!(!c.bounding().as_ref().unwrap().contains(&Capability::Bpf));

        let linux = s.linux().as_ref().unwrap();
        assert!(linux.seccomp().is_none());
        assert!(linux.masked_paths().is_none());
        assert!(linux.readonly_paths().is_none());
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .clone()
            .unwrap();
        assert!(rules[0].allow() && rules[0].typ().is_none() && rules[0].major().is_none());
        assert_eq!(rules[0].access().as_deref(), Some("rwm"));
        let devices = linux.devices().clone().unwrap_or_default();
        assert!(devices.iter().any(|d| d.path() == Path::new("/dev/null")));
        let sys = s
            .mounts()
            .iter()
            .flatten()
            .find(|m| m.destination() == Path::new("/sys"))
            .unwrap();
        assert!(!sys.options().as_ref().unwrap().contains(&"ro".to_string()));

        // An explicit profile still applies, as in moby.
        r.seccomp = Seccomp::Profile(DEFAULT_PROFILE.to_string());
        let s = spec(&r);
        assert!(has_syscall(&s, "mount"));
    }

    const DEFAULT_PROFILE: &str = crate::seccomp::DEFAULT_PROFILE_JSON;

    #[test]
    fn seccomp_modes() {
        let s = spec(&run());
        let sc = s.linux().as_ref().unwrap().seccomp().clone().unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(sc.default_errno_ret(), Some(1));

        let mut r = run();
        r.seccomp = Seccomp::Unconfined;
        assert!(spec(&r).linux().as_ref().unwrap().seccomp().is_none());

        r.seccomp = Seccomp::Profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chmod"],"action":"SCMP_ACT_ERRNO"}]}"#
                .into(),
        );
        let sc = spec(&r)
            .linux()
            .as_ref()
            .unwrap()
            .seccomp()
            .clone()
            .unwrap();
        assert_eq!(sc.default_action(), LinuxSeccompAction::ScmpActAllow);
        assert_eq!(sc.syscalls().as_ref().unwrap().len(), 1);

        r.seccomp = Seccomp::Profile("{\"defaultAction\": ".into());
        let err = build_with_host(&r, &host()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("decoding seccomp profile failed: "),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        assert_eq!(
            berth_types::Classify::kind(&err),
            berth_types::ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn masked_and_readonly_paths() {
        let s = spec(&run());
        let linux = s.linux().as_ref().unwrap();
        let mut expected: Vec<String> = MASKED_PATHS.iter().map(|p| p.to_string()).collect();
        expected.push("/sys/devices/system/cpu/cpu0/thermal_throttle".into());
        assert_eq!(linux.masked_paths().as_deref(), Some(&expected[..]));
        assert_eq!(
            linux.readonly_paths().clone().unwrap(),
            [
                "/proc/bus",
                "/proc/fs",
                "/proc/irq",
                "/proc/sys",
                "/proc/sysrq-trigger"
            ]
        );
    }

    #[test]
    fn mounts_and_shm_size() {
        let mut r = run();
        r.shm_size = 128 << 20;
        r.mounts = vec![Mount {
            destination: "/etc/hosts".into(),
            kind: "bind".into(),
            source: "/run/berth/x/hosts".into(),
            options: vec!["rbind".into(), "ro".into()],
        }];
        let s = spec(&r);
        let ms = s.mounts().clone().unwrap();
        let dests: Vec<_> = ms
            .iter()
            .map(|m| m.destination().display().to_string())
            .collect();
        assert_eq!(
            dests,
            [
                "/proc",
                "/dev",
                "/dev/pts",
                "/sys",
                "/sys/fs/cgroup",
                "/dev/mqueue",
                "/dev/shm",
                "/etc/hosts"
            ]
        );
        assert!(ms[6]
            .options()
            .as_ref()
            .unwrap()
            .contains(&format!("size={}", 128u64 << 20)));
        assert_eq!(ms[7].typ().as_deref(), Some("bind"));
    }

    #[test]
    fn resources_and_ulimits() {
        let mut r = run();
        r.resources.nano_cpus = Some(1_500_000_000);
        r.resources.memory = Some(64 << 20);
        r.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: 1024,
            hard: 4096,
        }];
        let s = spec(&r);
        let res = s.linux().as_ref().unwrap().resources().clone().unwrap();
        let cpu = res.cpu().clone().unwrap();
        assert_eq!((cpu.quota(), cpu.period()), (Some(150_000), Some(100_000)));
        assert_eq!(res.memory().as_ref().unwrap().limit(), Some(64 << 20));
        let rl = s.process().as_ref().unwrap().rlimits().clone().unwrap();
        assert_eq!(rl.len(), 1);
        assert_eq!(rl[0].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((rl[0].soft(), rl[0].hard()), (1024, 4096));

        r.ulimits[0].name = "files".into();
        let err = build_with_host(&r, &host()).unwrap_err();
        assert_eq!(err.to_string(), "invalid ulimit type: files");
    }

    #[test]
    fn network_namespace_variants() {
        let kinds = |r: &RunSpec, h: &Host| -> Vec<(LinuxNamespaceType, Option<PathBuf>)> {
            build_with_host(r, h)
                .unwrap()
                .linux()
                .as_ref()
                .unwrap()
                .namespaces()
                .clone()
                .unwrap()
                .iter()
                .map(|n| (n.typ(), n.path().clone()))
                .collect()
        };
        use LinuxNamespaceType::*;
        let mut r = run();
        assert_eq!(
            kinds(&r, &host()),
            [
                (Mount, None),
                (Network, None),
                (Uts, None),
                (Pid, None),
                (Ipc, None),
                (Cgroup, None)
            ]
        );
        r.network = NetworkNamespace::Host;
        let mut h = host();
        h.cgroup_namespace = false;
        assert_eq!(
            kinds(&r, &h),
            [(Mount, None), (Uts, None), (Pid, None), (Ipc, None)]
        );
        r.network = NetworkNamespace::Path("/proc/42/ns/net".into());
        assert_eq!(
            kinds(&r, &h)[1],
            (Network, Some(PathBuf::from("/proc/42/ns/net")))
        );
    }

    #[test]
    fn init_wraps_the_command() {
        let mut r = run();
        r.init = Some(PathBuf::from("/usr/lib/berth/docker-init"));
        let s = spec(&r);
        assert_eq!(
            s.process().as_ref().unwrap().args().clone().unwrap(),
            ["/sbin/docker-init", "--", "sh", "-c", "echo hi"]
        );
        let init = s
            .mounts()
            .iter()
            .flatten()
            .find(|m| m.destination() == Path::new(INIT_PATH))
            .unwrap();
        assert_eq!(
            init.source().as_deref(),
            Some(Path::new("/usr/lib/berth/docker-init"))
        );
        assert_eq!(init.options().clone().unwrap(), ["bind", "ro"]);
    }

    #[test]
    fn devices() {
        let mut r = run();
        r.devices = vec![DeviceMapping {
            path_on_host: "/dev/null".into(),
            path_in_container: "/dev/null".into(),
            cgroup_permissions: "rwm".into(),
        }];
        let s = spec(&r);
        let linux = s.linux().as_ref().unwrap();
        let devs = linux.devices().clone().unwrap();
        assert_eq!(devs.len(), 1);
        assert_eq!((devs[0].major(), devs[0].minor()), (1, 3));
        let rules = linux
            .resources()
            .as_ref()
            .unwrap()
            .devices()
            .clone()
            .unwrap();
        assert_eq!(rules.len(), 8 + 1 + 11);
        assert_eq!(rules[8].to_string(), "c 1:3 rwm");

        r.devices[0].path_on_host = "/dev/x".into();
        let err = build_with_host(&r, &host()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "error gathering device information while adding custom device \"/dev/x\": no such file or directory"
        );
    }

    #[test]
    fn empty_command_is_refused() {
        let mut r = run();
        r.args.clear();
        assert!(matches!(
            build_with_host(&r, &host()),
            Err(SpecError::NoCommand)
        ));
    }

    #[test]
    fn json_has_no_runtime_defaults_leaking_in() {
        let json = serde_json::to_value(spec(&run())).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        assert_eq!(
            keys(&json),
            [
                "hostname",
                "linux",
                "mounts",
                "ociVersion",
                "process",
                "root"
            ]
        );
        assert_eq!(
            keys(&json["process"]),
            [
                "args",
                "capabilities",
                "cwd",
                "env",
                "noNewPrivileges",
                "oomScoreAdj",
                "terminal",
                "user"
            ]
        );
        assert_eq!(
            keys(&json["linux"]),
            [
                "cgroupsPath",
                "maskedPaths",
                "namespaces",
                "readonlyPaths",
                "resources",
                "seccomp"
            ]
        );
        assert_eq!(keys(&json["linux"]["resources"]), ["devices"]);
    }

    #[test]
    fn builds_on_this_host() {
        let s = build(&run()).unwrap();
        assert!(s.linux().as_ref().unwrap().seccomp().is_some());
    }
}
