//! `berth build`: every instruction's effect checked by running or inspecting the image,
//! multi-stage builds, the cache, contexts (directory, tar, stdin), `.dockerignore`, and
//! failures that must leave nothing behind. RUN steps use `--network none` (no bridge).
// See: #6

use std::path::PathBuf;

use crate::support::containers::Ct;

/// An installation with busybox and a build context directory.
struct B {
    ct: Ct,
    n: std::cell::Cell<usize>,
}

impl std::ops::Deref for B {
    type Target = Ct;
    fn deref(&self) -> &Ct {
        &self.ct
    }
}

impl B {
    fn new() -> B {
        B {
            ct: Ct::new(),
            n: std::cell::Cell::new(0),
        }
    }

    /// A fresh context directory holding `files` (name, content).
    fn ctx(&self, files: &[(&str, &str)]) -> PathBuf {
        self.n.set(self.n.get() + 1);
        let dir = self.scratch().join(format!("ctx{}", self.n.get()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, data) in files {
            let p = dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        }
        dir
    }

    /// `berth build --network none ARGS CTX`, asserting success; returns stderr (progress).
    #[track_caller]
    fn build(&self, ctx: &std::path::Path, args: &[&str]) -> String {
        let mut a = vec!["build", "--network", "none"];
        a.extend_from_slice(args);
        let c = ctx.display().to_string();
        a.push(&c);
        let o = self.cmd(&a).run();
        assert!(o.code == 0, "build failed\n{o}");
        o.stderr
    }

    /// A failing build: exit code 1; returns stderr.
    #[track_caller]
    fn build_fails(&self, ctx: &std::path::Path, args: &[&str]) -> String {
        let mut a = vec!["build", "--network", "none"];
        a.extend_from_slice(args);
        let c = ctx.display().to_string();
        a.push(&c);
        self.cmd(&a).fails_with(1)
    }

    /// `run --rm ARGS`'s stdout.
    #[track_caller]
    fn out(&self, args: &[&str]) -> String {
        let mut a = vec!["--rm"];
        a.extend_from_slice(args);
        let o = self.run(&a);
        assert!(o.code == 0, "run failed\n{o}");
        o.stdout
    }

    /// Nothing left: no containers, no mounts, no build scratch.
    #[track_caller]
    fn clean(&self) {
        assert_eq!(self.ok(&["ps", "-aq"]), "", "build containers left behind");
        let tmp = self.root_path().join("build-cache/tmp");
        let left: Vec<_> = std::fs::read_dir(&tmp)
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "build scratch left behind: {left:?}");
        self.finish();
    }
}

#[test]
fn seed_node_shape_dockerfile() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nWORKDIR /app\nCOPY . .\nRUN echo built > /app/out.txt && ls /app\nEXPOSE 3000\nCMD [\"cat\", \"/app/server.js\"]\n",
        ),
        ("server.js", "console.log('hi')\n"),
        ("package.json", "{}\n"),
    ]);
    let err = b.build(&ctx, &["-t", "seed"]);
    assert!(err.contains("[4/4] RUN echo built"), "{err}");
    assert!(
        err.contains("naming to docker.io/library/seed:latest"),
        "{err}"
    );
    assert_eq!(b.out(&["seed"]), "console.log('hi')\n");
    assert_eq!(b.out(&["seed", "cat", "/app/out.txt"]), "built\n");
    assert_eq!(
        b.inspect(
            "seed",
            "{{.Config.WorkingDir}} {{json .Config.ExposedPorts}}"
        ),
        "/app {\"3000/tcp\":{}}"
    );
    // Intermediate images are hidden from `images`, shown by `images -a`.
    assert_eq!(
        b.ok(&["images", "-q"]).lines().count(),
        2,
        "busybox and seed"
    );
    assert!(b.ok(&["images", "-aq"]).lines().count() > 2);
    // WORKDIR makes its directory even when nothing else writes there.
    let w = b.ctx(&[(
        "Dockerfile",
        "FROM busybox\nWORKDIR /made/deep\nCMD [\"pwd\"]\n",
    )]);
    b.build(&w, &["-t", "wd"]);
    assert_eq!(b.out(&["wd"]), "/made/deep\n");
    let h = b.ok(&["history", "--format", "{{.CreatedBy}}|{{.Size}}", "wd"]);
    assert!(
        h.starts_with("CMD [\"pwd\"]|0B\nWORKDIR /made/deep|"),
        "{h}"
    );
    b.clean();
}

