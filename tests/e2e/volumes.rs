//! Volumes: `volume create/ls/inspect/rm/prune` with their flags, filters and formats;
//! named, anonymous and image (`VOLUME`) volumes, binds, tmpfs and `--volumes-from` in
//! containers; copy-up from the image and `nocopy`; read-only mounts; `rm -v` and `--rm`;
//! Docker's messages for bad specs. Every container runs with `--network none`, and every
//! test checks that no mount is left behind.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::containers::{Ct, BUSYBOX};
use crate::support::{Entry, Rootfs, TestImage};

/// An image with files at /data (owned by 1000:1000 in a 0700 directory) and
/// `VOLUME /data`.
fn volume_image() -> TestImage {
    crate::support::busybox_image("vimg:latest")
        .layer(
            Rootfs::new()
                .add(Entry::dir("data").mode(0o700).owner(1000, 1000))
                .add(Entry::file("data/hello", "world").owner(1000, 1000))
                .dir("data/sub")
                .file("data/sub/deep", "deep")
                .symlink("data/link", "/etc/passwd")
                .dir("seed")
                .file("seed/s", "seeded"),
        )
        .volume("/data")
}

fn volume_names(ct: &Ct) -> Vec<String> {
    ct.ok(&["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

fn vol_dir(ct: &Ct, name: &str) -> PathBuf {
    ct.root_path().join("volumes").join(name).join("_data")
}

#[test]
fn volume_create_ls_inspect_rm() {
    let ct = Ct::empty();
    assert_eq!(
        ct.ok(&["volume", "create", "--label", "env=prod", "--label", "team", "data"]),
        "data\n"
    );
    assert_eq!(ct.ok(&["volume", "create", "--name", "other"]), "other\n");
    // Creating an existing volume again returns it.
    assert_eq!(ct.ok(&["volume", "create", "data"]), "data\n");
    let anon = ct.ok(&["volume", "create"]).trim().to_string();
    assert!(is_hex64(&anon), "{anon}");
    assert!(vol_dir(&ct, "data").is_dir());

    let table = ct.ok(&["volume", "ls"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("DRIVER") && lines[0].contains("VOLUME NAME"),
        "{table}"
    );
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("local") && l.ends_with("data")));
    assert_eq!(volume_names(&ct), {
        let mut v = vec![anon.clone(), "data".to_string(), "other".to_string()];
        v.sort();
        v
    });
    let q = |f: &[&str]| {
        let mut a = vec!["volume", "ls", "-q"];
        for x in f {
            a.push("--filter");
            a.push(x);
        }
        ct.ok(&a)
    };
    assert_eq!(q(&["name=dat"]), "data\n");
    assert_eq!(q(&["label=env=prod"]), "data\n");
    assert_eq!(q(&["label=team"]), "data\n");
    assert_eq!(q(&["label=env=dev"]), "");
    assert_eq!(
        q(&["label=com.docker.volume.anonymous"]),
        format!("{anon}\n")
    );
    assert_eq!(q(&["driver=local", "name=other"]), "other\n");
    assert_eq!(q(&["dangling=false"]), "");
    assert_eq!(q(&["dangling=true"]).lines().count(), 3);
    let e = ct.fails_with(&["volume", "ls", "--filter", "bogus=1"], 1);
    assert!(e.contains("invalid filter 'bogus'"), "{e}");
    assert_eq!(
        ct.ok(&[
            "volume",
            "ls",
            "--filter",
            "name=data",
            "--format",
            "{{.Name}} {{.Driver}} {{.Scope}} {{.Labels}}"
        ]),
        "data local local env=prod,team=\n"
    );

    let v: Value = serde_json::from_str(&ct.ok(&["volume", "inspect", "data"])).unwrap();
    let v = &v[0];
    assert_eq!(v["Name"], "data");
    assert_eq!(v["Driver"], "local");
    assert_eq!(v["Scope"], "local");
    assert_eq!(v["Labels"]["env"], "prod");
    assert_eq!(v["Options"], serde_json::json!({}));
    assert_eq!(
        v["Mountpoint"].as_str().unwrap(),
        vol_dir(&ct, "data").to_str().unwrap()
    );
    assert!(v["CreatedAt"].as_str().unwrap().ends_with('Z'), "{v}");
    assert_eq!(
        ct.ok(&[
            "volume",
            "inspect",
            "-f",
            "{{.Name}}:{{.Driver}}",
            "data",
            "other"
        ]),
        "data:local\nother:local\n"
    );
    assert_eq!(ct.inspect("data", "{{.Name}}"), "data");
    let o = ct.cmd(&["volume", "inspect", "data", "nope"]).run();
    assert_eq!(o.code, 1, "{o}");
    assert_eq!(o.stderr.trim(), "Error: No such volume: nope");
    assert!(o.stdout.contains("\"Name\": \"data\""));

    // Bad input.
    let e = ct.fails_with(&["volume", "create", "a/b"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: create a/b: \"a/b\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
    );
    let e = ct.fails_with(&["volume", "create", "-o", "foo=bar", "x1"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: create x1: invalid option: \"foo\""
    );
    let e = ct.fails_with(&["volume", "create", "-o", "type=tmpfs", "x2"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: create x2: missing required option: \"device\""
    );
    let e = ct.fails_with(&["volume", "create", "-d", "nfs-plugin", "x3"], 1);
    assert!(e.contains("plugin \"nfs-plugin\" not found"), "{e}");
    assert!(!volume_names(&ct).iter().any(|n| n.starts_with('x')));

    assert_eq!(
        ct.ok(&["volume", "rm", "other", &anon]),
        format!("other\n{anon}\n")
    );
    assert!(!ct.root_path().join("volumes/other").exists());
    let e = ct.fails_with(&["volume", "rm", "nope"], 1);
    assert_eq!(
        e.trim(),
        "Error response from daemon: get nope: no such volume"
    );
    assert_eq!(ct.ok(&["volume", "rm", "-f", "nope"]), "nope\n");
    assert_eq!(ct.ok(&["volume", "ls", "-q"]), "data\n");
}

#[test]
fn volume_prune_anonymous_unless_all() {
    let ct = Ct::empty();
    ct.ok(&["volume", "create", "named1"]);
    ct.ok(&["volume", "create", "--label", "keep=1", "named2"]);
    let anon = ct.ok(&["volume", "create"]).trim().to_string();
    std::fs::write(vol_dir(&ct, &anon).join("f"), vec![0u8; 3000]).unwrap();
    let out = ct.ok(&["volume", "prune", "-f"]);
    assert_eq!(
        out,
        format!("Deleted Volumes:\n{anon}\n\nTotal reclaimed space: 3kB\n")
    );
    assert!(!ct.root_path().join("volumes").join(&anon).exists());
    let out = ct.ok(&["volume", "prune", "-f", "-a", "--filter", "label=keep"]);
    assert!(out.contains("named2\n") && !out.contains("named1"), "{out}");
    // Declining the prompt removes nothing.
    let out = ct.cmd(&["volume", "prune", "-a"]).stdin("n\n").ok();
    assert!(
        out.contains("WARNING! This will remove all local volumes"),
        "{out}"
    );
    assert_eq!(volume_names(&ct), ["named1"]);
    ct.ok(&["volume", "prune", "-af"]);
    assert_eq!(volume_names(&ct), Vec::<String>::new());
    assert_eq!(
        ct.ok(&["volume", "prune", "-f"]),
        "Total reclaimed space: 0B\n"
    );
}

#[test]
fn named_volume_outlives_containers_and_is_shared_live() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--name",
        "ww",
        "-v",
        "data:/data",
        BUSYBOX,
        "sh",
        "-c",
        "echo one > /data/f",
    ]);
    assert!(o.success(), "{o}");
    // Implicitly created, and in use by the stopped container.
    assert_eq!(volume_names(&ct), ["data"]);
    let v: Value = serde_json::from_str(&ct.ok(&["volume", "inspect", "data"])).unwrap();
    assert_eq!(
        (&v[0]["Labels"], &v[0]["Options"]),
        (&Value::Null, &Value::Null)
    );
    let id = ct.id("ww");
    let e = ct.fails_with(&["volume", "rm", "data"], 1);
    assert_eq!(
        e.trim(),
        format!("Error response from daemon: remove data: volume is in use - [{id}]")
    );
    let m = &ct.json("ww")["Mounts"][0];
    assert_eq!(m["Type"], "volume");
    assert_eq!(m["Name"], "data");
    assert_eq!(m["Destination"], "/data");
    assert_eq!(m["Driver"], "local");
    assert_eq!(m["Mode"], "z");
    assert_eq!(m["RW"], true);
    assert_eq!(m["Propagation"], "");
    assert_eq!(
        m["Source"].as_str().unwrap(),
        vol_dir(&ct, "data").to_str().unwrap()
    );
    assert_eq!(
        ct.inspect("ww", "{{json .HostConfig.Binds}}"),
        "[\"data:/data\"]"
    );
    ct.ok(&["rm", "-v", "ww"]);
    assert_eq!(volume_names(&ct), ["data"], "rm -v keeps named volumes");

    let o = ct.run(&["--rm", "-v", "data:/data", BUSYBOX, "cat", "/data/f"]);
    assert_eq!(o.stdout, "one\n", "{o}");

    // Two running containers see each other's writes.
    ct.run_d(&["--name", "aa", "-v", "data:/data", BUSYBOX, "sleep", "60"]);
    ct.run_d(&[
        "--name",
        "bb",
        "--mount",
        "source=data,target=/shared",
        BUSYBOX,
        "sleep",
        "60",
    ]);
    ct.ok(&["exec", "aa", "sh", "-c", "echo from-a > /data/live"]);
    assert_eq!(ct.ok(&["exec", "bb", "cat", "/shared/live"]), "from-a\n");
    ct.ok(&["exec", "bb", "sh", "-c", "echo from-b > /shared/back"]);
    assert_eq!(ct.ok(&["exec", "aa", "cat", "/data/back"]), "from-b\n");
    let mut ps = ct
        .ok(&["ps", "--filter", "volume=data", "--format", "{{.Names}}"])
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    ps.sort();
    assert_eq!(ps, ["aa", "bb"]);
    assert_eq!(
        ct.ok(&["ps", "--filter", "volume=/shared", "--format", "{{.Names}}"]),
        "bb\n"
    );
    let e = ct.fails_with(&["volume", "rm", "data"], 1);
    let mut ids = [ct.id("aa"), ct.id("bb")];
    ids.sort();
    assert!(
        e.contains(&format!("volume is in use - [{} {}]", ids[0], ids[1])),
        "{e}"
    );
    assert_eq!(
        ct.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]),
        ""
    );
    ct.ok(&["rm", "-f", "aa", "bb"]);
    assert_eq!(
        ct.ok(&["volume", "ls", "-q", "--filter", "dangling=true"]),
        "data\n"
    );
    assert_eq!(
        std::fs::read_to_string(vol_dir(&ct, "data").join("back")).unwrap(),
        "from-b\n"
    );
    ct.ok(&["volume", "rm", "data"]);
    ct.finish();
}

