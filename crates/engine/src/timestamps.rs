//! Times given on the command line: moby's `timetypes.GetTimestamp`, shared by prune's
//! `until=` filters and `events --since/--until`.

use crate::EngineError;

/// moby's `timetypes.GetTimestamp` (`until=`, `--since`, `--until`): a Go duration before now (`10m`, `1h30m`),
/// an RFC 3339 time or date (local time without a zone), or unix seconds. Unix nanoseconds.
pub fn get_timestamp(v: &str, now: chrono::DateTime<chrono::Utc>) -> Result<i64, EngineError> {
    let nanos = |t: chrono::DateTime<chrono::Utc>| t.timestamp_nanos_opt().unwrap_or(i64::MAX);
    if v != "0" {
        if let Some(d) = go_duration_nanos(v) {
            return Ok(nanos(now) - d);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(nanos(t.with_timezone(&chrono::Utc)));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v, fmt) {
            return Ok(local(t).map_or(i64::MAX, nanos));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        return Ok(local(d.and_hms_opt(0, 0, 0).expect("midnight")).map_or(i64::MAX, nanos));
    }
    let bad = || {
        EngineError::InvalidArgument(format!("failed to parse value as time or duration: {v:?}"))
    };
    let (secs, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs: i64 = secs.parse().map_err(|_| bad())?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 9 {
        return Err(bad());
    }
    let frac: i64 = format!("{frac:0<9}").parse().map_err(|_| bad())?;
    Ok(secs.saturating_mul(1_000_000_000).saturating_add(frac))
}

fn local(t: chrono::NaiveDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::TimeZone;
    chrono::Local
        .from_local_datetime(&t)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Go's `time.ParseDuration` in nanoseconds (`300ms`, `-1.5h`, `2h45m`).
fn go_duration_nanos(s: &str) -> Option<i64> {
    berth_image::duration::parse_go_duration(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_nanos("300ms"), Some(300_000_000));
        assert_eq!(go_duration_nanos("-1.5h"), Some(-5_400_000_000_000));
        assert_eq!(go_duration_nanos("2h45m"), Some(9_900_000_000_000));
        assert_eq!(go_duration_nanos("10"), None);
        assert_eq!(go_duration_nanos("h"), None);
    }

    #[test]
    fn dates_and_fractions() {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(get_timestamp("0", now).unwrap(), 0);
        assert_eq!(
            get_timestamp("10s", now).unwrap(),
            1_699_999_990_000_000_000
        );
        assert_eq!(get_timestamp("1.25", now).unwrap(), 1_250_000_000);
        assert!(get_timestamp("1.x", now).is_err());
    }
}
