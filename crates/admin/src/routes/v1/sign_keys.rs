use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::sign_key::{SignBindingInput, SignKeyInput};
use serde::Serialize;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{BindingView, Service, SignFilter};

fn filter(q: &Query) -> Result<SignFilter, crate::http::Failure> {
    Ok(SignFilter {
        id: q.owned("id"),
        name: q.owned("name"),
        precise_name: q.precise("name"),
        sign_id: q.owned("sign_id"),
        api_id: q.owned("api_id"),
        env_id: q.owned("env_id"),
        api_name: q.owned("api_name"),
        paging: q.paging()?,
    })
}

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<SignKeyInput>) -> Reply {
    created(s.create_sign_key(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("signs", s.list_sign_keys(&filter(&q)?).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<SignKeyInput>) -> Reply {
    ok(s.update_sign_key(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_sign_key(&id).await?;
    no_content()
}

#[derive(Serialize)]
struct Bindings {
    bindings: Vec<BindingView>,
}

/// v1.0 answers `{"bindings": [...]}`.
pub async fn bind(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<SignBindingInput>) -> Reply {
    created(Bindings { bindings: s.bind_sign_key(input).await? })
}

pub async fn unbind(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.unbind_sign_key(&id).await?;
    no_content()
}

pub async fn bound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("bindings", s.sign_bound_apis(&filter(&q)?).await?)
}

pub async fn unbound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("apis", s.sign_unbound_apis(&filter(&q)?).await?)
}

pub async fn bound_signs(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("bindings", s.api_bound_signs(&filter(&q)?).await?)
}
