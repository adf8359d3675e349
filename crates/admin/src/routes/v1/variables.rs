use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::env::EnvVariableInput;
use serde::Deserialize;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{Service, VariableFilter};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<EnvVariableInput>) -> Reply {
    created(s.create_variable(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = VariableFilter {
        group_id: q.owned("group_id"),
        env_id: q.owned("env_id"),
        variable_name: q.owned("variable_name"),
        precise_name: q.precise("variable_name"),
        paging: q.paging()?,
    };
    page("variables", s.list_variables(&filter).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_variable(&id).await?)
}

#[derive(Deserialize)]
pub struct ValueInput {
    variable_value: Option<String>,
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<ValueInput>) -> Reply {
    ok(s.update_variable(&id, input.variable_value).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_variable(&id).await?;
    no_content()
}
