//! `info`, `version`, `system df`, `system prune` and `events`, driven as a user would.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::support::containers::{Ct, BUSYBOX};
use crate::support::{busybox_image, Rootfs};

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

#[test]
fn info_counts_containers_and_images_and_knows_its_root() {
    let ct = Ct::new();
    ct.run(&["--name", "done", BUSYBOX, "true"]);
    ct.run_d(&["--name", "up", BUSYBOX, "sleep", "60"]);
    ct.ok(&[
        "create",
        "--network",
        "none",
        "--name",
        "new",
        BUSYBOX,
        "true",
    ]);
    let f = "{{.Containers}} {{.ContainersRunning}} {{.ContainersPaused}} {{.ContainersStopped}} {{.Images}}";
    assert_eq!(ct.ok(&["info", "--format", f]).trim(), "3 1 0 2 1");
    ct.ok(&["pause", "up"]);
    assert_eq!(
        ct.ok(&["system", "info", "--format", f]).trim(),
        "3 0 1 2 1"
    );
    ct.ok(&["unpause", "up"]);

    let info: Value = serde_json::from_str(&ct.ok(&["info", "--format", "{{json .}}"])).unwrap();
    assert_eq!(info["DockerRootDir"], ct.root_path().display().to_string());
    assert_eq!(info["Driver"], "overlay2");
    assert_eq!(info["OSType"], "linux");
    assert!(info["NCPU"].as_u64().unwrap() >= 1);
    assert!(info["MemTotal"].as_u64().unwrap() > 1 << 20);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info["KernelVersion"], kernel.trim());
    assert_eq!(info["ClientInfo"]["Context"], "default");
    let id = info["ID"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(
        ct.ok(&["info", "-f", "{{.ID}}"]).trim(),
        id,
        "the id is stable"
    );

    let text = ct.ok(&["info"]);
    for want in [
        "Server:\n Containers: 3\n  Running: 1\n  Paused: 0\n  Stopped: 2\n Images: 1\n",
        " Storage Driver: overlay2\n",
        " Cgroup Driver: cgroupfs\n",
        &format!(" Docker Root Dir: {}\n", ct.root_path().display()),
        " Security Options:\n  seccomp\n   Profile: builtin\n",
    ] {
        assert!(text.contains(want), "`info` lacks {want:?}:\n{text}");
    }
    let err = ct.fails_with(&["info", "--format", "{{.Nope"], 1);
    assert!(err.contains("template parsing error"), "{err}");
    ct.finish();
}

#[test]
fn version_formats() {
    let ct = Ct::empty();
    let v = ct.ok(&[
        "version",
        "--format",
        "{{.Client.Version}} {{.Server.ApiVersion}}",
    ]);
    let parts: Vec<&str> = v.split_whitespace().collect();
    assert_eq!(parts.len(), 2, "{v}");
    assert_eq!(parts[0], env!("CARGO_PKG_VERSION"));
    assert!(parts[1].starts_with("1."), "{v}");
}

