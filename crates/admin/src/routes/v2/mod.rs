//! The instance families: V2 `/v2/{project_id}/apigw/instances/{instance_id}/...`
//! (what Huawei's current APIs and official SDKs call), the dedicated V1
//! `/v1/{project_id}/apigw/...` (v1.0's bodies) and ROMA Connect's APIC
//! `/v1|v2/{project_id}/apic/...`. Any project id is accepted; the instance
//! id must be this installation's (see [`Instance`]). The prefix is taken
//! off before routing (`prefix`), so the resources are routed as v1.0's are
//! and share its handlers where the shapes agree; the [`Family`] mark makes
//! shared handlers page and name-check as the family does.

mod checks;
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
        .route("/api-groups/check", post(checks::group))
        .route("/apis/check", post(checks::api))
        .method_not_allowed_fallback(not_found)
        .fallback(not_found)
        .with_state(service)
}

/// Where an instance family is mounted: `/v1` or `/v2`, and the instance it answers to.
#[derive(Debug, Clone)]
pub struct Mount {
    pub version: u8,
    pub instance: Instance,
}

/// Takes `/{project_id}/{apigw|apic}/instances/{instance_id}` off the path
/// (the router is mounted at `/v1` or `/v2`), refusing other instances, and
/// marks the request with its family: dedicated V1 (`/v1/…/apigw`) speaks
/// v1.0, `/v2/…/apigw` V2, `apic` ROMA Connect.
/// `/{project_id}/{apigw|apic}/instances` itself becomes `/instances`.
pub async fn prefix(State(mount): State<Mount>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let mut segments = path.trim_start_matches('/').splitn(5, '/');
    let (project, gateway, instances, id, rest) = (segments.next(), segments.next(), segments.next(), segments.next(), segments.next());
    let family = match (mount.version, gateway) {
        (1, Some("apigw")) => Family::V1,
        (_, Some("apigw")) => Family::V2,
        (_, Some("apic")) => Family::Roma,
        _ => return Failure(ApiError::new(codes::RESOURCE_NOT_FOUND)).into_response(),
    };
    let rest = match (project, instances, id) {
        (Some(p), Some("instances"), None | Some("")) if !p.is_empty() => "instances".to_string(),
        (Some(p), Some("instances"), Some(id)) if !p.is_empty() => {
            if id != mount.instance.id {
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
    req.extensions_mut().insert(family);
    next.run(req).await
}
