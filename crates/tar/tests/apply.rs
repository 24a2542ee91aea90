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

fn opts(mode: WhiteoutMode) -> ApplyOptions {
    ApplyOptions {
        whiteouts: mode,
        ..Default::default()
    }
}

/// A PAX extended header (`x`) followed by the entry it describes.
fn add_with_pax(
    b: &mut tar::Builder<Vec<u8>>,
    records: &[(&str, &[u8])],
    mut h: tar::Header,
    path: &str,
    data: &[u8],
) {
    let mut body = Vec::new();
    for (k, v) in records {
        let rest = k.len() + v.len() + 3;
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        body.extend_from_slice(format!("{len} {k}=").as_bytes());
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    let mut x = tar::Header::new_ustar();
    x.set_entry_type(tar::EntryType::XHeader);
    x.set_size(body.len() as u64);
    x.set_path("PaxHeader").unwrap();
    x.set_cksum();
    b.append(&x, &body[..]).unwrap();
    b.append_data(&mut h, path, data).unwrap();
}

fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(p, name, &mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

#[test]
fn pax_xattrs_mtime_and_long_names_are_applied_and_packed_back() {
    let long = format!("{}/{}", "p".repeat(120), "q".repeat(120));
    let data = layer(|b| {
        add_with_pax(
            b,
            &[
                ("SCHILY.xattr.user.color", b"blue"),
                ("mtime", b"1600000000.5"),
                ("path", long.as_bytes()),
                ("uid", b"3000000"),
            ],
            hdr(tar::EntryType::Regular, 0o600, 5, 3),
            "ignored-name",
            b"pax",
        );
        add_with_pax(
            b,
            &[("SCHILY.xattr.user.dir", b"1")],
            hdr(tar::EntryType::Directory, 0o2775, 0, 0),
            "shared/",
            b"",
        );
    });
    let t = tempfile::tempdir().unwrap();
    apply_layer(&data[..], t.path(), &ApplyOptions::default()).unwrap();
    let f = t.path().join(&long);
    assert_eq!(fs::read(&f).unwrap(), b"pax");
    let m = fs::metadata(&f).unwrap();
    assert_eq!((m.mtime(), m.mtime_nsec()), (1_600_000_000, 500_000_000));
    assert_eq!(m.uid(), 3_000_000, "PAX uid overrides the header");
    assert_eq!(xattr(&f, "user.color").as_deref(), Some(&b"blue"[..]));
    let d = t.path().join("shared");
    assert_eq!(fs::metadata(&d).unwrap().mode() & 0o7777, 0o2775);
    assert_eq!(xattr(&d, "user.dir").as_deref(), Some(&b"1"[..]));

    // Packing keeps the xattrs (as PAX records) and the long name.
    let mut out = Vec::new();
    pack_dir(t.path(), &mut out, PackMode::Plain).unwrap();
    let back = tempfile::tempdir().unwrap();
    apply_layer(&out[..], back.path(), &ApplyOptions::default()).unwrap();
    let f2 = back.path().join(&long);
    assert_eq!(xattr(&f2, "user.color").as_deref(), Some(&b"blue"[..]));
    assert_eq!(fs::metadata(&f2).unwrap().uid(), 3_000_000);
    assert_eq!(fs::metadata(&f2).unwrap().mtime(), 1_600_000_000);
    assert_eq!(
        xattr(&back.path().join("shared"), "user.dir").as_deref(),
        Some(&b"1"[..])
    );
}

#[test]
fn limits_are_enforced_while_streaming() {
    // A "bomb": 8 MiB of zeros compress to a few KiB.
    let big = vec![0u8; 8 << 20];
    let data = layer(|b| add_file(b, "zeros", &big, 0o644, 0));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&data).unwrap();
    let gz = gz.finish().unwrap();
    assert!(gz.len() < 64 << 10);
    let (_, r) = decompress(std::io::Cursor::new(gz)).unwrap();
    let t = tempfile::tempdir().unwrap();
    let mut o = ApplyOptions::default();
    o.limits.max_bytes = 1 << 20;
    let err = apply_layer(r, t.path(), &o).unwrap_err();
    assert!(
        matches!(err, berth_tar::TarError::LimitExceeded { .. }),
        "{err}"
    );
    assert!(err.is_invalid_input());
    assert!(err.to_string().contains("zeros"), "{err}");
    assert!(
        !t.path().join("zeros").exists(),
        "nothing written past the limit"
    );

    let many = layer(|b| {
        for i in 0..20 {
            add_file(b, &format!("f{i}"), b"x", 0o644, 0);
        }
    });
    let mut o = ApplyOptions::default();
    o.limits.max_entries = 10;
    let err = apply_layer(&many[..], tempfile::tempdir().unwrap().path(), &o).unwrap_err();
    assert!(err.to_string().contains("entry count"), "{err}");

    let mut o = ApplyOptions::default();
    o.limits.max_path_len = 50;
    let long = layer(|b| add_file(b, &"n".repeat(60), b"x", 0o644, 0));
    let err = apply_layer(&long[..], tempfile::tempdir().unwrap().path(), &o).unwrap_err();
    assert!(err.to_string().contains("entry name length"), "{err}");
    // Within limits the same options work.
    apply_layer(&many[..10 * 1024], tempfile::tempdir().unwrap().path(), &o).unwrap();
}

#[test]
fn apply_mode_opaque_keeps_this_layers_content_only() {
    let t = tempfile::tempdir().unwrap();
    let lower = layer(|b| {
        add_file(b, "d/old", b"old", 0o644, 0);
        add_file(b, "d/sub/old", b"old", 0o644, 0);
        add_file(b, "d/keep/old", b"old", 0o644, 0);
        add_file(b, "other", b"other", 0o644, 0);
    });
    apply_layer(&lower[..], t.path(), &opts(WhiteoutMode::Apply)).unwrap();
    let upper = layer(|b| {
        add_file(b, "d/new", b"new", 0o644, 0);
        // No entry for d/keep itself: the implicit parent must survive the opaque marker.
        add_file(b, "d/keep/new", b"new", 0o644, 0);
        add_file(b, "d/.wh..wh..opq", b"", 0o644, 0);
    });
    apply_layer(&upper[..], t.path(), &opts(WhiteoutMode::Apply)).unwrap();
    let r = t.path();
    assert_eq!(fs::read(r.join("d/new")).unwrap(), b"new");
    assert_eq!(fs::read(r.join("d/keep/new")).unwrap(), b"new");
    assert!(!r.join("d/old").exists());
    assert!(!r.join("d/sub").exists());
    assert!(!r.join("d/keep/old").exists());
    assert_eq!(fs::read(r.join("other")).unwrap(), b"other");
    assert!(!r.join("d/.wh..wh..opq").exists());
}

#[test]
fn replaced_directories_and_duplicates_last_wins() {
    let data = layer(|b| {
        add_file(b, "a/one", b"1", 0o644, 0);
        // `a` becomes a symlink to `b`; later writes under `a/` land in `b` (inside).
        let mut h = hdr(tar::EntryType::Symlink, 0o777, 0, 0);
        b.append_link(&mut h, "a", "/b").unwrap();
        add_file(b, "a/two", b"2", 0o644, 0);
        add_file(b, "dup", b"first", 0o600, 0);
        add_file(b, "dup", b"second", 0o640, 0);
        add_dir(b, "x/");
        add_file(b, "x", b"file now", 0o644, 0);
    });
    let t = tempfile::tempdir().unwrap();
    apply_layer(&data[..], t.path(), &ApplyOptions::default()).unwrap();
    let r = t.path();
    assert_eq!(fs::read_link(r.join("a")).unwrap(), Path::new("/b"));
    assert_eq!(fs::read(r.join("b/two")).unwrap(), b"2");
    assert_eq!(fs::read(r.join("dup")).unwrap(), b"second");
    assert_eq!(fs::metadata(r.join("dup")).unwrap().mode() & 0o777, 0o640);
    assert!(fs::symlink_metadata(r.join("x")).unwrap().is_file());
}

#[test]
fn root_entry_sets_root_metadata() {
    let data = layer(|b| {
        let mut h = hdr(tar::EntryType::Directory, 0o700, 42, 0);
        b.append_data(&mut h, "./", &[][..]).unwrap();
        add_file(b, "f", b"f", 0o644, 0);
    });
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    fs::create_dir(&root).unwrap();
    apply_layer(&data[..], &root, &ApplyOptions::default()).unwrap();
    let m = fs::metadata(&root).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.uid(), m.mtime()),
        (0o700, 42, 1_500_000_000)
    );
}

