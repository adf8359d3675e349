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
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind echo");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let mut stopped = stopped.clone();
                tokio::spawn(async move {
                    let service = service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
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
                        });
                        let res = hyper::Response::builder()
                            .header("content-type", "application/json")
                            .header("x-backend", "echo")
                            .body(Full::new(Bytes::from(seen.to_string())))
                            .expect("response");
                        Ok::<_, std::convert::Infallible>(res)
                    });
                    let serving = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::select! {
                        _ = serving => {}
                        _ = stopped.wait_for(|s| *s) => {}
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
