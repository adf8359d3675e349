//! Management authentication: either the admin token in `X-Auth-Token`, or
//! a request signed with the admin access key (`SDK-HMAC-SHA256`, as the
//! vendors' signers and SDKs sign their AK/SK calls).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use causeway_model::ApiError;
use causeway_model::error::codes;
use causeway_sign::sdk;
use subtle::ConstantTimeEq;

use crate::http::{Failure, MAX_BODY_BYTES};

/// What management callers may present.
#[derive(Clone)]
pub struct AdminAuth {
    /// Compared with `X-Auth-Token`.
    pub token: Arc<str>,
    /// The access key and secret that sign management calls.
    pub access_key: Arc<str>,
    pub secret_key: Arc<str>,
}

fn refused(detail: &str) -> Response {
    Failure(ApiError::detail(codes::TOKEN_INVALID, detail)).into_response()
}

pub async fn require_admin(State(auth): State<AdminAuth>, req: Request, next: Next) -> Response {
    let signature = req.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).filter(|v| v.starts_with(sdk::ALGORITHM));
    if let Some(value) = signature {
        let value = value.to_string();
        return match verify_signed(&auth, &value, req).await {
            Ok(req) => next.run(req).await,
            Err(res) => res,
        };
    }
    let given = req.headers().get("x-auth-token").map(|v| v.as_bytes()).unwrap_or_default();
    // Compare in constant time so the token cannot be guessed byte by byte.
    if bool::from(given.ct_eq(auth.token.as_bytes())) && !given.is_empty() {
        next.run(req).await
    } else {
        Failure(ApiError::new(codes::TOKEN_INVALID)).into_response()
    }
}

/// Checks an `SDK-HMAC-SHA256` management call; hands the request back with its body restored.
async fn verify_signed(auth: &AdminAuth, value: &str, req: Request) -> Result<Request, Response> {
    let parsed = sdk::Authorization::parse(value).ok_or_else(|| refused("malformed SDK-HMAC-SHA256 Authorization header"))?;
    if !bool::from(parsed.access.as_bytes().ct_eq(auth.access_key.as_bytes())) {
        return Err(refused(&format!("unknown access key {}", parsed.access)));
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let date = req.headers().get(sdk::DATE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    match sdk::check_date(date.as_deref(), now) {
        Ok(_) => {}
        Err(sdk::DateError::Missing) => return Err(refused("the X-Sdk-Date header is missing")),
        Err(sdk::DateError::Malformed) => return Err(refused("X-Sdk-Date is not YYYYMMDDTHHMMSSZ")),
        Err(sdk::DateError::Expired { .. }) => {
            return Err(refused(&format!(
                "signature expired, signature time:{}, server time:{}",
                date.unwrap_or_default(),
                causeway_sign::format_sdk_date(now)
            )));
        }
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| Failure(ApiError::field(codes::TOO_LONG, "body")).into_response())?;
    // Signed over the path the caller sent, before the router strips its prefix.
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
    let payload_hash = sdk::payload_hash(&parts.headers, &bytes);
    let signed = sdk::Request { method: parts.method.as_str(), path: uri.path(), query: uri.query().unwrap_or_default(), headers: &parts.headers, payload_hash: &payload_hash };
    sdk::verify(&auth.secret_key, date.as_deref().unwrap_or_default(), &signed, &parsed)
        .map_err(|m| refused(&format!("verify signature fail, canonicalRequest:{}", m.one_line())))?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
