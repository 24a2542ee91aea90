//! images, tag, rmi, inspect, history, prune.

use crate::fixtures::{docker_archive, Image, Layer};
use crate::harness::Berth;

fn loaded(b: &Berth, imgs: &[&Image]) {
    b.cmd(&["load"]).stdin(docker_archive(imgs)).ok();
}

#[test]
fn images_table_shows_each_tag_as_a_row_like_docker() {
    let b = Berth::new();
    let bb = Image::busybox(&["busybox:latest"]);
    loaded(&b, &[&bb]);
    b.ok(&["tag", "busybox", "example.com/team/bb:v1"]);
    b.ok(&["tag", &bb.id()[7..19], "bb2"]);
    let out = b.ok(&["images"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"],
        "{out}"
    );
    // Go tabwriter columns: each as wide as its widest cell plus 3 spaces.
    assert!(
        lines[0].starts_with("REPOSITORY            TAG       IMAGE ID"),
        "{out}"
    );
    let short = &bb.id()[7..19];
    for repo in ["busybox", "example.com/team/bb", "bb2"] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(repo) && l.contains(short)),
            "{repo} row missing: {out}"
        );
    }
    assert!(
        out.contains("2.0") || out.contains("MB"),
        "size column: {out}"
    );
    assert_eq!(
        b.ok(&["images", "-q"])
            .lines()
            .filter(|l| *l == short)
            .count(),
        3
    );
    let full = b.ok(&["images", "--no-trunc", "-q", "busybox"]);
    assert_eq!(full.trim(), bb.id());
    assert!(b
        .ok(&["image", "ls", "--digests"])
        .lines()
        .next()
        .unwrap()
        .contains("DIGEST"));
    let json = b.ok(&["images", "--format", "json", "busybox"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(v["Repository"], "busybox");
    assert_eq!(v["Tag"], "latest");
    let t = b.ok(&[
        "images",
        "--format",
        "table {{.Repository}}\t{{.Tag}}",
        "bb2",
    ]);
    assert_eq!(t, "REPOSITORY   TAG\nbb2          latest\n");
}

#[test]
fn images_filters() {
    let b = Berth::new();
    let old = Image::tiny("old", &["old:1"]).created("2020-01-01T00:00:00Z");
    let mid = Image::tiny("mid", &["mid:1"]).created("2022-01-01T00:00:00Z");
    let mut new = Image::tiny("new", &["new:1"]).created("2024-01-01T00:00:00Z");
    new.config["config"]["Labels"] = serde_json::json!({"tier": "web"});
    loaded(&b, &[&old, &mid, &new]);
    let names = |args: &[&str]| {
        let mut a = vec!["images", "--format", "{{.Repository}}"];
        a.extend_from_slice(args);
        let mut v: Vec<String> = b.ok(&a).lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(names(&[]), ["mid", "new", "old"]);
    assert_eq!(names(&["--filter", "before=mid:1"]), ["old"]);
    assert_eq!(names(&["--filter", "since=mid:1"]), ["new"]);
    assert_eq!(names(&["--filter", "label=tier=web"]), ["new"]);
    assert_eq!(names(&["--filter", "label=tier"]), ["new"]);
    assert_eq!(names(&["--filter", "reference=m*"]), ["mid"]);
    assert_eq!(names(&["--filter", "dangling=true"]), Vec::<String>::new());
    // Moving a tag leaves the old image dangling.
    b.ok(&["tag", "new:1", "mid:1"]);
    assert_eq!(names(&["--filter", "dangling=true"]), ["<none>"]);
    assert_eq!(names(&["-f", "dangling=false"]), ["mid", "new", "old"]);
    let e = b.cmd(&["images", "--filter", "color=red"]).fails(1);
    assert!(e.contains("invalid filter 'color'"), "{e}");
}

#[test]
fn rmi_untags_deletes_and_refuses_like_docker() {
    let b = Berth::new();
    let img = Image::new(
        vec![
            Layer::busybox(),
            Layer::new().file("x", b"x", 0o644).bytes(),
        ],
        &["app:1"],
    );
    loaded(&b, &[&img]);
    b.ok(&["tag", "app:1", "app:2"]);
    let short = &img.id()[7..19];
    let e = b.cmd(&["rmi", short]).fails(1);
    assert!(
        e.contains(&format!("conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories")),
        "{e}"
    );
    assert_eq!(b.ok(&["rmi", "app:2"]), "Untagged: app:2\n");
    let out = b.ok(&["rmi", "app:1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "Untagged: app:1");
    assert_eq!(lines[1], format!("Deleted: {}", img.id()));
    assert_eq!(lines.len(), 4, "image and two layers deleted: {out}");
    assert!(b.list("layers").is_empty(), "{:?}", b.list("layers"));
    assert!(
        b.list("blobs/sha256").is_empty(),
        "{:?}",
        b.list("blobs/sha256")
    );
    assert_eq!(b.ok(&["images", "-q"]), "");
    let e = b.cmd(&["rmi", "nope"]).fails(1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: No such image: nope:latest"
    );
    // -f deletes an image with several tags; shared layers survive for the other image.
    let a = Image::new(vec![Layer::busybox()], &["a:1"]);
    let c = Image::new(
        vec![
            Layer::busybox(),
            Layer::new().file("c", b"c", 0o644).bytes(),
        ],
        &["c:1"],
    );
    loaded(&b, &[&a, &c]);
    b.ok(&["tag", "a:1", "a:2"]);
    let out = b.ok(&["rmi", "-f", &a.id()]);
    assert!(
        out.contains("Untagged: a:1") && out.contains("Untagged: a:2"),
        "{out}"
    );
    assert_eq!(b.list("layers").len(), 2, "c still needs the busybox layer");
    assert!(b
        .ok(&["image", "inspect", "-f", "{{.Id}}", "c:1"])
        .contains(&c.id()));
}

#[test]
fn inspect_shape_and_history() {
    let b = Berth::new();
    let img = Image::busybox(&["busybox:latest"]);
    loaded(&b, &[&img]);
    let out = b.ok(&["image", "inspect", "busybox"]);
    assert!(out.starts_with("[\n    {\n        \"Id\": "), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = &v[0];
    assert_eq!(v["Id"], img.id());
    assert_eq!(v["RepoTags"], serde_json::json!(["busybox:latest"]));
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["Architecture"], "amd64");
    assert_eq!(v["Created"], "2024-01-02T03:04:05Z");
    assert_eq!(v["RootFS"]["Type"], "layers");
    assert_eq!(v["GraphDriver"]["Name"], "overlay2");
    assert!(v["Size"].as_u64().unwrap() > 1_000_000);
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["sh"]));
    // Generic inspect; a missing name is reported after the found ones.
    let o = b
        .cmd(&["inspect", "--format", "{{.Os}}", "busybox", "missing"])
        .run();
    assert_eq!(o.code, 1);
    assert_eq!(o.stdout, "linux\n");
    assert!(o.stderr.contains("No such object: missing"), "{}", o.stderr);
    let h = b.ok(&["history", "busybox"]);
    let lines: Vec<&str> = h.lines().collect();
    assert!(lines[0].starts_with("IMAGE          CREATED"), "{h}");
    assert!(lines[1].starts_with(&img.id()[7..19]), "{h}");
    assert!(
        lines[1].contains("/bin/sh -c #(nop) ADD layer0 in /"),
        "{h}"
    );
    let raw = b.ok(&[
        "history",
        "-H=false",
        "--format",
        "{{.CreatedSince}} {{.Size}}",
        "busybox",
    ]);
    assert!(raw.starts_with("2024-01-02T03:04:05Z "), "{raw}");
    let size: u64 = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let text = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
        .len()
        + "root:x:0:\nnogroup:x:65534:\n".len();
    assert_eq!(
        size,
        std::fs::metadata("/bin/busybox").unwrap().len() + text as u64
    );
    assert_eq!(
        b.ok(&["history", "-q", "--no-trunc", "busybox"]).trim(),
        img.id()
    );
}

#[test]
fn prune_removes_dangling_then_everything_unused() {
    let b = Berth::new();
    let one = Image::tiny("one", &["keep:1"]);
    let two = Image::tiny("two", &["keep:1"]);
    loaded(&b, &[&one]);
    let out = b.cmd(&["load"]).stdin(docker_archive(&[&two])).ok();
    assert!(
        out.contains(&format!(
            "The image keep:1 already exists, renaming the old one with ID {} to empty string",
            one.id()
        )),
        "{out}"
    );
    let out = b.ok(&["image", "prune", "-f"]);
    assert!(out.starts_with("Deleted Images:\ndeleted: "), "{out}");
    assert!(out.contains(&one.id()), "{out}");
    assert!(out.contains("Total reclaimed space: "), "{out}");
    assert_eq!(b.ok(&["images", "-q", "--no-trunc"]).trim(), two.id());
    assert_eq!(
        b.ok(&["image", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
    let out = b.ok(&["image", "prune", "-a", "-f"]);
    assert!(out.contains("untagged: keep:1"), "{out}");
    assert_eq!(b.ok(&["images", "-q"]), "");
    assert!(b.list("layers").is_empty());
}

#[test]
fn references_and_flags_are_validated_like_docker() {
    let b = Berth::new();
    loaded(&b, &[&Image::tiny("r", &["r:1"])]);
    let e = b.cmd(&["tag", "r:1", "Bad/Name"]).fails(1);
    assert!(
        e.contains("repository name (Name) must be lowercase"),
        "{e}"
    );
    let e = b.cmd(&["tag", "r:1", "bad/Name"]).fails(1);
    assert!(
        e.contains("repository name (bad/Name) must be lowercase"),
        "{e}"
    );
    let e = b.cmd(&["tag", "r:1", "a:b:c"]).fails(1);
    assert!(e.contains("invalid reference format"), "{e}");
    let e = b.cmd(&["images", "--bogus"]).fails(125);
    assert!(e.starts_with("unknown flag: --bogus"), "{e}");
    // busybox, library/busybox and docker.io/library/busybox:latest are one name.
    b.ok(&["tag", "r:1", "docker.io/library/busybox:latest"]);
    assert_eq!(b.ok(&["images", "-q", "busybox"]).lines().count(), 1);
    b.ok(&["rmi", "library/busybox"]);
    assert_eq!(b.ok(&["images", "-q", "busybox"]), "");
}

#[test]
fn store_directories_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let b = Berth::new();
    b.ok(&["images"]);
    let mode = std::fs::metadata(b.root()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}