#[test]
fn system_df_reports_images_and_container_layers() {
    let ct = Ct::new();
    // 2 MB written in the container's writable layer.
    ct.run(&[
        "--name",
        "writer",
        BUSYBOX,
        "dd",
        "if=/dev/zero",
        "of=/blob",
        "bs=1024",
        "count=2048",
    ]);
    ct.run_d(&["--name", "idle", BUSYBOX, "sleep", "60"]);
    let rows = json_lines(&ct.ok(&["system", "df", "--format", "{{json .}}"]));
    let by_type = |t: &str| rows.iter().find(|r| r["Type"] == t).unwrap().clone();
    let images = by_type("Images");
    assert_eq!(images["TotalCount"], "1");
    assert_eq!(images["Active"], "1");
    let containers = by_type("Containers");
    assert_eq!(containers["TotalCount"], "2");
    assert_eq!(containers["Active"], "1");
    assert_eq!(containers["Size"], "2.097MB", "{containers}");
    assert_eq!(containers["Reclaimable"], "2.097MB (100%)", "{containers}");
    assert!(rows.iter().any(|r| r["Type"] == "Local Volumes"));
    assert!(rows.iter().any(|r| r["Type"] == "Build Cache"));

    let table = ct.ok(&["system", "df"]);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);

    let v = ct.ok(&["system", "df", "-v"]);
    assert!(v.starts_with("Images space usage:\n\nREPOSITORY"), "{v}");
    assert!(
        v.contains("\nContainers space usage:\n\nCONTAINER ID"),
        "{v}"
    );
    assert!(
        v.contains("\nLocal Volumes space usage:\n\nVOLUME NAME"),
        "{v}"
    );
    assert!(v.contains("\nBuild cache usage: 0B\n"), "{v}");
    let writer = v
        .lines()
        .find(|l| l.ends_with(" writer"))
        .unwrap_or_else(|| panic!("{v}"));
    assert!(writer.contains("2.1MB"), "{writer}");
    ct.finish();
}

#[test]
fn system_prune_removes_what_nothing_uses() {
    let ct = Ct::new();
    let unused = busybox_image("unused:1").layer(Rootfs::new().file("unused.txt", "x"));
    let dangling = busybox_image("dangling:1").layer(Rootfs::new().file("dangling.txt", "y"));
    ct.load_images(&[unused, dangling]);
    // Loading another image under the same tag leaves the first one dangling.
    let dangling_id = ct
        .ok(&["images", "-q", "--no-trunc", "dangling:1"])
        .trim()
        .to_string();
    let replacement = busybox_image("dangling:1").layer(Rootfs::new().file("new.txt", "z"));
    ct.load_images(&[replacement]);
    let dangling_ids = ct.ok(&["images", "-q", "--no-trunc", "--filter", "dangling=true"]);
    assert_eq!(dangling_ids.trim(), dangling_id);
    let stopped = ct.run(&["--name", "stopped", BUSYBOX, "true"]);
    assert_eq!(stopped.code, 0);
    ct.run_d(&["--name", "running", BUSYBOX, "sleep", "60"]);

    // Refusing the prompt removes nothing.
    let out = ct.cmd(&["system", "prune"]).stdin("n\n").ok();
    assert!(
        out.starts_with("WARNING! This will remove:\n  - all stopped containers\n"),
        "{out}"
    );
    assert!(out.contains("  - all dangling images\n  - unused build cache\n\nAre you sure you want to continue? [y/N] "), "{out}");
    assert_eq!(ct.all_ids().len(), 2);

    let out = ct.ok(&["system", "prune", "-f"]);
    assert!(out.contains("Deleted Containers:\n"), "{out}");
    assert!(out.contains("Total reclaimed space:"), "{out}");
    let names = ct.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(names.trim(), "running", "only the running container stays");
    assert!(out.contains(&format!("deleted: {dangling_id}")), "{out}");
    let tags = ct.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(
        tags.contains("unused:1") && tags.contains("busybox:latest"),
        "{tags}"
    );
    assert!(ct
        .ok(&["images", "-q", "--filter", "dangling=true"])
        .trim()
        .is_empty());

    // -a: images without containers go too; the one the running container uses stays.
    let out = ct.ok(&["system", "prune", "-a", "-f"]);
    assert!(out.contains("untagged: unused:1"), "{out}");
    assert!(out.contains("untagged: dangling:1"), "{out}");
    let tags = ct.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(tags.trim(), "busybox:latest");

    let err = ct.fails_with(&["system", "prune", "-f", "--filter", "nonsense"], 125);
    assert!(err.contains("bad format of filter"), "{err}");
    let err = ct.fails_with(&["system", "prune", "-f", "--filter", "color=red"], 1);
    assert!(err.contains("invalid filter 'color'"), "{err}");
    ct.finish();
}

