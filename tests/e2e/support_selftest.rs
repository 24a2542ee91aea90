//! Self-tests of the e2e support code, independent of berth: the image factory's output is
//! checked with skopeo (an independent implementation of docker-archive and OCI layouts),
//! with `tar`/`chroot` on the host, and against `scripts/make-busybox-rootfs.sh`.
//! Run just these with `cargo nextest run --test e2e support_selftest`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::hostile::{self, Confusion};
use crate::support::*;

/// Runs skopeo; returns stdout or panics with its stderr.
fn skopeo(args: &[&str]) -> Vec<u8> {
    let o = Command::new("skopeo")
        .args(["--insecure-policy"])
        .args(args)
        .output()
        .expect("run skopeo (install skopeo)");
    assert!(
        o.status.success(),
        "skopeo {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Runs skopeo expecting it to fail with `needle` in its message.
fn skopeo_fails(args: &[&str], needle: &str) {
    let o = Command::new("skopeo")
        .args(["--insecure-policy"])
        .args(args)
        .output()
        .expect("run skopeo (install skopeo)");
    assert!(
        !o.status.success(),
        "skopeo {} unexpectedly succeeded: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stdout)
    );
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        e.contains(needle),
        "skopeo {}: expected {needle:?} in: {e}",
        args.join(" ")
    );
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("digest").to_string())
        .collect()
}

fn tmp() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("berth-selftest-")
        .tempdir()
        .expect("temp dir")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Checks with skopeo that `transport` holds `img`: the manifest skopeo derives names our
/// config digest and (uncompressed or given) layer digests, and the raw config is ours
/// byte for byte.
fn assert_skopeo_sees(transport: &str, img: &TestImage, layers: &[String]) {
    let m = json(&skopeo(&["inspect", "--raw", transport]));
    assert_eq!(m["config"]["digest"], img.image_id(), "{transport}: {m}");
    assert_eq!(layer_digests(&m), layers, "{transport}: {m}");
    let cfg = skopeo(&["inspect", "--config", "--raw", transport]);
    assert_eq!(cfg, img.config_bytes(), "{transport}: config bytes differ");
}

/// Copies `src` to a fresh OCI directory with skopeo (reading and digest-checking every
/// blob) and returns the copy's config diff_ids.
fn skopeo_copy_diff_ids(src: &str) -> Vec<String> {
    let d = tmp();
    let dst = format!("oci:{}:copy", path_str(d.path()));
    skopeo(&["copy", "--quiet", src, &dst]);
    let cfg = json(&skopeo(&["inspect", "--config", "--raw", &dst]));
    cfg["rootfs"]["diff_ids"]
        .as_array()
        .expect("diff_ids")
        .iter()
        .map(|d| d.as_str().expect("diff_id").to_string())
        .collect()
}