#[test]
fn metadata_instructions_reach_the_config() {
    let b = B::new();
    let ctx = b.ctx(&[(
        "Dockerfile",
        r#"# syntax=docker/dockerfile:1
FROM busybox AS base
MAINTAINER someone <a@b.c>
ARG NAME=world
ENV GREETING="hello ${NAME}" \
    EMPTY= \
    OTHER=${UNSET:-fallback}
LABEL org.test.a="1 2" b=${NAME}
WORKDIR /srv
WORKDIR sub
USER 1000:1000
VOLUME ["/data", "/cache"]
STOPSIGNAL SIGUSR1
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD USER 0
ONBUILD RUN echo triggered > /onbuild.txt
SHELL ["/bin/sh", "-c"]
ENTRYPOINT ["/bin/echo", "ep"]
CMD ["a", "b"]
"#,
    )]);
    b.build(&ctx, &["-t", "meta"]);
    let f = |t: &str| b.inspect("meta", t);
    assert_eq!(f("{{json .Config.Env}}"), r#"["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","GREETING=hello world","EMPTY=","OTHER=fallback"]"#.replace("[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\",", &format!("[{},", b.inspect("busybox", "{{range .Config.Env}}{{json .}}{{end}}"))));
    assert_eq!(
        f("{{index .Config.Labels \"org.test.a\"}} {{.Config.Labels.b}}"),
        "1 2 world"
    );
    assert_eq!(
        f("{{.Config.WorkingDir}} {{.Config.User}} {{.Config.StopSignal}}"),
        "/srv/sub 1000:1000 SIGUSR1"
    );
    assert_eq!(f("{{json .Config.Volumes}}"), r#"{"/cache":{},"/data":{}}"#);
    assert_eq!(f("{{json .Config.Healthcheck.Test}} {{.Config.Healthcheck.Interval}} {{.Config.Healthcheck.Retries}}"), r#"["CMD-SHELL","true"] 5000000000 2"#);
    assert_eq!(
        f("{{json .Config.OnBuild}}"),
        r#"["USER 0","RUN echo triggered > /onbuild.txt"]"#
    );
    assert_eq!(
        f("{{json .Config.Entrypoint}} {{json .Config.Cmd}}"),
        r#"["/bin/echo","ep"] ["a","b"]"#
    );
    assert_eq!(f("{{json .Config.Shell}}"), r#"["/bin/sh","-c"]"#);
    assert_eq!(f("{{.Author}}"), "someone <a@b.c>");
    assert_eq!(b.out(&["meta"]), "ep a b\n");
    // History: one entry per instruction, metadata steps with empty layers.
    let h = b.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "meta",
    ]);
    assert!(
        h.contains("ENV GREETING=hello world EMPTY= OTHER=fallback"),
        "{h}"
    );
    assert!(h.contains("WORKDIR /srv/sub"), "{h}");
    assert!(h.contains("CMD [\"a\" \"b\"]"), "{h}");
    // ONBUILD triggers run in a child build, and are not inherited further.
    let child = b.ctx(&[(
        "Dockerfile",
        "FROM meta\nENTRYPOINT []\nCMD [\"cat\", \"/onbuild.txt\"]\n",
    )]);
    let err = b.build(&child, &["-t", "child"]);
    assert!(err.contains("DONE"), "{err}");
    assert_eq!(b.out(&["child"]), "triggered\n");
    assert_eq!(b.inspect("child", "{{json .Config.OnBuild}}"), "null");
    // Triggers of a previous stage run as well.
    let staged = b.ctx(&[(
        "Dockerfile",
        "FROM busybox AS t\nONBUILD RUN echo fired > /fired\nFROM t\nCMD [\"cat\", \"/fired\"]\n",
    )]);
    b.build(&staged, &["-t", "staged"]);
    assert_eq!(b.out(&["staged"]), "fired\n");
    // RUN steps below a VOLUME leave no anonymous volume behind.
    assert_eq!(
        b.ok(&["volume", "ls", "-q"]),
        "",
        "build containers' volumes are removed"
    );
    b.clean();
}

#[test]
fn run_forms_heredocs_shell_and_args() {
    let b = B::new();
    let ctx = b.ctx(&[(
        "Dockerfile",
        "FROM busybox\nARG V=default\nENV E=env\nRUN [\"/bin/sh\", \"-c\", \"echo exec:$E > /exec.txt\"]\nRUN echo \"shell:$V:$E\" > /shell.txt\nRUN <<EOF\necho line1 > /here.txt\necho line2 >> /here.txt\nEOF\nRUN cat <<'END' > /quoted.txt\n$NOT_EXPANDED\nEND\nSHELL [\"/bin/sh\", \"-e\", \"-c\"]\nRUN echo $0 $- > /shell2.txt\nCOPY <<EOF /inline.txt\nvalue=$E\nEOF\n",
    )]);
    b.build(&ctx, &["-t", "forms", "--build-arg", "V=given"]);
    let cat = |p: &str| b.out(&["forms", "cat", p]);
    assert_eq!(cat("/exec.txt"), "exec:env\n");
    assert_eq!(cat("/shell.txt"), "shell:given:env\n");
    assert_eq!(cat("/here.txt"), "line1\nline2\n");
    assert_eq!(cat("/quoted.txt"), "$NOT_EXPANDED\n");
    assert!(cat("/shell2.txt").contains('e'), "SHELL -e applies");
    assert_eq!(cat("/inline.txt"), "value=env\n");
    // Build args are not persisted in the image env.
    assert!(!b.inspect("forms", "{{json .Config.Env}}").contains("V="));
    let h = b.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "forms",
    ]);
    assert!(
        h.contains("RUN |1 V=given /bin/sh -c echo \"shell:$V:$E\" > /shell.txt # buildkit"),
        "{h}"
    );
    b.clean();
}