#[test]
fn overlay_upper_round_trips_both_ways() {
    // tar (with whiteouts) -> overlay upper dir -> tar -> another upper dir: same result.
    let upper1 = tempfile::tempdir().unwrap();
    apply_layer(&upper_layer()[..], upper1.path(), &ApplyOptions::default()).unwrap();
    let mut out = Vec::new();
    pack_dir(upper1.path(), &mut out, PackMode::OverlayUpper).unwrap();
    let upper2 = tempfile::tempdir().unwrap();
    apply_layer(&out[..], upper2.path(), &ApplyOptions::default()).unwrap();
    let wh = fs::symlink_metadata(upper2.path().join("etc/conf")).unwrap();
    assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
    assert_eq!(
        xattr(&upper2.path().join("data"), "trusted.overlay.opaque").as_deref(),
        Some(&b"y"[..])
    );
    assert_eq!(fs::read(upper2.path().join("data/new")).unwrap(), b"new");
    // Packing the second copy gives the very same tar.
    let mut again = Vec::new();
    pack_dir(upper2.path(), &mut again, PackMode::OverlayUpper).unwrap();
    assert_eq!(out, again);
    // Plain mode keeps the device as a device and no opaque marker.
    let mut plain = Vec::new();
    pack_dir(upper1.path(), &mut plain, PackMode::Plain).unwrap();
    let kinds: Vec<(String, tar::EntryType)> = tar::Archive::new(&plain[..])
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.path().unwrap().display().to_string(),
                e.header().entry_type(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("etc/conf".to_string(), tar::EntryType::Char)),
        "{kinds:?}"
    );
    assert!(!kinds.iter().any(|(n, _)| n.contains(".wh.")), "{kinds:?}");
}

