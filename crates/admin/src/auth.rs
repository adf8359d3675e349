//! Management authentication: the `X-Auth-Token` header must carry the admin token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use causeway_model::ApiError;
use causeway_model::error::codes;
use subtle::ConstantTimeEq;

use crate::http::Failure;

/// The token callers must present.
#[derive(Clone)]
pub struct AdminToken(pub Arc<str>);

pub async fn require_token(State(token): State<AdminToken>, req: Request, next: Next) -> Response {
    let given = req.headers().get("x-auth-token").map(|v| v.as_bytes()).unwrap_or_default();
    // Compare in constant time so the token cannot be guessed byte by byte.
    if bool::from(given.ct_eq(token.0.as_bytes())) && !given.is_empty() {
        next.run(req).await
    } else {
        Failure(ApiError::new(codes::TOKEN_INVALID)).into_response()
    }
}
