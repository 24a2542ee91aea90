//! `info`, `events`, `system df`, `system prune`.

pub mod df;
pub mod events;
pub mod info;
pub mod prune;
