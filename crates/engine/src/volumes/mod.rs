//! Volumes: `volume create/ls/inspect/rm/prune`, and the mounts of containers ([`mounts`]).
//!
//! # Design
//! Only Docker's `local` driver exists. A volume is a row in the `volumes` table and a
//! directory `$BERTH_ROOT/volumes/NAME/_data` (created before the row, removed after it).
//! Containers hold references on volumes (`volume_refs`), written in the same transaction as
//! the container row and dropped with it, so "volume is in use" is decided atomically by the
//! transaction that removes a volume.
//!
//! A volume with driver options (`-o type=tmpfs,device=tmpfs,o=size=64m`, or
//! `-o type=none,device=/path,o=bind`) is not mounted on the host as Docker's daemon does
//! (there is no daemon to keep the mount and its reference count): each container that uses
//! it gets the mount itself in its OCI spec. For `o=bind` that is the same directory for
//! every container; a `tmpfs` volume is a fresh tmpfs per container (Docker shares one).
//!
//! Anonymous volumes (`-v /path`, `--mount type=volume,dst=/path`, image `VOLUME`) are
//! named with 64 random hex digits and labelled `com.docker.volume.anonymous`, as Docker ≥ 23
//! does; `rm -v`, `run --rm` and `volume prune` (without `-a`) remove only those.

pub mod copyup;
pub mod mounts;

use std::collections::BTreeMap;
use std::path::PathBuf;

use berth_store::volumes::{self as vrows, VolumeRow};
use serde_json::{json, Value};

use crate::{Engine, EngineError};

/// The label Docker puts on anonymous volumes.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// What `volume create` receives.
#[derive(Debug, Clone, Default)]
pub struct VolumeCreate {
    /// The name (empty: an anonymous, random one).
    pub name: String,
    /// `-d` (only `local`).
    pub driver: String,
    /// `-o key=value`.
    pub options: BTreeMap<String, String>,
    /// `--label key=value`.
    pub labels: BTreeMap<String, String>,
    /// Made for a container rather than by `volume create`.
    pub implicit: bool,
}

/// A volume with what `ls`, `inspect` and `system df` show.
#[derive(Debug, Clone)]
pub struct Volume {
    /// The stored row.
    pub row: VolumeRow,
    /// `$BERTH_ROOT/volumes/NAME/_data`.
    pub mountpoint: PathBuf,
    /// Containers using it (any state).
    pub ref_count: i64,
}

impl Volume {
    /// Docker's `volume inspect` document.
    pub fn inspect(&self) -> Value {
        let created = chrono::DateTime::from_timestamp(
            self.row.created / 1_000_000_000,
            (self.row.created % 1_000_000_000) as u32,
        )
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
        json!({
            "CreatedAt": created,
            "Driver": self.row.driver,
            "Labels": if self.row.implicit && self.row.labels.is_empty() { Value::Null } else { json!(self.row.labels) },
            "Mountpoint": self.mountpoint,
            "Name": self.row.name,
            "Options": if self.row.implicit && self.row.options.is_empty() { Value::Null } else { json!(self.row.options) },
            "Scope": "local",
        })
    }
}

/// One volume's disk usage (for `system df`).
#[derive(Debug, Clone)]
pub struct VolumeUsage {
    /// The volume.
    pub volume: Volume,
    /// Bytes used by `_data` (files' apparent sizes; -1 when unreadable).
    pub size: i64,
}

/// Parsed `--filter` of `volume ls` / `volume prune`.
#[derive(Debug, Clone, Default)]
pub struct VolumeFilters {
    dangling: Option<bool>,
    names: Vec<String>,
    drivers: Vec<String>,
    labels: Vec<(String, Option<String>)>,
    not_labels: Vec<(String, Option<String>)>,
    all: Option<bool>,
}

