//! The `/v1.0/apigw` family (Huawei APIG shared gateway), whose request and
//! response bodies the vendors' documents and scripts use.

mod acls;
mod admin_credentials;
mod apis;
mod app_auths;
mod audit_logs;
mod apps;
mod authorizers;
mod channels;
mod domains;
mod envs;
mod functions;
mod groups;
mod iam_issuers;
mod nodes;
mod openapi;
mod publish;
mod responses;
mod sign_keys;
mod throttles;
mod variables;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use causeway_model::ApiError;

use crate::http::{Query, not_found};
use crate::service::Service;

/// The ids of a batch delete (`PUT ...?action=delete` with `{"<field>": [ids]}`):
/// `action` must be `delete`, the only batch action, and the list not empty.
fn batch_ids(q: &Query, ids: Option<Vec<String>>, field: &str) -> Result<Vec<String>, ApiError> {
    match q.get("action") {
        Some("delete") => {}
        Some(_) => return Err(ApiError::invalid("action")),
        None => return Err(ApiError::required("action")),
    }
    ids.filter(|ids| !ids.is_empty()).ok_or_else(|| ApiError::required(field))
}

pub fn router(service: Arc<Service>) -> Router {
    resources().method_not_allowed_fallback(not_found).with_state(service)
}

/// The resources and their handlers, as v1.0 routes them (V2 shares them where its shapes agree).
pub(crate) fn resources() -> Router<Arc<Service>> {
    Router::new()
        .route("/api-groups", get(groups::list).post(groups::create))
        .route("/api-groups/{id}", get(groups::get).put(groups::update).delete(groups::delete))
        .route("/api-groups/{group_id}/domains", post(domains::bind))
        .route("/api-groups/{group_id}/domains/{domain_id}", put(domains::update).delete(domains::unbind))
        .route("/api-groups/{group_id}/domains/{domain_id}/certificate", post(domains::set_certificate))
        .route(
            "/api-groups/{group_id}/domains/{domain_id}/certificate/{certificate_id}",
            get(domains::get_certificate).delete(domains::delete_certificate),
        )
        .route("/api-groups/{group_id}/gateway-responses", get(responses::list).post(responses::create))
        .route(
            "/api-groups/{group_id}/gateway-responses/{response_id}",
            get(responses::get).put(responses::update).delete(responses::delete),
        )
        .route("/envs", get(envs::list).post(envs::create))
        .route("/envs/{id}", get(envs::get).put(envs::update).delete(envs::delete))
        .route("/env-variables", get(variables::list).post(variables::create))
        .route("/env-variables/{id}", get(variables::get).put(variables::update).delete(variables::delete))
        .route("/apis", get(apis::list).post(apis::create))
        .route("/apis/{id}", get(apis::get).put(apis::update).delete(apis::delete))
        .route("/apis/publish", post(publish::batch))
        .route("/apis/debug/{api_id}", post(apis::debug))
        .route(
            "/apis/publish/{api_id}",
            post(publish::publish).delete(publish::offline).get(publish::history).put(publish::switch),
        )
        .route("/apis/versions/{version_id}", get(publish::version).delete(publish::offline_version))
        .route("/apps", get(apps::list).post(apps::create))
        .route("/apps/{id}", get(apps::get).put(apps::update).delete(apps::delete))
        .route("/apps/secret/{id}", put(apps::reset_secret))
        .route("/apps/validation/{id}", get(apps::validation))
        .route("/apps/{app_id}/app-codes", get(apps::list_codes).post(apps::create_code).put(apps::generate_code))
        .route("/apps/{app_id}/app-codes/{id}", get(apps::get_code).delete(apps::delete_code))
        .route("/app-auths", post(app_auths::create))
        .route("/app-auths/binded-apis", get(app_auths::bound_apis))
        .route("/app-auths/unbinded-apis", get(app_auths::unbound_apis))
        .route("/app-auths/binded-apps", get(app_auths::bound_apps))
        .route("/app-auths/{id}", axum::routing::delete(app_auths::delete))
        .route("/signs", get(sign_keys::list).post(sign_keys::create))
        .route("/signs/{id}", put(sign_keys::update).delete(sign_keys::delete))
        .route("/sign-bindings", post(sign_keys::bind))
        .route("/sign-bindings/binded-apis", get(sign_keys::bound_apis))
        .route("/sign-bindings/unbinded-apis", get(sign_keys::unbound_apis))
        .route("/sign-bindings/binded-signs", get(sign_keys::bound_signs))
        .route("/sign-bindings/{id}", axum::routing::delete(sign_keys::unbind))
        .route("/throttles", get(throttles::list).post(throttles::create))
        .route("/throttles/{id}", get(throttles::get).put(throttles::update).delete(throttles::delete))
        .route("/throttle-specials", post(throttles::create_special))
        .route("/throttle-specials/{id}", get(throttles::list_specials).put(throttles::update_special).delete(throttles::delete_special))
        .route("/throttle-bindings", post(throttles::bind).put(throttles::unbind_many))
        .route("/throttle-bindings/binded-apis", get(throttles::bound_apis))
        .route("/throttle-bindings/unbinded-apis", get(throttles::unbound_apis))
        .route("/throttle-bindings/binded-throttles", get(throttles::bound_throttles))
        .route("/throttle-bindings/{id}", axum::routing::delete(throttles::unbind))
        .route("/acls", get(acls::list).post(acls::create).put(acls::delete_many))
        .route("/acls/{id}", get(acls::get).put(acls::update).delete(acls::delete))
        .route("/acl-bindings", post(acls::bind).put(acls::unbind_many))
        .route("/acl-bindings/binded-apis", get(acls::bound_apis))
        .route("/acl-bindings/unbinded-apis", get(acls::unbound_apis))
        .route("/acl-bindings/binded-acls", get(acls::bound_acls))
        .route("/acl-bindings/{id}", axum::routing::delete(acls::unbind))
        .route("/authorizers", get(authorizers::list).post(authorizers::create))
        .route("/authorizers/{id}", get(authorizers::get).put(authorizers::update).delete(authorizers::delete))
        .route("/vpc-channels", get(channels::list).post(channels::create))
        .route("/vpc-channels/{id}", get(channels::get).put(channels::update).delete(channels::delete))
        .route("/vpc-channels/{id}/health-config", axum::routing::put(channels::update_health))
        .route("/vpc-channels/{id}/members", get(channels::list_members).post(channels::add_members).put(channels::replace_members))
        .route("/vpc-channels/{id}/members/batch-enable", post(channels::enable_members))
        .route("/vpc-channels/{id}/members/batch-disable", post(channels::disable_members))
        .route("/vpc-channels/{id}/members/{member_id}", axum::routing::delete(channels::delete_member))
        .route("/vpc-channels/{id}/member-groups", get(channels::list_member_groups).post(channels::add_member_groups))
        .route(
            "/vpc-channels/{id}/member-groups/{member_group_id}",
            get(channels::get_member_group).put(channels::update_member_group).delete(channels::delete_member_group),
        )
        .route("/iam-issuers", get(iam_issuers::list).post(iam_issuers::create))
        .route("/iam-issuers/{id}", get(iam_issuers::get).put(iam_issuers::update).delete(iam_issuers::delete))
        .route("/functions", get(functions::list).post(functions::create))
        .route("/functions/{id}", get(functions::get).put(functions::update).delete(functions::delete))
        .route("/functions/{id}/versions", get(functions::list_versions).post(functions::publish_version))
        .route("/functions/{id}/invocations", axum::routing::post(functions::test_invoke))
        .route("/function-invocations", get(functions::list_invocations))
        .route("/function-invocations/{id}", get(functions::get_invocation))
        .route("/functions/{id}/aliases", get(functions::list_aliases).post(functions::create_alias))
        .route("/functions/{id}/aliases/{name}", get(functions::get_alias).put(functions::update_alias).delete(functions::delete_alias))
        .route("/admin-credentials", get(admin_credentials::list).post(admin_credentials::create))
        .route(
            "/admin-credentials/{id}",
            get(admin_credentials::get).put(admin_credentials::update).delete(admin_credentials::delete),
        )
        .route("/admin-credentials/{id}/secret", put(admin_credentials::rotate))
        .route("/audit-logs", get(audit_logs::list))
        .route("/nodes", get(nodes::list))
        .route("/openapi", get(openapi::export_group).post(openapi::import_new).put(openapi::import_existing))
        .route("/openapi/apis", post(openapi::export_apis))
        .route("/openapi/import", post(openapi::import_form))
        .route("/openapi/export", post(openapi::export_form))
}
