//! Sizes and durations as docker/go-units prints and parses them.

use std::time::Duration;

use crate::TemplateError;

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

fn size_and_unit(mut size: f64, base: f64, units: &[&'static str]) -> (f64, &'static str) {
    let mut i = 0;
    while size >= base && i < units.len() - 1 {
        size /= base;
        i += 1;
    }
    (size, units[i])
}

fn custom_size(size: f64, precision: usize, base: f64, units: &[&'static str]) -> String {
    let (size, unit) = size_and_unit(size, base, units);
    let n = if size.is_finite() {
        crate::gofmt::format_g(size, precision as i64, false)
    } else {
        "NaN".to_string()
    };
    format!("{n}{unit}")
}

/// Decimal size with 3 significant digits, as Docker's tables print image and container
/// sizes (`units.HumanSizeWithPrecision(size, 3)`): `"4.26MB"`, `"1.5kB"`, `"0B"`.
pub fn human_size(bytes: f64) -> String {
    human_size_with_precision(bytes, 3)
}

/// go-units `HumanSizeWithPrecision`: decimal units, `precision` significant digits
/// (go-units' own `HumanSize` uses 4).
pub fn human_size_with_precision(bytes: f64, precision: usize) -> String {
    custom_size(bytes, precision, 1000.0, &DECIMAL)
}

/// go-units `BytesSize`: binary units with 4 significant digits (`"1.5KiB"`), used by
/// `docker stats`.
pub fn bytes_size(bytes: f64) -> String {
    custom_size(bytes, 4, 1024.0, &BINARY)
}

/// go-units `HumanDuration`, as in `docker ps`'s "Up 3 minutes" and "2 days ago".
pub fn human_duration(d: Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // go-units rounds hours to the nearest (math.Round, halves away from zero).
    let hours = (d.as_secs_f64() / 3600.0).round() as u64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", seconds / 3600 / 24 / 365)
}

/// go-units `RAMInBytes`: binary multiples (`"512m"` = 512 MiB), case-insensitive suffix
/// `k/m/g/t/p`, optionally followed by `b` or `ib`; a plain number is bytes.
pub fn ram_in_bytes(s: &str) -> Result<i64, TemplateError> {
    parse_size(s, 1024)
}

/// go-units `FromHumanSize`: like [`ram_in_bytes`] with decimal multiples (`"1k"` = 1000).
pub fn from_human_size(s: &str) -> Result<i64, TemplateError> {
    parse_size(s, 1000)
}

fn parse_size(s: &str, base: i64) -> Result<i64, TemplateError> {
    let invalid = || TemplateError::InvalidSize {
        input: s.to_string(),
    };
    // The number ends at the last digit, dot or space; one space may separate it from the
    // suffix, and nothing else may surround it.
    let sep = s
        .bytes()
        .rposition(|b| b.is_ascii_digit() || b == b'.' || b == b' ')
        .ok_or_else(invalid)?;
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    // Go's ParseFloat syntax: optional sign, digits with an optional fraction and exponent.
    let valid_num = !num.is_empty()
        && num
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
        && num.bytes().any(|b| b.is_ascii_digit());
    let size: f64 = if valid_num {
        num.parse().map_err(|_| invalid())?
    } else {
        return Err(invalid());
    };
    if size < 0.0 || !size.is_finite() {
        return Err(invalid());
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let sfx = sfx.to_ascii_lowercase();
    let b = sfx.as_bytes();
    if b.len() > 3 {
        return Err(invalid());
    }
    if b[0] == b'b' {
        return if b.len() == 1 {
            Ok(size as i64)
        } else {
            Err(invalid())
        };
    }
    let exp = match b[0] {
        b'k' => 1,
        b'm' => 2,
        b'g' => 3,
        b't' => 4,
        b'p' => 5,
        _ => return Err(invalid()),
    };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &b[1..] != b"ib") {
        return Err(invalid());
    }
    Ok((size * base.pow(exp) as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: f64 = 1000.0;
    const MB: f64 = KB * 1000.0;
    const GB: f64 = MB * 1000.0;
    const TB: f64 = GB * 1000.0;
    const PB: f64 = TB * 1000.0;
    const KIB: f64 = 1024.0;
    const MIB: f64 = KIB * 1024.0;
    const GIB: f64 = MIB * 1024.0;
    const TIB: f64 = GIB * 1024.0;
    const PIB: f64 = TIB * 1024.0;

    #[test]
    fn human_size_go_units_cases() {
        // go-units size_test.go TestHumanSize (precision 4).
        for (size, want) in [
            (1000.0, "1kB"),
            (1024.0, "1.024kB"),
            (1_000_000.0, "1MB"),
            (1_048_576.0, "1.049MB"),
            (2.0 * MB, "2MB"),
            (3.42 * GB, "3.42GB"),
            (5.372 * TB, "5.372TB"),
            (2.22 * PB, "2.22PB"),
            (1e28, "1e+04YB"),
        ] {
            assert_eq!(human_size_with_precision(size, 4), want, "{size}");
        }
    }

    #[test]
    fn human_size_docker_tables() {
        for (size, want) in [
            (0.0, "0B"),
            (999.0, "999B"),
            (1500.0, "1.5kB"),
            (4_258_000.0, "4.26MB"),
            (12_345_678_901.0, "12.3GB"),
            (7_380_000.0, "7.38MB"),
            (999_999.0, "1e+03kB"),
        ] {
            assert_eq!(human_size(size), want, "{size}");
        }
    }

    #[test]
    fn bytes_size_go_units_cases() {
        for (size, want) in [
            (1024.0, "1KiB"),
            (1024.0 * 1024.0, "1MiB"),
            (1_048_576.0, "1MiB"),
            (2.0 * MIB, "2MiB"),
            (3.42 * GIB, "3.42GiB"),
            (5.372 * TIB, "5.372TiB"),
            (2.22 * PIB, "2.22PiB"),
            (1536.0, "1.5KiB"),
            (0.0, "0B"),
        ] {
            assert_eq!(bytes_size(size), want, "{size}");
        }
    }

    #[test]
    fn human_duration_go_units_cases() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let m = |n: u64| s(n * 60);
        let h = |n: u64| s(n * 3600);
        let d = |n: u64| h(n * 24);
        for (dur, want) in [
            (ms(450), "Less than a second"),
            (s(1), "1 second"),
            (s(45), "45 seconds"),
            (s(46), "46 seconds"),
            (s(59), "59 seconds"),
            (s(60), "About a minute"),
            (m(1), "About a minute"),
            (m(3), "3 minutes"),
            (m(35), "35 minutes"),
            (m(35) + s(10), "35 minutes"),
            (m(45), "45 minutes"),
            (m(45) + s(40), "45 minutes"),
            (m(46), "46 minutes"),
            (m(59), "59 minutes"),
            (h(1), "About an hour"),
            (h(1) + m(29), "About an hour"),
            (h(1) + m(31), "2 hours"),
            (h(1) + m(59), "2 hours"),
            (h(3), "3 hours"),
            (h(3) + m(29), "3 hours"),
            (h(3) + m(31), "4 hours"),
            (h(3) + m(59), "4 hours"),
            (h(3) + m(60), "4 hours"),
            (h(24), "24 hours"),
            (h(36), "36 hours"),
            (d(2), "2 days"),
            (d(7), "7 days"),
            (d(13) + h(5), "13 days"),
            (d(14), "2 weeks"),
            (d(20), "2 weeks"),
            (d(21), "3 weeks"),
            (d(28), "4 weeks"),
            (d(55), "7 weeks"),
            (d(60), "2 months"),
            (d(89), "2 months"),
            (d(90), "3 months"),
            (d(365), "12 months"),
            (d(365 * 2 - 1), "24 months"),
            (d(365 * 2), "2 years"),
            (d(365 * 3), "3 years"),
            (d(365 * 10), "10 years"),
        ] {
            assert_eq!(human_duration(dur), want, "{dur:?}");
        }
    }

    #[test]
    fn from_human_size_go_units_cases() {
        let ok: &[(i64, &str)] = &[
            (0, "0"),
            (0, "0b"),
            (0, "0B"),
            (0, "0 B"),
            (32, "32"),
            (32, "32b"),
            (32, "32B"),
            (32 * 1000, "32k"),
            (32 * 1000, "32K"),
            (32 * 1000, "32kb"),
            (32 * 1000, "32Kb"),
            (32 * 1000, "32 kb"),
            ((32.0 * MB) as i64, "32Mb"),
            ((32.0 * GB) as i64, "32Gb"),
            ((32.0 * TB) as i64, "32Tb"),
            ((32.0 * PB) as i64, "32Pb"),
            ((32.5 * KB) as i64, "32.5kB"),
            ((32.5 * KB) as i64, "32.5 kB"),
            (32, "32.5 B"),
            (300, "0.3 K"),
            (300, ".3kB"),
            (0, "0."),
            (0, "0.b"),
            (0, "0.B"),
            (0, "-0"),
            (0, "-0b"),
            (0, "-0B"),
            (0, "-0 b"),
            (0, "-0 B"),
            (32, "32."),
            (32, "32.b"),
            (32, "32.B"),
            (32, "32. b"),
            (32, "32. B"),
            (0, "0 "),
        ];
        for (want, input) in ok {
            assert_eq!(from_human_size(input), Ok(*want), "{input:?}");
        }
        for input in [
            " 0", " 0b", " 0B", " 0 B", "0b ", "0B ", "0 B ", "", "hello", ".", ". ", " ", "  ",
            " .", " . ", "-32", "-32b", "-32B", "-32 b", "-32 B", "32b.", "32B.", "32 b.", "32 B.",
            "32 bb", "32 BB", "32 b b", "32 B B", "32  b", "32  B", " 32 ", "32m b", "32bm", "inf",
            "1x",
        ] {
            assert!(from_human_size(input).is_err(), "{input:?} should fail");
        }
        assert_eq!(
            from_human_size("hello").unwrap_err().to_string(),
            "invalid size: 'hello'"
        );
    }

    #[test]
    fn ram_in_bytes_go_units_cases() {
        let ok: &[(i64, &str)] = &[
            (32, "32"),
            (32, "32b"),
            (32, "32B"),
            (32 * 1024, "32k"),
            (32 * 1024, "32K"),
            (32 * 1024, "32kb"),
            (32 * 1024, "32Kb"),
            (32 * 1024, "32Kib"),
            (32 * 1024, "32KIB"),
            ((32.0 * MIB) as i64, "32Mb"),
            ((32.0 * GIB) as i64, "32Gb"),
            ((32.0 * TIB) as i64, "32Tb"),
            ((32.0 * PIB) as i64, "32Pb"),
            ((32.0 * PIB) as i64, "32PB"),
            ((32.0 * PIB) as i64, "32P"),
            (32, "32.3"),
            ((32.3 * MIB) as i64, "32.3 mb"),
            ((0.3 * MIB) as i64, "0.3MB"),
            (512 * 1024 * 1024, "512m"),
            (1024 * 1024 * 1024, "1g"),
            ((1.5 * GIB) as i64, "1.5G"),
            (100, "100"),
        ];
        for (want, input) in ok {
            assert_eq!(ram_in_bytes(input), Ok(*want), "{input:?}");
        }
        for input in ["", "hello", "-32", " 32 ", "32m b", "32bm"] {
            assert!(ram_in_bytes(input).is_err(), "{input:?} should fail");
        }
    }
}
