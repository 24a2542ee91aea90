//! Interoperability with skopeo (containers/image): berth's archives are valid for it, and
//! what it writes loads into berth with the same digests.

use std::process::Command;

use crate::fixtures::{docker_archive, Image, Layer};
use crate::harness::Berth;

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(["--insecure-policy", "--override-os", "linux"])
        .args(args)
        .output()
        .expect("skopeo (install with scripts/deps.sh)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn berth_archives_are_valid_for_skopeo() {
    let b = Berth::new();
    let img = Image::new(
        vec![
            Layer::busybox(),
            Layer::new().file("app", b"1", 0o644).bytes(),
        ],
        &["app:1"],
    );
    b.cmd(&["load"]).stdin(docker_archive(&[&img])).ok();
    let dir = b.scratch();
    let da = dir.join("app.tar");
    b.ok(&["save", "-o", da.to_str().unwrap(), "app:1"]);
    let info: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("docker-archive:{}", da.display()),
    ]))
    .unwrap();
    assert_eq!(info["Layers"], serde_json::json!(img.diff_ids()));
    let cfg: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--config",
        &format!("docker-archive:{}", da.display()),
    ]))
    .unwrap();
    assert_eq!(cfg["rootfs"]["diff_ids"], serde_json::json!(img.diff_ids()));
    skopeo(&[
        "copy",
        "-q",
        &format!("docker-archive:{}", da.display()),
        &format!("oci:{}:app", dir.join("layout").display()),
    ]);
    let oa = dir.join("app-oci.tar");
    b.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oa.to_str().unwrap(),
        "app:1",
    ]);
    let info: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("oci-archive:{}", oa.display()),
    ]))
    .unwrap();
    assert_eq!(info["Layers"].as_array().unwrap().len(), 2);
}

#[test]
fn an_oci_layout_written_by_skopeo_loads_with_the_same_digests() {
    let b = Berth::new();
    let dir = b.scratch();
    let src = dir.join("src.tar");
    let img = Image::new(
        vec![
            Layer::busybox(),
            Layer::new().file("x", b"x", 0o644).bytes(),
        ],
        &["src:1"],
    );
    std::fs::write(&src, docker_archive(&[&img])).unwrap();
    let layout = dir.join("layout");
    skopeo(&[
        "copy",
        "-q",
        &format!("docker-archive:{}", src.display()),
        &format!("oci:{}:v1", layout.display()),
    ]);
    // The layout's own manifest says which config and layers it holds.
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mdigest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("blobs/sha256").join(mdigest)).unwrap())
            .unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    let tarball = dir.join("layout.tar");
    let st = Command::new("tar")
        .args([
            "-C",
            layout.to_str().unwrap(),
            "-cf",
            tarball.to_str().unwrap(),
            ".",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let out = b.ok(&["load", "-i", tarball.to_str().unwrap()]);
    assert_eq!(out, format!("Loaded image ID: {config_digest}\n"));
    let layers = b.ok(&[
        "image",
        "inspect",
        "-f",
        "{{json .RootFS.Layers}}",
        &config_digest,
    ]);
    assert_eq!(
        layers.trim(),
        serde_json::to_string(&img.diff_ids()).unwrap()
    );
    // And what berth saves from it, skopeo reads back with the same layers.
    let again = dir.join("again.tar");
    b.ok(&["tag", &config_digest, "again:1"]);
    b.ok(&["save", "-o", again.to_str().unwrap(), "again:1"]);
    let info: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        &format!("docker-archive:{}", again.display()),
    ]))
    .unwrap();
    assert_eq!(info["Layers"], serde_json::json!(img.diff_ids()));
}
