//! `stats`, `top`, `port`, `container prune`, and cgroup limits as the host's kernel sees
//! them. Every container runs with `--network none`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::{busybox_image, to_docker_archive, Berth, Cmd};

/// One installation with `busybox:latest` loaded; force-removes its containers on drop.
struct Ops {
    b: Berth,
    /// A short `BERTH_RUN`: the harness's own run path makes the per-container socket paths
    /// longer than `sun_path` (108 bytes) allows.
    run: tempfile::TempDir,
}

impl Ops {
    fn new() -> Ops {
        let b = Berth::new();
        let run = tempfile::Builder::new()
            .prefix("bo")
            .tempdir()
            .expect("short run dir");
        std::os::unix::fs::symlink(b.run_path(), run.path().join("r")).expect("run symlink");
        let o = Ops { b, run };
        o.cmd(&["load"])
            .stdin(to_docker_archive(&[busybox_image("busybox:latest")]))
            .ok();
        o
    }

    fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Cmd {
        self.b.cmd(args).env("BERTH_RUN", self.run.path().join("r"))
    }

    #[track_caller]
    fn ok<S: AsRef<OsStr>>(&self, args: &[S]) -> String {
        self.cmd(args).ok()
    }

    #[track_caller]
    fn fails_with<S: AsRef<OsStr>>(&self, args: &[S], code: i32) -> String {
        self.cmd(args).fails_with(code)
    }

    /// `run -d --network none ARGS`; returns the full id.
    #[track_caller]
    fn run_d(&self, args: &[&str]) -> String {
        let mut a = vec!["run", "-d", "--network", "none"];
        a.extend_from_slice(args);
        let id = self.ok(&a).trim().to_string();
        assert_eq!(id.len(), 64, "run -d printed {id:?}");
        id
    }

    /// `run --network none ARGS` to completion.
    #[track_caller]
    fn run(&self, args: &[&str]) -> String {
        let mut a = vec!["run", "--network", "none"];
        a.extend_from_slice(args);
        self.ok(&a)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .ok(&["ps", "-a", "--format", "{{.Names}}"])
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }
}

impl Drop for Ops {
    fn drop(&mut self) {
        let o = self.cmd(&["ps", "-aq", "--no-trunc"]).run();
        for id in o.stdout.lines().filter(|l| !l.is_empty()) {
            let _ = self.cmd(&["rm", "-f", id]).run();
        }
    }
}

/// The file of a container's cgroup for a v1 `controller`, or in the unified hierarchy
/// (`v2_file`) when the host accounts in cgroup v2.
fn cgroup_file(id: &str, controller: &str, v1_file: &str, v2_file: &str) -> PathBuf {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let mut unified = None;
    for line in info.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount = left.split(' ').nth(4).unwrap_or("");
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let opts = r.nth(1).unwrap_or("");
        if fstype == "cgroup" && opts.split(',').any(|o| o == controller) {
            return Path::new(mount).join("berth").join(id).join(v1_file);
        }
        if fstype == "cgroup2" && (unified.is_none() || mount == "/sys/fs/cgroup") {
            unified = Some(PathBuf::from(mount));
        }
    }
    let v1_anywhere = info.contains(" - cgroup cgroup ");
    assert!(
        !v1_anywhere,
        "cgroup v1 host without a {controller} hierarchy"
    );
    unified
        .expect("no cgroup hierarchy")
        .join("berth")
        .join(id)
        .join(v2_file)
}

/// Whether the host accounts memory in cgroup v2 (no v1 memory hierarchy is mounted).
fn is_v2() -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    !info.lines().any(|l| {
        l.split_once(" - ").is_some_and(|(_, r)| {
            let mut f = r.split(' ');
            f.next() == Some("cgroup")
                && f.nth(1)
                    .is_some_and(|o| o.split(',').any(|o| o == "memory"))
        })
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
        .trim()
        .to_string()
}

/// Parses a `docker stats` size (`64MiB`, `1.5kB`, `0B`) into bytes.
fn size(s: &str) -> f64 {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("bad size {s:?}"));
    let mul = match unit {
        "B" => 1.0,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        _ => panic!("bad unit in {s:?}"),
    };
    n * mul
}

