//! A real HTTP backend for tests: answers every request with JSON describing
//! exactly what it received. `/slow/<ms>` waits before answering.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

pub struct Echo {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    /// Set to stop: the listener and every open connection close.
    stop: tokio::sync::watch::Sender<bool>,
}

impl Echo {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    /// On a given address (to bring a stopped backend back where it was).
    pub async fn start_on(addr: &str) -> Self {
        Self::start_with(addr, None).await
    }

    /// Over TLS with `chain_pem` / `key_pem`; with `client_ca_pem`, callers must present a certificate it issued.
    pub async fn start_tls(chain_pem: &str, key_pem: &str, client_ca_pem: Option<&str>) -> Self {
        use rustls_pki_types::pem::PemObject;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(chain_pem.as_bytes()).map(|c| c.unwrap()).collect();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions().unwrap();
        let builder = match client_ca_pem {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                for c in rustls_pki_types::CertificateDer::pem_slice_iter(ca.as_bytes()) {
                    roots.add(c.unwrap()).unwrap();
                }
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(std::sync::Arc::new(roots), provider).build().unwrap();
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder.with_single_cert(chain, key).unwrap();
        Self::start_with("127.0.0.1:0", Some(tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)))).await
    }

    async fn start_with(addr: &str, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind echo");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let mut stopped = stopped.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => {
                            tokio::select! {
                                _ = serve(TokioIo::new(stream), addr, false) => {}
                                _ = stopped.wait_for(|s| *s) => {}
                            }
                        }
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(stream).await else { return };
                            let client_cert = stream.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
                            tokio::select! {
                                _ = serve(TokioIo::new(stream), addr, client_cert) => {}
                                _ = stopped.wait_for(|s| *s) => {}
                            }
                        }
                    }
                });
            }
        });
        Echo { addr, task, stop }
    }

    /// Stops listening and closes every open connection, as a crashed server would.
    pub fn stop(&self) {
        self.task.abort();
        let _ = self.stop.send(true);
    }

    /// `127.0.0.1:PORT`, as a backend address.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Answers each request with what it saw (`client_cert`: the TLS caller presented a certificate).
async fn serve<I>(io: TokioIo<I>, addr: SocketAddr, client_cert: bool)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| async move {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        if let Some(ms) = parts.uri.path().strip_prefix("/slow/").and_then(|m| m.parse::<u64>().ok()) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let mut headers = BTreeMap::new();
        for (k, v) in &parts.headers {
            headers.entry(k.as_str().to_string()).or_insert_with(Vec::new).push(String::from_utf8_lossy(v.as_bytes()).to_string());
        }
        let seen = json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query().unwrap_or_default(),
            "headers": headers,
            "body_len": body.len(),
            "body": String::from_utf8_lossy(&body[..body.len().min(16 * 1024)]),
            "served_by": addr.to_string(),
            "client_cert": client_cert,
        });
        let mut res = hyper::Response::builder()
            .header("content-type", "application/json")
            .header("x-backend", "echo")
            .body(Full::new(Bytes::from(seen.to_string())))
            .expect("response");
        // Asked for: an answer with a header its `Connection` names (hop-by-hop, RFC 9110 §7.6.1).
        if parts.headers.contains_key("x-echo-hop") {
            res.headers_mut().insert("connection", hyper::header::HeaderValue::from_static("keep-alive, X-Hop"));
            res.headers_mut().insert("x-hop", hyper::header::HeaderValue::from_static("1"));
        }
        Ok::<_, std::convert::Infallible>(res)
    });
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
}

/// The echo's JSON, with header lookup by lower-case name.
pub fn header<'a>(seen: &'a Value, name: &str) -> Option<&'a str> {
    seen["headers"][name][0].as_str()
}

/// Query pairs the backend saw.
pub fn query(seen: &Value) -> Vec<(String, String)> {
    seen["query"]
        .as_str()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}