#[test]
fn events_replays_past_events_with_filters_and_formats() {
    let ct = Ct::new();
    let out = ct.run(&[
        "--name", "ev1", "--label", "team=a", BUSYBOX, "sh", "-c", "exit 3",
    ]);
    assert_eq!(out.code, 3);
    ct.ok(&["tag", BUSYBOX, "other:tag"]);
    ct.ok(&["rm", "ev1"]);

    let all = json_lines(&ct.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--format",
        "{{json .}}",
    ]));
    let actions: Vec<String> = all
        .iter()
        .filter(|m| m["Type"] == "container")
        .map(|m| m["Action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(actions, ["create", "start", "die", "destroy"], "{all:?}");
    let die = all.iter().find(|m| m["Action"] == "die").unwrap();
    assert_eq!(die["Actor"]["Attributes"]["exitCode"], "3");
    assert_eq!(die["Actor"]["Attributes"]["name"], "ev1");
    assert_eq!(
        die["Actor"]["Attributes"]["team"], "a",
        "labels are attributes"
    );
    assert_eq!(die["status"], "die");
    assert_eq!(
        die["from"],
        BUSYBOX.trim_end_matches(":latest").to_string() + ":latest"
    );
    assert_eq!(die["scope"], "local");

    let f = |filters: &[&str]| -> Vec<String> {
        let mut args = vec![
            "events",
            "--since",
            "1h",
            "--until",
            "0s",
            "--format",
            "{{.Type}} {{.Action}}",
        ];
        for x in filters {
            args.push("--filter");
            args.push(x);
        }
        ct.ok(&args).lines().map(String::from).collect()
    };
    assert_eq!(f(&["event=die"]), ["container die"]);
    assert_eq!(f(&["type=image"]), ["image load", "image tag"]);
    assert_eq!(
        f(&["container=ev1", "event=start", "event=destroy"]),
        ["container start", "container destroy"]
    );
    assert_eq!(f(&["label=team=a", "event=create"]), ["container create"]);
    assert!(f(&["label=team=b"]).is_empty());

    // The default line: time, type, action, id, sorted attributes.
    let pretty = ct.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "event=die",
    ]);
    let line = pretty.trim();
    assert!(line.contains(" container die "), "{line}");
    assert!(
        line.ends_with("(exitCode=3, image=busybox:latest, name=ev1, team=a)")
            || line.ends_with("(exitCode=3, image=busybox, name=ev1, team=a)"),
        "{line}"
    );

    let err = ct.fails_with(&["events", "--filter", "color=red", "--until", "0s"], 1);
    assert!(err.contains("invalid filter 'color'"), "{err}");
    let err = ct.fails_with(&["events", "--since", "soon", "--until", "0s"], 1);
    assert!(
        err.contains("failed to parse value as time or duration"),
        "{err}"
    );
    let err = ct.fails_with(&["events", "--since", "0s", "--until", "1h"], 1);
    assert!(err.contains("cannot be after `until` time"), "{err}");
    ct.finish();
}

#[test]
fn events_stream_live_from_other_berth_processes() {
    let ct = Ct::new();
    let mut child = ct.spawn(&[
        "events",
        "--filter",
        "container=live",
        "--format",
        "{{.Action}}",
    ]);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    // The die event comes from the container's monitor, a different process.
    ct.run_d(&["--name", "live", BUSYBOX, "sh", "-c", "sleep 0.2; exit 7"]);
    ct.run(&["--name", "other", BUSYBOX, "true"]);
    let mut got = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !got.contains(&"die".to_string()) && std::time::Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            got.push(l);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        got,
        ["create", "start", "die"],
        "only the filtered container's events, live"
    );
    ct.finish();
}

