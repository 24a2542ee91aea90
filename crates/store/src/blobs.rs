//! The content store: immutable blobs named by their sha256 digest.
//!
//! Ingest follows containerd's content store: bytes stream into a private temp file under
//! `ingest/` while being hashed; [`Ingest::commit`] fsyncs the file, checks the digest (and
//! size, when known), renames it to `blobs/sha256/<hex>` and fsyncs that directory. Content
//! is invisible to readers until the rename, so a killed process leaves at worst a stale
//! temp file, which the sweep removes. Committing a blob that already exists keeps the old
//! copy and drops the new one (idempotent, like containerd's `ErrAlreadyExists`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use berth_types::{Digest, Hasher};

use crate::fsutil::{random_token, sync_dir};

/// A content-store failure.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The bytes do not hash to the digest they were promised to have.
    #[error("blob {expected}: content has digest {actual} (corrupt or tampered)")]
    DigestMismatch {
        /// The digest the caller expected.
        expected: Digest,
        /// What the content hashed to.
        actual: Digest,
    },
    /// The bytes are not as long as promised.
    #[error("blob {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The blob concerned.
        digest: Digest,
        /// The size promised.
        expected: u64,
        /// The size read.
        actual: u64,
    },
    /// The blob is not in the store.
    #[error("blob {0} not found in the content store")]
    NotFound(Digest),
    /// An I/O failure on a path of the store.
    #[error("content store {path}: {source}")]
    Io {
        /// The path concerned.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The blob directory tree.
#[derive(Debug, Clone)]
pub struct BlobStore {
    blobs: PathBuf,
    ingest: PathBuf,
}

impl BlobStore {
    /// Uses `root/blobs/sha256` and `root/ingest`, creating them.
    pub fn new(root: &Path) -> io::Result<BlobStore> {
        let blobs = root.join("blobs").join("sha256");
        let ingest = root.join("ingest");
        fs::create_dir_all(&blobs)?;
        fs::create_dir_all(&ingest)?;
        Ok(BlobStore { blobs, ingest })
    }

    /// The path of a blob (whether or not it exists).
    pub fn path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    /// Whether the blob is present.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    /// Opens a blob for reading.
    pub fn open(&self, digest: &Digest) -> Result<File, BlobError> {
        let path = self.path(digest);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(digest.clone()),
            _ => BlobError::Io { path, source: e },
        })
    }

    /// Reads a whole (small) blob into memory, verifying its digest on the way.
    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, BlobError> {
        let path = self.path(digest);
        let data = fs::read(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => BlobError::NotFound(digest.clone()),
            _ => BlobError::Io {
                path: path.clone(),
                source: e,
            },
        })?;
        let actual = Digest::of(&data);
        if &actual != digest {
            return Err(BlobError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(data)
    }

    /// The size of a stored blob.
    pub fn size(&self, digest: &Digest) -> Result<u64, BlobError> {
        let path = self.path(digest);
        fs::metadata(&path)
            .map(|m| m.len())
            .map_err(|_| BlobError::NotFound(digest.clone()))
    }

    /// Starts writing a new blob.
    pub fn ingest(&self) -> Result<Ingest, BlobError> {
        let path = self
            .ingest
            .join(format!("{}.{}", std::process::id(), random_token()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        Ok(Ingest(Pending::new(
            file,
            Hasher::new(),
            0,
            path,
            &self.blobs,
        )))
    }

    /// Stores a small in-memory blob and returns its digest.
    pub fn put(&self, data: &[u8]) -> Result<Digest, BlobError> {
        let digest = Digest::of(data);
        if self.contains(&digest) {
            return Ok(digest);
        }
        let mut w = self.ingest()?;
        w.write_all(data).map_err(io_err(&self.ingest))?;
        w.commit(Some(&digest), None)
    }

    /// Removes a blob; a missing blob is not an error.
    pub fn remove(&self, digest: &Digest) -> Result<(), BlobError> {
        let path = self.path(digest);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(BlobError::Io { path, source: e }),
            _ => Ok(()),
        }
    }

    /// Every digest in the store.
    pub fn list(&self) -> Result<Vec<Digest>, BlobError> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.blobs).map_err(io_err(&self.blobs))? {
            let entry = entry.map_err(io_err(&self.blobs))?;
            if let Some(d) = entry
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The temp files of ingests (live or abandoned).
    pub fn ingest_dir(&self) -> &Path {
        &self.ingest
    }

    /// The directory of resumable downloads (`ingest/partial/<hex>`), which survive a
    /// failed or killed pull so the next one continues where it stopped.
    pub fn partial_dir(&self) -> PathBuf {
        self.ingest.join(PARTIAL_DIR)
    }

    /// Opens (creating) the resumable download of `digest`, locked against other
    /// processes downloading the same blob (the call waits for them). The bytes already
    /// there are hashed, so [`PartialIngest::written`] is where to resume.
    pub fn partial(&self, digest: &Digest) -> Result<PartialIngest, BlobError> {
        use std::io::Read;
        let dir = self.partial_dir();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = dir.join(digest.hex());
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            BlobError::Io {
                path: path.clone(),
                source: e.into(),
            }
        })?;
        let mut hasher = Hasher::new();
        let mut written = 0u64;
        let mut reader = &file;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = reader.read(&mut buf).map_err(io_err(&path))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            written += n as u64;
        }
        Ok(PartialIngest(Pending::new(
            file,
            hasher,
            written,
            path,
            &self.blobs,
        )))
    }
}

