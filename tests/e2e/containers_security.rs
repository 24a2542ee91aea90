//! What a container may do, against Docker's defaults (shared/security/README.md §1): the
//! 14 capabilities, seccomp, masked and read-only paths, /dev, namespaces, the flags that
//! change them, resource limits seen from the host's cgroup files, and the lessons of
//! CVE-2024-21626 (no host fd reaches the container) and CVE-2020-15257 (no abstract
//! sockets), plus private state directories (CVE-2021-41091).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::containers::{
    alive, cgroup_file, cgroup_v2, own_cap_bnd, parse_caps, socket_inodes, status_field,
    unix_sockets, Ct, BUSYBOX,
};
use crate::support::wait_timeout;

/// Docker's default capability set (moby `caps.DefaultCapabilities`) as a mask.
const DOCKER_CAPS: u64 = 0xa80425fb;

fn status_of(ct: &Ct, extra: &[&str]) -> String {
    let mut args: Vec<&str> = extra.to_vec();
    args.extend_from_slice(&["--rm", BUSYBOX, "cat", "/proc/self/status"]);
    let o = ct.run(&args);
    assert_eq!(o.code, 0, "{o}");
    o.stdout
}

fn caps(dump: &str, field: &str) -> u64 {
    parse_caps(&status_field(dump, field).unwrap_or_else(|| panic!("{field} missing: {dump}")))
}

#[test]
fn default_capabilities_are_dockers_14() {
    let ct = Ct::new();
    let s = status_of(&ct, &[]);
    for f in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(caps(&s, f), DOCKER_CAPS, "{f} = {:#x}", caps(&s, f));
    }
    assert_eq!(
        caps(&s, "CapInh"),
        0,
        "CVE-2022-24769: inheritable must be empty"
    );
    assert_eq!(caps(&s, "CapAmb"), 0);
    // A non-root user keeps the bounding set but holds no capability.
    let s = status_of(&ct, &["-u", "1000:1000"]);
    assert_eq!(caps(&s, "CapBnd"), DOCKER_CAPS);
    for f in ["CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(caps(&s, f), 0, "{f} of uid 1000");
    }
    ct.finish();
}

#[test]
fn default_seccomp_filters_and_no_new_privileges_is_off() {
    let ct = Ct::new();
    let s = status_of(&ct, &[]);
    assert_eq!(status_field(&s, "Seccomp").as_deref(), Some("2"), "{s}");
    assert_eq!(status_field(&s, "NoNewPrivs").as_deref(), Some("0"), "{s}");
    ct.finish();
}

#[test]
fn default_container_cannot_make_namespaces_or_mount() {
    let ct = Ct::new();
    for cmd in [
        "unshare -U true",
        "unshare -n true",
        "unshare -m true",
        "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t",
        "mount -o remount,rw /proc/sys",
        "umount /etc/hosts",
    ] {
        let o = ct.run(&["--rm", BUSYBOX, "sh", "-c", cmd]);
        assert_ne!(o.code, 0, "`{cmd}` succeeded\n{o}");
    }
    ct.finish();
}

#[test]
fn masked_paths_are_empty() {
    let ct = Ct::new();
    // Docker's list; only paths this kernel has are checked.
    let files = [
        "/proc/interrupts",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/sched_debug",
        "/proc/timer_list",
        "/proc/timer_stats",
    ];
    let dirs = [
        "/proc/acpi",
        "/proc/asound",
        "/proc/scsi",
        "/sys/firmware",
        "/sys/devices/virtual/powercap",
    ];
    let mut script = String::new();
    for f in files.iter().filter(|f| Path::new(f).exists()) {
        script.push_str(&format!(
            "echo \"{f} $(wc -c < {f}) $(stat -c %t:%T {f})\"; "
        ));
    }
    for d in dirs.iter().filter(|d| Path::new(d).exists()) {
        script.push_str(&format!("echo \"{d} $(ls -A {d} | wc -l)\"; "));
    }
    assert!(!script.is_empty(), "no masked path exists on this host");
    let o = ct.run(&["--rm", BUSYBOX, "sh", "-c", &script]);
    assert_eq!(o.code, 0, "{o}");
    for l in o.stdout.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        match f.len() {
            // A file: /dev/null (char 1:3) bound over it, so it reads as empty.
            3 => assert_eq!((f[1], f[2]), ("0", "1:3"), "{l}"),
            2 => assert_eq!(f[1], "0", "masked directory not empty: {l}"),
            _ => panic!("unexpected line {l:?}\n{o}"),
        }
    }
    ct.finish();
}

