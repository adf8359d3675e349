use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::app::{AppCodeInput, AppInput, SecretInput};

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{AppFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<AppInput>) -> Reply {
    created(s.create_app(input).await?)
}

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = AppFilter {
        id: q.owned("id"),
        name: q.owned("name"),
        precise_name: q.precise("name"),
        app_key: q.owned("app_key"),
        paging: q.paging()?,
    };
    page("apps", s.list_apps(&filter).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_app(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<AppInput>) -> Reply {
    ok(s.update_app(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_app(&id).await?;
    no_content()
}

/// `PUT /apps/secret/{id}`: the body (`{"app_secret"}`) is optional.
pub async fn reset_secret(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<SecretInput>) -> Reply {
    ok(s.reset_app_secret(&id, input).await?)
}

pub async fn validation(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.validate_app(&id).await?)
}

pub async fn create_code(State(s): State<Arc<Service>>, Path(app_id): Path<String>, JsonBody(input): JsonBody<AppCodeInput>) -> Reply {
    created(s.create_app_code(&app_id, Some(input)).await?)
}

/// `PUT /apps/{app_id}/app-codes`: a generated AppCode.
pub async fn generate_code(State(s): State<Arc<Service>>, Path(app_id): Path<String>) -> Reply {
    created(s.create_app_code(&app_id, None).await?)
}

pub async fn list_codes(State(s): State<Arc<Service>>, Path(app_id): Path<String>, q: Query) -> Reply {
    page("app_codes", s.list_app_codes(&app_id, &q.paging()?).await?)
}

pub async fn get_code(State(s): State<Arc<Service>>, Path((app_id, id)): Path<(String, String)>) -> Reply {
    ok(s.get_app_code(&app_id, &id).await?)
}

pub async fn delete_code(State(s): State<Arc<Service>>, Path((app_id, id)): Path<(String, String)>) -> Reply {
    s.delete_app_code(&app_id, &id).await?;
    no_content()
}
