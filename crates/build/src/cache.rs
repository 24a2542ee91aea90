//! Build cache keys. A step's key hashes its parent's key and every input that can change
//! its result, each length-prefixed so that no two field lists collide: the instruction
//! after expansion, the build args it can see, the content hash of the files it copies.

use berth_types::Hasher;

/// Accumulates the fields of one key.
pub struct KeyBuilder {
    h: Hasher,
}

impl KeyBuilder {
    /// A key below `parent` (the previous step's key, or the base image id).
    pub fn new(parent: &str) -> KeyBuilder {
        let mut k = KeyBuilder { h: Hasher::new() };
        k.field("berth-build-cache-v1");
        k.field(parent);
        k
    }

    /// Adds one field.
    pub fn field(&mut self, s: &str) -> &mut Self {
        self.h.update(&(s.len() as u64).to_be_bytes());
        self.h.update(s.as_bytes());
        self
    }

    /// The key (`sha256:<hex>`).
    pub fn finish(self) -> String {
        self.h.finish().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_run_together() {
        let k = |fs: &[&str]| {
            let mut b = KeyBuilder::new("p");
            for f in fs {
                b.field(f);
            }
            b.finish()
        };
        assert_ne!(k(&["ab", "c"]), k(&["a", "bc"]));
        assert_eq!(k(&["x"]), k(&["x"]));
        assert_ne!(k(&["x"]), {
            let mut b = KeyBuilder::new("q");
            b.field("x");
            b.finish()
        });
    }
}
