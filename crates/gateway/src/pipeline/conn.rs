//! What the pipeline knows about the connection a request came on (formatted
//! once per connection, not per request), and who the caller is: the TCP
//! peer, or behind trusted proxies the configured `X-Forwarded-For` entry.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use http::HeaderValue;

use crate::backend::http::websocket::WebSocketLimits;
use crate::http::headers::X_FORWARDED_FOR;

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
    pub peer_ip: Box<str>,
    pub local_ip: Box<str>,
    pub peer_ip_value: HeaderValue,
    pub local_port_value: HeaderValue,
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
            peer_ip_value: HeaderValue::from_str(&peer_ip).unwrap_or(HeaderValue::from_static("unknown")),
            peer_ip: peer_ip.into(),
            local_ip: local.ip().to_string().into(),
            local_port_value: HeaderValue::from(local.port()),
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
