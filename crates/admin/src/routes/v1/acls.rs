use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::acl::{AclBindingInput, AclInput};
use serde::Deserialize;

use super::batch_ids;
use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{AclFilter, Service};

fn filter(q: &Query) -> Result<AclFilter, crate::http::Failure> {
    Ok(AclFilter {
        id: q.owned("id"),
        name: q.owned("name"),
        precise_name: q.precise("name"),
        acl_type: q.owned("acl_type"),
        acl_id: q.owned("acl_id"),
        api_id: q.owned("api_id"),
        env_id: q.owned("env_id"),
        api_name: q.owned("api_name"),
        paging: q.paging()?,
    })
}

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<AclInput>) -> Reply {
    created(s.create_acl(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("acls", s.list_acls(&filter(&q)?).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_acl(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<AclInput>) -> Reply {
    ok(s.update_acl(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_acl(&id).await?;
    no_content()
}

#[derive(Debug, Default, Deserialize)]
pub struct AclIds {
    acls: Option<Vec<String>>,
}

pub async fn delete_many(State(s): State<Arc<Service>>, q: Query, JsonBody(input): JsonBody<AclIds>) -> Reply {
    ok(s.delete_acls(batch_ids(&q, input.acls, "acls")?).await?)
}

/// v1.0 answers the bindings as an array.
pub async fn bind(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<AclBindingInput>) -> Reply {
    created(s.bind_acl(input).await?)
}

pub async fn unbind(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.unbind_acl(&id).await?;
    no_content()
}

#[derive(Debug, Default, Deserialize)]
pub struct BindingIds {
    acl_bindings: Option<Vec<String>>,
}

pub async fn unbind_many(State(s): State<Arc<Service>>, q: Query, JsonBody(input): JsonBody<BindingIds>) -> Reply {
    ok(s.unbind_acls(batch_ids(&q, input.acl_bindings, "acl_bindings")?).await?)
}

pub async fn bound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("apis", s.acl_bound_apis(&filter(&q)?).await?)
}

pub async fn unbound_apis(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("apis", s.acl_unbound_apis(&filter(&q)?).await?)
}

pub async fn bound_acls(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("acls", s.api_bound_acls(&filter(&q)?).await?)
}
