//! One connection: HTTP/1.1 by hyper's `http1` connection, or HTTP/2 when
//! it opens with the preface (h2c prior knowledge) or chose `h2` by ALPN on
//! the HTTPS listener, whose TLS handshake (certificate by SNI) comes first.
//! Each request goes to the pipeline with the snapshot current when it came.
//!
//! The client limits apply here: the time to send a request head (which is
//! also how long an idle kept-alive connection stays open), the TLS
//! handshake time, the size of request heads, and HTTP/2's stream and
//! header-list limits with h2's rapid-reset and flood protections. What
//! ends a connection for breaking them is counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::Shared;
use crate::observe::metrics::{self, Refusal};
use crate::pipeline::conn::{Conn, ConnLimits, ConnOptions};
use crate::pipeline::{self};
use super::h1_guard::HeadGuard;
use super::h2_guard::FrameGuard;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// hyper's own header-count limit: another one costs a heap allocation per request.
const HYPER_MAX_HEADERS: usize = 100;
/// Streams an HTTP/2 client may reset before the gateway has answered them
/// (h2's default); more and the connection is closed (rapid reset, CVE-2023-44487).
const H2_MAX_PENDING_RESETS: usize = 20;
/// Streams the gateway may reset for a client's protocol errors before it closes the connection.
const H2_MAX_ERROR_RESETS: usize = 256;

pub(super) async fn plain(stream: TcpStream, peer: SocketAddr, shared: Shared, stop: watch::Receiver<bool>, options: ConnOptions) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let conn = Arc::new(Conn::new(peer, local, false, options));
    // HTTP/2 with prior knowledge or HTTP/1.1: the first bytes tell, and must come within the header timeout.
    let mut preface = [0u8; H2_PREFACE.len()];
    let is_h2 = match tokio::time::timeout(options.limits.header_timeout, stream.peek(&mut preface)).await {
        Ok(Ok(n)) => n == H2_PREFACE.len() && preface == *H2_PREFACE,
        Ok(Err(_)) => return,
        Err(_) => {
            metrics::refused(Refusal::HeaderTimeout);
            return;
        }
    };
    serve_connection(stream, is_h2, conn, shared, stop, &options.limits).await;
}

/// A connection on the HTTPS listener: the handshake (certificate by SNI), then
/// HTTP/2 or HTTP/1.1 as ALPN chose.
pub(super) async fn tls(stream: TcpStream, peer: SocketAddr, acceptor: TlsAcceptor, shared: Shared, stop: watch::Receiver<bool>, options: ConnOptions) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let tls = match tokio::time::timeout(options.limits.handshake_timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            metrics::refused(Refusal::HandshakeTimeout);
            return;
        }
    };
    let is_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let conn = Arc::new(Conn::new(peer, local, true, options));
    serve_connection(tls, is_h2, conn, shared, stop, &options.limits).await;
}

/// While draining, how long an HTTP/1 connection goes on, its answers saying
/// `Connection: close`, before it is closed if idle: a caller in the middle
/// of a request gets its answer and closes the connection itself, so no
/// request races the close.
const LINGER: Duration = Duration::from_secs(1);

