//! A container's life: create, start, stop, kill, restart, rm, wait, rename, pause and
//! unpause, logs, inspect, exec and attach, restart policies, and what berth makes of a
//! monitor that died or a machine that rebooted. Docker's messages and exit codes are the
//! reference.

use std::time::{Duration, Instant};

use crate::support::containers::{
    alive, cgroup_dir, cgroup_dirs, cgroup_v2, cmdline, dead, is_full_id, kill9, ppid, proc_state,
    session_id, thaw, wait_until, Ct, BUSYBOX,
};
use crate::support::{wait, wait_timeout};

/// A shell loop that ends promptly (exit 0) on SIGTERM.
const POLITE: &str = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

#[test]
fn create_then_start() {
    let ct = Ct::new();
    let out = ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "cc",
        BUSYBOX,
        "sh",
        "-c",
        "echo started; sleep 60",
    ]);
    let id = out.trim();
    assert!(is_full_id(id), "create prints the full id: {out:?}");
    assert_eq!(
        ct.ok(&["ps", "-q"]),
        "",
        "a created container is not running"
    );
    assert_eq!(ct.ps_status("cc").as_deref(), Some("Created"));
    let v = ct.json("cc");
    assert_eq!(v["State"]["Status"], "created");
    assert_eq!(v["State"]["Running"], false);
    assert_eq!(v["State"]["Pid"], 0);
    assert_eq!(v["State"]["StartedAt"], "0001-01-01T00:00:00Z");
    assert!(cgroup_dirs(id).is_empty(), "no cgroup before start");
    assert_eq!(ct.ok(&["start", "cc"]), "cc\n");
    assert_eq!(ct.status("cc"), "running");
    assert!(ct.ps_status("cc").is_some_and(|s| s.starts_with("Up ")));
    let ok = wait_until(Duration::from_secs(5), || {
        ct.ok(&["logs", "cc"]) == "started\n"
    });
    assert!(ok, "logs: {:?}", ct.ok(&["logs", "cc"]));
    // Starting a running container is a no-op that succeeds.
    assert_eq!(ct.ok(&["start", "cc"]), "cc\n");
    let err = ct.fails_with(&["start", "nosuch"], 1);
    assert!(err.contains("No such container: nosuch"), "{err}");
    // `start -a` attaches and returns the exit code.
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "sa",
        BUSYBOX,
        "sh",
        "-c",
        "echo hi; exit 5",
    ]);
    let o = ct.cmd(&["start", "-a", "sa"]).run();
    assert_eq!((o.code, o.stdout.as_str()), (5, "hi\n"), "{o}");
    ct.finish();
}

