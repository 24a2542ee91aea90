//! `--runtime runc`: an installed OCI runtime instead of the embedded one, with the same
//! lifecycle (run, exit codes, exec, pause, stop, rm) and the same security defaults.

use crate::support::containers::{Ct, BUSYBOX};

fn runc_installed() -> bool {
    [
        "/usr/sbin/runc",
        "/usr/bin/runc",
        "/usr/local/bin/runc",
        "/usr/local/sbin/runc",
    ]
    .iter()
    .any(|p| std::path::Path::new(p).exists())
}

#[test]
fn runc_runs_containers_with_the_same_defaults() {
    if !runc_installed() {
        eprintln!("skipped: runc is not installed (scripts/deps.sh installs it)");
        return;
    }
    let ct = Ct::new();
    let o = ct.run(&[
        "--rm",
        "--runtime",
        "runc",
        BUSYBOX,
        "sh",
        "-c",
        "grep -E '^(CapEff|Seccomp):' /proc/self/status; exit 3",
    ]);
    assert_eq!(o.code, 3, "{o}");
    assert!(o.stdout.contains("CapEff:\t00000000a80425fb"), "{o}");
    assert!(o.stdout.contains("Seccomp:\t2"), "{o}");
    let o = ct.run(&["--rm", "--runtime", "runc", BUSYBOX, "nosuchcommand"]);
    assert_eq!(o.code, 127, "{o}");

    ct.run_d(&[
        "--name",
        "rc1",
        "--runtime",
        "runc",
        "-m",
        "32m",
        BUSYBOX,
        "sleep",
        "300",
    ]);
    assert_eq!(
        ct.inspect("rc1", "{{.HostConfig.Runtime}} {{.State.Status}}"),
        "runc running"
    );
    let o = ct
        .cmd(&["exec", "rc1", "sh", "-c", "echo in; exit 5"])
        .run();
    assert_eq!((o.code, o.stdout.as_str()), (5, "in\n"), "{o}");
    ct.ok(&["pause", "rc1"]);
    assert_eq!(ct.status("rc1"), "paused");
    ct.ok(&["unpause", "rc1"]);
    ct.ok(&["stop", "-t", "1", "rc1"]);
    assert_eq!(ct.inspect("rc1", "{{.State.Status}}"), "exited");
    ct.ok(&["rm", "rc1"]);
    ct.finish();
}

#[test]
fn unknown_runtime_is_refused_with_125() {
    let ct = Ct::new();
    let err = ct.fails_with(&["run", "--runtime", "nosuch", BUSYBOX, "true"], 125);
    assert!(
        err.contains("unknown or invalid runtime name: nosuch"),
        "{err}"
    );
    assert!(ct.all_ids().is_empty());
    ct.finish();
}
