//! The json-file log, in Docker's format: one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2006-01-02T15:04:05.999999999Z"}`.
//! A line longer than 16 KiB is split into partial records without the trailing newline, as
//! Docker's log driver does.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Docker's maximum log record payload.
const MAX_LINE: usize = 16 * 1024;

/// The log of one container, appended to by its monitor.
pub struct LogFile {
    file: Option<File>,
    partial: [Vec<u8>; 2],
}

impl LogFile {
    /// Opens (appending) the log at `path`; a log that cannot be opened is skipped.
    pub fn open(path: &Path) -> LogFile {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .custom_flags_nofollow()
            .open(path)
            .ok();
        LogFile {
            file,
            partial: [Vec::new(), Vec::new()],
        }
    }

    /// Records output of `stream` (0 stdout, 1 stderr): complete lines at once, the rest when
    /// its newline arrives or it outgrows a record.
    pub fn write(&mut self, stream: usize, data: &[u8]) {
        let mut out = Vec::new();
        let buf = &mut self.partial[stream];
        buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = buf[start..].iter().position(|&b| b == b'\n') {
            let end = start + pos + 1;
            for chunk in split_record(&buf[start..end]) {
                record(&mut out, stream, chunk);
            }
            start = end;
        }
        buf.drain(..start);
        while buf.len() >= MAX_LINE {
            let rest = buf.split_off(MAX_LINE);
            record(&mut out, stream, buf);
            *buf = rest;
        }
        self.emit(&out);
    }

    /// Writes whatever partial lines are left (at container exit).
    pub fn flush(&mut self) {
        let mut out = Vec::new();
        for stream in 0..2 {
            if !self.partial[stream].is_empty() {
                let b = std::mem::take(&mut self.partial[stream]);
                record(&mut out, stream, &b);
            }
        }
        self.emit(&out);
    }

    fn emit(&mut self, out: &[u8]) {
        if out.is_empty() {
            return;
        }
        if let Some(f) = &mut self.file {
            let _ = f.write_all(out);
        }
    }
}

fn split_record(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.chunks(MAX_LINE)
}

trait NoFollow {
    fn custom_flags_nofollow(&mut self) -> &mut Self;
}

impl NoFollow for std::fs::OpenOptions {
    fn custom_flags_nofollow(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
    }
}

/// Appends one JSON record.
fn record(out: &mut Vec<u8>, stream: usize, text: &[u8]) {
    out.extend_from_slice(b"{\"log\":");
    json_string(out, &String::from_utf8_lossy(text));
    out.extend_from_slice(if stream == 0 {
        b",\"stream\":\"stdout\",\"time\":\""
    } else {
        b",\"stream\":\"stderr\",\"time\":\""
    });
    rfc3339_nanos_now(out);
    out.extend_from_slice(b"\"}\n");
}

/// Appends the current UTC time as RFC 3339 with nanoseconds (Go's `RFC3339Nano` with all nine
/// digits, as Docker's json-file driver writes it). Hand-written: the monitor's steady state
/// should touch as little code as possible.
fn rfc3339_nanos_now(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    );
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// JSON string escaping as Go's encoding/json does it (incl. `<`, `>`, `&`).
fn json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut b = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn writes_docker_records() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c-json.log");
        let mut l = LogFile::open(&p);
        l.write(0, b"hello\nwor");
        l.write(1, b"err \"x\" <\n");
        l.write(0, b"ld\n");
        l.write(0, b"tail");
        l.flush();
        let text = std::fs::read_to_string(&p).unwrap();
        let recs: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[0]["log"], "hello\n");
        assert_eq!(recs[1]["log"], "err \"x\" <\n");
        assert_eq!(recs[1]["stream"], "stderr");
        assert_eq!(recs[2]["log"], "world\n");
        assert_eq!(recs[3]["log"], "tail");
        assert!(text.contains("\\u003c"));
        let t = recs[0]["time"].as_str().unwrap();
        let parsed = chrono::DateTime::parse_from_rfc3339(t).unwrap();
        assert!(
            (chrono::Utc::now().timestamp() - parsed.timestamp()).abs() < 5,
            "{t}"
        );
        assert_eq!(t.len(), "2006-01-02T15:04:05.999999999Z".len());
        let mut l = LogFile::open(&p);
        l.write(0, &vec![b'a'; MAX_LINE * 2 + 3]);
        l.flush();
        let n = std::fs::read_to_string(&p).unwrap().lines().count();
        assert_eq!(n, 4 + 3);
    }
}
