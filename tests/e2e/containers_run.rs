//! `berth run`: output, exit codes, the process's environment (`-e`, `--env-file`, `-w`,
//! `-u`, `--entrypoint`, `-h`), naming, `--rm`, `-d`, `-i`, `-t`, `--read-only`, `--tmpfs`,
//! `--init`, `--stop-signal`, labels, and Docker's errors and exit codes (125 berth failed,
//! 126 not executable, 127 not found). Every container uses `--network none`.

use std::time::{Duration, Instant};

use crate::support::containers::{is_full_id, wait_until, Ct, BUSYBOX};
use crate::support::{busybox_image, Rootfs};

#[test]
fn run_prints_the_commands_output() {
    let ct = Ct::new();
    let o = ct.run(&[BUSYBOX, "echo", "hello", "world"]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "hello world\n"), "{o}");
    assert!(!o.panicked(), "{o}");
    // stdout and stderr stay apart, as `docker run` keeps them.
    let o = ct.run(&[BUSYBOX, "sh", "-c", "echo out; echo err >&2"]);
    assert_eq!(o.stdout, "out\n", "{o}");
    assert_eq!(o.stderr, "err\n", "{o}");
    // The image's CMD (`sh`) runs when no command is given; with stdin closed it just ends.
    let o = ct.run(&[BUSYBOX]);
    assert_eq!(o.code, 0, "{o}");
    ct.finish();
}

#[test]
fn run_exit_code_is_the_containers() {
    let ct = Ct::new();
    for code in [0, 1, 3, 42, 255] {
        let o = ct.run(&["--rm", BUSYBOX, "sh", "-c", &format!("exit {code}")]);
        assert_eq!(o.code, code, "{o}");
        assert!(o.stderr.is_empty(), "{o}");
    }
    // PID 1 killed by a signal from outside: 128 + signal, as Docker reports it.
    let o = ct.run(&["--rm", "--init", BUSYBOX, "sh", "-c", "kill -KILL $$"]);
    if std::path::Path::new("/usr/bin/tini-static").exists() {
        assert_eq!(o.code, 137, "{o}");
    }
    ct.finish();
}

#[test]
fn run_env_flags_and_env_file() {
    let ct = Ct::new();
    let file = ct.write(
        "env.list",
        "# a comment\n\nFROM_FILE=file value\nOVERRIDDEN=from-file\nFROM_HOST_VIA_FILE\n",
    );
    let o = ct
        .run_cmd(&[
            "--env-file",
            file.to_str().unwrap(),
            "-e",
            "A=1",
            "-e",
            "SPACED=two words",
            "-e",
            "OVERRIDDEN=from-flag",
            "-e",
            "FROM_HOST",
            BUSYBOX,
            "env",
        ])
        .env("FROM_HOST", "host value")
        .env("FROM_HOST_VIA_FILE", "via file")
        .run();
    assert_eq!(o.code, 0, "{o}");
    let env: Vec<&str> = o.stdout.lines().collect();
    for want in [
        "A=1",
        "SPACED=two words",
        "FROM_FILE=file value",
        "OVERRIDDEN=from-flag",
        "FROM_HOST=host value",
        "FROM_HOST_VIA_FILE=via file",
        "HOME=/root",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ] {
        assert!(env.contains(&want), "{want} missing from\n{}", o.stdout);
    }
    assert_eq!(
        env.iter().filter(|e| e.starts_with("OVERRIDDEN=")).count(),
        1,
        "{}",
        o.stdout
    );
    let host = env
        .iter()
        .find_map(|e| e.strip_prefix("HOSTNAME="))
        .expect("HOSTNAME is set");
    assert_eq!(host.len(), 12, "HOSTNAME={host}");
    // A missing env file: Docker's message, exit 125.
    let err = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--env-file",
            "/nonexistent/env",
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(
        err.contains("open /nonexistent/env: no such file or directory"),
        "{err}"
    );
    ct.finish();
}

