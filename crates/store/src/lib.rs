//! The store of berth: metadata in SQLite, blobs by digest, unpacked layers by chain id.
//!
//! # Design
//! The database is the single source of truth: an image, a tag or a layer exists when its
//! row exists. Files are written *before* the rows that point at them and removed *after*
//! the rows are gone, in a fixed order (blobs, then layers, then the image and its config,
//! then tags; deletion in reverse), so a process killed at any instant leaves only
//! unreferenced files, never a row pointing at a missing file. Those leftovers are swept by
//! the next process that finds itself alone (see [`lock`]).
//!
//! Layer directories are prepared under temporary names, made durable with one `syncfs`,
//! and renamed into place while `layers.lock` is held, in the same critical section as the
//! database transaction that records them; deletion takes the same lock. That closes the
//! race where a load reuses a layer a concurrent `rmi` is deleting.

pub mod blobs;
pub mod containers;
pub mod db;
pub mod fsutil;
pub mod lock;
pub mod networks;
pub mod records;
pub mod volumes;

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use berth_types::{Classify, Digest, ErrorKind};
use rusqlite::params;

pub use blobs::{BlobError, BlobStore, Ingest, PartialIngest};
pub use containers::ContainerRow;
pub use db::{Db, DbError};
pub use records::{ImageRecord, LayerRecord};

use fsutil::{durable_rename, ensure_private_dir, random_token, remove_all, sync_dir};
use lock::LockFile;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A database failure.
    #[error(transparent)]
    Db(#[from] DbError),
    /// A content-store failure.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// A filesystem failure on a path of the store.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A layer an image needs was deleted by a concurrent process; unpack it again.
    #[error("layer {0} was removed concurrently")]
    LayerVanished(Digest),
}

impl Classify for StoreError {
    fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Blob(BlobError::NotFound(_)) => ErrorKind::NotFound,
            StoreError::Blob(BlobError::DigestMismatch { .. } | BlobError::SizeMismatch { .. }) => {
                ErrorKind::InvalidArgument
            }
            StoreError::LayerVanished(_) => ErrorKind::Conflict,
            _ => ErrorKind::Internal,
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> StoreError + 'a {
    move |source| StoreError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// The current time in unix nanoseconds.
pub fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// A layer unpacked under a temporary name, waiting for [`Store::commit_image`].
/// Dropping it removes the directory.
#[derive(Debug)]
pub struct PreparedLayer {
    dir: PathBuf,
    /// The layer's metadata.
    pub record: LayerRecord,
    committed: bool,
}

impl PreparedLayer {
    /// The directory to unpack the layer's files into (later an overlay lowerdir).
    pub fn diff_dir(&self) -> PathBuf {
        self.dir.join("diff")
    }
}

impl Drop for PreparedLayer {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_all(&self.dir);
        }
    }
}

/// A temporary layer directory, before the layer's identity is known.
#[derive(Debug)]
pub struct TempLayerDir {
    dir: PathBuf,
}

impl TempLayerDir {
    /// Where to unpack files.
    pub fn diff_dir(&self) -> PathBuf {
        self.dir.join("diff")
    }

    /// Attaches the layer's metadata once unpacking has verified it.
    pub fn into_prepared(mut self, record: LayerRecord) -> PreparedLayer {
        let dir = std::mem::take(&mut self.dir);
        PreparedLayer {
            dir,
            record,
            committed: false,
        }
    }
}

impl Drop for TempLayerDir {
    fn drop(&mut self) {
        if !self.dir.as_os_str().is_empty() {
            let _ = remove_all(&self.dir);
        }
    }
}

/// What [`Store::commit_image`] records.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// The image id (digest of the config, which must already be a blob).
    pub id: Digest,
    /// The config's `created`.
    pub created: Option<String>,
    /// The config's labels.
    pub labels: BTreeMap<String, String>,
    /// Parent image, if any.
    pub parent: Option<Digest>,
    /// Every layer of the image, bottom first (prepared or already stored).
    pub layers: Vec<LayerRecord>,
    /// Full tags to point at this image.
    pub tags: Vec<String>,
    /// Full digest references to point at this image.
    pub digests: Vec<String>,
}

