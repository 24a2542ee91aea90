//! Device nodes and the device cgroup: moby's `WithDevices` and `DevicesFromPath`,
//! containerd's `HostDevices`/`DeviceFromPath`, and the rules runc always appends.

use std::fs;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};

use libcontainer::oci_spec::runtime::{
    LinuxDevice, LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
};

use super::{DeviceMapping, RunSpec, SpecError};

type Result<T> = std::result::Result<T, SpecError>;

/// Deepest directory level walked below a `--device` directory or `/dev`.
const MAX_DEPTH: usize = 32;

/// The devices to create in the container and the device cgroup rules, in order.
pub(crate) struct Devices {
    /// Nodes created in the container besides the runtime's defaults.
    pub devices: Vec<LinuxDevice>,
    /// Device cgroup rules (later rules win).
    pub rules: Vec<LinuxDeviceCgroup>,
}

/// What `run` gets: for an unprivileged container moby's default rules, then one allow rule
/// per `--device` node, then runc's `AllowedDevices`; for `--privileged` every host device
/// under `/dev` (plus `--device` mappings to another path) and an allow-all rule.
pub(crate) fn devices(run: &RunSpec) -> Result<Devices> {
    let mut devices = Vec::new();
    let mut rules;
    if run.privileged {
        devices.extend(host_devices()?);
        for m in &run.devices {
            // The host's node is already there under the same path.
            if m.path_on_host == m.path_in_container {
                continue;
            }
            let (devs, _) = devices_from_path(m, "rwm")?;
            devices.extend(devs);
        }
        rules = vec![rule(true, None, None, None, "rwm")?];
    } else {
        rules = moby_default_rules()?;
        for m in &run.devices {
            validate_mode(&m.cgroup_permissions)?;
            let (devs, perms) = devices_from_path(m, &m.cgroup_permissions)?;
            devices.extend(devs);
            rules.extend(perms);
        }
    }
    rules.extend(runc_allowed_rules()?);
    Ok(Devices { devices, rules })
}

