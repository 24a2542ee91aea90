//! `run`/`create` flags → Docker's create request, following docker CLI 27's `parse()`
//! (`cli/command/container/opts.go`) and the flag types it uses (`opts/*.go`, go-units,
//! go-connections `nat`, compose's `ParseVolume`).
//!
//! Two kinds of messages come out of here, both with exit code 125 and Docker's wording:
//! - flag values Docker rejects while parsing flags (pflag):
//!   `invalid argument "x" for "-m, --memory" flag: invalid size: 'x'`;
//! - errors of `parse()` itself: `Conflicting options: --restart and --rm`.
//!
//! Docker prints both followed by `See 'docker run --help'.`, and the second kind prefixed
//! with `docker: ` and ending in a period; the caller adds those, it knows the verb.
//! The few checks the Docker daemon makes (restart policy names, `--security-opt` keys) are
//! made here too, since berth has no daemon, and their messages start with
//! `Error response from daemon: ` as Docker's do.

use berth_types::clean_path;
use std::collections::BTreeMap;
use std::net::IpAddr;

use berth_engine::containers::{
    Config, CreateRequest, DeviceMapping, Empty, HostConfig, LogConfig, PortBinding, RestartPolicy,
    Ulimit,
};
use berth_image::spec::HealthConfig;

use crate::args::container::ContainerOpts;
use crate::exit::{StatusError, USAGE};

type Result<T> = std::result::Result<T, String>;

/// Builds the create request for `run`/`create` from the parsed flags, as Docker's `parse()`
/// (plus `run`'s handling of `-d`) does. `command` empty means the image's `CMD`.
pub fn to_create_request(
    opts: &ContainerOpts,
    image: &str,
    command: &[String],
    name: Option<&str>,
    detach: bool,
    rm: bool,
    attach: &[String],
) -> anyhow::Result<CreateRequest> {
    build(opts, image, command, name, detach, rm, attach).map_err(|m| StatusError::error(USAGE, m))
}

/// Docker's `validatePullOpt` for `--pull`.
pub fn validate_pull(pull: &str) -> anyhow::Result<()> {
    match pull {
        "always" | "missing" | "never" | "" => Ok(()),
        other => Err(StatusError::error(
            USAGE,
            format!(
                "invalid pull option: '{other}': must be one of \"always\", \"missing\" or \"never\""
            ),
        )),
    }
}

fn build(
    o: &ContainerOpts,
    image: &str,
    command: &[String],
    name: Option<&str>,
    detach: bool,
    rm: bool,
    attach: &[String],
) -> Result<CreateRequest> {
    // Flag-level validation (pflag `Set`), before `parse()`.
    let attach = attach
        .iter()
        .map(|a| flag(validate_attach(a), "-a, --attach", a))
        .collect::<Result<Vec<_>>>()?;
    let env = o
        .env
        .iter()
        .map(|e| flag(validate_env(e), "-e, --env", e))
        .collect::<Result<Vec<_>>>()?;
    for l in &o.label {
        flag(validate_label(l), "-l, --label", l)?;
    }
    let dns = o
        .dns
        .iter()
        .map(|d| flag(validate_ip(d), "--dns", d))
        .collect::<Result<Vec<_>>>()?;
    let dns_search = o
        .dns_search
        .iter()
        .map(|d| flag(validate_dns_search(d), "--dns-search", d))
        .collect::<Result<Vec<_>>>()?;
    let extra_hosts = o
        .add_host
        .iter()
        .map(|h| flag(validate_extra_host(h), "--add-host", h))
        .collect::<Result<Vec<_>>>()?;
    let mut sysctls = BTreeMap::new();
    for s in &o.sysctl {
        flag(validate_sysctl(s), "--sysctl", s)?;
        let (k, v) = s.split_once('=').unwrap_or((s, ""));
        sysctls.insert(k.to_string(), v.to_string());
    }
    let mut ulimits = BTreeMap::new();
    for u in &o.ulimit {
        let l = flag(parse_ulimit(u), "--ulimit", u)?;
        ulimits.insert(l.name.clone(), l);
    }
    let memory = mem_flag(o.memory.as_deref(), "-m, --memory")?;
    let memory_reservation = mem_flag(o.memory_reservation.as_deref(), "--memory-reservation")?;
    let memory_swap = match o.memory_swap.as_deref() {
        Some("-1") => -1,
        other => mem_flag(other, "--memory-swap")?,
    };
    let shm_size = mem_flag(o.shm_size.as_deref(), "--shm-size")?;
    let nano_cpus = match o.cpus.as_deref() {
        Some(v) => flag(parse_cpus(v), "--cpus", v)?,
        None => 0,
    };
    let cpu_shares = int_flag(o.cpu_shares.as_deref(), "-c, --cpu-shares")?;
    let cpu_period = int_flag(o.cpu_period.as_deref(), "--cpu-period")?;
    let cpu_quota = int_flag(o.cpu_quota.as_deref(), "--cpu-quota")?;
    let pids_limit = opt_int_flag(o.pids_limit.as_deref(), "--pids-limit")?;
    let oom_score_adj = int_flag(o.oom_score_adj.as_deref(), "--oom-score-adj")?;
    let stop_timeout = opt_int_flag(o.stop_timeout.as_deref(), "--stop-timeout")?;
    let health_retries = int_flag(o.health_retries.as_deref(), "--health-retries")?;
    let blkio_weight = match o.blkio_weight.as_deref() {
        Some(v) => flag(parse_go_uint(v, 16), "--blkio-weight", v)? as u16,
        None => 0,
    };
    let health_interval = dur_flag(o.health_interval.as_deref(), "--health-interval")?;
    let health_timeout = dur_flag(o.health_timeout.as_deref(), "--health-timeout")?;
    let health_start_period = dur_flag(o.health_start_period.as_deref(), "--health-start-period")?;
    let health_start_interval = dur_flag(
        o.health_start_interval.as_deref(),
        "--health-start-interval",
    )?;
    let mut networks = Vec::new();
    for n in &o.network {
        networks.push(flag(parse_network(n), "--network", n)?);
    }

    // parse()
    if let Some(mac) = o.mac_address.as_deref().filter(|m| !m.is_empty()) {
        if !valid_mac(mac.trim()) {
            return Err(format!("{mac} is not a valid mac address"));
        }
    }
    let mut attach_stdin = attach.iter().any(|a| a == "stdin") || o.interactive;
    let mut attach_stdout = attach.iter().any(|a| a == "stdout");
    let mut attach_stderr = attach.iter().any(|a| a == "stderr");
    if attach.is_empty() {
        attach_stdout = true;
        attach_stderr = true;
    }

    let mut binds: Vec<String> = Vec::new();
    let mut volumes: BTreeMap<String, Empty> = BTreeMap::new();
    for v in &o.volume {
        match classify_volume(v)? {
            VolumeSpec::Bind(b) | VolumeSpec::Named(b) => {
                if !binds.contains(&b) {
                    binds.push(b);
                }
            }
            VolumeSpec::Anonymous(target) => {
                volumes.insert(target, Empty {});
            }
        }
    }

    let mut mounts = Vec::new();
    for m in &o.mount {
        mounts.push(flag(super::mount_opt::parse(m), "--mount", m)?);
    }

    let mut tmpfs = BTreeMap::new();
    for t in &o.tmpfs {
        let (k, v) = t.split_once(':').unwrap_or((t, ""));
        tmpfs.insert(k.to_string(), v.to_string());
    }

    let cmd = (!command.is_empty()).then(|| command.to_vec());
    let entrypoint = o.entrypoint.as_ref().map(|e| vec![e.clone()]);

    let (mut exposed, port_bindings) =
        parse_port_specs(&convert_to_standard_notation(&o.publish)?)?;
    for e in &o.expose {
        for p in parse_expose(e)? {
            exposed.entry(p).or_insert(Empty {});
        }
    }

    let devices = o
        .device
        .iter()
        .map(|d| parse_linux_device(&validate_linux_path(d)?))
        .collect::<Result<Vec<_>>>()?;

    let mut env_all = Vec::new();
    for f in &o.env_file {
        env_all.extend(parse_kv_file(f, true)?);
    }
    env_all.extend(env);
    let env = dedup_env(env_all);

    let mut labels_all = Vec::new();
    for f in &o.label_file {
        labels_all.extend(parse_kv_file(f, false)?);
    }
    labels_all.extend(o.label.iter().cloned());
    let labels: BTreeMap<String, String> = labels_all
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();

    let restart_policy = parse_restart_policy(&o.restart)?;

    let log_driver = o.log_driver.clone().unwrap_or_default();
    if log_driver == "none" && !o.log_opt.is_empty() {
        return Err(format!("invalid logging opts for driver {log_driver}"));
    }
    let log_opts: BTreeMap<String, String> = o
        .log_opt
        .iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect();

    let security_opt = parse_security_opts(&o.security_opt)?;

    let have_health = o.health_cmd.as_deref().is_some_and(|c| !c.is_empty())
        || health_interval != 0
        || health_timeout != 0
        || health_start_period != 0
        || health_retries != 0
        || health_start_interval != 0;
    let healthcheck = if o.no_healthcheck {
        if have_health {
            return Err("--no-healthcheck conflicts with --health-* options".into());
        }
        Some(HealthConfig {
            test: vec!["NONE".into()],
            ..Default::default()
        })
    } else if have_health {
        let test = match o.health_cmd.as_deref() {
            Some(c) if !c.is_empty() => vec!["CMD-SHELL".into(), c.to_string()],
            _ => Vec::new(),
        };
        for (v, f) in [
            (health_interval, "--health-interval"),
            (health_timeout, "--health-timeout"),
            (health_retries, "--health-retries"),
            (health_start_period, "--health-start-period"),
            (health_start_interval, "--health-start-interval"),
        ] {
            if v < 0 {
                return Err(format!("{f} cannot be negative"));
            }
        }
        Some(HealthConfig {
            test,
            interval: health_interval,
            timeout: health_timeout,
            start_period: health_start_period,
            start_interval: health_start_interval,
            retries: health_retries,
        })
    } else {
        None
    };

    if rm && !(restart_policy.name.is_empty() || restart_policy.name == "no") {
        return Err("Conflicting options: --restart and --rm".into());
    }

    // When allocating stdin in attached mode, close stdin at client disconnect.
    let mut stdin_once = o.interactive && attach_stdin;

    // run.go: detached containers attach nothing.
    if detach {
        if !attach.is_empty() {
            return Err("Conflicting options: -a and -d".into());
        }
        attach_stdin = false;
        attach_stdout = false;
        attach_stderr = false;
        stdin_once = false;
    }

    // What the daemon checks on create.
    validate_restart_policy(&restart_policy)?;
    validate_security_opts_daemon(&security_opt)?;

    let network_mode = networks
        .first()
        .cloned()
        .unwrap_or_else(|| "default".to_string());

    let none_if_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let config = Config {
        hostname: o.hostname.clone().unwrap_or_default(),
        domainname: o.domainname.clone().unwrap_or_default(),
        user: o.user.clone().unwrap_or_default(),
        attach_stdin,
        attach_stdout,
        attach_stderr,
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: o.tty,
        open_stdin: o.interactive,
        stdin_once,
        env,
        cmd,
        healthcheck,
        image: image.to_string(),
        volumes: (!volumes.is_empty()).then_some(volumes),
        working_dir: o.workdir.clone().unwrap_or_default(),
        entrypoint,
        on_build: None,
        labels,
        stop_signal: o.stop_signal.clone().filter(|s| !s.is_empty()),
        stop_timeout,
    };
    let mut log_config = LogConfig::default();
    if !log_driver.is_empty() {
        log_config.kind = log_driver;
    }
    log_config.config = log_opts;
    let host_config = HostConfig {
        binds: none_if_empty(binds),
        mounts: (!mounts.is_empty()).then_some(mounts),
        volumes_from: none_if_empty(o.volumes_from.clone()),
        log_config,
        network_mode,
        port_bindings,
        restart_policy,
        auto_remove: rm,
        cap_add: none_if_empty(o.cap_add.clone()),
        cap_drop: none_if_empty(o.cap_drop.clone()),
        dns,
        dns_options: o.dns_option.clone(),
        dns_search,
        extra_hosts: none_if_empty(extra_hosts),
        group_add: none_if_empty(o.group_add.clone()),
        oom_score_adj: oom_score_adj as i32,
        runtime: o.runtime.clone().unwrap_or_default(),
        privileged: o.privileged,
        publish_all_ports: o.publish_all,
        readonly_rootfs: o.read_only,
        security_opt: none_if_empty(security_opt),
        tmpfs: (!tmpfs.is_empty()).then_some(tmpfs),
        shm_size,
        sysctls: (!sysctls.is_empty()).then_some(sysctls),
        cpu_shares,
        memory,
        nano_cpus,
        blkio_weight,
        cpu_period,
        cpu_quota,
        cpuset_cpus: o.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: o.cpuset_mems.clone().unwrap_or_default(),
        devices,
        memory_reservation,
        memory_swap,
        pids_limit,
        ulimits: ulimits.into_values().collect(),
        init: o.init,
    };
    let endpoints = endpoints_config(&networks, &o.network_alias, o.ip.as_deref());
    Ok(CreateRequest {
        name: name.filter(|n| !n.is_empty()).map(str::to_string),
        config,
        host_config,
        endpoints,
    })
}

