//! Signature keys: bound to published APIs, they make the gateway sign the
//! requests it sends to those backends (HMAC) or send Basic credentials, so
//! backends can tell the gateway's requests apart. The list and a new key
//! (key and secret generated when left empty); a key's page with its
//! bindings; delete after a confirmation. The secret is shown on request.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{Paging, SignFilter};
use causeway_model::ApiError;
use causeway_model::sign_key::{SignBindingInput, SignKey, SignKeyInput};
use maud::html;

use super::bindings::{self, Bound, Free};
use super::layout::{self, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, QueryMap, Signed, forbidden};

const CURRENT: &str = "/console/signs";
const FIELDS: &[&str] = &["name", "sign_type", "sign_key", "sign_secret"];

async fn render(console: &Console, signed: &Signed, form: Option<&Form>, error: Option<ApiError>) -> Response {
    let list = match console.service.list_sign_keys(&SignFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(l) => l,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/signs");
    let value = |name: &str| form.and_then(|f| f.text(name)).unwrap_or_default();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Signature keys" }
        (layout::policy_tabs("/console/signs"))
        p.lead { "Bound to a published API, a key makes the gateway sign every request it sends to that API's backend (hmac) or send Basic credentials (basic): the backend can verify the request came through the gateway." }
        @if list.items.is_empty() {
            p.empty { "No signature keys yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Type" } th { "Key" } th { "Created" } } }
                tbody {
                    @for k in &list.items {
                        tr {
                            td { a href=(format!("{CURRENT}/{}", k.id)) { (k.name) } }
                            td { (k.sign_type.as_str()) }
                            td { code { (k.sign_key) } }
                            td { (k.create_time.replace('T', " ").trim_end_matches('Z')) }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-sign" {
                h2 id="new-sign" { "New key" }
                @if let Some(e) = form_error(error.as_ref(), FIELDS) { p.error role="alert" { (e) } }
                form method="post" action=(CURRENT) {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    @for (name, label, help) in [("name", "Name", ""), ("sign_key", "Key", "Left empty: generated."), ("sign_secret", "Secret", "Left empty: generated.")] {
                        @let error_here = field_error(error.as_ref(), name);
                        label for=(format!("sign-{name}")) { (label) }
                        input id=(format!("sign-{name}")) name=(name) value=(if name == "sign_secret" { String::new() } else { value(name) })
                            type=(if name == "sign_secret" { "password" } else { "text" }) autocomplete="off" aria-invalid=[error_here.map(|_| "true")];
                        @if !help.is_empty() { small { (help) } }
                        @if let Some(e) = error_here { p.error role="alert" { (e) } }
                    }
                    label for="sign-sign_type" { "Type" }
                    select id="sign-sign_type" name="sign_type" {
                        option value="hmac" selected[value("sign_type") != "basic"] { "hmac (SDK-HMAC-SHA256 signature)" }
                        option value="basic" selected[value("sign_type") == "basic"] { "basic (Basic credentials)" }
                    }
                    button type="submit" { "Create key" }
                }
            }
        }
    };
    (status, page(signed, "Signature keys", CURRENT, body)).into_response()
}

/// `GET /console/signs`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, None, None).await
}

/// `POST /console/signs`.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/signs") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = SignKeyInput { name: form.text("name"), sign_type: form.text("sign_type"), sign_key: form.text("sign_key"), sign_secret: form.text("sign_secret") };
    let outcome = console.service.create_sign_key(input).await;
    let id = outcome.as_ref().map(|k| k.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", CURRENT, "signs", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(k) => Redirect::to(&format!("{CURRENT}/{}", k.id)).into_response(),
        Err(e) => render(&console, &signed, Some(&form), Some(e)).await,
    }
}

async fn load(console: &Console, id: &str) -> causeway_model::Result<SignKey> {
    let found = console.service.list_sign_keys(&SignFilter { id: Some(id.to_string()), paging: Paging::page(1, 1), ..Default::default() }).await?;
    found.items.into_iter().next().ok_or_else(|| ApiError::new(causeway_model::error::codes::SIGN_KEY_NOT_FOUND))
}

