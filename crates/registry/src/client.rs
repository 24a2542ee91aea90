//! One registry's distribution API v2, over blocking HTTP (ureq + rustls).
//!
//! A [`Client`] pings `/v2/` once when it is made, which picks the scheme (HTTPS, then
//! plain HTTP for insecure registries, as Docker does) and learns the registry's
//! authentication challenge. Requests then carry the right `Authorization` up front:
//! nothing for an open registry, `Basic` credentials, or a Bearer token fetched from the
//! challenge's realm for the request's scopes and cached per scope set. A 401 in the middle
//! (an expired token, a challenge that changed) is answered by re-reading the challenge and
//! retrying once.
//!
//! The client is blocking and `Sync`: pulls and pushes move layers in parallel with plain
//! threads sharing one client (and its connection pool), which keeps the engine and the
//! store synchronous.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;

use base64::Engine as _;
use berth_image::spec::{mediatype, MAX_JSON_SIZE};
use berth_types::Digest;
use serde::Deserialize;

use crate::credentials::Credentials;
use crate::error::{RegistryError, Result};
use crate::hosts::Endpoint;

/// The user agent berth sends.
pub const USER_AGENT: &str = concat!("berth/", env!("CARGO_PKG_VERSION"));

/// Media types a pull accepts, most preferred first.
pub const MANIFEST_ACCEPT: &[&str] = &[
    mediatype::OCI_INDEX,
    mediatype::DOCKER_MANIFEST_LIST,
    mediatype::OCI_MANIFEST,
    mediatype::DOCKER_MANIFEST,
];

/// How the registry wants to be authenticated, from its `WWW-Authenticate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// An open registry.
    None,
    /// HTTP basic authentication.
    Basic,
    /// Docker's token authentication: fetch a Bearer token from `realm`.
    Bearer {
        /// The token server's URL.
        realm: String,
        /// The `service` parameter to pass.
        service: Option<String>,
    },
}

/// Parses a `WWW-Authenticate` header value.
pub fn parse_challenge(header: &str) -> Challenge {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Challenge::Basic;
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Challenge::None;
    }
    let params = parse_params(rest);
    match params.get("realm") {
        Some(realm) => Challenge::Bearer {
            realm: realm.clone(),
            service: params.get("service").cloned(),
        },
        None => Challenge::None,
    }
}

fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if chars.next().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n)
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// The scope to pull from `repo`.
pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

/// The scope to push to `repo`.
pub fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

struct AuthState {
    challenge: Challenge,
    tokens: HashMap<String, String>,
}

/// A manifest or index as fetched, verified against its digest.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    /// The raw bytes (the digest is over exactly these).
    pub bytes: Vec<u8>,
    /// The media type (`Content-Type`, or the document's own).
    pub media_type: String,
    /// Its digest.
    pub digest: Digest,
}

/// A blob download under way.
pub struct BlobStream {
    /// The body.
    pub reader: Box<dyn Read + Send + Sync>,
    /// Where in the blob the body starts (the requested offset when the registry honoured
    /// the range, else 0).
    pub start: u64,
    /// The blob's full size, when the registry said.
    pub total: Option<u64>,
}

/// Where a blob upload stands after asking for a cross-repository mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStart {
    /// The registry mounted the blob from the other repository: nothing to upload.
    Mounted,
    /// An upload session: send the bytes to this URL.
    Location(String),
}

