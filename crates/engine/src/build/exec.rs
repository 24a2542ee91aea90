//! The stage executor: one state per stage, one function per instruction.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use berth_build::cache::KeyBuilder;
use berth_build::ignore::{clean, Matcher};
use berth_build::instructions::{CmdForm, Command, CopySpec};
use berth_build::lex::Lexer;
use berth_build::{graph, Dockerfile, Instruction};
use berth_image::reference::Reference;
use berth_image::spec::{mediatype, ContainerConfig, HealthConfig, History, ImageConfig, RootFs};
use berth_store::NewImage;
use berth_types::{Classify, Digest, ErrorKind, Hasher};
use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};

use super::context::{self, Found, SourceRoot, TarOptions};
use super::progress::{Progress, Vertex};
use super::{BuildError, BuildOptions, BuildOutcome, DockerfileSource};
use crate::containers::attach::{Frame, Want};
use crate::containers::paths::Paths;
use crate::containers::{rootfs, CreateRequest};
use crate::images::unpack::{commit_with_layers, LayerSource};
use crate::{Engine, EngineError};

/// Docker's predefined build args: usable without an `ARG` and kept out of history.
const PROXY_ARGS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
];

// ------------------------------------------------------------------------------------------
// Interruption

/// The label on `RUN` containers: the pid of the berth process that runs the build.
const BUILDER_LABEL: &str = "berth.build.pid";

/// Removes `RUN` containers left by builds whose berth process died (SIGKILL, a crash),
/// so that even then no intermediate container lingers past the next build.
fn remove_orphans(engine: &mut Engine) {
    // Only rows carrying the label are parsed (a cached build must stay cheap with many
    // containers around).
    let rows = match berth_store::containers::list(engine.store.db().conn()) {
        Ok(rows) => rows,
        Err(_) => return,
    };
    for row in rows
        .into_iter()
        .filter(|r| r.config.contains(BUILDER_LABEL))
    {
        let doc: crate::containers::ContainerDoc =
            serde_json::from_str(&row.config).unwrap_or_default();
        let Some(pid) = doc.config.labels.get(BUILDER_LABEL) else {
            continue;
        };
        let alive = pid
            .parse::<i32>()
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok());
        if !alive {
            if let Err(e) = engine.remove_container_with_volumes(&row.id, true, true) {
                tracing::warn!(container = %row.id, error = %e, "remove orphaned build container");
            }
        }
    }
}

/// Processes of running `RUN` steps, killed when the user interrupts the build.
struct Interrupt {
    flag: AtomicBool,
    pids: Mutex<Vec<i32>>,
}

fn interrupt() -> &'static Interrupt {
    static I: OnceLock<Interrupt> = OnceLock::new();
    I.get_or_init(|| Interrupt {
        flag: AtomicBool::new(false),
        pids: Mutex::new(Vec::new()),
    })
}

fn interrupted() -> bool {
    interrupt().flag.load(Ordering::SeqCst)
}

/// Blocks SIGINT, SIGTERM and SIGHUP in this (still single-threaded) process and reads them
/// in a thread that kills the running steps, so every step's clean-up runs. Children get
/// the default mask back (std's `Command` resets it), so containers are unaffected.
fn watch_signals() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        use nix::sys::signal::{SigSet, Signal};
        let mut set = SigSet::empty();
        for s in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
            set.add(s);
        }
        if set.thread_block().is_err() {
            return;
        }
        let Ok(sfd) = nix::sys::signalfd::SignalFd::new(&set) else {
            let _ = set.thread_unblock();
            return;
        };
        std::thread::spawn(move || {
            while let Ok(Some(_)) = sfd.read_signal() {
                let i = interrupt();
                i.flag.store(true, Ordering::SeqCst);
                if let Ok(pids) = i.pids.lock() {
                    for &p in pids.iter() {
                        if let Some(pid) = rustix::process::Pid::from_raw(p) {
                            let _ =
                                rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                        }
                    }
                }
            }
        });
    });
}

// ------------------------------------------------------------------------------------------
// Clean-up off the critical path

/// What the janitor removes.
enum Job {
    /// A private overlay: unmount it, remove its directories.
    Mount(Box<Paths>),
    /// A finished `RUN` container (removed with its anonymous volumes, through an engine of
    /// the janitor's own).
    Container(crate::Config, String),
}

/// A thread that removes finished step containers and private mounts while the build goes
/// on; [`janitor_finish`] waits for it, so nothing outlives the build.
struct Janitor {
    tx: Option<std::sync::mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn janitor() -> &'static Mutex<Janitor> {
    static J: OnceLock<Mutex<Janitor>> = OnceLock::new();
    J.get_or_init(|| {
        Mutex::new(Janitor {
            tx: None,
            thread: None,
        })
    })
}

fn run_job(engine: &mut Option<Engine>, job: Job) {
    match job {
        Job::Mount(paths) => {
            if let Err(e) = rootfs::unmount(&paths) {
                tracing::warn!(path = %paths.merged.display(), error = %e, "unmount build mount");
            }
            let _ = std::fs::remove_dir_all(&paths.dir);
            let _ = std::fs::remove_dir_all(&paths.run_dir);
        }
        Job::Container(config, id) => {
            if engine.is_none() {
                *engine = Engine::open(config).ok();
            }
            let r = match engine.as_mut() {
                Some(e) => e.remove_container_with_volumes(&id, true, true),
                None => Err(EngineError::InvalidArgument("cannot open the store".into())),
            };
            if let Err(e) = r {
                tracing::warn!(container = %id, error = %e, "remove build container");
            }
        }
    }
}

/// Hands a clean-up job to the janitor (or does it now if no janitor can run).
fn clean_later(job: Job) {
    let mut j = match janitor().lock() {
        Ok(j) => j,
        Err(_) => return run_job(&mut None, job),
    };
    if j.tx.is_none() {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("build-janitor".into())
            .spawn(move || {
                let mut engine = None;
                for job in rx {
                    run_job(&mut engine, job);
                }
            });
        match spawned {
            Ok(t) => {
                j.tx = Some(tx);
                j.thread = Some(t);
            }
            Err(_) => {
                drop(j);
                return run_job(&mut None, job);
            }
        }
    }
    if let Some(tx) = &j.tx {
        if let Err(std::sync::mpsc::SendError(job)) = tx.send(job) {
            run_job(&mut None, job);
        }
    }
}

/// Waits until every clean-up job is done.
fn janitor_finish() {
    let (tx, thread) = match janitor().lock() {
        Ok(mut j) => (j.tx.take(), j.thread.take()),
        Err(_) => return,
    };
    drop(tx);
    if let Some(t) = thread {
        let _ = t.join();
    }
}

// ------------------------------------------------------------------------------------------
// Shared build state

struct StageResult {
    image: Digest,
    key: String,
}

struct Shared<'a> {
    df: &'a Dockerfile,
    opts: &'a BuildOptions,
    progress: &'a Progress,
    context: SourceRoot,
    lexer: Lexer,
    /// Meta ARGs (before the first FROM) with their values.
    meta: Vec<(String, Option<String>)>,
    results: Mutex<Vec<Option<StageResult>>>,
    used_args: Mutex<BTreeSet<String>>,
    /// Number of shown steps per stage (FROM, RUN, COPY, ADD, WORKDIR).
    totals: Vec<usize>,
    multi: bool,
    scratch_dir: PathBuf,
}

fn step_err(c: &Command, kind: ErrorKind, message: impl Into<String>) -> BuildError {
    BuildError::Step {
        line: c.line,
        end_line: c.end_line,
        message: message.into(),
        kind,
    }
}

fn engine_step_err(c: &Command, e: EngineError) -> BuildError {
    step_err(c, e.kind(), e.to_string())
}

fn shown(i: &Instruction) -> bool {
    matches!(
        i,
        Instruction::Run { .. } | Instruction::Copy(_) | Instruction::Workdir(_)
    )
}

pub(super) fn build(
    engine: &mut Engine,
    opts: &BuildOptions,
    progress: &Progress,
) -> Result<BuildOutcome, BuildError> {
    let r = build_inner(engine, opts, progress);
    janitor_finish();
    r
}

