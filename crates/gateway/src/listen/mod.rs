//! The gateway listeners: one thread per core, each with a single-threaded
//! runtime and its own `SO_REUSEPORT` socket on the same address, so the
//! kernel spreads connections and no request crosses threads. Each
//! connection is served by `conn`: HTTP/1.1 or HTTP/2, plain or after the
//! TLS handshake. A connection over the node's or its address's cap is
//! closed as soon as it is accepted (`admission`).
//!
//! The sockets can come from a process being replaced (a restart or an
//! upgrade hands them over): every one is accepted on, so no connection the
//! kernel queued on any of them waits. On stop a worker stops accepting and
//! drains: HTTP/1 answers say `Connection: close`, connections still idle
//! after a moment are closed, HTTP/2 ones get a GOAWAY, requests in flight
//! finish, and WebSocket connections get a close frame when the drain
//! timeout ends.

mod admission;
mod conn;
mod h1_guard;
mod h2_guard;
mod passthrough;

use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::backend::http::websocket;
use crate::config::Shared;
use crate::observe::access_log;
use crate::pipeline::conn::{ConnLimits, ConnOptions};
use admission::Admission;

/// How long open connections get to finish when stopping, by default.
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(10);
/// How long WebSocket connections get to see their close frame out.
const CLOSE_FRAMES: Duration = Duration::from_secs(1);

/// Where and how the gateway listens.
#[derive(Debug)]
pub struct ListenConfig {
    pub listen: SocketAddr,
    /// The HTTPS listener and its TLS configuration (certificates by SNI, ALPN `h2` / `http/1.1`).
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// Listener threads (at least one).
    pub workers: usize,
    /// How connections are served: AppCodes over plain HTTP, the caller's address behind proxies.
    pub connections: ConnOptions,
    /// Sockets handed over by the process this one replaces.
    pub inherited: Inherited,
    /// How long open connections get to finish when stopping.
    pub drain: Duration,
}

/// Listening sockets handed over by a process being replaced.
#[derive(Debug, Default)]
pub struct Inherited {
    pub plain: Vec<std::net::TcpListener>,
    pub tls: Vec<std::net::TcpListener>,
}

/// Which listener a socket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    Plain,
    Tls,
}

/// The running listener threads.
pub struct Listeners {
    pub local_addr: SocketAddr,
    /// The HTTPS listener's address, if there is one.
    pub tls_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
    /// Every listening socket (duplicates of the workers'), to hand over to a successor.
    sockets: Vec<(SocketKind, std::net::TcpListener)>,
}

fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// The sockets of each worker on `addr`: the inherited ones spread over the
/// workers (a worker may get several), new ones joining them where there are
/// fewer than workers. Without inherited sockets and with port 0, the first
/// picks the port and the others join it.
fn sockets_for(addr: SocketAddr, workers: usize, inherited: Vec<std::net::TcpListener>) -> std::io::Result<(SocketAddr, Vec<Vec<std::net::TcpListener>>)> {
    let mut per_worker: Vec<Vec<std::net::TcpListener>> = (0..workers).map(|_| Vec::new()).collect();
    let mut local_addr = None;
    for (i, socket) in inherited.into_iter().enumerate() {
        socket.set_nonblocking(true)?;
        local_addr.get_or_insert(socket.local_addr()?);
        per_worker[i % workers].push(socket);
    }
    for sockets in &mut per_worker {
        if sockets.is_empty() {
            let socket = bind(local_addr.unwrap_or(addr))?;
            local_addr.get_or_insert(socket.local_addr()?);
            sockets.push(socket);
        }
    }
    Ok((local_addr.unwrap_or(addr), per_worker))
}

/// What one worker thread accepts on.
struct Sockets {
    plain: Vec<std::net::TcpListener>,
    tls: Option<(Vec<std::net::TcpListener>, TlsAcceptor)>,
}

/// Starts the listener threads; returns once every socket is bound.
pub fn start(config: ListenConfig, shared: Shared) -> std::io::Result<Listeners> {
    let workers = config.workers.max(1);
    let (local_addr, plain) = sockets_for(config.listen, workers, config.inherited.plain)?;
    let mut kept = Vec::new();
    for s in plain.iter().flatten() {
        kept.push((SocketKind::Plain, s.try_clone()?));
    }
    let mut options = config.connections;
    let (tls_addr, tls) = match &config.tls {
        Some((addr, server_config)) => {
            let (tls_addr, sockets) = sockets_for(*addr, workers, config.inherited.tls)?;
            for s in sockets.iter().flatten() {
                kept.push((SocketKind::Tls, s.try_clone()?));
            }
            options.https_port = Some(tls_addr.port());
            let acceptor = TlsAcceptor::from(server_config.clone());
            (Some(tls_addr), sockets.into_iter().map(|s| Some((s, acceptor.clone()))).collect())
        }
        None => (None, (0..workers).map(|_| None).collect::<Vec<_>>()),
    };
    let admission = Admission::new(options.limits.max_connections, options.limits.max_connections_per_address);
    let (stop, stop_rx) = watch::channel(false);
    let mut threads = Vec::new();
    for (i, (plain, tls)) in plain.into_iter().zip(tls).enumerate() {
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let admission = admission.clone();
        let drain = config.drain;
        let thread = std::thread::Builder::new().name(format!("gateway-{i}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a gateway worker runtime");
                    return;
                }
            };
            runtime.block_on(worker(Sockets { plain, tls }, shared, stop_rx, options, admission, drain));
        })?;
        threads.push(thread);
    }
    tracing::info!(addr = %local_addr, workers = threads.len(), "gateway listening");
    if let Some(addr) = tls_addr {
        tracing::info!(addr = %addr, "gateway TLS listening");
    }
    Ok(Listeners { local_addr, tls_addr, stop, threads, sockets: kept })
}

