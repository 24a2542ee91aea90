//! The parts of Go's `fmt` and `strconv` that templates reach: `%v` printing of values,
//! `print`/`println`, `printf` verbs, and `strconv.Quote`.
//!
//! Go prints a `float64` with `%v` as `strconv.FormatFloat(f, 'g', -1, 64)`: shortest digits,
//! exponent form when the decimal exponent is < -4 or >= 6 (shortest form:
//! `1e+06`, `1.2345678e+07`), which is what a Go template shows for a JSON-decoded number.

use serde_json::{Number, Value};

/// Go's name for the dynamic type a JSON value would have after `json.Unmarshal`
/// (integers are reported as `int`, the type Docker's structs use).
pub(crate) fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// `strconv.Quote`.
pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        quote_char_into(&mut out, c, '"');
    }
    out.push('"');
    out
}

fn quote_rune(c: char) -> String {
    let mut out = String::from("'");
    quote_char_into(&mut out, c, '\'');
    out.push('\'');
    out
}

fn is_print(c: char) -> bool {
    let invisible = matches!(
        c,
        '\u{00AD}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    );
    let odd_space = c.is_whitespace() && c != ' ';
    !(c.is_control() || invisible || odd_space)
}

fn quote_char_into(out: &mut String, c: char, q: char) {
    match c {
        c if c == q || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        c if is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// Shortest decimal digits of a finite, non-negative float and its decimal point position:
/// `value = 0.d1d2d3… × 10^dp`.
fn shortest_digits(f: f64) -> (Vec<u8>, i32) {
    digits_of(&format!("{:e}", f.abs()))
}

/// Digits rounded to `n` significant digits, trailing zeros trimmed.
fn rounded_digits(f: f64, n: usize) -> (Vec<u8>, i32) {
    let (mut d, dp) = digits_of(&format!("{:.*e}", n.saturating_sub(1), f.abs()));
    while d.len() > 1 && d.last() == Some(&b'0') {
        d.pop();
    }
    (d, dp)
}

fn digits_of(e: &str) -> (Vec<u8>, i32) {
    let (mant, exp) = e.split_once('e').unwrap_or((e, "0"));
    let digits: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

fn fmt_e(digits: &[u8], dp: i32, prec: usize, upper: bool) -> String {
    let mut s = String::new();
    s.push(char::from(*digits.first().unwrap_or(&b'0')));
    if prec > 0 {
        s.push('.');
        for i in 1..=prec {
            s.push(char::from(*digits.get(i).unwrap_or(&b'0')));
        }
    }
    let exp = if digits.iter().all(|&d| d == b'0') {
        0
    } else {
        dp - 1
    };
    s.push(if upper { 'E' } else { 'e' });
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.unsigned_abs()));
    s
}

fn fmt_f(digits: &[u8], dp: i32, prec: usize) -> String {
    let mut s = String::new();
    if dp > 0 {
        for i in 0..dp as usize {
            s.push(char::from(*digits.get(i).unwrap_or(&b'0')));
        }
    } else {
        s.push('0');
    }
    if prec > 0 {
        s.push('.');
        for i in 0..prec {
            let j = i64::from(dp) + i as i64;
            let d = if j >= 0 {
                digits.get(j as usize).copied().unwrap_or(b'0')
            } else {
                b'0'
            };
            s.push(char::from(d));
        }
    }
    s
}

/// `strconv.FormatFloat(f, 'g', prec, 64)` for finite `f` (prec -1 = shortest).
pub(crate) fn format_g(f: f64, prec: i64, upper: bool) -> String {
    let shortest = prec < 0;
    let (digits, dp) = if shortest {
        shortest_digits(f)
    } else {
        rounded_digits(f, prec.max(1) as usize)
    };
    let nd = digits.len() as i64;
    let mut prec = if shortest { nd } else { prec.max(1) };
    let mut eprec = prec;
    if eprec > nd && nd >= i64::from(dp) {
        eprec = nd;
    }
    if shortest {
        eprec = 6;
    }
    let exp = i64::from(dp) - 1;
    let body = if exp < -4 || exp >= eprec {
        if prec > nd {
            prec = nd;
        }
        fmt_e(&digits, dp, (prec - 1).max(0) as usize, upper)
    } else {
        if prec > i64::from(dp) {
            prec = nd;
        }
        fmt_f(&digits, dp, (prec - i64::from(dp)).max(0) as usize)
    };
    if f.is_sign_negative() && f != 0.0 {
        format!("-{body}")
    } else {
        body
    }
}

/// Go's `%v` for a float64.
pub(crate) fn format_float(f: f64) -> String {
    format_g(f, -1, false)
}

fn format_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        format_float(n.as_f64().unwrap_or(0.0))
    }
}

