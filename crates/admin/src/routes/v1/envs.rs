use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::env::EnvInput;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{EnvFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<EnvInput>) -> Reply {
    created(s.create_env(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = EnvFilter { name: q.owned("name"), precise_name: q.precise("name"), paging: q.paging()? };
    page("envs", s.list_envs(&filter).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_env(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<EnvInput>) -> Reply {
    ok(s.update_env(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_env(&id).await?;
    no_content()
}
