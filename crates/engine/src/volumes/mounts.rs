//! A container's mounts: `-v` (`HostConfig.Binds`), `--mount` (`HostConfig.Mounts`),
//! `--volumes-from`, and anonymous volumes (`Config.Volumes`: `-v /path` and the image's
//! `VOLUME`s), resolved at create time into [`MountPoint`]s (Docker's
//! `registerMountPoints`) and turned into OCI mounts at start.
//!
//! # Design
//! Resolution is pure: [`plan`] validates every spec with the Docker daemon's messages and
//! says which volumes must exist, without touching anything. The caller then creates the
//! named volumes that are missing (Docker keeps those even when the create fails later),
//! makes the anonymous volumes' directories, and records the anonymous volume rows and every
//! reference in the same transaction as the container row ([`MountPlan::record`]).
//!
//! At start, each destination is first resolved inside the rootfs
//! ([`resolve_destination`], Docker's `FollowSymlinkInScope` done with fds), then each mount
//! point becomes an OCI bind (or tmpfs) mount at the resolved path, sorted so parents come
//! before children. The runtime (libcontainer) resolves each destination inside the rootfs
//! again with `openat2(RESOLVE_IN_ROOT)` (pathrs) and mounts onto the resolved fd
//! (`open_tree`/`move_mount`), so a symlinked destination in a hostile image stays inside the
//! container (CVE-2021-30465). The first start of a container copies the image's content at
//! each empty volume's destination into the volume ([`super::copyup`]).

use berth_types::clean_path as clean;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_runtime::spec as rspec;
use berth_store::volumes::{self as vrows, VolumeRow};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::ANONYMOUS_LABEL;
use crate::containers::{Config, HostConfig};
use crate::{Engine, EngineError};

/// Docker's `BindOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BindOptions {
    /// `rprivate`, `private`, `rshared`, `shared`, `rslave`, `slave`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    /// `bind-nonrecursive`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
    /// Create a missing source (API only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub create_mountpoint: bool,
}

/// Docker's volume `Driver` config.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DriverConfig {
    /// The driver (`local`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `volume-opt`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// Docker's `VolumeOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct VolumeOptions {
    /// `volume-nocopy`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_copy: bool,
    /// `volume-label`s.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// `volume-driver`, `volume-opt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
    /// `volume-subpath` (refused: not supported yet).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}

/// Docker's `TmpfsOptions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TmpfsOptions {
    /// `tmpfs-size` in bytes.
    #[serde(skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    /// `tmpfs-mode` (permission bits).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub mode: u32,
    /// Extra options (`[["exec"]]`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<Vec<String>>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn is_zero_u32(v: &u32) -> bool {
    *v == 0
}

/// Docker's API `Mount` (`HostConfig.Mounts`, what `--mount` makes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountSpec {
    /// `bind`, `volume`, `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Host path (bind) or volume name (empty: anonymous).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// `readonly`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
    /// `consistency` (ignored on Linux).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    /// `bind-*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    /// `volume-*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    /// `tmpfs-*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
}

/// One resolved mount of a container (Docker's `MountPoint`), stored with the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    /// `bind`, `volume`, `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// The volume's name (volumes only).
    pub name: String,
    /// The host path of a bind.
    pub source: String,
    /// Path in the container (cleaned).
    pub destination: String,
    /// The volume driver (volumes only).
    pub driver: String,
    /// The mode as given with `-v` (`ro`, `z`, …).
    pub mode: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Bind propagation.
    pub propagation: String,
    /// Fill an empty volume with the image's content at first start.
    pub copy_data: bool,
    /// Non-recursive bind.
    pub non_recursive: bool,
    /// Create a missing bind source at start (`-v`, as Docker does).
    pub create_source: bool,
    /// tmpfs mount data (`size=…,mode=…`).
    pub data: String,
}

