use super::*;

fn d(n: u8) -> Digest {
    Digest::from_bytes([n; 32])
}

/// A config as Docker writes one: top-level keys sorted, `config` in OCI field order.
fn docker_config_json() -> String {
    format!(
        concat!(
            r#"{{"architecture":"amd64","#,
            r#""config":{{"User":"app","ExposedPorts":{{"80/tcp":{{}}}},"Env":["PATH=/usr/bin:/bin"],"#,
            r#""Entrypoint":["/entry"],"Cmd":["sh"],"Volumes":{{"/data":{{}}}},"WorkingDir":"/srv","#,
            r#""Labels":{{"a":"1","b":"2"}},"StopSignal":"SIGINT","ArgsEscaped":true,"#,
            r#""Healthcheck":{{"Test":["CMD","true"],"Interval":30000000000,"Retries":3}},"#,
            r#""OnBuild":["RUN x"],"Shell":["/bin/bash","-c"],"Hostname":"","Image":"sha256:x"}},"#,
            r#""created":"2024-01-02T03:04:05.123456789Z","#,
            r#""history":[{{"created":"2024-01-02T03:04:05Z","created_by":"/bin/sh -c #(nop) ADD file:abc in / "}},"#,
            r#"{{"created":"2024-01-02T03:04:06Z","created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true}}],"#,
            r#""moby.future":{{"x":[1,2]}},"os":"linux","#,
            r#""rootfs":{{"type":"layers","diff_ids":["{}"]}},"variant":"v2"}}"#
        ),
        d(1)
    )
}

#[test]
fn config_round_trip_is_byte_stable() {
    let src = docker_config_json();
    let cfg: ImageConfig = parse_json_capped(src.as_bytes(), "image config").unwrap();
    assert_eq!(cfg.architecture, "amd64");
    assert_eq!(cfg.variant.as_deref(), Some("v2"));
    assert_eq!(cfg.rootfs.diff_ids, vec![d(1)]);
    assert_eq!(cfg.history.len(), 2);
    assert!(cfg.history[1].empty_layer);
    let c = cfg.config.as_ref().unwrap();
    assert_eq!(c.user, "app");
    assert_eq!(c.cmd.as_deref(), Some(&["sh".to_string()][..]));
    assert_eq!(c.healthcheck.as_ref().unwrap().interval, 30_000_000_000);
    assert!(c.exposed_ports.contains_key("80/tcp"));
    assert_eq!(
        c.extra.get("Image"),
        Some(&Value::String("sha256:x".into()))
    );
    assert!(cfg.extra.contains_key("moby.future"));
    let out = serde_json::to_vec(&cfg).unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), src);
}

#[test]
fn config_output_is_sorted_and_omits_empties() {
    let mut cfg = ImageConfig {
        architecture: "arm64".into(),
        os: "linux".into(),
        created: Some("2024-01-01T00:00:00Z".into()),
        rootfs: RootFs::layers(vec![d(2)]),
        config: Some(ContainerConfig {
            env: vec!["A=1".into()],
            cmd: Some(vec![]),
            ..Default::default()
        }),
        ..Default::default()
    };
    cfg.extra.insert("zzz".into(), Value::Bool(true));
    cfg.extra.insert("aaa".into(), Value::Null);
    let out = serde_json::to_string(&cfg).unwrap();
    assert_eq!(
        out,
        format!(
            r#"{{"aaa":null,"architecture":"arm64","config":{{"Env":["A=1"]}},"created":"2024-01-01T00:00:00Z","os":"linux","rootfs":{{"type":"layers","diff_ids":["{}"]}},"zzz":true}}"#,
            d(2)
        )
    );
}

#[test]
fn config_input_is_lenient_like_go() {
    let src = r#"{"architecture":null,"os":"linux","config":{"Cmd":"sh","Entrypoint":null,
        "Env":null,"Labels":null,"Volumes":null,"ExposedPorts":{"53/udp":null},
        "Healthcheck":{"Test":null},"OnBuild":null},
        "rootfs":{"type":"layers","diff_ids":null},"history":null,"container_config":null}"#;
    let cfg: ImageConfig = parse_json_capped(src.as_bytes(), "c").unwrap();
    let c = cfg.config.unwrap();
    assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
    assert_eq!(c.entrypoint, None);
    assert!(c.env.is_empty() && c.labels.is_none() && c.volumes.is_empty());
    assert!(c.exposed_ports.contains_key("53/udp"));
    assert!(cfg.history.is_empty());
    assert!(cfg.rootfs.diff_ids.is_empty());
    assert!(cfg.container_config.is_none());
    assert_eq!(cfg.architecture, "");
    // Missing rootfs altogether is tolerated and written back as an empty layer list.
    let cfg: ImageConfig = parse_json_capped(br#"{"os":"linux"}"#, "c").unwrap();
    assert_eq!(
        serde_json::to_string(&cfg).unwrap(),
        r#"{"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
    );
}

