//! Registries: `push`, `pull`, `login`, `logout`, `search`, and `run` pulling a missing
//! image, against Debian's `docker-registry` (distribution) started per test on 127.0.0.1
//! (plain HTTP; TLS with a CA made here; htpasswd; token auth with a test token server),
//! skopeo as the reference client, and a fake registry for malformed answers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::registry_support::{Auth, Canned, Certs, Fake, Proxy, Registry, TokenServer};
use crate::support::containers::Ct;
use crate::support::{
    busybox_image, sha256_digest, to_docker_archive, to_oci_archive, Berth, Compression, Rootfs,
    TestImage,
};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn skopeo(args: &[&str]) -> Vec<u8> {
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
    out.stdout
}

/// A raw manifest as the registry serves it (via skopeo).
fn raw_manifest(reference: &str) -> Vec<u8> {
    skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{reference}"),
    ])
}

/// An image of busybox plus a layer with `n` bytes of pseudo-random data (so that layers
/// are distinct and not tiny).
fn image_with_data(tag: &str, seed: u32, n: usize) -> TestImage {
    let mut x = seed.wrapping_mul(2654435761).max(1);
    let data: Vec<u8> = (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x & 0xff) as u8
        })
        .collect();
    busybox_image(tag).layer(Rootfs::new().file("data/blob.bin", data))
}

fn load(b: &Berth, imgs: &[TestImage]) {
    b.cmd(&["load"]).stdin(to_docker_archive(imgs)).ok();
}

fn inspect(b: &Berth, name: &str) -> Value {
    let out = b.ok(&["image", "inspect", name]);
    let v: Value = serde_json::from_str(&out).expect("inspect JSON");
    v[0].clone()
}