/// A client of one registry.
pub struct Client {
    endpoint: Endpoint,
    agent: ureq::Agent,
    base: String,
    creds: Option<Credentials>,
    state: Mutex<AuthState>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

fn transport_reason(e: &ureq::Transport) -> String {
    // ureq's Display repeats the URL and the kind ("Network Error: Network Error: …");
    // keep its message and the innermost cause, which says what happened.
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = e.message() {
        parts.push(m.to_string());
    }
    let mut cause = std::error::Error::source(e);
    let mut innermost = None;
    while let Some(c) = cause {
        innermost = Some(c.to_string());
        cause = c.source();
    }
    if let Some(i) = innermost {
        if !parts.iter().any(|p| p.contains(&i)) {
            parts.push(i);
        }
    }
    if parts.is_empty() {
        parts.push(e.kind().to_string());
    }
    parts.join(": ")
}

/// Docker's wording of a registry's error body: `code in lower case: message`.
fn error_reason(resp: ureq::Response) -> String {
    let status = resp.status();
    let text = resp.status_text().to_string();
    let mut body = Vec::new();
    let _ = resp.into_reader().take(64 * 1024).read_to_end(&mut body);
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorItem>,
    }
    #[derive(Deserialize)]
    struct ErrorItem {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    if let Ok(e) = serde_json::from_slice::<Errors>(&body) {
        if let Some(first) = e.errors.first() {
            let code = first.code.replace('_', " ").to_lowercase();
            return if first.message.is_empty() {
                code
            } else {
                format!("{code}: {}", first.message)
            };
        }
    }
    let body = String::from_utf8_lossy(&body);
    let body = body.trim();
    if body.is_empty() || body.len() > 200 {
        format!("{status} {text}")
    } else {
        body.to_string()
    }
}

impl Client {
    /// Connects to the registry of `endpoint`: picks the scheme and learns its challenge.
    pub fn connect(endpoint: Endpoint, creds: Option<Credentials>) -> Result<Client> {
        let agent = ureq::AgentBuilder::new()
            .tls_config(endpoint.tls.clone())
            .timeout_connect(endpoint.connect_timeout)
            .timeout_read(std::time::Duration::from_secs(120))
            .timeout_write(std::time::Duration::from_secs(120))
            .max_idle_connections_per_host(16)
            .user_agent(USER_AGENT)
            .redirects(5)
            .build();
        let mut last = None;
        for scheme in &endpoint.schemes {
            let base = format!("{scheme}://{}", endpoint.api_host);
            let url = format!("{base}/v2/");
            let resp = match agent.get(&url).call() {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => {
                    last = Some(RegistryError::Unreachable {
                        method: "Get",
                        url,
                        reason: transport_reason(&t),
                    });
                    continue;
                }
            };
            let challenge = if resp.status() == 401 {
                resp.header("www-authenticate")
                    .map(parse_challenge)
                    .unwrap_or(Challenge::Basic)
            } else {
                Challenge::None
            };
            tracing::debug!(%base, ?challenge, "registry endpoint");
            return Ok(Client {
                endpoint,
                agent,
                base,
                creds,
                state: Mutex::new(AuthState {
                    challenge,
                    tokens: HashMap::new(),
                }),
            });
        }
        Err(last.unwrap_or_else(|| RegistryError::Unreachable {
            method: "Get",
            url: endpoint.api_host.clone(),
            reason: "no scheme to try".into(),
        }))
    }

    /// The base URL in use (`https://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The challenge the registry answered with.
    pub fn challenge(&self) -> Challenge {
        self.state
            .lock()
            .map(|s| s.challenge.clone())
            .unwrap_or(Challenge::None)
    }

