//! `load`: docker-archive (old and ≥25 layouts) and OCI image-layout tarballs.
//!
//! The archive is read once, as a stream (stdin works): every regular file is ingested into
//! the content store under the digest its bytes hash to, except a few small metadata files
//! kept in memory. Only then are `manifest.json` or `index.json` interpreted, and every
//! reference they make is checked against what the bytes hashed to: a file named
//! `blobs/sha256/X` that does not hash to X is refused, a config whose diff ids do not match
//! the layers is refused, and nothing is recorded until every layer of an image is unpacked
//! and verified.

use std::collections::HashMap;
use std::io::{Read, Write};

use berth_image::reference::Reference;
use berth_image::spec::{self, ArchiveManifestEntry, Descriptor, ImageConfig, Index, Manifest};
use berth_store::NewImage;
use berth_types::Digest;

use super::unpack::{commit_with_layers, LayerSource};
use crate::{Engine, EngineError};

/// Metadata files are small; anything bigger is hostile (CVE-2023-25153).
const MAX_METADATA: u64 = 4 << 20;

/// One image loaded.
#[derive(Debug, Clone)]
pub struct LoadedImage {
    /// Its id.
    pub id: Digest,
    /// Familiar tags applied.
    pub tags: Vec<String>,
    /// Tags that pointed at another image before (familiar tag, old id).
    pub moved: Vec<(String, Digest)>,
}

enum ArchiveFile {
    Blob { digest: Digest, size: u64 },
    Small(Vec<u8>),
    Link(String),
}

struct Archive {
    files: HashMap<String, ArchiveFile>,
}

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArchive(msg.into())
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

fn is_metadata_name(path: &str) -> bool {
    matches!(
        path,
        "manifest.json" | "index.json" | "oci-layout" | "repositories"
    ) || path.ends_with("/json")
        || path.ends_with("/VERSION")
}

impl Archive {
    fn resolve(&self, path: &str) -> Result<&ArchiveFile, EngineError> {
        spec::validate_archive_path(path)?;
        let mut p = normalize(path);
        for _ in 0..16 {
            match self.files.get(&p) {
                Some(ArchiveFile::Link(target)) => {
                    let base = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    p = if target.starts_with('/') {
                        normalize(target)
                    } else {
                        normalize(&format!("{base}/{target}"))
                    };
                }
                Some(f) => return Ok(f),
                None => return Err(bad(format!("{path}: no such file in archive"))),
            }
        }
        Err(bad(format!("{path}: too many levels of symbolic links")))
    }

    fn small(&self, path: &str, store: &berth_store::Store) -> Result<Vec<u8>, EngineError> {
        match self.resolve(path)? {
            ArchiveFile::Small(b) => Ok(b.clone()),
            ArchiveFile::Blob { digest, size } => {
                if *size > MAX_METADATA {
                    return Err(bad(format!("{path}: document too large ({size} bytes)")));
                }
                Ok(store.blobs().read(digest)?)
            }
            ArchiveFile::Link(_) => Err(bad(format!("{path}: unresolved link"))),
        }
    }

    fn blob(&self, path: &str) -> Result<(Digest, u64), EngineError> {
        match self.resolve(path)? {
            ArchiveFile::Blob { digest, size } => Ok((digest.clone(), *size)),
            _ => Err(bad(format!("{path}: not a layer or blob file"))),
        }
    }

    /// A blob named by digest in an OCI layout, checked against what its bytes hash to.
    fn oci_blob(&self, d: &Descriptor) -> Result<Digest, EngineError> {
        let path = format!("blobs/sha256/{}", d.digest.hex());
        let (actual, size) = self.blob(&path).or_else(|_| match self.resolve(&path) {
            Ok(ArchiveFile::Small(b)) => Ok((Digest::of(b), b.len() as u64)),
            _ => Err(bad(format!(
                "blob {} is missing from the archive",
                d.digest
            ))),
        })?;
        if actual != d.digest {
            return Err(bad(format!(
                "{path}: content has digest {actual}, not {}",
                d.digest
            )));
        }
        if d.size >= 0 && d.size as u64 != size {
            return Err(bad(format!(
                "{path}: size {size} does not match the descriptor's {}",
                d.size
            )));
        }
        Ok(actual)
    }
}

