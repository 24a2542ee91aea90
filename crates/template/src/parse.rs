//! Lexer and parser for Go `text/template` syntax.
//!
//! The grammar and the parse-time checks (undefined function, undefined variable,
//! `{{break}}` outside `{{range}}`, unbalanced `{{end}}`) follow Go's `text/template/parse`,
//! so that templates Docker rejects are rejected here with the same message.

use serde_json::Value;

use crate::TemplateError;

/// Functions known at parse time: Go's builtins plus Docker's `templates.basicFunctions`.
pub(crate) const FUNCTIONS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne", "json", "split", "join", "title",
    "lower", "upper", "pad", "truncate",
];

/// Deepest nesting of parentheses and control structures accepted, so that hostile input
/// cannot overflow the stack of the recursive parser and evaluator.
const MAX_DEPTH: usize = 200;

/// One node of the template tree.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text copied to the output.
    Text(String),
    /// `{{pipeline}}`: the value is printed unless the pipeline declares variables.
    Action(Pipe),
    /// `{{if}}`.
    If(Branch),
    /// `{{with}}`.
    With(Branch),
    /// `{{range}}`.
    Range(Branch),
    /// `{{break}}` inside a range.
    Break,
    /// `{{continue}}` inside a range.
    Continue,
}

/// The shared shape of `if`, `with` and `range`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    pub(crate) pipe: Pipe,
    pub(crate) list: Vec<Node>,
    pub(crate) else_list: Option<Vec<Node>>,
}

/// A pipeline, optionally declaring (`:=`) or assigning (`=`) variables.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    pub(crate) is_assign: bool,
    pub(crate) decl: Vec<String>,
    pub(crate) cmds: Vec<Cmd>,
}

/// One stage of a pipeline: a function call or a single operand.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    pub(crate) args: Vec<Arg>,
}

/// An operand with its byte offset in the source (for error positions).
#[derive(Debug, Clone)]
pub(crate) struct Arg {
    pub(crate) pos: usize,
    pub(crate) kind: ArgKind,
}

/// What an operand is.
#[derive(Debug, Clone)]
pub(crate) enum ArgKind {
    Dot,
    Nil,
    Bool(bool),
    Num(Value),
    Str(String),
    /// `.A.B`
    Field(Vec<String>),
    /// `$x.A.B` (`$` alone is the root data)
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    /// `(pipeline).A.B` or another term followed by fields.
    Chain(Box<Arg>, Vec<String>),
    /// `(pipeline)`
    Pipe(Box<Pipe>),
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ArgKind::Dot => f.write_str("."),
            ArgKind::Nil => f.write_str("nil"),
            ArgKind::Bool(b) => write!(f, "{b}"),
            ArgKind::Num(n) => write!(f, "{n}"),
            ArgKind::Str(s) => write!(f, "{}", crate::gofmt::quote(s)),
            ArgKind::Field(fields) => {
                for name in fields {
                    write!(f, ".{name}")?;
                }
                Ok(())
            }
            ArgKind::Var(name, fields) => {
                f.write_str(name)?;
                for name in fields {
                    write!(f, ".{name}")?;
                }
                Ok(())
            }
            ArgKind::Func(name) => f.write_str(name),
            ArgKind::Chain(inner, fields) => {
                write!(f, "{inner}")?;
                for name in fields {
                    write!(f, ".{name}")?;
                }
                Ok(())
            }
            ArgKind::Pipe(p) => write!(f, "({p})"),
        }
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, cmd) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            for (j, arg) in cmd.args.iter().enumerate() {
                if j > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

/// 1-based line number of byte offset `pos` in `src`.
pub(crate) fn line_of(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    src.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Byte column of `pos` within its line, as Go's `ErrorContext` reports it.
pub(crate) fn col_of(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    match src.as_bytes()[..pos].iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    LDelim,
    RDelim,
    Space,
    Ident(String),
    Field(String),
    Dot,
    Var(String),
    Str(String),
    Num(Value),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Text(t) => format!("{t:?}"),
            Tok::LDelim => "\"{{\"".into(),
            Tok::RDelim => "\"}}\"".into(),
            Tok::Space => "space".into(),
            Tok::Ident(s) | Tok::Field(s) | Tok::Var(s) => format!("<{s}>"),
            Tok::Dot => "<.>".into(),
            Tok::Str(s) => crate::gofmt::quote(s),
            Tok::Num(n) => format!("{n}"),
            Tok::Bool(b) => format!("{b}"),
            Tok::Nil => "nil".into(),
            Tok::Pipe => "\"|\"".into(),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::Declare => "\":=\"".into(),
            Tok::Assign => "\"=\"".into(),
            Tok::Comma => "\",\"".into(),
            Tok::Eof => "EOF".into(),
        }
    }
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    toks: Vec<(Tok, usize)>,
}

