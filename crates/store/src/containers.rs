//! Container rows: the container's configuration (a JSON document owned by the engine) and
//! its runtime state, read and changed in transactions.

use berth_types::Digest;
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};

/// One container as stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerRow {
    /// 64 lowercase hex digits.
    pub id: String,
    /// The name, without Docker's leading `/`.
    pub name: String,
    /// The image it was created from.
    pub image_id: String,
    /// `created`, `running`, `paused`, `restarting`, `exited`, `dead`, `removing`.
    pub state: String,
    /// Creation time, unix nanoseconds.
    pub created: i64,
    /// The engine's configuration document (JSON).
    pub config: String,
    /// The container's init process on the host (0 when not running).
    pub pid: i32,
    /// Start time of `pid` in clock ticks after boot (`/proc/PID/stat` field 22): with the
    /// boot id, tells a live process from a reused pid.
    pub pid_start: u64,
    /// The monitor process (0 when none).
    pub monitor_pid: i32,
    /// Start time of the monitor in clock ticks after boot.
    pub monitor_start: u64,
    /// `/proc/sys/kernel/random/boot_id` when the pids above were recorded.
    pub boot_id: String,
    /// Last start, unix nanoseconds (0: never).
    pub started_at: i64,
    /// Last exit, unix nanoseconds (0: never).
    pub finished_at: i64,
    /// Last exit code.
    pub exit_code: i32,
    /// Last start error, if any.
    pub error: String,
    /// Restarts done by the restart policy since the last manual start.
    pub restart_count: i64,
    /// Whether the last exit was an OOM kill.
    pub oom_killed: bool,
    /// Stopped by the user (`stop`, `kill`): the restart policy must not restart it.
    pub manual_stop: bool,
    /// Health state document (JSON), empty when there is no healthcheck.
    pub health: String,
}

const COLUMNS: &str = "id, name, image_id, state, created, config, pid, pid_start, monitor_pid, \
    monitor_start, boot_id, started_at, finished_at, exit_code, error, restart_count, oom_killed, \
    manual_stop, health";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ContainerRow> {
    Ok(ContainerRow {
        id: r.get(0)?,
        name: r.get(1)?,
        image_id: r.get(2)?,
        state: r.get(3)?,
        created: r.get(4)?,
        config: r.get(5)?,
        pid: r.get(6)?,
        pid_start: r.get::<_, i64>(7)? as u64,
        monitor_pid: r.get(8)?,
        monitor_start: r.get::<_, i64>(9)? as u64,
        boot_id: r.get(10)?,
        started_at: r.get(11)?,
        finished_at: r.get(12)?,
        exit_code: r.get(13)?,
        error: r.get(14)?,
        restart_count: r.get(15)?,
        oom_killed: r.get(16)?,
        manual_stop: r.get(17)?,
        health: r.get(18)?,
    })
}

/// Every container, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<ContainerRow>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM containers ORDER BY created, rowid"
    ))?
    .query_map([], from_row)?
    .collect()
}

/// One container by full id.
pub fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<ContainerRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM containers WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()
}

/// One container by name.
pub fn by_name(conn: &Connection, name: &str) -> rusqlite::Result<Option<ContainerRow>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM containers WHERE name = ?1"))?
        .query_row([name], from_row)
        .optional()
}

/// Ids starting with `prefix` (lowercase hex).
pub fn ids_by_prefix(conn: &Connection, prefix: &str) -> rusqlite::Result<Vec<String>> {
    let hi = format!("{prefix}g");
    conn.prepare_cached("SELECT id FROM containers WHERE id >= ?1 AND id < ?2")?
        .query_map([prefix, hi.as_str()], |r| r.get(0))?
        .collect()
}

/// The row's values in [`COLUMNS`] order, for `INSERT` and `UPDATE`.
fn values(c: &ContainerRow) -> [Value; 19] {
    [
        c.id.clone().into(),
        c.name.clone().into(),
        c.image_id.clone().into(),
        c.state.clone().into(),
        c.created.into(),
        c.config.clone().into(),
        c.pid.into(),
        (c.pid_start as i64).into(),
        c.monitor_pid.into(),
        (c.monitor_start as i64).into(),
        c.boot_id.clone().into(),
        c.started_at.into(),
        c.finished_at.into(),
        c.exit_code.into(),
        c.error.clone().into(),
        c.restart_count.into(),
        c.oom_killed.into(),
        c.manual_stop.into(),
        c.health.clone().into(),
    ]
}

/// Inserts a new container.
pub fn insert(conn: &Connection, c: &ContainerRow) -> rusqlite::Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO containers({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
        ),
        params_from_iter(values(c)),
    )?;
    Ok(())
}

/// Writes every column of an existing container; returns whether it still existed.
pub fn update(conn: &Connection, c: &ContainerRow) -> rusqlite::Result<bool> {
    let n = conn.execute(
        "UPDATE containers SET name = ?2, image_id = ?3, state = ?4, created = ?5, config = ?6, \
         pid = ?7, pid_start = ?8, monitor_pid = ?9, monitor_start = ?10, boot_id = ?11, \
         started_at = ?12, finished_at = ?13, exit_code = ?14, error = ?15, restart_count = ?16, \
         oom_killed = ?17, manual_stop = ?18, health = ?19 WHERE id = ?1",
        params_from_iter(values(c)),
    )?;
    Ok(n == 1)
}

/// Deletes a container row; returns whether it existed.
pub fn delete(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    Ok(conn.execute("DELETE FROM containers WHERE id = ?1", [id])? == 1)
}

/// Whether an image id is used by any container.
pub fn image_in_use(conn: &Connection, image: &Digest) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS(SELECT 1 FROM containers WHERE image_id = ?1)",
        [image.to_string()],
        |r| r.get(0),
    )
}