#[test]
fn read_only_paths_refuse_writes() {
    let ct = Ct::new();
    let mut script = String::from(
        "echo x > /proc/sys/kernel/domainname && echo WROTE-sys; \
         touch /sys/x 2>/dev/null && echo WROTE-sysfs; ",
    );
    if Path::new("/proc/sysrq-trigger").exists() {
        // Writing 'h' only prints help to the kernel log, should the write go through.
        script.push_str("echo h > /proc/sysrq-trigger && echo WROTE-sysrq; ");
    }
    script.push_str("grep -E ' /proc/(bus|fs|irq|sys|sysrq-trigger) ' /proc/mounts");
    let o = ct.run(&["--rm", BUSYBOX, "sh", "-c", &script]);
    assert!(!o.stdout.contains("WROTE"), "{o}");
    for p in [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ] {
        if !Path::new(p).exists() {
            continue;
        }
        let line = o
            .stdout
            .lines()
            .find(|l| l.split(' ').nth(1) == Some(p))
            .unwrap_or_else(|| panic!("{p} is not a read-only mount\n{o}"));
        assert!(line.split(' ').nth(3).unwrap().starts_with("ro"), "{line}");
    }
    ct.finish();
}

/// Docker mounts `/sys/fs/cgroup` read-only; a writable one lets the container raise its own
/// limits (memory, pids) from inside.
#[test]
fn cgroup_filesystem_is_read_only() {
    let ct = Ct::new();
    let id = ct.run_d(&[
        "--name",
        "cc",
        "--memory",
        "32m",
        "--pids-limit",
        "10",
        BUSYBOX,
        "sleep",
        "60",
    ]);
    let (mem, pids) = if cgroup_v2() {
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max")
    } else {
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/pids/pids.max",
        )
    };
    let o = ct
        .cmd(&[
            "exec",
            "cc",
            "sh",
            "-c",
            &format!(
                "echo 67108864 > {mem} && echo RAISED-MEMORY; echo max > {pids} && echo RAISED-PIDS; \
                 grep ' /sys/fs/cgroup' /proc/mounts"
            ),
        ])
        .run();
    let host_mem = cgroup_file("memory", "memory.limit_in_bytes", "memory.max", &id);
    let host_pids = cgroup_file("pids", "pids.max", "pids.max", &id);
    assert_eq!(host_mem.as_deref(), Some("33554432"), "{o}");
    assert_eq!(host_pids.as_deref(), Some("10"), "{o}");
    assert!(!o.stdout.contains("RAISED"), "{o}");
    for l in o.stdout.lines().filter(|l| l.contains(" /sys/fs/cgroup")) {
        assert!(
            l.split(' ').nth(3).unwrap().starts_with("ro"),
            "a writable cgroup mount: {l}\n{o}"
        );
    }
    ct.finish();
}

#[test]
fn dev_shm_is_64m_and_shm_size_changes_it() {
    let ct = Ct::new();
    let o = ct.run(&["--rm", BUSYBOX, "grep", " /dev/shm ", "/proc/mounts"]);
    let opts = o.stdout.split(' ').nth(3).unwrap_or("").to_string();
    for want in ["nosuid", "nodev", "noexec", "size=65536k"] {
        assert!(opts.split(',').any(|o| o == want), "{want}: {o}");
    }
    let o = ct.run(&["--rm", BUSYBOX, "df", "-k", "/dev/shm"]);
    assert!(
        o.stdout
            .lines()
            .nth(1)
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("65536")),
        "{o}"
    );
    let o = ct.run(&[
        "--rm",
        "--shm-size",
        "128m",
        BUSYBOX,
        "grep",
        " /dev/shm ",
        "/proc/mounts",
    ]);
    assert!(o.stdout.contains("size=131072k"), "{o}");
    ct.finish();
}

