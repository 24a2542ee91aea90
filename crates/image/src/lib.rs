//! Image references, manifest and config formats for berth.