/// The `sha256:…` after "digest: " in push output.
fn pushed_digest(out: &str) -> String {
    out.lines()
        .find_map(|l| l.split_once(": digest: "))
        .and_then(|(_, r)| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in push output:\n{out}"))
        .to_string()
}

fn blob_file(b: &Berth, digest: &str) -> PathBuf {
    b.root_path()
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn partial_dir(b: &Berth) -> PathBuf {
    b.root_path().join("ingest/partial")
}

fn dir_names(p: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn push_rmi_pull_round_trip_keeps_id_digest_and_bytes() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    let name = format!("{h}/app:1");
    let img = image_with_data(&name, 1, 300_000);
    load(&b, std::slice::from_ref(&img));

    let out = b.ok(&["push", &name]);
    assert!(
        out.starts_with(&format!("The push refers to repository [{h}/app]\n")),
        "{out}"
    );
    for d in img.diff_ids() {
        assert!(out.contains(&format!("{}: Pushed\n", &d[7..19])), "{out}");
    }
    let digest = pushed_digest(&out);
    assert!(
        out.trim_end().ends_with(&format!(
            "1: digest: {digest} size: {}",
            raw_manifest(&name).len()
        )),
        "{out}"
    );
    assert_eq!(sha256_digest(&raw_manifest(&name)), digest);
    let ins = inspect(&b, &name);
    assert_eq!(ins["RepoDigests"], json!([format!("{h}/app@{digest}")]));
    let listed = b.ok(&[
        "images",
        "--digests",
        "--format",
        "{{.Repository}} {{.Tag}} {{.Digest}}",
    ]);
    assert_eq!(listed, format!("{h}/app 1 {digest}\n"));

    // Pushing again: every layer is there already, same digest.
    let again = b.ok(&["push", &name]);
    assert!(again.contains("Layer already exists"), "{again}");
    assert_eq!(pushed_digest(&again), digest);

    b.ok(&["rmi", &name]);
    assert_eq!(b.ok(&["images", "-q"]), "");
    let out = b.ok(&["pull", &name]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "1: Pulling from app", "{out}");
    assert!(out.contains(": Pull complete\n"), "{out}");
    assert!(out.contains(&format!("Digest: {digest}\n")), "{out}");
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}\n")),
        "{out}"
    );
    assert_eq!(*lines.last().unwrap(), name.as_str(), "{out}");
    let ins = inspect(&b, &name);
    assert_eq!(ins["Id"], json!(img.image_id()));
    assert_eq!(ins["RepoDigests"], json!([format!("{h}/app@{digest}")]));
    assert_eq!(ins["RootFS"]["Layers"], json!(img.diff_ids()));
    // The filesystem is the image's.
    let layer_dirs = b.list("layers");
    assert_eq!(layer_dirs.len(), 2, "{layer_dirs:?}");

    // Pulling again changes nothing.
    let out = b.ok(&["pull", &name]);
    assert!(
        out.contains(&format!("Status: Image is up to date for {name}\n")),
        "{out}"
    );

    // Byte-identical to what skopeo copies.
    let sk = b.scratch().join("skopeo-dir");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{name}"),
        &format!("dir:{}", sk.display()),
    ]);
    let manifest = std::fs::read(sk.join("manifest.json")).unwrap();
    assert_eq!(std::fs::read(blob_file(&b, &digest)).unwrap(), manifest);
    let mut compared = 0;
    for f in dir_names(&sk) {
        if f.len() == 64 {
            let ours = std::fs::read(blob_file(&b, &f))
                .unwrap_or_else(|e| panic!("berth lacks blob {f}: {e}"));
            assert_eq!(ours, std::fs::read(sk.join(&f)).unwrap(), "blob {f}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3, "config and two layers");
    assert!(dir_names(&partial_dir(&b)).is_empty());
}

#[test]
fn push_mounts_across_repositories_and_chunks_big_blobs() {
    let reg = Registry::start();
    let h = reg.host();
    let proxy = Proxy::start(reg.port);
    let ph = format!("127.0.0.1:{}", proxy.port);
    let b = Berth::new();
    let img = image_with_data(&format!("{ph}/one:1"), 2, 50_000);
    load(&b, std::slice::from_ref(&img));
    // Small chunks: the layers go up as several PATCH requests.
    let out = b
        .cmd(&["push", &format!("{ph}/one:1")])
        .env("BERTH_PUSH_CHUNK_SIZE", "20000")
        .ok();
    let d1 = pushed_digest(&out);
    let sent = proxy.requests();
    assert!(
        sent.matches("PATCH /v2/one/blobs/uploads/").count() >= 3,
        "{sent}"
    );
    assert!(sent.contains("Content-Range: 0-19999"), "{sent}");
    // Another repository of the same registry: the layers are mounted, not uploaded.
    b.ok(&["tag", &format!("{ph}/one:1"), &format!("{ph}/two:1")]);
    let out = b.ok(&["push", &format!("{ph}/two:1")]);
    assert!(out.contains("Mounted from one"), "{out}");
    assert_eq!(pushed_digest(&out), d1);
    assert!(
        proxy.requests().contains("mount=sha256"),
        "no mount request"
    );
    // What went through the proxy is in the registry itself.
    assert_eq!(sha256_digest(&raw_manifest(&format!("{h}/two:1"))), d1);
    // Both repository digests are recorded.
    let ins = inspect(&b, &format!("{ph}/one:1"));
    let mut rd: Vec<String> = serde_json::from_value(ins["RepoDigests"].clone()).unwrap();
    rd.sort();
    assert_eq!(rd, vec![format!("{ph}/one@{d1}"), format!("{ph}/two@{d1}")]);
}

#[test]
fn pull_picks_the_host_platform_from_a_multi_arch_index() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    let host = busybox_image(&format!("{h}/multi:host")).label("arch", "host");
    let other = busybox_image(&format!("{h}/multi:s390x"))
        .platform("linux", "s390x", None)
        .label("arch", "s390x");
    load(&b, &[host.clone(), other.clone()]);
    let dh = pushed_digest(&b.ok(&["push", &format!("{h}/multi:host")]));
    let ds = pushed_digest(&b.ok(&["push", &format!("{h}/multi:s390x")]));
    let mh = raw_manifest(&format!("{h}/multi:host"));
    let ms = raw_manifest(&format!("{h}/multi:s390x"));
    let mt = |m: &[u8]| {
        serde_json::from_slice::<Value>(m).unwrap()["mediaType"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let arch = crate::support::host_arch();
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": mt(&ms), "digest": ds, "size": ms.len(), "platform": {"os": "linux", "architecture": "s390x"}},
            {"mediaType": mt(&mh), "digest": dh, "size": mh.len(), "platform": {"os": "linux", "architecture": arch}},
        ]
    }))
    .unwrap();
    let idx_file = b.write("index.json", &index);
    let out = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {OCI_INDEX}"),
        ])
        .arg("--data-binary")
        .arg(format!("@{}", idx_file.display()))
        .arg(format!("http://{h}/v2/multi/manifests/all"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index_digest = sha256_digest(&index);
    b.ok(&[
        "rmi",
        &format!("{h}/multi:host"),
        &format!("{h}/multi:s390x"),
    ]);

    let out = b.ok(&["pull", &format!("{h}/multi:all")]);
    assert!(out.contains(&format!("Digest: {index_digest}\n")), "{out}");
    let ins = inspect(&b, &format!("{h}/multi:all"));
    assert_eq!(ins["Id"], json!(host.image_id()));
    assert_eq!(
        ins["RepoDigests"],
        json!([format!("{h}/multi@{index_digest}")])
    );

    b.ok(&[
        "pull",
        "--platform",
        "linux/s390x",
        &format!("{h}/multi:all"),
    ]);
    let ins = inspect(&b, &format!("{h}/multi:all"));
    assert_eq!(ins["Id"], json!(other.image_id()));
    assert_eq!(ins["Architecture"], json!("s390x"));

    let err = b.fails_with(
        &[
            "pull",
            "--platform",
            "linux/mips64",
            &format!("{h}/multi:all"),
        ],
        1,
    );
    assert!(
        err.contains("no matching manifest for linux/mips64"),
        "{err}"
    );
    // By digest: the platform's manifest directly.
    b.ok(&["pull", &format!("{h}/multi@{ds}")]);
    assert_eq!(
        inspect(&b, &format!("{h}/multi@{ds}"))["Id"],
        json!(other.image_id())
    );
}

#[test]
fn zstd_and_gzip_layers_round_trip_as_stored() {
    let reg = Registry::start();
    let h = reg.host();
    for (comp, media) in [
        (
            Compression::Zstd,
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
        (
            Compression::Gzip,
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
    ] {
        let b = Berth::new();
        let name = format!(
            "{h}/comp:{}",
            if comp == Compression::Zstd {
                "zstd"
            } else {
                "gzip"
            }
        );
        let img = image_with_data(&name, 3, 20_000);
        b.cmd(&["load"])
            .stdin(to_oci_archive(std::slice::from_ref(&img), comp))
            .ok();
        let d = pushed_digest(&b.ok(&["push", &name]));
        let m: Value = serde_json::from_slice(&raw_manifest(&name)).unwrap();
        assert_eq!(m["mediaType"], json!(OCI_MANIFEST));
        for l in m["layers"].as_array().unwrap() {
            assert_eq!(l["mediaType"], json!(media));
        }
        b.ok(&["rmi", &name]);
        b.ok(&["pull", &name]);
        let ins = inspect(&b, &name);
        assert_eq!(ins["Id"], json!(img.image_id()));
        assert_eq!(ins["RepoDigests"], json!([format!("{h}/comp@{d}")]));
        // The blobs are the registry's bytes.
        for l in m["layers"].as_array().unwrap() {
            let dg = l["digest"].as_str().unwrap();
            assert_eq!(
                std::fs::read(blob_file(&b, dg)).unwrap(),
                std::fs::read(reg.blob_path(dg)).unwrap()
            );
        }
    }
}

#[test]
fn interrupted_download_resumes_with_a_range_request() {
    let reg = Registry::start();
    let b = Berth::new();
    let proxy = Proxy::start(reg.port);
    let ph = format!("127.0.0.1:{}", proxy.port);
    let name = format!("{ph}/big:1");
    let img = image_with_data(&name, 4, 400_000);
    load(&b, std::slice::from_ref(&img));
    b.ok(&["push", &name]);
    let m: Value = serde_json::from_slice(&raw_manifest(&format!("{}/big:1", reg.host()))).unwrap();
    let layer = m["layers"][1]["digest"].as_str().unwrap().to_string();
    let bytes = std::fs::read(reg.blob_path(&layer)).unwrap();
    b.ok(&["rmi", &name]);

    // A previous pull got half of the data layer.
    let half = bytes.len() / 2;
    std::fs::create_dir_all(partial_dir(&b)).unwrap();
    let part = partial_dir(&b).join(&layer[7..]);
    std::fs::write(&part, &bytes[..half]).unwrap();
    proxy.sent.lock().unwrap().clear();
    b.ok(&["pull", &name]);
    let sent = proxy.requests();
    assert!(
        sent.contains(&format!("Range: bytes={half}-")),
        "no resumed range request:\n{sent}"
    );
    assert_eq!(inspect(&b, &name)["Id"], json!(img.image_id()));
    assert!(!part.exists());
    assert_eq!(std::fs::read(blob_file(&b, &layer)).unwrap(), bytes);

    // A partial download whose bytes are wrong: the result fails verification, nothing is
    // stored, the bad bytes are dropped, and the next pull starts afresh.
    b.ok(&["rmi", &name]);
    b.ok(&["images"]);
    let mut wrong = bytes[..half].to_vec();
    wrong[10] ^= 0xff;
    std::fs::create_dir_all(partial_dir(&b)).unwrap();
    std::fs::write(&part, &wrong).unwrap();
    let err = b.fails_with(&["pull", &name], 1);
    assert!(err.contains("verification failed"), "{err}");
    assert_eq!(b.ok(&["images", "-q"]), "");
    assert!(!part.exists());
    b.ok(&["pull", &name]);
    assert_eq!(inspect(&b, &name)["Id"], json!(img.image_id()));
}

#[test]
fn tampered_registry_blob_is_refused_and_nothing_is_stored() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    let name = format!("{h}/evil:1");
    let img = image_with_data(&name, 5, 100_000);
    load(&b, std::slice::from_ref(&img));
    b.ok(&["push", &name]);
    b.ok(&["rmi", &name]);
    b.ok(&["images"]); // sweeps the blobs rmi left
    let m: Value = serde_json::from_slice(&raw_manifest(&name)).unwrap();
    let layer = m["layers"][1]["digest"].as_str().unwrap().to_string();
    let path = reg.blob_path(&layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();

    let before = b.list("blobs/sha256");
    let err = b.fails_with(&["pull", &name], 1);
    assert!(
        err.contains(&format!(
            "filesystem layer verification failed for digest {layer}"
        )),
        "{err}"
    );
    assert_eq!(b.ok(&["images", "-a", "-q"]), "");
    assert!(!blob_file(&b, &layer).exists());
    assert_eq!(b.list("blobs/sha256"), before, "the pull stored blobs");
    // The other layer's bytes wait as a complete resumable download, the tampered one's
    // are gone.
    assert!(!partial_dir(&b).join(&layer[7..]).exists());
    assert_eq!(b.ok(&["images", "--digests", "-q"]), "");
}

#[test]
fn tls_htpasswd_login_push_pull_logout() {
    let b = Berth::new();
    let certs = Certs::new(b.scratch(), "good");
    let reg = Registry::start_with(
        Some(&certs),
        Auth::Htpasswd {
            user: "tester".into(),
            password: "s3cret".into(),
        },
    );
    let h = reg.host();
    let certs_d = certs.certs_d(&b.scratch().join("certs.d"), &h);
    let docker_config = b.scratch().join("docker-config");
    let cfg_file = docker_config.join("config.json");
    let cmd = |args: &[&str]| {
        b.cmd(args)
            .env("BERTH_CERTS_D", &certs_d)
            .env("DOCKER_CONFIG", &docker_config)
    };
    let name = format!("{h}/secure:1");
    load(&b, &[busybox_image(&name)]);

    let err = cmd(&["push", &name]).fails_with(1);
    assert!(err.contains("no basic auth credentials"), "{err}");

    let err = cmd(&["login", "-u", "tester", "--password-stdin", &h])
        .stdin("wrong\n")
        .fails_with(1);
    assert!(err.contains("401"), "{err}");
    assert!(
        !cfg_file.exists(),
        "a failed login wrote {}",
        cfg_file.display()
    );

    let out = cmd(&["login", "-u", "tester", "--password-stdin", &h])
        .stdin("s3cret\n")
        .ok();
    assert!(out.contains("Login Succeeded"), "{out}");
    let cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_file).unwrap()).unwrap();
    // base64("tester:s3cret")
    assert_eq!(
        cfg,
        json!({"auths": {h.clone(): {"auth": "dGVzdGVyOnMzY3JldA=="}}})
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&cfg_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o077, 0, "config.json is readable by others");

    let d = pushed_digest(&cmd(&["push", &name]).ok());
    cmd(&["rmi", &name]).ok();
    let out = cmd(&["pull", &name]).ok();
    assert!(out.contains(&format!("Digest: {d}")), "{out}");

    let out = cmd(&["logout", &h]).ok();
    assert_eq!(out, format!("Removing login credentials for {h}\n"));
    let cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_file).unwrap()).unwrap();
    assert_eq!(cfg, json!({"auths": {}}));
    let out = cmd(&["logout", &h]).ok();
    assert_eq!(out, format!("Not logged in to {h}\n"));
    cmd(&["rmi", &name]).ok();
    let err = cmd(&["pull", &name]).fails_with(1);
    assert!(err.contains("no basic auth credentials"), "{err}");

    // -p works too (with Docker's warning), and other keys of config.json are kept.
    std::fs::write(&cfg_file, r#"{"psFormat": "table {{.ID}}"}"#).unwrap();
    let o = cmd(&["login", "-u", "tester", "-p", "s3cret", &h]).run();
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.stderr
            .contains("Using --password via the CLI is insecure"),
        "{o}"
    );
    let cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_file).unwrap()).unwrap();
    assert_eq!(cfg["psFormat"], json!("table {{.ID}}"));
    assert_eq!(cfg["auths"][&h]["auth"], json!("dGVzdGVyOnMzY3JldA=="));
    cmd(&["pull", &name]).ok();
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let b = Berth::new();
    let good = Certs::new(b.scratch(), "good");
    let other = Certs::new(b.scratch(), "other");
    let reg = Registry::start_with(Some(&good), Auth::None);
    let h = reg.host();
    let name = format!("{h}/tls:1");
    load(&b, &[busybox_image(&name)]);
    // Trusting another CA for this registry: refused, nothing pushed.
    let wrong = other.certs_d(&b.scratch().join("wrong-certs.d"), &h);
    let err = b
        .cmd(&["push", &name])
        .env("BERTH_CERTS_D", &wrong)
        .fails_with(1);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(err.lines().count() == 1, "{err}");
    // The right CA: accepted.
    let right = good.certs_d(&b.scratch().join("right-certs.d"), &h);
    b.cmd(&["push", &name]).env("BERTH_CERTS_D", &right).ok();
    // No certs.d at all: loopback registries are insecure (no verification), as with Docker.
    b.ok(&["pull", &name]);
}