/// docker/cli `opts.ValidateEnv` keeps a name-only `-e KEY` that is unset on the client as
/// `KEY`, and the daemon reads an entry without `=` as "unset KEY" (moby
/// `ReplaceOrAppendEnvValues`); the docs: "the variable isn't set in the container".
#[test]
fn run_env_name_only_and_unset_on_the_host_is_not_set() {
    assert!(
        std::env::var_os("UNSET_ON_HOST").is_none(),
        "UNSET_ON_HOST must not be set for this test"
    );
    let ct = Ct::new();
    let o = ct.run(&["-e", "UNSET_ON_HOST", BUSYBOX, "env"]);
    assert_eq!(o.code, 0, "{o}");
    assert!(
        !o.stdout.lines().any(|e| e.starts_with("UNSET_ON_HOST")),
        "{}",
        o.stdout
    );
    // It also unsets what the image sets.
    ct.load_images(&[busybox_image("envimg:1").env("UNSET_ON_HOST=from-image")]);
    let o = ct.run(&["-e", "UNSET_ON_HOST", "envimg:1", "env"]);
    assert!(
        !o.stdout.lines().any(|e| e.starts_with("UNSET_ON_HOST")),
        "{}",
        o.stdout
    );
    ct.finish();
}

#[test]
fn run_workdir_is_created_when_missing() {
    let ct = Ct::new();
    let o = ct.run(&["-w", "/new/deep/dir", BUSYBOX, "sh", "-c", "pwd; ls -ld ."]);
    assert_eq!(o.code, 0, "{o}");
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some("/new/deep/dir"), "{o}");
    assert!(
        lines.next().is_some_and(|l| l.starts_with("drwxr-xr-x")),
        "Docker creates a missing working directory 0755: {o}"
    );
    assert_eq!(ct.run(&["-w", "/tmp", BUSYBOX, "pwd"]).stdout, "/tmp\n");
    // The image's WORKDIR applies when -w is not given.
    ct.load_images(&[busybox_image("wd:1").workdir("/srv/app")]);
    assert_eq!(ct.run(&["wd:1", "pwd"]).stdout, "/srv/app\n");
    ct.finish();
}

#[test]
fn run_user_numeric_uid_gid() {
    let ct = Ct::new();
    let o = ct.run(&["-u", "1000:1000", BUSYBOX, "id"]);
    assert_eq!(o.code, 0, "{o}");
    let out = o.stdout.trim();
    assert!(out.starts_with("uid=1000 gid=1000"), "{out}");
    if let Some(groups) = out.split("groups=").nth(1) {
        assert_eq!(
            groups, "1000",
            "no supplementary group but the primary: {out}"
        );
    }
    // The process really runs as that user: root-owned files are off limits.
    let o = ct.run(&["-u", "1000:1000", BUSYBOX, "sh", "-c", "touch /etc/x"]);
    assert_ne!(o.code, 0, "{o}");
    assert!(o.stderr.contains("Permission denied"), "{o}");
    ct.finish();
}

#[test]
fn run_user_name_is_looked_up_in_the_containers_passwd() {
    let ct = Ct::new();
    let o = ct.run(&["-u", "nobody", BUSYBOX, "sh", "-c", "id; echo HOME=$HOME"]);
    assert_eq!(o.code, 0, "{o}");
    let mut lines = o.stdout.lines();
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("uid=65534(nobody) gid=65534(nogroup)")),
        "{o}"
    );
    assert_eq!(
        lines.next(),
        Some("HOME=/home"),
        "HOME from /etc/passwd: {o}"
    );
    let o = ct.run(&["-u", "daemon", BUSYBOX, "id", "-u"]);
    assert_eq!(o.stdout, "1\n", "{o}");
    // The image's USER applies when -u is not given.
    ct.load_images(&[busybox_image("usr:1").user("nobody")]);
    assert_eq!(ct.run(&["usr:1", "id", "-u"]).stdout, "65534\n");
    assert_eq!(ct.run(&["-u", "0", "usr:1", "id", "-u"]).stdout, "0\n");
    ct.finish();
}

