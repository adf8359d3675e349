use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::app::AppAuthInput;

use crate::http::{Family, JsonBody, Query, Reply, created, no_content, page};
use crate::service::{AuthFilter, Service};

/// v1.0 answers a bare array of outcomes, one per (API, app) pair; V2 `{"auths": [...]}`.
pub async fn create(State(s): State<Arc<Service>>, family: Family, JsonBody(input): JsonBody<AppAuthInput>) -> Reply {
    let outcomes = s.create_app_auths(input).await?;
    match family {
        Family::V1 => created(outcomes),
        Family::V2 | Family::Roma => created(serde_json::json!({ "auths": outcomes })),
    }
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_app_auth(&id).await?;
    no_content()
}

fn filter(q: &Query) -> Result<AuthFilter, crate::http::Failure> {
    Ok(AuthFilter {
        app_id: q.owned("app_id"),
        api_id: q.owned("api_id"),
        env_id: q.owned("env_id"),
        group_id: q.owned("group_id"),
        api_name: q.owned("api_name"),
        app_name: q.owned("app_name"),
        paging: q.paging()?,
    })
}

pub async fn bound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("auths", s.bound_apis(&filter(&q)?).await?)
}

pub async fn bound_apps(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("auths", s.bound_apps(&filter(&q)?).await?)
}

pub async fn unbound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("apis", s.unbound_apis(&filter(&q)?).await?)
}
