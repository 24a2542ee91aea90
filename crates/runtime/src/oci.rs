//! The embedded OCI runtime: youki's `libcontainer` behind the few calls berth makes.
//!
//! Every function here may fork and makes the calling process non-dumpable; the monitor calls
//! them only in a forked child (see the engine's monitor), the CLI calls [`exec`] directly.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::oci_spec::runtime::Spec;
use libcontainer::syscall::syscall::SyscallType;
use libcontainer::workload::{Executor, ExecutorError, ExecutorValidationError};

/// A runtime failure, classified the way `docker run` reports it.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The command does not exist in the container (exit 127).
    #[error("exec: \"{0}\": executable file not found in $PATH")]
    NotFound(String),
    /// The command exists but cannot be executed (exit 126).
    #[error("exec: \"{0}\": permission denied")]
    NotExecutable(String),
    /// Writing the bundle failed.
    #[error("write runtime spec {path}: {message}")]
    Bundle {
        /// The bundle directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Anything else libcontainer reports.
    #[error("OCI runtime {op} failed: {message}")]
    Runtime {
        /// `create`, `start`, `exec`, `delete`, …
        op: &'static str,
        /// libcontainer's error chain, on one line.
        message: String,
    },
}

impl berth_types::Classify for RuntimeError {
    fn kind(&self) -> berth_types::ErrorKind {
        match self {
            RuntimeError::NotFound(_) => berth_types::ErrorKind::NotFound,
            RuntimeError::NotExecutable(_) => berth_types::ErrorKind::Forbidden,
            _ => berth_types::ErrorKind::Internal,
        }
    }
}

impl RuntimeError {
    /// The exit code `docker run` uses for this failure: 127, 126 or 125.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::NotFound(_) => 127,
            RuntimeError::NotExecutable(_) => 126,
            _ => 125,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, RuntimeError>;

/// Which OCI runtime runs a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Runtime {
    /// youki's libcontainer, inside berth.
    #[default]
    Embedded,
    /// An installed runtime (`runc`, `crun`) by name.
    External(String),
}

impl Runtime {
    /// The runtime a container's `HostConfig.Runtime` names (`""`/`berth`: embedded).
    pub fn from_name(name: &str) -> Runtime {
        match name {
            "" | "berth" | "io.containerd.runc.v2" => Runtime::Embedded,
            other => Runtime::External(other.to_string()),
        }
    }

    /// The state directory of this runtime, beside the embedded runtime's `base`.
    fn root(&self, base: &Path) -> PathBuf {
        match self {
            Runtime::Embedded => base.to_path_buf(),
            Runtime::External(n) => base.with_file_name(format!("runtime-{n}")),
        }
    }

    fn binary(&self) -> Result<Option<PathBuf>> {
        match self {
            Runtime::Embedded => Ok(None),
            Runtime::External(n) => {
                crate::external::find(n)
                    .map(Some)
                    .ok_or_else(|| RuntimeError::Runtime {
                        op: "create",
                        message: format!("unknown or invalid runtime name: {n}"),
                    })
            }
        }
    }
}

/// The installed binary of runtime `name` (`runc`, `crun`), if any.
pub fn find_runtime(name: &str) -> Option<PathBuf> {
    crate::external::find(name)
}

/// Standard streams of a container process; `None` inherits the caller's.
#[derive(Debug, Default)]
pub struct Stdio {
    /// stdin.
    pub stdin: Option<OwnedFd>,
    /// stdout.
    pub stdout: Option<OwnedFd>,
    /// stderr.
    pub stderr: Option<OwnedFd>,
}

