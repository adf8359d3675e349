//! Starts the real `causeway serve` binary on ephemeral ports and talks HTTP to it.
#![allow(dead_code)]

pub mod echo;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

pub const TOKEN: &str = "test-admin-token-0123456789abcdef";

/// Where a test server keeps its data.
pub enum Backend {
    /// SQLite in the data directory.
    Sqlite,
    /// A fresh schema in `CAUSEWAY_TEST_POSTGRES`, dropped when the test ends.
    Postgres { base: String, schema: String },
    /// Another server's store (that server cleans it up).
    Shared(String),
}

/// The test service a variable names (PostgreSQL, Redis, the Python signers).
/// Unset, the test is skipped with a note — except under CI (`CI` set), where
/// every service must be there and a missing one fails the test.
pub fn service(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(value) => Some(value),
        Err(_) if std::env::var_os("CI").is_some() => panic!("{variable} is not set, and CI is: this test needs it"),
        Err(_) => {
            eprintln!("{variable} is not set: skipping");
            None
        }
    }
}

impl Backend {
    /// A PostgreSQL backend, or None (with a note) when `CAUSEWAY_TEST_POSTGRES` is unset (see [`service`]).
    pub fn postgres() -> Option<Self> {
        let base = service("CAUSEWAY_TEST_POSTGRES")?;
        Some(Backend::Postgres { base, schema: format!("cw_e2e_{}", uuid::Uuid::new_v4().simple()) })
    }

    fn store_url(&self, data_dir: &Path) -> String {
        match self {
            Backend::Sqlite => format!("sqlite://{}/causeway.db", data_dir.display()),
            Backend::Postgres { base, schema } => {
                let sep = if base.contains('?') { '&' } else { '?' };
                format!("{base}{sep}schema={schema}")
            }
            Backend::Shared(url) => url.clone(),
        }
    }
}

pub struct Server {
    pub admin: String,
    /// The gateway's base URL (`http://127.0.0.1:PORT`).
    pub gateway: String,
    /// The gateway's HTTPS listener (`127.0.0.1:PORT`).
    pub gateway_tls: std::net::SocketAddr,
    pub data_dir: tempfile::TempDir,
    backend: Backend,
    extra: Vec<String>,
    child: Option<Child>,
    pub http: reqwest::Client,
}

impl Server {
    pub async fn start() -> Self {
        Self::start_with(Backend::Sqlite, &[]).await
    }