#[test]
fn image_id_is_sha256_of_config_bytes() {
    let img = busybox_image("busybox:latest")
        .env("A=1")
        .label("l", "v")
        .expose("80/tcp")
        .volume("/data")
        .workdir("/w")
        .user("1:2")
        .entrypoint(&["/bin/sh", "-c"])
        .empty_layer_history("/bin/sh -c #(nop) CMD [\"sh\"]");
    let bytes = img.config_bytes();
    assert_eq!(img.image_id(), sha256_digest(&bytes));
    assert_eq!(img.short_id().len(), 12);
    assert!(img.image_id().ends_with(&img.id_hex()));
    let cfg = json(&bytes);
    assert_eq!(cfg["rootfs"]["diff_ids"], serde_json::json!(img.diff_ids()));
    assert_eq!(img.diff_ids(), vec![sha256_digest(&img.layers()[0])]);
    assert_eq!(cfg["config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(cfg["config"]["Env"][1], "A=1");
    assert_eq!(
        cfg["config"]["ExposedPorts"]["80/tcp"],
        serde_json::json!({})
    );
    assert_eq!(cfg["architecture"], host_arch());
    let h = cfg["history"].as_array().expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(h[1]["empty_layer"], true);
    // Deterministic: the same recipe gives the same id.
    assert_eq!(
        busybox_image("x").image_id(),
        busybox_image("y").image_id(),
        "tags are not part of the config"
    );
    assert_ne!(
        busybox_image("x").image_id(),
        tiny_image("a", "x").image_id()
    );
    assert_eq!(img.tags(), ["busybox:latest"]);
    assert_eq!(TestImage::new().tag("me/app").tags(), ["me/app:latest"]);
}

#[test]
fn reference_helpers() {
    assert_eq!(split_tag("busybox"), ("busybox", "latest"));
    assert_eq!(
        split_tag("localhost:5000/a/b"),
        ("localhost:5000/a/b", "latest")
    );
    assert_eq!(
        split_tag("localhost:5000/a/b:v1"),
        ("localhost:5000/a/b", "v1")
    );
    assert_eq!(full_name("busybox"), "docker.io/library/busybox:latest");
    assert_eq!(full_name("me/app:1"), "docker.io/me/app:1");
    assert_eq!(full_name("quay.io/x/y:z"), "quay.io/x/y:z");
    assert_eq!(full_name("localhost/y"), "localhost/y:latest");
    assert_eq!(busybox_link_target("bin/sh"), "busybox");
    assert_eq!(busybox_link_target("sbin/ip"), "../bin/busybox");
    assert_eq!(busybox_link_target("usr/bin/env"), "../../bin/busybox");
    assert_eq!(busybox_link_target("linuxrc"), "bin/busybox");
}

#[test]
fn rootfs_tar_is_deterministic_sorted_and_round_trips() {
    let long = format!("deep/{}/file", "d".repeat(120));
    let r = Rootfs::new()
        .file("z/file", "zz")
        .hardlink("a/link", "z/file")
        .symlink("a/sym", "../z/file")
        .add(
            Entry::file("a/suid", "x")
                .mode(0o4755)
                .owner(1000, 1001)
                .mtime(42),
        )
        .whiteout("b/gone")
        .opaque("c")
        .add(Entry::fifo("f"))
        .file(&long, "long");
    let t = r.to_tar();
    assert_eq!(t, r.clone().to_tar(), "not deterministic");

    let mut a = tar::Archive::new(&t[..]);
    let mut names = Vec::new();
    for e in a.entries().expect("tar") {
        let e = e.expect("entry");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let h = e.header();
        if name == "a/suid" {
            assert_eq!(h.mode().expect("mode"), 0o4755);
            assert_eq!((h.uid().expect("uid"), h.gid().expect("gid")), (1000, 1001));
            assert_eq!(h.mtime().expect("mtime"), 42);
        } else {
            assert_eq!(h.mtime().expect("mtime"), MTIME, "{name}");
        }
        names.push(name);
    }
    let dd = format!("deep/{}/", "d".repeat(120));
    let expect = [
        "a/",
        "a/suid",
        "a/sym",
        "b/",
        "b/.wh.gone",
        "c/",
        "c/.wh..wh..opq",
        "deep/",
        &dd,
        &long,
        "f",
        "z/",
        "z/file",
        "a/link",
    ];
    assert_eq!(names, expect);

    let back = Rootfs::from_tar(&t);
    let back: Vec<Entry> = back.entries().cloned().collect();
    let mut want = r.tar_entries();
    want.sort_by(|x, y| x.path.cmp(&y.path));
    assert_eq!(back, want);
    assert_eq!(
        Rootfs::from_tar(&t).get("b/.wh.gone").map(|e| &e.kind),
        Some(&Kind::Whiteout)
    );
    // Compressed layers read back the same.
    for c in [Compression::Gzip, Compression::Zstd] {
        let z = c.compress(&t);
        assert_ne!(z, t);
        assert_eq!(decompress(&z), t, "{c:?}");
    }
    // Without implicit parents, only the explicit entries are written.
    let bare = Rootfs::new().file("x/y", "1").without_parents().to_tar();
    assert_eq!(Files::from_tar(&bare).paths(), ["x/y"]);
    // Hostile names the tar crate refuses are still written, raw.
    let evil = Rootfs::new()
        .file("../escape", "x")
        .without_parents()
        .to_tar();
    assert_eq!(Files::from_tar(&evil).paths(), ["../escape"]);
}

#[test]
fn busybox_rootfs_works_in_a_chroot() {
    let img = busybox_image("");
    let r = Rootfs::from_tar(&img.layers()[0]);
    let bb = std::fs::read("/bin/busybox").expect("/bin/busybox");
    let e = r.get("bin/busybox").expect("bin/busybox");
    assert_eq!(e.kind, Kind::File(bb));
    assert_eq!(e.mode, 0o755);
    assert_eq!(
        r.get("bin/sh").expect("bin/sh").kind,
        Kind::Symlink("busybox".into())
    );
    assert_eq!(r.get("tmp").expect("tmp").mode, 0o1777);
    assert_eq!(r.get("root").expect("root").mode, 0o700);
    assert!(r.get("usr/bin/env").is_some() || r.get("bin/env").is_some());
    match &r.get("etc/passwd").expect("passwd").kind {
        Kind::File(d) => assert!(d.starts_with(b"root:x:0:0:root:/root:/bin/sh\n")),
        k => panic!("etc/passwd is {k:?}"),
    }

    // Unpack with the host's tar and run the shell in it: the layer is a usable root.
    let d = tmp();
    let layer = d.path().join("layer.tar");
    std::fs::write(&layer, &img.layers()[0]).expect("write layer");
    let root = d.path().join("root");
    std::fs::create_dir(&root).expect("mkdir");
    let st = Command::new("tar")
        .args(["-xpf", path_str(&layer), "-C", path_str(&root)])
        .status()
        .expect("run tar");
    assert!(st.success(), "host tar rejected the busybox layer");
    let o = Command::new("chroot")
        .arg(&root)
        .args([
            "/bin/sh",
            "-c",
            "id -un; ls /usr/bin/env >/dev/null && echo ok",
        ])
        .output()
        .expect("run chroot");
    assert!(
        o.status.success(),
        "chroot sh: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "root\nok\n");
}

/// (path, what, mode) of every node below `root`, `what` being `dir`, `file:<sha256>` or
/// `link:<target>`.
fn walk(root: &Path) -> BTreeMap<String, (String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir") {
            let p = e.expect("dir entry").path();
            let rel = p
                .strip_prefix(root)
                .expect("prefix")
                .to_string_lossy()
                .into_owned();
            let md = std::fs::symlink_metadata(&p).expect("lstat");
            let what = if md.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else if md.file_type().is_symlink() {
                format!(
                    "link:{}",
                    std::fs::read_link(&p).expect("readlink").display()
                )
            } else {
                format!("file:{}", sha256_hex(&std::fs::read(&p).expect("read")))
            };
            let mode = if md.file_type().is_symlink() {
                0o777
            } else {
                md.permissions().mode() & 0o7777
            };
            out.insert(rel, (what, mode));
        }
    }
    out
}

#[test]
fn script_makes_the_same_busybox_rootfs() {
    let d = tmp();
    let dest = d.path().join("rootfs");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/make-busybox-rootfs.sh"
    );
    let o = Command::new(script)
        .arg(&dest)
        .output()
        .expect("run script");
    assert!(
        o.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let from_script = walk(&dest);

    let from_rust: BTreeMap<String, (String, u32)> = Rootfs::busybox()
        .tar_entries()
        .into_iter()
        .map(|e| {
            let what = match &e.kind {
                Kind::Dir => "dir".to_string(),
                Kind::File(d) => format!("file:{}", sha256_hex(d)),
                Kind::Symlink(t) => format!("link:{t}"),
                k => panic!("unexpected {k:?} in the busybox rootfs"),
            };
            (e.path, (what, e.mode))
        })
        .collect();
    assert!(from_rust.len() > 200, "only {} entries", from_rust.len());
    for (p, v) in &from_rust {
        assert_eq!(
            from_script.get(p),
            Some(v),
            "{p}: script differs from Rootfs::busybox"
        );
    }
    let extra: Vec<_> = from_script
        .keys()
        .filter(|k| !from_rust.contains_key(*k))
        .collect();
    assert!(extra.is_empty(), "only the script makes {extra:?}");
}

#[test]
fn docker_archive_is_read_by_skopeo() {
    let d = tmp();
    let bb = busybox_image("busybox:latest");
    let multi = multi_layer_image(3, "example.com/multi:v1");
    let p = d.path().join("a.tar");
    std::fs::write(&p, to_docker_archive(&[bb.clone(), multi.clone()])).expect("write");

    let files = Files::from_tar(&std::fs::read(&p).expect("read"));
    let m = files.json("manifest.json");
    assert_eq!(m[0]["Config"], format!("{}.json", bb.id_hex()));
    assert_eq!(
        m[1]["RepoTags"],
        serde_json::json!(["example.com/multi:v1"])
    );
    assert!(files.get("repositories").is_some());
    let l0 = m[0]["Layers"][0].as_str().expect("layer path");
    assert!(l0.ends_with("/layer.tar"));
    let v = l0.trim_end_matches("/layer.tar");
    assert_eq!(files.get(&format!("{v}/VERSION")), Some(&b"1.0"[..]));
    assert_eq!(
        json(files.get(&format!("{v}/json")).expect("json"))["id"],
        v
    );

    let ps = path_str(&p);
    assert_skopeo_sees(
        &format!("docker-archive:{ps}:busybox:latest"),
        &bb,
        &bb.diff_ids(),
    );
    let src = format!("docker-archive:{ps}:example.com/multi:v1");
    assert_skopeo_sees(&src, &multi, &multi.diff_ids());
    assert_eq!(skopeo_copy_diff_ids(&src), multi.diff_ids());

    // A single untagged image is addressed without a reference.
    let q = d.path().join("untagged.tar");
    let t = tiny_image("u", "");
    std::fs::write(&q, to_docker_archive(std::slice::from_ref(&t))).expect("write");
    let m = Files::from_tar(&std::fs::read(&q).expect("read")).json("manifest.json");
    assert_eq!(m[0]["RepoTags"], Value::Null);
    assert_skopeo_sees(
        &format!("docker-archive:{}", path_str(&q)),
        &t,
        &t.diff_ids(),
    );
}

#[test]
fn docker_archive_v25_is_read_by_skopeo_both_ways() {
    let d = tmp();
    let img = multi_layer_image(2, "busybox:v25");
    let p = d.path().join("a.tar");
    std::fs::write(&p, to_docker_archive_v25(std::slice::from_ref(&img))).expect("write");
    let files = Files::from_tar(&std::fs::read(&p).expect("read"));
    let m = files.json("manifest.json");
    assert_eq!(m[0]["Config"], format!("blobs/sha256/{}", img.id_hex()));
    let idx = files.json("index.json");
    let ann = &idx["manifests"][0]["annotations"];
    assert_eq!(
        ann["io.containerd.image.name"],
        "docker.io/library/busybox:v25"
    );
    assert_eq!(ann["org.opencontainers.image.ref.name"], "v25");
    assert!(files.get("oci-layout").is_some());
    assert_eq!(idx["manifests"][0]["platform"], platform_of(&img));
    assert!(files
        .get("manifest.json")
        .expect("manifest")
        .ends_with(b"]\n"));
    let untagged = Files::from_tar(&to_docker_archive_v25(&[tiny_image("u", "")]));
    assert_eq!(
        untagged.json("index.json")["manifests"],
        serde_json::json!([])
    );

    let ps = path_str(&p);
    assert_skopeo_sees(&format!("docker-archive:{ps}"), &img, &img.diff_ids());
    let oci = format!("oci-archive:{ps}:v25");
    assert_skopeo_sees(&oci, &img, &img.diff_ids());
    assert_eq!(skopeo_copy_diff_ids(&oci), img.diff_ids());
}

#[test]
fn oci_layouts_are_read_by_skopeo_for_every_compression() {
    for comp in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let d = tmp();
        let img = busybox_image("example.com/ns/app:v1").layer(Rootfs::new().file("hello", "hi\n"));
        let dir = d.path().join("layout");
        to_oci_layout_dir(&dir, std::slice::from_ref(&img), comp);
        let blobs: Vec<String> = img
            .layers()
            .iter()
            .map(|l| sha256_digest(&comp.compress(l)))
            .collect();
        if comp != Compression::None {
            assert_ne!(blobs, img.diff_ids(), "{comp:?}");
        }
        let src = format!("oci:{}:v1", path_str(&dir));
        assert_skopeo_sees(&src, &img, &blobs);
        let raw = skopeo(&["inspect", "--raw", &src]);
        assert_eq!(raw, oci_manifest_bytes(&img, comp), "{comp:?}");
        let m = json(&raw);
        assert_eq!(m["layers"][0]["mediaType"], comp.media_type());
        assert_eq!(skopeo_copy_diff_ids(&src), img.diff_ids(), "{comp:?}");

        let idx: Value = json(&std::fs::read(dir.join("index.json")).expect("index.json"));
        assert_eq!(
            idx["manifests"][0]["annotations"]["io.containerd.image.name"],
            "example.com/ns/app:v1"
        );

        let p = d.path().join("a.tar");
        std::fs::write(&p, to_oci_archive(std::slice::from_ref(&img), comp)).expect("write");
        let src = format!("oci-archive:{}:v1", path_str(&p));
        assert_skopeo_sees(&src, &img, &blobs);
    }
}

