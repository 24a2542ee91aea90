//! A container's files from the host: `diff`, `export`, `cp` (both directions, files,
//! directories, `dir/.`, `-` tar streams, ownership) and `commit`, on running and stopped
//! containers; and `cp` against a hostile image whose symlinks point at the host's files
//! (CVE-2018-15664). Every container runs with `--network none`.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::containers::{Ct, BUSYBOX};
use crate::support::{busybox_link_target, mount_points, Rootfs, TestImage, BUSYBOX_PASSWD};

/// Members of a tar: name → (type, content or link target, uid, gid).
fn members(tar: &[u8]) -> BTreeMap<String, (char, Vec<u8>, u64, u64)> {
    let mut out = BTreeMap::new();
    let mut a = tar::Archive::new(tar);
    for e in a.entries().expect("a tar") {
        let mut e = e.expect("a tar member");
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let h = e.header().clone();
        let kind = match h.entry_type() {
            tar::EntryType::Directory => 'd',
            tar::EntryType::Symlink => 'l',
            tar::EntryType::Link => 'h',
            tar::EntryType::Regular => 'f',
            _ => '?',
        };
        let data = match kind {
            'l' | 'h' => e
                .link_name_bytes()
                .map(|l| l.into_owned())
                .unwrap_or_default(),
            _ => {
                let mut d = Vec::new();
                e.read_to_end(&mut d).expect("member data");
                d
            }
        };
        out.insert(
            name,
            (kind, data, h.uid().unwrap_or(0), h.gid().unwrap_or(0)),
        );
    }
    out
}

/// A tar of the given `(name, content)` files (content `None`: a directory).
fn tar_of(files: &[(&str, Option<&str>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        match data {
            Some(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(d.len() as u64);
                h.set_uid(4321);
                h.set_gid(8765);
                b.append_data(&mut h, name, d.as_bytes()).expect("tar");
            }
            None => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, name, &[][..]).expect("tar");
            }
        }
    }
    b.into_inner().expect("tar")
}

/// No mount is left below the installation's directories (a stopped container's root
/// filesystem is mounted only while berth works in it).
#[track_caller]
fn no_mounts_left(ct: &Ct) {
    let left: Vec<PathBuf> = mount_points()
        .into_iter()
        .filter(|m| m.starts_with(ct.root_path()) || m.starts_with(ct.run_path()))
        .collect();
    assert!(left.is_empty(), "mounts left behind: {left:?}");
}

/// A host path no one else uses, for files that must never appear.
fn unique(prefix: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}", std::process::id())
}

#[test]
fn diff_lists_added_changed_and_deleted_paths_like_docker() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--name",
        "c1",
        BUSYBOX,
        "sh",
        "-c",
        "echo hi > /tmp/new && mkdir -p /tmp/d/e && echo x >> /etc/passwd && rm /bin/ls && \
         rm -r /home && mkdir /home && touch /home/n",
    ]);
    assert_eq!(o.code, 0, "{o}");
    // Depth first, names sorted (filepath.Walk); a whiteout is D, an opaque directory
    // (removed and made again) is D with its new contents A; the mount points the runtime
    // made (/etc/hosts, /etc/hostname, /etc/resolv.conf) are not changes, as in Docker.
    assert_eq!(
        ct.ok(&["diff", "c1"]),
        "C /bin\nD /bin/ls\nC /etc/passwd\nD /home\nA /home/n\nC /tmp\nA /tmp/d\nA /tmp/d/e\nA /tmp/new\n"
    );
    assert_eq!(ct.ok(&["container", "diff", "c1"]), ct.ok(&["diff", "c1"]));
    no_mounts_left(&ct);

    // A running container: its writes show while it runs.
    ct.run_d(&[
        "--name",
        "live",
        BUSYBOX,
        "sh",
        "-c",
        "mkdir /srv && echo 1 > /srv/a && touch /ready && sleep 600",
    ]);
    crate::support::containers::wait_until(std::time::Duration::from_secs(10), || {
        ct.ok(&["diff", "live"]).contains("A /ready")
    });
    assert_eq!(ct.ok(&["diff", "live"]), "A /ready\nA /srv\nA /srv/a\n");
    // Nothing changed: nothing listed.
    assert_eq!(ct.run(&["--name", "clean", BUSYBOX, "true"]).code, 0);
    assert_eq!(ct.ok(&["diff", "clean"]), "");
    ct.ok(&["create", "--name", "fresh", "--network", "none", BUSYBOX]);
    assert_eq!(ct.ok(&["diff", "fresh"]), "");

    let e = ct.fails_with(&["diff", "nosuch"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: No such container: nosuch"
    );
    ct.finish();
}

