//! `inspect` of a container in Docker's JSON shape.

use serde_json::{json, Value};

use super::Container;
use crate::Engine;

/// Docker's zero time.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 with nanoseconds in UTC, or Docker's zero time for 0.
pub fn rfc3339_nanos(nanos: i64) -> String {
    if nanos <= 0 {
        return ZERO_TIME.into();
    }
    chrono::DateTime::from_timestamp(nanos / 1_000_000_000, (nanos % 1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_else(|| ZERO_TIME.into())
}

impl Engine {
    /// Docker's `inspect` document of a container.
    pub fn inspect_container(&self, c: &Container) -> Value {
        let r = &c.row;
        let paths = self.container_paths(&r.id);
        let state = &r.state;
        let lowers: Vec<String> = r
            .image_id
            .parse::<berth_types::Digest>()
            .ok()
            .and_then(|d| self.store.image(&d).ok().flatten())
            .map(|img| {
                img.layers
                    .iter()
                    .rev()
                    .map(|l| self.store.layer_diff_dir(l).to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        let mut host_config = serde_json::to_value(&c.doc.host_config).unwrap_or(Value::Null);
        if let Some(o) = host_config.as_object_mut() {
            o.entry("ContainerIDFile").or_insert(json!(""));
            o.entry("AutoRemove")
                .or_insert(json!(c.doc.host_config.auto_remove));
            o.insert("MaskedPaths".into(), Value::Null);
            o.insert("ReadonlyPaths".into(), Value::Null);
        }
        let net_mode = c.doc.host_config.network_mode.clone();
        let net_name = if net_mode == "default" {
            "bridge".to_string()
        } else {
            net_mode.clone()
        };
        let health = if r.health.is_empty() {
            None
        } else {
            serde_json::from_str::<Value>(&r.health).ok()
        };
        let mut state_v = json!({
            "Status": state,
            "Running": state == "running" || state == "paused",
            "Paused": state == "paused",
            "Restarting": state == "restarting",
            "OOMKilled": r.oom_killed,
            "Dead": state == "dead",
            "Pid": if state == "running" || state == "paused" { r.pid } else { 0 },
            "ExitCode": r.exit_code,
            "Error": r.error,
            "StartedAt": rfc3339_nanos(r.started_at),
            "FinishedAt": rfc3339_nanos(r.finished_at),
        });
        if let Some(h) = health {
            state_v["Health"] = h;
        }
        let networks = json!({
            net_name: {
                "IPAMConfig": Value::Null,
                "Links": Value::Null,
                "Aliases": Value::Null,
                "NetworkID": "",
                "EndpointID": "",
                "Gateway": "",
                "IPAddress": "",
                "IPPrefixLen": 0,
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "MacAddress": "",
                "DriverOpts": Value::Null,
            }
        });
        let network_settings = json!({
                        "Bridge": "",
                        "SandboxID": "",
                        "SandboxKey": if state == "running" && net_mode != "host" { format!("/proc/{}/ns/net", r.pid) } else { String::new() },
                        "Ports": {},
                        "HairpinMode": false,
                        "LinkLocalIPv6Address": "",
                        "LinkLocalIPv6PrefixLen": 0,
                        "SecondaryIPAddresses": Value::Null,
                        "SecondaryIPv6Addresses": Value::Null,
                        "EndpointID": "",
                        "Gateway": "",
                        "GlobalIPv6Address": "",
                        "GlobalIPv6PrefixLen": 0,
                        "IPAddress": "",
                        "IPPrefixLen": 0,
                        "IPv6Gateway": "",
                        "MacAddress": "",
        });
        let mut network_settings = network_settings;
        network_settings["Networks"] = networks;
        self.fill_network_settings(c, &mut network_settings);
        json!({
            "Id": r.id,
            "Created": rfc3339_nanos(r.created),
            "Path": c.doc.path,
            "Args": c.doc.args,
            "State": state_v,
            "Image": r.image_id,
            "ResolvConfPath": paths.resolv,
            "HostnamePath": paths.hostname,
            "HostsPath": paths.hosts,
            "LogPath": paths.log,
            "Name": format!("/{}", r.name),
            "RestartCount": r.restart_count,
            "Driver": "overlay2",
            "Platform": "linux",
            "MountLabel": "",
            "ProcessLabel": "",
            "AppArmorProfile": "",
            "ExecIDs": Value::Null,
            "HostConfig": host_config,
            "GraphDriver": {
                "Data": {
                    "LowerDir": lowers.join(":"),
                    "MergedDir": paths.merged,
                    "UpperDir": paths.upper,
                    "WorkDir": paths.work,
                },
                "Name": "overlay2",
            },
            "Mounts": self.inspect_mounts(&c.doc.mount_points),
            "Config": c.doc.config,
            "NetworkSettings": network_settings,
        })
    }
}
