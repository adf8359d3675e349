//! Gateway responses: every error the gateway itself produces goes through
//! [`GatewayError::render`], as JSON `{"error_code","error_msg","request_id"}`
//! with the status of its response type.

use std::borrow::Cow;

use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use causeway_model::response::GatewayResponse;

use crate::authorizer::AuthContext;
use crate::body::Body;

/// What `$context.*` in a response template can name.
#[derive(Default)]
pub struct TemplateContext<'a> {
    pub request_id: &'a str,
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
pub fn fill_template(template: &str, e: &GatewayError, ctx: &TemplateContext<'_>) -> String {
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

/// The response types of the cloud gateways, with their default statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseType {
    AccessDenied,
    AuthFailure,
    AuthHeaderMissing,
    AuthorizerFailure,
    AuthorizerConfFailure,
    AuthorizerIdentitiesFailure,
    BackendTimeout,
    BackendUnavailable,
    NotFound,
    RequestParametersFailure,
    Throttled,
    Unauthorized,
    Default4xx,
    Default5xx,
}

impl ResponseType {
    pub const ALL: [ResponseType; 14] = [
        Self::AccessDenied,
        Self::AuthFailure,
        Self::AuthHeaderMissing,
        Self::AuthorizerFailure,
        Self::AuthorizerConfFailure,
        Self::AuthorizerIdentitiesFailure,
        Self::BackendTimeout,
        Self::BackendUnavailable,
        Self::NotFound,
        Self::RequestParametersFailure,
        Self::Throttled,
        Self::Unauthorized,
        Self::Default4xx,
        Self::Default5xx,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::AccessDenied => "ACCESS_DENIED",
            Self::AuthFailure => "AUTH_FAILURE",
            Self::AuthHeaderMissing => "AUTH_HEADER_MISSING",
            Self::AuthorizerFailure => "AUTHORIZER_FAILURE",
            Self::AuthorizerConfFailure => "AUTHORIZER_CONF_FAILURE",
            Self::AuthorizerIdentitiesFailure => "AUTHORIZER_IDENTITIES_FAILURE",
            Self::BackendTimeout => "BACKEND_TIMEOUT",
            Self::BackendUnavailable => "BACKEND_UNAVAILABLE",
            Self::NotFound => "NOT_FOUND",
            Self::RequestParametersFailure => "REQUEST_PARAMETERS_FAILURE",
            Self::Throttled => "THROTTLED",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Default4xx => "DEFAULT_4XX",
            Self::Default5xx => "DEFAULT_5XX",
        }
    }

    /// The default status; `None` for the DEFAULT types, which keep the error's own.
    pub fn default_status(self) -> Option<u16> {
        Some(match self {
            Self::AccessDenied => 403,
            Self::AuthFailure | Self::AuthHeaderMissing | Self::AuthorizerIdentitiesFailure | Self::Unauthorized => 401,
            Self::AuthorizerFailure | Self::AuthorizerConfFailure => 500,
            Self::BackendTimeout => 504,
            Self::BackendUnavailable => 502,
            Self::NotFound => 404,
            Self::RequestParametersFailure => 400,
            Self::Throttled => 429,
            Self::Default4xx | Self::Default5xx => return None,
        })
    }
}

/// An error the gateway answers itself.
#[derive(Debug, Clone)]
pub struct GatewayError {
    pub kind: ResponseType,
    pub status: u16,
    pub code: &'static str,
    pub message: Cow<'static, str>,
}

impl GatewayError {
    pub const fn new(kind: ResponseType, status: u16, code: &'static str, message: &'static str) -> Self {
        Self { kind, status, code, message: Cow::Borrowed(message) }
    }

    pub fn with_message(mut self, message: String) -> Self {
        self.message = Cow::Owned(message);
        self
    }

    /// The response through a group's set: a customised type gets its status,
    /// headers and body template; others the default rendering.
    pub fn render_with(&self, set: Option<&GatewayResponse>, ctx: &TemplateContext<'_>) -> Response<Body> {
        let Some(spec) = set.and_then(|s| s.responses.get(self.kind.name())) else {
            return self.render(ctx.request_id);
        };
        let status = spec.status.or(self.kind.default_status()).unwrap_or(self.status);
        let mut res = Response::new(Body::full(fill_template(&spec.body, self, ctx)));
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

    /// The response: the type's default status (or the error's own for the DEFAULT types).
    pub fn render(&self, request_id: &str) -> Response<Body> {
        #[derive(Serialize)]
        struct Json<'a> {
            error_code: &'a str,
            error_msg: &'a str,
            request_id: &'a str,
        }
        let body = serde_json::to_vec(&Json { error_code: self.code, error_msg: &self.message, request_id }).unwrap_or_default();
        let status = self.kind.default_status().unwrap_or(self.status);
        let mut res = Response::new(Body::full(body));
        *res.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        res.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res
    }
}

