//! BuildKit's shell-word processor (`frontend/dockerfile/shell/lex.go`): quote removal,
//! the escape character and variable substitution, for the instructions Docker expands.
//!
//! Rules (Docker's, not a full shell): single quotes keep everything literally; in double
//! quotes the escape character only escapes `"`, `$` and itself; outside quotes it escapes
//! any character. `$NAME`, `${NAME}`, `${NAME:-word}` (unset or empty), `${NAME-word}`
//! (unset), `${NAME:+word}`, `${NAME+word}`, `${NAME:?message}`, `${NAME?message}`; a `$`
//! not followed by a name or `{` is literal. When words are split, an unquoted
//! substitution's value is split on blanks too.

/// A word the lexer cannot process.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LexError(pub String);

/// The processor, for one escape character.
#[derive(Debug, Clone, Copy)]
pub struct Lexer {
    escape: char,
}

impl Default for Lexer {
    fn default() -> Self {
        Lexer { escape: '\\' }
    }
}

/// How variables are looked up; the closure may record which names were used.
pub type Lookup<'a> = dyn FnMut(&str) -> Option<String> + 'a;

impl Lexer {
    /// A lexer with this escape character (`\` or `` ` ``).
    pub fn new(escape: char) -> Lexer {
        Lexer { escape }
    }

    /// Processes `s` as one word (no splitting).
    pub fn word(&self, s: &str, env: &mut Lookup<'_>) -> Result<String, LexError> {
        let mut st = State::new(s, self.escape, false);
        st.run(env, None)?;
        Ok(st.finish().into_iter().next().unwrap_or_default())
    }

    /// Processes `s` into words split on unquoted blanks.
    pub fn words(&self, s: &str, env: &mut Lookup<'_>) -> Result<Vec<String>, LexError> {
        let mut st = State::new(s, self.escape, true);
        st.run(env, None)?;
        Ok(st.finish())
    }
}

struct State {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    split: bool,
    words: Vec<String>,
    cur: String,
    in_word: bool,
}

impl State {
    fn new(s: &str, escape: char, split: bool) -> State {
        State {
            chars: s.chars().collect(),
            pos: 0,
            escape,
            split,
            words: Vec::new(),
            cur: String::new(),
            in_word: false,
        }
    }

