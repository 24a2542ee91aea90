//! Registry commands: `pull`, `push`, `login`, `logout`, `search`, and the progress
//! display they share with `run`/`create` (which pull missing images).

pub mod login;
pub mod pull;
pub mod push;
pub mod search;

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use berth_engine::registry::{LayerStatus, Progress};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// stdout (`pull`, `push`).
    Stdout,
    /// stderr (`run`, `create`).
    Stderr,
}

/// Renders [`Progress`] events as Docker does: bars on a terminal, one line per status
/// change otherwise. Quiet mode prints nothing.
pub struct Display {
    stream: Stream,
    quiet: bool,
    bars: Option<Mutex<Bars>>,
    plain: Mutex<()>,
}

struct Bars {
    multi: MultiProgress,
    layers: HashMap<String, ProgressBar>,
    statuses: HashMap<String, String>,
    order: Vec<String>,
    finished: bool,
}

fn style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg:<18} [{wide_bar}] {bytes}/{total_bytes}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

fn plain_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix}: {msg}").unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Display {
    /// A display on `stream`; bars when it is a terminal.
    pub fn new(stream: Stream, quiet: bool) -> Display {
        let tty = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        let bars = (tty && !quiet).then(|| {
            let target = match stream {
                Stream::Stdout => ProgressDrawTarget::stdout(),
                Stream::Stderr => ProgressDrawTarget::stderr(),
            };
            Mutex::new(Bars {
                multi: MultiProgress::with_draw_target(target),
                layers: HashMap::new(),
                statuses: HashMap::new(),
                order: Vec::new(),
                finished: false,
            })
        });
        Display {
            stream,
            quiet,
            bars,
            plain: Mutex::new(()),
        }
    }

    fn line(&self, s: &str) {
        if let Some(b) = &self.bars {
            if let Ok(b) = b.lock() {
                if !b.finished {
                    let _ = b.multi.println(s);
                    return;
                }
            }
        }
        let _g = self.plain.lock();
        match self.stream {
            Stream::Stdout => {
                let mut o = std::io::stdout().lock();
                let _ = writeln!(o, "{s}");
                let _ = o.flush();
            }
            Stream::Stderr => eprintln!("{s}"),
        }
    }

    /// Handles one event.
    pub fn event(&self, p: Progress) {
        if let Progress::NotFoundLocally(name) = &p {
            eprintln!("Unable to find image '{name}' locally");
            return;
        }
        if self.quiet {
            return;
        }
        match p {
            Progress::NotFoundLocally(_) => {}
            Progress::PullingFrom {
                reference,
                repository,
            } => self.line(&format!("{reference}: Pulling from {repository}")),
            Progress::PushRefersTo(r) => self.line(&format!("The push refers to repository [{r}]")),
            Progress::Digest(d) => self.finish_bars_then(&format!("Digest: {d}")),
            Progress::Status(s) => self.line(&format!("Status: {s}")),
            Progress::Pushed { tag, digest, size } => {
                self.finish_bars_then(&format!("{tag}: digest: {digest} size: {size}"))
            }
            Progress::Layer { id, status } => match &self.bars {
                Some(bars) => {
                    if let Ok(mut b) = bars.lock() {
                        let text = status.to_string();
                        let bar = match b.layers.get(&id) {
                            Some(bar) => bar.clone(),
                            None => {
                                let bar = b.multi.add(ProgressBar::new(0));
                                bar.set_style(plain_style());
                                bar.set_prefix(id.clone());
                                b.layers.insert(id.clone(), bar.clone());
                                b.order.push(id.clone());
                                bar
                            }
                        };
                        if matches!(status, LayerStatus::Downloading | LayerStatus::Pushing) {
                            bar.set_style(style());
                        } else {
                            bar.set_style(plain_style());
                        }
                        bar.set_message(text.clone());
                        b.statuses.insert(id, text);
                    }
                }
                None => {
                    if !matches!(
                        status,
                        LayerStatus::Downloading | LayerStatus::Extracting | LayerStatus::Pushing
                    ) {
                        self.line(&format!("{id}: {status}"));
                    }
                }
            },
            Progress::Bytes { id, current, total } => {
                if let Some(bars) = &self.bars {
                    if let Ok(b) = bars.lock() {
                        if let Some(bar) = b.layers.get(&id) {
                            if b.statuses.get(&id).map(String::as_str) == Some("Pulling fs layer")
                                || b.statuses.get(&id).map(String::as_str) == Some("Waiting")
                            {
                                bar.set_style(style());
                                bar.set_message("Downloading");
                            }
                            bar.set_length(total);
                            bar.set_position(current);
                        }
                    }
                }
            }
        }
    }

    /// Replaces the bars by their final lines (as Docker leaves them), then prints `s`;
    /// later lines are plain.
    fn finish_bars_then(&self, s: &str) {
        if let Some(bars) = &self.bars {
            if let Ok(mut b) = bars.lock() {
                if !b.finished {
                    let _ = b.multi.clear();
                    for (_, bar) in b.layers.drain() {
                        bar.finish_and_clear();
                    }
                    b.multi.set_draw_target(ProgressDrawTarget::hidden());
                    b.finished = true;
                    let lines: Vec<String> = b
                        .order
                        .iter()
                        .map(|id| {
                            format!("{id}: {}", b.statuses.get(id).cloned().unwrap_or_default())
                        })
                        .collect();
                    drop(b);
                    for l in lines {
                        self.line(&l);
                    }
                }
            }
        }
        self.line(s);
    }
}
