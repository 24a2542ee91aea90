//! Image commands.

pub mod history;
pub mod import;
pub mod inspect;
pub mod load;
pub mod ls;
pub mod prune;
pub mod rm;
pub mod save;
pub mod tag;