// ---- pflag-level helpers -------------------------------------------------------------

/// pflag's message for a value its `Set` rejected.
fn flag<T>(r: Result<T>, name: &str, value: &str) -> Result<T> {
    r.map_err(|e| {
        format!(
            "invalid argument {} for \"{name}\" flag: {e}",
            go_quote(value)
        )
    })
}

fn mem_flag(v: Option<&str>, name: &str) -> Result<i64> {
    match v {
        Some(v) => flag(
            berth_template::units::ram_in_bytes(v).map_err(|e| e.to_string()),
            name,
            v,
        ),
        None => Ok(0),
    }
}

fn int_flag(v: Option<&str>, name: &str) -> Result<i64> {
    Ok(opt_int_flag(v, name)?.unwrap_or(0))
}

fn opt_int_flag(v: Option<&str>, name: &str) -> Result<Option<i64>> {
    v.map(|v| flag(parse_go_int(v), name, v)).transpose()
}

fn dur_flag(v: Option<&str>, name: &str) -> Result<i64> {
    match v {
        Some(v) => flag(parse_go_duration(v), name, v),
        None => Ok(0),
    }
}

/// Go's `%q` for the plain strings flags carry.
fn go_quote(s: &str) -> String {
    format!("{s:?}")
}

/// `strconv.ParseInt(s, 0, 64)`, with its error text.
pub fn parse_go_int(s: &str) -> Result<i64> {
    let syntax = || format!("strconv.ParseInt: parsing {}: invalid syntax", go_quote(s));
    let range = || {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mag =
        parse_go_uint_body(body).map_err(|overflow| if overflow { range() } else { syntax() })?;
    if neg {
        if mag > i64::MAX as u64 + 1 {
            return Err(range());
        }
        Ok((mag as i64).wrapping_neg())
    } else {
        i64::try_from(mag).map_err(|_| range())
    }
}

/// `strconv.ParseUint(s, 0, bits)`, with its error text.
fn parse_go_uint(s: &str, bits: u32) -> Result<u64> {
    let v = parse_go_uint_body(s).map_err(|overflow| {
        format!(
            "strconv.ParseUint: parsing {}: {}",
            go_quote(s),
            if overflow {
                "value out of range"
            } else {
                "invalid syntax"
            }
        )
    })?;
    if bits < 64 && v >= 1 << bits {
        return Err(format!(
            "strconv.ParseUint: parsing {}: value out of range",
            go_quote(s)
        ));
    }
    Ok(v)
}

/// Base-0 digits (`0x`, `0o`, `0b`, leading-`0` octal, `_` separators). `Err(true)` on
/// overflow, `Err(false)` on bad syntax.
fn parse_go_uint_body(s: &str) -> std::result::Result<u64, bool> {
    let lower = s.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.is_empty() && !(prefixed && radix == 8) {
        return Err(false);
    }
    if digits.starts_with('_') && !prefixed || digits.ends_with('_') || digits.contains("__") {
        return Err(false);
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    for c in digits.chars().filter(|&c| c != '_') {
        let d = c.to_digit(radix).ok_or(false)?;
        match v
            .checked_mul(u64::from(radix))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    if overflow {
        Err(true)
    } else {
        Ok(v)
    }
}

pub use berth_image::duration::parse_go_duration;

/// `opts.ParseCPUs`: a rational number (`1.5`, `3/2`, `1e-3`) × 1e9, which must be whole.
pub fn parse_cpus(value: &str) -> Result<i64> {
    let bad = || format!("failed to parse {value} as a rational number");
    // (numerator, denominator) of value × 1e9.
    let (num, den): (i128, i128) = if let Some((a, b)) = value.split_once('/') {
        let a: i128 = parse_int_strict(a).ok_or_else(bad)?;
        let b: i128 = b
            .parse::<u64>()
            .ok()
            .filter(|b| *b != 0)
            .ok_or_else(bad)?
            .into();
        (a.checked_mul(1_000_000_000).ok_or_else(bad)?, b)
    } else {
        let (mant, exp) = match value.find(['e', 'E']) {
            Some(i) => (
                &value[..i],
                value[i + 1..].parse::<i32>().map_err(|_| bad())?,
            ),
            None => (value, 0),
        };
        let (neg, mant) = match mant.as_bytes().first() {
            Some(b'-') => (true, &mant[1..]),
            Some(b'+') => (false, &mant[1..]),
            _ => (false, mant),
        };
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        if (ip.is_empty() && fp.is_empty())
            || !ip.bytes().all(|c| c.is_ascii_digit())
            || !fp.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let digits = format!("{ip}{fp}");
        let digits = digits.trim_start_matches('0');
        let mut m: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| bad())?
        };
        if neg {
            m = -m;
        }
        let e = 9 + exp - fp.len() as i32;
        if m == 0 {
            (0, 1)
        } else if e >= 0 {
            let p = 10i128.checked_pow(e as u32).ok_or_else(bad)?;
            (m.checked_mul(p).ok_or_else(bad)?, 1)
        } else {
            (m, 10i128.checked_pow((-e) as u32).ok_or_else(bad)?)
        }
    };
    if num % den != 0 {
        return Err("value is too precise".into());
    }
    Ok((num / den) as i64)
}

fn parse_int_strict(s: &str) -> Option<i128> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn validate_attach(v: &str) -> Result<String> {
    let s = v.to_ascii_lowercase();
    if matches!(s.as_str(), "stdin" | "stdout" | "stderr") {
        Ok(s)
    } else {
        Err("valid streams are STDIN, STDOUT and STDERR".into())
    }
}

/// `opts.ValidateEnv`: `KEY` alone takes the CLI's value; when unset it stays `KEY`, which
/// the daemon reads as "remove KEY" (moby `ReplaceOrAppendEnvValues`).
fn validate_env(v: &str) -> Result<String> {
    let (k, _) = v.split_once('=').unwrap_or((v, ""));
    if k.is_empty() {
        return Err(format!("invalid environment variable: {v}"));
    }
    if v.contains('=') {
        return Ok(v.to_string());
    }
    Ok(match std::env::var_os(k) {
        Some(val) => format!("{k}={}", val.to_string_lossy()),
        None => v.to_string(),
    })
}

/// Later entries replace earlier ones with the same key, in place.
fn dedup_env(env: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for e in env {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k).to_string();
        match out
            .iter_mut()
            .find(|o| o.split_once('=').map_or(o.as_str(), |(k, _)| k) == key)
        {
            Some(slot) => *slot = e,
            None => out.push(e),
        }
    }
    out
}

