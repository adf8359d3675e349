use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::api::ApiInput;

use crate::http::{Family, JsonBody, Query, Reply, created, no_content, ok, page};
use crate::routes::shape;
use crate::service::{ApiFilter, Page, Service};

pub async fn create(State(s): State<Arc<Service>>, family: Family, JsonBody(mut input): JsonBody<ApiInput>) -> Reply {
    input.dialect = family.dialect();
    created(shape::api(s.create_api(input).await?, family))
}

pub async fn list(State(s): State<Arc<Service>>, family: Family, q: Query) -> Reply {
    let filter = ApiFilter {
        id: q.owned("id"),
        group_id: q.owned("group_id"),
        name: q.owned("name"),
        req_method: q.owned("req_method"),
        req_uri: q.owned("req_uri"),
        backend_type: q.owned("backend_type"),
        auth_type: q.owned("auth_type"),
        precise_name: q.precise("name"),
        precise_uri: q.precise("req_uri"),
        paging: q.paging()?,
    };
    let found = s.list_apis(&filter).await?;
    page("apis", Page { total: found.total, items: found.items.into_iter().map(|a| shape::api(a, family)).collect() })
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>, family: Family) -> Reply {
    ok(shape::api(s.get_api(&id).await?, family))
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, family: Family, JsonBody(mut input): JsonBody<ApiInput>) -> Reply {
    input.dialect = family.dialect();
    ok(shape::api(s.update_api(&id, input).await?, family))
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_api(&id).await?;
    no_content()
}

/// `POST /apis/debug/{api_id}`: one request through the gateway's pipeline.
pub async fn debug(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<crate::service::DebugInput>) -> Reply {
    ok(s.debug_api(&id, input).await?)
}
