//! What the pipeline knows about the connection a request came on (formatted
//! once per connection, not per request), and who the caller is: the TCP
//! peer, or behind trusted proxies the configured `X-Forwarded-For` entry.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use http::HeaderValue;

use crate::backend::http::websocket::WebSocketLimits;
use crate::http::headers::X_FORWARDED_FOR;
use crate::http::paced::Pace;
use crate::stages::body::BodyLimits;

/// What the pipeline knows about the connection a request came on.
/// Formatted once per connection, not per request.
#[derive(Debug)]
pub struct Conn {
    pub peer: SocketAddr,
    pub https: bool,
    /// The HTTPS listener's port, for redirects to HTTPS (none without a listener).
    pub https_port: Option<u16>,
    pub websocket: WebSocketLimits,
    /// AppCodes accepted over plain HTTP (`--allow-app-code-over-http`).
    pub app_code_over_http: bool,
    /// Behind trusted proxies: which `X-Forwarded-For` entry is the caller (`--real-ip-from-xff`).
    pub xff_index: Option<i32>,
    /// Longest request target (path and query) served.
    pub max_uri_length: usize,
    /// How fast and how large a request body must be.
    pub body: BodyLimits,
    pub peer_ip: Box<str>,
    pub local_ip: Box<str>,
    pub peer_ip_value: HeaderValue,
    pub local_port_value: HeaderValue,
    /// A debug call's connection: the steps the pipeline takes.
    pub steps: Option<std::sync::Arc<crate::pipeline::notes::Steps>>,
    /// The node is draining: HTTP/1 answers say `Connection: close`, so
    /// callers close the connection themselves once they have their answer.
    pub draining: std::sync::atomic::AtomicBool,
}

impl Conn {
    pub fn new(peer: SocketAddr, local: SocketAddr, https: bool, options: ConnOptions) -> Self {
        let peer_ip = peer.ip().to_string();
        Self {
            peer,
            https,
            https_port: options.https_port,
            websocket: options.websocket,
            app_code_over_http: options.app_code_over_http,
            xff_index: options.real_ip_from_xff,
            max_uri_length: options.limits.max_uri_length,
            body: BodyLimits { pace: Pace { timeout: options.limits.body_timeout, min_rate: options.limits.body_min_rate }, max_size: options.limits.max_body_size },
            peer_ip_value: HeaderValue::from_str(&peer_ip).unwrap_or(HeaderValue::from_static("unknown")),
            peer_ip: peer_ip.into(),
            local_ip: local.ip().to_string().into(),
            local_port_value: HeaderValue::from(local.port()),
            steps: None,
            draining: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Notes a step of a debug call; on other connections `what` never runs.
    #[inline(always)]
    pub fn note(&self, what: impl FnOnce() -> String) {
        if let Some(steps) = &self.steps {
            let mut what = Some(what);
            steps.push_with(&mut || what.take().map(|f| f()));
        }
    }
}

/// How connections are served (from the gateway's configuration).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnOptions {
    pub app_code_over_http: bool,
    /// Take the caller's address from `X-Forwarded-For` at this index (-1: the last entry).
    pub real_ip_from_xff: Option<i32>,
    /// The HTTPS listener's port (set once it is bound).
    pub https_port: Option<u16>,
    /// Limits of WebSocket connections.
    pub websocket: WebSocketLimits,
    /// What a client may send, how slowly, and how many connections it may hold.
    pub limits: ConnLimits,
}

/// What a client may send, how slowly, and how many connections it may
/// hold: on every listener, with defaults no looser than nginx's (each is
/// listed beside nginx's in docs/security.md).
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// Longest wait for a complete request head, on a new connection or an
    /// idle kept-alive one (then the connection is closed).
    pub header_timeout: Duration,
    /// Longest TLS handshake.
    pub handshake_timeout: Duration,
    /// Longest wait for the next piece of a request body (then 408).
    pub body_timeout: Duration,
    /// Bytes per second a request body must average after its first `body_timeout` (0: no minimum).
    pub body_min_rate: u32,
    /// Connections open at once on the node, over all listeners (0: no cap).
    pub max_connections: usize,
    /// Connections open at once from one client address (0: no cap).
    pub max_connections_per_address: usize,
    /// Longest request target: path and query (then 414).
    pub max_uri_length: usize,
    /// Largest request head: request line and headers (then 431).
    pub max_header_size: usize,
    /// Most header fields in a request (then 431).
    pub max_headers: usize,
    /// Most concurrent streams of an HTTP/2 connection.
    pub http2_max_concurrent_streams: u32,
    /// Largest request body (then 413).
    pub max_body_size: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            body_min_rate: 500,
            max_connections: 512,
            max_connections_per_address: 0,
            max_uri_length: 8 << 10,
            max_header_size: 32 << 10,
            max_headers: 100,
            http2_max_concurrent_streams: 128,
            // The cloud gateways' 12 MiB.
            max_body_size: 12 << 20,
        }
    }
}

/// The caller's address: the TCP peer's, or behind trusted proxies the
/// configured `X-Forwarded-For` entry (when it is an address).
pub struct Client<'c> {
    pub ip: IpAddr,
    pub text: Cow<'c, str>,
    pub value: Cow<'c, HeaderValue>,
}

impl<'c> Client<'c> {
    pub fn of(headers: &http::HeaderMap, conn: &'c Conn) -> Self {
        let peer = || Client { ip: conn.peer.ip(), text: Cow::Borrowed(&*conn.peer_ip), value: Cow::Borrowed(&conn.peer_ip_value) };
        let Some(index) = conn.xff_index else { return peer() };
        // Several headers count as one list, in order.
        let entries: Vec<&str> = headers.get_all(X_FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
        let at = if index < 0 { entries.len().checked_sub(index.unsigned_abs() as usize) } else { Some(index as usize) };
        match at.and_then(|i| entries.get(i)).and_then(|e| Some((e.parse::<IpAddr>().ok()?, HeaderValue::from_str(e).ok()?))) {
            Some((ip, value)) => Client { ip, text: Cow::Owned(ip.to_string()), value: Cow::Owned(value) },
            None => peer(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forwarded_entry_at_the_index_is_the_caller() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let conn = |index| Conn::new(peer, peer, false, ConnOptions { app_code_over_http: false, real_ip_from_xff: index, ..Default::default() });
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1, 2.2.2.2"));
        headers.append("x-forwarded-for", HeaderValue::from_static("3.3.3.3"));
        let at = |index| Client::of(&headers, &conn(index)).text.into_owned();
        assert_eq!(at(Some(-1)), "3.3.3.3");
        assert_eq!(at(Some(-2)), "2.2.2.2");
        assert_eq!(at(Some(0)), "1.1.1.1");
        assert_eq!(at(Some(3)), "127.0.0.1", "past the end: the peer");
        assert_eq!(at(Some(-4)), "127.0.0.1");
        assert_eq!(at(None), "127.0.0.1", "not configured: the peer");
        assert_eq!(Client::of(&headers, &conn(Some(-1))).ip, "3.3.3.3".parse::<IpAddr>().unwrap());
    }
}