/// Go's `fmt.Sprint(v)` for one value (`%v`): `[a b]` for slices, `map[k:v]` for maps with
/// sorted keys, `<nil>` for nil.
pub(crate) fn sprint_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => format_number(n),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(sprint_value).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", sprint_value(&m[k])))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

/// `fmt.Sprint`: operands are separated by a space when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&sprint_value(a));
    }
    out
}

/// `fmt.Sprintln`: always space-separated, newline-terminated.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let items: Vec<String> = args.iter().map(sprint_value).collect();
    format!("{}\n", items.join(" "))
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

fn pad(s: String, spec: &Spec) -> String {
    let Some(width) = spec.width else { return s };
    let n = s.chars().count();
    if n >= width {
        return s;
    }
    let fill = width - n;
    if spec.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if spec.zero {
        format!("{}{s}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

/// Pads a number, putting zero padding between the sign/prefix and the digits.
fn pad_number(sign: &str, prefix: &str, digits: &str, spec: &Spec, zero_ok: bool) -> String {
    if spec.zero && zero_ok && !spec.minus {
        if let Some(width) = spec.width {
            let used = sign.len() + prefix.len() + digits.chars().count();
            if used < width {
                return format!("{sign}{prefix}{}{digits}", "0".repeat(width - used));
            }
        }
    }
    let mut no_zero = *spec;
    no_zero.zero = false;
    pad(format!("{sign}{prefix}{digits}"), &no_zero)
}

fn bad_verb(verb: char, v: &Value) -> String {
    match v {
        Value::Null => format!("%!{verb}(<nil>)"),
        _ => format!("%!{verb}({}={})", go_type(v), sprint_value(v)),
    }
}

fn fmt_int(i: i128, verb: char, spec: &Spec) -> String {
    let sign = if i < 0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let a = i.unsigned_abs();
    let (prefix, digits) = match verb {
        'd' | 'v' => ("", a.to_string()),
        'b' => (if spec.sharp { "0b" } else { "" }, format!("{a:b}")),
        'o' => (if spec.sharp { "0" } else { "" }, format!("{a:o}")),
        'O' => ("0o", format!("{a:o}")),
        'x' => (if spec.sharp { "0x" } else { "" }, format!("{a:x}")),
        'X' => (if spec.sharp { "0X" } else { "" }, format!("{a:X}")),
        _ => ("", a.to_string()),
    };
    let digits = match spec.prec {
        Some(0) if a == 0 => String::new(),
        Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits,
    };
    pad_number(sign, prefix, &digits, spec, spec.prec.is_none())
}

fn fmt_float(f: f64, verb: char, spec: &Spec) -> String {
    let sign = if f.is_sign_negative() && f != 0.0 {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let a = f.abs();
    let body = match verb {
        'e' | 'E' => {
            let p = spec.prec.unwrap_or(6);
            let (d, dp) = digits_of(&format!("{:.*e}", p, a));
            fmt_e(&d, dp, p, verb == 'E')
        }
        'f' | 'F' => format!("{:.*}", spec.prec.unwrap_or(6), a),
        'g' | 'G' => format_g(a, spec.prec.map_or(-1, |p| p as i64), verb == 'G'),
        _ => format_g(a, -1, false),
    };
    pad_number(sign, "", &body, spec, true)
}

fn fmt_one(v: &Value, verb: char, spec: &Spec) -> String {
    match v {
        Value::Null => match verb {
            'v' => pad("<nil>".to_string(), spec),
            _ => bad_verb(verb, v),
        },
        Value::Bool(b) => match verb {
            'v' | 't' => pad(b.to_string(), spec),
            _ => bad_verb(verb, v),
        },
        Value::Number(n) => {
            let int = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from));
            let f = n.as_f64().unwrap_or(0.0);
            match (int, verb) {
                (Some(i), 'd' | 'v' | 'b' | 'o' | 'O' | 'x' | 'X') => fmt_int(i, verb, spec),
                (Some(i), 'c') => pad(
                    u32::try_from(i)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{FFFD}')
                        .to_string(),
                    spec,
                ),
                (Some(i), 'q') => pad(
                    quote_rune(
                        u32::try_from(i)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('\u{FFFD}'),
                    ),
                    spec,
                ),
                (Some(i), 'U') => pad(format!("U+{i:04X}"), spec),
                // Lenient where Go would be strict: Docker's structs carry int64 where
                // `json.Unmarshal` gives float64, so users write both %d and %f.
                (Some(i), 'e' | 'E' | 'f' | 'F' | 'g' | 'G') => fmt_float(i as f64, verb, spec),
                (None, 'v' | 'e' | 'E' | 'f' | 'F' | 'g' | 'G') => fmt_float(f, verb, spec),
                (None, 'd') if f.fract() == 0.0 && f.abs() < 9.0e18 => {
                    fmt_int(f as i128, verb, spec)
                }
                _ => bad_verb(verb, v),
            }
        }
        Value::String(s) => {
            let s = match spec.prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            };
            match verb {
                'v' | 's' => pad(s, spec),
                'q' => {
                    if spec.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || is_print(c))
                    {
                        pad(format!("`{s}`"), spec)
                    } else {
                        pad(quote(&s), spec)
                    }
                }
                'x' | 'X' => {
                    let hex: String = s
                        .bytes()
                        .map(|b| {
                            if verb == 'x' {
                                format!("{b:02x}")
                            } else {
                                format!("{b:02X}")
                            }
                        })
                        .collect();
                    pad(hex, spec)
                }
                _ => bad_verb(verb, v),
            }
        }
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|e| fmt_one(e, verb, spec)).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        fmt_one(&Value::String(k.clone()), verb, spec),
                        fmt_one(&m[k], verb, spec)
                    )
                })
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