#[test]
fn volumes_from_inherits_mounts_and_mode() {
    let ct = Ct::new();
    let src = ct.scratch().join("bind");
    std::fs::create_dir_all(&src).unwrap();
    let bind = format!("{}:/b", src.display());
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "store",
        "-v",
        "data:/data",
        "-v",
        "/anon",
        "-v",
        &bind,
        BUSYBOX,
        "true",
    ]);
    let o = ct.run(&[
        "--rm",
        "--volumes-from",
        "store",
        BUSYBOX,
        "sh",
        "-c",
        "echo x > /data/x && echo y > /anon/y && echo z > /b/z && ls /data /anon",
    ]);
    assert!(o.success(), "{o}");
    assert_eq!(std::fs::read_to_string(src.join("z")).unwrap(), "z\n");
    let o = ct.run(&[
        "--rm",
        "--volumes-from",
        "store:ro",
        BUSYBOX,
        "sh",
        "-c",
        "cat /data/x /anon/y; touch /data/no",
    ]);
    assert_ne!(o.code, 0, "{o}");
    assert_eq!(o.stdout, "x\ny\n", "{o}");
    assert!(o.stderr.contains("Read-only file system"), "{o}");
    // --rm of a container that inherited the anonymous volume does not remove it.
    assert_eq!(volume_names(&ct).len(), 2);
    let e = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--volumes-from",
            "ghost",
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(e.contains("No such container: ghost"), "{e}");
    let e = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--volumes-from",
            "store:rshared",
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(e.contains("invalid mode: rshared"), "{e}");
    ct.ok(&["rm", "-v", "store"]);
    assert_eq!(volume_names(&ct), ["data"]);
    ct.finish();
}

