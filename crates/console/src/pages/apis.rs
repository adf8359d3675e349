//! APIs: the list, filtered by group, environment, authentication, backend
//! and published state, searchable by name or path and paged; and one API's
//! page: its definition, where it is published, and its version history.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{ApiFilter, EnvFilter, GroupFilter, HistoryFilter, Paging};
use causeway_model::api::{Api, BackendType};
use maud::{Markup, html};

use super::layout::{self, page, pager};
use crate::forms;
use crate::{Console, QueryMap, Signed, forbidden};

const PAGE_SIZE: usize = 20;

/// A `<select>` of `options` (value, label), the current value selected.
fn select(id: &str, label: &str, current: Option<&str>, options: &[(String, String)]) -> Markup {
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(id) {
                option value="" { "Any" }
                @for (value, text) in options {
                    option value=(value) selected[current == Some(value.as_str())] { (text) }
                }
            }
        }
    }
}

/// `GET /console/apis?q=&group_id=&env_id=&auth_type=&backend_type=&published=&page=`.
pub async fn list(State(console): State<Console>, signed: Signed, QueryMap(q): QueryMap) -> Response {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let page_no = get("page").and_then(|p| p.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1);
    let search = get("q");
    // A search starting with `/` looks at paths, anything else at names.
    let (name, req_uri) = match &search {
        Some(s) if s.starts_with('/') => (None, Some(s.clone())),
        Some(s) => (Some(s.clone()), None),
        None => (None, None),
    };
    let filter = ApiFilter {
        group_id: get("group_id"),
        name,
        req_uri,
        auth_type: get("auth_type"),
        backend_type: get("backend_type"),
        env_id: get("env_id"),
        published: get("published").map(|p| p == "yes"),
        paging: Paging::page(page_no, PAGE_SIZE),
        ..Default::default()
    };
    let (apis, groups, envs) = match (
        console.service.list_apis(&filter).await,
        console.service.list_groups(&GroupFilter { paging: Paging::page(1, 500), ..Default::default() }).await,
        console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await,
    ) {
        (Ok(a), Ok(g), Ok(e)) => (a, g, e),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return layout::failed(e),
    };
    let group_options: Vec<(String, String)> = groups.items.iter().map(|g| (g.group.id.clone(), g.group.name.clone())).collect();
    let env_options: Vec<(String, String)> = envs.items.iter().map(|e| (e.id.clone(), e.name.clone())).collect();
    let pairs = |list: &[&str]| list.iter().map(|v| (v.to_string(), v.to_string())).collect::<Vec<_>>();
    let query: String = {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for k in ["q", "group_id", "env_id", "auth_type", "backend_type", "published"] {
            if let Some(v) = get(k) {
                s.append_pair(k, &v);
            }
        }
        s.finish()
    };
    let base = if query.is_empty() { "/console/apis".to_string() } else { format!("/console/apis?{query}") };
    let filtered = !query.is_empty();
    let body = html! {
        h1 { "APIs" }
        @if signed.may("POST", "/apis") { p { a.button href="/console/apis/new" { "New API" } } }
        form.filters role="search" method="get" action="/console/apis" {
            div.field {
                label for="q" { "Name or path" }
                input id="q" name="q" value=[search.as_deref()] placeholder="orders or /orders";
            }
            (select("group_id", "Group", get("group_id").as_deref(), &group_options))
            (select("env_id", "Published in", get("env_id").as_deref(), &env_options))
            (select("auth_type", "Authentication", get("auth_type").as_deref(), &pairs(&["NONE", "APP", "IAM", "AUTHORIZER"])))
            (select("backend_type", "Backend", get("backend_type").as_deref(), &pairs(&["HTTP", "FUNCTION", "MOCK"])))
            (select("published", "State", get("published").as_deref(), &[("yes".into(), "Published".into()), ("no".into(), "Not published".into())]))
            button type="submit" { "Filter" }
        }
        @if apis.items.is_empty() {
            p.empty { @if filtered { "No API matches these filters." } @else { "No APIs yet. Create a group first, then add APIs to it." } }
        } @else {
            table {
                thead { tr { th { "Name" } th { "Method and path" } th { "Group" } th { "Authentication" } th { "Backend" } th { "Published in" } } }
                tbody {
                    @for a in &apis.items {
                        tr {
                            td { a href=(format!("/console/apis/{}", a.api.id)) { (a.api.name) } }
                            td { code { (a.api.req_method.as_str()) " " (a.api.req_uri) } }
                            td { (a.group_name) }
                            td { (a.api.auth_type.as_str()) }
                            td { (a.api.backend_type.as_str()) }
                            td { @if a.published.run_env_name.is_empty() { span.muted { "nowhere" } } @else { (a.published.run_env_name.replace('|', ", ")) } }
                        }
                    }
                }
            }
            (pager(&base, page_no, PAGE_SIZE, apis.total))
        }
    };
    page(&signed, "APIs", "/console/apis", body).into_response()
}