#[test]
fn copy_and_add_semantics() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nCOPY dir /d1\nCOPY dir/ /d2/\nCOPY a.txt b.txt /multi/\nCOPY *.txt /glob/\nCOPY a.txt /renamed.txt\nRUN mkdir /existing\nCOPY a.txt /existing\nCOPY --chown=1234:5678 --chmod=600 a.txt /owned.txt\nCOPY [\"with space.txt\", \"/sp/\"]\nADD arch.tar /x/\nADD arch.tar.gz arch.tar.bz2 arch.tar.xz /z/\nWORKDIR /w\nCOPY a.txt rel/\n",
        ),
        ("dir/f1", "1"),
        ("dir/sub/f2", "2"),
        ("a.txt", "A"),
        ("b.txt", "B"),
        ("with space.txt", "S"),
    ]);
    // A tar for ADD to extract.
    {
        let f = std::fs::File::create(ctx.join("arch.tar")).unwrap();
        let mut t = tar::Builder::new(f);
        let mut h = tar::Header::new_gnu();
        h.set_size(3);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, "inside/x.txt", &b"tar"[..]).unwrap();
        t.finish().unwrap();
    }
    // The same member under other names, compressed three ways.
    let tar_of = |name: &str, data: &[u8]| {
        let mut t = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, name, data).unwrap();
        t.into_inner().unwrap()
    };
    {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_of("gz.txt", b"gz")).unwrap();
        std::fs::write(ctx.join("arch.tar.gz"), gz.finish().unwrap()).unwrap();
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&tar_of("bz.txt", b"bz")).unwrap();
        std::fs::write(ctx.join("arch.tar.bz2"), bz.finish().unwrap()).unwrap();
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut &tar_of("xz.txt", b"xz")[..], &mut xz).unwrap();
        std::fs::write(ctx.join("arch.tar.xz"), xz).unwrap();
    }
    b.build(&ctx, &["-t", "cp"]);
    let sh = |s: &str| b.out(&["cp", "sh", "-c", s]);
    assert_eq!(sh("ls /d1 /d2 | tr '\\n' ' '"), "/d1: f1 sub  /d2: f1 sub ");
    assert_eq!(sh("cat /d1/sub/f2 /multi/a.txt /multi/b.txt"), "2AB");
    assert_eq!(sh("ls /glob | tr '\\n' ' '"), "a.txt b.txt with space.txt ");
    assert_eq!(sh("cat /renamed.txt /existing/a.txt"), "AA");
    assert_eq!(
        sh("stat -c '%u:%g %a' /owned.txt /a.txt 2>/dev/null; true"),
        "1234:5678 600\n"
    );
    assert_eq!(sh("stat -c '%u:%g' /d1/f1"), "0:0\n");
    assert_eq!(
        sh("cat '/sp/with space.txt' /x/inside/x.txt /w/rel/a.txt /z/gz.txt /z/bz.txt /z/xz.txt"),
        "StarAgzbzxz"
    );
    b.clean();
}