#[test]
fn image_volume_copy_up_and_nocopy() {
    let ct = Ct::new();
    ct.load_images(&[volume_image()]);
    // The image's VOLUME makes an anonymous volume filled from the image.
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "cc",
        "vimg",
        "true",
    ]);
    let m = ct.json("cc")["Mounts"][0].clone();
    assert_eq!(m["Type"], "volume");
    assert_eq!(m["Destination"], "/data");
    assert_eq!(m["Mode"], "");
    let name = m["Name"].as_str().unwrap().to_string();
    assert!(is_hex64(&name), "{m}");
    assert_eq!(
        ct.inspect("cc", "{{json .Config.Volumes}}"),
        "{\"/data\":{}}"
    );
    let v: Value = serde_json::from_str(&ct.ok(&["volume", "inspect", &name])).unwrap();
    assert_eq!(v[0]["Labels"]["com.docker.volume.anonymous"], "");
    ct.ok(&["start", "-a", "cc"]);
    let dir = vol_dir(&ct, &name);
    assert_eq!(std::fs::read_to_string(dir.join("hello")).unwrap(), "world");
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/deep")).unwrap(),
        "deep"
    );
    let md = std::fs::metadata(dir.join("hello")).unwrap();
    assert_eq!((md.uid(), md.gid()), (1000, 1000));
    let md = std::fs::metadata(&dir).unwrap();
    assert_eq!((md.uid(), md.mode() & 0o7777), (1000, 0o700));
    // The absolute symlink is copied as a link, never followed on the host.
    assert_eq!(
        std::fs::read_link(dir.join("link")).unwrap(),
        PathBuf::from("/etc/passwd")
    );
    // A second start copies nothing again.
    std::fs::remove_file(dir.join("hello")).unwrap();
    ct.ok(&["start", "-a", "cc"]);
    assert!(!dir.join("hello").exists());

    // A new named volume is filled too, at any path; nocopy leaves it empty.
    let o = ct.run(&["--rm", "-v", "fresh:/seed", "vimg", "cat", "/seed/s"]);
    assert_eq!(o.stdout, "seeded", "{o}");
    let o = ct.run(&[
        "--rm",
        "-v",
        "empty:/seed:nocopy",
        "vimg",
        "ls",
        "-A",
        "/seed",
    ]);
    assert_eq!(o.stdout, "", "{o}");
    let o = ct.run(&[
        "--rm",
        "--mount",
        "src=empty2,dst=/data,volume-nocopy",
        "vimg",
        "ls",
        "-A",
        "/data",
    ]);
    assert_eq!(o.stdout, "", "{o}");
    // `-v NAME:/data` overrides the image's VOLUME: no anonymous volume for it.
    let before = volume_names(&ct).len();
    let o = ct.run(&["--rm", "-v", "fresh2:/data", "vimg", "cat", "/data/hello"]);
    assert_eq!(o.stdout, "world", "{o}");
    assert_eq!(volume_names(&ct).len(), before + 1);
    ct.ok(&["rm", "cc"]);
    assert!(
        volume_names(&ct).contains(&name),
        "rm without -v keeps anonymous volumes"
    );
    ct.finish();
}