/// Where an API's backend sends requests, in a line.
fn backend_line(api: &Api) -> String {
    match api.backend_type {
        BackendType::Http => api.backend_api.as_ref().map_or_else(String::new, |b| {
            let target = match (&b.vpc_info, &b.url_domain) {
                (Some(v), _) if b.vpc_status == 1 => format!("channel {}", v.vpc_id),
                (_, Some(d)) => d.clone(),
                _ => String::new(),
            };
            format!("{} {}://{}{}", b.req_method.as_str(), b.req_protocol.as_str().to_ascii_lowercase(), target, b.req_uri)
        }),
        BackendType::Function => api.func_info.as_ref().map_or_else(String::new, |f| format!("{} ({})", f.function_urn, f.invocation_type.as_str())),
        BackendType::Mock => api.mock_info.as_ref().map_or_else(String::new, |m| format!("status {}", m.status_code)),
    }
}

/// `GET /console/apis/{id}`.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    let view = match console.service.get_api(&id).await {
        Ok(v) => v,
        Err(e) => return layout::failed(e),
    };
    let history = match console.service.history(&id, &HistoryFilter { env_id: None, env_name: None, paging: Paging::page(1, 100) }).await {
        Ok(h) => h,
        Err(e) => return layout::failed(e),
    };
    let envs = match console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(e) => e.items,
        Err(e) => return layout::failed(e),
    };
    let (can_publish, can_offline, can_switch, can_debug) =
        (signed.may("POST", "/apis/publish"), signed.may("DELETE", "/apis/publish"), signed.may("PUT", "/apis/publish"), signed.may("POST", "/apis/debug"));
    let effective: Vec<(&str, &str)> = view.published.run_env_id.split('|').zip(view.published.run_env_name.split('|')).filter(|(i, _)| !i.is_empty()).collect();
    let csrf = &signed.session.csrf;
    let a = &view.api;
    let body = html! {
        p { a href="/console/apis" { "‹ APIs" } }
        h1 { (a.name) }
        @if let Some(r) = &a.remark { p.lead { (r) } }
        ul.inline {
            @if signed.may("PUT", "/apis") { li { a.button href=(format!("/console/apis/{}/edit", a.id)) { "Edit" } } }
            @if signed.may("DELETE", "/apis") { li { a.danger href=(format!("/console/apis/{}/delete", a.id)) { "Delete" } } }
        }
        section.card.wide aria-labelledby="frontend" {
            h2 id="frontend" { "Frontend" }
            dl {
                dt { "Group" } dd { (view.group_name) }
                dt { "Request" } dd { code { (a.req_method.as_str()) " " (a.req_uri) } " · " (a.match_mode.as_str()) " · " (a.req_protocol.as_str()) }
                dt { "Authentication" } dd { (a.auth_type.as_str()) }
                dt { "CORS" } dd { @if a.cors { "on" } @else { "off" } }
                dt { "Version" } dd { (a.version) }
            }
            @if !a.req_params.is_empty() {
                h3 { "Input parameters" }
                table {
                    thead { tr { th { "Name" } th { "Where" } th { "Type" } th { "Required" } th { "Default" } } }
                    tbody {
                        @for p in &a.req_params {
                            tr { td { (p.name) } td { (p.location.as_str()) } td { (p.param_type.as_str()) } td { @if p.required == 1 { "yes" } @else { "no" } } td { (p.default_value.as_deref().unwrap_or("")) } }
                        }
                    }
                }
            }
        }
        section.card.wide aria-labelledby="backend" {
            h2 id="backend" { "Backend" }
            dl {
                dt { "Type" } dd { (a.backend_type.as_str()) }
                dt { "Calls" } dd { code { (backend_line(a)) } }
            }
            @if !a.backend_params.is_empty() {
                h3 { "Parameter mapping" }
                table {
                    thead { tr { th { "Backend parameter" } th { "Where" } th { "From" } th { "Value" } } }
                    tbody {
                        @for p in &a.backend_params {
                            tr { td { (p.name) } td { (p.location.as_str()) } td { (p.origin.as_str()) } td { code { (p.value) } } }
                        }
                    }
                }
            }
            @let policies = a.policies().count();
            @if policies > 0 { p { (policies) " backend " @if policies == 1 { "policy" } @else { "policies" } " before the default." } }
        }
        section.card.wide aria-labelledby="published" {
            h2 id="published" { "Published" }
            @if view.published.run_env_name.is_empty() {
                p.empty { "Not published anywhere yet." @if can_publish { " Publish it to an environment below to make it callable." } }
            } @else {
                p { "Effective in: " (view.published.run_env_name.replace('|', ", ")) }
                @if can_offline {
                    ul.inline {
                        @for (env_id, env_name) in &effective {
                            li { a.danger href=(format!("/console/apis/{}/offline?env_id={env_id}", a.id)) { "Take offline in " (env_name) } }
                        }
                    }
                }
            }
            @if can_publish {
                form.inline method="post" action=(format!("/console/apis/{}/publish", a.id)) data-busy="Publishing…" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.field {
                        label for="publish-env" { "Environment" }
                        select id="publish-env" name="env_id" { @for e in &envs { option value=(e.id) { (e.name) } } }
                    }
                    div.field {
                        label for="publish-remark" { "Remark" }
                        input id="publish-remark" name="remark" maxlength="255";
                    }
                    button type="submit" { "Publish the current definition" }
                }
            }
            @if !history.items.is_empty() {
                h3 { "History" }
                table {
                    thead { tr { th { "Version" } th { "Environment" } th { "Published" } th { "Remark" } th { "State" } @if can_switch { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for v in &history.items {
                            tr {
                                td { code { (v.version_no) } }
                                td { (v.env_name) }
                                td { time datetime=(v.publish_time) { (v.publish_time.replace('T', " ").trim_end_matches('Z')) } }
                                td { (v.remark.as_deref().unwrap_or("")) }
                                td { @if v.status == 1 { strong { "effective" } } @else { "earlier" } }
                                @if can_switch {
                                    td {
                                        @if v.status != 1 {
                                            form method="post" action=(format!("/console/apis/{}/switch", a.id)) {
                                                input type="hidden" name="csrf" value=(csrf);
                                                input type="hidden" name="version_id" value=(v.version_id);
                                                button.small type="submit" { "Make effective" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if history.items.len() > 1 {
                    form.inline method="get" action=(format!("/console/apis/{}/diff", a.id)) {
                        @let second = history.items.get(1).map(|v| v.version_id.as_str());
                        div.field {
                            label for="diff-from" { "Compare" }
                            select id="diff-from" name="from" { @for v in &history.items { option value=(v.version_id) selected[Some(v.version_id.as_str()) == second] { (v.version_no) " · " (v.env_name) } } }
                        }
                        div.field {
                            label for="diff-to" { "with" }
                            select id="diff-to" name="to" { @for v in &history.items { option value=(v.version_id) { (v.version_no) " · " (v.env_name) } } }
                        }
                        button type="submit" { "Show the differences" }
                    }
                }
            }
        }
        (traffic(&console, &a.id))
        @if can_debug {
            section.card.wide aria-labelledby="debug" {
                h2 id="debug" { "Debug" }
                p.lead { "Send a request through the gateway's pipeline: the draft as it is now, or the version published in an environment." }
                form method="post" action=(format!("/console/apis/{}/debug", a.id)) data-busy="Sending…" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row {
                        div.field {
                            label for="debug-mode" { "Run" }
                            select id="debug-mode" name="mode" { option value="DEVELOPER" { "the draft" } option value="CONSUMER" { "the published version" } }
                        }
                        div.field {
                            label for="debug-stage" { "Environment" }
                            select id="debug-stage" name="stage" { @for e in &envs { option value=(e.name) { (e.name) } } }
                        }
                        div.field {
                            label for="debug-scheme" { "Scheme" }
                            select id="debug-scheme" name="scheme" { option { "HTTP" } option { "HTTPS" } }
                        }
                        div.field {
                            label for="debug-method" { "Method" }
                            select id="debug-method" name="method" {
                                @for m in ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
                                    option selected[m == a.req_method.as_str()] { (m) }
                                }
                            }
                        }
                    }
                    label for="debug-path" { "Path" }
                    input id="debug-path" name="path" value=(a.req_uri) required;
                    label for="debug-query" { "Query" }
                    input id="debug-query" name="query" placeholder="a=1&b=2";
                    label for="debug-headers" { "Headers, one per line" }
                    textarea id="debug-headers" name="headers" rows="3" placeholder="X-Trace: 1" {}
                    label for="debug-body" { "Body" }
                    textarea id="debug-body" name="body" rows="3" {}
                    @if a.auth_type == causeway_model::api::AuthType::App {
                        div.row {
                            div.field { label for="debug-key" { "App key" } input id="debug-key" name="app_key"; }
                            div.field { label for="debug-secret" { "App secret" } input id="debug-secret" name="app_secret" type="password"; }
                        }
                    }
                    button type="submit" { "Send" }
                }
            }
        }
    };
    page(&signed, &a.name, "/console/apis", body).into_response()
}

/// This API's traffic over the last 5 minutes, per environment it served in.
fn traffic(console: &Console, api_id: &str) -> maud::Markup {
    let Some(t) = &console.node.traffic else { return html! {} };
    let view = t.view(std::time::Duration::from_secs(300));
    let rows: Vec<_> = view.routes.iter().filter(|r| r.api_id == api_id).collect();
    html! {
        section.card.wide aria-labelledby="traffic" {
            h2 id="traffic" { "Traffic, last 5 minutes" }
            @if rows.is_empty() {
                p.muted { "No calls in the last 5 minutes." }
            } @else {
                table {
                    thead { tr { th { "Environment" } th { "Requests" } th { "Per second" } th { "Errors" } th { "p50" } th { "p99" } } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { (r.env) }
                                td { (r.stats.requests) }
                                td { (format!("{:.2}", r.stats.per_second)) }
                                td { (r.stats.errors()) }
                                td { (super::overview::latency(r.stats.p50)) }
                                td { (super::overview::latency(r.stats.p99)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /console/apis/{id}/delete`: asks first.
pub async fn confirm_delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    if !signed.may("DELETE", "/apis") {
        return forbidden();
    }
    let view = match console.service.get_api(&id).await {
        Ok(v) => v,
        Err(e) => return layout::failed(e),
    };
    // A published API is taken offline first (as the management API insists, APIG.3416).
    if !view.published.run_env_name.is_empty() {
        let effective = view.published.run_env_id.split('|').zip(view.published.run_env_name.split('|'));
        let body = html! {
            h1 { (view.api.name) " is published" }
            p { "Take it offline in every environment first; then it can be deleted." }
            ul.inline {
                @for (env_id, env_name) in effective {
                    li { a.danger href=(format!("/console/apis/{id}/offline?env_id={env_id}")) { "Take offline in " (env_name) } }
                }
            }
            p { a href=(format!("/console/apis/{id}")) { "Back to the API" } }
        };
        return page(&signed, "Delete the API", "/console/apis", body).into_response();
    }
    let warning = "Its definition and version history are deleted, and apps lose their authorization to it.";
    layout::confirm(
        &signed,
        layout::Confirm {
            title: "Delete the API",
            question: &format!("Delete {}?", view.api.name),
            warning,
            action: &format!("/console/apis/{id}/delete"),
            fields: &[],
            button: "Delete the API",
            cancel: &format!("/console/apis/{id}"),
        },
        "/console/apis",
    )
}

/// `POST /console/apis/{id}/delete`.
pub async fn delete(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(denied) = forms::posted(&signed, &headers, &body, "DELETE", "/apis") {
        return denied.into_response();
    }
    let outcome = console.service.delete_api(&id).await;
    console.audit(&signed, "DELETE", &format!("/console/apis/{id}/delete"), "apis", &id, outcome.as_ref().map(|_| ())).await;
    match outcome {
        Ok(()) => Redirect::to("/console/apis").into_response(),
        Err(e) => layout::not_done(&signed, "The API was not deleted", &e, &format!("/console/apis/{id}"), "Back to the API", "/console/apis"),
    }
}
