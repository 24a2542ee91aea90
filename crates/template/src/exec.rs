//! Evaluation of a parsed template against a JSON value, with Go's semantics for maps,
//! truthiness, variables, `range`/`break`/`continue` and the builtin and Docker functions.

use serde_json::Value;

use crate::gofmt;
use crate::parse::{col_of, line_of, Arg, ArgKind, Branch, Cmd, Node, Pipe};
use crate::TemplateError;

/// Upper bound for strings built from user-supplied counts (`pad`), so that a typo such
/// as `pad .Name 100000000000 0` fails instead of exhausting memory.
const MAX_REPEAT: i64 = 1 << 20;

type Result<T> = std::result::Result<T, TemplateError>;

/// A function failure before a position is attached.
type FnResult = std::result::Result<Value, String>;

enum Flow {
    Normal,
    Break,
    Continue,
}

struct State<'a> {
    src: &'a str,
    vars: Vec<(String, Value)>,
    header: bool,
}

/// Executes `root` with `data` as dot, appending to `out` (which keeps what was written
/// before an error, as Go's writer does).
pub(crate) fn execute(
    root: &[Node],
    src: &str,
    data: &Value,
    header: bool,
    out: &mut String,
) -> Result<()> {
    let mut state = State {
        src,
        vars: vec![("$".to_string(), data.clone())],
        header,
    };
    state.walk(root, data, out).map(|_| ())
}

/// Go's `template.IsTrue`.
pub(crate) fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