#[test]
fn stats_no_stream_shows_the_memory_limit_and_pids() {
    let o = Ops::new();
    let id = o.run_d(&[
        "--name", "s1", "--memory", "64m", "busybox", "sleep", "1000",
    ]);
    o.run(&["--name", "done", "busybox", "true"]);

    let out = o.ok(&["stats", "--no-stream", "s1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT"),
        "{out}"
    );
    let cols: Vec<&str> = lines[0]
        .split("   ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cols,
        [
            "CONTAINER ID",
            "NAME",
            "CPU %",
            "MEM USAGE / LIMIT",
            "MEM %",
            "NET I/O",
            "BLOCK I/O",
            "PIDS"
        ],
        "{out}"
    );
    assert!(
        lines[1].starts_with(&format!("{}   s1 ", &id[..12])),
        "{out}"
    );

    let f = o.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}|{{.MemPerc}}|{{.PIDs}}|{{.NetIO}}|{{.CPUPerc}}|{{.Name}}|{{.Container}}",
        "s1",
    ]);
    let v: Vec<&str> = f.trim().split('|').collect();
    assert_eq!(v.len(), 7, "{f}");
    let (usage, limit) = v[0].split_once(" / ").expect("usage / limit");
    assert_eq!(limit, "64MiB", "{f}");
    assert!(
        size(usage) > 0.0 && size(usage) < 64.0 * 1024.0 * 1024.0,
        "{f}"
    );
    assert!(v[1].ends_with('%'), "{f}");
    let pids: u64 = v[2].parse().expect("PIDs");
    assert!(pids >= 1, "{f}");
    assert_eq!(v[3], "0B / 0B", "--network none has no interface: {f}");
    assert!(v[4].ends_with('%'), "{f}");
    assert_eq!(&v[5..], ["s1", "s1"], "{f}");

    // MemUsage alone, as a user would script it.
    let m = o.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.MemUsage}}",
        &id[..12],
    ]);
    assert!(m.trim().ends_with(" / 64MiB"), "{m}");

    // Without names: the running containers only; -a adds the stopped one, all zeros.
    let ids = o.ok(&["stats", "--no-stream", "--format", "{{.Name}}"]);
    assert_eq!(ids, "s1\n");
    let all = o.ok(&[
        "stats",
        "-a",
        "--no-stream",
        "--format",
        "{{.Name}} {{.MemUsage}} {{.PIDs}}",
    ]);
    assert!(all.lines().any(|l| l == "done 0B / 0B 0"), "{all}");
    assert!(all.lines().any(|l| l.starts_with("s1 ")), "{all}");

    let full = o.ok(&[
        "stats",
        "--no-stream",
        "--no-trunc",
        "--format",
        "{{.ID}}",
        "s1",
    ]);
    assert_eq!(full.trim(), id);
    let json = o.ok(&["stats", "--no-stream", "--format", "json", "s1"]);
    let j: serde_json::Value = serde_json::from_str(json.trim()).expect("json");
    assert_eq!(j["Name"], "s1");
    assert!(
        j["MemUsage"].as_str().unwrap().ends_with("/ 64MiB"),
        "{json}"
    );

    let err = o.fails_with(&["stats", "--no-stream", "s1", "nosuch"], 1);
    assert_eq!(
        err,
        "Error response from daemon: No such container: nosuch\n"
    );
}

