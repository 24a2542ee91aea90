//! One module per noun, one function per verb.

pub mod container;
pub mod image;
pub mod registry;
pub mod version;
