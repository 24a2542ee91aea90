//! `pull`: manifest (and index) resolution, parallel resumable verified downloads, commit.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use berth_image::reference::Reference;
use berth_image::spec::{self, mediatype, Descriptor, ImageConfig, Index, Manifest, Platform};
use berth_registry::{Client, RegistryError};
use berth_store::{BlobError, BlobStore, NewImage};
use berth_types::Digest;

use super::{LayerStatus, Progress, ProgressFn};
use crate::images::unpack::{commit_with_prepared, unpack_layer, LayerSource};
use crate::{Engine, EngineError};

/// Parallel layer downloads (Docker's `max-concurrent-downloads` is 3; loopback and LAN
/// registries gain from more).
const MAX_PARALLEL: usize = 6;
/// Attempts per blob when the connection drops mid-download (each resumes).
const ATTEMPTS: usize = 3;

/// Options of `pull`.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `--platform os/arch[/variant]`; the host's when `None`.
    pub platform: Option<String>,
    /// `-a`: every tag of the repository.
    pub all_tags: bool,
}

/// One image pulled.
#[derive(Debug, Clone)]
pub struct PullOutcome {
    /// The image id.
    pub id: Digest,
    /// The full reference pulled (`docker.io/library/busybox:latest`).
    pub reference: String,
    /// The manifest (or index) digest.
    pub digest: Digest,
    /// Whether anything new was stored (else "Image is up to date").
    pub newer: bool,
}

fn short(d: &Digest) -> String {
    d.hex()[..12].to_string()
}

fn mismatch(e: BlobError, digest: &Digest) -> EngineError {
    match e {
        BlobError::DigestMismatch { actual, .. } => {
            EngineError::Registry(RegistryError::DigestMismatch {
                what: format!("filesystem layer verification failed for digest {digest}"),
                expected: digest.to_string(),
                actual: actual.to_string(),
            })
        }
        BlobError::SizeMismatch {
            expected, actual, ..
        } => EngineError::Registry(RegistryError::DigestMismatch {
            what: format!("filesystem layer verification failed for digest {digest}"),
            expected: format!("{expected} bytes"),
            actual: format!("{actual} bytes"),
        }),
        e => e.into(),
    }
}

/// A registry sent more bytes than the descriptor's size.
#[derive(Debug, thiserror::Error)]
#[error("blob larger than its descriptor")]
struct TooLarge;

/// Downloads one blob into the store, resuming a partial download, verifying its digest.
pub(crate) fn download_blob(
    client: &Client,
    blobs: &BlobStore,
    repo: &str,
    desc: &Descriptor,
    progress: &dyn Fn(u64, u64),
) -> Result<(), EngineError> {
    let digest = &desc.digest;
    if blobs.contains(digest) {
        return Ok(());
    }
    let mut part = blobs.partial(digest)?;
    if blobs.contains(digest) {
        return Ok(());
    }
    let size = u64::try_from(desc.size).ok();
    let total = size.unwrap_or(0);
    let mut buf = vec![0u8; 256 * 1024];
    let mut attempt = 0;
    loop {
        attempt += 1;
        let offset = part.written();
        if size.is_some_and(|s| offset > s) {
            part.restart()?;
        }
        if size.is_some_and(|s| offset == s) && offset > 0 {
            break;
        }
        let stream = client.open_blob(repo, digest, part.written())?;
        if stream.start == 0 && part.written() > 0 {
            part.restart()?;
        }
        let mut reader = stream.reader;
        progress(part.written(), total);
        let result: std::io::Result<()> = (|| loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            part.write_all(&buf[..n])?;
            if size.is_some_and(|s| part.written() > s) {
                return Err(std::io::Error::other(TooLarge));
            }
            progress(part.written(), total);
        })();
        match result {
            Ok(()) => break,
            Err(e) if e.get_ref().is_some_and(|inner| inner.is::<TooLarge>()) => {
                part.discard();
                return Err(EngineError::Registry(RegistryError::DigestMismatch {
                    what: format!("filesystem layer verification failed for digest {digest}"),
                    expected: format!("{total} bytes"),
                    actual: "more bytes".into(),
                }));
            }
            Err(e) if attempt < ATTEMPTS => {
                tracing::warn!(blob = %digest, error = %e, "download interrupted, resuming");
                let _ = part.flush();
                continue;
            }
            Err(e) => {
                let _ = part.flush();
                return Err(EngineError::Registry(RegistryError::Io {
                    what: format!("download blob {digest}"),
                    source: e,
                }));
            }
        }
    }
    part.commit(digest, size).map_err(|e| mismatch(e, digest))?;
    Ok(())
}