#[test]
fn export_writes_the_containers_filesystem() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--name",
        "c1",
        BUSYBOX,
        "sh",
        "-c",
        "echo exported > /tmp/new && rm /bin/ls",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let o = ct.cmd(&["export", "c1"]).run();
    assert_eq!(o.code, 0, "{o}");
    let m = members(&o.stdout_bytes);
    assert_eq!(m["tmp/new"].1, b"exported\n");
    assert_eq!(m["bin/busybox"].0, 'f');
    assert_eq!(
        m["bin/sh"],
        ('l', busybox_link_target("bin/sh").into_bytes(), 0, 0)
    );
    assert_eq!(m["etc/passwd"].1, BUSYBOX_PASSWD.as_bytes());
    assert_eq!(m["tmp/"].0, 'd');
    assert!(!m.contains_key("bin/ls"), "a deleted file is not exported");
    no_mounts_left(&ct);

    // -o writes the file (atomically: nothing else is left in its directory).
    let dir = ct.scratch().join("out");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("c1.tar");
    ct.ok(&["export", "-o", file.to_str().unwrap(), "c1"]);
    let data = std::fs::read(&file).unwrap();
    assert_eq!(members(&data), m);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    assert_eq!(
        ct.cmd(&["container", "export", "c1"]).run().stdout_bytes,
        o.stdout_bytes
    );
    let e = ct.fails_with(&["export", "-o", "/nonexistent-dir/x.tar", "c1"], 1);
    assert_eq!(
        e.trim(),
        "failed to export container: invalid output path: directory \"/nonexistent-dir\" does not exist"
    );
    let e = ct.fails_with(
        &[
            "export",
            "-o",
            dir.join("x.tar").to_str().unwrap(),
            "nosuch",
        ],
        1,
    );
    assert_eq!(
        e.trim(),
        "Error response from daemon: No such container: nosuch"
    );
    assert!(!dir.join("x.tar").exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temp file left"
    );

    // A running container exports what it wrote.
    ct.run_d(&[
        "--name",
        "live",
        BUSYBOX,
        "sh",
        "-c",
        "echo running > /live && sleep 600",
    ]);
    crate::support::containers::wait_until(std::time::Duration::from_secs(10), || {
        ct.ok(&["diff", "live"]).contains("A /live")
    });
    let o = ct.cmd(&["export", "live"]).run();
    assert_eq!(members(&o.stdout_bytes)["live"].1, b"running\n");
    assert_eq!(ct.status("live"), "running");
    no_mounts_left_but_running(&ct);
    ct.finish();
}

/// The only mounts below the installation are running containers' root filesystems.
#[track_caller]
fn no_mounts_left_but_running(ct: &Ct) {
    for m in mount_points() {
        if m.starts_with(ct.root_path()) {
            assert!(m.ends_with("merged"), "unexpected mount {}", m.display());
            let id = m.parent().and_then(Path::file_name).unwrap();
            assert_eq!(
                ct.status(&id.to_string_lossy()),
                "running",
                "{}",
                m.display()
            );
        }
    }
}

