//! CORS: for a CORS-enabled API the gateway answers preflights itself
//! (`OPTIONS` with `Access-Control-Request-Method`; other `OPTIONS` requests
//! route as usual) with the cloud gateways' headers, and adds
//! `Access-Control-Allow-Origin: *` to simple requests' responses.

use causeway_model::api::{Api, ParamLocation};
use http::{HeaderMap, HeaderValue};

/// Headers the gateway answers a CORS preflight with (the cloud gateways' set,
/// plus the API's declared header parameters).
pub(crate) fn preflight_headers(api: &Api) -> HeaderMap {
    let mut allow = String::from(
        "X-Stage,X-Sdk-Date,X-Sdk-Nonce,X-Proxy-Signed-Headers,X-Sdk-Content-Sha256,X-Forwarded-For,Authorization,Content-Type,Accept,Accept-Ranges,Cache-Control,Range",
    );
    for p in api.req_params.iter().filter(|p| p.location == ParamLocation::Header) {
        allow.push(',');
        allow.push_str(&p.name);
    }
    let mut h = HeaderMap::new();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&allow) {
        h.insert("access-control-allow-headers", v);
    }
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("X-Request-Id,X-Apig-Latency,X-Apig-Upstream-Latency,X-Apig-RateLimit-api,X-Apig-RateLimit-user,X-Apig-RateLimit-app,X-Apig-RateLimit-ip,X-Apig-RateLimit-api-allenv"),
    );
    h.insert("access-control-allow-methods", HeaderValue::from_static("GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH"));
    h.insert("access-control-max-age", HeaderValue::from_static("172800"));
    h
}