/// `GET /console/signs/{id}?show_secret=1`: the key and its bindings.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>, QueryMap(q): QueryMap) -> Response {
    let key = match load(&console, &id).await {
        Ok(k) => k,
        Err(e) => return layout::failed(e),
    };
    let filter = SignFilter { sign_id: Some(id.clone()), paging: Paging::page(1, 500), ..Default::default() };
    let (bound, free) = match (console.service.sign_bound_apis(&filter).await, console.service.sign_unbound_apis(&filter).await) {
        (Ok(b), Ok(f)) => (b.items, f.items),
        (Err(e), _) | (_, Err(e)) => return layout::failed(e),
    };
    let bound: Vec<Bound> =
        bound.into_iter().map(|b| Bound { id: b.id, api_id: b.api_id, api_name: b.api_name, request: String::new(), group: b.group_name, env: b.env_name }).collect();
    let free: Vec<Free> = free
        .into_iter()
        .map(|f| Free { publish_id: f.publish_id, api_name: f.name, request: format!("{} {}", f.req_method.as_str(), f.req_uri), group: f.group_name, env: f.run_env_name })
        .collect();
    // Whoever may change keys may see the secret.
    let show_secret = q.contains_key("show_secret") && signed.may("PUT", "/signs");
    let base = format!("{CURRENT}/{id}");
    let body = html! {
        p { a href=(CURRENT) { "‹ Signature keys" } }
        h1 { (key.name) }
        dl {
            dt { "Type" } dd { (key.sign_type.as_str()) }
            dt { "Key" } dd { code { (key.sign_key) } }
            dt { "Secret" }
            dd {
                @if show_secret { code { (key.sign_secret) } }
                @else if signed.may("PUT", "/signs") { a href=(format!("{base}?show_secret=1")) { "Show the secret" } }
                @else { span.muted { "hidden" } }
            }
        }
        (bindings::section(&signed, &base, &bound, &free, signed.may("POST", "/sign-bindings")))
        @if signed.may("DELETE", "/signs") { p { a.danger href=(format!("{base}/delete")) { "Delete the key" } } }
    };
    page(&signed, &key.name, CURRENT, body).into_response()
}

/// `POST /console/signs/{id}/bind` (`publish_id` repeated).
pub async fn bind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/sign-bindings") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.bind_sign_key(SignBindingInput { sign_id: Some(id.clone()), publish_ids: Some(form.all("publish_id")) }).await.map(|_| ());
    done(&console, &signed, &id, "bind", outcome).await
}

/// `POST /console/signs/{id}/unbind` (`binding_id`).
pub async fn unbind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/sign-bindings") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.unbind_sign_key(&form.text("binding_id").unwrap_or_default()).await;
    done(&console, &signed, &id, "unbind", outcome).await
}

async fn done(console: &Console, signed: &Signed, id: &str, what: &str, outcome: causeway_model::Result<()>) -> Response {
    console.audit(signed, "POST", &format!("{CURRENT}/{id}/{what}"), "sign-bindings", id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("{CURRENT}/{id}")).into_response(),
        Err(e) => layout::not_done(signed, "The bindings did not change", &e, &format!("{CURRENT}/{id}"), "Back to the key", CURRENT),
    }
}

/// `GET /console/signs/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/signs") {
        return forbidden();
    }
    let key = match load(&console, &id).await {
        Ok(k) => k,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete key",
            question: &format!("Delete the signature key {}?", key.name),
            warning: "A key bound to APIs cannot be deleted: unbind it first.",
            action: &format!("{CURRENT}/{id}/delete"),
            fields: &[],
            button: "Delete key",
            cancel: &format!("{CURRENT}/{id}"),
        },
        CURRENT,
    )
}

/// `POST /console/signs/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/signs") {
        return denied.into_response();
    }
    let outcome = console.service.delete_sign_key(&id).await;
    console.audit(&signed, "DELETE", &format!("{CURRENT}/{id}"), "signs", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(CURRENT).into_response(),
        Err(e) => layout::not_done(&signed, "The key was not deleted", &e, &format!("{CURRENT}/{id}"), "Back", CURRENT),
    }
}