#[test]
fn multi_platform_layout_is_read_by_skopeo() {
    let d = tmp();
    let host = busybox_image("");
    let arm = tiny_image("arm", "").platform("linux", "arm64", Some("v8"));
    let other = if host_arch() == "arm64" {
        tiny_image("amd", "").platform("linux", "amd64", None)
    } else {
        arm.clone()
    };
    let dir = d.path().join("layout");
    let files =
        to_oci_multi_platform_files(&[host.clone(), other.clone()], "multi:1", Compression::Gzip);
    files.write_to_dir(&dir);
    let src = format!("oci:{}:1", path_str(&dir));
    let list = json(&skopeo(&["inspect", "--raw", &src]));
    assert_eq!(list["mediaType"], media::INDEX);
    assert_eq!(list["manifests"].as_array().map(Vec::len), Some(2));
    assert_eq!(list["manifests"][1]["platform"], platform_of(&other));
    // skopeo picks the host's platform from the nested index ...
    assert_eq!(
        skopeo(&["inspect", "--config", "--raw", &src]),
        host.config_bytes()
    );
    // ... or the one asked for.
    let cfg = other.config();
    let mut args = vec![
        "--override-arch",
        cfg["architecture"].as_str().expect("arch"),
    ];
    if let Some(v) = cfg["variant"].as_str() {
        args.extend(["--override-variant", v]);
    }
    args.extend(["inspect", "--config", "--raw", &src]);
    assert_eq!(skopeo(&args), other.config_bytes());
    let p = d.path().join("a.tar");
    std::fs::write(
        &p,
        to_oci_multi_platform_archive(&[host.clone(), other], "multi:1", Compression::None),
    )
    .expect("write");
    let src = format!("oci-archive:{}:1", path_str(&p));
    assert_eq!(
        skopeo(&["inspect", "--config", "--raw", &src]),
        host.config_bytes()
    );
}