impl MountPoint {
    /// The entry of Docker's `Mounts` in `inspect`.
    pub fn inspect(&self, source: &Path) -> Value {
        // Go's field order; Name and Driver are omitted when empty.
        let mut m = serde_json::Map::new();
        m.insert("Type".into(), json!(self.kind));
        if self.kind == "volume" {
            m.insert("Name".into(), json!(self.name));
        }
        let source = if self.kind == "tmpfs" {
            String::new()
        } else {
            source.to_string_lossy().into_owned()
        };
        m.insert("Source".into(), json!(source));
        m.insert("Destination".into(), json!(self.destination));
        if self.kind == "volume" {
            m.insert("Driver".into(), json!(self.driver));
        }
        m.insert("Mode".into(), json!(self.mode));
        m.insert("RW".into(), json!(self.rw));
        m.insert("Propagation".into(), json!(self.propagation));
        Value::Object(m)
    }
}

/// A volume the plan needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeededVolume {
    /// Name (for an anonymous one, freshly drawn).
    pub name: String,
    /// Anonymous: created with the container, in its transaction.
    pub anonymous: bool,
    /// Labels and driver options to create it with when missing (`--mount volume-*`).
    pub labels: BTreeMap<String, String>,
    /// Driver options.
    pub options: BTreeMap<String, String>,
}

/// What [`plan`] decided.
#[derive(Debug, Clone, Default)]
pub struct MountPlan {
    /// The container's mount points, in the order Docker registers them.
    pub points: Vec<MountPoint>,
    /// Volumes the container uses.
    pub volumes: Vec<NeededVolume>,
}

fn err(msg: String) -> EngineError {
    EngineError::InvalidArgument(msg)
}

fn invalid_spec(raw: &str) -> String {
    format!("invalid volume specification: '{raw}'")
}

fn mount_config_err(kind: &str, e: impl std::fmt::Display) -> String {
    format!("invalid mount config for type \"{kind}\": {e}")
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "slave", "rslave", "shared", "rshared",
];

/// moby `linuxValidMountMode`.
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let (mut rw, mut label, mut prop, mut copy, mut cons) = (0, 0, 0, 0, 0);
    for o in mode.split(',') {
        match o {
            "ro" | "rw" => rw += 1,
            "z" | "Z" => label += 1,
            p if PROPAGATIONS.contains(&p) => prop += 1,
            "nocopy" => copy += 1,
            "consistent" | "cached" | "delegated" => cons += 1,
            _ => return false,
        }
    }
    rw <= 1 && label <= 1 && prop <= 1 && copy <= 1 && cons <= 1
}

fn check_target(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("field Target must not be empty".into());
    }
    if clean(target) == "/" {
        return Err("invalid specification: destination can't be '/'".into());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        ));
    }
    Ok(())
}

