//! Packing a directory: link targets are stored byte for byte, and nodes that must never
//! be opened (fifos, devices) are archived by type.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use berth_tar::{apply_layer, pack_dir, ApplyOptions, PackMode};
use rustix::fs::{self as rfs, FileType, Mode};

/// Runs `f` in a thread and fails (instead of hanging the suite) if it takes longer than
/// ten seconds, which is what opening a fifo for reading does.
fn within_timeout<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("pack_dir did not finish: it blocked, probably opening a fifo")
}

fn need_root() {
    assert!(
        rustix::process::geteuid().is_root(),
        "this test makes device nodes and needs root (CAP_MKNOD)"
    );
}

fn mknod(p: &Path, ft: FileType, major: u32, minor: u32) {
    rfs::mknodat(
        rfs::CWD,
        p,
        ft,
        Mode::from_raw_mode(0o640),
        rfs::makedev(major, minor),
    )
    .unwrap();
}

/// `(name, type, link target, data)` of every member.
type Member = (Vec<u8>, tar::EntryType, Option<Vec<u8>>, Vec<u8>);

fn members(tar_bytes: &[u8]) -> Vec<Member> {
    let mut ar = tar::Archive::new(tar_bytes);
    let mut out = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.push((
            e.path_bytes().into_owned(),
            e.header().entry_type(),
            e.link_name_bytes().map(|l| l.into_owned()),
            data,
        ));
    }
    out
}

/// The symlink targets that `tar::Builder::append_link` used to rewrite (`/` became `//`),
/// at the edges of the 100-byte header field and beyond it (GNU long link).
fn awkward_targets() -> Vec<(String, Vec<u8>)> {
    let long = format!("{}/end", "d".repeat(150));
    let exactly_100 = "e".repeat(100);
    let exactly_101 = "f".repeat(101);
    [
        ("root", "/"),
        ("up", ".."),
        ("trailing", "a/b/"),
        ("double", "a//b"),
        ("dot", "./a"),
        ("dotdir", "a/./b/."),
        ("abs_long", &format!("/{long}")),
        ("long", &long),
        ("exactly_100", &exactly_100),
        ("exactly_101", &exactly_101),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t.as_bytes().to_vec()))
    .collect()
}

// See: symlink to `/` stored as `//` by `berth import` (pack side, tar crate normalisation).
#[test]
fn symlink_targets_round_trip_byte_exactly() {
    let src = tempfile::tempdir().unwrap();
    let mut targets = awkward_targets();
    // A long name and a long target together (GNU `L` and `K` members for one entry).
    fs::create_dir(src.path().join("n".repeat(120))).unwrap();
    targets.push((
        format!("{}/{}", "n".repeat(120), "m".repeat(120)),
        "t".repeat(300).into_bytes(),
    ));
    for (name, target) in &targets {
        std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), src.path().join(name))
            .unwrap();
    }
    let mut out = Vec::new();
    pack_dir(src.path(), &mut out, PackMode::Plain).unwrap();

    let packed = members(&out);
    for (name, target) in &targets {
        let m = packed
            .iter()
            .find(|m| m.0 == name.as_bytes())
            .unwrap_or_else(|| panic!("{name} not packed"));
        assert_eq!(m.1, tar::EntryType::Symlink, "{name}");
        assert_eq!(
            m.2.as_deref(),
            Some(&target[..]),
            "{name}: target in the tar"
        );
    }

    let dst = tempfile::tempdir().unwrap();
    apply_layer(&out[..], dst.path(), &ApplyOptions::default()).unwrap();
    for (name, target) in &targets {
        let got = fs::read_link(dst.path().join(name)).unwrap();
        assert_eq!(got.as_os_str().as_bytes(), &target[..], "{name}: applied");
    }
    let mut again = Vec::new();
    pack_dir(dst.path(), &mut again, PackMode::Plain).unwrap();
    let repacked: Vec<_> = members(&again)
        .into_iter()
        .filter(|m| m.1 == tar::EntryType::Symlink)
        .map(|m| (m.0, m.2))
        .collect();
    let first: Vec<_> = packed
        .into_iter()
        .filter(|m| m.1 == tar::EntryType::Symlink)
        .map(|m| (m.0, m.2))
        .collect();
    assert_eq!(first, repacked);
}

