//! cgroup limits and rlimits, as moby's `WithResources` (`getMemoryResources`,
//! `getCPUResources`, `getPidsLimit`) and `withRlimits` set them.

use libcontainer::oci_spec::runtime::{
    LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroup, LinuxMemoryBuilder, LinuxPidsBuilder,
    LinuxResources, LinuxResourcesBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
};

use super::{Resources, SpecError, Ulimit};

type Result<T> = std::result::Result<T, SpecError>;

/// The CFS period `--cpus` uses: 100 ms, in microseconds.
pub const CPU_PERIOD_US: u64 = 100_000;

/// The spec's `linux.resources`: the device rules plus whatever limits are set. Values
/// Docker ignores (zero, or negative where it only accepts positive) are left unset.
pub(crate) fn linux_resources(
    r: &Resources,
    device_rules: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources> {
    let mut b = LinuxResourcesBuilder::default().devices(device_rules);

    let positive = |v: Option<i64>| v.filter(|v| *v > 0);
    let (limit, reservation) = (positive(r.memory), positive(r.memory_reservation));
    // Docker leaves swap unset unless it is positive; -1 ("unlimited") is passed through, as
    // the runtime spec defines it, which has the same effect as leaving it unset.
    let swap = r.memory_swap.filter(|v| *v > 0 || *v == -1);
    if limit.is_some() || reservation.is_some() || swap.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(v) = limit {
            m = m.limit(v);
        }
        if let Some(v) = reservation {
            m = m.reservation(v);
        }
        if let Some(v) = swap {
            m = m.swap(v);
        }
        b = b.memory(m.build()?);
    }

    let shares = r.cpu_shares.filter(|v| *v != 0);
    let cpus = r.cpuset_cpus.clone().filter(|s| !s.is_empty());
    let mems = r.cpuset_mems.clone().filter(|s| !s.is_empty());
    let (mut period, mut quota) = (None, None);
    if let Some(nano) = r.nano_cpus.filter(|n| *n > 0) {
        period = Some(CPU_PERIOD_US);
        quota = Some(quota_for(nano));
    }
    if let Some(p) = r.cpu_period.filter(|p| *p != 0) {
        period = Some(p);
    }
    if let Some(q) = r.cpu_quota.filter(|q| *q != 0) {
        quota = Some(q);
    }
    if shares.is_some() || cpus.is_some() || mems.is_some() || period.is_some() || quota.is_some() {
        let mut c = LinuxCpuBuilder::default();
        if let Some(v) = shares {
            c = c.shares(v);
        }
        if let Some(v) = quota {
            c = c.quota(v);
        }
        if let Some(v) = period {
            c = c.period(v);
        }
        if let Some(v) = cpus {
            c = c.cpus(v);
        }
        if let Some(v) = mems {
            c = c.mems(v);
        }
        b = b.cpu(c.build()?);
    }

    if let Some(limit) = r.pids_limit.filter(|l| *l > 0) {
        b = b.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }

    if let Some(w) = r.blkio_weight.filter(|w| *w != 0) {
        b = b.block_io(LinuxBlockIoBuilder::default().weight(w).build()?);
    }

    Ok(b.build()?)
}

/// `--cpus` as a CFS quota: `nano_cpus * period / 1e9` (moby `getCPUResources`), computed
/// in 128 bits so a huge value cannot wrap as it does in Go (the result always fits).
fn quota_for(nano_cpus: i64) -> i64 {
    let quota = i128::from(nano_cpus) * i128::from(CPU_PERIOD_US) / 1_000_000_000;
    i64::try_from(quota).unwrap_or(i64::MAX)
}