#[test]
fn read_only_mounts_reject_writes() {
    let ct = Ct::new();
    let host = ct.scratch().join("ro");
    std::fs::create_dir_all(&host).unwrap();
    let ro_bind = format!("{}:/h:ro", host.display());
    let mount_bind = format!("type=bind,src={},dst=/m,readonly", host.display());
    for args in [
        vec!["-v", "rv:/d:ro"],
        vec!["--mount", "type=volume,src=rv,dst=/d,readonly"],
        vec!["-v", ro_bind.as_str()],
        vec!["--mount", mount_bind.as_str()],
    ] {
        let target = if args[1].contains("/h") {
            "/h"
        } else if args[1].contains("/m") {
            "/m"
        } else {
            "/d"
        };
        let mut a = vec!["--rm"];
        a.extend(args.iter().copied());
        let script = format!("touch {target}/x");
        a.extend([BUSYBOX, "sh", "-c", script.as_str()]);
        let o = ct.run(&a);
        assert_ne!(o.code, 0, "{args:?}: {o}");
        assert!(o.stderr.contains("Read-only file system"), "{args:?}: {o}");
    }
    assert!(std::fs::read_dir(&host).unwrap().next().is_none());
    let e = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--mount",
            "type=volume,dst=/x,ro",
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(
        e.contains("must not set ReadOnly mode when using anonymous volumes"),
        "{e}"
    );
    ct.finish();
}

