use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::authorizer::AuthorizerInput;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{AuthorizerFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<AuthorizerInput>) -> Reply {
    created(s.create_authorizer(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = AuthorizerFilter { name: q.owned("name"), kind: q.owned("type"), precise_name: q.precise("name"), paging: q.paging()? };
    page("authorizer_list", s.list_authorizers(&filter).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_authorizer(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<AuthorizerInput>) -> Reply {
    ok(s.update_authorizer(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_authorizer(&id).await?;
    no_content()
}
