//! Unpacking one layer blob into a temporary layer directory, verifying its diff id.

use std::io::{self, Read};

use berth_store::{BlobStore, LayerRecord, PreparedLayer, Store, TempLayerDir};
use berth_tar::{ApplyOptions, Limits, WhiteoutMode};
use berth_types::{Digest, Hasher};

use crate::EngineError;

/// A reader that hashes and counts what passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Hasher,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Hasher::new(),
            count: 0,
        }
    }

    /// Reads the rest of the stream (tar padding after the end-of-archive marker counts
    /// towards the diff id) and returns the digest and length of everything read.
    pub(crate) fn finish(mut self) -> io::Result<(Digest, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((self.hasher.finish(), self.count))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// What is known about a layer before it is unpacked.
#[derive(Debug, Clone)]
pub(crate) struct LayerSource {
    /// The stored blob.
    pub blob: Digest,
    /// Its media type (for `save`/`push`).
    pub media_type: String,
    /// The diff id the image config promises.
    pub diff_id: Digest,
    /// The chain id below, if any.
    pub parent: Option<Digest>,
    /// The layer's chain id.
    pub chain_id: Digest,
}

/// Unpacks the blob into a fresh temporary layer directory, verifying that its
/// uncompressed content hashes to the promised diff id.
pub(crate) fn unpack_layer(
    blobs: &BlobStore,
    tmp: TempLayerDir,
    src: &LayerSource,
) -> Result<PreparedLayer, EngineError> {
    let blob = blobs.open(&src.blob)?;
    let blob_size = blob
        .metadata()
        .map_err(crate::error::io_err(&blobs.path(&src.blob)))?
        .len();
    let (_, reader) = berth_tar::decompress(io::BufReader::with_capacity(256 * 1024, blob))?;
    let mut hashing = HashingReader::new(reader);
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Overlay,
        limits: Limits::default(),
        preserve_owner: true,
    };
    let stats = berth_tar::apply_layer(&mut hashing, &tmp.diff_dir(), &opts)?;
    let (diff_id, diff_size) = hashing.finish().map_err(|source| EngineError::Stream {
        what: "read layer",
        source,
    })?;
    if diff_id != src.diff_id {
        return Err(EngineError::InvalidArchive(format!(
            "layer {}: content has diff id {diff_id}, but the image config says {}",
            src.blob, src.diff_id
        )));
    }
    Ok(tmp.into_prepared(LayerRecord {
        chain_id: src.chain_id.clone(),
        diff_id,
        parent: src.parent.clone(),
        size: stats.bytes,
        diff_size,
        blob: src.blob.clone(),
        media_type: src.media_type.clone(),
        blob_size,
    }))
}

/// Unpacks, in parallel, every layer of `sources` the store does not have yet.
pub(crate) fn unpack_missing(
    store: &Store,
    sources: &[LayerSource],
) -> Result<Vec<PreparedLayer>, EngineError> {
    let mut todo = Vec::new();
    for s in sources {
        if store.layer(&s.chain_id)?.is_none()
            && !todo.iter().any(|t: &&LayerSource| t.chain_id == s.chain_id)
        {
            todo.push(s);
        }
    }
    let mut jobs = Vec::new();
    for s in todo {
        jobs.push(std::sync::Mutex::new(Some((store.temp_layer_dir()?, s))));
    }
    let blobs = store.blobs();
    if jobs.len() <= 1 {
        return jobs
            .into_iter()
            .filter_map(|j| j.into_inner().ok().flatten())
            .map(|(tmp, s)| unpack_layer(blobs, tmp, s))
            .collect();
    }
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .min(jobs.len());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Result<PreparedLayer, EngineError>)>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(job) = jobs.get(i) else { break };
                            let taken = job.lock().ok().and_then(|mut j| j.take());
                            if let Some((tmp, s)) = taken {
                                out.push((i, unpack_layer(blobs, tmp, s)));
                            }
                        }
                        out
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect()
        });
    let mut all: Vec<(usize, Result<PreparedLayer, EngineError>)> =
        results.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Records for layers the store already has, in order, mixed with freshly prepared ones.
pub(crate) fn layer_records(
    store: &Store,
    sources: &[LayerSource],
    prepared: &[PreparedLayer],
) -> Result<Vec<LayerRecord>, EngineError> {
    sources
        .iter()
        .map(|s| {
            if let Some(p) = prepared.iter().find(|p| p.record.chain_id == s.chain_id) {
                return Ok(p.record.clone());
            }
            store
                .layer(&s.chain_id)?
                .ok_or_else(|| berth_store::StoreError::LayerVanished(s.chain_id.clone()).into())
        })
        .collect()
}

/// Stores an image whose blobs are in the content store: unpacks missing layers, then
/// commits. Retries when a concurrent `rmi` deleted a layer this image reuses.
pub(crate) fn commit_with_layers(
    store: &mut Store,
    mut image: berth_store::NewImage,
    sources: &[LayerSource],
) -> Result<berth_store::CommitOutcome, EngineError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let prepared = unpack_missing(store, sources)?;
        image.layers = match layer_records(store, sources, &prepared) {
            Ok(l) => l,
            Err(_) if attempts < 5 => continue,
            Err(e) => return Err(e),
        };
        match store.commit_image(&image, prepared) {
            Err(berth_store::StoreError::LayerVanished(_)) if attempts < 5 => continue,
            r => return r.map_err(Into::into),
        }
    }
}

/// [`commit_with_layers`] for a caller that already unpacked some layers (a pull unpacks
/// each layer as soon as its download is verified): unpacks whatever else is missing, then
/// commits; falls back to [`commit_with_layers`] when a concurrent `rmi` raced it.
pub(crate) fn commit_with_prepared(
    store: &mut Store,
    mut image: berth_store::NewImage,
    sources: &[LayerSource],
    mut prepared: Vec<PreparedLayer>,
) -> Result<berth_store::CommitOutcome, EngineError> {
    let rest: Vec<LayerSource> = sources
        .iter()
        .filter(|s| !prepared.iter().any(|p| p.record.chain_id == s.chain_id))
        .cloned()
        .collect();
    prepared.extend(unpack_missing(store, &rest)?);
    match layer_records(store, sources, &prepared) {
        Ok(l) => image.layers = l,
        Err(_) => {
            drop(prepared);
            return commit_with_layers(store, image, sources);
        }
    }
    match store.commit_image(&image, prepared) {
        Err(berth_store::StoreError::LayerVanished(_)) => commit_with_layers(store, image, sources),
        r => r.map_err(Into::into),
    }
}
