//! The test image factory: layer tars, image configs and the archive formats `berth load`
//! reads, made in pure Rust from the host's busybox-static with no berth code involved, so a
//! bug in berth cannot hide in its own fixtures. Everything is deterministic (fixed mtimes,
//! sorted entries, fixed timestamps), so image ids are stable across runs.
//!
//! - [`Rootfs`]: a layer's entries → an uncompressed layer tar ([`Rootfs::to_tar`]);
//!   [`Rootfs::busybox`] is the base filesystem, the same tree `scripts/make-busybox-rootfs.sh`
//!   makes.
//! - [`TestImage`]: layers + config; [`TestImage::config_bytes`] are the exact bytes written,
//!   so [`TestImage::image_id`] is `sha256(config bytes)` as Docker computes it.
//! - Writers: [`to_docker_archive`] (`docker save` up to Docker 24), [`to_docker_archive_v25`]
//!   (Docker ≥ 25: an OCI layout plus `manifest.json`), [`to_oci_layout_dir`] and
//!   [`to_oci_archive`] (as containerd/`ctr export` write them). Each has a `*_files` twin
//!   returning [`Files`] to tamper with before tarring.
//! - [`hostile`]: malformed archives for negative tests.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{sha256_digest, sha256_hex};

/// The mtime of every generated tar entry (2023-11-14T22:13:20Z).
pub const MTIME: u64 = 1_700_000_000;
/// The default `created` time of generated images and their history.
pub const CREATED: &str = "2024-01-02T03:04:05Z";
/// Docker's default `PATH`, set in every generated config.
pub const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// OCI media types used by the writers.
pub mod media {
    /// OCI image index.
    pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image manifest.
    pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image config.
    pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Uncompressed OCI layer.
    pub const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// gzip OCI layer.
    pub const LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// zstd OCI layer.
    pub const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
}

// ---------------------------------------------------------------------------------------------
// Layers

/// What a layer entry is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file with this content.
    File(Vec<u8>),
    /// A symlink to this target.
    Symlink(String),
    /// A hard link to this (earlier) entry path.
    Hardlink(String),
    /// A FIFO.
    Fifo,
    /// An AUFS/overlay whiteout: the entry's name is `.wh.<deleted name>` (an empty file).
    Whiteout,
    /// An opaque-directory marker: the entry's name is `<dir>/.wh..wh..opq`.
    Opaque,
}

/// One layer entry. `path` is the tar member name (relative, no trailing slash; whiteouts
/// already carry their `.wh.` prefix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The tar member name.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
}

fn clean(path: &str) -> String {
    path.trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

fn split_parent(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    }
}

impl Entry {
    fn new(path: &str, kind: Kind, mode: u32) -> Entry {
        Entry {
            path: clean(path),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: MTIME,
        }
    }

    /// A directory, mode 0755.
    pub fn dir(path: &str) -> Entry {
        Entry::new(path, Kind::Dir, 0o755)
    }

    /// A regular file, mode 0644.
    pub fn file(path: &str, data: impl Into<Vec<u8>>) -> Entry {
        Entry::new(path, Kind::File(data.into()), 0o644)
    }

    /// A symlink (mode 0777).
    pub fn symlink(path: &str, target: &str) -> Entry {
        Entry::new(path, Kind::Symlink(target.to_string()), 0o777)
    }

    /// A hard link to `target` (another entry's path).
    pub fn hardlink(path: &str, target: &str) -> Entry {
        Entry::new(path, Kind::Hardlink(clean(target)), 0o644)
    }

    /// A FIFO, mode 0644.
    pub fn fifo(path: &str) -> Entry {
        Entry::new(path, Kind::Fifo, 0o644)
    }

    /// A whiteout deleting `path` from lower layers (member `dir/.wh.name`).
    pub fn whiteout(path: &str) -> Entry {
        let p = clean(path);
        let (dir, name) = split_parent(&p);
        let member = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        // moby's archive writes whiteouts as empty regular files with mode 0.
        Entry::new(&member, Kind::Whiteout, 0)
    }

    /// Marks directory `dir` opaque (member `dir/.wh..wh..opq`): lower layers' contents of it
    /// are hidden.
    pub fn opaque(dir: &str) -> Entry {
        let d = clean(dir);
        let member = if d.is_empty() {
            ".wh..wh..opq".to_string()
        } else {
            format!("{d}/.wh..wh..opq")
        };
        Entry::new(&member, Kind::Opaque, 0)
    }

    /// Sets the permission bits.
    pub fn mode(mut self, mode: u32) -> Entry {
        self.mode = mode;
        self
    }

    /// Sets the owner.
    pub fn owner(mut self, uid: u64, gid: u64) -> Entry {
        self.uid = uid;
        self.gid = gid;
        self
    }

    /// Sets the mtime.
    pub fn mtime(mut self, mtime: u64) -> Entry {
        self.mtime = mtime;
        self
    }

    fn header(&self) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        let (t, size) = match &self.kind {
            Kind::Dir => (tar::EntryType::Directory, 0),
            Kind::File(d) => (tar::EntryType::Regular, d.len() as u64),
            Kind::Symlink(_) => (tar::EntryType::Symlink, 0),
            Kind::Hardlink(_) => (tar::EntryType::Link, 0),
            Kind::Fifo => (tar::EntryType::Fifo, 0),
            Kind::Whiteout | Kind::Opaque => (tar::EntryType::Regular, 0),
        };
        h.set_entry_type(t);
        h.set_size(size);
        h.set_mode(self.mode);
        h.set_uid(self.uid);
        h.set_gid(self.gid);
        h.set_mtime(self.mtime);
        h
    }
}