#[test]
fn hostile_context_symlinks_stay_inside() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nCOPY link /got-link\nCOPY abs /got-abs\nCOPY d /got-d/\n",
        ),
        ("etc/passwd", "context's own passwd\n"),
        ("d/plain", "p"),
    ]);
    std::os::unix::fs::symlink("../../../../../etc/passwd", ctx.join("link")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", ctx.join("abs")).unwrap();
    std::os::unix::fs::symlink("/etc/shadow", ctx.join("d/inner")).unwrap();
    b.build(&ctx, &["-t", "hostile"]);
    // Source symlinks resolve inside the context; symlinks in copied dirs stay symlinks.
    assert_eq!(
        b.out(&["hostile", "cat", "/got-link", "/got-abs"]),
        "context's own passwd\ncontext's own passwd\n"
    );
    assert_eq!(
        b.out(&["hostile", "readlink", "/got-d/inner"]),
        "/etc/shadow\n"
    );
    let bad = b.ctx(&[("Dockerfile", "FROM busybox\nCOPY ../x /x\n")]);
    let err = b.build_fails(&bad, &["-t", "escape"]);
    assert!(
        err.contains("Dockerfile:2") && err.contains("outside the build context"),
        "{err}"
    );
    b.fails_with(&["image", "inspect", "escape"], 1);
    b.clean();
}

#[test]
fn multi_stage_target_and_copy_from() {
    let b = B::new();
    let ctx = b.ctx(&[(
        "Dockerfile",
        "ARG BASE=busybox\nFROM ${BASE} AS one\nRUN echo one > /one.txt\n\nFROM $BASE AS two\nRUN echo two > /two.txt\n\nFROM busybox AS broken\nRUN false\n\nFROM one AS final\nCOPY --from=two /two.txt /from-two.txt\nCOPY --from=0 /one.txt /from-zero.txt\nCOPY --from=busybox /bin/busybox /bb\nCMD [\"cat\", \"/one.txt\", \"/from-two.txt\", \"/from-zero.txt\"]\n",
    )]);
    // The unused `broken` stage is never built.
    let err = b.build(&ctx, &["-t", "ms"]);
    assert!(!err.contains("RUN false"), "{err}");
    assert!(err.contains("[one 2/2] RUN echo one"), "{err}");
    assert_eq!(b.out(&["ms"]), "one\ntwo\none\n");
    assert_eq!(b.out(&["ms", "ls", "/bb"]), "/bb\n");
    // --target stops at that stage.
    b.build(&ctx, &["-t", "ms-two", "--target", "two"]);
    assert_eq!(b.out(&["ms-two", "cat", "/two.txt"]), "two\n");
    b.fails_with(
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "ms-two",
            "cat",
            "/one.txt",
        ],
        1,
    );
    // A missing target or stage is an error.
    let err = b.build_fails(&ctx, &["-t", "nope", "--target", "nosuch"]);
    assert!(
        err.contains("target stage \"nosuch\" could not be found"),
        "{err}"
    );
    let bad = b.ctx(&[(
        "Dockerfile",
        "FROM busybox\nCOPY --from=nosuchstage /x /x\n",
    )]);
    let err = b.build_fails(&bad, &["-t", "nope"]);
    assert!(
        err.contains("Dockerfile:2") && err.contains("nosuchstage"),
        "{err}"
    );
    b.fails_with(&["image", "inspect", "nope"], 1);
    b.clean();
}