#[test]
fn stop_uses_sigterm_then_sigkill_after_the_timeout() {
    let ct = Ct::new();
    // A process that exits on SIGTERM stops at once, with its own exit code.
    ct.run_d(&["--name", "polite", BUSYBOX, "sh", "-c", POLITE]);
    std::thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    assert_eq!(ct.ok(&["stop", "polite"]), "polite\n");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(
        ct.inspect("polite", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 0"
    );
    // One that ignores SIGTERM is killed after -t seconds: 137.
    let id = ct.run_d(&[
        "--name",
        "stubborn",
        BUSYBOX,
        "sh",
        "-c",
        "trap '' TERM; sleep 100",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    let pid = ct.pid("stubborn");
    let t = Instant::now();
    ct.ok(&["stop", "-t", "1", "stubborn"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "stop -t 1 took {took:?}"
    );
    let v = ct.json("stubborn");
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["ExitCode"], 137);
    assert_eq!(v["State"]["Running"], false);
    assert_eq!(v["State"]["Pid"], 0);
    assert_ne!(v["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    assert!(dead(pid), "pid {pid} still runs");
    assert!(
        ct.ps_status("stubborn")
            .is_some_and(|s| s.starts_with("Exited (137) ")),
        "{:?}",
        ct.ps_status("stubborn")
    );
    assert!(
        cgroup_dirs(&id).is_empty(),
        "cgroup left after stop: {:?}",
        cgroup_dirs(&id)
    );
    let mounted = crate::support::mount_points()
        .into_iter()
        .any(|m| m.starts_with(ct.root_path().join("containers").join(&id)));
    assert!(!mounted, "rootfs still mounted after stop");
    // --stop-timeout is the container's default for -t.
    ct.run_d(&[
        "--name",
        "st",
        "--stop-timeout",
        "1",
        BUSYBOX,
        "sleep",
        "100",
    ]);
    let t = Instant::now();
    ct.ok(&["stop", "st"]);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(ct.inspect("st", "{{.State.ExitCode}}"), "137");
    // Stopping a stopped container succeeds; an unknown one fails with exit 1.
    assert_eq!(ct.ok(&["stop", "st"]), "st\n");
    let err = ct.fails_with(&["stop", "nosuch"], 1);
    assert!(err.contains("No such container: nosuch"), "{err}");
    ct.finish();
}

#[test]
fn kill_sends_signals() {
    let ct = Ct::new();
    ct.run_d(&["--name", "kk", BUSYBOX, "sleep", "100"]);
    assert_eq!(ct.ok(&["kill", "kk"]), "kk\n");
    assert_eq!(
        ct.inspect("kk", "{{.State.Status}} {{.State.ExitCode}}"),
        "exited 137"
    );
    let id = ct.id("kk");
    let err = ct.fails_with(&["kill", "kk"], 1);
    assert!(
        err.contains(&format!("Container {id} is not running")),
        "{err}"
    );
    ct.run_d(&[
        "--name",
        "uu",
        BUSYBOX,
        "sh",
        "-c",
        "trap 'echo got USR1; exit 5' USR1; while :; do sleep 0.1; done",
    ]);
    std::thread::sleep(Duration::from_millis(300));
    ct.ok(&["kill", "-s", "USR1", "uu"]);
    assert_eq!(ct.ok(&["wait", "uu"]), "5\n");
    assert_eq!(ct.ok(&["logs", "uu"]), "got USR1\n");
    ct.run_d(&["--name", "nn", BUSYBOX, "sh", "-c", POLITE]);
    std::thread::sleep(Duration::from_millis(300));
    ct.ok(&["kill", "--signal", "SIGTERM", "nn"]);
    assert_eq!(ct.ok(&["wait", "nn"]), "0\n");
    let err = ct.fails_with(&["kill", "-s", "NOSIG", "nn"], 1);
    assert!(err.contains("Invalid signal: NOSIG"), "{err}");
    ct.finish();
}

#[test]
fn restart_runs_the_container_again() {
    let ct = Ct::new();
    ct.run_d(&[
        "--name",
        "rr",
        BUSYBOX,
        "sh",
        "-c",
        &format!("echo started; {POLITE}"),
    ]);
    let first = ct.pid("rr");
    let started = ct.inspect("rr", "{{.State.StartedAt}}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(ct.ok(&["restart", "-t", "5", "rr"]), "rr\n");
    assert_eq!(ct.status("rr"), "running");
    let second = ct.pid("rr");
    assert_ne!(first, second);
    assert!(dead(first) && alive(second));
    assert_ne!(ct.inspect("rr", "{{.State.StartedAt}}"), started);
    let ok = wait_until(Duration::from_secs(5), || {
        ct.ok(&["logs", "rr"]) == "started\nstarted\n"
    });
    assert!(ok, "logs keep both runs: {:?}", ct.ok(&["logs", "rr"]));
    // Restart of a stopped container starts it.
    ct.ok(&["stop", "rr"]);
    ct.ok(&["restart", "rr"]);
    assert_eq!(ct.status("rr"), "running");
    ct.finish();
}

#[test]
fn rm_refuses_a_running_container_without_force() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "xx", BUSYBOX, "sleep", "100"]);
    let pid = ct.pid("xx");
    let err = ct.fails_with(&["rm", "xx"], 1);
    assert_eq!(
        err,
        "Error response from daemon: cannot remove container \"/xx\": container is running: \
         stop the container before removing or force remove\n"
    );
    assert_eq!(ct.status("xx"), "running");
    assert_eq!(ct.ok(&["rm", "-f", "xx"]), "xx\n");
    assert!(dead(pid), "rm -f left {pid} running");
    assert_eq!(ct.ok(&["ps", "-aq"]), "");
    assert!(cgroup_dirs(&id).is_empty());
    assert!(!ct.root_path().join("containers").join(&id).exists());
    // rm of stopped containers, several at once, by id prefix; unknown ones fail (exit 1)
    // without stopping the others.
    let a = ct.run_d(&["--name", "aa", BUSYBOX, "true"]);
    ct.ok(&["wait", "aa"]);
    ct.run(&["--name", "bb", BUSYBOX, "true"]);
    let o = ct.cmd(&["rm", &a[..8], "nosuch", "bb"]).run();
    assert_eq!(o.code, 1, "{o}");
    assert_eq!(o.stdout, format!("{}\nbb\n", &a[..8]), "{o}");
    assert!(o.stderr.contains("No such container: nosuch"), "{o}");
    assert_eq!(ct.ok(&["ps", "-aq"]), "");
    ct.finish();
}

#[test]
fn wait_prints_the_exit_code() {
    let ct = Ct::new();
    ct.run_d(&["--name", "ww", BUSYBOX, "sh", "-c", "sleep 0.5; exit 42"]);
    let t = Instant::now();
    assert_eq!(ct.ok(&["wait", "ww"]), "42\n");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "wait returned early"
    );
    assert_eq!(ct.ok(&["wait", "ww"]), "42\n", "again once it exited");
    ct.run(&["--name", "zz", BUSYBOX, "true"]);
    assert_eq!(ct.ok(&["wait", "ww", "zz"]), "42\n0\n");
    let err = ct.fails_with(&["wait", "nosuch"], 1);
    assert!(err.contains("No such container: nosuch"), "{err}");
    ct.finish();
}

#[test]
fn rename_changes_the_name() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "old", BUSYBOX, "sleep", "60"]);
    ct.ok(&["rename", "old", "new"]);
    assert_eq!(ct.inspect("new", "{{.Name}}"), "/new");
    assert_eq!(ct.id("new"), id);
    assert_eq!(ct.ok(&["ps", "--format", "{{.Names}}"]), "new\n");
    let err = ct.fails_with(&["inspect", "old"], 1);
    assert!(err.contains("No such object: old"), "{err}");
    ct.run(&["--name", "other", BUSYBOX, "true"]);
    let other = ct.id("other");
    let err = ct.fails_with(&["rename", "new", "other"], 1);
    assert!(
        err.contains(&format!(
            "Conflict. The container name \"/other\" is already in use by container \"{other}\""
        )),
        "{err}"
    );
    let err = ct.fails_with(&["rename", "new", "new"], 1);
    assert!(
        err.contains("Renaming a container with the same name as its current name"),
        "{err}"
    );
    // The old name is free for a new container; the renamed one still works.
    ct.run(&["--name", "old", BUSYBOX, "true"]);
    assert_eq!(ct.ok(&["exec", "new", "echo", "alive"]), "alive\n");
    ct.finish();
}