#[test]
fn bearer_token_flow() {
    let b = Berth::new();
    let tokens = TokenServer::start(b.scratch(), "tok", "pw");
    let reg = Registry::start_with(
        None,
        Auth::Token {
            realm: tokens.realm(),
            cert: tokens.cert.clone(),
        },
    );
    let h = reg.host();
    let docker_config = b.scratch().join("docker-config");
    let cmd = |args: &[&str]| b.cmd(args).env("DOCKER_CONFIG", &docker_config);
    let name = format!("{h}/tk/app:1");
    load(&b, &[busybox_image(&name)]);
    let err = cmd(&["push", &name]).fails_with(1);
    assert!(
        err.contains("incorrect username or password") || err.contains("unauthorized"),
        "{err}"
    );
    let err = cmd(&["login", "-u", "tok", "--password-stdin", &h])
        .stdin("nope")
        .fails_with(1);
    assert!(err.contains("incorrect username or password"), "{err}");
    let out = cmd(&["login", "-u", "tok", "--password-stdin", &h])
        .stdin("pw")
        .ok();
    assert!(out.contains("Login Succeeded"), "{out}");
    let d = pushed_digest(&cmd(&["push", &name]).ok());
    cmd(&["rmi", &name]).ok();
    let out = cmd(&["pull", &name]).ok();
    assert!(out.contains(&format!("Digest: {d}")), "{out}");
    let seen = tokens.requests.lock().unwrap().join("\n");
    assert!(seen.contains("service=berth-test-registry"), "{seen}");
    assert!(
        seen.contains("scope=repository%3Atk%2Fapp%3Apull%2Cpush")
            || seen.contains("scope=repository:tk/app:pull,push"),
        "{seen}"
    );
}

