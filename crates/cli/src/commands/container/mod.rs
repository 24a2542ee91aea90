//! Container commands.

pub mod attach;
pub mod client;
pub mod exec;
pub mod logs;
pub mod manage;
pub mod ps;
pub mod run;
