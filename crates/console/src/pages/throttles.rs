//! Throttling policies: the list (limits, interval, how many APIs each is
//! bound to), creating one (errors on their field) and deleting one after a
//! confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{Paging, ThrottleFilter};
use causeway_model::ApiError;
use causeway_model::throttle::ThrottleInput;
use maud::html;

use super::layout::{self, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

const FIELDS: &[&str] = &["name", "api_call_limits", "user_call_limits", "app_call_limits", "ip_call_limits", "time_interval", "time_unit", "remark"];

async fn render(console: &Console, signed: &Signed, form: Option<&Form>, error: Option<ApiError>) -> Response {
    let list = match console.service.list_throttles(&ThrottleFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(l) => l,
        Err(e) => return layout::failed(e),
    };
    let can_write = signed.may("POST", "/throttles");
    let value = |name: &str| form.and_then(|f| f.text(name)).unwrap_or_default();
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        h1 { "Throttling policies" }
        p.lead { "A policy caps calls per interval: for an API, and for each user, app or caller address. Bind it to published APIs through the management API." }
        @if list.items.is_empty() {
            p.empty { "No throttling policies yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "API" } th { "User" } th { "App" } th { "Address" } th { "Per" } th { "Bound APIs" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                tbody {
                    @for t in &list.items {
                        @let th = &t.throttle;
                        tr {
                            td { (th.name) }
                            td { (th.api_call_limits) }
                            td { (th.user_call_limits.map(|v| v.to_string()).unwrap_or_default()) }
                            td { (th.app_call_limits.map(|v| v.to_string()).unwrap_or_default()) }
                            td { (th.ip_call_limits.map(|v| v.to_string()).unwrap_or_default()) }
                            td { (th.time_interval) " " (th.time_unit.as_str().to_ascii_lowercase()) }
                            td { (t.bind_num) }
                            @if can_write { td { a.danger href=(format!("/console/throttles/{}/delete", th.id)) { "Delete" } } }
                        }
                    }
                }
            }
        }
        @if can_write {
            section.card aria-labelledby="new-throttle" {
                h2 id="new-throttle" { "New policy" }
                @if let Some(e) = form_error(error.as_ref(), FIELDS) { p.error role="alert" { (e) } }
                form method="post" action="/console/throttles" {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    @for (name, label) in [("name", "Name"), ("api_call_limits", "Calls to an API"), ("user_call_limits", "Calls per user"), ("app_call_limits", "Calls per app"), ("ip_call_limits", "Calls per address"), ("time_interval", "Interval")] {
                        @let error_here = field_error(error.as_ref(), name);
                        label for=(format!("t-{name}")) { (label) }
                        input id=(format!("t-{name}")) name=(name) value=(value(name)) aria-invalid=[error_here.map(|_| "true")];
                        @if let Some(e) = error_here { p.error role="alert" { (e) } }
                    }
                    label for="t-time_unit" { "Unit" }
                    select id="t-time_unit" name="time_unit" {
                        @for u in ["SECOND", "MINUTE", "HOUR", "DAY"] { option value=(u) selected[value("time_unit") == u] { (u.to_ascii_lowercase()) } }
                    }
                    button type="submit" { "Create policy" }
                }
            }
        }
    };
    (status, page(signed, "Throttling policies", "/console/throttles", body)).into_response()
}

/// `GET /console/throttles`.
pub async fn list(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, None, None).await
}

/// `POST /console/throttles`.
pub async fn create(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/throttles") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let int = |name: &str| form.text(name).and_then(|v| v.parse::<i64>().ok());
    // A number that does not parse is sent as -1, so the service names its field.
    let number = |name: &str| form.text(name).map(|_| int(name).unwrap_or(-1));
    let input = ThrottleInput {
        name: form.text("name"),
        api_call_limits: number("api_call_limits"),
        user_call_limits: number("user_call_limits"),
        app_call_limits: number("app_call_limits"),
        ip_call_limits: number("ip_call_limits"),
        time_interval: number("time_interval"),
        time_unit: form.text("time_unit"),
        kind: Some(1),
        remark: None,
        enable_adaptive_control: None,
    };
    let outcome = console.service.create_throttle(input).await;
    let id = outcome.as_ref().map(|t| t.throttle.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/throttles", "throttles", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => Redirect::to("/console/throttles").into_response(),
        Err(e) => render(&console, &signed, Some(&form), Some(e)).await,
    }
}

/// `GET /console/throttles/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/throttles") {
        return forbidden();
    }
    let t = match console.service.get_throttle(&id).await {
        Ok(t) => t,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete policy",
            question: &format!("Delete the throttling policy {}?", t.throttle.name),
            warning: "The APIs bound to it are no longer limited by it.",
            action: &format!("/console/throttles/{id}/delete"),
            fields: &[],
            button: "Delete policy",
            cancel: "/console/throttles",
        },
        "/console/throttles",
    )
}

/// `POST /console/throttles/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/throttles") {
        return denied.into_response();
    }
    let outcome = console.service.delete_throttle(&id).await;
    console.audit(&signed, "DELETE", &format!("/console/throttles/{id}"), "throttles", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to("/console/throttles").into_response(),
        Err(e) => layout::not_done(&signed, "The policy was not deleted", &e, "/console/throttles", "Back", "/console/throttles"),
    }
}