#[test]
fn multi_layer_image_has_distinct_layers_and_a_whiteout() {
    let img = multi_layer_image(4, "m:1");
    let ids = img.diff_ids();
    assert_eq!(ids.len(), 4);
    let unique: std::collections::BTreeSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 4);
    let last = Rootfs::from_tar(&img.layers()[3]);
    assert_eq!(
        last.get("data/.wh.gone").map(|e| &e.kind),
        Some(&Kind::Whiteout)
    );
    assert_eq!(
        last.get("data/dir/.wh..wh..opq").map(|e| &e.kind),
        Some(&Kind::Opaque)
    );
    let first = Rootfs::from_tar(&img.layers()[0]);
    assert!(first.get("data/gone").is_some() && first.get("data/dir/old").is_some());
    assert_eq!(multi_layer_image(1, "").layers().len(), 1);
}

#[test]
fn hostile_archives_are_broken_in_the_intended_way() {
    let d = tmp();
    let img = multi_layer_image(2, "h:1");
    let good = to_docker_archive(std::slice::from_ref(&img));
    let write = |name: &str, data: &[u8]| {
        let p = d.path().join(name);
        std::fs::write(&p, data).expect("write");
        format!("docker-archive:{}", path_str(&p))
    };
    // The unbroken archive loads, so each failure below is the one intended fault.
    skopeo(&["inspect", "--raw", &write("good.tar", &good)]);

    let t = hostile::truncated(&good, good.len() / 2);
    assert_eq!(t.len(), good.len() / 2);
    skopeo_fails(
        &["inspect", "--raw", &write("trunc.tar", &t)],
        "unexpected EOF",
    );

    let g = hostile::garbage(10_000);
    assert_eq!(g, hostile::garbage(10_000));
    assert!(tar::Archive::new(&g[..])
        .entries()
        .expect("iter")
        .next()
        .is_none_or(|e| e.is_err()));
    skopeo_fails(
        &["inspect", "--raw", &write("garbage.tar", &g)],
        "invalid tar header",
    );

    let m = hostile::missing_layer(&img);
    let f = Files::from_tar(&m);
    let last = f.json("manifest.json")[0]["Layers"][1]
        .as_str()
        .expect("layer")
        .to_string();
    assert!(f.get(&last).is_none());
    skopeo_fails(
        &[
            "copy",
            "--quiet",
            &write("missing.tar", &m),
            &format!("oci:{}:x", path_str(d.path())),
        ],
        "layer tarfiles are missing",
    );

    let w = hostile::wrong_diff_ids(&img);
    let f = Files::from_tar(&w);
    let cfg_name = f.json("manifest.json")[0]["Config"]
        .as_str()
        .expect("config")
        .to_string();
    let cfg = f.get(&cfg_name).expect("config member");
    assert_eq!(
        cfg_name,
        format!("{}.json", sha256_hex(cfg)),
        "config name must match"
    );
    assert_ne!(json(cfg)["rootfs"]["diff_ids"][0], img.diff_ids()[0]);
    assert_eq!(json(cfg)["rootfs"]["diff_ids"][1], img.diff_ids()[1]);
    let dst = d.path().join("wrong");
    skopeo_fails(
        &[
            "copy",
            "--quiet",
            &write("wrong.tar", &w),
            &format!("oci:{}:x", path_str(&dst)),
        ],
        "Digest did not match",
    );

    let dd = hostile::dotdot_paths(&img);
    let man = Files::from_tar(&dd).json("manifest.json");
    assert!(man[0]["Config"]
        .as_str()
        .expect("config")
        .starts_with("../"));
    assert!(man[0]["Layers"][0]
        .as_str()
        .expect("layer")
        .starts_with("../../"));
    skopeo_fails(&["inspect", "--raw", &write("dotdot.tar", &dd)], "../");

    let big = hostile::oversize_manifest(&img, (4 << 20) + 1);
    let f = Files::from_tar(&big);
    assert_eq!(
        f.get("manifest.json").expect("manifest").len(),
        (4 << 20) + 1
    );
    assert_eq!(
        f.json("manifest.json"),
        Files::from_tar(&good).json("manifest.json")
    );

    let mut edited =
        hostile::with_manifest(&img, |m| m[0]["RepoTags"] = serde_json::json!(["other:2"]));
    assert_eq!(
        Files::from_tar(&edited).json("manifest.json")[0]["RepoTags"][0],
        "other:2"
    );
    edited.clear();
}