#[test]
fn bind_mounts_both_ways_and_tmpfs() {
    let ct = Ct::new();
    let host = ct.scratch().join("shared");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in"), "from-host").unwrap();
    let spec = format!("{}:/s", host.display());
    let o = ct.run(&[
        "--name",
        "bb",
        "-v",
        &spec,
        BUSYBOX,
        "sh",
        "-c",
        "cat /s/in; echo from-ct > /s/out",
    ]);
    assert_eq!(o.stdout, "from-host", "{o}");
    assert_eq!(
        std::fs::read_to_string(host.join("out")).unwrap(),
        "from-ct\n"
    );
    let m = &ct.json("bb")["Mounts"][0];
    assert_eq!(m["Type"], "bind");
    assert_eq!(m["Source"].as_str().unwrap(), host.to_str().unwrap());
    assert_eq!(m["Propagation"], "rprivate");
    assert_eq!(m["RW"], true);
    assert!(m.get("Name").is_none() && m.get("Driver").is_none(), "{m}");
    // -v creates a missing host directory; --mount refuses it.
    let missing = ct.scratch().join("made/by/berth");
    let spec = format!("{}:/x", missing.display());
    assert!(ct.run(&["--rm", "-v", &spec, BUSYBOX, "true"]).success());
    assert!(missing.is_dir());
    let gone = ct.scratch().join("gone");
    let before = ct.ok(&["ps", "-aq"]);
    let e = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--mount",
            &format!("type=bind,src={},dst=/x", gone.display()),
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(
        e.contains(&format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            gone.display()
        )),
        "{e}"
    );
    assert_eq!(ct.ok(&["ps", "-aq"]), before, "nothing created");

    // tmpfs through --mount.
    let o = ct.run(&[
        "--rm",
        "--mount",
        "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
        BUSYBOX,
        "sh",
        "-c",
        "grep ' /t ' /proc/mounts; stat -c %a /t",
    ]);
    assert!(o.stdout.contains("tmpfs /t tmpfs"), "{o}");
    assert!(o.stdout.contains("size=1024k"), "{o}");
    assert!(o.stdout.trim_end().ends_with("1770"), "{o}");
    ct.finish();
}

