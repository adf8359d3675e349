//! The request pipeline, in order. Each stage either passes the request on
//! or ends it with a gateway response; nothing here touches the store.
//!
//! 1. request id and timer
//! 2. group by Host, environment by `X-Stage`
//! 3. route: method + path                        → APIG.0101
//! 4. protocol (HTTP / HTTPS / BOTH)              → APIG.0607
//! 5. backend call (MOCK)                         → the backend's answer
//! 6. response headers: `X-Request-Id`, debug latency

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response};
use hyper::body::Incoming;
use causeway_model::api::ReqProtocol;

use crate::body::Body;
use crate::response::{GatewayError, errors};
use crate::route::{Backend, Route};
use crate::snapshot::Snapshot;

/// What the pipeline knows about the connection a request came on.
#[derive(Debug)]
pub struct Conn {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub https: bool,
}

/// Serves one request from `snapshot`.
pub async fn handle(req: Request<Incoming>, conn: &Conn, snapshot: Arc<Snapshot>) -> Response<Body> {
    let started = Instant::now();
    let request_id = crate::request_id::next();
    let debug = req.headers().get("x-apig-mode").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"debug"));
    let mut res = match serve(&req, conn, &snapshot) {
        Ok(res) => res,
        Err(e) => e.render(request_id.as_str()),
    };
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert("x-request-id", v);
    }
    if debug && let Ok(v) = HeaderValue::from_str(&started.elapsed().as_millis().to_string()) {
        headers.insert("x-apig-latency", v);
    }
    res
}

fn serve(req: &Request<Incoming>, conn: &Conn, snapshot: &Snapshot) -> Result<Response<Body>, GatewayError> {
    let route = find_route(req, snapshot)?;
    check_protocol(&route, conn)?;
    call_backend(&route)
}

/// Stages 2 and 3: group by Host, environment by `X-Stage`, then method and path.
fn find_route(req: &Request<Incoming>, snapshot: &Snapshot) -> Result<Arc<Route>, GatewayError> {
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host())
        .unwrap_or_default();
    let host = strip_port(host);
    let group = snapshot.group(host).ok_or(errors::NOT_FOUND)?;
    let stage = req.headers().get("x-stage").and_then(|v| v.to_str().ok());
    let env = group.env(stage).ok_or(errors::NOT_FOUND)?;
    let (route, _) = env.find(req.method(), req.uri().path()).ok_or(errors::NOT_FOUND)?;
    Ok(route.clone())
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| h.trim_start_matches('['));
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// Stage 4: the API's `req_protocol`.
fn check_protocol(route: &Route, conn: &Conn) -> Result<(), GatewayError> {
    if route.allows(conn.https) {
        return Ok(());
    }
    Err(match route.def().req_protocol {
        ReqProtocol::Http => errors::HTTP_ONLY,
        _ => errors::HTTPS_ONLY,
    })
}

/// Stage 5: the backend.
fn call_backend(route: &Route) -> Result<Response<Body>, GatewayError> {
    match &route.backend {
        Backend::Mock(m) => {
            let mut res = Response::new(Body::full(m.body.clone()));
            *res.status_mut() = m.status;
            *res.headers_mut() = m.headers.clone();
            Ok(res)
        }
        Backend::Unsupported(kind) => {
            Err(errors::BACKEND_NOT_SERVED.with_message(format!("{kind} backends are not served by this version of Causeway")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::strip_port;

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("a.apigw.localhost:8080"), "a.apigw.localhost");
        assert_eq!(strip_port("a.apigw.localhost"), "a.apigw.localhost");
        assert_eq!(strip_port("[::1]:8080"), "::1");
        assert_eq!(strip_port("10.0.0.1"), "10.0.0.1");
    }
}