    fn finish(mut self) -> Vec<String> {
        if self.in_word || !self.cur.is_empty() || !self.split {
            self.words.push(std::mem::take(&mut self.cur));
        }
        self.words
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn end_word(&mut self) {
        if self.in_word || !self.cur.is_empty() {
            self.words.push(std::mem::take(&mut self.cur));
        }
        self.in_word = false;
    }

    /// Processes until the end, or until `stop` (unescaped, unquoted) is seen.
    fn run(&mut self, env: &mut Lookup<'_>, stop: Option<char>) -> Result<(), LexError> {
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                return Ok(());
            }
            self.pos += 1;
            if c == self.escape {
                match self.peek() {
                    Some(n) => {
                        self.pos += 1;
                        self.cur.push(n);
                    }
                    None => self.cur.push(c),
                }
                self.in_word = true;
            } else if c == '\'' {
                self.in_word = true;
                loop {
                    match self.peek() {
                        None => return Err(LexError(
                            "unexpected end of statement while looking for matching single-quote"
                                .into(),
                        )),
                        Some('\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(ch) => {
                            self.pos += 1;
                            self.cur.push(ch);
                        }
                    }
                }
            } else if c == '"' {
                self.in_word = true;
                loop {
                    match self.peek() {
                        None => return Err(LexError(
                            "unexpected end of statement while looking for matching double-quote"
                                .into(),
                        )),
                        Some('"') => {
                            self.pos += 1;
                            break;
                        }
                        Some('$') => {
                            self.pos += 1;
                            let v = self.dollar(env)?;
                            self.cur.push_str(&v);
                        }
                        Some(ch) if ch == self.escape => {
                            self.pos += 1;
                            match self.peek() {
                                Some(n) if n == '"' || n == '$' || n == self.escape => {
                                    self.pos += 1;
                                    self.cur.push(n);
                                }
                                _ => self.cur.push(ch),
                            }
                        }
                        Some(ch) => {
                            self.pos += 1;
                            self.cur.push(ch);
                        }
                    }
                }
            } else if c == '$' {
                let v = self.dollar(env)?;
                if self.split {
                    let mut parts = v.split([' ', '\t', '\n']).peekable();
                    let mut first = true;
                    while let Some(p) = parts.next() {
                        if !first {
                            self.end_word();
                        }
                        first = false;
                        self.cur.push_str(p);
                        if !p.is_empty() && parts.peek().is_some() {
                            self.in_word = true;
                        }
                    }
                } else {
                    self.cur.push_str(&v);
                }
            } else if self.split && c.is_whitespace() {
                self.end_word();
            } else {
                self.cur.push(c);
            }
        }
        Ok(())
    }

    fn name(&mut self) -> String {
        let mut n = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                n.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        n
    }

    /// After a `$`: the substituted value.
    fn dollar(&mut self, env: &mut Lookup<'_>) -> Result<String, LexError> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let name = self.name();
                if name.is_empty() {
                    return Err(LexError("bad substitution: missing variable name".into()));
                }
                let op = match self.peek() {
                    Some('}') => {
                        self.pos += 1;
                        return Ok(env(&name).unwrap_or_default());
                    }
                    Some(':') => {
                        self.pos += 1;
                        match self.peek() {
                            Some(c @ ('-' | '+' | '?')) => {
                                self.pos += 1;
                                format!(":{c}")
                            }
                            _ => {
                                return Err(LexError(format!(
                                    "unsupported modifier in ${{{name}:...}}"
                                )))
                            }
                        }
                    }
                    Some(c @ ('-' | '+' | '?')) => {
                        self.pos += 1;
                        c.to_string()
                    }
                    None => return Err(LexError("missing '}'".into())),
                    Some(c) => {
                        return Err(LexError(format!(
                            "unsupported modifier ({c}) in substitution"
                        )))
                    }
                };
                // The word: processed like the rest (quotes, nested $), never split.
                let mut sub = State {
                    chars: self.chars.clone(),
                    pos: self.pos,
                    escape: self.escape,
                    split: false,
                    words: Vec::new(),
                    cur: String::new(),
                    in_word: false,
                };
                sub.run(env, Some('}'))?;
                if sub.peek() != Some('}') {
                    return Err(LexError("missing '}'".into()));
                }
                self.pos = sub.pos + 1;
                let word = sub.cur;
                let value = env(&name);
                Ok(match op.as_str() {
                    ":-" => match value {
                        Some(v) if !v.is_empty() => v,
                        _ => word,
                    },
                    "-" => value.unwrap_or(word),
                    ":+" => match value {
                        Some(v) if !v.is_empty() => word,
                        _ => String::new(),
                    },
                    "+" => value.map(|_| word).unwrap_or_default(),
                    ":?" => match value {
                        Some(v) if !v.is_empty() => v,
                        _ => {
                            return Err(LexError(if word.is_empty() {
                                format!("{name}: is not allowed to be unset")
                            } else {
                                format!("{name}: {word}")
                            }))
                        }
                    },
                    _ => match value {
                        Some(v) => v,
                        None => {
                            return Err(LexError(if word.is_empty() {
                                format!("{name}: is not allowed to be unset")
                            } else {
                                format!("{name}: {word}")
                            }))
                        }
                    },
                })
            }
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = self.name();
                Ok(env(&name).unwrap_or_default())
            }
            _ => Ok("$".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl FnMut(&str) -> Option<String> + 'a {
        move |n| {
            vars.iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string())
        }
    }

    fn word(s: &str) -> String {
        let vars = [("A", "a"), ("E", ""), ("S", "x y")];
        let mut e = env(&vars);
        #[allow(clippy::let_and_return)]
        let out = Lexer::default().word(s, &mut e).unwrap();
        out
    }

    #[test]
    fn substitution() {
        assert_eq!(word("$A"), "a");
        assert_eq!(word("${A}b"), "ab");
        assert_eq!(word("$Ab"), "");
        assert_eq!(word("${N:-d}"), "d");
        assert_eq!(word("${E:-d}"), "d");
        assert_eq!(word("${E-d}"), "");
        assert_eq!(word("${N-d}"), "d");
        assert_eq!(word("${A:+x}"), "x");
        assert_eq!(word("${E:+x}"), "");
        assert_eq!(word("${E+x}"), "x");
        assert_eq!(word("${N:-$A}"), "a");
        assert_eq!(word("${N:-'q}'}"), "q}");
        assert_eq!(word("$"), "$");
        assert_eq!(word("a$ b"), "a$ b");
        assert_eq!(word("$1"), "$1");
        let mut e = env(&[]);
        assert_eq!(
            Lexer::default()
                .word("${N:?must be set}", &mut e)
                .unwrap_err()
                .0,
            "N: must be set"
        );
        assert!(Lexer::default().word("${A", &mut e).is_err());
        assert!(Lexer::default().word("${A:x}", &mut e).is_err());
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(word("'$A'"), "$A");
        assert_eq!(word("\"$A\""), "a");
        assert_eq!(word("\\$A"), "$A");
        assert_eq!(word("\"\\$A \\\"q\\\" \\x\""), "$A \"q\" \\x");
        assert_eq!(word("a\\ b"), "a b");
        let bt = Lexer::new('`');
        let mut e = env(&[("A", "a")]);
        assert_eq!(bt.word("`$A c:\\dir", &mut e).unwrap(), "$A c:\\dir");
        assert!(Lexer::default().word("'open", &mut e).is_err());
        assert!(Lexer::default().word("\"open", &mut e).is_err());
    }

    #[test]
    fn splitting() {
        let vars = [("S", "x y"), ("E", "")];
        let l = Lexer::default();
        let w = |s: &str| l.words(s, &mut env(&vars)).unwrap();
        assert_eq!(w("a  b"), vec!["a", "b"]);
        assert_eq!(w("a $S b"), vec!["a", "x", "y", "b"]);
        assert_eq!(w("\"$S\" b"), vec!["x y", "b"]);
        assert_eq!(w("'a b' \"\""), vec!["a b", ""]);
        assert_eq!(w("$E"), Vec::<String>::new());
        assert_eq!(w("p$S"), vec!["px", "y"]);
    }

    #[test]
    fn records_used_names() {
        let mut used = Vec::new();
        let mut look = |n: &str| {
            used.push(n.to_string());
            None
        };
        Lexer::default().word("$X ${Y:-z} '$Q'", &mut look).unwrap();
        assert_eq!(used, vec!["X", "Y"]);
    }
}
