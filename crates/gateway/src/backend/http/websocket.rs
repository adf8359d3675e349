//! WebSocket APIs: once the pipeline has admitted an upgrade request (route,
//! protocol, access control, authentication, throttling, parameters), the
//! mapped request goes to the backend on a connection of its own; when the
//! backend answers `101 Switching Protocols`, the caller gets that answer and
//! both upgraded connections are joined byte for byte until either side
//! closes (close frames pass through, so the close handshake is the
//! peers' own). The gateway watches two things on the way: how long the
//! connection has been idle, and the size of the messages callers send.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::{HeaderValue, Request, Response, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::backend::http::target::{HttpTarget, Reach};
use crate::http::body::Body;
use crate::http::error::{GatewayError, errors};
use crate::http::headers::remove_hop_by_hop;
use crate::observe::Exchange;
use crate::upstream::balance::{Channels, Lease, PickInput};
use crate::upstream::{self, Dialed, Endpoint, UpBody};

/// Limits of proxied WebSocket connections (from the gateway's settings).
#[derive(Debug, Clone, Copy)]
pub struct WebSocketLimits {
    /// A connection with no data either way for this long is closed.
    pub idle_timeout: Duration,
    /// The largest message (all frames of it) a caller may send, in bytes.
    pub max_message: u64,
    /// How long the backend may take to answer the upgrade (the API's backend timeout).
    pub connect_timeout: Duration,
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        Self { idle_timeout: Duration::from_secs(300), max_message: 16 << 20, connect_timeout: Duration::from_secs(5) }
    }
}

/// Sends the mapped upgrade request to the backend; on `101`, answers the
/// caller with it and joins the two connections in a task of their own.
/// Any other answer is passed to the caller as it is.
pub async fn proxy(
    channels: &Channels,
    target: &HttpTarget,
    pick: &PickInput<'_>,
    mut req: Request<UpBody>,
    caller: OnUpgrade,
    limits: WebSocketLimits,
) -> Result<Response<Body>, GatewayError> {
    let limits = WebSocketLimits { connect_timeout: target.timeout, ..limits };
    // Mapping dropped the hop-by-hop headers; the upgrade needs its two back.
    req.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    req.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    // Upgrades are HTTP/1.1 whatever the backend's `http2` says (and never pooled: the key is unused).
    let channel = match &target.reach {
        Reach::Channel(channel) => channel,
        Reach::One(address) => return finish(Endpoint { http2: false, ..address.endpoint() }, req, caller, limits, None).await,
    };
    // A channel's member is chosen once, and counted as busy for as long as the connection lasts.
    let pool = HttpTarget::pool(channel, channels)?;
    let lease = Lease::new(pool.pick(pick, &[]).ok_or(errors::NO_BACKEND_AVAILABLE)?);
    let m = lease.member().clone();
    let endpoint = Endpoint { http2: false, ..target.member_endpoint(channel, &m, None) };
    finish(endpoint, req, caller, limits, Some(lease)).await
}

async fn finish(endpoint: Endpoint<'_>, req: Request<UpBody>, caller: OnUpgrade, limits: WebSocketLimits, lease: Option<Lease>) -> Result<Response<Body>, GatewayError> {
    let answer = tokio::time::timeout(limits.connect_timeout, open(endpoint, req)).await.map_err(|_| errors::BACKEND_TIMEOUT)??;
    let (mut parts, body) = answer.into_parts();
    if parts.status != http::StatusCode::SWITCHING_PROTOCOLS {
        remove_hop_by_hop(&mut parts.headers);
        return Ok(Response::from_parts(parts, Body::stream(body)));
    }
    let backend = parts.extensions.remove::<OnUpgrade>().ok_or_else(|| errors::BACKEND_UNAVAILABLE.with_message("Backend unavailable: the backend's upgrade cannot be taken over".into()))?;
    let (log_tx, log_rx) = tokio::sync::oneshot::channel::<Box<Exchange>>();
    let open = Open::new();
    tokio::spawn(async move {
        let _open = open;
        let _lease = lease;
        let sent = match tokio::try_join!(caller, backend) {
            Ok((caller, backend)) => relay(TokioIo::new(caller), TokioIo::new(backend), limits).await,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket upgrade did not complete");
                0
            }
        };
        // The connection's access log line and metrics: its whole life, the bytes the caller got.
        if let Ok(mut exchange) = log_rx.await {
            exchange.bytes = sent;
            exchange.finish();
        }
    });
    // The backend's answer (its Sec-WebSocket-Accept, protocol and extensions), upgrade headers included.
    parts.extensions.insert(LogOnClose::new(log_tx));
    let mut res = Response::from_parts(parts, Body::empty());
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    res.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    Ok(res)
}