#[test]
fn not_found_unauthorized_and_unreachable_registries() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    let err = b.fails_with(&["pull", &format!("{h}/nosuch:1")], 1);
    assert_eq!(
        err.trim(),
        format!("Error response from daemon: manifest for {h}/nosuch:1 not found: manifest unknown: manifest unknown")
    );
    // Nothing listens on port 1: a clear error, at once.
    let err = b.fails_with(&["pull", "127.0.0.1:1/app:1"], 1);
    assert!(
        err.contains("127.0.0.1:1") && err.to_lowercase().contains("connection refused"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = b.fails_with(&["search", "127.0.0.1:1/app"], 1);
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    load(&b, &[busybox_image("127.0.0.1:1/app:1")]);
    let err = b.fails_with(&["push", "127.0.0.1:1/app:1"], 1);
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    let err = b.fails_with(&["push", &format!("{h}/absent:1")], 1);
    assert!(
        err.contains("An image does not exist locally with the tag"),
        "{err}"
    );
    let err = b.fails_with(&["pull", "-a", &format!("{h}/x:1")], 1);
    assert!(err.contains("tag can't be used with --all-tags"), "{err}");
    assert_eq!(b.ok(&["images", "-q"]).lines().count(), 1);
}

fn fake_manifest_routes() -> (HashMap<String, Canned>, String) {
    let config = serde_json::to_vec(&json!({
        "architecture": crate::support::host_arch(), "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []}
    }))
    .unwrap();
    let good = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(&config), "size": config.len()},
        "layers": []
    }))
    .unwrap();
    let mut r = HashMap::new();
    r.insert(
        "/v2/bad/manifests/1".into(),
        Canned::ok(OCI_MANIFEST, "{not json"),
    );
    r.insert(
        "/v2/big/manifests/1".into(),
        Canned::ok(OCI_MANIFEST, vec![b' '; 5 << 20]),
    );
    r.insert(
        "/v2/mt/manifests/1".into(),
        Canned::ok(
            "application/vnd.example+json",
            r#"{"schemaVersion":2,"mediaType":"application/vnd.example+json"}"#,
        ),
    );
    let mut lying = Canned::ok(OCI_MANIFEST, good.clone());
    lying.headers.push((
        "Docker-Content-Digest".into(),
        sha256_digest(b"something else"),
    ));
    r.insert("/v2/dig/manifests/1".into(), lying);
    let odd_config = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.example.config+json", "digest": sha256_digest(&config), "size": config.len()},
        "layers": []
    }))
    .unwrap();
    r.insert(
        "/v2/cfg/manifests/1".into(),
        Canned::ok(OCI_MANIFEST, odd_config),
    );
    let schema1 = Canned::ok(
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        r#"{"schemaVersion":1,"name":"old","tag":"1","fsLayers":[]}"#,
    );
    r.insert("/v2/old/manifests/1".into(), schema1);
    // A config whose bytes are not what the manifest says.
    r.insert(
        "/v2/cfgbad/manifests/1".into(),
        Canned::ok(OCI_MANIFEST, good),
    );
    r.insert(
        format!("/v2/cfgbad/blobs/{}", sha256_digest(&config)),
        Canned::ok("application/octet-stream", b"{\"tampered\": true}".to_vec()),
    );
    // A layer blob longer than its descriptor says.
    let layer = vec![7u8; 100];
    let config1 = serde_json::to_vec(&json!({
        "architecture": crate::support::host_arch(), "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&layer)]}
    }))
    .unwrap();
    let long = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(&config1), "size": config1.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": sha256_digest(&layer), "size": 10}]
    }))
    .unwrap();
    r.insert(
        "/v2/long/manifests/1".into(),
        Canned::ok(OCI_MANIFEST, long),
    );
    r.insert(
        format!("/v2/long/blobs/{}", sha256_digest(&config1)),
        Canned::ok("application/octet-stream", config1.clone()),
    );
    r.insert(
        format!("/v2/long/blobs/{}", sha256_digest(&layer)),
        Canned::ok("application/octet-stream", layer),
    );
    (r, sha256_digest(&config))
}

