//! Crash safety and concurrency of the store: `kill -9` during a load, and many berth
//! processes loading and removing at once.

use std::time::Duration;

use crate::fixtures::{docker_archive, Image, Layer};
use crate::harness::Berth;

/// Deterministic, incompressible-ish bytes.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn big_image(tag: &str) -> Image {
    let layers = (0..4)
        .map(|i| {
            Layer::new()
                .file(&format!("data/blob{i}"), &noise(i + 7, 24 << 20), 0o644)
                .bytes()
        })
        .collect();
    Image::new(layers, &[tag])
}

/// Every listed image is whole: inspectable, its layer directories present, saveable.
fn assert_consistent(b: &Berth) {
    let ids = b.ok(&["images", "-a", "-q", "--no-trunc"]);
    for id in ids.lines() {
        let dirs = b.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.GraphDriver.Data.UpperDir}}",
            id,
        ]);
        assert!(std::path::Path::new(dirs.trim()).is_dir(), "{id}: {dirs}");
        let out = b.scratch().join("check.tar");
        b.ok(&["save", "-o", out.to_str().unwrap(), id]);
    }
    let layers = b.list("layers");
    assert!(
        !layers
            .iter()
            .any(|l| l.starts_with(".tmp-") || l.starts_with(".del-")),
        "leftovers: {layers:?}"
    );
    assert!(
        b.list("ingest").is_empty(),
        "ingest: {:?}",
        b.list("ingest")
    );
}

#[test]
fn kill_9_during_load_leaves_a_usable_store() {
    let b = Berth::new();
    let img = big_image("big:1");
    let archive = b.scratch().join("big.tar");
    std::fs::write(&archive, docker_archive(&[&img])).unwrap();
    for delay_ms in [30u64, 120, 300, 700] {
        let mut child = b.spawn(&["load", "-i", archive.to_str().unwrap()]);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL, by pid, our own child
        let _ = child.wait();
        // The next command works and lists no half image.
        let listed = b.ok(&["images", "-a", "-q", "--no-trunc"]);
        assert!(listed.is_empty() || listed.trim() == img.id(), "{listed}");
        // A mutating command sweeps what the killed one left.
        b.ok(&["image", "prune", "-a", "-f"]);
        assert_consistent(&b);
        assert!(b.list("layers").is_empty(), "{:?}", b.list("layers"));
        assert!(
            b.list("blobs/sha256").is_empty(),
            "{:?}",
            b.list("blobs/sha256")
        );
    }
    assert_eq!(
        b.ok(&["load", "-i", archive.to_str().unwrap()]),
        "Loaded image: big:1\n"
    );
    assert_consistent(&b);
}

#[test]
fn parallel_loads_and_removals_never_corrupt_the_store() {
    let b = Berth::new();
    let base = Layer::busybox();
    let imgs: Vec<Image> = (0..5)
        .map(|i| {
            Image::new(
                vec![
                    base.clone(),
                    Layer::new()
                        .file(&format!("f{i}"), &[i as u8; 64], 0o644)
                        .bytes(),
                ],
                &[&format!("img{i}:1")],
            )
        })
        .collect();
    let files: Vec<_> = imgs
        .iter()
        .enumerate()
        .map(|(i, img)| {
            let p = b.scratch().join(format!("img{i}.tar"));
            std::fs::write(&p, docker_archive(&[img])).unwrap();
            p
        })
        .collect();
    for round in 0..3 {
        let mut children = Vec::new();
        for (i, f) in files.iter().enumerate() {
            children.push(b.spawn(&["load", "-i", f.to_str().unwrap()]));
            let victim = format!("img{}:1", (i + round) % files.len());
            children.push(b.spawn(&["rmi", &victim]));
        }
        for c in children {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                !err.contains("panicked") && !err.contains("database"),
                "{err}"
            );
            if !out.status.success() {
                assert!(err.contains("No such image"), "unexpected failure: {err}");
            }
        }
        assert_consistent(&b);
    }
    // Everything can still be loaded and removed cleanly.
    for f in &files {
        b.ok(&["load", "-i", f.to_str().unwrap()]);
    }
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 5);
    b.ok(&["image", "prune", "-a", "-f"]);
    assert!(b.list("layers").is_empty(), "{:?}", b.list("layers"));
}