#[test]
fn pause_freezes_and_unpause_thaws() {
    let ct = Ct::new();
    let id = ct.run_d(&[
        "--name",
        "pp",
        BUSYBOX,
        "sh",
        "-c",
        "i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done",
    ]);
    let merged = ct.inspect("pp", "{{.GraphDriver.Data.MergedDir}}");
    let counter = std::path::Path::new(&merged).join("tmp/count");
    let read = || {
        std::fs::read_to_string(&counter)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    assert!(wait_until(Duration::from_secs(5), || read() > 2));
    let pid = ct.pid("pp");
    assert_eq!(ct.ok(&["pause", "pp"]), "pp\n");
    let v = ct.json("pp");
    assert_eq!(v["State"]["Status"], "paused");
    assert_eq!(v["State"]["Paused"], true);
    assert_eq!(
        v["State"]["Running"], true,
        "Docker: a paused container is running"
    );
    assert!(
        ct.ps_status("pp")
            .is_some_and(|s| s.starts_with("Up ") && s.ends_with(" (Paused)")),
        "{:?}",
        ct.ps_status("pp")
    );
    let frozen = if cgroup_v2() {
        std::fs::read_to_string(cgroup_dir("", &id).join("cgroup.freeze")).unwrap_or_default()
    } else {
        std::fs::read_to_string(cgroup_dir("freezer", &id).join("freezer.state"))
            .unwrap_or_default()
    };
    assert!(
        matches!(frozen.trim(), "FROZEN" | "1"),
        "freezer: {frozen:?}"
    );
    assert_eq!(
        proc_state(pid),
        Some('D'),
        "a frozen task sleeps uninterruptibly"
    );
    std::thread::sleep(Duration::from_millis(200));
    let at_pause = read();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(read(), at_pause, "the loop ran while paused");
    // What a paused container refuses, with Docker's messages.
    let err = ct.fails_with(&["pause", "pp"], 1);
    assert!(err.contains(&format!("{id} is already paused")), "{err}");
    let err = ct.fails_with(&["exec", "pp", "true"], 1);
    assert!(
        err.contains(&format!(
            "Container {id} is paused, unpause the container before exec"
        )),
        "{err}"
    );
    let err = ct.fails_with(&["rm", "pp"], 1);
    assert!(
        err.contains(
            "cannot remove container \"/pp\": container is paused and must be unpaused first"
        ),
        "{err}"
    );
    assert_eq!(ct.ok(&["unpause", "pp"]), "pp\n");
    assert_eq!(ct.status("pp"), "running");
    assert!(
        wait_until(Duration::from_secs(5), || read() > at_pause + 2),
        "did not resume"
    );
    let err = ct.fails_with(&["unpause", "pp"], 1);
    assert!(err.contains("is not paused"), "{err}");
    // stop and rm -f work on a paused container.
    ct.ok(&["pause", "pp"]);
    let t = Instant::now();
    ct.ok(&["stop", "-t", "1", "pp"]);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(ct.status("pp"), "exited");
    ct.run_d(&["--name", "p2", BUSYBOX, "sleep", "60"]);
    ct.ok(&["pause", "p2"]);
    let pid2 = ct.pid("p2");
    ct.ok(&["rm", "-f", "p2"]);
    assert!(dead(pid2));
    ct.finish();
}

#[test]
fn logs_stdout_stderr_tail_timestamps_and_follow() {
    let ct = Ct::new();
    ct.run(&[
        "--name",
        "ll",
        BUSYBOX,
        "sh",
        "-c",
        // Paced, so the two streams reach the log in this order.
        "echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; sleep 0.1; \
         echo err2 >&2; sleep 0.1; printf 'no newline'",
    ]);
    let o = ct.cmd(&["logs", "ll"]).run();
    assert_eq!(o.stdout, "out1\nout2\nno newline", "{o}");
    assert_eq!(o.stderr, "err1\nerr2\n", "{o}");
    let o = ct.cmd(&["logs", "--tail", "2", "ll"]).run();
    assert_eq!(
        (o.stdout.as_str(), o.stderr.as_str()),
        ("no newline", "err2\n"),
        "{o}"
    );
    let o = ct.cmd(&["logs", "--tail", "0", "ll"]).run();
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("", ""), "{o}");
    let o = ct.cmd(&["logs", "-t", "ll"]).run();
    for l in o.stdout.lines().chain(o.stderr.lines()) {
        let (ts, _) = l.split_once(' ').unwrap_or_else(|| panic!("{l:?}"));
        assert!(
            ts.len() == 30 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T',
            "RFC 3339 with nanoseconds: {l:?}"
        );
    }
    // -f on a running container streams until it exits.
    ct.run_d(&[
        "--name",
        "ff",
        BUSYBOX,
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done",
    ]);
    let t = Instant::now();
    let child = ct.spawn(&["logs", "-f", "ff"]);
    let o = wait_timeout(child, Duration::from_secs(20)).expect("logs -f did not end");
    assert_eq!(o.code, 0, "{o}");
    assert_eq!(o.stdout, "line1\nline2\nline3\nline4\nline5\n", "{o}");
    assert!(t.elapsed() < Duration::from_secs(10));
    let err = ct.fails_with(&["logs", "nosuch"], 1);
    assert!(err.contains("No such container: nosuch"), "{err}");
    ct.finish();
}

