//! Docker's seccomp profile format and its conversion to an OCI `LinuxSeccomp`.
//!
//! The format is moby/profiles `seccomp.Seccomp`: the OCI fields plus an `archMap` and rules
//! with `includes`/`excludes` conditions on the container's capabilities, the host
//! architecture and the host kernel. The conversion follows moby/profiles `setupSeccomp`
//! (`seccomp_linux.go`) step for step, so a profile that works with Docker gives the same
//! filter here.

use std::path::PathBuf;

use libcontainer::oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArg, LinuxSeccompArgBuilder,
    LinuxSeccompBuilder, LinuxSeccompFilterFlag, LinuxSeccompOperator, LinuxSyscall,
    LinuxSyscallBuilder,
};
use serde::Deserialize;

use super::{KernelVersion, SeccompError, Target};

type Result<T> = std::result::Result<T, SeccompError>;

/// A seccomp profile in Docker's JSON format, decoded and validated (kernel versions parsed,
/// conflicting fields rejected) but not yet evaluated for a container.
#[derive(Debug, Clone)]
pub struct Profile {
    default_action: Option<LinuxSeccompAction>,
    default_errno_ret: Option<u32>,
    architectures: Vec<String>,
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    listener_path: Option<PathBuf>,
    listener_metadata: Option<String>,
    arch_map: Vec<RawArchitecture>,
    rules: Vec<Rule>,
}

/// One rule after decoding: the names it covers and when it applies.
#[derive(Debug, Clone)]
struct Rule {
    names: Vec<String>,
    action: LinuxSeccompAction,
    errno_ret: Option<u32>,
    args: Option<Vec<LinuxSeccompArg>>,
    includes: Filter,
    excludes: Filter,
}