#[test]
fn stats_cpu_percent_follows_the_cpu_quota() {
    let o = Ops::new();
    o.run_d(&[
        "--name",
        "busy",
        "--cpus",
        "0.5",
        "busybox",
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let out = o.ok(&["stats", "--no-stream", "--format", "{{.CPUPerc}}", "busy"]);
    let pct: f64 = out.trim().trim_end_matches('%').parse().expect("CPU %");
    // Half a CPU at most (docker's CPU % is per CPU: 100% is one whole CPU).
    assert!(pct > 1.0 && pct < 70.0, "CPU % {pct} for --cpus 0.5");
}

#[test]
fn stats_streams_redraws_until_interrupted() {
    let o = Ops::new();
    o.run_d(&["--name", "s1", "busybox", "sleep", "1000"]);
    let child = o.cmd(&["stats", "s1"]).spawn();
    std::thread::sleep(Duration::from_millis(3500));
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
    let out = crate::support::wait(child);
    let frames = out.stdout.matches("\x1b[H").count();
    assert!(frames >= 2, "want redrawn frames:\n{out}");
    assert_eq!(out.stdout.matches("CONTAINER ID").count(), frames, "{out}");
    assert!(
        out.stdout.contains("\x1b[K\n") && out.stdout.contains("\x1b[J"),
        "{out}"
    );
    assert!(out.stdout.contains("   s1   "), "{out}");
}

#[test]
fn top_lists_the_container_processes_only() {
    let o = Ops::new();
    let id = o.run_d(&["--name", "t1", "busybox", "sleep", "1000"]);
    let out = o.ok(&["top", "t1"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"],
        "{out}"
    );
    assert_eq!(lines.len(), 2, "only the container's process: {out}");
    assert!(lines[1].ends_with("sleep 1000"), "{out}");
    // Docker's tabwriter: columns at least 20 wide.
    assert!(lines[0].starts_with("UID                 PID"), "{out}");

    o.ok(&["exec", "-d", "t1", "sleep", "999"]);
    std::thread::sleep(Duration::from_millis(300));
    let out = o.ok(&["container", "top", "t1", "-o", "pid,args"]);
    assert!(out.lines().next().unwrap().contains("COMMAND"), "{out}");
    assert!(
        out.contains("sleep 1000") && out.contains("sleep 999"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 3, "{out}");

    let err = o.fails_with(&["top", "t1", "-o", "comm=PID"], 1);
    assert_eq!(
        err,
        "Error response from daemon: specifying \"comm=PID\" is not allowed\n"
    );
    o.ok(&["kill", "t1"]);
    let err = o.fails_with(&["top", "t1"], 1);
    assert_eq!(
        err,
        format!("Error response from daemon: container {id} is not running\n")
    );
    let err = o.fails_with(&["top", "nosuch"], 1);
    assert_eq!(
        err,
        "Error response from daemon: No such container: nosuch\n"
    );
}

#[test]
fn port_prints_published_bindings() {
    let o = Ops::new();
    o.run_d(&["--name", "c1", "busybox", "sleep", "1000"]);
    assert_eq!(o.ok(&["port", "c1"]), "");
    let err = o.fails_with(&["port", "c1", "80/tcp"], 1);
    assert_eq!(err, "Error: No public port '80/tcp' published for c1\n");
    let err = o.fails_with(&["port", "c1", "80"], 1);
    assert_eq!(err, "Error: No public port '80' published for c1\n");
    let err = o.fails_with(&["container", "port", "c1", "http"], 1);
    assert_eq!(
        err,
        "Error: invalid port (http): strconv.ParseUint: parsing \"http\": invalid syntax\n"
    );
    let err = o.fails_with(&["port", "nosuch"], 1);
    assert_eq!(
        err,
        "Error response from daemon: No such container: nosuch\n"
    );

    o.run_d(&[
        "--name",
        "c2",
        "-p",
        "8080:80",
        "-p",
        "127.0.0.1:5353:53/udp",
        "busybox",
        "sleep",
        "1000",
    ]);
    // `--network none` publishes nothing (Docker discards the bindings); published ports on
    // a bridge are tested in networks.rs, inside a namespace of the test's own.
    assert_eq!(o.ok(&["port", "c2"]), "");
    o.ok(&["stop", "-t", "0", "c2"]);
    assert_eq!(
        o.ok(&["port", "c2"]),
        "",
        "a stopped container publishes nothing"
    );
}

#[test]
fn prune_removes_only_stopped_containers() {
    let o = Ops::new();
    let running = o.run_d(&["--name", "up", "busybox", "sleep", "1000"]);
    o.run(&[
        "--name",
        "writer",
        "busybox",
        "sh",
        "-c",
        "head -c 5000 /dev/zero > /big",
    ]);
    let writer = o
        .ok(&["inspect", "-f", "{{.Id}}", "writer"])
        .trim()
        .to_string();
    let created = o
        .ok(&["create", "--name", "fresh", "--network", "none", "busybox"])
        .trim()
        .to_string();
    let labelled = o
        .ok(&[
            "create",
            "--name",
            "kept",
            "--label",
            "keep=yes",
            "--network",
            "none",
            "busybox",
        ])
        .trim()
        .to_string();

    // Refusing the prompt (or no answer) removes nothing.
    let out = o.cmd(&["container", "prune"]).stdin("n\n").ok();
    assert_eq!(
        out,
        "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "
    );
    o.cmd(&["container", "prune"]).ok();
    assert_eq!(o.names(), ["fresh", "kept", "up", "writer"]);

    // Filters: created in the last hour is too recent; label!= keeps the labelled one.
    let out = o.ok(&["container", "prune", "-f", "--filter", "until=1h"]);
    assert_eq!(out, "Total reclaimed space: 0B\n");
    let out = o.ok(&["container", "prune", "-f", "--filter", "label=keep=yes"]);
    assert_eq!(
        out,
        format!("Deleted Containers:\n{labelled}\n\nTotal reclaimed space: 0B\n")
    );

    let out = o
        .cmd(&["container", "prune", "--filter", "label!=keep"])
        .stdin("y\n")
        .ok();
    let body = out
        .strip_prefix("WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] ")
        .unwrap_or_else(|| panic!("no prompt: {out}"));
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("Deleted Containers:"), "{out}");
    let mut deleted: Vec<&str> = lines.by_ref().take_while(|l| !l.is_empty()).collect();
    deleted.sort();
    let mut want = vec![writer.as_str(), created.as_str()];
    want.sort();
    assert_eq!(deleted, want, "{out}");
    let total = lines.next().expect("total line");
    let reclaimed = size(total.strip_prefix("Total reclaimed space: ").expect(total));
    // /big plus what the runtime put in the upper layer (mount points are empty files).
    assert!((5000.0..20000.0).contains(&reclaimed), "{out}");

    assert_eq!(o.names(), ["up"]);
    assert_eq!(o.ok(&["ps", "-q", "--no-trunc"]).trim(), running);
    assert!(
        !o.b.list("containers").contains(&writer),
        "files of a pruned container remain"
    );

    let err = o.fails_with(
        &["container", "prune", "-f", "--filter", "status=exited"],
        1,
    );
    assert_eq!(err, "Error response from daemon: invalid filter 'status'\n");
    let err = o.fails_with(&["container", "prune", "-f", "--filter", "label"], 125);
    assert!(err.starts_with("invalid argument \"label\" for \"--filter\" flag: bad format of filter (expected name=value)"), "{err}");
}

#[test]
fn limits_are_written_to_the_host_cgroup() {
    let o = Ops::new();
    let id = o.run_d(&[
        "--name",
        "lim",
        "--memory",
        "64m",
        "--pids-limit",
        "20",
        "--cpus",
        "0.5",
        "--cpu-shares",
        "512",
        "busybox",
        "sleep",
        "1000",
    ]);
    let mem = cgroup_file(&id, "memory", "memory.limit_in_bytes", "memory.max");
    assert_eq!(read(&mem), "67108864", "{}", mem.display());
    let pids = cgroup_file(&id, "pids", "pids.max", "pids.max");
    assert_eq!(read(&pids), "20", "{}", pids.display());
    if is_v2() {
        let max = cgroup_file(&id, "cpu", "", "cpu.max");
        assert_eq!(read(&max), "50000 100000");
        // libcgroups' shares → weight conversion (runc ≥ 1.3): 512 → 59.
        let weight = cgroup_file(&id, "cpu", "", "cpu.weight");
        assert_eq!(read(&weight), "59");
    } else {
        let quota = cgroup_file(&id, "cpu", "cpu.cfs_quota_us", "");
        assert_eq!(read(&quota), "50000");
        let period = cgroup_file(&id, "cpu", "cpu.cfs_period_us", "");
        assert_eq!(read(&period), "100000");
        let shares = cgroup_file(&id, "cpu", "cpu.shares", "");
        assert_eq!(read(&shares), "512");
    }
    // The container's process is in that cgroup.
    let pid = o
        .ok(&["inspect", "-f", "{{.State.Pid}}", "lim"])
        .trim()
        .to_string();
    let procs = cgroup_file(&id, "pids", "cgroup.procs", "cgroup.procs");
    assert!(
        read(&procs).lines().any(|l| l == pid),
        "{pid} not in {}",
        procs.display()
    );
    o.ok(&["rm", "-f", "lim"]);
    assert!(
        !mem.parent().unwrap().exists(),
        "cgroup left behind: {}",
        mem.display()
    );
}

#[test]
fn a_fork_bomb_stays_under_the_pids_limit() {
    let o = Ops::new();
    let id = o.run_d(&[
        "--name",
        "bomb",
        "--pids-limit",
        "20",
        "--cpus",
        "0.5",
        "busybox",
        "sh",
        "-c",
        // busybox sh exits when it cannot fork: the init restarts the bomb, and the
        // sleeps each bomb left behind hold on to their pids.
        "while :; do sh -c 'while :; do sleep 1000 & done'; done",
    ]);
    let current = cgroup_file(&id, "pids", "pids.current", "pids.current");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut max = 0u64;
    let mut last = 0u64;
    while Instant::now() < deadline {
        last = read(&current).parse().expect("pids.current");
        max = max.max(last);
        if last >= 19 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        last >= 19,
        "the bomb never reached the limit (pids.current {last})"
    );
    for _ in 0..10 {
        let n: u64 = read(&current).parse().expect("pids.current");
        max = max.max(n);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(max <= 20, "pids.current reached {max} over --pids-limit 20");
    let p = o.ok(&["stats", "--no-stream", "--format", "{{.PIDs}}", "bomb"]);
    let p: u64 = p.trim().parse().expect("PIDs");
    assert!((19..=20).contains(&p), "stats PIDs {p}");
    assert_eq!(
        o.ok(&["inspect", "-f", "{{.State.Status}}", "bomb"]).trim(),
        "running"
    );
    let logs = o.cmd(&["logs", "bomb"]).run();
    assert!(
        logs.stderr.contains("fork"),
        "no fork failure reported:\n{logs}"
    );
    o.ok(&["rm", "-f", "bomb"]);
    assert!(!current.exists(), "cgroup left behind");
}