fn validate_label(v: &str) -> Result<()> {
    let (k, _) = v.split_once('=').unwrap_or((v, ""));
    let k = k.trim_start_matches([' ', '\t']);
    if k.is_empty() {
        return Err(format!("invalid label '{v}': empty name"));
    }
    if k.contains([' ', '\t']) {
        return Err(format!("label '{k}' contains whitespaces"));
    }
    Ok(())
}

/// Go's `net.ParseIP(…).String()`.
fn parse_ip(v: &str) -> Option<String> {
    let ip: IpAddr = v.parse().ok()?;
    Some(match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    })
}

fn validate_ip(v: &str) -> Result<String> {
    parse_ip(v.trim()).ok_or_else(|| format!("IP address is not correctly formatted: {v}"))
}

fn validate_dns_search(v: &str) -> Result<String> {
    let v = v.trim_matches(' ');
    if v == "." {
        return Ok(v.to_string());
    }
    let bad = || format!("{v} is not a valid domain");
    if !v.bytes().any(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let d = v.trim_end_matches(char::is_whitespace);
    let d = d.strip_suffix('.').unwrap_or(d);
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if d.split('.').all(label_ok) && d.len() < 255 {
        Ok(d.to_string())
    } else {
        Err(bad())
    }
}

fn validate_extra_host(v: &str) -> Result<String> {
    let (k, ip) = match v.split_once('=') {
        Some(p) => Some(p),
        None => v.split_once(':'),
    }
    .filter(|(k, _)| !k.is_empty() && !k.contains(':'))
    .ok_or_else(|| format!("bad format for add-host: {}", go_quote(v)))?;
    let mut ip = ip;
    if ip != "host-gateway" {
        if ip.len() > 2 && ip.starts_with('[') && ip.ends_with(']') {
            ip = &ip[1..ip.len() - 1];
        }
        if parse_ip(ip.trim()).is_none() {
            return Err(format!("invalid IP address in add-host: {}", go_quote(ip)));
        }
    }
    Ok(format!("{k}:{ip}"))
}

fn validate_sysctl(v: &str) -> Result<()> {
    const ALLOWED: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    match v.split_once('=') {
        Some((k, _))
            if !k.is_empty()
                && (ALLOWED.contains(&k)
                    || k.starts_with("net.")
                    || k.starts_with("fs.mqueue.")) =>
        {
            Ok(())
        }
        _ => Err(format!("sysctl '{v}' is not allowed")),
    }
}

/// go-units `ParseUlimit`.
fn parse_ulimit(v: &str) -> Result<Ulimit> {
    const NAMES: [&str; 15] = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ];
    let (name, vals) = v
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit argument: {v}"))?;
    if !NAMES.contains(&name) {
        return Err(format!("invalid ulimit type: {name}"));
    }
    let parts: Vec<&str> = vals.split(':').collect();
    let (soft, hard) = match parts.as_slice() {
        [s] => {
            let s = parse_go_int_base10(s)?;
            (s, s)
        }
        [s, h] => {
            let h = parse_go_int_base10(h)?;
            (parse_go_int_base10(s)?, h)
        }
        _ => {
            return Err(format!(
                "too many limit value arguments - {vals}, can only have up to two, `soft[:hard]`"
            ))
        }
    };
    if hard != -1 {
        if soft == -1 {
            return Err(format!("ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: {hard}"));
        }
        if soft > hard {
            return Err(format!(
                "ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}"
            ));
        }
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

/// `strconv.ParseInt(s, 10, 64)`.
fn parse_go_int_base10(s: &str) -> Result<i64> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseInt: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    s.parse().map_err(|_| {
        format!(
            "strconv.ParseInt: parsing {}: value out of range",
            go_quote(s)
        )
    })
}

/// `opts.NetworkOpt.Set`: a name, or `name=…,alias=…,ip=…` (only the target is used here).
fn parse_network(v: &str) -> Result<String> {
    let long = v.split(',').any(|f| {
        f.split_once('=').is_some_and(|(k, val)| {
            k.chars().last().is_some_and(is_word) && val.chars().next().is_some_and(is_word)
        })
    });
    if !long {
        return Ok(v.to_string());
    }
    let mut target = String::new();
    for field in v.split(',') {
        let lower = field.to_lowercase();
        let (k, val) = match lower.split_once('=') {
            Some((k, val)) if !k.is_empty() => (k.trim().to_string(), val.trim().to_string()),
            _ => return Err(format!("invalid field {field}")),
        };
        match k.as_str() {
            "name" => target = val,
            "alias" | "ip" | "ip6" | "mac-address" | "link-local-ip" | "driver-opt" => {}
            _ => return Err(format!("invalid field key {k}")),
        }
    }
    if target.is_empty() {
        return Err("network name/id is not specified".into());
    }
    Ok(target)
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Go's `net.ParseMAC` forms: `xx:xx:…`, `xx-xx-…` (6, 8 or 20 octets) or `xxxx.xxxx.…`.
fn valid_mac(s: &str) -> bool {
    let hex = |g: &str, n: usize| g.len() == n && g.bytes().all(|c| c.is_ascii_hexdigit());
    let octets_ok = |n: usize| matches!(n, 6 | 8 | 20);
    for sep in [':', '-'] {
        if s.contains(sep) {
            let groups: Vec<&str> = s.split(sep).collect();
            return octets_ok(groups.len()) && groups.iter().all(|g| hex(g, 2));
        }
    }
    let groups: Vec<&str> = s.split('.').collect();
    octets_ok(groups.len() * 2) && groups.iter().all(|g| hex(g, 4))
}

// ---- parse()-level helpers ----------------------------------------------------------

/// How a `-v` spec is sent: binds and named volumes go to `HostConfig.Binds`, an anonymous
/// volume (`-v /data`) to `Config.Volumes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSpec {
    /// `host-path:target[:opts]` (`./x` made absolute, as Docker does).
    Bind(String),
    /// `name:target[:opts]`.
    Named(String),
    /// A target path alone.
    Anonymous(String),
}

/// Classifies and checks one `-v` spec, as compose's `loader.ParseVolume` (which Docker's
/// `parse()` uses) does.
pub fn classify_volume(spec: &str) -> Result<VolumeSpec> {
    if spec.is_empty() {
        return Err("invalid empty volume spec".into());
    }
    if spec.len() <= 2 {
        return Ok(VolumeSpec::Anonymous(spec.to_string()));
    }
    let (mut source, mut target) = (String::new(), String::new());
    let mut buf = String::new();
    let chars: Vec<char> = spec.chars().chain(std::iter::once('\0')).collect();
    for c in chars {
        let windows_drive =
            c == ':' && buf.chars().count() == 1 && buf.chars().all(char::is_alphabetic);
        if windows_drive {
            buf.push(c);
        } else if c == ':' || c == '\0' {
            let err = if buf.is_empty() {
                Some("empty section between colons")
            } else if source.is_empty() && c == '\0' {
                target = std::mem::take(&mut buf);
                None
            } else if source.is_empty() {
                source = std::mem::take(&mut buf);
                None
            } else if target.is_empty() {
                target = std::mem::take(&mut buf);
                None
            } else if c == ':' {
                Some("too many colons")
            } else {
                buf.clear();
                None
            };
            if let Some(e) = err {
                return Err(format!("invalid spec: {spec}: {e}"));
            }
        } else {
            buf.push(c);
        }
    }
    if source.is_empty() {
        return Ok(VolumeSpec::Anonymous(target));
    }
    if is_file_path(&source) {
        let (host, rest) = spec.split_once(':').unwrap_or((spec, ""));
        let mut host = host.to_string();
        if host == "." || host.starts_with("./") {
            if let Ok(cwd) = std::env::current_dir() {
                host = clean_path(&cwd.join(&host).to_string_lossy());
            }
        }
        Ok(VolumeSpec::Bind(format!("{host}:{rest}")))
    } else {
        Ok(VolumeSpec::Named(spec.to_string()))
    }
}

fn is_file_path(source: &str) -> bool {
    match source.chars().next() {
        Some('.' | '/' | '~') => return true,
        None => return false,
        _ => {}
    }
    if source.chars().count() == 1 {
        return false;
    }
    if source.starts_with("\\\\") {
        return true;
    }
    let mut it = source.chars();
    let first = it.next().unwrap_or(' ');
    it.next() == Some(':') && first.is_alphabetic()
}

/// `convertToStandardNotation`: `published=8080,target=80[,protocol=udp]` → `8080:80/udp`.
fn convert_to_standard_notation(ports: &[String]) -> Result<Vec<String>> {
    ports
        .iter()
        .map(|p| {
            if !p.contains('=') {
                return Ok(p.clone());
            }
            let mut params: BTreeMap<&str, &str> = BTreeMap::from([("protocol", "tcp")]);
            for param in p.split(',') {
                match param.split_once('=') {
                    Some((k, v)) if !k.is_empty() => {
                        params.insert(k, v);
                    }
                    _ => {
                        return Err(format!(
                            "invalid publish opts format (should be name=value but got '{param}')"
                        ))
                    }
                }
            }
            let g = |k: &str| params.get(k).copied().unwrap_or("");
            Ok(format!(
                "{}:{}/{}",
                g("published"),
                g("target"),
                g("protocol")
            ))
        })
        .collect()
}

type PortSet = BTreeMap<String, Empty>;
type PortMap = BTreeMap<String, Vec<PortBinding>>;

/// go-connections `nat.ParsePortSpecs`.
pub fn parse_port_specs(specs: &[String]) -> Result<(PortSet, PortMap)> {
    let mut exposed = PortSet::new();
    let mut bindings = PortMap::new();
    for spec in specs {
        for (port, binding) in parse_port_spec(spec)? {
            exposed.entry(port.clone()).or_insert(Empty {});
            bindings.entry(port).or_default().push(binding);
        }
    }
    Ok((exposed, bindings))
}

/// `nat.ParsePortRange`, with `strconv.ParseUint`'s messages.
fn parse_port_range(ports: &str) -> Result<(u64, u64)> {
    if ports.is_empty() {
        return Err("empty string specified for ports".into());
    }
    let Some((a, b)) = ports.split_once('-') else {
        let p = parse_uint10(ports, 16)?;
        return Ok((p, p));
    };
    let b = b.split('-').next().unwrap_or(b);
    let start = parse_uint10(a, 16)?;
    let end = parse_uint10(b, 16)?;
    if end < start {
        return Err(format!("invalid range specified for port: {ports}"));
    }
    Ok((start, end))
}

/// `strconv.ParseUint(s, 10, bits)`.
fn parse_uint10(s: &str, bits: u32) -> Result<u64> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseUint: parsing {}: invalid syntax",
            go_quote(s)
        ));
    }
    match s.parse::<u64>() {
        Ok(v) if bits >= 64 || v < 1 << bits => Ok(v),
        _ => Err(format!(
            "strconv.ParseUint: parsing {}: value out of range",
            go_quote(s)
        )),
    }
}

