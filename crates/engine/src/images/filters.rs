//! `--filter` for `images` and `image prune`, with Docker's keys and matching rules.

use std::collections::BTreeMap;

use super::ImageSummary;
use crate::EngineError;

/// Parsed image filters (`key=value`, repeatable).
#[derive(Debug, Default, Clone)]
pub struct ImageFilters {
    dangling: Option<bool>,
    references: Vec<String>,
    labels: Vec<(String, Option<String>)>,
    before: Vec<String>,
    since: Vec<String>,
    until: Vec<i64>,
}

/// Time bounds derived from `before=`/`since=` image references.
#[derive(Debug, Default, Clone)]
pub struct TimeBounds {
    before: Option<i64>,
    since: Option<i64>,
}

const KEYS: &[&str] = &["dangling", "reference", "label", "before", "since", "until"];

impl ImageFilters {
    /// Parses `key=value` strings; unknown keys are Docker's "invalid filter".
    pub fn parse(args: &[String], allowed: &[&str]) -> Result<ImageFilters, EngineError> {
        let mut f = ImageFilters::default();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                return Err(EngineError::InvalidArgument(
                    "bad format of filter (expected name=value)".into(),
                ));
            };
            let key = k.trim().to_ascii_lowercase();
            if !KEYS.contains(&key.as_str()) || !allowed.contains(&key.as_str()) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )));
            }
            let v = v.to_string();
            match key.as_str() {
                "dangling" => {
                    f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(EngineError::InvalidArgument(format!(
                                "invalid filter 'dangling={v}'"
                            )))
                        }
                    })
                }
                "reference" => f.references.push(v),
                "label" => f.labels.push(match v.split_once('=') {
                    Some((a, b)) => (a.to_string(), Some(b.to_string())),
                    None => (v, None),
                }),
                "before" => f.before.push(v),
                "since" => f.since.push(v),
                "until" => f.until.push(parse_until(&v)?),
                _ => unreachable!("checked against KEYS"),
            }
        }
        Ok(f)
    }

    /// With `reference=` filters, only the names that match are shown, as Docker does.
    pub fn visible_names(&self, names: &[String]) -> Vec<String> {
        if self.references.is_empty() {
            return names.to_vec();
        }
        names
            .iter()
            .filter(|t| self.references.iter().any(|p| reference_matches(p, t)))
            .cloned()
            .collect()
    }

    /// Adds a `reference=` filter (the positional `images REPOSITORY[:TAG]`).
    pub fn add_reference(&mut self, r: String) {
        self.references.push(r);
    }

    /// Resolves `before=`/`since=` to creation times with `created_of`.
    pub fn time_bounds(
        &self,
        mut created_of: impl FnMut(&str) -> Result<i64, EngineError>,
    ) -> Result<TimeBounds, EngineError> {
        let mut b = TimeBounds::default();
        for r in &self.before {
            let t = created_of(r)?;
            b.before = Some(b.before.map_or(t, |x: i64| x.min(t)));
        }
        for r in &self.since {
            let t = created_of(r)?;
            b.since = Some(b.since.map_or(t, |x: i64| x.max(t)));
        }
        Ok(b)
    }

    /// Whether an image passes every filter.
    pub fn matches(&self, s: &ImageSummary, dangling: bool, bounds: &TimeBounds) -> bool {
        if let Some(d) = self.dangling {
            if d != dangling {
                return false;
            }
        }
        if !self.references.is_empty() {
            let ok = self.references.iter().any(|pat| {
                s.repo_tags
                    .iter()
                    .chain(s.repo_digests.iter())
                    .any(|t| reference_matches(pat, t))
            });
            if !ok {
                return false;
            }
        }
        if !labels_match(&self.labels, &s.labels) {
            return false;
        }
        if let Some(t) = bounds.before {
            if s.created >= t {
                return false;
            }
        }
        if let Some(t) = bounds.since {
            if s.created <= t {
                return false;
            }
        }
        if self.until.iter().any(|&u| s.created > u) {
            return false;
        }
        true
    }
}

fn labels_match(want: &[(String, Option<String>)], have: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| match (have.get(k), v) {
        (Some(_), None) => true,
        (Some(h), Some(v)) => h == v,
        (None, _) => false,
    })
}

/// Docker's `reference.FamiliarMatch`: the pattern is matched (Go `path.Match`) against the
/// familiar string (`busybox:latest`), then against the familiar name (`busybox`).
fn reference_matches(pattern: &str, familiar: &str) -> bool {
    if path_match(pattern, familiar) {
        return true;
    }
    let name = match familiar.find('@') {
        Some(i) => &familiar[..i],
        None => match familiar.rfind(':') {
            Some(i) if !familiar[i..].contains('/') => &familiar[..i],
            _ => familiar,
        },
    };
    path_match(pattern, name)
}

/// Go's `path.Match`: `*` matches any run of non-`/` characters, `?` one non-`/` character,
/// `[...]` a class (with `^` negation and ranges), `\` escapes.
pub fn path_match(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => {
                let rest = &p[1..];
                for i in 0..=n.len() {
                    if i > 0 && n[i - 1] == '/' {
                        break;
                    }
                    if go(rest, &n[i..]) {
                        return true;
                    }
                }
                false
            }
            Some('?') => !n.is_empty() && n[0] != '/' && go(&p[1..], &n[1..]),
            Some('[') => {
                let Some(&c) = n.first() else { return false };
                let mut i = 1;
                let negate = matches!(p.get(1), Some('^') | Some('!'));
                if negate {
                    i += 1;
                }
                let mut matched = false;
                let mut first = true;
                while i < p.len() && (first || p[i] != ']') {
                    first = false;
                    let lo = if p[i] == '\\' && i + 1 < p.len() {
                        i += 1;
                        p[i]
                    } else {
                        p[i]
                    };
                    let mut hi = lo;
                    if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                        hi = p[i + 2];
                        i += 2;
                    }
                    if lo <= c && c <= hi {
                        matched = true;
                    }
                    i += 1;
                }
                if i >= p.len() {
                    return false; // malformed class
                }
                matched != negate && c != '/' && go(&p[i + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && go(&p[2..], &n[1..]),
            Some(&c) => !n.is_empty() && n[0] == c && go(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// `until=`: moby's `timetypes.GetTimestamp` (durations, RFC 3339 times, unix seconds), in
/// unix seconds.
fn parse_until(v: &str) -> Result<i64, EngineError> {
    crate::timestamps::get_timestamp(v, chrono::Utc::now()).map(|n| n.div_euclid(1_000_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_match() {
        assert!(path_match("busy*", "busybox"));
        assert!(path_match("busybox:*", "busybox:latest"));
        assert!(!path_match("*", "a/b"));
        assert!(path_match("*/*", "a/b"));
        assert!(path_match("b?sybox", "busybox"));
        assert!(path_match("[a-c]usybox", "busybox"));
        assert!(!path_match("[^a-c]usybox", "busybox"));
    }

    #[test]
    fn familiar_match_tries_the_name() {
        assert!(reference_matches("busybox", "busybox:latest"));
        assert!(reference_matches("busy*", "busybox:latest"));
        assert!(reference_matches("busybox:lat*", "busybox:latest"));
        assert!(!reference_matches("alpine", "busybox:latest"));
        assert!(reference_matches(
            "localhost:5000/app",
            "localhost:5000/app:v1"
        ));
    }

    #[test]
    fn unknown_filter_is_rejected() {
        let e = ImageFilters::parse(&["foo=bar".into()], KEYS).unwrap_err();
        assert_eq!(e.to_string(), "invalid filter 'foo'");
    }
}