impl BlobStore {
    /// Turns a blob back into a (complete) resumable download: a pull that failed after
    /// storing some of its blobs leaves the store as it was, yet keeps the bytes so the
    /// next attempt need not fetch them again. The caller guarantees nothing refers to it.
    pub fn demote_to_partial(&self, digest: &Digest) -> Result<(), BlobError> {
        let dir = self.partial_dir();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let from = self.path(digest);
        let to = dir.join(digest.hex());
        fs::rename(&from, &to).map_err(io_err(&from))?;
        let mut perms = fs::metadata(&to).map_err(io_err(&to))?.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&to, perms).map_err(io_err(&to))?;
        Ok(())
    }
}

/// The subdirectory of `ingest/` that holds resumable downloads.
pub const PARTIAL_DIR: &str = "partial";

/// A resumable download: appends to `ingest/partial/<hex>`. Dropping it without
/// [`PartialIngest::commit`] keeps the bytes for the next attempt.
pub struct PartialIngest(Pending);

impl Write for PartialIngest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl PartialIngest {
    /// Bytes held so far (where a download resumes).
    pub fn written(&self) -> u64 {
        self.0.written
    }

    /// Drops what was downloaded and starts again from byte 0.
    pub fn restart(&mut self) -> Result<(), BlobError> {
        let p = &mut self.0;
        let f = p.file.as_mut().expect("partial restarted after commit");
        f.flush().map_err(io_err(&p.path))?;
        f.get_ref().set_len(0).map_err(io_err(&p.path))?;
        p.hasher = Hasher::new();
        p.written = 0;
        Ok(())
    }

    /// Deletes the download (its bytes are known to be wrong).
    pub fn discard(mut self) {
        self.0.file.take();
        let _ = fs::remove_file(&self.0.path);
    }

    /// Checks the bytes against `expected` (and `expected_size`), then makes the blob
    /// durable and visible. On a mismatch the partial file is deleted (its bytes are
    /// wrong, resuming them would never succeed) and nothing is stored.
    pub fn commit(
        mut self,
        expected: &Digest,
        expected_size: Option<u64>,
    ) -> Result<Digest, BlobError> {
        match self.0.check(Some(expected), expected_size) {
            Ok(actual) => self.0.publish(actual),
            Err(e) => {
                self.0.file.take();
                let _ = fs::remove_file(&self.0.path);
                Err(e)
            }
        }
    }
}

impl Drop for PartialIngest {
    fn drop(&mut self) {
        if let Some(f) = self.0.file.as_mut() {
            let _ = f.flush();
        }
    }
}

/// A blob being written. Dropping it without [`Ingest::commit`] deletes the temp file.
pub struct Ingest(Pending);

impl Write for Ingest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Ingest {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.0.written
    }

    /// The digest of the bytes written so far.
    pub fn digest(&self) -> Digest {
        self.0.hasher.clone().finish()
    }

    /// Makes the blob durable and visible under its digest, after checking it against
    /// `expected` digest and size when given. Returns the digest.
    pub fn commit(
        mut self,
        expected: Option<&Digest>,
        expected_size: Option<u64>,
    ) -> Result<Digest, BlobError> {
        let actual = self.0.check(expected, expected_size)?;
        self.0.publish(actual)
    }
}

/// Bytes on their way to becoming a blob: a file under `ingest/`, hashed as written.
struct Pending {
    file: Option<io::BufWriter<File>>,
    hasher: Hasher,
    written: u64,
    path: PathBuf,
    blobs: PathBuf,
}

