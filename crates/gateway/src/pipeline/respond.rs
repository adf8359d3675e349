//! The response stage: an error becomes the group's gateway response (the
//! API's `response_id` set, else the group's default, else the plain JSON
//! error) with its `$context.*` template filled; then every response gets
//! its CORS and `X-Request-Id` headers (and the latency and rate-limit
//! headers in debug mode), and carries the exchange record that writes the
//! access log line and metrics when it is done.

use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use causeway_model::response::GatewayResponse;

use crate::backend::http::websocket::LogOnClose;
use crate::http::body::Body;
use crate::http::error::GatewayError;
use crate::http::headers::{X_APIG_LATENCY, X_APIG_UPSTREAM_LATENCY, X_REQUEST_ID};
use crate::observe::Exchange;
use crate::pipeline::ctx::RequestCtx;
use crate::stages::authn::context::AuthContext;

/// The response to the caller, with the headers every response gets; the
/// exchange is attached to be finished when the body is sent.
/// (The request's state and parts are borrowed, not moved: they are large.)
pub(super) fn finish(ctx: &mut RequestCtx<'_>, parts: &mut Parts, answer: Result<Response<Body>, GatewayError>) -> Response<Body> {
    let mut res = match answer {
        Ok(res) => res,
        Err(e) => {
            let mut res = error_response(ctx, parts, &e);
            // A request refused before it was routed (a target too long, a path or host
            // that reads two ways) says the client is confused or hostile: its connection ends.
            if ctx.route.is_none() && (e.status == 400 || e.status == 414) {
                res.headers_mut().insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            }
            res
        }
    };
    let headers = res.headers_mut();
    // CORS on simple requests, unless the backend answered CORS itself.
    if ctx.cors && !headers.contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    if let Ok(v) = HeaderValue::from_str(ctx.request_id.as_str()) {
        headers.insert(X_REQUEST_ID, v);
    }
    for (k, v) in ctx.rate_limits.drain(..) {
        headers.insert(k, v);
    }
    if ctx.debug {
        headers.insert(X_APIG_LATENCY, HeaderValue::from(ctx.started.elapsed().as_millis() as u64));
        if let Some(d) = ctx.upstream_latency {
            headers.insert(X_APIG_UPSTREAM_LATENCY, HeaderValue::from(d.as_millis() as u64));
        }
    }
    // Metrics and the access log line, once the body is sent.
    let exchange = Exchange {
        started: ctx.started,
        request_id: ctx.request_id,
        trace: ctx.trace,
        client: ctx.client.ip,
        method: std::mem::take(&mut parts.method),
        uri: std::mem::take(&mut parts.uri),
        group: ctx.group.map(|g| g.id.clone()),
        route: ctx.route.map(|r| r.metrics().clone()),
        status: res.status().as_u16(),
        upstream: ctx.upstream_latency,
        app: ctx.app.map(|a| a.id.clone()),
        user: ctx.user.take(),
        bytes: 0,
        route_template: if crate::observe::spans::enabled() { ctx.route.map(|r| r.def().req_uri.as_str().into()) } else { None },
    };
    // A WebSocket connection is logged when it closes; other requests when their body is sent.
    match res.extensions_mut().remove::<LogOnClose>() {
        Some(on_close) => on_close.hand_over(Box::new(exchange)),
        None => res.body_mut().attach(Box::new(exchange)),
    }
    res
}

/// An error through the group's gateway responses (the API's set, else the default).
fn error_response(ctx: &RequestCtx<'_>, parts: &Parts, e: &GatewayError) -> Response<Body> {
    let api = ctx.route.map(|r| r.def());
    let template = TemplateContext {
        request_id: ctx.request_id.as_str(),
        trace_id: ctx.trace.trace_id(&ctx.request_id),
        api_id: api.map_or("", |a| a.id.as_str()),
        api_name: api.map_or("", |a| a.name.as_str()),
        stage: ctx.stage,
        source_ip: &ctx.client.text,
        req_path: parts.uri.path(),
        req_uri: parts.uri.path_and_query().map_or("", |p| p.as_str()),
        req_method: parts.method.as_str(),
        frontend_authorizer: ctx.frontend_authorizer.as_deref(),
        backend_authorizer: ctx.backend_authorizer.as_deref(),
    };
    render_with(e, ctx.group.and_then(|g| g.responses(ctx.route)), &template)
}

