//! Docker's seccomp profiles: the default profile (moby/profiles `seccomp/default.json`,
//! embedded unchanged as data) and user profiles in the same JSON format, converted to an OCI
//! `LinuxSeccomp` for one container the way moby's `setupSeccomp` does.
//!
//! # Design
//! The profile is kept as data rather than re-expressed in Rust so that it can be compared
//! with upstream byte for byte, and a golden test checks the converted filter against the JSON
//! for every syscall it names. Rules are conditional on the container's capabilities, the
//! host architecture and the host kernel; [`Target`] carries the host facts so tests can
//! evaluate the profile for other hosts (x86_64 and aarch64).

mod profile;

use berth_types::{Classify, ErrorKind};
use libcontainer::oci_spec::runtime::{LinuxSeccomp, LinuxSeccompArgBuilder, LinuxSeccompOperator};
use libcontainer::oci_spec::OciSpecError;

pub use profile::Profile;

/// Docker's default seccomp profile, as shipped by moby/profiles (`seccomp/default.json`).
pub const DEFAULT_PROFILE_JSON: &str = include_str!("default.json");

/// Errors from decoding or evaluating a seccomp profile.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    /// The user's profile is not valid JSON for Docker's format. The decoder's message is
    /// part of Docker's wording (`Decoding seccomp profile failed: …`), so it is not also
    /// exposed as a source (that would print it twice).
    #[error("decoding seccomp profile failed: {0}")]
    Decode(serde_json::Error),
    /// The embedded default profile did not decode (a bug).
    #[error("decoding the built-in seccomp profile failed")]
    DefaultProfile(#[source] Box<SeccompError>),
    /// Both `architectures` and `archMap` are set.
    #[error("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'")]
    ArchitecturesAndArchMap,
    /// A rule has both `name` and `names`.
    #[error("both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'")]
    NameAndNames,
    /// A `minKernel` is not `<kernel>.<major>`.
    #[error("invalid kernel version: {0:?}, expected \"<kernel>.<major>\"")]
    InvalidKernelVersion(String),
    /// `defaultAction` names no known action.
    #[error("unknown seccomp action {0:?}")]
    UnknownAction(String),
    /// An architecture name is not known to the OCI spec.
    #[error("unknown seccomp architecture {0:?}")]
    UnknownArch(String),
    /// The profile has rules but no `defaultAction`.
    #[error("the seccomp profile has rules but no defaultAction")]
    NoDefaultAction,
    /// A rule needs the host kernel version, which could not be read.
    #[error("the host kernel version is unknown, and a seccomp rule depends on it")]
    UnknownHostKernel,
    /// The OCI builder refused the result (a bug).
    #[error("failed to assemble the seccomp filter")]
    Assemble(#[source] OciSpecError),
}

impl Classify for SeccompError {
    fn kind(&self) -> ErrorKind {
        match self {
            SeccompError::Decode(_)
            | SeccompError::ArchitecturesAndArchMap
            | SeccompError::NameAndNames
            | SeccompError::InvalidKernelVersion(_)
            | SeccompError::UnknownAction(_)
            | SeccompError::UnknownArch(_)
            | SeccompError::NoDefaultAction => ErrorKind::InvalidArgument,
            SeccompError::UnknownHostKernel => ErrorKind::FailedPrecondition,
            SeccompError::DefaultProfile(_) | SeccompError::Assemble(_) => ErrorKind::Internal,
        }
    }
}

/// Docker's default profile, decoded.
pub fn default_profile() -> Result<Profile, SeccompError> {
    Profile::from_json(DEFAULT_PROFILE_JSON).map_err(|e| SeccompError::DefaultProfile(Box::new(e)))
}

/// A kernel version as moby compares it: only the version and the major revision
/// (`5.10.0-8-amd64` is `5.10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KernelVersion {
    /// The `5` in `5.10.3`.
    pub kernel: u64,
    /// The `10` in `5.10.3`.
    pub major: u64,
}

impl KernelVersion {
    /// Parses a `uname -r` release the way moby does (`Sscanf("%d.%d")`): `6.1.0-13-amd64`
    /// and `3.12-1-amd64` both work.
    pub fn from_release(release: &str) -> Option<KernelVersion> {
        let (kernel, rest) = leading_number(release)?;
        let (major, _) = leading_number(rest.strip_prefix('.')?)?;
        Some(KernelVersion { kernel, major })
    }

