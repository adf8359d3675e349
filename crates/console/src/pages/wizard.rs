//! Creating an API in the steps the cloud consoles use: (1) the frontend —
//! name, group, protocol, method, path, match mode, input parameters,
//! authentication, CORS; (2) the backend — HTTP (address, method, path,
//! timeout, parameter mapping), FUNCTION or MOCK; (3) the responses —
//! success and failure samples; (4) review, then create. The form is sent
//! whole at each step; "Review" checks it with the API's own rules and
//! shows it back, "Create" makes it through the service. An error is shown
//! on the field it names; `{params}` of the path become PATH parameters.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{GroupFilter, Paging};
use causeway_model::ApiError;
use causeway_model::api::input::{BackendApiInput, BackendParamInput, FuncInfoInput, MockInfoInput, ReqParamInput};
use causeway_model::api::{ApiInput, uri};
use maud::{Markup, html};

use super::layout::page;
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

/// Rows offered for input parameters and for the parameter mapping.
const ROWS: usize = 4;

/// The form's fields by name (what was sent, to fill the form again).
struct Fields(HashMap<String, String>);

impl Fields {
    fn from(form: &Form, names: &[String]) -> Self {
        Fields(names.iter().filter_map(|n| form.text(n).map(|v| (n.clone(), v))).collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    fn opt(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }

    fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(|v| v.parse().ok())
    }
}

/// Every field name the wizard sends.
fn field_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "group_id", "name", "remark", "req_protocol", "req_method", "req_uri", "match_mode", "auth_type", "cors", "backend_type", "url_domain",
        "backend_protocol", "backend_method", "backend_uri", "timeout", "function_urn", "invocation_type", "mock_status", "mock_content",
        "result_normal_sample", "result_failure_sample",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..ROWS {
        for f in ["param_name", "param_location", "param_type", "param_required", "map_name", "map_location", "map_origin", "map_value"] {
            names.push(format!("{f}_{i}"));
        }
    }
    names
}

/// The definition the fields describe.
fn input_of(f: &Fields) -> ApiInput {
    let mut params: Vec<ReqParamInput> = (0..ROWS)
        .filter_map(|i| {
            let name = f.opt(&format!("param_name_{i}"))?;
            Some(ReqParamInput {
                name: Some(name),
                location: f.opt(&format!("param_location_{i}")),
                param_type: f.opt(&format!("param_type_{i}")),
                required: Some(if f.get(&format!("param_required_{i}")) == "1" { 1 } else { 2 }),
                ..Default::default()
            })
        })
        .collect();
    // The path's `{params}` are PATH parameters, declared or not.
    let path = f.get("req_uri");
    if f.get("match_mode") != "REGEX"
        && let Ok(names) = uri::parse_req_uri("req_uri", path)
    {
        for n in names {
            if !params.iter().any(|p| p.name.as_deref() == Some(n.as_str()) && p.location.as_deref() == Some("PATH")) {
                params.push(ReqParamInput { name: Some(n), location: Some("PATH".into()), param_type: Some("STRING".into()), required: Some(1), ..Default::default() });
            }
        }
    }
    let mapping: Vec<BackendParamInput> = (0..ROWS)
        .filter_map(|i| {
            Some(BackendParamInput {
                name: Some(f.opt(&format!("map_name_{i}"))?),
                location: f.opt(&format!("map_location_{i}")),
                origin: f.opt(&format!("map_origin_{i}")),
                value: f.opt(&format!("map_value_{i}")),
                remark: None,
            })
        })
        .collect();
    let backend_type = f.opt("backend_type").unwrap_or_else(|| "HTTP".into());
    let mut input = ApiInput {
        group_id: f.opt("group_id"),
        name: f.opt("name"),
        api_type: Some(1),
        remark: f.opt("remark"),
        req_protocol: f.opt("req_protocol"),
        req_method: f.opt("req_method"),
        req_uri: f.opt("req_uri"),
        match_mode: f.opt("match_mode"),
        auth_type: f.opt("auth_type"),
        cors: Some(f.get("cors") == "1"),
        backend_type: Some(backend_type.clone()),
        req_params: Some(params),
        backend_params: Some(mapping),
        result_normal_sample: f.opt("result_normal_sample"),
        result_failure_sample: f.opt("result_failure_sample"),
        ..Default::default()
    };
    match backend_type.as_str() {
        "FUNCTION" => {
            input.func_info = Some(FuncInfoInput {
                function_urn: f.opt("function_urn"),
                invocation_type: f.opt("invocation_type"),
                timeout: f.int("timeout"),
                ..Default::default()
            })
        }
        "MOCK" => {
            input.mock_info = Some(MockInfoInput { status_code: f.int("mock_status"), result_content: f.opt("mock_content"), ..Default::default() })
        }
        _ => {
            input.backend_api = Some(BackendApiInput {
                url_domain: f.opt("url_domain"),
                req_protocol: f.opt("backend_protocol"),
                req_method: f.opt("backend_method"),
                req_uri: f.opt("backend_uri"),
                timeout: f.int("timeout"),
                vpc_status: Some(2),
                ..Default::default()
            })
        }
    }
    input
}