#[test]
fn only_the_default_device_nodes_exist() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--rm",
        BUSYBOX,
        "sh",
        "-c",
        "for d in null zero full random urandom tty; do echo \"$d $(stat -c '%F %t:%T' /dev/$d)\"; done; \
         ls -A /dev",
    ]);
    assert_eq!(o.code, 0, "{o}");
    let lines: Vec<&str> = o.stdout.lines().collect();
    for (i, (name, dev)) in [
        ("null", "1:3"),
        ("zero", "1:5"),
        ("full", "1:7"),
        ("random", "1:8"),
        ("urandom", "1:9"),
        ("tty", "5:0"),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(
            lines.get(i).copied().unwrap_or(""),
            format!("{name} character special file {dev}"),
            "{o}"
        );
    }
    let listed: Vec<&str> = lines[6..].to_vec();
    // The host's block devices and sensitive character devices are not there.
    let mut host_devs: Vec<String> = std::fs::read_dir("/sys/class/block")
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    host_devs.extend(["mem", "kmsg", "fuse", "kvm", "port", "loop-control"].map(String::from));
    for d in &host_devs {
        assert!(
            !listed.contains(&d.as_str()),
            "/dev/{d} is in the container: {listed:?}"
        );
    }
    ct.finish();
}

#[test]
fn device_cgroup_denies_opening_host_devices() {
    let Some((major, minor, name)) = first_block_device() else {
        eprintln!("SKIPPED device_cgroup_denies_opening_host_devices: no block device");
        return;
    };
    let ct = Ct::new();
    // mknod is allowed (`b *:* m`), opening is not (Docker/runc device rules).
    let o = ct.run(&[
        "--rm",
        BUSYBOX,
        "sh",
        "-c",
        &format!(
            "mknod /tmp/{name} b {major} {minor} && echo made; head -c 16 /tmp/{name} > /dev/null && echo READ; \
             mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem > /dev/null && echo READ-MEM; true"
        ),
    ]);
    assert!(o.stdout.starts_with("made\n"), "{o}");
    assert!(!o.stdout.contains("READ"), "{o}");
    assert!(o.stderr.contains("Operation not permitted"), "{o}");
    ct.finish();
}

fn first_block_device() -> Option<(u32, u32, String)> {
    let mut devs: Vec<(u32, u32, String)> = std::fs::read_dir("/sys/class/block")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let dev = std::fs::read_to_string(e.path().join("dev")).ok()?;
            let (a, b) = dev.trim().split_once(':')?;
            let name = e.file_name().to_string_lossy().into_owned();
            Some((a.parse().ok()?, b.parse().ok()?, name))
        })
        .collect();
    // A disk rather than a loop or RAM device, when there is one.
    devs.sort_by_key(|(_, _, n)| (n.starts_with("loop") || n.contains("ram"), n.clone()));
    devs.into_iter().next()
}