#[test]
fn run_unknown_user_fails_with_125() {
    let ct = Ct::new();
    let err = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "-u",
            "nosuchuser",
            BUSYBOX,
            "id",
        ],
        125,
    );
    assert!(
        err.contains("unable to find user nosuchuser: no matching entries in passwd file"),
        "{err}"
    );
    ct.finish();
}

#[test]
fn run_rm_removes_a_container_that_failed_to_start() {
    // moby `containerStart`: on a start failure an AutoRemove container is removed.
    let ct = Ct::new();
    ct.fails_with(
        &["run", "--network", "none", "--rm", BUSYBOX, "nosuchcmd"],
        127,
    );
    assert_eq!(ct.ok(&["ps", "-aq"]), "", "--rm after command not found");
    ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--rm",
            "-u",
            "nosuchuser",
            BUSYBOX,
            "id",
        ],
        125,
    );
    assert_eq!(
        ct.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]),
        "",
        "--rm after an unknown user"
    );
    ct.finish();
}

#[test]
fn run_entrypoint_replaces_the_images() {
    let ct = Ct::new();
    assert_eq!(
        ct.run(&["--entrypoint", "echo", BUSYBOX, "hi", "there"])
            .stdout,
        "hi there\n"
    );
    // Docker drops the image's CMD when --entrypoint is given: `pwd` runs alone.
    assert_eq!(ct.run(&["--entrypoint", "pwd", BUSYBOX]).stdout, "/\n");
    // An image ENTRYPOINT gets the command as arguments; --entrypoint "" clears it.
    ct.load_images(&[busybox_image("ep:1")
        .entrypoint(&["echo", "from-entrypoint"])
        .cmd(&["default-arg"])]);
    assert_eq!(ct.run(&["ep:1"]).stdout, "from-entrypoint default-arg\n");
    assert_eq!(ct.run(&["ep:1", "x"]).stdout, "from-entrypoint x\n");
    assert_eq!(
        ct.run(&["--entrypoint", "", "ep:1", "echo", "plain"])
            .stdout,
        "plain\n"
    );
    let cmd = ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "ee",
        "--entrypoint",
        "echo",
        BUSYBOX,
        "a",
    ]);
    assert!(is_full_id(cmd.trim()));
    assert_eq!(
        ct.inspect("ee", "{{json .Config.Entrypoint}}"),
        r#"["echo"]"#
    );
    assert_eq!(ct.inspect("ee", "{{json .Config.Cmd}}"), r#"["a"]"#);
    ct.finish();
}

#[test]
fn run_hostname_flag() {
    let ct = Ct::new();
    let o = ct.run(&[
        "-h",
        "myhost",
        BUSYBOX,
        "sh",
        "-c",
        "hostname; cat /etc/hostname; echo $HOSTNAME",
    ]);
    assert_eq!(o.stdout, "myhost\nmyhost\nmyhost\n", "{o}");
    ct.finish();
}

#[test]
fn run_name_and_name_conflict() {
    let ct = Ct::new();
    ct.run(&["--name", "web", BUSYBOX, "true"]);
    let id = ct.id("web");
    assert_eq!(ct.inspect("web", "{{.Name}}"), "/web");
    let err = ct.fails_with(
        &["run", "--network", "none", "--name", "web", BUSYBOX, "true"],
        125,
    );
    assert!(
        err.contains(&format!(
            "Conflict. The container name \"/web\" is already in use by container \"{id}\". \
             You have to remove (or rename) that container to be able to reuse that name."
        )),
        "{err}"
    );
    assert_eq!(
        ct.ok(&["ps", "-aq", "--no-trunc"]).trim(),
        id,
        "only the first exists"
    );
    // Invalid names: Docker's message.
    let err = ct.fails_with(
        &[
            "run",
            "--network",
            "none",
            "--name",
            "bad name!",
            BUSYBOX,
            "true",
        ],
        125,
    );
    assert!(
        err.contains(
            "Invalid container name (bad name!), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        ),
        "{err}"
    );
    // Generated names are Docker's adjective_surname.
    ct.run(&[BUSYBOX, "true"]);
    let names = ct.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let generated = names
        .lines()
        .find(|n| *n != "web")
        .expect("a generated name");
    assert!(
        generated.split('_').count() == 2
            && generated
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'),
        "{generated}"
    );
    ct.finish();
}

#[test]
fn run_rm_leaves_nothing() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--rm",
        "--name",
        "gone",
        BUSYBOX,
        "sh",
        "-c",
        "echo bye; exit 4",
    ]);
    assert_eq!((o.code, o.stdout.as_str()), (4, "bye\n"), "{o}");
    assert_eq!(ct.ok(&["ps", "-aq"]), "");
    assert_eq!(
        ct.list("containers"),
        Vec::<String>::new(),
        "state dir left"
    );
    // The name is free again.
    assert_eq!(ct.run(&["--rm", "--name", "gone", BUSYBOX, "true"]).code, 0);
    // With -d, the container goes once it exits.
    ct.run_d(&["--rm", "--name", "gone-d", BUSYBOX, "sh", "-c", "sleep 0.3"]);
    let ok = wait_until(Duration::from_secs(10), || ct.ok(&["ps", "-aq"]).is_empty());
    assert!(ok, "run -d --rm: {}", ct.ok(&["ps", "-a"]));
    ct.finish();
}