impl State<'_> {
    fn err(&self, node: &Arg, message: impl Into<String>) -> TemplateError {
        TemplateError::Exec {
            line: line_of(self.src, node.pos),
            col: col_of(self.src, node.pos),
            node: node.to_string(),
            message: message.into(),
        }
    }

    fn walk(&mut self, nodes: &[Node], dot: &Value, out: &mut String) -> Result<Flow> {
        for node in nodes {
            let flow = match node {
                Node::Text(t) => {
                    out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        match v {
                            // Go prints an invalid value (missing map key, nil interface)
                            // as "<no value>".
                            Value::Null => out.push_str("<no value>"),
                            v => out.push_str(&gofmt::sprint_value(&v)),
                        }
                    }
                    Flow::Normal
                }
                Node::If(b) => self.if_with(b, dot, out, false)?,
                Node::With(b) => self.if_with(b, dot, out, true)?,
                Node::Range(b) => self.range(b, dot, out)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
            };
            if !matches!(flow, Flow::Normal) {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    fn if_with(&mut self, b: &Branch, dot: &Value, out: &mut String, with: bool) -> Result<Flow> {
        let mark = self.vars.len();
        let v = self.pipeline(dot, &b.pipe)?;
        let flow = if truth(&v) {
            let new_dot = if with { v } else { dot.clone() };
            self.walk(&b.list, &new_dot, out)
        } else if let Some(else_list) = &b.else_list {
            self.walk(else_list, dot, out)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        flow
    }

    fn range(&mut self, b: &Branch, dot: &Value, out: &mut String) -> Result<Flow> {
        let mark = self.vars.len();
        let v = self.commands(dot, &b.pipe.cmds)?;
        let first = b.pipe.cmds.first().and_then(|c| c.args.first());
        // Lazy, so that `{{range 1000000000}}` streams instead of allocating every index.
        let items: Box<dyn Iterator<Item = (Value, Value)>> = match v {
            Value::Null => Box::new(std::iter::empty()),
            Value::Array(a) => {
                Box::new(a.into_iter().enumerate().map(|(i, e)| (Value::from(i), e)))
            }
            Value::Object(m) => {
                // Go visits map keys in sorted order.
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Box::new(entries.into_iter().map(|(k, v)| (Value::String(k), v)))
            }
            Value::Number(n) if n.as_i64().is_some() => {
                let n = n.as_i64().unwrap_or(0).max(0);
                Box::new((0..n).map(|i| (Value::from(i), Value::from(i))))
            }
            other => {
                let msg = format!("range can't iterate over {}", gofmt::sprint_value(&other));
                return Err(match first {
                    Some(a) => self.err(a, msg),
                    None => TemplateError::Exec {
                        line: 1,
                        col: 0,
                        node: String::new(),
                        message: msg,
                    },
                });
            }
        };
        let mut items = items.peekable();
        if items.peek().is_none() {
            let flow = match &b.else_list {
                Some(list) => self.walk(list, dot, out)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(flow);
        }
        let decl = &b.pipe.decl;
        if !b.pipe.is_assign {
            for name in decl {
                self.vars.push((name.clone(), Value::Null));
            }
        }
        let iter_mark = self.vars.len();
        for (key, elem) in items {
            match decl.len() {
                1 => self.set_var(&decl[0], elem.clone()),
                2 => {
                    self.set_var(&decl[0], key);
                    self.set_var(&decl[1], elem.clone());
                }
                _ => {}
            }
            let flow = self.walk(&b.list, &elem, out);
            self.vars.truncate(iter_mark);
            match flow? {
                Flow::Break => break,
                Flow::Normal | Flow::Continue => {}
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null)
    }

    fn pipeline(&mut self, dot: &Value, pipe: &Pipe) -> Result<Value> {
        let v = self.commands(dot, &pipe.cmds)?;
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, v.clone());
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn commands(&mut self, dot: &Value, cmds: &[Cmd]) -> Result<Value> {
        let mut value: Option<Value> = None;
        for cmd in cmds {
            value = Some(self.command(dot, cmd, value)?);
        }
        Ok(value.unwrap_or(Value::Null))
    }

    fn command(&mut self, dot: &Value, cmd: &Cmd, fin: Option<Value>) -> Result<Value> {
        let Some(first) = cmd.args.first() else {
            return Ok(Value::Null);
        };
        let has_args = cmd.args.len() > 1 || fin.is_some();
        let not_a_function = |s: &Self| {
            if has_args {
                Err(s.err(
                    first,
                    format!("can't give argument to non-function {first}"),
                ))
            } else {
                Ok(())
            }
        };
        match &first.kind {
            ArgKind::Func(name) => self.call(name, first, dot, &cmd.args[1..], fin),
            ArgKind::Field(fields) => self.fields(first, Some(dot.clone()), fields, has_args),
            ArgKind::Var(name, fields) => {
                if fields.is_empty() {
                    not_a_function(self)?;
                }
                self.fields(first, Some(self.var(name)), fields, has_args)
            }
            ArgKind::Chain(inner, fields) => {
                let recv = self.arg(dot, inner)?;
                self.fields(first, Some(recv), fields, has_args)
            }
            ArgKind::Nil => Err(self.err(first, "nil is not a command")),
            _ => {
                not_a_function(self)?;
                self.arg(dot, first)
            }
        }
    }

    /// Walks `.A.B.C` from `recv` (`None` = a missing map key, which propagates as
    /// "no value" like Go's invalid reflect.Value).
    fn fields(
        &self,
        node: &Arg,
        mut recv: Option<Value>,
        fields: &[String],
        has_args: bool,
    ) -> Result<Value> {
        for (i, name) in fields.iter().enumerate() {
            recv = match recv {
                None => None,
                Some(Value::Object(mut m)) => {
                    if has_args && i + 1 == fields.len() {
                        return Err(
                            self.err(node, format!("{name} is not a method but has arguments"))
                        );
                    }
                    m.remove(name)
                }
                Some(Value::Null) => {
                    return Err(self.err(
                        node,
                        format!("nil pointer evaluating interface {{}}.{name}"),
                    ))
                }
                Some(other) => {
                    return Err(self.err(
                        node,
                        format!(
                            "can't evaluate field {name} in type {}",
                            gofmt::go_type(&other)
                        ),
                    ))
                }
            };
        }
        if fields.is_empty() && has_args {
            return Err(self.err(node, format!("can't give argument to non-function {node}")));
        }
        Ok(recv.unwrap_or(Value::Null))
    }

    fn arg(&mut self, dot: &Value, arg: &Arg) -> Result<Value> {
        match &arg.kind {
            ArgKind::Dot => Ok(dot.clone()),
            ArgKind::Nil => Ok(Value::Null),
            ArgKind::Bool(b) => Ok(Value::Bool(*b)),
            ArgKind::Num(n) => Ok(n.clone()),
            ArgKind::Str(s) => Ok(Value::String(s.clone())),
            ArgKind::Field(f) => self.fields(arg, Some(dot.clone()), f, false),
            ArgKind::Var(name, f) => self.fields(arg, Some(self.var(name)), f, false),
            ArgKind::Chain(inner, f) => {
                let recv = self.arg(dot, inner)?;
                self.fields(arg, Some(recv), f, false)
            }
            ArgKind::Func(name) => self.call(name, arg, dot, &[], None),
            ArgKind::Pipe(p) => {
                let p = p.as_ref().clone();
                self.pipeline(dot, &p)
            }
        }
    }

    fn call(
        &mut self,
        name: &str,
        node: &Arg,
        dot: &Value,
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value> {
        // `and` and `or` evaluate their arguments lazily (Go 1.18+).
        if name == "and" || name == "or" {
            let n = args.len() + usize::from(fin.is_some());
            if n == 0 {
                return Err(self.err(
                    node,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Null;
            for a in args {
                last = self.arg(dot, a)?;
                if truth(&last) != (name == "and") {
                    return Ok(last);
                }
            }
            if let Some(f) = fin {
                last = f;
            }
            return Ok(last);
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(dot, a)?);
        }
        if let Some(f) = fin {
            vals.push(f);
        }
        call_builtin(name, &vals, self.header).map_err(|m| self.err(node, m))
    }
}

fn want_args(name: &str, args: &[Value], n: usize) -> std::result::Result<(), String> {
    if args.len() != n {
        return Err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

fn want_min_args(name: &str, args: &[Value], n: usize) -> std::result::Result<(), String> {
    if args.len() < n {
        return Err(format!(
            "wrong number of args for {name}: want at least {n} got {}",
            args.len()
        ));
    }
    Ok(())
}

fn wrong_type(expected: &str, got: &Value) -> String {
    match got {
        Value::Null => format!("invalid value; expected {expected}"),
        v => format!(
            "wrong type for value; expected {expected}; got {}",
            gofmt::go_type(v)
        ),
    }
}

fn as_str(v: &Value) -> std::result::Result<&str, String> {
    v.as_str().ok_or_else(|| wrong_type("string", v))
}

fn as_int(v: &Value) -> std::result::Result<i64, String> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        // Go accepts an integral constant such as 1e3 where an int is expected.
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(f as i64),
        _ => Err(wrong_type("int", v)),
    }
}

fn calling(name: &str, msg: impl std::fmt::Display) -> String {
    format!("error calling {name}: {msg}")
}

/// Go's `evalArgs` used by `html`, `js` and `urlquery`: one string as is, otherwise Sprint.
fn eval_args(args: &[Value]) -> String {
    match args {
        [Value::String(s)] => s.clone(),
        _ => gofmt::sprint(args),
    }
}

fn call_builtin(name: &str, args: &[Value], header: bool) -> FnResult {
    // Docker's HeaderFunctions: while printing table headers these return the header
    // label unchanged (docker/cli templates.HeaderFunctions).
    if header {
        match name {
            "json" | "title" | "lower" | "upper" => {
                want_args(name, args, 1)?;
                return Ok(Value::String(as_str(&args[0])?.to_string()));
            }
            "split" | "join" => {
                want_args(name, args, 2)?;
                as_str(&args[1])?;
                return Ok(Value::String(as_str(&args[0])?.to_string()));
            }
            "truncate" => {
                want_args(name, args, 2)?;
                as_int(&args[1])?;
                return Ok(Value::String(as_str(&args[0])?.to_string()));
            }
            _ => {}
        }
    }
    match name {
        "not" => {
            want_args(name, args, 1)?;
            Ok(Value::Bool(!truth(&args[0])))
        }
        "len" => {
            want_args(name, args, 1)?;
            let n = match &args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::Null => return Err(calling(name, "len of nil pointer")),
                v => return Err(calling(name, format!("len of type {}", gofmt::go_type(v)))),
            };
            Ok(Value::from(n))
        }
        "index" => {
            want_min_args(name, args, 1)?;
            let mut item = args[0].clone();
            for idx in &args[1..] {
                item = index_one(item, idx).map_err(|e| calling(name, e))?;
            }
            Ok(item)
        }
        "slice" => {
            want_min_args(name, args, 1)?;
            slice(&args[0], &args[1..]).map_err(|e| calling(name, e))
        }
        "eq" => {
            want_min_args(name, args, 1)?;
            if args.len() < 2 {
                return Err(calling(name, "missing argument for comparison"));
            }
            for b in &args[1..] {
                if equal(&args[0], b).map_err(|e| calling(name, e))? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        "ne" => {
            want_args(name, args, 2)?;
            let eq = equal(&args[0], &args[1]).map_err(|e| calling(name, e))?;
            Ok(Value::Bool(!eq))
        }
        "lt" | "le" | "gt" | "ge" => {
            want_args(name, args, 2)?;
            let ord = order(&args[0], &args[1]).map_err(|e| calling(name, e))?;
            use std::cmp::Ordering::*;
            Ok(Value::Bool(match name {
                "lt" => ord == Less,
                "le" => ord != Greater,
                "gt" => ord == Greater,
                _ => ord != Less,
            }))
        }
        "print" => Ok(Value::String(gofmt::sprint(args))),
        "println" => Ok(Value::String(gofmt::sprintln(args))),
        "printf" => {
            want_min_args(name, args, 1)?;
            let f = as_str(&args[0])?;
            Ok(Value::String(gofmt::sprintf(f, &args[1..])))
        }
        "html" => Ok(Value::String(html_escape(&eval_args(args)))),
        "js" => Ok(Value::String(js_escape(&eval_args(args)))),
        "urlquery" => Ok(Value::String(query_escape(&eval_args(args)))),
        "call" => {
            want_min_args(name, args, 1)?;
            Err(calling(
                name,
                match &args[0] {
                    Value::Null => "call of nil".to_string(),
                    v => format!("non-function of type {}", gofmt::go_type(v)),
                },
            ))
        }
        "json" => {
            want_args(name, args, 1)?;
            Ok(Value::String(to_json(&args[0])))
        }
        "split" => {
            want_args(name, args, 2)?;
            let (s, sep) = (as_str(&args[0])?, as_str(&args[1])?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| Value::String(p.to_string())).collect()
            };
            Ok(Value::Array(parts))
        }
        "join" => {
            want_args(name, args, 2)?;
            let sep = as_str(&args[1])?;
            let items = match &args[0] {
                Value::Array(a) => a,
                v => return Err(wrong_type("[]string", v)),
            };
            // Go wants a []string; berth's data is JSON, so scalars are printed with %v
            // rather than rejected, and nested values are rejected like Go would.
            let mut parts = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => parts.push(s.clone()),
                    Value::Array(_) | Value::Object(_) => {
                        return Err(wrong_type("[]string", &args[0]))
                    }
                    v => parts.push(gofmt::sprint_value(v)),
                }
            }
            Ok(Value::String(parts.join(sep)))
        }
        "title" => {
            want_args(name, args, 1)?;
            Ok(Value::String(title(as_str(&args[0])?)))
        }
        "lower" => {
            want_args(name, args, 1)?;
            Ok(Value::String(as_str(&args[0])?.to_lowercase()))
        }
        "upper" => {
            want_args(name, args, 1)?;
            Ok(Value::String(as_str(&args[0])?.to_uppercase()))
        }
        "pad" => {
            want_args(name, args, 3)?;
            let s = as_str(&args[0])?;
            let (pre, suf) = (as_int(&args[1])?, as_int(&args[2])?);
            if s.is_empty() {
                return Ok(Value::String(String::new()));
            }
            if pre < 0 || suf < 0 {
                return Err(calling(name, "strings: negative Repeat count"));
            }
            if pre > MAX_REPEAT || suf > MAX_REPEAT {
                return Err(calling(name, "strings: Repeat output length overflow"));
            }
            Ok(Value::String(format!(
                "{}{s}{}",
                " ".repeat(pre as usize),
                " ".repeat(suf as usize)
            )))
        }
        "truncate" => {
            want_args(name, args, 2)?;
            let s = as_str(&args[0])?;
            let n = as_int(&args[1])?;
            // Docker slices bytes; berth counts characters so that multi-byte text is
            // never cut in the middle of a character (identical for ASCII).
            let count = s.chars().count() as i64;
            if count < n {
                return Ok(Value::String(s.to_string()));
            }
            if n < 0 {
                return Err(calling(
                    name,
                    format!("runtime error: slice bounds out of range [:{n}]"),
                ));
            }
            Ok(Value::String(s.chars().take(n as usize).collect()))
        }
        other => Err(format!("function {other:?} not defined")),
    }
}

/// Docker's `json` function: `json.Encoder` with HTML escaping off, trailing newline
/// trimmed. Key order is the order of the object (berth builds objects in the order of
/// Docker's struct fields). Go always escapes U+2028 and U+2029.
pub(crate) fn to_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "null".to_string());
    if s.contains(['\u{2028}', '\u{2029}']) {
        s.replace('\u{2028}', "\\u2028")
            .replace('\u{2029}', "\\u2029")
    } else {
        s
    }
}

fn index_one(item: Value, idx: &Value) -> std::result::Result<Value, String> {
    match item {
        Value::Object(mut m) => match idx {
            Value::String(k) => Ok(m.remove(k).unwrap_or(Value::Null)),
            Value::Null => Err("value is nil; should be of type string".into()),
            v => Err(format!(
                "value has type {}; should be string",
                gofmt::go_type(v)
            )),
        },
        Value::Array(a) => {
            let i = index_int(idx, a.len(), false)?;
            Ok(a.into_iter().nth(i).unwrap_or(Value::Null))
        }
        Value::String(s) => {
            let i = index_int(idx, s.len(), false)?;
            Ok(Value::from(s.as_bytes().get(i).copied().unwrap_or(0)))
        }
        Value::Null => Err("index of untyped nil".into()),
        v => Err(format!("can't index item of type {}", gofmt::go_type(&v))),
    }
}

fn index_int(idx: &Value, len: usize, slicing: bool) -> std::result::Result<usize, String> {
    let i = match idx {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("cannot index slice/array with type {}", gofmt::go_type(idx)))?,
        Value::Null => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                gofmt::go_type(v)
            ))
        }
    };
    let ok = if slicing {
        i >= 0 && i as u64 <= len as u64
    } else {
        i >= 0 && (i as u64) < len as u64
    };
    if !ok {
        return Err(format!("index out of range: {i}"));
    }
    Ok(i as usize)
}