#[test]
fn local_driver_bind_and_tmpfs_volumes() {
    let ct = Ct::new();
    let dev = ct.scratch().join("dev");
    std::fs::create_dir_all(&dev).unwrap();
    let opt = format!("device={}", dev.display());
    ct.ok(&[
        "volume",
        "create",
        "-o",
        "type=none",
        "-o",
        &opt,
        "-o",
        "o=bind",
        "bound",
    ]);
    let v: Value = serde_json::from_str(&ct.ok(&["volume", "inspect", "bound"])).unwrap();
    assert_eq!(v[0]["Options"]["o"], "bind");
    assert!(ct
        .run(&[
            "--rm",
            "-v",
            "bound:/b",
            BUSYBOX,
            "sh",
            "-c",
            "echo hi > /b/f"
        ])
        .success());
    assert_eq!(std::fs::read_to_string(dev.join("f")).unwrap(), "hi\n");
    ct.ok(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "device=tmpfs",
        "-o",
        "o=size=2m",
        "tv",
    ]);
    let o = ct.run(&[
        "--rm",
        "-v",
        "tv:/tv",
        BUSYBOX,
        "grep",
        " /tv ",
        "/proc/mounts",
    ]);
    assert!(
        o.stdout.contains("tmpfs /tv tmpfs") && o.stdout.contains("size=2048k"),
        "{o}"
    );
    let e = ct.fails_with(
        &[
            "volume",
            "create",
            "-o",
            "type=none",
            "-o",
            "device=/no/such/dir",
            "-o",
            "o=bind",
            "bad",
        ],
        1,
    );
    assert!(e.contains("no such file or directory"), "{e}");
    ct.finish();
}

#[test]
fn rm_v_and_auto_remove_drop_anonymous_volumes_only() {
    let ct = Ct::new();
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "cc",
        "-v",
        "/anon",
        "-v",
        "keep:/keep",
        "--mount",
        "type=volume,dst=/anon2",
        BUSYBOX,
        "true",
    ]);
    let names = volume_names(&ct);
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(
        ct.ok(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            "label=com.docker.volume.anonymous"
        ])
        .lines()
        .count(),
        2
    );
    ct.ok(&["rm", "-v", "cc"]);
    assert_eq!(volume_names(&ct), ["keep"]);
    let entries: Vec<_> = std::fs::read_dir(ct.root_path().join("volumes"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["keep"], "anonymous volume directories removed");

    let o = ct.run(&[
        "--rm",
        "-v",
        "/anon",
        "-v",
        "keep:/keep",
        BUSYBOX,
        "sh",
        "-c",
        "echo k > /keep/k",
    ]);
    assert!(o.success(), "{o}");
    assert!(crate::support::containers::wait_until(
        std::time::Duration::from_secs(10),
        || { volume_names(&ct) == ["keep"] }
    ));
    // Detached --rm: the monitor removes them.
    let id = ct.run_d(&["--rm", "-v", "/anon", BUSYBOX, "true"]);
    assert!(
        crate::support::containers::wait_until(std::time::Duration::from_secs(10), || {
            !ct.ok(&["ps", "-aq", "--no-trunc"]).contains(&id) && volume_names(&ct) == ["keep"]
        }),
        "{:?}",
        volume_names(&ct)
    );
    // Plain rm keeps anonymous volumes.
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "dd",
        "-v",
        "/anon",
        BUSYBOX,
        "true",
    ]);
    ct.ok(&["rm", "dd"]);
    assert_eq!(volume_names(&ct).len(), 2);
    ct.finish();
}

