//! `.dockerignore`: Docker's pattern rules (moby `patternmatcher` and `dockerignore`).
//!
//! Each line is a pattern; `#` starts a comment line; blanks are trimmed; patterns are
//! cleaned like Go's `filepath.Clean` and a leading `/` is dropped, so `/a` and `a` are the
//! same. `*` matches any run of characters but `/`, `?` one character but `/`, `[...]` a
//! class, `\` escapes, `**` any number of directories (`**/x`, `a/**`, `**` alone). A
//! pattern matches a path when it matches the path itself or one of its parent
//! directories. `!pattern` re-includes; the last matching pattern wins.

/// A pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IgnoreError(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*`: `[^/]*`.
    Star,
    /// `?`: `[^/]`.
    One,
    /// `**` at the end: `.*`.
    All,
    /// `**` elsewhere: `(.*/)?`.
    Dirs,
    /// `[...]`: (negated, ranges).
    Class(bool, Vec<(char, char)>),
}

/// One compiled pattern.
#[derive(Debug, Clone)]
struct Pattern {
    toks: Vec<Tok>,
    exclusion: bool,
}

/// A set of patterns.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
}

/// Go's `path.Clean` for slash-separated paths.
pub use berth_types::clean_path as clean;

fn compile(p: &str) -> Result<Vec<Tok>, IgnoreError> {
    let bad = || IgnoreError(format!("syntax error in pattern: {p}"));
    let chars: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                toks.push(if i >= chars.len() {
                    Tok::All
                } else {
                    Tok::Dirs
                });
            }
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::One),
            '\\' => match chars.get(i) {
                Some(&n) => {
                    i += 1;
                    toks.push(Tok::Lit(n));
                }
                None => return Err(bad()),
            },
            '[' => {
                let mut neg = false;
                if matches!(chars.get(i), Some('^' | '!')) {
                    neg = true;
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(bad());
                    };
                    i += 1;
                    if c == ']' && !first {
                        break;
                    }
                    first = false;
                    let lo = if c == '\\' {
                        let n = *chars.get(i).ok_or_else(bad)?;
                        i += 1;
                        n
                    } else {
                        c
                    };
                    let hi = if chars.get(i) == Some(&'-')
                        && chars.get(i + 1).is_some_and(|&n| n != ']')
                    {
                        let n = chars[i + 1];
                        i += 2;
                        if n == '\\' {
                            let n = *chars.get(i).ok_or_else(bad)?;
                            i += 1;
                            n
                        } else {
                            n
                        }
                    } else {
                        lo
                    };
                    if hi < lo {
                        return Err(bad());
                    }
                    ranges.push((lo, hi));
                }
                toks.push(Tok::Class(neg, ranges));
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    Ok(toks)
}

fn matches_at(toks: &[Tok], s: &[char]) -> bool {
    let Some((t, rest)) = toks.split_first() else {
        return s.is_empty();
    };
    match t {
        Tok::Lit(c) => s.first() == Some(c) && matches_at(rest, &s[1..]),
        Tok::One => s.first().is_some_and(|&c| c != '/') && matches_at(rest, &s[1..]),
        Tok::Class(neg, ranges) => {
            s.first().is_some_and(|&c| {
                let inside = ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi);
                inside != *neg
            }) && matches_at(rest, &s[1..])
        }
        Tok::Star => {
            for k in 0..=s.len() {
                if k > 0 && s[k - 1] == '/' {
                    break;
                }
                if matches_at(rest, &s[k..]) {
                    return true;
                }
            }
            false
        }
        Tok::All => (0..=s.len()).any(|k| matches_at(rest, &s[k..])),
        Tok::Dirs => {
            matches_at(rest, s)
                || (0..s.len()).any(|k| s[k] == '/' && matches_at(rest, &s[k + 1..]))
        }
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let chars: Vec<char> = path.chars().collect();
        matches_at(&self.toks, &chars)
    }
}

