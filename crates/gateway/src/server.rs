//! The gateway listeners: one thread per core, each with a single-threaded
//! runtime and its own `SO_REUSEPORT` socket on the same address, so the
//! kernel spreads connections and no request crosses threads. HTTP/1.1 is
//! served by hyper's `http1` connection; a connection that opens with the
//! HTTP/2 preface (h2c prior knowledge) gets `http2` instead.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::access_log;
use crate::pipeline::{self, Conn, ConnOptions};
use crate::watch::Shared;

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long open connections get to finish when stopping.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// Listener threads; defaults to the number of cores.
    pub workers: usize,
    /// How connections are served: AppCodes over plain HTTP, the caller's address behind proxies.
    pub connections: ConnOptions,
}

/// The running listeners.
pub struct Gateway {
    pub local_addr: SocketAddr,
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

/// Starts the listener threads; returns once every socket is bound.
pub fn start(config: &GatewayConfig, shared: Shared) -> std::io::Result<Gateway> {
    let first = bind(config.listen)?;
    // With port 0 the first socket picks the port; the others join it.
    let local_addr = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..config.workers.max(1) {
        listeners.push(bind(local_addr)?);
    }
    let (stop, stop_rx) = watch::channel(false);
    let mut threads = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        let shared = shared.clone();
        let stop_rx = stop_rx.clone();
        let options = config.connections;
        let thread = std::thread::Builder::new().name(format!("gateway-{i}")).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "cannot start a gateway worker runtime");
                    return;
                }
            };
            runtime.block_on(worker(listener, shared, stop_rx, options));
        })?;
        threads.push(thread);
    }
    tracing::info!(addr = %local_addr, workers = threads.len(), "gateway listening");
    Ok(Gateway { local_addr, stop, threads })
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

async fn worker(listener: std::net::TcpListener, shared: Shared, mut stop: watch::Receiver<bool>, options: ConnOptions) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot register a gateway listener");
            return;
        }
    };
    let mut connections = tokio::task::JoinSet::new();
    // This thread's access log lines are written out at least this often.
    let mut flush = tokio::time::interval(access_log::FLUSH_EVERY);
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, shared.clone(), stop.clone(), options));
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
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, async { while connections.join_next().await.is_some() {} }).await;
    access_log::flush();
}

async fn connection(stream: TcpStream, peer: SocketAddr, shared: Shared, mut stop: watch::Receiver<bool>, options: ConnOptions) {
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().unwrap_or(peer);
    let conn = Arc::new(Conn::new(peer, local, false, options));
    let service = service_fn(move |req| {
        let conn = conn.clone();
        let snapshot = shared.load_full();
        async move { Ok::<_, std::convert::Infallible>(pipeline::handle(req, &conn, snapshot).await) }
    });
    let mut preface = [0u8; H2_PREFACE.len()];
    let is_h2 = matches!(stream.peek(&mut preface).await, Ok(n) if n == H2_PREFACE.len() && preface == *H2_PREFACE);
    let io = TokioIo::new(stream);
    // Serve until the connection ends; on stop, finish the request in flight and close.
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
        serve_until_stopped!(hyper::server::conn::http1::Builder::new().writev(false).serve_connection(io, service));
    }
}