fn slice(item: &Value, idx: &[Value]) -> FnResult {
    let len = match item {
        Value::String(s) => {
            if idx.len() > 2 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::Array(a) => a.len(),
        Value::Null => return Err("slice of untyped nil".into()),
        v => return Err(format!("can't slice item of type {}", gofmt::go_type(v))),
    };
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let mut bounds = [0, len, len];
    for (i, v) in idx.iter().enumerate() {
        bounds[i] = index_int(v, len, true)?;
    }
    if idx.len() < 3 && idx.len() < 2 {
        bounds[1] = len;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    match item {
        Value::String(s) => Ok(Value::String(
            String::from_utf8_lossy(&s.as_bytes()[bounds[0]..bounds[1]]).into_owned(),
        )),
        Value::Array(a) => Ok(Value::Array(a[bounds[0]..bounds[1]].to_vec())),
        _ => Ok(Value::Null),
    }
}

fn equal(a: &Value, b: &Value) -> std::result::Result<bool, String> {
    match (a, b) {
        (Value::Null, Value::Null) => Ok(true),
        (Value::Null, _) | (_, Value::Null) => Ok(false),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::String(x), Value::String(y)) => Ok(x == y),
        (Value::Number(_), Value::Number(_)) => Ok(order(a, b)? == std::cmp::Ordering::Equal),
        (Value::Array(_) | Value::Object(_), _) => {
            Err(format!("non-comparable type {}", gofmt::go_type(a)))
        }
        (_, Value::Array(_) | Value::Object(_)) => {
            Err(format!("non-comparable type {}", gofmt::go_type(b)))
        }
        _ => Err("incompatible types for comparison".into()),
    }
}

fn order(a: &Value, b: &Value) -> std::result::Result<std::cmp::Ordering, String> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        (Value::Number(x), Value::Number(y)) => {
            let ix = x.as_i64().map(i128::from).or(x.as_u64().map(i128::from));
            let iy = y.as_i64().map(i128::from).or(y.as_u64().map(i128::from));
            if let (Some(ix), Some(iy)) = (ix, iy) {
                return Ok(ix.cmp(&iy));
            }
            // Lenient: Go refuses int vs float64; JSON cannot tell them apart reliably.
            let (fx, fy) = (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0));
            fx.partial_cmp(&fy)
                .ok_or_else(|| "incompatible types for comparison".to_string())
        }
        (Value::Null, _)
        | (_, Value::Null)
        | (Value::Bool(_), _)
        | (Value::Array(_), _)
        | (Value::Object(_), _) => Err("invalid type for comparison".into()),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut out = String::with_capacity(s.len());
    let mut prev = ' ';
    for c in s.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

/// `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
