//! Throttling policies: the list (limits, interval, how many APIs each is
//! bound to), creating one (errors on their field), a policy's page with
//! its special limits for chosen apps or users and the published APIs it is
//! bound to (bind, unbind), and deleting one after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{AppFilter, Paging, ThrottleFilter};
use causeway_model::ApiError;
use causeway_model::throttle::{ThrottleBindingInput, ThrottleInput, ThrottleSpecialInput};
use maud::html;

use super::bindings::{self, Bound, Free};
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
        (layout::policy_tabs("/console/throttles"))
        p.lead { "A policy caps calls per interval: for an API, and for each user, app or caller address. Open a policy to bind it to published APIs and to give chosen apps or users limits of their own." }
        @if list.items.is_empty() {
            p.empty { "No throttling policies yet." }
        } @else {
            table {
                thead { tr { th { "Name" } th { "API" } th { "User" } th { "App" } th { "Address" } th { "Per" } th { "Bound APIs" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                tbody {
                    @for t in &list.items {
                        @let th = &t.throttle;
                        tr {
                            td { a href=(format!("/console/throttles/{}", th.id)) { (th.name) } }
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

/// `GET /console/throttles/{id}`: the policy, its special limits and its bindings.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    show(&console, &signed, &id, None).await
}

async fn show(console: &Console, signed: &Signed, id: &str, error: Option<ApiError>) -> Response {
    let view = match console.service.get_throttle(id).await {
        Ok(t) => t,
        Err(e) => return layout::failed(e),
    };
    let filter = ThrottleFilter { throttle_id: Some(id.to_string()), paging: Paging::page(1, 500), ..Default::default() };
    let (bound, free, specials) = match (
        console.service.throttle_bound_apis(&filter).await,
        console.service.throttle_unbound_apis(&filter).await,
        console.service.list_throttle_specials(id, None, &Paging::page(1, 500)).await,
    ) {
        (Ok(b), Ok(f), Ok(s)) => (b.items, f.items, s.items),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return layout::failed(e),
    };
    let apps = console.service.list_apps(&AppFilter { paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let row = |b: &causeway_admin::service::ThrottledApi| (format!("{} {}", b.req_method.as_str(), b.req_uri), b.group_name.clone(), b.env_name.clone());
    let bound: Vec<Bound> = bound
        .iter()
        .map(|b| {
            let (request, group, env) = row(b);
            Bound { id: b.throttle_apply_id.clone().unwrap_or_default(), api_id: b.api_id.clone(), api_name: b.api_name.clone(), request, group, env }
        })
        .collect();
    let free: Vec<Free> = free
        .iter()
        .map(|f| {
            let (request, group, env) = row(f);
            Free { publish_id: f.publish_id.clone(), api_name: f.api_name.clone(), request, group, env }
        })
        .collect();
    let th = &view.throttle;
    let base = format!("/console/throttles/{id}");
    let can_write = signed.may("POST", "/throttle-specials");
    let csrf = &signed.session.csrf;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p { a href="/console/throttles" { "‹ Throttling" } }
        h1 { (th.name) }
        dl {
            dt { "Calls to an API" } dd { (th.api_call_limits) " per " (th.time_interval) " " (th.time_unit.as_str().to_ascii_lowercase()) }
            dt { "Per user" } dd { (th.user_call_limits.map(|v| v.to_string()).unwrap_or_else(|| "no limit".into())) }
            dt { "Per app" } dd { (th.app_call_limits.map(|v| v.to_string()).unwrap_or_else(|| "no limit".into())) }
            dt { "Per address" } dd { (th.ip_call_limits.map(|v| v.to_string()).unwrap_or_else(|| "no limit".into())) }
        }
        section.card.wide aria-labelledby="specials" {
            h2 id="specials" { "Special limits" }
            p.lead { "An app or a user with a limit of its own, instead of the policy's per-app or per-user limit." }
            @if let Some(e) = &error { p.error role="alert" { (e.message) " (" (e.code) ")" } }
            @if specials.is_empty() { p.muted { "None." } } @else {
                table {
                    thead { tr { th { "For" } th { "Who" } th { "Calls" } @if can_write { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for sp in &specials {
                            tr {
                                td { (sp.instance_type.as_str()) }
                                td { (sp.instance_name) }
                                td { (sp.call_limits) }
                                @if can_write { td { a.danger href=(format!("{base}/specials/{}/delete", sp.id)) aria-label=(format!("Remove the limit of {}", sp.instance_name)) { "Remove" } } }
                            }
                        }
                    }
                }
            }
            @if can_write {
                form.inline method="post" action=(format!("{base}/specials")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field {
                        label for="special-app" { "App" }
                        select id="special-app" name="instance_id" { @for a in &apps { option value=(a.app.id) { (a.app.name) } } }
                    }
                    input type="hidden" name="instance_type" value="APP";
                    div.field { label for="special-limit" { "Calls" } input id="special-limit" name="call_limits" inputmode="numeric"; }
                    button type="submit" { "Add the limit" }
                }
            }
        }
        (bindings::section(signed, &base, &bound, &free, signed.may("POST", "/throttle-bindings")))
        @if signed.may("DELETE", "/throttles") { p { a.danger href=(format!("{base}/delete")) { "Delete the policy" } } }
    };
    (status, page(signed, &th.name, "/console/throttles", body)).into_response()
}

/// `POST /console/throttles/{id}/bind` (`publish_id` repeated).
pub async fn bind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/throttle-bindings") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.bind_throttle(ThrottleBindingInput { strategy_id: Some(id.clone()), publish_ids: Some(form.all("publish_id")) }).await.map(|_| ());
    changed(&console, &signed, &id, "bind", outcome).await
}

/// `POST /console/throttles/{id}/unbind` (`binding_id`).
pub async fn unbind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/throttle-bindings") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.unbind_throttle(&form.text("binding_id").unwrap_or_default()).await;
    changed(&console, &signed, &id, "unbind", outcome).await
}

/// `POST /console/throttles/{id}/specials` (`instance_id`, `instance_type`, `call_limits`).
pub async fn add_special(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/throttle-specials") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = ThrottleSpecialInput {
        strategy_id: Some(id.clone()),
        instance_id: form.text("instance_id"),
        instance_type: form.text("instance_type"),
        call_limits: form.text("call_limits").map(|v| v.parse().unwrap_or(-1)),
    };
    let outcome = console.service.create_throttle_special(input).await.map(|_| ());
    changed(&console, &signed, &id, "specials", outcome).await
}

/// `GET /console/throttles/{id}/specials/{special}/delete`: asks first.
pub async fn confirm_delete_special(State(console): State<Console>, signed: Signed, Path((id, special)): Path<(String, String)>) -> Response {
    if !signed.may("DELETE", "/throttle-specials") {
        return forbidden();
    }
    let specials = match console.service.list_throttle_specials(&id, None, &Paging::page(1, 500)).await {
        Ok(s) => s.items,
        Err(e) => return layout::failed(e),
    };
    let Some(sp) = specials.into_iter().find(|s| s.id == special) else { return layout::not_found().await };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Remove the special limit",
            question: &format!("Remove the limit of {} ({} calls)?", sp.instance_name, sp.call_limits),
            warning: "From then on the policy's own per-app or per-user limit applies to it.",
            action: &format!("/console/throttles/{id}/specials/{special}/delete"),
            fields: &[],
            button: "Remove the limit",
            cancel: &format!("/console/throttles/{id}"),
        },
        "/console/throttles",
    )
}

/// `POST /console/throttles/{id}/specials/{special}/delete`.
pub async fn delete_special(
    State(console): State<Console>,
    signed: Signed,
    Path((id, special)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/throttle-specials") {
        return denied.into_response();
    }
    let outcome = console.service.delete_throttle_special(&special).await;
    changed(&console, &signed, &id, "specials/delete", outcome).await
}

async fn changed(console: &Console, signed: &Signed, id: &str, what: &str, outcome: causeway_model::Result<()>) -> Response {
    console.audit(signed, "POST", &format!("/console/throttles/{id}/{what}"), "throttles", id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/throttles/{id}")).into_response(),
        Err(e) => show(console, signed, id, Some(e)).await,
    }
}