/// What changed when an image was committed.
#[derive(Debug, Default, Clone)]
pub struct CommitOutcome {
    /// Tags that pointed at another image before, with that image's id.
    pub moved_tags: Vec<(String, Digest)>,
}

/// What a deletion removed.
#[derive(Debug, Default, Clone)]
pub struct Deleted {
    /// Chain ids of layers no longer used by any image.
    pub layers: Vec<Digest>,
}

/// The open store.
pub struct Store {
    root: PathBuf,
    db: Db,
    blobs: BlobStore,
    layers_dir: PathBuf,
    store_lock: LockFile,
    layers_lock: LockFile,
}

impl Store {
    /// Opens the store at `root`, creating its layout (mode 0700) on first use.
    pub fn open(root: &Path) -> Result<Store> {
        ensure_private_dir(root).map_err(io_err("create store directory", root))?;
        let locks = root.join("locks");
        let layers_dir = root.join("layers");
        for d in [&locks, &layers_dir] {
            fs::create_dir_all(d).map_err(io_err("create directory", d))?;
        }
        let store_lock =
            LockFile::open(&locks.join("store.lock")).map_err(io_err("open lock", &locks))?;
        store_lock
            .lock_shared()
            .map_err(io_err("lock", store_lock.path()))?;
        let layers_lock =
            LockFile::open(&locks.join("layers.lock")).map_err(io_err("open lock", &locks))?;
        let blobs = BlobStore::new(root).map_err(io_err("create content store", root))?;
        let db = Db::open(&root.join("berth.db"))?;
        Ok(Store {
            root: root.to_path_buf(),
            db,
            blobs,
            layers_dir,
            store_lock,
            layers_lock,
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The content store.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// The metadata database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The metadata database, for writes.
    pub fn db_mut(&mut self) -> &mut Db {
        &mut self.db
    }

    /// The directory holding a committed layer's files (an overlay lowerdir).
    pub fn layer_diff_dir(&self, chain_id: &Digest) -> PathBuf {
        self.layers_dir.join(chain_id.hex()).join("diff")
    }

    /// A layer's record, if stored.
    pub fn layer(&self, chain_id: &Digest) -> Result<Option<LayerRecord>> {
        records::layer(self.db.conn(), chain_id).map_err(|e| self.db.err(e).into())
    }

    /// Every image.
    pub fn images(&self) -> Result<Vec<ImageRecord>> {
        records::images(self.db.conn()).map_err(|e| self.db.err(e).into())
    }

    /// One image by id.
    pub fn image(&self, id: &Digest) -> Result<Option<ImageRecord>> {
        records::image(self.db.conn(), id).map_err(|e| self.db.err(e).into())
    }

    /// The image a full tag names.
    pub fn image_by_tag(&self, name: &str) -> Result<Option<Digest>> {
        records::image_by_tag(self.db.conn(), name).map_err(|e| self.db.err(e).into())
    }

    /// The image a full digest reference names.
    pub fn image_by_repo_digest(&self, name: &str) -> Result<Option<Digest>> {
        records::image_by_repo_digest(self.db.conn(), name).map_err(|e| self.db.err(e).into())
    }

    /// Images whose id starts with a hex prefix.
    pub fn images_by_id_prefix(&self, hex_prefix: &str) -> Result<Vec<Digest>> {
        records::images_by_id_prefix(self.db.conn(), hex_prefix).map_err(|e| self.db.err(e).into())
    }

    /// Containers created from an image: (id, state).
    pub fn containers_using(&self, id: &Digest) -> Result<Vec<(String, String)>> {
        records::containers_using(self.db.conn(), id).map_err(|e| self.db.err(e).into())
    }

    /// Images whose parent is `id`.
    pub fn children(&self, id: &Digest) -> Result<Vec<Digest>> {
        records::children(self.db.conn(), id).map_err(|e| self.db.err(e).into())
    }

    /// A fresh temporary directory to unpack one layer into.
    pub fn temp_layer_dir(&self) -> Result<TempLayerDir> {
        let dir = self
            .layers_dir
            .join(format!(".tmp-{}-{}", std::process::id(), random_token()));
        let diff = dir.join("diff");
        fs::create_dir_all(&diff).map_err(io_err("create layer directory", &diff))?;
        Ok(TempLayerDir { dir })
    }

    /// Records an image whose config blob and layer blobs are stored and whose new layers are
    /// unpacked in `prepared`. Moves prepared layers into place, then writes every row in one
    /// transaction. A layer listed in `image.layers` that is neither prepared nor stored any
    /// more yields [`StoreError::LayerVanished`]: unpack it and call again.
    pub fn commit_image(
        &mut self,
        image: &NewImage,
        prepared: Vec<PreparedLayer>,
    ) -> Result<CommitOutcome> {
        if !prepared.is_empty() {
            // Make the unpacked files durable before any name points at them.
            fsutil::sync_filesystem(&self.layers_dir)
                .map_err(io_err("sync layers", &self.layers_dir))?;
        }
        let _guard = self
            .layers_lock
            .exclusive()
            .map_err(io_err("lock", self.layers_lock.path()))?;
        let mut prepared_ids = HashSet::new();
        let mut renamed = false;
        for mut p in prepared {
            let chain = p.record.chain_id.clone();
            if records::layer(self.db.conn(), &chain)
                .map_err(|e| self.db.err(e))?
                .is_none()
            {
                let target = self.layers_dir.join(chain.hex());
                // A directory without a row is a leftover of a killed process.
                remove_all(&target).map_err(io_err("remove stale layer", &target))?;
                fs::rename(&p.dir, &target).map_err(io_err("commit layer", &target))?;
                p.committed = true;
                renamed = true;
            }
            prepared_ids.insert(chain);
        }
        if renamed {
            sync_dir(&self.layers_dir).map_err(io_err("sync", &self.layers_dir))?;
        }
        for l in &image.layers {
            if !prepared_ids.contains(&l.chain_id)
                && records::layer(self.db.conn(), &l.chain_id)
                    .map_err(|e| self.db.err(e))?
                    .is_none()
            {
                return Err(StoreError::LayerVanished(l.chain_id.clone()));
            }
        }
        let now = now_nanos();
        let size: u64 = image.layers.iter().map(|l| l.size).sum();
        let labels = serde_json::to_string(&image.labels).unwrap_or_else(|_| "{}".into());
        let outcome = self.db.write(|tx| {
            let mut outcome = CommitOutcome::default();
            for l in &image.layers {
                records::insert_layer(tx, l, now)?;
            }
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO images (id, created, size, stored, parent, labels)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    image.id.to_string(),
                    image.created,
                    size as i64,
                    now,
                    image.parent.as_ref().map(|p| p.to_string()),
                    labels
                ],
            )?;
            if inserted == 1 {
                for (i, l) in image.layers.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?1, ?2, ?3)",
                        params![image.id.to_string(), i as i64, l.chain_id.to_string()],
                    )?;
                }
            }
            for tag in &image.tags {
                if let Some(old) = records::image_by_tag(tx, tag)? {
                    if old != image.id {
                        outcome.moved_tags.push((tag.clone(), old));
                    }
                }
                tx.execute(
                    "INSERT OR REPLACE INTO tags (name, image_id, created) VALUES (?1, ?2, ?3)",
                    params![tag, image.id.to_string(), now],
                )?;
            }
            for d in &image.digests {
                tx.execute(
                    "INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)",
                    params![d, image.id.to_string()],
                )?;
            }
            Ok(outcome)
        })?;
        Ok(outcome)
    }

    /// Points a full tag at an image; returns the image it pointed at before, if another.
    pub fn set_tag(&mut self, name: &str, id: &Digest) -> Result<Option<Digest>> {
        let now = now_nanos();
        Ok(self.db.write(|tx| {
            let old = records::image_by_tag(tx, name)?;
            tx.execute(
                "INSERT OR REPLACE INTO tags (name, image_id, created) VALUES (?1, ?2, ?3)",
                params![name, id.to_string(), now],
            )?;
            Ok(old.filter(|o| o != id))
        })?)
    }

    /// Points a full digest reference (`domain/path@sha256:…`) at an image (after a push).
    /// The manifest blob it names, when stored, is kept as long as the reference exists.
    pub fn add_repo_digest(&mut self, name: &str, id: &Digest) -> Result<()> {
        Ok(self.db.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)",
                params![name, id.to_string()],
            )?;
            Ok(())
        })?)
    }

    /// Removes a tag or digest reference (whichever `name` is); returns whether it existed.
    pub fn remove_name(&mut self, name: &str) -> Result<bool> {
        Ok(self.db.write(|tx| {
            let a = tx.execute("DELETE FROM tags WHERE name = ?1", [name])?;
            let b = tx.execute("DELETE FROM repo_digests WHERE name = ?1", [name])?;
            Ok(a + b > 0)
        })?)
    }

    /// Deletes an image with its remaining names, then the layers and blobs nothing else
    /// uses. Rows go first, files after (a crash in between leaves only orphans to sweep).
    pub fn delete_image(&mut self, id: &Digest) -> Result<Deleted> {
        let _guard = self
            .layers_lock
            .exclusive()
            .map_err(io_err("lock", self.layers_lock.path()))?;
        let key = id.to_string();
        let (layers, blobs) = self.db.write(|tx| {
            let chain: Vec<String> = tx
                .prepare("SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY idx DESC")?
                .query_map([&key], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            tx.execute("DELETE FROM tags WHERE image_id = ?1", [&key])?;
            tx.execute("DELETE FROM repo_digests WHERE image_id = ?1", [&key])?;
            tx.execute("UPDATE images SET parent = NULL WHERE parent = ?1", [&key])?;
            tx.execute("DELETE FROM image_layers WHERE image_id = ?1", [&key])?;
            tx.execute("DELETE FROM images WHERE id = ?1", [&key])?;
            let mut gone_layers = Vec::new();
            let mut blobs = vec![key.clone()];
            for c in chain {
                let used: i64 = tx.query_row(
                    "SELECT count(*) FROM image_layers WHERE chain_id = ?1",
                    [&c],
                    |r| r.get(0),
                )?;
                if used > 0 {
                    continue;
                }
                let blob: Option<String> = tx
                    .query_row("SELECT blob FROM layers WHERE chain_id = ?1", [&c], |r| {
                        r.get(0)
                    })
                    .ok();
                tx.execute("DELETE FROM layers WHERE chain_id = ?1", [&c])?;
                if let Some(b) = blob {
                    let still: i64 =
                        tx.query_row("SELECT count(*) FROM layers WHERE blob = ?1", [&b], |r| {
                            r.get(0)
                        })?;
                    if still == 0 {
                        blobs.push(b);
                    }
                }
                gone_layers.push(c);
            }
            Ok((gone_layers, blobs))
        })?;
        let mut deleted = Deleted::default();
        for c in layers {
            let Ok(d) = c.parse::<Digest>() else { continue };
            let dir = self.layers_dir.join(d.hex());
            let trash = self.layers_dir.join(format!(".del-{}", random_token()));
            if fs::rename(&dir, &trash).is_ok() {
                if let Err(e) = remove_all(&trash) {
                    tracing::warn!(path = %trash.display(), error = %e, "failed to remove layer");
                }
            }
            deleted.layers.push(d);
        }
        // Blobs are left to the sweep: a concurrent load may have found one present and
        // be about to reference it; the sweep only runs when no other process is alive.
        let _ = blobs;
        Ok(deleted)
    }

    /// Removes what killed processes left behind (ingest temp files, temporary and
    /// half-deleted layer directories, layer directories and blobs no row refers to), but
    /// only when no other berth process has the store open: anything else in flight may
    /// belong to a live process. Returns whether the sweep ran. The caller must have no
    /// ingest or temporary layer of its own in flight.
    pub fn sweep_if_alone(&self) -> Result<bool> {
        let lock = &self.store_lock;
        // flock(2) converts a lock by dropping it and taking the new one, and a failed
        // non-blocking conversion may leave no lock at all. So: drop our shared lock, try
        // exclusive, and whatever happens take shared again before returning. Callers sweep
        // only when they hold nothing in flight, so the unlocked moment endangers nothing.
        lock.unlock().map_err(io_err("unlock", lock.path()))?;
        let alone = match lock.try_lock_exclusive() {
            Ok(alone) => alone,
            Err(e) => {
                lock.lock_shared().map_err(io_err("lock", lock.path()))?;
                return Err(io_err("lock", lock.path())(e));
            }
        };
        let result = if alone { self.sweep() } else { Ok(()) };
        lock.lock_shared().map_err(io_err("lock", lock.path()))?;
        result.map(|_| alone)
    }

    fn sweep(&self) -> Result<()> {
        let ingest = self.blobs.ingest_dir();
        for e in fs::read_dir(ingest)
            .map_err(io_err("read", ingest))?
            .flatten()
        {
            if e.file_name() == blobs::PARTIAL_DIR {
                // Resumable downloads survive a failed pull; drop only stale ones.
                sweep_stale_partials(&e.path());
                continue;
            }
            tracing::debug!(path = %e.path().display(), "sweeping abandoned ingest");
            let _ = remove_all(&e.path());
        }
        let conn = self.db.conn();
        let known: HashSet<String> = conn
            .prepare("SELECT chain_id FROM layers")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| self.db.err(e))?;
        for e in fs::read_dir(&self.layers_dir)
            .map_err(io_err("read", &self.layers_dir))?
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if !known.contains(&format!("sha256:{name}")) {
                tracing::debug!(path = %e.path().display(), "sweeping orphan layer directory");
                let _ = remove_all(&e.path());
            }
        }
        let referenced: HashSet<String> = conn
            .prepare(
                "SELECT id FROM images UNION SELECT blob FROM layers
                 UNION SELECT substr(name, instr(name, '@') + 1) FROM repo_digests",
            )
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(|e| self.db.err(e))?;
        for d in self.blobs.list()? {
            if !referenced.contains(&d.to_string()) {
                tracing::debug!(blob = %d, "sweeping orphan blob");
                self.blobs.remove(&d)?;
            }
        }
        // Volume directories are made before their rows: one without a row was left by a
        // process killed in between (volumes.rs).
        let volumes_dir = self.root.join("volumes");
        if let Ok(rd) = fs::read_dir(&volumes_dir) {
            let known: HashSet<String> = volumes::list(conn)
                .map_err(|e| self.db.err(e))?
                .into_iter()
                .map(|v| v.name)
                .collect();
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !known.contains(&name) {
                    tracing::debug!(path = %e.path().display(), "sweeping orphan volume directory");
                    let _ = remove_all(&e.path());
                }
            }
        }
        Ok(())
    }

    /// Durably renames within the store (helper for callers writing their own files).
    pub fn durable_rename(&self, from: &Path, to: &Path) -> Result<()> {
        durable_rename(from, to).map_err(io_err("rename", to))
    }
}

/// Removes resumable downloads untouched for a day: a pull that never came back.
fn sweep_stale_partials(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let day = std::time::Duration::from_secs(24 * 3600);
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > day);
        if old {
            let _ = fs::remove_file(e.path());
        }
    }
}
