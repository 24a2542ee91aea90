//! Capabilities: Docker's default set and `--cap-add`/`--cap-drop`/`--privileged`, computed
//! exactly as moby's `caps.TweakCapabilities` and `caps.NormalizeLegacyCapabilities`.

use libcontainer::oci_spec::runtime::{Capabilities, Capability};

use super::SpecError;

/// Docker's default capabilities (moby `daemon/pkg/oci/caps/defaults.go`), in moby's order.
/// The container gets these in its bounding, permitted and effective sets; inheritable and
/// ambient stay empty (CVE-2022-24769).
pub const DEFAULT_CAPABILITIES: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// The highest capability number berth can name (`CAP_CHECKPOINT_RESTORE`, Linux 5.9).
pub const LAST_KNOWN_CAP: u32 = 40;

/// Every capability berth knows, indexed by its kernel number (`linux/capability.h`).
const KNOWN: [(&str, Capability); 41] = [
    ("CAP_CHOWN", Capability::Chown),
    ("CAP_DAC_OVERRIDE", Capability::DacOverride),
    ("CAP_DAC_READ_SEARCH", Capability::DacReadSearch),
    ("CAP_FOWNER", Capability::Fowner),
    ("CAP_FSETID", Capability::Fsetid),
    ("CAP_KILL", Capability::Kill),
    ("CAP_SETGID", Capability::Setgid),
    ("CAP_SETUID", Capability::Setuid),
    ("CAP_SETPCAP", Capability::Setpcap),
    ("CAP_LINUX_IMMUTABLE", Capability::LinuxImmutable),
    ("CAP_NET_BIND_SERVICE", Capability::NetBindService),
    ("CAP_NET_BROADCAST", Capability::NetBroadcast),
    ("CAP_NET_ADMIN", Capability::NetAdmin),
    ("CAP_NET_RAW", Capability::NetRaw),
    ("CAP_IPC_LOCK", Capability::IpcLock),
    ("CAP_IPC_OWNER", Capability::IpcOwner),
    ("CAP_SYS_MODULE", Capability::SysModule),
    ("CAP_SYS_RAWIO", Capability::SysRawio),
    ("CAP_SYS_CHROOT", Capability::SysChroot),
    ("CAP_SYS_PTRACE", Capability::SysPtrace),
    ("CAP_SYS_PACCT", Capability::SysPacct),
    ("CAP_SYS_ADMIN", Capability::SysAdmin),
    ("CAP_SYS_BOOT", Capability::SysBoot),
    ("CAP_SYS_NICE", Capability::SysNice),
    ("CAP_SYS_RESOURCE", Capability::SysResource),
    ("CAP_SYS_TIME", Capability::SysTime),
    ("CAP_SYS_TTY_CONFIG", Capability::SysTtyConfig),
    ("CAP_MKNOD", Capability::Mknod),
    ("CAP_LEASE", Capability::Lease),
    ("CAP_AUDIT_WRITE", Capability::AuditWrite),
    ("CAP_AUDIT_CONTROL", Capability::AuditControl),
    ("CAP_SETFCAP", Capability::Setfcap),
    ("CAP_MAC_OVERRIDE", Capability::MacOverride),
    ("CAP_MAC_ADMIN", Capability::MacAdmin),
    ("CAP_SYSLOG", Capability::Syslog),
    ("CAP_WAKE_ALARM", Capability::WakeAlarm),
    ("CAP_BLOCK_SUSPEND", Capability::BlockSuspend),
    ("CAP_AUDIT_READ", Capability::AuditRead),
    ("CAP_PERFMON", Capability::Perfmon),
    ("CAP_BPF", Capability::Bpf),
    ("CAP_CHECKPOINT_RESTORE", Capability::CheckpointRestore),
];

const ALL: &str = "ALL";

/// The kernel number of a capability name (`CAP_…`).
pub fn number(name: &str) -> Option<u32> {
    KNOWN.iter().position(|(n, _)| *n == name).map(|i| i as u32)
}