impl Engine {
    /// Loads every image of an archive read from `input` (optionally gzip/zstd compressed).
    pub fn load_images<R: Read + Send + 'static>(
        &mut self,
        input: R,
    ) -> Result<Vec<LoadedImage>, EngineError> {
        self.repair()?;
        let result = self.load_inner(input);
        match &result {
            Err(_) => {
                // Leave the store as it was: drop what this load ingested, when alone.
                let _ = self.repair();
            }
            Ok(loaded) => {
                for img in loaded {
                    if img.tags.is_empty() {
                        self.emit_image("load", &img.id.to_string(), "");
                    }
                    for t in &img.tags {
                        self.emit_image("load", &img.id.to_string(), t);
                    }
                }
            }
        }
        result
    }

    fn load_inner<R: Read + Send + 'static>(
        &mut self,
        input: R,
    ) -> Result<Vec<LoadedImage>, EngineError> {
        let archive = self.read_archive(input)?;
        let plans = if archive.files.contains_key("manifest.json") {
            self.plan_docker_archive(&archive)?
        } else if archive.files.contains_key("index.json") {
            self.plan_oci_layout(&archive)?
        } else if archive.files.is_empty() {
            return Err(bad("empty archive, or not a tar file"));
        } else {
            return Err(bad(
                "no manifest.json or index.json found: not a docker-archive or OCI image layout",
            ));
        };
        if plans.is_empty() {
            return Err(bad("the archive holds no image"));
        }
        let mut out = Vec::new();
        for plan in plans {
            let new = NewImage {
                id: plan.id.clone(),
                created: plan.config.created.clone(),
                labels: plan
                    .config
                    .config
                    .as_ref()
                    .and_then(|c| c.labels.clone())
                    .unwrap_or_default()
                    .into_iter()
                    .collect(),
                parent: None,
                layers: Vec::new(),
                tags: plan.tags.iter().map(|t| t.to_string()).collect(),
                digests: Vec::new(),
            };
            let outcome = commit_with_layers(&mut self.store, new, &plan.layers)?;
            out.push(LoadedImage {
                id: plan.id,
                tags: plan.tags.iter().map(|t| t.familiar_string()).collect(),
                moved: outcome
                    .moved_tags
                    .into_iter()
                    .map(|(t, d)| (super::familiar(&t), d))
                    .collect(),
            });
        }
        Ok(out)
    }

    fn read_archive<R: Read + Send + 'static>(&self, input: R) -> Result<Archive, EngineError> {
        let (_, reader) = berth_tar::decompress(input)?;
        let mut tar = tar::Archive::new(reader);
        let mut files = HashMap::new();
        let entries = tar
            .entries()
            .map_err(|e| bad(format!("not a tar archive: {e}")))?;
        let mut buf = vec![0u8; 256 * 1024];
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("reading archive: {e}")))?;
            let raw_path = entry.path_bytes().into_owned();
            let path =
                String::from_utf8(raw_path).map_err(|_| bad("archive entry name is not UTF-8"))?;
            let path = normalize(&path);
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let target = if kind.is_hard_link() {
                    format!("/{}", normalize(&target))
                } else {
                    target
                };
                files.insert(path, ArchiveFile::Link(target));
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let size = entry.size();
            if is_metadata_name(&path) {
                if size > MAX_METADATA {
                    return Err(bad(format!("{path}: document too large ({size} bytes)")));
                }
                let mut data = Vec::with_capacity(size as usize);
                entry
                    .read_to_end(&mut data)
                    .map_err(|e| bad(format!("{path}: {e}")))?;
                files.insert(path, ArchiveFile::Small(data));
                continue;
            }
            let mut ingest = self.store.blobs().ingest()?;
            let mut written = 0u64;
            loop {
                let n = entry
                    .read(&mut buf)
                    .map_err(|e| bad(format!("{path}: truncated or unreadable: {e}")))?;
                if n == 0 {
                    break;
                }
                ingest
                    .write_all(&buf[..n])
                    .map_err(|e| EngineError::Stream {
                        what: "write blob",
                        source: e,
                    })?;
                written += n as u64;
            }
            if written != size {
                return Err(bad(format!(
                    "{path}: truncated ({written} of {size} bytes)"
                )));
            }
            let digest = ingest.commit(None, Some(size))?;
            files.insert(path, ArchiveFile::Blob { digest, size });
        }
        Ok(Archive { files })
    }

    fn plan_docker_archive(&self, a: &Archive) -> Result<Vec<Plan>, EngineError> {
        let manifest: Vec<ArchiveManifestEntry> =
            spec::parse_json_capped(&a.small("manifest.json", &self.store)?, "manifest.json")?;
        let mut plans = Vec::new();
        for m in manifest {
            let (config_digest, _) = match a.resolve(&m.config)? {
                ArchiveFile::Blob { digest, size } => (digest.clone(), *size),
                ArchiveFile::Small(b) => {
                    let d = self.store.blobs().put(b)?;
                    (d, b.len() as u64)
                }
                ArchiveFile::Link(_) => return Err(bad("config: unresolved link")),
            };
            let config_bytes = self.store.blobs().read(&config_digest)?;
            let config: ImageConfig = spec::parse_json_capped(&config_bytes, &m.config)?;
            let mut layer_blobs = Vec::new();
            for l in &m.layers {
                layer_blobs.push(a.blob(l)?);
            }
            let layers = self.layer_sources(&config, &layer_blobs, None)?;
            let tags = m
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| parse_tag(t))
                .collect::<Result<Vec<_>, _>>()?;
            plans.push(Plan {
                id: config_digest,
                config,
                layers,
                tags,
            });
        }
        Ok(plans)
    }

    fn plan_oci_layout(&self, a: &Archive) -> Result<Vec<Plan>, EngineError> {
        let index: Index =
            spec::parse_json_capped(&a.small("index.json", &self.store)?, "index.json")?;
        index.validate()?;
        let mut plans = Vec::new();
        for d in &index.manifests {
            let name = d
                .annotations
                .as_ref()
                .and_then(|an| {
                    an.get("io.containerd.image.name")
                        .or_else(|| an.get("org.opencontainers.image.ref.name"))
                })
                .and_then(|n| parse_tag(n).ok().filter(|_| n.contains(['/', ':'])));
            self.plan_oci_descriptor(a, d, name, &mut plans, 0)?;
        }
        Ok(plans)
    }

    fn plan_oci_descriptor(
        &self,
        a: &Archive,
        d: &Descriptor,
        name: Option<Reference>,
        plans: &mut Vec<Plan>,
        depth: usize,
    ) -> Result<(), EngineError> {
        if depth > 4 {
            return Err(bad("image index nested too deeply"));
        }
        let digest = a.oci_blob(d)?;
        let bytes = self.read_doc(a, &digest)?;
        if spec::mediatype::is_index(&d.media_type) {
            let index: Index = spec::parse_json_capped(&bytes, "image index")?;
            index.validate()?;
            let chosen = spec::Platform::host().select(&index.manifests);
            let picks: Vec<&Descriptor> = match chosen {
                Some(c) => vec![c],
                None if index.manifests.iter().all(|m| m.platform.is_none()) => {
                    index.manifests.iter().collect()
                }
                None => {
                    return Err(bad(format!(
                        "image index {digest} has no manifest for this platform"
                    )))
                }
            };
            for m in picks {
                self.plan_oci_descriptor(a, m, name.clone(), plans, depth + 1)?;
            }
            return Ok(());
        }
        if !spec::mediatype::is_manifest(&d.media_type) {
            return Err(bad(format!(
                "descriptor {digest}: unsupported media type {:?}",
                d.media_type
            )));
        }
        let manifest: Manifest = spec::parse_json_capped(&bytes, "image manifest")?;
        manifest.validate()?;
        let config_digest = a.oci_blob(&manifest.config)?;
        let config_bytes = self.read_doc(a, &config_digest)?;
        if !self.store.blobs().contains(&config_digest) {
            self.store.blobs().put(&config_bytes)?;
        }
        let config: ImageConfig = spec::parse_json_capped(&config_bytes, "image config")?;
        let mut blobs = Vec::new();
        for l in &manifest.layers {
            let digest = a.oci_blob(l)?;
            blobs.push((digest, l.size.max(0) as u64));
        }
        let media: Vec<String> = manifest
            .layers
            .iter()
            .map(|l| l.media_type.clone())
            .collect();
        let layers = self.layer_sources(&config, &blobs, Some(&media))?;
        let mut tags = Vec::new();
        if let Some(n) = name {
            tags.push(n);
        }
        plans.push(Plan {
            id: config_digest,
            config,
            layers,
            tags,
        });
        Ok(())
    }

    fn read_doc(&self, a: &Archive, digest: &Digest) -> Result<Vec<u8>, EngineError> {
        a.small(&format!("blobs/sha256/{}", digest.hex()), &self.store)
    }

    fn layer_sources(
        &self,
        config: &ImageConfig,
        blobs: &[(Digest, u64)],
        media_types: Option<&[String]>,
    ) -> Result<Vec<LayerSource>, EngineError> {
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != blobs.len() {
            return Err(bad(format!(
                "the image config lists {} layers (diff_ids) but the manifest has {}",
                diff_ids.len(),
                blobs.len()
            )));
        }
        let chain = Digest::chain_ids(diff_ids);
        let mut out = Vec::new();
        for (i, (blob, _)) in blobs.iter().enumerate() {
            let media_type = match media_types {
                Some(m) => m[i].clone(),
                None => self.sniff_media_type(blob)?,
            };
            out.push(LayerSource {
                blob: blob.clone(),
                media_type,
                diff_id: diff_ids[i].clone(),
                parent: (i > 0).then(|| chain[i - 1].clone()),
                chain_id: chain[i].clone(),
            });
        }
        Ok(out)
    }

    fn sniff_media_type(&self, blob: &Digest) -> Result<String, EngineError> {
        let mut f = self.store.blobs().open(blob)?;
        let mut magic = [0u8; 4];
        let n = f.read(&mut magic).unwrap_or(0);
        Ok(match &magic[..n] {
            [0x1f, 0x8b, ..] => spec::mediatype::OCI_LAYER_GZIP,
            [0x28, 0xb5, 0x2f, 0xfd] => spec::mediatype::OCI_LAYER_ZSTD,
            _ => spec::mediatype::OCI_LAYER,
        }
        .to_string())
    }
}

struct Plan {
    id: Digest,
    config: ImageConfig,
    layers: Vec<LayerSource>,
    tags: Vec<Reference>,
}

fn parse_tag(t: &str) -> Result<Reference, EngineError> {
    let r = Reference::parse_normalized(t)?;
    if r.digest().is_some() {
        return Err(bad(format!(
            "{t}: a tag in an archive may not carry a digest"
        )));
    }
    Ok(r.with_default_tag())
}
