//! `save`: writes images as a docker-archive or an OCI image-layout archive.
//!
//! The docker-archive is written the way Docker ≥ 25 writes it: an OCI image layout
//! (`oci-layout`, `index.json`, `blobs/sha256/…`) that also carries the legacy
//! `manifest.json` and `repositories`, so `docker load` of any version, `podman load` and
//! `skopeo` (`docker-archive:` and `oci-archive:`) all read it. Layers in a docker-archive
//! are uncompressed tars whose digest is their diff id; a layer stored compressed (pulled)
//! is decompressed on the fly. The OCI archive keeps layers as stored.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};

use berth_image::reference::Reference;
use berth_image::spec::mediatype;
use berth_types::Digest;
use serde_json::json;

use crate::{Engine, EngineError};

/// Archive flavours `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveFormat {
    /// docker-archive (also a valid OCI layout), uncompressed layers.
    DockerArchive,
    /// OCI image layout only, layers as stored.
    OciArchive,
}

struct SaveItem {
    id: Digest,
    tags: Vec<Reference>,
}

fn stream_err(source: io::Error) -> EngineError {
    EngineError::Stream {
        what: "write archive",
        source,
    }
}

impl Engine {
    fn save_items(&self, names: &[String]) -> Result<Vec<SaveItem>, EngineError> {
        let mut items: Vec<SaveItem> = Vec::new();
        let images = self.store.images()?;
        for name in names {
            let mut push = |id: Digest, tag: Option<Reference>| {
                if let Some(it) = items.iter_mut().find(|i| i.id == id) {
                    if let Some(t) = tag {
                        if !it.tags.contains(&t) {
                            it.tags.push(t);
                        }
                    }
                } else {
                    items.push(SaveItem {
                        id,
                        tags: tag.into_iter().collect(),
                    });
                }
            };
            let parsed = Reference::parse_normalized(name).ok();
            match parsed {
                Some(r) if r.tag().is_none() && r.digest().is_none() && !is_id_like(name) => {
                    // A bare repository saves every tag of it, as Docker does.
                    let prefix = format!("{}:", r.name());
                    let mut found = false;
                    for img in &images {
                        for t in img.tags.iter().filter(|t| t.starts_with(&prefix)) {
                            push(img.id.clone(), Reference::parse_normalized(t).ok());
                            found = true;
                        }
                    }
                    if !found {
                        let id = self.resolve_image(name)?;
                        push(id, None);
                    }
                }
                Some(r) if r.tag().is_some() => {
                    let id = self.resolve_image(name)?;
                    push(id, Some(r));
                }
                _ => {
                    let id = self.resolve_image(name)?;
                    push(id, None);
                }
            }
        }
        Ok(items)
    }