impl Listeners {
    /// Every listening socket, to hand over to a process replacing this one.
    pub fn sockets(&self) -> impl Iterator<Item = (SocketKind, BorrowedFd<'_>)> {
        self.sockets.iter().map(|(kind, s)| (*kind, s.as_fd()))
    }

    /// Stops accepting, drains open connections (up to the drain timeout) and joins the threads.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        // A successor holds its own copies; without one, the sockets close now and new connections are refused.
        drop(self.sockets);
        for t in self.threads {
            let _ = t.join();
        }
        // Every worker's last lines are queued: the writer writes them before the process goes.
        access_log::finish(Duration::from_secs(10));
    }
}

async fn worker(sockets: Sockets, shared: Shared, mut stop: watch::Receiver<bool>, options: ConnOptions, admission: Arc<Admission>, drain: Duration) {
    let register = |sockets: Vec<std::net::TcpListener>| -> Option<Vec<TcpListener>> {
        let registered: std::io::Result<Vec<TcpListener>> = sockets.into_iter().map(TcpListener::from_std).collect();
        registered.map_err(|e| tracing::error!(error = %e, "cannot register a gateway listener")).ok()
    };
    let Some(plain) = register(sockets.plain) else { return };
    let tls = match sockets.tls {
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
            accepted = accept_any(&plain) => match accepted {
                Ok((stream, peer)) => {
                    // Over a cap the stream is dropped here: closed before any byte is read.
                    if let Some(slot) = admission.admit(peer.ip()) {
                        let served = conn::plain(stream, peer, shared.clone(), stop.clone(), options);
                        connections.spawn(async move { served.await; drop(slot) });
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            accepted = accept_tls(&tls) => match accepted {
                Ok((stream, peer, acceptor)) => {
                    if let Some(slot) = admission.admit(peer.ip()) {
                        let served = conn::tls(stream, peer, acceptor, shared.clone(), stop.clone(), options);
                        connections.spawn(async move { served.await; drop(slot) });
                    }
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
    // Connections finish (and WebSocket connections, relayed on this thread, go on) until the drain timeout;
    // then WebSocket callers get a close frame.
    let drained = async {
        while connections.join_next().await.is_some() {}
        websocket::all_closed().await;
    };
    if tokio::time::timeout(drain, drained).await.is_err() {
        websocket::close_all();
        let _ = tokio::time::timeout(CLOSE_FRAMES, websocket::all_closed()).await;
    }
    access_log::flush_last();
}

/// The next connection on any of `listeners` (each polled in turn, from a
/// rotating start so none is favoured).
async fn accept_any(listeners: &[TcpListener]) -> std::io::Result<(TcpStream, SocketAddr)> {
    if let [one] = listeners {
        return one.accept().await;
    }
    let mut start = 0;
    std::future::poll_fn(|cx| {
        let n = listeners.len();
        for i in 0..n {
            let l = &listeners[(start + i) % n];
            if let Poll::Ready(r) = l.poll_accept(cx) {
                start = (start + i + 1) % n;
                return Poll::Ready(r);
            }
        }
        Poll::Pending
    })
    .await
}

/// The next connection on the HTTPS listener (never, without one).
async fn accept_tls(tls: &Option<(Vec<TcpListener>, TlsAcceptor)>) -> std::io::Result<(TcpStream, SocketAddr, TlsAcceptor)> {
    match tls {
        Some((listeners, acceptor)) => accept_any(listeners).await.map(|(s, peer)| (s, peer, acceptor.clone())),
        None => std::future::pending().await,
    }
}

/// Serves HTTP/1.1 on `listener` under the same client limits as the
/// gateway's listeners, each connection with the service `service_for` makes
/// for its peer's address (the admin API), until `stop` changes; then lets
/// open connections finish (up to `drain`).
pub async fn serve_http1<F, S, B>(listener: TcpListener, service_for: F, limits: ConnLimits, mut stop: watch::Receiver<bool>, drain: Duration)
where
    F: Fn(std::net::SocketAddr) -> S,
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let admission = Admission::new(limits.max_connections, limits.max_connections_per_address);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Some(slot) = admission.admit(peer.ip()) {
                        let served = conn::http1_service(stream, service_for(peer), limits, stop.clone());
                        let served = async move { served.await; drop(slot) };
                        connections.spawn(served);
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(drain, async { while connections.join_next().await.is_some() {} }).await;
}

