//! Routing: which API a request is for. The path is made unambiguous first
//! (`path`: dot-segments resolved, repeated slashes merged). The host selects the group
//! (`table`: its subdomain or a bound domain, else the DEFAULT group; a bound
//! domain may send plain HTTP to HTTPS), `X-Stage` the environment, and
//! method + path the route (`router`); a route is a published API compiled
//! for the request path (`route`). CORS preflights are answered here (`cors`).

pub(crate) mod cors;
pub(crate) mod path;
pub(crate) mod route;
pub(crate) mod router;
pub(crate) mod table;

use http::{HeaderValue, Response};

use crate::http::body::Body;
use crate::http::error::{GatewayError, errors};
use crate::routing::table::GroupRoutes;

/// Routes the request by its normalised path (see [`path::normalize`]): the
/// caller's URI is rewritten when it differs, so that policies, mapping and
/// the backend see the path routing saw.
pub fn normalize_path(parts: &mut http::request::Parts) -> Result<(), GatewayError> {
    let Some(normalized) = path::normalize(parts.uri.path())? else { return Ok(()) };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{normalized}?{q}"),
        None => normalized,
    };
    let mut uri = std::mem::take(&mut parts.uri).into_parts();
    uri.path_and_query = http::uri::PathAndQuery::try_from(path_and_query).ok();
    parts.uri = http::Uri::from_parts(uri).map_err(|_| errors::BAD_PARAMETER.with_message("The request path cannot be normalised".into()))?;
    Ok(())
}

/// The host a request names, without its port: its target's (an absolute
/// URI, HTTP/2's `:authority`) or its `Host` header's. A request that names
/// two hosts — a `Host` other than its target's, two `Host` headers — or an
/// HTTP/1.1 request that names none is refused (RFC 9112 §3.2), so that
/// routing and the backend cannot take different ones. (Two `Host` lines in
/// an HTTP/1 head are refused earlier, by the listener's head guard.)
pub fn checked_host(parts: &http::request::Parts) -> Result<&str, GatewayError> {
    let ambiguous = || errors::BAD_PARAMETER.with_message("The request's host is missing or ambiguous".into());
    match parts.uri.authority() {
        Some(target) => {
            let mut hosts = parts.headers.get_all(http::header::HOST).iter();
            match (hosts.next(), hosts.next()) {
                (Some(h), None) if !h.as_bytes().eq_ignore_ascii_case(target.as_str().as_bytes()) => Err(ambiguous()),
                (_, Some(_)) => Err(ambiguous()),
                _ => Ok(parts.uri.host().unwrap_or_default()),
            }
        }
        None => match parts.headers.get(http::header::HOST) {
            Some(_) if parts.version == http::Version::HTTP_2 && parts.headers.get_all(http::header::HOST).iter().nth(1).is_some() => Err(ambiguous()),
            Some(h) => Ok(strip_port(h.to_str().map_err(|_| ambiguous())?)),
            None if parts.version == http::Version::HTTP_11 => Err(ambiguous()),
            None => Ok(""),
        },
    }
}

/// The host a request names, without its port (checked by [`checked_host`] when it was routed).
pub fn host_of(parts: &http::request::Parts) -> &str {
    parts.uri.host().or_else(|| parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).map(strip_port)).unwrap_or_default()
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| h.trim_start_matches('['));
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// For a bound domain that asks for it: plain HTTP goes to the same URL over
/// HTTPS (301 for GET and HEAD; 308, which keeps the method and body, otherwise).
pub fn redirect_to_https(parts: &http::request::Parts, port: u16) -> Response<Body> {
    let host = host_of(parts);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let location = if port == 443 { format!("https://{host}{path}") } else { format!("https://{host}:{port}{path}") };
    let mut res = Response::new(Body::empty());
    *res.status_mut() = if parts.method == http::Method::GET || parts.method == http::Method::HEAD {
        http::StatusCode::MOVED_PERMANENTLY
    } else {
        http::StatusCode::PERMANENT_REDIRECT
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(http::header::LOCATION, v);
    }
    res
}

/// The answer to a CORS preflight for a CORS-enabled API of the host's `group`, if this is one.
pub fn preflight(parts: &http::request::Parts, group: Option<&GroupRoutes>) -> Option<Response<Body>> {
    if parts.method != http::Method::OPTIONS {
        return None;
    }
    let requested = parts.headers.get(http::header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let method = http::Method::from_bytes(requested.as_bytes()).ok()?;
    let group = group?;
    let (route, _) = group.find(parts, &method).ok()?;
    let headers = route.cors_preflight.as_ref()?;
    let mut res = Response::new(Body::empty());
    *res.headers_mut() = headers.clone();
    Some(res)
}

/// Whether a request asks to open a WebSocket (RFC 6455 §4.1).
pub fn is_websocket_upgrade(parts: &http::request::Parts) -> bool {
    let has_token = |name: http::header::HeaderName, token: &str| {
        parts.headers.get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))))
    };
    parts.method == http::Method::GET
        && parts.version == http::Version::HTTP_11
        && has_token(http::header::CONNECTION, "upgrade")
        && has_token(http::header::UPGRADE, "websocket")
        && parts.headers.contains_key(http::header::SEC_WEBSOCKET_KEY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("a.apigw.localhost:8080"), "a.apigw.localhost");
        assert_eq!(strip_port("a.apigw.localhost"), "a.apigw.localhost");
        assert_eq!(strip_port("[::1]:8080"), "::1");
        assert_eq!(strip_port("10.0.0.1"), "10.0.0.1");
    }
}