/// A layer's content, kept sorted by member name; [`Rootfs::to_tar`] makes the layer tar.
/// Missing parent directories are added (0755, root) unless [`Rootfs::without_parents`].
#[derive(Clone, Debug, Default)]
pub struct Rootfs {
    entries: BTreeMap<String, Entry>,
    no_parents: bool,
}

impl Rootfs {
    /// An empty layer.
    pub fn new() -> Rootfs {
        Rootfs::default()
    }

    /// Adds (or replaces) an entry.
    pub fn add(mut self, e: Entry) -> Rootfs {
        self.entries.insert(e.path.clone(), e);
        self
    }

    /// Adds a directory (0755).
    pub fn dir(self, path: &str) -> Rootfs {
        self.add(Entry::dir(path))
    }

    /// Adds a regular file (0644).
    pub fn file(self, path: &str, data: impl Into<Vec<u8>>) -> Rootfs {
        self.add(Entry::file(path, data))
    }

    /// Adds an executable file (0755).
    pub fn exec(self, path: &str, data: impl Into<Vec<u8>>) -> Rootfs {
        self.add(Entry::file(path, data).mode(0o755))
    }

    /// Adds a symlink.
    pub fn symlink(self, path: &str, target: &str) -> Rootfs {
        self.add(Entry::symlink(path, target))
    }

    /// Adds a hard link to another entry.
    pub fn hardlink(self, path: &str, target: &str) -> Rootfs {
        self.add(Entry::hardlink(path, target))
    }

    /// Adds a whiteout for `path`.
    pub fn whiteout(self, path: &str) -> Rootfs {
        self.add(Entry::whiteout(path))
    }

    /// Marks `dir` opaque.
    pub fn opaque(self, dir: &str) -> Rootfs {
        self.add(Entry::opaque(dir))
    }

    /// Removes the entry named `path` (a tar member name).
    pub fn remove(mut self, path: &str) -> Rootfs {
        self.entries.remove(&clean(path));
        self
    }

    /// Do not add missing parent directories (for layers that must lack them).
    pub fn without_parents(mut self) -> Rootfs {
        self.no_parents = true;
        self
    }

    /// The entry named `path`, if any.
    pub fn get(&self, path: &str) -> Option<&Entry> {
        self.entries.get(&clean(path))
    }

    /// The explicit entries, sorted by name (implicit parents not included).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Every entry written by [`Rootfs::to_tar`], in tar order: implicit parents included,
    /// sorted by name, hard links last so their targets precede them.
    pub fn tar_entries(&self) -> Vec<Entry> {
        let mut all = self.entries.clone();
        if !self.no_parents {
            for p in self.entries.keys() {
                let mut dir = p.as_str();
                while let Some((parent, _)) = dir.rsplit_once('/') {
                    all.entry(parent.to_string())
                        .or_insert_with(|| Entry::dir(parent));
                    dir = parent;
                }
            }
        }
        let (links, mut rest): (Vec<Entry>, Vec<Entry>) = all
            .into_values()
            .partition(|e| matches!(e.kind, Kind::Hardlink(_)));
        rest.extend(links);
        rest
    }

    /// The uncompressed layer tar (GNU format, deterministic).
    pub fn to_tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in self.tar_entries() {
            let mut h = e.header();
            let name = if e.kind == Kind::Dir {
                format!("{}/", e.path)
            } else {
                e.path.clone()
            };
            let res = match &e.kind {
                Kind::Symlink(t) | Kind::Hardlink(t) => b.append_link(&mut h, &name, t),
                Kind::File(d) => b.append_data(&mut h, &name, &d[..]),
                _ => b.append_data(&mut h, &name, &[][..]),
            };
            if let Err(err) = res {
                // The tar crate refuses `..` in member names; hostile layers still need them.
                append_raw(&mut b, &mut h, &name, &e.kind)
                    .unwrap_or_else(|_| panic!("cannot write tar entry {name:?}: {err}"));
            }
        }
        b.into_inner().expect("finish layer tar")
    }

    /// Parses a layer tar (plain, gzip or zstd) back into entries (whiteouts and opaque
    /// markers recognised, parents not added).
    pub fn from_tar(data: &[u8]) -> Rootfs {
        let data = decompress(data);
        let mut a = tar::Archive::new(&data[..]);
        let mut r = Rootfs::new().without_parents();
        for e in a.entries().expect("read layer tar") {
            let mut e = e.expect("read layer tar entry");
            let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let h = e.header().clone();
            let link = e
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default();
            let name = split_parent(path.trim_end_matches('/')).1.to_string();
            let kind = match h.entry_type() {
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Symlink => Kind::Symlink(link),
                tar::EntryType::Link => Kind::Hardlink(link),
                tar::EntryType::Fifo => Kind::Fifo,
                _ if name == ".wh..wh..opq" => Kind::Opaque,
                _ if name.starts_with(".wh.") => Kind::Whiteout,
                _ => {
                    let mut d = Vec::new();
                    e.read_to_end(&mut d).expect("read layer tar entry data");
                    Kind::File(d)
                }
            };
            let entry = Entry {
                path: clean(&path),
                kind,
                mode: h.mode().unwrap_or(0),
                uid: h.uid().unwrap_or(0),
                gid: h.gid().unwrap_or(0),
                mtime: h.mtime().unwrap_or(0),
            };
            r = r.add(entry);
        }
        r
    }

    /// A busybox root filesystem from the host's `/bin/busybox` (Debian's busybox-static):
    /// the same tree as `scripts/make-busybox-rootfs.sh` makes (see there).
    pub fn busybox() -> Rootfs {
        static BUSYBOX: OnceLock<Rootfs> = OnceLock::new();
        BUSYBOX.get_or_init(make_busybox).clone()
    }
}

