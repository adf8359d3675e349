use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::publish::{BatchPublishInput, PublishInput, SwitchVersionInput};

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{HistoryFilter, Service};

pub async fn publish(State(s): State<Arc<Service>>, Path(api_id): Path<String>, JsonBody(input): JsonBody<PublishInput>) -> Reply {
    created(s.publish(&api_id, input).await?)
}

pub async fn offline(State(s): State<Arc<Service>>, Path(api_id): Path<String>, q: Query) -> Reply {
    s.offline(&api_id, q.owned("env_id")).await?;
    no_content()
}

pub async fn batch(State(s): State<Arc<Service>>, q: Query, JsonBody(input): JsonBody<BatchPublishInput>) -> Reply {
    ok(s.batch_publish(q.get("action"), input).await?)
}

pub async fn history(State(s): State<Arc<Service>>, Path(api_id): Path<String>, q: Query) -> Reply {
    let filter = HistoryFilter { env_id: q.owned("env_id"), env_name: q.owned("env_name"), paging: q.paging()? };
    page("api_versions", s.history(&api_id, &filter).await?)
}

pub async fn switch(State(s): State<Arc<Service>>, Path(api_id): Path<String>, JsonBody(input): JsonBody<SwitchVersionInput>) -> Reply {
    ok(s.switch_version(&api_id, input).await?)
}

pub async fn version(State(s): State<Arc<Service>>, Path(version_id): Path<String>) -> Reply {
    ok(s.get_version(&version_id).await?)
}

pub async fn offline_version(State(s): State<Arc<Service>>, Path(version_id): Path<String>) -> Reply {
    s.offline_version(&version_id).await?;
    no_content()
}