#[test]
fn applied_symlink_targets_are_taken_verbatim() {
    let mut b = tar::Builder::new(Vec::new());
    for (name, target) in awkward_targets() {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        if target.len() <= 100 {
            h.set_link_name_literal(&target).unwrap();
            b.append_data(&mut h, &name, &[][..]).unwrap();
        } else {
            // PAX `linkpath`, as Docker (Go archive/tar) writes long targets.
            b.append_pax_extensions([("linkpath", &target[..])])
                .unwrap();
            b.append_data(&mut h, &name, &[][..]).unwrap();
        }
    }
    let data = b.into_inner().unwrap();
    let dst = tempfile::tempdir().unwrap();
    apply_layer(&data[..], dst.path(), &ApplyOptions::default()).unwrap();
    for (name, target) in awkward_targets() {
        let got = fs::read_link(dst.path().join(&name)).unwrap();
        assert_eq!(got.as_os_str().as_bytes(), &target[..], "{name}");
    }
}

#[test]
fn hardlinks_with_long_names_round_trip() {
    let src = tempfile::tempdir().unwrap();
    let deep = src.path().join("x".repeat(90));
    fs::create_dir(&deep).unwrap();
    fs::write(deep.join("a".repeat(60)), b"shared").unwrap();
    fs::hard_link(deep.join("a".repeat(60)), deep.join("b".repeat(60))).unwrap();
    let mut out = Vec::new();
    pack_dir(src.path(), &mut out, PackMode::Plain).unwrap();
    let link = members(&out)
        .into_iter()
        .find(|m| m.1 == tar::EntryType::Link)
        .expect("hardlink member");
    assert_eq!(
        link.2.unwrap(),
        format!("{}/{}", "x".repeat(90), "a".repeat(60)).into_bytes()
    );
    let dst = tempfile::tempdir().unwrap();
    apply_layer(&out[..], dst.path(), &ApplyOptions::default()).unwrap();
    let d = dst.path().join("x".repeat(90));
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata(d.join("a".repeat(60))).unwrap().ino(),
        fs::metadata(d.join("b".repeat(60))).unwrap().ino()
    );
}

/// A fifo would block an `open` for reading forever and a device node's `open` reaches its
/// driver: both must be archived from their metadata alone. The 0:0 character device has
/// no driver (`open` fails with ENXIO), so packing it at all shows it was never opened.
#[test]
fn fifos_and_device_nodes_are_archived_without_being_opened() {
    need_root();
    let src = tempfile::tempdir().unwrap();
    let p = src.path();
    mknod(&p.join("fifo"), FileType::Fifo, 0, 0);
    mknod(&p.join("nodev"), FileType::CharacterDevice, 0, 0);
    mknod(&p.join("null"), FileType::CharacterDevice, 1, 3);
    mknod(&p.join("loop"), FileType::BlockDevice, 7, 0);
    fs::write(p.join("file"), b"data").unwrap();
    let dir = p.to_path_buf();
    let (out, stats) = within_timeout(move || {
        let mut out = Vec::new();
        let stats = pack_dir(&dir, &mut out, PackMode::Plain).unwrap();
        (out, stats)
    });
    assert_eq!((stats.entries, stats.bytes), (5, 4));
    let mut ar = tar::Archive::new(&out[..]);
    let mut seen = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        let h = e.header();
        seen.push((
            String::from_utf8(e.path_bytes().into_owned()).unwrap(),
            h.entry_type(),
            h.device_major().ok().flatten().unwrap_or(0),
            h.device_minor().ok().flatten().unwrap_or(0),
            e.size(),
        ));
    }
    use tar::EntryType as T;
    assert_eq!(
        seen,
        vec![
            ("fifo".to_string(), T::Fifo, 0, 0, 0),
            ("file".to_string(), T::Regular, 0, 0, 4),
            ("loop".to_string(), T::Block, 7, 0, 0),
            ("nodev".to_string(), T::Char, 0, 0, 0),
            ("null".to_string(), T::Char, 1, 3, 0),
        ]
    );
}
