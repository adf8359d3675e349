//! Apps: the list; creating one (its key and secret shown at once); an
//! app's page (its key, its secret on request, the APIs it may call per
//! environment, authorizing more and revoking); resetting its secret and
//! deleting it, each after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{AppFilter, AuthFilter, EnvFilter, Paging};
use causeway_model::ApiError;
use causeway_model::app::{AppAuthInput, AppInput, SecretInput};
use maud::{Markup, html};

use super::layout::{self, field_error, form_error, page, pager};
use crate::{Console, QueryMap, Signed, forbidden, forms};

const PAGE_SIZE: usize = 20;

fn create_form(signed: &Signed, draft: (&str, &str), error: Option<&ApiError>) -> Markup {
    let name_error = field_error(error, "name");
    html! {
        section.card aria-labelledby="new-app" {
            h2 id="new-app" { "New app" }
            p.lead { "An app calls APP APIs with its key and secret; its secret is generated." }
            @if let Some(e) = form_error(error, &["name"]) { p.error role="alert" { (e) } }
            form method="post" action="/console/apps" {
                input type="hidden" name="csrf" value=(signed.session.csrf);
                label for="app-name" { "Name" }
                input id="app-name" name="name" value=(draft.0) required aria-invalid=[name_error.map(|_| "true")];
                @if let Some(e) = name_error { p.error role="alert" { (e) } }
                label for="app-remark" { "Description" }
                input id="app-remark" name="remark" value=(draft.1);
                button type="submit" { "Create app" }
            }
        }
    }
}

/// `GET /console/apps?name=&page=`.
pub async fn list(State(console): State<Console>, signed: Signed, QueryMap(q): QueryMap) -> Response {
    render(&console, &signed, &q, ("", ""), None).await
}

async fn render(console: &Console, signed: &Signed, q: &std::collections::HashMap<String, String>, draft: (&str, &str), error: Option<ApiError>) -> Response {
    let name = q.get("name").map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let page_no = q.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let apps = match console.service.list_apps(&AppFilter { name: name.clone(), paging: Paging::page(page_no, PAGE_SIZE), ..Default::default() }).await {
        Ok(a) => a,
        Err(e) => return layout::failed(e),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Apps" }
        form.search role="search" method="get" action="/console/apps" {
            label for="search" { "Name contains" }
            input id="search" name="name" value=[name.as_deref()];
            button type="submit" { "Search" }
        }
        @if apps.items.is_empty() {
            p.empty { @if name.is_some() { "No app matches." } @else { "No apps yet. Create one to call APIs that use APP authentication." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Key" } th { "APIs it may call" } th { "Created" } } }
                tbody {
                    @for a in &apps.items {
                        tr {
                            td { a href=(format!("/console/apps/{}", a.app.id)) { (a.app.name) } }
                            td { code { (a.app.app_key) } }
                            td { (a.bind_num) }
                            td { (a.app.register_time.get(..10).unwrap_or_default()) }
                        }
                    }
                }
            }
            (pager("/console/apps", page_no, PAGE_SIZE, apps.total))
        }
        @if signed.may("POST", "/apps") { (create_form(signed, draft, error.as_ref())) }
    };
    (status, page(signed, "Apps", "/console/apps", body)).into_response()
}

/// `POST /console/apps`: creates the app and shows its key and secret.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/apps") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.create_app(AppInput { name: form.text("name"), remark: form.text("remark"), ..Default::default() }).await;
    let id = outcome.as_ref().map(|a| a.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/apps", "apps", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(app) => {
            let body = html! {
                h1 { "App " (app.name) " created" }
                p { "Callers sign their requests with this key and secret. Keep the secret safe; you can show it again from the app's page." }
                dl { dt { "Key" } dd { code { (app.app_key) } } dt { "Secret" } dd { code { (app.app_secret) } } }
                p { a href=(format!("/console/apps/{}", app.id)) { "Go to the app" } }
            };
            page(&signed, "App created", "/console/apps", body).into_response()
        }
        Err(e) => render(&console, &signed, &Default::default(), (&form.text("name").unwrap_or_default(), &form.text("remark").unwrap_or_default()), Some(e)).await,
    }
}

