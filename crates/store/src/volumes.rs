//! Volume rows and the references containers hold on them.
//!
//! A volume exists when its row exists (its directory `volumes/NAME/_data` is made before the
//! row and removed after it). `volume_refs` says which containers use a volume: a reference
//! is inserted in the same transaction as its container row, goes away with it (`ON DELETE
//! CASCADE`), and keeps the volume row from being deleted (a plain foreign key), so "in use"
//! is decided inside the transaction that removes the volume, never from a stale read.

use std::collections::BTreeMap;

use rusqlite::{params, OptionalExtension, Row};

pub use rusqlite::{Connection, Result};

/// One volume as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VolumeRow {
    /// The name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`, or 64 hex for an anonymous volume).
    pub name: String,
    /// Always `local` today.
    pub driver: String,
    /// `--label`s.
    pub labels: BTreeMap<String, String>,
    /// Driver options (`-o`).
    pub options: BTreeMap<String, String>,
    /// Created for one container without a name (`-v /path`, image `VOLUME`).
    pub anonymous: bool,
    /// Created for a container (`-v`, `--mount`, `VOLUME`), not by `volume create`: Docker
    /// shows its empty labels and options as `null`.
    pub implicit: bool,
    /// Creation time, unix nanoseconds.
    pub created: i64,
}

const COLUMNS: &str = "name, driver, labels, options, anonymous, implicit, created";

fn from_row(r: &Row<'_>) -> Result<VolumeRow> {
    let map = |s: String| serde_json::from_str(&s).unwrap_or_default();
    Ok(VolumeRow {
        name: r.get(0)?,
        driver: r.get(1)?,
        labels: map(r.get(2)?),
        options: map(r.get(3)?),
        anonymous: r.get(4)?,
        implicit: r.get(5)?,
        created: r.get(6)?,
    })
}

fn json(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_else(|_| "{}".into())
}

/// Every volume, by name.
pub fn list(conn: &Connection) -> Result<Vec<VolumeRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM volumes ORDER BY name"))?
        .query_map([], from_row)?
        .collect()
}

/// One volume by name.
pub fn get(conn: &Connection, name: &str) -> Result<Option<VolumeRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM volumes WHERE name = ?1"))?
        .query_row([name], from_row)
        .optional()
}

/// Inserts a volume unless one of that name exists; returns whether it was inserted.
pub fn insert(conn: &Connection, v: &VolumeRow) -> Result<bool> {
    let n = conn.execute(
        &format!("INSERT OR IGNORE INTO volumes({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        params![
            v.name,
            v.driver,
            json(&v.labels),
            json(&v.options),
            v.anonymous,
            v.implicit,
            v.created
        ],
    )?;
    Ok(n == 1)
}

/// Deletes a volume row; fails (foreign key) while a container references it.
pub fn delete(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.execute("DELETE FROM volumes WHERE name = ?1", [name])? == 1)
}

/// Records that `container` uses `volume`.
pub fn add_ref(conn: &Connection, volume: &str, container: &str) -> Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO volume_refs(volume, container) VALUES (?1, ?2)",
        [volume, container],
    )?;
    Ok(())
}

/// The containers using `volume`, sorted.
pub fn users(conn: &Connection, volume: &str) -> Result<Vec<String>> {
    conn.prepare_cached("SELECT container FROM volume_refs WHERE volume = ?1 ORDER BY container")?
        .query_map([volume], |r| r.get(0))?
        .collect()
}

/// Every volume with the number of containers using it.
pub fn ref_counts(conn: &Connection) -> Result<BTreeMap<String, i64>> {
    conn.prepare_cached(
        "SELECT v.name, (SELECT count(*) FROM volume_refs r WHERE r.volume = v.name) FROM volumes v",
    )?
    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
    .collect()
}

/// The volumes `container` uses.
pub fn of_container(conn: &Connection, container: &str) -> Result<Vec<String>> {
    conn.prepare_cached("SELECT volume FROM volume_refs WHERE container = ?1 ORDER BY volume")?
        .query_map([container], |r| r.get(0))?
        .collect()
}

/// Drops the anonymous volumes of `container` that no other container uses (its own
/// references included); returns their names so the caller removes their directories after
/// the transaction commits. Named volumes are never touched.
pub fn drop_anonymous_of(conn: &Connection, container: &str) -> Result<Vec<String>> {
    let names: Vec<String> = conn
        .prepare_cached(
            "SELECT v.name FROM volumes v JOIN volume_refs r ON r.volume = v.name \
             WHERE r.container = ?1 AND v.anonymous = 1 AND NOT EXISTS \
             (SELECT 1 FROM volume_refs o WHERE o.volume = v.name AND o.container != ?1)",
        )?
        .query_map([container], |r| r.get(0))?
        .collect::<Result<_>>()?;
    for n in &names {
        conn.execute("DELETE FROM volume_refs WHERE volume = ?1", [n])?;
        conn.execute("DELETE FROM volumes WHERE name = ?1", [n])?;
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::containers::{self as crows, ContainerRow};
    use crate::Db;

    fn vol(name: &str, anonymous: bool) -> VolumeRow {
        VolumeRow {
            name: name.into(),
            driver: "local".into(),
            labels: [("a".to_string(), "b".to_string())].into(),
            anonymous,
            created: 1,
            ..Default::default()
        }
    }

    #[test]
    fn refs_block_delete_and_go_with_their_container() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("berth.db")).unwrap();
        db.write(|tx| {
            tx.execute(
                "INSERT INTO images(id, size, stored) VALUES ('sha256:i', 1, 0)",
                [],
            )?;
            assert!(insert(tx, &vol("data", false))?);
            assert!(
                !insert(tx, &vol("data", false))?,
                "second insert is ignored"
            );
            insert(tx, &vol("anon", true))?;
            crows::insert(
                tx,
                &ContainerRow {
                    id: "c1".into(),
                    name: "one".into(),
                    image_id: "sha256:i".into(),
                    state: "created".into(),
                    config: "{}".into(),
                    ..Default::default()
                },
            )?;
            add_ref(tx, "data", "c1")?;
            add_ref(tx, "anon", "c1")
        })
        .unwrap();
        assert_eq!(users(db.conn(), "data").unwrap(), ["c1"]);
        assert_eq!(get(db.conn(), "data").unwrap().unwrap().labels["a"], "b");
        db.write(|tx| delete(tx, "data"))
            .expect_err("a referenced volume cannot be deleted");
        let dropped = db.write(|tx| drop_anonymous_of(tx, "c1")).unwrap();
        assert_eq!(dropped, ["anon"]);
        db.write(|tx| crows::delete(tx, "c1")).unwrap();
        assert!(users(db.conn(), "data").unwrap().is_empty());
        assert_eq!(ref_counts(db.conn()).unwrap()["data"], 0);
        assert!(db.write(|tx| delete(tx, "data")).unwrap());
        assert!(list(db.conn()).unwrap().is_empty());
    }
}