#[test]
fn bad_diff_ids_are_refused() {
    let src = r#"{"rootfs":{"type":"layers","diff_ids":["sha256:../../etc/passwd"]}}"#;
    let e = parse_json_capped::<ImageConfig>(src.as_bytes(), "image config").unwrap_err();
    assert!(matches!(e, SpecError::Json { .. }), "{e}");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn history_serialises_like_docker() {
    let h = History {
        created: Some("t".into()),
        created_by: Some("cmd".into()),
        comment: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"created":"t","created_by":"cmd"}"#
    );
    let h = History {
        empty_layer: true,
        ..Default::default()
    };
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"empty_layer":true}"#
    );
}

#[test]
fn json_cap_refuses_oversized_documents_before_parsing() {
    let mut big = b"{\"x\":\"".to_vec();
    big.resize(MAX_JSON_SIZE + 1, b'a');
    let e = parse_json_capped::<Value>(&big, "image manifest").unwrap_err();
    assert!(matches!(e, SpecError::TooLarge { size, .. } if size == MAX_JSON_SIZE + 1));
    assert!(e.to_string().starts_with("image manifest is too large"));
    // Exactly at the limit is parsed (and here fails only as JSON).
    big.truncate(MAX_JSON_SIZE);
    assert!(matches!(
        parse_json_capped::<Value>(&big, "m").unwrap_err(),
        SpecError::Json { .. }
    ));
    // Deep nesting is refused by serde_json's recursion limit, not a stack overflow.
    let deep = "[".repeat(100_000);
    assert!(parse_json_capped::<Value>(deep.as_bytes(), "m").is_err());
}

fn manifest_json(extra: &str) -> String {
    format!(
        r#"{{"schemaVersion":2,"mediaType":"{}","config":{{"mediaType":"{}","digest":"{}","size":10}},"layers":[{{"mediaType":"{}","digest":"{}","size":20}}]{extra}}}"#,
        mediatype::OCI_MANIFEST,
        mediatype::OCI_CONFIG,
        d(1),
        mediatype::OCI_LAYER_GZIP,
        d(2)
    )
}

#[test]
fn manifest_round_trip_and_validation() {
    let src = manifest_json("");
    let m = Manifest::from_slice(src.as_bytes()).unwrap();
    assert_eq!(m.layers[0].size, 20);
    assert_eq!(serde_json::to_string(&m).unwrap(), src);
    m.validate_as(mediatype::OCI_MANIFEST).unwrap();
    assert!(matches!(
        m.validate_as(mediatype::DOCKER_MANIFEST),
        Err(SpecError::MediaType { .. })
    ));
    assert!(matches!(
        m.validate_as(mediatype::OCI_INDEX),
        Err(SpecError::MediaType { .. })
    ));
    let built = Manifest::new_oci(m.config.clone(), m.layers.clone());
    assert_eq!(built, m);

    let v1 = src.replace("\"schemaVersion\":2", "\"schemaVersion\":1");
    assert!(matches!(
        Manifest::from_slice(v1.as_bytes()),
        Err(SpecError::SchemaVersion { version: 1, .. })
    ));
    let wrong = src.replacen(mediatype::OCI_MANIFEST, mediatype::OCI_INDEX, 1);
    assert!(matches!(
        Manifest::from_slice(wrong.as_bytes()),
        Err(SpecError::MediaType { .. })
    ));
}

#[test]
fn cve_2021_41190_ambiguous_documents_are_refused() {
    // A manifest that also lists manifests.
    let both = manifest_json(&format!(
        r#","manifests":[{{"mediaType":"{}","digest":"{}","size":1}}]"#,
        mediatype::OCI_MANIFEST,
        d(3)
    ));
    let e = Manifest::from_slice(both.as_bytes()).unwrap_err();
    assert!(matches!(e, SpecError::Ambiguous { .. }), "{e}");
    // The same bytes read as an index are refused too.
    let both_index = both.replacen(mediatype::OCI_MANIFEST, mediatype::OCI_INDEX, 1);
    let e = Index::from_slice(both_index.as_bytes()).unwrap_err();
    assert!(matches!(e, SpecError::Ambiguous { .. }), "{e}");
    // And by the auto-detecting parser, whichever kind it picks.
    for mt in [
        None,
        Some(mediatype::OCI_INDEX),
        Some(mediatype::OCI_MANIFEST),
    ] {
        assert!(
            parse_manifest_or_index(both.as_bytes(), mt).is_err(),
            "{mt:?}"
        );
    }
    // An index with only a layers list is refused.
    let idx_layers = format!(
        r#"{{"schemaVersion":2,"manifests":[],"layers":[{{"mediaType":"{}","digest":"{}","size":1}}]}}"#,
        mediatype::OCI_LAYER,
        d(4)
    );
    assert!(matches!(
        Index::from_slice(idx_layers.as_bytes()),
        Err(SpecError::Ambiguous { .. })
    ));
}