/// `GET /console/apps/{id}?show_secret=1&env_id=`.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>, QueryMap(q): QueryMap) -> Response {
    let app = match console.service.get_app(&id).await {
        Ok(a) => a,
        Err(e) => return layout::failed(e),
    };
    let envs = match console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(e) => e.items,
        Err(e) => return layout::failed(e),
    };
    let env_id = q.get("env_id").cloned().or_else(|| envs.iter().find(|e| e.name == "RELEASE").map(|e| e.id.clone())).unwrap_or_default();
    let filter = AuthFilter { app_id: Some(id.clone()), paging: Paging::page(1, 500), ..Default::default() };
    let bound = match console.service.bound_apis(&filter).await {
        Ok(b) => b.items,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/app-auths");
    let unbound = if can_write {
        let f = AuthFilter { app_id: Some(id.clone()), env_id: Some(env_id.clone()), paging: Paging::page(1, 500), ..Default::default() };
        console.service.unbound_apis(&f).await.map(|p| p.items).unwrap_or_default()
    } else {
        vec![]
    };
    let show_secret = q.contains_key("show_secret") && signed.may("GET", "/apps");
    let codes = console.service.list_app_codes(&id, &Paging::page(1, 100)).await.map(|p| p.items).unwrap_or_default();
    let csrf = &signed.session.csrf;
    let body = html! {
        p { a href="/console/apps" { "‹ Apps" } }
        h1 { (app.name) }
        @if let Some(r) = &app.remark { p.lead { (r) } }
        section.card.wide aria-labelledby="keys" {
            h2 id="keys" { "Key and secret" }
            dl {
                dt { "Key" } dd { code { (app.app_key) } }
                dt { "Secret" }
                dd { @if show_secret { code { (app.app_secret) } } @else { a href=(format!("/console/apps/{id}?show_secret=1")) { "Show the secret" } } }
            }
            @if signed.may("PUT", "/apps/secret") {
                p { a.danger href=(format!("/console/apps/{id}/reset-secret")) { "Reset the secret" } }
            }
        }
        (super::app_codes::section(&signed, &id, &codes, q.contains_key("show_codes")))
        section.card.wide aria-labelledby="authorized" {
            h2 id="authorized" { "APIs it may call" }
            @if bound.is_empty() {
                p.empty { "None yet." @if can_write { " Authorize APIs that use APP authentication below." } }
            } @else {
                table {
                    thead { tr { th { "API" } th { "Group" } th { "Environment" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for b in &bound {
                            tr {
                                td { a href=(format!("/console/apis/{}", b.api_id)) { (b.api_name) } }
                                td { (b.group_name) }
                                td { (b.env_name) }
                                @if can_write {
                                    td {
                                        form method="post" action=(format!("/console/apps/{id}/revoke")) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="auth_id" value=(b.id);
                                            button.small type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_write {
                form.inline method="get" action=(format!("/console/apps/{id}")) {
                    div.field {
                        label for="auth-env" { "Environment" }
                        select id="auth-env" name="env_id" { @for e in &envs { option value=(e.id) selected[e.id == env_id] { (e.name) } } }
                    }
                    button type="submit" { "Show its APIs" }
                }
                @if unbound.is_empty() {
                    p.muted { "No other APP API is published in this environment." }
                } @else {
                    form method="post" action=(format!("/console/apps/{id}/authorize")) {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="env_id" value=(env_id);
                        fieldset {
                            legend { "Authorize" }
                            @for u in &unbound {
                                label.check { input type="checkbox" name="api_id" value=(u.id); " " (u.name) " " code { (u.req_method.as_str()) " " (u.req_uri) } " (" (u.group_name) ")" }
                            }
                        }
                        button type="submit" { "Authorize the chosen APIs" }
                    }
                }
            }
        }
        @if signed.may("DELETE", "/apps") {
            p { a.danger href=(format!("/console/apps/{id}/delete")) { "Delete the app" } }
        }
    };
    page(&signed, &app.name, "/console/apps", body).into_response()
}

/// `POST /console/apps/{id}/authorize` (`env_id`, `api_id`…).
pub async fn authorize(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/app-auths") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let api_ids = form.all("api_id");
    let env_id = form.text("env_id");
    let outcome = console.service.create_app_auths(AppAuthInput { api_ids: Some(api_ids), app_ids: Some(vec![id.clone()]), env_id: env_id.clone() }).await.map(|_| ());
    back(&console, &signed, &id, "/authorize", outcome, env_id.as_deref()).await
}

/// `POST /console/apps/{id}/revoke` (`auth_id`).
pub async fn revoke(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/app-auths") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.delete_app_auth(&form.text("auth_id").unwrap_or_default()).await;
    back(&console, &signed, &id, "/revoke", outcome, None).await
}

async fn back(console: &Console, signed: &Signed, id: &str, action: &str, outcome: causeway_model::Result<()>, env_id: Option<&str>) -> Response {
    console.audit(signed, "POST", &format!("/console/apps/{id}{action}"), "apps", id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&match env_id {
            Some(e) => format!("/console/apps/{id}?env_id={e}"),
            None => format!("/console/apps/{id}"),
        })
        .into_response(),
        Err(e) => layout::not_done(signed, "Not done", &e, &format!("/console/apps/{id}"), "Back to the app", "/console/apps"),
    }
}

/// `GET /console/apps/{id}/reset-secret` and `/delete`: asks first.
pub async fn confirm(State(console): State<Console>, signed: Signed, Path((id, action)): Path<(String, String)>) -> Response {
    let (question, what, method, path) = match action.as_str() {
        "reset-secret" => ("Reset the secret of", "Reset the secret", "PUT", "/apps/secret"),
        "delete" => ("Delete the app", "Delete the app", "DELETE", "/apps"),
        _ => return layout::not_found().await,
    };
    if !signed.may(method, path) {
        return forbidden();
    }
    let app = match console.service.get_app(&id).await {
        Ok(a) => a,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: what,
            question: &format!("{question} {}?", app.name),
            warning: "Callers using the current secret are refused from then on. This cannot be undone.",
            action: &format!("/console/apps/{id}/{action}"),
            fields: &[],
            button: what,
            cancel: &format!("/console/apps/{id}"),
        },
        "/console/apps",
    )
}

/// `POST /console/apps/{id}/reset-secret` and `/delete`.
pub async fn act(State(console): State<Console>, signed: Signed, Path((id, action)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(refused) = forms::read(&signed, &headers, &body) {
        return refused.into_response();
    }
    match action.as_str() {
        "reset-secret" => {
            if !signed.may("PUT", "/apps/secret") {
                return forbidden();
            }
            let outcome = console.service.reset_app_secret(&id, SecretInput::default()).await.map(|_| ());
            console.audit(&signed, "PUT", &format!("/console/apps/{id}/secret"), "apps", &id, outcome.as_ref().map(|_| ())).await;
            match outcome {
                Ok(()) => Redirect::to(&format!("/console/apps/{id}?show_secret=1")).into_response(),
                Err(e) => layout::failed(e),
            }
        }
        "delete" => {
            if !signed.may("DELETE", "/apps") {
                return forbidden();
            }
            let outcome = console.service.delete_app(&id).await;
            console.audit(&signed, "DELETE", &format!("/console/apps/{id}"), "apps", &id, outcome.as_ref().map(|_| ())).await;
            match outcome {
                Ok(()) => Redirect::to("/console/apps").into_response(),
                Err(e) => layout::failed(e),
            }
        }
        _ => layout::not_found().await,
    }
}
