//! Test registries: Debian's `docker-registry` (distribution) started per test on
//! 127.0.0.1 with a free port, its own storage and config (plain HTTP, or TLS with a CA made
//! by the test with openssl, with htpasswd or token auth), killed by pid on drop; a
//! recording TCP proxy (to see `Range` requests); a fake registry serving canned answers
//! (malformed documents); and a tiny token server signing JWTs with openssl.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_port(port: u16, child: &mut Child, log: &Path) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(st)) = child.try_wait() {
            panic!(
                "docker-registry exited ({st}) before listening:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("docker-registry did not listen on {port}");
}

/// Run a command, asserting success.
pub fn sh(cmd: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (install with scripts/deps.sh)"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A CA and a server certificate for 127.0.0.1 (and localhost), made with openssl.
pub struct Certs {
    /// The directory holding them.
    pub dir: PathBuf,
}

impl Certs {
    /// Makes a fresh CA named `name` and a server certificate it signs.
    pub fn new(dir: &Path, name: &str) -> Certs {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut a = vec!["req", "-x509"];
        a.extend(ec);
        a.extend(["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj"]);
        let subj = format!("/CN=berth test CA {name}");
        a.push(&subj);
        a.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        sh("openssl", &a, &dir);
        let mut a = vec!["req"];
        a.extend(ec);
        a.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ]);
        sh("openssl", &a, &dir);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        sh(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
            &dir,
        );
        Certs { dir }
    }

    /// A client certificate signed by this CA, as `client.cert` and `client.key` in `dir`.
    pub fn client_cert(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        sh(
            "openssl",
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "client.key",
                "-out",
                "client.csr",
                "-subj",
                "/CN=berth test client",
            ],
            &self.dir,
        );
        std::fs::write(
            self.dir.join("client-ext.cnf"),
            "extendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        sh(
            "openssl",
            &[
                "x509",
                "-req",
                "-in",
                "client.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "client.cert",
                "-days",
                "2",
                "-extfile",
                "client-ext.cnf",
            ],
            &self.dir,
        );
        std::fs::copy(self.dir.join("client.cert"), dir.join("client.cert")).unwrap();
        std::fs::copy(self.dir.join("client.key"), dir.join("client.key")).unwrap();
    }

    /// `ca.crt`.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// A `certs.d` tree trusting this CA for `host` (`127.0.0.1:port`).
    pub fn certs_d(&self, root: &Path, host: &str) -> PathBuf {
        let d = root.join(host);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(self.ca(), d.join("ca.crt")).unwrap();
        root.to_path_buf()
    }
}

/// How a test registry authenticates.
pub enum Auth {
    /// Open.
    None,
    /// htpasswd (bcrypt) with one user.
    Htpasswd {
        /// User.
        user: String,
        /// Password.
        password: String,
    },
    /// Docker token auth: realm URL, service, issuer, and the signing cert bundle.
    Token {
        /// Realm.
        realm: String,
        /// The certificate whose key signs tokens.
        cert: PathBuf,
    },
}

/// A running `docker-registry`, killed (by pid) on drop.
pub struct Registry {
    child: Child,
    /// Its port.
    pub port: u16,
    /// Its directory (config, storage, log).
    pub dir: tempfile::TempDir,
}

impl Registry {
    /// A plain-HTTP open registry.
    pub fn start() -> Registry {
        Registry::start_with(None, Auth::None)
    }

    /// A registry with optional TLS certs and an authentication.
    pub fn start_with(tls: Option<&Certs>, auth: Auth) -> Registry {
        Registry::start_inner(tls, auth, false)
    }

    /// A TLS registry that requires a client certificate signed by the CA of `certs`.
    pub fn start_mtls(certs: &Certs) -> Registry {
        Registry::start_inner(Some(certs), Auth::None, true)
    }