/// The errors of the data plane, by the codes callers see.
pub mod errors {
    use super::{GatewayError, ResponseType::*};

    pub const NOT_FOUND: GatewayError =
        GatewayError::new(NotFound, 404, "APIG.0101", "The API does not exist or has not been published in the environment");
    pub const HTTPS_ONLY: GatewayError =
        GatewayError::new(Default4xx, 400, "APIG.0607", "The following protocol is supported: HTTPS");
    pub const HTTP_ONLY: GatewayError =
        GatewayError::new(Default4xx, 400, "APIG.0607", "The following protocol is supported: HTTP");
    pub const BAD_PARAMETER: GatewayError =
        GatewayError::new(RequestParametersFailure, 400, "APIG.0201", "Invalid request parameters");
    pub const BODY_TOO_LARGE: GatewayError = GatewayError::new(Default4xx, 413, "APIG.0201", "Request entity too large");
    pub const BACKEND_UNAVAILABLE: GatewayError =
        GatewayError::new(BackendUnavailable, 502, "APIG.0201", "Backend unavailable");
    /// The backend does not speak the protocol the API expects of it (TLS failed).
    pub const BACKEND_PROTOCOL: GatewayError = GatewayError::new(BackendUnavailable, 502, "APIG.0202", "Backend unavailable");
    /// A WebSocket API asked for something other than a WebSocket upgrade.
    pub const WEBSOCKET_ONLY: GatewayError = GatewayError::new(
        RequestParametersFailure,
        400,
        "APIG.0201",
        "This API accepts WebSocket connections only: open one with an HTTP/1.1 GET upgrade (Connection: Upgrade, Upgrade: websocket)",
    );
    /// A WebSocket upgrade for an API that does not take WebSocket connections.
    pub const NOT_WEBSOCKET: GatewayError =
        GatewayError::new(RequestParametersFailure, 400, "APIG.0201", "This API does not accept WebSocket connections (its frontend_type is HTTP)");
    pub const BACKEND_TIMEOUT: GatewayError = GatewayError::new(BackendTimeout, 504, "APIG.0203", "Backend timeout");
    pub const NO_BACKEND_AVAILABLE: GatewayError =
        GatewayError::new(BackendUnavailable, 502, "APIG.0610", "No backend available: the load-balance channel has no healthy member");
    pub const FUNCTION_NOT_FOUND: GatewayError =
        GatewayError::new(Default5xx, 500, "APIG.0103", "The backend function does not exist");
    pub const FUNCTION_FAILED: GatewayError = GatewayError::new(Default5xx, 500, "APIG.0201", "The backend function failed");
    pub const THROTTLED: GatewayError = GatewayError::new(Throttled, 429, "APIG.0308", "The throttling threshold has been reached");
    pub const IP_DENIED: GatewayError = GatewayError::new(AccessDenied, 403, "APIG.0402", "The IP address is not authorized to access the API");
    pub const AUTHORIZER_FAILURE: GatewayError =
        GatewayError::new(AuthorizerFailure, 500, "APIG.0305", "Incorrect authentication information: frontend authorizer");
    pub const AUTHORIZER_IDENTITIES_FAILURE: GatewayError =
        GatewayError::new(AuthorizerIdentitiesFailure, 401, "APIG.0305", "Incorrect authentication information: identity source");
    pub const AUTHORIZER_CONF_FAILURE: GatewayError =
        GatewayError::new(AuthorizerConfFailure, 500, "APIG.0601", "The custom authorizer failed");
    pub const BACKEND_NOT_SERVED: GatewayError =
        GatewayError::new(Default5xx, 500, "APIG.0105", "The backend configuration of the API cannot be served");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_documented_body_and_status() {
        let res = errors::NOT_FOUND.render("0123456789abcdef0123456789abcdef");
        assert_eq!(res.status(), 404);
        assert_eq!(res.headers()["content-type"], "application/json");
        let b = res.into_body().into_bytes().expect("body");
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["error_code"], "APIG.0101");
        assert_eq!(v["request_id"], "0123456789abcdef0123456789abcdef");
    }

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

    #[test]
    fn default_types_keep_the_error_status() {
        assert_eq!(errors::HTTPS_ONLY.render("x").status(), 400);
        assert_eq!(ResponseType::ALL.iter().filter(|t| t.default_status().is_some()).count(), 12);
    }
}