/// Which wizard field shows an error the service named (`backend_api.req_uri`
/// → `backend_uri`, `req_params[1].name` → the second filled row's name, …).
fn field_for(error: &ApiError, f: &Fields) -> Option<String> {
    let full = error.message.split("parameterName:").nth(1)?.split(' ').next()?.trim_end_matches('.');
    let (head, last) = (full.split('.').next()?, full.rsplit('.').next()?);
    // Rows are sent with gaps; the service numbers the filled ones.
    let row = |prefix: &str, name_field: &str| -> Option<String> {
        let j: usize = head.split_once('[')?.1.strip_suffix(']')?.parse().ok()?;
        let filled: Vec<usize> = (0..ROWS).filter(|i| !f.get(&format!("{name_field}_{i}")).is_empty()).collect();
        match filled.get(j) {
            Some(i) => Some(format!("{prefix}_{last}_{i}")),
            // A PATH parameter the path declared.
            None => Some("req_uri".into()),
        }
    };
    Some(match head {
        "backend_api" => match last {
            "req_uri" => "backend_uri".into(),
            "req_method" => "backend_method".into(),
            "req_protocol" => "backend_protocol".into(),
            other => other.into(),
        },
        "func_info" => last.into(),
        "mock_info" if last == "status_code" => "mock_status".into(),
        "mock_info" => "mock_content".into(),
        h if h.starts_with("req_params[") => row("param", "param_name")?,
        h if h.starts_with("backend_params[") => row("map", "map_name")?,
        other => other.into(),
    })
}

fn select(name: &str, label: &str, current: &str, options: &[(&str, &str)], error: Option<&str>) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            select id=(name) name=(name) aria-invalid=[error.map(|_| "true")] {
                @for (value, text) in options { option value=(value) selected[current == *value] { (text) } }
            }
            @if let Some(e) = error { p.error role="alert" { (e) } }
        }
    }
}

fn text(name: &str, label: &str, current: &str, help: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            input id=(name) name=(name) value=(current) aria-invalid=[error.map(|_| "true")];
            @if let Some(h) = help { small { (h) } }
            @if let Some(e) = error { p.error role="alert" { (e) } }
        }
    }
}

