//! Rows of the metadata database as Rust values, and the queries that read them.

use std::collections::BTreeMap;

use berth_types::Digest;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// An unpacked layer, shared by every image whose chain contains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRecord {
    /// sha256 over the chain of diff ids: the layer's identity and directory name.
    pub chain_id: Digest,
    /// sha256 of the uncompressed layer tar.
    pub diff_id: Digest,
    /// The chain id of the layer below, if any.
    pub parent: Option<Digest>,
    /// Bytes of file content in the layer (what Docker reports as a layer's size).
    pub size: u64,
    /// Bytes of the uncompressed tar.
    pub diff_size: u64,
    /// The blob this layer was unpacked from, kept for `save` and `push`.
    pub blob: Digest,
    /// The media type of that blob (its compression).
    pub media_type: String,
    /// The blob's size.
    pub blob_size: u64,
}

/// An image: its config blob (whose digest is the image id) plus its layers and names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// sha256 of the config JSON.
    pub id: Digest,
    /// The `created` field of the config (RFC 3339), if any.
    pub created: Option<String>,
    /// Sum of the sizes of its layers.
    pub size: u64,
    /// When this store received it (unix nanoseconds).
    pub stored: i64,
    /// The image this one was built or committed from, if known locally.
    pub parent: Option<Digest>,
    /// The config's labels.
    pub labels: BTreeMap<String, String>,
    /// Chain ids, bottom layer first.
    pub layers: Vec<Digest>,
    /// Full normalised tags (`docker.io/library/busybox:latest`), sorted.
    pub tags: Vec<String>,
    /// Full normalised digest references (`docker.io/library/busybox@sha256:…`), sorted.
    pub digests: Vec<String>,
}

