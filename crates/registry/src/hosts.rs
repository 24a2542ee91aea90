//! Where a registry is and how to talk to it: scheme, TLS trust, insecure registries.
//!
//! Docker's rules, kept: a registry is *secure* (HTTPS with verified certificates) unless it
//! is on a loopback address (`localhost`, `127.0.0.0/8`, `::1`) or listed as insecure; an
//! insecure registry is tried over HTTPS without verification and then over plain HTTP.
//! Per-registry CAs come from `certs.d` directories named after `host[:port]`, as Docker's
//! `/etc/docker/certs.d/<host:port>/*.crt`. One deliberate difference: a registry that has a
//! `certs.d` directory is always verified against it, even on loopback, since whoever put a
//! CA there asked for verification (this is also what lets tests check a bad certificate).
//!
//! Configuration, read by [`Settings::from_env`]:
//! - `BERTH_INSECURE_REGISTRIES`: comma-separated `host[:port]` or IPv4 CIDR entries;
//! - the `"insecure-registries"` list of a JSON file, `$BERTH_DAEMON_CONFIG` or
//!   `/etc/berth/daemon.json` (the shape of Docker's `daemon.json`);
//! - certificate directories, first match wins: `$BERTH_CERTS_D`, `$BERTH_ROOT/certs.d`,
//!   `/etc/berth/certs.d`, `/etc/docker/certs.d`, `/etc/containers/certs.d`; in the
//!   registry's directory, `*.crt` are CAs and `NAME.cert` with `NAME.key` a client
//!   certificate, as Docker reads them.
//! - `BERTH_REGISTRY_TIMEOUT`: connect timeout in seconds (default 15).

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject;

use crate::error::{RegistryError, Result};

/// Docker Hub's name in references.
pub const DOCKER_HUB: &str = "docker.io";
/// Where Docker Hub's registry API is.
pub const DOCKER_HUB_API: &str = "registry-1.docker.io";
/// Docker Hub's key in `config.json` (`auths`), as the docker CLI writes it.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";
/// Docker Hub's v1 index (search).
pub const DOCKER_HUB_INDEX: &str = "index.docker.io";

/// Registry settings shared by every connection of a process.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Registries (`host[:port]`) or IPv4 networks (`a.b.c.d/n`) treated as insecure.
    pub insecure: Vec<String>,
    /// Directories holding `<host[:port]>/*.crt` CA files.
    pub certs_dirs: Vec<PathBuf>,
    /// Connect timeout.
    pub connect_timeout: Option<Duration>,
}

impl Settings {
    /// Reads the settings from the environment and the daemon.json-style file (see the
    /// module documentation).
    pub fn from_env() -> Settings {
        let mut insecure: Vec<String> = std::env::var("BERTH_INSECURE_REGISTRIES")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let daemon = std::env::var_os("BERTH_DAEMON_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/etc/berth/daemon.json"));
        if let Ok(bytes) = std::fs::read(&daemon) {
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(v) => {
                    if let Some(list) = v.get("insecure-registries").and_then(|l| l.as_array()) {
                        insecure.extend(list.iter().filter_map(|s| s.as_str().map(String::from)));
                    }
                }
                Err(e) => {
                    tracing::warn!(path = %daemon.display(), error = %e, "ignoring malformed daemon config")
                }
            }
        }
        let mut certs_dirs = Vec::new();
        if let Some(d) = std::env::var_os("BERTH_CERTS_D").filter(|d| !d.is_empty()) {
            certs_dirs.push(PathBuf::from(d));
        }
        let root = std::env::var_os("BERTH_ROOT")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/lib/berth"));
        certs_dirs.push(root.join("certs.d"));
        for d in [
            "/etc/berth/certs.d",
            "/etc/docker/certs.d",
            "/etc/containers/certs.d",
        ] {
            certs_dirs.push(PathBuf::from(d));
        }
        let connect_timeout = std::env::var("BERTH_REGISTRY_TIMEOUT")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64);
        Settings {
            insecure,
            certs_dirs,
            connect_timeout,
        }
    }

    /// Whether `host` (`host[:port]`, as in a reference) is insecure: loopback, or listed.
    pub fn is_insecure(&self, host: &str) -> bool {
        let name = host_without_port(host);
        if name == "localhost" {
            return true;
        }
        let ip = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .ok();
        if ip.is_some_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.insecure.iter().any(|entry| {
            if entry == host || entry == name {
                return true;
            }
            match (entry.split_once('/'), ip) {
                (Some((net, bits)), Some(IpAddr::V4(ip))) => {
                    match (net.parse::<Ipv4Addr>(), bits.parse::<u32>()) {
                        (Ok(net), Ok(bits)) if bits <= 32 => {
                            let mask = if bits == 0 {
                                0
                            } else {
                                u32::MAX << (32 - bits)
                            };
                            u32::from(ip) & mask == u32::from(net) & mask
                        }
                        _ => false,
                    }
                }
                _ => false,
            }
        })
    }

    /// The `certs.d` directory of `host`, if one exists.
    pub fn certs_dir(&self, host: &str) -> Option<PathBuf> {
        self.certs_dirs
            .iter()
            .map(|d| d.join(host))
            .find(|d| d.is_dir())
    }
}

/// `host` without its `:port`.
pub fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

/// How to reach one registry.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The registry as references name it (`docker.io`, `127.0.0.1:5000`).
    pub name: String,
    /// The host serving the API (`registry-1.docker.io` for Docker Hub).
    pub api_host: String,
    /// The key of its credentials in `config.json`.
    pub auth_key: String,
    /// Schemes to try, in order (`https`, then `http` for insecure registries).
    pub schemes: Vec<&'static str>,
    /// The TLS configuration for `https`.
    pub tls: Arc<rustls::ClientConfig>,
    /// The connect timeout.
    pub connect_timeout: Duration,
}

