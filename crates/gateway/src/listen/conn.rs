//! One connection: HTTP/1.1 by hyper's `http1` connection, or HTTP/2 when
//! it opens with the preface (h2c prior knowledge) or chose `h2` by ALPN on
//! the HTTPS listener, whose TLS handshake (certificate by SNI) comes first.
//! Each request goes to the pipeline with the snapshot current when it came.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::Shared;
use crate::pipeline::{self, conn::{Conn, ConnOptions}};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn plain(stream: TcpStream, peer: SocketAddr, shared: Shared, stop: watch::Receiver<bool>, options: ConnOptions) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let conn = Arc::new(Conn::new(peer, local, false, options));
    let mut preface = [0u8; H2_PREFACE.len()];
    let is_h2 = matches!(stream.peek(&mut preface).await, Ok(n) if n == H2_PREFACE.len() && preface == *H2_PREFACE);
    serve_connection(TokioIo::new(stream), is_h2, conn, shared, stop).await;
}

/// A connection on the HTTPS listener: the handshake (certificate by SNI), then
/// HTTP/2 or HTTP/1.1 as ALPN chose.
pub(super) async fn tls(stream: TcpStream, peer: SocketAddr, acceptor: TlsAcceptor, shared: Shared, stop: watch::Receiver<bool>, options: ConnOptions) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    };
    let is_h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let conn = Arc::new(Conn::new(peer, local, true, options));
    serve_connection(TokioIo::new(tls), is_h2, conn, shared, stop).await;
}

/// Serves requests on `io` until the connection ends; on stop, finishes the request in flight and closes.
async fn serve_connection<I>(io: TokioIo<I>, is_h2: bool, conn: Arc<Conn>, shared: Shared, mut stop: watch::Receiver<bool>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let conn = conn.clone();
        let snapshot = shared.load_full();
        async move { Ok::<_, std::convert::Infallible>(pipeline::handle(req, &conn, snapshot).await) }
    });
    macro_rules! serve_until_stopped {
        ($conn:expr) => {{
            let conn = $conn;
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        }};
    }
    if is_h2 {
        serve_until_stopped!(hyper::server::conn::http2::Builder::new(TokioExecutor::new()).serve_connection(io, service));
    } else {
        // With upgrades: WebSocket APIs take the connection over after the 101.
        serve_until_stopped!(hyper::server::conn::http1::Builder::new().writev(false).serve_connection(io, service).with_upgrades());
    }
}