#[test]
fn events_survive_rotation() {
    let ct = Ct::new();
    // Fill the log past its rotation size with tag events.
    let log = ct.run_path().join("events.log");
    let filler = format!(
        "{}\n",
        serde_json::json!({"Type":"volume","Action":"create","Actor":{"ID":"x","Attributes":{}},
                           "scope":"local","time":1,"timeNano":1_000_000_000i64})
    );
    std::fs::write(&log, filler.repeat((4 << 20) / filler.len() + 1)).unwrap();
    ct.ok(&["tag", BUSYBOX, "after:rotation"]);
    assert!(
        ct.run_path().join("events.log.1").exists(),
        "the log rotated"
    );
    let out = ct.ok(&[
        "events",
        "--since",
        "1h",
        "--until",
        "0s",
        "--filter",
        "type=image",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    assert!(out.lines().any(|l| l == "tag after:rotation"), "{out}");
    ct.finish();
}

#[test]
fn build_cache_shows_in_system_df_and_goes_with_system_prune() {
    let ct = Ct::new();
    let ctx = ct.scratch().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM busybox:latest\nRUN head -c 300000 /dev/zero > /blob\nCOPY f /f\nENV A=b\n",
    )
    .unwrap();
    std::fs::write(ctx.join("f"), "data").unwrap();
    let ctx = ctx.to_string_lossy().into_owned();
    ct.ok(&["build", "--network", "none", "-t", "app:1", &ctx]);
    let rows = json_lines(&ct.ok(&["system", "df", "--format", "{{json .}}"]));
    let cache = rows.iter().find(|r| r["Type"] == "Build Cache").unwrap();
    assert_eq!(cache["TotalCount"], "3", "{cache}");
    assert_eq!(cache["Active"], "0", "{cache}");
    let size = cache["Size"].as_str().unwrap();
    assert!(
        size.ends_with("kB") && size.starts_with('3'),
        "the RUN layer counts: {cache}"
    );
    let v = ct.ok(&["system", "df", "-v"]);
    assert!(v.contains("\nBuild cache usage: 3"), "{v}");
    assert!(v.contains("regular"), "{v}");

    // A rebuild after a change leaves the first build's last steps without a tag.
    std::fs::write(ct.scratch().join("ctx/f"), "changed").unwrap();
    ct.ok(&["build", "--network", "none", "-t", "app:1", &ctx]);
    let rows = json_lines(&ct.ok(&["system", "df", "--format", "{{json .}}"]));
    let cache = rows.iter().find(|r| r["Type"] == "Build Cache").unwrap();
    assert_eq!(
        cache["TotalCount"], "5",
        "RUN reused, COPY and ENV new: {cache}"
    );

    let out = ct.ok(&["system", "prune", "-f"]);
    assert!(!out.contains("Total reclaimed space: 0B"), "{out}");
    let rows = json_lines(&ct.ok(&["system", "df", "--format", "{{json .}}"]));
    let cache = rows.iter().find(|r| r["Type"] == "Build Cache").unwrap();
    assert_eq!(cache["TotalCount"], "0", "{cache}");
    let o = ct.run(&["--rm", "app:1", "cat", "/f"]);
    assert_eq!(o.stdout, "changed", "the tagged image is whole: {o}");
    ct.finish();
}

#[test]
fn missing_arguments_use_dockers_message_and_exit_1() {
    let ct = Ct::empty();
    let err = ct.fails_with(&["rm"], 1);
    assert!(
        err.starts_with("\"berth rm\" requires at least 1 argument.\nSee 'berth rm --help'.\n\nUsage:  berth rm [OPTIONS] CONTAINER [CONTAINER...]\n"),
        "{err}"
    );
    let err = ct.fails_with(&["tag", "x"], 1);
    assert!(
        err.starts_with("\"berth tag\" requires exactly 2 arguments."),
        "{err}"
    );
    let err = ct.fails_with(&["volume", "inspect"], 1);
    assert!(
        err.starts_with("\"berth volume inspect\" requires at least 1 argument."),
        "{err}"
    );
    // Unknown flags stay usage errors (125).
    let err = ct.fails_with(&["rm", "--bogus", "x"], 125);
    assert!(err.starts_with("unknown flag: --bogus"), "{err}");
}