#[test]
fn inspect_has_dockers_shape() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "xx", "--memory", "64m", BUSYBOX, "sleep", "60"]);
    let v = ct.json("xx");
    assert_eq!(v["Id"], id.as_str());
    assert_eq!(v["Name"], "/xx");
    assert_eq!(v["Path"], "sleep");
    assert_eq!(v["Args"], serde_json::json!(["60"]));
    assert!(v["Image"]
        .as_str()
        .is_some_and(|i| i.starts_with("sha256:") && i.len() == 71));
    let s = &v["State"];
    assert_eq!(s["Status"], "running");
    assert_eq!(s["Running"], true);
    assert_eq!(s["Paused"], false);
    assert_eq!(s["Restarting"], false);
    assert_eq!(s["OOMKilled"], false);
    assert_eq!(s["Dead"], false);
    assert_eq!(s["ExitCode"], 0);
    assert_eq!(s["Error"], "");
    assert!(s["Pid"].as_i64().is_some_and(|p| p > 1), "{s}");
    let started = s["StartedAt"].as_str().unwrap_or("");
    assert!(
        started.len() == 30 && started.ends_with('Z') && !started.starts_with("0001"),
        "{s}"
    );
    assert_eq!(s["FinishedAt"], "0001-01-01T00:00:00Z");
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["sleep", "60"]));
    assert_eq!(
        v["Config"]["Image"], BUSYBOX,
        "as given on the command line"
    );
    assert_eq!(v["Config"]["Hostname"], &id[..12]);
    assert_eq!(v["HostConfig"]["Memory"], 67108864);
    assert_eq!(v["HostConfig"]["NetworkMode"], "none");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "no");
    assert_eq!(v["RestartCount"], 0);
    assert_eq!(v["GraphDriver"]["Name"], "overlay2");
    let merged = v["GraphDriver"]["Data"]["MergedDir"].as_str().unwrap_or("");
    assert!(
        crate::support::mount_points()
            .iter()
            .any(|m| m.to_str() == Some(merged)),
        "MergedDir {merged} is not mounted"
    );
    assert!(std::path::Path::new(v["LogPath"].as_str().unwrap_or("")).is_file());
    assert_eq!(ct.inspect("xx", "{{.State.Status}}"), "running");
    assert_eq!(
        ct.ok(&["container", "inspect", "--format", "{{.Name}}", &id[..12]]),
        "/xx\n"
    );
    assert_eq!(ct.inspect("xx", "{{json .State.Running}}"), "true");
    let o = ct.cmd(&["container", "inspect", "nosuch"]).run();
    assert_eq!(o.code, 1, "{o}");
    assert!(o.stderr.contains("No such container: nosuch"), "{o}");
    // After it exits.
    ct.ok(&["kill", "xx"]);
    let v = ct.json("xx");
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["Running"], false);
    assert_eq!(v["State"]["Pid"], 0);
    assert_eq!(v["State"]["ExitCode"], 137);
    assert_eq!(v["State"]["StartedAt"], started, "StartedAt is kept");
    assert_ne!(v["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    ct.finish();
}

#[test]
fn exec_runs_in_the_container() {
    let ct = Ct::new();
    ct.run_d(&["--name", "ee", "-e", "FROM_RUN=yes", BUSYBOX, "sleep", "60"]);
    let o = ct
        .cmd(&["exec", "ee", "sh", "-c", "echo out; echo err >&2; exit 7"])
        .run();
    assert_eq!(
        (o.code, o.stdout.as_str(), o.stderr.as_str()),
        (7, "out\n", "err\n"),
        "{o}"
    );
    let o = ct
        .cmd(&[
            "exec",
            "-e",
            "FOO=bar",
            "-e",
            "FROM_RUN=overridden",
            "-u",
            "1000:1001",
            "-w",
            "/tmp",
            "ee",
            "sh",
            "-c",
            "echo $FOO $FROM_RUN; id; pwd",
        ])
        .run();
    assert_eq!(o.code, 0, "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "bar overridden", "{o}");
    assert!(lines[1].starts_with("uid=1000 gid=1001"), "{o}");
    assert_eq!(lines[2], "/tmp", "{o}");
    assert_eq!(
        ct.ok(&["exec", "ee", "sh", "-c", "echo $FROM_RUN"]),
        "yes\n",
        "the container's environment"
    );
    assert_eq!(
        ct.ok(&["exec", "-u", "nobody", "ee", "id", "-un"]),
        "nobody\n"
    );
    // The exec'd process is in the container's pid namespace, not PID 1.
    assert_ne!(ct.ok(&["exec", "ee", "sh", "-c", "echo $$"]), "1\n");
    assert_eq!(ct.ok(&["exec", "ee", "cat", "/proc/1/comm"]), "sleep\n");
    // -d returns at once; the process runs on.
    let o = ct
        .cmd(&[
            "exec",
            "-d",
            "ee",
            "sh",
            "-c",
            "sleep 0.3; touch /tmp/detached",
        ])
        .run();
    assert_eq!((o.code, o.stdout.as_str()), (0, ""), "{o}");
    let ok = wait_until(Duration::from_secs(10), || {
        ct.cmd(&["exec", "ee", "test", "-e", "/tmp/detached"])
            .run()
            .success()
    });
    assert!(ok, "exec -d did not run");
    // stdin with -i.
    let o = ct.cmd(&["exec", "-i", "ee", "cat"]).stdin("piped\n").run();
    assert_eq!(o.stdout, "piped\n", "{o}");
    // Docker's exit codes for what cannot be run.
    let err = ct.fails_with(&["exec", "ee", "nosuchcmd"], 127);
    assert!(
        err.contains(r#"exec: "nosuchcmd": executable file not found in $PATH"#),
        "{err}"
    );
    ct.fails_with(&["exec", "ee", "/etc/passwd"], 126);
    // Into a stopped container: exit 1 with Docker's message.
    let id = ct.id("ee");
    ct.ok(&["kill", "ee"]);
    let err = ct.fails_with(&["exec", "ee", "true"], 1);
    assert!(
        err.contains(&format!(
            "Error response from daemon: container {id} is not running"
        )),
        "{err}"
    );
    let err = ct.fails_with(&["exec", "nosuch", "true"], 1);
    assert!(err.contains("No such container: nosuch"), "{err}");
    ct.finish();
}

/// `docker exec -t` gives the process a terminal whether or not the container has one.
#[test]
fn exec_tty_gives_a_terminal() {
    let ct = Ct::new();
    ct.run_d(&["--name", "tt", "-t", BUSYBOX, "sleep", "60"]);
    let o = ct.cmd(&["exec", "-t", "tt", "tty"]).run();
    assert!(o.stdout.starts_with("/dev/pts/"), "container with -t: {o}");
    ct.run_d(&["--name", "nt", BUSYBOX, "sleep", "60"]);
    let o = ct.cmd(&["exec", "-t", "nt", "tty"]).run();
    assert!(
        o.stdout.starts_with("/dev/pts/"),
        "container without -t: {o}"
    );
    let o = ct.cmd(&["exec", "nt", "sh", "-c", "tty; true"]).run();
    assert_eq!(o.stdout, "not a tty\n", "{o}");
    ct.finish();
}

/// `docker exec` reports a failed start in one line (`OCI runtime exec failed: …`); the
/// runtime's own log lines (with terminal colour codes) are not the user's.
#[test]
fn exec_failure_prints_one_clean_line() {
    let ct = Ct::new();
    ct.run_d(&["--name", "ee", BUSYBOX, "sleep", "60"]);
    for (args, code) in [
        (&["exec", "ee", "nosuchcmd"][..], 127),
        (&["exec", "ee", "/etc/passwd"][..], 126),
    ] {
        let err = ct.fails_with(args, code);
        assert!(
            !err.contains('\u{1b}') && !err.contains("libcontainer") && err.lines().count() == 1,
            "{args:?}: stderr is not one clean line:\n{err}"
        );
        assert!(err.starts_with("OCI runtime exec failed: "), "{err}");
    }
    ct.finish();
}

#[test]
fn attach_gets_output_and_the_exit_code() {
    let ct = Ct::new();
    ct.run_d(&[
        "--name",
        "aa",
        BUSYBOX,
        "sh",
        "-c",
        "while [ ! -e /tmp/go ]; do sleep 0.05; done; echo from-a; echo err-a >&2; exit 6",
    ]);
    let child = ct.spawn(&["attach", "aa"]);
    // Give attach time to connect, then let the container talk.
    std::thread::sleep(Duration::from_millis(700));
    ct.ok(&["exec", "aa", "touch", "/tmp/go"]);
    let o = wait(child);
    assert_eq!(o.code, 6, "{o}");
    assert_eq!(o.stdout, "from-a\n", "{o}");
    assert_eq!(o.stderr, "err-a\n", "{o}");
    // With -i, attach forwards stdin.
    ct.run_d(&[
        "--name",
        "ii",
        "-i",
        BUSYBOX,
        "sh",
        "-c",
        "read x; echo got $x; exit 3",
    ]);
    let o = ct.cmd(&["attach", "ii"]).stdin("hello\n").run();
    assert_eq!((o.code, o.stdout.as_str()), (3, "got hello\n"), "{o}");
    // A stopped container cannot be attached to.
    let err = ct.fails_with(&["attach", "ii"], 1);
    assert!(
        err.contains("You cannot attach to a stopped container, start it first"),
        "{err}"
    );
    ct.finish();
}

#[test]
fn restart_on_failure_gives_up_after_the_maximum() {
    let ct = Ct::new();
    ct.run_d(&[
        "--name",
        "of",
        "--restart",
        "on-failure:2",
        BUSYBOX,
        "sh",
        "-c",
        "echo run; exit 1",
    ]);
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(20), || {
        last = ct.inspect(
            "of",
            "{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}",
        );
        last == "exited 2 1"
    });
    assert!(ok, "state {last:?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ct.inspect("of", "{{.State.Status}} {{.RestartCount}}"),
        "exited 2",
        "no third restart"
    );
    assert_eq!(ct.ok(&["logs", "of"]), "run\nrun\nrun\n");
    assert_eq!(
        ct.inspect("of", "{{.HostConfig.RestartPolicy.Name}}"),
        "on-failure"
    );
    assert_eq!(
        ct.inspect("of", "{{.HostConfig.RestartPolicy.MaximumRetryCount}}"),
        "2"
    );
    // on-failure does not restart a clean exit.
    ct.run_d(&["--name", "ok", "--restart", "on-failure", BUSYBOX, "true"]);
    ct.ok(&["wait", "ok"]);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ct.inspect("ok", "{{.State.Status}} {{.RestartCount}}"),
        "exited 0"
    );
    ct.finish();
}

#[test]
fn restart_always_comes_back_until_stopped() {
    let ct = Ct::new();
    ct.run_d(&[
        "--name",
        "al",
        "--restart",
        "always",
        BUSYBOX,
        "sleep",
        "100",
    ]);
    let first = ct.pid("al");
    // The process dies on its own (killed from the host): Docker restarts it.
    kill9(first);
    let mut second = 0;
    let ok = wait_until(Duration::from_secs(15), || {
        second = ct.pid("al");
        second != 0 && second != first && ct.status("al") == "running"
    });
    assert!(
        ok,
        "not restarted: {}",
        ct.inspect("al", "{{.State.Status}} {{.State.Pid}}")
    );
    assert_eq!(ct.inspect("al", "{{.RestartCount}}"), "1");
    assert!(alive(second));
    // `stop` is final.
    ct.ok(&["stop", "-t", "1", "al"]);
    assert_eq!(ct.status("al"), "exited");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ct.status("al"), "exited", "restarted after stop");
    assert!(dead(second));
    // A manual start resets the count; the policy applies again.
    ct.ok(&["start", "al"]);
    assert_eq!(
        ct.inspect("al", "{{.State.Status}} {{.RestartCount}}"),
        "running 0"
    );
    ct.finish();
}

