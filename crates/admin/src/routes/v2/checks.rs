//! V2's availability checks: `POST /api-groups/check` and `POST /apis/check`
//! answer 204 when a name or route is free, the duplicate's error when not.

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;

use crate::http::{JsonBody, Reply, no_content};
use crate::service::{ApiCheckInput, Service};

#[derive(Debug, Default, Deserialize)]
pub struct GroupCheckInput {
    pub group_name: Option<String>,
}

pub async fn group(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<GroupCheckInput>) -> Reply {
    s.check_group_name(input.group_name).await?;
    no_content()
}

pub async fn api(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<ApiCheckInput>) -> Reply {
    s.check_api(input).await?;
    no_content()
}
