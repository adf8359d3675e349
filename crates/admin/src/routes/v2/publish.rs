//! V2's `POST /apis/action`: one call to publish (`online`) or take offline an API.

use std::sync::Arc;

use axum::extract::State;
use causeway_model::publish::{ApiAction, ApiActionInput};

use crate::http::{JsonBody, Reply, created, no_content};
use crate::service::Service;

/// `online` answers 201 with the publication record, as v1.0's publish does;
/// `offline` answers 204 (the SDK takes either).
pub async fn action(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<ApiActionInput>) -> Reply {
    match input.validate()? {
        ApiAction::Online { api_id, publish } => created(s.publish(&api_id, publish).await?),
        ApiAction::Offline { api_id, env_id } => {
            s.offline(&api_id, Some(env_id)).await?;
            no_content()
        }
    }
}
