//! `push`: uploads an image's blobs as stored (skipping and mounting what the registry
//! has), then its manifest; records the `RepoDigest`.

use std::io::{Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use berth_image::reference::Reference;
use berth_image::spec::{mediatype, Manifest};
use berth_registry::{Client, RegistryError, UploadStart};
use berth_store::BlobStore;
use berth_types::Digest;
use serde_json::json;

use super::{LayerStatus, Progress, ProgressFn};
use crate::{Engine, EngineError};

/// Parallel uploads (Docker's `max-concurrent-uploads` is 5).
const MAX_PARALLEL: usize = 5;
/// Blobs larger than this go up in PATCH chunks of this size; smaller ones in one PUT.
/// `BERTH_PUSH_CHUNK_SIZE` (bytes) overrides it.
const DEFAULT_CHUNK: u64 = 64 << 20;

/// Options of `push`.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// `-a`: every local tag of the repository.
    pub all_tags: bool,
}

/// One tag pushed.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The tag.
    pub tag: String,
    /// The manifest digest.
    pub digest: Digest,
    /// The manifest size.
    pub size: usize,
}

struct Blob {
    digest: Digest,
    size: u64,
    /// The id shown (diff id for layers, as Docker shows), `None` for the config.
    shown: Option<String>,
}

fn chunk_size() -> u64 {
    std::env::var("BERTH_PUSH_CHUNK_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_CHUNK)
}

fn upload_blob(
    client: &Client,
    blobs: &BlobStore,
    repo: &str,
    blob: &Blob,
    mount_from: Option<&str>,
    progress: ProgressFn<'_>,
) -> Result<(), EngineError> {
    let status = |s: LayerStatus| {
        if let Some(id) = &blob.shown {
            progress(Progress::Layer {
                id: id.clone(),
                status: s,
            });
        }
    };
    let scopes = [berth_registry::client::push_scope(repo)];
    if client.blob_size(repo, &blob.digest, &scopes)?.is_some() {
        status(LayerStatus::LayerAlreadyExists);
        return Ok(());
    }
    let location = match client.start_upload(repo, &blob.digest, mount_from)? {
        UploadStart::Mounted => {
            status(LayerStatus::MountedFrom(
                mount_from.unwrap_or_default().to_string(),
            ));
            return Ok(());
        }
        UploadStart::Location(l) => l,
    };
    status(LayerStatus::Pushing);
    let path = blobs.path(&blob.digest);
    let open = |offset: u64| -> std::io::Result<Box<dyn std::io::Read + Send>> {
        let mut f = std::fs::File::open(&path)?;
        f.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(std::io::BufReader::with_capacity(256 * 1024, f)))
    };
    let sent = AtomicU64::new(0);
    let count = |n: u64| {
        let now = sent.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(id) = &blob.shown {
            progress(Progress::Bytes {
                id: id.clone(),
                current: now,
                total: blob.size,
            });
        }
    };
    client.upload(
        repo,
        location,
        &blob.digest,
        blob.size,
        Some(chunk_size()),
        &open,
        &count,
    )?;
    status(LayerStatus::Pushed);
    Ok(())
}

impl Engine {
    /// The manifest to push for image `id`: the one it was pulled or pushed with when the
    /// store still has it (so digests stay what they were), else one built from the stored
    /// blobs: Docker schema 2 when every layer has a Docker media type, else OCI.
    fn manifest_for_push(&self, id: &Digest) -> Result<(Vec<u8>, String), EngineError> {
        let record = self
            .store
            .image(id)?
            .ok_or_else(|| EngineError::NoSuchImage(id.to_string()))?;
        let mut layers = Vec::new();
        for c in &record.layers {
            layers.push(
                self.store
                    .layer(c)?
                    .ok_or_else(|| berth_store::StoreError::LayerVanished(c.clone()))?,
            );
        }
        for name in &record.digests {
            let Some(d) = name
                .split_once('@')
                .and_then(|(_, d)| d.parse::<Digest>().ok())
            else {
                continue;
            };
            let Ok(bytes) = self.store.blobs().read(&d) else {
                continue;
            };
            let Ok(m) = Manifest::from_slice(&bytes) else {
                continue;
            };
            let same = m.config.digest == *id
                && m.layers.len() == layers.len()
                && m.layers
                    .iter()
                    .zip(&layers)
                    .all(|(a, b)| a.digest == b.blob);
            if same {
                let mt = m
                    .media_type
                    .clone()
                    .unwrap_or_else(|| mediatype::OCI_MANIFEST.to_string());
                return Ok((bytes, mt));
            }
        }
        let config_size = self.store.blobs().size(id)?;
        let docker = !layers.is_empty()
            && layers
                .iter()
                .all(|l| l.media_type.starts_with("application/vnd.docker."));
        let (mt, config_mt) = if docker {
            (mediatype::DOCKER_MANIFEST, mediatype::DOCKER_CONFIG)
        } else {
            (mediatype::OCI_MANIFEST, mediatype::OCI_CONFIG)
        };
        let doc = json!({
            "schemaVersion": 2,
            "mediaType": mt,
            "config": {"mediaType": config_mt, "digest": id.to_string(), "size": config_size},
            "layers": layers.iter().map(|l| json!({
                "mediaType": l.media_type, "digest": l.blob.to_string(), "size": l.blob_size
            })).collect::<Vec<_>>(),
        });
        let bytes = serde_json::to_vec_pretty(&doc).expect("manifest serializes");
        Ok((bytes, mt.to_string()))
    }