    pub async fn start_with(backend: Backend, extra: &[&str]) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut s = Server {
            admin: String::new(),
            gateway: String::new(),
            gateway_tls: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            backend,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
            http: reqwest::Client::new(),
        };
        s.spawn();
        s
    }

    /// Another node on this server's store (PostgreSQL), with its own data directory.
    pub async fn start_sharing(&self, extra: &[&str]) -> Self {
        Self::start_with(Backend::Shared(self.backend.store_url(self.data_dir.path())), extra).await
    }

    pub fn binary() -> PathBuf {
        PathBuf::from(env!("CARGO_BIN_EXE_causeway"))
    }

    fn spawn(&mut self) {
        let mut cmd = Command::new(Self::binary());
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir.path())
            .arg("--admin-listen")
            .arg("127.0.0.1:0")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--listen-tls")
            .arg("127.0.0.1:0")
            .arg("--workers")
            .arg("2")
            .arg("--store")
            .arg(self.backend.store_url(self.data_dir.path()))
            .args(&self.extra)
            .env("CAUSEWAY_ADMIN_TOKEN", TOKEN)
            .env("CAUSEWAY_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start causeway");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                for (what, marker) in [("gateway", "gateway listening"), ("tls", "gateway TLS listening"), ("admin", "admin API listening")] {
                    if line.contains(marker)
                        && let Some(addr) = line.split("addr=").nth(1)
                    {
                        let addr = addr.split_whitespace().next().unwrap_or_default().to_string();
                        let _ = tx.send((what, addr));
                    }
                }
                if std::env::var_os("CAUSEWAY_TEST_SHOW_LOGS").is_some() {
                    eprintln!("[causeway] {line}");
                }
            }
        });
        // The gateway starts before the admin listener, so both are known once the admin is.
        loop {
            let (what, addr) = rx.recv_timeout(Duration::from_secs(60)).expect("causeway did not report its addresses");
            match what {
                "gateway" => self.gateway = format!("http://{addr}"),
                "tls" => self.gateway_tls = addr.parse().expect("TLS listener address"),
                _ => {
                    self.admin = format!("http://{addr}");
                    break;
                }
            }
        }
        self.child = Some(child);
    }

    /// Stops the process with SIGTERM and waits for it.
    /// Sends a signal (`HUP`, `TERM`, ...) to the server process.
    pub fn signal(&self, name: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status();
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = std::time::Instant::now() + Duration::from_secs(20);
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => {
                        assert!(status.success(), "causeway exited with {status}");
                        break;
                    }
                    Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                    _ => {
                        let _ = child.kill();
                        panic!("causeway did not stop on SIGTERM");
                    }
                }
            }
        }
    }

    /// Starts a new process on the same data directory and settings while
    /// this one runs: it takes the listening sockets over, and the old one
    /// drains and exits (waited for; panics if it fails or lingers past `within`).
    pub fn take_over(&mut self, within: Duration) {
        let old = self.child.take();
        self.spawn();
        if let Some(mut old) = old {
            let deadline = std::time::Instant::now() + within;
            loop {
                match old.try_wait() {
                    Ok(Some(status)) => {
                        assert!(status.success(), "the old process exited with {status}");
                        break;
                    }
                    Ok(None) if std::time::Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                    _ => {
                        let _ = old.kill();
                        panic!("the old process did not exit within {within:?} of the take-over");
                    }
                }
            }
        }
    }

    /// Stops and starts again on the same data.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/v1.0/apigw{path}", self.admin)
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.call_as(TOKEN, method, path, body).await
    }

    /// A management call made with another admin credential's `token`.
    pub async fn call_as(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, self.url(path)).header("X-Auth-Token", token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/json").body(b.to_string());
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, json)
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("PUT", path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        self.call("DELETE", path, None).await
    }

    /// Sends raw bytes as the body. A body the server refuses early may see the
    /// connection closed while it is still being sent; then it is sent again.
    pub async fn post_raw(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.http.post(self.url(path)).header("X-Auth-Token", TOKEN).body(body.clone()).send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    return (status, res.json().await.unwrap_or(Value::Null));
                }
                Err(e) if attempts < 5 => eprintln!("resending after: {e}"),
                Err(e) => panic!("request: {e}"),
            }
        }
    }

    /// Creates an API and publishes it to `env`; returns the API's id.
    pub async fn create_and_publish(&self, body: &Value, env: &str) -> String {
        let (status, api) = self.post("/apis", body).await;
        assert_eq!(status, 201, "{api}");
        let id = api["id"].as_str().expect("id").to_string();
        let (status, p) = self.post(&format!("/apis/publish/{id}"), &serde_json::json!({"env_id": env})).await;
        assert_eq!(status, 201, "{p}");
        id
    }

    /// A management call (`path_query` from `/v1.0/...`) signed with `key` at time `at`, as the vendors' AK/SK signers sign it.
    pub async fn signed(&self, method: &str, path_query: &str, body: &str, key: causeway_sign::sdk::Key<'_>, at: i64) -> (u16, Value) {
        self.signed_with(method, path_query, body, body, &[], key, at).await
    }

    /// A signed management call that signs `signed_body` (and the `extra` headers) but sends `sent_body`.
    #[allow(clippy::too_many_arguments)]
    pub async fn signed_with(
        &self,
        method: &str,
        path_query: &str,
        signed_body: &str,
        sent_body: &str,
        extra: &[(&str, &str)],
        key: causeway_sign::sdk::Key<'_>,
        at: i64,
    ) -> (u16, Value) {
        use causeway_sign::sdk;
        let (path, query) = path_query.split_once('?').unwrap_or((path_query, ""));
        let authority = self.admin.trim_start_matches("http://").to_string();
        let mut headers = vec![("host".to_string(), authority), ("content-type".to_string(), "application/json".to_string())];
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let hash = sdk::payload_hash(&headers, signed_body.as_bytes()).into_owned();
        let signed = sdk::sign(key, method, path, query, &headers, &hash, at);
        let mut req = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path_query}", self.admin))
            .header("Content-Type", "application/json")
            .header("X-Sdk-Date", signed.date)
            .header("Authorization", signed.authorization);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let res = req.body(sent_body.to_string()).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or_default())
    }

    /// The bytes of the SQLite store's files (the database and its write-ahead log), to look for secrets in clear.
    pub fn sqlite_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        for entry in std::fs::read_dir(self.data_dir.path()).expect("data dir").flatten() {
            if entry.file_name().to_string_lossy().starts_with("causeway.db") {
                bytes.extend(std::fs::read(entry.path()).unwrap_or_default());
            }
        }
        assert!(!bytes.is_empty(), "no SQLite store in the data directory");
        bytes
    }

    /// Everything the store holds, as bytes to look for secrets in clear:
    /// SQLite's files, or every row of PostgreSQL's tables (as text).
    pub async fn stored_bytes(&self) -> Vec<u8> {
        let Backend::Postgres { base, schema } = &self.backend else { return self.sqlite_bytes() };
        use sqlx::Row;
        let pool = sqlx::PgPool::connect(base).await.expect("connect to PostgreSQL");
        let mut bytes = Vec::new();
        for table in ["documents", "doc_keys", "changes", "audit_log", "meta"] {
            let query = format!("SELECT t::text FROM \"{schema}\".{table} AS t");
            for row in sqlx::query(sqlx::AssertSqlSafe(query)).fetch_all(&pool).await.expect("read rows") {
                bytes.extend(row.get::<String, _>(0).into_bytes());
                bytes.push(b'\n');
            }
        }
        pool.close().await;
        assert!(!bytes.is_empty(), "no rows in the PostgreSQL schema");
        bytes
    }

    /// Creates a group and returns its id.
    pub async fn group(&self, name: &str) -> String {
        let (status, body) = self.post("/api-groups", &serde_json::json!({ "name": name })).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_string()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Backend::Postgres { base, schema } = &self.backend {
            let (base, schema) = (base.clone(), schema.clone());
            // Drop the test schema on a runtime of its own: Drop may run outside one.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    use sqlx::Executor;
                    let pool = sqlx::PgPool::connect(&base).await.ok()?;
                    pool.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))).await.ok()
                })
            })
            .join();
        }
    }
}

