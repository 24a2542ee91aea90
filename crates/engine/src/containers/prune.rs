//! `container prune`: removes every container that is not running, as moby's
//! `ContainersPrune` (`daemon/prune.go`), with its `until` and `label`/`label!` filters.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::Container;
use crate::{Engine, EngineError};

/// The filters `container prune` accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerPruneFilters {
    /// Only containers created at or before this time (unix nanoseconds).
    until: Option<i64>,
    /// `label=KEY` / `label=KEY=VALUE`: all must match.
    labels: Vec<(String, Option<String>)>,
    /// `label!=KEY[=VALUE]`: a container matching all of these is kept.
    not_labels: Vec<(String, Option<String>)>,
}

/// What a prune removed.
#[derive(Debug, Default)]
pub struct ContainerPruneReport {
    /// Full ids of the removed containers, oldest first.
    pub deleted: Vec<String>,
    /// Bytes their writable layers held.
    pub reclaimed: u64,
    /// Containers that could not be removed, with why (the others were still removed).
    pub failed: Vec<(String, EngineError)>,
}

impl ContainerPruneFilters {
    /// Parses `key=value` filters; keys other than `until`, `label` and `label!` are
    /// Docker's "invalid filter".
    pub fn parse(args: &[String]) -> Result<ContainerPruneFilters, EngineError> {
        Self::parse_at(args, chrono::Utc::now())
    }

    fn parse_at(
        args: &[String],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<ContainerPruneFilters, EngineError> {
        let mut f = ContainerPruneFilters::default();
        let mut untils = Vec::new();
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                return Err(EngineError::InvalidArgument(
                    "bad format of filter (expected name=value)".into(),
                ));
            };
            let kv = || match v.split_once('=') {
                Some((a, b)) => (a.to_string(), Some(b.to_string())),
                None => (v.to_string(), None),
            };
            match k.to_ascii_lowercase().as_str() {
                "until" => untils.push(v),
                "label" => f.labels.push(kv()),
                "label!" => f.not_labels.push(kv()),
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid filter '{k}'"
                    )))
                }
            }
        }
        match untils.as_slice() {
            [] => {}
            [u] => f.until = Some(crate::timestamps::get_timestamp(u, now)?),
            _ => {
                return Err(EngineError::InvalidArgument(
                    "more than one until filter specified".into(),
                ))
            }
        }
        Ok(f)
    }

    /// Whether a container passes the filters (moby's `matchLabels` and `until`).
    pub fn matches(&self, c: &Container) -> bool {
        if self.until.is_some_and(|u| c.row.created > u) {
            return false;
        }
        let labels = &c.doc.config.labels;
        if !all_match(&self.labels, labels) {
            return false;
        }
        self.not_labels.is_empty() || !all_match(&self.not_labels, labels)
    }
}

fn all_match(want: &[(String, Option<String>)], have: &BTreeMap<String, String>) -> bool {
    want.iter().all(|(k, v)| match (have.get(k), v) {
        (Some(_), None) => true,
        (Some(h), Some(v)) => h == v,
        (None, _) => false,
    })
}

/// Bytes of the files under `dir`, each inode counted once and directories not counted
/// (moby's `directory.Size`, which `GetContainerLayerSize` uses on overlay).
pub fn dir_size(dir: &Path) -> u64 {
    fn walk(dir: &Path, seen: &mut HashSet<(u64, u64)>, total: &mut u64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                walk(&e.path(), seen, total);
            } else if seen.insert((md.dev(), md.ino())) {
                *total += md.size();
            }
        }
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    walk(dir, &mut seen, &mut total);
    total
}

impl Engine {
    /// Removes every container that is not running, paused or restarting and passes
    /// `filters`; keeps going past a container it cannot remove.
    pub fn prune_containers(
        &mut self,
        filters: &ContainerPruneFilters,
    ) -> Result<ContainerPruneReport, EngineError> {
        let mut report = ContainerPruneReport::default();
        for c in self.containers()? {
            if matches!(
                c.row.state.as_str(),
                "running" | "paused" | "restarting" | "removing"
            ) || !filters.matches(&c)
            {
                continue;
            }
            let size = dir_size(&self.container_paths(&c.row.id).upper);
            match self.remove_container(&c.row.id, false) {
                Ok(()) => {
                    report.reclaimed += size;
                    report.deleted.push(c.row.id);
                }
                // Removed meanwhile by someone else: nothing to report.
                Err(EngineError::NoSuchContainer(_)) => {}
                Err(e) => report.failed.push((c.row.id, e)),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::ContainerDoc;

    fn now() -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn filters(args: &[&str]) -> Result<ContainerPruneFilters, EngineError> {
        let v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        ContainerPruneFilters::parse_at(&v, now())
    }

    fn container(created_secs: i64, labels: &[(&str, &str)]) -> Container {
        let mut doc = ContainerDoc::default();
        doc.config.labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Container {
            row: berth_store::ContainerRow {
                created: created_secs * 1_000_000_000,
                ..Default::default()
            },
            doc,
        }
    }

    #[test]
    fn until_takes_durations_times_and_timestamps() {
        let base = 1_700_000_000i64 * 1_000_000_000;
        let u = |s| filters(&[s]).unwrap().until.unwrap();
        assert_eq!(u("until=10m"), base - 600 * 1_000_000_000);
        assert_eq!(u("until=1h30m"), base - 5400 * 1_000_000_000);
        assert_eq!(u("until=1699999000"), 1_699_999_000 * 1_000_000_000);
        assert_eq!(u("until=1699999000.5"), 1_699_999_000_500_000_000);
        assert_eq!(
            u("until=2023-11-14T22:13:20Z"),
            base,
            "RFC 3339 with a zone"
        );
        let e = filters(&["until=soon"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to parse value as time or duration: \"soon\""
        );
        let e = filters(&["until=1h", "until=2h"]).unwrap_err();
        assert_eq!(e.to_string(), "more than one until filter specified");
    }

    #[test]
    fn rejects_unknown_filters() {
        assert_eq!(
            filters(&["status=exited"]).unwrap_err().to_string(),
            "invalid filter 'status'"
        );
        assert_eq!(
            filters(&["label"]).unwrap_err().to_string(),
            "bad format of filter (expected name=value)"
        );
    }

    #[test]
    fn matches_labels_and_age() {
        let old = container(1_600_000_000, &[("env", "test"), ("keep", "yes")]);
        let new = container(1_700_000_000, &[("env", "prod")]);
        let f = filters(&["until=1650000000"]).unwrap();
        assert!(f.matches(&old) && !f.matches(&new));
        let f = filters(&["label=env"]).unwrap();
        assert!(f.matches(&old) && f.matches(&new));
        let f = filters(&["label=env=prod"]).unwrap();
        assert!(!f.matches(&old) && f.matches(&new));
        let f = filters(&["label!=keep"]).unwrap();
        assert!(!f.matches(&old) && f.matches(&new));
        // label! excludes only containers that match all of them (moby's MatchKVList).
        let f = filters(&["label!=keep", "label!=env=prod"]).unwrap();
        assert!(f.matches(&old) && f.matches(&new));
    }

    #[test]
    fn dir_size_counts_files_once() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        std::fs::write(d.path().join("a"), vec![0u8; 1000]).unwrap();
        std::fs::write(d.path().join("sub/b"), vec![0u8; 24]).unwrap();
        std::fs::hard_link(d.path().join("a"), d.path().join("sub/a2")).unwrap();
        assert_eq!(dir_size(d.path()), 1024);
        assert_eq!(dir_size(&d.path().join("missing")), 0);
    }
}