#[test]
fn malformed_oversized_and_foreign_manifests_are_refused() {
    let (routes, _) = fake_manifest_routes();
    let fake = Fake::start(routes);
    let h = format!("127.0.0.1:{}", fake.port);
    let b = Berth::new();
    for (repo, want) in [
        ("bad", "invalid image manifest"),
        ("big", "too large"),
        (
            "mt",
            "unsupported media type \"application/vnd.example+json\"",
        ),
        ("dig", "digest verification failed"),
        (
            "cfg",
            "unsupported media type \"application/vnd.example.config+json\"",
        ),
        (
            "old",
            "unsupported media type \"application/vnd.docker.distribution.manifest.v1+prettyjws\"",
        ),
        ("cfgbad", "digest verification failed"),
        ("long", "filesystem layer verification failed"),
    ] {
        let err = b.fails_with(&["pull", &format!("{h}/{repo}:1")], 1);
        assert!(err.contains(want), "{repo}: {err}");
        assert_eq!(err.lines().count(), 1, "{repo}: {err}");
    }
    assert_eq!(b.ok(&["images", "-a", "-q"]), "");
    assert!(
        b.list("blobs/sha256").is_empty(),
        "{:?}",
        b.list("blobs/sha256")
    );
    assert!(dir_names(&partial_dir(&b)).is_empty());
}