#[test]
fn run_detached_prints_the_id_and_keeps_running() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "bg", BUSYBOX, "sleep", "60"]);
    assert_eq!(ct.status("bg"), "running");
    let pid = ct.pid("bg");
    assert!(
        crate::support::containers::alive(pid),
        "pid {pid} not alive"
    );
    assert_eq!(ct.ok(&["ps", "-q"]).trim(), &id[..12]);
    assert_eq!(ct.ok(&["ps", "-q", "--no-trunc"]).trim(), id);
    // Still running a moment later: `run -d` returned, the container did not end with it.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ct.status(&id[..12]), "running");
    ct.finish();
}

#[test]
fn run_interactive_forwards_stdin() {
    let ct = Ct::new();
    let o = ct.run_cmd(&["-i", BUSYBOX, "cat"]).stdin("hi\n").run();
    assert_eq!((o.code, o.stdout.as_str()), (0, "hi\n"), "{o}");
    // Larger input arrives whole and stdin closes at its end.
    let data = vec![b'x'; 1 << 20];
    let o = ct
        .run_cmd(&["-i", "--rm", BUSYBOX, "wc", "-c"])
        .stdin(data)
        .run();
    assert_eq!(o.stdout.trim(), "1048576", "{o}");
    // Without -i the container's stdin is empty.
    let o = ct
        .run_cmd(&["--rm", BUSYBOX, "cat"])
        .stdin("ignored\n")
        .run();
    assert_eq!((o.code, o.stdout.as_str()), (0, ""), "{o}");
    ct.finish();
}

#[test]
fn run_tty_gives_a_terminal() {
    let ct = Ct::new();
    let o = ct.run(&["-t", "--rm", BUSYBOX, "tty"]);
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.stdout, "/dev/pts/0\r\n", "a terminal translates \\n: {o}");
    let o = ct.run(&["--rm", BUSYBOX, "sh", "-c", "tty; true"]);
    assert_eq!(o.stdout, "not a tty\n", "{o}");
    ct.finish();
}

#[test]
fn run_read_only_root_filesystem() {
    let ct = Ct::new();
    let o = ct.run(&["--read-only", BUSYBOX, "sh", "-c", "touch /x"]);
    assert_ne!(o.code, 0, "{o}");
    assert!(o.stderr.contains("Read-only file system"), "{o}");
    let o = ct.run(&["--read-only", BUSYBOX, "sh", "-c", "touch /tmp/x"]);
    assert_ne!(o.code, 0, "/tmp is read-only too without --tmpfs: {o}");
    let o = ct.run(&[
        "--read-only",
        "--tmpfs",
        "/tmp",
        BUSYBOX,
        "sh",
        "-c",
        "touch /tmp/x && echo tmp-ok; touch /y || echo root-ro",
    ]);
    assert_eq!(o.stdout, "tmp-ok\nroot-ro\n", "{o}");
    // /dev/shm is a mount of its own and stays writable.
    let o = ct.run(&[
        "--read-only",
        BUSYBOX,
        "sh",
        "-c",
        "touch /dev/shm/x && echo shm-ok",
    ]);
    assert_eq!(o.stdout, "shm-ok\n", "{o}");
    ct.finish();
}

