//! Dockerfile text to logical instructions, as BuildKit's `frontend/dockerfile/parser`:
//! parser directives at the top, comments, line continuations with the escape character,
//! heredocs for `RUN`, `COPY` and `ADD`, and leading `--flag` words.

/// A syntax error, naming the Dockerfile line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("dockerfile parse error on line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the instruction (or directive) at fault.
    pub line: usize,
    /// What is wrong, in BuildKit's words where it has some.
    pub message: String,
}

impl berth_types::Classify for ParseError {
    fn kind(&self) -> berth_types::ErrorKind {
        berth_types::ErrorKind::InvalidArgument
    }
}

/// One heredoc attached to an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// The terminator word (`EOF`).
    pub name: String,
    /// The body, each line ending in `\n` (leading tabs removed for `<<-`).
    pub content: String,
    /// Whether `$VAR` expands in the body (the terminator was not quoted).
    pub expand: bool,
}

/// One logical instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The keyword in lower case (`run`).
    pub keyword: String,
    /// The keyword as written.
    pub keyword_raw: String,
    /// Leading `--name[=value]` words, without the dashes.
    pub flags: Vec<String>,
    /// The rest of the logical line after the keyword and flags, continuations joined.
    pub args: String,
    /// Heredoc bodies, in the order their markers appear.
    pub heredocs: Vec<Heredoc>,
    /// First line (1-based).
    pub start_line: usize,
    /// Last line, heredoc bodies included.
    pub end_line: usize,
}

impl Node {
    /// The instruction as written on its logical line (keyword, flags, args).
    pub fn original(&self) -> String {
        let mut s = self.keyword_raw.clone();
        for f in &self.flags {
            s.push_str(" --");
            s.push_str(f);
        }
        if !self.args.is_empty() {
            s.push(' ');
            s.push_str(&self.args);
        }
        s
    }
}

/// A parsed file: its directives and instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The escape character (`\` unless `# escape=` says `` ` ``).
    pub escape: char,
    /// `# syntax=` (accepted and recorded; berth always uses its own frontend).
    pub syntax: Option<String>,
    /// The instructions.
    pub nodes: Vec<Node>,
}

/// `# key=value` at the top of the file.
fn directive(line: &str) -> Option<(String, String)> {
    let body = line.trim().strip_prefix('#')?.trim();
    let (k, v) = body.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    Some((k.to_ascii_lowercase(), v.trim().to_string()))
}

/// Whether the line ends with the escape character (optionally followed by blanks);
/// returns the line without it.
fn continuation(line: &str, escape: char) -> Option<&str> {
    let t = line.trim_end_matches([' ', '\t']);
    let body = t.strip_suffix(escape)?;
    Some(body)
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Heredoc markers in `args` (outside quotes): `(name, strip_tabs, expand)`.
pub fn heredoc_markers(args: &str) -> Vec<(String, bool, bool)> {
    let b: Vec<char> = args.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            i += 1;
            continue;
        }
        if c == '<' && b.get(i + 1) == Some(&'<') && b.get(i + 2) != Some(&'<') {
            let mut j = i + 2;
            let strip = b.get(j) == Some(&'-');
            if strip {
                j += 1;
            }
            let q = match b.get(j) {
                Some(&c @ ('\'' | '"')) => {
                    j += 1;
                    Some(c)
                }
                _ => None,
            };
            let start = j;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == '_') {
                j += 1;
            }
            if j > start && (b[start].is_ascii_alphabetic() || b[start] == '_') {
                let name: String = b[start..j].iter().collect();
                let closed = match q {
                    Some(qc) if b.get(j) == Some(&qc) => {
                        j += 1;
                        true
                    }
                    Some(_) => false,
                    None => true,
                };
                if closed {
                    out.push((name, strip, q.is_none()));
                    i = j;
                    continue;
                }
            }
        }
        i += 1;
    }
    out
}

