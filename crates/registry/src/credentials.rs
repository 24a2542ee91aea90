//! The credential store, compatible with the docker CLI's `~/.docker/config.json`.
//!
//! Credentials live in `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`):
//! `"auths": {"<server>": {"auth": base64("user:password")}}`. When `credHelpers` names a
//! helper for the server, or `credsStore` names a default one, secrets go to the
//! `docker-credential-<helper>` program instead (its `get`/`store`/`erase` protocol: the
//! server URL or a JSON `{ServerURL, Username, Secret}` on stdin, JSON on stdout), and
//! `auths` only records the server with an empty entry, as the docker CLI does. Every other
//! key of the file is kept as it was; the file is replaced atomically, mode 0600.
//! The crate `docker_credential` reads this format but cannot write it, so berth owns both.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::error::{RegistryError, Result};
use crate::hosts::DOCKER_HUB_AUTH_KEY;

/// A username and secret for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (`<token>` for an identity token).
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The docker CLI's configuration file.
#[derive(Debug, Clone)]
pub struct CredentialStore {
    path: PathBuf,
}

/// Turns a server key as users and files spell it (`https://host:5000/v2/`, `host:5000`)
/// into the registry host, as the docker CLI's `ConvertToHostname` does.
pub fn convert_to_hostname(server: &str) -> String {
    let s = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    s.split('/').next().unwrap_or(s).to_string()
}

/// The `config.json` key of a server named by a user (`login SERVER`) or a reference's
/// domain: Docker Hub is always `https://index.docker.io/v1/`.
pub fn server_key(server: &str) -> String {
    let host = convert_to_hostname(server);
    if matches!(
        host.as_str(),
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    ) {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        host
    }
}