/// Every `(method, path)` the v1.0 family routes, read from its router so a
/// new route is covered the day it is added. `{params}` become a made-up id.
pub fn management_routes() -> Vec<(String, String)> {
    let source = include_str!("../../crates/admin/src/routes/v1/mod.rs");
    let body = &source[source.find("pub fn router").expect("router fn")..];
    let mut routes = Vec::new();
    for chunk in body.split(".route(").skip(1) {
        let raw = chunk.split('"').nth(1).expect("route path");
        let path: String = raw.split('/').map(|seg| if seg.starts_with('{') { "0123456789abcdef0123456789abcdef" } else { seg }).collect::<Vec<_>>().join("/");
        let handlers = &chunk[chunk.find('"').expect("path") + raw.len() + 2..];
        for method in ["get", "post", "put", "delete"] {
            let found = handlers.match_indices(&format!("{method}(")).any(|(i, _)| i == 0 || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric() && handlers.as_bytes()[i - 1] != b'_');
            if found {
                routes.push((method.to_uppercase(), path.clone()));
            }
        }
    }
    assert!(routes.len() > 120, "only {} routes read from the router", routes.len());
    routes
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Asserts a management error: status, code, and the field named in the message.
#[track_caller]
pub fn assert_error(resp: &(u16, Value), status: u16, code: &str, field: Option<&str>) {
    let (s, body) = resp;
    assert_eq!(*s, status, "status for {body}");
    assert_eq!(body["error_code"], code, "code in {body}");
    if let Some(f) = field {
        let msg = body["error_msg"].as_str().unwrap_or_default();
        assert!(msg.contains(&format!("parameterName:{f}.")), "field {f} not named in {msg:?}");
    }
}

/// What a caller of the gateway sees.
pub struct Called {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Called {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

impl Server {
    /// Calls the gateway as `host` with extra headers.
    pub async fn call_gateway(&self, method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> Called {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{path}", self.gateway)).header("Host", host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("gateway request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.text().await.expect("gateway body");
        Called { status, headers, body }
    }

    /// Calls until `done` holds (the snapshot catches up within milliseconds), or panics after 5 s.
    pub async fn eventually(&self, method: &str, host: &str, path: &str, headers: &[(&str, &str)], done: impl Fn(&Called) -> bool) -> Called {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let c = self.call_gateway(method, host, path, headers).await;
            if done(&c) {
                return c;
            }
            assert!(std::time::Instant::now() < deadline, "gateway never reached the expected state; last: {} {}", c.status, c.body);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The host name callers use for a group.
    pub fn group_host(group_id: &str) -> String {
        format!("{group_id}.apigw.localhost")
    }
}
