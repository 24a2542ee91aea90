//! The metadata database: one SQLite file in WAL mode, shared by concurrent `berth`
//! processes.
//!
//! Every write runs in a `BEGIN IMMEDIATE` transaction (one writer at a time, others wait up
//! to the busy timeout) with `synchronous=FULL`, and [`Db::write`] commits or rolls back on
//! every path, the lesson of podman's "database is locked" bugs. The schema is versioned
//! with `PRAGMA user_version`; [`MIGRATIONS`] lists every step, applied in order, each in
//! its own transaction.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

/// A database failure, with the database path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("metadata database {path}: {source}")]
pub struct DbError {
    /// The database file.
    pub path: PathBuf,
    /// The SQLite error.
    #[source]
    pub source: rusqlite::Error,
}

/// The schema, one entry per version. Never edit a released step; append a new one.
pub const MIGRATIONS: &[&str] = &[
    // v1: images, layers, tags, repo digests; containers hold image references.
    r#"
    CREATE TABLE layers (
        chain_id    TEXT PRIMARY KEY,
        diff_id     TEXT NOT NULL,
        parent      TEXT,
        size        INTEGER NOT NULL,
        diff_size   INTEGER NOT NULL,
        blob        TEXT NOT NULL,
        media_type  TEXT NOT NULL,
        blob_size   INTEGER NOT NULL,
        created     INTEGER NOT NULL
    );
    CREATE TABLE images (
        id          TEXT PRIMARY KEY,
        created     TEXT,
        size        INTEGER NOT NULL,
        stored      INTEGER NOT NULL,
        parent      TEXT,
        labels      TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE image_layers (
        image_id    TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        idx         INTEGER NOT NULL,
        chain_id    TEXT NOT NULL REFERENCES layers(chain_id),
        PRIMARY KEY (image_id, idx)
    );
    CREATE INDEX image_layers_chain ON image_layers(chain_id);
    CREATE TABLE tags (
        name        TEXT PRIMARY KEY,
        image_id    TEXT NOT NULL REFERENCES images(id),
        created     INTEGER NOT NULL
    );
    CREATE INDEX tags_image ON tags(image_id);
    CREATE TABLE repo_digests (
        name        TEXT PRIMARY KEY,
        image_id    TEXT NOT NULL REFERENCES images(id)
    );
    CREATE INDEX repo_digests_image ON repo_digests(image_id);
    CREATE TABLE containers (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        image_id    TEXT NOT NULL REFERENCES images(id),
        state       TEXT NOT NULL,
        created     INTEGER NOT NULL
    );
    CREATE INDEX containers_image ON containers(image_id);
    "#,
    // v2: the container's full configuration and runtime state.
    r#"
    ALTER TABLE containers ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
    ALTER TABLE containers ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN pid_start INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN monitor_pid INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN monitor_start INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN boot_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE containers ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN finished_at INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN exit_code INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN error TEXT NOT NULL DEFAULT '';
    ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN oom_killed INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN manual_stop INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE containers ADD COLUMN health TEXT NOT NULL DEFAULT '';
    "#,
    // v3 (volumes): volumes and which containers reference them. A reference goes with its
    // container (cascade); a volume with references cannot be deleted (no cascade).
    r#"
    CREATE TABLE volumes (
        name        TEXT PRIMARY KEY,
        driver      TEXT NOT NULL,
        labels      TEXT NOT NULL DEFAULT '{}',
        options     TEXT NOT NULL DEFAULT '{}',
        anonymous   INTEGER NOT NULL DEFAULT 0,
        implicit    INTEGER NOT NULL DEFAULT 0,
        created     INTEGER NOT NULL
    );
    CREATE TABLE volume_refs (
        volume      TEXT NOT NULL REFERENCES volumes(name),
        container   TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        PRIMARY KEY (volume, container)
    );
    CREATE INDEX volume_refs_container ON volume_refs(container);
    "#,
    // v4 (networks): user-defined and built-in networks, containers' attachments (the address
    // while running) and published ports.
    r#"
    CREATE TABLE networks (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        driver      TEXT NOT NULL,
        created     INTEGER NOT NULL,
        doc         TEXT NOT NULL DEFAULT '{}'
    );
    INSERT INTO networks(id, name, driver, created)
        VALUES (lower(hex(randomblob(32))), 'bridge', 'bridge', 0),
               (lower(hex(randomblob(32))), 'host', 'host', 0),
               (lower(hex(randomblob(32))), 'none', 'null', 0);
    CREATE TABLE network_attachments (
        container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        network_id   TEXT NOT NULL REFERENCES networks(id),
        idx          INTEGER NOT NULL,
        config       TEXT NOT NULL DEFAULT '{}',
        ip           TEXT,
        mac          TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (container_id, network_id),
        UNIQUE (network_id, ip)
    );
    CREATE INDEX network_attachments_network ON network_attachments(network_id);
    CREATE TABLE published_ports (
        proto          TEXT NOT NULL,
        host_ip        TEXT NOT NULL,
        host_port      INTEGER NOT NULL,
        container_id   TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
        container_port INTEGER NOT NULL,
        container_ip   TEXT NOT NULL,
        PRIMARY KEY (proto, host_ip, host_port)
    );
    CREATE INDEX published_ports_container ON published_ports(container_id);
    "#,
    // v5 (build): the build cache (step key -> the image the step produced).
    r#"
    CREATE TABLE build_cache (
        key         TEXT PRIMARY KEY,
        image_id    TEXT NOT NULL,
        created     INTEGER NOT NULL
    );
    CREATE INDEX build_cache_image ON build_cache(image_id);
    "#,
];

/// The open database.
pub struct Db {
    conn: Connection,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let wrap = |source| DbError {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(wrap)?;
        conn.busy_timeout(Duration::from_secs(60)).map_err(wrap)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        )
        .map_err(wrap)?;
        // Every berth command is a short-lived process: checkpointing the WAL when each one
        // closes would cost an fsync per command. Commits are durable in the WAL already
        // (synchronous=FULL), and SQLite checkpoints automatically as the WAL grows.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
            true,
        )
        .map_err(wrap)?;
        let mut db = Db {
            conn,
            path: path.to_path_buf(),
        };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&mut self) -> Result<(), DbError> {
        let current: usize = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
            .map_err(|e| self.err(e))? as usize;
        if current >= MIGRATIONS.len() {
            return Ok(());
        }
        self.write(|tx| {
            // Re-read inside the write lock: another process may have migrated meanwhile.
            let current: usize =
                tx.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
            for (i, step) in MIGRATIONS.iter().enumerate().skip(current) {
                tx.execute_batch(step)?;
                tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            }
            Ok(())
        })
    }

    /// The read connection, for queries outside a write transaction.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction: committed if `f` returns `Ok`, rolled back
    /// otherwise (also on panic, by the transaction's drop).
    pub fn write<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, DbError> {
        let path = self.path.clone();
        let wrap = |source| DbError {
            path: path.clone(),
            source,
        };
        // SQLite returns SQLITE_BUSY at once, without its busy handler, in a few WAL cases
        // (a stale read snapshot upgrading to write, recovery of a crashed writer's WAL):
        // retry starting the transaction, which has done nothing yet, with a short back-off.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let mut pause = Duration::from_millis(1);
        let tx = loop {
            match self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
            {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => break other.map_err(wrap)?,
            }
        };
        let out = f(&tx).map_err(wrap)?;
        tx.commit().map_err(wrap)?;
        Ok(out)
    }

    /// Wraps a query error with the database path.
    pub fn err(&self, source: rusqlite::Error) -> DbError {
        DbError {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("berth.db");
        let db = Db::open(&path).unwrap();
        let v: i64 = db
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        drop(db);
        let mut db = Db::open(&path).unwrap();
        db.write(|tx| {
            tx.execute(
                "INSERT INTO tags(name, image_id, created) VALUES ('a', 'b', 0)",
                [],
            )
        })
        .expect_err("foreign key to a missing image must fail");
    }

    #[test]
    fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("berth.db")).unwrap();
        let r: Result<(), DbError> = db.write(|tx| {
            tx.execute(
                "INSERT INTO images(id, size, stored) VALUES ('sha256:x', 1, 0)",
                [],
            )?;
            Err(rusqlite::Error::QueryReturnedNoRows)
        });
        assert!(r.is_err());
        let n: i64 = db
            .conn()
            .query_row("SELECT count(*) FROM images", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0);
    }
}