#[test]
fn hostname_is_the_short_id_and_etc_files_are_the_containers() {
    let ct = Ct::new();
    let host_hosts = std::fs::read("/etc/hosts").unwrap_or_default();
    let id = ct.run_d(&["--name", "hh", BUSYBOX, "sleep", "60"]);
    let o = ct
        .cmd(&["exec", "hh", "sh", "-c", "hostname; cat /etc/hostname"])
        .run();
    assert_eq!(o.stdout, format!("{0}\n{0}\n", &id[..12]), "{o}");
    let v = ct.json("hh");
    for (inside, key) in [
        ("/etc/hosts", "HostsPath"),
        ("/etc/resolv.conf", "ResolvConfPath"),
    ] {
        let host_path = v[key].as_str().unwrap_or_else(|| panic!("{key}: {v:#}"));
        assert!(
            Path::new(host_path).starts_with(ct.root_path()),
            "{key} = {host_path} is not berth's"
        );
        let inside_data = ct.ok(&["exec", "hh", "cat", inside]);
        assert_eq!(
            inside_data,
            std::fs::read_to_string(host_path).unwrap(),
            "{inside} is not the container's own {key}"
        );
    }
    let hosts = ct.ok(&["exec", "hh", "cat", "/etc/hosts"]);
    assert!(hosts.contains("127.0.0.1\tlocalhost"), "{hosts}");
    // Writing the container's /etc/hosts leaves the host's alone.
    ct.ok(&[
        "exec",
        "hh",
        "sh",
        "-c",
        "echo '10.9.9.9 evil' >> /etc/hosts",
    ]);
    assert_eq!(std::fs::read("/etc/hosts").unwrap_or_default(), host_hosts);
    let resolv = ct.ok(&["exec", "hh", "cat", "/etc/resolv.conf"]);
    assert!(!resolv.contains("nameserver 127."), "{resolv}");
    ct.finish();
}

#[test]
fn pid_1_is_the_command_in_its_own_pid_namespace() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--rm",
        BUSYBOX,
        "sh",
        "-c",
        "echo $$; cat /proc/1/comm; true",
    ]);
    assert_eq!(o.stdout, "1\nsh\n", "{o}");
    // Only the container's own processes are visible.
    let o = ct.run(&["--rm", BUSYBOX, "ps", "-o", "pid,comm"]);
    let rows: Vec<Vec<&str>> = o
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows, vec![vec!["1", "ps"]], "{o}");
    // From the host: the init's NSpid ends in 1.
    ct.run_d(&["--name", "pp", BUSYBOX, "sleep", "60"]);
    let pid = ct.pid("pp");
    let nspid = crate::support::containers::proc_status(pid, "NSpid").unwrap_or_default();
    assert_eq!(
        nspid.split_whitespace().collect::<Vec<_>>(),
        [pid.to_string().as_str(), "1"],
        "NSpid of {pid}"
    );
    for ns in ["pid", "mnt", "uts", "ipc", "net"] {
        let mine = std::fs::read_link(format!("/proc/self/ns/{ns}")).unwrap();
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/{ns}")).unwrap();
        assert_ne!(mine, theirs, "the container shares the {ns} namespace");
    }
    ct.finish();
}

#[test]
fn cap_add_sys_admin_allows_mount() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        BUSYBOX,
        "sh",
        "-c",
        "mkdir -p /mnt/t && mount -t tmpfs none /mnt/t && grep -c ' /mnt/t ' /proc/mounts",
    ]);
    assert_eq!((o.code, o.stdout.as_str()), (0, "1\n"), "{o}");
    let s = status_of(&ct, &["--cap-add", "CAP_SYS_ADMIN"]);
    assert_eq!(caps(&s, "CapEff"), DOCKER_CAPS | (1 << 21), "{s}");
    // --cap-drop removes one of the defaults.
    let s = status_of(&ct, &["--cap-drop", "NET_RAW"]);
    assert_eq!(caps(&s, "CapEff"), DOCKER_CAPS & !(1 << 13), "{s}");
    ct.finish();
}

#[test]
fn cap_drop_all_leaves_no_capability() {
    let ct = Ct::new();
    let s = status_of(&ct, &["--cap-drop", "ALL"]);
    for f in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(caps(&s, f), 0, "{f}: {s}");
    }
    let o = ct.run(&["--rm", "--cap-drop", "ALL", BUSYBOX, "chown", "1:1", "/tmp"]);
    assert_ne!(o.code, 0, "chown without CAP_CHOWN: {o}");
    ct.finish();
}

