//! Go `text/template` with Docker's functions, tables and units, for berth's `--format`.
//!
//! # Why hand-written
//!
//! berth is a drop-in replacement for the docker CLI, and `--format` strings are part of
//! people's scripts. Docker evaluates them with Go's `text/template`, adds its own functions
//! (docker/cli `templates/templates.go`) and prints tables through a fork of Go's
//! `text/tabwriter` (docker/cli `cli/command/formatter`). The only Rust port of
//! `text/template` (`gtmpl`) is dormant, so this crate implements the language directly on
//! [`serde_json::Value`], which is what the CLI already has for every object it prints.
//!
//! # Data model
//!
//! Docker executes templates against Go structs; berth executes them against JSON objects
//! produced from the same fields. Go treats a JSON object like a `map[string]interface{}`,
//! so the rules for maps apply: `{{.Missing}}` prints `<no value>` instead of failing, a
//! JSON `null` prints `<no value>` when printed directly and `<nil>` inside `print`/`printf`,
//! and `range` over an object visits keys in sorted order. Integers (JSON numbers without a
//! fraction or exponent) behave like Go `int`s; other numbers like `float64`, printed with
//! Go's `%v` rules (`1.5`, `1e+06`).
//!
//! # Layout
//!
//! * [`Template`]: parse ([`parse`] module: lexer + parser producing a small AST with the
//!   same checks Go does at parse time: undefined functions and variables, `{{break}}`
//!   outside `{{range}}`) and render ([`exec`] module; `printf` lives in [`gofmt`]).
//! * [`Format`]: Docker's formatter semantics for a `--format` value (`table`, `json`, raw).
//! * [`tabwriter`]: Go's elastic-tabstop aligner with Docker's settings.
//! * [`units`]: docker/go-units sizes and durations.
//!
//! Every error is a one-line [`TemplateError`] in Go's wording; no input panics (a test feeds
//! thousands of random and mutated templates through parse and render).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod exec;
mod format;
mod gofmt;
mod parse;
pub mod tabwriter;
pub mod units;

pub use format::Format;

use serde_json::Value;

/// Errors from parsing or executing a template, or from parsing a size.
///
/// The messages follow Go's `text/template` wording so that users see what Docker prints
/// (Docker prefixes them with `template parsing error: `; the CLI adds that prefix).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// The template text is malformed (`template: :LINE: MESSAGE`).
    #[error("template: :{line}: {message}")]
    Parse {
        /// 1-based line of the template where the problem was found.
        line: usize,
        /// What is wrong, in Go's words.
        message: String,
    },
    /// Executing the template failed (`template: :LINE:COL: executing "" at <NODE>: MESSAGE`).
    #[error("template: :{line}:{col}: executing \"\" at <{node}>: {message}")]
    Exec {
        /// 1-based line of the failing node.
        line: usize,
        /// Byte column of the failing node within its line.
        col: usize,
        /// The failing node as written in the template.
        node: String,
        /// What went wrong, in Go's words.
        message: String,
    },
    /// A human-readable size could not be parsed (docker/go-units wording).
    #[error("invalid size: '{input}'")]
    InvalidSize {
        /// The rejected input.
        input: String,
    },
}

/// A parsed Go template, ready to be rendered any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    root: Vec<parse::Node>,
    src: String,
}

impl Template {
    /// Parses `src` with Go `text/template` syntax and Docker's function set.
    ///
    /// ```
    /// let t = berth_template::Template::parse("{{.Name | upper}}").unwrap();
    /// assert_eq!(t.render(&serde_json::json!({"Name": "web"})).unwrap(), "WEB");
    /// ```
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        let root = parse::parse(src)?;
        Ok(Template {
            root,
            src: src.to_string(),
        })
    }

    /// Executes the template with `data` as dot (and `$`).
    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        let mut out = String::new();
        exec::execute(&self.root, &self.src, data, false, &mut out)?;
        Ok(out)
    }

    /// Executes the template in Docker's header mode (the formatting functions return their
    /// argument unchanged) and returns whatever was produced before a failure, like Docker,
    /// which ignores errors while printing table headers.
    pub(crate) fn render_header(&self, headers: &Value) -> String {
        let mut out = String::new();
        let _ = exec::execute(&self.root, &self.src, headers, true, &mut out);
        out
    }
}