/// moby `ConvertTmpfsOptions`.
fn tmpfs_data(opt: Option<&TmpfsOptions>, read_only: bool) -> Result<String, String> {
    let mut raw: Vec<String> = Vec::new();
    if read_only {
        raw.push("ro".into());
    }
    if let Some(o) = opt {
        if o.mode != 0 {
            raw.push(format!("mode={:o}", o.mode));
        }
        if o.size_bytes != 0 {
            let mut size = o.size_bytes;
            let mut suffix = "";
            for (s, d) in [("g", 1i64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
                if size % d == 0 {
                    size /= d;
                    suffix = s;
                    break;
                }
            }
            raw.push(format!("size={size}{suffix}"));
        }
        for opt in &o.options {
            match opt.as_slice() {
                [k] if k == "exec" || k == "noexec" => raw.push(k.clone()),
                [k, v] if k == "exec" || k == "noexec" => raw.push(format!("{k}={v}")),
                [k] | [k, _] => return Err(format!("invalid option: {k}")),
                _ => return Err("invalid option array length".into()),
            }
        }
    }
    Ok(raw.join(","))
}

/// moby `ParseMountRaw` for one `-v` entry of `HostConfig.Binds`.
pub fn parse_bind(raw: &str) -> Result<(MountPoint, Option<String>), String> {
    let arr: Vec<&str> = raw.splitn(4, ':').collect();
    if arr[0].is_empty() {
        return Err(invalid_spec(raw));
    }
    let (source, target, mode) = match arr.len() {
        1 => ("", arr[0], ""),
        2 => {
            if valid_mode(arr[1]) {
                return Err(invalid_spec(raw));
            }
            (arr[0], arr[1], "")
        }
        3 => (arr[0], arr[1], arr[2]),
        _ => return Err(invalid_spec(raw)),
    };
    if !valid_mode(mode) {
        return Err(format!("invalid mode: {mode}"));
    }
    let bind = source.starts_with('/');
    let kind = if bind { "bind" } else { "volume" };
    let ro = mode.split(',').any(|o| o == "ro");
    if let Err(e) = check_target(target) {
        return Err(format!(
            "{}: {}",
            invalid_spec(raw),
            mount_config_err(kind, e)
        ));
    }
    let propagation = mode
        .split(',')
        .find(|o| PROPAGATIONS.contains(o))
        .unwrap_or("");
    let nocopy = mode.split(',').any(|o| o == "nocopy");
    let mut mp = MountPoint {
        kind: kind.into(),
        destination: clean(target),
        mode: mode.to_string(),
        rw: !ro,
        ..Default::default()
    };
    if bind {
        mp.source = clean(source);
        mp.propagation = if propagation.is_empty() {
            "rprivate".into()
        } else {
            propagation.into()
        };
        mp.create_source = true;
        Ok((mp, None))
    } else {
        mp.driver = "local".into();
        mp.copy_data = !nocopy;
        // moby `setBindModeIfNull`: local-driver volumes given with `-v` show mode "z".
        if mp.mode.is_empty() {
            mp.mode = "z".into();
        }
        Ok((mp, Some(source.to_string())))
    }
}

/// moby `ParseMountSpec` (with the bind source checked) for one `--mount`.
pub fn parse_mount(m: &MountSpec) -> Result<(MountPoint, Option<NeededVolume>), String> {
    let kind = m.kind.as_str();
    let fail = |e: String| Err(mount_config_err(kind, e));
    if let Err(e) = check_target(&m.target) {
        return fail(e);
    }
    let mut mp = MountPoint {
        kind: kind.into(),
        destination: clean(&m.target),
        rw: !m.read_only,
        ..Default::default()
    };
    match kind {
        "bind" => {
            if m.source.is_empty() {
                return fail("field Source must not be empty".into());
            }
            if let Some(p) = m.bind_options.as_ref().map(|b| b.propagation.as_str()) {
                if !p.is_empty() && !PROPAGATIONS.contains(&p) {
                    return fail(format!("invalid propagation mode: {p}"));
                }
            }
            if m.volume_options.is_some() {
                return fail("field VolumeOptions must not be specified".into());
            }
            if !m.source.starts_with('/') {
                return fail(format!(
                    "invalid mount path: '{}' mount path must be absolute",
                    m.source
                ));
            }
            let create = m.bind_options.as_ref().is_some_and(|b| b.create_mountpoint);
            if !create && std::fs::symlink_metadata(&m.source).is_err() {
                return fail(format!("bind source path does not exist: {}", m.source));
            }
            mp.source = clean(&m.source);
            mp.propagation = m
                .bind_options
                .as_ref()
                .map(|b| b.propagation.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rprivate".into());
            mp.non_recursive = m.bind_options.as_ref().is_some_and(|b| b.non_recursive);
            mp.create_source = create;
            Ok((mp, None))
        }
        "volume" => {
            if m.bind_options.is_some() {
                return fail("field BindOptions must not be specified".into());
            }
            let anonymous = m.source.is_empty();
            let vo = m.volume_options.clone().unwrap_or_default();
            if !vo.subpath.is_empty() {
                return fail("volume subpaths are not supported by berth".into());
            }
            if m.read_only && anonymous {
                return fail("must not set ReadOnly mode when using anonymous volumes".into());
            }
            let driver = vo
                .driver_config
                .as_ref()
                .map(|d| d.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "local".into());
            if driver != "local" {
                return fail(format!(
                    "error looking up volume plugin {driver}: plugin \"{driver}\" not found"
                ));
            }
            mp.driver = driver;
            mp.copy_data = !vo.no_copy;
            mp.name = m.source.clone();
            let need = NeededVolume {
                name: m.source.clone(),
                anonymous,
                labels: vo.labels.clone().unwrap_or_default(),
                options: vo
                    .driver_config
                    .as_ref()
                    .and_then(|d| d.options.clone())
                    .unwrap_or_default(),
            };
            Ok((mp, Some(need)))
        }
        "tmpfs" => {
            if m.bind_options.is_some() {
                return fail("field BindOptions must not be specified".into());
            }
            if !m.source.is_empty() {
                return fail("field Source must not be specified".into());
            }
            mp.data = tmpfs_data(m.tmpfs_options.as_ref(), m.read_only)
                .map_err(|e| mount_config_err(kind, e))?;
            Ok((mp, None))
        }
        "" => fail("mount type unknown".into()),
        _ => fail("mount type unknown".into()),
    }
}

/// moby `ParseVolumesFrom`: the container and the mode (`rw` by default).
pub fn parse_volumes_from(spec: &str) -> Result<(String, String), String> {
    if spec.is_empty() {
        return Err("volumes-from specification cannot be an empty string".into());
    }
    let (id, mode) = spec.split_once(':').unwrap_or((spec, ""));
    if mode.is_empty() {
        return Ok((id.to_string(), "rw".into()));
    }
    let has = |set: &[&str]| mode.split(',').any(|o| set.contains(&o));
    if !valid_mode(mode) || has(&PROPAGATIONS) || has(&["nocopy"]) {
        return Err(format!("invalid mode: {mode}"));
    }
    Ok((id.to_string(), mode.to_string()))
}

/// Resolves a container's mounts (no side effects). `volumes_from` gives the mount points
/// of the containers named by `--volumes-from`.
pub fn plan(
    config: &Config,
    host_config: &HostConfig,
    mut volumes_from: impl FnMut(&str) -> Result<Vec<MountPoint>, EngineError>,
) -> Result<MountPlan, EngineError> {
    let mut points: Vec<MountPoint> = Vec::new();
    let mut volumes: Vec<NeededVolume> = Vec::new();
    // Destinations given by -v/--mount; volumes-from entries they replace are dropped.
    let mut explicit: Vec<String> = Vec::new();
    for spec in host_config.volumes_from.iter().flatten() {
        let (id, mode) = parse_volumes_from(spec).map_err(err)?;
        let ro = mode.split(',').any(|o| o == "ro");
        for mut mp in volumes_from(&id)? {
            mp.rw = mp.rw && !ro;
            if mode.split(',').any(|o| o == "ro" || o == "rw") {
                mp.mode = mode.clone();
            }
            mp.copy_data = false;
            if mp.kind == "volume" {
                volumes.push(NeededVolume {
                    name: mp.name.clone(),
                    ..Default::default()
                });
            }
            points.retain(|p| p.destination != mp.destination);
            points.push(mp);
        }
    }
    let mut add = |points: &mut Vec<MountPoint>, mp: MountPoint| -> Result<(), EngineError> {
        if explicit.contains(&mp.destination) {
            return Err(err(format!("Duplicate mount point: {}", mp.destination)));
        }
        explicit.push(mp.destination.clone());
        points.retain(|p| p.destination != mp.destination);
        points.push(mp);
        Ok(())
    };
    for raw in host_config.binds.iter().flatten() {
        let (mut mp, name) = parse_bind(raw).map_err(err)?;
        if let Some(n) = name {
            super::check_name(&n)?;
            mp.name = n.clone();
            volumes.push(NeededVolume {
                name: n,
                ..Default::default()
            });
        }
        add(&mut points, mp)?;
    }
    for m in host_config.mounts.iter().flatten() {
        let (mut mp, need) = parse_mount(m).map_err(err)?;
        if let Some(mut need) = need {
            if need.anonymous {
                need.name = super::new_anonymous_name();
                mp.name = need.name.clone();
            } else {
                super::check_name(&need.name)?;
                if !need.options.is_empty() {
                    super::check_options(&need.name, &need.options)?;
                }
            }
            volumes.push(need);
        }
        add(&mut points, mp)?;
    }
    for target in config.volumes.iter().flatten().map(|(k, _)| k) {
        if let Err(e) = check_target(target) {
            // CVE-2022-23648: an image's VOLUME is attacker input; only clean absolute paths.
            return Err(err(format!(
                "{}: {}",
                invalid_spec(target),
                mount_config_err("volume", e)
            )));
        }
        let dest = clean(target);
        if points.iter().any(|p| p.destination == dest) {
            continue;
        }
        let name = super::new_anonymous_name();
        volumes.push(NeededVolume {
            name: name.clone(),
            anonymous: true,
            ..Default::default()
        });
        points.push(MountPoint {
            kind: "volume".into(),
            name,
            destination: dest,
            driver: "local".into(),
            rw: true,
            copy_data: true,
            ..Default::default()
        });
    }
    let mut seen = std::collections::HashSet::new();
    volumes.retain(|v| seen.insert(v.name.clone()));
    Ok(MountPlan { points, volumes })
}

impl MountPlan {
    /// Inside the container's create transaction: inserts the anonymous volumes' rows and a
    /// reference from `container` to every volume it uses.
    pub fn record(
        &self,
        tx: &rusqlite_conn::Connection,
        container: &str,
    ) -> rusqlite_conn::Result<()> {
        let now = berth_store::now_nanos();
        for v in &self.volumes {
            if v.anonymous {
                let mut labels = v.labels.clone();
                labels.insert(ANONYMOUS_LABEL.into(), String::new());
                vrows::insert(
                    tx,
                    &VolumeRow {
                        name: v.name.clone(),
                        driver: "local".into(),
                        labels,
                        options: v.options.clone(),
                        anonymous: true,
                        implicit: true,
                        created: now,
                    },
                )?;
            }
            vrows::add_ref(tx, &v.name, container)?;
        }
        Ok(())
    }
}

/// Re-exported SQLite types, so callers need no direct rusqlite dependency.
pub mod rusqlite_conn {
    pub use berth_store::volumes::{Connection, Result};
}

impl Engine {
    /// Creates what a plan needs before its container is inserted: missing named volumes
    /// (kept even if the create fails later, as Docker keeps them) and the anonymous
    /// volumes' directories (whose rows come with the container). Returns the anonymous
    /// directories' names, to remove if the container insert fails.
    pub(crate) fn prepare_volumes(&mut self, plan: &MountPlan) -> Result<Vec<String>, EngineError> {
        let mut anon = Vec::new();
        for v in &plan.volumes {
            if v.anonymous {
                super::check_options(&v.name, &v.options)?;
                self.make_volume_dirs(&v.name)?;
                anon.push(v.name.clone());
            } else if self.volume(&v.name).is_err() {
                self.create_volume(super::VolumeCreate {
                    name: v.name.clone(),
                    driver: "local".into(),
                    options: v.options.clone(),
                    labels: v.labels.clone(),
                    implicit: true,
                })?;
            }
        }
        Ok(anon)
    }

    /// Records Docker's `volume mount` event for each volume a starting container mounts.
    pub(crate) fn emit_volume_mounts(&self, c: &crate::containers::Container) {
        for mp in c.doc.mount_points.iter().filter(|m| m.kind == "volume") {
            self.emit_volume(
                "mount",
                &mp.name,
                &[
                    ("container", c.row.id.clone()),
                    ("destination", mp.destination.clone()),
                    ("propagation", mp.propagation.clone()),
                    ("read/write", mp.rw.to_string()),
                ],
            );
        }
    }

    /// The mount points of a container (for `--volumes-from`).
    pub(crate) fn mount_points_of(&mut self, name: &str) -> Result<Vec<MountPoint>, EngineError> {
        let c = self.container(name)?;
        Ok(c.doc.mount_points.clone())
    }

    /// The host path a mount point's data comes from.
    pub fn mount_source(&self, mp: &MountPoint) -> PathBuf {
        match mp.kind.as_str() {
            "volume" => {
                if let Ok(v) = self.volume(&mp.name) {
                    if let Some(dev) = super::bind_device(&v.row.options) {
                        return PathBuf::from(dev);
                    }
                }
                self.volume_data_dir(&mp.name)
            }
            _ => PathBuf::from(&mp.source),
        }
    }

    /// Docker's `Mounts` of `inspect`.
    pub fn inspect_mounts(&self, points: &[MountPoint]) -> Value {
        Value::Array(
            points
                .iter()
                .map(|mp| mp.inspect(&self.mount_source(mp)))
                .collect(),
        )
    }

    /// The OCI mounts of a container's mount points, parents first. On a first start
    /// (`first`), empty volumes are filled from the image content under `rootfs` first.
    pub(crate) fn volume_mounts(
        &self,
        points: &[MountPoint],
        rootfs: &Path,
        first: bool,
    ) -> Result<Vec<rspec::Mount>, EngineError> {
        let mut out = Vec::new();
        // Destinations resolved inside the rootfs first (symlinks followed there), then
        // mounted parents first.
        let mut resolved: Vec<MountPoint> = Vec::with_capacity(points.len());
        for mp in points {
            let is_dir = match mp.kind.as_str() {
                "bind" => std::fs::metadata(&mp.source)
                    .map(|m| m.is_dir())
                    .unwrap_or(true),
                _ => true,
            };
            let dest = resolve_destination(rootfs, &mp.destination, is_dir).map_err(|e| {
                EngineError::StartFailed {
                    code: 125,
                    message: format!("invalid mount destination {}: {e}", mp.destination),
                }
            })?;
            resolved.push(MountPoint {
                destination: dest,
                ..mp.clone()
            });
        }
        resolved.sort_by_key(|m| m.destination.split('/').filter(|c| !c.is_empty()).count());
        for mp in &resolved {
            let ro = (!mp.rw).then(|| "ro".to_string());
            match mp.kind.as_str() {
                "tmpfs" => {
                    let mut options: Vec<String> =
                        vec!["nosuid".into(), "nodev".into(), "noexec".into()];
                    options.extend(
                        mp.data
                            .split(',')
                            .filter(|o| !o.is_empty())
                            .map(String::from),
                    );
                    out.push(rspec::Mount {
                        destination: mp.destination.clone(),
                        kind: "tmpfs".into(),
                        source: "tmpfs".into(),
                        options,
                    });
                }
                "volume" => {
                    let v = self.volume(&mp.name)?;
                    let opts = &v.row.options;
                    if opts.get("type").map(String::as_str) == Some("tmpfs")
                        && super::bind_device(opts).is_none()
                    {
                        let mut options: Vec<String> = vec!["nosuid".into(), "nodev".into()];
                        if let Some(o) = opts.get("o") {
                            options
                                .extend(o.split(',').filter(|x| !x.is_empty()).map(String::from));
                        }
                        options.extend(ro);
                        out.push(rspec::Mount {
                            destination: mp.destination.clone(),
                            kind: "tmpfs".into(),
                            source: "tmpfs".into(),
                            options,
                        });
                        continue;
                    }
                    let src = self.mount_source(mp);
                    if first && mp.copy_data && super::bind_device(opts).is_none() {
                        super::copyup::copy_up(rootfs, &mp.destination, &src).map_err(|e| {
                            EngineError::StartFailed {
                                code: 125,
                                message: format!(
                                    "failed to copy image content of {} into volume {}: {e}",
                                    mp.destination, mp.name
                                ),
                            }
                        })?;
                    }
                    let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
                    options.extend(ro);
                    out.push(rspec::Mount {
                        destination: mp.destination.clone(),
                        kind: "bind".into(),
                        source: src.to_string_lossy().into_owned(),
                        options,
                    });
                }
                _ => {
                    let src = PathBuf::from(&mp.source);
                    if mp.create_source && std::fs::symlink_metadata(&src).is_err() {
                        std::fs::create_dir_all(&src).map_err(crate::error::io_err(&src))?;
                    }
                    if std::fs::symlink_metadata(&src).is_err() {
                        return Err(EngineError::StartFailed {
                            code: 125,
                            message: format!(
                                "invalid mount config for type \"bind\": bind source path does not exist: {}",
                                mp.source
                            ),
                        });
                    }
                    let bind = if mp.non_recursive { "bind" } else { "rbind" };
                    let mut options = vec![bind.to_string(), mp.propagation.clone()];
                    options.extend(ro);
                    out.push(rspec::Mount {
                        destination: mp.destination.clone(),
                        kind: "bind".into(),
                        source: src.to_string_lossy().into_owned(),
                        options,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// Resolves a mount destination inside `rootfs` the way Docker's `FollowSymlinkInScope`
/// does: symlinks met on the way (absolute or relative) are followed *inside* the root,
/// `..` never climbs above it, and missing directories are made (`mkdirat` relative to the
/// directory fd just resolved; the last component only when `dir`). Returns the resolved
/// path, free of symlinks, so the runtime mounts exactly there; a destination that
/// resolves to the root itself is refused. The rootfs is not in use by any process while
/// this runs (the container has not started).
pub fn resolve_destination(rootfs: &Path, dest: &str, dir: bool) -> std::io::Result<String> {
    use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;
    use std::collections::VecDeque;
    let root = rfs::open(
        rootfs,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let open_dir = |parts: &[String]| {
        let rel = if parts.is_empty() {
            ".".to_string()
        } else {
            parts.join("/")
        };
        rfs::openat2(
            &root,
            rel.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS | ResolveFlags::NO_SYMLINKS,
        )
    };
    let mut pending: VecDeque<String> = dest.split('/').map(String::from).collect();
    let mut cur: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(c) = pending.pop_front() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let last = pending.iter().all(|p| p.is_empty() || p == ".");
        let parent = open_dir(&cur)?;
        match rfs::statat(&parent, c.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => {
                links += 1;
                if links > 40 {
                    return Err(Errno::LOOP.into());
                }
                let target = rfs::readlinkat(&parent, c.as_str(), Vec::new())?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    cur.clear();
                }
                for (i, t) in target.split('/').enumerate() {
                    pending.insert(i, t.to_string());
                }
            }
            Ok(_) => cur.push(c),
            Err(Errno::NOENT) if !last || dir => {
                match rfs::mkdirat(&parent, c.as_str(), Mode::from_raw_mode(0o755)) {
                    Ok(()) | Err(Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                cur.push(c);
            }
            Err(Errno::NOENT) => cur.push(c),
            Err(e) => return Err(e.into()),
        }
    }
    if cur.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it resolves to the container's root",
        ));
    }
    Ok(format!("/{}", cur.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_like_moby() {
        let (mp, name) = parse_bind("data:/srv/data:ro").unwrap();
        assert_eq!(name.as_deref(), Some("data"));
        assert_eq!(
            (mp.kind.as_str(), mp.rw, mp.copy_data),
            ("volume", false, true)
        );
        assert_eq!(mp.mode, "ro");
        let (mp, _) = parse_bind("data:/srv/data").unwrap();
        assert_eq!(mp.mode, "z");
        let (mp, name) = parse_bind("/host/dir/:/c/../d").unwrap();
        assert_eq!(name, None);
        assert_eq!(
            (
                mp.kind.as_str(),
                mp.source.as_str(),
                mp.destination.as_str()
            ),
            ("bind", "/host/dir", "/d")
        );
        assert_eq!(mp.propagation, "rprivate");
        let (mp, _) = parse_bind("/h:/c:ro,rshared").unwrap();
        assert_eq!((mp.rw, mp.propagation.as_str()), (false, "rshared"));
        let (mp, _) = parse_bind("v:/c:nocopy").unwrap();
        assert!(!mp.copy_data);
        assert_eq!(
            parse_bind("/a:ro").unwrap_err(),
            "invalid volume specification: '/a:ro'"
        );
        assert_eq!(
            parse_bind("/a:/b:c:d").unwrap_err(),
            "invalid volume specification: '/a:/b:c:d'"
        );
        assert_eq!(parse_bind("/a:/b:xx").unwrap_err(), "invalid mode: xx");
        assert_eq!(
            parse_bind("/a:/b:ro,rw").unwrap_err(),
            "invalid mode: ro,rw"
        );
        assert_eq!(
            parse_bind("v:rel").unwrap_err(),
            "invalid volume specification: 'v:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"
        );
        assert_eq!(
            parse_bind("/h:/").unwrap_err(),
            "invalid volume specification: '/h:/': invalid mount config for type \"bind\": invalid specification: destination can't be '/'"
        );
    }

    #[test]
    fn mounts_like_moby() {
        let m = |kind: &str, src: &str, dst: &str| MountSpec {
            kind: kind.into(),
            source: src.into(),
            target: dst.into(),
            ..Default::default()
        };
        assert_eq!(
            parse_mount(&m("bind", "/definitely/not/here", "/x")).unwrap_err(),
            "invalid mount config for type \"bind\": bind source path does not exist: /definitely/not/here"
        );
        assert_eq!(
            parse_mount(&m("foo", "", "/x")).unwrap_err(),
            "invalid mount config for type \"foo\": mount type unknown"
        );
        assert_eq!(
            parse_mount(&m("tmpfs", "x", "/x")).unwrap_err(),
            "invalid mount config for type \"tmpfs\": field Source must not be specified"
        );
        let mut ro_anon = m("volume", "", "/x");
        ro_anon.read_only = true;
        assert_eq!(
            parse_mount(&ro_anon).unwrap_err(),
            "invalid mount config for type \"volume\": must not set ReadOnly mode when using anonymous volumes"
        );
        let mut t = m("tmpfs", "", "/t");
        t.tmpfs_options = Some(TmpfsOptions {
            size_bytes: 64 << 20,
            mode: 0o1777,
            options: vec![],
        });
        let (mp, _) = parse_mount(&t).unwrap();
        assert_eq!(mp.data, "mode=1777,size=64m");
        let (mp, need) = parse_mount(&m("volume", "v1", "/d")).unwrap();
        assert_eq!((mp.name.as_str(), mp.mode.as_str()), ("v1", ""));
        assert!(!need.unwrap().anonymous);
        let (mp, _) = parse_mount(&m("bind", "/", "/host")).unwrap();
        assert_eq!(mp.propagation, "rprivate");
    }

    #[test]
    fn destinations_resolve_inside_the_root() {
        use std::os::unix::fs::symlink;
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        let host = t.path().join("host");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(&host).unwrap();
        symlink(&host, root.join("abs")).unwrap();
        symlink("../../..", root.join("up")).unwrap();
        symlink("etc", root.join("rel")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        let r = |d: &str, dir: bool| resolve_destination(&root, d, dir);
        // An absolute link to a host path names that path inside the root, made there.
        let abs = r("/abs/sub", true).unwrap();
        assert_eq!(abs, format!("{}/sub", host.display()));
        assert!(root.join(abs.trim_start_matches('/')).is_dir());
        assert!(!host.join("sub").exists(), "nothing made on the host");
        assert_eq!(r("/rel/x", true).unwrap(), "/etc/x");
        assert_eq!(r("/up/data", true).unwrap(), "/data");
        assert_eq!(r("/a/b/file", false).unwrap(), "/a/b/file");
        assert!(root.join("a/b").is_dir() && !root.join("a/b/file").exists());
        assert!(r("/up", true).is_err(), "the root itself is refused");
        assert!(r("/loop", true).is_err());
    }

    #[test]
    fn volumes_from_modes() {
        assert_eq!(
            parse_volumes_from("c").unwrap(),
            ("c".to_string(), "rw".to_string())
        );
        assert_eq!(parse_volumes_from("c:ro").unwrap().1, "ro");
        assert_eq!(
            parse_volumes_from("c:rshared").unwrap_err(),
            "invalid mode: rshared"
        );
        assert_eq!(
            parse_volumes_from("c:nocopy").unwrap_err(),
            "invalid mode: nocopy"
        );
        assert!(parse_volumes_from("").is_err());
    }

    #[test]
    fn plan_orders_and_overrides() {
        let config = Config {
            volumes: Some(
                [
                    ("/data".to_string(), Default::default()),
                    ("/logs".to_string(), Default::default()),
                ]
                .into(),
            ),
            ..Default::default()
        };
        let hc = HostConfig {
            binds: Some(vec!["named:/data".into(), "/h:/h".into()]),
            volumes_from: Some(vec!["other:ro".into()]),
            ..Default::default()
        };
        let p = plan(&config, &hc, |_| {
            Ok(vec![MountPoint {
                kind: "volume".into(),
                name: "shared".into(),
                destination: "/shared".into(),
                rw: true,
                ..Default::default()
            }])
        })
        .unwrap();
        let dests: Vec<_> = p.points.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(dests, ["/shared", "/data", "/h", "/logs"]);
        assert!(!p.points[0].rw, ":ro makes inherited mounts read-only");
        let names: Vec<_> = p
            .volumes
            .iter()
            .map(|v| (v.name.len(), v.anonymous))
            .collect();
        assert_eq!(names, [(6, false), (5, false), (64, true)]);
        let dup = HostConfig {
            binds: Some(vec!["a1:/d".into()]),
            mounts: Some(vec![MountSpec {
                kind: "volume".into(),
                source: "b1".into(),
                target: "/d/".into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            plan(&Config::default(), &dup, |_| Ok(vec![]))
                .unwrap_err()
                .to_string(),
            "Duplicate mount point: /d"
        );
        let evil = Config {
            volumes: Some([("../../etc".to_string(), Default::default())].into()),
            ..Default::default()
        };
        assert!(plan(&evil, &HostConfig::default(), |_| Ok(vec![])).is_err());
    }
}
