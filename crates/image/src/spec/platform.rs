//! Platforms (`os/arch/variant`) and the choice of a manifest from an index.

use serde::{Deserialize, Serialize};

use super::{null_default, Descriptor};

/// An OCI platform, as held by an index entry's descriptor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture in Go's terms: `amd64`, `arm64`, `arm`, `386`, …
    #[serde(default, deserialize_with = "null_default")]
    pub architecture: String,
    /// Operating system in Go's terms: `linux`, `windows`, …
    #[serde(default, deserialize_with = "null_default")]
    pub os: String,
    /// The OS version (Windows only in practice).
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// Required OS features (Windows only in practice).
    #[serde(
        rename = "os.features",
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub os_features: Vec<String>,
    /// CPU variant: `v7` for arm, `v8` for arm64, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// The platform berth runs on, in Go's (and so the registries') terms.
    pub fn host() -> Platform {
        let (architecture, variant) = go_arch(std::env::consts::ARCH);
        Platform {
            architecture: architecture.to_string(),
            os: std::env::consts::OS.to_string(),
            os_version: None,
            os_features: Vec::new(),
            variant: variant.map(str::to_string),
        }
    }

    /// A platform from `os/arch[/variant]` (`--platform`), normalised.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let arch = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let p = Platform {
            architecture: arch.to_string(),
            os: os.to_lowercase(),
            os_version: None,
            os_features: Vec::new(),
            variant: variant.filter(|v| !v.is_empty()).map(str::to_string),
        };
        Some(p.normalized())
    }

    /// The same platform with architecture aliases and default variants resolved as
    /// containerd's `platforms.Normalize` does: `x86_64` → `amd64`, `aarch64` → `arm64`
    /// (variant `v8`), `armhf` → `arm/v7`, `armel` → `arm/v6`, `i386` → `386`.
    pub fn normalized(&self) -> Platform {
        let arch = self.architecture.to_lowercase();
        let variant = self.variant.as_deref().map(str::to_lowercase);
        let (arch, variant): (&str, Option<String>) = match arch.as_str() {
            "i386" => ("386", None),
            "x86_64" | "x86-64" | "amd64" => {
                ("amd64", variant.filter(|v| v != "v1" && !v.is_empty()))
            }
            "aarch64" | "arm64" => (
                "arm64",
                match variant.as_deref() {
                    None | Some("") | Some("8") | Some("v8") => Some("v8".to_string()),
                    _ => variant,
                },
            ),
            "armhf" => ("arm", Some("v7".to_string())),
            "armel" => ("arm", Some("v6".to_string())),
            "arm" => (
                "arm",
                match variant.as_deref() {
                    None | Some("") | Some("7") => Some("v7".to_string()),
                    Some("5") => Some("v5".to_string()),
                    Some("6") => Some("v6".to_string()),
                    Some("8") => Some("v8".to_string()),
                    _ => variant,
                },
            ),
            other => (other, variant.filter(|v| !v.is_empty())),
        };
        Platform {
            architecture: arch.to_string(),
            os: self.os.to_lowercase(),
            os_version: self.os_version.clone(),
            os_features: self.os_features.clone(),
            variant,
        }
    }

    /// `os/arch[/variant]`, as Docker prints platforms.
    pub fn to_os_arch_variant(&self) -> String {
        match self.variant.as_deref() {
            Some(v) if !v.is_empty() => format!("{}/{}/{v}", self.os, self.architecture),
            _ => format!("{}/{}", self.os, self.architecture),
        }
    }

    /// How well a manifest for `candidate` runs here: `None` when it does not, lower is
    /// better. The OS and architecture must be equal; then an equal variant beats a
    /// candidate without a variant, which beats (on arm) an older variant.
    pub fn match_rank(&self, candidate: &Platform) -> Option<u32> {
        let want = self.normalized();
        let raw_variant_empty = candidate.variant.as_deref().is_none_or(str::is_empty);
        let have = candidate.normalized();
        if want.os != have.os || want.architecture != have.architecture {
            return None;
        }
        if want.variant == have.variant {
            return Some(0);
        }
        if raw_variant_empty {
            return Some(1);
        }
        if want.architecture == "arm" {
            let n = |v: &Option<String>| {
                v.as_deref()
                    .and_then(|v| v.strip_prefix('v'))
                    .and_then(|n| n.parse::<u32>().ok())
            };
            if let (Some(w), Some(h)) = (n(&want.variant), n(&have.variant)) {
                if h < w {
                    return Some(1 + (w - h));
                }
            }
        }
        None
    }

    /// Whether a manifest for `candidate` runs on this platform.
    pub fn matches(&self, candidate: &Platform) -> bool {
        self.match_rank(candidate).is_some()
    }

    /// The best manifest for this platform among an index's `manifests`: the first of
    /// the best rank (see [`Platform::match_rank`]). Entries without a platform never
    /// match (attestation manifests carry `unknown/unknown`, which never matches either).
    pub fn select<'a>(&self, manifests: &'a [Descriptor]) -> Option<&'a Descriptor> {
        let mut best: Option<(u32, &Descriptor)> = None;
        for d in manifests {
            let Some(p) = &d.platform else { continue };
            if let Some(rank) = self.match_rank(p) {
                if best.is_none_or(|(r, _)| rank < r) {
                    best = Some((rank, d));
                }
            }
        }
        best.map(|(_, d)| d)
    }
}

/// The manifest of `index` to use on the host (see [`Platform::select`]).
pub fn select_host_manifest(index: &super::Index) -> Option<&Descriptor> {
    Platform::host().select(&index.manifests)
}

/// Go's `GOARCH` (and default variant) for a Rust `target_arch`.
fn go_arch(rust_arch: &str) -> (&str, Option<&str>) {
    match rust_arch {
        "x86_64" => ("amd64", None),
        "x86" => ("386", None),
        "aarch64" => ("arm64", Some("v8")),
        "arm" => ("arm", Some("v7")),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
        "powerpc64" => ("ppc64", None),
        "s390x" => ("s390x", None),
        "riscv64" => ("riscv64", None),
        "loongarch64" => ("loong64", None),
        "mips64" if cfg!(target_endian = "little") => ("mips64le", None),
        "mips64" => ("mips64", None),
        "mips" if cfg!(target_endian = "little") => ("mipsle", None),
        other => (other, None),
    }
}
