//! Groups: the list (searchable by name, paged), creating one (the service's
//! error shown on the field it names), and deleting one after a confirmation.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{GroupFilter, Paging};
use causeway_model::ApiError;
use causeway_model::group::GroupInput;
use maud::{Markup, html};

use super::layout::{self, field_error, form_error, page, pager};
use crate::forms;
use crate::{Console, QueryMap, Signed, forbidden};

const PAGE_SIZE: usize = 20;

/// What the create form was sent with, to show it again with the error.
#[derive(Default)]
struct Draft {
    name: String,
    remark: String,
}

/// `GET /console/groups?name=&page=`.
pub async fn list(State(console): State<Console>, signed: Signed, QueryMap(q): QueryMap) -> Response {
    render(&console, &signed, &q, Draft::default(), None).await
}

async fn render(console: &Console, signed: &Signed, q: &HashMap<String, String>, draft: Draft, error: Option<ApiError>) -> Response {
    let name = q.get("name").map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    let page_no = q.get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let filter = GroupFilter { name: name.clone(), paging: Paging::page(page_no, PAGE_SIZE), ..Default::default() };
    let groups = match console.service.list_groups(&filter).await {
        Ok(g) => g,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/api-groups");
    let base = match &name {
        Some(n) => format!("/console/groups?name={}", form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()),
        None => "/console/groups".to_string(),
    };
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "API groups" }
        p.lead { "A group holds APIs and is served at its own subdomain, and at the domains bound to it." }
        form.search role="search" method="get" action="/console/groups" {
            label for="search" { "Name contains" }
            input id="search" name="name" value=[name.as_deref()];
            button type="submit" { "Search" }
        }
        @if groups.items.is_empty() {
            p.empty { @if name.is_some() { "No group matches." } @else { "No groups yet. Create the first one below." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Subdomain" } th { "Description" } th { "Created" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                tbody {
                    @for g in &groups.items {
                        tr {
                            td { a href=(format!("/console/groups/{}", g.group.id)) { (g.group.name) } }
                            td { code { (g.group.sl_domain) } }
                            td { (g.group.remark.as_deref().unwrap_or("")) }
                            td { time datetime=(g.group.register_time) { (g.group.register_time.get(..10).unwrap_or_default()) } }
                            @if can_write {
                                td { @if g.group.is_default != 1 { a.danger href=(format!("/console/groups/{}/delete", g.group.id)) { "Delete" } } }
                            }
                        }
                    }
                }
            }
            (pager(&base, page_no, PAGE_SIZE, groups.total))
        }
        @if can_write { (create_form(signed, &draft, error.as_ref())) }
    };
    (status, page(signed, "API groups", "/console/groups", body)).into_response()
}

fn create_form(signed: &Signed, draft: &Draft, error: Option<&ApiError>) -> Markup {
    let name_error = field_error(error, "name");
    let remark_error = field_error(error, "remark");
    html! {
        section.card aria-labelledby="new-group" {
            h2 id="new-group" { "New group" }
            @if let Some(e) = form_error(error, &["name", "remark"]) { p.error role="alert" { (e) } }
            form method="post" action="/console/groups" {
                input type="hidden" name="csrf" value=(signed.session.csrf);
                label for="group-name" { "Name" }
                input id="group-name" name="name" value=(draft.name) required aria-invalid=[name_error.map(|_| "true")] aria-describedby="group-name-help";
                small id="group-name-help" { "3–64 letters, digits and _, starting with a letter." }
                @if let Some(e) = name_error { p.error role="alert" { (e) } }
                label for="group-remark" { "Description" }
                textarea id="group-remark" name="remark" rows="2" aria-invalid=[remark_error.map(|_| "true")] { (draft.remark) }
                @if let Some(e) = remark_error { p.error role="alert" { (e) } }
                button type="submit" { "Create group" }
            }
        }
    }
}

/// `POST /console/groups`: creates a group through the service layer.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let draft = Draft { name: form.text("name").unwrap_or_default(), remark: form.text("remark").unwrap_or_default() };
    let input = GroupInput { name: form.text("name"), remark: form.text("remark"), ..Default::default() };
    let outcome = console.service.create_group(input).await;
    let id = outcome.as_ref().map(|g| g.group.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/groups", "api-groups", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => Redirect::to("/console/groups").into_response(),
        Err(e) => render(&console, &signed, &HashMap::new(), draft, Some(e)).await,
    }
}

/// `GET /console/groups/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/api-groups") {
        return forbidden();
    }
    let group = match console.service.get_group(&id).await {
        Ok(g) => g,
        Err(e) => return layout::failed(e),
    };
    let name = &group.group.name;
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete group",
            question: &format!("Delete the group {name}?"),
            warning: "Its APIs must be deleted first. This cannot be undone.",
            action: &format!("/console/groups/{id}/delete"),
            fields: &[],
            button: "Delete group",
            cancel: "/console/groups",
        },
        "/console/groups",
    )
}

/// `POST /console/groups/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/api-groups") {
        return denied.into_response();
    }
    let outcome = console.service.delete_group(&id).await;
    console.audit(&signed, "DELETE", &format!("/console/groups/{id}"), "api-groups", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to("/console/groups").into_response(),
        Err(e) => layout::not_done(&signed, "The group was not deleted", &e, "/console/groups", "Back to the groups", "/console/groups"),
    }
}