fn digest_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Digest> {
    let s: String = row.get(idx)?;
    s.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn opt_digest_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Digest>> {
    let s: Option<String> = row.get(idx)?;
    s.map(|s| {
        s.parse().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

const LAYER_COLS: &str = "chain_id, diff_id, parent, size, diff_size, blob, media_type, blob_size";

fn layer_from_row(row: &Row<'_>) -> rusqlite::Result<LayerRecord> {
    Ok(LayerRecord {
        chain_id: digest_col(row, 0)?,
        diff_id: digest_col(row, 1)?,
        parent: opt_digest_col(row, 2)?,
        size: row.get::<_, i64>(3)? as u64,
        diff_size: row.get::<_, i64>(4)? as u64,
        blob: digest_col(row, 5)?,
        media_type: row.get(6)?,
        blob_size: row.get::<_, i64>(7)? as u64,
    })
}

/// A layer by chain id.
pub fn layer(conn: &Connection, chain_id: &Digest) -> rusqlite::Result<Option<LayerRecord>> {
    conn.query_row(
        &format!("SELECT {LAYER_COLS} FROM layers WHERE chain_id = ?1"),
        [chain_id.to_string()],
        layer_from_row,
    )
    .optional()
}

/// Inserts a layer row unless one exists.
pub fn insert_layer(conn: &Connection, l: &LayerRecord, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, diff_size, blob, media_type, blob_size, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            l.chain_id.to_string(),
            l.diff_id.to_string(),
            l.parent.as_ref().map(|p| p.to_string()),
            l.size as i64,
            l.diff_size as i64,
            l.blob.to_string(),
            l.media_type,
            l.blob_size as i64,
            now
        ],
    )?;
    Ok(())
}

/// Every image with its layers, tags and digests, newest first.
pub fn images(conn: &Connection) -> rusqlite::Result<Vec<ImageRecord>> {
    let mut by_id: BTreeMap<String, ImageRecord> = BTreeMap::new();
    let mut stmt =
        conn.prepare_cached("SELECT id, created, size, stored, parent, labels FROM images")?;
    let rows = stmt.query_map([], |row| {
        let labels: String = row.get(5)?;
        Ok(ImageRecord {
            id: digest_col(row, 0)?,
            created: row.get(1)?,
            size: row.get::<_, i64>(2)? as u64,
            stored: row.get(3)?,
            parent: opt_digest_col(row, 4)?,
            labels: serde_json::from_str(&labels).unwrap_or_default(),
            layers: Vec::new(),
            tags: Vec::new(),
            digests: Vec::new(),
        })
    })?;
    for r in rows {
        let r = r?;
        by_id.insert(r.id.to_string(), r);
    }
    let mut stmt =
        conn.prepare_cached("SELECT image_id, chain_id FROM image_layers ORDER BY image_id, idx")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let id: String = row.get(0)?;
        if let Some(img) = by_id.get_mut(&id) {
            img.layers.push(digest_col(row, 1)?);
        }
    }
    for (table, is_tag) in [("tags", true), ("repo_digests", false)] {
        let mut stmt =
            conn.prepare_cached(&format!("SELECT image_id, name FROM {table} ORDER BY name"))?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            if let Some(img) = by_id.get_mut(&id) {
                let name: String = row.get(1)?;
                if is_tag {
                    img.tags.push(name);
                } else {
                    img.digests.push(name);
                }
            }
        }
    }
    let mut out: Vec<ImageRecord> = by_id.into_values().collect();
    out.sort_by(|a, b| b.stored.cmp(&a.stored).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// The `images` columns of one row: created, size, stored, parent, labels.
type ImageRow = (Option<String>, i64, i64, Option<String>, String);

/// One image by id.
pub fn image(conn: &Connection, id: &Digest) -> rusqlite::Result<Option<ImageRecord>> {
    let found: Option<ImageRow> = conn
        .query_row(
            "SELECT created, size, stored, parent, labels FROM images WHERE id = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((created, size, stored, parent, labels)) = found else {
        return Ok(None);
    };
    let key = id.to_string();
    let layers = conn
        .prepare_cached("SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY idx")?
        .query_map([&key], |r| digest_col(r, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let names = |table: &str| -> rusqlite::Result<Vec<String>> {
        conn.prepare_cached(&format!(
            "SELECT name FROM {table} WHERE image_id = ?1 ORDER BY name"
        ))?
        .query_map([&key], |r| r.get(0))?
        .collect()
    };
    Ok(Some(ImageRecord {
        id: id.clone(),
        created,
        size: size as u64,
        stored,
        parent: parent.and_then(|p| p.parse().ok()),
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        layers,
        tags: names("tags")?,
        digests: names("repo_digests")?,
    }))
}

/// The image id a full tag (`docker.io/library/busybox:latest`) points to.
pub fn image_by_tag(conn: &Connection, name: &str) -> rusqlite::Result<Option<Digest>> {
    conn.query_row("SELECT image_id FROM tags WHERE name = ?1", [name], |r| {
        digest_col(r, 0)
    })
    .optional()
}

/// The image id a full digest reference (`docker.io/library/busybox@sha256:…`) points to.
pub fn image_by_repo_digest(conn: &Connection, name: &str) -> rusqlite::Result<Option<Digest>> {
    conn.query_row(
        "SELECT image_id FROM repo_digests WHERE name = ?1",
        [name],
        |r| digest_col(r, 0),
    )
    .optional()
}

/// Image ids starting with the hex prefix (after `sha256:`).
pub fn images_by_id_prefix(conn: &Connection, hex_prefix: &str) -> rusqlite::Result<Vec<Digest>> {
    let mut stmt = conn.prepare_cached("SELECT id FROM images WHERE id >= ?1 AND id < ?2")?;
    let lo = format!("sha256:{hex_prefix}");
    let hi = format!("sha256:{hex_prefix}\u{7f}");
    let rows = stmt.query_map([lo, hi], |r| digest_col(r, 0))?;
    rows.collect()
}

/// Ids of containers (any state) created from the image, with their state.
pub fn containers_using(conn: &Connection, id: &Digest) -> rusqlite::Result<Vec<(String, String)>> {
    conn.prepare_cached("SELECT id, state FROM containers WHERE image_id = ?1 ORDER BY created")?
        .query_map([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// How many images have each image as parent (for dangling/intermediate decisions).
pub fn children(conn: &Connection, id: &Digest) -> rusqlite::Result<Vec<Digest>> {
    conn.prepare_cached("SELECT id FROM images WHERE parent = ?1")?
        .query_map([id.to_string()], |r| digest_col(r, 0))?
        .collect()
}