/// The manifest of `fetched` to use: itself, or the platform's entry of an index (fetched
/// and verified). Returns the manifest's bytes, digest and media type.
fn resolve_manifest(
    client: &Client,
    repo: &str,
    display: &str,
    fetched: &berth_registry::FetchedManifest,
    platform: Option<&Platform>,
) -> Result<(Vec<u8>, Digest, String), EngineError> {
    if !mediatype::is_index(&fetched.media_type) {
        return Ok((
            fetched.bytes.clone(),
            fetched.digest.clone(),
            fetched.media_type.clone(),
        ));
    }
    let index = Index::from_slice(&fetched.bytes)?;
    index.validate_as(&fetched.media_type)?;
    let want = platform.cloned().unwrap_or_else(Platform::host);
    let chosen = want.select(&index.manifests).ok_or_else(|| {
        EngineError::Registry(RegistryError::NotFound {
            what: format!(
                "no matching manifest for {} in the manifest list entries",
                want.to_os_arch_variant()
            ),
            reason: format!("{display} has no image for this platform"),
        })
    })?;
    if !mediatype::is_manifest(&chosen.media_type) {
        return Err(EngineError::Registry(RegistryError::MediaType {
            what: format!("manifest {} of {display}", chosen.digest),
            media_type: chosen.media_type.clone(),
        }));
    }
    let child = client.manifest(repo, &chosen.digest.to_string(), display)?;
    if child.digest != chosen.digest {
        return Err(EngineError::Registry(RegistryError::DigestMismatch {
            what: format!("manifest of {display}"),
            expected: chosen.digest.to_string(),
            actual: child.digest.to_string(),
        }));
    }
    if chosen.size >= 0 && chosen.size as usize != child.bytes.len() {
        return Err(EngineError::Registry(RegistryError::Protocol {
            what: format!("manifest {} of {display}", chosen.digest),
            reason: format!(
                "size {} does not match the index's {}",
                child.bytes.len(),
                chosen.size
            ),
        }));
    }
    if !mediatype::is_manifest(&child.media_type) {
        return Err(EngineError::Registry(RegistryError::MediaType {
            what: format!("manifest {} of {display}", chosen.digest),
            media_type: child.media_type,
        }));
    }
    Ok((child.bytes, child.digest, chosen.media_type.clone()))
}