fn star_arg(args: &[Value], next: &mut usize) -> Option<usize> {
    let v = args.get(*next)?;
    *next += 1;
    v.as_u64()
        .and_then(|u| usize::try_from(u).ok())
        .map(|u| u.min(1 << 20))
}

/// `fmt.Sprintf` over JSON values, including Go's in-band error notation (`%!d(string=x)`,
/// `%!s(MISSING)`, `%!(EXTRA ...)`).
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = !spec.minus,
                _ => break,
            }
            chars.next();
        }
        let mut bad_width = false;
        if chars.peek() == Some(&'*') {
            chars.next();
            spec.width = star_arg(args, &mut next);
            bad_width = spec.width.is_none();
        } else {
            let mut w = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                w.push(d);
                chars.next();
            }
            spec.width = w.parse::<usize>().ok().map(|w| w.min(1 << 20));
        }
        if chars.peek() == Some(&'.') {
            chars.next();
            if chars.peek() == Some(&'*') {
                chars.next();
                spec.prec = star_arg(args, &mut next);
            } else {
                let mut p = String::new();
                while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    p.push(d);
                    chars.next();
                }
                spec.prec = Some(p.parse::<usize>().map_or(0, |p| p.min(1 << 20)));
            }
        }
        if bad_width {
            out.push_str("%!(BADWIDTH)");
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        if verb == 'T' {
            out.push_str(&pad(go_type(arg).to_string(), &spec));
            continue;
        }
        if !matches!(
            verb,
            'v' | 's'
                | 'q'
                | 'd'
                | 'b'
                | 'o'
                | 'O'
                | 'x'
                | 'X'
                | 'c'
                | 'U'
                | 't'
                | 'e'
                | 'E'
                | 'f'
                | 'F'
                | 'g'
                | 'G'
        ) {
            out.push_str(&bad_verb(verb, arg));
            continue;
        }
        out.push_str(&fmt_one(arg, verb, &spec));
    }
    if next < args.len() {
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| match a {
                Value::Null => "<nil>".to_string(),
                a => format!("{}={}", go_type(a), sprint_value(a)),
            })
            .collect();
        out.push_str(&format!("%!(EXTRA {})", extra.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_go_v() {
        for (f, want) in [
            (1.5, "1.5"),
            (2.0, "2"),
            (0.0, "0"),
            (100000.0, "100000"),
            (1e6, "1e+06"),
            (12345678.0, "1.2345678e+07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-3.25, "-3.25"),
            (1e21, "1e+21"),
            (123456.5, "123456.5"),
        ] {
            assert_eq!(format_float(f), want, "{f}");
        }
    }

    #[test]
    fn printf_verbs() {
        let cases: &[(&str, Value, &str)] = &[
            ("%s", json!("x"), "x"),
            ("%d", json!(42), "42"),
            ("%v", json!(1.5), "1.5"),
            ("%q", json!("a\"b\n"), "\"a\\\"b\\n\""),
            ("%t", json!(true), "true"),
            ("%x", json!(255), "ff"),
            ("%X", json!(255), "FF"),
            ("%#x", json!(255), "0xff"),
            ("%x", json!("hi"), "6869"),
            ("%-10s|", json!("ab"), "ab        |"),
            ("%10s|", json!("ab"), "        ab|"),
            ("%5.2f", json!(4.56789), " 4.57"),
            ("%05d", json!(-42), "-0042"),
            ("%+d", json!(5), "+5"),
            ("%.3s", json!("abcdef"), "abc"),
            ("%e", json!(1234.5678), "1.234568e+03"),
            ("%g", json!(0.000012345), "1.2345e-05"),
            ("%.3g", json!(1234.5678), "1.23e+03"),
            ("%c", json!(65), "A"),
            ("%q", json!(65), "'A'"),
            ("%U", json!(65), "U+0041"),
            ("%o", json!(8), "10"),
            ("%b", json!(5), "101"),
            ("%d", json!("x"), "%!d(string=x)"),
            ("%s", json!(5), "%!s(int=5)"),
            ("%d", json!(null), "%!d(<nil>)"),
            ("%v", json!(null), "<nil>"),
            ("%v", json!(["a", 1]), "[a 1]"),
            ("%v", json!({"b": 1, "a": "x"}), "map[a:x b:1]"),
            ("%s", json!(["a", "b"]), "[a b]"),
            ("%T", json!("x"), "string"),
            ("%z", json!(1), "%!z(int=1)"),
            ("100%%", json!(1), "100%%!(EXTRA int=1)"),
            ("%f", json!(2), "2.000000"),
        ];
        for (f, arg, want) in cases {
            assert_eq!(sprintf(f, std::slice::from_ref(arg)), *want, "{f} {arg}");
        }
        assert_eq!(sprintf("%s %s", &[json!("a")]), "a %!s(MISSING)");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(sprintf("%*d", &[json!(4), json!(7)]), "   7");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(sprint(&[json!("a"), json!("b")]), "ab");
        assert_eq!(sprint(&[json!(1), json!(2)]), "1 2");
        assert_eq!(sprint(&[json!("a"), json!(2)]), "a2");
        assert_eq!(sprintln(&[json!("a"), json!("b")]), "a b\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\tb\u{1}é"), "\"a\\tb\\x01é\"");
    }
}
