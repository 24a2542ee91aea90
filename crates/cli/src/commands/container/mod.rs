//! Container commands.

pub mod attach;
pub mod client;
pub mod commit;
pub mod cp;
pub mod diff;
pub mod exec;
pub mod export;
pub mod logs;
pub mod manage;
pub mod port;
pub mod prune;
pub mod ps;
pub mod run;
pub mod stats;
pub mod top;