/// What `$context.*` in a response template can name.
#[derive(Default)]
pub struct TemplateContext<'a> {
    pub request_id: &'a str,
    pub trace_id: &'a str,
    pub api_id: &'a str,
    pub api_name: &'a str,
    pub stage: &'a str,
    pub source_ip: &'a str,
    pub req_path: &'a str,
    pub req_uri: &'a str,
    pub req_method: &'a str,
    pub frontend_authorizer: Option<&'a AuthContext>,
    pub backend_authorizer: Option<&'a AuthContext>,
}

/// Replaces `$context.<name>` in a template. Values are JSON-escaped (without
/// quotes), since templates are usually JSON; unknown names stay as written.
pub(crate) fn fill_template(template: &str, e: &GatewayError, ctx: &TemplateContext<'_>) -> String {
    const MARK: &str = "$context.";
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + MARK.len()..];
        let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_')).unwrap_or(after.len());
        let name = after[..len].trim_end_matches('.');
        let value: Option<&str> = match name {
            "error.code" => Some(e.code),
            "error.message" => Some(&e.message),
            "error.type" => Some(e.kind.name()),
            "requestId" => Some(ctx.request_id),
            "traceId" => Some(ctx.trace_id),
            "apiId" => Some(ctx.api_id),
            "apiName" => Some(ctx.api_name),
            "stage" => Some(ctx.stage),
            "sourceIp" => Some(ctx.source_ip),
            "reqPath" => Some(ctx.req_path),
            "reqUri" => Some(ctx.req_uri),
            "reqMethod" => Some(ctx.req_method),
            "appId" | "appName" => Some(""),
            n if n.starts_with("authorizer.") => {
                let (context, key) = match (n.strip_prefix("authorizer.frontend."), n.strip_prefix("authorizer.backend.")) {
                    (Some(k), _) => (ctx.frontend_authorizer, k),
                    (_, Some(k)) => (ctx.backend_authorizer, k),
                    _ => (None, ""),
                };
                Some(context.and_then(|c| c.get(key)).unwrap_or(""))
            }
            _ => None,
        };
        match value {
            Some(v) => {
                escape_json(&mut out, v);
                rest = &after[name.len()..];
            }
            None => {
                out.push_str(MARK);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn escape_json(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

/// The response through a group's set: a customised type gets its status,
/// headers and body template; others the default rendering.
fn render_with(e: &GatewayError, set: Option<&GatewayResponse>, ctx: &TemplateContext<'_>) -> Response<Body> {
    let Some(spec) = set.and_then(|s| s.responses.get(e.kind.name())) else {
        return e.render(ctx.request_id);
    };
    let status = spec.status.or(e.kind.default_status()).unwrap_or(e.status);
    let mut res = Response::new(Body::full(fill_template(&spec.body, e, ctx)));
    *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = res.headers_mut();
    for h in &spec.headers {
        if let (Ok(k), Ok(v)) = (http::HeaderName::from_bytes(h.key.as_bytes()), HeaderValue::from_str(&h.value)) {
            headers.append(k, v);
        }
    }
    if !headers.contains_key(http::header::CONTENT_TYPE) {
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::error::errors;

    #[test]
    fn templates_are_filled_and_escaped() {
        let e = errors::NOT_FOUND.with_message("a \"quoted\" \\ message\n".into());
        let ctx = TemplateContext { request_id: "r1", req_path: "/p", ..Default::default() };
        let out = fill_template("{\"m\":\"$context.error.message\",\"r\":\"$context.requestId\",\"t\":\"$context.error.type\",\"x\":\"$context.unknown.thing\"}", &e, &ctx);
        let v: serde_json::Value = serde_json::from_str(&out).expect(&out);
        assert_eq!(v["m"], "a \"quoted\" \\ message\n");
        assert_eq!(v["r"], "r1");
        assert_eq!(v["t"], "NOT_FOUND");
        assert_eq!(v["x"], "$context.unknown.thing");
    }
}