impl VolumeFilters {
    /// Parses `key=value` strings; `allowed` names the keys the command takes.
    pub fn parse(args: &[String], allowed: &[&str]) -> Result<VolumeFilters, EngineError> {
        let mut f = VolumeFilters::default();
        let label = |v: &str| match v.split_once('=') {
            Some((a, b)) => (a.to_string(), Some(b.to_string())),
            None => (v.to_string(), None),
        };
        for a in args {
            let Some((k, v)) = a.split_once('=') else {
                return Err(EngineError::InvalidArgument(
                    "bad format of filter (expected name=value)".into(),
                ));
            };
            let key = k.trim().to_ascii_lowercase();
            if !allowed.contains(&key.as_str()) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )));
            }
            let boolean = |v: &str| match v.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(EngineError::InvalidArgument(format!(
                    "invalid filter '{key}={v}'"
                ))),
            };
            match key.as_str() {
                "dangling" => f.dangling = Some(boolean(v)?),
                "name" => f.names.push(v.to_string()),
                "driver" => f.drivers.push(v.to_string()),
                "label" => f.labels.push(label(v)),
                "label!" => f.not_labels.push(label(v)),
                "all" => f.all = Some(boolean(v)?),
                _ => {
                    return Err(EngineError::InvalidArgument(format!(
                        "invalid filter '{k}'"
                    )))
                }
            }
        }
        Ok(f)
    }

    fn has_label(v: &VolumeRow, (k, want): &(String, Option<String>)) -> bool {
        match (v.labels.get(k), want) {
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
            (None, _) => false,
        }
    }

    /// Whether `v` passes.
    pub fn matches(&self, v: &Volume) -> bool {
        if let Some(d) = self.dangling {
            if d != (v.ref_count == 0) {
                return false;
            }
        }
        if !self.names.is_empty() && !self.names.iter().any(|n| v.row.name.contains(n.as_str())) {
            return false;
        }
        if !self.drivers.is_empty() && !self.drivers.contains(&v.row.driver) {
            return false;
        }
        self.labels.iter().all(|l| Self::has_label(&v.row, l))
            && !self.not_labels.iter().any(|l| Self::has_label(&v.row, l))
    }
}