/// A connection of its own to the backend (never pooled), the request sent, its answer read.
async fn open(endpoint: Endpoint<'_>, req: Request<UpBody>) -> Result<Response<hyper::body::Incoming>, GatewayError> {
    match upstream::dial(endpoint).await? {
        Dialed::Plain(s) => request_upgrade(s, req).await,
        Dialed::Tls(s) => request_upgrade(s, req).await,
    }
}

async fn request_upgrade<I>(io: I, req: Request<UpBody>) -> Result<Response<hyper::body::Incoming>, GatewayError>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let unavailable = |e: hyper::Error| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}"));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(unavailable)?;
    upstream::drive(conn.with_upgrades(), "WebSocket backend connection");
    sender.send_request(req).await.map_err(unavailable)
}

/// Carried on a `101` answer: the request's exchange goes to the relay, which
/// finishes it (access log line, metrics) when the connection closes.
/// (Response extensions must be `Clone + Sync`, hence the shared slot.)
#[derive(Clone)]
pub struct LogOnClose(std::sync::Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<Box<Exchange>>>>>);

impl LogOnClose {
    pub(crate) fn new(tx: tokio::sync::oneshot::Sender<Box<Exchange>>) -> Self {
        Self(std::sync::Arc::new(std::sync::Mutex::new(Some(tx))))
    }

    /// Hands the exchange to the relay (finished at once if the relay is gone).
    pub fn hand_over(self, exchange: Box<Exchange>) {
        let tx = self.0.lock().ok().and_then(|mut t| t.take());
        match tx {
            Some(tx) => {
                if let Err(exchange) = tx.send(exchange) {
                    exchange.finish();
                }
            }
            None => exchange.finish(),
        }
    }
}

/// Joins caller and backend until one side closes, the connection idles past
/// the limit, or the caller sends a message larger than allowed. Returns the
/// bytes the backend sent the caller.
async fn relay<C, B>(caller: C, backend: B, limits: WebSocketLimits) -> u64
where
    C: AsyncRead + AsyncWrite + Unpin,
    B: AsyncRead + AsyncWrite + Unpin,
{
    let started = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut caller = Watched { inner: caller, last: last.clone(), started, frames: Some(FrameScanner::new(limits.max_message)), read: 0 };
    let mut backend = Watched { inner: backend, last: last.clone(), started, frames: None, read: 0 };
    let stopping = stopping();
    let idle = async {
        loop {
            let quiet = started.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
            if quiet >= limits.idle_timeout {
                return;
            }
            tokio::time::sleep(limits.idle_timeout - quiet).await;
        }
    };
    let close = tokio::select! {
        r = tokio::io::copy_bidirectional(&mut caller, &mut backend) => match r {
            Ok(_) => None,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Some(CLOSE_TOO_BIG),
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket connection ended");
                None
            }
        },
        _ = idle => Some(CLOSE_GOING_AWAY),
        _ = stopping => {
            // The node stops: both sides are told (a client's frame is masked, here with a zero key).
            let _ = backend.inner.write_all(CLOSE_GOING_AWAY_MASKED).await;
            Some(CLOSE_GOING_AWAY)
        }
    };
    // The caller is told why (a close frame from the server side is unmasked); the backend's connection just ends.
    if let Some(frame) = close {
        let _ = caller.inner.write_all(frame).await;
    }
    let _ = caller.inner.shutdown().await;
    let _ = backend.inner.shutdown().await;
    backend.read
}

/// Close frames the gateway sends callers: 1009 (message too big), 1001 (going away: idle, or the node stops).
const CLOSE_TOO_BIG: &[u8] = &[0x88, 0x02, 0x03, 0xf1];
const CLOSE_GOING_AWAY: &[u8] = &[0x88, 0x02, 0x03, 0xe9];
/// 1001 towards a backend, masked as a client's frames must be (a zero key leaves the payload as it is).
const CLOSE_GOING_AWAY_MASKED: &[u8] = &[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe9];

/// Set when the node stops: every relayed connection is closed with 1001.
static GOING_AWAY: std::sync::LazyLock<tokio::sync::watch::Sender<bool>> = std::sync::LazyLock::new(|| tokio::sync::watch::Sender::new(false));
/// Relayed connections open in this process, and a wake-up when one closes.
static OPEN: AtomicU64 = AtomicU64::new(0);
static CLOSED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// One open WebSocket connection (relayed or served by functions), counted while it lasts.
pub(crate) struct Open;