#[test]
fn run_tmpfs_mounts() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--tmpfs",
        "/data:size=1m,mode=700",
        BUSYBOX,
        "sh",
        "-c",
        "grep ' /data ' /proc/mounts; stat -c %a /data; \
         dd if=/dev/zero of=/data/f bs=1k count=2048 2>/dev/null || echo full",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let mut lines = o.stdout.lines();
    let m = lines.next().unwrap_or("");
    assert!(m.starts_with("tmpfs /data tmpfs "), "{o}");
    for opt in ["nosuid", "nodev", "noexec", "size=1024k", "mode=700"] {
        assert!(m.contains(opt), "{opt} missing: {m}");
    }
    assert_eq!(lines.next(), Some("700"), "{o}");
    assert_eq!(lines.next(), Some("full"), "size=1m is enforced: {o}");
    ct.finish();
}

#[test]
fn run_init_is_pid_1() {
    if !std::path::Path::new("/usr/bin/tini-static").exists() {
        eprintln!("SKIPPED run_init_is_pid_1: /usr/bin/tini-static is missing (apt install tini)");
        return;
    }
    let ct = Ct::new();
    let o = ct.run(&[
        "--rm",
        "--init",
        BUSYBOX,
        "sh",
        "-c",
        "cat /proc/1/comm; tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"docker-init"), "{o}");
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("/sbin/docker-init -- sh -c")),
        "Docker runs `/sbin/docker-init -- CMD`: {o}"
    );
    assert_ne!(lines.get(2), Some(&"1"), "the command is not PID 1: {o}");
    // The init forwards SIGTERM, so `sleep` (which ignores nothing) stops at once: 143.
    ct.run_d(&["--name", "ii", "--init", BUSYBOX, "sleep", "100"]);
    let t = Instant::now();
    ct.ok(&["stop", "ii"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(ct.inspect("ii", "{{.State.ExitCode}}"), "143");
    ct.finish();
}

#[test]
fn run_stop_signal_is_what_stop_sends() {
    let ct = Ct::new();
    ct.run_d(&[
        "--name",
        "ss",
        "--stop-signal",
        "USR1",
        BUSYBOX,
        "sh",
        "-c",
        "trap 'exit 9' USR1; while :; do sleep 0.1; done",
    ]);
    assert_eq!(ct.inspect("ss", "{{.Config.StopSignal}}"), "USR1");
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    ct.ok(&["stop", "ss"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(ct.inspect("ss", "{{.State.ExitCode}}"), "9");
    ct.finish();
}

#[test]
fn run_labels_are_in_inspect_and_filters() {
    let ct = Ct::new();
    let lf = ct.write("labels", "from.file=yes\n");
    ct.run(&[
        "--name",
        "ll",
        "--label",
        "a=b",
        "-l",
        "empty=",
        "--label",
        "bare",
        "--label-file",
        lf.to_str().unwrap(),
        BUSYBOX,
        "true",
    ]);
    let v = ct.json("ll");
    assert_eq!(
        v["Config"]["Labels"],
        serde_json::json!({"a": "b", "bare": "", "empty": "", "from.file": "yes"}),
        "{v:#}"
    );
    assert_eq!(ct.inspect("ll", "{{index .Config.Labels \"a\"}}"), "b");
    let f = |filter: &str| ct.ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]);
    assert_eq!(f("label=a=b"), "ll\n");
    assert_eq!(f("label=a"), "ll\n");
    assert_eq!(f("label=a=c"), "");
    ct.finish();
}

#[test]
fn run_unknown_image_is_125() {
    let ct = Ct::new();
    let o = ct.run(&["nosuch", "true"]);
    assert_eq!(o.code, 125, "{o}");
    assert!(
        o.stderr
            .starts_with("Unable to find image 'nosuch:latest' locally\n"),
        "{o}"
    );
    let o = ct.run(&["example.com/team/nosuch:v1", "true"]);
    assert_eq!(o.code, 125, "{o}");
    assert!(
        o.stderr
            .contains("Unable to find image 'example.com/team/nosuch:v1' locally"),
        "{o}"
    );
    assert_eq!(ct.ok(&["ps", "-aq"]), "", "nothing was created");
    ct.finish();
}

#[test]
fn run_command_not_found_is_127() {
    let ct = Ct::new();
    let err = ct.fails_with(&["run", "--network", "none", BUSYBOX, "nosuchcmd"], 127);
    assert!(
        err.contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
        "{err}"
    );
    assert!(err.contains("See 'berth run --help'."), "{err}");
    ct.fails_with(&["run", "--network", "none", BUSYBOX, "/no/such/file"], 127);
    // The failed container is kept, "Created" with the error (Docker: State.Error).
    let names = ct.ok(&["ps", "-a", "--format", "{{.Status}}"]);
    assert_eq!(names.lines().count(), 2, "{names}");
    ct.finish();
}

#[test]
fn run_not_executable_is_126() {
    let ct = Ct::new();
    ct.load_images(&[busybox_image("noexec:1").layer(
        Rootfs::new()
            .file("bin/plainfile", "#!/bin/sh\necho should not run\n")
            .dir("bin/adir"),
    )]);
    let err = ct.fails_with(
        &["run", "--network", "none", "noexec:1", "/bin/plainfile"],
        126,
    );
    assert!(
        err.contains(r#"exec: "/bin/plainfile": permission denied"#),
        "{err}"
    );
    // Found on PATH but not executable: also 126.
    ct.fails_with(&["run", "--network", "none", "noexec:1", "plainfile"], 126);
    // A directory.
    let err = ct.fails_with(&["run", "--network", "none", "noexec:1", "/bin/adir"], 126);
    assert!(err.contains("/bin/adir"), "{err}");
    ct.fails_with(&["run", "--network", "none", BUSYBOX, "/etc"], 126);
    ct.finish();
}

#[test]
fn run_rejects_invalid_flag_values_with_125() {
    let ct = Ct::new();
    for (flag, value, want) in [
        (
            "--memory",
            "foo",
            r#"invalid argument "foo" for "-m, --memory" flag: invalid size: 'foo'"#,
        ),
        (
            "--pids-limit",
            "x",
            r#"invalid argument "x" for "--pids-limit" flag: strconv.ParseInt: parsing "x": invalid syntax"#,
        ),
        (
            "--cpus",
            "abc",
            r#"invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number"#,
        ),
        (
            "-e",
            "=x",
            r#"invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x"#,
        ),
        (
            "--restart",
            "bogus",
            "invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'",
        ),
        (
            "--security-opt",
            "foo=bar",
            r#"invalid --security-opt 2: "foo=bar""#,
        ),
    ] {
        let err = ct.fails_with(&["run", "--network", "none", flag, value, BUSYBOX, "true"], 125);
        assert!(err.contains(want), "{flag} {value}: {err}");
    }
    let err = ct.fails_with(
        &["run", "--network", "none", "--bogus", BUSYBOX, "true"],
        125,
    );
    assert!(err.starts_with("unknown flag: --bogus"), "{err}");
    assert_eq!(ct.ok(&["ps", "-aq"]), "", "nothing was created");
    ct.finish();
}

/// The docker CLI prints flag errors as `<pflag error>\nSee 'docker run --help'.`
/// (cli/cobra.go `FlagErrorFunc`) and errors of `parse()` and of the daemon as
/// `docker: <message>.\nSee 'docker run --help'.` (run.go `reportError`).
#[test]
fn run_flag_errors_use_dockers_wording() {
    let ct = Ct::new();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--memory", "foo"],
            "invalid argument \"foo\" for \"-m, --memory\" flag: invalid size: 'foo'\n\
             See 'berth run --help'.\n",
        ),
        (
            &["--bogus"],
            "unknown flag: --bogus\nSee 'berth run --help'.\n",
        ),
        (
            &["--restart", "always", "--rm"],
            "berth: Conflicting options: --restart and --rm.\nSee 'berth run --help'.\n",
        ),
        (
            &["--restart", "bogus"],
            "berth: Error response from daemon: invalid restart policy: unknown policy 'bogus'; \
             use one of 'no', 'always', 'on-failure', or 'unless-stopped'.\n\
             See 'berth run --help'.\n",
        ),
    ];
    let mut wrong = Vec::new();
    for (flags, want) in cases {
        let mut args = vec!["run", "--network", "none"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[BUSYBOX, "true"]);
        let err = ct.fails_with(&args, 125);
        if err != want {
            wrong.push(format!("{flags:?}:\n  got  {err:?}\n  want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    ct.finish();
}

#[test]
fn run_restart_and_rm_conflict() {
    let ct = Ct::new();
    for policy in ["always", "on-failure", "on-failure:3", "unless-stopped"] {
        let err = ct.fails_with(
            &[
                "run",
                "--network",
                "none",
                "--rm",
                "--restart",
                policy,
                BUSYBOX,
                "true",
            ],
            125,
        );
        assert!(
            err.contains("Conflicting options: --restart and --rm"),
            "{policy}: {err}"
        );
    }
    // `--restart no` is fine with --rm.
    assert_eq!(
        ct.run(&["--rm", "--restart", "no", BUSYBOX, "true"]).code,
        0
    );
    assert_eq!(ct.ok(&["ps", "-aq"]), "");
    ct.finish();
}

/// The harness's `BERTH_RUN` (`/tmp/berth-e2e-run-XXXXXX`) puts `attach.sock` at
/// `BERTH_RUN/containers/<64-hex id>/attach.sock`, 113 bytes, longer than `sun_path` (108);
/// berth before 415c73a failed there and left the container's rootfs mounted. containerd
/// keeps its socket paths short whatever its state dir. A deeper `BERTH_RUN` still works.
#[test]
fn run_works_with_a_long_run_path() {
    let ct = Ct::new();
    let deep = ct
        .run_path()
        .join("a-long-directory-name-to-make-socket-paths-long");
    std::fs::create_dir(&deep).unwrap();
    let run = |args: &[&str]| ct.cmd(args).env("BERTH_RUN", &deep).run();
    let o = run(&["run", "--rm", "--network", "none", BUSYBOX, "echo", "ok"]);
    // Succeeded or not, nothing is left mounted (moby `containerStart` cleans up after a
    // failed start).
    let mounted: Vec<_> = crate::support::mount_points()
        .into_iter()
        .filter(|m| m.starts_with(ct.root_path()))
        .collect();
    assert!(mounted.is_empty(), "after the run: {mounted:?}\n{o}");
    assert_eq!((o.code, o.stdout.as_str()), (0, "ok\n"), "{o}");
    // Attach, exec and stop through the long path too.
    let o = run(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "lp",
        BUSYBOX,
        "sleep",
        "60",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let o = run(&["exec", "lp", "echo", "in"]);
    assert_eq!(o.stdout, "in\n", "{o}");
    let o = run(&["rm", "-f", "lp"]);
    assert_eq!(o.code, 0, "{o}");
    for id in ct.all_ids() {
        run(&["rm", "-f", &id]);
    }
    ct.finish();
}

#[test]
fn run_container_is_listed_with_dockers_columns() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "cols", BUSYBOX, "sleep", "60"]);
    let out = ct.ok(&["ps"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "CONTAINER",
            "ID",
            "IMAGE",
            "COMMAND",
            "CREATED",
            "STATUS",
            "PORTS",
            "NAMES"
        ],
        "{out}"
    );
    assert!(lines[1].starts_with(&id[..12]), "{out}");
    assert!(lines[1].contains("\"sleep 60\""), "{out}");
    assert!(lines[1].contains("Up "), "{out}");
    assert!(lines[1].ends_with("cols"), "{out}");
    let ok = wait_until(Duration::from_secs(5), || {
        ct.ps_status("cols").is_some_and(|s| s.starts_with("Up "))
    });
    assert!(ok);
    ct.finish();
}