    fn start_inner(tls: Option<&Certs>, auth: Auth, client_cas: bool) -> Registry {
        let dir = tempfile::Builder::new()
            .prefix("berth-e2e-registry-")
            .tempdir()
            .unwrap();
        let port = free_port();
        let storage = dir.path().join("data");
        std::fs::create_dir_all(&storage).unwrap();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: debug\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if let Some(c) = tls {
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                c.dir.join("server.crt").display(),
                c.dir.join("server.key").display()
            ));
            if client_cas {
                cfg.push_str(&format!("    clientcas:\n      - {}\n", c.ca().display()));
            }
        }
        match &auth {
            Auth::None => {}
            Auth::Htpasswd { user, password } => {
                let file = dir.path().join("htpasswd");
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, password])
                    .output()
                    .expect("htpasswd (apache2-utils; install with scripts/deps.sh)");
                assert!(out.status.success());
                std::fs::write(&file, out.stdout).unwrap();
                cfg.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                    file.display()
                ));
            }
            Auth::Token { realm, cert } => {
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: berth-test-registry\n    issuer: berth-test-issuer\n    rootcertbundle: {}\n",
                    cert.display()
                ));
            }
        }
        let config = dir.path().join("config.yml");
        std::fs::write(&config, cfg).unwrap();
        let log = dir.path().join("registry.log");
        let logf = std::fs::File::create(&log).unwrap();
        let mut child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(logf.try_clone().unwrap())
            .stderr(logf)
            .spawn()
            .expect("docker-registry (install with scripts/deps.sh)");
        wait_port(port, &mut child, &log);
        Registry { child, port, dir }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The registry's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Where the registry keeps a blob's bytes.
    pub fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.trim_start_matches("sha256:");
        self.dir
            .path()
            .join("data/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A TCP proxy to `127.0.0.1:target` that records every byte clients send.
pub struct Proxy {
    /// Its port.
    pub port: u16,
    /// What clients sent.
    pub sent: Arc<Mutex<Vec<u8>>>,
}

impl Proxy {
    /// Starts the proxy (its threads live as long as the test process).
    pub fn start(target: u16) -> Proxy {
        Proxy::start_cutting(target, None)
    }

    /// A proxy that, once, drops the connection on which the registry's answers pass
    /// `cut_after` bytes in total (an interrupted download).
    pub fn start_cutting(target: u16, cut_after: Option<usize>) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let rec = sent.clone();
        let received = Arc::new(Mutex::new((0usize, false)));
        std::thread::spawn(move || {
            for c in l.incoming() {
                let received = received.clone();
                let Ok(mut client) = c else { break };
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let mut client2 = client.try_clone().unwrap();
                let mut server2 = server.try_clone().unwrap();
                let rec = rec.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    loop {
                        match client.read(&mut buf) {
                            Ok(0) | Err(_) => {
                                let _ = server.shutdown(std::net::Shutdown::Write);
                                break;
                            }
                            Ok(n) => {
                                rec.lock().unwrap().extend_from_slice(&buf[..n]);
                                if server.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                });
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    loop {
                        let n = match server2.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let cut = {
                            let mut r = received.lock().unwrap();
                            r.0 += n;
                            match cut_after {
                                Some(limit) if !r.1 && r.0 > limit => {
                                    r.1 = true;
                                    true
                                }
                                _ => false,
                            }
                        };
                        if cut {
                            let _ = client2.shutdown(std::net::Shutdown::Both);
                            let _ = server2.shutdown(std::net::Shutdown::Both);
                            return;
                        }
                        if client2.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = client2.shutdown(std::net::Shutdown::Write);
                });
            }
        });
        Proxy { port, sent }
    }

    /// What clients sent, as text.
    pub fn requests(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }
}

/// One canned answer of a [`Fake`] registry.
#[derive(Clone)]
pub struct Canned {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Canned {
    /// A 200 with a body and content type.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Canned {
        Canned {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
}

/// A fake registry answering `GET path` with canned answers (404 otherwise; `/v2/` is 200).
pub struct Fake {
    /// Its port.
    pub port: u16,
}

impl Fake {
    /// Starts it.
    pub fn start(routes: HashMap<String, Canned>) -> Fake {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(stream) = c else { break };
                let routes = routes.clone();
                std::thread::spawn(move || serve_canned(stream, &routes));
            }
        });
        Fake { port }
    }
}