#[test]
fn index_confusions_are_what_they_claim() {
    let img = tiny_image("c", "c:1");
    let read = |how| {
        let f = Files::from_tar(&hostile::index_confusion(&img, how));
        let idx = f.json("index.json");
        (f, idx)
    };
    let blob = |f: &Files, digest: &Value| {
        let d = digest
            .as_str()
            .expect("digest")
            .trim_start_matches("sha256:")
            .to_string();
        json(f.get(&format!("blobs/sha256/{d}")).expect("blob"))
    };

    let (f, idx) = read(Confusion::ManifestIsIndex);
    let d = &idx["manifests"][0];
    assert_eq!(d["mediaType"], media::MANIFEST);
    assert_eq!(blob(&f, &d["digest"])["mediaType"], media::INDEX);

    let (f, idx) = read(Confusion::IndexIsManifest);
    let d = &idx["manifests"][0];
    assert_eq!(d["mediaType"], media::INDEX);
    assert_eq!(blob(&f, &d["digest"])["mediaType"], media::MANIFEST);

    let (f, idx) = read(Confusion::ConfigIsLayer);
    let m = blob(&f, &idx["manifests"][0]["digest"]);
    assert_eq!(m["config"]["digest"], img.diff_ids()[0]);

    let (_, idx) = read(Confusion::IndexNotObject);
    assert!(idx.is_array());

    let (f, idx) = read(Confusion::WrongSize);
    let d = &idx["manifests"][0];
    let digest = d["digest"]
        .as_str()
        .expect("digest")
        .trim_start_matches("sha256:")
        .to_string();
    let real = f
        .get(&format!("blobs/sha256/{digest}"))
        .expect("blob")
        .len();
    assert_eq!(d["size"], real + 1);
}