/// `--ulimit` values as rlimits; `None` when there are none, so the process inherits
/// berth's limits as Docker's inherit the daemon's.
pub(crate) fn rlimits(ulimits: &[Ulimit]) -> Result<Option<Vec<PosixRlimit>>> {
    if ulimits.is_empty() {
        return Ok(None);
    }
    ulimits
        .iter()
        .map(|u| {
            let typ =
                rlimit_type(&u.name).ok_or_else(|| SpecError::UnknownUlimit(u.name.clone()))?;
            if u.soft > u.hard {
                return Err(SpecError::UlimitSoftAboveHard {
                    name: u.name.clone(),
                    soft: u.soft,
                    hard: u.hard,
                });
            }
            Ok(PosixRlimitBuilder::default()
                .typ(typ)
                .soft(u.soft)
                .hard(u.hard)
                .build()?)
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// Docker's ulimit names (go-units `ulimitNameMapping`).
fn rlimit_type(name: &str) -> Option<PosixRlimitType> {
    use PosixRlimitType::*;
    Some(match name {
        "as" => RlimitAs,
        "core" => RlimitCore,
        "cpu" => RlimitCpu,
        "data" => RlimitData,
        "fsize" => RlimitFsize,
        "locks" => RlimitLocks,
        "memlock" => RlimitMemlock,
        "msgqueue" => RlimitMsgqueue,
        "nice" => RlimitNice,
        "nofile" => RlimitNofile,
        "nproc" => RlimitNproc,
        "rss" => RlimitRss,
        "rtprio" => RlimitRtprio,
        "rttime" => RlimitRttime,
        "sigpending" => RlimitSigpending,
        "stack" => RlimitStack,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(r: Resources) -> LinuxResources {
        linux_resources(&r, vec![]).unwrap()
    }

    #[test]
    fn nothing_set_leaves_everything_unset() {
        let r = res(Resources::default());
        assert!(r.memory().is_none());
        assert!(r.cpu().is_none());
        assert!(r.pids().is_none());
        assert!(r.block_io().is_none());
        assert_eq!(r.devices().as_deref(), Some(&[][..]));
    }

    #[test]
    fn cpus_one_and_a_half() {
        let r = res(Resources {
            nano_cpus: Some(1_500_000_000),
            ..Default::default()
        });
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.quota(), Some(150_000));
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.shares(), None);
    }

    #[test]
    fn explicit_quota_and_period_override_cpus() {
        let r = res(Resources {
            nano_cpus: Some(2_000_000_000),
            cpu_quota: Some(50_000),
            cpu_period: Some(200_000),
            cpu_shares: Some(512),
            cpuset_cpus: Some("0-1".into()),
            cpuset_mems: Some("0".into()),
            ..Default::default()
        });
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.quota(), Some(50_000));
        assert_eq!(cpu.period(), Some(200_000));
        assert_eq!(cpu.shares(), Some(512));
        assert_eq!(cpu.cpus().as_deref(), Some("0-1"));
        assert_eq!(cpu.mems().as_deref(), Some("0"));
    }

    #[test]
    fn huge_cpus_do_not_wrap() {
        let r = res(Resources {
            nano_cpus: Some(i64::MAX),
            ..Default::default()
        });
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(i64::MAX / 10_000));
    }

    #[test]
    fn memory_and_pids_and_blkio() {
        let r = res(Resources {
            memory: Some(512 << 20),
            memory_swap: Some(1 << 30),
            memory_reservation: Some(256 << 20),
            pids_limit: Some(100),
            blkio_weight: Some(300),
            ..Default::default()
        });
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.limit(), Some(512 << 20));
        assert_eq!(m.swap(), Some(1 << 30));
        assert_eq!(m.reservation(), Some(256 << 20));
        assert_eq!(r.pids().as_ref().unwrap().limit(), 100);
        assert_eq!(r.block_io().as_ref().unwrap().weight(), Some(300));
    }

    #[test]
    fn unlimited_and_ignored_values() {
        let r = res(Resources {
            memory: Some(0),
            memory_swap: Some(-1),
            pids_limit: Some(0),
            cpu_shares: Some(0),
            nano_cpus: Some(0),
            blkio_weight: Some(0),
            cpuset_cpus: Some(String::new()),
            ..Default::default()
        });
        let m = r.memory().as_ref().unwrap();
        assert_eq!(m.limit(), None);
        assert_eq!(m.swap(), Some(-1));
        assert!(r.pids().is_none());
        assert!(r.cpu().is_none());
        assert!(r.block_io().is_none());
        assert!(res(Resources {
            pids_limit: Some(-1),
            ..Default::default()
        })
        .pids()
        .is_none());
    }

    #[test]
    fn ulimits() {
        assert_eq!(rlimits(&[]).unwrap(), None);
        let names = [
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
            "as",
        ];
        let ul: Vec<Ulimit> = names
            .iter()
            .map(|n| Ulimit {
                name: n.to_string(),
                soft: 1024,
                hard: 2048,
            })
            .collect();
        let rl = rlimits(&ul).unwrap().unwrap();
        assert_eq!(rl.len(), 16);
        assert_eq!(rl[8].typ(), PosixRlimitType::RlimitNofile);
        assert_eq!((rl[8].soft(), rl[8].hard()), (1024, 2048));
        assert_eq!(rl[15].typ(), PosixRlimitType::RlimitAs);
        // Serialized with the OCI names.
        let json = serde_json::to_string(&rl[8]).unwrap();
        assert!(json.contains("\"RLIMIT_NOFILE\""), "{json}");
    }

    #[test]
    fn bad_ulimits() {
        let err = rlimits(&[Ulimit {
            name: "bogus".into(),
            soft: 1,
            hard: 1,
        }])
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid ulimit type: bogus");
        let err = rlimits(&[Ulimit {
            name: "nofile".into(),
            soft: 2,
            hard: 1,
        }])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ulimit soft limit must be less than or equal to hard limit: 2 > 1"
        );
    }
}