impl CredentialStore {
    /// The store at `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    pub fn from_env() -> CredentialStore {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| PathBuf::from("/root"))
                    .join(".docker")
            });
        CredentialStore {
            path: dir.join("config.json"),
        }
    }

    /// The store at an explicit path.
    pub fn at(path: &Path) -> CredentialStore {
        CredentialStore {
            path: path.to_path_buf(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, reason: impl Into<String>) -> RegistryError {
        RegistryError::Credentials {
            path: self.path.display().to_string(),
            reason: reason.into(),
        }
    }

    fn load(&self) -> Result<Map<String, Value>> {
        match std::fs::read(&self.path) {
            Ok(b) if b.iter().all(|c| c.is_ascii_whitespace()) => Ok(Map::new()),
            Ok(b) => match serde_json::from_slice::<Value>(&b) {
                Ok(Value::Object(m)) => Ok(m),
                Ok(_) => Err(self.err("not a JSON object")),
                Err(e) => Err(self.err(format!("invalid JSON: {e}"))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
            Err(e) => Err(self.err(e.to_string())),
        }
    }

    fn save(&self, map: &Map<String, Value>) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| self.err(e.to_string()))?;
        let mut tmp = tempfile_in(dir).map_err(|e| self.err(e.to_string()))?;
        let text = serde_json::to_string_pretty(&Value::Object(map.clone()))
            .map_err(|e| self.err(e.to_string()))?;
        tmp.1
            .write_all(text.as_bytes())
            .and_then(|_| tmp.1.write_all(b"\n"))
            .and_then(|_| tmp.1.sync_all())
            .map_err(|e| {
                let _ = std::fs::remove_file(&tmp.0);
                self.err(e.to_string())
            })?;
        std::fs::rename(&tmp.0, &self.path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp.0);
            self.err(e.to_string())
        })?;
        Ok(())
    }

    fn helper_for(map: &Map<String, Value>, key: &str) -> Option<String> {
        let host = convert_to_hostname(key);
        map.get("credHelpers")
            .and_then(|h| h.as_object())
            .and_then(|h| h.get(key).or_else(|| h.get(&host)))
            .and_then(|v| v.as_str())
            .or_else(|| map.get("credsStore").and_then(|v| v.as_str()))
            .filter(|s| !s.is_empty())
            .map(String::from)
    }

    /// The credentials stored for `server` (a `config.json` key, see [`server_key`]).
    pub fn get(&self, server: &str) -> Result<Option<Credentials>> {
        let key = server_key(server);
        let map = self.load()?;
        if let Some(helper) = Self::helper_for(&map, &key) {
            return helper_get(&helper, &key);
        }
        let Some(auths) = map.get("auths").and_then(|a| a.as_object()) else {
            return Ok(None);
        };
        let host = convert_to_hostname(&key);
        let entry = auths.get(&key).or_else(|| {
            auths
                .iter()
                .find(|(k, _)| server_key(k) == key || convert_to_hostname(k) == host)
                .map(|(_, v)| v)
        });
        let Some(entry) = entry else { return Ok(None) };
        if let Some(token) = entry.get("identitytoken").and_then(|t| t.as_str()) {
            if !token.is_empty() {
                return Ok(Some(Credentials {
                    username: "<token>".into(),
                    password: token.to_string(),
                }));
            }
        }
        if let Some(auth) = entry.get("auth").and_then(|a| a.as_str()) {
            if auth.is_empty() {
                return Ok(None);
            }
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|e| self.err(format!("invalid auth for {key}: {e}")))?;
            let text = String::from_utf8(raw)
                .map_err(|_| self.err(format!("invalid auth for {key}: not UTF-8")))?;
            let (u, p) = text
                .split_once(':')
                .ok_or_else(|| self.err(format!("invalid auth for {key}: no ':'")))?;
            return Ok(Some(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
        if let (Some(u), Some(p)) = (
            entry.get("username").and_then(|v| v.as_str()),
            entry.get("password").and_then(|v| v.as_str()),
        ) {
            return Ok(Some(Credentials {
                username: u.into(),
                password: p.into(),
            }));
        }
        Ok(None)
    }

    /// Stores credentials for `server`, in its helper when one is configured.
    pub fn store(&self, server: &str, creds: &Credentials) -> Result<()> {
        let key = server_key(server);
        let mut map = self.load()?;
        let entry = if let Some(helper) = Self::helper_for(&map, &key) {
            helper_store(&helper, &key, creds)?;
            json!({})
        } else {
            let auth = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", creds.username, creds.password));
            json!({ "auth": auth })
        };
        let auths = map
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        auths
            .as_object_mut()
            .expect("auths is an object")
            .insert(key, entry);
        self.save(&map)
    }

    /// Removes the credentials of `server`; returns whether there were any.
    pub fn erase(&self, server: &str) -> Result<bool> {
        let key = server_key(server);
        let mut map = self.load()?;
        let mut found = false;
        if let Some(helper) = Self::helper_for(&map, &key) {
            found |= helper_erase(&helper, &key)?;
        }
        if let Some(auths) = map.get_mut("auths").and_then(|a| a.as_object_mut()) {
            let host = convert_to_hostname(&key);
            let keys: Vec<String> = auths
                .keys()
                .filter(|k| **k == key || server_key(k) == key || convert_to_hostname(k) == host)
                .cloned()
                .collect();
            for k in keys {
                auths.remove(&k);
                found = true;
            }
        }
        if found {
            self.save(&map)?;
        }
        Ok(found)
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    for i in 0..100u32 {
        let p = dir.join(format!(".config.json.{}.{}.tmp", std::process::id(), i));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("no free temporary name"))
}

fn run_helper(helper: &str, verb: &str, input: &str) -> Result<(bool, String)> {
    let prog = format!("docker-credential-{helper}");
    let err = |reason: String| RegistryError::Credentials {
        path: prog.clone(),
        reason,
    };
    let mut child = Command::new(&prog)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| err(format!("cannot run the credential helper: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| err(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((out.status.success(), stdout))
}

fn helper_get(helper: &str, key: &str) -> Result<Option<Credentials>> {
    let (ok, out) = run_helper(helper, "get", key)?;
    if !ok {
        if out.contains("credentials not found") {
            return Ok(None);
        }
        return Err(RegistryError::Credentials {
            path: format!("docker-credential-{helper}"),
            reason: out,
        });
    }
    let v: Value = serde_json::from_str(&out).map_err(|e| RegistryError::Credentials {
        path: format!("docker-credential-{helper}"),
        reason: format!("invalid answer: {e}"),
    })?;
    let user = v.get("Username").and_then(|u| u.as_str()).unwrap_or("");
    let secret = v.get("Secret").and_then(|u| u.as_str()).unwrap_or("");
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: user.to_string(),
        password: secret.to_string(),
    }))
}

fn helper_store(helper: &str, key: &str, creds: &Credentials) -> Result<()> {
    let input = json!({"ServerURL": key, "Username": creds.username, "Secret": creds.password});
    let (ok, out) = run_helper(helper, "store", &input.to_string())?;
    if !ok {
        return Err(RegistryError::Credentials {
            path: format!("docker-credential-{helper}"),
            reason: out,
        });
    }
    Ok(())
}

fn helper_erase(helper: &str, key: &str) -> Result<bool> {
    let (ok, out) = run_helper(helper, "erase", key)?;
    if !ok && !out.contains("credentials not found") {
        return Err(RegistryError::Credentials {
            path: format!("docker-credential-{helper}"),
            reason: out,
        });
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_get_erase_keeps_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"psFormat": "x", "auths": {"other:1": {"auth": "YTpi"}}}"#,
        )
        .unwrap();
        let s = CredentialStore::at(&path);
        let c = Credentials {
            username: "u".into(),
            password: "p:w".into(),
        };
        s.store("https://myreg:5000/v2/", &c).unwrap();
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["psFormat"], "x");
        assert_eq!(v["auths"]["myreg:5000"]["auth"], "dTpwOnc=");
        assert_eq!(s.get("myreg:5000").unwrap(), Some(c));
        assert_eq!(s.get("other:1").unwrap().unwrap().username, "a".to_string());
        assert!(s.erase("myreg:5000").unwrap());
        assert!(!s.erase("myreg:5000").unwrap());
        assert_eq!(s.get("myreg:5000").unwrap(), None);
    }

    #[test]
    fn docker_hub_key() {
        assert_eq!(server_key("docker.io"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(
            server_key("https://index.docker.io/v1/"),
            DOCKER_HUB_AUTH_KEY
        );
        assert_eq!(server_key("http://localhost:5000"), "localhost:5000");
    }

    #[test]
    fn malformed_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{nope").unwrap();
        let e = CredentialStore::at(&path).get("x").unwrap_err();
        assert!(e.to_string().contains("invalid JSON"), "{e}");
    }
}
