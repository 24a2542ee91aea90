//! The parts of BuildKit's Dockerfile shell lexer `--change` needs: splitting
//! `name=value` words, quote removal and `$VAR` expansion, and Go durations.

/// BuildKit's `parseWords`: splits on whitespace outside quotes. Quotes and escapes
/// (`escape`, `\\` unless a Dockerfile's `# escape=` says otherwise) stay in the words;
/// [`process_word`] removes them later. Shared with the Dockerfile parser (berth-build).
pub fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                word.push(c);
            }
            (Some(q), c) if c == q => {
                quote = None;
                word.push(c);
            }
            (Some('\''), c) => word.push(c),
            (_, c) if c == escape => {
                word.push(c);
                if let Some(n) = chars.next() {
                    word.push(n);
                }
            }
            (_, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// The value of `name` in a `KEY=value` list (the first entry wins, as Docker's
/// env lists hold each name once).
fn lookup<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    env.iter().find_map(|e| {
        let (k, v) = e.split_once('=').unwrap_or((e, ""));
        (k == name).then_some(v)
    })
}

/// BuildKit's `ProcessWord`: removes quotes and escapes and expands `$VAR`, `${VAR}`,
/// `${VAR:-word}`, `${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}` and
/// `${VAR?msg}` from `env`.
pub(super) fn process_word(word: &str, env: &[String]) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .ok_or("unexpected end of statement while looking for matching single-quote")?;
                out.extend(&chars[i + 1..i + 1 + end]);
                i += end + 2;
            }
            '"' => {
                i += 1;
                loop {
                    let Some(&c) = chars.get(i) else {
                        return Err(
                            "unexpected end of statement while looking for matching double-quote"
                                .into(),
                        );
                    };
                    match c {
                        '"' => {
                            i += 1;
                            break;
                        }
                        '\\' => {
                            match chars.get(i + 1) {
                                Some(&n @ ('"' | '$' | '\\' | '`')) => out.push(n),
                                Some(&n) => {
                                    out.push('\\');
                                    out.push(n);
                                }
                                None => out.push('\\'),
                            }
                            i += 2;
                        }
                        '$' => i = expand(&chars, i, env, &mut out)?,
                        c => {
                            out.push(c);
                            i += 1;
                        }
                    }
                }
            }
            '\\' => {
                match chars.get(i + 1) {
                    Some(&n) => out.push(n),
                    None => out.push('\\'),
                }
                i += 2;
            }
            '$' => i = expand(&chars, i, env, &mut out)?,
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands the `$…` at `chars[i]`, returning the index after it.
fn expand(chars: &[char], i: usize, env: &[String], out: &mut String) -> Result<usize, String> {
    let mut j = i + 1;
    if chars.get(j) == Some(&'{') {
        j += 1;
        let start = j;
        while j < chars.len() && is_name_char(chars[j]) {
            j += 1;
        }
        let name: String = chars[start..j].iter().collect();
        if name.is_empty() {
            return Err("bad substitution".into());
        }
        let value = lookup(env, &name);
        match chars.get(j) {
            Some('}') => {
                out.push_str(value.unwrap_or_default());
                return Ok(j + 1);
            }
            None => return Err(format!("missing '}}' in '${{{name}'")),
            _ => {}
        }
        let colon = chars[j] == ':';
        if colon {
            j += 1;
        }
        let Some(&op) = chars.get(j) else {
            return Err(format!("missing '}}' in '${{{name}'"));
        };
        if !matches!(op, '-' | '+' | '?') {
            return Err(format!("unsupported modifier ({op}) in substitution"));
        }
        j += 1;
        // The word runs to the matching '}', itself processed (nested $ allowed).
        let mut depth = 0;
        let wstart = j;
        while j < chars.len() {
            match chars[j] {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                _ => {}
            }
            j += 1;
        }
        if j >= chars.len() {
            return Err(format!("missing '}}' in '${{{name}'"));
        }
        let word: String = chars[wstart..j].iter().collect();
        let set = if colon {
            value.is_some_and(|v| !v.is_empty())
        } else {
            value.is_some()
        };
        match op {
            '-' if set => out.push_str(value.unwrap_or_default()),
            '-' => out.push_str(&process_word(&word, env)?),
            '+' if set => out.push_str(&process_word(&word, env)?),
            '+' => {}
            _ if set => out.push_str(value.unwrap_or_default()),
            _ => {
                let msg = process_word(&word, env)?;
                let msg = if msg.is_empty() {
                    "is not allowed to be unset".to_string()
                } else {
                    msg
                };
                return Err(format!("{name}: {msg}"));
            }
        }
        return Ok(j + 1);
    }
    let start = j;
    while j < chars.len() && is_name_char(chars[j]) {
        j += 1;
    }
    if j == start {
        out.push('$');
        return Ok(j);
    }
    let name: String = chars[start..j].iter().collect();
    out.push_str(lookup(env, &name).unwrap_or_default());
    Ok(j)
}

/// Go's `time.ParseDuration`, in nanoseconds; `None` when malformed or out of range.
pub(super) fn parse_go_duration(s: &str) -> Option<i64> {
    crate::duration::parse_go_duration(s).ok()
}