impl Open {
    pub(crate) fn new() -> Self {
        OPEN.fetch_add(1, Ordering::Relaxed);
        Open
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::Relaxed);
        CLOSED.notify_waiters();
    }
}

/// Resolves when the node stops and its WebSocket connections are to be closed.
pub(crate) async fn stopping() {
    let mut going_away = GOING_AWAY.subscribe();
    while !*going_away.borrow_and_update() {
        if going_away.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Closes every relayed connection with 1001 "going away" (the node stops).
pub(crate) fn close_all() {
    GOING_AWAY.send_replace(true);
}

/// Resolves once no relayed connection is open.
pub(crate) async fn all_closed() {
    loop {
        let closed = CLOSED.notified();
        if OPEN.load(Ordering::Relaxed) == 0 {
            return;
        }
        closed.await;
    }
}

/// A side of the relay: notes when data last came, and (the caller's side) checks message sizes.
struct Watched<T> {
    inner: T,
    last: Arc<AtomicU64>,
    started: Instant,
    frames: Option<FrameScanner>,
    /// Bytes read from this side.
    read: u64,
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let read = &buf.filled()[before..];
            if !read.is_empty() {
                this.read += read.len() as u64;
                this.last.store(this.started.elapsed().as_millis() as u64, Ordering::Relaxed);
                if let Some(frames) = &mut this.frames
                    && frames.feed(read).is_err()
                {
                    return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "WebSocket message too big")));
                }
            }
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Follows the frames of a WebSocket byte stream (RFC 6455 §5.2) without
/// buffering them: headers are read as they pass, payloads skipped, and the
/// length of each data message (its frames together) added up.
#[derive(Debug)]
pub(crate) struct FrameScanner {
    max: u64,
    header: [u8; 14],
    have: usize,
    /// Header bytes of the current frame (2 until the second byte tells more).
    need: usize,
    /// Payload bytes of the current frame still to pass.
    payload_left: u64,
    /// The current data message so far.
    message: u64,
}

impl FrameScanner {
    pub(crate) fn new(max: u64) -> Self {
        Self { max, header: [0; 14], have: 0, need: 2, payload_left: 0, message: 0 }
    }

    /// Err once a message is larger than the limit.
    pub(crate) fn feed(&mut self, mut data: &[u8]) -> Result<(), ()> {
        while !data.is_empty() {
            if self.payload_left > 0 {
                let n = (data.len() as u64).min(self.payload_left);
                self.payload_left -= n;
                data = &data[n as usize..];
                continue;
            }
            self.header[self.have] = data[0];
            self.have += 1;
            data = &data[1..];
            if self.have == 2 {
                let ext = match self.header[1] & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                };
                let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
                self.need = 2 + ext + mask;
            }
            if self.have >= 2 && self.have == self.need {
                let len = match self.header[1] & 0x7f {
                    126 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                    127 => u64::from_be_bytes(self.header[2..10].try_into().unwrap_or([0xff; 8])),
                    n => u64::from(n),
                };
                let opcode = self.header[0] & 0x0f;
                // Control frames (close, ping, pong) are not part of messages.
                if opcode < 8 {
                    if opcode != 0 {
                        self.message = 0;
                    }
                    self.message = self.message.saturating_add(len);
                    if self.message > self.max {
                        return Err(());
                    }
                }
                self.payload_left = len;
                self.have = 0;
                self.need = 2;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame.
    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = vec![(if fin { 0x80 } else { 0 }) | opcode];
        match len {
            0..=125 => f.push(0x80 | len as u8),
            126..=65535 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend(std::iter::repeat_n(0x55, len));
        f
    }

    #[test]
    fn messages_are_measured_across_frames_and_reads() {
        let mut s = FrameScanner::new(1000);
        let mut stream = frame(true, 1, 10);
        stream.extend(frame(false, 2, 600));
        stream.extend(frame(true, 9, 20)); // a ping in between does not count
        stream.extend(frame(true, 0, 300));
        stream.extend(frame(true, 2, 70_000 / 100)); // a new message starts from zero
        // Fed one byte at a time and in one piece: the same verdict.
        for chunk in [1, stream.len()] {
            let mut s2 = FrameScanner::new(1000);
            assert!(stream.chunks(chunk).all(|c| s2.feed(c).is_ok()));
        }
        assert!(s.feed(&stream).is_ok());
        assert!(s.feed(&frame(false, 1, 900)).is_ok());
        assert!(s.feed(&frame(true, 0, 101)).is_err(), "900 + 101 > 1000");
        let mut big = FrameScanner::new(100_000);
        assert!(big.feed(&frame(true, 2, 100_001)[..20]).is_err(), "refused from the header, before the payload arrives");
    }
}