#[test]
fn cache_hits_misses_and_no_cache() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nARG A=1\nCOPY first.txt /first.txt\nRUN echo $A > /a.txt\nCOPY second.txt /second.txt\nRUN cat /second.txt > /copy.txt\nCMD [\"cat\", \"/copy.txt\"]\n",
        ),
        ("first.txt", "1"),
        ("second.txt", "v1"),
    ]);
    b.build(&ctx, &["-t", "c"]);
    let id1 = b.inspect("c", "{{.Id}}");
    // Fully cached: every step CACHED, same image id.
    let err = b.build(&ctx, &["-t", "c"]);
    assert_eq!(err.matches("CACHED").count(), 4, "{err}");
    assert_eq!(b.inspect("c", "{{.Id}}"), id1);
    // Touching a file's time alone changes nothing (Docker hashes content, not times).
    let f = std::fs::File::options()
        .write(true)
        .open(ctx.join("second.txt"))
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    drop(f);
    let err = b.build(&ctx, &["-t", "c"]);
    assert_eq!(err.matches("CACHED").count(), 4, "{err}");
    // Changing the second file's content rebuilds from its COPY on.
    std::fs::write(ctx.join("second.txt"), "v2").unwrap();
    let err = b.build(&ctx, &["-t", "c"]);
    assert_eq!(err.matches("CACHED").count(), 2, "{err}");
    assert!(
        err.contains("[5/5] RUN cat /second.txt > /copy.txt\n#"),
        "{err}"
    );
    assert_eq!(b.out(&["c"]), "v2");
    assert_ne!(b.inspect("c", "{{.Id}}"), id1);
    // A build arg the RUN sees is part of its key.
    let err = b.build(&ctx, &["-t", "c", "--build-arg", "A=2"]);
    assert_eq!(err.matches("CACHED").count(), 1, "{err}");
    assert_eq!(b.out(&["c", "cat", "/a.txt"]), "2\n");
    // --no-cache uses nothing.
    let err = b.build(&ctx, &["-t", "c", "--no-cache"]);
    assert_eq!(err.matches("CACHED").count(), 0, "{err}");
    // builder prune forgets the cache.
    let out = b.ok(&["builder", "prune", "-f"]);
    assert!(out.starts_with("Total reclaimed space:"), "{out}");
    let err = b.build(&ctx, &["-t", "c2"]);
    assert_eq!(err.matches("CACHED").count(), 0, "{err}");
    b.clean();
}

#[test]
fn build_args_scoping() {
    let b = B::new();
    let ctx = b.ctx(&[(
        "Dockerfile",
        "ARG META=meta-default\nARG TAG=latest\nFROM busybox:${TAG}\nRUN echo \"meta=[$META]\" > /m1.txt\nARG META\nARG LOCAL=local-default\nRUN echo \"meta=[$META] local=[$LOCAL]\" > /m2.txt\nENV LOCAL=from-env\nRUN echo \"local=[$LOCAL]\" > /m3.txt\nARG TARGETARCH\nRUN echo \"arch=$TARGETARCH proxy=$HTTP_PROXY\" > /m4.txt\n",
    )]);
    let o = b
        .cmd(&[
            "build",
            "--network",
            "none",
            "-t",
            "args",
            "--build-arg",
            "LOCAL=given",
            "--build-arg",
            "UNUSED=x",
            "--build-arg",
            "HTTP_PROXY=http://proxy:3128",
            &ctx.display().to_string(),
        ])
        .run();
    assert_eq!(o.code, 0, "{o}");
    assert!(
        o.stderr
            .contains("[Warning] One or more build-args [UNUSED] were not consumed"),
        "{o}"
    );
    let cat = |p: &str| b.out(&["args", "cat", p]);
    assert_eq!(
        cat("/m1.txt"),
        "meta=[]\n",
        "meta ARGs are not visible until redeclared"
    );
    assert_eq!(cat("/m2.txt"), "meta=[meta-default] local=[given]\n");
    assert_eq!(cat("/m3.txt"), "local=[from-env]\n", "ENV wins over ARG");
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    assert_eq!(
        cat("/m4.txt"),
        format!("arch={arch} proxy=http://proxy:3128\n"),
        "platform args and proxy args need no value"
    );
    let h = b.ok(&[
        "history",
        "--no-trunc",
        "--format",
        "{{.CreatedBy}}",
        "args",
    ]);
    assert!(
        !h.contains("proxy:3128"),
        "proxy args stay out of history: {h}"
    );
    b.clean();
}