fn build_inner(
    engine: &mut Engine,
    opts: &BuildOptions,
    progress: &Progress,
) -> Result<BuildOutcome, BuildError> {
    watch_signals();
    remove_orphans(engine);
    // Tags are checked before any work, as Docker does.
    let mut tags = Vec::new();
    for t in &opts.tags {
        let r = Reference::parse_normalized(t).map_err(|_| {
            BuildError::Invalid(format!(
                "invalid argument \"{t}\" for \"-t, --tag\" flag: invalid reference format"
            ))
        })?;
        if r.digest().is_some() {
            return Err(BuildError::Invalid(format!(
                "invalid argument \"{t}\" for \"-t, --tag\" flag: refusing to create a tag with a digest reference"
            )));
        }
        tags.push(r.with_default_tag());
    }
    let plain_root = SourceRoot::open(&opts.context, None).map_err(|e| {
        BuildError::Invalid(format!(
            "unable to prepare context: path {:?} not found: {e}",
            opts.context.display().to_string()
        ))
    })?;
    let v = progress.vertex("[internal] load build definition from Dockerfile");
    let (text, df_name) = match &opts.dockerfile {
        DockerfileSource::Inline(t) => (t.clone(), "Dockerfile".to_string()),
        DockerfileSource::Path(p) => {
            let data = if Path::new(p).is_absolute() {
                match std::fs::read(p) {
                    Ok(d) => Some(d),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        return Err(BuildError::Invalid(format!(
                            "failed to read dockerfile: {e}"
                        )))
                    }
                }
            } else {
                let mut d = plain_root
                    .read_file(p)
                    .map_err(|e| BuildError::Invalid(format!("failed to read dockerfile: {e}")))?;
                if d.is_none() && p == "Dockerfile" {
                    d = plain_root.read_file("dockerfile").ok().flatten();
                }
                d
            };
            let Some(data) = data else {
                v.error("not found");
                return Err(BuildError::Invalid(format!(
                    "failed to read dockerfile: open {p}: no such file or directory"
                )));
            };
            let name = Path::new(p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "Dockerfile".into());
            (String::from_utf8_lossy(&data).into_owned(), name)
        }
    };
    v.log(&format!("transferring dockerfile: {}B done", text.len()));
    v.done();
    let df = Dockerfile::parse(&text)?;
    // `.dockerignore` (BuildKit also honours `<Dockerfile>.dockerignore` next to it).
    let v = progress.vertex("[internal] load .dockerignore");
    let ignore_text = plain_root
        .read_file(&format!("{df_name}.dockerignore"))
        .ok()
        .flatten()
        .or_else(|| plain_root.read_file(".dockerignore").ok().flatten());
    let ignore = match &ignore_text {
        Some(t) => Some(
            Matcher::from_dockerignore(&String::from_utf8_lossy(t))
                .map_err(|e| BuildError::Invalid(format!("failed to parse .dockerignore: {e}")))?,
        ),
        None => None,
    };
    v.log(&format!(
        "transferring context: {}B done",
        ignore_text.as_ref().map_or(0, |t| t.len())
    ));
    v.done();
    let context = SourceRoot::open(&opts.context, ignore)
        .map_err(|e| BuildError::Invalid(format!("unable to prepare context: {e}")))?;
    let target = df.target(opts.target.as_deref()).ok_or_else(|| {
        BuildError::Invalid(format!(
            "target stage \"{}\" could not be found",
            opts.target.clone().unwrap_or_default()
        ))
    })?;
    let lexer = Lexer::new(df.escape);
    let args_map: BTreeMap<&str, &str> = opts
        .build_args
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    // Meta ARGs: a build arg overrides the default; defaults may use earlier meta ARGs.
    let mut meta: Vec<(String, Option<String>)> = Vec::new();
    for (k, default) in &df.meta_args {
        let value = match args_map.get(k.as_str()) {
            Some(v) => Some(v.to_string()),
            None => match default {
                Some(d) => {
                    let mut look = |n: &str| lookup_pairs(&meta, n);
                    Some(lexer.word(d, &mut look).map_err(|e| {
                        BuildError::Invalid(format!("failed to process ARG {k}: {e}"))
                    })?)
                }
                None => None,
            },
        };
        meta.retain(|(m, _)| m != k);
        meta.push((k.clone(), value));
    }
    let base_of = |i: usize| -> String {
        let mut look = |n: &str| meta_value(&meta, n);
        lexer
            .word(&df.stages[i].base, &mut look)
            .unwrap_or_else(|_| df.stages[i].base.clone())
    };
    let refs = |i: usize| -> Vec<String> {
        let mut r = vec![base_of(i)];
        for c in &df.stages[i].commands {
            if let Instruction::Copy(CopySpec { from: Some(f), .. }) = &c.instruction {
                let mut look = |n: &str| lookup_pairs(&meta, n);
                r.push(lexer.word(f, &mut look).unwrap_or_else(|_| f.clone()));
            }
        }
        r
    };
    let waves = graph::waves(&df, target, &refs);
    let scratch_dir = engine.config.root.join("build-cache").join("tmp");
    std::fs::create_dir_all(&scratch_dir).map_err(|e| EngineError::Io {
        path: scratch_dir.clone(),
        source: e,
    })?;
    let shared = Shared {
        df: &df,
        opts,
        progress,
        context,
        lexer,
        meta,
        results: Mutex::new((0..df.stages.len()).map(|_| None).collect()),
        used_args: Mutex::new(BTreeSet::new()),
        totals: df
            .stages
            .iter()
            .map(|s| 1 + s.commands.iter().filter(|c| shown(&c.instruction)).count())
            .collect(),
        multi: df.stages.len() > 1,
        scratch_dir,
    };
    for wave in &waves {
        if wave.len() == 1 {
            run_stage(engine, &shared, wave[0])?;
            continue;
        }
        let config = engine.config.clone();
        let results: Vec<Result<(), BuildError>> = std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .iter()
                .map(|&i| {
                    let shared = &shared;
                    let config = config.clone();
                    s.spawn(move || {
                        let mut e = Engine::open(config)?;
                        run_stage(&mut e, shared, i)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(BuildError::Invalid("a build stage panicked".into()))
                    })
                })
                .collect()
        });
        for r in results {
            r?;
        }
    }
    let final_image = shared
        .results
        .lock()
        .ok()
        .and_then(|r| r[target].as_ref().map(|r| r.image.clone()))
        .ok_or_else(|| BuildError::Invalid("the target stage produced no image".into()))?;
    // Build args nobody declared: Docker's warning.
    let used = shared
        .used_args
        .lock()
        .map(|u| u.clone())
        .unwrap_or_default();
    let unused: Vec<&str> = opts
        .build_args
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !used.contains(*k) && !PROXY_ARGS.contains(k))
        .collect();
    if !unused.is_empty() {
        progress.note(&format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        ));
    }
    let v = progress.vertex("exporting to image");
    v.log("exporting layers done");
    v.log(&format!("writing image {final_image} done"));
    let mut applied = Vec::new();
    for t in &tags {
        engine
            .store
            .set_tag(&t.to_string(), &final_image)
            .map_err(EngineError::from)?;
        v.log(&format!("naming to {t} done"));
        applied.push(t.to_string());
    }
    v.done();
    Ok(BuildOutcome {
        id: final_image,
        tags: applied,
    })
}

/// BuildKit's automatic platform args (`TARGETARCH`, `BUILDPLATFORM`, …): global, so usable
/// in `FROM` and, once declared with `ARG NAME`, in a stage.
fn platform_arg(name: &str) -> Option<String> {
    let arch = host_arch();
    let platform = format!("linux/{arch}");
    Some(match name {
        "TARGETPLATFORM" | "BUILDPLATFORM" => platform,
        "TARGETOS" | "BUILDOS" => "linux".into(),
        "TARGETARCH" | "BUILDARCH" => arch.into(),
        "TARGETVARIANT" | "BUILDVARIANT" => String::new(),
        _ => return None,
    })
}

/// A meta ARG's value (build arg, default, or automatic platform arg).
fn meta_value(meta: &[(String, Option<String>)], name: &str) -> Option<String> {
    match meta.iter().rev().find(|(k, _)| k == name) {
        Some((_, v)) => v.clone(),
        None => platform_arg(name),
    }
}

