//! `search`.

use berth_engine::Engine;
use serde_json::json;

use crate::args::SearchArgs;
use crate::exit::StatusError;
use crate::output::print_rows;

const TABLE: &str = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";

/// Runs `search`.
pub fn run(a: SearchArgs) -> anyhow::Result<i32> {
    if a.limit < 1 || a.limit > 100 {
        return Err(StatusError::error(
            1,
            format!(
                "Error response from daemon: limit {} is outside the range of [1, 100]",
                a.limit
            ),
        ));
    }
    let mut min_stars = 0u64;
    let mut official: Option<bool> = None;
    let mut automated: Option<bool> = None;
    for f in &a.filter {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            StatusError::error(
                1,
                format!("Error: bad format of filter (expected name=value): {f}"),
            )
        })?;
        let bad = || {
            StatusError::error(
                1,
                format!("Error response from daemon: invalid filter '{k}={v}'"),
            )
        };
        match k {
            "stars" => min_stars = v.parse().map_err(|_| bad())?,
            "is-official" => official = Some(v.parse().map_err(|_| bad())?),
            "is-automated" => automated = Some(v.parse().map_err(|_| bad())?),
            _ => {
                return Err(StatusError::error(
                    1,
                    format!("Error response from daemon: invalid filter '{k}'"),
                ))
            }
        }
    }
    let results = Engine::search(&a.term, a.limit)?;
    let rows: Vec<serde_json::Value> = results
        .iter()
        .filter(|r| r.star_count >= min_stars)
        .filter(|r| official.is_none_or(|o| o == r.is_official))
        .filter(|r| automated.is_none_or(|o| o == r.is_automated))
        .map(|r| {
            let mut d = r.description.replace('\n', " ");
            if !a.no_trunc && d.chars().count() > 45 {
                d = d.chars().take(44).collect::<String>() + "…";
            }
            json!({
                "Name": r.name,
                "Description": d,
                "StarCount": r.star_count.to_string(),
                "IsOfficial": if r.is_official { "[OK]" } else { "" },
                "IsAutomated": if r.is_automated { "[OK]" } else { "" },
            })
        })
        .collect();
    let headers = json!({
        "Name": "NAME", "Description": "DESCRIPTION", "StarCount": "STARS",
        "IsOfficial": "OFFICIAL", "IsAutomated": "AUTOMATED",
    });
    print_rows(a.format.as_deref(), TABLE, &rows, &headers)?;
    Ok(0)
}