#[test]
fn dockerignore_rules() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nCOPY . /ctx/\nRUN find /ctx | sort > /list.txt\n",
        ),
        (
            ".dockerignore",
            "# comment\n*.log\n!keep.log\nnode_modules\n**/secret*\nDockerfile\n",
        ),
        ("a.log", "x"),
        ("keep.log", "x"),
        ("node_modules/m/index.js", "x"),
        ("src/app.js", "x"),
        ("src/deep/secret.key", "x"),
    ]);
    b.build(&ctx, &["-t", "ign"]);
    assert_eq!(
        b.out(&["ign", "cat", "/list.txt"]),
        "/ctx\n/ctx/.dockerignore\n/ctx/keep.log\n/ctx/src\n/ctx/src/app.js\n/ctx/src/deep\n"
    );
    // An ignored file is not in the context: COPY of it fails.
    let bad = b.ctx(&[
        ("Dockerfile", "FROM busybox\nCOPY a.log /\n"),
        (".dockerignore", "*.log\n"),
        ("a.log", "x"),
    ]);
    let err = b.build_fails(&bad, &[]);
    assert!(
        err.contains("Dockerfile:2") && err.contains("not found"),
        "{err}"
    );
    b.clean();
}

#[test]
fn contexts_from_tar_stdin_and_flags() {
    let b = B::new();
    let ctx = b.ctx(&[
        (
            "Dockerfile",
            "FROM busybox\nCOPY hello.txt /\nCMD [\"cat\", \"/hello.txt\"]\n",
        ),
        (
            "other.Dockerfile",
            "FROM busybox\nCOPY hello.txt /other.txt\nCMD [\"cat\", \"/other.txt\"]\n",
        ),
        ("hello.txt", "hello\n"),
    ]);
    // A tar file as the context, and the same tar on stdin (gzip).
    let tar_path = b.scratch().join("ctx.tar");
    {
        let f = std::fs::File::create(&tar_path).unwrap();
        let mut t = tar::Builder::new(f);
        t.append_dir_all(".", &ctx).unwrap();
        t.finish().unwrap();
    }
    b.ok(&[
        "build",
        "-q",
        "-t",
        "fromtar",
        &tar_path.display().to_string(),
    ]);
    assert_eq!(b.out(&["fromtar"]), "hello\n");
    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &std::fs::read(&tar_path).unwrap()).unwrap();
        e.finish().unwrap()
    };
    let out = b
        .cmd(&[
            "build",
            "-q",
            "-t",
            "fromstdin",
            "-f",
            "other.Dockerfile",
            "-",
        ])
        .stdin(gz)
        .ok();
    assert!(
        out.trim().starts_with("sha256:") && out.lines().count() == 1,
        "-q prints only the id: {out:?}"
    );
    assert_eq!(b.out(&["fromstdin"]), "hello\n");
    assert_eq!(b.inspect("fromstdin", "{{.Id}}"), out.trim());
    // A plain Dockerfile on stdin: no context.
    b.cmd(&["build", "-t", "plain", "-"])
        .stdin("FROM busybox\nENV X=1\n")
        .ok();
    assert!(b.inspect("plain", "{{json .Config.Env}}").contains("X=1"));
    // -f - with a directory context; several tags, labels, iidfile.
    let iid = b.scratch().join("iid");
    b.cmd(&[
        "build",
        "-f",
        "-",
        "-t",
        "t1",
        "-t",
        "t2:v2",
        "--label",
        "l=v",
        "--iidfile",
        &iid.display().to_string(),
        &ctx.display().to_string(),
    ])
    .stdin("FROM busybox\nCOPY hello.txt /x\n")
    .ok();
    let id = b.inspect("t1", "{{.Id}}");
    assert_eq!(b.inspect("t2:v2", "{{.Id}}"), id);
    assert_eq!(std::fs::read_to_string(&iid).unwrap(), id);
    assert_eq!(b.inspect("t1", "{{.Config.Labels.l}}"), "v");
    // image build is the same command.
    b.ok(&[
        "image",
        "build",
        "-q",
        "-t",
        "ib",
        &ctx.display().to_string(),
    ]);
    b.ok(&["image", "inspect", "ib"]);
    b.clean();
}

