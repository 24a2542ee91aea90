//! Image operations: resolve, list, inspect, history, tag, remove, prune, load, save,
//! import.

mod filters;
pub mod import;
pub mod load;
pub mod save;
pub(crate) mod unpack;

use std::collections::BTreeMap;

use berth_image::reference::Reference;
use berth_image::spec::ImageConfig;
use berth_store::ImageRecord;
use berth_types::Digest;
use serde_json::{json, Value};

pub use filters::ImageFilters;

use crate::{Engine, EngineError};

/// An image as `images` lists it.
#[derive(Debug, Clone)]
pub struct ImageSummary {
    /// The image id.
    pub id: Digest,
    /// Familiar tags (`busybox:latest`).
    pub repo_tags: Vec<String>,
    /// Familiar digest references (`busybox@sha256:…`).
    pub repo_digests: Vec<String>,
    /// Creation time from the config (unix seconds), 0 when unknown.
    pub created: i64,
    /// Content size in bytes.
    pub size: u64,
    /// Labels from the config.
    pub labels: BTreeMap<String, String>,
    /// Parent image, if known.
    pub parent: Option<Digest>,
    /// Number of containers using it.
    pub containers: usize,
}

/// One line of `history`.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    /// The image id for entries that are a local image, else `None` (`<missing>`).
    pub id: Option<Digest>,
    /// Creation time (unix seconds), 0 when unknown.
    pub created: i64,
    /// The instruction that made it.
    pub created_by: String,
    /// Size of the layer it added (0 for empty layers).
    pub size: u64,
    /// Its comment.
    pub comment: String,
    /// Tags of the local image it is, if any.
    pub tags: Vec<String>,
}

/// What `rmi` did, line by line (Docker's "Untagged:"/"Deleted:").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoveAction {
    /// A name removed.
    Untagged(String),
    /// An image or layer deleted.
    Deleted(Digest),
}

/// What a prune removed.
#[derive(Debug, Default, Clone)]
pub struct PruneReport {
    /// The actions, as `rmi` reports them.
    pub actions: Vec<RemoveAction>,
    /// Bytes freed.
    pub reclaimed: u64,
}