#[test]
fn monitor_is_a_session_leader_and_the_inits_parent() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "mm", BUSYBOX, "sleep", "60"]);
    let pid = ct.pid("mm");
    let mon = ppid(pid).expect("ppid");
    assert_eq!(ct.monitors(), vec![mon], "the init's parent is the monitor");
    let cmd = cmdline(mon);
    assert!(cmd.contains(&format!(" __monitor {id}")), "{cmd}");
    // The monitor survives the `berth run -d` that started it and holds no terminal.
    assert_ne!(ppid(mon), Some(std::process::id() as i32));
    assert_eq!(session_id(mon), Some(mon), "the monitor runs setsid");
    ct.finish();
}

/// Kills the monitor and the container's init with SIGKILL; returns once both are dead.
fn kill_monitor_and_init(ct: &Ct, name: &str) -> (i32, i32) {
    let pid = ct.pid(name);
    let mon = ppid(pid).expect("ppid of the init");
    assert!(
        ct.monitors().contains(&mon),
        "{mon} is not a monitor: {}",
        cmdline(mon)
    );
    kill9(mon);
    assert!(wait_until(Duration::from_secs(5), || dead(mon)));
    kill9(pid);
    assert!(wait_until(Duration::from_secs(5), || dead(pid)));
    (mon, pid)
}

