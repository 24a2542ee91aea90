//! A container's configuration in Docker's own shapes (`Config`, `HostConfig`), as the
//! Engine API's `POST /containers/create` body carries them and `inspect` shows them. The CLI
//! turns flags into these; the engine merges the image's defaults in at create time.

use std::collections::BTreeMap;

use berth_image::spec::HealthConfig;
use serde::{Deserialize, Serialize};

/// An empty JSON object (`{}`), the value type of Docker's set-like maps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Empty {}

/// Docker's container `Config`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Config {
    /// `-h`; defaults to the first 12 hex of the id.
    pub hostname: String,
    /// `--domainname`.
    pub domainname: String,
    /// `-u user[:group]`.
    pub user: String,
    /// Attach stdin (`-i` without `-d`, or `-a stdin`).
    pub attach_stdin: bool,
    /// Attach stdout.
    pub attach_stdout: bool,
    /// Attach stderr.
    pub attach_stderr: bool,
    /// `-p`/`EXPOSE` ports (`80/tcp` keys).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, Empty>>,
    /// `-t`.
    pub tty: bool,
    /// `-i`: keep stdin open.
    pub open_stdin: bool,
    /// Close stdin after the first attached client detaches.
    pub stdin_once: bool,
    /// `KEY=value` entries: image env, then `-e`/`--env-file`.
    pub env: Vec<String>,
    /// The command (image `CMD` unless given).
    pub cmd: Option<Vec<String>>,
    /// Health check (`--health-*` or the image's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthcheck: Option<HealthConfig>,
    /// The image as the user named it.
    pub image: String,
    /// Image and `-v` anonymous volumes.
    pub volumes: Option<BTreeMap<String, Empty>>,
    /// `-w`.
    pub working_dir: String,
    /// `--entrypoint` (image `ENTRYPOINT` unless given).
    pub entrypoint: Option<Vec<String>>,
    /// Image `ONBUILD` triggers.
    pub on_build: Option<Vec<String>>,
    /// `--label` and the image's labels.
    pub labels: BTreeMap<String, String>,
    /// `--stop-signal` or the image's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `--stop-timeout` in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
}

/// Docker's `RestartPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// `""`/`no`, `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// For `on-failure`: give up after this many restarts (0: never give up).
    pub maximum_retry_count: i64,
}

/// One `--ulimit`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    /// `nofile`, `nproc`, …
    pub name: String,
    /// Soft limit.
    pub soft: i64,
    /// Hard limit.
    pub hard: i64,
}

/// One `--device`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    /// Host device node.
    pub path_on_host: String,
    /// Path in the container.
    pub path_in_container: String,
    /// `rwm` subset.
    pub cgroup_permissions: String,
}

/// Docker's `LogConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    /// Always `json-file` for berth.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Driver options.
    pub config: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            kind: "json-file".into(),
            config: BTreeMap::new(),
        }
    }
}

/// One host port binding (`-p`), for the networks issue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    /// Host address (`""` for all).
    pub host_ip: String,
    /// Host port (`""` for a random one).
    pub host_port: String,
}

/// Docker's `HostConfig` (the subset berth implements; unknown API fields are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// `-v host:container[:ro]` binds.
    pub binds: Option<Vec<String>>,
    /// `--mount` (Docker's `Mount` objects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mounts: Option<Vec<crate::volumes::mounts::MountSpec>>,
    /// `--volumes-from CONTAINER[:ro|:rw]`.
    pub volumes_from: Option<Vec<String>>,
    /// Log driver (json-file).
    pub log_config: LogConfig,
    /// `--network`: `none`, `host`, `bridge`/`default`, a network name, `container:NAME`.
    pub network_mode: String,
    /// `-p` bindings.
    pub port_bindings: BTreeMap<String, Vec<PortBinding>>,
    /// `--restart`.
    pub restart_policy: RestartPolicy,
    /// `--rm`.
    pub auto_remove: bool,
    /// `--cap-add`.
    pub cap_add: Option<Vec<String>>,
    /// `--cap-drop`.
    pub cap_drop: Option<Vec<String>>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--add-host`.
    pub extra_hosts: Option<Vec<String>>,
    /// `--group-add`.
    pub group_add: Option<Vec<String>>,
    /// `--oom-score-adj`.
    pub oom_score_adj: i32,
    /// `--privileged`.
    pub privileged: bool,
    /// `-P`.
    pub publish_all_ports: bool,
    /// `--read-only`.
    pub readonly_rootfs: bool,
    /// `--security-opt` values as given.
    pub security_opt: Option<Vec<String>>,
    /// `--tmpfs path[:options]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// `--shm-size` in bytes (0: Docker's 64 MiB).
    pub shm_size: i64,
    /// `--sysctl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<BTreeMap<String, String>>,
    /// `--cpu-shares`.
    pub cpu_shares: i64,
    /// `--memory` in bytes.
    pub memory: i64,
    /// `--cpus` × 1e9.
    pub nano_cpus: i64,
    /// `--blkio-weight`.
    pub blkio_weight: u16,
    /// `--cpu-period`.
    pub cpu_period: i64,
    /// `--cpu-quota`.
    pub cpu_quota: i64,
    /// `--cpuset-cpus`.
    pub cpuset_cpus: String,
    /// `--cpuset-mems`.
    pub cpuset_mems: String,
    /// `--device`.
    pub devices: Vec<DeviceMapping>,
    /// `--memory-reservation`.
    pub memory_reservation: i64,
    /// `--memory-swap` (-1 unlimited).
    pub memory_swap: i64,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--ulimit`.
    pub ulimits: Vec<Ulimit>,
    /// `--init`.
    pub init: Option<bool>,
    /// `--runtime`: `""`/`berth` for the embedded runtime, or an external OCI runtime
    /// (`runc`, `crun`).
    pub runtime: String,
}

/// What `create` receives: Docker's create request.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// `--name`.
    pub name: Option<String>,
    /// The container config (`Image` names the image).
    pub config: Config,
    /// The host config.
    pub host_config: HostConfig,
    /// `NetworkingConfig.EndpointsConfig`: per network, aliases and a requested address.
    pub endpoints: BTreeMap<String, crate::networks::EndpointSettings>,
}

/// What the engine stores for a container (the `config` column), beside its state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerDoc {
    /// The resolved executable (Docker's `Path`).
    pub path: String,
    /// Its arguments (Docker's `Args`).
    pub args: Vec<String>,
    /// The merged config.
    pub config: Config,
    /// The host config.
    pub host_config: HostConfig,
    /// The platform (`linux`).
    pub platform: String,
    /// Resolved mounts (volumes, binds, tmpfs), as Docker's `MountPoints`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<crate::volumes::mounts::MountPoint>,
}
