//! Malformed and hostile archives: one-line errors, non-zero exits, the store unchanged.

use crate::fixtures::{docker_archive, oci_archive, Comp, Image, Layer};
use crate::harness::{sha256, Berth};

fn assert_store_empty(b: &Berth) {
    assert_eq!(b.ok(&["images", "-a", "-q"]), "");
    assert!(
        b.list("layers").is_empty(),
        "layers: {:?}",
        b.list("layers")
    );
    assert!(
        b.list("blobs/sha256").is_empty(),
        "blobs: {:?}",
        b.list("blobs/sha256")
    );
    assert!(
        b.list("ingest").is_empty(),
        "ingest: {:?}",
        b.list("ingest")
    );
}

fn load_fails(b: &Berth, data: Vec<u8>, needle: &str) {
    let e = b.cmd(&["load"]).stdin(data).fails(1);
    assert_eq!(e.lines().count(), 1, "one-line error expected: {e}");
    assert!(e.contains(needle), "expected {needle:?} in {e}");
    assert_store_empty(b);
}

/// Rewrites the manifest.json of a docker-archive made from `img`.
fn with_manifest(img: &Image, manifest: serde_json::Value) -> Vec<u8> {
    let mut out = tar::Builder::new(Vec::new());
    let src = docker_archive(&[img]);
    let mut a = tar::Archive::new(&src[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path.to_str() == Some("manifest.json") {
            data = serde_json::to_vec(&manifest).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        out.append_data(&mut h, &path, &data[..]).unwrap();
    }
    out.into_inner().unwrap()
}

#[test]
fn garbage_truncated_and_empty_input() {
    let b = Berth::new();
    load_fails(
        &b,
        b"definitely not a tarball\n".repeat(100),
        "invalid image archive",
    );
    let full = docker_archive(&[&Image::busybox(&["busybox:latest"])]);
    load_fails(&b, full[..full.len() / 2].to_vec(), "invalid image archive");
    load_fails(&b, Vec::new(), "invalid image archive");
    let e = b.cmd(&["load", "-i", "/nonexistent/x.tar"]).fails(1);
    assert!(e.contains("/nonexistent/x.tar"), "{e}");
}

#[test]
fn manifests_that_lie() {
    let b = Berth::new();
    let img = Image::new(
        vec![
            Layer::busybox(),
            Layer::new().file("a", b"a", 0o644).bytes(),
        ],
        &["liar:1"],
    );
    let cfg = format!("{}.json", sha256(&img.config_bytes()));
    let l0 = format!("{}/layer.tar", sha256(&img.layers[0]));
    let l1 = format!("{}/layer.tar", sha256(&img.layers[1]));
    // A layer the archive does not contain.
    load_fails(
        &b,
        with_manifest(
            &img,
            serde_json::json!([{"Config": cfg, "RepoTags": ["liar:1"], "Layers": [l0, "ffff/layer.tar"]}]),
        ),
        "no such file in archive",
    );
    // Layers swapped: the content does not match the config's diff ids.
    load_fails(
        &b,
        with_manifest(
            &img,
            serde_json::json!([{"Config": cfg, "RepoTags": ["liar:1"], "Layers": [l1, l0]}]),
        ),
        "diff id",
    );
    // One layer missing from the list.
    load_fails(
        &b,
        with_manifest(
            &img,
            serde_json::json!([{"Config": cfg, "RepoTags": ["liar:1"], "Layers": [l0]}]),
        ),
        "diff_ids",
    );
    // Paths that climb out of the archive.
    load_fails(
        &b,
        with_manifest(
            &img,
            serde_json::json!([{"Config": "../../etc/passwd", "RepoTags": ["liar:1"], "Layers": [l0, l1]}]),
        ),
        "..",
    );
    // A bad tag.
    load_fails(
        &b,
        with_manifest(
            &img,
            serde_json::json!([{"Config": cfg, "RepoTags": ["UPPER:1"], "Layers": [l0, l1]}]),
        ),
        "invalid reference format",
    );
    // Not JSON.
    load_fails(
        &b,
        with_manifest(&img, serde_json::json!("nope")),
        "manifest.json",
    );
}

#[test]
fn oversized_and_confused_documents() {
    let b = Berth::new();
    let img = Image::tiny("big", &["big:1"]);
    let huge = serde_json::json!([{"Config": "x".repeat(5 << 20), "Layers": []}]);
    load_fails(&b, with_manifest(&img, huge), "too large");
    // An OCI blob whose name is not its digest.
    let mut arch = oci_archive(&[&img], Comp::None);
    let cfg_hex = sha256(&img.config_bytes());
    let mut out = tar::Builder::new(Vec::new());
    for e in tar::Archive::new(&arch[..]).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path.to_string_lossy().ends_with(&cfg_hex) {
            data.extend_from_slice(b" ");
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        out.append_data(&mut h, &path, &data[..]).unwrap();
    }
    arch = out.into_inner().unwrap();
    load_fails(&b, arch, "content has digest");
}

#[test]
fn hostile_layers_inside_images_never_escape() {
    let b = Berth::new();
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/tar/tests/fixtures/hostile");
    let canary = b.scratch().join("canary");
    std::fs::write(&canary, b"canary").unwrap();
    let passwd = std::fs::read("/etc/passwd").unwrap();
    let mut checked = 0;
    for e in std::fs::read_dir(&corpus).unwrap().flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "tar") {
            continue;
        }
        let layer = std::fs::read(&p).unwrap();
        let img = Image::new(vec![layer], &["hostile:1"]);
        let out = b.cmd(&["load"]).stdin(docker_archive(&[&img])).run();
        assert!(!out.stderr.contains("panicked"), "{p:?}: {}", out.stderr);
        let expect = std::fs::read_to_string(p.with_extension("expect")).unwrap();
        if expect.starts_with("reject") {
            assert_eq!(out.code, 1, "{p:?} should be refused: {}", out.stdout);
        }
        checked += 1;
    }
    assert!(checked >= 30);
    assert_eq!(std::fs::read(&canary).unwrap(), b"canary");
    assert_eq!(std::fs::read("/etc/passwd").unwrap(), passwd);
    for p in ["/outside", "/tmp/berth-hostile", "/evil", "/sda"] {
        assert!(!std::path::Path::new(p).exists(), "{p} was created");
    }
    // Whatever loaded is usable, and nothing half-written is left behind.
    b.ok(&["image", "prune", "-a", "-f"]);
    assert!(b.list("layers").is_empty(), "{:?}", b.list("layers"));
}