impl Endpoint {
    /// The endpoint of the registry a reference names (`docker.io`, `host:port`).
    pub fn for_registry(name: &str, settings: &Settings) -> Result<Endpoint> {
        let (api_host, auth_key) = if name == DOCKER_HUB || name == DOCKER_HUB_INDEX {
            (DOCKER_HUB_API.to_string(), DOCKER_HUB_AUTH_KEY.to_string())
        } else {
            (name.to_string(), name.to_string())
        };
        Self::for_host(name, &api_host, &auth_key, settings)
    }

    /// The endpoint of Docker Hub's v1 index (for `search`), or of another registry's.
    pub fn for_index(name: &str, settings: &Settings) -> Result<Endpoint> {
        if name == DOCKER_HUB || name == DOCKER_HUB_INDEX {
            Self::for_host(DOCKER_HUB, DOCKER_HUB_INDEX, DOCKER_HUB_AUTH_KEY, settings)
        } else {
            Self::for_registry(name, settings)
        }
    }

    fn for_host(
        name: &str,
        api_host: &str,
        auth_key: &str,
        settings: &Settings,
    ) -> Result<Endpoint> {
        let certs = settings.certs_dir(name);
        let insecure = settings.is_insecure(name) && certs.is_none();
        let tls = if insecure {
            no_verify_config()
        } else {
            verified_config(certs.as_deref())?
        };
        Ok(Endpoint {
            name: name.to_string(),
            api_host: api_host.to_string(),
            auth_key: auth_key.to_string(),
            schemes: if insecure {
                vec!["https", "http"]
            } else {
                vec!["https"]
            },
            tls,
            connect_timeout: settings.connect_timeout.unwrap_or(Duration::from_secs(15)),
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config trusting the system's CAs, Mozilla's bundle, and the `*.crt` files of
/// `certs_dir`.
fn verified_config(certs_dir: Option<&Path>) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    if let Ok(iter) = CertificateDer::pem_file_iter(system) {
        for c in iter.flatten() {
            let _ = roots.add(c);
        }
    }
    if let Some(dir) = certs_dir {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| RegistryError::Tls {
                path: dir.display().to_string(),
                reason: e.to_string(),
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
            .collect();
        entries.sort();
        for path in entries {
            let bad = |reason: String| RegistryError::Tls {
                path: path.display().to_string(),
                reason,
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&path)
                .map_err(|e| bad(e.to_string()))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| bad(e.to_string()))?;
            if certs.is_empty() {
                return Err(bad("no PEM certificate found".into()));
            }
            for c in certs {
                roots.add(c).map_err(|e| bad(e.to_string()))?;
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| RegistryError::Tls {
            path: "rustls".into(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots);
    let config = match certs_dir.map(client_identity).transpose()?.flatten() {
        Some((chain, key, path)) => {
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| RegistryError::Tls {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                })?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

type Identity = (
    Vec<CertificateDer<'static>>,
    rustls::pki_types::PrivateKeyDer<'static>,
    PathBuf,
);

/// A client certificate of a `certs.d` directory: `NAME.cert` with its `NAME.key`, as
/// Docker reads them (a `.cert` without its key, or the reverse, is an error).
fn client_identity(dir: &Path) -> Result<Option<Identity>> {
    let mut certs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| RegistryError::Tls {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cert"))
        .collect();
    certs.sort();
    let Some(cert) = certs.into_iter().next() else {
        return Ok(None);
    };
    let key = cert.with_extension("key");
    let bad = |p: &Path, reason: String| RegistryError::Tls {
        path: p.display().to_string(),
        reason,
    };
    if !key.exists() {
        return Err(bad(&cert, format!("missing key {}", key.display())));
    }
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .map_err(|e| bad(&cert, e.to_string()))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad(&cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(bad(&cert, "no PEM certificate found".into()));
    }
    let pk = rustls::pki_types::PrivateKeyDer::from_pem_file(&key)
        .map_err(|e| bad(&key, e.to_string()))?;
    Ok(Some((chain, pk, cert)))
}

/// A client config that accepts any certificate (insecure registries only).
fn no_verify_config() -> Arc<rustls::ClientConfig> {
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

/// Accepts any server certificate, still checking handshake signatures.
#[derive(Debug)]
struct AcceptAny(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let s = Settings {
            insecure: vec!["myreg:5000".into(), "10.1.0.0/16".into()],
            ..Default::default()
        };
        assert!(s.is_insecure("localhost:5000"));
        assert!(s.is_insecure("127.0.0.1:5000"));
        assert!(s.is_insecure("127.3.2.1"));
        assert!(s.is_insecure("[::1]:5000"));
        assert!(s.is_insecure("myreg:5000"));
        assert!(!s.is_insecure("myreg:5001"));
        assert!(s.is_insecure("10.1.200.3:443"));
        assert!(!s.is_insecure("10.2.0.1"));
        assert!(!s.is_insecure("docker.io"));
    }

    #[test]
    fn docker_hub_endpoint() {
        let e = Endpoint::for_registry("docker.io", &Settings::default()).unwrap();
        assert_eq!(e.api_host, DOCKER_HUB_API);
        assert_eq!(e.auth_key, DOCKER_HUB_AUTH_KEY);
        assert_eq!(e.schemes, vec!["https"]);
        let l = Endpoint::for_registry("127.0.0.1:5000", &Settings::default()).unwrap();
        assert_eq!(l.schemes, vec!["https", "http"]);
    }

    #[test]
    fn host_port_split() {
        assert_eq!(host_without_port("a.b:5000"), "a.b");
        assert_eq!(host_without_port("a.b"), "a.b");
        assert_eq!(host_without_port("[::1]:5000"), "::1");
    }
}