impl<'a> Lexer<'a> {
    fn err(&self, pos: usize, message: impl Into<String>) -> TemplateError {
        TemplateError::Parse {
            line: line_of(self.src, pos),
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    /// Is a right delimiter at the current position? Returns its length and whether it
    /// carries a trim marker (` -}}`).
    fn at_right_delim(&self) -> Option<(usize, bool)> {
        let rest = self.rest();
        if rest.starts_with("}}") {
            return Some((2, false));
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next() {
            if is_space(c) && rest[c.len_utf8()..].starts_with("-}}") {
                return Some((c.len_utf8() + 3, true));
            }
        }
        None
    }

    fn run(mut self) -> Result<Vec<(Tok, usize)>, TemplateError> {
        let mut trim_next = false;
        loop {
            let start = self.pos;
            let (text_end, found) = match self.rest().find("{{") {
                Some(i) => (start + i, true),
                None => (self.src.len(), false),
            };
            let mut text = &self.src[start..text_end];
            if trim_next {
                text = text.trim_start_matches(is_space);
            }
            if !found {
                if !text.is_empty() {
                    self.toks.push((Tok::Text(text.to_string()), start));
                }
                self.toks.push((Tok::Eof, self.src.len()));
                return Ok(self.toks);
            }
            // `{{- ` trims the whitespace before the action.
            let after = &self.src[text_end + 2..];
            let mut inner = text_end + 2;
            let mut ac = after.chars();
            if ac.next() == Some('-') && ac.next().is_some_and(is_space) {
                text = text.trim_end_matches(is_space);
                inner += 2;
            }
            if !text.is_empty() {
                self.toks.push((Tok::Text(text.to_string()), start));
            }
            self.pos = inner;
            if self.rest().starts_with("/*") {
                trim_next = self.comment(text_end)?;
                continue;
            }
            self.toks.push((Tok::LDelim, text_end));
            trim_next = self.action(text_end)?;
        }
    }

    fn comment(&mut self, delim_pos: usize) -> Result<bool, TemplateError> {
        let Some(end) = self.rest()[2..].find("*/") else {
            return Err(self.err(delim_pos, "unclosed comment"));
        };
        self.pos += 2 + end + 2;
        match self.at_right_delim() {
            Some((len, trim)) => {
                self.pos += len;
                Ok(trim)
            }
            None => Err(self.err(delim_pos, "comment ends before closing delimiter")),
        }
    }

    /// Lexes the inside of an action up to and including its right delimiter; returns
    /// whether the delimiter asked to trim the following text.
    fn action(&mut self, delim_pos: usize) -> Result<bool, TemplateError> {
        let mut parens = 0usize;
        loop {
            if let Some((len, trim)) = self.at_right_delim() {
                if parens > 0 {
                    return Err(self.err(self.pos, "unclosed left paren"));
                }
                self.toks.push((Tok::RDelim, self.pos));
                self.pos += len;
                return Ok(trim);
            }
            let at = self.pos;
            let Some(c) = self.peek_char() else {
                return Err(self.err(delim_pos, "unclosed action"));
            };
            match c {
                c if is_space(c) => {
                    while self.peek_char().is_some_and(is_space) && self.at_right_delim().is_none()
                    {
                        self.pos += 1;
                    }
                    self.toks.push((Tok::Space, at));
                }
                '=' => {
                    self.pos += 1;
                    self.toks.push((Tok::Assign, at));
                }
                ':' => {
                    if !self.rest().starts_with(":=") {
                        return Err(self.err(at, "expected :="));
                    }
                    self.pos += 2;
                    self.toks.push((Tok::Declare, at));
                }
                '|' => {
                    self.pos += 1;
                    self.toks.push((Tok::Pipe, at));
                }
                ',' => {
                    self.pos += 1;
                    self.toks.push((Tok::Comma, at));
                }
                '(' => {
                    self.pos += 1;
                    parens += 1;
                    self.toks.push((Tok::LParen, at));
                }
                ')' => {
                    if parens == 0 {
                        return Err(self.err(at, "unexpected right paren"));
                    }
                    parens -= 1;
                    self.pos += 1;
                    self.toks.push((Tok::RParen, at));
                }
                '"' => {
                    let s = self.quoted(at)?;
                    self.toks.push((Tok::Str(s), at));
                }
                '`' => {
                    let Some(end) = self.rest()[1..].find('`') else {
                        return Err(self.err(at, "unterminated raw quoted string"));
                    };
                    let s = self.rest()[1..1 + end].to_string();
                    self.pos += end + 2;
                    self.toks.push((Tok::Str(s), at));
                }
                '\'' => {
                    let v = self.char_lit(at)?;
                    self.toks.push((Tok::Num(Value::from(v)), at));
                }
                '$' => {
                    self.pos += 1;
                    let name = self.word();
                    self.toks.push((Tok::Var(format!("${name}")), at));
                }
                '.' => {
                    let next = self.rest()[1..].chars().next();
                    if next.is_some_and(|c| c.is_ascii_digit()) {
                        let n = self.number(at)?;
                        self.toks.push((Tok::Num(n), at));
                    } else if next.is_some_and(is_alnum) {
                        self.pos += 1;
                        let name = self.word();
                        self.toks.push((Tok::Field(name), at));
                    } else {
                        self.pos += 1;
                        self.toks.push((Tok::Dot, at));
                    }
                }
                '+' | '-' | '0'..='9' => {
                    let n = self.number(at)?;
                    self.toks.push((Tok::Num(n), at));
                }
                c if is_alnum(c) => {
                    let word = self.word();
                    let tok = match word.as_str() {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => Tok::Ident(word),
                    };
                    self.toks.push((tok, at));
                }
                c => {
                    return Err(self.err(
                        at,
                        format!(
                            "unrecognized character in action: U+{:04X} {:?}",
                            c as u32, c
                        ),
                    ))
                }
            }
        }
    }

    fn word(&mut self) -> String {
        let rest = self.rest();
        let end = rest.find(|c: char| !is_alnum(c)).unwrap_or(rest.len());
        self.pos += end;
        rest[..end].to_string()
    }

    fn number(&mut self, at: usize) -> Result<Value, TemplateError> {
        let rest = self.rest();
        let bytes = rest.as_bytes();
        let mut i = 0;
        if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
            i += 1;
        }
        // Go scans a generous superset and validates afterwards; so do we.
        while i < bytes.len() {
            let b = bytes[i];
            let prev = if i > 0 { bytes[i - 1] } else { 0 };
            let sign_of_exponent =
                (b == b'+' || b == b'-') && matches!(prev, b'e' | b'E' | b'p' | b'P');
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || sign_of_exponent {
                i += 1;
            } else {
                break;
            }
        }
        let text = &rest[..i];
        self.pos += i;
        parse_number(text).ok_or_else(|| self.err(at, format!("bad number syntax: {text:?}")))
    }

    fn quoted(&mut self, at: usize) -> Result<String, TemplateError> {
        let rest = self.rest();
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\n' => break,
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    let unhex = |chars: &mut std::iter::Skip<std::str::CharIndices<'_>>,
                                 n: usize|
                     -> Option<u32> {
                        let mut v = 0u32;
                        for _ in 0..n {
                            v = v * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        Some(v)
                    };
                    let bad = || self.err(at, "invalid syntax in quoted string");
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'a' => out.push('\x07'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'v' => out.push('\x0b'),
                        '\\' => out.push('\\'),
                        '"' => out.push('"'),
                        'x' => {
                            let v = unhex(&mut chars, 2).ok_or_else(bad)?;
                            // Go strings are bytes; a lone high byte is not valid UTF-8, so
                            // it becomes U+FFFD like Go's printing of invalid UTF-8 would.
                            out.push(char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{FFFD}'));
                        }
                        'u' => {
                            let v = unhex(&mut chars, 4).ok_or_else(bad)?;
                            out.push(char::from_u32(v).ok_or_else(bad)?);
                        }
                        'U' => {
                            let v = unhex(&mut chars, 8).ok_or_else(bad)?;
                            out.push(char::from_u32(v).ok_or_else(bad)?);
                        }
                        '0'..='7' => {
                            let mut v = e.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                let d = chars.next().and_then(|(_, c)| c.to_digit(8));
                                v = v * 8 + d.ok_or_else(bad)?;
                            }
                            if v > 255 {
                                return Err(bad());
                            }
                            out.push(char::from_u32(v).filter(|_| v < 0x80).unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(bad()),
                    }
                }
                c => out.push(c),
            }
        }
        Err(self.err(at, "unterminated quoted string"))
    }

    fn char_lit(&mut self, at: usize) -> Result<i64, TemplateError> {
        let rest = self.rest();
        let Some(end) = rest[1..].find('\'').map(|e| e + 1) else {
            return Err(self.err(at, "unterminated character constant"));
        };
        // An escaped quote: find the real end.
        let end = if rest[1..end].ends_with('\\') && !rest[1..end].ends_with("\\\\") {
            match rest[end + 1..].find('\'') {
                Some(e) => end + 1 + e,
                None => return Err(self.err(at, "unterminated character constant")),
            }
        } else {
            end
        };
        let body = &rest[1..end];
        self.pos += end + 1;
        let bad = || {
            self.err(
                at,
                format!("malformed character constant: {}", &rest[..end + 1]),
            )
        };
        let mut chars = body.chars();
        let v = match (chars.next(), chars.clone().count()) {
            (Some('\\'), _) => {
                let e: String = chars.collect();
                let c = match e.as_str() {
                    "n" => '\n',
                    "t" => '\t',
                    "r" => '\r',
                    "a" => '\x07',
                    "b" => '\x08',
                    "f" => '\x0c',
                    "v" => '\x0b',
                    "\\" => '\\',
                    "'" => '\'',
                    s if s.len() > 1 && (s.starts_with(['x', 'u', 'U'])) => {
                        let v = u32::from_str_radix(&s[1..], 16).map_err(|_| bad())?;
                        char::from_u32(v).ok_or_else(bad)?
                    }
                    _ => return Err(bad()),
                };
                c
            }
            (Some(c), 0) => c,
            _ => return Err(bad()),
        };
        Ok(i64::from(u32::from(v)))
    }
}

/// Parses a Go number literal: ints (decimal, `0x`, `0o`, `0b`, legacy octal, `_`
/// separators) become JSON integers, anything else a float.
fn parse_number(text: &str) -> Option<Value> {
    let (neg, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() || body.ends_with('_') || body.starts_with('_') || body.contains("__") {
        return None;
    }
    let clean: String = body.chars().filter(|&c| c != '_').collect();
    let lower = clean.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            None
        } else {
            Some(u64::from_str_radix(h, 16).ok()?)
        }
    } else if let Some(o) = lower.strip_prefix("0o") {
        Some(u64::from_str_radix(o, 8).ok()?)
    } else if let Some(b) = lower.strip_prefix("0b") {
        Some(u64::from_str_radix(b, 2).ok()?)
    } else if lower.bytes().all(|b| b.is_ascii_digit()) {
        if lower.len() > 1 && lower.starts_with('0') {
            Some(u64::from_str_radix(&lower[1..], 8).ok()?)
        } else {
            lower.parse::<u64>().ok()
        }
    } else {
        None
    };
    if let Some(u) = int {
        return if neg {
            let i = i64::try_from(u).ok()?;
            Some(Value::from(-i))
        } else if let Ok(i) = i64::try_from(u) {
            Some(Value::from(i))
        } else {
            Some(Value::from(u))
        };
    }
    // Floats: only decimal syntax (hex floats are rare enough to reject).
    if !lower
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        || lower.starts_with('e')
    {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    let f = if neg { -f } else { f };
    serde_json::Number::from_f64(f).map(Value::Number)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, usize)>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
}

enum Term {
    End,
    Else,
    Eof,
}

impl<'a> Parser<'a> {
    fn err(&self, message: impl Into<String>) -> TemplateError {
        let pos = self.toks.get(self.i.saturating_sub(1)).map_or(0, |t| t.1);
        TemplateError::Parse {
            line: line_of(self.src, pos),
            message: message.into(),
        }
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self
            .toks
            .get(self.i)
            .cloned()
            .unwrap_or((Tok::Eof, self.src.len()));
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn peek(&self) -> &Tok {
        self.toks.get(self.i).map_or(&Tok::Eof, |t| &t.0)
    }

    fn skip_space(&mut self) {
        while *self.peek() == Tok::Space {
            self.i += 1;
        }
    }

    /// Peeks at the next non-space token without consuming anything.
    fn peek_non_space(&self) -> &Tok {
        let mut j = self.i;
        while let Some((Tok::Space, _)) = self.toks.get(j) {
            j += 1;
        }
        self.toks.get(j).map_or(&Tok::Eof, |t| &t.0)
    }

    fn expect_rdelim(&mut self, context: &str) -> Result<(), TemplateError> {
        self.skip_space();
        match self.next().0 {
            Tok::RDelim => Ok(()),
            t => Err(self.err(format!("unexpected {} in {context}", t.describe()))),
        }
    }

    fn enter(&mut self) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("template nesting too deep"));
        }
        Ok(())
    }

    fn list(&mut self) -> Result<(Vec<Node>, Term), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            match self.next().0 {
                Tok::Text(t) => nodes.push(Node::Text(t)),
                Tok::Eof => return Ok((nodes, Term::Eof)),
                Tok::LDelim => {
                    self.skip_space();
                    let word = match self.peek() {
                        Tok::Ident(w) => w.clone(),
                        _ => String::new(),
                    };
                    match word.as_str() {
                        "end" => {
                            self.i += 1;
                            self.expect_rdelim("end")?;
                            return Ok((nodes, Term::End));
                        }
                        "else" => {
                            self.i += 1;
                            return Ok((nodes, Term::Else));
                        }
                        "if" | "with" | "range" => {
                            self.i += 1;
                            nodes.push(self.control(&word)?);
                        }
                        "break" | "continue" => {
                            self.i += 1;
                            if self.range_depth == 0 {
                                return Err(
                                    self.err(format!("{{{{{word}}}}} outside {{{{range}}}}"))
                                );
                            }
                            self.expect_rdelim(&word)?;
                            nodes.push(if word == "break" {
                                Node::Break
                            } else {
                                Node::Continue
                            });
                        }
                        "define" | "template" | "block" => {
                            return Err(self.err(format!(
                                "{{{{{word}}}}} is not supported in --format templates"
                            )))
                        }
                        _ => {
                            let pipe = self.pipeline("command", false)?;
                            self.expect_rdelim("command")?;
                            nodes.push(Node::Action(pipe));
                        }
                    }
                }
                t => return Err(self.err(format!("unexpected {}", t.describe()))),
            }
        }
    }

    fn control(&mut self, kind: &str) -> Result<Node, TemplateError> {
        self.enter()?;
        let mark = self.vars.len();
        let pipe = self.pipeline(kind, kind == "range")?;
        self.expect_rdelim(kind)?;
        if kind == "range" {
            self.range_depth += 1;
        }
        let listed = self.list();
        if kind == "range" {
            self.range_depth -= 1;
        }
        let (list, term) = listed?;
        let else_list = match term {
            Term::End => None,
            Term::Eof => return Err(self.err("unexpected EOF")),
            Term::Else => {
                // `{{else if ...}}` / `{{else with ...}}` nest a control that shares our
                // `{{end}}`.
                let chained = match self.peek_non_space() {
                    Tok::Ident(w) if (w == "if" || w == "with") && kind != "range" => {
                        if w != kind {
                            return Err(self.err(format!("expected end; found {{{{else {w}}}}}")));
                        }
                        true
                    }
                    _ => false,
                };
                if chained {
                    self.skip_space();
                    self.i += 1;
                    Some(vec![self.control(kind)?])
                } else {
                    self.expect_rdelim("else")?;
                    let (else_list, term) = self.list()?;
                    match term {
                        Term::End => {}
                        Term::Else => return Err(self.err("expected end; found {{else}}")),
                        Term::Eof => return Err(self.err("unexpected EOF")),
                    }
                    Some(else_list)
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let branch = Branch {
            pipe,
            list,
            else_list,
        };
        Ok(match kind {
            "if" => Node::If(branch),
            "with" => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    fn is_end(tok: &Tok, paren: bool) -> bool {
        if paren {
            *tok == Tok::RParen
        } else {
            *tok == Tok::RDelim
        }
    }

    fn pipeline(&mut self, context: &str, is_range: bool) -> Result<Pipe, TemplateError> {
        let paren = context == "parenthesized pipeline";
        self.skip_space();
        let mut decl = Vec::new();
        let mut is_assign = false;
        // Declarations: `$x :=`, `$x =`, and in range `$i, $e :=`.
        if let Tok::Var(_) = self.peek() {
            let save = self.i;
            let mut names = Vec::new();
            loop {
                let Tok::Var(name) = self.peek().clone() else {
                    break;
                };
                self.i += 1;
                self.skip_space();
                names.push(name);
                match self.peek() {
                    Tok::Declare | Tok::Assign => {
                        is_assign = *self.peek() == Tok::Assign;
                        self.i += 1;
                        decl = names;
                        break;
                    }
                    Tok::Comma if is_range && names.len() < 2 => {
                        self.i += 1;
                        self.skip_space();
                    }
                    Tok::Comma => {
                        return Err(self.err(format!("too many declarations in {context}")))
                    }
                    _ => break,
                }
            }
            if decl.is_empty() {
                self.i = save;
            } else if is_assign {
                for name in &decl {
                    if !self.vars.contains(name) {
                        return Err(self.err(format!("undefined variable {name:?}")));
                    }
                }
            } else {
                self.vars.extend(decl.iter().cloned());
            }
        }
        let mut cmds = Vec::new();
        loop {
            self.skip_space();
            let tok = self.peek().clone();
            if Self::is_end(&tok, paren) {
                if paren {
                    self.i += 1;
                }
                break;
            }
            if tok == Tok::Pipe {
                if cmds.is_empty() {
                    return Err(self.err(format!("missing value for {context}")));
                }
                self.i += 1;
                self.skip_space();
                if Self::is_end(self.peek(), paren) || *self.peek() == Tok::Pipe {
                    return Err(self.err("missing value for command"));
                }
                continue;
            }
            let cmd = self.command(paren)?;
            if !cmds.is_empty() {
                if let Some(first) = cmd.args.first() {
                    if !matches!(
                        first.kind,
                        ArgKind::Func(_)
                            | ArgKind::Field(_)
                            | ArgKind::Var(..)
                            | ArgKind::Chain(..)
                    ) {
                        return Err(self.err(format!(
                            "non executable command in pipeline stage {}",
                            cmds.len() + 1
                        )));
                    }
                }
            }
            cmds.push(cmd);
        }
        if cmds.is_empty() {
            return Err(self.err(format!("missing value for {context}")));
        }
        Ok(Pipe {
            is_assign,
            decl,
            cmds,
        })
    }

    fn command(&mut self, paren: bool) -> Result<Cmd, TemplateError> {
        let mut args = Vec::new();
        loop {
            self.skip_space();
            let Some(arg) = self.operand()? else {
                let (t, _) = self.next();
                return Err(self.err(format!("unexpected {} in operand", t.describe())));
            };
            args.push(arg);
            let tok = self.peek().clone();
            match tok {
                Tok::Space => {
                    self.skip_space();
                    let t = self.peek();
                    if Self::is_end(t, paren) || *t == Tok::Pipe {
                        break;
                    }
                }
                Tok::Pipe => break,
                t if Self::is_end(&t, paren) => break,
                t => {
                    self.i += 1;
                    return Err(self.err(format!("unexpected {} in operand", t.describe())));
                }
            }
        }
        Ok(Cmd { args })
    }

    fn operand(&mut self) -> Result<Option<Arg>, TemplateError> {
        let (tok, pos) = self.next();
        let kind = match tok {
            Tok::Ident(name) => {
                if !FUNCTIONS.contains(&name.as_str()) {
                    return Err(self.err(format!("function {name:?} not defined")));
                }
                ArgKind::Func(name)
            }
            Tok::Dot => ArgKind::Dot,
            Tok::Nil => ArgKind::Nil,
            Tok::Bool(b) => ArgKind::Bool(b),
            Tok::Num(n) => ArgKind::Num(n),
            Tok::Str(s) => ArgKind::Str(s),
            Tok::Field(f) => ArgKind::Field(vec![f]),
            Tok::Var(name) => {
                if name != "$" && !self.vars.contains(&name) {
                    return Err(self.err(format!("undefined variable {name:?}")));
                }
                ArgKind::Var(name, Vec::new())
            }
            Tok::LParen => {
                self.enter()?;
                let p = self.pipeline("parenthesized pipeline", false)?;
                self.depth -= 1;
                ArgKind::Pipe(Box::new(p))
            }
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        };
        let mut fields = Vec::new();
        while let Tok::Field(f) = self.peek() {
            fields.push(f.clone());
            self.i += 1;
        }
        if fields.is_empty() {
            return Ok(Some(Arg { pos, kind }));
        }
        let kind = match kind {
            ArgKind::Field(mut f) => {
                f.extend(fields);
                ArgKind::Field(f)
            }
            ArgKind::Var(name, _) => ArgKind::Var(name, fields),
            ArgKind::Bool(_) | ArgKind::Num(_) | ArgKind::Str(_) | ArgKind::Nil | ArgKind::Dot => {
                return Err(self.err(format!("unexpected . after term {:?}", fields[0])));
            }
            other => ArgKind::Chain(Box::new(Arg { pos, kind: other }), fields),
        };
        Ok(Some(Arg { pos, kind }))
    }
}

/// Parses a whole template.
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let toks = Lexer {
        src,
        pos: 0,
        toks: Vec::new(),
    }
    .run()?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
    };
    let (nodes, term) = p.list()?;
    match term {
        Term::Eof => Ok(nodes),
        Term::End => Err(p.err("unexpected {{end}}")),
        Term::Else => Err(p.err("unexpected {{else}}")),
    }
}
