//! Cases ported from distribution/reference's `reference_test.go` and
//! `normalize_test.go` (the cases, not the code), plus round-trip properties.

use super::*;
use proptest::prelude::*;

const FF: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

/// What `parse` (plain `reference.Parse`) must yield: `Ok((name, domain, tag, digest))`
/// or the error.
type Want = Result<(&'static str, &'static str, &'static str, &'static str), ReferenceError>;

fn inv(s: &str) -> ReferenceError {
    ReferenceError::InvalidFormat {
        input: s.to_string(),
    }
}

#[test]
fn plain_parse_table() {
    let long_ok_path = format!("{}a", "a/".repeat(127));
    let long_ok = format!("{long_ok_path}:tag-puts-this-over-max");
    let too_long = format!("domain/{}:tag", "a".repeat(256));
    let max_path = format!("example.com/{}:tag", "a".repeat(255));
    let cases: Vec<(String, Want)> = vec![
        ("test_com".into(), Ok(("test_com", "", "", ""))),
        ("test.com:tag".into(), Ok(("test.com", "", "tag", ""))),
        ("test.com:5000".into(), Ok(("test.com", "", "5000", ""))),
        (
            "test.com/repo:tag".into(),
            Ok(("test.com/repo", "test.com", "tag", "")),
        ),
        (
            "test:5000/repo".into(),
            Ok(("test:5000/repo", "test:5000", "", "")),
        ),
        (
            "test:5000/repo:tag".into(),
            Ok(("test:5000/repo", "test:5000", "tag", "")),
        ),
        (
            format!("test:5000/repo@{FF}"),
            Ok(("test:5000/repo", "test:5000", "", FF)),
        ),
        (
            format!("test:5000/repo:tag@{FF}"),
            Ok(("test:5000/repo", "test:5000", "tag", FF)),
        ),
        ("".into(), Err(ReferenceError::NameEmpty)),
        (":justtag".into(), Err(inv(":justtag"))),
        (format!("@{FF}"), Err(inv(&format!("@{FF}")))),
        (
            "repo@sha256:ffffffffffffffffffffffffffffffffff".into(),
            Err(ReferenceError::DigestInvalidLength {
                digest: "sha256:ffffffffffffffffffffffffffffffffff".into(),
            }),
        ),
        (
            format!("validname@invaliddigest:{}", &FF[7..]),
            Err(ReferenceError::DigestUnsupported {
                digest: format!("invaliddigest:{}", &FF[7..]),
            }),
        ),
        (
            "Uppercase:tag".into(),
            Err(ReferenceError::NameContainsUppercase {
                input: "Uppercase:tag".into(),
            }),
        ),
        (
            "test:5000/Uppercase/lowercase:tag".into(),
            Err(ReferenceError::NameContainsUppercase {
                input: "test:5000/Uppercase/lowercase:tag".into(),
            }),
        ),
        (
            "lowercase:Uppercase".into(),
            Ok(("lowercase", "", "Uppercase", "")),
        ),
        (
            too_long.clone(),
            Err(ReferenceError::NameTooLong {
                path: "a".repeat(256),
            }),
        ),
        ("aa/asdf$$^/aa".into(), Err(inv("aa/asdf$$^/aa"))),
        (
            "sub-dom1.foo.com/bar/baz/quux".into(),
            Ok(("sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "", "")),
        ),
        (
            "sub-dom1.foo.com/bar/baz/quux:some-long-tag".into(),
            Ok((
                "sub-dom1.foo.com/bar/baz/quux",
                "sub-dom1.foo.com",
                "some-long-tag",
                "",
            )),
        ),
        (
            "b.gcr.io/test.example.com/my-app:test.example.com".into(),
            Ok((
                "b.gcr.io/test.example.com/my-app",
                "b.gcr.io",
                "test.example.com",
                "",
            )),
        ),
        (
            "xn--n3h.com/myimage:xn--n3h.com".into(),
            Ok(("xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com", "")),
        ),
        (
            format!("xn--7o8h.com/myimage:xn--7o8h.com@{FF}"),
            Ok(("xn--7o8h.com/myimage", "xn--7o8h.com", "xn--7o8h.com", FF)),
        ),
        (
            "foo_bar.com:8080".into(),
            Ok(("foo_bar.com", "", "8080", "")),
        ),
        (
            "foo/foo_bar.com:8080".into(),
            Ok(("foo/foo_bar.com", "foo", "8080", "")),
        ),
        ("192.168.1.1".into(), Ok(("192.168.1.1", "", "", ""))),
        ("192.168.1.1:tag".into(), Ok(("192.168.1.1", "", "tag", ""))),
        (
            "192.168.1.1:5000".into(),
            Ok(("192.168.1.1", "", "5000", "")),
        ),
        (
            "192.168.1.1/repo".into(),
            Ok(("192.168.1.1/repo", "192.168.1.1", "", "")),
        ),
        (
            "192.168.1.1:5000/repo".into(),
            Ok(("192.168.1.1:5000/repo", "192.168.1.1:5000", "", "")),
        ),
        (
            "192.168.1.1:5000/repo:5050".into(),
            Ok(("192.168.1.1:5000/repo", "192.168.1.1:5000", "5050", "")),
        ),
        ("[2001:db8::1]".into(), Err(inv("[2001:db8::1]"))),
        ("[2001:db8::1]:5000".into(), Err(inv("[2001:db8::1]:5000"))),
        ("[2001:db8::1]:tag".into(), Err(inv("[2001:db8::1]:tag"))),
        (
            "[2001:db8::1]/repo".into(),
            Ok(("[2001:db8::1]/repo", "[2001:db8::1]", "", "")),
        ),
        (
            "[2001:db8:1:2:3:4:5:6]/repo:tag".into(),
            Ok((
                "[2001:db8:1:2:3:4:5:6]/repo",
                "[2001:db8:1:2:3:4:5:6]",
                "tag",
                "",
            )),
        ),
        (
            "[2001:db8::1]:5000/repo".into(),
            Ok(("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", "")),
        ),
        (
            "[2001:db8::1]:5000/repo:tag".into(),
            Ok(("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", "")),
        ),
        (
            format!("[2001:db8::1]:5000/repo@{FF}"),
            Ok(("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", FF)),
        ),
        (
            format!("[2001:db8::1]:5000/repo:tag@{FF}"),
            Ok(("[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", FF)),
        ),
        (
            "[2001:db8::]:5000/repo".into(),
            Ok(("[2001:db8::]:5000/repo", "[2001:db8::]:5000", "", "")),
        ),
        (
            "[::1]:5000/repo".into(),
            Ok(("[::1]:5000/repo", "[::1]:5000", "", "")),
        ),
        (
            "[fe80::1%eth0]:5000/repo".into(),
            Err(inv("[fe80::1%eth0]:5000/repo")),
        ),
        (
            "[fe80::1%@invalidzone]:5000/repo".into(),
            Err(inv("[fe80::1%@invalidzone]:5000/repo")),
        ),
    ];
    for (input, want) in cases {
        let got = parse(&input);
        match want {
            Err(e) => assert_eq!(got, Err(e), "{input}"),
            Ok((name, domain, tag, digest)) => {
                let r = got.unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_eq!(r.to_string(), input, "{input}");
                assert_eq!(r.name(), name, "{input}");
                assert_eq!(r.domain(), domain, "{input}");
                assert_eq!(r.tag().unwrap_or(""), tag, "{input}");
                let d = r.digest().map(ToString::to_string).unwrap_or_default();
                assert_eq!(d, digest, "{input}");
            }
        }
    }
    // The two long cases upstream checks by value.
    let r = parse(&long_ok).unwrap();
    assert_eq!(r.domain(), "a");
    assert_eq!(r.name(), long_ok_path);
    let r = parse(&max_path).unwrap();
    assert_eq!(r.path().len(), 255);
}

#[test]
fn valid_normalized_names() {
    for name in [
        "docker/docker",
        "library/debian",
        "debian",
        "localhost/library/debian",
        "localhost/debian",
        "LOCALDOMAIN/library/debian",
        "LOCALDOMAIN/debian",
        "docker.io/docker/docker",
        "docker.io/library/debian",
        "docker.io/debian",
        "index.docker.io/docker/docker",
        "index.docker.io/library/debian",
        "index.docker.io/debian",
        "127.0.0.1:5000/docker/docker",
        "127.0.0.1:5000/library/debian",
        "127.0.0.1:5000/debian",
        "192.168.0.1",
        "192.168.0.1:80",
        "192.168.0.1:8/debian",
        "192.168.0.2:25000/debian",
        "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
        "[fc00::1]:5000/docker",
        "[fc00::1]:5000/docker/docker",
        "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
        "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "Docker/docker",
        "DOCKER/docker",
        "docker-rules/docker",
        "docker---rules/docker",
        "doc/docker",
        "d/docker",
        "jess/t",
        "dock__er/docker",
    ] {
        if let Err(e) = Reference::parse_normalized(name) {
            panic!("{name} should be valid: {e}");
        }
    }
}

#[test]
fn invalid_normalized_names() {
    let too_long_ns = format!("{}/docker", "this_is_not_a_valid_namespace_".repeat(9));
    let mut names = vec![
        "https://github.com/docker/docker",
        "docker/Docker",
        "-docker",
        "-docker/docker",
        "-docker.io/docker/docker",
        "docker///docker",
        "docker.io/docker/Docker",
        "docker.io/docker///docker",
        "[fc00::1]",
        "[fc00::1]:5000",
        "fc00::1:5000/debian",
        "[fe80::1%eth0]:5000/debian",
        "[2001:db8:3:4::192.0.2.33]:5000/debian",
        "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        "docker-/docker",
        "-docker-/docker",
        "____/____",
        "_docker/_docker",
        "dock..er/docker",
        "dock_.er/docker",
        "dock-.er/docker",
        "docker/",
        "",
    ];
    names.push(&too_long_ns);
    for name in names {
        assert!(
            Reference::parse_normalized(name).is_err(),
            "{name} should be invalid"
        );
    }
}

#[test]
fn repository_info_table() {
    // (remote path, familiar name, full name, ambiguous spelling, domain)
    let cases = [
        (
            "fooo",
            "localhost/fooo",
            "localhost/fooo",
            "localhost/fooo",
            "localhost",
        ),
        (
            "fooo/bar",
            "localhost/fooo/bar",
            "localhost/fooo/bar",
            "",
            "localhost",
        ),
        (
            "fooo",
            "LOCALDOMAIN/fooo",
            "LOCALDOMAIN/fooo",
            "",
            "LOCALDOMAIN",
        ),
        (
            "fooo/bar",
            "LOCALDOMAIN/fooo/bar",
            "LOCALDOMAIN/fooo/bar",
            "",
            "LOCALDOMAIN",
        ),
        (
            "fooo/bar",
            "fooo/bar",
            "docker.io/fooo/bar",
            "index.docker.io/fooo/bar",
            "docker.io",
        ),
        (
            "library/ubuntu",
            "ubuntu",
            "docker.io/library/ubuntu",
            "library/ubuntu",
            "docker.io",
        ),
        (
            "nonlibrary/ubuntu",
            "nonlibrary/ubuntu",
            "docker.io/nonlibrary/ubuntu",
            "",
            "docker.io",
        ),
        (
            "other/library",
            "other/library",
            "docker.io/other/library",
            "",
            "docker.io",
        ),
        (
            "private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "127.0.0.1:8000/private/moonbase",
            "",
            "127.0.0.1:8000",
        ),
        (
            "privatebase",
            "127.0.0.1:8000/privatebase",
            "127.0.0.1:8000/privatebase",
            "",
            "127.0.0.1:8000",
        ),
        (
            "private/moonbase",
            "example.com/private/moonbase",
            "example.com/private/moonbase",
            "",
            "example.com",
        ),
        (
            "privatebase",
            "example.com/privatebase",
            "example.com/privatebase",
            "",
            "example.com",
        ),
        (
            "private/moonbase",
            "example.com:8000/private/moonbase",
            "example.com:8000/private/moonbase",
            "",
            "example.com:8000",
        ),
        (
            "privatebasee",
            "example.com:8000/privatebasee",
            "example.com:8000/privatebasee",
            "",
            "example.com:8000",
        ),
        (
            "library/ubuntu-12.04-base",
            "ubuntu-12.04-base",
            "docker.io/library/ubuntu-12.04-base",
            "index.docker.io/library/ubuntu-12.04-base",
            "docker.io",
        ),
        (
            "library/foo",
            "foo",
            "docker.io/library/foo",
            "docker.io/foo",
            "docker.io",
        ),
        (
            "library/foo/bar",
            "library/foo/bar",
            "docker.io/library/foo/bar",
            "",
            "docker.io",
        ),
        (
            "store/foo/bar",
            "store/foo/bar",
            "docker.io/store/foo/bar",
            "",
            "docker.io",
        ),
        ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
        ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
    ];
    for (remote, familiar, full, ambiguous, domain) in cases {
        let mut inputs = vec![familiar, full];
        if !ambiguous.is_empty() {
            inputs.push(ambiguous);
        }
        for input in inputs {
            let r = Reference::parse_normalized(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.familiar_name(), familiar, "{input}");
            assert_eq!(r.to_string(), full, "{input}");
            assert_eq!(r.name(), full, "{input}");
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.path(), remote, "{input}");
        }
    }
}

#[test]
fn tag_and_digest_together() {
    let short =
        "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
    let r = Reference::parse_normalized(short).unwrap();
    assert_eq!(r.to_string(), format!("docker.io/library/{short}"));
    assert_eq!(r.tag(), Some("latest"));
    assert!(r.digest().is_some());
    assert_eq!(r.familiar_string(), short);
    // ParseDockerRef keeps only the digest.
    assert_eq!(
        r.docker_ref().to_string(),
        "docker.io/library/busybox@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa"
    );
}

#[test]
fn docker_error_messages() {
    let msg = |s: &str| Reference::parse_normalized(s).unwrap_err().to_string();
    assert_eq!(
        msg("Busybox"),
        "invalid reference format: repository name (library/Busybox) must be lowercase"
    );
    assert_eq!(
        msg("user/App:v1"),
        "invalid reference format: repository name (user/App) must be lowercase"
    );
    assert_eq!(msg("busy box"), "invalid reference format");
    assert_eq!(msg("busybox:"), "invalid reference format");
    assert_eq!(msg("busybox:-tag"), "invalid reference format");
    assert_eq!(msg(""), "invalid reference format");
    let hex = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
    assert_eq!(
        msg(hex),
        format!("invalid repository name ({hex}), cannot specify 64-byte hexadecimal strings")
    );
    assert_eq!(
        msg(&format!("example.com/{}", "a".repeat(256))),
        "repository name must not be more than 255 characters"
    );
    // "library/" counts towards the limit of a familiar name.
    assert!(Reference::parse_normalized(&"a".repeat(247)).is_ok());
    assert!(Reference::parse_normalized(&"a".repeat(248)).is_err());
    assert_eq!(
        msg("busybox@sha256:abcdefabcdefabcdefabcdefabcdefabcdef"),
        "invalid checksum digest length"
    );
    assert_eq!(
        msg(&format!("busybox@sha256:{}", "F".repeat(64))),
        "invalid checksum digest format"
    );
    assert_eq!(
        msg(&format!("busybox@sha512:{}", "f".repeat(128))),
        "unsupported digest algorithm"
    );
    assert_eq!(msg("busybox@sha256:abc"), "invalid reference format");
    // A bare empty string goes through "docker.io/library/", whose empty last
    // component fails the grammar; plain Parse reports the empty name.
    assert_eq!(
        parse("").unwrap_err().to_string(),
        "repository name must have at least one component"
    );
}

#[test]
fn familiar_forms_and_defaults() {
    let r = Reference::parse_normalized("busybox").unwrap();
    assert_eq!(r.name(), "docker.io/library/busybox");
    assert_eq!(r.familiar_name(), "busybox");
    assert!(r.is_name_only());
    let r = r.with_default_tag();
    assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
    assert_eq!(r.familiar_string(), "busybox:latest");

    let r = Reference::parse_normalized("localhost:5000/a/b:t").unwrap();
    assert_eq!(r.domain(), "localhost:5000");
    assert_eq!(r.path(), "a/b");
    assert_eq!(r.familiar_string(), "localhost:5000/a/b:t");
    assert_eq!(r.clone().with_default_tag(), r);

    let r = Reference::parse_normalized(&format!("user/app@{FF}")).unwrap();
    assert_eq!(r.familiar_string(), format!("user/app@{FF}"));
    assert_eq!(r.clone().with_default_tag().tag(), None);

    // "localhost" alone is not a domain (upstream FIXME), nor is "localhost:5000".
    let r = Reference::parse_normalized("localhost:5000").unwrap();
    assert_eq!(r.to_string(), "docker.io/library/localhost:5000");
    assert_eq!(r.tag(), Some("5000"));

    let r = Reference::parse_normalized("index.docker.io/library/x").unwrap();
    assert_eq!(r.to_string(), "docker.io/library/x");
}

#[test]
fn with_tag_validates_and_keeps_digest() {
    let r = Reference::parse_normalized("test.com:8000/foo").unwrap();
    assert_eq!(
        r.with_tag("TAG5").unwrap().to_string(),
        "test.com:8000/foo:TAG5"
    );
    let d: Digest = FF.parse().unwrap();
    let r2 = r.with_digest(d).with_tag("latest").unwrap();
    assert_eq!(r2.to_string(), format!("test.com:8000/foo:latest@{FF}"));
    for bad in ["-foo", "", ".x", "a:b", &"a".repeat(129)] {
        let e = r.with_tag(bad).unwrap_err();
        assert_eq!(e.to_string(), "invalid tag format", "{bad}");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
    assert!(r.with_tag(&"a".repeat(128)).is_ok());
    assert_eq!(r.with_tag("v1").unwrap().trimmed(), r);
}

#[test]
fn ids_are_recognised() {
    assert!(is_full_or_short_id("abcdef012345"));
    assert!(is_full_or_short_id(&"a".repeat(64)));
    assert!(is_full_or_short_id("sha256:abc"));
    assert!(is_full_or_short_id(&format!("sha256:{}", "0".repeat(64))));
    assert!(!is_full_or_short_id("abcdef01234"));
    assert!(!is_full_or_short_id(&"a".repeat(65)));
    assert!(!is_full_or_short_id("ABCDEF012345"));
    assert!(!is_full_or_short_id("busybox"));
    assert!(!is_full_or_short_id("sha256:"));
    assert!(!is_full_or_short_id("sha256:xyz"));
}

#[test]
fn serde_uses_the_full_form() {
    let r = Reference::parse_normalized("busybox:1").unwrap();
    let j = serde_json::to_string(&r).unwrap();
    assert_eq!(j, "\"docker.io/library/busybox:1\"");
    let back: Reference = serde_json::from_str(&j).unwrap();
    assert_eq!(back, r);
    assert!(serde_json::from_str::<Reference>("\"Bad\"").is_err());
}

fn component() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,5}((\\.|_|__|-{1,3})[a-z0-9]{1,5}){0,2}"
}