#[test]
fn search_falls_back_to_the_catalog() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    load(
        &b,
        &[
            busybox_image(&format!("{h}/alpha-app:1")),
            busybox_image(&format!("{h}/beta:1")),
        ],
    );
    b.ok(&["push", &format!("{h}/alpha-app:1")]);
    b.ok(&["push", &format!("{h}/beta:1")]);
    let out = b.ok(&["search", &format!("{h}/alpha")]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert!(
        lines[0].contains("DESCRIPTION") && lines[0].contains("STARS"),
        "{out}"
    );
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[1].starts_with(&format!("{h}/alpha-app")), "{out}");
    let out = b.ok(&["search", "--format", "{{.Name}}", &format!("{h}/a")]);
    assert_eq!(out, format!("{h}/alpha-app\n{h}/beta\n"));
    let out = b.ok(&[
        "search",
        "--limit",
        "1",
        "--format",
        "{{.Name}}",
        &format!("{h}/a"),
    ]);
    assert_eq!(out.lines().count(), 1);
    let out = b.ok(&["search", "--filter", "stars=3", &format!("{h}/a")]);
    assert_eq!(out.lines().count(), 1, "only the header: {out}");
    let err = b.fails_with(&["search", "--limit", "0", "x"], 1);
    assert!(err.contains("outside the range"), "{err}");
    let err = b.fails_with(&["search", "--filter", "color=red", "x"], 1);
    assert!(err.contains("invalid filter"), "{err}");
}

#[test]
fn pull_quiet_and_all_tags() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    let one = image_with_data(&format!("{h}/q:1"), 6, 1000);
    let two = image_with_data(&format!("{h}/q:2"), 7, 1000);
    load(&b, &[one.clone(), two.clone()]);
    let out = b.ok(&["push", "-a", &format!("{h}/q")]);
    assert_eq!(out.matches(": digest: ").count(), 2, "{out}");
    b.ok(&["rmi", &format!("{h}/q:1"), &format!("{h}/q:2")]);
    let out = b.ok(&["pull", "-q", &format!("{h}/q:1")]);
    assert_eq!(out, format!("{h}/q:1\n"));
    let out = b.ok(&["pull", "--all-tags", &format!("{h}/q")]);
    assert!(
        out.contains("1: Pulling from q") && out.contains("2: Pulling from q"),
        "{out}"
    );
    assert!(
        out.contains("Already exists"),
        "the shared busybox layer: {out}"
    );
    assert_eq!(
        inspect(&b, &format!("{h}/q:2"))["Id"],
        json!(two.image_id())
    );
    assert_eq!(
        inspect(&b, &format!("{h}/q:1"))["Id"],
        json!(one.image_id())
    );
    let o = b.cmd(&["pull", &format!("{h}/q")]).run();
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stdout.starts_with("Using default tag: latest\n"), "{o}");
    assert!(
        o.stderr
            .contains(&format!("manifest for {h}/q:latest not found")),
        "{o}"
    );
}

#[test]
fn run_and_create_pull_a_missing_image() {
    let reg = Registry::start();
    let h = reg.host();
    let ct = Ct::empty();
    let name = format!("{h}/bb:1");
    ct.load_images(&[busybox_image(&name)]);
    ct.ok(&["push", &name]);
    ct.ok(&["rmi", &name]);

    let err = ct.run(&["--rm", "--pull", "never", &name, "true"]);
    assert_eq!(err.code, 125, "{err}");
    assert!(err.stderr.contains("No such image"), "{err}");

    let o = ct.run(&["--rm", &name, "echo", "pulled and ran"]);
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.stdout, "pulled and ran\n", "{o}");
    assert!(
        o.stderr
            .starts_with(&format!("Unable to find image '{name}' locally\n")),
        "{o}"
    );
    assert!(o.stderr.contains("Pull complete"), "{o}");
    assert!(
        o.stderr
            .contains(&format!("Status: Downloaded newer image for {name}")),
        "{o}"
    );

    let o = ct.run(&["--rm", "--pull", "always", &name, "true"]);
    assert_eq!(o.code, 0, "{o}");
    assert!(o.stderr.contains("Image is up to date"), "{o}");
    let o = ct.run(&["--rm", "--pull", "sometimes", &name, "true"]);
    assert_eq!(o.code, 125, "{o}");
    assert!(o.stderr.contains("invalid pull option"), "{o}");

    ct.ok(&["rmi", &name]);
    let id = ct.ok(&["create", "-q", &name, "true"]);
    assert_eq!(id.trim().len(), 64, "{id}");
    let err = ct.run(&["--rm", "127.0.0.1:1/nothing:1", "true"]);
    assert_eq!(err.code, 125, "{err}");
    assert!(
        err.stderr
            .contains("Unable to find image '127.0.0.1:1/nothing:1' locally"),
        "{err}"
    );
    assert!(
        err.stderr.to_lowercase().contains("connection refused"),
        "{err}"
    );
    ct.finish();
}

