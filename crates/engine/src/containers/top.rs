//! `top`: the host's `ps` output, kept to the processes of the container's cgroup, as moby's
//! `ContainerTop` does (`daemon/top_unix.go`).

use std::process::Command;

use berth_runtime::cgroups::Layout;

use super::stats::{cgroup_err, cgroup_path};
use crate::{Engine, EngineError};

/// The processes of a container: `ps`'s column titles and one row per process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopOutput {
    /// Column titles (`UID`, `PID`, `PPID`, …).
    pub titles: Vec<String>,
    /// One row per process, as many fields as titles (the last one holds the rest of the
    /// line, spaces included).
    pub processes: Vec<Vec<String>>,
}

impl Engine {
    /// Runs `ps` with `ps_args` (`-ef` when empty; split on spaces as moby does) and keeps
    /// the rows of the container's processes.
    pub fn top_container(
        &mut self,
        name_or_id: &str,
        ps_args: &str,
    ) -> Result<TopOutput, EngineError> {
        let ps_args = if ps_args.is_empty() { "-ef" } else { ps_args };
        validate_ps_args(ps_args)?;
        let c = self.container(name_or_id)?;
        match c.row.state.as_str() {
            "running" | "paused" => {}
            "restarting" => {
                return Err(EngineError::Conflict(format!(
                    "Container {} is restarting, wait until the container is running",
                    c.row.id
                )))
            }
            _ => {
                return Err(EngineError::Conflict(format!(
                    "container {} is not running",
                    c.row.id
                )))
            }
        }
        let pids = Layout::detect()
            .and_then(|l| l.pids(&cgroup_path(&c.row.id)))
            .map_err(cgroup_err)?;
        let args: Vec<&str> = ps_args.split(' ').filter(|a| !a.is_empty()).collect();
        let pid_list = pids
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        // `-q PIDS` makes ps read only those; some options (`f`) refuse it: then all of them.
        let mut out = run_ps(&args, Some(&format!("-q{pid_list}")));
        if out.is_err() || pids.is_empty() {
            out = run_ps(&args, None);
        }
        let top = parse_ps_output(&out?, &pids)?;
        self.emit_container(&c, "top", &[]);
        Ok(top)
    }
}

