//! Build output in the shape of BuildKit's plain progress (`docker build --progress=plain`):
//! one numbered vertex per step (`#5 [2/4] RUN make`), its output lines with the seconds
//! since the step began (`#5 0.212 ok`), then `#5 DONE 0.3s`, `#5 CACHED` or
//! `#5 ERROR: …`. Vertices are numbered in the order they start, so parallel stages
//! interleave but each line names its vertex.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Where build output goes.
pub struct Progress {
    out: Mutex<Box<dyn Write + Send>>,
    next: AtomicUsize,
    quiet: bool,
}

/// One step on screen.
pub struct Vertex<'a> {
    p: &'a Progress,
    n: usize,
    start: Instant,
    partial: Vec<u8>,
}

impl Progress {
    /// Output to `out`; nothing at all when `quiet`.
    pub fn new(out: Box<dyn Write + Send>, quiet: bool) -> Progress {
        Progress {
            out: Mutex::new(out),
            next: AtomicUsize::new(1),
            quiet,
        }
    }

    fn print(&self, s: &str) {
        if self.quiet {
            return;
        }
        if let Ok(mut o) = self.out.lock() {
            let _ = o.write_all(s.as_bytes());
            let _ = o.flush();
        }
    }

    /// Starts a vertex named `name`.
    pub fn vertex(&self, name: &str) -> Vertex<'_> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.print(&format!("#{n} {name}\n"));
        Vertex {
            p: self,
            n,
            start: Instant::now(),
            partial: Vec::new(),
        }
    }

    /// A line outside any vertex (warnings).
    pub fn note(&self, s: &str) {
        self.print(&format!("{s}\n"));
    }
}

impl Vertex<'_> {
    /// A line of the step's own (`#N text`).
    pub fn log(&self, text: &str) {
        self.p.print(&format!("#{} {text}\n", self.n));
    }

    /// Output of a command: complete lines are printed with the elapsed time.
    pub fn output(&mut self, data: &[u8]) {
        self.partial.extend_from_slice(data);
        while let Some(i) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            self.emit(&line[..line.len() - 1]);
        }
    }

    fn emit(&self, line: &[u8]) {
        let t = self.start.elapsed().as_secs_f64();
        self.p.print(&format!(
            "#{} {t:.3} {}\n",
            self.n,
            String::from_utf8_lossy(line)
        ));
    }

    fn flush_partial(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.emit(&line);
        }
    }

    /// The step finished.
    pub fn done(mut self) {
        self.flush_partial();
        let t = self.start.elapsed().as_secs_f64();
        self.p.print(&format!("#{} DONE {t:.1}s\n", self.n));
    }

    /// The step's result came from the cache.
    pub fn cached(self) {
        self.p.print(&format!("#{} CACHED\n", self.n));
    }

    /// The step failed.
    pub fn error(mut self, message: &str) {
        self.flush_partial();
        self.p.print(&format!("#{} ERROR: {message}\n", self.n));
    }
}