/// `nat.SplitProtoPort`: (proto, port).
fn split_proto_port(raw: &str) -> (String, String) {
    let parts: Vec<&str> = raw.split('/').collect();
    if raw.is_empty() || parts[0].is_empty() {
        return (String::new(), String::new());
    }
    if parts.len() == 1 || parts[1].is_empty() {
        return ("tcp".into(), parts[0].into());
    }
    (parts[1].into(), parts[0].into())
}

/// `nat.ParsePortSpec`.
fn parse_port_spec(raw: &str) -> Result<Vec<(String, PortBinding)>> {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let container = parts[n - 1];
    let (mut ip, host_port) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        3 => (parts[0].to_string(), parts[1]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let (proto, container) = split_proto_port(container);
    if ip.starts_with('[') {
        match ip.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            Some(inner) if !inner.contains(['[', ']']) => ip = inner.to_string(),
            _ => {
                return Err(format!(
                    "invalid IP address {ip}: address {ip}:: missing ']' in address"
                ))
            }
        }
    }
    if !ip.is_empty() && parse_ip(&ip).is_none() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) =
        parse_port_range(&container).map_err(|_| format!("invalid containerPort: {container}"))?;
    let (hstart, hend) = if host_port.is_empty() {
        (0, 0)
    } else {
        parse_port_range(host_port).map_err(|_| format!("invalid hostPort: {host_port}"))?
    };
    if !host_port.is_empty() && end - start != hend.wrapping_sub(hstart) && end != start {
        return Err(format!(
            "invalid ranges specified for container and host Ports: {container} and {host_port}"
        ));
    }
    let proto_l = proto.to_lowercase();
    if !matches!(proto_l.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let mut out = Vec::new();
    for i in 0..=(end - start) {
        let mut hp = if host_port.is_empty() {
            String::new()
        } else {
            (hstart + i).to_string()
        };
        if start == end && hstart != hend {
            hp = format!("{hp}-{hend}");
        }
        out.push((
            format!("{}/{proto_l}", start + i),
            PortBinding {
                host_ip: ip.clone(),
                host_port: hp,
            },
        ));
    }
    Ok(out)
}

/// One `--expose` value → its `port/proto` keys.
fn parse_expose(e: &str) -> Result<Vec<String>> {
    if e.contains(':') {
        return Err(format!("invalid port format for --expose: {e}"));
    }
    let (proto, port) = split_proto_port(e);
    let (start, end) = parse_port_range(&port)
        .map_err(|err| format!("invalid range format for --expose: {e}, error: {err}"))?;
    Ok((start..=end).map(|p| format!("{p}/{proto}")).collect())
}

fn valid_device_mode(mode: &str) -> bool {
    let mut seen = [false; 3];
    !mode.is_empty()
        && mode.chars().all(|c| {
            let i = match c {
                'r' => 0,
                'w' => 1,
                'm' => 2,
                _ => return false,
            };
            !std::mem::replace(&mut seen[i], true)
        })
}

/// `validateLinuxPath(val, validDeviceMode)`.
fn validate_linux_path(val: &str) -> Result<String> {
    let bad = || format!("bad format for path: {val}");
    if val.matches(':').count() > 2 {
        return Err(bad());
    }
    let split: Vec<&str> = val.splitn(3, ':').collect();
    if split[0].is_empty() {
        return Err(bad());
    }
    let (container_path, out) = match split.as_slice() {
        [p] => (p.to_string(), clean_path(p)),
        [a, b] if valid_device_mode(b) => (a.to_string(), format!("{}:{b}", clean_path(a))),
        [a, b] => (b.to_string(), format!("{a}:{}", clean_path(b))),
        [a, b, m] => {
            if !valid_device_mode(m) {
                return Err(format!("bad mode specified: {m}"));
            }
            (b.to_string(), format!("{a}:{b}:{m}"))
        }
        _ => return Err(bad()),
    };
    if !container_path.starts_with('/') {
        return Err(format!("{container_path} is not an absolute path"));
    }
    Ok(out)
}

/// `parseLinuxDevice`.
fn parse_linux_device(device: &str) -> Result<DeviceMapping> {
    let arr: Vec<&str> = device.splitn(4, ':').collect();
    let mut perms = "rwm".to_string();
    let mut dst = String::new();
    match arr.as_slice() {
        [_] => {}
        [_, b] | [_, b, _] => {
            if let [_, _, p] = arr.as_slice() {
                perms = p.to_string();
            }
            if valid_device_mode(b) {
                perms = b.to_string();
            } else {
                dst = b.to_string();
            }
        }
        _ => return Err(format!("invalid device specification: {device}")),
    }
    let src = arr[0].to_string();
    if dst.is_empty() {
        dst = src.clone();
    }
    Ok(DeviceMapping {
        path_on_host: src,
        path_in_container: dst,
        cgroup_permissions: perms,
    })
}

