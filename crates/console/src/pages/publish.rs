//! Publishing from an API's page: publish the draft to an environment with
//! a remark, take it offline there (after a confirmation), make an earlier
//! version effective again; and debugging it (a request through the
//! pipeline, the draft or the published version, with what the gateway did).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::DebugInput;
use causeway_model::publish::{PublishInput, SwitchVersionInput};
use maud::html;

use super::layout::{self, page};
use crate::forms;
use crate::{Console, Signed, forbidden};

/// The outcome of a change on an API's page: back to it, or the error.
async fn done(console: &Console, signed: &Signed, api_id: &str, what: &str, kind_path: &str, outcome: causeway_model::Result<()>) -> Response {
    console.audit(signed, "POST", kind_path, "apis", api_id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/apis/{api_id}")).into_response(),
        Err(e) => layout::not_done(signed, &format!("{what} did not happen"), &e, &format!("/console/apis/{api_id}"), "Back to the API", "/console/apis"),
    }
}

/// `POST /console/apis/{id}/publish` (`env_id`, `remark`).
pub async fn publish(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/apis/publish") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.publish(&id, PublishInput { env_id: form.text("env_id"), remark: form.text("remark") }).await.map(|_| ());
    done(&console, &signed, &id, "Publishing", &format!("/console/apis/{id}/publish"), outcome).await
}

/// `GET /console/apis/{id}/offline?env_id=`: asks first.
pub async fn confirm_offline(State(console): State<Console>, signed: Signed, Path(id): Path<String>, crate::QueryMap(q): crate::QueryMap) -> Response {
    if !signed.may("DELETE", "/apis/publish") {
        return forbidden();
    }
    let env_id = q.get("env_id").cloned().unwrap_or_default();
    let api = match console.service.get_api(&id).await {
        Ok(a) => a,
        Err(e) => return layout::failed(e),
    };
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Take offline",
            question: &format!("Take {} offline?", api.api.name),
            warning: "Callers get 404 from this environment at once. Its versions stay in the history.",
            action: &format!("/console/apis/{id}/offline"),
            fields: &[("env_id", &env_id)],
            button: "Take offline",
            cancel: &format!("/console/apis/{id}"),
        },
        "/console/apis",
    )
}

/// `POST /console/apis/{id}/offline` (`env_id`).
pub async fn offline(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/apis/publish") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.offline(&id, form.text("env_id")).await;
    done(&console, &signed, &id, "Taking offline", &format!("/console/apis/{id}/offline"), outcome).await
}

/// `POST /console/apis/{id}/switch` (`version_id`): that version becomes effective in its environment.
pub async fn switch(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "PUT", "/apis/publish") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.switch_version(&id, SwitchVersionInput { version_id: form.text("version_id") }).await.map(|_| ());
    done(&console, &signed, &id, "Switching the version", &format!("/console/apis/{id}/switch"), outcome).await
}

/// `POST /console/apis/{id}/debug`: `mode`, `stage`, `method`, `path`,
/// `query` (`a=1&b=2`), `headers` (one `Name: value` per line), `body`.
pub async fn debug(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/apis/debug") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let mut query = serde_json::Map::new();
    for (k, v) in form_urlencoded::parse(form.text("query").unwrap_or_default().as_bytes()) {
        let list = query.entry(k.into_owned()).or_insert_with(|| serde_json::Value::Array(vec![]));
        if let serde_json::Value::Array(values) = list {
            values.push(serde_json::Value::String(v.into_owned()));
        }
    }
    let mut header_map = serde_json::Map::new();
    for line in form.text("headers").unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').unwrap_or((line, ""));
        let list = header_map.entry(k.trim().to_string()).or_insert_with(|| serde_json::Value::Array(vec![]));
        if let serde_json::Value::Array(values) = list {
            values.push(serde_json::Value::String(v.trim().to_string()));
        }
    }
    let input = DebugInput {
        mode: form.text("mode"),
        scheme: form.text("scheme").or(Some("HTTP".into())),
        method: form.text("method"),
        path: form.text("path"),
        query: Some(query),
        header: Some(header_map),
        body: form.text("body"),
        stage: form.text("stage"),
        app_key: form.text("app_key"),
        app_secret: form.text("app_secret"),
    };
    let outcome = console.service.debug_api(&id, input).await;
    console.audit(&signed, "POST", &format!("/console/apis/{id}/debug"), "apis", &id, outcome.as_ref().map(|_| ())).await;
    let body = match outcome {
        Ok(d) => html! {
            p { a href=(format!("/console/apis/{id}")) { "‹ Back to the API" } }
            h1 { "Debug answer" }
            p { "Answered in " (d.latency) " ms." }
            h2 { "What the gateway did" }
            pre.log { (d.log) }
            h2 { "Request to the gateway" }
            pre #debug-request { (d.request) }
            @if let Some(sent) = backend_request(&d.log) {
                h2 { "Request the backend received" }
                pre #debug-backend { (sent) }
            }
            h2 { "Response" }
            pre #debug-response { (d.response) }
        },
        Err(e) => html! {
            p { a href=(format!("/console/apis/{id}")) { "‹ Back to the API" } }
            h1 { "The request was not sent" }
            p.error role="alert" { (e.message) " (" (e.code) ")" }
        },
    };
    page(&signed, "Debug", "/console/apis", body).into_response()
}

/// The request the gateway sent to the HTTP backend, from the debug log
/// (its `backend request` line and the header lines under it).
fn backend_request(log: &str) -> Option<String> {
    let mut lines = log.lines().skip_while(|l| !l.starts_with("backend request"));
    let first = lines.next()?;
    let head = first.split_once("): ").map_or(first, |(_, rest)| rest);
    let headers = lines.take_while(|l| l.starts_with("  ")).map(str::trim);
    Some(std::iter::once(head).chain(headers).collect::<Vec<_>>().join("\n"))
}
