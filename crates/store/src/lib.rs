//! SQLite metadata, content store and layer store for berth.
