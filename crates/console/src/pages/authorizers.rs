//! Custom authorizers: a function decides whether a call may go on
//! (frontend) or adds credentials for the backend (backend). The list, a
//! new authorizer (the function picked from this installation's functions,
//! identity sources, cache time), and delete after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{AuthorizerFilter, FunctionFilter, Paging};
use causeway_model::ApiError;
use causeway_model::authorizer::{AuthorizerInput, IdentityInput};
use maud::html;

use super::layout::{self, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

const CURRENT: &str = "/console/authorizers";
const FIELDS: &[&str] = &["name", "type", "authorizer_uri", "identities", "ttl", "user_data"];

async fn render(console: &Console, signed: &Signed, form: Option<&Form>, error: Option<ApiError>) -> Response {
    let list = match console.service.list_authorizers(&AuthorizerFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(l) => l,
        Err(e) => return layout::failed(e),
    };
    let functions = console.service.list_functions(&FunctionFilter::default(), &Paging::page(1, 500)).await.map(|p| p.items).unwrap_or_default();
    let can_write = signed.may("POST", "/authorizers");
    let value = |name: &str| form.and_then(|f| f.text(name)).unwrap_or_default();
    let on = |name: &str| field_error(error.as_ref(), name);
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Custom authorizers" }
        p.lead { "A function that decides. A frontend authorizer runs before an API with AUTHORIZER authentication and lets the call on or refuses it; a backend authorizer runs before the backend is called and adds what the backend needs." }
        @if list.items.is_empty() {
            p.empty { "No custom authorizers yet." @if functions.is_empty() { " Write the deciding function first, on the Functions page." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Side" } th { "Function" } th { "Identity sources" } th { "Cached" } @if signed.may("DELETE", "/authorizers") { th { span.visually-hidden { "Actions" } } } } }
                tbody {
                    @for a in &list.items {
                        tr {
                            td { (a.name) }
                            td { (a.kind.as_str().to_ascii_lowercase()) }
                            td { code { (a.authorizer_alias_uri.as_deref().unwrap_or(&a.authorizer_uri)) } }
                            td { @for (i, id) in a.identities.iter().enumerate() { @if i > 0 { ", " } (id.location.as_str().to_ascii_lowercase()) " " code { (id.name) } } }
                            td { @if a.ttl == 0 { "no" } @else { (a.ttl) " s" } }
                            @if signed.may("DELETE", "/authorizers") { td { a.danger href=(format!("{CURRENT}/{}/delete", a.id)) { "Delete" } } }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-authorizer" {
                h2 id="new-authorizer" { "New authorizer" }
                @if let Some(e) = form_error(error.as_ref(), FIELDS) { p.error role="alert" { (e) } }
                form method="post" action=(CURRENT) {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    label for="au-name" { "Name" }
                    input id="au-name" name="name" value=(value("name")) aria-invalid=[on("name").map(|_| "true")];
                    @if let Some(e) = on("name") { p.error role="alert" { (e) } }
                    label for="au-type" { "Side" }
                    select id="au-type" name="type" {
                        option value="FRONTEND" selected[value("type") != "BACKEND"] { "frontend: decides whether callers may call" }
                        option value="BACKEND" selected[value("type") == "BACKEND"] { "backend: adds credentials for the backend" }
                    }
                    label for="au-uri" { "Function" }
                    select id="au-uri" name="authorizer_uri" aria-invalid=[on("authorizer_uri").map(|_| "true")] {
                        @for f in &functions { option value=(f.urn) selected[value("authorizer_uri") == f.urn] { (f.function.name) " (" (f.urn) ")" } }
                    }
                    @if let Some(e) = on("authorizer_uri") { p.error role="alert" { (e) } }
                    label for="au-identity" { "Identity source header" }
                    input id="au-identity" name="identity_header" value=(value("identity_header")) placeholder="Authorization";
                    small { "The request must carry this header; left empty: none is required." }
                    label for="au-ttl" { "Cache answers for (seconds)" }
                    input id="au-ttl" name="ttl" inputmode="numeric" value=(form.map_or("0".into(), |_| value("ttl"))) aria-invalid=[on("ttl").map(|_| "true")];
                    @if let Some(e) = on("ttl") { p.error role="alert" { (e) } }
                    label.check { input type="checkbox" name="need_body" value="1" checked[value("need_body") == "1"]; " The function gets the request body" }
                    button type="submit" { "Create authorizer" }
                }
            }
        }
    };
    (status, page(signed, "Custom authorizers", CURRENT, body)).into_response()
}

/// `GET /console/authorizers`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, None, None).await
}

/// `POST /console/authorizers`.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/authorizers") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let identities = form.text("identity_header").map(|h| vec![IdentityInput { name: Some(h), location: Some("HEADER".into()), validation: None }]);
    let input = AuthorizerInput {
        name: form.text("name"),
        kind: form.text("type"),
        authorizer_type: Some("FUNC".into()),
        authorizer_uri: form.text("authorizer_uri"),
        network_type: Some("V2".into()),
        identities,
        ttl: form.text("ttl").map(|t| t.parse().unwrap_or(-1)),
        need_body: Some(form.text("need_body").as_deref() == Some("1")),
        ..Default::default()
    };
    let outcome = console.service.create_authorizer(input).await;
    let id = outcome.as_ref().map(|a| a.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", CURRENT, "authorizers", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => Redirect::to(CURRENT).into_response(),
        Err(e) => render(&console, &signed, Some(&form), Some(e)).await,
    }
}

/// `GET /console/authorizers/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/authorizers") {
        return forbidden();
    }
    let a = match console.service.get_authorizer(&id).await {
        Ok(a) => a,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete authorizer",
            question: &format!("Delete the authorizer {}?", a.name),
            warning: "An authorizer that APIs use cannot be deleted: change their authentication first.",
            action: &format!("{CURRENT}/{id}/delete"),
            fields: &[],
            button: "Delete authorizer",
            cancel: CURRENT,
        },
        CURRENT,
    )
}

/// `POST /console/authorizers/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/authorizers") {
        return denied.into_response();
    }
    let outcome = console.service.delete_authorizer(&id).await;
    console.audit(&signed, "DELETE", &format!("{CURRENT}/{id}"), "authorizers", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(CURRENT).into_response(),
        Err(e) => layout::not_done(&signed, "The authorizer was not deleted", &e, CURRENT, "Back", CURRENT),
    }
}
