//! `start`: mount the root filesystem, generate the OCI spec, and hand the container to a
//! new monitor, waiting until its process runs (or failed to).

use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use berth_runtime::spec::{self as rspec, RunSpec};
use berth_store::containers as rows;

use super::attach::{Frame, Want};
use super::monitor::Settings;
use super::paths::Paths;
use super::{rootfs, userdb, Container};
use crate::{Engine, EngineError};

/// A started container.
#[derive(Debug)]
pub struct Started {
    /// Host pid of the container's init.
    pub pid: i32,
    /// The attach connection asked for, already receiving output.
    pub attach: Option<UnixStream>,
}

/// Why a start failed, with the exit code `docker run` would use.
pub type StartError = EngineError;

impl Engine {
    /// Starts a created or exited container. With `attach`, the returned connection receives
    /// the container's output from its first byte. A running container is left alone.
    pub fn start_container(
        &mut self,
        name_or_id: &str,
        attach: Option<Want>,
    ) -> Result<Started, EngineError> {
        let c = self.container(name_or_id)?;
        match c.row.state.as_str() {
            "running" | "restarting" => {
                return Ok(Started {
                    pid: c.row.pid,
                    attach: None,
                })
            }
            "paused" => {
                return Err(EngineError::Conflict(
                    "cannot start a paused container, try unpause instead".into(),
                ))
            }
            "removing" | "dead" => {
                return Err(EngineError::Conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    c.row.id
                )))
            }
            _ => {}
        }
        let paths = self.container_paths(&c.row.id);
        // A manual start resets the restart bookkeeping (Docker parity).
        let id = c.row.id.clone();
        if c.row.manual_stop || c.row.restart_count != 0 {
            self.store.db_mut().write(|tx| {
                if let Some(mut r) = rows::get(tx, &id)? {
                    r.manual_stop = false;
                    r.restart_count = 0;
                    rows::update(tx, &r)?;
                }
                Ok(())
            })?;
        }
        if let Err(e) = self.prepare(&c, &paths) {
            self.net_teardown(&c.row.id);
            let _ = rootfs::unmount(&paths);
            return Err(e);
        }
        self.spawn_monitor(&c, attach)
    }

    fn prepare(&mut self, c: &Container, paths: &Paths) -> Result<(), EngineError> {
        let image_id: berth_types::Digest = c
            .row
            .image_id
            .parse()
            .map_err(|_| EngineError::NoSuchImage(c.row.image_id.clone()))?;
        let record = self
            .store
            .image(&image_id)?
            .ok_or_else(|| EngineError::NoSuchImage(c.row.image_id.clone()))?;
        let lowers: Vec<PathBuf> = record
            .layers
            .iter()
            .map(|l| self.store.layer_diff_dir(l))
            .collect();
        // Runtime state is root-only (CVE-2021-41091 class), enforced on every start.
        for d in [
            self.config.run.clone(),
            self.config.run.join("containers"),
            paths.run_dir.clone(),
        ] {
            berth_store::fsutil::ensure_private_dir(&d).map_err(crate::error::io_err(&d))?;
        }
        rootfs::mount(paths, &lowers).map_err(crate::error::io_err(&paths.merged))?;
        let hc = &c.doc.host_config;
        let cfg = &c.doc.config;
        let host_net = hc.network_mode == "host";
        rootfs::write_etc_files(
            paths,
            &cfg.hostname,
            host_net,
            hc.extra_hosts.as_deref().unwrap_or(&[]),
            &hc.dns,
            &hc.dns_search,
            &hc.dns_options,
        )
        .map_err(crate::error::io_err(&paths.dir))?;
        let net = self.net_setup(c, paths)?;
        let user = userdb::resolve_in_root(&paths.merged, &cfg.user)
            .map_err(crate::error::io_err(&paths.merged))?
            .map_err(|e| EngineError::StartFailed {
                code: 125,
                message: e.to_string(),
            })?;
        let mut run = self.run_spec(c, paths, user)?;
        run.network = net.namespace;
        let mut spec = rspec::build(&run)?;
        let embedded = berth_runtime::oci::Runtime::from_name(&c.doc.host_config.runtime)
            == berth_runtime::oci::Runtime::Embedded;
        if embedded && !run.privileged && cgroup_v1_host() {
            // libcontainer 0.7 mounts cgroup v1 hierarchies read-write whatever the spec says,
            // which would let a container raise its own limits; without the mount the
            // container sees an empty, read-only /sys/fs/cgroup (part of the read-only /sys).
            if let Some(mounts) = spec.mounts().clone() {
                let kept: Vec<_> = mounts
                    .into_iter()
                    .filter(|m| m.destination() != Path::new("/sys/fs/cgroup"))
                    .collect();
                spec.set_mounts(Some(kept));
            }
        }
        let rt = berth_runtime::oci::Runtime::from_name(&hc.runtime);
        berth_runtime::oci::write_bundle(&rt, &paths.bundle, &spec)?;
        let settings = Settings {
            id: c.row.id.clone(),
            root: self.config.root.clone(),
            run: self.config.run.clone(),
            tty: cfg.tty,
            open_stdin: cfg.open_stdin,
            stdin_once: cfg.stdin_once,
            restart: hc.restart_policy.clone(),
            auto_remove: hc.auto_remove,
            health: cfg.healthcheck.clone().filter(super::health::enabled),
            runtime: hc.runtime.clone(),
        };
        let json = serde_json::to_vec(&settings)
            .map_err(|e| EngineError::InvalidArgument(e.to_string()))?;
        std::fs::write(&paths.monitor_json, json)
            .map_err(crate::error::io_err(&paths.monitor_json))?;
        Ok(())
    }

    fn run_spec(
        &self,
        c: &Container,
        paths: &Paths,
        user: userdb::User,
    ) -> Result<RunSpec, EngineError> {
        let hc = &c.doc.host_config;
        let cfg = &c.doc.config;
        // `-e NAME` without a value on the client side: Docker drops it (and with it any
        // value the image had).
        let mut env: Vec<String> = cfg
            .env
            .iter()
            .filter(|e| e.contains('='))
            .cloned()
            .collect();
        let set_default = |env: &mut Vec<String>, k: &str, v: &str| {
            if !env.iter().any(|e| e.split('=').next() == Some(k)) {
                env.push(format!("{k}={v}"));
            }
        };
        set_default(&mut env, "PATH", super::create::DEFAULT_PATH);
        set_default(&mut env, "HOSTNAME", &cfg.hostname);
        if cfg.tty {
            set_default(&mut env, "TERM", "xterm");
        }
        set_default(&mut env, "HOME", &user.home);
        let cwd = if cfg.working_dir.is_empty() {
            "/".to_string()
        } else {
            cfg.working_dir.clone()
        };
        if cwd != "/" {
            mkdir_in_root(&paths.merged, &cwd).map_err(crate::error::io_err(&paths.merged))?;
        }
        let mut args = vec![c.doc.path.clone()];
        args.extend(c.doc.args.iter().cloned());
        let mut security = SecurityOpts::default();
        for o in hc.security_opt.iter().flatten() {
            security.apply(o)?;
        }
        let mut mounts = vec![
            bind(&paths.hostname, "/etc/hostname"),
            bind(&paths.hosts, "/etc/hosts"),
            bind(&paths.resolv, "/etc/resolv.conf"),
        ];
        for (dest, opts) in hc.tmpfs.iter().flatten() {
            let mut options = vec!["nosuid".to_string(), "nodev".into(), "noexec".into()];
            options.extend(opts.split(',').filter(|o| !o.is_empty()).map(String::from));
            mounts.push(rspec::Mount {
                destination: dest.clone(),
                kind: "tmpfs".into(),
                source: "tmpfs".into(),
                options,
            });
        }
        // Volumes, binds and --mount (filled from the image on the first start).
        mounts.extend(self.volume_mounts(
            &c.doc.mount_points,
            &paths.merged,
            c.row.started_at == 0,
        )?);
        self.emit_volume_mounts(c);
        let init = if hc.init == Some(true) {
            Some(find_init().ok_or_else(|| EngineError::StartFailed {
                code: 127,
                message: "exec: \"docker-init\": executable file not found in $PATH".into(),
            })?)
        } else {
            None
        };
        let network = match hc.network_mode.as_str() {
            "host" => rspec::NetworkNamespace::Host,
            _ => rspec::NetworkNamespace::New,
        };
        let caps = |v: &Option<Vec<String>>| -> Vec<String> {
            v.iter()
                .flatten()
                .map(|c| {
                    let u = c.to_ascii_uppercase();
                    if u == "ALL" || u.starts_with("CAP_") {
                        u
                    } else {
                        format!("CAP_{u}")
                    }
                })
                .collect()
        };
        let mut additional_gids = user.additional_gids.clone();
        for g in hc.group_add.iter().flatten() {
            if let Ok(n) = g.parse::<u32>() {
                additional_gids.push(n);
            }
        }
        Ok(RunSpec {
            id: c.row.id.clone(),
            rootfs: paths.merged.clone(),
            args,
            env,
            cwd,
            user: rspec::ProcessUser {
                uid: user.uid,
                gid: user.gid,
                additional_gids,
                umask: None,
            },
            hostname: cfg.hostname.clone(),
            tty: cfg.tty,
            read_only: hc.readonly_rootfs,
            privileged: hc.privileged,
            cap_add: caps(&hc.cap_add),
            cap_drop: caps(&hc.cap_drop),
            no_new_privileges: security.no_new_privileges,
            seccomp: security.seccomp,
            network,
            mounts,
            shm_size: if hc.shm_size > 0 {
                hc.shm_size as u64
            } else {
                64 << 20
            },
            resources: rspec::Resources {
                memory: (hc.memory > 0).then_some(hc.memory),
                memory_swap: (hc.memory_swap != 0).then_some(hc.memory_swap),
                memory_reservation: (hc.memory_reservation > 0).then_some(hc.memory_reservation),
                cpu_shares: (hc.cpu_shares > 0).then_some(hc.cpu_shares as u64),
                nano_cpus: (hc.nano_cpus > 0).then_some(hc.nano_cpus),
                cpu_quota: (hc.cpu_quota > 0).then_some(hc.cpu_quota),
                cpu_period: (hc.cpu_period > 0).then_some(hc.cpu_period as u64),
                cpuset_cpus: (!hc.cpuset_cpus.is_empty()).then(|| hc.cpuset_cpus.clone()),
                cpuset_mems: (!hc.cpuset_mems.is_empty()).then(|| hc.cpuset_mems.clone()),
                pids_limit: hc.pids_limit.filter(|p| *p > 0),
                blkio_weight: (hc.blkio_weight > 0).then_some(hc.blkio_weight),
            },
            ulimits: hc
                .ulimits
                .iter()
                .map(|u| rspec::Ulimit {
                    name: u.name.clone(),
                    soft: u.soft as u64,
                    hard: u.hard as u64,
                })
                .collect(),
            devices: hc
                .devices
                .iter()
                .map(|d| rspec::DeviceMapping {
                    path_on_host: d.path_on_host.clone(),
                    path_in_container: if d.path_in_container.is_empty() {
                        d.path_on_host.clone()
                    } else {
                        d.path_in_container.clone()
                    },
                    cgroup_permissions: if d.cgroup_permissions.is_empty() {
                        "rwm".into()
                    } else {
                        d.cgroup_permissions.clone()
                    },
                })
                .collect(),
            cgroups_path: super::paths::cgroup_path(&c.row.id),
            init,
            sysctls: hc.sysctls.clone().unwrap_or_default(),
            oom_score_adj: (hc.oom_score_adj != 0).then_some(hc.oom_score_adj),
        })
    }

    fn spawn_monitor(
        &mut self,
        c: &Container,
        attach: Option<Want>,
    ) -> Result<Started, EngineError> {
        let io = |what: &'static str| move |source| EngineError::Stream { what, source };
        let (sync_r, sync_w) =
            rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| {
                EngineError::Stream {
                    what: "monitor pipe",
                    source: e.into(),
                }
            })?;
        let (mine, theirs) = match attach {
            Some(w) => {
                let (a, b) = UnixStream::pair().map_err(io("attach socket"))?;
                let mut a2 = &a;
                Frame::Hello(w)
                    .write_to(&mut a2)
                    .map_err(io("attach socket"))?;
                (Some(a), Some(OwnedFd::from(b)))
            }
            None => (None, None),
        };
        let exe = std::env::current_exe().map_err(io("berth executable"))?;
        let mut cmd = std::process::Command::new(exe);
        cmd.arg("__monitor")
            .arg(&c.row.id)
            .env("BERTH_ROOT", &self.config.root)
            .env("BERTH_RUN", &self.config.run)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.container_paths(&c.row.id).run_dir.join("monitor.log"))
                    .map(std::process::Stdio::from)
                    .unwrap_or_else(|_| std::process::Stdio::null()),
            );
        inheritable(&sync_w)?;
        cmd.arg(rustix::fd::AsRawFd::as_raw_fd(&sync_w).to_string());
        if let Some(t) = &theirs {
            inheritable(t)?;
            cmd.arg(rustix::fd::AsRawFd::as_raw_fd(t).to_string());
        }
        let child = cmd.spawn().map_err(io("start monitor"));
        drop(sync_w);
        drop(theirs);
        // The monitor outlives this process (it calls setsid and is re-parented when we
        // exit); dropping the handle neither waits for nor kills it.
        drop(child?);
        let mut line = String::new();
        let _ = std::fs::File::from(sync_r).read_to_string(&mut line);
        let line = line.trim_end();
        if let Some(pid) = line.strip_prefix("ok ") {
            return Ok(Started {
                pid: pid.parse().unwrap_or(0),
                attach: mine,
            });
        }
        let (code, msg) = line
            .strip_prefix("err ")
            .and_then(|r| r.split_once('\t'))
            .map(|(c, m)| (c.parse().unwrap_or(125), m.to_string()))
            .unwrap_or((125, "the container's monitor failed to start".to_string()));
        Err(EngineError::StartFailed {
            code,
            message: format!("failed to create task for container: {msg}"),
        })
    }
}