#[test]
fn monitor_death_is_seen_and_the_container_can_start_again() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "md", BUSYBOX, "sleep", "100"]);
    kill_monitor_and_init(&ct, "md");
    // The init was re-parented to the host's init, which reaps it in its own time: allow
    // that, then berth must report the container as exited.
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(10), || {
        last = ct.status("md");
        last == "exited"
    });
    assert!(ok, "state {last:?}");
    assert!(
        ct.ps_status("md")
            .is_some_and(|s| s.starts_with("Exited (")),
        "{:?}",
        ct.ps_status("md")
    );
    assert_eq!(ct.pid("md"), 0);
    assert!(
        cgroup_dirs(&id).is_empty(),
        "cgroup left: {:?}",
        cgroup_dirs(&id)
    );
    let code = ct.ok(&["wait", "md"]);
    assert!(code.trim().parse::<i32>().is_ok(), "wait printed {code:?}");
    assert_eq!(ct.ok(&["start", "md"]), "md\n");
    assert_eq!(ct.status("md"), "running");
    assert_eq!(ct.ok(&["exec", "md", "echo", "back"]), "back\n");
    assert_eq!(ct.monitors().len(), 1);
    ct.finish();
}

/// A dead init the host's init has not reaped yet is a zombie: dead all the same, and
/// berth must not report it as running. (On hosts whose PID 1 reaps at once this passes
/// trivially.)
#[test]
fn a_zombie_init_is_not_running() {
    let ct = Ct::new();
    ct.run_d(&["--name", "zz", BUSYBOX, "sleep", "100"]);
    let (_, pid) = kill_monitor_and_init(&ct, "zz");
    if proc_state(pid) == Some('Z') {
        assert_eq!(ct.status("zz"), "exited", "pid {pid} is a zombie");
        assert!(
            ct.ps_status("zz")
                .is_some_and(|s| s.starts_with("Exited (")),
            "{:?}",
            ct.ps_status("zz")
        );
    } else {
        eprintln!("pid {pid} was reaped at once: nothing to check");
    }
    ct.finish();
}