fn append_raw(
    b: &mut tar::Builder<Vec<u8>>,
    h: &mut tar::Header,
    name: &str,
    kind: &Kind,
) -> std::io::Result<()> {
    let raw = &mut h.as_old_mut().name;
    if name.len() > raw.len() {
        return Err(std::io::Error::other("name too long for a raw header"));
    }
    raw.fill(0);
    raw[..name.len()].copy_from_slice(name.as_bytes());
    match kind {
        Kind::Symlink(t) | Kind::Hardlink(t) => {
            let l = &mut h.as_old_mut().linkname;
            if t.len() > l.len() {
                return Err(std::io::Error::other("link name too long for a raw header"));
            }
            l.fill(0);
            l[..t.len()].copy_from_slice(t.as_bytes());
        }
        _ => {}
    }
    h.set_cksum();
    match kind {
        Kind::File(d) => b.append(h, &d[..]),
        _ => b.append(h, &[][..]),
    }
}

/// Undoes gzip or zstd compression, recognised by magic number; other data is returned as is.
pub fn decompress(data: &[u8]) -> Vec<u8> {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    } else if data.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        zstd::decode_all(data).expect("zstd decode")
    } else {
        data.to_vec()
    }
}

/// The directories of the busybox rootfs and their modes (kept equal to
/// `scripts/make-busybox-rootfs.sh`).
pub const BUSYBOX_DIRS: &[(&str, u32)] = &[
    ("bin", 0o755),
    ("dev", 0o755),
    ("etc", 0o755),
    ("home", 0o755),
    ("proc", 0o755),
    ("root", 0o700),
    ("sbin", 0o755),
    ("sys", 0o755),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("usr/bin", 0o755),
    ("usr/sbin", 0o755),
    ("var", 0o755),
    ("var/tmp", 0o1777),
];

/// `/etc/passwd` of the busybox rootfs.
pub const BUSYBOX_PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
nobody:x:65534:65534:nobody:/home:/bin/false\n";
/// `/etc/group` of the busybox rootfs.
pub const BUSYBOX_GROUP: &str = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n";
/// `/etc/nsswitch.conf` of the busybox rootfs.
pub const BUSYBOX_NSSWITCH: &str = "hosts: files dns\n";

/// The symlink target that reaches `bin/busybox` from an applet at `path` (relative, so the
/// tree also works where it sits on the host).
pub fn busybox_link_target(path: &str) -> String {
    let (dir, _) = split_parent(path);
    if dir == "bin" {
        return "busybox".to_string();
    }
    let depth = if dir.is_empty() {
        0
    } else {
        dir.split('/').count()
    };
    format!("{}bin/busybox", "../".repeat(depth))
}

