//! Entry-name normalisation.

use crate::TarError;

/// Normalises a tar entry name into components below the root: leading `/` and `./` are
/// dropped, `.` and empty components skipped, `..` pops a component; a `..` that would climb
/// above the root is refused (Docker's "breakout" check). An empty result is the root itself.
pub(crate) fn components(raw: &[u8], max_len: usize) -> Result<Vec<Vec<u8>>, TarError> {
    let name = || display_name(raw);
    if raw.len() > max_len {
        return Err(TarError::LimitExceeded {
            name: name(),
            what: "entry name length",
            limit: max_len as u64,
        });
    }
    if raw.contains(&0) {
        return Err(TarError::BadEntry {
            name: name(),
            reason: "name contains a NUL byte",
        });
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if out.pop().is_none() {
                    return Err(TarError::BadEntry {
                        name: name(),
                        reason: "path escapes the layer root",
                    });
                }
            }
            c => {
                if c.len() > 255 {
                    return Err(TarError::BadEntry {
                        name: name(),
                        reason: "path component longer than 255 bytes",
                    });
                }
                out.push(c.to_vec())
            }
        }
    }
    Ok(out)
}

/// An entry name for messages: lossy UTF-8, cut to 256 bytes so that hostile names cannot
/// flood logs.
pub(crate) fn display_name(raw: &[u8]) -> String {
    if raw.len() <= 256 {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        format!("{}...", String::from_utf8_lossy(&raw[..256]))
    }
}

/// Joins components back into a relative path.
pub(crate) fn join(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.join(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_and_refuses_breakouts() {
        assert_eq!(
            components(b"./a/b/", 4096).unwrap(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(components(b"/etc/passwd", 4096).unwrap().len(), 2);
        assert_eq!(components(b"a/../b", 4096).unwrap(), vec![b"b".to_vec()]);
        assert!(components(b"../x", 4096).is_err());
        assert!(components(b"a/../../x", 4096).is_err());
        assert!(components(b"./..", 4096).is_err());
        assert!(components(b".", 4096).unwrap().is_empty());
    }
}