#[test]
fn pack_never_follows_symlinks_and_skips_sockets() {
    let src = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.path().join("pw")).unwrap();
    std::os::unix::fs::symlink("/etc", src.path().join("etc")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(src.path().join("sock")).unwrap();
    let mut out = Vec::new();
    let stats = pack_dir(src.path(), &mut out, PackMode::Plain).unwrap();
    assert_eq!(stats.entries, 2);
    assert_eq!(stats.bytes, 0);
    let mut ar = tar::Archive::new(&out[..]);
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        assert_eq!(e.header().entry_type(), tar::EntryType::Symlink);
        assert_eq!(e.size(), 0);
    }
}

#[test]
fn empty_numeric_fields_read_as_zero_like_go() {
    let mut h = hdr(tar::EntryType::Regular, 0o644, 7, 2);
    h.set_path("f").unwrap();
    {
        let old = h.as_old_mut();
        old.uid = [0; 8];
        old.gid = [b' '; 8];
    }
    h.set_cksum();
    let mut data = h.as_bytes().to_vec();
    data.extend_from_slice(b"hi");
    data.resize(1024 + 1024, 0);
    let t = tempfile::tempdir().unwrap();
    apply_layer(&data[..], t.path(), &ApplyOptions::default()).unwrap();
    let m = fs::metadata(t.path().join("f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (0, 0));
    assert_eq!(fs::read(t.path().join("f")).unwrap(), b"hi");
}