fn make_busybox() -> Rootfs {
    let bb = std::fs::read("/bin/busybox").unwrap_or_else(|e| {
        panic!("cannot read /bin/busybox ({e}): install Debian's busybox-static (scripts/deps.sh)")
    });
    let out = std::process::Command::new("/bin/busybox")
        .arg("--list-full")
        .output()
        .expect("run /bin/busybox --list-full");
    assert!(
        out.status.success(),
        "/bin/busybox --list-full failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = Rootfs::new();
    for (d, mode) in BUSYBOX_DIRS {
        r = r.add(Entry::dir(d).mode(*mode));
    }
    r = r
        .exec("bin/busybox", bb)
        .file("etc/passwd", BUSYBOX_PASSWD)
        .file("etc/group", BUSYBOX_GROUP)
        .file("etc/nsswitch.conf", BUSYBOX_NSSWITCH);
    for applet in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let applet = clean(applet);
        if applet.is_empty() || applet == "bin/busybox" {
            continue;
        }
        r = r.symlink(&applet, &busybox_link_target(&applet));
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Images

/// Docker's name for this machine's architecture (GOARCH).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// An image under construction: uncompressed layers, a config (kept as JSON so tests can
/// set anything) and repo tags. The config's `rootfs.diff_ids` and `history` follow the
/// layers as they are added.
#[derive(Clone, Debug)]
pub struct TestImage {
    layers: Vec<Vec<u8>>,
    tags: Vec<String>,
    config: Value,
}

impl Default for TestImage {
    fn default() -> Self {
        TestImage::new()
    }
}

impl TestImage {
    /// An image with no layers and no tags: `{"architecture": <host>, "config": {"Env":
    /// [PATH]}, "created": CREATED, "history": [], "os": "linux", "rootfs": {...}}`.
    pub fn new() -> TestImage {
        TestImage {
            layers: Vec::new(),
            tags: Vec::new(),
            config: json!({
                "architecture": host_arch(),
                "config": {"Env": [PATH_ENV]},
                "created": CREATED,
                "history": [],
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
            }),
        }
    }

    /// Adds a repo tag (`name[:tag]`; `:latest` is added when missing).
    pub fn tag(mut self, reference: &str) -> TestImage {
        let (repo, tag) = split_tag(reference);
        self.tags.push(format!("{repo}:{tag}"));
        self
    }

    /// Adds a layer built from `rootfs`.
    pub fn layer(self, rootfs: Rootfs) -> TestImage {
        self.layer_tar(rootfs.to_tar())
    }

    /// Adds a layer from raw (uncompressed) tar bytes, with a history entry.
    pub fn layer_tar(mut self, tar: Vec<u8>) -> TestImage {
        let digest = sha256_digest(&tar);
        let created = self.config["created"].clone();
        self.config["rootfs"]["diff_ids"]
            .as_array_mut()
            .expect("diff_ids array")
            .push(json!(digest));
        self.history_push(json!({
            "created": created,
            "created_by": format!("/bin/sh -c #(nop) ADD file:{} in / ", &digest[7..]),
        }));
        self.layers.push(tar);
        self
    }

    /// Adds a history entry with `empty_layer: true` (as `ENV`, `CMD`... write).
    pub fn empty_layer_history(mut self, created_by: &str) -> TestImage {
        let created = self.config["created"].clone();
        self.history_push(
            json!({"created": created, "created_by": created_by, "empty_layer": true}),
        );
        self
    }

    fn history_push(&mut self, h: Value) {
        if !self.config["history"].is_array() {
            self.config["history"] = json!([]);
        }
        self.config["history"]
            .as_array_mut()
            .expect("history array")
            .push(h);
    }

    fn set(mut self, key: &str, v: Value) -> TestImage {
        self.config["config"][key] = v;
        self
    }

    /// Sets `Cmd`.
    pub fn cmd(self, argv: &[&str]) -> TestImage {
        self.set("Cmd", json!(argv))
    }

    /// Sets `Entrypoint`.
    pub fn entrypoint(self, argv: &[&str]) -> TestImage {
        self.set("Entrypoint", json!(argv))
    }

    /// Appends `KEY=VALUE` to `Env`.
    pub fn env(mut self, kv: &str) -> TestImage {
        let env = &mut self.config["config"]["Env"];
        if !env.is_array() {
            *env = json!([]);
        }
        env.as_array_mut().expect("Env array").push(json!(kv));
        self
    }

    /// Sets `WorkingDir`.
    pub fn workdir(self, dir: &str) -> TestImage {
        self.set("WorkingDir", json!(dir))
    }

    /// Sets `User`.
    pub fn user(self, user: &str) -> TestImage {
        self.set("User", json!(user))
    }

    /// Adds a label.
    pub fn label(mut self, key: &str, value: &str) -> TestImage {
        self.config["config"]["Labels"][key] = json!(value);
        self
    }

    /// Adds an exposed port (`80/tcp`).
    pub fn expose(mut self, port: &str) -> TestImage {
        self.config["config"]["ExposedPorts"][port] = json!({});
        self
    }

    /// Adds a volume (`/data`).
    pub fn volume(mut self, path: &str) -> TestImage {
        self.config["config"]["Volumes"][path] = json!({});
        self
    }

    /// Sets `StopSignal`.
    pub fn stop_signal(self, sig: &str) -> TestImage {
        self.set("StopSignal", json!(sig))
    }

    /// Sets the image's `created` time (later history entries use it too).
    pub fn created(mut self, rfc3339: &str) -> TestImage {
        self.config["created"] = json!(rfc3339);
        self
    }

    /// Sets `architecture` (and `variant` when given).
    pub fn platform(mut self, os: &str, arch: &str, variant: Option<&str>) -> TestImage {
        self.config["os"] = json!(os);
        self.config["architecture"] = json!(arch);
        match variant {
            Some(v) => self.config["variant"] = json!(v),
            None => {
                if let Some(o) = self.config.as_object_mut() {
                    o.remove("variant");
                }
            }
        }
        self
    }

    /// Edits the config JSON directly (anything the builder lacks, or deliberate damage).
    pub fn edit_config(mut self, f: impl FnOnce(&mut Value)) -> TestImage {
        f(&mut self.config);
        self
    }

    /// The config JSON.
    pub fn config(&self) -> &Value {
        &self.config
    }

    /// The config bytes exactly as every writer writes them.
    pub fn config_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.config).expect("serialise config")
    }

    /// `sha256:<hex>` of the config bytes: the image id.
    pub fn image_id(&self) -> String {
        sha256_digest(&self.config_bytes())
    }

    /// The image id's hex.
    pub fn id_hex(&self) -> String {
        sha256_hex(&self.config_bytes())
    }

    /// The 12-hex-digit id `docker images` shows.
    pub fn short_id(&self) -> String {
        self.id_hex()[..12].to_string()
    }

    /// `sha256:<hex>` of each uncompressed layer, bottom first.
    pub fn diff_ids(&self) -> Vec<String> {
        self.layers.iter().map(|l| sha256_digest(l)).collect()
    }

    /// The uncompressed layer tars, bottom first.
    pub fn layers(&self) -> &[Vec<u8>] {
        &self.layers
    }

    /// The repo tags (`name:tag`).
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
}

/// Splits `name[:tag]` into name and tag (`latest` when missing).
pub fn split_tag(reference: &str) -> (&str, &str) {
    let last = reference.rsplit('/').next().unwrap_or(reference);
    match last.rfind(':') {
        Some(i) => {
            let cut = reference.len() - last.len() + i;
            (&reference[..cut], &reference[cut + 1..])
        }
        None => (reference, "latest"),
    }
}

/// The fully qualified name Docker and containerd store: `busybox` →
/// `docker.io/library/busybox:latest`, `me/app:1` → `docker.io/me/app:1`.
pub fn full_name(reference: &str) -> String {
    let (repo, tag) = split_tag(reference);
    let repo = match repo.split_once('/') {
        None => format!("docker.io/library/{repo}"),
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => {
            repo.to_string()
        }
        Some(_) => format!("docker.io/{repo}"),
    };
    format!("{repo}:{tag}")
}

fn busybox_layer() -> &'static [u8] {
    static LAYER: OnceLock<Vec<u8>> = OnceLock::new();
    LAYER.get_or_init(|| Rootfs::busybox().to_tar())
}

/// The default test image: one busybox layer, `Cmd ["sh"]`, tagged `tag` (none if empty).
pub fn busybox_image(tag: &str) -> TestImage {
    let img = TestImage::new()
        .layer_tar(busybox_layer().to_vec())
        .cmd(&["sh"]);
    if tag.is_empty() {
        img
    } else {
        img.tag(tag)
    }
}