#[test]
fn credential_helpers_keep_the_secret_out_of_config_json() {
    let reg = Registry::start_with(
        None,
        Auth::Htpasswd {
            user: "helper-user".into(),
            password: "pw123".into(),
        },
    );
    let h = reg.host();
    let b = Berth::new();
    let bin = b.scratch().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-berthtest");
    std::fs::write(
        &helper,
        "#!/bin/sh\nd=$(dirname \"$0\")/store\nmkdir -p \"$d\"\ncase \"$1\" in\n\
         store) cat > \"$d/creds.json\" ;;\n\
         get) read url; if [ -f \"$d/creds.json\" ]; then cat \"$d/creds.json\"; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n\
         erase) read url; if [ -f \"$d/creds.json\" ]; then rm -f \"$d/creds.json\"; else echo 'credentials not found in native keychain'; exit 1; fi ;;\n\
         esac\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let docker_config = b.scratch().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    let cfg_file = docker_config.join("config.json");
    std::fs::write(&cfg_file, r#"{"credsStore": "berthtest"}"#).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let cmd = |args: &[&str]| {
        b.cmd(args)
            .env("DOCKER_CONFIG", &docker_config)
            .env("PATH", &path)
    };
    let o = cmd(&["login", "-u", "helper-user", "--password-stdin", &h])
        .stdin("pw123")
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert!(!o.stderr.contains("stored unencrypted"), "{o}");
    let cfg: Value = serde_json::from_slice(&std::fs::read(&cfg_file).unwrap()).unwrap();
    assert_eq!(
        cfg,
        json!({"credsStore": "berthtest", "auths": {h.clone(): {}}})
    );
    let stored: Value =
        serde_json::from_slice(&std::fs::read(bin.join("store/creds.json")).unwrap()).unwrap();
    assert_eq!(
        stored,
        json!({"ServerURL": h.clone(), "Username": "helper-user", "Secret": "pw123"})
    );
    let name = format!("{h}/helped:1");
    load(&b, &[busybox_image(&name)]);
    cmd(&["push", &name]).ok();
    let out = cmd(&["logout", &h]).ok();
    assert_eq!(out, format!("Removing login credentials for {h}\n"));
    assert!(!bin.join("store/creds.json").exists());
    let err = cmd(&["pull", &name]).fails_with(1);
    assert!(err.contains("no basic auth credentials"), "{err}");
}

#[test]
fn search_speaks_docker_hubs_v1_protocol() {
    let long = "An example web server image whose description is longer than forty-five characters";
    let results = json!({
        "num_results": 3, "query": "web",
        "results": [
            {"name": "web", "description": long, "star_count": 900, "is_official": true, "is_automated": false},
            {"name": "someone/web", "description": "a fork\nwith two lines", "star_count": 3, "is_official": false, "is_automated": true},
            {"name": "other/webapp", "description": "", "star_count": 0, "is_official": false, "is_automated": false},
        ]
    });
    let mut routes = HashMap::new();
    routes.insert(
        "/v1/search".to_string(),
        Canned::ok("application/json", results.to_string()),
    );
    let fake = Fake::start(routes);
    let h = format!("127.0.0.1:{}", fake.port);
    let b = Berth::new();
    let out = b.ok(&["search", &format!("{h}/web")]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("NAME") && lines[0].ends_with("OFFICIAL"),
        "{out}"
    );
    assert!(lines[1].starts_with("web "), "{out}");
    assert!(
        lines[1].contains("An example web server image whose descriptio…"),
        "{out}"
    );
    assert!(
        lines[1].contains("900") && lines[1].contains("[OK]"),
        "{out}"
    );
    assert!(lines[2].contains("a fork with two lines"), "{out}");
    let out = b.ok(&[
        "search",
        "--no-trunc",
        "--format",
        "{{.Description}}",
        &format!("{h}/web"),
    ]);
    assert_eq!(out.lines().next(), Some(long));
    let out = b.ok(&[
        "search",
        "--filter",
        "stars=3",
        "--format",
        "{{.Name}}",
        &format!("{h}/web"),
    ]);
    assert_eq!(out, "web\nsomeone/web\n");
    let out = b.ok(&[
        "search",
        "--filter",
        "is-official=true",
        "--format",
        "{{.Name}}:{{.StarCount}}",
        &format!("{h}/web"),
    ]);
    assert_eq!(out, "web:900\n");
    let out = b.ok(&[
        "search",
        "--limit",
        "2",
        "--format",
        "{{.Name}}",
        &format!("{h}/web"),
    ]);
    assert_eq!(out, "web\nsomeone/web\n");
}

#[test]
fn a_dropped_connection_mid_download_is_resumed() {
    let reg = Registry::start();
    let b = Berth::new();
    let name = format!("{}/cut:1", reg.host());
    let img = image_with_data(&name, 8, 3_000_000);
    load(&b, std::slice::from_ref(&img));
    b.ok(&["push", &name]);
    b.ok(&["rmi", &name]);
    // The connection carrying the registry's answers is dropped after 1.5 MB.
    let proxy = Proxy::start_cutting(reg.port, Some(1_500_000));
    let via = format!("127.0.0.1:{}/cut:1", proxy.port);
    let out = b.ok(&["pull", &via]);
    assert!(out.contains("Pull complete"), "{out}");
    let sent = proxy.requests();
    assert!(
        sent.contains("Range: bytes="),
        "no resumed range request:\n{sent}"
    );
    assert_eq!(inspect(&b, &via)["Id"], json!(img.image_id()));
    assert!(dir_names(&partial_dir(&b)).is_empty());
}

#[test]
fn concurrent_pulls_of_one_image_share_the_downloads() {
    let reg = Registry::start();
    let b = Berth::new();
    let name = format!("{}/twice:1", reg.host());
    let img = image_with_data(&name, 9, 2_000_000);
    load(&b, std::slice::from_ref(&img));
    b.ok(&["push", &name]);
    b.ok(&["rmi", &name]);
    b.ok(&["images"]);
    let kids: Vec<_> = (0..3).map(|_| b.spawn(&["pull", "-q", &name])).collect();
    for k in kids {
        let o = crate::support::wait(k);
        assert_eq!(o.code, 0, "{o}");
        assert_eq!(o.stdout, format!("{name}\n"), "{o}");
    }
    assert_eq!(b.ok(&["images", "-q"]), format!("{}\n", img.short_id()));
    let layers: Vec<String> = b
        .list("layers")
        .into_iter()
        .filter(|l| !l.starts_with('.'))
        .collect();
    assert_eq!(layers.len(), 2, "{layers:?}");
    assert!(dir_names(&partial_dir(&b)).is_empty());
    assert_eq!(inspect(&b, &name)["Id"], json!(img.image_id()));
}

#[test]
fn client_certificates_from_certs_d() {
    let b = Berth::new();
    let certs = Certs::new(b.scratch(), "mtls");
    let reg = Registry::start_mtls(&certs);
    let h = reg.host();
    let name = format!("{h}/mtls:1");
    load(&b, &[busybox_image(&name)]);
    // The CA alone: the registry wants a client certificate.
    let ca_only = certs.certs_d(&b.scratch().join("ca-only"), &h);
    let err = b
        .cmd(&["push", &name])
        .env("BERTH_CERTS_D", &ca_only)
        .fails_with(1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("Error response from daemon:"), "{err}");
    eprintln!("without a client certificate: {err}");
    // With client.cert and client.key beside the CA: accepted.
    let full = certs.certs_d(&b.scratch().join("full"), &h);
    certs.client_cert(&full.join(&h));
    b.cmd(&["push", &name]).env("BERTH_CERTS_D", &full).ok();
    b.ok(&["rmi", &name]);
    b.cmd(&["pull", &name]).env("BERTH_CERTS_D", &full).ok();
    // A certificate without its key is a clear error.
    std::fs::remove_file(full.join(&h).join("client.key")).unwrap();
    let err = b
        .cmd(&["pull", &name])
        .env("BERTH_CERTS_D", &full)
        .fails_with(1);
    assert!(err.contains("missing key"), "{err}");
}

#[test]
fn pull_and_push_are_image_events() {
    let reg = Registry::start();
    let h = reg.host();
    let b = Berth::new();
    let name = format!("{h}/ev:1");
    load(&b, &[busybox_image(&name)]);
    b.ok(&["push", &name]);
    b.ok(&["rmi", &name]);
    b.ok(&["pull", &name]);
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1)
    .to_string();
    let out = b.ok(&[
        "events",
        "--since",
        "0",
        "--until",
        &until,
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.ID}} {{index .Actor.Attributes \"name\"}}",
    ]);
    assert!(out.contains(&format!("push {name} {h}/ev\n")), "{out}");
    assert!(out.contains(&format!("pull {name} {h}/ev\n")), "{out}");
}

