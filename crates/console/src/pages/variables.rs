//! A group's page: its subdomain, and its environment variables per
//! environment (`#name#` in backend addresses and paths takes their value):
//! listed, added (errors on their field) and deleted.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{EnvFilter, Paging, VariableFilter};
use causeway_model::ApiError;
use causeway_model::env::EnvVariableInput;
use maud::html;

use super::layout::{self, field_error, form_error, page};
use crate::{Console, Signed, forms};

async fn render(console: &Console, signed: &Signed, group_id: &str, draft: [String; 3], error: Option<ApiError>) -> Response {
    let group = match console.service.get_group(group_id).await {
        Ok(g) => g,
        Err(e) => return layout::failed(e),
    };
    let envs = match console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(e) => e.items,
        Err(e) => return layout::failed(e),
    };
    let vars = match console.service.list_variables(&VariableFilter { group_id: Some(group_id.to_string()), paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(v) => v.items,
        Err(e) => return layout::failed(e),
    };
    let env_name = |id: &str| envs.iter().find(|e| e.id == id).map_or_else(|| id.to_string(), |e| e.name.clone());
    let can_write = signed.may("POST", "/env-variables");
    let (name_error, value_error) = (field_error(error.as_ref(), "variable_name"), field_error(error.as_ref(), "variable_value"));
    let csrf = &signed.session.csrf;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p { a href="/console/groups" { "‹ Groups" } }
        h1 { (group.group.name) }
        @if let Some(r) = &group.group.remark { p.lead { (r) } }
        dl { dt { "Subdomain" } dd { code { (group.group.sl_domain) } } dt { "APIs" } dd { a href=(format!("/console/apis?group_id={group_id}")) { "This group's APIs" } } }
        section.card.wide aria-labelledby="vars" {
            h2 id="vars" { "Environment variables" }
            p.lead { "A backend address or path may hold #name#: each environment gives it its own value." }
            @if vars.is_empty() {
                p.empty { "No variables yet." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Environment" } th { "Value" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for v in &vars {
                            tr {
                                td { code { "#" (v.variable_name) "#" } }
                                td { (env_name(&v.env_id)) }
                                td { code { (v.variable_value) } }
                                @if can_write {
                                    td {
                                        form method="post" action=(format!("/console/groups/{group_id}/variables/{}/delete", v.id)) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            button.small type="submit" { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_write {
                @if let Some(e) = form_error(error.as_ref(), &["variable_name", "variable_value"]) { p.error role="alert" { (e) } }
                form method="post" action=(format!("/console/groups/{group_id}/variables")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row {
                        div.field {
                            label for="var-env" { "Environment" }
                            select id="var-env" name="env_id" { @for e in &envs { option value=(e.id) selected[e.id == draft[0]] { (e.name) } } }
                        }
                        div.field {
                            label for="var-name" { "Name" }
                            input id="var-name" name="variable_name" value=(draft[1]) aria-invalid=[name_error.map(|_| "true")];
                            @if let Some(e) = name_error { p.error role="alert" { (e) } }
                        }
                        div.field {
                            label for="var-value" { "Value" }
                            input id="var-value" name="variable_value" value=(draft[2]) aria-invalid=[value_error.map(|_| "true")];
                            @if let Some(e) = value_error { p.error role="alert" { (e) } }
                        }
                    }
                    button type="submit" { "Add variable" }
                }
            }
        }
    };
    (status, page(signed, &group.group.name, "/console/groups", body)).into_response()
}

/// `GET /console/groups/{id}`.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    render(&console, &signed, &id, Default::default(), None).await
}

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
    match outcome {
        Ok(_) => Redirect::to(&format!("/console/groups/{id}")).into_response(),
        Err(e) => {
            let draft = [form.text("env_id").unwrap_or_default(), form.text("variable_name").unwrap_or_default(), form.text("variable_value").unwrap_or_default()];
            render(&console, &signed, &id, draft, Some(e)).await
        }
    }
}

/// `POST /console/groups/{id}/variables/{variable_id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path((id, var_id)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/env-variables") {
        return denied.into_response();
    }
    let outcome = console.service.delete_variable(&var_id).await;
    console.audit(&signed, "DELETE", &format!("/console/groups/{id}/variables/{var_id}"), "env-variables", &var_id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/groups/{id}")).into_response(),
        Err(e) => layout::failed(e),
    }
}