#[test]
fn privileged_has_every_capability_and_no_seccomp() {
    let ct = Ct::new();
    let s = status_of(&ct, &["--privileged"]);
    // Every capability of the current bounding set (moby #42933 "oci/caps: limit available
    // capabilities to current environment"): this host's may lack some the kernel knows.
    let all = own_cap_bnd();
    for f in ["CapBnd", "CapPrm", "CapEff"] {
        assert_eq!(
            caps(&s, f),
            all,
            "{f} = {:#x}, host bounding {all:#x}",
            caps(&s, f)
        );
    }
    assert_eq!(status_field(&s, "Seccomp").as_deref(), Some("0"), "{s}");
    // --cap-add ALL: the same capabilities (moby #42933: those of the current bounding set).
    let s = status_of(&ct, &["--cap-add", "ALL"]);
    assert_eq!(caps(&s, "CapEff"), all, "--cap-add ALL: {s}");
    assert_eq!(status_field(&s, "Seccomp").as_deref(), Some("2"), "{s}");
    // Host devices are visible, /sys is writable.
    if let Some((_, _, name)) = first_block_device() {
        let o = ct.run(&[
            "--rm",
            "--privileged",
            BUSYBOX,
            "ls",
            &format!("/dev/{name}"),
        ]);
        assert_eq!(
            o.code, 0,
            "Docker gives a privileged container the host's devices: {o}"
        );
    }
    let o = ct.run(&[
        "--rm",
        "--privileged",
        BUSYBOX,
        "grep",
        " /sys ",
        "/proc/mounts",
    ]);
    assert!(o.stdout.contains(" rw,"), "{o}");
    ct.finish();
}

#[test]
fn security_opt_no_new_privileges() {
    let ct = Ct::new();
    for opt in [
        "no-new-privileges",
        "no-new-privileges:true",
        "no-new-privileges=true",
    ] {
        let s = status_of(&ct, &["--security-opt", opt]);
        assert_eq!(
            status_field(&s, "NoNewPrivs").as_deref(),
            Some("1"),
            "{opt}: {s}"
        );
        assert_eq!(
            status_field(&s, "Seccomp").as_deref(),
            Some("2"),
            "{opt}: {s}"
        );
    }
    ct.finish();
}

#[test]
fn security_opt_seccomp_unconfined() {
    let ct = Ct::new();
    let s = status_of(&ct, &["--security-opt", "seccomp=unconfined"]);
    assert_eq!(status_field(&s, "Seccomp").as_deref(), Some("0"), "{s}");
    assert_eq!(
        caps(&s, "CapEff"),
        DOCKER_CAPS,
        "capabilities are unchanged: {s}"
    );
    // Without seccomp the capability check alone refuses namespaces.
    let o = ct.run(&[
        "--rm",
        "--security-opt",
        "seccomp=unconfined",
        BUSYBOX,
        "unshare",
        "-m",
        "true",
    ]);
    assert_ne!(o.code, 0, "{o}");
    ct.finish();
}

/// Lists `/proc/self/fd` in the container: only 0, 1, 2 and the directory `ls` opened.
fn assert_only_std_fds(what: &str, out: &str) {
    let fds: Vec<u32> = out
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .skip_while(|f| !f.contains(':'))
                .nth(1)?
                .parse()
                .ok()
        })
        .collect();
    assert!(
        fds.len() <= 4 && fds.iter().take(3).eq([0, 1, 2].iter()) && fds.iter().all(|&f| f <= 3),
        "{what}: unexpected fds {fds:?}\n{out}"
    );
}

