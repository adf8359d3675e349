//! A group's page: its name and description (edited in place), subdomain,
//! bound domains with their certificates (upload, expiry shown), its sets
//! of gateway responses, and its environment variables. A change refused by
//! the service comes back to the section it belongs to, with the form as
//! sent and the error on the field it names.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_admin::service::{EnvFilter, Paging, VariableFilter};
use causeway_model::ApiError;
use causeway_model::group::GroupInput;
use causeway_model::response::RESPONSE_TYPES;
use maud::{Markup, html};

use super::layout::{self, field_error, form_error, page};
use crate::forms::{self, Form};
use crate::{Console, Signed};

/// A change refused in one section of the page, with what was sent.
pub struct Problem<'a> {
    /// `group`, `domains`, `responses` or `variables`.
    pub section: &'static str,
    pub error: ApiError,
    pub form: &'a Form,
}

/// A text field with its label, and the error when the service named it.
fn field(id: &str, name: &str, label: &str, value: &str, error: Option<&ApiError>) -> Markup {
    let here = field_error(error, name);
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) name=(name) value=(value) aria-invalid=[here.map(|_| "true")];
            @if let Some(e) = here { p.error role="alert" { (e) } }
        }
    }
}

pub async fn render(console: &Console, signed: &Signed, group_id: &str, problem: Option<Problem<'_>>) -> Response {
    let group = match console.service.get_group(group_id).await {
        Ok(g) => g,
        Err(e) => return layout::failed(e),
    };
    let envs = match console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(e) => e.items,
        Err(e) => return layout::failed(e),
    };
    let vars = match console.service.list_variables(&VariableFilter { group_id: Some(group_id.to_string()), paging: Paging::page(1, 500), ..Default::default() }).await {
        Ok(v) => v.items,
        Err(e) => return layout::failed(e),
    };
    let responses = console.service.list_responses(group_id).await.unwrap_or_default();
    // Each bound domain, with its certificate's expiry.
    let mut domains = Vec::new();
    for d in &group.group.url_domains {
        let (id, name) = (d["id"].as_str().unwrap_or_default().to_string(), d["domain"].as_str().unwrap_or_default().to_string());
        let cert = match d["ssl_id"].as_str() {
            Some(ssl) => console.service.get_certificate(group_id, &id, ssl).await.ok(),
            None => None,
        };
        domains.push((id, name, d["min_ssl_version"].as_str().unwrap_or_default().to_string(), d["is_http_redirect_to_https"].as_bool().unwrap_or(false), cert));
    }
    let env_name = |id: &str| envs.iter().find(|e| e.id == id).map_or_else(|| id.to_string(), |e| e.name.clone());
    let error_in = |section: &str| problem.as_ref().filter(|p| p.section == section).map(|p| &p.error);
    let sent = |section: &str, name: &str| problem.as_ref().filter(|p| p.section == section).and_then(|p| p.form.text(name)).unwrap_or_default();
    let can_edit = signed.may("PUT", "/api-groups");
    let can_vars = signed.may("POST", "/env-variables");
    let csrf = &signed.session.csrf;
    let base = format!("/console/groups/{group_id}");
    let g = &group.group;
    let status = if problem.is_some() { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    let body = html! {
        p { a href="/console/groups" { "‹ Groups" } }
        h1 { (g.name) }
        @if let Some(r) = &g.remark { p.lead { (r) } }
        dl {
            dt { "Subdomain" } dd { code { (g.sl_domain) } }
            dt { "APIs" } dd { a href=(format!("/console/apis?group_id={group_id}")) { "This group's APIs" } }
        }
        @if can_edit {
            details.card.wide open[error_in("group").is_some()] {
                summary { "Edit the name and description" }
                @let e = error_in("group");
                @if let Some(msg) = form_error(e, &["name", "remark"]) { p.error role="alert" { (msg) } }
                form method="post" action=(format!("{base}/edit")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row {
                        (field("group-edit-name", "name", "Name", &if e.is_some() { sent("group", "name") } else { g.name.clone() }, e))
                        (field("group-edit-remark", "remark", "Description", &if e.is_some() { sent("group", "remark") } else { g.remark.clone().unwrap_or_default() }, e))
                    }
                    button type="submit" { "Save" }
                }
            }
        }

        section.card.wide aria-labelledby="domains" {
            h2 id="domains" { "Domains" }
            p.lead { "Callers may use your own domain names for this group's APIs; over HTTPS with the certificate you upload." }
            @let e = error_in("domains");
            @if let Some(msg) = e.map(|e| format!("{} ({})", e.message, e.code)) { p.error role="alert" { (msg) } }
            @if domains.is_empty() { p.empty { "No domains bound: callers use the subdomain above." } } @else {
                table {
                    thead { tr { th { "Domain" } th { "Certificate" } th { "Expires" } th { "HTTPS" } @if can_edit { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for (id, name, min_tls, redirect, cert) in &domains {
                            tr {
                                td { code { (name) } }
                                td { @match cert { Some(c) => { (c.name) @if let Some(cn) = &c.common_name { " " span.muted { "(" (cn) ")" } } }, None => span.muted { "none" } } }
                                td { @if let Some(c) = cert { time datetime=(c.not_after) { (c.not_after.replace('T', " ").trim_end_matches('Z')) } } }
                                td { (min_tls) " or later" @if *redirect { ", HTTP redirected" } }
                                @if can_edit {
                                    td {
                                        @if cert.is_some() { a.small href=(format!("{base}/domains/{id}/certificate/delete")) { "Remove the certificate" } " " }
                                        a.danger href=(format!("{base}/domains/{id}/delete")) { "Unbind" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if can_edit {
                form method="post" action=(format!("{base}/domains")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row {
                        (field("domain-name", "url_domain", "Domain", &sent("domains", "url_domain"), e))
                        div.field {
                            label for="domain-tls" { "Oldest TLS version" }
                            select id="domain-tls" name="min_ssl_version" { option value="TLSv1.2" { "TLS 1.2" } option value="TLSv1.1" { "TLS 1.1" } }
                        }
                    }
                    label.check { input type="checkbox" name="is_http_redirect_to_https" value="1"; " Redirect HTTP to HTTPS" }
                    button type="submit" { "Bind the domain" }
                }
                @if !domains.is_empty() {
                    form method="post" action=(format!("{base}/certificate")) {
                        input type="hidden" name="csrf" value=(csrf);
                        h3 { "Upload a certificate" }
                        div.row {
                            div.field {
                                label for="cert-domain" { "For" }
                                select id="cert-domain" name="domain_id" { @for (id, name, ..) in &domains { option value=(id) selected[sent("domains", "domain_id") == *id] { (name) } } }
                            }
                            (field("cert-name", "name", "Name", &sent("domains", "name"), e))
                        }
                        label for="cert-content" { "Certificate chain (PEM, the domain's certificate first)" }
                        textarea id="cert-content" name="cert_content" rows="4" spellcheck="false" aria-invalid=[field_error(e, "cert_content").map(|_| "true")] { (sent("domains", "cert_content")) }
                        label for="cert-key" { "Private key (PEM, not encrypted)" }
                        textarea id="cert-key" name="private_key" rows="4" spellcheck="false" autocomplete="off" {}
                        small { "The key is encrypted with this installation's secret before it is stored, and never shown again." }
                        button type="submit" { "Upload" }
                    }
                }
            }
        }

        section.card.wide aria-labelledby="responses" {
            h2 id="responses" { "Gateway responses" }
            p.lead { "How the gateway's own errors look to callers of this group: status, body and headers per error type. APIs use the default set unless they name another." }
            @let e = error_in("responses");
            @if let Some(msg) = e.map(|e| format!("{} ({})", e.message, e.code)) { p.error role="alert" { (msg) } }
            @for r in &responses {
                h3 { (r.name) @if r.default { " " span.muted { "(default)" } } }
                @if r.responses.is_empty() { p.muted { "Every type as the gateway answers by default." } } @else {
                    table {
                        thead { tr { th { "Error type" } th { "Status" } th { "Body" } @if can_edit { th { span.visually-hidden { "Actions" } } } } }
                        tbody {
                            @for (kind, spec) in &r.responses {
                                tr {
                                    td { code { (kind) } }
                                    td { (spec.status.map(|s| s.to_string()).unwrap_or_else(|| "default".into())) }
                                    td { code { (spec.body) } }
                                    @if can_edit {
                                        td {
                                            form method="post" action=(format!("{base}/responses/{}/types/{kind}/delete", r.id)) {
                                                input type="hidden" name="csrf" value=(csrf);
                                                button.small.secondary type="submit" aria-label=(format!("Reset {kind} in {}", r.name)) { "Reset" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if can_edit && !r.default { p { a.danger href=(format!("{base}/responses/{}/delete", r.id)) { "Delete the set " (r.name) } } }
            }
            @if can_edit {
                form method="post" action=(format!("{base}/responses/type")) {
                    input type="hidden" name="csrf" value=(csrf);
                    h3 { "Customise an error" }
                    div.row {
                        div.field {
                            label for="resp-set" { "Set" }
                            select id="resp-set" name="response_id" { @for r in &responses { option value=(r.id) selected[sent("responses", "response_id") == r.id] { (r.name) } } }
                        }
                        div.field {
                            label for="resp-type" { "Error type" }
                            select id="resp-type" name="type" {
                                @for (t, status) in RESPONSE_TYPES {
                                    option value=(t) selected[sent("responses", "type") == *t] { (t) @if let Some(s) = status { " (" (s) ")" } }
                                }
                            }
                        }
                        (field("resp-status", "status", "Status", &sent("responses", "status"), e))
                    }
                    label for="resp-body" { "Body" }
                    textarea id="resp-body" name="body" rows="2" spellcheck="false" placeholder=(causeway_model::response::DEFAULT_BODY) { (sent("responses", "body")) }
                    small { "$context.error.code, $context.error.message and $context.requestId are replaced." }
                    button type="submit" { "Save the response" }
                }
                form.inline method="post" action=(format!("{base}/responses")) {
                    input type="hidden" name="csrf" value=(csrf);
                    (field("resp-new", "name", "New set", &sent("responses", "name"), e))
                    button type="submit" { "Add the set" }
                }
            }
        }

        section.card.wide aria-labelledby="variables" {
            h2 id="variables" { "Environment variables" }
            p.lead { "A backend address or path may hold #name#: each environment gives it its own value." }
            @let e = error_in("variables");
            @if vars.is_empty() {
                p.empty { "No variables yet." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Environment" } th { "Value" } @if can_vars { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for v in &vars {
                            tr {
                                td { code { "#" (v.variable_name) "#" } }
                                td { (env_name(&v.env_id)) }
                                td { code { (v.variable_value) } }
                                @if can_vars {
                                    td { a.danger href=(format!("{base}/variables/{}/delete", v.id)) aria-label=(format!("Delete #{}# in {}", v.variable_name, env_name(&v.env_id))) { "Delete" } }
                                }
                            }
                        }
                    }
                }
            }
            @if can_vars {
                @if let Some(msg) = form_error(e, &["variable_name", "variable_value"]) { p.error role="alert" { (msg) } }
                form method="post" action=(format!("{base}/variables")) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row {
                        div.field {
                            label for="var-env" { "Environment" }
                            select id="var-env" name="env_id" { @for env in &envs { option value=(env.id) selected[env.id == sent("variables", "env_id")] { (env.name) } } }
                        }
                        (field("var-name", "variable_name", "Name", &sent("variables", "variable_name"), e))
                        (field("var-value", "variable_value", "Value", &sent("variables", "variable_value"), e))
                    }
                    button type="submit" { "Add variable" }
                }
            }
        }
    };
    (status, page(signed, &g.name, "/console/groups", body)).into_response()
}

/// `GET /console/groups/{id}`.
pub async fn detail(State(console): State<Console>, signed: Signed, Path(id): Path<String>) -> Response {
    render(&console, &signed, &id, None).await
}

/// The outcome of a change on a group's page: back to it (at `anchor`), or the page with the error in `section`.
pub async fn done(console: &Console, signed: &Signed, group_id: &str, section: &'static str, form: &Form, outcome: causeway_model::Result<()>) -> Response {
    match outcome {
        Ok(()) => Redirect::to(&format!("/console/groups/{group_id}#{section}")).into_response(),
        Err(error) => render(console, signed, group_id, Some(Problem { section, error, form })).await,
    }
}

/// `POST /console/groups/{id}/edit` (`name`, `remark`).
pub async fn edit(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "PUT", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    // The group's throttling fields are kept as they are.
    let current = match console.service.get_group(&id).await {
        Ok(g) => g.group,
        Err(e) => return layout::failed(e),
    };
    let input = GroupInput {
        name: form.text("name"),
        remark: Some(form.text("remark").unwrap_or_default()),
        call_limits: current.call_limits.map(i64::from),
        time_interval: current.time_interval.map(i64::from),
        time_unit: current.time_unit.map(|u| u.as_str().to_string()),
        ..Default::default()
    };
    let outcome = console.service.update_group(&id, input).await.map(|_| ());
    console.audit(&signed, "PUT", &format!("/console/groups/{id}/edit"), "api-groups", &id, outcome.as_ref().map(|_| ())).await;
    done(&console, &signed, &id, "group", &form, outcome).await
}
