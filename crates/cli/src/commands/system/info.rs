//! `info` / `system info`: Docker's layout of `SystemInfo`, or a `--format` template over
//! it (with `ClientInfo`, as the docker CLI's info struct embeds both).

use serde_json::{json, Value};

use crate::args::InfoArgs;
use crate::output::{engine, write_stdout};

/// Runs `info`.
pub fn run(a: InfoArgs) -> anyhow::Result<i32> {
    let mut engine = engine()?;
    let mut info = engine.system_info()?;
    let client = json!({
        "Debug": false,
        "Version": env!("CARGO_PKG_VERSION"),
        "Context": "default",
        "Plugins": [],
        "Warnings": null,
    });
    if let Some(f) = a.format.as_deref() {
        if let Value::Object(m) = &mut info {
            m.insert("ClientInfo".into(), client);
        }
        let out = if f.trim() == "json" {
            serde_json::to_string(&info)?
        } else {
            berth_template::Template::parse(f)
                .map_err(|e| anyhow::anyhow!("template parsing error: {e}"))?
                .render(&info)?
        };
        write_stdout(&format!("{out}\n"))?;
        return Ok(0);
    }
    let text = pretty(&info);
    write_stdout(&text)?;
    for w in info["Warnings"].as_array().into_iter().flatten() {
        if let Some(w) = w.as_str() {
            eprintln!("{w}");
        }
    }
    Ok(0)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn kv(o: &mut String, indent: usize, k: &str, v: &str) {
    o.push_str(&format!("{:indent$}{k}:", "", indent = indent));
    if !v.is_empty() {
        o.push(' ');
        o.push_str(v);
    }
    o.push('\n');
}

fn bare(o: &mut String, indent: usize, text: &str) {
    o.push_str(&format!("{:indent$}{text}\n", "", indent = indent));
}

fn names(v: &Value) -> String {
    v.as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect::<Vec<_>>()
        .join(" ")
}

/// docker/cli `prettyPrintInfo`.
fn pretty(i: &Value) -> String {
    let mut o = String::new();
    kv(&mut o, 0, "Client", "");
    kv(&mut o, 1, "Version", env!("CARGO_PKG_VERSION"));
    kv(&mut o, 1, "Context", "default");
    kv(&mut o, 1, "Debug Mode", "false");
    o.push('\n');
    kv(&mut o, 0, "Server", "");
    kv(&mut o, 1, "Containers", &s(&i["Containers"]));
    kv(&mut o, 2, "Running", &s(&i["ContainersRunning"]));
    kv(&mut o, 2, "Paused", &s(&i["ContainersPaused"]));
    kv(&mut o, 2, "Stopped", &s(&i["ContainersStopped"]));
    kv(&mut o, 1, "Images", &s(&i["Images"]));
    kv(&mut o, 1, "Server Version", &s(&i["ServerVersion"]));
    kv(&mut o, 1, "Storage Driver", &s(&i["Driver"]));
    for pair in i["DriverStatus"].as_array().into_iter().flatten() {
        kv(&mut o, 2, &s(&pair[0]), &s(&pair[1]));
    }
    kv(&mut o, 1, "Logging Driver", &s(&i["LoggingDriver"]));
    kv(&mut o, 1, "Cgroup Driver", &s(&i["CgroupDriver"]));
    kv(&mut o, 1, "Cgroup Version", &s(&i["CgroupVersion"]));
    kv(&mut o, 1, "Plugins", "");
    for k in ["Volume", "Network", "Log"] {
        kv(&mut o, 2, k, &names(&i["Plugins"][k]));
    }
    kv(&mut o, 1, "Swarm", &s(&i["Swarm"]["LocalNodeState"]));
    let runtimes: Vec<String> = i["Runtimes"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    kv(&mut o, 1, "Runtimes", &runtimes.join(" "));
    kv(&mut o, 1, "Default Runtime", &s(&i["DefaultRuntime"]));
    kv(&mut o, 1, "Init Binary", &s(&i["InitBinary"]));
    kv(&mut o, 1, "Security Options", "");
    for opt in i["SecurityOptions"].as_array().into_iter().flatten() {
        for part in s(opt).split(',') {
            match part.split_once('=') {
                Some(("name", v)) => bare(&mut o, 2, v),
                Some((k, v)) => {
                    let mut k = k.to_string();
                    if let Some(c) = k.get_mut(0..1) {
                        c.make_ascii_uppercase();
                    }
                    kv(&mut o, 3, &k, v);
                }
                None => {}
            }
        }
    }
    kv(&mut o, 1, "Kernel Version", &s(&i["KernelVersion"]));
    kv(&mut o, 1, "Operating System", &s(&i["OperatingSystem"]));
    kv(&mut o, 1, "OSType", &s(&i["OSType"]));
    kv(&mut o, 1, "Architecture", &s(&i["Architecture"]));
    kv(&mut o, 1, "CPUs", &s(&i["NCPU"]));
    let mem = i["MemTotal"].as_f64().unwrap_or(0.0);
    kv(
        &mut o,
        1,
        "Total Memory",
        &berth_template::units::bytes_size(mem),
    );
    kv(&mut o, 1, "Name", &s(&i["Name"]));
    kv(&mut o, 1, "ID", &s(&i["ID"]));
    kv(&mut o, 1, "Docker Root Dir", &s(&i["DockerRootDir"]));
    kv(&mut o, 1, "Debug Mode", &s(&i["Debug"]));
    for (k, key) in [
        ("HTTP Proxy", "HttpProxy"),
        ("HTTPS Proxy", "HttpsProxy"),
        ("No Proxy", "NoProxy"),
    ] {
        if !s(&i[key]).is_empty() {
            kv(&mut o, 1, k, &s(&i[key]));
        }
    }
    kv(&mut o, 1, "Experimental", &s(&i["ExperimentalBuild"]));
    kv(&mut o, 1, "Insecure Registries", "");
    for c in i["RegistryConfig"]["InsecureRegistryCIDRs"]
        .as_array()
        .into_iter()
        .flatten()
    {
        bare(&mut o, 2, &s(c));
    }
    kv(
        &mut o,
        1,
        "Live Restore Enabled",
        &s(&i["LiveRestoreEnabled"]),
    );
    o
}
