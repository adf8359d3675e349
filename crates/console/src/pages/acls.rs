//! Access-control policies: allow or block lists of client addresses; the
//! list and a new policy (errors on their field); a policy's page with its
//! addresses and the published APIs it is bound to (bind, unbind); delete
//! after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{AclFilter, Paging};
use causeway_model::ApiError;
use causeway_model::acl::{AclBindingInput, AclInput};
use maud::html;

use super::bindings::{self, Bound, Free};
use super::layout::{self, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

const CURRENT: &str = "/console/acls";
const FIELDS: &[&str] = &["acl_name", "acl_type", "entity_type", "acl_value"];

async fn render(console: &Console, signed: &Signed, form: Option<&Form>, error: Option<ApiError>) -> Response {
    let list = match console.service.list_acls(&AclFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(l) => l,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/acls");
    let value = |name: &str| form.and_then(|f| f.text(name)).unwrap_or_default();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Access control" }
        (layout::policy_tabs("/console/acls"))
        p.lead { "An allow list (PERMIT) lets only these addresses call the APIs it is bound to; a block list (DENY) refuses them. Addresses, CIDR blocks and ranges, IPv4 or IPv6." }
        @if list.items.is_empty() {
            p.empty { "No access-control policies yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Type" } th { "Addresses" } th { "Bound APIs" } } }
                tbody {
                    @for a in &list.items {
                        tr {
                            td { a href=(format!("{CURRENT}/{}", a.acl.id)) { (a.acl.acl_name) } }
                            td { (a.acl.acl_type.as_str()) }
                            td { code { (a.acl.acl_value.replace(',', ", ")) } }
                            td { (a.bind_num) }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-acl" {
                h2 id="new-acl" { "New policy" }
                @if let Some(e) = form_error(error.as_ref(), FIELDS) { p.error role="alert" { (e) } }
                form method="post" action=(CURRENT) {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    @let name_error = field_error(error.as_ref(), "acl_name");
                    label for="acl-name" { "Name" }
                    input id="acl-name" name="acl_name" value=(value("acl_name")) aria-invalid=[name_error.map(|_| "true")];
                    @if let Some(e) = name_error { p.error role="alert" { (e) } }
                    label for="acl-type" { "Type" }
                    select id="acl-type" name="acl_type" {
                        option value="PERMIT" selected[value("acl_type") == "PERMIT"] { "allow list (PERMIT)" }
                        option value="DENY" selected[value("acl_type") == "DENY"] { "block list (DENY)" }
                    }
                    input type="hidden" name="entity_type" value="IP";
                    @let value_error = field_error(error.as_ref(), "acl_value");
                    label for="acl-value" { "Addresses" }
                    textarea id="acl-value" name="acl_value" rows="3" placeholder="192.168.1.0/24, 10.0.0.1-10.0.0.9, 2001:db8::1" aria-invalid=[value_error.map(|_| "true")] { (value("acl_value")) }
                    small { "Separated by commas or lines; at most 100." }
                    @if let Some(e) = value_error { p.error role="alert" { (e) } }
                    button type="submit" { "Create policy" }
                }
            }
        }
    };
    (status, page(signed, "Access control", CURRENT, body)).into_response()
}

/// Lines or commas, as the management API's comma list.
fn values(form: &Form) -> Option<String> {
    form.text("acl_value").map(|v| v.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(","))
}

/// `GET /console/acls`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, None, None).await
}

/// `POST /console/acls`.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/acls") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = AclInput { acl_name: form.text("acl_name"), acl_type: form.text("acl_type"), entity_type: form.text("entity_type"), acl_value: values(&form) };
    let outcome = console.service.create_acl(input).await;
    let id = outcome.as_ref().map(|a| a.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", CURRENT, "acls", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(a) => Redirect::to(&format!("{CURRENT}/{}", a.id)).into_response(),
        Err(e) => render(&console, &signed, Some(&form), Some(e)).await,
    }
}

