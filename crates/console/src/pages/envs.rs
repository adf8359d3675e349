//! Environments: the list, creating one (errors on their field), deleting
//! one after a confirmation. `RELEASE` is built in and always there.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{EnvFilter, Paging};
use causeway_model::ApiError;
use causeway_model::env::EnvInput;
use maud::html;

use super::layout::{self, field_error, form_error, page};
use crate::{Console, Signed, forbidden, forms};

async fn render(console: &Console, signed: &Signed, draft: (String, String), error: Option<ApiError>) -> Response {
    let envs = match console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(e) => e,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/envs");
    let (name_error, remark_error) = (field_error(error.as_ref(), "name"), field_error(error.as_ref(), "remark"));
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Environments" }
        p.lead { "An API is published to an environment; callers choose one with the X-Stage header (RELEASE when they send none)." }
        table {
            thead { tr { th { "Name" } th { "Description" } th { "Created" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
            tbody {
                @for e in &envs.items {
                    tr {
                        td { (e.name) }
                        td { (e.remark.as_deref().unwrap_or("")) }
                        td { (e.create_time.get(..10).unwrap_or_default()) }
                        @if can_write { td { @if e.name != "RELEASE" { a.danger href=(format!("/console/envs/{}/delete", e.id)) { "Delete" } } } }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-env" {
                h2 id="new-env" { "New environment" }
                @if let Some(e) = form_error(error.as_ref(), &["name", "remark"]) { p.error role="alert" { (e) } }
                form method="post" action="/console/envs" {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    label for="env-name" { "Name" }
                    input id="env-name" name="name" value=(draft.0) required aria-invalid=[name_error.map(|_| "true")];
                    small { "3–64 letters, digits and _, starting with a letter." }
                    @if let Some(e) = name_error { p.error role="alert" { (e) } }
                    label for="env-remark" { "Description" }
                    input id="env-remark" name="remark" value=(draft.1) aria-invalid=[remark_error.map(|_| "true")];
                    @if let Some(e) = remark_error { p.error role="alert" { (e) } }
                    button type="submit" { "Create environment" }
                }
            }
        }
    };
    (status, page(signed, "Environments", "/console/envs", body)).into_response()
}

/// `GET /console/envs`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, Default::default(), None).await
}

/// `POST /console/envs`.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/envs") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.create_env(EnvInput { name: form.text("name"), remark: form.text("remark") }).await;
    let id = outcome.as_ref().map(|e| e.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/envs", "envs", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => Redirect::to("/console/envs").into_response(),
        Err(e) => render(&console, &signed, (form.text("name").unwrap_or_default(), form.text("remark").unwrap_or_default()), Some(e)).await,
    }
}

/// `GET /console/envs/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/envs") {
        return forbidden();
    }
    let env = match console.service.get_env(&id).await {
        Ok(e) => e,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete environment",
            question: &format!("Delete the environment {}?", env.name),
            warning: "APIs published in it must be taken offline first.",
            action: &format!("/console/envs/{id}/delete"),
            fields: &[],
            button: "Delete environment",
            cancel: "/console/envs",
        },
        "/console/envs",
    )
}

/// `POST /console/envs/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/envs") {
        return denied.into_response();
    }
    let outcome = console.service.delete_env(&id).await;
    console.audit(&signed, "DELETE", &format!("/console/envs/{id}"), "envs", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to("/console/envs").into_response(),
        Err(e) => layout::not_done(&signed, "The environment was not deleted", &e, "/console/envs", "Back", "/console/envs"),
    }
}
