use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::iam::IamIssuerInput;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::Service;

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<IamIssuerInput>) -> Reply {
    created(s.create_issuer(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("issuers", s.list_issuers(&q.paging()?).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_issuer(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<IamIssuerInput>) -> Reply {
    ok(s.update_issuer(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_issuer(&id).await?;
    no_content()
}