/// `GET /console/acls/{id}`: the policy and its bindings.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    let view = match console.service.get_acl(&id).await {
        Ok(v) => v,
        Err(e) => return layout::failed(e),
    };
    let filter = AclFilter { acl_id: Some(id.clone()), paging: Paging::page(1, 500), ..Default::default() };
    let (bound, free) = match (console.service.acl_bound_apis(&filter).await, console.service.acl_unbound_apis(&filter).await) {
        (Ok(b), Ok(f)) => (b.items, f.items),
        (Err(e), _) | (_, Err(e)) => return layout::failed(e),
    };
    let bound: Vec<Bound> = bound
        .into_iter()
        .map(|b| Bound { id: b.id, api_id: b.api_id, api_name: b.api_name, request: format!("{} {}", b.req_method.as_str(), b.req_uri), group: b.group_name, env: b.env_name })
        .collect();
    let free: Vec<Free> = free
        .into_iter()
        .map(|f| Free { publish_id: f.publish_id, api_name: f.api_name, request: format!("{} {}", f.req_method.as_str(), f.req_uri), group: f.group_name, env: f.env_name })
        .collect();
    let a = &view.acl;
    let base = format!("{CURRENT}/{id}");
    let body = html! {
        p { a href=(CURRENT) { "‹ Access control" } }
        h1 { (a.acl_name) }
        dl {
            dt { "Type" } dd { @if a.acl_type.as_str() == "PERMIT" { "allow list: only these addresses may call" } @else { "block list: these addresses are refused" } }
            dt { "Addresses" } dd { code { (a.acl_value.replace(',', ", ")) } }
        }
        (bindings::section(&signed, &base, &bound, &free, signed.may("POST", "/acl-bindings")))
        @if signed.may("DELETE", "/acls") { p { a.danger href=(format!("{base}/delete")) { "Delete the policy" } } }
    };
    page(&signed, &a.acl_name, CURRENT, body).into_response()
}

/// `POST /console/acls/{id}/bind` (`publish_id` repeated).
pub async fn bind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/acl-bindings") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.bind_acl(AclBindingInput { acl_id: Some(id.clone()), publish_ids: Some(form.all("publish_id")) }).await.map(|_| ());
    done(&console, &signed, &id, "bind", outcome).await
}

/// `POST /console/acls/{id}/unbind` (`binding_id`).
pub async fn unbind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/acl-bindings") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.unbind_acl(&form.text("binding_id").unwrap_or_default()).await;
    done(&console, &signed, &id, "unbind", outcome).await
}

async fn done(console: &Console, signed: &Signed, id: &str, what: &str, outcome: causeway_model::Result<()>) -> Response {
    console.audit(signed, "POST", &format!("{CURRENT}/{id}/{what}"), "acl-bindings", id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("{CURRENT}/{id}")).into_response(),
        Err(e) => layout::not_done(signed, "The bindings did not change", &e, &format!("{CURRENT}/{id}"), "Back to the policy", CURRENT),
    }
}

/// `GET /console/acls/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/acls") {
        return forbidden();
    }
    let view = match console.service.get_acl(&id).await {
        Ok(v) => v,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete policy",
            question: &format!("Delete the access-control policy {}?", view.acl.acl_name),
            warning: "The APIs bound to it no longer check callers' addresses against it.",
            action: &format!("{CURRENT}/{id}/delete"),
            fields: &[],
            button: "Delete policy",
            cancel: &format!("{CURRENT}/{id}"),
        },
        CURRENT,
    )
}

/// `POST /console/acls/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/acls") {
        return denied.into_response();
    }
    let outcome = console.service.delete_acl(&id).await;
    console.audit(&signed, "DELETE", &format!("{CURRENT}/{id}"), "acls", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(CURRENT).into_response(),
        Err(e) => layout::not_done(&signed, "The policy was not deleted", &e, &format!("{CURRENT}/{id}"), "Back", CURRENT),
    }
}
