//! `/admin-credentials`: named management credentials and their roles (admin only).

use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::admin::AdminCredentialInput;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{CredentialFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<AdminCredentialInput>) -> Reply {
    created(s.create_admin_credential(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = CredentialFilter { name: q.owned("name"), precise_name: q.precise("name"), role: q.owned("role"), paging: q.paging()? };
    page("credentials", s.list_admin_credentials(&filter).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_admin_credential(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<AdminCredentialInput>) -> Reply {
    ok(s.update_admin_credential(&id, input).await?)
}

/// Issues a new token or secret key; the old one stops working at once.
pub async fn rotate(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.rotate_admin_credential(&id).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_admin_credential(&id).await?;
    no_content()
}
