//! Connecting to a backend: TCP, then TLS when the backend speaks HTTPS —
//! its certificate verified against the public roots and the operator's CA
//! (`--upstream-ca`), the gateway's client certificate presented to backends
//! with `enable_client_ssl`, ALPN `h2` for HTTP/2 backends.

use std::future::Future;
use std::sync::OnceLock;

use causeway_tls::{UpstreamTls, UpstreamTrust};
use tokio::net::TcpStream;

use super::endpoint::Endpoint;
use crate::http::error::{GatewayError, errors};

/// TLS towards backends, configured once at start-up (public roots only, if never configured).
static UPSTREAM_TLS: OnceLock<Result<UpstreamTls, String>> = OnceLock::new();

/// Sets what backend connections trust and present; the first call wins.
pub fn configure_tls(trust: &UpstreamTrust) -> Result<(), String> {
    let tls = UpstreamTls::new(trust)?;
    let _ = UPSTREAM_TLS.set(Ok(tls));
    Ok(())
}

fn upstream_tls() -> Result<&'static UpstreamTls, GatewayError> {
    UPSTREAM_TLS
        .get_or_init(|| UpstreamTls::new(&UpstreamTrust::default()))
        .as_ref()
        .map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: TLS is not configured: {e}")))
}

/// Runs a backend connection's I/O in the background until it ends (`what` says which, in the debug log).
pub fn drive<E: std::fmt::Display>(conn: impl Future<Output = Result<(), E>> + Send + 'static, what: &'static str) {
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "{what} ended");
        }
    });
}

/// A connection to a backend, before HTTP is spoken on it.
pub enum Dialed {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Connects to `endpoint`, with the TLS handshake when it asks for TLS.
pub async fn dial(endpoint: Endpoint<'_>) -> Result<Dialed, GatewayError> {
    let (host, port) = (endpoint.host, endpoint.port);
    let stream = TcpStream::connect((host, port)).await.map_err(|e| {
        errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: cannot connect to {host}:{port}: {e}"))
    })?;
    let _ = stream.set_nodelay(true);
    let Some(tls) = endpoint.tls else { return Ok(Dialed::Plain(stream)) };
    let alpn: &[&[u8]] = if endpoint.http2 { &[b"h2"] } else { &[] };
    let config = upstream_tls()?.config(tls.client_cert, alpn).map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}")))?;
    let name = causeway_tls::client::server_name(tls.server_name).map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| errors::BACKEND_PROTOCOL.with_message(format!("Backend unavailable: TLS with {host}:{port} failed: {e}")))?;
    Ok(Dialed::Tls(Box::new(stream)))
}