    /// Parses a profile's `minKernel` with moby's rules: exactly `<kernel>.<major>`, each
    /// at most 255, not `0.0`.
    fn parse_min(s: &str) -> Result<KernelVersion, SeccompError> {
        let bad = || SeccompError::InvalidKernelVersion(s.to_string());
        let (k, m) = s.split_once('.').ok_or_else(bad)?;
        let kernel: u8 = k.parse().map_err(|_| bad())?;
        let major: u8 = m.parse().map_err(|_| bad())?;
        if kernel == 0 && major == 0 {
            return Err(bad());
        }
        Ok(KernelVersion {
            kernel: kernel.into(),
            major: major.into(),
        })
    }
}

fn leading_number(s: &str) -> Option<(u64, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n = s.get(..end)?.parse().ok()?;
    Some((n, s.get(end..)?))
}

/// The host facts a profile's rules depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The architecture in libseccomp's native naming that moby uses for `includes.arches`
    /// (`amd64`, `arm64`, `x86`, `arm`, `s390x`, `ppc64le`, `riscv64`, …).
    pub arch: String,
    /// The host kernel version, if it could be read.
    pub kernel: Option<KernelVersion>,
}

impl Target {
    /// The machine berth runs on.
    pub fn host() -> Target {
        let release = rustix::system::uname();
        let kernel = release
            .release()
            .to_str()
            .ok()
            .and_then(KernelVersion::from_release);
        Target {
            arch: native_arch().to_string(),
            kernel,
        }
    }

    /// The `SCMP_ARCH_*` name that selects this target's `archMap` entry.
    fn seccomp_arch(&self) -> Option<&'static str> {
        // moby/profiles `nativeToSeccomp`.
        Some(match self.arch.as_str() {
            "x86" => "SCMP_ARCH_X86",
            "amd64" => "SCMP_ARCH_X86_64",
            "arm" => "SCMP_ARCH_ARM",
            "arm64" => "SCMP_ARCH_AARCH64",
            "loongarch64" | "loong64" => "SCMP_ARCH_LOONGARCH64",
            "mips64" => "SCMP_ARCH_MIPS64",
            "mips64n32" => "SCMP_ARCH_MIPS64N32",
            "mipsel64" => "SCMP_ARCH_MIPSEL64",
            "mipsel64n32" | "mips3l64n32" => "SCMP_ARCH_MIPSEL64N32",
            "mipsel" => "SCMP_ARCH_MIPSEL",
            "ppc" => "SCMP_ARCH_PPC",
            "ppc64" => "SCMP_ARCH_PPC64",
            "ppc64le" => "SCMP_ARCH_PPC64LE",
            "riscv64" => "SCMP_ARCH_RISCV64",
            "s390" => "SCMP_ARCH_S390",
            "s390x" => "SCMP_ARCH_S390X",
            _ => return None,
        })
    }

    fn kernel_at_least(&self, min: KernelVersion) -> Result<bool, SeccompError> {
        self.kernel
            .map(|k| k >= min)
            .ok_or(SeccompError::UnknownHostKernel)
    }
}

/// The build target in moby's naming (its `goToNative` table).
fn native_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "loongarch64" => "loongarch64",
        "mips64" if cfg!(target_endian = "little") => "mipsel64",
        "mips" if cfg!(target_endian = "little") => "mipsel",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "powerpc" => "ppc",
        other => other,
    }
}

