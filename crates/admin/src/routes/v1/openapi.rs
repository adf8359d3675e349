//! OpenAPI (Swagger) import and export. v1.0 (and dedicated V1) send the
//! document as the body (`POST /openapi` new group, `PUT /openapi` existing
//! group) and export with `GET /openapi` / `POST /openapi/apis`; V2 and
//! ROMA upload it as `multipart/form-data` to `POST /openapi/import` and
//! export with `POST /openapi/export`.

use std::sync::Arc;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use causeway_model::openapi::{Define, Format, OasVersion};
use causeway_model::{ApiError, error::codes};
use serde::Deserialize;

use crate::http::{Family, Query, RawBody, Reply, decode_json, ok};
use crate::service::{Conflict, ExportRequest, ExportedDocument, ImportRequest, Service};

/// `POST /openapi`: a new group named by `info.title`.
pub async fn import_new(State(s): State<Arc<Service>>, family: Family, q: Query, RawBody(body): RawBody) -> Reply {
    let req = ImportRequest {
        document: body.to_vec(),
        extend_mode: Conflict::parse("extend_mode", q.get("extend_mode"))?,
        ..query_options(&q, family)?
    };
    ok(s.import_openapi(req).await?)
}

/// `PUT /openapi?group_id=&mode=`: into an existing group.
pub async fn import_existing(State(s): State<Arc<Service>>, family: Family, q: Query, RawBody(body): RawBody) -> Reply {
    let group_id = q.owned("group_id").ok_or_else(|| ApiError::required("group_id"))?;
    let req = ImportRequest {
        document: body.to_vec(),
        group_id: Some(group_id),
        api_mode: Conflict::parse("mode", q.get("mode"))?,
        extend_mode: Conflict::parse("extend_mode", q.get("extend_mode"))?,
        ..query_options(&q, family)?
    };
    ok(s.import_openapi(req).await?)
}

/// What v1.0's query adds to an import: Causeway's `mock_mode` and `publish_env_id`.
fn query_options(q: &Query, family: Family) -> Result<ImportRequest, ApiError> {
    Ok(ImportRequest {
        mock_mode: flag("mock_mode", q.get("mock_mode"))?.unwrap_or(false),
       
        dialect: family.dialect(),
        publish_env_id: q.owned("publish_env_id"),
        ..Default::default()
    })
}

/// `POST /openapi/import` (multipart): `file_name` (the document),
/// `is_create_group`, `group_id`, `api_mode`, `extend_mode`, `simple_mode`,
/// `mock_mode`, ROMA's `app_id`, and Causeway's `publish_env_id`.
pub async fn import_form(State(s): State<Arc<Service>>, family: Family, form: Result<Multipart, MultipartRejection>) -> Reply {
    let bad_form = || ApiError::detail(codes::MALFORMED, "the body must be multipart/form-data with the document in the file_name part");
    let mut form = form.map_err(|_| bad_form())?;
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut document: Option<axum::body::Bytes> = None;
    while let Some(field) = form.next_field().await.map_err(|_| bad_form())? {
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|_| ApiError::field(codes::TOO_LONG, &name))?;
        if name == "file_name" {
            document = Some(bytes);
        } else {
            let text = String::from_utf8(bytes.to_vec()).map_err(|_| ApiError::invalid(&name))?;
            fields.push((name, text));
        }
    }
    let get = |name: &str| fields.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str());
    let document = document.ok_or_else(|| ApiError::required("file_name"))?;
    flag("simple_mode", get("simple_mode"))?;
    let group_id = match flag("is_create_group", get("is_create_group"))?.unwrap_or(true) {
        true => None,
        false => Some(get("group_id").ok_or_else(|| ApiError::required("group_id"))?.to_string()),
    };
    let req = ImportRequest {
        document: document.to_vec(),
        group_id,
        api_mode: Conflict::parse("api_mode", get("api_mode"))?,
        extend_mode: Conflict::parse("extend_mode", get("extend_mode"))?,
        mock_mode: flag("mock_mode", get("mock_mode"))?.unwrap_or(false),
       
        dialect: family.dialect(),
        publish_env_id: get("publish_env_id").map(str::to_string),
    };
    ok(s.import_openapi(req).await?)
}

