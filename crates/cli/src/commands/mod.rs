//! One module per noun, one function per verb.

pub mod build;
pub mod container;
pub mod image;
pub mod network;
pub mod registry;
pub mod system;
pub mod version;
pub mod volume;