async fn render(console: &Console, signed: &Signed, f: &Fields, error: Option<&ApiError>, review: Option<&ApiInput>) -> Response {
    let groups = console.service.list_groups(&GroupFilter { paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let err_field = error.and_then(|e| field_for(e, f));
    let on = |name: &str| -> Option<&str> { (err_field.as_deref() == Some(name)).then(|| error.map(|e| e.message.as_str())).flatten() };
    let unplaced = error.filter(|_| err_field.as_deref().is_none_or(|n| !field_names().iter().any(|f| f == n))).map(|e| format!("{} ({})", e.message, e.code));
    let group_options: Vec<(&str, &str)> = groups.iter().map(|g| (g.group.id.as_str(), g.group.name.as_str())).collect();
    let methods = [("GET", "GET"), ("POST", "POST"), ("PUT", "PUT"), ("DELETE", "DELETE"), ("PATCH", "PATCH"), ("HEAD", "HEAD"), ("OPTIONS", "OPTIONS"), ("ANY", "ANY")];
    let csrf = &signed.session.csrf;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p { a href="/console/apis" { "‹ APIs" } }
        h1 { "New API" }
        @if let Some(e) = &unplaced { p.error role="alert" { (e) } }
        form method="post" action="/console/apis/new" {
            input type="hidden" name="csrf" value=(csrf);
            section.card.wide aria-labelledby="step1" {
                h2 id="step1" { "1 · Frontend" }
                div.row {
                    (select("group_id", "Group", f.get("group_id"), &group_options, on("group_id")))
                    (text("name", "Name", f.get("name"), Some("3–64 letters, digits and _, starting with a letter."), on("name")))
                }
                div.row {
                    (select("req_protocol", "Protocol", f.get("req_protocol"), &[("HTTPS", "HTTPS"), ("HTTP", "HTTP"), ("BOTH", "HTTP and HTTPS")], on("req_protocol")))
                    (select("req_method", "Method", f.get("req_method"), &methods, on("req_method")))
                    (select("match_mode", "Match", f.get("match_mode"), &[("NORMAL", "exact path"), ("SWA", "path prefix")], on("match_mode")))
                }
                (text("req_uri", "Path", f.get("req_uri"), Some("For example /orders/{id}: each {name} becomes a PATH parameter."), on("req_uri")))
                div.row {
                    (select("auth_type", "Authentication", f.get("auth_type"), &[("NONE", "none"), ("APP", "app (signature or AppCode)"), ("IAM", "IAM token")], on("auth_type")))
                    (select("cors", "CORS", f.get("cors"), &[("2", "off"), ("1", "on")], None))
                }
                (text("remark", "Description", f.get("remark"), None, on("remark")))
                h3 { "Input parameters" }
                @for i in 0..ROWS {
                    div.row {
                        (text(&format!("param_name_{i}"), "Name", f.get(&format!("param_name_{i}")), None, on(&format!("param_name_{i}"))))
                        (select(&format!("param_location_{i}"), "Where", f.get(&format!("param_location_{i}")), &[("QUERY", "query"), ("HEADER", "header"), ("PATH", "path")], on(&format!("param_location_{i}"))))
                        (select(&format!("param_type_{i}"), "Type", f.get(&format!("param_type_{i}")), &[("STRING", "string"), ("NUMBER", "number")], on(&format!("param_type_{i}"))))
                        (select(&format!("param_required_{i}"), "Required", f.get(&format!("param_required_{i}")), &[("2", "no"), ("1", "yes")], None))
                    }
                }
            }
            section.card.wide aria-labelledby="step2" {
                h2 id="step2" { "2 · Backend" }
                (select("backend_type", "Type", f.get("backend_type"), &[("HTTP", "HTTP service"), ("MOCK", "mock"), ("FUNCTION", "function")], on("backend_type")))
                fieldset {
                    legend { "HTTP service" }
                    div.row {
                        (text("url_domain", "Address", f.get("url_domain"), Some("host:port, e.g. 10.0.0.8:8080"), on("url_domain")))
                        (select("backend_protocol", "Protocol", f.get("backend_protocol"), &[("HTTP", "HTTP"), ("HTTPS", "HTTPS")], on("backend_protocol")))
                        (select("backend_method", "Method", f.get("backend_method"), &methods, on("backend_method")))
                    }
                    (text("backend_uri", "Path", f.get("backend_uri"), Some("{name} takes a PATH backend parameter."), on("backend_uri")))
                }
                fieldset {
                    legend { "Function" }
                    div.row {
                        (text("function_urn", "Function URN", f.get("function_urn"), None, on("function_urn")))
                        (select("invocation_type", "Invocation", f.get("invocation_type"), &[("sync", "wait for the answer"), ("async", "queue it")], on("invocation_type")))
                    }
                }
                fieldset {
                    legend { "Mock" }
                    div.row {
                        (text("mock_status", "Status", if f.get("mock_status").is_empty() { "200" } else { f.get("mock_status") }, None, on("mock_status")))
                        (text("mock_content", "Body", f.get("mock_content"), None, on("mock_content")))
                    }
                }
                (text("timeout", "Timeout (ms)", if f.get("timeout").is_empty() { "5000" } else { f.get("timeout") }, None, on("timeout")))
                h3 { "Parameter mapping" }
                @for i in 0..ROWS {
                    div.row {
                        (text(&format!("map_name_{i}"), "Backend parameter", f.get(&format!("map_name_{i}")), None, on(&format!("map_name_{i}"))))
                        (select(&format!("map_location_{i}"), "Where", f.get(&format!("map_location_{i}")), &[("QUERY", "query"), ("HEADER", "header"), ("PATH", "path")], on(&format!("map_location_{i}"))))
                        (select(&format!("map_origin_{i}"), "From", f.get(&format!("map_origin_{i}")), &[("REQUEST", "an input parameter"), ("CONSTANT", "a constant"), ("SYSTEM", "a system value")], on(&format!("map_origin_{i}"))))
                        (text(&format!("map_value_{i}"), "Value", f.get(&format!("map_value_{i}")), None, on(&format!("map_value_{i}"))))
                    }
                }
            }
            section.card.wide aria-labelledby="step3" {
                h2 id="step3" { "3 · Responses" }
                (text("result_normal_sample", "Success sample", f.get("result_normal_sample"), None, on("result_normal_sample")))
                (text("result_failure_sample", "Failure sample", f.get("result_failure_sample"), None, on("result_failure_sample")))
            }
            section.card.wide aria-labelledby="step4" {
                h2 id="step4" { "4 · Review" }
                @if let Some(r) = review {
                    p { "The definition is valid: " code { (r.req_method.as_deref().unwrap_or("")) " " (r.req_uri.as_deref().unwrap_or("")) } " with "
                        (r.req_params.as_ref().map_or(0, Vec::len)) " input parameter(s), a " (r.backend_type.as_deref().unwrap_or("")) " backend." }
                    button name="step" value="create" type="submit" { "Create the API" }
                    " "
                }
                button.secondary name="step" value="review" type="submit" { "Review" }
            }
        }
    };
    (status, page(signed, "New API", "/console/apis", body)).into_response()
}

/// `GET /console/apis/new`.
pub async fn form(State(console): State<Console>, signed: Signed) -> Response {
    if !signed.may("POST", "/apis") {
        return forbidden();
    }
    render(&console, &signed, &Fields(HashMap::new()), None, None).await
}

/// `POST /console/apis/new`: `step` `review` checks the definition, `create` makes it.
pub async fn submit(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/apis") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let fields = Fields::from(&form, &field_names());
    let input = input_of(&fields);
    if form.text("step").as_deref() != Some("create") {
        // The API's own rules, without writing anything.
        let checked = input_of(&fields).validate(console.service.limits());
        return match checked {
            Ok(_) => render(&console, &signed, &fields, None, Some(&input)).await,
            Err(e) => render(&console, &signed, &fields, Some(&e), None).await,
        };
    }
    let outcome = console.service.create_api(input).await;
    let id = outcome.as_ref().map(|v| v.api.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/apis/new", "apis", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(view) => Redirect::to(&format!("/console/apis/{}", view.api.id)).into_response(),
        Err(e) => render(&console, &signed, &fields, Some(&e), None).await,
    }
}