#[test]
fn malformed_specs_use_dockers_messages_and_create_nothing() {
    let ct = Ct::new();
    let cases: &[(&[&str], &str)] = &[
        (&["-v", "/a:/b:c:d"], "invalid volume specification: '/a:/b:c:d'"),
        (&["-v", "/a:/b:bogus"], "invalid mode: bogus"),
        (&["-v", "/a:ro"], "invalid volume specification: '/a:ro'"),
        (&["-v", "vol:rel"], "invalid volume specification: 'vol:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute"),
        (&["-v", "/h:/"], "invalid specification: destination can't be '/'"),
        (&["-v", "bad/name:/x"], "\"bad/name\" includes invalid characters for a local volume name"),
        (&["--mount", "type=bind,dst=/x"], "invalid mount config for type \"bind\": field Source must not be empty"),
        (&["--mount", "type=bogus,dst=/x"], "invalid mount config for type \"bogus\": mount type unknown"),
        (&["--mount", "type=bind,src=/tmp"], "invalid argument \"type=bind,src=/tmp\" for \"--mount\" flag: target is required"),
        (&["--mount", "type=volume,dst=/x,foo=1"], "unexpected key 'foo' in 'foo=1'"),
        (&["--mount", "type=tmpfs,dst=/x,tmpfs-size=huge"], "invalid value for tmpfs-size: huge"),
        (&["--mount", "type=tmpfs,src=x,dst=/x"], "field Source must not be specified"),
        (&["-v", "named1:/x", "--mount", "src=named2,dst=/x"], "Duplicate mount point: /x"),
    ];
    for (flags, want) in cases {
        for verb in ["run", "create"] {
            let mut a = vec![verb, "--network", "none"];
            a.extend_from_slice(flags);
            a.extend([BUSYBOX, "true"]);
            let e = ct.fails_with(&a, 125);
            assert!(e.contains(want), "{a:?}: want {want:?}, got {e}");
            assert_eq!(e.lines().filter(|l| !l.is_empty()).count(), 2, "{a:?}: {e}");
        }
    }
    assert_eq!(ct.ok(&["ps", "-aq"]), "", "no container created");
    let vols = volume_names(&ct);
    assert!(
        vols.iter().all(|v| v == "named1" || v == "named2"),
        "{vols:?}"
    );
    // A create that fails after its volumes were prepared (name taken) leaves no anonymous
    // volume behind; the named one it asked for stays, as in Docker.
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "taken",
        BUSYBOX,
        "true",
    ]);
    let e = ct.fails_with(
        &[
            "create",
            "--network",
            "none",
            "--name",
            "taken",
            "-v",
            "/anon",
            "-v",
            "kept:/k",
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(e.contains("is already in use"), "{e}");
    let mut vols = volume_names(&ct);
    vols.retain(|v| v != "named1" && v != "named2");
    assert_eq!(vols, ["kept"]);
    assert!(!std::fs::read_dir(ct.root_path().join("volumes"))
        .unwrap()
        .flatten()
        .any(|e| is_hex64(&e.file_name().to_string_lossy())));
    ct.finish();
}

#[test]
fn diff_and_export_ignore_volumes_cp_uses_them() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--name",
        "dd",
        "-v",
        "dv:/vol",
        BUSYBOX,
        "sh",
        "-c",
        "echo x > /vol/in-volume; echo y > /outside",
    ]);
    assert!(o.success(), "{o}");
    let diff = ct.ok(&["diff", "dd"]);
    assert!(diff.contains("A /outside"), "{diff}");
    assert!(!diff.contains("in-volume"), "{diff}");
    let export = ct.cmd(&["export", "dd"]).run();
    assert!(export.success());
    let names: Vec<String> = tar::Archive::new(export.stdout_bytes.as_slice())
        .entries()
        .unwrap()
        .map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "outside"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("in-volume")), "{names:?}");

    // cp reads and writes the volume, not the layer below it.
    let host = ct.write("up/new", "copied");
    ct.ok(&["cp", host.to_str().unwrap(), "dd:/vol/"]);
    assert_eq!(
        std::fs::read_to_string(vol_dir(&ct, "dv").join("new")).unwrap(),
        "copied"
    );
    let out = ct.scratch().join("out");
    std::fs::create_dir_all(&out).unwrap();
    ct.ok(&["cp", "dd:/vol/in-volume", out.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string(out.join("in-volume")).unwrap(),
        "x\n"
    );
    ct.ok(&["cp", "dd:/vol", out.join("whole").to_str().unwrap()]);
    assert!(out.join("whole/new").is_file());
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "ro",
        "-v",
        "dv:/vol:ro",
        BUSYBOX,
        "true",
    ]);
    let e = ct.fails_with(&["cp", host.to_str().unwrap(), "ro:/vol/"], 1);
    assert!(e.contains("mounted volume is marked read-only"), "{e}");
    ct.finish();
    assert_eq!(volume_names(&ct), ["dv"]);
}