#[test]
fn cp_out_of_a_container_follows_dockers_path_rules() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--name",
        "c1",
        BUSYBOX,
        "sh",
        "-c",
        "mkdir -p /data/sub && echo one > /data/one && echo two > /data/sub/two && \
         ln -s one /data/link && chown 7:8 /data/one",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let out = ct.scratch().join("out");
    std::fs::create_dir(&out).unwrap();
    let p = |s: &str| out.join(s).to_string_lossy().into_owned();

    // A file to a new name, and into an existing directory.
    ct.ok(&["cp", "c1:/data/one", &p("renamed")]);
    assert_eq!(std::fs::read(out.join("renamed")).unwrap(), b"one\n");
    ct.ok(&["cp", "c1:data/one", &p("")]);
    assert_eq!(std::fs::read(out.join("one")).unwrap(), b"one\n");
    // Files on the host belong to the caller (Docker's CLI extracts without chown).
    assert_eq!(std::fs::metadata(out.join("one")).unwrap().uid(), 0);
    // A directory to a new name, into an existing directory, and its contents (`dir/.`).
    ct.ok(&["cp", "c1:/data", &p("copy")]);
    assert_eq!(std::fs::read(out.join("copy/sub/two")).unwrap(), b"two\n");
    ct.ok(&["cp", "c1:/data", &p("copy")]);
    assert_eq!(
        std::fs::read(out.join("copy/data/sub/two")).unwrap(),
        b"two\n"
    );
    std::fs::create_dir(out.join("contents")).unwrap();
    ct.ok(&["cp", "c1:/data/.", &p("contents")]);
    assert_eq!(
        std::fs::read(out.join("contents/sub/two")).unwrap(),
        b"two\n"
    );
    assert!(!out.join("contents/data").exists());
    // A symlink is copied as a symlink; -L copies what it points to, under its own name.
    ct.ok(&["cp", "c1:/data/link", &p("l1")]);
    assert_eq!(
        std::fs::read_link(out.join("l1")).unwrap(),
        Path::new("one")
    );
    ct.ok(&["cp", "-L", "c1:/data/link", &p("l2")]);
    assert_eq!(std::fs::read(out.join("l2")).unwrap(), b"one\n");
    assert!(!std::fs::symlink_metadata(out.join("l2"))
        .unwrap()
        .is_symlink());

    // `-`: a tar on stdout, named as Docker's archive endpoint names it, owners kept.
    let o = ct.cmd(&["cp", "c1:/data", "-"]).run();
    assert_eq!(o.code, 0, "{o}");
    let m = members(&o.stdout_bytes);
    assert_eq!(
        m.keys().cloned().collect::<Vec<_>>(),
        [
            "data/",
            "data/link",
            "data/one",
            "data/sub/",
            "data/sub/two"
        ]
    );
    assert_eq!(m["data/one"], ('f', b"one\n".to_vec(), 7, 8));
    let o = ct.cmd(&["cp", "c1:/data/.", "-"]).run();
    assert!(members(&o.stdout_bytes).contains_key("./sub/two"));
    let o = ct.cmd(&["cp", "c1:/etc/passwd", "-"]).run();
    assert_eq!(
        members(&o.stdout_bytes).into_iter().collect::<Vec<_>>(),
        [(
            "passwd".to_string(),
            ('f', BUSYBOX_PASSWD.as_bytes().to_vec(), 0, 0)
        )]
    );

    // Docker's errors.
    let e = ct.fails_with(&["cp", "c1:/nope", &p("x")], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: Could not find the file /nope in container c1"
    );
    assert!(!out.join("x").exists());
    let e = ct.fails_with(&["cp", "c1:/data", &p("renamed")], 1);
    assert_eq!(e.trim(), "cannot copy directory");
    let e = ct.fails_with(&["cp", "c1:/data/one", &p("newdir/")], 1);
    assert_eq!(e.trim(), "no such directory");
    let e = ct.fails_with(&["cp", "c1:/a", "c1:/b"], 1);
    assert_eq!(e.trim(), "copying between containers is not supported");
    let e = ct.fails_with(&["cp", "a", "b"], 1);
    assert_eq!(e.trim(), "must specify at least one container source");
    let e = ct.fails_with(&["cp", "nosuch:/etc", &p("y")], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: No such container: nosuch"
    );
    // Quiet unless stdout is a terminal: no progress in a pipe.
    let o = ct.cmd(&["cp", "c1:/data/one", &p("quiet")]).run();
    assert_eq!((o.code, o.stdout.as_str(), o.stderr.as_str()), (0, "", ""));
    no_mounts_left(&ct);
    ct.finish();
}

