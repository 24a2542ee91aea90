//! Network rows: networks (their configuration is a JSON document owned by the engine),
//! containers' attachments to them (with the address while the container runs), and
//! published ports.

use rusqlite::{params, OptionalExtension, Row};

/// The connection type (for callers that do not depend on rusqlite).
pub use rusqlite::Connection;
/// The SQL error type (for callers that do not depend on rusqlite).
pub use rusqlite::Error as SqlError;

/// One network as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkRow {
    /// 64 lowercase hex digits.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// `bridge`, `host`, `null`.
    pub driver: String,
    /// Creation time, unix nanoseconds (0 for the built-in networks).
    pub created: i64,
    /// The engine's configuration document (JSON).
    pub doc: String,
}

fn net_from_row(r: &Row<'_>) -> rusqlite::Result<NetworkRow> {
    Ok(NetworkRow {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        created: r.get(3)?,
        doc: r.get(4)?,
    })
}

const NET_COLUMNS: &str = "id, name, driver, created, doc";

/// Every network, built-in ones first, then by creation.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<NetworkRow>> {
    conn.prepare_cached(&format!(
        "SELECT {NET_COLUMNS} FROM networks ORDER BY created, rowid"
    ))?
    .query_map([], net_from_row)?
    .collect()
}

/// One network by full id.
pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<NetworkRow>> {
    conn.prepare_cached(&format!("SELECT {NET_COLUMNS} FROM networks WHERE id = ?1"))?
        .query_row([id], net_from_row)
        .optional()
}

/// One network by name.
pub fn by_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<NetworkRow>> {
    conn.prepare_cached(&format!(
        "SELECT {NET_COLUMNS} FROM networks WHERE name = ?1"
    ))?
    .query_row([name], net_from_row)
    .optional()
}

/// Inserts a network.
pub fn insert(conn: &Connection, n: &NetworkRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO networks(id, name, driver, created, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![n.id, n.name, n.driver, n.created, n.doc],
    )?;
    Ok(())
}

/// Replaces a network's document.
pub fn set_doc(conn: &Connection, id: &str, doc: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE networks SET doc = ?2 WHERE id = ?1",
        params![id, doc],
    )?;
    Ok(())
}

/// Deletes a network and its (stopped) attachments.
pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.execute(
        "DELETE FROM network_attachments WHERE network_id = ?1",
        [id],
    )?;
    Ok(conn.execute("DELETE FROM networks WHERE id = ?1", [id])? > 0)
}

/// A container's attachment to a network.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AttachmentRow {
    /// The container.
    pub container_id: String,
    /// The network.
    pub network_id: String,
    /// Order of attachment (the interface is `eth<idx>` when started in that order).
    pub idx: i64,
    /// The endpoint configuration (aliases, requested address) as JSON.
    pub config: String,
    /// The address while the container runs.
    pub ip: Option<String>,
    /// The MAC address while the container runs.
    pub mac: String,
}

const ATT_COLUMNS: &str = "container_id, network_id, idx, config, ip, mac";

fn att_from_row(r: &Row<'_>) -> rusqlite::Result<AttachmentRow> {
    Ok(AttachmentRow {
        container_id: r.get(0)?,
        network_id: r.get(1)?,
        idx: r.get(2)?,
        config: r.get(3)?,
        ip: r.get(4)?,
        mac: r.get(5)?,
    })
}

/// A container's attachments, in order.
pub fn attachments_of(conn: &Connection, container: &str) -> rusqlite::Result<Vec<AttachmentRow>> {
    conn.prepare_cached(&format!(
        "SELECT {ATT_COLUMNS} FROM network_attachments WHERE container_id = ?1 ORDER BY idx"
    ))?
    .query_map([container], att_from_row)?
    .collect()
}

/// A network's attachments.
pub fn attachments_to(conn: &Connection, network: &str) -> rusqlite::Result<Vec<AttachmentRow>> {
    conn.prepare_cached(&format!(
        "SELECT {ATT_COLUMNS} FROM network_attachments WHERE network_id = ?1 ORDER BY container_id"
    ))?
    .query_map([network], att_from_row)?
    .collect()
}

/// Inserts or replaces an attachment.
pub fn put_attachment(conn: &Connection, a: &AttachmentRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO network_attachments(container_id, network_id, idx, config, ip, mac) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![a.container_id, a.network_id, a.idx, a.config, a.ip, a.mac],
    )?;
    Ok(())
}

/// Removes an attachment.
pub fn delete_attachment(
    conn: &Connection,
    container: &str,
    network: &str,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "DELETE FROM network_attachments WHERE container_id = ?1 AND network_id = ?2",
        [container, network],
    )? > 0)
}

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortRow {
    /// `tcp` / `udp`.
    pub proto: String,
    /// Host address (`""` for all).
    pub host_ip: String,
    /// Host port.
    pub host_port: u16,
    /// The container.
    pub container_id: String,
    /// The container's port.
    pub container_port: u16,
    /// The container's address it is forwarded to.
    pub container_ip: String,
}

fn port_from_row(r: &Row<'_>) -> rusqlite::Result<PortRow> {
    Ok(PortRow {
        proto: r.get(0)?,
        host_ip: r.get(1)?,
        host_port: r.get(2)?,
        container_id: r.get(3)?,
        container_port: r.get(4)?,
        container_ip: r.get(5)?,
    })
}

const PORT_COLUMNS: &str = "proto, host_ip, host_port, container_id, container_port, container_ip";

/// Every published port.
pub fn ports(conn: &Connection) -> rusqlite::Result<Vec<PortRow>> {
    conn.prepare_cached(&format!("SELECT {PORT_COLUMNS} FROM published_ports"))?
        .query_map([], port_from_row)?
        .collect()
}

/// A container's published ports.
pub fn ports_of(conn: &Connection, container: &str) -> rusqlite::Result<Vec<PortRow>> {
    conn.prepare_cached(&format!(
        "SELECT {PORT_COLUMNS} FROM published_ports WHERE container_id = ?1"
    ))?
    .query_map([container], port_from_row)?
    .collect()
}

/// Records a published port.
pub fn insert_port(conn: &Connection, p: &PortRow) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO published_ports(proto, host_ip, host_port, container_id, container_port, container_ip) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![p.proto, p.host_ip, p.host_port, p.container_id, p.container_port, p.container_ip],
    )?;
    Ok(())
}

/// Forgets a container's published ports.
pub fn delete_ports_of(conn: &Connection, container: &str) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM published_ports WHERE container_id = ?1",
        [container],
    )?;
    Ok(())
}
