//! Docker image references, parsed and normalised exactly as
//! `github.com/distribution/reference` (`ParseNormalizedNamed`) does for the docker CLI.
//!
//! The grammar (reference.go):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] remote-name
//! domain           := host [':' port-number]
//! host             := domain-name | '[' IPv6address ']'
//! domain-name      := domain-component ['.' domain-component]*
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! remote-name      := path-component ['/' path-component]*
//! path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*
//! separator        := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" /[0-9a-fA-F]{32,}/
//! ```
//!
//! The grammar is matched by hand rather than with a regex: every production is a
//! simple scan, and the splits (`@` for the digest, the last `:` after the last `/` for
//! the tag, the first `/` for the domain) are unambiguous, which is what the upstream
//! regex's leftmost-first matching yields too.
//!
//! Error texts are Docker's own, since users (and scripts) see them verbatim.

use std::fmt;
use std::str::FromStr;

use berth_types::{Classify, Digest, ErrorKind};

/// Docker Hub's canonical domain.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// Docker Hub's legacy domain, canonicalised to [`DEFAULT_DOMAIN`].
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// The namespace of Docker Hub's official images.
pub const OFFICIAL_REPO_PREFIX: &str = "library/";
/// The tag used when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";
/// The longest repository path (without the domain) accepted.
pub const REPOSITORY_NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a reference could not be parsed. The messages are distribution/reference's (and
/// go-digest's), which the docker CLI prints unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// `ErrReferenceInvalidFormat`.
    #[error("invalid reference format")]
    InvalidFormat {
        /// The text that was parsed.
        input: String,
    },
    /// `ErrNameContainsUppercase`, from the plain grammar check.
    #[error("repository name must be lowercase")]
    NameContainsUppercase {
        /// The text that was parsed.
        input: String,
    },
    /// The uppercase check `ParseNormalizedNamed` makes on the repository path.
    #[error("invalid reference format: repository name ({remote}) must be lowercase")]
    RepositoryNotLowercase {
        /// The offending repository path, e.g. `library/Busybox`.
        remote: String,
    },
    /// `ErrNameEmpty`.
    #[error("repository name must have at least one component")]
    NameEmpty,
    /// `ErrNameTooLong`.
    #[error("repository name must not be more than 255 characters")]
    NameTooLong {
        /// The repository path that is too long.
        path: String,
    },
    /// A bare 64-hex string is an image id, never a repository name.
    #[error("invalid repository name ({input}), cannot specify 64-byte hexadecimal strings")]
    HexRepositoryName {
        /// The text that was parsed.
        input: String,
    },
    /// `ErrTagInvalidFormat`.
    #[error("invalid tag format")]
    InvalidTag {
        /// The tag that was rejected.
        tag: String,
    },
    /// go-digest's `ErrDigestInvalidFormat`.
    #[error("invalid checksum digest format")]
    DigestInvalidFormat {
        /// The digest that was rejected.
        digest: String,
    },
    /// go-digest's `ErrDigestInvalidLength`.
    #[error("invalid checksum digest length")]
    DigestInvalidLength {
        /// The digest that was rejected.
        digest: String,
    },
    /// go-digest's `ErrDigestUnsupported`: berth handles sha256 only.
    #[error("unsupported digest algorithm")]
    DigestUnsupported {
        /// The digest that was rejected.
        digest: String,
    },
}

impl Classify for ReferenceError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidArgument
    }
}

