//! Causeway's management API (axum). Route families map HTTP onto the
//! service layer; the service layer holds the rules and talks to the store.

mod audit;
mod auth;
mod describe;

pub use describe::schemas as input_schemas;
mod http;
mod routes;
pub mod service;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tower_http::trace::TraceLayer;

pub use auth::{AdminAuth, BOOTSTRAP, Caller};
pub use http::MAX_BODY_BYTES;
pub use service::{Service, ServiceConfig};

/// The admin listener's router: `/v1.0/apigw/...` and `/v2/{project_id}/apigw/instances/{instance_id}/...`
/// behind the admin token or an AK/SK signature, writes recorded in the audit log.
pub fn router(service: Arc<Service>, auth: AdminAuth) -> Router {
    // The audit log wraps the sign-in check, so refused writes are recorded too.
    let v1 = routes::v1::router(service.clone())
        .layer(axum::middleware::from_fn_with_state(auth.clone(), auth::require_admin))
        .layer(axum::middleware::from_fn_with_state(service.clone(), audit::record));
    // The instance families' prefix names a project and an instance: it is taken off before their own routing.
    let instance_family = |version: u8| {
        let inner = routes::v2::router(service.clone())
            .layer(axum::middleware::from_fn_with_state(auth.clone(), auth::require_admin))
            .layer(axum::middleware::from_fn_with_state(service.clone(), audit::record));
        let mount = routes::v2::Mount { version, instance: service.instance().clone() };
        Router::new().fallback_service(inner).layer(axum::middleware::from_fn_with_state(mount, routes::v2::prefix))
    };
    let instance = service.instance().clone();
    Router::new()
        .route("/openapi.json", axum::routing::get(move || async move { ([("content-type", "application/json")], describe::document(&instance)) }))
        .nest("/v1.0/apigw", v1)
        .nest_service("/v1", instance_family(1))
        .nest_service("/v2", instance_family(2))
        .fallback(http::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(http::request_id))
        .layer(TraceLayer::new_for_http())
}
