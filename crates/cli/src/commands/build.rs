//! `build` (`image build`, `builder build`) and `builder prune`.
//!
//! The CLI turns the context argument into a directory (a directory as is; a tar file or a
//! tar on stdin unpacked into a private temporary directory; a plain Dockerfile on stdin
//! with an empty context), reads `-f` (a path, or `-` for stdin), then calls the engine.
//! Output is BuildKit's plain progress on stderr; `-q` prints only the image id on stdout.
//! Failures print the Dockerfile lines at fault and `ERROR: failed to solve: …`, exit 1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use berth_engine::build::{BuildError, BuildOptions, DockerfileSource, Progress};
use berth_template::units::human_size;

use crate::args::{BuildArgs, BuilderPruneArgs};
use crate::exit::StatusError;
use crate::output::{engine, write_stdout};

fn usage(msg: String) -> anyhow::Error {
    StatusError::error(1, msg)
}

fn is_tar(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
        || (head.len() >= 262 && &head[257..262] == b"ustar")
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_context(root: &Path) -> anyhow::Result<TempDir> {
    let parent = root.join("build-cache").join("tmp");
    std::fs::create_dir_all(&parent)?;
    let dir = tempfile::Builder::new()
        .prefix("ctx-")
        .tempdir_in(&parent)?
        .keep();
    Ok(TempDir(dir))
}

/// Runs `build`.
pub fn run(a: BuildArgs) -> anyhow::Result<i32> {
    if !matches!(
        a.progress.as_str(),
        "auto" | "plain" | "tty" | "quiet" | "rawjson"
    ) {
        return Err(usage(format!(
            "invalid argument \"{}\" for \"--progress\" flag: progress must be one of auto, plain, tty",
            a.progress
        )));
    }
    if !matches!(a.network.as_str(), "default" | "none" | "host") {
        return Err(usage(format!(
            "network mode \"{}\" not supported by buildkit; only default, none and host are",
            a.network
        )));
    }
    let config = berth_engine::Config::from_env();
    let mut engine = engine()?;
    let file_stdin = a.file.as_deref() == Some("-");
    let mut _temp = None;
    let mut inline_dockerfile = None;
    let context: PathBuf = if a.context == "-" {
        if file_stdin {
            return Err(usage(
                "invalid argument: can't use stdin for both build context and dockerfile".into(),
            ));
        }
        let mut data = Vec::new();
        std::io::stdin().lock().read_to_end(&mut data)?;
        let t = temp_context(&config.root)?;
        if is_tar(&data) {
            berth_engine::build::unpack_context(std::io::Cursor::new(data), &t.0)
                .map_err(|e| usage(format!("ERROR: {e}")))?;
        } else {
            inline_dockerfile = Some(String::from_utf8_lossy(&data).into_owned());
        }
        let p = t.0.clone();
        _temp = Some(t);
        p
    } else if a.context.contains("://") || a.context.starts_with("git@") {
        return Err(usage(format!(
            "unable to prepare context: remote contexts ({}) are not supported by berth",
            a.context
        )));
    } else {
        let p = PathBuf::from(&a.context);
        match std::fs::metadata(&p) {
            Ok(m) if m.is_dir() => p,
            Ok(_) => {
                let t = temp_context(&config.root)?;
                let f = std::fs::File::open(&p)?;
                berth_engine::build::unpack_context(f, &t.0)
                    .map_err(|e| usage(format!("unable to prepare context: {e}")))?;
                let d = t.0.clone();
                _temp = Some(t);
                d
            }
            Err(_) => {
                return Err(usage(format!(
                    "unable to prepare context: path \"{}\" not found",
                    a.context
                )))
            }
        }
    };
    let dockerfile = if file_stdin {
        let mut s = String::new();
        std::io::stdin().lock().read_to_string(&mut s)?;
        DockerfileSource::Inline(s)
    } else if let Some(t) = inline_dockerfile {
        DockerfileSource::Inline(t)
    } else {
        match &a.file {
            None => DockerfileSource::Path("Dockerfile".into()),
            Some(f) => {
                let p = Path::new(f);
                // Docker resolves -f from the current directory; a name that does not
                // exist there is looked up in the context.
                if p.exists() && _temp.is_none() {
                    DockerfileSource::Path(std::fs::canonicalize(p)?.display().to_string())
                } else {
                    DockerfileSource::Path(f.clone())
                }
            }
        }
    };
    let dockerfile_text = match &dockerfile {
        DockerfileSource::Inline(t) => Some(t.clone()),
        DockerfileSource::Path(p) => std::fs::read_to_string(context.join(p)).ok(),
    };
    let mut build_args = Vec::new();
    for b in &a.build_args {
        match b.split_once('=') {
            Some((k, v)) => build_args.push((k.to_string(), v.to_string())),
            None => {
                if let Ok(v) = std::env::var(b) {
                    build_args.push((b.clone(), v));
                }
            }
        }
    }
    let mut labels = BTreeMap::new();
    for l in &a.labels {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    let opts = BuildOptions {
        context,
        dockerfile,
        tags: a.tags.clone(),
        build_args,
        target: a.target.clone(),
        no_cache: a.no_cache,
        pull: a.pull,
        labels,
        network: a.network.clone(),
    };
    let progress = Progress::new(Box::new(std::io::stderr()), a.quiet);
    match engine.build(&opts, &progress) {
        Ok(out) => {
            if let Some(f) = &a.iidfile {
                std::fs::write(f, out.id.to_string())?;
            }
            if a.quiet {
                write_stdout(&format!("{}\n", out.id))?;
            }
            Ok(0)
        }
        Err(e) => {
            report(&e, dockerfile_text.as_deref());
            if matches!(e, BuildError::Interrupted) {
                return Err(StatusError::error(130, ""));
            }
            Err(StatusError::error(1, ""))
        }
    }
}

/// BuildKit's failure report: the Dockerfile lines at fault, then the error.
fn report(e: &BuildError, text: Option<&str>) {
    let mut err = std::io::stderr().lock();
    if let (Some((start, end)), Some(text)) = (e.lines(), text) {
        let lines: Vec<&str> = text.lines().collect();
        let _ = writeln!(err, "Dockerfile:{start}");
        let _ = writeln!(err, "--------------------");
        let from = start.saturating_sub(2).max(1);
        let to = (end + 1).min(lines.len());
        for n in from..=to {
            let Some(l) = lines.get(n - 1) else { break };
            let mark = if n >= start && n <= end { ">>>" } else { "   " };
            let _ = writeln!(err, "{n:>4} | {mark} {l}");
        }
        let _ = writeln!(err, "--------------------");
    }
    let msg = match e {
        BuildError::Invalid(m) => m.clone(),
        other => format!("failed to solve: {other}"),
    };
    let _ = writeln!(err, "ERROR: {msg}");
}

/// Runs `builder prune`.
pub fn prune(a: BuilderPruneArgs) -> anyhow::Result<i32> {
    if !a.filter.is_empty() {
        return Err(usage(
            "builder prune: --filter is not supported by berth yet".into(),
        ));
    }
    if !a.force && !crate::output::confirm(
            "WARNING! This will remove all dangling build cache. Are you sure you want to continue?",
        )? {
        return Ok(0);
    }
    let mut engine = engine()?;
    let reclaimed = engine.prune_build_cache()?;
    write_stdout(&format!(
        "Total reclaimed space: {}\n",
        human_size(reclaimed as f64)
    ))?;
    Ok(0)
}