/// `kvfile.Parse`: `KEY=value` lines; `#` comments and blank lines skipped; `KEY` alone
/// reads the CLI's environment when `lookup` (env files) and is dropped when unset.
fn parse_kv_file(path: &str, lookup: bool) -> Result<Vec<String>> {
    let data = std::fs::read(path).map_err(|e| go_path_error("open", path, &e))?;
    parse_kv(&data, lookup).map_err(|e| format!("invalid env file ({path}): {e}"))
}

fn parse_kv(data: &[u8], lookup: bool) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let line = std::str::from_utf8(raw).map_err(|_| {
            format!(
                "invalid utf8 bytes at line {}: [{}]",
                i + 1,
                raw.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
            )
        })?;
        let line = if i == 0 {
            line.strip_prefix('\u{feff}').unwrap_or(line)
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, has_value) = match line.split_once('=') {
            Some((k, _)) => (k, true),
            None => (line, false),
        };
        if key.is_empty() {
            return Err(format!("no variable name on line '{line}'"));
        }
        if key.contains([' ', '\t']) {
            return Err(format!("variable '{key}' contains whitespaces"));
        }
        if has_value {
            out.push(line.to_string());
        } else if lookup {
            if let Some(v) = std::env::var_os(line) {
                out.push(format!("{key}={}", v.to_string_lossy()));
            }
        }
    }
    Ok(out)
}

/// Go's `*PathError` text: `open x: no such file or directory`.
fn go_path_error(op: &str, path: &str, e: &std::io::Error) -> String {
    let msg = e.to_string();
    let msg = msg.split(" (os error").next().unwrap_or(&msg);
    let mut c = msg.chars();
    let msg = match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect::<String>(),
        None => String::new(),
    };
    format!("{op} {path}: {msg}")
}

/// `opts.ParseRestartPolicy`.
fn parse_restart_policy(policy: &str) -> Result<RestartPolicy> {
    if policy.is_empty() {
        return Ok(RestartPolicy::default());
    }
    let (k, v) = policy.split_once(':').unwrap_or((policy, ""));
    if policy.contains(':') && k.is_empty() {
        return Err("invalid restart policy format: no policy provided before colon".into());
    }
    let mut p = RestartPolicy {
        name: k.to_string(),
        maximum_retry_count: 0,
    };
    if !v.is_empty() {
        p.maximum_retry_count = v.parse::<i64>().map_err(|_| {
            "invalid restart policy format: maximum retry count must be an integer".to_string()
        })?;
    }
    Ok(p)
}