    /// `push NAME[:TAG]`: uploads the image (or with `all_tags` every local tag of the
    /// repository) and records the `RepoDigest`.
    pub fn push_image(
        &mut self,
        name: &str,
        opts: &PushOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<PushOutcome>, EngineError> {
        let r = Reference::parse_normalized(name)?;
        if r.digest().is_some() {
            return Err(EngineError::InvalidArgument(
                "cannot push a digest reference".into(),
            ));
        }
        let repo_name = r.name();
        let tags: Vec<Reference> = if opts.all_tags {
            if r.tag().is_some() {
                return Err(EngineError::InvalidArgument(
                    "tag can't be used with --all-tags/-a".into(),
                ));
            }
            let mut t: Vec<Reference> = self
                .store
                .images()?
                .iter()
                .flat_map(|i| i.tags.clone())
                .filter(|t| t.rsplit_once(':').is_some_and(|(n, _)| n == repo_name))
                .filter_map(|t| Reference::parse_normalized(&t).ok())
                .collect();
            t.sort();
            t
        } else {
            vec![r.clone().with_default_tag()]
        };
        let mut ids = Vec::new();
        for t in &tags {
            match self.store.image_by_tag(&t.to_string())? {
                Some(id) => ids.push(id),
                None => {
                    return Err(EngineError::NoSuchImage(format!(
                        "An image does not exist locally with the tag: {}",
                        r.familiar_name()
                    )))
                }
            }
        }
        if ids.is_empty() {
            return Err(EngineError::NoSuchImage(format!(
                "An image does not exist locally with the tag: {}",
                r.familiar_name()
            )));
        }
        progress(Progress::PushRefersTo(format!(
            "{}/{}",
            r.domain(),
            r.path()
        )));
        let client = berth_registry::connect(r.domain())?;
        let mut out = Vec::new();
        for (t, id) in tags.iter().zip(ids) {
            out.push(self.push_one(&client, t, &id, progress)?);
        }
        Ok(out)
    }

    fn push_one(
        &mut self,
        client: &Client,
        r: &Reference,
        id: &Digest,
        progress: ProgressFn<'_>,
    ) -> Result<PushOutcome, EngineError> {
        let repo = r.path().to_string();
        let tag = r.tag().unwrap_or("latest").to_string();
        let record = self
            .store
            .image(id)?
            .ok_or_else(|| EngineError::NoSuchImage(id.to_string()))?;
        let (manifest_bytes, manifest_type) = self.manifest_for_push(id)?;
        let manifest = Manifest::from_slice(&manifest_bytes)?;
        // A repository of the same registry the image came from: a mount source.
        let mount_from = record
            .digests
            .iter()
            .chain(record.tags.iter())
            .filter_map(|n| {
                let n = n.split('@').next().unwrap_or(n);
                Reference::parse_normalized(n).ok()
            })
            .find(|o| o.domain() == r.domain() && o.path() != r.path())
            .map(|o| o.path().to_string());
        let mut diff_ids = Vec::new();
        for c in &record.layers {
            if let Some(l) = self.store.layer(c)? {
                diff_ids.push(l.diff_id);
            }
        }
        let mut blobs_todo: Vec<Blob> = Vec::new();
        for (i, l) in manifest.layers.iter().enumerate() {
            if blobs_todo.iter().any(|b| b.digest == l.digest) {
                continue;
            }
            let shown = diff_ids
                .get(i)
                .map(|d| d.hex()[..12].to_string())
                .unwrap_or_else(|| l.digest.hex()[..12].to_string());
            progress(Progress::Layer {
                id: shown.clone(),
                status: LayerStatus::Preparing,
            });
            blobs_todo.push(Blob {
                digest: l.digest.clone(),
                size: self.store.blobs().size(&l.digest)?,
                shown: Some(shown),
            });
        }
        blobs_todo.push(Blob {
            digest: manifest.config.digest.clone(),
            size: self.store.blobs().size(&manifest.config.digest)?,
            shown: None,
        });
        let blobs = self.store.blobs().clone();
        let next = AtomicUsize::new(0);
        let workers = blobs_todo.len().min(MAX_PARALLEL);
        let errors: Vec<EngineError> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut errs = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(b) = blobs_todo.get(i) else { break };
                            if let Err(e) = upload_blob(
                                client,
                                &blobs,
                                &repo,
                                b,
                                mount_from.as_deref(),
                                progress,
                            ) {
                                errs.push(e);
                                next.store(usize::MAX / 2, Ordering::Relaxed);
                                break;
                            }
                        }
                        errs
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        if let Some(e) = errors.into_iter().next() {
            return Err(e);
        }
        let digest = client.put_manifest(&repo, &tag, &manifest_type, &manifest_bytes)?;
        if digest != Digest::of(&manifest_bytes) {
            return Err(EngineError::Registry(RegistryError::DigestMismatch {
                what: format!("manifest {}", r.familiar_string()),
                expected: Digest::of(&manifest_bytes).to_string(),
                actual: digest.to_string(),
            }));
        }
        self.store.blobs().put(&manifest_bytes)?;
        self.store
            .add_repo_digest(&format!("{}/{}@{}", r.domain(), r.path(), digest), id)?;
        self.emit_image("push", &r.familiar_string(), &r.familiar_name());
        progress(Progress::Pushed {
            tag: tag.clone(),
            digest: digest.clone(),
            size: manifest_bytes.len(),
        });
        Ok(PushOutcome {
            tag,
            digest,
            size: manifest_bytes.len(),
        })
    }
}
