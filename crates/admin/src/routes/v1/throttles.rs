use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::throttle::{ThrottleBindingInput, ThrottleInput};
use serde::{Deserialize, Serialize};

use super::batch_ids;
use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{Service, ThrottleFilter};

fn filter(q: &Query) -> Result<ThrottleFilter, crate::http::Failure> {
    Ok(ThrottleFilter {
        id: q.owned("id"),
        name: q.owned("name"),
        precise_name: q.precise("name"),
        throttle_id: q.owned("throttle_id"),
        api_id: q.owned("api_id"),
        env_id: q.owned("env_id"),
        api_name: q.owned("api_name"),
        paging: q.paging()?,
    })
}

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<ThrottleInput>) -> Reply {
    created(s.create_throttle(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("throttles", s.list_throttles(&filter(&q)?).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_throttle(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<ThrottleInput>) -> Reply {
    ok(s.update_throttle(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_throttle(&id).await?;
    no_content()
}

#[derive(Serialize)]
struct Applied {
    throttle_applys: Vec<causeway_model::throttle::ThrottleBinding>,
}

/// v1.0 answers `{"throttle_applys": [...]}`.
pub async fn bind(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<ThrottleBindingInput>) -> Reply {
    created(Applied { throttle_applys: s.bind_throttle(input).await? })
}

pub async fn unbind(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.unbind_throttle(&id).await?;
    no_content()
}

#[derive(Debug, Default, Deserialize)]
pub struct BindingIds {
    throttle_bindings: Option<Vec<String>>,
}

pub async fn unbind_many(State(s): State<Arc<Service>>, q: Query, JsonBody(input): JsonBody<BindingIds>) -> Reply {
    ok(s.unbind_throttles(batch_ids(&q, input.throttle_bindings, "throttle_bindings")?).await?)
}

pub async fn bound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("apis", s.throttle_bound_apis(&filter(&q)?).await?)
}

pub async fn unbound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("apis", s.throttle_unbound_apis(&filter(&q)?).await?)
}

pub async fn bound_throttles(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("throttles", s.api_bound_throttles(&filter(&q)?).await?)
}

pub async fn create_special(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<causeway_model::throttle::ThrottleSpecialInput>) -> Reply {
    created(s.create_throttle_special(input).await?)
}

/// `GET /throttle-specials/{strategy_id}`.
pub async fn list_specials(State(s): State<Arc<Service>>, Path(strategy_id): Path<String>, q: Query) -> Reply {
    page("throttle_specials", s.list_throttle_specials(&strategy_id, q.get("instance_type"), &q.paging()?).await?)
}

/// `PUT /throttle-specials/{id}`.
pub async fn update_special(
    State(s): State<Arc<Service>>,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<causeway_model::throttle::ThrottleSpecialInput>,
) -> Reply {
    ok(s.update_throttle_special(&id, input).await?)
}

pub async fn delete_special(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_throttle_special(&id).await?;
    no_content()
}