/// Writes `spec` as `bundle/config.json` for the embedded runtime (libcontainer 0.7 reads the
/// mask and value of a masked-equal seccomp rule the other way round from runc and the OCI
/// spec; [`crate::seccomp::for_libcontainer`] compensates).
pub fn write_bundle(rt: &Runtime, bundle: &Path, spec: &Spec) -> Result<()> {
    if *rt != Runtime::Embedded {
        std::fs::create_dir_all(bundle).map_err(|e| RuntimeError::Bundle {
            path: bundle.to_path_buf(),
            message: e.to_string(),
        })?;
        return spec
            .save(bundle.join("config.json"))
            .map_err(|e| RuntimeError::Bundle {
                path: bundle.to_path_buf(),
                message: e.to_string(),
            });
    }
    let mut spec = spec.clone();
    // libcontainer 0.7 treats `noNewPrivileges: false` like `true` when it decides where to
    // load seccomp (after dropping CAP_SYS_ADMIN, which then fails): absent means false.
    if let Some(p) = spec.process_mut() {
        if p.no_new_privileges() == Some(false) {
            p.set_no_new_privileges(None);
        }
    }
    if let Some(linux) = spec.linux_mut() {
        if let Some(s) = linux.seccomp() {
            let fixed = crate::seccomp::for_libcontainer(s).map_err(|e| RuntimeError::Bundle {
                path: bundle.to_path_buf(),
                message: e.to_string(),
            })?;
            linux.set_seccomp(Some(fixed));
        }
    }
    std::fs::create_dir_all(bundle).map_err(|e| RuntimeError::Bundle {
        path: bundle.to_path_buf(),
        message: e.to_string(),
    })?;
    spec.save(bundle.join("config.json"))
        .map_err(|e| RuntimeError::Bundle {
            path: bundle.to_path_buf(),
            message: e.to_string(),
        })
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn classify(op: &'static str, e: &dyn std::error::Error) -> RuntimeError {
    let message = chain(e);
    if let Some(rest) = message.split(NOT_FOUND_MARK).nth(1) {
        return RuntimeError::NotFound(rest.split(MARK_END).next().unwrap_or("").to_string());
    }
    if let Some(rest) = message.split(NOT_EXECUTABLE_MARK).nth(1) {
        return RuntimeError::NotExecutable(rest.split(MARK_END).next().unwrap_or("").to_string());
    }
    RuntimeError::Runtime { op, message }
}

const NOT_FOUND_MARK: &str = "berth-exec-not-found<";
const NOT_EXECUTABLE_MARK: &str = "berth-exec-not-executable<";
const MARK_END: &str = ">";

/// Creates the container described by `bundle/config.json` and starts its process.
/// Returns the host pid of the container's init. The init is a child of the caller
/// (`as_sibling`: a child of the caller's parent), so the caller's parent, a subreaper,
/// reaps it.
pub fn create_and_start(
    rt: &Runtime,
    id: &str,
    state_root: &Path,
    bundle: &Path,
    stdio: Stdio,
    console_socket: Option<&Path>,
) -> Result<i32> {
    if let Some(bin) = rt.binary()? {
        return crate::external::create_and_start(
            &bin,
            &rt.root(state_root),
            id,
            bundle,
            stdio,
            console_socket,
        );
    }
    let mut builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_executor(BerthExecutor)
        .with_root_path(state_root)
        .map_err(|e| classify("create", &e))?
        .with_console_socket(console_socket);
    builder = with_stdio(builder, stdio);
    let mut container = builder
        .as_init(bundle)
        .with_systemd(false)
        .with_detach(true)
        .as_sibling(true)
        .build()
        .map_err(|e| classify("create", &e))?;
    let pid = container
        .pid()
        .ok_or_else(|| RuntimeError::Runtime {
            op: "create",
            message: "no init pid recorded".into(),
        })?
        .as_raw();
    container.start().map_err(|e| classify("start", &e))?;
    Ok(pid)
}

/// The container process's standard streams (unset ones are inherited).
fn with_stdio(mut builder: ContainerBuilder, stdio: Stdio) -> ContainerBuilder {
    if let Some(fd) = stdio.stdin {
        builder = builder.with_stdin(fd);
    }
    if let Some(fd) = stdio.stdout {
        builder = builder.with_stdout(fd);
    }
    if let Some(fd) = stdio.stderr {
        builder = builder.with_stderr(fd);
    }
    builder
}

fn load(state_root: &Path, id: &str, op: &'static str) -> Result<Container> {
    Container::load(state_root.join(id)).map_err(|e| classify(op, &e))
}

/// Kills what is left of the container, removes its cgroup and its runtime state. Succeeds
/// when there is nothing to delete.
pub fn delete(rt: &Runtime, state_root: &Path, id: &str) -> Result<()> {
    if let Some(bin) = rt.binary()? {
        return crate::external::delete(&bin, &rt.root(state_root), id);
    }
    let dir = state_root.join(id);
    if !dir.join("state.json").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let mut c = load(state_root, id, "delete")?;
    c.delete(true).map_err(|e| classify("delete", &e))
}

/// Freezes every process of the container (cgroup freezer).
pub fn pause(rt: &Runtime, state_root: &Path, id: &str) -> Result<()> {
    if let Some(bin) = rt.binary()? {
        return crate::external::freeze(&bin, &rt.root(state_root), id, true);
    }
    load(state_root, id, "pause")?
        .pause()
        .map_err(|e| classify("pause", &e))
}

/// Thaws a paused container.
pub fn resume(rt: &Runtime, state_root: &Path, id: &str) -> Result<()> {
    if let Some(bin) = rt.binary()? {
        return crate::external::freeze(&bin, &rt.root(state_root), id, false);
    }
    load(state_root, id, "resume")?
        .resume()
        .map_err(|e| classify("resume", &e))
}

/// What `exec` runs.
#[derive(Debug, Default)]
pub struct ExecSpec {
    /// argv.
    pub args: Vec<String>,
    /// Full environment (`KEY=value`).
    pub env: Vec<String>,
    /// Working directory, if not the container's.
    pub cwd: Option<PathBuf>,
    /// uid, gid.
    pub user: Option<(u32, u32)>,
    /// Supplementary groups.
    pub additional_gids: Vec<u32>,
    /// All capabilities (`--privileged`).
    pub capabilities: Option<Vec<String>>,
    /// A console socket path for a terminal.
    pub console_socket: Option<PathBuf>,
    /// The container's bundle: with a terminal, the new process is its init's process with
    /// this request's changes (libcontainer's tenant builder only allocates a terminal for
    /// a full process spec).
    pub bundle: Option<PathBuf>,
}

/// Runs a new process in the running container `id`; returns its host pid (a child of the
/// caller, which must wait for it).
pub fn exec(
    rt: &Runtime,
    state_root: &Path,
    id: &str,
    spec: ExecSpec,
    stdio: Stdio,
) -> Result<i32> {
    if let Some(bin) = rt.binary()? {
        return crate::external::exec(&bin, &rt.root(state_root), id, spec, stdio);
    }
    let env = spec
        .env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut builder = ContainerBuilder::new(id.to_string(), SyscallType::default())
        .with_executor(BerthExecutor)
        .with_root_path(state_root)
        .map_err(|e| classify("exec", &e))?
        .with_console_socket(spec.console_socket.as_deref());
    builder = with_stdio(builder, stdio);
    if let (Some(_), Some(bundle)) = (&spec.console_socket, &spec.bundle) {
        let path = terminal_process(bundle, &spec)?;
        let pid = builder
            .as_tenant()
            .with_process(Some(&path))
            .with_detach(true)
            .build()
            .map_err(|e| classify("exec", &e));
        let _ = std::fs::remove_file(&path);
        return Ok(pid?.as_raw());
    }
    let mut tenant = builder
        .as_tenant()
        .with_container_args(spec.args)
        .with_env(env)
        .with_cwd(spec.cwd)
        .with_detach(true)
        .with_additional_gids(spec.additional_gids);
    if let Some((uid, gid)) = spec.user {
        tenant = tenant.with_user(Some(uid)).with_group(Some(gid));
    }
    if let Some(caps) = spec.capabilities {
        tenant = tenant.with_capabilities(caps);
    }
    let pid = tenant.build().map_err(|e| classify("exec", &e))?;
    Ok(pid.as_raw())
}

/// berth's workload executor: Docker's checks and exit codes for the command, and the
/// CVE-2024-21626 check that the working directory is inside the container.
#[derive(Clone)]
struct BerthExecutor;

impl Executor for BerthExecutor {
    fn validate(&self, spec: &Spec) -> std::result::Result<(), ExecutorValidationError> {
        let process = spec.process().as_ref().ok_or_else(|| {
            ExecutorValidationError::ArgValidationError("spec has no process".into())
        })?;
        let args = process.args().as_deref().unwrap_or(&[]);
        let Some(cmd) = args.first() else {
            return Err(ExecutorValidationError::ArgValidationError(
                "no command specified".into(),
            ));
        };
        let path_var = process
            .env()
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .find_map(|e| e.strip_prefix("PATH="))
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        match crate::exec_path::resolve(cmd, path_var) {
            crate::exec_path::Resolved::Found(_) => Ok(()),
            crate::exec_path::Resolved::NotFound => {
                Err(ExecutorValidationError::ArgValidationError(format!(
                    "{NOT_FOUND_MARK}{cmd}{MARK_END}"
                )))
            }
            crate::exec_path::Resolved::NotExecutable => {
                Err(ExecutorValidationError::ArgValidationError(format!(
                    "{NOT_EXECUTABLE_MARK}{cmd}{MARK_END}"
                )))
            }
        }
    }

    fn exec(&self, spec: &Spec) -> std::result::Result<(), ExecutorError> {
        crate::exec_path::check_cwd_inside().map_err(ExecutorError::Other)?;
        let args = spec
            .process()
            .as_ref()
            .and_then(|p| p.args().clone())
            .ok_or(ExecutorError::InvalidArg)?;
        let err = crate::exec_path::execvp(&args);
        // The process could not be replaced: report like Docker (127 missing, 126 other)
        // on the container's stderr and end with that code.
        let code = if err.kind() == std::io::ErrorKind::NotFound {
            127
        } else {
            126
        };
        eprintln!("exec {}: {}", args[0], err);
        std::process::exit(code);
    }
}

/// Writes the process of an exec with a terminal: the container's own process (capabilities,
/// rlimits, no-new-privileges, …) with the request's argv, environment, directory and user.
fn terminal_process(bundle: &Path, spec: &ExecSpec) -> Result<PathBuf> {
    use libcontainer::oci_spec::runtime::{LinuxCapabilitiesBuilder, UserBuilder};
    let err = |m: String| RuntimeError::Bundle {
        path: bundle.to_path_buf(),
        message: m,
    };
    let base = Spec::load(bundle.join("config.json")).map_err(|e| err(e.to_string()))?;
    let mut p = base
        .process()
        .clone()
        .ok_or_else(|| err("no process".into()))?;
    p.set_args(Some(spec.args.clone()));
    p.set_env(Some(spec.env.clone()));
    if let Some(cwd) = &spec.cwd {
        p.set_cwd(cwd.clone());
    }
    p.set_terminal(Some(true));
    if let Some((uid, gid)) = spec.user {
        let user = UserBuilder::default()
            .uid(uid)
            .gid(gid)
            .additional_gids(spec.additional_gids.clone())
            .build()
            .map_err(|e| err(e.to_string()))?;
        p.set_user(user);
    }
    if let Some(caps) = &spec.capabilities {
        let set: std::collections::HashSet<_> =
            caps.iter().filter_map(|c| c.parse().ok()).collect();
        let c = LinuxCapabilitiesBuilder::default()
            .bounding(set.clone())
            .effective(set.clone())
            .permitted(set)
            .build()
            .map_err(|e| err(e.to_string()))?;
        p.set_capabilities(Some(c));
    }
    let path = bundle.join(format!("exec-{}.json", std::process::id()));
    let json = serde_json::to_vec(&p).map_err(|e| err(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| err(e.to_string()))?;
    Ok(path)
}