fn rule(
    allow: bool,
    typ: Option<LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> Result<LinuxDeviceCgroup> {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .access(access.to_string());
    if let Some(t) = typ {
        b = b.typ(t);
    }
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

/// moby's `DefaultLinuxSpec` device rules: deny all, allow the basic character devices,
/// deny fuse.
fn moby_default_rules() -> Result<Vec<LinuxDeviceCgroup>> {
    use LinuxDeviceType::C;
    Ok(vec![
        rule(false, None, None, None, "rwm")?,
        rule(true, Some(C), Some(1), Some(5), "rwm")?, // zero
        rule(true, Some(C), Some(1), Some(3), "rwm")?, // null
        rule(true, Some(C), Some(1), Some(9), "rwm")?, // urandom
        rule(true, Some(C), Some(1), Some(8), "rwm")?, // random
        rule(true, Some(C), Some(5), Some(0), "rwm")?, // tty
        rule(true, Some(C), Some(5), Some(1), "rwm")?, // console
        rule(false, Some(C), Some(10), Some(229), "rwm")?, // fuse
    ])
}

/// runc's `specconv.AllowedDevices`, which runc appends to every container's rules (the user
/// cannot remove them); kept in the spec so it says what is enforced.
fn runc_allowed_rules() -> Result<Vec<LinuxDeviceCgroup>> {
    use LinuxDeviceType::{B, C};
    Ok(vec![
        rule(true, Some(C), None, None, "m")?, // mknod of any char device
        rule(true, Some(B), None, None, "m")?, // mknod of any block device
        rule(true, Some(C), Some(1), Some(3), "rwm")?, // null
        rule(true, Some(C), Some(1), Some(8), "rwm")?, // random
        rule(true, Some(C), Some(1), Some(7), "rwm")?, // full
        rule(true, Some(C), Some(5), Some(0), "rwm")?, // tty
        rule(true, Some(C), Some(1), Some(5), "rwm")?, // zero
        rule(true, Some(C), Some(1), Some(9), "rwm")?, // urandom
        rule(true, Some(C), Some(136), None, "rwm")?, // /dev/pts/*
        rule(true, Some(C), Some(5), Some(2), "rwm")?, // ptmx
        rule(true, Some(C), Some(10), Some(200), "rwm")?, // tun (kept for compatibility)
    ])
}

/// The docker CLI's `validDeviceMode`: a non-empty subset of `rwm`, each letter once.
fn validate_mode(mode: &str) -> Result<()> {
    let mut seen = [false; 3];
    let ok = !mode.is_empty()
        && mode.chars().all(|c| {
            let i = match c {
                'r' => 0,
                'w' => 1,
                'm' => 2,
                _ => return false,
            };
            !std::mem::replace(&mut seen[i], true)
        });
    if ok {
        Ok(())
    } else {
        Err(SpecError::DeviceMode(mode.to_string()))
    }
}

/// Why a path is not usable as a device node.
enum NotDevice {
    /// It exists but is not a block, character or FIFO node.
    NotANode,
    /// It could not be inspected.
    Io(io::Error),
}

/// containerd's `DeviceFromPath`: lstat the path (a symlink is not a device) and describe it.
fn device_from_path(path: &Path) -> std::result::Result<LinuxDevice, NotDevice> {
    let meta = fs::symlink_metadata(path).map_err(NotDevice::Io)?;
    let ft = meta.file_type();
    let typ = if ft.is_block_device() {
        LinuxDeviceType::B
    } else if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_fifo() {
        LinuxDeviceType::P
    } else {
        return Err(NotDevice::NotANode);
    };
    let rdev = meta.rdev();
    LinuxDeviceBuilder::default()
        .path(path.to_path_buf())
        .typ(typ)
        .major(i64::from(rustix::fs::major(rdev)))
        .minor(i64::from(rustix::fs::minor(rdev)))
        .file_mode(meta.mode() & 0o7777)
        .uid(meta.uid())
        .gid(meta.gid())
        .build()
        .map_err(|e| NotDevice::Io(io::Error::other(e.to_string())))
}

/// moby's `DevicesFromPath`: one node, or every node under a directory, each with an allow
/// rule carrying `permissions`.
fn devices_from_path(
    m: &DeviceMapping,
    permissions: &str,
) -> Result<(Vec<LinuxDevice>, Vec<LinuxDeviceCgroup>)> {
    let resolved = resolved_device_path(&m.path_on_host);
    let err = |error| SpecError::Device {
        path: m.path_on_host.clone(),
        error,
    };
    let mut devs = Vec::new();
    match device_from_path(&resolved) {
        Ok(mut dev) => {
            dev.set_path(PathBuf::from(&m.path_in_container));
            devs.push(dev);
        }
        Err(NotDevice::Io(e)) => return Err(err(e)),
        Err(NotDevice::NotANode) => {
            if resolved.is_dir() {
                walk_devices(
                    &resolved,
                    &resolved,
                    Path::new(&m.path_in_container),
                    0,
                    &mut devs,
                );
            }
            if devs.is_empty() {
                return Err(err(io::Error::other("not a device node")));
            }
        }
    }
    let rules = devs
        .iter()
        .map(|d| {
            rule(
                true,
                Some(d.typ()),
                Some(d.major()),
                Some(d.minor()),
                permissions,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((devs, rules))
}

/// Every node under `dir` (lexical order, symlinks into /dev followed, other entries
/// skipped), with the container path rewritten from `root` to `in_container`.
fn walk_devices(
    dir: &Path,
    root: &Path,
    in_container: &Path,
    depth: usize,
    out: &mut Vec<LinuxDevice>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(|e| e.ok()).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            walk_devices(&path, root, in_container, depth + 1, out);
            continue;
        }
        let Some(target) = path.to_str().map(resolved_device_path) else {
            continue;
        };
        if let Ok(mut dev) = device_from_path(&target) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            dev.set_path(in_container.join(rel));
            out.push(dev);
        }
    }
}

/// moby's `resolvedDevicePath`: clean the path, and follow a symlink only when it ends
/// under `/dev` (so `/dev/disk/by-uuid/…` works but a link cannot point at `/etc/passwd`).
fn resolved_device_path(path: &str) -> PathBuf {
    let cleaned = clean(path);
    if !cleaned.is_absolute() {
        return cleaned;
    }
    let is_link = fs::symlink_metadata(&cleaned).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return cleaned;
    }
    match fs::canonicalize(&cleaned) {
        Ok(target) if target.starts_with("/dev") => target,
        _ => cleaned,
    }
}

/// Lexical path cleaning (Go's `filepath.Clean`): drops `.`, resolves `..`.
fn clean(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::ParentDir => {
                if !out.pop() && !out.has_root() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// containerd's `HostDevices`: every block and character device under `/dev`, skipping the
/// per-container filesystems (`pts`, `shm`, `mqueue`, `fd`), LXC/udev internals, `console`
/// and FIFOs.
fn host_devices() -> Result<Vec<LinuxDevice>> {
    let mut out = Vec::new();
    host_devices_in(Path::new("/dev"), 0, &mut out)?;
    Ok(out)
}

fn host_devices_in(dir: &Path, depth: usize, out: &mut Vec<LinuxDevice>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let read_err = |source| SpecError::HostDevices {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries = fs::read_dir(dir)
        .map_err(read_err)?
        .collect::<io::Result<Vec<_>>>()
        .map_err(read_err)?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            let skip = matches!(
                name.to_str(),
                Some("pts" | "shm" | "fd" | "mqueue" | ".lxc" | ".lxd-mounts" | ".udev")
            );
            if !skip {
                host_devices_in(&path, depth + 1, out)?;
            }
            continue;
        }
        if name == "console" {
            continue;
        }
        match device_from_path(&path) {
            Ok(dev) if dev.typ() == LinuxDeviceType::P => {}
            Ok(dev) => out.push(dev),
            Err(NotDevice::NotANode) => {}
            Err(NotDevice::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
            Err(NotDevice::Io(source)) => {
                return Err(SpecError::HostDevices { path, source });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(host: &str, ctr: &str, perms: &str) -> DeviceMapping {
        DeviceMapping {
            path_on_host: host.to_string(),
            path_in_container: ctr.to_string(),
            cgroup_permissions: perms.to_string(),
        }
    }

    fn rule_str(r: &LinuxDeviceCgroup) -> String {
        format!("{} {r}", if r.allow() { "allow" } else { "deny" })
    }

    #[test]
    fn default_rules_are_moby_then_runc() {
        let d = devices(&RunSpec::default()).unwrap();
        assert!(d.devices.is_empty());
        let rules: Vec<String> = d.rules.iter().map(rule_str).collect();
        assert_eq!(
            rules,
            [
                "deny a *:* rwm",
                "allow c 1:5 rwm",
                "allow c 1:3 rwm",
                "allow c 1:9 rwm",
                "allow c 1:8 rwm",
                "allow c 5:0 rwm",
                "allow c 5:1 rwm",
                "deny c 10:229 rwm",
                "allow c *:* m",
                "allow b *:* m",
                "allow c 1:3 rwm",
                "allow c 1:8 rwm",
                "allow c 1:7 rwm",
                "allow c 5:0 rwm",
                "allow c 1:5 rwm",
                "allow c 1:9 rwm",
                "allow c 136:* rwm",
                "allow c 5:2 rwm",
                "allow c 10:200 rwm",
            ]
        );
        // The deny-all rule has no type: the runtime reads it as "a".
        assert_eq!(d.rules[0].typ(), None);
    }

    #[test]
    fn dev_null_as_device() {
        let run = RunSpec {
            devices: vec![mapping("/dev/null", "/dev/mynull", "rw")],
            ..Default::default()
        };
        let d = devices(&run).unwrap();
        assert_eq!(d.devices.len(), 1);
        let dev = &d.devices[0];
        assert_eq!(dev.path(), Path::new("/dev/mynull"));
        assert_eq!(dev.typ(), LinuxDeviceType::C);
        assert_eq!((dev.major(), dev.minor()), (1, 3));
        assert_eq!(dev.file_mode(), Some(0o666));
        assert_eq!((dev.uid(), dev.gid()), (Some(0), Some(0)));
        // After moby's eight rules, before runc's.
        assert_eq!(rule_str(&d.rules[8]), "allow c 1:3 rw");
        assert_eq!(rule_str(&d.rules[9]), "allow c *:* m");
    }

    #[test]
    fn missing_device_is_docker_worded() {
        let run = RunSpec {
            devices: vec![mapping("/dev/x", "/dev/x", "rwm")],
            ..Default::default()
        };
        let err = devices(&run).err().unwrap();
        assert_eq!(
            err.to_string(),
            "error gathering device information while adding custom device \"/dev/x\": no such file or directory"
        );
    }

    #[test]
    fn regular_file_is_not_a_device() {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let host = tmp.path().to_str().unwrap().to_string();
        let run = RunSpec {
            devices: vec![mapping(&host, "/dev/f", "rwm")],
            ..Default::default()
        };
        let err = devices(&run).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!("error gathering device information while adding custom device {host:?}: not a device node")
        );
    }

    #[test]
    fn directory_gives_every_device_under_it() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::os::unix::fs::symlink("/dev/null", tmp.path().join("sub/null")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", tmp.path().join("zero")).unwrap();
        // A link leaving /dev is not followed, and a regular file is skipped.
        std::os::unix::fs::symlink("/etc/hostname", tmp.path().join("etc")).unwrap();
        std::fs::write(tmp.path().join("file"), b"x").unwrap();
        let run = RunSpec {
            devices: vec![mapping(tmp.path().to_str().unwrap(), "/dev/mine", "r")],
            ..Default::default()
        };
        let d = devices(&run).unwrap();
        let paths: Vec<_> = d.devices.iter().map(|d| d.path().clone()).collect();
        assert_eq!(
            paths,
            [
                PathBuf::from("/dev/mine/sub/null"),
                PathBuf::from("/dev/mine/zero")
            ]
        );
        assert_eq!(rule_str(&d.rules[8]), "allow c 1:3 r");
        assert_eq!(rule_str(&d.rules[9]), "allow c 1:5 r");
    }

    #[test]
    fn empty_directory_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunSpec {
            devices: vec![mapping(tmp.path().to_str().unwrap(), "/dev/d", "rwm")],
            ..Default::default()
        };
        let err = devices(&run).err().unwrap();
        assert!(err.to_string().ends_with(": not a device node"), "{err}");
    }

    #[test]
    fn bad_modes() {
        for bad in ["", "x", "rr", "rwmx", "rwmr"] {
            let run = RunSpec {
                devices: vec![mapping("/dev/null", "/dev/null", bad)],
                ..Default::default()
            };
            let err = devices(&run).err().unwrap();
            assert_eq!(err.to_string(), format!("bad mode specified: {bad}"));
        }
        for good in ["r", "w", "m", "rw", "mwr", "rwm"] {
            assert!(validate_mode(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn privileged_gets_host_devices_and_allow_all() {
        let run = RunSpec {
            privileged: true,
            devices: vec![
                mapping("/dev/null", "/dev/null", "r"),
                mapping("/dev/zero", "/dev/otherzero", "r"),
            ],
            ..Default::default()
        };
        let d = devices(&run).unwrap();
        assert_eq!(rule_str(&d.rules[0]), "allow a *:* rwm");
        assert_eq!(d.rules.len(), 1 + 11);
        assert!(d.devices.iter().any(|d| d.path() == Path::new("/dev/null")));
        assert!(d
            .devices
            .iter()
            .any(|d| d.path() == Path::new("/dev/otherzero")));
        assert_eq!(
            d.devices
                .iter()
                .filter(|d| d.path() == Path::new("/dev/null"))
                .count(),
            1
        );
        for dev in &d.devices {
            let p = dev.path().to_str().unwrap();
            assert!(
                !p.starts_with("/dev/pts/") && !p.starts_with("/dev/shm/"),
                "{p}"
            );
            assert_ne!(p, "/dev/console");
            assert_ne!(dev.typ(), LinuxDeviceType::P);
        }
    }

    #[test]
    fn path_cleaning() {
        assert_eq!(clean("/dev/../dev/./null"), PathBuf::from("/dev/null"));
        assert_eq!(clean("/../x"), PathBuf::from("/x"));
        assert_eq!(clean("a/../../b"), PathBuf::from("../b"));
        assert_eq!(clean(""), PathBuf::from("."));
        assert_eq!(
            resolved_device_path("/dev/./null"),
            PathBuf::from("/dev/null")
        );
    }
}
