//! The function registry (Causeway): `/functions`, their versions and aliases.

use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::function::{AliasInput, FunctionInput};
use serde::Deserialize;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{FunctionFilter, Page, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<FunctionInput>) -> Reply {
    created(s.create_function(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = FunctionFilter { name: q.get("name").map(str::to_string), package: q.get("package").map(str::to_string) };
    page("functions", s.list_functions(&filter, &q.paging()?).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_function(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<FunctionInput>) -> Reply {
    ok(s.update_function(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_function(&id).await?;
    no_content()
}

#[derive(Debug, Default, Deserialize)]
pub struct VersionInput {
    description: Option<String>,
}

pub async fn publish_version(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<VersionInput>) -> Reply {
    created(s.publish_function_version(&id, input.description).await?)
}

pub async fn list_versions(State(s): State<Arc<Service>>, Path(id): Path<String>, q: Query) -> Reply {
    page("versions", s.list_function_versions(&id, &q.paging()?).await?)
}

pub async fn create_alias(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<AliasInput>) -> Reply {
    created(s.create_function_alias(&id, input).await?)
}

pub async fn list_aliases(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    let all = s.list_function_aliases(&id).await?;
    page("aliases", Page { total: all.len(), items: all })
}

pub async fn get_alias(State(s): State<Arc<Service>>, Path((id, name)): Path<(String, String)>) -> Reply {
    ok(s.get_function_alias(&id, &name).await?)
}

pub async fn update_alias(State(s): State<Arc<Service>>, Path((id, name)): Path<(String, String)>, JsonBody(input): JsonBody<AliasInput>) -> Reply {
    ok(s.update_function_alias(&id, &name, input).await?)
}

pub async fn delete_alias(State(s): State<Arc<Service>>, Path((id, name)): Path<(String, String)>) -> Reply {
    s.delete_function_alias(&id, &name).await?;
    no_content()
}

/// `POST /functions/{id}/invocations?qualifier=`: the body is the event.
pub async fn test_invoke(State(s): State<Arc<Service>>, Path(id): Path<String>, q: Query, JsonBody(event): JsonBody<serde_json::Value>) -> Reply {
    ok(s.test_invoke_function(&id, q.get("qualifier"), event).await?)
}

pub async fn get_invocation(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_function_invocation(&id).await?)
}

/// `GET /function-invocations?status=pending|running|succeeded|failed` (default `pending`).
pub async fn list_invocations(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("invocations", s.list_function_invocations(q.get("status").unwrap_or("pending"), &q.paging()?).await?)
}