/// The daemon's `ValidateRestartPolicy`.
fn validate_restart_policy(p: &RestartPolicy) -> Result<()> {
    let daemon = |m: String| format!("Error response from daemon: {m}");
    match p.name.as_str() {
        "always" | "unless-stopped" | "no" => {
            if p.maximum_retry_count != 0 {
                let mut m = "invalid restart policy: maximum retry count can only be used with 'on-failure'".to_string();
                if p.maximum_retry_count < 0 {
                    m.push_str(" and cannot be negative");
                }
                return Err(daemon(m));
            }
            Ok(())
        }
        "on-failure" => {
            if p.maximum_retry_count < 0 {
                return Err(daemon(
                    "invalid restart policy: maximum retry count cannot be negative".into(),
                ));
            }
            Ok(())
        }
        "" => Ok(()),
        other => Err(daemon(format!(
            "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        ))),
    }
}

/// `parseSecurityOpts`: checks the `key=value` shape and inlines a seccomp profile file as
/// compact JSON (`seccomp=<json>`), as the docker CLI sends it.
fn parse_security_opts(opts: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(opts.len());
    for opt in opts {
        let (mut k, mut v, mut ok) = match opt.split_once('=') {
            Some((k, v)) => (k, v, true),
            None => (opt.as_str(), "", false),
        };
        if !ok && k != "no-new-privileges" {
            if let Some((a, b)) = opt.split_once(':') {
                (k, v, ok) = (a, b, true);
            }
        }
        if (!ok || v.is_empty()) && k != "no-new-privileges" {
            return Err(format!("Invalid --security-opt: {}", go_quote(opt)));
        }
        if k == "seccomp" && v != "builtin" && v != "unconfined" {
            let data = std::fs::read(v).map_err(|e| {
                format!(
                    "opening seccomp profile ({v}) failed: {}",
                    go_path_error("open", v, &e)
                )
            })?;
            let json: serde_json::Value = serde_json::from_slice(&data)
                .map_err(|e| format!("compacting json for seccomp profile ({v}) failed: {e}"))?;
            out.push(format!("seccomp={json}"));
            continue;
        }
        out.push(opt.clone());
    }
    Ok(out)
}

/// The daemon's `parseSecurityOpt` checks (moby `daemon/daemon_unix.go`).
fn validate_security_opts_daemon(opts: &[String]) -> Result<()> {
    for opt in opts {
        if opt == "systempaths=unconfined" {
            continue;
        }
        let (k, v) = match opt.split_once('=') {
            Some(p) => p,
            None => match opt.split_once(':') {
                Some(p) if opt != "no-new-privileges" => p,
                _ => (opt.as_str(), ""),
            },
        };
        let ok = match k {
            "no-new-privileges" => {
                v.is_empty()
                    || matches!(
                        v,
                        "1" | "t"
                            | "T"
                            | "TRUE"
                            | "true"
                            | "True"
                            | "0"
                            | "f"
                            | "F"
                            | "FALSE"
                            | "false"
                            | "False"
                    )
            }
            "label" => {
                let n = if v == "disable" || v == "nested" {
                    true
                } else {
                    v.split_once(':').is_some_and(|(lk, _)| {
                        matches!(lk, "user" | "role" | "type" | "level" | "filetype")
                    })
                };
                if !n {
                    return Err(format!(
                        "Error response from daemon: invalid --security-opt 1: {}",
                        go_quote(opt)
                    ));
                }
                true
            }
            "apparmor" | "seccomp" | "writable-cgroups" => true,
            _ => false,
        };
        if !ok {
            return Err(format!(
                "Error response from daemon: invalid --security-opt 2: {}",
                go_quote(opt)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::container::{ContainerCommand, RunArgs};
    use clap::Parser;

    #[derive(Debug, Parser)]
    #[command(name = "berth")]
    struct T {
        #[command(subcommand)]
        cmd: ContainerCommand,
    }

    fn run_args(args: &[&str]) -> RunArgs {
        let mut v = vec!["berth", "run"];
        v.extend_from_slice(args);
        match T::try_parse_from(v).unwrap().cmd {
            ContainerCommand::Run(r) => r,
            other => panic!("{other:?}"),
        }
    }

    fn try_parse(args: &[&str]) -> std::result::Result<CreateRequest, String> {
        let r = run_args(args);
        let c = &r.create;
        to_create_request(
            &c.opts,
            c.image(),
            c.command(),
            c.name.as_deref(),
            r.detach,
            c.rm,
            &c.attach,
        )
        .map_err(|e| {
            let s = e.downcast_ref::<StatusError>().expect("a StatusError");
            assert_eq!(s.code, 125);
            s.message.clone()
        })
    }

    /// Docker's `mustParse`: flags, then `img cmd`.
    fn parse(args: &[&str]) -> CreateRequest {
        let mut v = args.to_vec();
        v.extend(["img", "cmd"]);
        try_parse(&v).unwrap()
    }

    fn err(args: &[&str]) -> String {
        let mut v = args.to_vec();
        v.extend(["img", "cmd"]);
        try_parse(&v).unwrap_err()
    }

    fn tmpfile(content: &[u8]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content).unwrap();
        f
    }

    #[test]
    fn defaults() {
        let r = parse(&[]);
        assert_eq!(r.config.image, "img");
        assert_eq!(r.config.cmd, Some(vec!["cmd".to_string()]));
        assert_eq!(r.config.entrypoint, None);
        assert!(!r.config.attach_stdin && r.config.attach_stdout && r.config.attach_stderr);
        assert_eq!(r.host_config.network_mode, "default");
        assert_eq!(r.host_config.restart_policy.name, "no");
        assert_eq!(r.host_config.init, None);
        assert_eq!(r.host_config.pids_limit, None);
        assert_eq!(r.config.stop_timeout, None);
        assert!(r.config.healthcheck.is_none());
        assert_eq!(r.name, None);
        let r = try_parse(&["busybox"]).unwrap();
        assert_eq!(r.config.cmd, None);
    }

    // opts_test.go TestParseRunAttach, plus run.go's -d handling.
    #[test]
    fn attach() {
        for (args, want) in [
            (&[][..], (false, true, true)),
            (&["-i"][..], (true, true, true)),
            (&["-a", "stdin"][..], (true, false, false)),
            (&["-a", "stdin", "-a", "stdout"][..], (true, true, false)),
            (
                &["-a", "STDIN", "-a", "stdout", "-a", "stderr"][..],
                (true, true, true),
            ),
        ] {
            let c = parse(args).config;
            assert_eq!(
                (c.attach_stdin, c.attach_stdout, c.attach_stderr),
                want,
                "{args:?}"
            );
        }
        let c = parse(&["-i"]).config;
        assert!(c.open_stdin && c.stdin_once);
        let c = parse(&["-d", "-i", "-t"]).config;
        assert!(c.open_stdin && c.tty && !c.stdin_once);
        assert!(!c.attach_stdin && !c.attach_stdout && !c.attach_stderr);
        assert_eq!(
            err(&["-a", "invalid"]),
            r#"invalid argument "invalid" for "-a, --attach" flag: valid streams are STDIN, STDOUT and STDERR"#
        );
        assert_eq!(
            err(&["-d", "-a", "stdout"]),
            "Conflicting options: -a and -d"
        );
        assert!(parse(&["-d", "--rm"]).host_config.auto_remove);
    }

    #[test]
    fn memory_flags() {
        assert_eq!(parse(&["--memory=1G"]).host_config.memory, 1073741824);
        assert_eq!(
            err(&["--memory=invalid"]),
            r#"invalid argument "invalid" for "-m, --memory" flag: invalid size: 'invalid'"#
        );
        assert_eq!(
            parse(&["--memory-swap=1G"]).host_config.memory_swap,
            1073741824
        );
        assert_eq!(parse(&["--memory-swap=-1"]).host_config.memory_swap, -1);
        assert!(err(&["--memory-swap=invalid"])
            .starts_with(r#"invalid argument "invalid" for "--memory-swap" flag"#));
        assert_eq!(parse(&["--shm-size=128m"]).host_config.shm_size, 134217728);
        assert!(err(&["--shm-size=a128m"])
            .starts_with(r#"invalid argument "a128m" for "--shm-size" flag:"#));
        assert_eq!(
            parse(&["--memory-reservation", "512m"])
                .host_config
                .memory_reservation,
            512 << 20
        );
    }

    #[test]
    fn cpus() {
        for (v, want) in [
            ("1.5", 1_500_000_000),
            ("0.000000001", 1),
            ("2", 2_000_000_000),
            ("3/2", 1_500_000_000),
            ("1e-3", 1_000_000),
            ("0", 0),
        ] {
            assert_eq!(parse_cpus(v), Ok(want), "{v}");
        }
        assert_eq!(
            parse_cpus("0.0000000001"),
            Err("value is too precise".into())
        );
        assert_eq!(
            err(&["--cpus", "abc"]),
            r#"invalid argument "abc" for "--cpus" flag: failed to parse abc as a rational number"#
        );
        assert_eq!(
            parse(&["--cpus", "1.5"]).host_config.nano_cpus,
            1_500_000_000
        );
    }

    #[test]
    fn integers() {
        let h = parse(&[
            "-c",
            "512",
            "--cpu-period",
            "100000",
            "--cpu-quota",
            "-1",
            "--pids-limit",
            "-1",
            "--blkio-weight",
            "300",
            "--oom-score-adj",
            "-500",
            "--stop-timeout",
            "5",
        ]);
        assert_eq!(h.host_config.cpu_shares, 512);
        assert_eq!(h.host_config.cpu_quota, -1);
        assert_eq!(h.host_config.pids_limit, Some(-1));
        assert_eq!(h.host_config.blkio_weight, 300);
        assert_eq!(h.host_config.oom_score_adj, -500);
        assert_eq!(h.config.stop_timeout, Some(5));
        assert_eq!(
            err(&["-c", "abc"]),
            r#"invalid argument "abc" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            err(&["--blkio-weight", "70000"]),
            r#"invalid argument "70000" for "--blkio-weight" flag: strconv.ParseUint: parsing "70000": value out of range"#
        );
        assert_eq!(parse_go_int("0x10"), Ok(16));
        assert_eq!(parse_go_int("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_go_int("9223372036854775808")
            .unwrap_err()
            .ends_with("value out of range"));
    }

    #[test]
    fn durations() {
        for (s, want) in [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("4.5s", 4_500_000_000),
            ("1m30s", 90_000_000_000),
            ("500ms", 500_000_000),
            ("1h", 3_600_000_000_000),
            ("-1s", -1_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("10us", 10_000),
            (".5s", 500_000_000),
        ] {
            assert_eq!(parse_go_duration(s), Ok(want), "{s}");
        }
        assert_eq!(
            parse_go_duration("abc"),
            Err(r#"time: invalid duration "abc""#.into())
        );
        assert_eq!(
            parse_go_duration("1"),
            Err(r#"time: missing unit in duration "1""#.into())
        );
        assert_eq!(
            parse_go_duration("1x"),
            Err(r#"time: unknown unit "x" in duration "1x""#.into())
        );
        assert_eq!(
            parse_go_duration(""),
            Err(r#"time: invalid duration """#.into())
        );
    }

    // opts_test.go TestParseHealth.
    #[test]
    fn health() {
        let h = parse(&["--no-healthcheck"]).config.healthcheck.unwrap();
        assert_eq!(h.test, ["NONE"]);
        let h = parse(&["--health-cmd=/check.sh -q"])
            .config
            .healthcheck
            .unwrap();
        assert_eq!(h.test, ["CMD-SHELL", "/check.sh -q"]);
        assert_eq!(h.timeout, 0);
        assert_eq!(
            err(&["--no-healthcheck", "--health-cmd=/check.sh -q"]),
            "--no-healthcheck conflicts with --health-* options"
        );
        let h = parse(&[
            "--health-timeout=2s",
            "--health-retries=3",
            "--health-interval=4.5s",
            "--health-start-period=5s",
            "--health-start-interval=1s",
        ])
        .config
        .healthcheck
        .unwrap();
        assert!(h.test.is_empty());
        assert_eq!(
            (
                h.timeout,
                h.retries,
                h.interval,
                h.start_period,
                h.start_interval
            ),
            (
                2_000_000_000,
                3,
                4_500_000_000,
                5_000_000_000,
                1_000_000_000
            )
        );
        assert_eq!(
            err(&["--health-interval=-1s"]),
            "--health-interval cannot be negative"
        );
        assert_eq!(
            err(&["--health-retries=-1"]),
            "--health-retries cannot be negative"
        );
        assert_eq!(
            err(&["--health-timeout=x"]),
            r#"invalid argument "x" for "--health-timeout" flag: time: invalid duration "x""#
        );
    }

    // opts_test.go TestParseRestartPolicy / TestParseRestartPolicyAutoRemove.
    #[test]
    fn restart() {
        for (input, name, count) in [
            ("", "", 0),
            ("no", "no", 0),
            ("always", "always", 0),
            ("on-failure:1", "on-failure", 1),
            ("on-failure", "on-failure", 0),
            ("unless-stopped", "unless-stopped", 0),
        ] {
            let p = parse(&[&format!("--restart={input}")])
                .host_config
                .restart_policy;
            assert_eq!(
                (p.name.as_str(), p.maximum_retry_count),
                (name, count),
                "{input}"
            );
        }
        for (input, want) in [
            (":1", "invalid restart policy format: no policy provided before colon"),
            ("always:2:3", "invalid restart policy format: maximum retry count must be an integer"),
            ("on-failure:invalid", "invalid restart policy format: maximum retry count must be an integer"),
            ("unless-stopped:invalid", "invalid restart policy format: maximum retry count must be an integer"),
            ("always:1", "Error response from daemon: invalid restart policy: maximum retry count can only be used with 'on-failure'"),
            ("on-failure:-1", "Error response from daemon: invalid restart policy: maximum retry count cannot be negative"),
            ("bogus", "Error response from daemon: invalid restart policy: unknown policy 'bogus'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"),
        ] {
            assert_eq!(err(&[&format!("--restart={input}")]), want, "{input}");
        }
        assert_eq!(
            err(&["--rm", "--restart=always"]),
            "Conflicting options: --restart and --rm"
        );
        assert!(parse(&["--rm", "--restart=no"]).host_config.auto_remove);
    }

    #[test]
    fn env_and_env_files() {
        std::env::set_var("BERTH_TEST_ENV_SET", "fromcli");
        std::env::remove_var("BERTH_TEST_ENV_UNSET");
        let c = parse(&[
            "-e",
            "A=1",
            "-e",
            "BERTH_TEST_ENV_SET",
            "-e",
            "BERTH_TEST_ENV_UNSET",
            "-e",
            "E=",
        ])
        .config;
        assert_eq!(
            c.env,
            [
                "A=1",
                "BERTH_TEST_ENV_SET=fromcli",
                "BERTH_TEST_ENV_UNSET",
                "E="
            ]
        );
        assert_eq!(
            err(&["-e", "=x"]),
            r#"invalid argument "=x" for "-e, --env" flag: invalid environment variable: =x"#
        );
        let f = tmpfile(
            b"\xef\xbb\xbf# comment\n\n  ENV1=value1\nBERTH_TEST_ENV_SET\nBERTH_TEST_ENV_UNSET\nSPACE= v \r\nA=file\n",
        );
        let p = f.path().to_str().unwrap();
        let c = parse(&["--env-file", p, "-e", "A=flag"]).config;
        assert_eq!(
            c.env,
            [
                "ENV1=value1",
                "BERTH_TEST_ENV_SET=fromcli",
                "SPACE= v ",
                "A=flag"
            ]
        );
        assert_eq!(
            err(&["--env-file=nonexistent"]),
            "open nonexistent: no such file or directory"
        );
        let f = tmpfile(b"=x\n");
        let p = f.path().to_str().unwrap();
        assert_eq!(
            err(&["--env-file", p]),
            format!("invalid env file ({p}): no variable name on line '=x'")
        );
        let f = tmpfile(b"A B=x\n");
        let p = f.path().to_str().unwrap();
        assert_eq!(
            err(&["--env-file", p]),
            format!("invalid env file ({p}): variable 'A B' contains whitespaces")
        );
        let f = tmpfile(b"\xff\xfeA\x00\n");
        let p = f.path().to_str().unwrap();
        assert!(err(&["--env-file", p]).contains("invalid utf8 bytes at line 1: [255 254 65 0]"));
    }

    #[test]
    fn labels() {
        let f = tmpfile(b"LABEL1=value1\nNOVALUE\n");
        let p = f.path().to_str().unwrap();
        let c = parse(&["--label-file", p, "-l", "LABEL2=value2", "--label", "EMPTY"]).config;
        assert_eq!(c.labels.len(), 3);
        assert_eq!(c.labels["LABEL1"], "value1");
        assert_eq!(c.labels["LABEL2"], "value2");
        assert_eq!(c.labels["EMPTY"], "");
        assert_eq!(
            err(&["--label-file=nonexistent"]),
            "open nonexistent: no such file or directory"
        );
        assert_eq!(
            err(&["-l", "=x"]),
            r#"invalid argument "=x" for "-l, --label" flag: invalid label '=x': empty name"#
        );
        assert_eq!(
            err(&["-l", "a b=x"]),
            r#"invalid argument "a b=x" for "-l, --label" flag: label 'a b' contains whitespaces"#
        );
    }

    // opts_test.go TestParseWithExpose and nat's ParsePortSpec cases.
    #[test]
    fn expose_and_publish() {
        for (e, want) in [
            (":", "invalid port format for --expose: :"),
            ("8080:9090", "invalid port format for --expose: 8080:9090"),
            (
                "/tcp",
                "invalid range format for --expose: /tcp, error: empty string specified for ports",
            ),
            (
                "/udp",
                "invalid range format for --expose: /udp, error: empty string specified for ports",
            ),
            (
                "NaN/tcp",
                r#"invalid range format for --expose: NaN/tcp, error: strconv.ParseUint: parsing "NaN": invalid syntax"#,
            ),
            (
                "NaN-NaN/tcp",
                r#"invalid range format for --expose: NaN-NaN/tcp, error: strconv.ParseUint: parsing "NaN": invalid syntax"#,
            ),
            (
                "8080-NaN/tcp",
                r#"invalid range format for --expose: 8080-NaN/tcp, error: strconv.ParseUint: parsing "NaN": invalid syntax"#,
            ),
            (
                "1234567890-8080/tcp",
                r#"invalid range format for --expose: 1234567890-8080/tcp, error: strconv.ParseUint: parsing "1234567890": value out of range"#,
            ),
        ] {
            assert_eq!(err(&[&format!("--expose={e}")]), want, "{e}");
        }
        for (e, want) in [
            ("8080/tcp", &["8080/tcp"][..]),
            ("8080/udp", &["8080/udp"][..]),
            ("8080/ncp", &["8080/ncp"][..]),
            ("8080-8080/udp", &["8080/udp"][..]),
            ("8080-8082/tcp", &["8080/tcp", "8081/tcp", "8082/tcp"][..]),
        ] {
            let ports = parse(&[&format!("--expose={e}")])
                .config
                .exposed_ports
                .unwrap();
            assert_eq!(ports.keys().collect::<Vec<_>>(), want, "{e}");
        }
        let ports = parse(&["--publish=80", "--expose=80-81/tcp"])
            .config
            .exposed_ports
            .unwrap();
        assert_eq!(ports.keys().collect::<Vec<_>>(), ["80/tcp", "81/tcp"]);

        let r = parse(&[
            "-p",
            "8080:80",
            "-p",
            "127.0.0.1:53:53/udp",
            "-p",
            "[::1]:9000:9000",
        ]);
        let b = &r.host_config.port_bindings;
        assert_eq!(
            b["80/tcp"],
            [PortBinding {
                host_ip: "".into(),
                host_port: "8080".into()
            }]
        );
        assert_eq!(
            b["53/udp"],
            [PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: "53".into()
            }]
        );
        assert_eq!(b["9000/tcp"][0].host_ip, "::1");
        let b = parse(&["-p", "8000-8001:80-81"]).host_config.port_bindings;
        assert_eq!(b["80/tcp"][0].host_port, "8000");
        assert_eq!(b["81/tcp"][0].host_port, "8001");
        let b = parse(&["-p", "8000-8010:80"]).host_config.port_bindings;
        assert_eq!(b["80/tcp"][0].host_port, "8000-8010");
        let b = parse(&["-p", "80"]).host_config.port_bindings;
        assert_eq!(b["80/tcp"][0], PortBinding::default());
        let b = parse(&["-p", "published=8080,target=80,protocol=udp"])
            .host_config
            .port_bindings;
        assert_eq!(b["80/udp"][0].host_port, "8080");
        for (p, want) in [
            ("1.2.3:80:80", "invalid IP address: 1.2.3"),
            ("8080:", "no port specified: 8080:<empty>"),
            ("8080:abc", "invalid containerPort: abc"),
            ("abc:80", "invalid hostPort: abc"),
            (
                "8000-8002:80-81",
                "invalid ranges specified for container and host Ports: 80-81 and 8000-8002",
            ),
            ("80/xyz", "invalid proto: xyz"),
            (
                "a=b,c",
                "invalid publish opts format (should be name=value but got 'c')",
            ),
        ] {
            assert_eq!(err(&["-p", p]), want, "{p}");
        }
    }

    // opts_test.go TestParseDevice / TestValidateDevice.
    #[test]
    fn devices() {
        for (d, host, ctr, perms) in [
            ("/dev/snd", "/dev/snd", "/dev/snd", "rwm"),
            ("/dev/snd:rw", "/dev/snd", "/dev/snd", "rw"),
            ("/dev/snd:/something", "/dev/snd", "/something", "rwm"),
            ("/dev/snd:/something:rw", "/dev/snd", "/something", "rw"),
        ] {
            let dev = parse(&[&format!("--device={d}")]).host_config.devices;
            assert_eq!(
                dev,
                [DeviceMapping {
                    path_on_host: host.into(),
                    path_in_container: ctr.into(),
                    cgroup_permissions: perms.into()
                }],
                "{d}"
            );
        }
        for v in [
            "/home",
            "/home:/home",
            "/home:/something/else",
            "/with space",
            "/home:/with space",
            "relative:/absolute-path",
            "hostPath:/containerPath:r",
            "/hostPath:/containerPath:rw",
            "/hostPath:/containerPath:mrw",
        ] {
            assert!(validate_linux_path(v).is_ok(), "{v}");
        }
        for (v, want) in [
            ("", "bad format for path: "),
            ("./", "./ is not an absolute path"),
            ("../", "../ is not an absolute path"),
            ("/:../", "../ is not an absolute path"),
            ("/:path", "path is not an absolute path"),
            (":", "bad format for path: :"),
            ("/tmp:", " is not an absolute path"),
            (":test", "bad format for path: :test"),
            (":/test", "bad format for path: :/test"),
            ("tmp:", " is not an absolute path"),
            (":test:", "bad format for path: :test:"),
            ("::", "bad format for path: ::"),
            (":::", "bad format for path: :::"),
            ("/tmp:::", "bad format for path: /tmp:::"),
            (":/tmp::", "bad format for path: :/tmp::"),
            ("path:ro", "ro is not an absolute path"),
            ("path:rr", "rr is not an absolute path"),
            ("a:/b:ro", "bad mode specified: ro"),
            ("a:/b:rr", "bad mode specified: rr"),
        ] {
            assert_eq!(validate_linux_path(v), Err(want.to_string()), "{v:?}");
        }
    }

    #[test]
    fn volumes() {
        let r = parse(&["-v", "/tmp"]);
        assert_eq!(r.host_config.binds, None);
        assert!(r.config.volumes.unwrap().contains_key("/tmp"));
        let r = parse(&[
            "-v",
            "/hostTmp:/containerTmp",
            "-v",
            "data:/data:ro",
            "-v",
            "/anon",
        ]);
        assert_eq!(
            r.host_config.binds.unwrap(),
            ["/hostTmp:/containerTmp", "data:/data:ro"]
        );
        assert_eq!(
            r.config.volumes.unwrap().keys().collect::<Vec<_>>(),
            ["/anon"]
        );
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            classify_volume("./x:/x").unwrap(),
            VolumeSpec::Bind(format!("{}/x:/x", cwd.display()))
        );
        assert_eq!(
            classify_volume("").unwrap_err(),
            "invalid empty volume spec"
        );
        assert_eq!(
            classify_volume("/a::/b").unwrap_err(),
            "invalid spec: /a::/b: empty section between colons"
        );
        assert_eq!(
            classify_volume("/a:/b:ro:x").unwrap_err(),
            "invalid spec: /a:/b:ro:x: too many colons"
        );
    }

    #[test]
    fn ulimits() {
        let u = parse(&[
            "--ulimit",
            "nofile=1024:2048",
            "--ulimit",
            "nproc=10",
            "--ulimit",
            "nofile=1:2",
        ])
        .host_config
        .ulimits;
        assert_eq!(
            u,
            [
                Ulimit {
                    name: "nofile".into(),
                    soft: 1,
                    hard: 2
                },
                Ulimit {
                    name: "nproc".into(),
                    soft: 10,
                    hard: 10
                },
            ]
        );
        for (v, want) in [
            ("nofile", "invalid ulimit argument: nofile"),
            ("bogus=1", "invalid ulimit type: bogus"),
            ("nofile=a", r#"strconv.ParseInt: parsing "a": invalid syntax"#),
            ("nofile=1:2:3", "too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`"),
            ("nofile=3:2", "ulimit soft limit must be less than or equal to hard limit: 3 > 2"),
            ("nofile=-1:2", "ulimit soft limit must be less than or equal to hard limit: soft: -1 (unlimited), hard: 2"),
        ] {
            assert_eq!(
                err(&["--ulimit", v]),
                format!("invalid argument {v:?} for \"--ulimit\" flag: {want}")
            );
        }
        assert_eq!(
            parse(&["--ulimit", "core=-1"]).host_config.ulimits[0].hard,
            -1
        );
    }

    #[test]
    fn tmpfs_sysctl_hosts_dns() {
        let h = parse(&[
            "--tmpfs",
            "/run:rw,size=64m",
            "--tmpfs",
            "/tmp",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--add-host",
            "a:1.2.3.4",
            "--add-host",
            "b=::1",
            "--add-host",
            "c:host-gateway",
            "--dns",
            " 8.8.8.8",
            "--dns-search",
            "example.com.",
            "--dns-option",
            "ndots:2",
            "--cap-add",
            "NET_ADMIN",
            "--group-add",
            "audio",
            "--privileged",
            "--read-only",
            "-P",
        ])
        .host_config;
        let t = h.tmpfs.unwrap();
        assert_eq!(t["/run"], "rw,size=64m");
        assert_eq!(t["/tmp"], "");
        assert_eq!(h.sysctls.unwrap()["net.ipv4.ip_forward"], "1");
        assert_eq!(
            h.extra_hosts.unwrap(),
            ["a:1.2.3.4", "b:::1", "c:host-gateway"]
        );
        assert_eq!(h.dns, ["8.8.8.8"]);
        assert_eq!(h.dns_search, ["example.com"]);
        assert_eq!(h.dns_options, ["ndots:2"]);
        assert_eq!(h.cap_add.unwrap(), ["NET_ADMIN"]);
        assert_eq!(h.cap_drop, None);
        assert!(h.privileged && h.readonly_rootfs && h.publish_all_ports);
        assert_eq!(
            err(&["--sysctl", "kernel.foo=1"]),
            r#"invalid argument "kernel.foo=1" for "--sysctl" flag: sysctl 'kernel.foo=1' is not allowed"#
        );
        assert_eq!(
            err(&["--add-host", "nohost"]),
            r#"invalid argument "nohost" for "--add-host" flag: bad format for add-host: "nohost""#
        );
        assert_eq!(
            err(&["--add-host", "h:1.2.3"]),
            r#"invalid argument "h:1.2.3" for "--add-host" flag: invalid IP address in add-host: "1.2.3""#
        );
        assert_eq!(
            err(&["--dns", "x"]),
            r#"invalid argument "x" for "--dns" flag: IP address is not correctly formatted: x"#
        );
        assert_eq!(
            err(&["--dns-search", "-bad-"]),
            r#"invalid argument "-bad-" for "--dns-search" flag: -bad- is not a valid domain"#
        );
    }

    #[test]
    fn security_opts() {
        let h = parse(&[
            "--security-opt",
            "no-new-privileges",
            "--security-opt",
            "no-new-privileges:true",
            "--security-opt",
            "label=disable",
            "--security-opt",
            "apparmor=unconfined",
            "--security-opt",
            "seccomp=unconfined",
        ])
        .host_config;
        assert_eq!(h.security_opt.unwrap().len(), 5);
        assert_eq!(
            err(&["--security-opt", "bogus"]),
            r#"Invalid --security-opt: "bogus""#
        );
        assert_eq!(
            err(&["--security-opt", "apparmor="]),
            r#"Invalid --security-opt: "apparmor=""#
        );
        assert_eq!(
            err(&["--security-opt", "foo=bar"]),
            r#"Error response from daemon: invalid --security-opt 2: "foo=bar""#
        );
        assert_eq!(
            err(&["--security-opt", "no-new-privileges=maybe"]),
            r#"Error response from daemon: invalid --security-opt 2: "no-new-privileges=maybe""#
        );
        let f = tmpfile(b"{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": []\n}\n");
        let p = f.path().to_str().unwrap();
        let h = parse(&["--security-opt", &format!("seccomp={p}")]).host_config;
        assert_eq!(
            h.security_opt.unwrap(),
            [r#"seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}"#]
        );
        assert_eq!(
            err(&["--security-opt", "seccomp=/nonexistent.json"]),
            "opening seccomp profile (/nonexistent.json) failed: open /nonexistent.json: no such file or directory"
        );
    }

    #[test]
    fn misc_fields() {
        let r = try_parse(&[
            "--name",
            "web",
            "-h",
            "hostname.domainname",
            "--domainname",
            "dom",
            "-u",
            "1000:1000",
            "-w",
            "/app",
            "--entrypoint",
            "",
            "--stop-signal",
            "SIGINT",
            "--init",
            "--network",
            "name=mynet,alias=x",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=10m",
            "img",
        ])
        .unwrap();
        assert_eq!(r.name.as_deref(), Some("web"));
        assert_eq!(r.config.hostname, "hostname.domainname");
        assert_eq!(r.config.domainname, "dom");
        assert_eq!(r.config.user, "1000:1000");
        assert_eq!(r.config.working_dir, "/app");
        assert_eq!(r.config.entrypoint, Some(vec![String::new()]));
        assert_eq!(r.config.stop_signal.as_deref(), Some("SIGINT"));
        assert_eq!(r.host_config.init, Some(true));
        assert_eq!(r.host_config.network_mode, "mynet");
        assert_eq!(r.host_config.log_config.config["max-size"], "10m");
        assert_eq!(parse(&["--init=false"]).host_config.init, Some(false));
        assert_eq!(parse(&["--net", "host"]).host_config.network_mode, "host");
        assert_eq!(
            parse(&["--entrypoint", "/bin/sh"]).config.entrypoint,
            Some(vec!["/bin/sh".to_string()])
        );
        assert_eq!(
            err(&["--mac-address=invalidMacAddress"]),
            "invalidMacAddress is not a valid mac address"
        );
        parse(&["--mac-address=92:d0:c6:0a:29:33"]);
        assert_eq!(
            err(&["--log-driver=none", "--log-opt=anything"]),
            "invalid logging opts for driver none"
        );
        assert_eq!(
            err(&["--network", "name=,alias=x"]),
            r#"invalid argument "name=,alias=x" for "--network" flag: network name/id is not specified"#
        );
        assert!(validate_pull("always").is_ok());
        assert_eq!(
            validate_pull("sometimes").unwrap_err().to_string(),
            r#"invalid pull option: 'sometimes': must be one of "always", "missing" or "never""#
        );
    }
}

/// `NetworkingConfig.EndpointsConfig` from `--network` (every network after the first gets
/// an entry), `--network-alias` and `--ip` (for the first network).
fn endpoints_config(
    networks: &[String],
    aliases: &[String],
    ip: Option<&str>,
) -> BTreeMap<String, berth_engine::networks::EndpointSettings> {
    use berth_engine::networks::{EndpointIpam, EndpointSettings};
    let mut out = BTreeMap::new();
    let primary = networks.first().map(String::as_str).unwrap_or("default");
    let ip = ip.filter(|i| !i.is_empty());
    if !aliases.is_empty() || ip.is_some() {
        out.insert(
            primary.to_string(),
            EndpointSettings {
                ipam_config: ip.map(|i| EndpointIpam {
                    ipv4_address: i.to_string(),
                }),
                aliases: (!aliases.is_empty()).then(|| aliases.to_vec()),
            },
        );
    }
    for n in networks.iter().skip(1) {
        out.entry(n.clone()).or_default();
    }
    out
}