    /// Writes the named images to `out`.
    pub fn save_images<W: Write>(
        &self,
        names: &[String],
        format: SaveFormat,
        out: W,
    ) -> Result<(), EngineError> {
        let items = self.save_items(names)?;
        let mut tar = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, out));
        tar.mode(tar::HeaderMode::Deterministic);
        append_dir(&mut tar, "blobs/")?;
        append_dir(&mut tar, "blobs/sha256/")?;
        let mut written: HashSet<Digest> = HashSet::new();
        let mut index_entries = Vec::new();
        let mut manifest_json = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for item in &items {
            let rec = self
                .store
                .image(&item.id)?
                .ok_or_else(|| EngineError::NoSuchImage(item.id.to_string()))?;
            let config = self.store.blobs().read(&item.id)?;
            if written.insert(item.id.clone()) {
                append_bytes(&mut tar, &blob_path(&item.id), &config)?;
            }
            let mut layer_descs = Vec::new();
            let mut layer_paths = Vec::new();
            for chain in &rec.layers {
                let l = self
                    .store
                    .layer(chain)?
                    .ok_or_else(|| berth_store::StoreError::LayerVanished(chain.clone()))?;
                let (digest, size, media) = match format {
                    SaveFormat::DockerArchive => (
                        l.diff_id.clone(),
                        l.diff_size,
                        mediatype::OCI_LAYER.to_string(),
                    ),
                    SaveFormat::OciArchive => (l.blob.clone(), l.blob_size, l.media_type.clone()),
                };
                if written.insert(digest.clone()) {
                    let f = self.store.blobs().open(&l.blob)?;
                    if digest == l.blob {
                        append_reader(&mut tar, &blob_path(&digest), size, f)?;
                    } else {
                        let (_, r) = berth_tar::decompress(io::BufReader::new(f))?;
                        append_reader(&mut tar, &blob_path(&digest), size, r)?;
                    }
                }
                layer_paths.push(blob_path(&digest));
                layer_descs
                    .push(json!({"mediaType": media, "digest": digest.to_string(), "size": size}));
            }
            let manifest = json!({
                "schemaVersion": 2,
                "mediaType": mediatype::OCI_MANIFEST,
                "config": {"mediaType": mediatype::OCI_CONFIG, "digest": item.id.to_string(), "size": config.len()},
                "layers": layer_descs,
            });
            let manifest_bytes = serde_json::to_vec(&manifest).expect("json");
            let manifest_digest = Digest::of(&manifest_bytes);
            if written.insert(manifest_digest.clone()) {
                append_bytes(&mut tar, &blob_path(&manifest_digest), &manifest_bytes)?;
            }
            let desc = |annotations: Option<serde_json::Value>| {
                let mut d = json!({
                    "mediaType": mediatype::OCI_MANIFEST,
                    "digest": manifest_digest.to_string(),
                    "size": manifest_bytes.len(),
                });
                if let Some(a) = annotations {
                    d["annotations"] = a;
                }
                d
            };
            if item.tags.is_empty() {
                index_entries.push(desc(None));
            }
            for t in &item.tags {
                index_entries.push(desc(Some(json!({
                    "io.containerd.image.name": t.to_string(),
                    "org.opencontainers.image.ref.name": t.tag().unwrap_or("latest"),
                }))));
                if let (Some(top), Some(tag)) = (rec.layers.last(), t.tag()) {
                    repositories
                        .entry(t.familiar_name())
                        .or_default()
                        .insert(tag.to_string(), top.hex());
                }
            }
            manifest_json.push(json!({
                "Config": blob_path(&item.id),
                "RepoTags": item.tags.iter().map(|t| t.familiar_string()).collect::<Vec<_>>(),
                "Layers": layer_paths,
            }));
        }
        let index = json!({
            "schemaVersion": 2,
            "mediaType": mediatype::OCI_INDEX,
            "manifests": index_entries,
        });
        append_bytes(
            &mut tar,
            "index.json",
            &serde_json::to_vec(&index).expect("json"),
        )?;
        if format == SaveFormat::DockerArchive {
            append_bytes(
                &mut tar,
                "manifest.json",
                &serde_json::to_vec(&manifest_json).expect("json"),
            )?;
            if !repositories.is_empty() {
                append_bytes(
                    &mut tar,
                    "repositories",
                    &serde_json::to_vec(&repositories).expect("json"),
                )?;
            }
        }
        append_bytes(&mut tar, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        let mut w = tar.into_inner().map_err(stream_err)?;
        w.flush().map_err(stream_err)?;
        for item in &items {
            if item.tags.is_empty() {
                self.emit_image("save", &item.id.to_string(), "");
            }
            for t in &item.tags {
                self.emit_image("save", &item.id.to_string(), &t.familiar_string());
            }
        }
        Ok(())
    }
}

fn is_id_like(s: &str) -> bool {
    s.len() >= 12
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn header(path: &str, size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory {
        0o755
    } else {
        0o644
    });
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    let _ = h.set_path(path);
    h.set_cksum();
    h
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, path: &str) -> Result<(), EngineError> {
    let h = header(path, 0, tar::EntryType::Directory);
    tar.append(&h, io::empty()).map_err(stream_err)
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
) -> Result<(), EngineError> {
    let h = header(path, data.len() as u64, tar::EntryType::Regular);
    tar.append(&h, data).map_err(stream_err)
}

fn append_reader<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    r: impl Read,
) -> Result<(), EngineError> {
    let h = header(path, size, tar::EntryType::Regular);
    // `take` guards against a blob longer than recorded; a shorter one fails in `append`.
    tar.append(&h, r.take(size)).map_err(stream_err)
}
