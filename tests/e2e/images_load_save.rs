//! load, save and import.

use crate::fixtures::{docker_archive, oci_archive, Comp, Image, Layer};
use crate::harness::{write, Berth};

#[test]
fn load_docker_archive_with_several_images_and_tags() {
    let b = Berth::new();
    let bb = Image::busybox(&["busybox:latest", "busybox:1.36"]);
    let tiny = Image::tiny("a", &["localhost:5000/team/app:v1"]);
    let arch = b.scratch().join("two.tar");
    write(&arch, &docker_archive(&[&bb, &tiny]));
    let out = b.ok(&["load", "-i", arch.to_str().unwrap()]);
    assert_eq!(
        out,
        "Loaded image: busybox:latest\nLoaded image: busybox:1.36\nLoaded image: localhost:5000/team/app:v1\n"
    );
    let ids = b.ok(&[
        "images",
        "--no-trunc",
        "--format",
        "{{.Repository}}:{{.Tag}} {{.ID}}",
    ]);
    assert!(
        ids.contains(&format!("busybox:latest {}", bb.id())),
        "{ids}"
    );
    assert!(ids.contains(&format!("busybox:1.36 {}", bb.id())), "{ids}");
    assert!(
        ids.contains(&format!("localhost:5000/team/app:v1 {}", tiny.id())),
        "{ids}"
    );
    // The busybox layer is unpacked once, as an overlay lowerdir.
    let chain = bb.diff_ids()[0].trim_start_matches("sha256:").to_string();
    let sh = b
        .root()
        .join("layers")
        .join(&chain)
        .join("diff/bin/busybox");
    assert!(sh.is_file(), "{sh:?} missing");
    assert_eq!(
        std::fs::read(&sh).unwrap(),
        std::fs::read("/bin/busybox").unwrap()
    );
}

#[test]
fn load_from_stdin_and_oci_layouts_plain_gzip_zstd() {
    let b = Berth::new();
    let bb = Image::busybox(&["busybox:latest"]);
    let out = b.cmd(&["load"]).stdin(docker_archive(&[&bb])).ok();
    assert_eq!(out, "Loaded image: busybox:latest\n");
    for (i, comp) in [Comp::None, Comp::Gzip, Comp::Zstd].into_iter().enumerate() {
        let img = Image::new(
            vec![
                Layer::busybox(),
                Layer::new()
                    .file("app/x", format!("{i}").as_bytes(), 0o644)
                    .bytes(),
            ],
            &[&format!("oci/img:{i}")],
        );
        let out = b.cmd(&["load"]).stdin(oci_archive(&[&img], comp)).ok();
        assert_eq!(out, format!("Loaded image: oci/img:{i}\n"));
        let layers = b.ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            &format!("oci/img:{i}"),
        ]);
        assert_eq!(
            layers.trim(),
            serde_json::to_string(&img.diff_ids()).unwrap()
        );
        assert_eq!(
            b.ok(&["image", "inspect", "-f", "{{.Id}}", &format!("oci/img:{i}")])
                .trim(),
            img.id()
        );
    }
    // A compressed archive is accepted too, as docker load accepts one.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &docker_archive(&[&Image::tiny("z", &["gz:1"])])).unwrap();
    assert_eq!(
        b.cmd(&["load"]).stdin(gz.finish().unwrap()).ok(),
        "Loaded image: gz:1\n"
    );
}

#[test]
fn save_then_load_elsewhere_gives_the_same_image() {
    let b = Berth::new();
    let img = Image::new(
        vec![
            Layer::busybox(),
            Layer::new().file("etc/motd", b"hi", 0o644).bytes(),
        ],
        &["app:1"],
    );
    b.cmd(&["load"]).stdin(docker_archive(&[&img])).ok();
    b.ok(&["tag", "app:1", "app:2"]);
    let out = b.scratch().join("out.tar");
    b.ok(&["save", "-o", out.to_str().unwrap(), "app:1", "app:2"]);
    let stdout_copy = b.cmd(&["save", "app"]).run();
    assert_eq!(stdout_copy.code, 0, "{}", stdout_copy.stderr);

    let other = Berth::new();
    let loaded = other.ok(&["load", "-i", out.to_str().unwrap()]);
    assert_eq!(loaded, "Loaded image: app:1\nLoaded image: app:2\n");
    assert_eq!(
        other.ok(&["images", "-q", "--no-trunc", "app:1"]).trim(),
        img.id()
    );
    let third = Berth::new();
    let loaded = third.cmd(&["load"]).stdin(stdout_copy.raw).ok();
    assert_eq!(loaded, "Loaded image: app:1\nLoaded image: app:2\n");
    // OCI archive flavour loads back with the same id.
    let oci = b.scratch().join("oci.tar");
    b.ok(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci.to_str().unwrap(),
        "app:1",
    ]);
    let fourth = Berth::new();
    fourth.ok(&["load", "-i", oci.to_str().unwrap()]);
    assert_eq!(fourth.ok(&["images", "-q", "--no-trunc"]).trim(), img.id());
}

#[test]
fn save_refuses_a_terminal_and_unknown_images() {
    let b = Berth::new();
    let e = b
        .cmd(&["save", "-o", "/tmp/never-written.tar", "nope"])
        .fails(1);
    assert!(e.contains("No such image: nope:latest"), "{e}");
    assert!(!std::path::Path::new("/tmp/never-written.tar").exists());
}

#[test]
fn import_directory_file_and_stdin_with_changes() {
    let b = Berth::new();
    let rootfs = b.scratch().join("rootfs");
    let st = std::process::Command::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/make-busybox-rootfs.sh"
    ))
    .arg(&rootfs)
    .status()
    .unwrap();
    assert!(st.success());
    let id = b.ok(&[
        "import",
        "-m",
        "from dir",
        "-c",
        "CMD [\"sh\"]",
        "-c",
        "ENV FOO=bar",
        "-c",
        "WORKDIR /app",
        rootfs.to_str().unwrap(),
        "mybox:1",
    ]);
    assert!(
        id.trim().starts_with("sha256:") && id.trim().len() == 71,
        "{id}"
    );
    let cfg = b.ok(&["image", "inspect", "-f", "{{json .Config}}", "mybox:1"]);
    let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(cfg["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(cfg["WorkingDir"], "/app");
    assert!(cfg["Env"].to_string().contains("FOO=bar"), "{cfg}");
    assert_eq!(
        b.ok(&["image", "inspect", "-f", "{{.Comment}}", "mybox:1"])
            .trim(),
        "from dir"
    );
    let hist = b.ok(&["history", "--format", "{{.Comment}}", "mybox:1"]);
    assert_eq!(hist.trim(), "from dir");
    // From a file and from stdin.
    let tarball = b.scratch().join("rootfs.tar");
    write(&tarball, &Layer::busybox());
    b.ok(&["import", tarball.to_str().unwrap(), "fromfile"]);
    let out = b
        .cmd(&["import", "-", "fromstdin:v2"])
        .stdin(Layer::busybox())
        .ok();
    assert!(out.starts_with("sha256:"));
    assert_eq!(
        b.ok(&["image", "inspect", "-f", "{{.Comment}}", "fromstdin:v2"])
            .trim(),
        "Imported from -"
    );
    let e = b
        .cmd(&["import", "-c", "FROM busybox", tarball.to_str().unwrap()])
        .fails(1);
    assert!(e.contains("FROM is not a valid change command"), "{e}");
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 3);
}
