//! The V2 family: `/v2/{project_id}/apigw/instances/{instance_id}/...`, what
//! Huawei's current APIs and official SDKs call. Any project id is accepted;
//! the instance id must be this installation's (see [`Instance`]). The
//! prefix is taken off before routing (`prefix`), so the resources are routed
//! as v1.0's are and share its handlers where the shapes agree; the
//! [`Family`] mark makes shared handlers page by `offset`/`limit`.

mod instances;
mod publish;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use causeway_model::ApiError;
use causeway_model::error::codes;

use crate::http::{Failure, Family, not_found};
use crate::service::{Instance, Service};

/// The resources under an instance (paths relative to the prefix): v1.0's,
/// with V2's own where its shapes differ.
pub fn router(service: Arc<Service>) -> Router {
    super::v1::resources()
        .route("/instances", get(instances::list))
        .route("/apis/action", post(publish::action))
        .method_not_allowed_fallback(not_found)
        .fallback(not_found)
        .with_state(service)
}

/// Takes `/{project_id}/apigw/instances/{instance_id}` off the path (the
/// router is mounted at `/v2`), refusing other instances, and marks the
/// request as V2's. `/{project_id}/apigw/instances` itself becomes `/instances`.
pub async fn prefix(State(instance): State<Instance>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let mut segments = path.trim_start_matches('/').splitn(5, '/');
    let (project, family, instances, id, rest) = (segments.next(), segments.next(), segments.next(), segments.next(), segments.next());
    let rest = match (project, family, instances, id) {
        (Some(p), Some("apigw"), Some("instances"), None | Some("")) if !p.is_empty() => "instances".to_string(),
        (Some(p), Some("apigw"), Some("instances"), Some(id)) if !p.is_empty() => {
            if id != instance.id {
                return Failure(ApiError::new(codes::INSTANCE_NOT_FOUND)).into_response();
            }
            rest.unwrap_or_default().to_string()
        }
        _ => return Failure(ApiError::new(codes::RESOURCE_NOT_FOUND)).into_response(),
    };
    let rewritten = match req.uri().query() {
        Some(q) => format!("/{rest}?{q}"),
        None => format!("/{rest}"),
    };
    match rewritten.parse() {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => return Failure(ApiError::new(codes::RESOURCE_NOT_FOUND)).into_response(),
    }
    req.extensions_mut().insert(Family::V2);
    next.run(req).await
}