/// `GET /openapi?group_id=&env_id=&define=&type=&version=` (and Causeway's `oas_version`).
pub async fn export_group(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let group_id = q.owned("group_id").ok_or_else(|| ApiError::required("group_id"))?;
    let req = export_options(group_id, q.owned("env_id"), q.get("define"), q.get("type"), q.owned("version"), q.get("oas_version"), None)?;
    Ok(document(s.export_openapi(req).await?))
}

/// `POST /openapi/apis?env_id=&define=&type=&version=` with a JSON list of API ids (of one group).
pub async fn export_apis(State(s): State<Arc<Service>>, q: Query, RawBody(body): RawBody) -> Reply {
    let ids: Vec<String> = serde_json::from_slice(&body).map_err(|_| ApiError::malformed("body"))?;
    let first = ids.first().ok_or_else(|| ApiError::required("body"))?;
    let group_id = s.get_api(first).await?.api.group_id;
    let req = export_options(group_id, q.owned("env_id"), q.get("define"), q.get("type"), q.owned("version"), q.get("oas_version"), Some(ids))?;
    Ok(document(s.export_openapi(req).await?))
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportBody {
    env_id: Option<String>,
    group_id: Option<String>,
    define: Option<String>,
    #[serde(rename = "type")]
    format: Option<String>,
    version: Option<String>,
    apis: Option<Vec<String>>,
}

/// V2's `POST /openapi/export?oas_version=` with `{env_id, group_id, define, type, version, apis}`.
pub async fn export_form(State(s): State<Arc<Service>>, q: Query, RawBody(body): RawBody) -> Reply {
    let b: ExportBody = decode_json(&body)?;
    let group_id = b.group_id.filter(|g| !g.is_empty()).ok_or_else(|| ApiError::required("group_id"))?;
    let apis = b.apis.filter(|a| !a.is_empty());
    let req = export_options(group_id, b.env_id.filter(|e| !e.is_empty()), b.define.as_deref(), b.format.as_deref(), b.version, q.get("oas_version"), apis)?;
    Ok(document(s.export_openapi(req).await?))
}

fn export_options(
    group_id: String,
    env_id: Option<String>,
    define: Option<&str>,
    format: Option<&str>,
    version: Option<String>,
    oas: Option<&str>,
    api_ids: Option<Vec<String>>,
) -> Result<ExportRequest, ApiError> {
    let define = define.map(|d| Define::parse(d).ok_or_else(|| ApiError::invalid("define"))).transpose()?.unwrap_or(Define::Base);
    let format = format.map(|f| Format::parse(f).ok_or_else(|| ApiError::invalid("type"))).transpose()?.unwrap_or(Format::Json);
    let oas = oas.map(|v| OasVersion::parse(v).ok_or_else(|| ApiError::invalid("oas_version"))).transpose()?.unwrap_or(OasVersion::V2);
    if let Some(v) = &version {
        causeway_model::rules::check_len("version", v, 1, 64)?;
        causeway_model::rules::check_printable("version", v)?;
    }
    if env_id.is_none() && define != Define::Dev {
        return Err(ApiError::required("env_id"));
    }
    Ok(ExportRequest { group_id, env_id, define, oas, format, version, api_ids })
}

/// The document as a file: its media type and a download name.
fn document(d: ExportedDocument) -> axum::response::Response {
    let mut res = (StatusCode::OK, d.text).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(d.format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", d.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `true`/`false` form and query flags.
fn flag(field: &str, v: Option<&str>) -> Result<Option<bool>, ApiError> {
    match v.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::invalid(field)),
    }
}
