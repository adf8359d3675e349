//! The gateway listeners: one thread per core, each with a single-threaded
//! runtime and its own `SO_REUSEPORT` socket on the same address, so the
//! kernel spreads connections and no request crosses threads. Each
//! connection is served by `conn`: HTTP/1.1 or HTTP/2, plain or after the
//! TLS handshake. A connection over the node's or its address's cap is
//! closed as soon as it is accepted (`admission`).

mod admission;
mod conn;
mod h1_guard;
mod h2_guard;
mod passthrough;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::Shared;
use crate::observe::access_log;
use crate::pipeline::conn::{ConnLimits, ConnOptions};
use admission::Admission;

/// How long open connections get to finish when stopping.
const DRAIN: Duration = Duration::from_secs(10);

/// Where and how the gateway listens.
#[derive(Debug, Clone)]
pub struct ListenConfig {
    pub listen: SocketAddr,
    /// The HTTPS listener and its TLS configuration (certificates by SNI, ALPN `h2` / `http/1.1`).
    pub tls: Option<(SocketAddr, Arc<rustls::ServerConfig>)>,
    /// Listener threads (at least one).
    pub workers: usize,
    /// How connections are served: AppCodes over plain HTTP, the caller's address behind proxies.
    pub connections: ConnOptions,
}

/// The running listener threads.
pub struct Listeners {
    pub local_addr: SocketAddr,
    /// The HTTPS listener's address, if there is one.
    pub tls_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    threads: Vec<std::thread::JoinHandle<()>>,
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
struct Sockets {
    plain: std::net::TcpListener,
    tls: Option<(std::net::TcpListener, TlsAcceptor)>,
}

/// Starts the listener threads; returns once every socket is bound.
pub fn start(config: &ListenConfig, shared: Shared) -> std::io::Result<Listeners> {
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
    let admission = Admission::new(options.limits.max_connections, options.limits.max_connections_per_address);
    let (stop, stop_rx) = watch::channel(false);
    let mut threads = Vec::new();
    for (i, (plain, tls)) in plain.into_iter().zip(tls).enumerate() {
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let admission = admission.clone();
        let thread = std::thread::Builder::new().name(format!("gateway-{i}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a gateway worker runtime");
                    return;
                }
            };
            runtime.block_on(worker(Sockets { plain, tls }, shared, stop_rx, options, admission));
        })?;
        threads.push(thread);
    }
    tracing::info!(addr = %local_addr, workers = threads.len(), "gateway listening");
    if let Some(addr) = tls_addr {
        tracing::info!(addr = %addr, "gateway TLS listening");
    }
    Ok(Listeners { local_addr, tls_addr, stop, threads })
}

impl Listeners {
    /// Stops accepting, lets open connections finish (up to a deadline) and joins the threads.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

async fn worker(listeners: Sockets, shared: Shared, mut stop: watch::Receiver<bool>, options: ConnOptions, admission: Arc<Admission>) {
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
    let _ = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    access_log::flush();
}

/// Serves HTTP/1.1 on `listener` under the same client limits as the
/// gateway's listeners, each connection with the service `service_for` makes
/// for its peer's address (the admin API), until `stop` changes; then lets
/// open connections finish (up to a deadline).
pub async fn serve_http1<F, S, B>(listener: TcpListener, service_for: F, limits: ConnLimits, mut stop: watch::Receiver<bool>)
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
    let _ = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
}

/// The next connection on the HTTPS listener (never, without one).
async fn accept_tls(tls: &Option<(TcpListener, TlsAcceptor)>) -> std::io::Result<(TcpStream, SocketAddr, TlsAcceptor)> {
    match tls {
        Some((listener, acceptor)) => listener.accept().await.map(|(s, peer)| (s, peer, acceptor.clone())),
        None => std::future::pending().await,
    }
}

