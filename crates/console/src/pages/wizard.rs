//! Creating an API in the steps the cloud consoles use: (1) the frontend —
//! name, group, protocol, method, path, match mode, input parameters,
//! authentication, CORS; (2) the backend — HTTP (address, method, path,
//! timeout, parameter mapping), FUNCTION or MOCK; (3) the responses —
//! success and failure samples; (4) review, then create. The form is sent
//! whole at each step; "Review" checks it with the API's own rules and
//! shows it back, "Create" makes it through the service. An error is shown
//! on the field it names; `{params}` of the path become PATH parameters.
//! Editing an API uses the same steps, filled from the stored definition;
//! what the steps do not show (backend policies, parameter rules,
//! authorizers, …) is kept as it is.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{AuthorizerFilter, ChannelFilter, FunctionFilter, GroupFilter, Paging};
use causeway_model::ApiError;
use causeway_model::api::{Api, ApiInput, uri};
use maud::{Markup, html};
use serde_json::{Map, Value, json};

use super::layout::{self, page};
use crate::forms::{self, Form};
use crate::{Console, Signed, forbidden};

/// Rows offered for input parameters and for the parameter mapping (more
/// when an API being edited has more).
const ROWS: usize = 4;
/// Most rows a form may say it has.
const MAX_ROWS: usize = 100;

/// The form's fields by name (what was sent, to fill the form again), and
/// how many parameter rows it has.
struct Fields(HashMap<String, String>, usize);

impl Fields {
    fn from(form: &Form) -> Self {
        let rows = form.text("rows").and_then(|r| r.parse().ok()).unwrap_or(ROWS).clamp(ROWS, MAX_ROWS);
        Fields(field_names(rows).iter().filter_map(|n| form.text(n).map(|v| (n.clone(), v))).collect(), rows)
    }