fn serve_canned(stream: TcpStream, routes: &HashMap<String, Canned>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0u8; len];
        let _ = reader.read_exact(&mut body);
        let path = path.split('?').next().unwrap_or("").to_string();
        let canned = match routes.get(&path) {
            Some(c) => c.clone(),
            None if path == "/v2/" => Canned::ok("application/json", "{}"),
            None => Canned {
                status: 404,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: br#"{"errors":[{"code":"NOT_FOUND","message":"not here"}]}"#.to_vec(),
            },
        };
        let mut resp = format!("HTTP/1.1 {} X\r\n", canned.status);
        for (k, v) in &canned.headers {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str(&format!("Content-Length: {}\r\n\r\n", canned.body.len()));
        if out.write_all(resp.as_bytes()).is_err() {
            return;
        }
        if method != "HEAD" && out.write_all(&canned.body).is_err() {
            return;
        }
    }
}

fn b64url(data: &[u8]) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..(chunk.len() + 1) {
            out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn b64std(data: &[u8]) -> String {
    let s = b64url(data).replace('-', "+").replace('_', "/");
    let pad = (4 - s.len() % 4) % 4;
    s + &"=".repeat(pad)
}

/// A token server for distribution's token auth: checks basic credentials, grants every
/// requested scope, signs RS256 JWTs with openssl. Records the requests it served.
pub struct TokenServer {
    /// Its port.
    pub port: u16,
    /// The signing certificate (the registry's `rootcertbundle`).
    pub cert: PathBuf,
    /// Query strings served (`service=…&scope=…`).
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    /// Starts it; `user`/`password` are the only accepted credentials.
    pub fn start(dir: &Path, user: &str, password: &str) -> TokenServer {
        let dir = dir.join("token");
        std::fs::create_dir_all(&dir).unwrap();
        sh(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "token.key",
                "-out",
                "token.crt",
                "-days",
                "2",
                "-subj",
                "/CN=berth test token issuer",
            ],
            &dir,
        );
        let der = Command::new("openssl")
            .args(["x509", "-in", "token.crt", "-outform", "DER"])
            .current_dir(&dir)
            .output()
            .unwrap()
            .stdout;
        let x5c = b64std(&der);
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let rec = requests.clone();
        let expected = format!("Basic {}", b64std(format!("{user}:{password}").as_bytes()));
        let key = dir.join("token.key");
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(stream) = c else { break };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut out = stream;
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut authz = String::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") {
                            authz = v.trim().to_string();
                        }
                    }
                }
                let query = target
                    .split_once('?')
                    .map(|(_, q)| q)
                    .unwrap_or("")
                    .to_string();
                rec.lock().unwrap().push(query.clone());
                if authz != expected {
                    let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}"#;
                    let _ = write!(
                        out,
                        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    continue;
                }
                let mut access = Vec::new();
                for kv in query.split('&') {
                    if let Some(v) = kv.strip_prefix("scope=") {
                        let v = v
                            .replace("%3A", ":")
                            .replace("%2C", ",")
                            .replace("%2F", "/")
                            .replace('+', " ");
                        let parts: Vec<&str> = v.split(':').collect();
                        if parts.len() == 3 {
                            access.push(serde_json::json!({
                                "type": parts[0], "name": parts[1],
                                "actions": parts[2].split(',').collect::<Vec<_>>()
                            }));
                        }
                    }
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": "berth-test-issuer", "sub": "tester", "aud": "berth-test-registry",
                    "exp": now + 600, "nbf": now - 60, "iat": now, "jti": format!("{now}-{}", rand_id()),
                    "access": access,
                });
                let signing = format!(
                    "{}.{}",
                    b64url(header.to_string().as_bytes()),
                    b64url(claims.to_string().as_bytes())
                );
                let mut child = Command::new("openssl")
                    .args(["dgst", "-sha256", "-sign"])
                    .arg(&key)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(signing.as_bytes())
                    .unwrap();
                let sig = child.wait_with_output().unwrap().stdout;
                let token = format!("{signing}.{}", b64url(&sig));
                let body = serde_json::json!({"token": token, "expires_in": 600}).to_string();
                let _ = write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer {
            port,
            cert: dir.join("token.crt"),
            requests,
        }
    }

    /// The realm URL.
    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