/// An image of `n` small distinct layers (no busybox): layer 0 holds `data/0`, `data/gone`
/// and `data/dir/old`; layer i holds `data/i`; the last layer (when n ≥ 2) also whites out
/// `data/gone` and makes `data/dir` opaque with a new `data/dir/new`.
pub fn multi_layer_image(n: usize, tag: &str) -> TestImage {
    assert!(n >= 1, "multi_layer_image needs at least one layer");
    let mut img = TestImage::new().cmd(&["sh"]);
    for i in 0..n {
        let mut r = Rootfs::new().file(&format!("data/{i}"), format!("layer {i}\n"));
        if i == 0 {
            r = r
                .file("data/gone", "deleted by the last layer\n")
                .file("data/dir/old", "hidden by the opaque marker\n");
        }
        if i + 1 == n && n >= 2 {
            r = r
                .whiteout("data/gone")
                .opaque("data/dir")
                .file("data/dir/new", "after opaque\n");
        }
        img = img.layer(r);
    }
    if tag.is_empty() {
        img
    } else {
        img.tag(tag)
    }
}

/// A tiny image whose single layer (`<seed>.txt`) is unique to `seed`.
pub fn tiny_image(seed: &str, tag: &str) -> TestImage {
    let img = TestImage::new()
        .layer(Rootfs::new().file(&format!("{seed}.txt"), format!("{seed}\n")))
        .cmd(&["sh"]);
    if tag.is_empty() {
        img
    } else {
        img.tag(tag)
    }
}

// ---------------------------------------------------------------------------------------------
// Archive members

/// The members of an archive or layout directory, in order: `(path, data)`, directories as
/// paths ending in `/` with no data. Writers return these so tests can tamper before tarring.
#[derive(Clone, Debug, Default)]
pub struct Files {
    members: Vec<(String, Vec<u8>)>,
}

impl Files {
    /// No members.
    pub fn new() -> Files {
        Files::default()
    }

    /// Adds a member, replacing one of the same path in place.
    pub fn set(&mut self, path: &str, data: impl Into<Vec<u8>>) -> &mut Files {
        let data = data.into();
        match self.members.iter_mut().find(|(p, _)| p == path) {
            Some(m) => m.1 = data,
            None => self.members.push((path.to_string(), data)),
        }
        self
    }

    /// Adds a directory member (`path/`) unless present.
    pub fn dir(&mut self, path: &str) -> &mut Files {
        let p = format!("{}/", path.trim_end_matches('/'));
        if self.get(&p).is_none() {
            self.members.push((p, Vec::new()));
        }
        self
    }

    /// Sets a member to compact JSON.
    pub fn set_json(&mut self, path: &str, v: &Value) -> &mut Files {
        self.set(path, serde_json::to_vec(v).expect("serialise JSON"))
    }

    /// Sets a member to compact JSON plus a newline (as Go's `json.Encoder` writes Docker's
    /// `manifest.json` and `repositories`).
    pub fn set_json_line(&mut self, path: &str, v: &Value) -> &mut Files {
        let mut d = serde_json::to_vec(v).expect("serialise JSON");
        d.push(b'\n');
        self.set(path, d)
    }

    /// A member's data.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.members
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, d)| &d[..])
    }

    /// A member parsed as JSON (panics if missing or invalid).
    pub fn json(&self, path: &str) -> Value {
        let d = self
            .get(path)
            .unwrap_or_else(|| panic!("no member {path:?} in {:?}", self.paths()));
        serde_json::from_slice(d).unwrap_or_else(|e| panic!("member {path:?} is not JSON: {e}"))
    }

    /// Edits a JSON member in place.
    pub fn edit_json(&mut self, path: &str, f: impl FnOnce(&mut Value)) -> &mut Files {
        let mut v = self.json(path);
        f(&mut v);
        self.set_json(path, &v)
    }

    /// Removes a member; panics if absent (the test meant something else).
    pub fn remove(&mut self, path: &str) -> &mut Files {
        let before = self.members.len();
        self.members.retain(|(p, _)| p != path);
        assert!(
            self.members.len() < before,
            "no member {path:?} to remove in {:?}",
            self.paths()
        );
        self
    }

    /// Member paths in order.
    pub fn paths(&self) -> Vec<&str> {
        self.members.iter().map(|(p, _)| p.as_str()).collect()
    }

    /// Sorts members by path (as a tar of a directory walk would list them).
    pub fn sort(&mut self) -> &mut Files {
        self.members.sort_by(|a, b| a.0.cmp(&b.0));
        self
    }

    /// The members as a tar (regular files 0644, directories 0755, fixed mtime). Member names
    /// are written raw when the tar crate would refuse them (`..`), for hostile archives.
    pub fn to_tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, d) in &self.members {
            let e = if p.ends_with('/') {
                Entry::dir(p)
            } else {
                Entry::file(p, d.clone())
            };
            let mut h = e.header();
            let name = if e.kind == Kind::Dir {
                format!("{}/", e.path)
            } else {
                e.path.clone()
            };
            let data: &[u8] = match &e.kind {
                Kind::File(d) => d,
                _ => &[],
            };
            if let Err(err) = b.append_data(&mut h, &name, data) {
                append_raw(&mut b, &mut h, &name, &e.kind)
                    .unwrap_or_else(|_| panic!("cannot write tar member {name:?}: {err}"));
            }
        }
        b.into_inner().expect("finish archive tar")
    }

    /// Reads a tar (plain, gzip or zstd) into members (directories end in `/`; links and
    /// other non-files are kept with empty data).
    pub fn from_tar(data: &[u8]) -> Files {
        let data = decompress(data);
        let mut a = tar::Archive::new(&data[..]);
        let mut f = Files::new();
        for e in a.entries().expect("read archive tar") {
            let mut e = e.expect("read archive tar entry");
            let path = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let mut d = Vec::new();
            e.read_to_end(&mut d).expect("read archive tar entry data");
            f.members.push((path, d));
        }
        f
    }

    /// Writes the members below `dir` (an OCI layout directory, ...).
    pub fn write_to_dir(&self, dir: &Path) {
        std::fs::create_dir_all(dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        for (p, d) in &self.members {
            let target = dir.join(p.trim_end_matches('/'));
            if p.ends_with('/') {
                std::fs::create_dir_all(&target)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", target.display()));
                continue;
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .unwrap_or_else(|e| panic!("cannot create {}: {e}", parent.display()));
            }
            std::fs::write(&target, d)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Writers

/// How OCI layer blobs are compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar (`…layer.v1.tar`).
    None,
    /// gzip (`…layer.v1.tar+gzip`).
    Gzip,
    /// zstd (`…layer.v1.tar+zstd`).
    Zstd,
}

impl Compression {
    /// Compresses a layer tar (deterministically: gzip header mtime 0, fixed levels).
    pub fn compress(self, tar: &[u8]) -> Vec<u8> {
        match self {
            Compression::None => tar.to_vec(),
            Compression::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(tar).expect("gzip");
                e.finish().expect("gzip")
            }
            Compression::Zstd => zstd::encode_all(tar, 3).expect("zstd"),
        }
    }

    /// The OCI layer media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Compression::None => media::LAYER,
            Compression::Gzip => media::LAYER_GZIP,
            Compression::Zstd => media::LAYER_ZSTD,
        }
    }
}

