//! `port` / `container port`: the published ports of a container, as the docker CLI prints
//! `NetworkSettings.Ports`.
//!
//! The mappings are the ports berth published for the running container (random host ports
//! resolved); a binding to all addresses shows as `0.0.0.0` and `::`, as Docker does.

use std::cmp::Ordering;

use berth_engine::containers::Container;

use crate::args::PortArgs;
use crate::exit::StatusError;
use crate::output::{engine, write_stdout};

/// `port CONTAINER [PRIVATE_PORT[/PROTO]]`.
pub fn run(a: PortArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let c = engine.container(&a.container)?;
    let ports = published(&engine, &c);
    let mut out: Vec<String> = Vec::new();
    if let Some(p) = &a.private_port {
        let (port, proto) = p.split_once('/').unwrap_or((p, ""));
        let proto = if proto.is_empty() { "tcp" } else { proto };
        check_port(port)?;
        let key = format!("{port}/{proto}");
        let fronts: Vec<&(String, String)> = ports
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|(_, f)| f)
            .collect();
        if fronts.is_empty() {
            return Err(StatusError::error(
                1,
                format!("Error: No public port '{p}' published for {}", a.container),
            ));
        }
        out.extend(fronts.iter().map(|(ip, port)| join_host_port(ip, port)));
    } else {
        out.extend(
            ports
                .iter()
                .map(|(from, (ip, port))| format!("{from} -> {}", join_host_port(ip, port))),
        );
    }
    if !out.is_empty() {
        out.sort_by(|x, y| natural_cmp(x, y));
        write_stdout(&format!("{}\n", out.join("\n")))?;
    }
    Ok(0)
}

/// `strconv.ParseUint(port, 10, 16)` with the docker CLI's wrapping.
fn check_port(port: &str) -> anyhow::Result<()> {
    if port.parse::<u16>().is_ok() {
        return Ok(());
    }
    let why = if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        "value out of range"
    } else {
        "invalid syntax"
    };
    Err(StatusError::error(
        1,
        format!("Error: invalid port ({port}): strconv.ParseUint: parsing {port:?}: {why}"),
    ))
}

/// (`80/tcp`, (host ip, host port)) for each published binding of a running container.
/// With `--network host` or `container:`, Docker publishes nothing.
fn published(engine: &berth_engine::Engine, c: &Container) -> Vec<(String, (String, String))> {
    let mode = c.doc.host_config.network_mode.as_str();
    if !matches!(c.row.state.as_str(), "running" | "paused")
        || mode == "host"
        || mode.starts_with("container:")
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in engine.container_ports(&c.row.id).unwrap_or_default() {
        let from = format!("{}/{}", p.container_port, p.proto);
        let port = p.host_port.to_string();
        if p.host_ip.is_empty() {
            out.push((from.clone(), ("0.0.0.0".to_string(), port.clone())));
            out.push((from, ("::".to_string(), port)));
        } else {
            out.push((from, (p.host_ip, port)));
        }
    }
    out
}

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `sortorder.NaturalLess`: runs of digits compare as numbers.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let si = i;
            while i < a.len() && a[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let (na, nb) = (trim_zeros(&a[si..i]), trim_zeros(&b[sj..j]));
            let ord = na
                .len()
                .cmp(&nb.len())
                .then_with(|| na.cmp(nb))
                // Equal values: fewer leading zeros first.
                .then_with(|| (i - si).cmp(&(j - sj)));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if a[i] != b[j] {
                return a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|&&c| c == b'0').count();
    &d[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_naturally() {
        let mut v = vec![
            "8080/tcp -> 0.0.0.0:1",
            "80/tcp -> 0.0.0.0:8080",
            "443/tcp -> 0.0.0.0:8443",
            "80/udp -> 0.0.0.0:53",
        ];
        v.sort_by(|x, y| natural_cmp(x, y));
        assert_eq!(
            v,
            [
                "80/tcp -> 0.0.0.0:8080",
                "80/udp -> 0.0.0.0:53",
                "443/tcp -> 0.0.0.0:8443",
                "8080/tcp -> 0.0.0.0:1",
            ]
        );
    }

    #[test]
    fn formats_hosts_and_bad_ports() {
        assert_eq!(join_host_port("::1", "80"), "[::1]:80");
        assert_eq!(join_host_port("0.0.0.0", "80"), "0.0.0.0:80");
        assert!(check_port("80").is_ok());
        assert_eq!(
            check_port("abc").unwrap_err().to_string(),
            "Error: invalid port (abc): strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            check_port("70000").unwrap_err().to_string(),
            "Error: invalid port (70000): strconv.ParseUint: parsing \"70000\": value out of range"
        );
    }
}