/// `berth ARGS` started by a shell that first opens `/sys/fs/cgroup` as fd 7 without
/// close-on-exec (what leaked into `runc init` in CVE-2024-21626).
fn with_leaked_fd(ct: &Ct, args: &[&str]) -> crate::support::Output {
    let child = Command::new("sh")
        .arg("-c")
        .arg("exec 7</sys/fs/cgroup; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .env("BERTH_ROOT", ct.root_path())
        .env("BERTH_RUN", ct.run_path())
        .env("HOME", ct.home())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn sh");
    wait_timeout(child, Duration::from_secs(120)).expect("berth timed out")
}

#[test]
fn no_host_fd_reaches_run_or_exec() {
    let ct = Ct::new();
    let o = ct.run(&["--rm", BUSYBOX, "ls", "-l", "/proc/self/fd"]);
    assert_only_std_fds("run", &o.stdout);
    let o = ct
        .run_cmd(&["--rm", "-i", BUSYBOX, "ls", "-l", "/proc/self/fd"])
        .stdin("x")
        .run();
    assert_only_std_fds("run -i", &o.stdout);
    let o = ct.run(&["--rm", "-t", BUSYBOX, "ls", "-l", "/proc/self/fd"]);
    assert_only_std_fds("run -t", &o.stdout);
    ct.run_d(&["--name", "fd", BUSYBOX, "sleep", "60"]);
    let o = ct.cmd(&["exec", "fd", "ls", "-l", "/proc/self/fd"]).run();
    assert_only_std_fds("exec", &o.stdout);
    let o = ct.cmd(&["exec", "fd", "ls", "-l", "/proc/1/fd"]).run();
    let fds: Vec<&str> = o.stdout.lines().skip(1).collect();
    assert!(fds.len() <= 3, "the init holds more than stdio: {o}");
    // berth itself started with a host directory open on fd 7 (not close-on-exec).
    let o = with_leaked_fd(
        &ct,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            BUSYBOX,
            "ls",
            "-l",
            "/proc/self/fd",
        ],
    );
    assert_eq!(o.code, 0, "{o}");
    assert_only_std_fds("run with fd 7 leaked into berth", &o.stdout);
    let o = with_leaked_fd(&ct, &["exec", "fd", "ls", "-l", "/proc/self/fd"]);
    assert_eq!(o.code, 0, "{o}");
    assert_only_std_fds("exec with fd 7 leaked into berth", &o.stdout);
    // The attack itself: a working directory through the leaked fd.
    for args in [
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-w",
            "/proc/self/fd/7",
            BUSYBOX,
            "ls",
        ][..],
        &["exec", "-w", "/proc/self/fd/7", "fd", "ls"][..],
    ] {
        let o = with_leaked_fd(&ct, args);
        for host_only in ["memory", "freezer", "pids", "cgroup.procs"] {
            assert!(
                !o.stdout.lines().any(|l| l == host_only),
                "{args:?}: the container's cwd is the host's /sys/fs/cgroup\n{o}"
            );
        }
    }
    ct.finish();
}

#[test]
fn no_abstract_unix_sockets() {
    let ct = Ct::new();
    ct.run_d(&["--name", "aa", "-i", BUSYBOX, "sleep", "60"]);
    ct.run_d(&["--name", "tt", "-t", BUSYBOX, "sleep", "60"]);
    let berth_abstract: Vec<String> = unix_sockets()
        .into_iter()
        .filter(|(_, p)| p.starts_with('@') && p.contains("berth"))
        .map(|(_, p)| p)
        .collect();
    assert!(berth_abstract.is_empty(), "{berth_abstract:?}");
    let abstract_inodes: Vec<u64> = unix_sockets()
        .into_iter()
        .filter(|(_, p)| p.starts_with('@'))
        .map(|(i, _)| i)
        .collect();
    let mut pids = ct.monitors();
    assert_eq!(pids.len(), 2, "one monitor per container");
    pids.push(ct.pid("aa"));
    pids.push(ct.pid("tt"));
    for p in pids {
        for i in socket_inodes(p) {
            assert!(
                !abstract_inodes.contains(&i),
                "process {p} holds an abstract socket (inode {i})"
            );
        }
    }
    ct.finish();
}

