//! The pure half of `berth build`: everything about a Dockerfile that needs no file system,
//! no store and no container.
//!
//! # Design
//! A build is read in three passes, each its own module, so each is unit-tested alone and
//! errors always carry the Dockerfile line they concern:
//! - [`parser`] turns text into logical instructions (`Node`s): parser directives
//!   (`# escape=`, `# syntax=`), comments, line continuations, heredocs (`<<EOF`, `<<-EOF`,
//!   quoted terminators) and leading `--flags`, as BuildKit's `frontend/dockerfile/parser`.
//! - [`instructions`] checks each node and types it ([`instructions::Instruction`]): JSON
//!   (exec) versus shell forms, the flags each instruction accepts, argument counts, and
//!   splits the file into stages ([`instructions::Dockerfile`]).
//! - [`lex`] is the shell-word processor used at build time for the instructions Docker
//!   expands (`ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR`, ARG defaults):
//!   quotes, the escape character, `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR:+x}`, `${VAR:?m}`.
//!   Lookups go through a caller's closure, so the executor learns which build args a step
//!   used (they belong in its cache key).
//!
//! Beside them: [`ignore`] is Docker's `.dockerignore` matcher (moby `patternmatcher`:
//! `*`, `?`, `**`, classes, `!` exceptions, last match wins, parents match), [`graph`]
//! picks the stages a target needs and orders them in waves that can build in parallel, and
//! [`cache`] composes step cache keys. Executing a build (contexts, containers, layers) is
//! the engine's job (`berth_engine::build`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cache;
pub mod graph;
pub mod ignore;
pub mod instructions;
pub mod lex;
pub mod parser;

pub use instructions::{Dockerfile, Instruction, Stage};
pub use parser::ParseError;