/// `{"mediaType", "digest", "size"}` of a blob.
pub fn descriptor(media_type: &str, blob: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256_digest(blob), "size": blob.len()})
}

fn blob_path(blob: &[u8]) -> String {
    format!("blobs/sha256/{}", sha256_hex(blob))
}

/// The legacy v1 layer ids of `docker save` (≤ 24): a chain, so equal layer stacks share
/// directories, different ones never do.
fn v1_ids(img: &TestImage) -> Vec<String> {
    let mut parent = String::new();
    img.diff_ids()
        .iter()
        .map(|d| {
            parent = sha256_hex(format!("{parent} {d}").as_bytes());
            parent.clone()
        })
        .collect()
}

fn repositories(images: &[TestImage], top: impl Fn(&TestImage) -> Option<String>) -> Value {
    let mut repos = serde_json::Map::new();
    for img in images {
        let Some(id) = top(img) else { continue };
        for t in &img.tags {
            let (repo, tag) = split_tag(t);
            let e = repos.entry(repo.to_string()).or_insert_with(|| json!({}));
            e[tag] = json!(id);
        }
    }
    Value::Object(repos)
}

/// The members of a `docker save` archive as Docker ≤ 24 writes it: `manifest.json`,
/// `repositories`, `<id>.json` configs and `<v1id>/{VERSION,json,layer.tar}`, sorted.
pub fn to_docker_archive_files(images: &[TestImage]) -> Files {
    let mut f = Files::new();
    let mut manifest = Vec::new();
    for img in images {
        let cfg = img.config_bytes();
        let cfg_name = format!("{}.json", sha256_hex(&cfg));
        f.set(&cfg_name, cfg);
        let ids = v1_ids(img);
        let mut layers = Vec::new();
        for (i, (l, id)) in img.layers.iter().zip(&ids).enumerate() {
            f.dir(id);
            f.set(&format!("{id}/VERSION"), "1.0");
            let mut j =
                json!({"id": id, "created": CREATED, "container_config": {}, "os": "linux"});
            if i > 0 {
                j["parent"] = json!(ids[i - 1]);
            }
            f.set_json(&format!("{id}/json"), &j);
            f.set(&format!("{id}/layer.tar"), l.clone());
            layers.push(format!("{id}/layer.tar"));
        }
        let tags = if img.tags.is_empty() {
            Value::Null
        } else {
            json!(img.tags)
        };
        manifest.push(json!({"Config": cfg_name, "RepoTags": tags, "Layers": layers}));
    }
    f.set_json_line("manifest.json", &json!(manifest));
    let repos = repositories(images, |i| v1_ids(i).last().cloned());
    if repos.as_object().is_some_and(|o| !o.is_empty()) {
        f.set_json_line("repositories", &repos);
    }
    f.sort();
    f
}

/// A `docker save` archive as Docker ≤ 24 writes it.
pub fn to_docker_archive(images: &[TestImage]) -> Vec<u8> {
    to_docker_archive_files(images).to_tar()
}

/// The platform object (`architecture`, `os`, `variant`) of an image's config.
pub fn platform_of(img: &TestImage) -> Value {
    let c = img.config();
    let mut p = json!({"architecture": c["architecture"], "os": c["os"]});
    if let Some(v) = c.get("variant") {
        p["variant"] = v.clone();
    }
    p
}

/// Adds `img`'s config, layer and manifest blobs to `f`; returns the manifest bytes.
/// Docker ≥ 25 also puts the platform in the config descriptor.
fn add_image_blobs(f: &mut Files, img: &TestImage, comp: Compression, docker25: bool) -> Vec<u8> {
    let cfg = img.config_bytes();
    f.set(&blob_path(&cfg), cfg.clone());
    let mut layers = Vec::new();
    for l in &img.layers {
        let blob = comp.compress(l);
        layers.push(descriptor(comp.media_type(), &blob));
        f.set(&blob_path(&blob), blob);
    }
    let mut config = descriptor(media::CONFIG, &cfg);
    if docker25 {
        config["platform"] = platform_of(img);
    }
    let m = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media::MANIFEST,
        "config": config,
        "layers": layers,
    }))
    .expect("serialise manifest");
    f.set(&blob_path(&m), m.clone());
    m
}