fn lookup_pairs(pairs: &[(String, Option<String>)], name: &str) -> Option<String> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.clone())
}

// ------------------------------------------------------------------------------------------
// Stage state

struct State {
    /// An image record holding exactly `layers` (None: none made yet, e.g. `FROM scratch`).
    image: Option<Digest>,
    layers: Vec<LayerSource>,
    cfg: ImageConfig,
    key: String,
    /// ARGs in scope, with their values.
    args: Vec<(String, Option<String>)>,
    cmd_set: bool,
}

impl State {
    fn config(&mut self) -> &mut ContainerConfig {
        self.cfg.config.get_or_insert_with(Default::default)
    }

    fn env(&self) -> Vec<String> {
        self.cfg
            .config
            .as_ref()
            .map(|c| c.env.clone())
            .unwrap_or_default()
    }

    fn env_lookup(&self, name: &str) -> Option<String> {
        let env = self
            .cfg
            .config
            .as_ref()
            .map(|c| c.env.as_slice())
            .unwrap_or(&[]);
        if let Some(v) = env.iter().rev().find_map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e, ""));
            (k == name).then(|| v.to_string())
        }) {
            return Some(v);
        }
        lookup_pairs(&self.args, name)
    }

    /// The build args visible to `RUN` (set, and not shadowed by `ENV`), sorted.
    fn run_args(&self) -> Vec<String> {
        let env = self.env();
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in &self.args {
            if let Some(v) = v {
                if !env.iter().any(|e| e.split('=').next() == Some(k.as_str())) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        out.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    fn history(&mut self, created_by: String, empty: bool) {
        self.cfg.history.push(History {
            created: Some(now()),
            author: None,
            created_by: Some(created_by),
            comment: if empty {
                None
            } else {
                Some("buildkit.dockerfile.v0".into())
            },
            empty_layer: empty,
        });
    }

    fn rekey(&mut self, fields: &[&str]) {
        let mut k = KeyBuilder::new(&self.key);
        for f in fields {
            k.field(f);
        }
        self.key = k.finish();
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Go's `%v` of a string slice (`[a b]`), BuildKit's history format for JSON forms.
fn go_slice(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

fn go_quoted_slice(v: &[String]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|s| serde_json::to_string(s).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    )
}

impl Engine {
    fn build_layer_sources(&self, image: &Digest) -> Result<Vec<LayerSource>, EngineError> {
        let rec = self
            .store
            .image(image)?
            .ok_or_else(|| EngineError::NoSuchImage(image.to_string()))?;
        let mut out = Vec::new();
        for chain in &rec.layers {
            let l = self
                .store
                .layer(chain)?
                .ok_or_else(|| berth_store::StoreError::LayerVanished(chain.clone()))?;
            out.push(LayerSource {
                blob: l.blob,
                media_type: l.media_type,
                diff_id: l.diff_id,
                parent: l.parent,
                chain_id: l.chain_id,
            });
        }
        Ok(out)
    }

    fn cache_get(&self, key: &str) -> Option<Digest> {
        let id: String = self
            .store
            .db()
            .conn()
            .query_row(
                "SELECT image_id FROM build_cache WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .ok()?;
        let id: Digest = id.parse().ok()?;
        self.store.image(&id).ok().flatten().map(|_| id)
    }

    fn cache_put(&mut self, key: &str, id: &Digest) -> Result<(), EngineError> {
        let now = berth_store::now_nanos();
        self.store.db_mut().write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO build_cache (key, image_id, created) VALUES (?1, ?2, ?3)",
                rusqlite::params![key, id.to_string(), now],
            )
        })?;
        Ok(())
    }

    /// Loads a state's image part from a stored image.
    fn state_from_image(&self, st: &mut State, id: &Digest) -> Result<(), EngineError> {
        st.cfg = self.image_config(id)?;
        st.layers = self.build_layer_sources(id)?;
        st.image = Some(id.clone());
        Ok(())
    }

    /// Commits the state (plus `layer`, if any) as an image and records it under `key`.
    fn commit_state(
        &mut self,
        st: &mut State,
        layer: Option<LayerSource>,
        key: &str,
    ) -> Result<Digest, EngineError> {
        let mut sources = st.layers.clone();
        if let Some(l) = layer {
            st.cfg.rootfs.diff_ids.push(l.diff_id.clone());
            sources.push(l);
        }
        st.cfg.rootfs = RootFs::layers(st.cfg.rootfs.diff_ids.clone());
        let created = now();
        st.cfg.created = Some(created.clone());
        if st.cfg.os.is_empty() {
            st.cfg.os = "linux".into();
        }
        if st.cfg.architecture.is_empty() {
            st.cfg.architecture = host_arch().into();
        }
        let bytes = serde_json::to_vec(&st.cfg)
            .map_err(|e| EngineError::InvalidArgument(format!("image config: {e}")))?;
        let id = self.store.blobs().put(&bytes)?;
        let labels = st
            .cfg
            .config
            .as_ref()
            .and_then(|c| c.labels.clone())
            .unwrap_or_default();
        let new = NewImage {
            id: id.clone(),
            created: Some(created),
            labels: labels.into_iter().collect(),
            parent: st.image.clone(),
            layers: Vec::new(),
            tags: Vec::new(),
            digests: Vec::new(),
        };
        commit_with_layers(&mut self.store, new, &sources)?;
        self.cache_put(key, &id)?;
        st.layers = sources;
        st.image = Some(id.clone());
        Ok(id)
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        other => other,
    }
}

// ------------------------------------------------------------------------------------------
// One stage

struct Runner<'a, 'b> {
    e: &'a mut Engine,
    sh: &'a Shared<'b>,
    idx: usize,
    st: State,
    step: usize,
    /// Every step so far came from the cache (or made nothing new).
    cached: bool,
}

fn run_stage(engine: &mut Engine, sh: &Shared<'_>, idx: usize) -> Result<(), BuildError> {
    let stage = &sh.df.stages[idx];
    let mut r = Runner {
        e: engine,
        sh,
        idx,
        st: State {
            image: None,
            layers: Vec::new(),
            cfg: ImageConfig::default(),
            key: String::new(),
            args: Vec::new(),
            cmd_set: false,
        },
        step: 1,
        cached: true,
    };
    let from_cmd = Command {
        instruction: Instruction::From {
            image: stage.base.clone(),
            name: stage.name.clone(),
            platform: stage.platform.clone(),
        },
        line: stage.line,
        end_line: stage.line,
        text: stage.text.clone(),
    };
    let base = {
        let mut look = |n: &str| meta_value(&sh.meta, n);
        sh.lexer
            .word(&stage.base, &mut look)
            .map_err(|e| step_err(&from_cmd, ErrorKind::InvalidArgument, e.0))?
    };
    if base.is_empty() {
        return Err(step_err(
            &from_cmd,
            ErrorKind::InvalidArgument,
            format!("base name ({}) should not be blank", stage.base),
        ));
    }
    let v = r.vertex(&format!("FROM {base}"));
    let triggers = if base.eq_ignore_ascii_case("scratch") {
        r.st.key = KeyBuilder::new("scratch").finish();
        r.st.cfg.os = "linux".into();
        r.st.cfg.architecture = host_arch().into();
        r.st.cfg.rootfs = RootFs::layers(Vec::new());
        Vec::new()
    } else if let Some(dep) = graph::stage_ref(sh.df, &base, idx) {
        let (image, key) = {
            let res = sh
                .results
                .lock()
                .map_err(|_| BuildError::Invalid("lock".into()))?;
            let d = res[dep]
                .as_ref()
                .ok_or_else(|| BuildError::Invalid(format!("stage {dep} was not built")))?;
            (d.image.clone(), d.key.clone())
        };
        r.e.state_from_image(&mut r.st, &image)
            .map_err(|e| engine_step_err(&from_cmd, e))?;
        r.st.key = key;
        // A previous stage's ONBUILD triggers run too, as for an image base.
        let t =
            r.st.cfg
                .config
                .as_ref()
                .map(|c| c.on_build.clone())
                .unwrap_or_default();
        if !t.is_empty() {
            r.st.config().on_build.clear();
        }
        t
    } else {
        let id = r
            .e
            .image_for_build(&base, sh.opts.pull)
            .map_err(|e| {
                let msg = match &e {
                    EngineError::NoSuchImage(_) => format!(
                        "{base}: failed to resolve source metadata: pull access denied, repository does not exist or may require authorization: no such image locally ({e})"
                    ),
                    _ => e.to_string(),
                };
                step_err(&from_cmd, e.kind(), msg)
            })?;
        r.e.state_from_image(&mut r.st, &id)
            .map_err(|e| engine_step_err(&from_cmd, e))?;
        r.st.key = KeyBuilder::new(&id.to_string()).finish();
        let t =
            r.st.cfg
                .config
                .as_ref()
                .map(|c| c.on_build.clone())
                .unwrap_or_default();
        if !t.is_empty() {
            r.st.config().on_build.clear();
        }
        t
    };
    // The stage's own image starts with the base's history, not its `created`/container.
    r.st.cfg.container = None;
    r.st.cfg.container_config = None;
    v.done();
    // ONBUILD triggers of the base run first, as if written right after FROM.
    for t in triggers {
        let parsed = berth_build::parser::parse(&t).map_err(|e| {
            step_err(
                &from_cmd,
                ErrorKind::InvalidArgument,
                format!("ONBUILD trigger {t:?}: {}", e.message),
            )
        })?;
        for n in &parsed.nodes {
            let instruction = berth_build::instructions::parse_node(n).map_err(|e| {
                step_err(
                    &from_cmd,
                    ErrorKind::InvalidArgument,
                    format!("ONBUILD trigger {t:?}: {}", e.message),
                )
            })?;
            let c = Command {
                instruction,
                line: stage.line,
                end_line: stage.line,
                text: t.clone(),
            };
            r.command(&c)?;
        }
    }
    for c in &stage.commands {
        if interrupted() {
            return Err(BuildError::Interrupted);
        }
        r.command(c)?;
    }
    // The stage's image, keyed so a fully cached build gives the same id.
    let mut end = KeyBuilder::new(&r.st.key);
    end.field("end-of-stage");
    let final_target = sh.df.target(sh.opts.target.as_deref()) == Some(idx);
    if final_target {
        for (k, v) in &sh.opts.labels {
            end.field(k).field(v);
        }
    }
    let end_key = end.finish();
    let image = match r.e.cache_get(&end_key).filter(|_| !sh.opts.no_cache) {
        Some(id) if r.cached || r.st.image.as_ref() == Some(&id) => id,
        _ => {
            if final_target && !sh.opts.labels.is_empty() {
                let labels = r.st.config().labels.get_or_insert_with(Default::default);
                for (k, v) in &sh.opts.labels {
                    labels.insert(k.clone(), v.clone());
                }
            }
            let key = end_key.clone();
            r.e.commit_state(&mut r.st, None, &key)
                .map_err(BuildError::Engine)?
        }
    };
    if let Ok(mut res) = sh.results.lock() {
        res[idx] = Some(StageResult {
            image,
            key: end_key,
        });
    }
    Ok(())
}

impl<'b> Runner<'_, 'b> {
    fn vertex(&mut self, what: &str) -> Vertex<'b> {
        let total = self.sh.totals[self.idx];
        let label = if self.sh.multi {
            format!(
                "[{} {}/{}] {what}",
                self.sh.df.stages[self.idx].display_name(),
                self.step,
                total
            )
        } else {
            format!("[{}/{}] {what}", self.step, total)
        };
        self.step += 1;
        let p: &'b Progress = self.sh.progress;
        p.vertex(&label)
    }

    /// Expands the `KEY=value` pairs of `ENV`/`LABEL` (`kw`), and records the step (its
    /// cache key and its history line, `KW k=v …`) as a metadata-only one.
    fn key_values(
        &mut self,
        c: &Command,
        kw: &str,
        pairs: &[(String, String)],
    ) -> Result<Vec<(String, String)>, BuildError> {
        let mut set = Vec::new();
        for (k, v) in pairs {
            set.push((self.word(c, k)?, self.word(c, v)?));
        }
        let shown: Vec<String> = set.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let text = format!("{kw} {}", shown.join(" "));
        self.st.rekey(&[&text]);
        self.st.history(text, true);
        Ok(set)
    }

    fn word(&self, c: &Command, s: &str) -> Result<String, BuildError> {
        let mut used = Vec::new();
        let mut look = |n: &str| {
            used.push(n.to_string());
            self.st.env_lookup(n)
        };
        let out = self
            .sh
            .lexer
            .word(s, &mut look)
            .map_err(|e| step_err(c, ErrorKind::InvalidArgument, e.0))?;
        Ok(out)
    }

    fn words(&self, c: &Command, s: &str) -> Result<Vec<String>, BuildError> {
        let mut look = |n: &str| self.st.env_lookup(n);
        self.sh
            .lexer
            .words(s, &mut look)
            .map_err(|e| step_err(c, ErrorKind::InvalidArgument, e.0))
    }

    fn shell(&self) -> Vec<String> {
        let s = self
            .st
            .cfg
            .config
            .as_ref()
            .map(|c| c.shell.clone())
            .unwrap_or_default();
        if s.is_empty() {
            vec!["/bin/sh".into(), "-c".into()]
        } else {
            s
        }
    }

    fn command(&mut self, c: &Command) -> Result<(), BuildError> {
        match &c.instruction {
            Instruction::From { .. } => unreachable!("FROM starts a stage"),
            Instruction::Arg(args) => {
                let mut shown = Vec::new();
                for (k, default) in args {
                    if let Ok(mut u) = self.sh.used_args.lock() {
                        u.insert(k.clone());
                    }
                    let given = self
                        .sh
                        .opts
                        .build_args
                        .iter()
                        .rev()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone());
                    let value = match (given, default) {
                        (Some(v), _) => Some(v),
                        (None, Some(d)) => Some(self.word(c, d)?),
                        // A redeclared meta ARG takes the meta value.
                        (None, None) => meta_value(&self.sh.meta, k),
                    };
                    // History and key hold the declaration, not the value: a value only
                    // matters to the steps that use it (RUN keys carry the args they see).
                    shown.push(match default {
                        Some(d) => format!("{k}={d}"),
                        None => k.clone(),
                    });
                    self.st.args.retain(|(n, _)| n != k);
                    self.st.args.push((k.clone(), value));
                }
                let text = format!("ARG {}", shown.join(" "));
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Env(pairs) => {
                let set = self.key_values(c, "ENV", pairs)?;
                let cfg = self.st.config();
                for (k, v) in &set {
                    cfg.env.retain(|e| e.split('=').next() != Some(k.as_str()));
                    cfg.env.push(format!("{k}={v}"));
                }
            }
            Instruction::Label(pairs) => {
                let set = self.key_values(c, "LABEL", pairs)?;
                let labels = self.st.config().labels.get_or_insert_with(Default::default);
                labels.extend(set);
            }
            Instruction::Expose(text) => {
                let mut ports = Vec::new();
                for p in self.words(c, text)? {
                    let (port, proto) = p.split_once('/').unwrap_or((&p, "tcp"));
                    let proto = proto.to_ascii_lowercase();
                    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
                        return Err(step_err(
                            c,
                            ErrorKind::InvalidArgument,
                            format!("invalid proto: {proto}"),
                        ));
                    }
                    let ok = |s: &str| s.parse::<u16>().is_ok();
                    let valid = match port.split_once('-') {
                        Some((a, b)) => ok(a) && ok(b),
                        None => ok(port),
                    };
                    if !valid {
                        return Err(step_err(
                            c,
                            ErrorKind::InvalidArgument,
                            format!("invalid containerPort: {port}"),
                        ));
                    }
                    match port.split_once('-') {
                        Some((a, b)) => {
                            let (a, b) =
                                (a.parse::<u16>().unwrap_or(0), b.parse::<u16>().unwrap_or(0));
                            for n in a..=b.max(a) {
                                ports.push(format!("{n}/{proto}"));
                            }
                        }
                        None => ports.push(format!("{port}/{proto}")),
                    }
                }
                let cfg = self.st.config();
                for p in &ports {
                    cfg.exposed_ports.insert(p.clone(), Default::default());
                }
                let text = format!(
                    "EXPOSE map[{}]",
                    ports
                        .iter()
                        .map(|p| format!("{p}:{{}}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Volume(list, json) => {
                let vols = if *json {
                    list.iter()
                        .map(|v| self.word(c, v))
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    self.words(c, &list[0])?
                };
                if vols.iter().any(|v| v.trim().is_empty()) {
                    return Err(step_err(
                        c,
                        ErrorKind::InvalidArgument,
                        "VOLUME specified can not be an empty string",
                    ));
                }
                let cfg = self.st.config();
                for v in &vols {
                    cfg.volumes.insert(v.clone(), Default::default());
                }
                let text = format!("VOLUME {}", go_slice(&vols));
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Workdir(w) => {
                let w = self.word(c, w)?;
                if w.is_empty() {
                    return Err(step_err(
                        c,
                        ErrorKind::InvalidArgument,
                        "cannot normalize nothing",
                    ));
                }
                let cur = self.st.config().working_dir.clone();
                let dir = if w.starts_with('/') {
                    clean(&w)
                } else {
                    clean(&format!("{}/{w}", if cur.is_empty() { "/" } else { &cur }))
                };
                self.workdir(c, &dir)?;
            }
            Instruction::User(u) => {
                let u = self.word(c, u)?;
                self.st.config().user = u.clone();
                let text = format!("USER {u}");
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::StopSignal(s) => {
                let s = self.word(c, s)?;
                let mut probe = ContainerConfig::default();
                berth_image::change::apply_change(&mut probe, &format!("STOPSIGNAL {s}"))
                    .map_err(|e| step_err(c, ErrorKind::InvalidArgument, e.to_string()))?;
                self.st.config().stop_signal = s.clone();
                let text = format!("STOPSIGNAL {s}");
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Cmd(form) | Instruction::Entrypoint(form) => {
                let is_cmd = matches!(c.instruction, Instruction::Cmd(_));
                let argv = match form {
                    CmdForm::Exec(v) => v.clone(),
                    CmdForm::Shell(s) => {
                        let mut a = self.shell();
                        a.push(s.clone());
                        a
                    }
                };
                let cmd_set = self.st.cmd_set;
                let cfg = self.st.config();
                let text = if is_cmd {
                    cfg.cmd = Some(argv.clone());
                    format!("CMD {}", go_quoted_slice(&argv))
                } else {
                    cfg.entrypoint = Some(argv.clone());
                    if !cmd_set {
                        cfg.cmd = None;
                    }
                    format!("ENTRYPOINT {}", go_quoted_slice(&argv))
                };
                if is_cmd {
                    self.st.cmd_set = true;
                }
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Shell(v) => {
                self.st.config().shell = v.clone();
                let text = format!("SHELL {}", go_quoted_slice(v));
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Healthcheck(line) => {
                berth_image::change::apply_change(self.st.config(), line)
                    .map_err(|e| step_err(c, ErrorKind::InvalidArgument, e.to_string()))?;
                let h = self.st.config().healthcheck.clone().unwrap_or_default();
                let text = format!(
                    "HEALTHCHECK &{{{} {} {} {} {} {}}}",
                    go_quoted_slice(&h.test),
                    go_duration(h.interval),
                    go_duration(h.timeout),
                    go_duration(h.start_period),
                    go_duration(h.start_interval),
                    h.retries
                );
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::OnBuild(t) => {
                self.st.config().on_build.push(t.clone());
                let text = format!("ONBUILD {t}");
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Maintainer(m) => {
                self.st.cfg.author = Some(m.clone());
                let text = format!("MAINTAINER {m}");
                self.st.rekey(&[&text]);
                self.st.history(text, true);
            }
            Instruction::Run { cmd, network } => self.run(c, cmd, network.as_deref())?,
            Instruction::Copy(spec) => self.copy(c, spec)?,
        }
        Ok(())
    }

    /// `WORKDIR`: sets the directory and, as BuildKit does, creates it in a layer of its
    /// own when it does not exist yet (an empty layer when it does).
    fn workdir(&mut self, c: &Command, dir: &str) -> Result<(), BuildError> {
        let v = self.vertex(&c.text);
        self.st.config().working_dir = dir.to_string();
        let text = format!("WORKDIR {dir}");
        let mut kb = KeyBuilder::new(&self.st.key);
        kb.field(&text);
        let key = kb.finish();
        if self.cache_hit(&key).map_err(|e| engine_step_err(c, e))? {
            v.cached();
            return Ok(());
        }
        self.cached = false;
        let made = (|| -> Result<Option<LayerSource>, EngineError> {
            let image = self.ensure_image()?;
            let mount = TempMount::new(self.e, &self.sh.scratch_dir, Some(&image))?;
            crate::containers::start::mkdir_in_root(&mount.paths.merged, dir)
                .map_err(crate::error::io_err(&mount.paths.merged))?;
            mount.unmount()?;
            self.pack_layer(&mount.paths.upper, &mount.lowers)
        })();
        let layer = match made {
            Ok(l) => l,
            Err(e) => {
                v.error(&e.to_string());
                return Err(engine_step_err(c, e));
            }
        };
        self.st.history(text, layer.is_none());
        self.e
            .commit_state(&mut self.st, layer, &key)
            .map_err(|e| engine_step_err(c, e))?;
        self.st.key = key;
        v.done();
        Ok(())
    }

    /// Makes sure an image record holds the current layers (for `FROM scratch` stages).
    fn ensure_image(&mut self) -> Result<Digest, EngineError> {
        if let Some(id) = &self.st.image {
            return Ok(id.clone());
        }
        let mut k = KeyBuilder::new(&self.st.key);
        k.field("base-image");
        let key = k.finish();
        let mut tmp = State {
            image: None,
            layers: self.st.layers.clone(),
            cfg: self.st.cfg.clone(),
            key: key.clone(),
            args: Vec::new(),
            cmd_set: false,
        };
        let id = self.e.commit_state(&mut tmp, None, &key)?;
        self.st.image = Some(id.clone());
        Ok(id)
    }

    fn cache_hit(&mut self, key: &str) -> Result<bool, EngineError> {
        if self.sh.opts.no_cache {
            return Ok(false);
        }
        let Some(id) = self.e.cache_get(key) else {
            return Ok(false);
        };
        let args = std::mem::take(&mut self.st.args);
        self.e.state_from_image(&mut self.st, &id)?;
        self.st.args = args;
        self.st.key = key.to_string();
        Ok(true)
    }

    fn run(&mut self, c: &Command, cmd: &CmdForm, network: Option<&str>) -> Result<(), BuildError> {
        let argv = match cmd {
            CmdForm::Exec(v) => v.clone(),
            CmdForm::Shell(s) => {
                let mut a = self.shell();
                a.push(s.clone());
                a
            }
        };
        let network = network.unwrap_or(&self.sh.opts.network).to_string();
        let args = self.st.run_args();
        let user_args: Vec<&String> = args
            .iter()
            .filter(|a| !PROXY_ARGS.contains(&a.split('=').next().unwrap_or("")))
            .collect();
        let created_by = if user_args.is_empty() {
            format!("RUN {} # buildkit", argv.join(" "))
        } else {
            format!(
                "RUN |{} {} {} # buildkit",
                user_args.len(),
                user_args
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                argv.join(" ")
            )
        };
        let mut kb = KeyBuilder::new(&self.st.key);
        kb.field("RUN")
            .field(&serde_json::to_string(&argv).unwrap_or_default());
        kb.field(&network);
        // Proxy args stay out of the key and history (Docker's rule), not out of the env.
        for a in &user_args {
            kb.field(a);
        }
        let mut args = args.clone();
        for (k, v) in &self.sh.opts.build_args {
            if PROXY_ARGS.contains(&k.as_str())
                && !args.iter().any(|a| a.split('=').next() == Some(k.as_str()))
            {
                args.push(format!("{k}={v}"));
            }
        }
        let key = kb.finish();
        let what = match cmd {
            CmdForm::Shell(s) if s.contains('\n') => {
                format!("RUN {}", s.lines().next().unwrap_or(""))
            }
            _ => c.text.clone(),
        };
        let mut v = self.vertex(&what);
        if self.cache_hit(&key).map_err(|e| engine_step_err(c, e))? {
            v.cached();
            return Ok(());
        }
        self.cached = false;
        let base = self.ensure_image().map_err(|e| engine_step_err(c, e))?;
        let cfg = self.st.cfg.config.clone().unwrap_or_default();
        let mut env = cfg.env.clone();
        for a in &args {
            env.push(a.clone());
        }
        let req = CreateRequest {
            name: None,
            config: crate::containers::Config {
                image: base.to_string(),
                cmd: Some(argv.clone()),
                entrypoint: Some(Vec::new()),
                env,
                user: cfg.user.clone(),
                working_dir: cfg.working_dir.clone(),
                attach_stdout: true,
                attach_stderr: true,
                healthcheck: Some(HealthConfig {
                    test: vec!["NONE".into()],
                    ..Default::default()
                }),
                labels: BTreeMap::from([(
                    BUILDER_LABEL.to_string(),
                    std::process::id().to_string(),
                )]),
                ..Default::default()
            },
            host_config: crate::containers::HostConfig {
                network_mode: network.clone(),
                ..Default::default()
            },
            endpoints: Default::default(),
        };
        let id = match self.e.create_container(req) {
            Ok(id) => id,
            Err(e) => {
                v.error(&e.to_string());
                return Err(engine_step_err(c, e));
            }
        };
        let result = self.run_container(c, &id, &mut v);
        let result = match result {
            Ok(0) => {
                let lowers = self.e.image_layer_dirs(&base.to_string());
                let paths = self.e.container_paths(&id);
                lowers
                    .and_then(|l| self.pack_layer(&paths.upper, &l))
                    .map_err(|e| engine_step_err(c, e))
            }
            Ok(code) => {
                let msg = format!(
                    "process \"{}\" did not complete successfully: exit code: {code}",
                    argv.join(" ")
                );
                Err(step_err(c, ErrorKind::Internal, msg))
            }
            Err(e) => Err(e),
        };
        clean_later(Job::Container(self.e.config.clone(), id.clone()));
        let layer = match result {
            Ok(l) => l,
            Err(e) => {
                let m = if interrupted() {
                    "interrupted".to_string()
                } else {
                    e.to_string()
                };
                v.error(&m);
                if interrupted() {
                    return Err(BuildError::Interrupted);
                }
                return Err(e);
            }
        };
        self.st.history(created_by, layer.is_none());
        self.e
            .commit_state(&mut self.st, layer, &key)
            .map_err(|e| engine_step_err(c, e))?;
        self.st.key = key;
        v.done();
        Ok(())
    }

    /// Starts a created build container, streams its output into the vertex, returns its
    /// exit code.
    fn run_container(
        &mut self,
        c: &Command,
        id: &str,
        v: &mut Vertex<'_>,
    ) -> Result<i32, BuildError> {
        let want = Want {
            stdin: false,
            stdout: true,
            stderr: true,
        };
        let started = self
            .e
            .start_container(id, Some(want))
            .map_err(|e| engine_step_err(c, e))?;
        if let Ok(mut p) = interrupt().pids.lock() {
            p.push(started.pid);
        }
        if interrupted() {
            if let Some(pid) = rustix::process::Pid::from_raw(started.pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
        let mut code = None;
        if let Some(mut sock) = started.attach {
            loop {
                match Frame::read_from(&mut sock) {
                    Ok(Some(Frame::Stdout(d))) | Ok(Some(Frame::Stderr(d))) => v.output(&d),
                    Ok(Some(Frame::Exit(c))) => {
                        code = Some(c);
                        break;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) | Err(_) => break,
                }
            }
        }
        let code = match code {
            Some(c) => c,
            None => self.e.wait_container(id).unwrap_or(125),
        };
        if let Ok(mut p) = interrupt().pids.lock() {
            p.retain(|&x| x != started.pid);
        }
        if interrupted() {
            return Err(BuildError::Interrupted);
        }
        Ok(code)
    }

    /// Packs an upper directory as a layer blob; `None` when it holds no change.
    fn pack_layer(
        &mut self,
        upper: &Path,
        lowers: &[PathBuf],
    ) -> Result<Option<LayerSource>, EngineError> {
        let ingest = self.e.store.blobs().ingest()?;
        let mut ingest = if upper.exists() {
            crate::containers::fsops::pack_upper(upper, lowers, ingest)
                .map_err(crate::containers::commit::fs_err)?
        } else {
            let mut i = ingest;
            i.write_all(&[0u8; 1024])
                .map_err(crate::error::io_err(upper))?;
            i
        };
        ingest.flush().map_err(|source| EngineError::Stream {
            what: "write layer",
            source,
        })?;
        if ingest.digest().to_string() == crate::containers::commit::EMPTY_TAR {
            return Ok(None);
        }
        let diff_id = ingest.commit(None, None)?;
        let chain = Digest::chain(self.st.layers.last().map(|s| &s.chain_id), &diff_id);
        Ok(Some(LayerSource {
            blob: diff_id.clone(),
            media_type: mediatype::OCI_LAYER.to_string(),
            diff_id,
            parent: self.st.layers.last().map(|s| s.chain_id.clone()),
            chain_id: chain,
        }))
    }

    fn copy(&mut self, c: &Command, spec: &CopySpec) -> Result<(), BuildError> {
        let kw = if spec.add { "ADD" } else { "COPY" };
        let v = self.vertex(&c.text);
        match self.copy_inner(c, spec, kw) {
            Ok(true) => {
                v.cached();
                Ok(())
            }
            Ok(false) => {
                v.done();
                Ok(())
            }
            Err(e) => {
                v.error(&e.to_string());
                Err(e)
            }
        }
    }

    /// Returns whether the step was cached.
    fn copy_inner(&mut self, c: &Command, spec: &CopySpec, kw: &str) -> Result<bool, BuildError> {
        let fail = |m: String| step_err(c, ErrorKind::InvalidArgument, m);
        let failed = |m: String| step_err(c, ErrorKind::NotFound, m);
        // Expand.
        let dest = self.word(c, &spec.dest)?;
        let mut sources = Vec::new();
        for s in &spec.sources {
            if spec.heredocs.iter().any(|h| &h.name == s) {
                sources.push(s.clone());
            } else {
                sources.push(self.word(c, s)?);
            }
        }
        let chown = spec.chown.as_ref().map(|s| self.word(c, s)).transpose()?;
        // The source root: the context, a stage or an image.
        let mut from_image: Option<Digest> = None;
        if let Some(f) = &spec.from {
            let f = self.word(c, f)?;
            if let Some(dep) = graph::stage_ref(self.sh.df, &f, self.idx) {
                let res = self
                    .sh
                    .results
                    .lock()
                    .map_err(|_| BuildError::Invalid("lock".into()))?;
                from_image = res[dep].as_ref().map(|r| r.image.clone());
                if from_image.is_none() {
                    return Err(fail(format!("stage {f} was not built")));
                }
            } else if f
                .eq_ignore_ascii_case(&self.sh.df.stages[self.idx].name.clone().unwrap_or_default())
            {
                return Err(fail(format!("circular dependency detected on stage: {f}")));
            } else {
                from_image = Some(self.e.image_for_build(&f, self.sh.opts.pull).map_err(|e| {
                    step_err(
                        c,
                        e.kind(),
                        format!("failed to resolve source metadata for {f}: {e}"),
                    )
                })?);
            }
        }
        let mut from_mount = None;
        let src_root: &SourceRoot = match &from_image {
            None => &self.sh.context,
            Some(id) => {
                let m = TempMount::new(self.e, &self.sh.scratch_dir, Some(id))
                    .map_err(|e| engine_step_err(c, e))?;
                let root = SourceRoot::open(&m.paths.merged, None)
                    .map_err(|e| fail(format!("open {}: {e}", m.paths.merged.display())))?;
                from_mount = Some((m, root));
                &from_mount.as_ref().expect("just set").1
            }
        };
        // Resolve sources.
        enum Src {
            Found(Found),
            Inline(String, String),
            Url(String),
        }
        let mut found = Vec::new();
        let mut wildcard = false;
        for s in &sources {
            if let Some(h) = spec.heredocs.iter().find(|h| &h.name == s) {
                let content = if h.expand {
                    let mut look = |n: &str| self.st.env_lookup(n);
                    // Only variables expand in a heredoc body; quotes stay.
                    expand_vars(&h.content, &mut look)
                } else {
                    h.content.clone()
                };
                found.push(Src::Inline(h.name.clone(), content));
                continue;
            }
            if s.starts_with("http://") || s.starts_with("https://") {
                if !spec.add {
                    return Err(fail("source can't be a URL for COPY".to_string()));
                }
                found.push(Src::Url(s.clone()));
                continue;
            }
            if context::has_wildcards(s) {
                wildcard = true;
            }
            match src_root.find(s) {
                Ok(list) => found.extend(list.into_iter().map(Src::Found)),
                Err(m) if m.starts_with("forbidden") => return Err(fail(m)),
                Err(m) => {
                    return Err(failed(format!(
                        "failed to calculate checksum of ref: failed to compute cache key: {m}"
                    )))
                }
            }
        }
        if let Some(Src::Url(u)) = found.iter().find(|f| matches!(f, Src::Url(_))) {
            return Err(step_err(c, ErrorKind::Unavailable, fetch_url_error(u)));
        }
        let workdir = self.st.config().working_dir.clone();
        let dest_abs = if dest.starts_with('/') {
            dest.clone()
        } else {
            format!("{}/{dest}", if workdir.is_empty() { "/" } else { &workdir })
        };
        let dest_dir_hint = dest.ends_with('/') || dest == "." || dest.ends_with("/.");
        if (found.len() > 1 || wildcard) && !dest_dir_hint {
            // Docker: several sources need a directory destination.
            if found.len() > 1 {
                return Err(fail(format!(
                    "When using {kw} with more than one source file, the destination must be a directory and end with a /"
                )));
            }
        }
        // Hash everything that decides the result.
        let mut h = Hasher::new();
        let owners = from_image.is_some();
        let mut listed = Vec::new();
        for f in &found {
            match f {
                Src::Found(f) => {
                    let entries = src_root
                        .entries(f)
                        .map_err(|e| fail(format!("{}: {e}", f.rel)))?;
                    context::hash_source(src_root, f, &entries, owners, &mut h)
                        .map_err(|e| fail(format!("{}: {e}", f.rel)))?;
                    listed.push(entries);
                }
                Src::Inline(n, content) => {
                    h.update(n.as_bytes());
                    h.update(content.as_bytes());
                    listed.push(Vec::new());
                }
                Src::Url(_) => listed.push(Vec::new()),
            }
        }
        let mut kb = KeyBuilder::new(&self.st.key);
        kb.field(kw)
            .field(&dest_abs)
            .field(&format!("{dest_dir_hint}{wildcard}"))
            .field(chown.as_deref().unwrap_or(""))
            .field(spec.chmod.as_deref().unwrap_or(""))
            .field(
                &from_image
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            )
            .field(&h.finish().to_string());
        let key = kb.finish();
        let created_by = format!("{} # buildkit", c.text);
        if self.cache_hit(&key).map_err(|e| engine_step_err(c, e))? {
            return Ok(true);
        }
        self.cached = false;
        // Mount the current layers and write into them.
        let mount = TempMount::new(self.e, &self.sh.scratch_dir, self.st.image.as_ref())
            .map_err(|e| engine_step_err(c, e))?;
        let merged = mount.paths.merged.clone();
        let root = rfs::open(
            &merged,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| fail(format!("open {}: {e}", merged.display())))?;
        let exists_dir = |p: &str| -> Option<bool> {
            let fd = rfs::openat2(
                &root,
                rel_of(p).as_str(),
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            )
            .ok()?;
            let st = rfs::fstat(&fd).ok()?;
            Some(FileType::from_raw_mode(st.st_mode) == FileType::Directory)
        };
        let clean_dest = clean(&dest_abs);
        let single_file = found.len() == 1
            && !wildcard
            && match &found[0] {
                Src::Found(f) => !(f.is_dir || spec.add && is_archive(src_root, f)),
                Src::Inline(..) => true,
                Src::Url(_) => false,
            };
        let dest_is_dir = dest_dir_hint || !single_file || exists_dir(&clean_dest) == Some(true);
        let (extract_dir, file_name) = if dest_is_dir {
            (clean_dest.clone(), None)
        } else {
            let (d, n) = clean_dest
                .rsplit_once('/')
                .unwrap_or(("", clean_dest.as_str()));
            (
                if d.is_empty() {
                    "/".to_string()
                } else {
                    d.to_string()
                },
                Some(n.to_string()),
            )
        };
        crate::containers::start::mkdir_in_root(&merged, &extract_dir)
            .map_err(|e| fail(format!("mkdir {extract_dir}: {e}")))?;
        // Owners: --chown (names resolved in the destination), else root for the context,
        // the source's own for --from.
        let owner = match &chown {
            Some(spec) => {
                let u = crate::containers::userdb::resolve_in_root(&merged, spec)
                    .map_err(|e| fail(format!("chown {spec}: {e}")))?
                    .map_err(|e| {
                        fail(format!(
                            "unable to convert uid/gid chown string to host mapping: {e}"
                        ))
                    })?;
                Some((u.uid, u.gid))
            }
            None if from_image.is_none() => Some((0, 0)),
            None => None,
        };
        let mode = spec
            .chmod
            .as_ref()
            .and_then(|m| u32::from_str_radix(m, 8).ok());
        let topts = TarOptions { owner, mode };
        let tar_path = self
            .sh
            .scratch_dir
            .join(format!("copy-{}.tar", rand_token()));
        let result = (|| -> Result<(), BuildError> {
            let file = std::fs::OpenOptions::new()
                .create_new(true)
                .read(true)
                .write(true)
                .open(&tar_path)
                .map_err(|e| fail(format!("{}: {e}", tar_path.display())))?;
            let _ = std::fs::remove_file(&tar_path);
            let mut b = tar::Builder::new(std::io::BufWriter::new(file));
            let mut archives = Vec::new();
            for (f, entries) in found.iter().zip(&listed) {
                match f {
                    Src::Found(f) => {
                        if spec.add && !f.is_dir && is_archive(src_root, f) {
                            archives.push(f);
                            continue;
                        }
                        let prefix = match (&file_name, f.is_dir) {
                            (Some(n), _) => n.clone(),
                            (None, true) => String::new(),
                            (None, false) => f.base.clone(),
                        };
                        context::append_source(src_root, f, entries, &prefix, &topts, &mut b)
                            .map_err(|e| fail(format!("{}: {e}", f.rel)))?;
                    }
                    Src::Inline(n, content) => {
                        let mut hd = tar::Header::new_gnu();
                        let (uid, gid) = owner.unwrap_or((0, 0));
                        hd.set_uid(u64::from(uid));
                        hd.set_gid(u64::from(gid));
                        hd.set_mode(mode.unwrap_or(0o644));
                        hd.set_mtime(0);
                        hd.set_size(content.len() as u64);
                        hd.set_entry_type(tar::EntryType::Regular);
                        let name = file_name.clone().unwrap_or_else(|| n.clone());
                        b.append_data(&mut hd, name, content.as_bytes())
                            .map_err(|e| fail(e.to_string()))?;
                    }
                    Src::Url(_) => {}
                }
            }
            let w = b.into_inner().map_err(|e| fail(e.to_string()))?;
            let mut file = w.into_inner().map_err(|e| fail(e.to_string()))?;
            file.rewind().map_err(|e| fail(e.to_string()))?;
            let dest_fd = rfs::openat2(
                &root,
                rel_of(&extract_dir).as_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
                ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
            )
            .map_err(|e| fail(format!("open {extract_dir}: {e}")))?;
            let dest_path = PathBuf::from(format!(
                "/proc/self/fd/{}",
                std::os::fd::AsRawFd::as_raw_fd(&dest_fd)
            ));
            let opts = berth_tar::ApplyOptions {
                whiteouts: berth_tar::WhiteoutMode::Apply,
                limits: berth_tar::Limits::default(),
                preserve_owner: true,
            };
            berth_tar::apply_layer(std::io::BufReader::new(file), &dest_path, &opts)
                .map_err(|e| fail(format!("copy to {extract_dir}: {e}")))?;
            for f in archives {
                let entries = src_root.entries(f).map_err(|e| fail(e.to_string()))?;
                let Some(e) = entries.first() else { continue };
                let file = src_root.open_entry(f, e).map_err(|e| fail(e.to_string()))?;
                let opts = berth_tar::ApplyOptions {
                    whiteouts: berth_tar::WhiteoutMode::Apply,
                    limits: berth_tar::Limits::default(),
                    preserve_owner: true,
                };
                let reader = decompress_any(file, &self.sh.scratch_dir)
                    .map_err(|e| fail(format!("{}: {e}", f.rel)))?;
                berth_tar::apply_layer(std::io::BufReader::new(reader), &dest_path, &opts)
                    .map_err(|e| fail(format!("extract {}: {e}", f.rel)))?;
            }
            drop(dest_fd);
            Ok(())
        })();
        drop(root);
        let _ = std::fs::remove_file(&tar_path);
        result?;
        drop(from_mount);
        let lowers = mount.lowers.clone();
        mount.unmount().map_err(|e| engine_step_err(c, e))?;
        let layer = self
            .pack_layer(&mount.paths.upper, &lowers)
            .map_err(|e| engine_step_err(c, e))?;
        drop(mount);
        self.st.history(created_by, layer.is_none());
        self.e
            .commit_state(&mut self.st, layer, &key)
            .map_err(|e| engine_step_err(c, e))?;
        self.st.key = key;
        Ok(false)
    }
}

/// A path inside a root as `openat2` wants it (relative, `.` for the root).
fn rel_of(p: &str) -> String {
    let t = p.trim_start_matches('/');
    if t.is_empty() {
        ".".into()
    } else {
        t.to_string()
    }
}

fn rand_token() -> String {
    use rand::Rng;
    let mut b = [0u8; 8];
    rand::rng().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `$VAR` and `${VAR…}` in a heredoc body; quotes and other characters stay as written.
fn expand_vars(s: &str, look: &mut dyn FnMut(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if c == '$' {
            if chars.get(i + 1) == Some(&'{') {
                if let Some(end) = chars[i + 2..].iter().position(|&c| c == '}') {
                    let inner: String = chars[i + 2..i + 2 + end].iter().collect();
                    let lexed = Lexer::default()
                        .word(&format!("${{{inner}}}"), look)
                        .unwrap_or_default();
                    out.push_str(&lexed);
                    i += end + 3;
                    continue;
                }
            } else {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].is_ascii_alphanumeric() || chars[j] == '_') {
                    j += 1;
                }
                if j > i + 1 && !chars[i + 1].is_ascii_digit() {
                    let name: String = chars[i + 1..j].iter().collect();
                    out.push_str(&look(&name).unwrap_or_default());
                    i = j;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let secs = ns as f64 / 1e9;
    if ns % 1_000_000_000 == 0 {
        let s = ns / 1_000_000_000;
        let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
        let mut out = String::new();
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{s}s"));
        out
    } else {
        format!("{secs}s")
    }
}

/// What `ADD <url>` says: berth has no HTTP client in the builder, so a URL source is an
/// error naming the URL and whether it could be reached at all.
fn fetch_url_error(url: &str) -> String {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let hostport = rest.split('/').next().unwrap_or("");
    let default_port = if url.starts_with("https://") { 443 } else { 80 };
    let addr = if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_string()
    } else {
        format!("{hostport}:{default_port}")
    };
    use std::net::ToSocketAddrs;
    let reach = match addr.to_socket_addrs() {
        Err(e) => format!("dial tcp: lookup {hostport}: {e}"),
        Ok(mut addrs) => match addrs.next() {
            None => format!("dial tcp: lookup {hostport}: no such host"),
            Some(a) => {
                match std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(5)) {
                    Err(e) => format!("dial tcp {a}: {e}"),
                    Ok(_) => "downloading URLs in ADD is not supported by berth".into(),
                }
            }
        },
    };
    format!("failed to load cache key: invalid response status from {url}: {reach}")
}

/// Whether a local `ADD` source is an archive berth extracts (tar, gzip, bzip2, xz, zstd
/// by magic; a plain tar by its `ustar` header).
fn is_archive(root: &SourceRoot, f: &Found) -> bool {
    let Ok(entries) = root.entries(f) else {
        return false;
    };
    let Some(e) = entries.first() else {
        return false;
    };
    let Ok(mut file) = root.open_entry(f, e) else {
        return false;
    };
    let mut head = [0u8; 512];
    let mut n = 0;
    while n < head.len() {
        match file.read(&mut head[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    let h = &head[..n];
    h.starts_with(&[0x1f, 0x8b])
        || h.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || h.starts_with(b"BZh")
        || h.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0])
        || (n >= 262 && &h[257..262] == b"ustar")
}

fn decompress_any(file: std::fs::File, scratch: &Path) -> Result<Box<dyn Read + Send>, String> {
    let mut br = std::io::BufReader::new(file);
    let head = std::io::BufRead::fill_buf(&mut br)
        .map_err(|e| e.to_string())?
        .to_vec();
    if head.starts_with(b"BZh") {
        return Ok(Box::new(bzip2::read::MultiBzDecoder::new(br)));
    }
    if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        // lzma-rs decodes into a writer: an unlinked temporary file, read back.
        let path = scratch.join(format!("xz-{}", rand_token()));
        let out = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let _ = std::fs::remove_file(&path);
        let mut w = std::io::BufWriter::new(out);
        lzma_rs::xz_decompress(&mut br, &mut w).map_err(|e| format!("xz: {e}"))?;
        let mut out = w.into_inner().map_err(|e| e.to_string())?;
        out.rewind().map_err(|e| e.to_string())?;
        return Ok(Box::new(out));
    }
    berth_tar::decompress(br)
        .map(|(_, r)| r)
        .map_err(|e| e.to_string())
}

// ------------------------------------------------------------------------------------------
// Private overlay mounts

/// An overlay of an image's layers under `build-cache/mounts/`, unmounted and removed on
/// drop.
struct TempMount {
    paths: Paths,
    lowers: Vec<PathBuf>,
    mounted: bool,
}

impl TempMount {
    fn new(e: &Engine, scratch: &Path, image: Option<&Digest>) -> Result<TempMount, EngineError> {
        let lowers = match image {
            Some(id) => e.image_layer_dirs(&id.to_string())?,
            None => Vec::new(),
        };
        let id = format!("mnt-{}", rand_token());
        // `build-cache/mounts/containers/mnt-*`, beside the scratch directory.
        let base = scratch.parent().unwrap_or(scratch).join("mounts");
        let paths = Paths::new(&base, &base, &id);
        let mut m = TempMount {
            paths,
            lowers,
            mounted: false,
        };
        rootfs::mount(&m.paths, &m.lowers).map_err(crate::error::io_err(&m.paths.merged))?;
        m.mounted = true;
        Ok(m)
    }

    fn unmount(&self) -> Result<(), EngineError> {
        rootfs::unmount(&self.paths).map_err(crate::error::io_err(&self.paths.merged))
    }
}

impl Drop for TempMount {
    fn drop(&mut self) {
        clean_later(Job::Mount(Box::new(self.paths.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heredoc_bodies_expand_only_variables() {
        let mut look = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(
            expand_vars("a=$A b=${A} c=${B:-d} '$A' \\$A $1 $\n", &mut look),
            "a=1 b=1 c=d '1' $A $1 $\n",
            "quotes stay, an escaped dollar is literal"
        );
        assert_eq!(expand_vars("\\$", &mut look), "$");
    }

    #[test]
    fn go_durations_and_platform_args() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(5_000_000_000), "5s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(platform_arg("TARGETOS").as_deref(), Some("linux"));
        assert_eq!(platform_arg("NOPE"), None);
        let meta = vec![("TARGETOS".to_string(), Some("x".to_string()))];
        assert_eq!(meta_value(&meta, "TARGETOS").as_deref(), Some("x"));
        assert_eq!(go_slice(&["a".into(), "b".into()]), "[a b]");
        assert_eq!(
            go_quoted_slice(&["a".into(), "b c".into()]),
            "[\"a\" \"b c\"]"
        );
    }
}