/// Parses a Dockerfile.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let mut escape = '\\';
    let mut syntax = None;
    let mut seen: Vec<String> = Vec::new();
    let mut i = 0;
    // Directives: only before any comment, blank line or instruction.
    while i < lines.len() {
        let Some((k, v)) = directive(lines[i]) else {
            break;
        };
        if !matches!(k.as_str(), "escape" | "syntax" | "check") {
            break;
        }
        if seen.contains(&k) {
            return Err(ParseError {
                line: i + 1,
                message: format!("only one {k} parser directive can be used"),
            });
        }
        seen.push(k.clone());
        match k.as_str() {
            "escape" => {
                escape = match v.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(ParseError {
                            line: i + 1,
                            message: format!("invalid escape token '{v}' does not match ` or \\"),
                        })
                    }
                }
            }
            "syntax" => syntax = Some(v),
            _ => {}
        }
        i += 1;
    }
    let mut nodes = Vec::new();
    while i < lines.len() {
        if is_comment_or_blank(lines[i]) {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut logical = String::new();
        loop {
            let line = lines[i];
            i += 1;
            match continuation(line, escape) {
                Some(body) => {
                    logical.push_str(body);
                    while i < lines.len() && is_comment_or_blank(lines[i]) {
                        i += 1;
                    }
                    if i >= lines.len() {
                        break;
                    }
                }
                None => {
                    logical.push_str(line);
                    break;
                }
            }
        }
        let logical = logical.trim();
        if logical.is_empty() {
            continue;
        }
        let (kw, rest) = logical
            .split_once(|c: char| c.is_whitespace())
            .map(|(k, r)| (k, r.trim_start()))
            .unwrap_or((logical, ""));
        let keyword = kw.to_ascii_lowercase();
        // Leading flags.
        let mut flags = Vec::new();
        let mut rest = rest;
        while let Some(f) = rest.strip_prefix("--") {
            let end = f.find(char::is_whitespace).unwrap_or(f.len());
            let word = &f[..end];
            rest = f[end..].trim_start();
            if word.is_empty() {
                break;
            }
            flags.push(word.to_string());
        }
        let args = rest.trim_end().to_string();
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "run" | "copy" | "add") {
            for (name, strip, expand) in heredoc_markers(&args) {
                let mut content = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let line = lines[i];
                    i += 1;
                    let l = if strip {
                        line.trim_start_matches('\t')
                    } else {
                        line
                    };
                    if l == name {
                        closed = true;
                        break;
                    }
                    content.push_str(l);
                    content.push('\n');
                }
                if !closed {
                    return Err(ParseError {
                        line: start,
                        message: format!("unterminated heredoc {name}"),
                    });
                }
                heredocs.push(Heredoc {
                    name,
                    content,
                    expand,
                });
            }
        }
        nodes.push(Node {
            keyword,
            keyword_raw: kw.to_string(),
            flags,
            args,
            heredocs,
            start_line: start,
            end_line: i,
        });
    }
    Ok(Parsed {
        escape,
        syntax,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_comments_continuations() {
        let p = parse(
            "# syntax=docker/dockerfile:1\n# escape=`\n\n# a comment\nFROM busybox\nRUN echo a `\n  # inner comment\n\n  b\nENV A=1\n",
        )
        .unwrap();
        assert_eq!(p.escape, '`');
        assert_eq!(p.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(p.nodes.len(), 3);
        assert_eq!(p.nodes[1].keyword, "run");
        assert_eq!(p.nodes[1].args, "echo a   b");
        assert_eq!((p.nodes[1].start_line, p.nodes[1].end_line), (6, 9));
        assert_eq!(p.nodes[2].start_line, 10);
    }

    #[test]
    fn directive_after_comment_is_a_comment() {
        let p = parse("# hello\n# escape=`\nFROM x\nRUN a \\\n b\n").unwrap();
        assert_eq!(p.escape, '\\');
        assert_eq!(p.nodes[1].args, "a  b");
        assert!(parse("# escape=x\nFROM a").is_err());
        let e = parse("# escape=\\\n# escape=`\nFROM a").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn flags_and_keyword_case() {
        let p = parse("copy --from=build --chown=1:2 a b\nFrom --platform=linux/amd64 x AS y\n")
            .unwrap();
        assert_eq!(p.nodes[0].keyword, "copy");
        assert_eq!(p.nodes[0].flags, vec!["from=build", "chown=1:2"]);
        assert_eq!(p.nodes[0].args, "a b");
        assert_eq!(p.nodes[1].flags, vec!["platform=linux/amd64"]);
        assert_eq!(p.nodes[1].original(), "From --platform=linux/amd64 x AS y");
    }

    #[test]
    fn heredocs() {
        let p = parse(
            "FROM x\nRUN <<EOF\necho $A\nEOF\nRUN <<-'END' cat >f\n\tline\n\tEND\nCOPY <<a <<b /d/\n1\na\n2\nb\nCMD x\n",
        )
        .unwrap();
        assert_eq!(p.nodes.len(), 5);
        let h = &p.nodes[1].heredocs[0];
        assert_eq!(
            (h.name.as_str(), h.content.as_str(), h.expand),
            ("EOF", "echo $A\n", true)
        );
        let h = &p.nodes[2].heredocs[0];
        assert_eq!((h.content.as_str(), h.expand), ("line\n", false));
        assert_eq!(p.nodes[3].heredocs.len(), 2);
        assert_eq!(p.nodes[3].heredocs[1].content, "2\n");
        assert_eq!(p.nodes[4].start_line, 13);
        let e = parse("FROM x\nRUN <<EOF\nno end\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(heredoc_markers("echo '<<EOF'").is_empty());
        assert!(heredoc_markers("a <<< b").is_empty());
    }

    #[test]
    fn crlf_and_trailing_continuation() {
        let p = parse("FROM x\r\nRUN a \\\r\n b\r\nRUN c \\").unwrap();
        assert_eq!(p.nodes[1].args, "a  b");
        assert_eq!(p.nodes[2].args, "c");
    }
}
