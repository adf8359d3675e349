use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::group::GroupInput;

use crate::http::{Family, JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{GroupFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, family: Family, JsonBody(mut input): JsonBody<GroupInput>) -> Reply {
    input.dialect = family.dialect();
    created(s.create_group(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = GroupFilter { id: q.owned("id"), name: q.owned("name"), precise_name: q.precise("name"), paging: q.paging()? };
    page("groups", s.list_groups(&filter).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_group(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, family: Family, JsonBody(mut input): JsonBody<GroupInput>) -> Reply {
    input.dialect = family.dialect();
    ok(s.update_group(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_group(&id).await?;
    no_content()
}