#[test]
fn build_pulls_a_missing_base_image() {
    let reg = Registry::start();
    let h = reg.host();
    let ct = Ct::empty();
    let base = format!("{h}/base:1");
    ct.load_images(&[busybox_image(&base)]);
    ct.ok(&["push", &base]);
    ct.ok(&["rmi", &base]);
    let ctx = ct.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        format!("FROM {base}\nRUN echo built > /built\n"),
    )
    .unwrap();
    let ctx = ctx.to_string_lossy().into_owned();
    ct.ok(&["build", "--network", "none", "-t", "app:1", &ctx]);
    let o = ct.run(&["--rm", "app:1", "cat", "/built"]);
    assert_eq!(o.stdout, "built\n", "{o}");
    assert!(
        ct.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .contains(&base),
        "the base image was pulled into the store"
    );
    // --pull pulls again even though it is there; a base nobody serves fails the build.
    ct.ok(&["build", "--pull", "--network", "none", "-t", "app:2", &ctx]);
    std::fs::write(
        ct.scratch().join("ctx/Dockerfile"),
        "FROM 127.0.0.1:1/nothing:1\nRUN true\n",
    )
    .unwrap();
    let err = ct.fails_with(&["build", "--network", "none", &ctx], 1);
    assert!(err.contains("127.0.0.1:1"), "{err}");
    ct.finish();
}