/// Whether the host's cgroups are v1 or hybrid (`/sys/fs/cgroup` is a tmpfs of hierarchies).
fn cgroup_v1_host() -> bool {
    rustix::fs::statfs("/sys/fs/cgroup")
        .map(|s| s.f_type as u64 == 0x0102_1994) // TMPFS_MAGIC
        .unwrap_or(false)
}

fn inheritable(fd: &impl AsFd) -> Result<(), EngineError> {
    rustix::io::fcntl_setfd(fd, rustix::io::FdFlags::empty()).map_err(|e| EngineError::Stream {
        what: "monitor fd",
        source: e.into(),
    })
}

fn bind(src: &Path, dest: &str) -> rspec::Mount {
    rspec::Mount {
        destination: dest.into(),
        kind: "bind".into(),
        source: src.to_string_lossy().into_owned(),
        options: vec!["rbind".into(), "rprivate".into()],
    }
}

/// The static init run with `--init` (Docker's `docker-init` is tini).
fn find_init() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BERTH_INIT") {
        return Some(PathBuf::from(p));
    }
    [
        "/usr/bin/tini-static",
        "/usr/libexec/docker/docker-init",
        "/usr/bin/docker-init",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

#[derive(Default)]
struct SecurityOpts {
    no_new_privileges: bool,
    seccomp: rspec::Seccomp,
}

impl SecurityOpts {
    fn apply(&mut self, opt: &str) -> Result<(), EngineError> {
        let (k, v) = opt
            .split_once('=')
            .or_else(|| opt.split_once(':'))
            .unwrap_or((opt, ""));
        match k {
            "no-new-privileges" => {
                self.no_new_privileges = match v {
                    "" | "true" => true,
                    "false" => false,
                    _ => {
                        return Err(EngineError::InvalidArgument(format!(
                            "invalid --security-opt 2: {opt:?}"
                        )))
                    }
                }
            }
            "seccomp" => {
                self.seccomp = match v {
                    "unconfined" => rspec::Seccomp::Unconfined,
                    "" => {
                        return Err(EngineError::InvalidArgument(format!(
                            "invalid --security-opt 2: {opt:?}"
                        )))
                    }
                    json => rspec::Seccomp::Profile(json.to_string()),
                }
            }
            "label" | "apparmor" | "systempaths" => {}
            _ => {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid --security-opt 1: {opt:?}"
                )))
            }
        }
        Ok(())
    }
}

/// `mkdir -p` of an absolute path inside `root`, never leaving it (symlinks resolved in the
/// root), as Docker creates a missing working directory.
fn mkdir_in_root(root: &Path, path: &str) -> std::io::Result<()> {
    use rustix::fs::{Mode, OFlags, ResolveFlags};
    let rootfd = rustix::fs::open(
        root,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut cur = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        cur.push('/');
        cur.push_str(comp);
        let open = |p: &str| {
            rustix::fs::openat2(
                &rootfd,
                p.trim_start_matches('/'),
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            )
        };
        match open(&cur) {
            Ok(_) => continue,
            Err(rustix::io::Errno::NOENT) => {
                let parent = cur.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                let pfd = if parent.is_empty() {
                    rustix::io::dup(&rootfd)?
                } else {
                    open(parent)?
                };
                match rustix::fs::mkdirat(&pfd, comp, Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
