//! The gateway listeners: one thread per core, each with a single-threaded
//! runtime and its own `SO_REUSEPORT` socket on the same address, so the
//! kernel spreads connections and no request crosses threads. HTTP/1.1 is
//! served by hyper's `http1` connection; a connection that opens with the
//! HTTP/2 preface (h2c prior knowledge) gets `http2` instead. The HTTPS
//! listener works the same way after the TLS handshake, with HTTP/2 when the
//! client chose it by ALPN.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::access_log;
use crate::pipeline::{self, Conn, ConnOptions};
use crate::watch::Shared;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long open connections get to finish when stopping.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// The HTTPS listener and its TLS configuration (certificates by SNI, ALPN `h2` / `http/1.1`).
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// Listener threads; defaults to the number of cores.
    pub workers: usize,
    /// How connections are served: AppCodes over plain HTTP, the caller's address behind proxies.
    pub connections: ConnOptions,
}

/// The running listeners.
pub struct Gateway {
    pub local_addr: SocketAddr,
    /// The HTTPS listener's address, if there is one.
    pub tls_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

/// Longest a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// One socket per worker on `addr` (with port 0 the first picks the port and the others join it).
fn bind_all(addr: SocketAddr, workers: usize) -> std::io::Result<(SocketAddr, Vec<std::net::TcpListener>)> {
    let first = bind(addr)?;
    let local_addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..workers.max(1) {
        listeners.push(bind(local_addr)?);
    }
    Ok((local_addr, listeners))
}

/// What one worker thread accepts on.
struct Listeners {
    plain: std::net::TcpListener,
    tls: Option<(std::net::TcpListener, TlsAcceptor)>,
}

/// Starts the listener threads; returns once every socket is bound.
pub fn start(config: &GatewayConfig, shared: Shared) -> std::io::Result<Gateway> {
    let workers = config.workers.max(1);
    let (local_addr, plain) = bind_all(config.listen, workers)?;
    let mut options = config.connections;
    let (tls_addr, mut tls) = match &config.tls {
        Some((addr, server_config)) => {
            let (tls_addr, sockets) = bind_all(*addr, workers)?;
            options.https_port = Some(tls_addr.port());
            let acceptor = TlsAcceptor::from(server_config.clone());
            (Some(tls_addr), sockets.into_iter().map(|s| Some((s, acceptor.clone()))).collect())
        }
        None => (None, Vec::new()),
    };
    tls.resize_with(workers, || None);
    let (stop, stop_rx) = watch::channel(false);
    let mut threads = Vec::new();
    for (i, (plain, tls)) in plain.into_iter().zip(tls).enumerate() {
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let thread = std::thread::Builder::new().name(format!("gateway-{i}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a gateway worker runtime");
                    return;
                }
            };
            runtime.block_on(worker(Listeners { plain, tls }, shared, stop_rx, options));
        })?;
        threads.push(thread);
    }
    tracing::info!(addr = %local_addr, workers = threads.len(), "gateway listening");
    if let Some(addr) = tls_addr {
        tracing::info!(addr = %addr, "gateway TLS listening");
    }
    Ok(Gateway { local_addr, tls_addr, stop, threads })
}

impl Gateway {
    /// Stops accepting, lets open connections finish (up to a deadline) and joins the threads.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

async fn worker(listeners: Listeners, shared: Shared, mut stop: watch::Receiver<bool>, options: ConnOptions) {
    let register = |l: std::net::TcpListener| match TcpListener::from_std(l) {
        Ok(l) => Some(l),
        Err(e) => {
            tracing::error!(error = %e, "cannot register a gateway listener");
            None
        }
    };
    let Some(plain) = register(listeners.plain) else { return };
    let tls = match listeners.tls {
        Some((l, acceptor)) => match register(l) {
            Some(l) => Some((l, acceptor)),
            None => return,
        },
        None => None,
    };
    let mut connections = tokio::task::JoinSet::new();
    // This thread's access log lines are written out at least this often.
    let mut flush = tokio::time::interval(access_log::FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = plain.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, shared.clone(), stop.clone(), options));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            accepted = accept_tls(&tls) => match accepted {
                Ok((stream, peer, acceptor)) => {
                    connections.spawn(tls_connection(stream, peer, acceptor, shared.clone(), stop.clone(), options));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = flush.tick(), if access_log::enabled() => access_log::flush(),
        }
    }
    drop(plain);
    drop(tls);
    let _ = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    access_log::flush();
}

/// The next connection on the HTTPS listener (never, without one).
async fn accept_tls(tls: &Option<(TcpListener, TlsAcceptor)>) -> std::io::Result<(TcpStream, SocketAddr, TlsAcceptor)> {
    match tls {
        Some((listener, acceptor)) => listener.accept().await.map(|(s, peer)| (s, peer, acceptor.clone())),
        None => std::future::pending().await,
    }
}

async fn connection(stream: TcpStream, peer: SocketAddr, shared: Shared, stop: watch::Receiver<bool>, options: ConnOptions) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let conn = Arc::new(Conn::new(peer, local, false, options));
    let mut preface = [0u8; H2_PREFACE.len()];
    let is_h2 = matches!(stream.peek(&mut preface).await, Ok(n) if n == H2_PREFACE.len() && preface == *H2_PREFACE);
    serve(TokioIo::new(stream), is_h2, conn, shared, stop).await;
}

/// A connection on the HTTPS listener: the handshake (certificate by SNI), then
/// HTTP/2 or HTTP/1.1 as ALPN chose.
async fn tls_connection(stream: TcpStream, peer: SocketAddr, acceptor: TlsAcceptor, shared: Shared, stop: watch::Receiver<bool>, options: ConnOptions) {
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
    serve(TokioIo::new(tls), is_h2, conn, shared, stop).await;
}

/// Serves requests on `io` until the connection ends; on stop, finishes the request in flight and closes.
async fn serve<I>(io: TokioIo<I>, is_h2: bool, conn: Arc<Conn>, shared: Shared, mut stop: watch::Receiver<bool>)
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
