//! Header names the gateway reads or writes, each parsed once, and the
//! hop-by-hop headers that never cross the gateway (in either direction).

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `X-Apig-Mode: debug` asks for the latency and rate-limit headers.
pub const X_APIG_MODE: HeaderName = HeaderName::from_static("x-apig-mode");
/// The environment a caller asks for (`RELEASE` when absent).
pub const X_STAGE: HeaderName = HeaderName::from_static("x-stage");
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
pub const X_APIG_LATENCY: HeaderName = HeaderName::from_static("x-apig-latency");
pub const X_APIG_UPSTREAM_LATENCY: HeaderName = HeaderName::from_static("x-apig-upstream-latency");
/// AppCode authentication (as a lower-case name for signature header lookups).
pub const X_APIG_APPCODE: &str = "x-apig-appcode";
pub const X_APIG_RATELIMIT_API: HeaderName = HeaderName::from_static("x-apig-ratelimit-api");
pub const X_APIG_RATELIMIT_USER: HeaderName = HeaderName::from_static("x-apig-ratelimit-user");
pub const X_APIG_RATELIMIT_APP: HeaderName = HeaderName::from_static("x-apig-ratelimit-app");
pub const X_APIG_RATELIMIT_IP: HeaderName = HeaderName::from_static("x-apig-ratelimit-ip");

// What backends are told about the caller and the gateway's listener.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Whether a header describes one hop only.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    // Standard names compare as enum values; only the two others compare text.
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name == header::TE
        || name == header::TRAILER
        || name == header::PROXY_AUTHENTICATE
        || name == header::PROXY_AUTHORIZATION
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Removes the hop-by-hop headers, and those `Connection` names, from a
/// request or response crossing the gateway.
pub fn remove_hop_by_hop(headers: &mut HeaderMap) {
    // One look at the names: most requests carry no hop-by-hop header, and
    // most backends' answers just `Connection: keep-alive`.
    let Some(mut found) = headers.keys().find(|k| is_hop_by_hop(k)).cloned() else { return };
    // Names `Connection` lists besides the usual tokens (rare): parsed only then.
    let usual = |v: &HeaderValue| ["keep-alive", "close", "upgrade"].iter().any(|t| v.as_bytes().eq_ignore_ascii_case(t.as_bytes()));
    let connection = headers.get_all(header::CONNECTION);
    if !connection.iter().all(usual) {
        let listed: Vec<HeaderName> = connection
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .filter(|n| !is_hop_by_hop(n))
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    // By the names found (no parsing); standard names compare as enum values.
    loop {
        headers.remove(&found);
        match headers.keys().find(|k| is_hop_by_hop(k)) {
            Some(next) => found = next.clone(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_names() {
        let hop_by_hop =
            ["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];
        for name in hop_by_hop {
            assert!(is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["host", "content-length", "x-connection", "keep-alive-x", "authorization"] {
            assert!(!is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_removed() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Private"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert("x-private", HeaderValue::from_static("1"));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert!(h.contains_key(header::CONTENT_TYPE));
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from_static("3"));
        remove_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1, "nothing to remove");
    }
}
