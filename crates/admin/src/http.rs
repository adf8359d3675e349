//! HTTP plumbing shared by the route families: the JSON body extractor,
//! query-string parsing, responses and the error response.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_model::ApiError;
use causeway_model::error::codes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::service::{MAX_PAGE_SIZE, Page, Paging};

/// Largest management request body.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// An [`ApiError`] as an HTTP response: its status and `{"error_code","error_msg"}`.
#[derive(Debug)]
pub struct Failure(pub ApiError);

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

/// The error code a response answered (kept on the response for the audit log).
#[derive(Debug, Clone, Copy)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = (status, axum::Json(self.0.body())).into_response();
        res.extensions_mut().insert(ErrorCode(self.0.code));
        res
    }
}

pub type Reply = Result<Response, Failure>;

/// A JSON body decoded into `T`. A body that is too large, not JSON, or holds a
/// value of the wrong type for a field is a 400 naming the field
/// (`backend_api.timeout`, `req_params[1].name`, or `body` for the whole).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Failure> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::field(codes::TOO_LONG, "body"))?;
        decode_json(&bytes).map(JsonBody).map_err(Failure)
    }
}

/// A body as bytes (an OpenAPI document, a list): too large → `APIG.2006` naming `body`.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Failure;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Failure> {
        let bytes = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map_err(|_| ApiError::field(codes::TOO_LONG, "body"))?;
        Ok(RawBody(bytes))
    }
}

/// Decodes JSON, naming the field where decoding failed. An empty body is `{}`.
pub fn decode_json<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    // Bodies are JSON objects (serde would also read a struct from an array).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::malformed("body"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        // Broken JSON is the body's fault; a value of the wrong type is its field's.
        let path = e.path().to_string();
        let syntax = matches!(e.inner().classify(), serde_json::error::Category::Syntax | serde_json::error::Category::Eof);
        ApiError::malformed(if syntax || path == "." || path.is_empty() { "body" } else { &path })
    })?;
    de.end().map_err(|_| ApiError::malformed("body"))?;
    Ok(value)
}

/// Which path family a call came in by; the V2 router marks its requests,
/// so that handlers shared with v1.0 page and shape their answers as V2 does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Family {
    /// `/v1.0/apigw` and the dedicated V1 `/v1/{project_id}/apigw/instances/{instance_id}`.
    #[default]
    V1,
    /// `/v2/{project_id}/apigw/instances/{instance_id}`.
    V2,
    /// ROMA Connect's APIC: `/v1/` and `/v2/{project_id}/apic/instances/{instance_id}`.
    Roma,
}

impl Family {
    /// The naming rules of bodies sent by this family.
    pub fn dialect(self) -> causeway_model::rules::Dialect {
        match self {
            Family::V1 => causeway_model::rules::Dialect::Apig,
            Family::V2 => causeway_model::rules::Dialect::Wide,
            Family::Roma => causeway_model::rules::Dialect::Roma,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Family {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<Family>().copied().unwrap_or_default())
    }
}

/// The decoded query string (and the family whose paging rules apply).
#[derive(Debug, Default)]
pub struct Query(Vec<(String, String)>, Family);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Failure> {
        let q = parts.uri.query().unwrap_or_default();
        let family = parts.extensions.get::<Family>().copied().unwrap_or_default();
        Ok(Query(form_urlencoded::parse(q.as_bytes()).into_owned().collect(), family))
    }
}

impl Query {
    /// A non-empty parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str())
    }

    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_string)
    }

    /// Whether `precise_search` (a comma-separated list of field names) names `field`.
    pub fn precise(&self, field: &str) -> bool {
        self.get("precise_search").is_some_and(|p| p.split(',').any(|f| f.trim() == field))
    }

    /// The family's paging: v1.0 [`Query::page_paging`], V2 [`Query::offset_paging`].
    pub fn paging(&self) -> Result<Paging, ApiError> {
        match self.1 {
            Family::V1 => self.page_paging(),
            Family::V2 | Family::Roma => self.offset_paging(),
        }
    }

    /// `page_no` (from 1, default 1) and `page_size` (1–500, default 20).
    pub fn page_paging(&self) -> Result<Paging, ApiError> {
        let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiError> {
            match self.get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<usize>() {
                    Ok(n) if n >= 1 && n <= max => Ok(n),
                    _ => Err(ApiError::invalid(name)),
                },
            }
        };
        Ok(Paging::page(number("page_no", 1, usize::MAX / 2)?, number("page_size", 20, MAX_PAGE_SIZE)?))
    }

    /// V2's `offset` (from 0, default 0) and `limit` (1–500, default 20).
    pub fn offset_paging(&self) -> Result<Paging, ApiError> {
        let offset = match self.get("offset") {
            None => 0,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n <= usize::MAX / 2).ok_or_else(|| ApiError::invalid("offset"))?,
        };
        let limit = match self.get("limit") {
            None => 20,
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(|| ApiError::invalid("limit"))?,
        };
        Ok(Paging { offset, limit })
    }
}

pub fn created<T: Serialize>(v: T) -> Reply {
    Ok((StatusCode::CREATED, axum::Json(v)).into_response())
}

pub fn ok<T: Serialize>(v: T) -> Reply {
    Ok((StatusCode::OK, axum::Json(v)).into_response())
}

pub fn no_content() -> Reply {
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A listing: `{"total":N,"size":n,"<key>":[...]}`.
pub fn page<T: Serialize>(key: &'static str, page: Page<T>) -> Reply {
    #[derive(Serialize)]
    struct Body<T> {
        total: usize,
        size: usize,
        #[serde(flatten)]
        items: std::collections::HashMap<&'static str, Vec<T>>,
    }
    let size = page.items.len();
    ok(Body { total: page.total, size, items: std::collections::HashMap::from([(key, page.items)]) })
}

/// A management call's request id (on the request, for the audit log).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Every management response carries a request id, as the cloud gateways' do.
pub async fn request_id(mut req: Request, next: axum::middleware::Next) -> Response {
    let id = causeway_model::ids::new_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// Unknown paths and methods.
pub async fn not_found() -> Failure {
    Failure(ApiError::new(codes::RESOURCE_NOT_FOUND))
}
