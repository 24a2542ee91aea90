//! `berth build`: executes a Dockerfile (parsed by `berth_build`) against the store.
//!
//! # Design
//! Each stage keeps a state: the image config being built (with its history and diff ids),
//! the layers so far, an image record holding exactly those layers (the base for `RUN`
//! containers) and a cache key chained from the base image id through every instruction.
//! Metadata instructions (`ENV`, `CMD`, `LABEL`, …) only change the config and the key.
//! Steps that make a layer commit an intermediate image (untagged, its parent the previous
//! one, so `images` hides it as Docker's classic builder does) and record
//! `key → image id` in the `build_cache` table; the next build with the same key reuses that
//! image (`CACHED`) as long as it still exists. The end of a stage is keyed too, so a fully
//! cached build yields the very same image id.
//!
//! - `RUN` runs in a real berth container (create, start through the monitor, attach to its
//!   output, wait) with Docker's build defaults: the default security profile, the stage's
//!   env plus the build args in scope, its user and working dir, no health check, the
//!   network `--network` (or the instruction's `--network`) names. Its upper directory is
//!   packed like `commit` does; the container is removed whatever happens, and Ctrl-C
//!   (SIGINT/SIGTERM/SIGHUP) kills the step's process so the clean-up still runs. Removal
//!   (of containers and private mounts) runs in a janitor thread while the next steps go
//!   on, and the build waits for it before returning. Each step container carries its
//!   builder's pid as a label, so a build whose process was killed outright has its
//!   container removed by the next build.
//! - `COPY`/`ADD` hash their sources first (content and metadata, not times); on a miss they
//!   mount an overlay of the current layers in a private directory, create the destination
//!   inside it (`openat2` in-root), extract a tar of the sources there and pack the upper
//!   directory as the layer.
//! - Stages run in waves from `berth_build::graph`: only what the target needs, and the
//!   stages of one wave in parallel threads (each with its own engine handle).
//! - Base images come from [`Engine::image_for_build`], the one place that decides what a
//!   missing image means (today: an error; a registry pull can plug in there).

pub mod context;
mod exec;
pub mod progress;

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_build::ParseError;
use berth_types::{Classify, Digest, ErrorKind};

pub use progress::Progress;

use crate::{Engine, EngineError};

/// Where the Dockerfile comes from.
#[derive(Debug, Clone)]
pub enum DockerfileSource {
    /// A path: relative to the context, or absolute on the host (`-f`).
    Path(String),
    /// The text itself (`-f -`, or a Dockerfile piped as the context).
    Inline(String),
}

/// What `berth build` was asked.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The context directory (tar contexts are unpacked by [`unpack_context`] first).
    pub context: PathBuf,
    /// The Dockerfile.
    pub dockerfile: DockerfileSource,
    /// `-t` names, as given.
    pub tags: Vec<String>,
    /// `--build-arg NAME=value` (a value of `None` takes the variable from the caller's
    /// environment, resolved by the caller).
    pub build_args: Vec<(String, String)>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: bool,
    /// `--label` for the final image.
    pub labels: BTreeMap<String, String>,
    /// `--network` for `RUN` (`default`, `none`, `host`).
    pub network: String,
}

/// What a build made.
#[derive(Debug, Clone)]
pub struct BuildOutcome {
    /// The image id.
    pub id: Digest,
    /// The tags applied (full references).
    pub tags: Vec<String>,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// An instruction failed.
    #[error("{message}")]
    Step {
        /// First line of the instruction.
        line: usize,
        /// Last line.
        end_line: usize,
        /// What failed.
        message: String,
        /// The error's class.
        kind: ErrorKind,
    },
    /// A problem outside any instruction (context, target, tags).
    #[error("{0}")]
    Invalid(String),
    /// An engine failure outside any instruction.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// SIGINT/SIGTERM arrived.
    #[error("build interrupted")]
    Interrupted,
}