fn name_annotations(tag: &str) -> Value {
    json!({
        "io.containerd.image.name": full_name(tag),
        "org.opencontainers.image.ref.name": split_tag(tag).1,
    })
}

fn new_layout() -> Files {
    let mut f = Files::new();
    f.set("oci-layout", r#"{"imageLayoutVersion":"1.0.0"}"#);
    f.dir("blobs");
    f.dir("blobs/sha256");
    f
}

/// Members of an OCI image layout holding `images`; index entries are one per tag
/// (annotated with `io.containerd.image.name` = full name and
/// `org.opencontainers.image.ref.name` = tag). An untagged image gets one unannotated entry,
/// except in Docker ≥ 25's layout, which lists only tagged images (and adds `platform`).
/// Returns the members and, per image, its manifest bytes.
fn oci_layout(images: &[TestImage], comp: Compression, docker25: bool) -> (Files, Vec<Vec<u8>>) {
    let mut f = new_layout();
    let mut index = Vec::new();
    let mut manifests = Vec::new();
    for img in images {
        let m = add_image_blobs(&mut f, img, comp, docker25);
        if img.tags.is_empty() && !docker25 {
            index.push(descriptor(media::MANIFEST, &m));
        }
        for t in &img.tags {
            let mut d = descriptor(media::MANIFEST, &m);
            if docker25 {
                d["platform"] = platform_of(img);
            }
            d["annotations"] = name_annotations(t);
            index.push(d);
        }
        manifests.push(m);
    }
    f.set_json(
        "index.json",
        &json!({"schemaVersion": 2, "mediaType": media::INDEX, "manifests": index}),
    );
    (f, manifests)
}

/// The members of an OCI layout holding one multi-platform image: `index.json` names (with
/// `tag`'s annotations) a nested image index listing one manifest per image, each with the
/// platform of its config (set them with [`TestImage::platform`]), as `docker buildx` and
/// `ctr export --all-platforms` write it.
pub fn to_oci_multi_platform_files(images: &[TestImage], tag: &str, comp: Compression) -> Files {
    let mut f = new_layout();
    let mut list = Vec::new();
    for img in images {
        let m = add_image_blobs(&mut f, img, comp, false);
        let mut d = descriptor(media::MANIFEST, &m);
        d["platform"] = platform_of(img);
        list.push(d);
    }
    let inner = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": media::INDEX, "manifests": list}),
    )
    .expect("serialise index");
    f.set(&blob_path(&inner), inner.clone());
    let mut d = descriptor(media::INDEX, &inner);
    d["annotations"] = name_annotations(tag);
    f.set_json(
        "index.json",
        &json!({"schemaVersion": 2, "mediaType": media::INDEX, "manifests": [d]}),
    );
    f
}

/// A multi-platform OCI archive; see [`to_oci_multi_platform_files`].
pub fn to_oci_multi_platform_archive(
    images: &[TestImage],
    tag: &str,
    comp: Compression,
) -> Vec<u8> {
    to_oci_multi_platform_files(images, tag, comp).to_tar()
}

/// The members of a `docker save` archive as Docker ≥ 25 writes it: an OCI layout with
/// uncompressed layer blobs plus `manifest.json` (paths into `blobs/sha256/`) and
/// `repositories`.
pub fn to_docker_archive_v25_files(images: &[TestImage]) -> Files {
    let (mut f, _) = oci_layout(images, Compression::None, true);
    let manifest: Vec<Value> = images
        .iter()
        .map(|img| {
            let tags = if img.tags.is_empty() {
                Value::Null
            } else {
                json!(img.tags)
            };
            json!({
                "Config": blob_path(&img.config_bytes()),
                "RepoTags": tags,
                "Layers": img.layers.iter().map(|l| blob_path(l)).collect::<Vec<_>>(),
            })
        })
        .collect();
    f.set_json_line("manifest.json", &json!(manifest));
    let repos = repositories(images, |i| i.layers.last().map(|l| sha256_hex(l)));
    if repos.as_object().is_some_and(|o| !o.is_empty()) {
        f.set_json_line("repositories", &repos);
    }
    f
}

/// A `docker save` archive as Docker ≥ 25 writes it.
pub fn to_docker_archive_v25(images: &[TestImage]) -> Vec<u8> {
    to_docker_archive_v25_files(images).to_tar()
}

/// The members of an OCI image layout (as `ctr image export` / containerd write it).
pub fn to_oci_files(images: &[TestImage], comp: Compression) -> Files {
    oci_layout(images, comp, false).0
}

/// Writes an OCI image layout directory at `dir`.
pub fn to_oci_layout_dir(dir: &Path, images: &[TestImage], comp: Compression) {
    to_oci_files(images, comp).write_to_dir(dir);
}

/// An OCI image layout as a tar (an `oci-archive`).
pub fn to_oci_archive(images: &[TestImage], comp: Compression) -> Vec<u8> {
    to_oci_files(images, comp).to_tar()
}

/// The manifest bytes the OCI writers write for `img` (to compare with what a tool reports).
pub fn oci_manifest_bytes(img: &TestImage, comp: Compression) -> Vec<u8> {
    oci_layout(std::slice::from_ref(img), comp, false)
        .1
        .remove(0)
}

// ---------------------------------------------------------------------------------------------
// Hostile input

/// Malformed and hostile archives for negative tests. Each breaks exactly one thing about an
/// otherwise loadable archive of the given image.
pub mod hostile {
    use serde_json::{json, Value};

    use super::{
        blob_path, descriptor, media, sha256_digest, to_docker_archive_files, to_oci_files,
        Compression, TestImage,
    };