#[test]
fn cp_into_stopped_and_running_containers() {
    let ct = Ct::new();
    let src = ct.scratch().join("src");
    std::fs::create_dir_all(src.join("tree/sub")).unwrap();
    std::fs::write(src.join("file.txt"), "hello\n").unwrap();
    std::fs::write(src.join("tree/sub/deep"), "deep\n").unwrap();
    rustix::fs::chown(
        src.join("file.txt"),
        Some(rustix::fs::Uid::from_raw(1234)),
        Some(rustix::fs::Gid::from_raw(5678)),
    )
    .unwrap();
    let s = |p: &str| src.join(p).to_string_lossy().into_owned();

    // Stopped: the root filesystem is mounted for the copy only.
    ct.ok(&[
        "create",
        "--name",
        "st",
        "--network",
        "none",
        BUSYBOX,
        "sleep",
        "600",
    ]);
    ct.ok(&["cp", &s("file.txt"), "st:/tmp/"]);
    ct.ok(&["cp", &s("file.txt"), "st:/tmp/renamed"]);
    ct.ok(&["cp", &s("tree"), "st:/opt"]);
    ct.ok(&["cp", &s("tree"), "st:/tmp"]);
    ct.ok(&["cp", &s("tree/."), "st:/root"]);
    no_mounts_left(&ct);
    assert_eq!(
        ct.ok(&["diff", "st"]),
        "A /opt\nA /opt/sub\nA /opt/sub/deep\nC /root\nA /root/sub\nA /root/sub/deep\n\
         C /tmp\nA /tmp/file.txt\nA /tmp/renamed\nA /tmp/tree\nA /tmp/tree/sub\nA /tmp/tree/sub/deep\n"
    );
    // What was copied is what the container sees.
    ct.ok(&["start", "st"]);
    assert_eq!(ct.ok(&["exec", "st", "cat", "/tmp/file.txt"]), "hello\n");
    assert_eq!(ct.ok(&["exec", "st", "cat", "/opt/sub/deep"]), "deep\n");
    assert_eq!(ct.ok(&["exec", "st", "cat", "/root/sub/deep"]), "deep\n");
    // Owners come from the archive (what Docker really does without -a).
    assert_eq!(
        ct.ok(&["exec", "st", "stat", "-c", "%u:%g", "/tmp/file.txt"]),
        "1234:5678\n"
    );

    // Running: through the live mount, visible at once.
    ct.ok(&["cp", &s("file.txt"), "st:/live.txt"]);
    assert_eq!(ct.ok(&["exec", "st", "cat", "/live.txt"]), "hello\n");
    // `-`: a tar on stdin extracted into a directory (gzip too).
    ct.cmd(&["cp", "-", "st:/tmp"])
        .stdin(tar_of(&[("in/", None), ("in/a.txt", Some("from stdin\n"))]))
        .ok();
    assert_eq!(
        ct.ok(&["exec", "st", "cat", "/tmp/in/a.txt"]),
        "from stdin\n"
    );
    assert_eq!(
        ct.ok(&["exec", "st", "stat", "-c", "%u:%g", "/tmp/in/a.txt"]),
        "4321:8765\n"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar_of(&[("z.txt", Some("zipped\n"))])).unwrap();
    ct.cmd(&["cp", "-", "st:/tmp"])
        .stdin(gz.finish().unwrap())
        .ok();
    assert_eq!(ct.ok(&["exec", "st", "cat", "/tmp/z.txt"]), "zipped\n");

    // Docker's errors.
    let e = ct
        .cmd(&["cp", "-", "st:/tmp/z.txt"])
        .stdin(tar_of(&[("q", Some("q"))]))
        .fails_with(1);
    assert_eq!(
        e.trim(),
        "destination \"st:/tmp/z.txt\" must be a directory"
    );
    let e = ct.fails_with(&["cp", &s("tree"), "st:/tmp/file.txt"], 1);
    assert_eq!(e.trim(), "cannot copy directory");
    let e = ct.fails_with(&["cp", &s("file.txt"), "st:/nope/x"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: Could not find the file /nope in container st"
    );
    let e = ct.fails_with(&["cp", &s("missing"), "st:/tmp"], 1);
    assert_eq!(
        e.trim(),
        format!("lstat {}: no such file or directory", s("missing"))
    );
    // A file never replaces a directory.
    let e = ct
        .cmd(&["cp", "-", "st:/tmp"])
        .stdin(tar_of(&[("in", Some("not a dir"))]))
        .fails_with(1);
    assert!(
        e.contains("cannot overwrite directory \"/tmp/in\" with non-directory \"/tmp\""),
        "{e}"
    );
    assert_eq!(
        ct.ok(&["exec", "st", "cat", "/tmp/in/a.txt"]),
        "from stdin\n"
    );

    // -a: files get the container's user.
    ct.run_d(&[
        "--name",
        "withuser",
        "-u",
        "1000:1000",
        BUSYBOX,
        "sleep",
        "600",
    ]);
    ct.ok(&["cp", "-a", &s("file.txt"), "withuser:/tmp/owned"]);
    assert_eq!(
        ct.ok(&["exec", "withuser", "stat", "-c", "%u:%g", "/tmp/owned"]),
        "1000:1000\n"
    );
    // --read-only: refused, as Docker refuses it outside volumes.
    ct.ok(&[
        "create",
        "--name",
        "ro",
        "--read-only",
        "--network",
        "none",
        BUSYBOX,
    ]);
    let e = ct.fails_with(&["cp", &s("file.txt"), "ro:/tmp/"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: container rootfs is marked read-only"
    );
    no_mounts_left_but_running(&ct);
    ct.finish();
}

/// An image built to attack `cp`: symlinks to the host's root, to absolute host paths and
/// climbing out with `..`.
fn hostile_image(secret_name: &str) -> TestImage {
    TestImage::new()
        .layer(
            Rootfs::busybox()
                .symlink("evil", "/")
                .symlink("up", "../../../../../../../../../..")
                .symlink("etc/x", "/etc/passwd")
                .symlink("secret", &format!("/tmp/{secret_name}"))
                .symlink("updir", "../../../../../../../tmp")
                .symlink("proc1", "/proc/1/root/etc"),
        )
        .cmd(&["sh"])
        .tag("hostile:latest")
}

// See: CVE-2018-15664 (symlink-exchange in docker cp), CVE-2019-14271.
#[test]
fn cp_never_reads_or_writes_host_files_through_container_symlinks() {
    let ct = Ct::new();
    let secret_name = unique("berth-e2e-secret");
    let secret = PathBuf::from("/tmp").join(&secret_name);
    std::fs::write(&secret, "HOST-SECRET\n").unwrap();
    ct.load_images(&[hostile_image(&secret_name)]);
    let out = ct.scratch().join("out");
    std::fs::create_dir(&out).unwrap();
    let p = |s: &str| out.join(s).to_string_lossy().into_owned();
    let pwned = unique("berth-e2e-pwned");
    let host_pwned = PathBuf::from("/tmp").join(&pwned);
    let payload = ct.scratch().join("payload");
    std::fs::write(&payload, "PAYLOAD\n").unwrap();
    let payload = payload.to_string_lossy().into_owned();

    for running in [false, true] {
        let c = if running { "hr" } else { "hs" };
        if running {
            ct.run_d(&["--name", c, "hostile", "sleep", "600"]);
        } else {
            ct.ok(&["create", "--name", c, "--network", "none", "hostile"]);
        }
        // Reading: every path resolves inside the container, where these files do not exist.
        for src in [
            format!("{c}:/evil/tmp/{secret_name}"),
            format!("{c}:/up/tmp/{secret_name}"),
            format!("{c}:/updir/{secret_name}"),
            format!("{c}:/evil/../../tmp/{secret_name}"),
            format!("{c}:/proc1/passwd"),
        ] {
            let dst = p(&format!("read-{c}"));
            let e = ct.fails_with(&["cp", &src, &dst], 1);
            assert!(e.contains("Could not find the file"), "{src}: {e}");
            assert!(!Path::new(&dst).exists(), "{src}");
            let o = ct.cmd(&["cp", &src, "-"]).run();
            assert_eq!(o.code, 1, "{src}: {o}");
            assert!(o.stdout_bytes.is_empty(), "{src}: {o}");
        }
        let e = ct.fails_with(&["cp", "-L", &format!("{c}:/secret"), &p("l")], 1);
        assert!(e.contains("Could not find the file"), "{e}");
        // A symlink is copied as a symlink, never as the host file it names.
        ct.ok(&["cp", &format!("{c}:/secret"), &p(&format!("link-{c}"))]);
        assert_eq!(
            std::fs::read_link(out.join(format!("link-{c}"))).unwrap(),
            secret
        );
        // -L follows it inside the container: the container's passwd, not the host's.
        ct.ok(&[
            "cp",
            "-L",
            &format!("{c}:/etc/x"),
            &p(&format!("passwd-{c}")),
        ]);
        assert_eq!(
            std::fs::read_to_string(out.join(format!("passwd-{c}"))).unwrap(),
            BUSYBOX_PASSWD
        );
        // A whole tree with those links: archived as links, nothing of the host inside.
        let o = ct.cmd(&["cp", &format!("{c}:/"), "-"]).run();
        assert_eq!(o.code, 0, "{o}");
        let m = members(&o.stdout_bytes);
        assert_eq!(m["./evil"].0, 'l');
        assert!(
            !m.values()
                .any(|(_, d, _, _)| d.windows(11).any(|w| w == b"HOST-SECRET")),
            "host secret in the archive"
        );
        let o = ct.cmd(&["export", c]).run();
        assert!(!o.stdout_bytes.windows(11).any(|w| w == b"HOST-SECRET"));

        // Writing: through /evil, /up and /updir, files land in the container's /tmp.
        for dst in [
            format!("{c}:/evil/tmp/{pwned}"),
            format!("{c}:/up/tmp/{pwned}-up"),
            format!("{c}:/updir/{pwned}-updir"),
        ] {
            ct.ok(&["cp", &payload, &dst]);
        }
        ct.ok(&["cp", &payload, &format!("{c}:/evil")]);
        ct.cmd(&["cp", "-", &format!("{c}:/evil")])
            .stdin(tar_of(&[
                ("evil/tmp/from-tar", Some("T\n")),
                ("up/tmp/from-tar-up", Some("T\n")),
            ]))
            .ok();
        for name in [
            pwned.clone(),
            format!("{pwned}-up"),
            format!("{pwned}-updir"),
            "from-tar".into(),
            "from-tar-up".into(),
        ] {
            assert!(
                !Path::new("/tmp").join(&name).exists(),
                "host /tmp/{name} was written"
            );
            let o = ct.cmd(&["cp", &format!("{c}:/tmp/{name}"), "-"]).run();
            assert_eq!(o.code, 0, "/tmp/{name} not in the container: {o}");
        }
        assert!(!Path::new("/payload").exists(), "host / was written");
        let o = ct.cmd(&["cp", &format!("{c}:/payload"), "-"]).run();
        assert_eq!(members(&o.stdout_bytes)["payload"].1, b"PAYLOAD\n");
        assert!(!host_pwned.exists());
    }
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "HOST-SECRET\n");
    let _ = std::fs::remove_file(&secret);
    no_mounts_left_but_running(&ct);
    ct.finish();
}

// See: CVE-2018-15664: the container swaps a directory for a symlink to `/` while cp runs.
#[test]
fn cp_survives_a_container_swapping_a_directory_for_a_symlink_to_the_host_root() {
    let ct = Ct::new();
    let secret_name = unique("berth-e2e-race-secret");
    let secret = PathBuf::from("/tmp").join(&secret_name);
    std::fs::write(&secret, "HOST-SECRET\n").unwrap();
    // /w/sym is a directory holding tmp/<secret_name> (the container's own, harmless copy)
    // one moment, and a symlink to / the next.
    let script = format!(
        "mkdir -p /w/real/tmp && echo CONTAINER > /w/real/tmp/{secret_name} && \
         while :; do rm -rf /w/sym; cp -a /w/real /w/sym; rm -rf /w/sym; ln -s / /w/sym; done"
    );
    ct.run_d(&["--name", "racer", BUSYBOX, "sh", "-c", &script]);
    let out = ct.scratch().join("out");
    std::fs::create_dir(&out).unwrap();
    let payload = ct.scratch().join("payload");
    std::fs::write(&payload, "PAYLOAD\n").unwrap();
    let payload = payload.to_string_lossy().into_owned();
    let pwned = unique("berth-e2e-race-pwned");
    let mut read_ok = 0;
    for i in 0..40 {
        let dst = out.join(format!("r{i}"));
        let o = ct
            .cmd(&[
                "cp",
                &format!("racer:/w/sym/tmp/{secret_name}"),
                dst.to_str().unwrap(),
            ])
            .run();
        assert!(!o.panicked(), "{o}");
        if o.code == 0 {
            read_ok += 1;
            let got = std::fs::read_to_string(&dst).unwrap_or_default();
            assert_ne!(got, "HOST-SECRET\n", "cp read the host's file");
        }
        let o = ct
            .cmd(&["cp", &payload, &format!("racer:/w/sym/tmp/{pwned}-{i}")])
            .run();
        assert!(!o.panicked(), "{o}");
        assert!(
            !Path::new("/tmp").join(format!("{pwned}-{i}")).exists(),
            "cp wrote the host's /tmp"
        );
    }
    // Both states were hit: some reads found the container's copy, some found nothing.
    eprintln!("race: {read_ok}/40 reads found the container's file");
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "HOST-SECRET\n");
    let _ = std::fs::remove_file(&secret);
    ct.finish();
}

