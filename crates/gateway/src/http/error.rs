//! The gateway's own errors: each has a response type (the cloud gateways'
//! `NOT_FOUND`, `THROTTLED`, ...), a status and an `APIG.xxxx` code. Without a
//! group's customised response they render as JSON
//! `{"error_code","error_msg","request_id"}` with the type's status; the
//! group's templates are filled by the pipeline's response stage.

use std::borrow::Cow;

use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use crate::http::body::Body;

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
    #[cfg(test)]
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
    pub const URI_TOO_LONG: GatewayError = GatewayError::new(Default4xx, 414, "APIG.0201", "Request URI too large");
    /// The request body did not keep arriving (see `http::paced`).
    pub const BODY_TIMEOUT: GatewayError = GatewayError::new(Default4xx, 408, "APIG.0201", "Request body timeout");
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
    /// A WebSocket API whose backend policy chose a backend that cannot take a connection.
    pub const WEBSOCKET_BACKEND: GatewayError = GatewayError::new(
        Default5xx,
        500,
        "APIG.0105",
        "WebSocket connections need an HTTP or FUNCTION backend; this request's backend policy chose a MOCK one",
    );
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
    fn default_types_keep_the_error_status() {
        assert_eq!(errors::HTTPS_ONLY.render("x").status(), 400);
        assert_eq!(ResponseType::ALL.iter().filter(|t| t.default_status().is_some()).count(), 12);
    }
}