/// `docker stop` returns once the container is stopped; also when its monitor is gone (the
/// init is then re-parented to the host's init).
#[test]
fn stop_without_a_monitor_returns_once_stopped() {
    let ct = Ct::new();
    ct.run_d(&["--name", "ss", BUSYBOX, "sleep", "100"]);
    let pid = ct.pid("ss");
    let mon = ppid(pid).unwrap();
    kill9(mon);
    assert!(wait_until(Duration::from_secs(5), || dead(mon)));
    assert_eq!(
        ct.status("ss"),
        "running",
        "the container outlives its monitor"
    );
    assert_eq!(ct.ok(&["exec", "ss", "echo", "still"]), "still\n");
    ct.ok(&["stop", "-t", "1", "ss"]);
    assert!(dead(pid));
    assert_eq!(
        ct.status("ss"),
        "exited",
        "`stop` returned, the container is still reported running"
    );
    ct.ok(&["start", "ss"]);
    assert_eq!(ct.status("ss"), "running");
    ct.finish();
}

#[test]
fn reboot_is_recovered() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "rb", BUSYBOX, "sh", "-c", "echo boot; sleep 100"]);
    let merged = ct.inspect("rb", "{{.GraphDriver.Data.MergedDir}}");
    kill_monitor_and_init(&ct, "rb");
    // What a reboot takes away: every process, mount and cgroup, and the tmpfs under
    // BERTH_RUN.
    assert!(wait_until(Duration::from_secs(10), || {
        crate::support::containers::cgroup_procs(&id).is_empty()
    }));
    let _ = rustix::mount::unmount(merged.as_str(), rustix::mount::UnmountFlags::DETACH);
    thaw(&id);
    for d in cgroup_dirs(&id) {
        std::fs::remove_dir(&d).unwrap_or_else(|e| panic!("rmdir {}: {e}", d.display()));
    }
    for e in std::fs::read_dir(ct.run_path()).unwrap().flatten() {
        // Directories, and files such as the event log.
        if e.path().is_dir() {
            std::fs::remove_dir_all(e.path()).unwrap();
        } else {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
    let mut last = String::new();
    let ok = wait_until(Duration::from_secs(10), || {
        last = ct.ps_status("rb").unwrap_or_default();
        last.starts_with("Exited (")
    });
    assert!(ok, "ps -a says {last:?}");
    assert_eq!(ct.ok(&["start", "rb"]), "rb\n");
    assert_eq!(ct.status("rb"), "running");
    assert_eq!(ct.ok(&["exec", "rb", "echo", "up"]), "up\n");
    assert!(wait_until(Duration::from_secs(5), || ct
        .ok(&["logs", "rb"])
        == "boot\nboot\n"));
    ct.finish();
}