#[test]
fn state_directories_are_private() {
    let ct = Ct::new();
    // Loosened beforehand: berth must tighten them on start (CVE-2021-41091).
    for d in [ct.root_path(), ct.run_path()] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    ct.run_d(&["--name", "ss", BUSYBOX, "sleep", "60"]);
    for d in [ct.root_path(), ct.run_path()] {
        let m = std::fs::metadata(d).unwrap();
        assert_eq!(
            (m.permissions().mode() & 0o7777, m.uid(), m.gid()),
            (0o700, 0, 0),
            "{}",
            d.display()
        );
    }
    ct.finish();
}

#[test]
fn memory_limit_is_in_the_host_cgroup() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "mm", "--memory", "32m", BUSYBOX, "sleep", "60"]);
    assert_eq!(ct.inspect("mm", "{{.HostConfig.Memory}}"), "33554432");
    assert_eq!(
        cgroup_file("memory", "memory.limit_in_bytes", "memory.max", &id).as_deref(),
        Some("33554432")
    );
    // The container's processes are in that cgroup.
    let pid = ct.pid("mm");
    let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    assert!(cg.contains(&format!("/berth/{id}")), "{cg}");
    ct.finish();
}

/// moby `adaptContainerSettings`: "By default, MemorySwap is set to twice the size of
/// Memory" (or -1, with a warning, when the kernel has no swap accounting).
#[test]
fn memory_swap_defaults_to_twice_the_memory() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "mm", "--memory", "32m", BUSYBOX, "sleep", "60"]);
    let swap = if cgroup_v2() {
        // memory.swap.max is the swap alone: 2×32m − 32m.
        cgroup_file("memory", "", "memory.swap.max", &id).map(|v| (v, "33554432"))
    } else {
        cgroup_file("memory", "memory.memsw.limit_in_bytes", "", &id).map(|v| (v, "67108864"))
    };
    match swap {
        Some((got, want)) => {
            assert_eq!(ct.inspect("mm", "{{.HostConfig.MemorySwap}}"), "67108864");
            assert_eq!(got, want, "host swap limit");
        }
        None => assert_eq!(ct.inspect("mm", "{{.HostConfig.MemorySwap}}"), "-1"),
    }
    ct.finish();
}

#[test]
fn memory_hog_is_oom_killed() {
    let ct = Ct::new();
    let o = ct.run(&[
        "--name",
        "hog",
        "--memory",
        "32m",
        BUSYBOX,
        "sh",
        "-c",
        "a=xxxxxxxxxxxxxxxx; while :; do a=$a$a; done",
    ]);
    assert_eq!(o.code, 137, "{o}");
    assert_eq!(ct.inspect("hog", "{{.State.ExitCode}}"), "137");
    assert_eq!(
        ct.inspect("hog", "{{.State.OOMKilled}}"),
        "true",
        "Docker reports the OOM kill in State.OOMKilled"
    );
    ct.finish();
}

#[test]
fn pids_limit_stops_a_fork_bomb() {
    let ct = Ct::new();
    let id = ct.run_d(&["--name", "fb", "--pids-limit", "10", BUSYBOX, "sleep", "60"]);
    assert_eq!(ct.inspect("fb", "{{.HostConfig.PidsLimit}}"), "10");
    assert_eq!(
        cgroup_file("pids", "pids.max", "pids.max", &id).as_deref(),
        Some("10")
    );
    let o = ct
        .cmd(&[
            "exec",
            "fb",
            "sh",
            "-c",
            // The sleeps must not hold the exec's output pipes open.
            "i=0; while [ $i -lt 40 ]; do sleep 60 </dev/null >/dev/null 2>&1 & \
             i=$((i+1)); done; echo all-forked",
        ])
        .run();
    assert!(
        !o.stdout.contains("all-forked"),
        "40 forks under a limit of 10: {o}"
    );
    assert!(o.stderr.contains("can't fork"), "{o}");
    let current: u32 = cgroup_file("pids", "pids.current", "pids.current", &id)
        .and_then(|v| v.parse().ok())
        .expect("pids.current");
    assert!((2..=10).contains(&current), "pids.current = {current}");
    assert!(alive(ct.pid("fb")), "the container survives");
    ct.finish();
}