impl Engine {
    /// `pull NAME[:TAG|@DIGEST]`: pulls one image (or with `all_tags` every tag of the
    /// repository), reporting progress.
    pub fn pull_image(
        &mut self,
        name: &str,
        opts: &PullOptions,
        progress: ProgressFn<'_>,
    ) -> Result<Vec<PullOutcome>, EngineError> {
        let r = Reference::parse_normalized(name)?;
        if opts.all_tags && (r.tag().is_some() || r.digest().is_some()) {
            return Err(EngineError::InvalidArgument(
                "tag can't be used with --all-tags/-a".into(),
            ));
        }
        let platform = match &opts.platform {
            Some(p) => Some(Platform::parse(p).ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "\"{p}\": unknown operating system or architecture: invalid argument"
                ))
            })?),
            None => None,
        };
        self.repair()?;
        let client = berth_registry::connect(r.domain())?;
        let refs = if opts.all_tags {
            let mut tags = client.tags(r.path())?;
            tags.sort();
            tags.into_iter()
                .map(|t| r.with_tag(&t))
                .collect::<Result<Vec<_>, _>>()?
        } else if r.digest().is_some() {
            vec![r]
        } else {
            vec![r.with_default_tag()]
        };
        let mut out = Vec::new();
        for r in refs {
            out.push(self.pull_one(&client, &r, platform.as_ref(), progress)?);
        }
        Ok(out)
    }

    fn pull_one(
        &mut self,
        client: &Client,
        r: &Reference,
        platform: Option<&Platform>,
        progress: ProgressFn<'_>,
    ) -> Result<PullOutcome, EngineError> {
        let repo = r.path().to_string();
        let display = r.familiar_string();
        let reference = match (r.digest(), r.tag()) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => berth_image::reference::DEFAULT_TAG.to_string(),
        };
        progress(Progress::PullingFrom {
            reference: reference.clone(),
            repository: repo.clone(),
        });
        let top = client.manifest(&repo, &reference, &display)?;
        let (manifest_bytes, _manifest_digest, manifest_type) =
            resolve_manifest(client, &repo, &display, &top, platform)?;
        let manifest = Manifest::from_slice(&manifest_bytes)?;
        manifest.validate_as(&manifest_type)?;
        if !mediatype::is_config(&manifest.config.media_type) {
            return Err(EngineError::Registry(RegistryError::MediaType {
                what: format!("config of {display}"),
                media_type: manifest.config.media_type.clone(),
            }));
        }
        for l in &manifest.layers {
            if mediatype::layer_compression(&l.media_type).is_none() {
                return Err(EngineError::Registry(RegistryError::MediaType {
                    what: format!("layer {} of {display}", l.digest),
                    media_type: l.media_type.clone(),
                }));
            }
        }
        let blobs = self.store.blobs().clone();
        let config_digest = manifest.config.digest.clone();
        let config_bytes = match blobs.read(&config_digest) {
            Ok(b) => b,
            Err(_) => client.blob_bytes(&repo, &config_digest, spec::MAX_JSON_SIZE as u64)?,
        };
        if manifest.config.size >= 0 && manifest.config.size as usize != config_bytes.len() {
            return Err(EngineError::Registry(RegistryError::Protocol {
                what: format!("config {config_digest} of {display}"),
                reason: format!(
                    "size {} does not match the manifest's {}",
                    config_bytes.len(),
                    manifest.config.size
                ),
            }));
        }
        let config: ImageConfig = spec::parse_json_capped(&config_bytes, "image config")?;
        let diff_ids = &config.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers.len() {
            return Err(EngineError::Registry(RegistryError::Protocol {
                what: format!("image {display}"),
                reason: format!(
                    "the config lists {} layers (diff_ids) but the manifest has {}",
                    diff_ids.len(),
                    manifest.layers.len()
                ),
            }));
        }
        let chain = Digest::chain_ids(diff_ids);
        let sources: Vec<LayerSource> = manifest
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| LayerSource {
                blob: l.digest.clone(),
                media_type: l.media_type.clone(),
                diff_id: diff_ids[i].clone(),
                parent: (i > 0).then(|| chain[i - 1].clone()),
                chain_id: chain[i].clone(),
            })
            .collect();

        let full_tag = r.tag().map(|_| r.to_string());
        let repo_digest = format!("{}/{}@{}", r.domain(), r.path(), top.digest);
        let existing = self.store.image(&config_digest)?;
        let up_to_date = existing.as_ref().is_some_and(|img| {
            img.digests.contains(&repo_digest)
                && full_tag.as_ref().is_none_or(|t| img.tags.contains(t))
        });

        // Which layers to download.
        let mut todo: Vec<(&Descriptor, &LayerSource)> = Vec::new();
        if existing.is_none() {
            for (i, l) in manifest.layers.iter().enumerate() {
                let id = short(&l.digest);
                if self.store.layer(&sources[i].chain_id)?.is_some() {
                    progress(Progress::Layer {
                        id,
                        status: LayerStatus::AlreadyExists,
                    });
                } else if !todo.iter().any(|(t, _)| t.digest == l.digest) {
                    progress(Progress::Layer {
                        id,
                        status: LayerStatus::PullingFsLayer,
                    });
                    todo.push((l, &sources[i]));
                }
            }
        }
        if todo.len() > MAX_PARALLEL {
            for (l, _) in &todo[MAX_PARALLEL..] {
                progress(Progress::Layer {
                    id: short(&l.digest),
                    status: LayerStatus::Waiting,
                });
            }
        }
        let had: Vec<Digest> = todo
            .iter()
            .filter(|(l, _)| blobs.contains(&l.digest))
            .map(|(l, _)| l.digest.clone())
            .collect();
        // Each worker downloads a layer, and unpacks it as soon as it is verified, while
        // the other downloads go on.
        let mut jobs = Vec::new();
        for (l, src) in &todo {
            jobs.push(std::sync::Mutex::new(Some((
                *l,
                *src,
                self.store.temp_layer_dir()?,
            ))));
        }
        let next = AtomicUsize::new(0);
        let workers = todo.len().min(MAX_PARALLEL);
        let results: Vec<Result<berth_store::PreparedLayer, EngineError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..workers)
                    .map(|_| {
                        scope.spawn(|| {
                            let mut out = Vec::new();
                            loop {
                                let i = next.fetch_add(1, Ordering::Relaxed);
                                let Some(job) = jobs.get(i) else { break };
                                let Some((l, src, tmp)) =
                                    job.lock().ok().and_then(|mut j| j.take())
                                else {
                                    continue;
                                };
                                let id = short(&l.digest);
                                let bytes = |current: u64, total: u64| {
                                    progress(Progress::Bytes {
                                        id: id.clone(),
                                        current,
                                        total,
                                    })
                                };
                                let r = download_blob(client, &blobs, &repo, l, &bytes).and_then(
                                    |()| {
                                        progress(Progress::Layer {
                                            id: id.clone(),
                                            status: LayerStatus::VerifyingChecksum,
                                        });
                                        progress(Progress::Layer {
                                            id: id.clone(),
                                            status: LayerStatus::DownloadComplete,
                                        });
                                        progress(Progress::Layer {
                                            id: id.clone(),
                                            status: LayerStatus::Extracting,
                                        });
                                        unpack_layer(&blobs, tmp, src)
                                    },
                                );
                                let failed = r.is_err();
                                out.push(r);
                                if failed {
                                    // Stop handing out work; downloads in flight finish
                                    // (their bytes stay resumable).
                                    next.store(usize::MAX / 2, Ordering::Relaxed);
                                    break;
                                }
                            }
                            out
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .flat_map(|h| h.join().unwrap_or_default())
                    .collect()
            });
        let mut prepared = Vec::new();
        let mut first_error = None;
        for r in results {
            match r {
                Ok(p) => prepared.push(p),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            drop(prepared);
            // Leave the store as it was: blobs this pull stored go back to resumable
            // downloads (complete ones, so a retry does not fetch them again).
            for (l, _) in &todo {
                if !had.contains(&l.digest) && blobs.contains(&l.digest) {
                    if let Err(err) = blobs.demote_to_partial(&l.digest) {
                        tracing::warn!(blob = %l.digest, error = %err, "cannot undo a stored blob");
                    }
                }
            }
            return Err(e);
        }

        // Every blob is verified and unpacked: record the image.
        if !blobs.contains(&config_digest) {
            blobs.put(&config_bytes)?;
        }
        blobs.put(&top.bytes)?;
        let new = NewImage {
            id: config_digest.clone(),
            created: config.created.clone(),
            labels: config
                .config
                .as_ref()
                .and_then(|c| c.labels.clone())
                .unwrap_or_default()
                .into_iter()
                .collect(),
            parent: None,
            layers: Vec::new(),
            tags: full_tag.iter().cloned().collect(),
            digests: vec![repo_digest],
        };
        commit_with_prepared(&mut self.store, new, &sources, prepared)?;
        for (l, _) in &todo {
            progress(Progress::Layer {
                id: short(&l.digest),
                status: LayerStatus::PullComplete,
            });
        }
        progress(Progress::Digest(top.digest.clone()));
        let shown = r.familiar_string();
        // Docker's image event for a pull names the reference, not the id.
        self.emit_image("pull", &shown, &r.familiar_name());
        progress(Progress::Status(if up_to_date {
            format!("Image is up to date for {shown}")
        } else {
            format!("Downloaded newer image for {shown}")
        }));
        Ok(PullOutcome {
            id: config_digest,
            reference: r.to_string(),
            digest: top.digest,
            newer: !up_to_date,
        })
    }
}
