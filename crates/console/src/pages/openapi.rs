//! Import and export of OpenAPI (Swagger) files: upload a Swagger 2.0 or
//! OpenAPI 3.0 file (JSON or YAML) into a new or existing group and see
//! what happened to each API; download a group's APIs as published in an
//! environment (or the drafts) with the gateway's extensions.

use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use causeway_admin::service::{Conflict, EnvFilter, ExportRequest, GroupFilter, ImportRequest, ImportResult, Paging};
use causeway_model::ApiError;
use causeway_model::openapi::{Define, Format, OasVersion};
use maud::html;

use super::layout::{self, page};
use crate::{Console, QueryMap, Signed, forbidden};

const CURRENT: &str = "/console/openapi";
/// The largest file taken (the management API's limit).
const MAX_FILE: usize = 8 * 1024 * 1024;

async fn render(console: &Console, signed: &Signed, outcome: Option<Result<ImportResult, ApiError>>) -> Response {
    let groups = console.service.list_groups(&GroupFilter { paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let envs = console.service.list_envs(&EnvFilter { paging: Paging::page(1, 500), ..Default::default() }).await.map(|p| p.items).unwrap_or_default();
    let status = match &outcome {
        Some(Err(e)) => StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { "Import and export" }
        p.lead { "OpenAPI files in and out: Swagger 2.0 or OpenAPI 3.0, JSON or YAML, with the x-apigateway-* extensions the cloud gateways use." }
        @match &outcome {
            Some(Ok(r)) => {
                section.card.wide aria-labelledby="imported" role="status" {
                    h2 id="imported" { "Imported: " (r.success.len()) " APIs, " (r.failure.len()) " failed, " (r.ignore.len()) " kept as they were" }
                    p { a href=(format!("/console/apis?group_id={}", r.group_id)) { "See the group's APIs" } }
                    @if !r.failure.is_empty() {
                        table {
                            caption { "Not imported" }
                            thead { tr { th { "Request" } th { "Why" } } }
                            tbody { @for f in &r.failure { tr { td { code { (f.method) " " (f.path) } } td.error { (f.error_msg) " (" (f.error_code) ")" } } } }
                        }
                    }
                    @if !r.success.is_empty() {
                        table {
                            caption { "Imported" }
                            thead { tr { th { "Request" } th { "Done" } } }
                            tbody { @for s in &r.success { tr { td { a href=(format!("/console/apis/{}", s.id)) { code { (s.method) " " (s.path) } } } td { (s.action) "d" } } } }
                        }
                    }
                }
            },
            Some(Err(e)) => p.error role="alert" { "Nothing was imported: " (e.message) " (" (e.code) ")" },
            None => {},
        }
        @if signed.may("POST", "/openapi/import") {
            section.card aria-labelledby="import" {
                h2 id="import" { "Import" }
                form method="post" action="/console/openapi/import" enctype="multipart/form-data" data-busy="Importing…" {
                    input type="hidden" name="csrf" value=(signed.session.csrf);
                    label for="import-file" { "File" }
                    input id="import-file" name="file" type="file" accept=".json,.yaml,.yml,application/json,application/yaml" required;
                    label for="import-group" { "Into" }
                    select id="import-group" name="group_id" {
                        option value="" { "a new group named by the file's title" }
                        @for g in &groups { option value=(g.group.id) { "the group " (g.group.name) } }
                    }
                    label for="import-mode" { "APIs that exist already (same method and path)" }
                    select id="import-mode" name="api_mode" { option value="merge" { "keep them" } option value="override" { "replace them" } }
                    label.check { input type="checkbox" name="mock_mode" value="1"; " Answer every imported API with a mock (its example)" }
                    button type="submit" { "Import" }
                }
            }
        }
        section.card aria-labelledby="export" {
            h2 id="export" { "Export" }
            @if groups.is_empty() { p.empty { "No groups to export yet." } } @else {
                form method="get" action="/console/openapi/export" {
                    label for="export-group" { "Group" }
                    select id="export-group" name="group_id" { @for g in &groups { option value=(g.group.id) { (g.group.name) } } }
                    label for="export-what" { "What" }
                    select id="export-what" name="define" {
                        option value="all" { "everything published in the environment" }
                        option value="full" { "frontends and backends" }
                        option value="base" { "frontends only" }
                        option value="dev" { "the drafts, as they are now" }
                    }
                    label for="export-env" { "Environment" }
                    select id="export-env" name="env_id" { @for e in &envs { option value=(e.id) { (e.name) } } }
                    div.row {
                        div.field { label for="export-oas" { "Version" } select id="export-oas" name="oas" { option value="2.0" { "Swagger 2.0" } option value="3.0" { "OpenAPI 3.0" } } }
                        div.field { label for="export-format" { "Format" } select id="export-format" name="format" { option value="yaml" { "YAML" } option value="json" { "JSON" } } }
                    }
                    button type="submit" { "Download" }
                }
            }
        }
    };
    (status, page(signed, "Import and export", CURRENT, body)).into_response()
}

/// `GET /console/openapi`.
pub async fn show(State(console): State<Console>, signed: Signed) -> Response {
    render(&console, &signed, None).await
}

/// `POST /console/openapi/import` (multipart: `csrf`, `file`, `group_id`, `api_mode`, `mock_mode`).
pub async fn import(State(console): State<Console>, signed: Signed, headers: HeaderMap, mut multipart: Multipart) -> Response {
    let (mut csrf, mut document, mut group_id, mut api_mode, mut mock_mode) = (None, None, None, None, false);
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return crate::forms::Refused.into_response(),
        };
        let name = field.name().unwrap_or_default().to_string();
        let Ok(bytes) = field.bytes().await else { return crate::forms::Refused.into_response() };
        let text = || String::from_utf8_lossy(&bytes).trim().to_string();
        match name.as_str() {
            "csrf" => csrf = Some(text()),
            "file" => document = Some(bytes.to_vec()),
            "group_id" => group_id = Some(text()).filter(|g| !g.is_empty()),
            "api_mode" => api_mode = Some(text()),
            "mock_mode" => mock_mode = text() == "1",
            _ => {}
        }
    }
    // The same checks as every form: this origin, the session's token, the role.
    let same_origin = match (headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()), headers.get(header::HOST).and_then(|v| v.to_str().ok())) {
        (Some(origin), Some(host)) => origin.split_once("://").map_or(origin, |(_, rest)| rest) == host,
        _ => true,
    };
    if !same_origin || !csrf.is_some_and(|t| signed.session.csrf_ok(&t)) {
        return crate::forms::Refused.into_response();
    }
    if !signed.may("POST", "/openapi/import") {
        return forbidden();
    }
    let document = document.unwrap_or_default();
    let outcome = if document.len() > MAX_FILE {
        Err(ApiError::new(causeway_model::error::codes::SWAGGER_TOO_LONG))
    } else {
        match Conflict::parse("api_mode", api_mode.as_deref()) {
            Ok(mode) => console.service.import_openapi(ImportRequest { document, group_id, api_mode: mode, mock_mode, ..Default::default() }).await,
            Err(e) => Err(e),
        }
    };
    let id = outcome.as_ref().map(|r| r.group_id.clone()).unwrap_or_default();
    console.audit(&signed, "POST", "/console/openapi/import", "openapi", &id, outcome.as_ref().map(|_| ())).await;
    render(&console, &signed, Some(outcome)).await
}

/// `GET /console/openapi/export?group_id=&env_id=&define=&oas=&format=`: the file, as a download.
pub async fn export(State(console): State<Console>, signed: Signed, QueryMap(q): QueryMap) -> Response {
    if !signed.may("POST", "/openapi/export") {
        return forbidden();
    }
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let define = Define::parse(get("define")).unwrap_or(Define::All);
    let req = ExportRequest {
        group_id: get("group_id").to_string(),
        env_id: (define != Define::Dev).then(|| get("env_id").to_string()),
        define,
        oas: OasVersion::parse(get("oas")).unwrap_or(OasVersion::V2),
        format: Format::parse(get("format")).unwrap_or(Format::Yaml),
        version: None,
        api_ids: None,
    };
    match console.service.export_openapi(req).await {
        Ok(doc) => {
            let disposition = format!("attachment; filename=\"{}\"", doc.file_name.replace(['"', '\\', '\r', '\n'], "_"));
            ([(header::CONTENT_TYPE, doc.format.content_type().to_string()), (header::CONTENT_DISPOSITION, disposition)], doc.text).into_response()
        }
        Err(e) => layout::not_done(&signed, "Nothing was exported", &e, CURRENT, "Back", CURRENT),
    }
}