impl Pending {
    fn new(file: File, hasher: Hasher, written: u64, path: PathBuf, blobs: &Path) -> Pending {
        Pending {
            file: Some(io::BufWriter::with_capacity(256 * 1024, file)),
            hasher,
            written,
            path,
            blobs: blobs.to_path_buf(),
        }
    }

    /// The digest of what was written, checked against what was expected.
    fn check(&self, expected: Option<&Digest>, size: Option<u64>) -> Result<Digest, BlobError> {
        let actual = self.hasher.clone().finish();
        if let Some(exp) = expected {
            if exp != &actual {
                return Err(BlobError::DigestMismatch {
                    expected: exp.clone(),
                    actual,
                });
            }
        }
        if let Some(size) = size {
            if size != self.written {
                return Err(BlobError::SizeMismatch {
                    digest: actual,
                    expected: size,
                    actual: self.written,
                });
            }
        }
        Ok(actual)
    }

    /// Makes the file the blob `actual`: flushed, synced, read-only, renamed into place and
    /// the directory synced. A blob already stored (by a concurrent process) is kept.
    fn publish(&mut self, actual: Digest) -> Result<Digest, BlobError> {
        let file = self
            .file
            .take()
            .expect("blob committed twice")
            .into_inner()
            .map_err(|e| BlobError::Io {
                path: self.path.clone(),
                source: e.into_error(),
            })?;
        let target = self.blobs.join(actual.hex());
        if target.exists() {
            let _ = fs::remove_file(&self.path);
            return Ok(actual);
        }
        file.sync_all().map_err(io_err(&self.path))?;
        let mut perms = file.metadata().map_err(io_err(&self.path))?.permissions();
        perms.set_readonly(true);
        fs::set_permissions(&self.path, perms).map_err(io_err(&self.path))?;
        drop(file);
        fs::rename(&self.path, &target).map_err(io_err(&target))?;
        sync_dir(&self.blobs).map_err(io_err(&self.blobs))?;
        Ok(actual)
    }
}

impl Write for Pending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self
            .file
            .as_mut()
            .expect("blob written after commit")
            .write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl Drop for Ingest {
    fn drop(&mut self) {
        if self.0.file.is_some() {
            let _ = fs::remove_file(&self.0.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_read_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let d = store.put(b"hello").unwrap();
        assert_eq!(d, Digest::of(b"hello"));
        assert_eq!(store.read(&d).unwrap(), b"hello");
        assert_eq!(store.put(b"hello").unwrap(), d);
        assert_eq!(fs::read_dir(store.ingest_dir()).unwrap().count(), 0);
    }

    #[test]
    fn wrong_digest_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let mut w = store.ingest().unwrap();
        w.write_all(b"abc").unwrap();
        let err = w.commit(Some(&Digest::of(b"xyz")), None).unwrap_err();
        assert!(matches!(err, BlobError::DigestMismatch { .. }));
        assert!(store.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(store.ingest_dir()).unwrap().count(), 0);
    }

    #[test]
    fn wrong_size_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let mut w = store.ingest().unwrap();
        w.write_all(b"abc").unwrap();
        assert!(w.commit(None, Some(4)).is_err());
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn partial_resumes_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let d = Digest::of(b"hello world");
        {
            let mut p = store.partial(&d).unwrap();
            assert_eq!(p.written(), 0);
            p.write_all(b"hello ").unwrap();
        }
        let mut p = store.partial(&d).unwrap();
        assert_eq!(p.written(), 6);
        p.write_all(b"world").unwrap();
        assert_eq!(p.commit(&d, Some(11)).unwrap(), d);
        assert_eq!(store.read(&d).unwrap(), b"hello world");
        assert!(!store.partial_dir().join(d.hex()).exists());

        let mut bad = store.partial(&Digest::of(b"x")).unwrap();
        bad.write_all(b"y").unwrap();
        assert!(bad.commit(&Digest::of(b"x"), None).is_err());
        assert_eq!(fs::read_dir(store.partial_dir()).unwrap().count(), 0);
    }

    #[test]
    fn tampered_blob_is_detected_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path()).unwrap();
        let d = store.put(b"hello").unwrap();
        let p = store.path(&d);
        let mut perms = fs::metadata(&p).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&p, perms).unwrap();
        fs::write(&p, b"jello").unwrap();
        assert!(matches!(
            store.read(&d),
            Err(BlobError::DigestMismatch { .. })
        ));
    }
}