#[test]
fn symlinked_volume_destinations_stay_inside_the_container() {
    // A hostile image: its VOLUME path and a bind destination are absolute symlinks naming
    // host directories that exist (CVE-2021-30465 class). Mounts and copy-up must resolve
    // them inside the container's root, never on the host.
    let ct = Ct::new();
    let host = ct.scratch().join("host-target");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("secret"), "host secret").unwrap();
    let host2 = ct.scratch().join("host-target2");
    std::fs::create_dir_all(&host2).unwrap();
    let target = host.to_str().unwrap().to_string();
    let target2 = host2.to_str().unwrap().to_string();
    let img = crate::support::busybox_image("evil:latest")
        .layer(
            Rootfs::new()
                .symlink("data", &target)
                .symlink("mnt2", &target2)
                .symlink("up", "../../../../../.."),
        )
        .volume("/data");
    ct.load_images(&[img]);
    let src = ct.scratch().join("bindsrc");
    std::fs::create_dir_all(&src).unwrap();
    let bind = format!("{}:/mnt2", src.display());
    let o = ct.run(&[
        "--rm",
        "-v",
        &bind,
        "evil",
        "sh",
        "-c",
        "echo pwn > /data/x; echo pwn > /mnt2/y; cat /data/x /mnt2/y; cat /data/secret 2>&1; true",
    ]);
    assert!(o.success(), "{o}");
    assert!(!o.stdout.contains("host secret"), "{o}");
    let left: Vec<_> = std::fs::read_dir(&host)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        ["secret"],
        "nothing written to the host through a symlink"
    );
    assert_eq!(std::fs::read_to_string(src.join("y")).unwrap(), "pwn\n");
    assert!(std::fs::read_dir(&host2).unwrap().next().is_none());
    assert!(o.stdout.starts_with("pwn\npwn\n"), "{o}");
    // A destination that resolves to the container's root is refused.
    let e = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--rm",
            "-v",
            "upv:/up",
            "evil",
            "true",
        ],
        125,
    );
    assert!(
        e.contains("invalid mount destination /up: it resolves to the container's root"),
        "{e}"
    );
    ct.finish();
}

#[test]
fn volume_events_system_df_and_system_prune() {
    let ct = Ct::new();
    ct.ok(&["volume", "create", "evv"]);
    let o = ct.run(&[
        "--name",
        "ev",
        "-v",
        "evv:/d",
        "-v",
        "/anon",
        BUSYBOX,
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /d/f",
    ]);
    assert!(o.success(), "{o}");
    let df = ct.ok(&["system", "df", "-v"]);
    assert!(df.contains("Local Volumes"), "{df}");
    let line = df
        .lines()
        .find(|l| l.starts_with("evv"))
        .unwrap_or_else(|| panic!("{df}"));
    assert!(line.contains(" 1 ") && line.contains("5kB"), "{line}");
    ct.ok(&["rm", "-v", "ev"]);
    let out = ct.ok(&["system", "prune", "-f", "--volumes"]);
    assert!(!out.contains("evv"), "named volumes stay: {out}");
    ct.ok(&["volume", "rm", "evv"]);
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let until = until.to_string();
    let ev = ct.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &until,
        "--filter",
        "type=volume",
        "--format",
        "{{.Action}} {{.Actor.ID}}",
    ]);
    let actions: Vec<&str> = ev.lines().collect();
    assert!(actions.contains(&"create evv"), "{ev}");
    assert!(actions.contains(&"mount evv"), "{ev}");
    assert!(actions.contains(&"destroy evv"), "{ev}");
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("create ")).count(),
        2,
        "{ev}"
    );
    assert_eq!(
        actions.iter().filter(|a| a.starts_with("destroy ")).count(),
        2,
        "{ev}"
    );
    ct.finish();
}
