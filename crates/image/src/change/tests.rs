use super::*;

fn base() -> ContainerConfig {
    ContainerConfig {
        env: vec!["PATH=/usr/bin:/bin".into(), "HOME=/root".into()],
        cmd: Some(vec!["sh".into()]),
        working_dir: "/srv".into(),
        ..Default::default()
    }
}

fn applied(lines: &[&str]) -> ContainerConfig {
    let mut c = base();
    apply_changes(&mut c, lines).unwrap_or_else(|e| panic!("{lines:?}: {e}"));
    c
}

fn err(line: &str) -> String {
    let mut c = base();
    let e = apply_change(&mut c, line).unwrap_err();
    assert_eq!(c, base(), "a failed change must leave the config alone");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    e.to_string()
}

fn v(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn cmd_exec_and_shell_forms() {
    assert_eq!(applied(&[r#"CMD ["a","b c"]"#]).cmd, Some(v(&["a", "b c"])));
    assert_eq!(
        applied(&["cmd echo $HOME && ls"]).cmd,
        Some(v(&["/bin/sh", "-c", "echo $HOME && ls"]))
    );
    // Malformed JSON is the shell form, as in a Dockerfile.
    assert_eq!(
        applied(&["CMD [\"a\", 1]"]).cmd,
        Some(v(&["/bin/sh", "-c", "[\"a\", 1]"]))
    );
    // The config's SHELL is used for the shell form.
    let mut c = base();
    c.shell = v(&["/bin/bash", "-lc"]);
    apply_change(&mut c, "CMD make").unwrap();
    assert_eq!(c.cmd, Some(v(&["/bin/bash", "-lc", "make"])));
}

#[test]
fn entrypoint_resets_cmd_unless_cmd_came_first() {
    let c = applied(&[r#"ENTRYPOINT ["/init"]"#]);
    assert_eq!(c.entrypoint, Some(v(&["/init"])));
    assert_eq!(c.cmd, None);
    let c = applied(&["CMD [\"x\"]", "Entrypoint /init --flag"]);
    assert_eq!(c.entrypoint, Some(v(&["/bin/sh", "-c", "/init --flag"])));
    assert_eq!(c.cmd, Some(v(&["x"])));
    // ... and a later CMD wins regardless.
    let c = applied(&["ENTRYPOINT [\"e\"]", "CMD [\"y\"]"]);
    assert_eq!(c.cmd, Some(v(&["y"])));
}

#[test]
fn env_forms_and_expansion() {
    let c = applied(&[r#"ENV A=1 B="two words" PATH=$PATH:/opt/bin"#]);
    assert_eq!(
        c.env,
        v(&[
            "PATH=/usr/bin:/bin:/opt/bin",
            "HOME=/root",
            "A=1",
            "B=two words"
        ])
    );
    let c = applied(&["env LEGACY value with  spaces"]);
    assert_eq!(c.env.last().unwrap(), "LEGACY=value with  spaces");
    let c = applied(&[r#"ENV X='$HOME' Y=${HOME}/x Z=${NOPE:-dflt} W=\$HOME"#]);
    assert_eq!(
        &c.env[2..],
        &v(&["X=$HOME", "Y=/root/x", "Z=dflt", "W=$HOME"])[..]
    );
    // Later changes see earlier ones.
    let c = applied(&["ENV A=1", "ENV B=${A}2"]);
    assert_eq!(c.env.last().unwrap(), "B=12");
    assert_eq!(err("ENV"), "ENV requires at least one argument");
    assert_eq!(err("ENV ONLYKEY"), "ENV must have two arguments");
    assert_eq!(
        err("ENV A=1 B"),
        "Syntax error - can't find = in \"B\". Must be of the form: name=value"
    );
    assert_eq!(err("ENV =x"), "ENV names can not be blank");
    assert_eq!(
        err("ENV A=\"open"),
        "unexpected end of statement while looking for matching double-quote"
    );
}

#[test]
fn labels() {
    let c = applied(&[r#"LABEL a=1 "b c"="d e""#, "label legacy some value"]);
    assert_eq!(
        c.labels.as_ref().unwrap().get("a").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        c.labels.as_ref().unwrap().get("b c").map(String::as_str),
        Some("d e")
    );
    assert_eq!(
        c.labels.as_ref().unwrap().get("legacy").map(String::as_str),
        Some("some value")
    );
    assert_eq!(err("LABEL"), "LABEL requires at least one argument");
}

#[test]
fn expose() {
    let c = applied(&["EXPOSE 80 443/udp 53/UDP 8000-8002/tcp"]);
    let keys: Vec<&str> = c.exposed_ports.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["443/udp", "53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp"]
    );
    assert_eq!(err("EXPOSE"), "EXPOSE requires at least one argument");
    assert_eq!(err("EXPOSE 80/foo"), "invalid proto: foo");
    assert_eq!(err("EXPOSE http"), "invalid containerPort: http");
    assert_eq!(err("EXPOSE 70000"), "invalid containerPort: 70000");
    assert_eq!(err("EXPOSE 90-80"), "invalid containerPort: 90-80");
}

#[test]
fn user_workdir_stopsignal_volume_onbuild() {
    assert_eq!(applied(&["USER nobody:nogroup"]).user, "nobody:nogroup");
    assert_eq!(err("USER"), "USER requires exactly one argument");

    assert_eq!(applied(&["WORKDIR /a/b/../c"]).working_dir, "/a/c");
    assert_eq!(applied(&["WORKDIR rel"]).working_dir, "/srv/rel");
    assert_eq!(
        applied(&["WORKDIR x", "WORKDIR ../y"]).working_dir,
        "/srv/y"
    );
    assert_eq!(applied(&["WORKDIR $HOME/w"]).working_dir, "/root/w");
    assert_eq!(err("WORKDIR"), "WORKDIR requires exactly one argument");

    assert_eq!(applied(&["STOPSIGNAL SIGKILL"]).stop_signal, "SIGKILL");
    assert_eq!(applied(&["STOPSIGNAL 9"]).stop_signal, "9");
    assert_eq!(applied(&["STOPSIGNAL term"]).stop_signal, "term");
    assert_eq!(
        applied(&["STOPSIGNAL SIGRTMIN+3"]).stop_signal,
        "SIGRTMIN+3"
    );
    assert_eq!(err("STOPSIGNAL SIGFOO"), "Invalid signal: SIGFOO");
    assert_eq!(err("STOPSIGNAL 0"), "Invalid signal: 0");
    assert_eq!(err("STOPSIGNAL RTMAX-15"), "Invalid signal: RTMAX-15");

    let c = applied(&[r#"VOLUME ["/data", "/logs"]"#, "VOLUME /a /b"]);
    let vols: Vec<&str> = c.volumes.keys().map(String::as_str).collect();
    assert_eq!(vols, ["/a", "/b", "/data", "/logs"]);
    assert_eq!(
        err(r#"VOLUME [""]"#),
        "VOLUME specified can not be an empty string"
    );
    assert_eq!(err("VOLUME"), "VOLUME requires at least one argument");

    let c = applied(&["ONBUILD RUN echo  hi", "onbuild ADD . /app"]);
    assert_eq!(c.on_build, v(&["RUN echo  hi", "ADD . /app"]));
    assert_eq!(
        err("ONBUILD ONBUILD RUN x"),
        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        err("ONBUILD from x"),
        "FROM isn't allowed as an ONBUILD trigger"
    );
}

#[test]
fn healthcheck() {
    let c =
        applied(&["HEALTHCHECK --interval=30s --retries=3 --timeout=1m30s CMD curl -f http://x/"]);
    let h = c.healthcheck.unwrap();
    assert_eq!(h.test, v(&["CMD-SHELL", "curl -f http://x/"]));
    assert_eq!(h.interval, 30_000_000_000);
    assert_eq!(h.timeout, 90_000_000_000);
    assert_eq!(h.retries, 3);
    assert_eq!(h.start_period, 0);
    let c = applied(&[r#"HEALTHCHECK --start-period=1.5s CMD ["true"]"#]);
    let h = c.healthcheck.unwrap();
    assert_eq!(h.test, v(&["CMD", "true"]));
    assert_eq!(h.start_period, 1_500_000_000);
    assert_eq!(
        applied(&["HEALTHCHECK NONE"]).healthcheck.unwrap().test,
        v(&["NONE"])
    );
    assert_eq!(
        err("HEALTHCHECK"),
        "HEALTHCHECK requires at least one argument"
    );
    assert_eq!(
        err("HEALTHCHECK FOO x"),
        "Unknown type \"FOO\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(err("HEALTHCHECK --bogus=1 CMD x"), "Unknown flag: bogus");
    assert_eq!(
        err("HEALTHCHECK --interval=1us CMD x"),
        "Interval \"interval\" cannot be less than 1ms"
    );
    assert_eq!(
        err("HEALTHCHECK --retries=-1 CMD x"),
        "--retries cannot be negative (-1)"
    );
}

#[test]
fn invalid_commands_are_refused_with_dockers_message() {
    assert_eq!(err("FROM busybox"), "FROM is not a valid change command");
    assert_eq!(err("run echo hi"), "run is not a valid change command");
    assert_eq!(
        err("SHELL [\"/bin/bash\"]"),
        "SHELL is not a valid change command"
    );
    assert_eq!(
        err("CMD=/bin/sh"),
        "CMD=/bin/sh is not a valid change command"
    );
    // Checked before anything is applied: the valid ENV before it is not kept.
    let mut c = base();
    assert!(apply_changes(&mut c, &["ENV A=1", "COPY a b"]).is_err());
    assert_eq!(c, base());
    // A later instruction's argument error also leaves the config alone.
    assert!(apply_changes(&mut c, &["ENV A=1", "EXPOSE nope"]).is_err());
    assert_eq!(c, base());
}

#[test]
fn multi_line_changes_comments_and_continuations() {
    let c = applied(&["# comment\nENV A=1 \\\n  B=2\n\nUSER u", "   "]);
    assert_eq!(&c.env[2..], &v(&["A=1", "B=2"])[..]);
    assert_eq!(c.user, "u");
    // Nothing to do is fine.
    assert_eq!(applied(&[]), base());
}

#[test]
fn go_durations() {
    use super::lex::parse_go_duration as p;
    assert_eq!(p("0"), Some(0));
    assert_eq!(p("1h2m3s"), Some(3_723_000_000_000));
    assert_eq!(p("1.5s"), Some(1_500_000_000));
    assert_eq!(p("300ms"), Some(300_000_000));
    assert_eq!(p("2us"), Some(2_000));
    assert_eq!(p("-1s"), Some(-1_000_000_000));
    for bad in ["", "1", "s", "1x", "1..2s", "--1s"] {
        assert_eq!(p(bad), None, "{bad}");
    }
}

#[test]
fn path_clean_matches_go() {
    for (i, o) in [
        ("/", "/"),
        ("/a/b/", "/a/b"),
        ("/../a", "/a"),
        ("//a//b/./c/..", "/a/b"),
        ("a/../..", ".."),
        ("", "."),
    ] {
        assert_eq!(clean_path(i), o, "{i}");
    }
}
