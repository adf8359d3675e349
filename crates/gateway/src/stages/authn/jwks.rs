//! JWK sets published by IAM issuers at a URL: fetched in the background
//! (never on the request path) and refreshed at each issuer's interval, so
//! that keys the issuer rotates in are used without a restart. A changed set
//! wakes the watcher, which rebuilds the snapshot with it; a failed fetch
//! keeps the last good set and is retried sooner.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use tokio::sync::{Notify, watch};

/// Largest JWK set read.
const MAX_JWKS_BYTES: usize = 1 << 20;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed fetch, the next try comes at most this much later.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// The last good JWK set of each URL.
#[derive(Debug, Default)]
pub struct JwksCache(Mutex<HashMap<String, serde_json::Value>>);

impl JwksCache {
    pub fn snapshot(&self) -> HashMap<String, serde_json::Value> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Stores a fetched set; whether it differs from what was there.
    fn store(&self, uri: &str, set: serde_json::Value) -> bool {
        let Ok(mut map) = self.0.lock() else { return false };
        if map.get(uri) == Some(&set) {
            return false;
        }
        map.insert(uri.to_string(), set);
        true
    }
}

/// What to fetch: each URL with its refresh interval.
pub type Wanted = Vec<(String, Duration)>;

/// Fetches the wanted URLs when due until `stop` changes; notifies `changed` when a set changes.
pub async fn run(cache: Arc<JwksCache>, mut wanted: watch::Receiver<Wanted>, changed_sets: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let mut due: HashMap<String, Instant> = HashMap::new();
    loop {
        let list = wanted.borrow_and_update().clone();
        due.retain(|uri, _| list.iter().any(|(u, _)| u == uri));
        let mut changed = false;
        for (uri, every) in &list {
            if due.get(uri).is_some_and(|t| *t > Instant::now()) {
                continue;
            }
            let next = match fetch(uri).await {
                Ok(set) => {
                    changed |= cache.store(uri, set);
                    *every
                }
                Err(e) => {
                    tracing::warn!(uri = %uri, error = %e, "cannot fetch a JWK set; keeping the last one");
                    (*every).min(RETRY_AFTER_FAILURE)
                }
            };
            due.insert(uri.clone(), Instant::now() + next);
        }
        if changed {
            changed_sets.notify_one();
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = wanted.changed() => {}
            _ = stop.changed() => return,
        }
    }
}

/// GETs a JWK set over HTTP or HTTPS (certificates checked against the web's roots).
pub async fn fetch(uri: &str) -> Result<serde_json::Value, String> {
    tokio::time::timeout(FETCH_TIMEOUT, fetch_inner(uri)).await.map_err(|_| format!("no answer within {FETCH_TIMEOUT:?}"))?
}

async fn fetch_inner(uri: &str) -> Result<serde_json::Value, String> {
    let parsed: http::Uri = uri.parse().map_err(|e| format!("invalid URL: {e}"))?;
    let https = parsed.scheme_str() == Some("https");
    let host = parsed.host().ok_or("the URL has no host")?.trim_matches(|c| c == '[' || c == ']').to_string();
    let port = parsed.port_u16().unwrap_or(if https { 443 } else { 80 });
    let authority = parsed.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
    let path = parsed.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("cannot connect: {e}"))?;
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = if https {
        let tls = tls_connector()?.connect(server_name(&host)?, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        send(TokioIo::new(tls), request).await?
    } else {
        send(TokioIo::new(tcp), request).await?
    };
    let set: serde_json::Value = serde_json::from_slice(&response).map_err(|e| format!("not JSON: {e}"))?;
    if !set.is_object() {
        return Err("not a JWK set".into());
    }
    Ok(set)
}

async fn send<I>(io: I, request: http::Request<Empty<Bytes>>) -> Result<Bytes, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let res = sender.send_request(request).await.map_err(|e| e.to_string())?;
    if !res.status().is_success() {
        return Err(format!("answered {}", res.status()));
    }
    let body = Limited::new(res.into_body(), MAX_JWKS_BYTES).collect().await.map_err(|e| format!("reading the body: {e}"))?;
    Ok(body.to_bytes())
}

fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>, String> {
    rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| format!("invalid host name: {e}"))
}
