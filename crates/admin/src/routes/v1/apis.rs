use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::api::ApiInput;

use crate::http::{Family, JsonBody, Query, Reply, created, no_content, ok, page};
use crate::routes::shape;
use crate::service::{ApiFilter, Page, Service};

pub async fn create(State(s): State<Arc<Service>>, family: Family, JsonBody(mut input): JsonBody<ApiInput>) -> Reply {
    input.dialect = family.dialect();
    created(detail(&s, s.create_api(input).await?, family).await)
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
        env_id: q.owned("env_id"),
        req_protocol: q.owned("req_protocol"),
        api_type: q.get("type").map(|t| t.parse::<i32>().map_err(|_| causeway_model::ApiError::invalid("type"))).transpose()?,
        tags: q.owned("tags"),
        vpc_channel_name: q.owned("vpc_channel_name"),
        published: None,
        paging: q.paging()?,
    };
    let found = s.list_apis(&filter).await?;
    if family == Family::V1 {
        return page("apis", Page { total: found.total, items: found.items.into_iter().map(|a| shape::api(a, family)).collect() });
    }
    // V2 and ROMA list items are brief unless `return_data_mode` asks for more.
    let mode = shape::ReturnMode::parse(q.get("return_data_mode"));
    let groups = if mode.group { s.groups_by_id().await? } else { Default::default() };
    let items = found
        .items
        .into_iter()
        .map(|a| {
            let group = groups.get(&a.api.group_id);
            let mut v = shape::api(a, family);
            shape::list_item(&mut v, mode, group);
            v
        })
        .collect();
    page("apis", Page { total: found.total, items })
}

/// An API detail as `family` answers it (V2 and ROMA add `api_group_info`).
async fn detail(s: &Service, view: crate::service::ApiView, family: Family) -> serde_json::Value {
    let group_id = view.api.group_id.clone();
    let mut v = shape::api(view, family);
    if family != Family::V1
        && let Ok(group) = s.get_group(&group_id).await
    {
        v["api_group_info"] = shape::group_info(&group);
    }
    v
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>, family: Family) -> Reply {
    ok(detail(&s, s.get_api(&id).await?, family).await)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, family: Family, JsonBody(mut input): JsonBody<ApiInput>) -> Reply {
    input.dialect = family.dialect();
    ok(detail(&s, s.update_api(&id, input).await?, family).await)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_api(&id).await?;
    no_content()
}

/// `POST /apis/debug/{api_id}`: one request through the gateway's pipeline.
pub async fn debug(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<crate::service::DebugInput>) -> Reply {
    ok(s.debug_api(&id, input).await?)
}
