//! Records every management write in the audit log once it is answered:
//! the credential (or none, for a refused sign-in), the caller's address,
//! method and path, the resource it touched, the status and error code, and
//! the SHA-256 of the body it sent.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, OriginalUri, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use causeway_model::ApiError;
use causeway_model::error::codes;
use causeway_sign::sdk::sha256_hex;

use crate::auth::Caller;
use crate::http::{ErrorCode, Failure, MAX_BODY_BYTES, RequestId};
use crate::service::{AuditRecord, Service};

/// Largest answer read back for the id of a resource just created.
const CREATED_ANSWER_LIMIT: usize = 1 << 20;

pub async fn record(State(service): State<Arc<Service>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let source = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default();
    let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    let uri = req.extensions().get::<OriginalUri>().map_or_else(|| req.uri().clone(), |o| o.0.clone());
    let template = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_default();
    let (resource_kind, path_id) = resource_of(&template, req.uri().path());
    let method = req.method().to_string();
    let (parts, body) = req.into_parts();
    let (res, digest) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            let digest = format!("sha256:{}", sha256_hex(&bytes));
            (next.run(Request::from_parts(parts, Body::from(bytes))).await, digest)
        }
        Err(_) => (Failure(ApiError::field(codes::TOO_LONG, "body")).into_response(), String::new()),
    };
    let caller = res.extensions().get::<Caller>().cloned();
    // Refusals of an address over its failed sign-ins are not recorded: they would let it flood the log.
    if caller.is_none() && res.status() == StatusCode::TOO_MANY_REQUESTS {
        return res;
    }
    let error_code = res.extensions().get::<ErrorCode>().map(|c| c.0.to_string()).unwrap_or_default();
    // With the store out of reach nothing was written, and the entry could not be stored either: answer at once.
    if error_code == codes::STORE_UNAVAILABLE.code {
        return res;
    }
    let status = res.status();
    let (res, resource_id) = match path_id {
        Some(id) => (res, id),
        None if status.is_success() => created_id(res).await,
        None => (res, String::new()),
    };
    service
        .record_audit(AuditRecord {
            credential: caller.map(|c| c.name).unwrap_or_default(),
            source,
            method,
            path: uri.path_and_query().map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string()),
            resource_kind,
            resource_id,
            status: status.as_u16(),
            error_code,
            digest,
            request_id,
        })
        .await;
    res
}

/// The resource family a path names (its first segment within the route
/// family: `apis`, `api-groups`, `apps`, …) and the id of that resource (the
/// first `{param}` of the route), if the path holds one. `path` is relative
/// to the family's prefix; `template` is the whole matched route.
fn resource_of(template: &str, path: &str) -> (String, Option<String>) {
    let path: Vec<&str> = path.split('/').skip(1).collect();
    let template: Vec<&str> = template.split('/').collect();
    let kind = path.first().copied().unwrap_or_default().to_string();
    let relative = template.get(template.len().saturating_sub(path.len())..).unwrap_or_default();
    let id = if relative.len() == path.len() {
        relative.iter().zip(&path).find(|(t, _)| t.starts_with('{')).map(|(_, p)| p.to_string())
    } else {
        None
    };
    (kind, id)
}

/// The `id` of the resource a create answered with (the answer is passed on unchanged).
async fn created_id(res: Response) -> (Response, String) {
    let (parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, CREATED_ANSWER_LIMIT).await else {
        return (Response::from_parts(parts, Body::empty()), String::new());
    };
    let id = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_string))
        .unwrap_or_default();
    (Response::from_parts(parts, Body::from(bytes)), id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_resource_is_the_family_and_its_first_id() {
        let of = |t: &str, p: &str| resource_of(t, p);
        assert_eq!(of("/v1.0/apigw/apis", "/apis"), ("apis".into(), None));
        assert_eq!(of("/v1.0/apigw/apis/{id}", "/apis/abc"), ("apis".into(), Some("abc".into())));
        assert_eq!(of("/v1.0/apigw/apis/publish/{api_id}", "/apis/publish/abc"), ("apis".into(), Some("abc".into())));
        assert_eq!(of("/v1.0/apigw/api-groups/{group_id}/domains/{domain_id}", "/api-groups/g1/domains/d1"), ("api-groups".into(), Some("g1".into())));
        assert_eq!(of("/v2/{project_id}/apigw/instances/{instance_id}/apis/{id}", "/apis/a1"), ("apis".into(), Some("a1".into())));
        assert_eq!(of("", "/unknown/thing"), ("unknown".into(), None));
    }
}