fn run_ps(args: &[&str], extra: Option<&str>) -> Result<String, EngineError> {
    let mut cmd = Command::new("ps");
    cmd.args(args);
    if let Some(e) = extra {
        cmd.arg(e);
    }
    let ps_err = |source: std::io::Error| EngineError::Io {
        path: "ps".into(),
        source,
    };
    let out = cmd.output().map_err(ps_err)?;
    if !out.status.success() {
        // moby reports the first line of ps's complaint.
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr.lines().next().unwrap_or("").to_string();
        let msg = if line.is_empty() {
            format!("{}", out.status)
        } else {
            line
        };
        return Err(ps_err(std::io::Error::other(msg)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// moby's `validatePSArgs`: a column may only be renamed to a title starting with `PID` if
/// it is the pid column (`-o pid=PID`), or the PID column could not be found.
fn validate_ps_args(args: &str) -> Result<(), EngineError> {
    // Go: regexp `\s+(\S*)=\s*(PID\S*)` over the whole string.
    let b = args.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_whitespace() || (i > 0 && b[i - 1].is_ascii_whitespace()) {
            i += 1;
            continue;
        }
        // b[i] starts a run of whitespace: the token after it.
        let start = (i..b.len())
            .find(|&j| !b[j].is_ascii_whitespace())
            .unwrap_or(b.len());
        let end = (start..b.len())
            .find(|&j| b[j].is_ascii_whitespace())
            .unwrap_or(b.len());
        let token = &args[start..end];
        // The last `=` after which (spaces, then) `PID` follows, as the greedy `\S*` picks.
        let found = token
            .char_indices()
            .rev()
            .filter(|&(_, c)| c == '=')
            .find_map(|(k, _)| {
                let after = args[start + k + 1..].trim_start();
                after.starts_with("PID").then(|| {
                    let v_end = after
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after.len());
                    (&token[..k], &after[..v_end])
                })
            });
        if let Some((k, v)) = found {
            if k != "pid" {
                return Err(EngineError::InvalidArgument(format!(
                    "specifying \"{k}={v}\" is not allowed"
                )));
            }
        }
        i = end.max(i + 1);
    }
    Ok(())
}

/// moby's `parsePSOutput`: the rows whose PID is one of `pids`, plus the thread rows (`-`
/// in the PID column, with `ps -T`/`m`) that follow one of them.
fn parse_ps_output(output: &str, pids: &[i32]) -> Result<TopOutput, EngineError> {
    let fields = |s: &str| -> Vec<String> {
        s.split([' ', '\t', '\n', '\x0c', '\r'])
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut lines = output.split('\n');
    let titles = fields(lines.next().unwrap_or(""));
    let pid_index = titles.iter().position(|t| t == "PID").ok_or_else(|| {
        EngineError::InvalidArgument("Couldn't find PID field in ps output".into())
    })?;
    let mut processes = Vec::new();
    let mut in_container = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let f = fields(line);
        let Some(pid) = f.get(pid_index) else {
            continue;
        };
        if pid == "-" {
            if in_container {
                processes.push(merge_overhang(f, titles.len()));
            }
            continue;
        }
        let p: i32 = pid.parse().map_err(|_| {
            EngineError::InvalidArgument(format!(
                "Unexpected pid '{pid}': strconv.Atoi: parsing \"{pid}\": invalid syntax"
            ))
        })?;
        in_container = pids.binary_search(&p).is_ok();
        if in_container {
            processes.push(merge_overhang(f, titles.len()));
        }
    }
    Ok(TopOutput { titles, processes })
}

/// Joins the fields beyond the last title (a command's arguments) into the last one.
fn merge_overhang(mut f: Vec<String>, ntitles: usize) -> Vec<String> {
    if ntitles == 0 || f.len() <= ntitles {
        return f;
    }
    let rest = f.split_off(ntitles - 1).join(" ");
    f.push(rest);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "\
UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root        4242    4200  0 10:01 ?        00:00:00 sleep 1000
root        4243    4242  0 10:01 ?        00:00:00 sh -c while true; do :; done
";

    #[test]
    fn keeps_only_container_rows() {
        let t = parse_ps_output(PS, &[4242, 4243]).unwrap();
        assert_eq!(
            t.titles,
            ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
        );
        assert_eq!(t.processes.len(), 2);
        assert_eq!(t.processes[0][7], "sleep 1000");
        assert_eq!(t.processes[1][7], "sh -c while true; do :; done");
        assert_eq!(t.processes[1].len(), 8);
    }

    #[test]
    fn threads_follow_their_process() {
        let ps = "USER PID TID CMD\nroot 4242 - sleep\nroot - 4242 -\nroot 1 - init\nroot - 1 -\n";
        let t = parse_ps_output(ps, &[4242]).unwrap();
        assert_eq!(t.processes.len(), 2);
        assert_eq!(t.processes[1], ["root", "-", "4242", "-"]);
    }

    #[test]
    fn needs_a_pid_column() {
        let e = parse_ps_output("USER CMD\nroot init\n", &[1]).unwrap_err();
        assert_eq!(e.to_string(), "Couldn't find PID field in ps output");
        let e = parse_ps_output("PID\nabc\n", &[1]).unwrap_err();
        assert!(e.to_string().starts_with("Unexpected pid 'abc'"));
    }

    #[test]
    fn validates_ps_args_as_moby() {
        assert!(validate_ps_args("-ef").is_ok());
        assert!(validate_ps_args("-o pid=PID,comm").is_ok());
        assert!(validate_ps_args("-o pid,comm").is_ok());
        let e = validate_ps_args("-o comm=PID").unwrap_err();
        assert_eq!(e.to_string(), "specifying \"comm=PID\" is not allowed");
        let e = validate_ps_args("-o pid,comm= PIDX").unwrap_err();
        assert_eq!(e.to_string(), "specifying \"pid,comm=PIDX\" is not allowed");
    }
}