fn domain() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("localhost".to_string()),
        "[a-z0-9]{1,6}\\.[a-z]{2,4}",
        "[a-z0-9]{1,6}(\\.[a-z]{2,4})?:[0-9]{1,5}",
        "\\[[0-9a-f]{1,4}::[0-9a-f]{0,4}\\](:[0-9]{1,5})?",
    ]
}

proptest! {
    /// Parsing the full form of a parsed reference yields the same reference, and
    /// parsing the familiar form does too.
    #[test]
    fn round_trips(
        dom in domain(),
        comps in prop::collection::vec(component(), 1..4),
        tag in prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        dig in prop::option::of(any::<[u8; 32]>()),
    ) {
        let mut s = comps.join("/");
        if !dom.is_empty() {
            s = format!("{dom}/{s}");
        }
        if let Some(t) = &tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = dig {
            s.push('@');
            s.push_str(&Digest::from_bytes(d).to_string());
        }
        prop_assume!(!is_identifier(&s));
        let r = Reference::parse_normalized(&s).unwrap();
        prop_assert_eq!(r.tag(), tag.as_deref());
        prop_assert_eq!(Reference::parse_normalized(&r.to_string()).unwrap(), r.clone());
        prop_assert_eq!(Reference::parse_normalized(&r.familiar_string()).unwrap(), r.clone());
        prop_assert_eq!(r.familiar_string().len() <= r.to_string().len(), true);
    }

    /// Arbitrary text never panics the parser, and anything accepted round-trips.
    #[test]
    fn never_panics(s in "\\PC{0,40}") {
        if let Ok(r) = Reference::parse_normalized(&s) {
            prop_assert_eq!(Reference::parse_normalized(&r.to_string()).unwrap(), r);
        }
    }
}