    fn basic_header(creds: &Credentials) -> String {
        let raw = format!("{}:{}", creds.username, creds.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    /// Verifies the credentials (`login`): an open registry or accepted credentials pass.
    pub fn login(&self) -> Result<()> {
        let url = format!("{}/v2/", self.base);
        match self.challenge() {
            Challenge::None => Ok(()),
            Challenge::Basic => {
                let creds = self
                    .creds
                    .as_ref()
                    .ok_or_else(|| RegistryError::Unauthorized {
                        method: "Get",
                        url: url.clone(),
                        reason: "no basic auth credentials".into(),
                    })?;
                match self
                    .agent
                    .get(&url)
                    .set("Authorization", &Self::basic_header(creds))
                    .call()
                {
                    Ok(_) => Ok(()),
                    Err(ureq::Error::Status(_, r)) => Err(RegistryError::LoginFailed {
                        url,
                        status: format!("{} {}", r.status(), r.status_text()),
                    }),
                    Err(ureq::Error::Transport(t)) => Err(RegistryError::Unreachable {
                        method: "Get",
                        url,
                        reason: transport_reason(&t),
                    }),
                }
            }
            Challenge::Bearer { realm, service } => {
                self.fetch_token(&realm, service.as_deref(), &[])?;
                Ok(())
            }
        }
    }

    fn fetch_token(&self, realm: &str, service: Option<&str>, scopes: &[String]) -> Result<String> {
        let mut req = self.agent.get(realm);
        if let Some(s) = service {
            req = req.query("service", s);
        }
        for s in scopes {
            req = req.query("scope", s);
        }
        if let Some(c) = &self.creds {
            req = req
                .query("account", &c.username)
                .set("Authorization", &Self::basic_header(c));
        }
        let resp = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(code, r)) => {
                let reason = error_reason(r);
                return Err(if code == 401 || code == 403 {
                    RegistryError::Unauthorized {
                        method: "Get",
                        url: realm.to_string(),
                        reason,
                    }
                } else {
                    RegistryError::Status {
                        method: "Get",
                        url: realm.to_string(),
                        status: code,
                        reason,
                    }
                });
            }
            Err(ureq::Error::Transport(t)) => {
                return Err(RegistryError::Unreachable {
                    method: "Get",
                    url: realm.to_string(),
                    reason: transport_reason(&t),
                })
            }
        };
        #[derive(Deserialize)]
        struct Token {
            #[serde(default)]
            token: String,
            #[serde(default)]
            access_token: String,
        }
        let mut body = Vec::new();
        resp.into_reader()
            .take(1 << 20)
            .read_to_end(&mut body)
            .map_err(|e| RegistryError::Io {
                what: format!("read token from {realm}"),
                source: e,
            })?;
        let t: Token = serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
            what: format!("token from {realm}"),
            reason: e.to_string(),
        })?;
        let token = if t.token.is_empty() {
            t.access_token
        } else {
            t.token
        };
        if token.is_empty() {
            return Err(RegistryError::Protocol {
                what: format!("token from {realm}"),
                reason: "no token in the answer".into(),
            });
        }
        Ok(token)
    }

    fn authorization(&self, scopes: &[String], fresh: bool) -> Result<Option<String>> {
        let challenge = self.challenge();
        match challenge {
            Challenge::None => Ok(None),
            Challenge::Basic => Ok(self.creds.as_ref().map(Self::basic_header)),
            Challenge::Bearer { realm, service } => {
                let key = scopes.join(" ");
                if !fresh {
                    if let Some(t) = self
                        .state
                        .lock()
                        .ok()
                        .and_then(|s| s.tokens.get(&key).cloned())
                    {
                        return Ok(Some(format!("Bearer {t}")));
                    }
                }
                let t = self.fetch_token(&realm, service.as_deref(), scopes)?;
                if let Ok(mut s) = self.state.lock() {
                    s.tokens.insert(key, t.clone());
                }
                Ok(Some(format!("Bearer {t}")))
            }
        }
    }

    /// Sends a request built by `build` with the scopes' authorization; answers every HTTP
    /// status as a response, except a 401 that survives a retry with fresh authorization.
    fn send(
        &self,
        method: &'static str,
        url: &str,
        scopes: &[String],
        build: &dyn Fn(ureq::Request) -> std::result::Result<ureq::Response, ureq::Error>,
    ) -> Result<ureq::Response> {
        let mut fresh = false;
        loop {
            let mut req = self.agent.request(method, url);
            if let Some(h) = self.authorization(scopes, fresh)? {
                req = req.set("Authorization", &h);
            }
            let resp = match build(req) {
                Ok(r) => r,
                Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => {
                    return Err(RegistryError::Unreachable {
                        method: title(method),
                        url: url.to_string(),
                        reason: transport_reason(&t),
                    })
                }
            };
            if resp.status() != 401 {
                return Ok(resp);
            }
            let new = resp.header("www-authenticate").map(parse_challenge);
            let had_creds_header = !matches!(self.challenge(), Challenge::None);
            if fresh || (new.is_none() && had_creds_header) {
                let reason = error_reason(resp);
                let reason = if matches!(self.challenge(), Challenge::Basic) && self.creds.is_none()
                {
                    "no basic auth credentials".to_string()
                } else {
                    reason
                };
                return Err(RegistryError::Unauthorized {
                    method: title(method),
                    url: url.to_string(),
                    reason,
                });
            }
            if let (Some(c), Ok(mut s)) = (new, self.state.lock()) {
                s.challenge = c;
                s.tokens.clear();
            }
            fresh = true;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn status_error(&self, method: &'static str, url: &str, resp: ureq::Response) -> RegistryError {
        let status = resp.status();
        let reason = error_reason(resp);
        match status {
            403 => RegistryError::Forbidden {
                method,
                url: url.to_string(),
                reason,
            },
            _ => RegistryError::Status {
                method,
                url: url.to_string(),
                status,
                reason,
            },
        }
    }

    /// Fetches a manifest or index by tag or digest. `display` names it in errors
    /// (`127.0.0.1:5000/app:1`). The bytes are checked against the digest of a digest
    /// reference and against the registry's `Docker-Content-Digest`, and capped in size.
    pub fn manifest(&self, repo: &str, reference: &str, display: &str) -> Result<FetchedManifest> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let accept = MANIFEST_ACCEPT.join(", ");
        let scopes = [pull_scope(repo)];
        let resp = self.send("GET", &url, &scopes, &|r| r.set("Accept", &accept).call())?;
        match resp.status() {
            200 => {}
            404 => {
                return Err(RegistryError::NotFound {
                    what: format!("manifest for {display}"),
                    reason: error_reason(resp),
                })
            }
            _ => return Err(self.status_error("Get", &url, resp)),
        }
        if let Some(len) = resp
            .header("content-length")
            .and_then(|l| l.parse::<u64>().ok())
        {
            if len > MAX_JSON_SIZE as u64 {
                return Err(RegistryError::Protocol {
                    what: format!("manifest for {display}"),
                    reason: format!("too large: {len} bytes, the limit is {MAX_JSON_SIZE}"),
                });
            }
        }
        let content_type = resp
            .header("content-type")
            .map(|c| c.split(';').next().unwrap_or(c).trim().to_string())
            .unwrap_or_default();
        let header_digest = resp.header("docker-content-digest").map(str::to_string);
        let mut bytes = Vec::new();
        resp.into_reader()
            .take(MAX_JSON_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::Io {
                what: format!("read manifest for {display}"),
                source: e,
            })?;
        if bytes.len() > MAX_JSON_SIZE {
            return Err(RegistryError::Protocol {
                what: format!("manifest for {display}"),
                reason: format!("too large: over {MAX_JSON_SIZE} bytes"),
            });
        }
        let digest = Digest::of(&bytes);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            header_digest.filter(|h| h.starts_with("sha256:"))
        };
        if let Some(exp) = expected {
            if exp != digest.to_string() {
                return Err(RegistryError::DigestMismatch {
                    what: format!("manifest for {display}"),
                    expected: exp,
                    actual: digest.to_string(),
                });
            }
        }
        let known = |m: &str| mediatype::is_manifest(m) || mediatype::is_index(m);
        let media_type = if known(&content_type) {
            content_type
        } else {
            #[derive(Deserialize)]
            struct Probe {
                #[serde(default, rename = "mediaType")]
                media_type: Option<String>,
                #[serde(default, rename = "schemaVersion")]
                schema_version: Option<i64>,
                #[serde(default)]
                manifests: Option<serde_json::Value>,
            }
            let probe: Probe =
                serde_json::from_slice(&bytes).map_err(|e| RegistryError::Protocol {
                    what: format!("manifest for {display}"),
                    reason: format!("invalid JSON: {e}"),
                })?;
            match probe.media_type {
                Some(m) if known(&m) => m,
                Some(m) => {
                    return Err(RegistryError::MediaType {
                        what: format!("manifest for {display}"),
                        media_type: m,
                    })
                }
                None if probe.schema_version == Some(2) && probe.manifests.is_some() => {
                    mediatype::OCI_INDEX.to_string()
                }
                None if probe.schema_version == Some(2) && content_type.is_empty()
                    || content_type == "application/json" =>
                {
                    mediatype::OCI_MANIFEST.to_string()
                }
                None => {
                    return Err(RegistryError::MediaType {
                        what: format!("manifest for {display}"),
                        media_type: content_type,
                    })
                }
            }
        };
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// The size of a blob when the repository has it (HEAD), else `None`.
    pub fn blob_size(&self, repo: &str, digest: &Digest, scopes: &[String]) -> Result<Option<u64>> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self.send("HEAD", &url, scopes, &|r| r.call())?;
        match resp.status() {
            200 => Ok(Some(
                resp.header("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0),
            )),
            404 => Ok(None),
            _ => Err(self.status_error("Head", &url, resp)),
        }
    }

    /// Starts downloading a blob from `offset` (a `Range` request when non-zero).
    pub fn open_blob(&self, repo: &str, digest: &Digest, offset: u64) -> Result<BlobStream> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let scopes = [pull_scope(repo)];
        let range = format!("bytes={offset}-");
        let resp = self.send("GET", &url, &scopes, &|r| {
            if offset > 0 {
                r.set("Range", &range).call()
            } else {
                r.call()
            }
        })?;
        match resp.status() {
            200 => {
                let total = resp.header("content-length").and_then(|l| l.parse().ok());
                Ok(BlobStream {
                    reader: resp.into_reader(),
                    start: 0,
                    total,
                })
            }
            206 => {
                // Content-Range: bytes start-end/total
                let cr = resp.header("content-range").unwrap_or("").to_string();
                let start = cr
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse::<u64>().ok());
                let total = cr.rsplit('/').next().and_then(|t| t.parse::<u64>().ok());
                match start {
                    Some(s) if s == offset => Ok(BlobStream {
                        reader: resp.into_reader(),
                        start: s,
                        total,
                    }),
                    _ => Err(RegistryError::Protocol {
                        what: format!("blob {digest}"),
                        reason: format!("unexpected Content-Range {cr:?} for offset {offset}"),
                    }),
                }
            }
            416 => self.open_blob(repo, digest, 0),
            404 => Err(RegistryError::NotFound {
                what: format!("blob {digest}"),
                reason: error_reason(resp),
            }),
            _ => Err(self.status_error("Get", &url, resp)),
        }
    }

    /// Reads a small blob (an image config) whole, verifying its digest.
    pub fn blob_bytes(&self, repo: &str, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let stream = self.open_blob(repo, digest, 0)?;
        let mut bytes = Vec::new();
        stream
            .reader
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::Io {
                what: format!("read blob {digest}"),
                source: e,
            })?;
        if bytes.len() as u64 > limit {
            return Err(RegistryError::Protocol {
                what: format!("blob {digest}"),
                reason: format!("too large: over {limit} bytes"),
            });
        }
        let actual = Digest::of(&bytes);
        if &actual != digest {
            return Err(RegistryError::DigestMismatch {
                what: format!("blob {digest}"),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(bytes)
    }

    fn location(&self, resp: &ureq::Response, what: &str) -> Result<String> {
        let loc = resp
            .header("location")
            .ok_or_else(|| RegistryError::Protocol {
                what: what.to_string(),
                reason: "no Location in the registry's answer".into(),
            })?;
        Ok(
            if loc.starts_with("http://") || loc.starts_with("https://") {
                loc.to_string()
            } else if loc.starts_with('/') {
                format!("{}{loc}", self.base)
            } else {
                format!("{}/{loc}", self.base)
            },
        )
    }

    /// Starts an upload of `digest` to `repo`, asking for a mount from `from` (a repository
    /// of the same registry) when given.
    pub fn start_upload(
        &self,
        repo: &str,
        digest: &Digest,
        from: Option<&str>,
    ) -> Result<UploadStart> {
        let mut scopes = vec![push_scope(repo)];
        let url = match from {
            Some(f) => {
                scopes.push(pull_scope(f));
                self.url(&format!(
                    "/v2/{repo}/blobs/uploads/?mount={digest}&from={f}"
                ))
            }
            None => self.url(&format!("/v2/{repo}/blobs/uploads/")),
        };
        let resp = self.send("POST", &url, &scopes, &|r| {
            r.set("Content-Length", "0").send_bytes(&[])
        })?;
        match resp.status() {
            201 if from.is_some() => Ok(UploadStart::Mounted),
            202 | 201 => Ok(UploadStart::Location(
                self.location(&resp, &format!("upload of {digest}"))?,
            )),
            _ => Err(self.status_error("Post", &url, resp)),
        }
    }

    /// Uploads a blob of `size` bytes to an upload session: one PUT when `chunk` is `None`
    /// or the blob fits in one chunk, else PATCHes of `chunk` bytes then a closing PUT.
    /// `open(offset)` gives the content from `offset`; `progress` gets byte counts.
    #[allow(clippy::too_many_arguments)]
    pub fn upload(
        &self,
        repo: &str,
        location: String,
        digest: &Digest,
        size: u64,
        chunk: Option<u64>,
        open: &(dyn Fn(u64) -> std::io::Result<Box<dyn Read + Send>> + Sync),
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<()> {
        let scopes = [push_scope(repo)];
        let with_digest = |loc: &str| {
            let sep = if loc.contains('?') { '&' } else { '?' };
            format!(
                "{loc}{sep}digest={}",
                digest.to_string().replace(':', "%3A")
            )
        };
        let io_err = |e: std::io::Error| RegistryError::Io {
            what: format!("read blob {digest}"),
            source: e,
        };
        let mut location = location;
        let chunk = chunk.filter(|c| *c > 0 && *c < size);
        if let Some(chunk) = chunk {
            let mut offset = 0u64;
            while offset < size {
                let n = chunk.min(size - offset);
                let end = offset + n - 1;
                let reader = open(offset).map_err(io_err)?;
                let body = std::sync::Mutex::new(Some(Counting {
                    inner: reader.take(n),
                    progress,
                }));
                let resp = self.send("PATCH", &location, &scopes, &|r| {
                    let b = body.lock().ok().and_then(|mut b| b.take());
                    match b {
                        Some(b) => r
                            .set("Content-Type", "application/octet-stream")
                            .set("Content-Length", &n.to_string())
                            .set("Content-Range", &format!("{offset}-{end}"))
                            .send(b),
                        None => r
                            .set("Content-Type", "application/octet-stream")
                            .set("Content-Length", &n.to_string())
                            .set("Content-Range", &format!("{offset}-{end}"))
                            .send(open(offset).map_err(ureq::Error::from)?.take(n)),
                    }
                })?;
                if resp.status() != 202 {
                    return Err(self.status_error("Patch", &location, resp));
                }
                location = self.location(&resp, &format!("upload of {digest}"))?;
                offset += n;
            }
            let url = with_digest(&location);
            let resp = self.send("PUT", &url, &scopes, &|r| {
                r.set("Content-Length", "0").send_bytes(&[])
            })?;
            return match resp.status() {
                201 | 204 => Ok(()),
                _ => Err(self.upload_error(&url, digest, resp)),
            };
        }
        let url = with_digest(&location);
        let reader = open(0).map_err(io_err)?;
        let body = std::sync::Mutex::new(Some(Counting {
            inner: reader,
            progress,
        }));
        let resp = self.send("PUT", &url, &scopes, &|r| {
            let r = r
                .set("Content-Type", "application/octet-stream")
                .set("Content-Length", &size.to_string());
            match body.lock().ok().and_then(|mut b| b.take()) {
                Some(b) => r.send(b),
                None => r.send(open(0).map_err(ureq::Error::from)?),
            }
        })?;
        match resp.status() {
            201 | 204 => Ok(()),
            _ => Err(self.upload_error(&url, digest, resp)),
        }
    }

    fn upload_error(&self, url: &str, digest: &Digest, resp: ureq::Response) -> RegistryError {
        if resp.status() == 400 {
            let reason = error_reason(resp);
            if reason.contains("digest") {
                return RegistryError::DigestMismatch {
                    what: format!("upload of blob {digest}"),
                    expected: digest.to_string(),
                    actual: reason,
                };
            }
            return RegistryError::Status {
                method: "Put",
                url: url.to_string(),
                status: 400,
                reason,
            };
        }
        self.status_error("Put", url, resp)
    }

    /// Stores a manifest under `reference` (a tag or its digest); returns its digest.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let scopes = [push_scope(repo)];
        let resp = self.send("PUT", &url, &scopes, &|r| {
            r.set("Content-Type", media_type).send_bytes(bytes)
        })?;
        match resp.status() {
            200..=202 => {}
            _ => return Err(self.status_error("Put", &url, resp)),
        }
        let digest = Digest::of(bytes);
        if let Some(h) = resp.header("docker-content-digest") {
            if h != digest.to_string() {
                return Err(RegistryError::DigestMismatch {
                    what: format!("manifest {repo}:{reference}"),
                    expected: digest.to_string(),
                    actual: h.to_string(),
                });
            }
        }
        Ok(digest)
    }

    /// Every tag of a repository.
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut out = Vec::new();
        let mut url = self.url(&format!("/v2/{repo}/tags/list"));
        let scopes = [pull_scope(repo)];
        for _ in 0..1000 {
            let resp = self.send("GET", &url, &scopes, &|r| r.call())?;
            match resp.status() {
                200 => {}
                404 => {
                    return Err(RegistryError::NotFound {
                        what: format!("repository {repo}"),
                        reason: error_reason(resp),
                    })
                }
                _ => return Err(self.status_error("Get", &url, resp)),
            }
            let next = next_link(&resp);
            let t: Tags = read_json(resp, &format!("tags of {repo}"))?;
            out.extend(t.tags.unwrap_or_default());
            match next {
                Some(n) => url = self.resolve(&n),
                None => break,
            }
        }
        Ok(out)
    }

    /// Every repository of the registry (`/v2/_catalog`).
    pub fn catalog(&self) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let mut out = Vec::new();
        let mut url = self.url("/v2/_catalog?n=1000");
        let scopes = ["registry:catalog:*".to_string()];
        for _ in 0..1000 {
            let resp = self.send("GET", &url, &scopes, &|r| r.call())?;
            match resp.status() {
                200 => {}
                404 => {
                    return Err(RegistryError::NotFound {
                        what: format!("catalog of {}", self.endpoint.name),
                        reason: error_reason(resp),
                    })
                }
                _ => return Err(self.status_error("Get", &url, resp)),
            }
            let next = next_link(&resp);
            let c: Catalog = read_json(resp, "catalog")?;
            out.extend(c.repositories);
            match next {
                Some(n) => url = self.resolve(&n),
                None => break,
            }
        }
        Ok(out)
    }

    /// Docker Hub's v1 search; `None` when the registry does not offer it.
    pub fn search_v1(&self, term: &str, limit: usize) -> Result<Option<serde_json::Value>> {
        let url = self.url("/v1/search");
        let n = limit.to_string();
        let resp = self.send("GET", &url, &[], &|r| {
            r.query("q", term).query("n", &n).call()
        })?;
        match resp.status() {
            200 => Ok(Some(read_json(resp, "search results")?)),
            404 | 405 => Ok(None),
            _ => Err(self.status_error("Get", &url, resp)),
        }
    }

    fn resolve(&self, link: &str) -> String {
        if link.starts_with("http") {
            link.to_string()
        } else {
            format!("{}{link}", self.base)
        }
    }
}