/// The capabilities the running kernel supports (`0..=cap_last_cap`), in kernel order: what
/// `--privileged` and `--cap-add ALL` grant.
pub fn all_capabilities(cap_last_cap: u32) -> Vec<String> {
    KNOWN
        .iter()
        .take(usize::try_from(cap_last_cap.min(LAST_KNOWN_CAP)).unwrap_or(0) + 1)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The container's capability set (names with the `CAP_` prefix, no duplicates): moby's
/// `TweakCapabilities(DefaultCapabilities(), adds, drops, privileged)`.
///
/// - `--privileged`: every capability the kernel supports.
/// - `ALL` in `adds`: every supported capability except those in `drops`.
/// - `ALL` in `drops`: only `adds`.
/// - otherwise: the defaults minus `drops`, then `adds`. A capability named in both lists is
///   therefore kept (adding wins, as in moby and the docker CLI); a drop only wins over
///   `--cap-add ALL`.
///
/// Names are upper-cased and get a `CAP_` prefix if missing; a name berth does not know is
/// an error (`unknown capability: "CAP_FOO"`), and so is one the kernel does not support.
/// Both lists are validated even with `privileged`, as moby validates them at create.
pub fn tweak(
    adds: &[String],
    drops: &[String],
    privileged: bool,
    cap_last_cap: u32,
) -> Result<Vec<String>, SpecError> {
    let drops = normalize(drops, cap_last_cap)?;
    let adds = normalize(adds, cap_last_cap)?;
    let caps: Vec<String> = if privileged {
        all_capabilities(cap_last_cap)
    } else if adds.iter().any(|c| c == ALL) {
        all_capabilities(cap_last_cap)
            .into_iter()
            .filter(|c| !drops.contains(c))
            .collect()
    } else if drops.iter().any(|c| c == ALL) {
        adds
    } else {
        DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .filter(|c| !drops.contains(c))
            .chain(adds)
            .collect()
    };
    let mut out: Vec<String> = Vec::with_capacity(caps.len());
    for c in caps {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// moby's `NormalizeLegacyCapabilities`.
fn normalize(caps: &[String], cap_last_cap: u32) -> Result<Vec<String>, SpecError> {
    caps.iter()
        .map(|c| {
            let mut c = c.to_uppercase();
            if c == ALL {
                return Ok(c);
            }
            if !c.starts_with("CAP_") {
                c.insert_str(0, "CAP_");
            }
            match KNOWN.iter().position(|(name, _)| *name == c) {
                None => Err(SpecError::UnknownCapability(c)),
                Some(n) if u32::try_from(n).map_or(true, |n| n > cap_last_cap) => {
                    Err(SpecError::UnsupportedCapability(c))
                }
                Some(_) => Ok(c),
            }
        })
        .collect()
}

/// The OCI set for a list of names from [`tweak`].
pub(crate) fn to_oci(names: &[String]) -> Capabilities {
    names
        .iter()
        .filter_map(|n| KNOWN.iter().find(|(k, _)| k == n).map(|(_, c)| *c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn defaults() -> Vec<String> {
        s(&DEFAULT_CAPABILITIES)
    }

    fn tw(adds: &[&str], drops: &[&str]) -> Result<Vec<String>, SpecError> {
        tweak(&s(adds), &s(drops), false, LAST_KNOWN_CAP)
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn known_table_is_in_kernel_order_and_complete() {
        assert_eq!(KNOWN.len(), LAST_KNOWN_CAP as usize + 1);
        assert_eq!(KNOWN[21].0, "CAP_SYS_ADMIN");
        assert_eq!(KNOWN[29].0, "CAP_AUDIT_WRITE");
        assert_eq!(KNOWN[40].0, "CAP_CHECKPOINT_RESTORE");
        // Every name agrees with oci-spec's own spelling of the capability.
        for (name, cap) in KNOWN {
            let json = serde_json::to_string(&cap).unwrap();
            assert_eq!(json, format!("\"{name}\""));
        }
    }

    #[test]
    fn no_flags_gives_the_defaults() {
        assert_eq!(tw(&[], &[]).unwrap(), defaults());
    }

    #[test]
    fn tweak_table() {
        // (adds, drops, expected) after moby's TweakCapabilities.
        let all_but_chown: Vec<String> = all_capabilities(LAST_KNOWN_CAP)
            .into_iter()
            .filter(|c| c != "CAP_CHOWN")
            .collect();
        let mut defaults_plus_admin = defaults();
        defaults_plus_admin.push("CAP_SYS_ADMIN".into());
        let defaults_minus_chown: Vec<String> = defaults()
            .into_iter()
            .filter(|c| c != "CAP_CHOWN")
            .collect();
        let cases: Vec<(&[&str], &[&str], Vec<String>)> = vec![
            (&["CAP_SYS_ADMIN"], &[], defaults_plus_admin.clone()),
            // Lower case and no prefix are normalized.
            (&["sys_admin"], &[], defaults_plus_admin),
            (&[], &["CAP_CHOWN"], defaults_minus_chown.clone()),
            (&[], &["chown"], defaults_minus_chown),
            (&["ALL"], &[], all_capabilities(LAST_KNOWN_CAP)),
            (&["all"], &[], all_capabilities(LAST_KNOWN_CAP)),
            // Dropping wins over ALL.
            (&["ALL"], &["CHOWN"], all_but_chown),
            (&[], &["ALL"], vec![]),
            (&["CAP_NET_ADMIN"], &["ALL"], s(&["CAP_NET_ADMIN"])),
            // ALL in both: adding ALL is looked at first.
            (&["ALL"], &["ALL"], all_capabilities(LAST_KNOWN_CAP)),
            // The same capability in both lists: moby drops it from the defaults, then
            // appends the added one, so it stays.
            (&["CAP_CHOWN"], &["CAP_CHOWN"], defaults()),
            (&["CAP_SYS_ADMIN"], &["CAP_SYS_ADMIN"], {
                let mut v = defaults();
                v.push("CAP_SYS_ADMIN".into());
                v
            }),
            // Adding a default one changes nothing.
            (&["CAP_KILL"], &[], defaults()),
        ];
        for (adds, drops, expected) in cases {
            let got = tw(adds, drops).unwrap();
            assert_eq!(sorted(got), sorted(expected), "add {adds:?} drop {drops:?}");
        }
    }

    #[test]
    fn unknown_capability_is_docker_worded() {
        let err = tw(&["CAP_FOO"], &[]).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
        let err = tw(&[], &["foo"]).unwrap_err();
        assert_eq!(err.to_string(), "unknown capability: \"CAP_FOO\"");
        // Validated even when privileged.
        assert!(tweak(&s(&["bogus"]), &[], true, LAST_KNOWN_CAP).is_err());
    }

    #[test]
    fn capability_beyond_the_kernel_is_refused() {
        let err = tweak(&s(&["CAP_BPF"]), &[], false, 37).unwrap_err();
        assert_eq!(
            err.to_string(),
            "capability not supported by your kernel or not available in the current environment: \"CAP_BPF\""
        );
    }

    #[test]
    fn privileged_gets_all_supported() {
        assert_eq!(tweak(&[], &[], true, 40).unwrap().len(), 41);
        assert_eq!(tweak(&[], &[], true, 37).unwrap().len(), 38);
        // A newer kernel than berth knows: everything berth can name.
        assert_eq!(tweak(&[], &[], true, 63).unwrap().len(), 41);
    }

    #[test]
    fn oci_conversion() {
        let set = to_oci(&defaults());
        assert_eq!(set.len(), 14);
        assert!(set.contains(&Capability::AuditWrite));
        assert!(!set.contains(&Capability::SysAdmin));
    }
}
