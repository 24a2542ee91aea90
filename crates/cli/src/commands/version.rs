//! `version`.

use serde_json::json;

use crate::args::VersionArgs;

/// The Docker Engine API version berth serves.
pub const API_VERSION: &str = "1.50";

/// Runs `version`.
pub fn run(a: VersionArgs) -> anyhow::Result<i32> {
    let v = env!("CARGO_PKG_VERSION");
    let os = std::env::consts::OS;
    let arch = berth_image::spec::Platform::host().architecture;
    let data = json!({
        "Client": {"Version": v, "ApiVersion": API_VERSION, "Os": os, "Arch": arch, "GoVersion": "n/a (Rust)", "GitCommit": "", "BuildTime": ""},
        "Server": {"Version": v, "ApiVersion": API_VERSION, "MinAPIVersion": "1.24", "Os": os, "Arch": arch},
    });
    if let Some(f) = a.format.as_deref() {
        let t = berth_template::Template::parse(f)?;
        crate::output::write_stdout(&format!("{}\n", t.render(&data)?))?;
        return Ok(0);
    }
    let out = format!(
        "Client:\n Version:           {v}\n API version:       {API_VERSION}\n OS/Arch:           {os}/{arch}\n\nServer: berth (daemonless)\n Engine:\n  Version:          {v}\n  API version:      {API_VERSION} (minimum version 1.24)\n  OS/Arch:          {os}/{arch}\n"
    );
    crate::output::write_stdout(&out)?;
    Ok(0)
}