fn title(method: &'static str) -> &'static str {
    match method {
        "GET" => "Get",
        "HEAD" => "Head",
        "POST" => "Post",
        "PUT" => "Put",
        "PATCH" => "Patch",
        "DELETE" => "Delete",
        m => m,
    }
}

fn next_link(resp: &ureq::Response) -> Option<String> {
    let link = resp.header("link")?;
    let start = link.find('<')? + 1;
    let end = link[start..].find('>')? + start;
    link[end..]
        .contains("rel=\"next\"")
        .then(|| link[start..end].to_string())
}

fn read_json<T: serde::de::DeserializeOwned>(resp: ureq::Response, what: &str) -> Result<T> {
    let mut body = Vec::new();
    resp.into_reader()
        .take(64 << 20)
        .read_to_end(&mut body)
        .map_err(|e| RegistryError::Io {
            what: format!("read {what}"),
            source: e,
        })?;
    serde_json::from_slice(&body).map_err(|e| RegistryError::Protocol {
        what: what.to_string(),
        reason: e.to_string(),
    })
}

/// A reader that reports the bytes it passes.
struct Counting<'a, R> {
    inner: R,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(parse_challenge("Basic realm=\"x\""), Challenge::Basic);
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#
            ),
            Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            }
        );
        assert_eq!(parse_challenge("Bearer error=\"x\""), Challenge::None);
    }

    #[test]
    fn scopes() {
        assert_eq!(pull_scope("library/x"), "repository:library/x:pull");
        assert_eq!(push_scope("a/b"), "repository:a/b:pull,push");
    }
}