impl BuildError {
    /// The Dockerfile lines the error concerns.
    pub fn lines(&self) -> Option<(usize, usize)> {
        match self {
            BuildError::Parse(p) => Some((p.line, p.line)),
            BuildError::Step { line, end_line, .. } => Some((*line, *end_line)),
            _ => None,
        }
    }
}

impl Classify for BuildError {
    fn kind(&self) -> ErrorKind {
        match self {
            BuildError::Parse(_) | BuildError::Invalid(_) => ErrorKind::InvalidArgument,
            BuildError::Step { kind, .. } => *kind,
            BuildError::Engine(e) => e.kind(),
            BuildError::Interrupted => ErrorKind::Unavailable,
        }
    }
}

/// Unpacks a tar context (plain, gzip or zstd) into `dir`, refusing members that would land
/// outside it.
pub fn unpack_context<R: std::io::Read + Send + 'static>(
    reader: R,
    dir: &std::path::Path,
) -> Result<(), BuildError> {
    let (_, r) = berth_tar::decompress(reader).map_err(|e| {
        BuildError::Invalid(format!("failed to read the build context archive: {e}"))
    })?;
    let opts = berth_tar::ApplyOptions {
        whiteouts: berth_tar::WhiteoutMode::Apply,
        limits: berth_tar::Limits::default(),
        preserve_owner: true,
    };
    berth_tar::apply_layer(std::io::BufReader::new(r), dir, &opts).map_err(|e| {
        BuildError::Invalid(format!("failed to unpack the build context archive: {e}"))
    })?;
    Ok(())
}

impl Engine {
    /// The image a build uses as a base (`FROM`, `COPY --from=image`): from the store, pulled
    /// from its registry when missing, or always with `--pull` (through
    /// [`Engine::ensure_image`], as `run` does).
    pub fn image_for_build(&mut self, reference: &str, pull: bool) -> Result<Digest, EngineError> {
        let policy = if pull {
            crate::registry::PullPolicy::Always
        } else {
            crate::registry::PullPolicy::Missing
        };
        self.ensure_image(reference, policy, None, &|_| {})
    }

    /// Builds. Output goes to `progress`; the result is tagged only when every step worked.
    pub fn build(
        &mut self,
        opts: &BuildOptions,
        progress: &Progress,
    ) -> Result<BuildOutcome, BuildError> {
        exec::build(self, opts, progress)
    }

    /// `builder prune`: forgets the build cache and removes the intermediate images only it
    /// kept (untagged, unused, without children). Returns the bytes reclaimed.
    pub fn prune_build_cache(&mut self) -> Result<u64, EngineError> {
        let ids: Vec<String> = {
            let conn = self.store.db().conn();
            let mut s = conn
                .prepare("SELECT image_id FROM build_cache")
                .map_err(|e| self.store.db().err(e))?;
            let rows = s
                .query_map([], |r| r.get::<_, String>(0))
                .and_then(|r| r.collect::<rusqlite::Result<Vec<String>>>())
                .map_err(|e| self.store.db().err(e))?;
            rows
        };
        self.store
            .db_mut()
            .write(|tx| tx.execute("DELETE FROM build_cache", []))?;
        let mut reclaimed = 0u64;
        let mut todo: Vec<Digest> = ids.iter().filter_map(|i| i.parse().ok()).collect();
        todo.sort_by_key(|d| d.to_string());
        todo.dedup();
        // Children first: repeat while something was removed.
        loop {
            let mut removed = false;
            for id in &todo {
                let Some(r) = self.store.image(id)? else {
                    continue;
                };
                if !r.tags.is_empty()
                    || !r.digests.is_empty()
                    || !self.store.children(id)?.is_empty()
                    || !self.store.containers_using(id)?.is_empty()
                {
                    continue;
                }
                let size = r.size;
                if self.store.delete_image(id).is_ok() {
                    reclaimed += size;
                    removed = true;
                }
            }
            if !removed {
                break;
            }
        }
        Ok(reclaimed)
    }
}