/// Docker's rule for local volume names.
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn check_name(name: &str) -> Result<(), EngineError> {
    if valid_name(name) {
        return Ok(());
    }
    Err(EngineError::InvalidArgument(format!(
        "create {name}: \"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    )))
}

/// Checks the local driver's options (moby `validateOpts`).
pub fn check_options(name: &str, opts: &BTreeMap<String, String>) -> Result<(), EngineError> {
    let bad = |m: String| Err(EngineError::InvalidArgument(format!("create {name}: {m}")));
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "o" | "device" | "size") {
            return bad(format!("invalid option: {k:?}"));
        }
    }
    if opts.contains_key("size") {
        return bad("quota size requested but no quota support".into());
    }
    for (opt, needs) in [
        ("device", &["type"][..]),
        ("type", &["device"][..]),
        ("o", &["device", "type"][..]),
    ] {
        if opts.contains_key(opt) {
            for n in needs {
                if !opts.contains_key(*n) {
                    return bad(format!("missing required option: {n:?}"));
                }
            }
        }
    }
    if let (Some(t), Some(o)) = (opts.get("type"), opts.get("o")) {
        let bind = o.split(',').any(|x| x == "bind" || x == "rbind");
        if !bind && t != "tmpfs" {
            return bad(format!(
                "volume type {t:?} is not supported by berth (only tmpfs and o=bind)"
            ));
        }
    } else if let Some(t) = opts.get("type") {
        if t != "tmpfs" {
            return bad(format!(
                "volume type {t:?} is not supported by berth (only tmpfs and o=bind)"
            ));
        }
    }
    Ok(())
}

pub(crate) fn new_anonymous_name() -> String {
    use rand::Rng;
    let mut b = [0u8; 32];
    rand::rng().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Engine {
    /// Records a volume event (Docker's `driver` attribute, plus `extra`).
    pub fn emit_volume(&self, action: &str, name: &str, extra: &[(&str, String)]) {
        let mut attrs = BTreeMap::new();
        attrs.insert("driver".to_string(), "local".to_string());
        for (k, v) in extra {
            attrs.insert((*k).to_string(), v.clone());
        }
        self.emit("volume", action, name, attrs);
    }

    /// `$BERTH_ROOT/volumes`.
    pub fn volumes_dir(&self) -> PathBuf {
        self.config.root.join("volumes")
    }

    /// Where a volume's data lives.
    pub fn volume_data_dir(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    /// Makes the directories of a volume (before its row exists).
    pub(crate) fn make_volume_dirs(&self, name: &str) -> Result<PathBuf, EngineError> {
        let top = self.volumes_dir();
        berth_store::fsutil::ensure_private_dir(&top).map_err(crate::error::io_err(&top))?;
        let dir = top.join(name);
        match std::fs::create_dir(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(crate::error::io_err(&dir)(e)),
        }
        let data = dir.join("_data");
        match std::fs::create_dir(&data) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(crate::error::io_err(&data)(e)),
        }
        // Docker's volume roots are 0755 root:root (the container sees the directory).
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755));
        Ok(data)
    }

    /// `volume create`: creates a volume, or returns the existing one of that name (Docker
    /// returns an existing volume unchanged).
    pub fn create_volume(&mut self, req: VolumeCreate) -> Result<Volume, EngineError> {
        let anonymous = req.name.is_empty();
        let name = if anonymous {
            new_anonymous_name()
        } else {
            req.name.clone()
        };
        check_name(&name)?;
        let driver = if req.driver.is_empty() {
            "local".to_string()
        } else {
            req.driver.clone()
        };
        if driver != "local" {
            return Err(EngineError::InvalidArgument(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        if let Some(existing) = self.volume_opt(&name)? {
            if existing.row.driver != driver {
                return Err(EngineError::Conflict(format!(
                    "create {name}: volume name must be unique: a volume with the name \"{name}\" already exists with driver \"{}\"",
                    existing.row.driver
                )));
            }
            return Ok(existing);
        }
        check_options(&name, &req.options)?;
        if let Some(dev) = bind_device(&req.options) {
            if !std::path::Path::new(dev).is_dir() {
                return Err(EngineError::InvalidArgument(format!(
                    "create {name}: failed to mount local volume: mount {dev}:{}, flags: 0x1000: no such file or directory",
                    self.volume_data_dir(&name).display()
                )));
            }
        }
        let mut labels = req.labels.clone();
        if anonymous {
            labels.insert(ANONYMOUS_LABEL.into(), String::new());
        }
        let row = VolumeRow {
            name: name.clone(),
            driver,
            labels,
            options: req.options.clone(),
            anonymous,
            implicit: req.implicit,
            created: berth_store::now_nanos(),
        };
        self.make_volume_dirs(&name)?;
        let r = row.clone();
        if self.store.db_mut().write(|tx| vrows::insert(tx, &r))? {
            self.emit_volume("create", &name, &[]);
        }
        self.volume(&name)
    }

    fn volume_opt(&self, name: &str) -> Result<Option<Volume>, EngineError> {
        let conn = self.store.db().conn();
        let Some(row) =
            vrows::get(conn, name).map_err(|e| EngineError::from(self.store.db().err(e)))?
        else {
            return Ok(None);
        };
        let ref_count = vrows::users(conn, name)
            .map_err(|e| EngineError::from(self.store.db().err(e)))?
            .len() as i64;
        Ok(Some(Volume {
            mountpoint: self.volume_data_dir(&row.name),
            row,
            ref_count,
        }))
    }

    /// One volume by exact name.
    pub fn volume(&self, name: &str) -> Result<Volume, EngineError> {
        self.volume_opt(name)?
            .ok_or_else(|| EngineError::NoSuchVolume(name.to_string()))
    }

    /// Every volume passing `filters`, sorted by name (naturally: `v2` before `v10`, as
    /// the docker CLI sorts them).
    pub fn list_volumes(&self, filters: &VolumeFilters) -> Result<Vec<Volume>, EngineError> {
        let conn = self.store.db().conn();
        let counts =
            vrows::ref_counts(conn).map_err(|e| EngineError::from(self.store.db().err(e)))?;
        let rows = vrows::list(conn).map_err(|e| EngineError::from(self.store.db().err(e)))?;
        Ok(rows
            .into_iter()
            .map(|row| Volume {
                mountpoint: self.volume_data_dir(&row.name),
                ref_count: counts.get(&row.name).copied().unwrap_or(0),
                row,
            })
            .filter(|v| filters.matches(v))
            .collect::<Vec<_>>())
        .map(|mut v| {
            v.sort_by(|a, b| natural_cmp(&a.row.name, &b.row.name));
            v
        })
    }

    /// `volume rm`: refused while a container uses the volume (Docker's message, listing
    /// the containers' ids). `force` only hides "no such volume".
    pub fn remove_volume(&mut self, name: &str, force: bool) -> Result<(), EngineError> {
        let n = name.to_string();
        let outcome = self.store.db_mut().write(|tx| {
            if vrows::get(tx, &n)?.is_none() {
                return Ok(Err(None));
            }
            let users = vrows::users(tx, &n)?;
            if !users.is_empty() {
                return Ok(Err(Some(users)));
            }
            vrows::delete(tx, &n)?;
            Ok(Ok(()))
        })?;
        match outcome {
            Ok(()) => {
                self.remove_volume_dir(name);
                self.emit_volume("destroy", name, &[]);
                Ok(())
            }
            Err(None) if force => Ok(()),
            Err(None) => Err(EngineError::NoSuchVolume(name.to_string())),
            Err(Some(users)) => Err(EngineError::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(" ")
            ))),
        }
    }

    pub(crate) fn remove_volume_dir(&self, name: &str) {
        if !valid_name(name) {
            return;
        }
        let dir = self.volumes_dir().join(name);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(volume = %name, error = %e, "remove volume directory");
            }
        }
    }

    /// `volume prune`: removes unused volumes passing `filters` (only anonymous ones unless
    /// `all`, as Docker ≥ 23); returns their names and the bytes reclaimed.
    pub fn prune_volumes(
        &mut self,
        all: bool,
        filters: &VolumeFilters,
    ) -> Result<(Vec<String>, u64), EngineError> {
        let all = filters.all.unwrap_or(all);
        let candidates = self.list_volumes(filters)?;
        let mut removed = Vec::new();
        let mut reclaimed = 0u64;
        for v in candidates {
            if v.ref_count > 0 || (!all && !v.row.labels.contains_key(ANONYMOUS_LABEL)) {
                continue;
            }
            let size = dir_size(&v.mountpoint);
            match self.remove_volume(&v.row.name, false) {
                Ok(()) => {
                    reclaimed += size.max(0) as u64;
                    removed.push(v.row.name);
                }
                Err(EngineError::Conflict(_)) | Err(EngineError::NoSuchVolume(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok((removed, reclaimed))
    }

    /// Every volume with its size and reference count (for `system df`).
    pub fn volumes_usage(&self) -> Result<Vec<VolumeUsage>, EngineError> {
        Ok(self
            .list_volumes(&VolumeFilters::default())?
            .into_iter()
            .map(|v| VolumeUsage {
                size: dir_size(&v.mountpoint),
                volume: v,
            })
            .collect())
    }
}

/// Removes the directories of volumes whose rows are gone, for a container whose `paths`
/// are known (the monitor has no engine): `$BERTH_ROOT` is two levels above its directory.
pub(crate) fn remove_dirs_beside(paths: &crate::containers::paths::Paths, names: &[String]) {
    let Some(root) = paths.dir.parent().and_then(std::path::Path::parent) else {
        return;
    };
    if let Some(run) = paths.run_dir.parent().and_then(std::path::Path::parent) {
        for n in names {
            let attrs = [("driver".to_string(), "local".to_string())].into();
            crate::events::append(
                run,
                &crate::events::Message::new("volume", "destroy", n, attrs),
            );
        }
    }
    for n in names.iter().filter(|n| valid_name(n)) {
        let dir = root.join("volumes").join(n);
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(volume = %n, error = %e, "remove volume directory");
            }
        }
    }
}

/// `sortorder.NaturalLess` as an ordering: runs of digits compare by value.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let na = std::str::from_utf8(&a[si..i])
                .unwrap_or("")
                .trim_start_matches('0');
            let nb = std::str::from_utf8(&b[sj..j])
                .unwrap_or("")
                .trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// The host directory of an `o=bind` volume.
pub(crate) fn bind_device(opts: &BTreeMap<String, String>) -> Option<&str> {
    let o = opts.get("o")?;
    if o.split(',').any(|x| x == "bind" || x == "rbind") {
        opts.get("device").map(String::as_str)
    } else {
        None
    }
}

/// Apparent size of a tree, never following symlinks nor crossing into other file systems'
/// mounts; -1 when the top cannot be read.
pub fn dir_size(path: &std::path::Path) -> i64 {
    fn walk(dir: &std::path::Path, total: &mut i64) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                *total += md.len() as i64;
                walk(&e.path(), total);
            } else {
                *total += md.len() as i64;
            }
        }
    }
    if std::fs::symlink_metadata(path).is_err() {
        return -1;
    }
    let mut total = 0;
    walk(path, &mut total);
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_docker() {
        for ok in ["ab", "a.b", "data_1", "x-y", "0a"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["a", "", "-ab", ".ab", "a/b", "a b", "a:b", "_ab"] {
            assert!(!valid_name(bad), "{bad}");
        }
        let e = check_name("x/y").unwrap_err().to_string();
        assert!(e.starts_with("create x/y: \"x/y\" includes invalid characters"));
    }

    #[test]
    fn local_driver_options() {
        let m = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(check_options("v", &m(&[])).is_ok());
        assert!(check_options(
            "v",
            &m(&[("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")])
        )
        .is_ok());
        assert!(check_options(
            "v",
            &m(&[("type", "none"), ("device", "/x"), ("o", "bind")])
        )
        .is_ok());
        assert_eq!(
            check_options("v", &m(&[("foo", "1")]))
                .unwrap_err()
                .to_string(),
            "create v: invalid option: \"foo\""
        );
        assert_eq!(
            check_options("v", &m(&[("type", "tmpfs")]))
                .unwrap_err()
                .to_string(),
            "create v: missing required option: \"device\""
        );
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["v10", "v2", "a", "v1", "b01"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "b01", "v1", "v2", "v10"]);
    }

    #[test]
    fn filters() {
        let v = Volume {
            row: VolumeRow {
                name: "webdata".into(),
                driver: "local".into(),
                labels: [("env".to_string(), "prod".to_string())].into(),
                ..Default::default()
            },
            mountpoint: PathBuf::new(),
            ref_count: 0,
        };
        let f = |a: &[&str]| {
            VolumeFilters::parse(
                &a.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                &["dangling", "name", "label", "driver", "label!"],
            )
            .unwrap()
        };
        assert!(f(&["dangling=true"]).matches(&v));
        assert!(!f(&["dangling=false"]).matches(&v));
        assert!(f(&["name=web"]).matches(&v));
        assert!(!f(&["name=db"]).matches(&v));
        assert!(f(&["label=env"]).matches(&v));
        assert!(f(&["label=env=prod"]).matches(&v));
        assert!(!f(&["label=env=dev"]).matches(&v));
        assert!(!f(&["label!=env"]).matches(&v));
        assert!(f(&["driver=local"]).matches(&v));
        assert!(VolumeFilters::parse(&["until=1h".to_string()], &["label"]).is_err());
    }
}
