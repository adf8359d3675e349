//! MOCK backends: a canned answer compiled once (status, headers, body) and
//! handed out as is.

use bytes::Bytes;
use causeway_model::api::{MockBackend, mock_headers};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};

use crate::http::body::Body;

/// A canned answer (the MOCK backend or a mock policy).
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl MockResponse {
    pub fn compile(def: &MockBackend<'_>) -> Self {
        let mut headers = HeaderMap::new();
        for h in mock_headers(def.header) {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(h.key.as_bytes()), HeaderValue::from_str(&h.value)) {
                headers.append(name, value);
            }
        }
        if !headers.contains_key(http::header::CONTENT_TYPE) {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Self {
            status: StatusCode::from_u16(def.status_code).unwrap_or(StatusCode::OK),
            headers,
            body: Bytes::copy_from_slice(def.result_content.unwrap_or_default().as_bytes()),
        }
    }

    /// The answer.
    pub fn respond(&self) -> Response<Body> {
        let mut res = Response::new(Body::full(self.body.clone()));
        *res.status_mut() = self.status;
        *res.headers_mut() = self.headers.clone();
        res
    }
}