/// Parses RFC 3339 into unix seconds (0 when absent or malformed).
pub(crate) fn parse_time(s: Option<&str>) -> i64 {
    s.and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// Turns a stored full name (`docker.io/library/busybox:latest`) into its familiar form.
pub(crate) fn familiar(name: &str) -> String {
    Reference::parse_normalized(name)
        .map(|r| r.familiar_string())
        .unwrap_or_else(|_| name.to_string())
}

impl Engine {
    /// Finds the image `name` refers to: a full or short id, a tag, or a digest reference.
    pub fn resolve_image(&self, name: &str) -> Result<Digest, EngineError> {
        let store = &self.store;
        if let Ok(d) = name.parse::<Digest>() {
            return store
                .image(&d)?
                .map(|_| d)
                .ok_or_else(|| EngineError::NoSuchImage(name.to_string()));
        }
        let is_hex = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if name.len() == 64 && is_hex {
            if let Ok(d) = Digest::from_hex(name) {
                if store.image(&d)?.is_some() {
                    return Ok(d);
                }
            }
        }
        match Reference::parse_normalized(name) {
            Ok(r) => {
                let found = if r.digest().is_some() {
                    store.image_by_repo_digest(&r.to_string())?.or_else(|| {
                        // name@digest where the digest is the image id itself.
                        r.digest().and_then(|d| {
                            store
                                .image(d)
                                .ok()
                                .flatten()
                                .filter(|img| {
                                    img.tags
                                        .iter()
                                        .any(|t| t.starts_with(&format!("{}:", r.name())))
                                })
                                .map(|_| d.clone())
                        })
                    })
                } else {
                    store.image_by_tag(&r.clone().with_default_tag().to_string())?
                };
                if let Some(id) = found {
                    return Ok(id);
                }
                if r.tag().is_none() && r.digest().is_none() && is_hex {
                    return self.resolve_id_prefix(name);
                }
                Err(EngineError::NoSuchImage(
                    r.with_default_tag().familiar_string(),
                ))
            }
            Err(e) => {
                if is_hex {
                    return self.resolve_id_prefix(name);
                }
                Err(e.into())
            }
        }
    }

    fn resolve_id_prefix(&self, prefix: &str) -> Result<Digest, EngineError> {
        let hex = prefix.strip_prefix("sha256:").unwrap_or(prefix);
        let ids = self.store.images_by_id_prefix(hex)?;
        match ids.len() {
            0 => Err(EngineError::NoSuchImage(prefix.to_string())),
            1 => Ok(ids.into_iter().next().expect("one id")),
            _ => Err(EngineError::InvalidArgument(format!(
                "multiple IDs found with provided prefix: {prefix}"
            ))),
        }
    }

    fn record(&self, id: &Digest) -> Result<ImageRecord, EngineError> {
        self.store
            .image(id)?
            .ok_or_else(|| EngineError::NoSuchImage(id.to_string()))
    }

    /// The parsed config of an image.
    pub fn image_config(&self, id: &Digest) -> Result<ImageConfig, EngineError> {
        let bytes = self.store.blobs().read(id)?;
        Ok(berth_image::spec::parse_json_capped(
            &bytes,
            "image config",
        )?)
    }

    fn summary(&self, r: &ImageRecord) -> Result<ImageSummary, EngineError> {
        Ok(ImageSummary {
            id: r.id.clone(),
            repo_tags: r.tags.iter().map(|t| familiar(t)).collect(),
            repo_digests: r.digests.iter().map(|t| familiar(t)).collect(),
            created: parse_time(r.created.as_deref()),
            size: r.size,
            labels: r.labels.clone(),
            parent: r.parent.clone(),
            containers: self.store.containers_using(&r.id)?.len(),
        })
    }

    /// Lists images, newest first. Without `all`, intermediate images (untagged parents of
    /// other images) are hidden, as Docker does.
    pub fn list_images(
        &self,
        all: bool,
        filters: &ImageFilters,
    ) -> Result<Vec<ImageSummary>, EngineError> {
        let records = self.store.images()?;
        let created_of = |name: &str| -> Result<i64, EngineError> {
            let id = self.resolve_image(name)?;
            Ok(records
                .iter()
                .find(|r| r.id == id)
                .map(|r| parse_time(r.created.as_deref()))
                .unwrap_or(0))
        };
        let bounds = filters.time_bounds(created_of)?;
        let mut out = Vec::new();
        for r in &records {
            let untagged = r.tags.is_empty() && r.digests.is_empty();
            if !all && untagged && records.iter().any(|o| o.parent.as_ref() == Some(&r.id)) {
                continue;
            }
            let mut s = self.summary(r)?;
            if filters.matches(&s, untagged, &bounds) {
                s.repo_tags = filters.visible_names(&s.repo_tags);
                s.repo_digests = filters.visible_names(&s.repo_digests);
                out.push(s);
            }
        }
        out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    /// Docker's `image inspect` JSON for one image.
    pub fn inspect_image(&self, name: &str) -> Result<Value, EngineError> {
        let id = self.resolve_image(name)?;
        let r = self.record(&id)?;
        let cfg_bytes = self.store.blobs().read(&id)?;
        let cfg: Value = serde_json::from_slice(&cfg_bytes).unwrap_or(Value::Null);
        let get = |k: &str| cfg.get(k).cloned().unwrap_or(Value::Null);
        let str_or_empty = |k: &str| {
            cfg.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let mut lowers: Vec<String> = r
            .layers
            .iter()
            .map(|c| self.store.layer_diff_dir(c).display().to_string())
            .collect();
        lowers.reverse();
        let graph = match lowers.split_first() {
            Some((top, rest)) if !rest.is_empty() => json!({
                "Data": {
                    "LowerDir": rest.join(":"),
                    "MergedDir": top.replace("/diff", "/merged"),
                    "UpperDir": top,
                    "WorkDir": top.replace("/diff", "/work"),
                },
                "Name": "overlay2"
            }),
            Some((top, _)) => json!({
                "Data": {
                    "MergedDir": top.replace("/diff", "/merged"),
                    "UpperDir": top,
                    "WorkDir": top.replace("/diff", "/work"),
                },
                "Name": "overlay2"
            }),
            None => json!({"Data": null, "Name": "overlay2"}),
        };
        let diff_ids = cfg
            .get("rootfs")
            .and_then(|r| r.get("diff_ids"))
            .cloned()
            .unwrap_or_else(|| json!([]));
        let comment = cfg
            .get("history")
            .and_then(|h| h.as_array())
            .and_then(|h| h.last())
            .and_then(|h| h.get("comment"))
            .and_then(|c| c.as_str())
            .unwrap_or("")
            .to_string();
        let last_tag = self
            .store
            .db()
            .conn()
            .query_row(
                "SELECT max(created) FROM tags WHERE image_id = ?1",
                [id.to_string()],
                |row| row.get::<_, Option<i64>>(0),
            )
            .ok()
            .flatten();
        let mut out = serde_json::Map::new();
        out.insert("Id".into(), json!(id.to_string()));
        out.insert(
            "RepoTags".into(),
            json!(r.tags.iter().map(|t| familiar(t)).collect::<Vec<_>>()),
        );
        out.insert(
            "RepoDigests".into(),
            json!(r.digests.iter().map(|t| familiar(t)).collect::<Vec<_>>()),
        );
        out.insert(
            "Parent".into(),
            json!(r.parent.as_ref().map(|p| p.to_string()).unwrap_or_default()),
        );
        out.insert("Comment".into(), json!(comment));
        out.insert("Created".into(), json!(str_or_empty("created")));
        out.insert(
            "DockerVersion".into(),
            json!(str_or_empty("docker_version")),
        );
        out.insert("Author".into(), json!(str_or_empty("author")));
        out.insert(
            "Config".into(),
            match get("config") {
                Value::Null => json!({}),
                v => v,
            },
        );
        out.insert("Architecture".into(), json!(str_or_empty("architecture")));
        if let Some(v) = cfg.get("variant").and_then(|v| v.as_str()) {
            out.insert("Variant".into(), json!(v));
        }
        out.insert("Os".into(), json!(str_or_empty("os")));
        out.insert("Size".into(), json!(r.size));
        out.insert("GraphDriver".into(), graph);
        out.insert(
            "RootFS".into(),
            json!({"Type": "layers", "Layers": diff_ids}),
        );
        out.insert(
            "Metadata".into(),
            json!({"LastTagTime": last_tag.map(format_nanos).unwrap_or_else(|| "0001-01-01T00:00:00Z".into())}),
        );
        Ok(Value::Object(out))
    }

    /// `history` of an image, newest first.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryEntry>, EngineError> {
        let id = self.resolve_image(name)?;
        let r = self.record(&id)?;
        let cfg = self.image_config(&id)?;
        let mut sizes = Vec::new();
        for c in &r.layers {
            sizes.push(self.store.layer(c)?.map(|l| l.size).unwrap_or(0));
        }
        let mut out = Vec::new();
        let mut layer_idx = 0usize;
        let history = if cfg.history.is_empty() {
            // No history: one entry per layer, like Docker shows for imported images.
            (0..r.layers.len())
                .map(|_| berth_image::spec::History::default())
                .collect()
        } else {
            cfg.history.clone()
        };
        for h in &history {
            let size = if h.empty_layer {
                0
            } else {
                let s = sizes.get(layer_idx).copied().unwrap_or(0);
                layer_idx += 1;
                s
            };
            out.push(HistoryEntry {
                id: None,
                created: parse_time(h.created.as_deref()),
                created_by: h.created_by.clone().unwrap_or_default(),
                size,
                comment: h.comment.clone().unwrap_or_default(),
                tags: Vec::new(),
            });
        }
        out.reverse();
        if let Some(first) = out.first_mut() {
            first.id = Some(id.clone());
            first.tags = r.tags.iter().map(|t| familiar(t)).collect();
        }
        // Entries that are local parent images show their ids, like Docker's classic store.
        let mut parent = r.parent.clone();
        let mut idx = 1;
        while let (Some(p), true) = (parent.clone(), idx < out.len()) {
            match self.store.image(&p)? {
                Some(pr) => {
                    let pcfg = self.image_config(&p)?;
                    let n = pcfg.history.len().max(1);
                    let pos = out.len().saturating_sub(n);
                    if pos >= idx && pos < out.len() {
                        out[pos].id = Some(p.clone());
                        out[pos].tags = pr.tags.iter().map(|t| familiar(t)).collect();
                        idx = pos + 1;
                    }
                    parent = pr.parent.clone();
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// Points `target` (a new name) at the image `source` names.
    pub fn tag_image(&mut self, source: &str, target: &str) -> Result<(), EngineError> {
        let id = self.resolve_image(source)?;
        let r = Reference::parse_normalized(target)?;
        if r.digest().is_some() {
            return Err(EngineError::InvalidArgument(
                "refusing to create a tag with a digest reference".into(),
            ));
        }
        let full = r.with_default_tag().to_string();
        self.store.set_tag(&full, &id)?;
        self.emit_image("tag", &id.to_string(), &familiar(&full));
        Ok(())
    }

    /// `rmi`: untags and deletes. Docker's rules: a name removes that name, and deletes the
    /// image when it was its last; an id deletes the image (with `force` also when it has
    /// several names). Images used by containers are refused (a running one even with force).
    pub fn remove_image(
        &mut self,
        name: &str,
        force: bool,
        prune_parents: bool,
    ) -> Result<Vec<RemoveAction>, EngineError> {
        let id = self.resolve_image(name)?;
        let r = self.record(&id)?;
        let by_name = Reference::parse_normalized(name).ok().and_then(|rf| {
            let full = if rf.digest().is_some() {
                rf.to_string()
            } else {
                rf.clone().with_default_tag().to_string()
            };
            (r.tags.contains(&full) || r.digests.contains(&full)).then_some(full)
        });
        let mut actions = Vec::new();
        let short = id.short();
        if let Some(full) = &by_name {
            let names = r.tags.len() + r.digests.len();
            let only_digest_left = r.tags.len() == 1 && r.tags.contains(full);
            if names > 1 && !only_digest_left {
                self.store.remove_name(full)?;
                actions.push(RemoveAction::Untagged(familiar(full)));
                self.emit_image("untag", &id.to_string(), &familiar(full));
                return Ok(actions);
            }
        } else if r.tags.len() > 1 && !force {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
            )));
        }
        let users = self.store.containers_using(&id)?;
        if let Some((cid, state)) = users.first() {
            let c = &cid[..cid.len().min(12)];
            if state == "running" || state == "paused" || state == "restarting" {
                return Err(EngineError::Conflict(format!(
                    "conflict: unable to delete {short} (cannot be forced) - image is being used by running container {c}"
                )));
            }
            if !force {
                return Err(EngineError::Conflict(format!(
                    "conflict: unable to delete {short} (must be forced) - image is being used by stopped container {c}"
                )));
            }
        }
        if !self.store.children(&id)?.is_empty() && by_name.is_none() && !force {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to delete {short} (cannot be forced) - image has dependent child images"
            )));
        }
        if !users.is_empty() {
            // Forced with stopped containers: Docker only untags and keeps the image.
            for n in r.tags.iter().chain(r.digests.iter()) {
                self.store.remove_name(n)?;
                actions.push(RemoveAction::Untagged(familiar(n)));
                self.emit_image("untag", &id.to_string(), &familiar(n));
            }
            return Ok(actions);
        }
        for n in r.tags.iter().chain(r.digests.iter()) {
            actions.push(RemoveAction::Untagged(familiar(n)));
        }
        let deleted = self.store.delete_image(&id)?;
        for n in r.tags.iter().chain(r.digests.iter()) {
            self.emit_image("untag", &id.to_string(), &familiar(n));
        }
        self.emit_image("delete", &id.to_string(), "");
        actions.push(RemoveAction::Deleted(id.clone()));
        actions.extend(deleted.layers.into_iter().map(RemoveAction::Deleted));
        if prune_parents {
            if let Some(p) = &r.parent {
                if let Some(pr) = self.store.image(p)? {
                    if pr.tags.is_empty()
                        && pr.digests.is_empty()
                        && self.store.children(p)?.is_empty()
                        && self.store.containers_using(p)?.is_empty()
                    {
                        actions.extend(self.remove_image(&p.to_string(), false, true)?);
                    }
                }
            }
        }
        self.repair()?;
        Ok(actions)
    }

    /// `image prune`: removes dangling images, or with `all` every image no container uses.
    pub fn prune_images(
        &mut self,
        all: bool,
        filters: &ImageFilters,
    ) -> Result<PruneReport, EngineError> {
        let mut report = PruneReport::default();
        loop {
            let records = self.store.images()?;
            let mut removed_any = false;
            for r in &records {
                let dangling = r.tags.is_empty() && r.digests.is_empty();
                if !all && !dangling {
                    continue;
                }
                if !self.store.containers_using(&r.id)?.is_empty()
                    || !self.store.children(&r.id)?.is_empty()
                {
                    continue;
                }
                let s = self.summary(r)?;
                if !filters.matches(&s, dangling, &Default::default()) {
                    continue;
                }
                let mut sizes = BTreeMap::new();
                for c in &r.layers {
                    if let Some(l) = self.store.layer(c)? {
                        sizes.insert(c.clone(), l.size);
                    }
                }
                for n in r.tags.iter().chain(r.digests.iter()) {
                    report.actions.push(RemoveAction::Untagged(familiar(n)));
                }
                let deleted = self.store.delete_image(&r.id)?;
                for n in r.tags.iter().chain(r.digests.iter()) {
                    self.emit_image("untag", &r.id.to_string(), &familiar(n));
                }
                self.emit_image("delete", &r.id.to_string(), "");
                report.actions.push(RemoveAction::Deleted(r.id.clone()));
                for l in deleted.layers {
                    report.reclaimed += sizes.get(&l).copied().unwrap_or(0);
                    report.actions.push(RemoveAction::Deleted(l));
                }
                removed_any = true;
            }
            if !removed_any {
                break;
            }
        }
        self.repair()?;
        Ok(report)
    }
}

fn format_nanos(n: i64) -> String {
    chrono::DateTime::from_timestamp(n / 1_000_000_000, (n % 1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}