/// A parsed, normalised image reference: `domain/path[:tag][@digest]`.
///
/// Built only by [`Reference::parse_normalized`] (and the `with_*` methods), so the
/// domain is always set (`docker.io` for Docker Hub) and the path of an official image
/// carries its `library/` prefix.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses a reference as the docker CLI does (`ParseNormalizedNamed`): `busybox`
    /// becomes `docker.io/library/busybox`, `user/app` becomes `docker.io/user/app`, a
    /// first component with a `.` or `:` (or `localhost`, or an uppercase letter) is a
    /// registry domain.
    pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
        if is_identifier(s) {
            return Err(ReferenceError::HexRepositoryName {
                input: s.to_string(),
            });
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = match remainder.find(':') {
            Some(i) => &remainder[..i],
            None => &remainder[..],
        };
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::RepositoryNotLowercase {
                remote: remote.to_string(),
            });
        }
        let full = format!("{domain}/{remainder}");
        let parsed = parse(&full)?;
        Ok(parsed)
    }

    /// The registry domain, e.g. `docker.io` or `localhost:5000`.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path within the registry, e.g. `library/busybox`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full repository name, e.g. `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        if self.domain.is_empty() {
            self.path.clone()
        } else {
            format!("{}/{}", self.domain, self.path)
        }
    }

    /// The name as Docker shows it: `busybox`, `user/app`, `host:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                // Only a single-component official name loses its "library/": Docker
                // Hub could one day nest namespaces under library/.
                if !rest.contains('/') {
                    return rest.to_string();
                }
            }
            return self.path.clone();
        }
        self.name()
    }

    /// The tag, if the reference has one.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if the reference has one.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Whether the reference has neither tag nor digest (`IsNameOnly`).
    pub fn is_name_only(&self) -> bool {
        self.tag.is_none() && self.digest.is_none()
    }

    /// `TagNameOnly`: adds the `latest` tag when the reference has neither a tag nor a
    /// digest.
    pub fn with_default_tag(mut self) -> Reference {
        if self.is_name_only() {
            self.tag = Some(DEFAULT_TAG.to_string());
        }
        self
    }

    /// `WithTag`: the same repository with `tag` (a digest, if any, is kept).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if !is_tag(tag) {
            return Err(ReferenceError::InvalidTag {
                tag: tag.to_string(),
            });
        }
        Ok(Reference {
            tag: Some(tag.to_string()),
            ..self.clone()
        })
    }

    /// `WithDigest`: the same repository with `digest` (a tag, if any, is kept).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// `TrimNamed`: the repository alone, without tag or digest.
    pub fn trimmed(&self) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: None,
        }
    }

    /// `ParseDockerRef`'s rule: a reference with both a tag and a digest keeps only the
    /// digest; a name alone gets `latest`.
    pub fn docker_ref(self) -> Reference {
        if self.digest.is_some() {
            Reference { tag: None, ..self }
        } else {
            self.with_default_tag()
        }
    }

    /// The reference as Docker shows it: `busybox:latest`, `busybox@sha256:…`,
    /// `host:5000/x:t`.
    pub fn familiar_string(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(&d.to_string());
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Reference, ReferenceError> {
        Reference::parse_normalized(s)
    }
}

impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Reference, D::Error> {
        let s = String::deserialize(d)?;
        Reference::parse_normalized(&s).map_err(serde::de::Error::custom)
    }
}

/// Whether `s` names an image by id rather than by reference: 12 to 64 lowercase hex
/// digits, or `sha256:` followed by 1 to 64 of them.
pub fn is_full_or_short_id(s: &str) -> bool {
    let is_hex = |h: &str| h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match s.strip_prefix("sha256:") {
        Some(h) => (1..=64).contains(&h.len()) && is_hex(h),
        None => (12..=64).contains(&s.len()) && is_hex(s),
    }
}

/// `anchoredIdentifierRegexp`: exactly 64 lowercase hex digits.
fn is_identifier(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `splitDockerDomain`, applied to the whole input (tag and digest included, as
/// upstream does).
fn split_docker_domain(name: &str) -> (&str, String) {
    let Some((maybe_domain, maybe_remote)) = name.split_once('/') else {
        return (DEFAULT_DOMAIN, format!("{OFFICIAL_REPO_PREFIX}{name}"));
    };
    let (domain, remote) = if maybe_domain == "localhost"
        || maybe_domain.contains(['.', ':'])
        || maybe_domain.to_lowercase() != maybe_domain
    {
        if maybe_domain == LEGACY_DEFAULT_DOMAIN {
            (DEFAULT_DOMAIN, maybe_remote)
        } else {
            (maybe_domain, maybe_remote)
        }
    } else {
        (DEFAULT_DOMAIN, name)
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        return (domain, format!("{OFFICIAL_REPO_PREFIX}{remote}"));
    }
    (domain, remote.to_string())
}

/// The pieces of a syntactically valid reference.
struct Parts<'a> {
    domain: &'a str,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

/// `referenceRegexp` matched by hand.
fn match_reference(s: &str) -> Option<Parts<'_>> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => {
            if !is_digest_pat(d) {
                return None;
            }
            (r, Some(d))
        }
        None => (s, None),
    };
    // A ':' after the last '/' can only start the tag: a port is always followed by a
    // '/' and a path component never holds a ':'.
    let last_slash = rest.rfind('/');
    let (name, tag) = match rest.rfind(':') {
        Some(c) if last_slash.is_none_or(|sl| c > sl) => {
            let t = &rest[c + 1..];
            if !is_tag(t) {
                return None;
            }
            (&rest[..c], Some(t))
        }
        _ => (rest, None),
    };
    let (domain, path) = match_name(name)?;
    Some(Parts {
        domain,
        path,
        tag,
        digest,
    })
}