#[test]
fn commit_makes_an_image_that_runs_and_has_the_commit_in_history() {
    let ct = Ct::new();
    let base_layers = ct.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", BUSYBOX]);
    let o = ct.run(&[
        "--name",
        "c1",
        BUSYBOX,
        "sh",
        "-c",
        "echo committed > /file && rm /bin/ls && mkdir -p /opt/app && echo x > /opt/app/y",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let id = ct.ok(&[
        "commit",
        "-m",
        "my message",
        "-a",
        "Jane <jane@example.com>",
        "-c",
        "ENV COMMITTED=yes",
        "-c",
        "WORKDIR /opt/app",
        "c1",
        "snap:v1",
    ]);
    let id = id.trim();
    assert!(
        id.starts_with("sha256:") && id.len() == 71,
        "commit printed {id:?}"
    );
    assert_eq!(
        ct.ok(&["image", "inspect", "-f", "{{.Id}}", "snap:v1"])
            .trim(),
        id
    );
    // The new image runs with the container's files, deletions and the changes.
    let o = ct.run(&["--rm", "snap:v1", "cat", "/file"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "committed\n"), "{o}");
    let o = ct.run(&[
        "--rm",
        "snap:v1",
        "sh",
        "-c",
        "echo $COMMITTED; pwd; cat y; test -e /bin/ls || echo gone",
    ]);
    assert_eq!(o.stdout, "yes\n/opt/app\nx\ngone\n", "{o}");
    // The runtime's mount-point placeholders (/etc/hosts, …) are not part of the layer.
    ct.ok(&["create", "--name", "probe", "--network", "none", "snap:v1"]);
    let o = ct.cmd(&["export", "probe"]).run();
    let m = members(&o.stdout_bytes);
    assert_eq!(m["file"].1, b"committed\n");
    assert!(!m.contains_key("etc/hosts") && !m.contains_key("etc/hostname"));
    // One more layer; history has the commit on top, with the container's command.
    assert_eq!(
        ct.ok(&[
            "image",
            "inspect",
            "-f",
            "{{len .RootFS.Layers}}",
            "snap:v1"
        ])
        .trim()
        .parse::<usize>()
        .unwrap(),
        base_layers.trim().parse::<usize>().unwrap() + 1
    );
    let h = ct.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.ID}}|{{.CreatedBy}}|{{.Comment}}",
        "snap:v1",
    ]);
    let first = h.lines().next().unwrap();
    assert_eq!(
        first,
        format!(
            "{id}|sh -c echo committed > /file && rm /bin/ls && mkdir -p /opt/app && echo x > /opt/app/y|my message"
        )
    );
    assert_eq!(h.lines().count(), 2, "{h}");
    assert_eq!(
        ct.ok(&[
            "image",
            "inspect",
            "-f",
            "{{.Author}}|{{.Comment}}",
            "snap:v1"
        ])
        .trim(),
        "Jane <jane@example.com>|my message"
    );

    // A running container, paused while packed (the default) and running after.
    ct.run_d(&[
        "--name",
        "live",
        BUSYBOX,
        "sh",
        "-c",
        "echo live > /live && sleep 600",
    ]);
    crate::support::containers::wait_until(std::time::Duration::from_secs(10), || {
        ct.ok(&["diff", "live"]).contains("A /live")
    });
    let id2 = ct.ok(&["container", "commit", "live"]).trim().to_string();
    assert_eq!(ct.status("live"), "running");
    let o = ct.run(&["--rm", &id2, "cat", "/live"]);
    assert_eq!(o.stdout, "live\n", "{o}");
    ct.ok(&["commit", "--pause=false", "live", "snap:v2"]);
    assert_eq!(ct.status("live"), "running");

    // Nothing changed: an empty-layer history entry, no new layer.
    ct.ok(&["create", "--name", "fresh", "--network", "none", BUSYBOX]);
    ct.ok(&["commit", "fresh", "same:1"]);
    assert_eq!(
        ct.ok(&["image", "inspect", "-f", "{{len .RootFS.Layers}}", "same:1"]),
        base_layers
    );
    assert_eq!(ct.ok(&["history", "-q", "same:1"]).lines().count(), 2);

    let e = ct.fails_with(&["commit", "nosuch"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: No such container: nosuch"
    );
    let e = ct.fails_with(&["commit", "c1", "Bad:Tag"], 1);
    assert!(e.contains("invalid reference format"), "{e}");
    let e = ct.fails_with(&["commit", "-c", "RUN true", "c1"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: RUN is not a valid change command"
    );
    no_mounts_left_but_running(&ct);
    ct.finish();
}
