//! Environment variables on a group's page (`#name#` in backend addresses
//! and paths takes their value per environment): added (errors on their
//! field) and deleted after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use causeway_model::env::EnvVariableInput;

use super::{group, layout};
use crate::{Console, Signed, forbidden, forms};

/// `POST /console/groups/{id}/variables`.
pub async fn create(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/env-variables") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = EnvVariableInput { group_id: Some(id.clone()), env_id: form.text("env_id"), variable_name: form.text("variable_name"), variable_value: form.text("variable_value") };
    let outcome = console.service.create_variable(input).await;
    let var_id = outcome.as_ref().map(|v| v.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", &format!("/console/groups/{id}/variables"), "env-variables", &var_id, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "variables", &form, outcome.map(|_| ())).await
}

/// `GET /console/groups/{id}/variables/{variable_id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path((id, var_id)): Path<(String, String)>) -> Response {
    if !signed.may("DELETE", "/env-variables") {
        return forbidden();
    }
    let v = match console.service.get_variable(&var_id).await {
        Ok(v) if v.group_id == id => v,
        Ok(_) => return layout::not_found().await,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete the variable",
            question: &format!("Delete #{}#?", v.variable_name),
            warning: "Published APIs whose backend uses it in this environment cannot reach their backend from then on, and cannot be published there again until it is defined.",
            action: &format!("/console/groups/{id}/variables/{var_id}/delete"),
            fields: &[],
            button: "Delete the variable",
            cancel: &format!("/console/groups/{id}#variables"),
        },
        "/console/groups",
    )
}

/// `POST /console/groups/{id}/variables/{variable_id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path((id, var_id)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/env-variables") {
        return denied.into_response();
    }
    let outcome = console.service.delete_variable(&var_id).await;
    console.audit(&signed, "DELETE", &format!("/console/groups/{id}/variables/{var_id}"), "env-variables", &var_id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/groups/{id}#variables")).into_response(),
        Err(e) => layout::failed(e),
    }
}