#[test]
fn harness_runs_berth_in_its_own_root() {
    let b = Berth::new();
    assert!(b.ok(&["--version"]).contains("berth"));
    let err = b.cmd(&["no-such-verb"]).fails_with(125);
    assert!(!err.is_empty());
    let o = b.cmd(&["--version"]).stdin("ignored").run();
    assert!(o.success() && o.signal.is_none(), "{o}");
    assert_eq!(o.stdout.as_bytes(), &o.stdout_bytes[..]);
    assert!(b.root_path() != b.run_path());
    assert!(b.home().is_dir());
    let p = b.write("sub/file", "x");
    assert_eq!(std::fs::read(&p).expect("read"), b"x");
    assert!(p.starts_with(b.scratch()));
}

#[test]
fn harness_cleanup_detaches_mounts_under_root() {
    use rustix::mount::{mount, MountFlags};
    let b = Berth::new();
    let outer = b.root_path().join("m");
    let inner = outer.join("inner");
    std::fs::create_dir(&outer).expect("mkdir");
    mount("tmpfs", &outer, "tmpfs", MountFlags::empty(), None).expect("mount tmpfs");
    std::fs::create_dir(&inner).expect("mkdir");
    mount("tmpfs", &inner, "tmpfs", MountFlags::empty(), None).expect("mount tmpfs");
    let under = |b: &Berth| {
        mount_points()
            .into_iter()
            .filter(|m| m.starts_with(b.root_path()))
            .count()
    };
    assert_eq!(under(&b), 2);
    b.cleanup();
    assert_eq!(
        under(&b),
        0,
        "mounts left under {}",
        b.root_path().display()
    );
    b.cleanup();
}

#[test]
fn wait_timeout_kills_and_reports() {
    let child = Command::new("sh")
        .args(["-c", "echo started; exec sleep 30"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sh");
    let t0 = std::time::Instant::now();
    let o = wait_timeout(child, std::time::Duration::from_millis(300)).expect_err("must time out");
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(o.signal, Some(9));
    assert_eq!(o.code, 137);
    assert_eq!(o.stdout, "started\n");
}