/// `anchoredNameRegexp`: an optional domain then the remote name. The domain is
/// preferred when the first component can be one (the regex's greedy optional group).
fn match_name(name: &str) -> Option<(&str, &str)> {
    if let Some((d, p)) = name.split_once('/') {
        if is_domain_and_port(d) && is_remote_name(p) {
            return Some((d, p));
        }
    }
    is_remote_name(name).then_some(("", name))
}

fn is_remote_name(s: &str) -> bool {
    s.split('/').all(is_path_component)
}

/// `alphanumeric (separator alphanumeric)*` with separator `[._]|__|[-]+`.
fn is_path_component(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `domainAndPort`: a domain name or bracketed IPv6 address, then an optional port.
fn is_domain_and_port(s: &str) -> bool {
    let (host_ok, rest) = if let Some(inner) = s.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return false;
        };
        let addr = &inner[..end];
        let ok = !addr.is_empty() && addr.bytes().all(|c| c.is_ascii_hexdigit() || c == b':');
        (ok, &inner[end + 1..])
    } else {
        let end = s.find(':').unwrap_or(s.len());
        (s[..end].split('.').all(is_domain_component), &s[end..])
    };
    if !host_ok {
        return false;
    }
    match rest.strip_prefix(':') {
        None => rest.is_empty(),
        Some(port) => !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit()),
    }
}

fn is_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(s: &str) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&c| word(c) || c == b'.' || c == b'-')
}

/// `digestPat`: `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[[:xdigit:]]{32,}`.
fn is_digest_pat(s: &str) -> bool {
    let Some((alg, hex)) = s.split_once(':') else {
        return false;
    };
    let alg_ok = alg.split(['-', '_', '+', '.']).all(|c| {
        let b = c.as_bytes();
        !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(u8::is_ascii_alphanumeric)
    });
    alg_ok && hex.len() >= 32 && hex.bytes().all(|c| c.is_ascii_hexdigit())
}

/// go-digest's `Digest.Validate` for a string that matched `digestPat`, with sha256 as
/// the only available algorithm.
fn parse_digest(d: &str) -> Result<Digest, ReferenceError> {
    let (alg, hex) = d.split_once(':').unwrap_or((d, ""));
    if alg != "sha256" {
        return Err(ReferenceError::DigestUnsupported {
            digest: d.to_string(),
        });
    }
    if hex.len() != 64 {
        return Err(ReferenceError::DigestInvalidLength {
            digest: d.to_string(),
        });
    }
    Digest::from_hex(hex).map_err(|_| ReferenceError::DigestInvalidFormat {
        digest: d.to_string(),
    })
}

/// `reference.Parse`: the plain grammar, without normalisation.
fn parse(s: &str) -> Result<Reference, ReferenceError> {
    if s.is_empty() {
        return Err(ReferenceError::NameEmpty);
    }
    let Some(parts) = match_reference(s) else {
        let lower = s.to_lowercase();
        if lower != s && match_reference(&lower).is_some() {
            return Err(ReferenceError::NameContainsUppercase {
                input: s.to_string(),
            });
        }
        return Err(ReferenceError::InvalidFormat {
            input: s.to_string(),
        });
    };
    if parts.path.len() > REPOSITORY_NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong {
            path: parts.path.to_string(),
        });
    }
    let digest = parts.digest.map(parse_digest).transpose()?;
    Ok(Reference {
        domain: parts.domain.to_string(),
        path: parts.path.to_string(),
        tag: parts.tag.map(str::to_string),
        digest,
    })
}

#[cfg(test)]
mod tests;