#[test]
fn failures_leave_nothing_behind() {
    let b = B::new();
    let cases: &[(&str, &str, &str)] = &[
        (
            "FROM busybox\nRUN true\nBOGUS thing\n",
            "Dockerfile:3",
            "unknown instruction: BOGUS",
        ),
        (
            "FROM busybox\nRUN true\nRUN false\nRUN true\n",
            "Dockerfile:3",
            "process \"/bin/sh -c false\" did not complete successfully: exit code: 1",
        ),
        (
            "FROM busybox\nCOPY missing.txt /\n",
            "Dockerfile:2",
            "\"/missing.txt\": not found",
        ),
        (
            "FROM busybox\nCOPY ../outside /\n",
            "Dockerfile:2",
            "forbidden path outside the build context: ../outside",
        ),
        ("FROM nosuchimage:1\n", "Dockerfile:1", "nosuchimage"),
        (
            "FROM busybox\nCOPY --bogus=1 a b\n",
            "Dockerfile:2",
            "unknown flag: bogus",
        ),
        (
            "FROM busybox\nADD http://127.0.0.1:9/file /f\n",
            "Dockerfile:2",
            "http://127.0.0.1:9/file",
        ),
        (
            "FROM busybox\nCOPY Dockerfile Dockerfile /notadir\n",
            "Dockerfile:2",
            "the destination must be a directory and end with a /",
        ),
        (
            "FROM busybox\nRUN --mount=type=cache,target=/x true\n",
            "Dockerfile:2",
            "not supported",
        ),
        (
            "FROM busybox\nEXPOSE 80/bogus\n",
            "Dockerfile:2",
            "invalid proto: bogus",
        ),
        (
            "FROM busybox\nUSER nosuchuser\nRUN true\n",
            "Dockerfile:3",
            "nosuchuser",
        ),
    ];
    for (df, line, msg) in cases {
        let ctx = b.ctx(&[("Dockerfile", df)]);
        let err = b.build_fails(&ctx, &["-t", "broken"]);
        assert!(err.contains(line), "{df}: {err}");
        assert!(err.contains(msg), "{df}: {err}");
        assert!(err.contains("ERROR: "), "{df}: {err}");
        b.fails_with(&["image", "inspect", "broken"], 1);
    }
    // Bad flags: Docker's usage error.
    let ctx = b.ctx(&[("Dockerfile", "FROM busybox\n")]);
    let err = b.fails_with(&["build", "--bogus", &ctx.display().to_string()], 125);
    assert!(err.contains("unknown flag: --bogus"), "{err}");
    let err = b.fails_with(
        &["build", "--progress", "fancy", &ctx.display().to_string()],
        1,
    );
    assert!(err.contains("progress"), "{err}");
    let err = b.fails_with(&["build", "-t", "Bad:Name", &ctx.display().to_string()], 1);
    assert!(err.contains("invalid reference format"), "{err}");
    b.clean();
}

#[test]
fn interrupt_removes_the_step_container() {
    let b = B::new();
    let ctx = b.ctx(&[("Dockerfile", "FROM busybox\nRUN sleep 60\n")]);
    let child = b.spawn(&[
        "build",
        "--network",
        "none",
        "-t",
        "intr",
        &ctx.display().to_string(),
    ]);
    let pid = child.id() as i32;
    assert!(
        crate::support::containers::wait_until(std::time::Duration::from_secs(30), || !b
            .ok(&["ps", "-q"])
            .is_empty()),
        "the RUN container never started"
    );
    crate::support::containers::signal(pid, rustix::process::Signal::INT);
    let o = crate::support::wait_timeout(child, std::time::Duration::from_secs(30))
        .expect("build ended");
    assert_ne!(o.code, 0, "{o}");
    b.fails_with(&["image", "inspect", "intr"], 1);
    assert_eq!(b.ok(&["ps", "-aq"]), "", "the step container was removed");
    // A build killed outright leaves its step container; the next build removes it.
    let child = b.spawn(&[
        "build",
        "--network",
        "none",
        "-t",
        "killed",
        &ctx.display().to_string(),
    ]);
    let pid = child.id() as i32;
    assert!(
        crate::support::containers::wait_until(std::time::Duration::from_secs(30), || !b
            .ok(&["ps", "-q"])
            .is_empty()),
        "the RUN container never started"
    );
    crate::support::containers::kill9(pid);
    let _ = crate::support::wait_timeout(child, std::time::Duration::from_secs(30));
    assert_ne!(
        b.ok(&["ps", "-aq"]),
        "",
        "SIGKILL leaves the step container"
    );
    let ok = b.ctx(&[("Dockerfile", "FROM busybox\nENV A=1\n")]);
    b.build(&ok, &["-t", "after"]);
    assert_eq!(
        b.ok(&["ps", "-aq"]),
        "",
        "the orphaned step container was removed"
    );
    b.clean();
}
