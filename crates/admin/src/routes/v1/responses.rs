use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::response::{GatewayResponseInput, view};

use crate::http::{JsonBody, Reply, created, no_content, ok};
use crate::service::Service;

pub async fn create(State(s): State<Arc<Service>>, Path(group_id): Path<String>, JsonBody(input): JsonBody<GatewayResponseInput>) -> Reply {
    created(view(&s.create_response(&group_id, input).await?))
}

pub async fn list(State(s): State<Arc<Service>>, Path(group_id): Path<String>) -> Reply {
    let all: Vec<_> = s.list_responses(&group_id).await?.iter().map(view).collect();
    ok(serde_json::json!({"total": all.len(), "size": all.len(), "responses": all}))
}

pub async fn get(State(s): State<Arc<Service>>, Path((group_id, id)): Path<(String, String)>) -> Reply {
    ok(view(&s.get_response(&group_id, &id).await?))
}

pub async fn update(
    State(s): State<Arc<Service>>,
    Path((group_id, id)): Path<(String, String)>,
    JsonBody(input): JsonBody<GatewayResponseInput>,
) -> Reply {
    ok(view(&s.update_response(&group_id, &id, input).await?))
}

pub async fn delete(State(s): State<Arc<Service>>, Path((group_id, id)): Path<(String, String)>) -> Reply {
    s.delete_response(&group_id, &id).await?;
    no_content()
}
