//! Many containers: concurrent `run`s on one installation, and long sequences of run and
//! rm that must leave no mount, cgroup, monitor process or run-time state behind.

use std::time::{Duration, Instant};

use crate::support::containers::{cgroup_dirs, Ct, BUSYBOX};
use crate::support::{mount_points, wait_timeout};

#[test]
fn twenty_parallel_runs_all_succeed() {
    let ct = Ct::new();
    let children: Vec<_> = (0..20)
        .map(|i| {
            let name = format!("par{i}");
            let child = ct.spawn(&[
                "run",
                "--rm",
                "--network",
                "none",
                "--name",
                &name,
                BUSYBOX,
                "sh",
                "-c",
                &format!("echo {name}"),
            ]);
            (name, child)
        })
        .collect();
    let mut failed = Vec::new();
    for (name, child) in children {
        match wait_timeout(child, Duration::from_secs(120)) {
            Ok(o) if o.code == 0 && o.stdout == format!("{name}\n") => {}
            Ok(o) => failed.push(format!("{name}: {o}")),
            Err(o) => failed.push(format!("{name}: timed out\n{o}")),
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    assert_eq!(ct.ok(&["ps", "-aq"]), "", "--rm containers left");
    ct.finish();
}

#[test]
fn parallel_detached_runs_get_distinct_names_and_ids() {
    let ct = Ct::new();
    let children: Vec<_> = (0..10)
        .map(|_| ct.spawn(&["run", "-d", "--network", "none", BUSYBOX, "sleep", "60"]))
        .collect();
    let mut ids = Vec::new();
    for c in children {
        let o = wait_timeout(c, Duration::from_secs(120)).expect("run -d timed out");
        assert_eq!(o.code, 0, "{o}");
        ids.push(o.stdout.trim().to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10);
    let names = ct.ok(&["ps", "--format", "{{.Names}}"]);
    let mut n: Vec<&str> = names.lines().collect();
    assert_eq!(n.len(), 10, "{names}");
    n.sort();
    n.dedup();
    assert_eq!(n.len(), 10, "generated names collide: {names}");
    assert_eq!(ct.monitors().len(), 10);
    // One `rm -f` of them all.
    let mut args = vec!["rm", "-f"];
    args.extend(ids.iter().map(String::as_str));
    ct.ok(&args);
    ct.finish();
}

#[test]
fn hundred_run_rm_cycles_leave_nothing() {
    let ct = Ct::new();
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..100 {
        let name = format!("cycle{i}");
        if i % 10 == 9 {
            // Now and then a running container, force-removed.
            let id = ct.run_d(&["--name", &name, BUSYBOX, "sleep", "60"]);
            ct.ok(&["rm", "-f", &name]);
            ids.push(id);
        } else {
            let code = i % 3;
            let o = ct.run(&[
                "--name",
                &name,
                BUSYBOX,
                "sh",
                "-c",
                &format!("exit {code}"),
            ]);
            assert_eq!(o.code, code, "cycle {i}\n{o}");
            ids.push(ct.id(&name));
            assert_eq!(ct.ok(&["rm", &name]), format!("{name}\n"));
        }
    }
    eprintln!("100 cycles took {:?}", started.elapsed());
    assert_eq!(ct.ok(&["ps", "-aq"]), "");
    let mounted: Vec<_> = mount_points()
        .into_iter()
        .filter(|m| m.starts_with(ct.root_path()) || m.starts_with(ct.run_path()))
        .collect();
    assert!(mounted.is_empty(), "{mounted:?}");
    let cgroups: Vec<_> = ids.iter().flat_map(|id| cgroup_dirs(id)).collect();
    assert!(cgroups.is_empty(), "{cgroups:?}");
    assert_eq!(ct.monitors(), Vec::<i32>::new(), "monitor processes left");
    assert_eq!(ct.list("containers"), Vec::<String>::new());
    for sub in ["containers", "runtime"] {
        let left: Vec<_> = std::fs::read_dir(ct.run_path().join(sub))
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "BERTH_RUN/{sub}: {left:?}");
    }
    ct.finish();
}

#[test]
fn rm_rm_races_on_one_container_are_safe() {
    // Several `rm -f` of the same running container at once: one removes it, the others
    // succeed or say it is gone; nothing is left half-removed.
    let ct = Ct::new();
    for round in 0..5 {
        let id = ct.run_d(&["--name", &format!("race{round}"), BUSYBOX, "sleep", "60"]);
        let kids: Vec<_> = (0..4).map(|_| ct.spawn(&["rm", "-f", &id])).collect();
        for k in kids {
            let o = wait_timeout(k, Duration::from_secs(60)).expect("rm -f timed out");
            assert!(
                o.code == 0 || o.stderr.contains("No such container"),
                "round {round}: {o}"
            );
            assert!(!o.panicked(), "{o}");
        }
        assert_eq!(ct.ok(&["ps", "-aq"]), "", "round {round}");
        assert!(cgroup_dirs(&id).is_empty(), "round {round}");
    }
    ct.finish();
}