#[test]
fn index_round_trip_and_auto_detection() {
    let mut arm = Descriptor::new(mediatype::OCI_MANIFEST, d(5), 100);
    arm.platform = Some(Platform {
        architecture: "arm".into(),
        os: "linux".into(),
        variant: Some("v7".into()),
        ..Default::default()
    });
    arm.annotations = Some(BTreeMap::from([
        ("b".to_string(), "2".to_string()),
        ("a".to_string(), "1".to_string()),
    ]));
    let idx = Index::new_oci(vec![arm]);
    let s = serde_json::to_string(&idx).unwrap();
    assert_eq!(
        s,
        format!(
            r#"{{"schemaVersion":2,"mediaType":"{}","manifests":[{{"mediaType":"{}","digest":"{}","size":100,"annotations":{{"a":"1","b":"2"}},"platform":{{"architecture":"arm","os":"linux","variant":"v7"}}}}]}}"#,
            mediatype::OCI_INDEX,
            mediatype::OCI_MANIFEST,
            d(5)
        )
    );
    match parse_manifest_or_index(s.as_bytes(), None).unwrap() {
        ManifestOrIndex::Index(i) => assert_eq!(i, idx),
        other => panic!("{other:?}"),
    }
    match parse_manifest_or_index(manifest_json("").as_bytes(), None).unwrap() {
        ManifestOrIndex::Manifest(m) => assert_eq!(m.layers.len(), 1),
        other => panic!("{other:?}"),
    }
    // A Docker manifest list without its own mediaType, told apart by shape.
    let list = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{}","digest":"{}","size":1}}]}}"#,
        mediatype::DOCKER_MANIFEST,
        d(6)
    );
    assert!(matches!(
        parse_manifest_or_index(list.as_bytes(), None).unwrap(),
        ManifestOrIndex::Index(_)
    ));
    assert!(matches!(
        parse_manifest_or_index(list.as_bytes(), Some(mediatype::DOCKER_MANIFEST_V1_SIGNED)),
        Err(SpecError::MediaType { .. })
    ));
}

#[test]
fn media_types_and_compression() {
    use mediatype::*;
    assert_eq!(layer_compression(OCI_LAYER), Some(Compression::None));
    assert_eq!(layer_compression(OCI_LAYER_GZIP), Some(Compression::Gzip));
    assert_eq!(layer_compression(OCI_LAYER_ZSTD), Some(Compression::Zstd));
    assert_eq!(
        layer_compression(DOCKER_LAYER_GZIP),
        Some(Compression::Gzip)
    );
    assert_eq!(
        layer_compression(DOCKER_LAYER_FOREIGN_GZIP),
        Some(Compression::Gzip)
    );
    assert_eq!(layer_compression(OCI_CONFIG), None);
    assert_eq!(layer_compression("application/octet-stream"), None);
    assert!(is_manifest(DOCKER_MANIFEST) && is_manifest(OCI_MANIFEST));
    assert!(is_index(DOCKER_MANIFEST_LIST) && is_index(OCI_INDEX));
    assert!(!is_index(OCI_MANIFEST) && !is_manifest(OCI_INDEX));
    assert!(is_config(DOCKER_CONFIG) && is_config(OCI_CONFIG));
    assert!(is_layer(OCI_LAYER_NONDISTRIBUTABLE_ZSTD));
    assert!(is_non_distributable(DOCKER_LAYER_FOREIGN_GZIP));
    assert!(!is_non_distributable(OCI_LAYER_GZIP));
}

