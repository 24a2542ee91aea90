//! Go's `time.ParseDuration`, which Docker uses for every duration it reads (health-check
//! intervals, `--change HEALTHCHECK`, `until=` filters).

fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// Go's `time.ParseDuration`, in nanoseconds, with its error text.
pub fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_end = b
            .iter()
            .position(|c| !c.is_ascii_digit())
            .unwrap_or(b.len());
        let int_part = &s[..int_end];
        s = &s[int_end..];
        let mut frac_part = "";
        if let Some(rest) = s.strip_prefix('.') {
            let fe = rest
                .bytes()
                .position(|c| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            frac_part = &rest[..fe];
            s = &rest[fe..];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_end = s
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(s.len(), |(i, _)| i);
        let unit = &s[..unit_end];
        s = &s[unit_end..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let scale: u64 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(unit),
                    go_quote(orig)
                ))
            }
        };
        let whole: u64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // Fraction × scale, truncated, as Go does (it keeps up to 1e18 precision).
            let mut f = 0f64;
            let mut div = 1f64;
            for d in frac_part.bytes().take(18) {
                f = f * 10.0 + f64::from(d - b'0');
                div *= 10.0;
            }
            v = v
                .checked_add((f * (scale as f64 / div)) as u64)
                .ok_or_else(invalid)?;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > i64::MAX as u64 + u64::from(neg) {
            return Err(invalid());
        }
    }
    Ok(if neg {
        (total as i64).wrapping_neg()
    } else {
        total as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_go() {
        for (s, want) in [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("4.5s", 4_500_000_000),
            ("1m30s", 90_000_000_000),
            ("2h45m", 9_900_000_000_000),
            ("-1.5h", -5_400_000_000_000),
            ("10us", 10_000),
            (".5s", 500_000_000),
        ] {
            assert_eq!(parse_go_duration(s), Ok(want), "{s}");
        }
        for bad in ["", "abc", "1", "1x", "h", "1..2s", "9999999999h"] {
            assert!(parse_go_duration(bad).is_err(), "{bad}");
        }
    }
}