/// A rule condition (`includes` or `excludes`); empty lists mean "no condition".
#[derive(Debug, Clone, Default)]
struct Filter {
    caps: Vec<String>,
    arches: Vec<String>,
    min_kernel: Option<KernelVersion>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    #[serde(default)]
    default_action: Option<String>,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(default)]
    flags: Option<Vec<LinuxSeccompFilterFlag>>,
    #[serde(default)]
    listener_path: Option<PathBuf>,
    #[serde(default)]
    listener_metadata: Option<String>,
    #[serde(default)]
    arch_map: Option<Vec<RawArchitecture>>,
    #[serde(default)]
    syscalls: Option<Vec<RawSyscall>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArchitecture {
    architecture: String,
    #[serde(default)]
    sub_architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSyscall {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    names: Option<Vec<String>>,
    // No default: a rule without an action must not silently become SCMP_ACT_ALLOW (the
    // `Default` of `LinuxSeccompAction`).
    action: LinuxSeccompAction,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<RawArg>>,
    #[serde(default)]
    includes: Option<RawFilter>,
    #[serde(default)]
    excludes: Option<RawFilter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFilter {
    #[serde(default)]
    caps: Option<Vec<String>>,
    #[serde(default)]
    arches: Option<Vec<String>>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// `specs.LinuxSeccompArg` as Go decodes it: missing numbers are zero.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArg {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: LinuxSeccompOperator,
}

impl Profile {
    /// Decodes a profile in Docker's JSON format (the text of `--security-opt
    /// seccomp=PROFILE.json`).
    pub fn from_json(json: &str) -> Result<Profile> {
        let raw: RawProfile = serde_json::from_str(json).map_err(SeccompError::Decode)?;
        Profile::from_raw(raw)
    }

    fn from_raw(raw: RawProfile) -> Result<Profile> {
        let architectures = raw.architectures.unwrap_or_default();
        let arch_map = raw.arch_map.unwrap_or_default();
        if !architectures.is_empty() && !arch_map.is_empty() {
            return Err(SeccompError::ArchitecturesAndArchMap);
        }
        let default_action = match raw.default_action.as_deref() {
            None | Some("") => None,
            Some(name) => Some(parse_action(name)?),
        };
        let rules = raw
            .syscalls
            .unwrap_or_default()
            .into_iter()
            .map(Rule::from_raw)
            .collect::<Result<Vec<_>>>()?;
        Ok(Profile {
            default_action,
            default_errno_ret: raw.default_errno_ret,
            architectures,
            flags: raw.flags,
            listener_path: raw.listener_path,
            listener_metadata: raw.listener_metadata,
            arch_map,
            rules,
        })
    }

    /// Evaluates the profile for one container: keeps the rules whose conditions hold for
    /// `bounding_caps` (capability names such as `CAP_SYS_ADMIN`, the container's bounding
    /// set) and `target` (host architecture and kernel), as moby's `setupSeccomp` does.
    ///
    /// `None` means the profile disables seccomp (no `defaultAction` and no rules).
    pub fn to_oci(
        &self,
        bounding_caps: &[String],
        target: &Target,
    ) -> Result<Option<LinuxSeccomp>> {
        let Some(default_action) = self.default_action else {
            if self.rules.is_empty() {
                return Ok(None);
            }
            return Err(SeccompError::NoDefaultAction);
        };

        let mut architectures = self
            .architectures
            .iter()
            .map(|a| parse_arch(a))
            .collect::<Result<Vec<_>>>()?;
        if let Some(native) = target.seccomp_arch() {
            if let Some(entry) = self.arch_map.iter().find(|a| a.architecture == native) {
                architectures.push(parse_arch(&entry.architecture)?);
                for sub in entry.sub_architectures.iter().flatten() {
                    architectures.push(parse_arch(sub)?);
                }
            }
        }

        let mut syscalls = Vec::new();
        for rule in &self.rules {
            if rule.applies(bounding_caps, target)? {
                syscalls.push(rule.to_oci()?);
            }
        }

        let mut builder = LinuxSeccompBuilder::default()
            .default_action(default_action)
            .syscalls(syscalls);
        if let Some(errno) = self.default_errno_ret {
            builder = builder.default_errno_ret(errno);
        }
        if !architectures.is_empty() {
            builder = builder.architectures(architectures);
        }
        if let Some(flags) = &self.flags {
            builder = builder.flags(flags.clone());
        }
        if let Some(path) = &self.listener_path {
            builder = builder.listener_path(path.clone());
        }
        if let Some(meta) = &self.listener_metadata {
            builder = builder.listener_metadata(meta.clone());
        }
        builder.build().map(Some).map_err(SeccompError::Assemble)
    }
}

impl Rule {
    fn from_raw(raw: RawSyscall) -> Result<Rule> {
        let names = match (raw.name.filter(|n| !n.is_empty()), raw.names) {
            (Some(_), Some(names)) if !names.is_empty() => {
                return Err(SeccompError::NameAndNames);
            }
            (Some(name), _) => vec![name],
            (None, names) => names.unwrap_or_default(),
        };
        let args = match raw.args {
            None => None,
            Some(args) => Some(
                args.into_iter()
                    .map(|a| {
                        let mut b = LinuxSeccompArgBuilder::default()
                            .index(a.index)
                            .value(a.value)
                            .op(a.op);
                        if a.value_two != 0 {
                            b = b.value_two(a.value_two);
                        }
                        b.build().map_err(SeccompError::Assemble)
                    })
                    .collect::<Result<Vec<_>>>()?,
            ),
        };
        Ok(Rule {
            names,
            action: raw.action,
            errno_ret: raw.errno_ret,
            args,
            includes: Filter::from_raw(raw.includes)?,
            excludes: Filter::from_raw(raw.excludes)?,
        })
    }

    /// moby's `setupSeccomp` loop body: any matching exclude drops the rule; every include
    /// condition must hold.
    fn applies(&self, caps: &[String], target: &Target) -> Result<bool> {
        let ex = &self.excludes;
        if ex.arches.iter().any(|a| a == &target.arch) {
            return Ok(false);
        }
        if ex.caps.iter().any(|c| caps.contains(c)) {
            return Ok(false);
        }
        if let Some(min) = ex.min_kernel {
            if target.kernel_at_least(min)? {
                return Ok(false);
            }
        }
        let inc = &self.includes;
        if !inc.arches.is_empty() && !inc.arches.contains(&target.arch) {
            return Ok(false);
        }
        if !inc.caps.iter().all(|c| caps.contains(c)) {
            return Ok(false);
        }
        if let Some(min) = inc.min_kernel {
            if !target.kernel_at_least(min)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn to_oci(&self) -> Result<LinuxSyscall> {
        let mut b = LinuxSyscallBuilder::default()
            .names(self.names.clone())
            .action(self.action);
        if let Some(errno) = self.errno_ret {
            b = b.errno_ret(errno);
        }
        if let Some(args) = &self.args {
            b = b.args(args.clone());
        }
        b.build().map_err(SeccompError::Assemble)
    }
}

impl Filter {
    fn from_raw(raw: Option<RawFilter>) -> Result<Filter> {
        let Some(raw) = raw else {
            return Ok(Filter::default());
        };
        let min_kernel = match raw.min_kernel.as_deref() {
            None | Some("") => None,
            Some(v) => Some(KernelVersion::parse_min(v)?),
        };
        Ok(Filter {
            caps: raw.caps.unwrap_or_default(),
            arches: raw.arches.unwrap_or_default(),
            min_kernel,
        })
    }
}

fn parse_action(name: &str) -> Result<LinuxSeccompAction> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| SeccompError::UnknownAction(name.to_string()))
}

fn parse_arch(name: &str) -> Result<Arch> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| SeccompError::UnknownArch(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            arch: "amd64".to_string(),
            kernel: Some(KernelVersion {
                kernel: 6,
                major: 1,
            }),
        }
    }

    #[test]
    fn empty_profile_disables_seccomp() {
        let p = Profile::from_json("{}").unwrap();
        assert!(p.to_oci(&[], &target()).unwrap().is_none());
    }

    #[test]
    fn rules_without_default_action_are_rejected() {
        let p =
            Profile::from_json(r#"{"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#)
                .unwrap();
        assert!(matches!(
            p.to_oci(&[], &target()),
            Err(SeccompError::NoDefaultAction)
        ));
    }

    #[test]
    fn rule_without_action_is_a_decode_error() {
        let err = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"]}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, SeccompError::Decode(_)), "{err}");
    }

    #[test]
    fn name_and_names_conflict() {
        let err = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","names":["write"],"action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'"
        );
    }

    #[test]
    fn legacy_name_field_is_accepted() {
        let p = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"name":"read","action":"SCMP_ACT_ALLOW"}]}"#,
        )
        .unwrap();
        let s = p.to_oci(&[], &target()).unwrap().unwrap();
        assert_eq!(
            s.syscalls().as_ref().unwrap()[0].names(),
            &["read".to_string()]
        );
    }

    #[test]
    fn architectures_and_arch_map_conflict() {
        let err = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#,
        )
        .unwrap_err();
        assert!(matches!(err, SeccompError::ArchitecturesAndArchMap));
    }

    #[test]
    fn plain_architectures_pass_through() {
        let p = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"]}"#,
        )
        .unwrap();
        let s = p.to_oci(&[], &target()).unwrap().unwrap();
        assert_eq!(
            s.architectures().as_deref(),
            Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86][..])
        );
    }

    #[test]
    fn invalid_min_kernel_is_rejected() {
        for bad in ["4", "4.8.1", "0.0", "x.1", "4.300"] {
            let json = format!(
                r#"{{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{{"minKernel":"{bad}"}}}}]}}"#
            );
            let err = Profile::from_json(&json).unwrap_err();
            assert!(
                matches!(err, SeccompError::InvalidKernelVersion(_)),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn min_kernel_needs_a_known_host_kernel() {
        let p = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}}]}"#,
        )
        .unwrap();
        let t = Target {
            arch: "amd64".to_string(),
            kernel: None,
        };
        assert!(matches!(
            p.to_oci(&[], &t),
            Err(SeccompError::UnknownHostKernel)
        ));
    }

    #[test]
    fn missing_value_two_is_omitted_and_zero_numbers_default() {
        let p = Profile::from_json(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["clone"],"action":"SCMP_ACT_ALLOW","args":[{"op":"SCMP_CMP_MASKED_EQ","value":2114060288}]}]}"#,
        )
        .unwrap();
        let s = p.to_oci(&[], &target()).unwrap().unwrap();
        let arg = s.syscalls().as_ref().unwrap()[0].args().as_ref().unwrap()[0];
        assert_eq!(arg.index(), 0);
        assert_eq!(arg.value(), 0x7E02_0000);
        assert_eq!(arg.value_two(), None);
        assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    }
}