/// Adapts a filter for youki's libcontainer 0.7, which reads `SCMP_CMP_MASKED_EQ` the other
/// way round from the runtime spec.
///
/// The OCI spec (and runc, via libseccomp-golang) takes `value` as the mask and `valueTwo` as
/// the datum: Docker's `clone` rule `{value: 0x7E020000, op: MASKED_EQ}` means
/// `(flags & 0x7E020000) == 0`. libcontainer 0.7 (`seccomp/mod.rs`, `translate_op`) passes
/// `valueTwo` as the mask and `value` as the datum, i.e. `(flags & 0) == 0x7E020000`, which
/// libseccomp reduces to an unconditional allow: `clone` with namespace flags (including
/// `CLONE_NEWUSER`) would be allowed without CAP_SYS_ADMIN. Swapping the two fields before the
/// spec is handed to libcontainer restores Docker's semantics. Do not use the result with any
/// other runtime.
pub fn for_libcontainer(seccomp: &LinuxSeccomp) -> Result<LinuxSeccomp, SeccompError> {
    let mut out = seccomp.clone();
    if let Some(syscalls) = seccomp.syscalls() {
        let mut fixed = Vec::with_capacity(syscalls.len());
        for call in syscalls {
            let mut call = call.clone();
            if let Some(args) = call.args() {
                let args = args
                    .iter()
                    .map(|arg| {
                        if arg.op() != LinuxSeccompOperator::ScmpCmpMaskedEq {
                            return Ok(*arg);
                        }
                        LinuxSeccompArgBuilder::default()
                            .index(arg.index())
                            .op(arg.op())
                            .value(arg.value_two().unwrap_or(0))
                            .value_two(arg.value())
                            .build()
                            .map_err(SeccompError::Assemble)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                call.set_args(Some(args));
            }
            fixed.push(call);
        }
        out.set_syscalls(Some(fixed));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use libcontainer::oci_spec::runtime::{Arch, LinuxSeccompAction};
    use serde_json::Value;

    use super::*;

    /// Docker's default capability set (moby `caps.DefaultCapabilities`).
    fn default_caps() -> Vec<String> {
        crate::spec::caps::DEFAULT_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect()
    }

    fn with_cap(cap: &str) -> Vec<String> {
        let mut caps = default_caps();
        caps.push(cap.to_string());
        caps
    }

    fn target(arch: &str, kernel: u64, major: u64) -> Target {
        Target {
            arch: arch.to_string(),
            kernel: Some(KernelVersion { kernel, major }),
        }
    }

    fn convert(caps: &[String], t: &Target) -> LinuxSeccomp {
        default_profile().unwrap().to_oci(caps, t).unwrap().unwrap()
    }

    /// What a filter does with one syscall, whatever its arguments.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Verdict {
        /// Allowed by a rule without argument conditions.
        Allow,
        /// Allowed only by rules with argument conditions (the conditions, in order).
        AllowIf(Vec<(usize, u64, String)>),
        /// Fails with this errno.
        Errno(u32),
    }

    /// The verdict of each syscall from the converted OCI filter.
    fn oci_verdicts(s: &LinuxSeccomp, names: &BTreeSet<String>) -> BTreeMap<String, Verdict> {
        assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
        let default_errno = s.default_errno_ret().unwrap_or(1);
        let mut out = BTreeMap::new();
        for name in names {
            let mut allow = false;
            let mut conds = Vec::new();
            let mut errno = None;
            for rule in s.syscalls().iter().flatten() {
                if !rule.names().contains(name) {
                    continue;
                }
                match rule.action() {
                    LinuxSeccompAction::ScmpActAllow => match rule.args() {
                        Some(args) if !args.is_empty() => conds.extend(
                            args.iter()
                                .map(|a| (a.index(), a.value(), a.op().to_string())),
                        ),
                        _ => allow = true,
                    },
                    LinuxSeccompAction::ScmpActErrno => {
                        errno = Some(rule.errno_ret().unwrap_or(1));
                    }
                    other => panic!("unexpected action {other:?}"),
                }
            }
            let v = if allow {
                Verdict::Allow
            } else if !conds.is_empty() {
                Verdict::AllowIf(conds)
            } else {
                Verdict::Errno(errno.unwrap_or(default_errno))
            };
            out.insert(name.clone(), v);
        }
        out
    }

    /// The verdict of each syscall computed straight from the JSON, with its own reading of
    /// `includes`/`excludes` (independent of `Profile`).
    fn json_verdicts(caps: &[String], t: &Target) -> (BTreeSet<String>, BTreeMap<String, Verdict>) {
        let json: Value = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        let strs = |v: Option<&Value>| -> Vec<String> {
            v.and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default()
        };
        let kernel_ok = |v: Option<&Value>| -> Option<bool> {
            let s = v?.as_str()?;
            let (k, m) = s.split_once('.').unwrap();
            let min = (k.parse::<u64>().unwrap(), m.parse::<u64>().unwrap());
            let host = t.kernel.unwrap();
            Some((host.kernel, host.major) >= min)
        };
        let default_errno = json["defaultErrnoRet"].as_u64().unwrap() as u32;
        let mut names = BTreeSet::new();
        let mut hits: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
        for rule in json["syscalls"].as_array().unwrap() {
            let rule_names = strs(rule.get("names"));
            names.extend(rule_names.iter().cloned());
            let ex = rule.get("excludes");
            let inc = rule.get("includes");
            let field = |f: Option<&Value>, k: &str| strs(f.and_then(|f| f.get(k)));
            let excluded = field(ex, "arches").contains(&t.arch)
                || field(ex, "caps").iter().any(|c| caps.contains(c))
                || kernel_ok(ex.and_then(|e| e.get("minKernel"))) == Some(true);
            let inc_arches = field(inc, "arches");
            let included = (inc_arches.is_empty() || inc_arches.contains(&t.arch))
                && field(inc, "caps").iter().all(|c| caps.contains(c))
                && kernel_ok(inc.and_then(|i| i.get("minKernel"))) != Some(false);
            if excluded || !included {
                continue;
            }
            for n in rule_names {
                hits.entry(n).or_default().push(rule);
            }
        }
        let mut out = BTreeMap::new();
        for name in &names {
            let rules = hits.get(name).cloned().unwrap_or_default();
            let mut allow = false;
            let mut conds = Vec::new();
            let mut errno = None;
            for r in rules {
                match r["action"].as_str().unwrap() {
                    "SCMP_ACT_ALLOW" => match r.get("args").and_then(Value::as_array) {
                        Some(args) if !args.is_empty() => conds.extend(args.iter().map(|a| {
                            (
                                a["index"].as_u64().unwrap() as usize,
                                a["value"].as_u64().unwrap(),
                                a["op"].as_str().unwrap().to_string(),
                            )
                        })),
                        _ => allow = true,
                    },
                    "SCMP_ACT_ERRNO" => errno = Some(r["errnoRet"].as_u64().unwrap_or(1) as u32),
                    other => panic!("unexpected action {other}"),
                }
            }
            let v = if allow {
                Verdict::Allow
            } else if !conds.is_empty() {
                Verdict::AllowIf(conds)
            } else {
                Verdict::Errno(errno.unwrap_or(default_errno))
            };
            out.insert(name.clone(), v);
        }
        (names, out)
    }

    fn check_golden(caps: &[String], t: &Target) -> BTreeMap<String, Verdict> {
        let (names, expected) = json_verdicts(caps, t);
        assert_eq!(names.len(), 426, "the profile names 426 distinct syscalls");
        let got = oci_verdicts(&convert(caps, t), &names);
        for name in &names {
            assert_eq!(got[name], expected[name], "verdict for {name} on {t:?}");
        }
        got
    }

    #[test]
    fn embedded_profile_is_moby_default_json() {
        assert_eq!(DEFAULT_PROFILE_JSON.len(), 13_470);
        let json: Value = serde_json::from_str(DEFAULT_PROFILE_JSON).unwrap();
        assert_eq!(json["syscalls"].as_array().unwrap().len(), 33);
    }

    #[test]
    fn golden_default_caps_x86_64() {
        let v = check_golden(&default_caps(), &target("amd64", 6, 1));
        let allowed = v.values().filter(|v| **v == Verdict::Allow).count();
        // 361 unconditional + ptrace/process_vm_{readv,writev} (kernel >= 4.8) + chroot
        // (CAP_SYS_CHROOT) + arch_prctl + modify_ldt.
        assert_eq!(allowed, 361 + 3 + 1 + 2);
        assert_eq!(v["arch_prctl"], Verdict::Allow);
        assert_eq!(v["modify_ldt"], Verdict::Allow);
        assert_eq!(v["arm_fadvise64_64"], Verdict::Errno(1));
        assert_eq!(v["ptrace"], Verdict::Allow);
    }

    #[test]
    fn golden_default_caps_aarch64() {
        let v = check_golden(&default_caps(), &target("arm64", 5, 15));
        assert_eq!(v["arm_fadvise64_64"], Verdict::Allow);
        assert_eq!(v["arch_prctl"], Verdict::Errno(1));
        assert_eq!(v["modify_ldt"], Verdict::Errno(1));
    }

    #[test]
    fn golden_old_kernel_and_extra_caps() {
        let v = check_golden(&default_caps(), &target("amd64", 4, 4));
        assert_eq!(v["ptrace"], Verdict::Errno(1));
        check_golden(&with_cap("CAP_SYS_ADMIN"), &target("amd64", 6, 1));
        check_golden(&with_cap("CAP_SYS_PTRACE"), &target("amd64", 4, 4));
        check_golden(&with_cap("CAP_SYS_ADMIN"), &target("s390x", 6, 1));
        check_golden(&[], &target("arm64", 6, 1));
    }

    #[test]
    fn arch_map_selects_host_and_sub_architectures() {
        let s = convert(&default_caps(), &target("amd64", 6, 1));
        assert_eq!(
            s.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
        );
        let s = convert(&default_caps(), &target("arm64", 6, 1));
        assert_eq!(
            s.architectures().as_deref(),
            Some(&[Arch::ScmpArchAarch64, Arch::ScmpArchArm][..])
        );
        assert_eq!(s.default_errno_ret(), Some(1));
    }

    #[test]
    fn sys_admin_allows_mount_and_unshare() {
        let names: BTreeSet<String> = ["mount", "unshare", "clone", "clone3", "setns"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let t = target("amd64", 6, 1);
        let without = oci_verdicts(&convert(&default_caps(), &t), &names);
        assert_eq!(without["mount"], Verdict::Errno(1));
        assert_eq!(without["unshare"], Verdict::Errno(1));
        let with = oci_verdicts(&convert(&with_cap("CAP_SYS_ADMIN"), &t), &names);
        for n in &names {
            assert_eq!(with[n], Verdict::Allow, "{n}");
        }
    }

    #[test]
    fn clone3_is_enosys_without_sys_admin() {
        let s = convert(&default_caps(), &target("amd64", 6, 1));
        let rule = s
            .syscalls()
            .iter()
            .flatten()
            .find(|r| r.names() == &["clone3"])
            .unwrap();
        assert_eq!(rule.action(), LinuxSeccompAction::ScmpActErrno);
        assert_eq!(rule.errno_ret(), Some(38));
    }

    #[test]
    fn clone_masks_namespace_flags_without_sys_admin() {
        let names: BTreeSet<String> = ["clone".to_string()].into();
        let v = oci_verdicts(&convert(&default_caps(), &target("amd64", 6, 1)), &names);
        assert_eq!(
            v["clone"],
            Verdict::AllowIf(vec![(0, 0x7E02_0000, "SCMP_CMP_MASKED_EQ".to_string())])
        );
        // s390 passes the flags as the second argument.
        let v = oci_verdicts(&convert(&default_caps(), &target("s390x", 6, 1)), &names);
        assert_eq!(
            v["clone"],
            Verdict::AllowIf(vec![(1, 0x7E02_0000, "SCMP_CMP_MASKED_EQ".to_string())])
        );
    }

    #[test]
    fn personality_and_socket_keep_their_conditions() {
        let names: BTreeSet<String> = ["personality".to_string(), "socket".to_string()].into();
        let v = oci_verdicts(&convert(&default_caps(), &target("amd64", 6, 1)), &names);
        let eq = "SCMP_CMP_EQ".to_string();
        assert_eq!(
            v["personality"],
            Verdict::AllowIf(vec![
                (0, 0, eq.clone()),
                (0, 8, eq.clone()),
                (0, 0x20000, eq.clone()),
                (0, 0x20008, eq.clone()),
                (0, 0xffff_ffff, eq.clone()),
            ])
        );
        assert_eq!(
            v["socket"],
            Verdict::AllowIf(vec![
                (0, 38, "SCMP_CMP_LT".to_string()),
                (0, 39, eq),
                (0, 40, "SCMP_CMP_GT".to_string()),
            ])
        );
    }

    #[test]
    fn malformed_user_profile_is_one_line_invalid_argument() {
        let err = Profile::from_json("{not json").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("decoding seccomp profile failed: "),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn kernel_release_parsing() {
        let kv = |k, m| {
            Some(KernelVersion {
                kernel: k,
                major: m,
            })
        };
        assert_eq!(KernelVersion::from_release("6.18.44-fc-v669"), kv(6, 18));
        assert_eq!(KernelVersion::from_release("3.12-1-amd64"), kv(3, 12));
        assert_eq!(KernelVersion::from_release("5.10"), kv(5, 10));
        assert_eq!(KernelVersion::from_release("garbage"), None);
        assert_eq!(KernelVersion::from_release("5"), None);
        assert_eq!(KernelVersion::from_release(""), None);
        assert!(Target::host().kernel.is_some());
    }

    #[test]
    fn libcontainer_adaptation_swaps_masked_eq_operands_only() {
        let s = convert(&default_caps(), &target("amd64", 6, 1));
        let adapted = for_libcontainer(&s).unwrap();
        for (orig, new) in s
            .syscalls()
            .iter()
            .flatten()
            .zip(adapted.syscalls().iter().flatten())
        {
            assert_eq!(orig.names(), new.names());
            for (a, b) in orig
                .args()
                .iter()
                .flatten()
                .zip(new.args().iter().flatten())
            {
                if a.op() == LinuxSeccompOperator::ScmpCmpMaskedEq {
                    assert_eq!(b.value(), a.value_two().unwrap_or(0));
                    assert_eq!(b.value_two(), Some(a.value()));
                } else {
                    assert_eq!(a, b);
                }
            }
        }
        let clone = adapted
            .syscalls()
            .iter()
            .flatten()
            .find(|r| r.names() == &["clone"])
            .unwrap();
        let arg = clone.args().as_ref().unwrap()[0];
        assert_eq!((arg.value(), arg.value_two()), (0, Some(0x7E02_0000)));
    }
}