#[test]
fn archive_paths_are_confined() {
    for ok in [
        "manifest.json",
        "abc/layer.tar",
        "blobs/sha256/0123",
        "./x.json",
        "a..b/c",
    ] {
        validate_archive_path(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "",
        "/etc/passwd",
        "../x",
        "a/../../x",
        "a/..",
        "a\0b",
        ".",
        "./",
        "//",
    ] {
        let e = validate_archive_path(bad).unwrap_err();
        assert!(matches!(e, SpecError::UnsafeArchivePath { .. }), "{bad:?}");
    }
}

#[test]
fn archive_manifest_like_docker_save() {
    let src = r#"[{"Config":"blobs/sha256/aa","RepoTags":null,"Layers":["blobs/sha256/bb"]},{"Config":"c.json","RepoTags":["busybox:latest"],"Layers":[],"LayerSources":{"sha256:x":{"mediaType":"m","size":1,"digest":"sha256:y"}}}]"#;
    let entries: Vec<ArchiveManifestEntry> =
        parse_json_capped(src.as_bytes(), "manifest.json").unwrap();
    assert_eq!(entries[0].repo_tags, None);
    assert_eq!(
        entries[1].repo_tags.as_deref(),
        Some(&["busybox:latest".to_string()][..])
    );
    for e in &entries {
        e.validate_paths().unwrap();
    }
    assert_eq!(serde_json::to_string(&entries).unwrap(), src);
    let evil = ArchiveManifestEntry {
        config: "x.json".into(),
        layers: vec!["../../etc/shadow".into()],
        ..Default::default()
    };
    assert!(evil.validate_paths().is_err());

    let repos: Repositories =
        parse_json_capped(br#"{"busybox":{"latest":"abc"}}"#, "repositories").unwrap();
    assert_eq!(repos["busybox"]["latest"], "abc");
    assert_eq!(
        serde_json::to_string(&OciLayout::default()).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
}

fn entry(arch: &str, variant: Option<&str>, n: u8) -> Descriptor {
    let mut desc = Descriptor::new(mediatype::OCI_MANIFEST, d(n), 1);
    desc.platform = Some(Platform {
        architecture: arch.into(),
        os: "linux".into(),
        variant: variant.map(str::to_string),
        ..Default::default()
    });
    desc
}

#[test]
fn platform_selection() {
    let amd64 = Platform::parse("linux/amd64").unwrap();
    let arm64 = Platform::parse("linux/arm64").unwrap();
    let armv7 = Platform::parse("linux/arm/v7").unwrap();
    let mut unknown = entry("unknown", None, 9);
    unknown.platform.as_mut().unwrap().os = "unknown".into();
    let list = vec![
        unknown,
        Descriptor::new(mediatype::OCI_MANIFEST, d(8), 1),
        entry("arm", Some("v6"), 1),
        entry("amd64", None, 2),
        entry("arm64", Some("v8"), 3),
        entry("arm", Some("v7"), 4),
        entry("386", None, 5),
    ];
    assert_eq!(amd64.select(&list).unwrap().digest, d(2));
    assert_eq!(arm64.select(&list).unwrap().digest, d(3));
    assert_eq!(armv7.select(&list).unwrap().digest, d(4));
    // arm/v7 runs v6 images when there is no v7 one; v6 does not run v7.
    assert_eq!(armv7.select(&list[..5]).unwrap().digest, d(1));
    let armv6 = Platform::parse("linux/arm/v6").unwrap();
    assert_eq!(armv6.select(&list[3..]), None);
    // Aliases and default variants normalise: aarch64 without a variant is arm64/v8.
    let plain = vec![entry("aarch64", None, 6), entry("arm64", Some("v8"), 7)];
    assert_eq!(arm64.select(&plain).unwrap().digest, d(6));
    // An exact variant beats an entry without one; a newer variant never matches.
    let arms = vec![entry("arm", None, 6), entry("arm", Some("v7"), 7)];
    let mut want_v6 = armv7.clone();
    want_v6.variant = Some("v6".into());
    assert_eq!(want_v6.select(&arms).unwrap().digest, d(6));
    let amds = vec![entry("amd64", Some("v3"), 6), entry("x86_64", None, 7)];
    assert_eq!(amd64.select(&amds).unwrap().digest, d(7));
    assert_eq!(amd64.select(&amds[..1]), None);
    assert_eq!(
        Platform::parse("windows/amd64").unwrap().select(&list),
        None
    );
    assert_eq!(Platform::parse("linux"), None);
    assert_eq!(Platform::parse("linux/arm64/v8/x"), None);
    assert_eq!(
        Platform::parse("linux/x86_64")
            .unwrap()
            .to_os_arch_variant(),
        "linux/amd64"
    );
    assert_eq!(armv7.to_os_arch_variant(), "linux/arm/v7");
}

#[test]
fn host_platform_is_in_go_terms() {
    let h = Platform::host();
    assert_eq!(h.os, "linux");
    let expected = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    if matches!(std::env::consts::ARCH, "x86_64" | "aarch64") {
        assert_eq!(h.architecture, expected);
    }
    // The host matches its own normalised form.
    assert!(h.matches(&h.normalized()));
    let idx = Index::new_oci(vec![entry(&h.architecture, h.variant.as_deref(), 1)]);
    assert_eq!(select_host_manifest(&idx).unwrap().digest, d(1));
}