/// Serves requests on `io` until the connection ends; on stop, finishes the
/// requests in flight and closes (HTTP/1: after the answers said so, or a
/// moment of idleness; HTTP/2: after a GOAWAY).
async fn serve_connection<I>(io: I, is_h2: bool, conn: Arc<Conn>, shared: Shared, mut stop: watch::Receiver<bool>, limits: &ConnLimits)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    macro_rules! serve_until_stopped {
        ($conn:expr, $idle:expr, $drain:expr) => {{
            let conn = $conn;
            tokio::pin!(conn);
            tokio::select! {
                ended = conn.as_mut() => ended,
                _ = stop.changed() => {
                    // The connection goes on until `$drain` resolves, then is shut down gracefully.
                    tokio::select! {
                        ended = conn.as_mut() => ended,
                        _ = $drain => {
                            conn.as_mut().graceful_shutdown();
                            conn.await
                        }
                    }
                }
                _ = $idle => {
                    // A GOAWAY, and the close once the client has seen it (h2 waits for a PING's answer) or the timeout has passed again.
                    conn.as_mut().graceful_shutdown();
                    tokio::time::timeout(limits.header_timeout, conn).await.unwrap_or(Ok(()))
                }
            }
        }};
    }
    if is_h2 {
        // HTTP/2 has no request head to wait for between requests: a
        // connection without a request open for the header timeout is idle
        // and gets a GOAWAY (also one that never sends a request at all).
        let activity = Arc::new(Activity::default());
        let counted = activity.clone();
        let service = service_fn(move |req| {
            let conn = conn.clone();
            let snapshot = shared.load_full();
            let open = counted.open();
            async move {
                let response = pipeline::handle(req, &conn, snapshot).await;
                drop(open);
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder
            .max_concurrent_streams(limits.http2_max_concurrent_streams)
            .max_header_list_size(u32::try_from(limits.max_header_size).unwrap_or(u32::MAX))
            .max_pending_accept_reset_streams(H2_MAX_PENDING_RESETS)
            .max_local_error_reset_streams(H2_MAX_ERROR_RESETS);
        let io = TokioIo::new(FrameGuard::new(io));
        // Draining: a GOAWAY at once (the client opens a new connection for new requests).
        if let Err(e) = serve_until_stopped!(builder.serve_connection(io, service), activity.idle_for(limits.header_timeout), std::future::ready(())) {
            count_h2_error(&e);
        }
    } else {
        let draining = conn.clone();
        let service = service_fn(move |req| {
            let conn = conn.clone();
            let snapshot = shared.load_full();
            async move {
                let mut response = pipeline::handle(req, &conn, snapshot).await;
                if conn.draining.load(Ordering::Relaxed) && response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
                    response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .writev(false)
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(limits.max_header_size);
        if limits.max_headers != HYPER_MAX_HEADERS {
            builder.max_headers(limits.max_headers);
        }
        let drain = async {
            draining.draining.store(true, Ordering::Relaxed);
            tokio::time::sleep(LINGER).await;
        };
        // With upgrades: WebSocket APIs take the connection over after the 101.
        // hyper's header timer closes an idle kept-alive HTTP/1 connection itself.
        if let Err(e) = serve_until_stopped!(builder.serve_connection(TokioIo::new(HeadGuard::new(io)), service).with_upgrades(), std::future::pending::<()>(), drain) {
            count_h1_error(&e);
        }
    }
}

/// Serves HTTP/1.1 on `stream` with `service` under the client limits (the
/// admin listener's connections) until it ends or `stop` changes; drains
/// like the gateway's HTTP/1 connections.
pub(super) async fn http1_service<S, B>(stream: TcpStream, service: S, limits: ConnLimits, mut stop: watch::Receiver<bool>)
where
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = stream.set_nodelay(true);
    let draining = Arc::new(AtomicBool::new(false));
    let flag = draining.clone();
    let service = service_fn(move |req| {
        let answer = hyper::service::Service::call(&service, req);
        let flag = flag.clone();
        async move {
            let mut response = answer.await?;
            if flag.load(Ordering::Relaxed) {
                response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
            }
            Ok::<_, S::Error>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).max_header_size(limits.max_header_size);
    if limits.max_headers != HYPER_MAX_HEADERS {
        builder.max_headers(limits.max_headers);
    }
    let conn = builder.serve_connection(TokioIo::new(HeadGuard::new(stream)), service);
    tokio::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        _ = stop.changed() => {
            draining.store(true, Ordering::Relaxed);
            tokio::select! {
                ended = conn.as_mut() => ended,
                _ = tokio::time::sleep(LINGER) => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            }
        }
    };
    if let Err(e) = ended {
        count_h1_error(&e);
    }
}

/// The requests open on an HTTP/2 connection, to tell when it is idle.
#[derive(Default)]
struct Activity {
    open: AtomicUsize,
    started: AtomicUsize,
}

impl Activity {
    fn open(self: &Arc<Self>) -> OpenRequest {
        self.open.fetch_add(1, Ordering::Relaxed);
        self.started.fetch_add(1, Ordering::Relaxed);
        OpenRequest(self.clone())
    }

    /// Resolves once no request has been open, nor started, for at least
    /// `timeout` (checked every half of it: three quiet checks in a row, so
    /// it resolves within twice `timeout`).
    async fn idle_for(&self, timeout: std::time::Duration) {
        let tick = timeout / 2;
        let mut seen = usize::MAX;
        let mut quiet_ticks = 0;
        loop {
            tokio::time::sleep(tick).await;
            let started = self.started.load(Ordering::Relaxed);
            if self.open.load(Ordering::Relaxed) == 0 && started == seen {
                quiet_ticks += 1;
                if quiet_ticks >= 3 {
                    return;
                }
            } else {
                quiet_ticks = 0;
            }
            seen = started;
        }
    }
}

/// One open request on an HTTP/2 connection; counted until dropped.
struct OpenRequest(Arc<Activity>);

impl Drop for OpenRequest {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Counts an HTTP/1 connection that ended on a client limit or a malformed request.
fn count_h1_error(e: &hyper::Error) {
    if e.is_timeout() {
        metrics::refused(Refusal::HeaderTimeout);
    } else if e.is_parse_too_large() {
        metrics::refused(Refusal::HeaderSize);
    } else if e.is_parse() {
        metrics::refused(Refusal::Malformed);
    }
}

/// Counts an HTTP/2 connection closed for breaking the protocol (floods and
/// rapid resets included), not one the client merely dropped.
fn count_h2_error(e: &hyper::Error) {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return;
        }
        source = s.source();
    }
    if !e.is_closed() && !e.is_incomplete_message() {
        metrics::refused(Refusal::Http2Error);
    }
}