    /// The first `at` bytes of `archive`.
    pub fn truncated(archive: &[u8], at: usize) -> Vec<u8> {
        archive[..at.min(archive.len())].to_vec()
    }

    /// `len` deterministic pseudo-random bytes (no tar, gzip or zstd magic).
    pub fn garbage(len: usize) -> Vec<u8> {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut v: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        if let Some(b) = v.first_mut() {
            *b = b'G';
        }
        v
    }

    /// A docker-archive (≤ 24 layout) whose `manifest.json` has been edited by `f`.
    pub fn with_manifest(img: &TestImage, f: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut files = to_docker_archive_files(std::slice::from_ref(img));
        files.edit_json("manifest.json", f);
        files.to_tar()
    }

    /// A docker-archive whose `manifest.json` names a layer file the archive lacks (the last
    /// one).
    pub fn missing_layer(img: &TestImage) -> Vec<u8> {
        let mut files = to_docker_archive_files(std::slice::from_ref(img));
        let m = files.json("manifest.json");
        let last = m[0]["Layers"]
            .as_array()
            .and_then(|l| l.last())
            .and_then(Value::as_str)
            .expect("an image with at least one layer")
            .to_string();
        files.remove(&last);
        files.to_tar()
    }

    /// A docker-archive whose config lists a wrong diff_id for the first layer (the config
    /// file name and manifest agree with the damaged config; only the layer does not).
    pub fn wrong_diff_ids(img: &TestImage) -> Vec<u8> {
        let bad = img.clone().edit_config(|c| {
            c["rootfs"]["diff_ids"][0] = json!(sha256_digest(b"not the layer"));
        });
        to_docker_archive_files(std::slice::from_ref(&bad)).to_tar()
    }

    /// A docker-archive whose `manifest.json` paths climb out of the archive: the config as
    /// `../<name>` and every layer as `../../<path>`.
    pub fn dotdot_paths(img: &TestImage) -> Vec<u8> {
        with_manifest(img, |m| {
            let e = &mut m[0];
            let cfg = e["Config"].as_str().unwrap_or_default().to_string();
            e["Config"] = json!(format!("../{cfg}"));
            if let Some(layers) = e["Layers"].as_array_mut() {
                for l in layers {
                    *l = json!(format!("../../{}", l.as_str().unwrap_or_default()));
                }
            }
        })
    }

    /// A docker-archive whose (valid) `manifest.json` is padded with whitespace to `size`
    /// bytes (use something above berth's 4 MiB cap, e.g. `5 << 20`).
    pub fn oversize_manifest(img: &TestImage, size: usize) -> Vec<u8> {
        let mut files = to_docker_archive_files(std::slice::from_ref(img));
        let m = files.get("manifest.json").expect("manifest.json").to_vec();
        // Whitespace inside the array keeps it valid JSON: only the size is wrong.
        let close = m.iter().rposition(|&b| b == b']').expect("a JSON array");
        let mut out = m[..close].to_vec();
        out.resize(close + size.saturating_sub(m.len()), b' ');
        out.extend_from_slice(&m[close..]);
        files.set("manifest.json", out);
        files.to_tar()
    }

    /// Ways an OCI layout can lie about what a blob is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Confusion {
        /// index.json's descriptor says image manifest, the blob is an image index.
        ManifestIsIndex,
        /// index.json's descriptor says image index, the blob is an image manifest.
        IndexIsManifest,
        /// The manifest's config descriptor points at the layer blob.
        ConfigIsLayer,
        /// index.json is a JSON array, not an object.
        IndexNotObject,
        /// index.json's descriptor has a digest of the right blob but the wrong size.
        WrongSize,
    }

    /// An OCI archive (uncompressed layers) of `img` with one [`Confusion`].
    pub fn index_confusion(img: &TestImage, how: Confusion) -> Vec<u8> {
        let mut files = to_oci_files(std::slice::from_ref(img), Compression::None);
        let index = files.json("index.json");
        let mdesc = index["manifests"][0].clone();
        match how {
            Confusion::ManifestIsIndex => {
                let nested = serde_json::to_vec(&json!({
                    "schemaVersion": 2, "mediaType": media::INDEX, "manifests": [mdesc.clone()],
                }))
                .expect("serialise index");
                files.set(&blob_path(&nested), nested.clone());
                let mut d = descriptor(media::MANIFEST, &nested);
                d["annotations"] = mdesc["annotations"].clone();
                files.edit_json("index.json", |i| i["manifests"] = json!([d]));
            }
            Confusion::IndexIsManifest => {
                files.edit_json("index.json", |i| {
                    i["manifests"][0]["mediaType"] = json!(media::INDEX);
                });
            }
            Confusion::ConfigIsLayer => {
                let layer = img.layers().first().expect("an image with a layer").clone();
                let mpath = format!(
                    "blobs/sha256/{}",
                    mdesc["digest"]
                        .as_str()
                        .unwrap_or_default()
                        .trim_start_matches("sha256:")
                );
                let mut m = files.json(&mpath);
                m["config"] = descriptor(media::CONFIG, &layer);
                let mb = serde_json::to_vec(&m).expect("serialise manifest");
                files.set(&blob_path(&mb), mb.clone());
                let mut d = descriptor(media::MANIFEST, &mb);
                d["annotations"] = mdesc["annotations"].clone();
                files.edit_json("index.json", |i| i["manifests"] = json!([d]));
            }
            Confusion::IndexNotObject => {
                files.set_json("index.json", &json!([mdesc]));
            }
            Confusion::WrongSize => {
                files.edit_json("index.json", |i| {
                    let s = i["manifests"][0]["size"].as_u64().unwrap_or(0);
                    i["manifests"][0]["size"] = json!(s + 1);
                });
            }
        }
        files.to_tar()
    }
}