impl Matcher {
    /// Compiles patterns (as `NewPatternMatcher`: trimmed, cleaned, `!` exclusions).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, IgnoreError> {
        let mut out = Vec::new();
        for p in patterns {
            let p = p.as_ref().trim();
            if p.is_empty() {
                continue;
            }
            let (exclusion, body) = match p.strip_prefix('!') {
                Some("") => return Err(IgnoreError("illegal exclusion pattern: \"!\"".into())),
                Some(b) => (true, b),
                None => (false, p),
            };
            let body = clean(body);
            let body = body
                .strip_prefix('/')
                .filter(|b| !b.is_empty())
                .unwrap_or(&body);
            out.push(Pattern {
                toks: compile(body)?,
                exclusion,
            });
        }
        Ok(Matcher { patterns: out })
    }

    /// Reads a `.dockerignore` file's text.
    pub fn from_dockerignore(text: &str) -> Result<Matcher, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut pats = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let l = line.trim();
            if l.is_empty() {
                continue;
            }
            let (inv, body) = match l.strip_prefix('!') {
                Some(b) => (true, b.trim()),
                None => (false, l),
            };
            let mut body = if body.is_empty() {
                String::new()
            } else {
                clean(body)
            };
            if body.len() > 1 && body.starts_with('/') {
                body.remove(0);
            }
            pats.push(if inv { format!("!{body}") } else { body });
        }
        Matcher::new(&pats)
    }

    /// Whether there are no patterns at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether any pattern re-includes (`!`): then an excluded directory must still be
    /// walked, since something below it may come back.
    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Whether `path` (relative to the context, `/`-separated) is ignored: moby's
    /// `MatchesOrParentMatches`.
    pub fn matches(&self, path: &str) -> bool {
        let file = clean(path);
        let parent = match file.rfind('/') {
            Some(i) => file[..i].to_string(),
            None => ".".to_string(),
        };
        let dirs: Vec<&str> = parent.split('/').collect();
        let mut matched = false;
        for p in &self.patterns {
            if p.exclusion != matched {
                continue;
            }
            let mut m = p.matches(&file);
            if !m && parent != "." {
                m = (0..dirs.len()).any(|i| p.matches(&dirs[..=i].join("/")));
            }
            if m {
                matched = !p.exclusion;
            }
        }
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Matcher::new(&[pattern]).unwrap().matches(path)
    }

    /// Cases from moby's `patternmatcher` tests (`TestMatches`).
    #[test]
    fn moby_match_cases() {
        let cases: &[(&str, &str, bool)] = &[
            ("**", "file", true),
            ("**", "file/", true),
            ("**/", "file", true),
            ("**/", "file/", true),
            ("**", "/", true),
            ("**/", "/", true),
            ("**", "dir/file", true),
            ("**/", "dir/file", true),
            ("**", "dir/file/", true),
            ("**/", "dir/file/", true),
            ("**/**", "dir/file", true),
            ("**/**", "dir/file/", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/file/", true),
            ("dir/**", "dir/dir2/file", true),
            ("dir/**", "dir/dir2/file/", true),
            ("**/dir", "dir", true),
            ("**/dir", "dir/file", true),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/*", "dir/dir2/file/", true),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file/", true),
            ("**file", "file", true),
            ("**file", "dir/file", true),
            ("**/file", "dir/file", true),
            ("**file", "dir/dir/file", true),
            ("**/file", "dir/dir/file", true),
            ("**/file*", "dir/dir/file", true),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/file*.txt", "dir/dir/file.txt", true),
            ("**/file*.txt*", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("**/**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt", "a/dir/file.txt", false),
            ("a/*.txt", "a/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("a[b-d]e", "ae", false),
            ("a[b-d]e", "ace", true),
            ("a[b-d]e", "aae", false),
            ("a[^b-d]e", "aze", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcdef", false),
            ("abc.def", "abc.def", true),
            ("abc.def", "abcZdef", false),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("a\\\\", "a\\", true),
            ("**/foo/bar", "foo/bar", true),
            ("**/foo/bar", "dir/foo/bar", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("abc/**", "abc", false),
            ("abc/**", "abc/def", true),
            ("abc/**", "abc/def/ghi", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a(b)c/def", "a(b)c/xyz", false),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            (
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
        ];
        for (p, f, want) in cases {
            assert_eq!(m(p, f), *want, "pattern {p:?} on {f:?}");
        }
    }

    #[test]
    fn parents_exceptions_last_wins() {
        let mt = Matcher::new(&["docs", "!docs/README.md"]).unwrap();
        assert!(mt.matches("docs/a.md"));
        assert!(!mt.matches("docs/README.md"));
        assert!(mt.has_exclusions());
        let mt = Matcher::new(&["*.md", "!README*.md", "README-secret.md"]).unwrap();
        assert!(mt.matches("a.md"));
        assert!(!mt.matches("README.md"));
        assert!(mt.matches("README-secret.md"));
        assert!(Matcher::new(&["*"]).unwrap().matches("a/b/c"));
        assert!(!Matcher::new(&["a/b"]).unwrap().matches("a"));
        assert!(Matcher::new(&["!"]).is_err());
        assert!(Matcher::new(&["[a-"]).is_err());
    }

    #[test]
    fn dockerignore_file() {
        let mt = Matcher::from_dockerignore(
            "\u{feff}# comment\n /node_modules \n\n./tmp/../build\n*.log\n!keep.log\n",
        )
        .unwrap();
        assert!(mt.matches("node_modules/x/y"));
        assert!(mt.matches("build"));
        assert!(mt.matches("a.log"));
        assert!(!mt.matches("keep.log"));
        assert!(!mt.matches("src/a.log"));
        assert!(!mt.matches("tmp"));
    }

    #[test]
    fn cleaning() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
        assert_eq!(clean(""), ".");
    }
}