    fn set(&mut self, name: String, value: impl Into<String>) {
        let value = value.into();
        if !value.is_empty() {
            self.0.insert(name, value);
        }
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
fn field_names(rows: usize) -> Vec<String> {
    let mut names: Vec<String> = [
        "group_id", "name", "remark", "req_protocol", "req_method", "req_uri", "match_mode", "auth_type", "cors", "backend_type", "url_domain",
        "backend_protocol", "backend_method", "backend_uri", "vpc_id", "timeout", "function_urn", "function_version", "function_alias", "invocation_type",
        "mock_status", "mock_content", "mock_headers", "authorizer_id", "response_id", "policy_name", "policy_url_domain", "policy_uri", "cond_param", "cond_type", "cond_value",
        "result_normal_sample", "result_failure_sample",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for i in 0..rows {
        for f in ["param_name", "param_location", "param_type", "param_required", "param_default", "map_name", "map_location", "map_origin", "map_value"] {
            names.push(format!("{f}_{i}"));
        }
    }
    names
}

/// The definition the fields describe, as the management API's JSON.
fn json_of(f: &Fields) -> Value {
    let mut params: Vec<Value> = (0..f.1)
        .filter_map(|i| {
            let name = f.opt(&format!("param_name_{i}"))?;
            let mut p = json!({
                "name": name,
                "location": f.opt(&format!("param_location_{i}")),
                "type": f.opt(&format!("param_type_{i}")),
                "required": if f.get(&format!("param_required_{i}")) == "1" { 1 } else { 2 },
            });
            if let Some(d) = f.opt(&format!("param_default_{i}")) {
                p["default_value"] = d.into();
            }
            Some(p)
        })
        .collect();
    // The path's `{params}` are PATH parameters, declared or not.
    let path = f.get("req_uri");
    if f.get("match_mode") != "REGEX"
        && let Ok(names) = uri::parse_req_uri("req_uri", path)
    {
        for n in names {
            if !params.iter().any(|p| p["name"] == n.as_str() && p["location"] == "PATH") {
                params.push(json!({"name": n, "location": "PATH", "type": "STRING", "required": 1}));
            }
        }
    }
    let mapping: Vec<Value> = (0..f.1)
        .filter_map(|i| {
            Some(json!({
                "name": f.opt(&format!("map_name_{i}"))?,
                "location": f.opt(&format!("map_location_{i}")),
                "origin": f.opt(&format!("map_origin_{i}")),
                "value": f.opt(&format!("map_value_{i}")),
            }))
        })
        .collect();
    let backend_type = f.opt("backend_type").unwrap_or_else(|| "HTTP".into());
    let mut v = json!({
        "group_id": f.opt("group_id"),
        "name": f.opt("name"),
        "type": 1,
        "remark": f.opt("remark"),
        "req_protocol": f.opt("req_protocol"),
        "req_method": f.opt("req_method"),
        "req_uri": f.opt("req_uri"),
        "match_mode": f.opt("match_mode"),
        "auth_type": f.opt("auth_type"),
        "cors": f.get("cors") == "1",
        "backend_type": backend_type,
        "req_params": params,
        "backend_params": mapping,
        "result_normal_sample": f.opt("result_normal_sample"),
        "response_id": f.opt("response_id"),
        "result_failure_sample": f.opt("result_failure_sample"),
    });
    if f.get("auth_type") == "AUTHORIZER" {
        v["authorizer_id"] = f.opt("authorizer_id").into();
    }
    match backend_type.as_str() {
        "FUNCTION" => {
            let urn = f.opt("function_urn");
            // An alias wins over a version (as the management API reads them).
            let alias_urn = f.opt("function_alias").zip(urn.as_ref()).map(|(alias, urn)| format!("{urn}:{alias}"));
            v["func_info"] = json!({"function_urn": urn, "version": f.opt("function_version"), "alias_urn": alias_urn,
                "invocation_type": f.opt("invocation_type"), "timeout": f.int("timeout")});
        }
        "MOCK" => {
            // `Name: value` per line.
            let headers: Vec<Value> = f
                .get("mock_headers")
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    let (k, val) = l.split_once(':').unwrap_or((l, ""));
                    json!({"key": k.trim(), "value": val.trim()})
                })
                .collect();
            v["mock_info"] = json!({"status_code": f.int("mock_status"), "result_content": f.opt("mock_content"), "header": headers});
        }
        _ => {
            v["backend_api"] = match f.opt("vpc_id") {
                Some(channel) => json!({"vpc_status": 1, "vpc_info": {"vpc_id": channel}, "url_domain": null}),
                None => json!({"vpc_status": 2, "vpc_info": null, "url_domain": f.opt("url_domain")}),
            };
            let b = &mut v["backend_api"];
            b["req_protocol"] = f.opt("backend_protocol").into();
            b["req_method"] = f.opt("backend_method").into();
            b["req_uri"] = f.opt("backend_uri").into();
            b["timeout"] = f.int("timeout").into();
            // A backend policy: another address for requests whose input parameter meets a condition.
            if let Some(name) = f.opt("policy_name") {
                v["policy_https"] = json!([{
                    "name": name, "url_domain": f.opt("policy_url_domain"), "req_uri": f.opt("policy_uri"),
                    "req_protocol": f.opt("backend_protocol"), "req_method": f.opt("backend_method"), "timeout": f.int("timeout"),
                    "vpc_status": 2, "effect_mode": "ANY",
                    "conditions": [{"condition_origin": "param", "req_param_name": f.opt("cond_param"), "condition_type": f.opt("cond_type"), "condition_value": f.opt("cond_value")}],
                }]);
            }
        }
    }
    v
}

/// The stored definition with the wizard's fields laid over it: what the
/// wizard does not show is kept (an input parameter keeps its rules, the
/// backend its retries and policies).
fn merged(existing: &Api, wizard: Value) -> Value {
    let mut base = serde_json::to_value(existing).unwrap_or_default();
    let (Some(obj), Value::Object(w)) = (base.as_object_mut(), wizard) else { return base };
    for (key, value) in w {
        let merged_value = match (key.as_str(), obj.remove(&key), value) {
            ("req_params" | "backend_params", Some(Value::Array(old)), Value::Array(new)) => Value::Array(
                new.into_iter()
                    .map(|n| {
                        let same = old.iter().find(|o| o["name"] == n["name"] && o["location"] == n["location"]);
                        overlay(same.cloned(), n)
                    })
                    .collect(),
            ),
            ("backend_api" | "func_info" | "mock_info", old, new) => overlay(old, new),
            // The wizard shows one policy: it replaces the policy of its name, the others stay.
            ("policy_https", Some(Value::Array(mut old)), Value::Array(new)) => {
                for n in new {
                    match old.iter_mut().find(|o| o["name"] == n["name"]) {
                        Some(o) => *o = overlay(Some(o.clone()), n),
                        None => old.push(n),
                    }
                }
                Value::Array(old)
            }
            (_, _, new) => new,
        };
        obj.insert(key, merged_value);
    }
    base
}

/// `new`'s fields over `old`'s (both objects), `null`s of `new` removing.
fn overlay(old: Option<Value>, new: Value) -> Value {
    let mut out = match old {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    if let Value::Object(n) = new {
        for (k, v) in n {
            if v.is_null() {
                out.remove(&k);
            } else {
                out.insert(k, v);
            }
        }
    }
    Value::Object(out)
}

/// The definition to check or store: the stored one overlaid when editing.
fn input_of(f: &Fields, editing: Option<&Api>) -> Result<ApiInput, ApiError> {
    let wizard = json_of(f);
    let v = match editing {
        Some(api) => merged(api, wizard),
        None => wizard,
    };
    serde_json::from_value(v).map_err(|e| ApiError::detail(causeway_model::error::codes::MALFORMED, &format!("the definition does not read: {e}")))
}

/// The fields that show a stored API.
fn fields_of(api: &Api) -> Fields {
    let v = serde_json::to_value(api).unwrap_or_default();
    let rows = ROWS.max(api.req_params.len() + 1).max(api.backend_params.len() + 1).min(MAX_ROWS);
    let mut f = Fields(HashMap::new(), rows);
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    for k in ["group_id", "name", "remark", "req_protocol", "req_method", "req_uri", "match_mode", "auth_type", "backend_type", "result_normal_sample", "result_failure_sample", "response_id"] {
        f.set(k.into(), text(&v[k]));
    }
    f.set("cors".into(), if api.cors { "1" } else { "2" });
    for (i, p) in v["req_params"].as_array().into_iter().flatten().enumerate().take(rows) {
        f.set(format!("param_name_{i}"), text(&p["name"]));
        f.set(format!("param_location_{i}"), text(&p["location"]));
        f.set(format!("param_type_{i}"), text(&p["type"]));
        f.set(format!("param_required_{i}"), text(&p["required"]));
        f.set(format!("param_default_{i}"), text(&p["default_value"]));
    }
    for (i, p) in v["backend_params"].as_array().into_iter().flatten().enumerate().take(rows) {
        f.set(format!("map_name_{i}"), text(&p["name"]));
        f.set(format!("map_location_{i}"), text(&p["location"]));
        f.set(format!("map_origin_{i}"), text(&p["origin"]));
        f.set(format!("map_value_{i}"), text(&p["value"]));
    }
    let b = &v["backend_api"];
    f.set("url_domain".into(), text(&b["url_domain"]));
    if b["vpc_status"] == 1 {
        f.set("vpc_id".into(), text(&b["vpc_info"]["vpc_id"]));
    }
    f.set("backend_protocol".into(), text(&b["req_protocol"]));
    f.set("backend_method".into(), text(&b["req_method"]));
    f.set("backend_uri".into(), text(&b["req_uri"]));
    f.set("timeout".into(), text(&b["timeout"]));
    let fi = &v["func_info"];
    f.set("function_urn".into(), text(&fi["function_urn"]));
    f.set("invocation_type".into(), text(&fi["invocation_type"]));
    if !fi.is_null() {
        f.set("timeout".into(), text(&fi["timeout"]));
    }
    f.set("function_version".into(), text(&fi["version"]));
    if let Some(alias) = fi["alias_urn"].as_str().and_then(|a| a.rsplit(':').next()) {
        f.set("function_alias".into(), alias);
    }
    f.set("authorizer_id".into(), text(&v["authorizer_id"]));
    if let Some(headers) = v["mock_info"]["header"].as_str().and_then(|h| serde_json::from_str::<Vec<Value>>(h).ok()) {
        f.set("mock_headers".into(), headers.iter().map(|h| format!("{}: {}", text(&h["key"]), text(&h["value"]))).collect::<Vec<_>>().join("\n"));
    }
    // The first policy with a parameter condition is the one the wizard shows.
    if let Some(p) = v["policy_https"].as_array().into_iter().flatten().find(|p| p["conditions"][0]["condition_origin"] == "param") {
        f.set("policy_name".into(), text(&p["name"]));
        f.set("policy_url_domain".into(), text(&p["url_domain"]));
        f.set("policy_uri".into(), text(&p["req_uri"]));
        f.set("cond_param".into(), text(&p["conditions"][0]["req_param_name"]));
        f.set("cond_type".into(), text(&p["conditions"][0]["condition_type"]));
        f.set("cond_value".into(), text(&p["conditions"][0]["condition_value"]));
    }
    f.set("mock_status".into(), text(&v["mock_info"]["status_code"]));
    f.set("mock_content".into(), text(&v["mock_info"]["result_content"]));
    f
}

/// Which wizard field shows an error the service named (`backend_api.req_uri`
/// → `backend_uri`, `req_params[1].name` → the second filled row's name, …).
fn field_for(error: &ApiError, f: &Fields) -> Option<String> {
    let full = error.message.split("parameterName:").nth(1)?.split(' ').next()?.trim_end_matches('.');
    let (head, last) = (full.split('.').next()?, full.rsplit('.').next()?);
    // Rows are sent with gaps; the service numbers the filled ones.
    let row = |prefix: &str, name_field: &str| -> Option<String> {
        let j: usize = head.split_once('[')?.1.strip_suffix(']')?.parse().ok()?;
        let filled: Vec<usize> = (0..f.1).filter(|i| !f.get(&format!("{name_field}_{i}")).is_empty()).collect();
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
        "func_info" => match last {
            "version" => "function_version".into(),
            "alias_urn" => "function_alias".into(),
            other => other.into(),
        },
        "mock_info" if last == "status_code" => "mock_status".into(),
        "mock_info" if last == "header" => "mock_headers".into(),
        "mock_info" => "mock_content".into(),
        h if h.starts_with("req_params[") => row("param", "param_name")?,
        h if h.starts_with("backend_params[") => row("map", "map_name")?,
        h if h.starts_with("policy_https[") => match last {
            "url_domain" => "policy_url_domain".into(),
            "req_uri" => "policy_uri".into(),
            "req_param_name" => "cond_param".into(),
            "condition_type" => "cond_type".into(),
            "condition_value" => "cond_value".into(),
            _ => "policy_name".into(),
        },
        "authorizer_id" => "authorizer_id".into(),
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

/// A new API, or the stored one being edited.
enum Mode<'a> {
    New,
    Edit(&'a Api),
}

async fn render(console: &Console, signed: &Signed, mode: Mode<'_>, f: &Fields, error: Option<&ApiError>, review: Option<&ApiInput>) -> Response {
    let groups = console.service.list_groups(&GroupFilter { paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let channels = console.service.list_channels(&ChannelFilter { paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let authorizers = console.service.list_authorizers(&AuthorizerFilter { kind: Some("FRONTEND".into()), paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let mut authorizer_options: Vec<(&str, &str)> = vec![("", "none")];
    authorizer_options.extend(authorizers.iter().map(|a| (a.id.as_str(), a.name.as_str())));
    // Every group's gateway response sets, for the API to name one of its group's.
    let mut response_options: Vec<(String, String)> = vec![(String::new(), "the group's default".into())];
    for g in &groups {
        for r in console.service.list_responses(&g.group.id).await.unwrap_or_default().into_iter().filter(|r| !r.default) {
            response_options.push((r.id, format!("{} · {}", g.group.name, r.name)));
        }
    }
    let response_refs: Vec<(&str, &str)> = response_options.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let functions = console.service.list_functions(&FunctionFilter::default(), &Paging::page(1, 500)).await.map(|p| p.items).unwrap_or_default();
    let mut function_options: Vec<(&str, &str)> = functions.iter().map(|f| (f.urn.as_str(), f.function.name.as_str())).collect();
    // A URN the list does not hold (another package, or a typo being fixed) stays selectable.
    if !f.get("function_urn").is_empty() && !function_options.iter().any(|(u, _)| *u == f.get("function_urn")) {
        function_options.push((f.get("function_urn"), f.get("function_urn")));
    }
    let mut channel_options: Vec<(&str, &str)> = vec![("", "none: call the address")];
    channel_options.extend(channels.iter().map(|c| (c.id.as_str(), c.name.as_str())));
    let (title, action, back) = match mode {
        Mode::New => ("New API".to_string(), "/console/apis/new".to_string(), "/console/apis".to_string()),
        Mode::Edit(api) => (format!("Edit {}", api.name), format!("/console/apis/{}/edit", api.id), format!("/console/apis/{}", api.id)),
    };
    let err_field = error.and_then(|e| field_for(e, f));
    let on = |name: &str| -> Option<&str> { (err_field.as_deref() == Some(name)).then(|| error.map(|e| e.message.as_str())).flatten() };
    let unplaced = error.filter(|_| err_field.as_deref().is_none_or(|n| !field_names(f.1).iter().any(|f| f == n))).map(|e| format!("{} ({})", e.message, e.code));
    let group_options: Vec<(&str, &str)> = groups.iter().map(|g| (g.group.id.as_str(), g.group.name.as_str())).collect();
    let methods = [("GET", "GET"), ("POST", "POST"), ("PUT", "PUT"), ("DELETE", "DELETE"), ("PATCH", "PATCH"), ("HEAD", "HEAD"), ("OPTIONS", "OPTIONS"), ("ANY", "ANY")];
    let csrf = &signed.session.csrf;
    let status = if error.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p { a href=(back) { "‹ Back" } }
        h1 { (title) }
        @if let Some(e) = &unplaced { p.error role="alert" { (e) } }
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="rows" value=(f.1);
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
                    (select("auth_type", "Authentication", f.get("auth_type"), &[("NONE", "none"), ("APP", "app (signature or AppCode)"), ("IAM", "IAM token"), ("AUTHORIZER", "custom authorizer")], on("auth_type")))
                    (select("authorizer_id", "Custom authorizer", f.get("authorizer_id"), &authorizer_options, on("authorizer_id")))
                    (select("cors", "CORS", f.get("cors"), &[("2", "off"), ("1", "on")], None))
                }
                (text("remark", "Description", f.get("remark"), None, on("remark")))
                h3 { "Input parameters" }
                @for i in 0..f.1 {
                    div.row {
                        (text(&format!("param_name_{i}"), "Name", f.get(&format!("param_name_{i}")), None, on(&format!("param_name_{i}"))))
                        (select(&format!("param_location_{i}"), "Where", f.get(&format!("param_location_{i}")), &[("QUERY", "query"), ("HEADER", "header"), ("PATH", "path")], on(&format!("param_location_{i}"))))
                        (select(&format!("param_type_{i}"), "Type", f.get(&format!("param_type_{i}")), &[("STRING", "string"), ("NUMBER", "number")], on(&format!("param_type_{i}"))))
                        (select(&format!("param_required_{i}"), "Required", f.get(&format!("param_required_{i}")), &[("2", "no"), ("1", "yes")], None))
                        (text(&format!("param_default_{i}"), "Default", f.get(&format!("param_default_{i}")), None, on(&format!("param_default_{i}"))))
                    }
                }
            }
            section.card.wide aria-labelledby="step2" {
                h2 id="step2" { "2 · Backend" }
                (select("backend_type", "Type", f.get("backend_type"), &[("HTTP", "HTTP service"), ("MOCK", "mock"), ("FUNCTION", "function")], on("backend_type")))
                fieldset.backend-http {
                    legend { "HTTP service" }
                    div.row {
                        (text("url_domain", "Address", f.get("url_domain"), Some("host:port, e.g. 10.0.0.8:8080"), on("url_domain")))
                        (select("backend_protocol", "Protocol", f.get("backend_protocol"), &[("HTTP", "HTTP"), ("HTTPS", "HTTPS")], on("backend_protocol")))
                        (select("backend_method", "Method", f.get("backend_method"), &methods, on("backend_method")))
                    }
                    (select("vpc_id", "Load-balance channel", f.get("vpc_id"), &channel_options, on("vpc_id")))
                    (text("backend_uri", "Path", f.get("backend_uri"), Some("{name} takes a PATH backend parameter."), on("backend_uri")))
                }
                fieldset.backend-function {
                    legend { "Function" }
                    div.row {
                        (select("function_urn", "Function", f.get("function_urn"), &function_options, on("function_urn")))
                        (select("invocation_type", "Invocation", f.get("invocation_type"), &[("sync", "wait for the answer"), ("async", "queue it")], on("invocation_type")))
                    }
                    div.row {
                        (text("function_version", "Version", f.get("function_version"), Some("A published version's number; empty: $LATEST."), on("function_version")))
                        (text("function_alias", "Or alias", f.get("function_alias"), Some("An alias wins over the version."), on("function_alias")))
                    }
                }
                fieldset.backend-mock {
                    legend { "Mock" }
                    div.row {
                        (text("mock_status", "Status", if f.get("mock_status").is_empty() { "200" } else { f.get("mock_status") }, None, on("mock_status")))
                        (text("mock_content", "Body", f.get("mock_content"), None, on("mock_content")))
                    }
                    div.field {
                        label for="mock_headers" { "Headers" }
                        textarea id="mock_headers" name="mock_headers" rows="2" placeholder="Content-Type: application/json" aria-invalid=[on("mock_headers").map(|_| "true")] { (f.get("mock_headers")) }
                        small { "One per line: Name: value." }
                        @if let Some(e) = on("mock_headers") { p.error role="alert" { (e) } }
                    }
                }
                (text("timeout", "Timeout (ms)", if f.get("timeout").is_empty() { "5000" } else { f.get("timeout") }, None, on("timeout")))
                fieldset.backend-http {
                    legend { "Backend policy" }
                    p.lead { "Requests whose input parameter meets the condition go to another address." }
                    div.row {
                        (text("policy_name", "Policy name", f.get("policy_name"), Some("Empty: no policy."), on("policy_name")))
                        (text("policy_url_domain", "Address", f.get("policy_url_domain"), None, on("policy_url_domain")))
                        (text("policy_uri", "Path", f.get("policy_uri"), None, on("policy_uri")))
                    }
                    div.row {
                        (text("cond_param", "When the input parameter", f.get("cond_param"), None, on("cond_param")))
                        (select("cond_type", "is", f.get("cond_type"), &[("exact", "equal to"), ("enum", "one of (comma-separated)"), ("pattern", "matching the pattern")], on("cond_type")))
                        (text("cond_value", "Value", f.get("cond_value"), None, on("cond_value")))
                    }
                }
                h3 { "Parameter mapping" }
                @for i in 0..f.1 {
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
                (select("response_id", "Gateway responses (how errors look to callers)", f.get("response_id"), &response_refs, on("response_id")))
            }
            section.card.wide aria-labelledby="step4" {
                h2 id="step4" { "4 · Review" }
                @if let Some(r) = review {
                    p { "The definition is valid: " code { (r.req_method.as_deref().unwrap_or("")) " " (r.req_uri.as_deref().unwrap_or("")) } " with "
                        (r.req_params.as_ref().map_or(0, Vec::len)) " input parameter(s), a " (r.backend_type.as_deref().unwrap_or("")) " backend." }
                    button name="step" value="create" type="submit" { @match mode { Mode::New => "Create the API", Mode::Edit(_) => "Save the changes" } }
                    " "
                }
                button.secondary name="step" value="review" type="submit" { "Review" }
            }
        }
    };
    (status, page(signed, &title, "/console/apis", body)).into_response()
}

/// `GET /console/apis/new`.
pub async fn form(State(console): State<Console>, signed: Signed) -> Response {
    if !signed.may("POST", "/apis") {
        return forbidden();
    }
    render(&console, &signed, Mode::New, &Fields(HashMap::new(), ROWS), None, None).await
}

/// `POST /console/apis/new`: `step` `review` checks the definition, `create` makes it.
pub async fn submit(State(console): State<Console>, signed: Signed, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/apis") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let fields = Fields::from(&form);
    let input = match input_of(&fields, None) {
        Ok(i) => i,
        Err(e) => return render(&console, &signed, Mode::New, &fields, Some(&e), None).await,
    };
    if form.text("step").as_deref() != Some("create") {
        return review(&console, &signed, Mode::New, &fields, input).await;
    }
    let outcome = console.service.create_api(input).await;
    let id = outcome.as_ref().map(|v| v.api.id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/apis/new", "apis", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(view) => Redirect::to(&format!("/console/apis/{}", view.api.id)).into_response(),
        Err(e) => render(&console, &signed, Mode::New, &fields, Some(&e), None).await,
    }
}

/// Checks a definition with the API's own rules, without writing anything, and shows it back.
async fn review(console: &Console, signed: &Signed, mode: Mode<'_>, fields: &Fields, input: ApiInput) -> Response {
    match input.clone().validate(console.service.limits()) {
        Ok(_) => render(console, signed, mode, fields, None, Some(&input)).await,
        Err(e) => render(console, signed, mode, fields, Some(&e), None).await,
    }
}

/// `GET /console/apis/{id}/edit`: the steps, filled from the stored definition.
pub async fn edit_form(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("PUT", "/apis") {
        return forbidden();
    }
    match console.service.get_api(&id).await {
        Ok(view) => render(&console, &signed, Mode::Edit(&view.api), &fields_of(&view.api), None, None).await,
        Err(e) => layout::failed(e),
    }
}

/// `POST /console/apis/{id}/edit`: `review` checks, `create` saves.
pub async fn edit_submit(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "PUT", "/apis") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let stored = match console.service.get_api(&id).await {
        Ok(view) => view.api,
        Err(e) => return layout::failed(e),
    };
    let fields = Fields::from(&form);
    let input = match input_of(&fields, Some(&stored)) {
        Ok(i) => i,
        Err(e) => return render(&console, &signed, Mode::Edit(&stored), &fields, Some(&e), None).await,
    };
    if form.text("step").as_deref() != Some("create") {
        return review(&console, &signed, Mode::Edit(&stored), &fields, input).await;
    }
    let path = format!("/console/apis/{id}/edit");
    let outcome = console.service.update_api(&id, input).await;
    console.audit(&signed, "PUT", &path, "apis", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(_) => Redirect::to(&format!("/console/apis/{id}")).into_response(),
        Err(e) => render(&console, &signed, Mode::Edit(&stored), &fields, Some(&e), None).await,
    }
}
