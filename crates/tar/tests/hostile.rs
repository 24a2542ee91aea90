//! Every tarball of the hostile corpus (`tests/fixtures/hostile`, made by
//! `examples/gen_hostile.rs`) is applied inside a sandbox in both whiteout modes. Refused
//! ones must fail with the expected message; all of them must leave everything outside the
//! destination exactly as it was (paths, types, modes, owners, sizes, mtimes, contents),
//! and host files named by absolute paths in the corpus untouched.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use berth_tar::{apply_layer, ApplyOptions, WhiteoutMode};
use sha2::{Digest, Sha256};

type Snapshot = BTreeMap<PathBuf, String>;

fn snapshot(root: &Path, skip: &Path, out: &mut Snapshot) {
    let Ok(rd) = fs::read_dir(root) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p == skip {
            continue;
        }
        let m = fs::symlink_metadata(&p).unwrap();
        let mut desc = format!(
            "{:o} {}:{} {} {}",
            m.mode(),
            m.uid(),
            m.gid(),
            m.len(),
            m.mtime()
        );
        if m.file_type().is_symlink() {
            desc.push_str(&format!(" -> {:?}", fs::read_link(&p).unwrap()));
        } else if m.is_file() {
            desc.push_str(&format!(
                " {}",
                hex::encode(Sha256::digest(fs::read(&p).unwrap()))
            ));
        }
        out.insert(p.clone(), desc);
        if m.is_dir() {
            snapshot(&p, skip, out);
        }
    }
}

fn host_state() -> Snapshot {
    let mut s = Snapshot::new();
    for p in ["/etc/passwd", "/etc/shadow", "/etc/hosts"] {
        if let Ok(m) = fs::symlink_metadata(p) {
            s.insert(
                p.into(),
                format!(
                    "{:o} {} {} {}",
                    m.mode(),
                    m.len(),
                    m.mtime(),
                    hex::encode(Sha256::digest(fs::read(p).unwrap_or_default()))
                ),
            );
        }
    }
    for p in ["/etc", "/dev"] {
        let m = fs::symlink_metadata(p).unwrap();
        s.insert(p.into(), format!("{:o} {}:{}", m.mode(), m.uid(), m.gid()));
    }
    // /etc's own mtime: an opaque marker or deferred directory mtime applied through
    // `x -> /etc` would change it.
    let m = fs::symlink_metadata("/etc").unwrap();
    s.insert("/etc mtime".into(), format!("{}", m.mtime()));
    for p in [
        "/outside",
        "/tmp/berth-hostile",
        "/sda",
        "/evil",
        "/dev/berth-evil",
        "/dev/berth-evil-blk",
        "/etc/canary",
    ] {
        s.insert(p.into(), format!("exists={}", Path::new(p).exists()));
    }
    s
}

#[test]
fn hostile_corpus_never_escapes() {
    assert!(
        rustix::process::geteuid().is_root(),
        "the hostile-tar tests must run as root (they create devices and set owners)"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let mut fixtures: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tar"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 30,
        "corpus has only {} tars",
        fixtures.len()
    );
    let host_before = host_state();
    let mut failures = Vec::new();
    for fx in &fixtures {
        let expect = fs::read_to_string(fx.with_extension("expect")).unwrap();
        let mut lines = expect.lines();
        let verdict = lines.next().unwrap_or("").to_string();
        let needle = lines.next().unwrap_or("").to_string();
        for mode in [WhiteoutMode::Overlay, WhiteoutMode::Apply] {
            let t = tempfile::tempdir().unwrap();
            let sandbox = t.path().join("sandbox");
            let outside = sandbox.join("outside");
            let root = sandbox.join("root");
            fs::create_dir_all(&outside).unwrap();
            fs::create_dir_all(&root).unwrap();
            fs::write(outside.join("canary"), b"canary\n").unwrap();
            fs::set_permissions(outside.join("canary"), fs::Permissions::from_mode(0o644)).unwrap();
            // Known, old mtimes: any write or utimes through an escape shows.
            let old = fs::FileTimes::new().set_modified(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_234_567_890),
            );
            fs::File::options()
                .write(true)
                .open(outside.join("canary"))
                .unwrap()
                .set_times(old)
                .unwrap();
            fs::write(t.path().join("sibling"), b"next to the sandbox\n").unwrap();
            let mut before = Snapshot::new();
            snapshot(t.path(), &root, &mut before);
            let opts = ApplyOptions {
                whiteouts: mode,
                ..Default::default()
            };
            let result = apply_layer(fs::File::open(fx).unwrap(), &root, &opts);
            let name = fx.file_name().unwrap().to_string_lossy().into_owned();
            match (verdict.as_str(), &result) {
                ("reject", Ok(_)) => {
                    failures.push(format!("{name} ({mode:?}): accepted, expected refusal"))
                }
                ("reject", Err(e)) if !e.to_string().contains(&needle) => {
                    failures.push(format!("{name} ({mode:?}): error {e:?} lacks {needle:?}"))
                }
                ("reject", Err(e)) => {
                    assert!(!e.to_string().contains('\n'), "{name}: multi-line error")
                }
                ("contain", Err(e)) => failures.push(format!("{name} ({mode:?}): refused: {e}")),
                _ => {}
            }
            let mut after = Snapshot::new();
            snapshot(t.path(), &root, &mut after);
            if before != after {
                failures.push(format!(
                    "{name} ({mode:?}): wrote outside the root: {before:?} != {after:?}"
                ));
            }
        }
    }
    assert_eq!(host_before, host_state(), "host files changed");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn tar_cannot_forge_overlay_opaque() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    let t = tempfile::tempdir().unwrap();
    apply_layer(
        fs::File::open(dir.join("pax_xattr_trusted_overlay.tar")).unwrap(),
        t.path(),
        &ApplyOptions::default(),
    )
    .unwrap();
    let mut buf = [0u8; 8];
    assert!(rustix::fs::lgetxattr(t.path().join("d"), "trusted.overlay.opaque", &mut buf).is_err());
}
