//! Normal layer content is applied faithfully, and packing round-trips.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use berth_tar::{apply_layer, decompress, pack_dir, ApplyOptions, PackMode, WhiteoutMode};

fn hdr(kind: tar::EntryType, mode: u32, uid: u64, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(uid);
    h.set_gid(uid);
    h.set_mtime(1_500_000_000);
    h.set_size(size);
    h
}

fn layer(build: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    build(&mut b);
    b.into_inner().unwrap()
}

fn add_file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8], mode: u32, uid: u64) {
    let mut h = hdr(tar::EntryType::Regular, mode, uid, data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

fn add_dir(b: &mut tar::Builder<Vec<u8>>, path: &str) {
    let mut h = hdr(tar::EntryType::Directory, 0o755, 0, 0);
    b.append_data(&mut h, path, &[][..]).unwrap();
}

fn base() -> Vec<u8> {
    layer(|b| {
        add_dir(b, "etc/");
        add_file(b, "etc/conf", b"hello", 0o640, 1000);
        add_file(b, "bin/su", b"su", 0o4755, 0);
        add_dir(b, "tmp/");
        let mut h = hdr(tar::EntryType::Directory, 0o1777, 0, 0);
        b.append_data(&mut h, "tmp/", &[][..]).unwrap();
        let mut h = hdr(tar::EntryType::Symlink, 0o777, 0, 0);
        b.append_link(&mut h, "bin/sh", "/bin/busybox").unwrap();
        let mut h = hdr(tar::EntryType::Link, 0o644, 0, 0);
        b.append_link(&mut h, "etc/conf2", "etc/conf").unwrap();
        let mut h = hdr(tar::EntryType::Fifo, 0o600, 0, 0);
        b.append_data(&mut h, "run/fifo", &[][..]).unwrap();
        let mut h = hdr(tar::EntryType::Char, 0o666, 0, 0);
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
        b.append_data(&mut h, "dev/null", &[][..]).unwrap();
        let long = format!("deep/{}/file", "x".repeat(200));
        add_file(b, &long, b"long", 0o644, 0);
        add_dir(b, "data/");
        add_file(b, "data/old", b"old", 0o644, 0);
    })
}

#[test]
fn applies_files_modes_owners_links_and_devices() {
    let t = tempfile::tempdir().unwrap();
    let stats = apply_layer(&base()[..], t.path(), &ApplyOptions::default()).unwrap();
    assert!(stats.entries >= 10);
    let r = t.path();
    let m = fs::metadata(r.join("etc/conf")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!((m.uid(), m.gid()), (1000, 1000));
    assert_eq!(m.mtime(), 1_500_000_000);
    assert_eq!(fs::read(r.join("etc/conf")).unwrap(), b"hello");
    assert_eq!(
        fs::metadata(r.join("bin/su")).unwrap().mode() & 0o7777,
        0o4755
    );
    assert_eq!(fs::metadata(r.join("tmp")).unwrap().mode() & 0o7777, 0o1777);
    assert_eq!(
        fs::read_link(r.join("bin/sh")).unwrap(),
        Path::new("/bin/busybox")
    );
    assert_eq!(
        fs::metadata(r.join("etc/conf2")).unwrap().ino(),
        fs::metadata(r.join("etc/conf")).unwrap().ino()
    );
    assert!(fs::symlink_metadata(r.join("run/fifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    let null = fs::symlink_metadata(r.join("dev/null")).unwrap();
    assert!(null.file_type().is_char_device());
    assert_eq!(null.rdev(), rustix::fs::makedev(1, 3));
    assert_eq!(
        fs::read(r.join(format!("deep/{}/file", "x".repeat(200)))).unwrap(),
        b"long"
    );
    assert_eq!(fs::metadata(r.join("etc")).unwrap().mtime(), 1_500_000_000);
}

fn upper_layer() -> Vec<u8> {
    layer(|b| {
        add_file(b, "etc/.wh.conf", b"", 0o644, 0);
        add_dir(b, "data/");
        add_file(b, "data/.wh..wh..opq", b"", 0o644, 0);
        add_file(b, "data/new", b"new", 0o644, 0);
    })
}

#[test]
fn overlay_whiteouts_become_devices_and_opaque_xattrs() {
    let t = tempfile::tempdir().unwrap();
    apply_layer(&upper_layer()[..], t.path(), &ApplyOptions::default()).unwrap();
    let wh = fs::symlink_metadata(t.path().join("etc/conf")).unwrap();
    assert!(wh.file_type().is_char_device());
    assert_eq!(wh.rdev(), 0);
    assert!(!t.path().join("etc/.wh.conf").exists());
    let mut buf = [0u8; 4];
    let n =
        rustix::fs::lgetxattr(t.path().join("data"), "trusted.overlay.opaque", &mut buf).unwrap();
    assert_eq!(&buf[..n], b"y");
    assert_eq!(fs::read(t.path().join("data/new")).unwrap(), b"new");
}

#[test]
fn apply_mode_whiteouts_remove_lower_content() {
    let t = tempfile::tempdir().unwrap();
    let opts = ApplyOptions {
        whiteouts: WhiteoutMode::Apply,
        ..Default::default()
    };
    apply_layer(&base()[..], t.path(), &opts).unwrap();
    apply_layer(&upper_layer()[..], t.path(), &opts).unwrap();
    assert!(!t.path().join("etc/conf").exists());
    assert!(t.path().join("etc/conf2").exists());
    assert!(!t.path().join("data/old").exists());
    assert_eq!(fs::read(t.path().join("data/new")).unwrap(), b"new");
}

#[test]
fn gzip_and_zstd_are_detected() {
    let raw = base();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    let gz = gz.finish().unwrap();
    let zst = zstd::encode_all(&raw[..], 3).unwrap();
    for (data, kind) in [
        (raw.clone(), berth_tar::Compression::None),
        (gz, berth_tar::Compression::Gzip),
        (zst, berth_tar::Compression::Zstd),
    ] {
        let (k, r) = decompress(std::io::Cursor::new(data)).unwrap();
        assert_eq!(k, kind);
        let t = tempfile::tempdir().unwrap();
        apply_layer(r, t.path(), &ApplyOptions::default()).unwrap();
        assert_eq!(fs::read(t.path().join("etc/conf")).unwrap(), b"hello");
    }
}

#[test]
fn pack_then_apply_round_trips() {
    let src = tempfile::tempdir().unwrap();
    apply_layer(&base()[..], src.path(), &ApplyOptions::default()).unwrap();
    let mut out = Vec::new();
    let stats = pack_dir(src.path(), &mut out, PackMode::Plain).unwrap();
    assert!(stats.entries >= 10);
    let dst = tempfile::tempdir().unwrap();
    apply_layer(&out[..], dst.path(), &ApplyOptions::default()).unwrap();
    for p in [
        "etc/conf",
        "bin/su",
        "bin/sh",
        "etc/conf2",
        "run/fifo",
        "dev/null",
    ] {
        let a = fs::symlink_metadata(src.path().join(p)).unwrap();
        let b = fs::symlink_metadata(dst.path().join(p)).unwrap();
        assert_eq!(
            (a.mode(), a.uid(), a.mtime(), a.len()),
            (b.mode(), b.uid(), b.mtime(), b.len()),
            "{p}"
        );
    }
    assert_eq!(
        fs::metadata(dst.path().join("etc/conf2")).unwrap().ino(),
        fs::metadata(dst.path().join("etc/conf")).unwrap().ino()
    );
    // Deterministic: packing twice gives the same bytes.
    let mut again = Vec::new();
    pack_dir(src.path(), &mut again, PackMode::Plain).unwrap();
    assert_eq!(out, again);
}

#[test]
fn overlay_upper_packs_whiteouts_back() {
    let upper = tempfile::tempdir().unwrap();
    apply_layer(&upper_layer()[..], upper.path(), &ApplyOptions::default()).unwrap();
    let mut out = Vec::new();
    pack_dir(upper.path(), &mut out, PackMode::OverlayUpper).unwrap();
    let mut names: Vec<String> = tar::Archive::new(&out[..])
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    names.sort();
    assert!(names.contains(&"etc/.wh.conf".to_string()), "{names:?}");
    assert!(
        names.contains(&"data/.wh..wh..opq".to_string()),
        "{names:?}"
    );
}

#[test]
fn truncated_stream_is_a_clear_error() {
    let raw = base();
    let t = tempfile::tempdir().unwrap();
    let err = apply_layer(&raw[..700], t.path(), &ApplyOptions::default()).unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
}
