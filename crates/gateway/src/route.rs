//! A published API compiled for the request path: everything a request needs
//! is prepared here once, when the snapshot is built.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use causeway_model::api::{Api, BackendType, MatchMode, ReqProtocol, mock_headers};
use causeway_model::publish::{ApiVersion, Publication};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// A canned answer (the MOCK backend or a mock policy).
#[derive(Debug, Clone)]
pub struct MockResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl MockResponse {
    fn compile(status: u16, header: Option<&str>, content: Option<&str>) -> Self {
        let mut headers = HeaderMap::new();
        for h in mock_headers(header) {
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(h.key.as_bytes()), HeaderValue::from_str(&h.value)) {
                headers.append(name, value);
            }
        }
        if !headers.contains_key(http::header::CONTENT_TYPE) {
            headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            headers,
            body: Bytes::copy_from_slice(content.unwrap_or_default().as_bytes()),
        }
    }
}

/// What the route calls.
#[derive(Debug, Clone)]
pub enum Backend {
    Mock(MockResponse),
    /// Backends this version of the gateway does not serve yet.
    Unsupported(BackendType),
}

/// One published API, ready to serve.
#[derive(Debug)]
pub struct Route {
    pub publish_id: String,
    pub version_id: String,
    pub api: Arc<ApiVersion>,
    /// Segment index → name of each `{param}` of the frontend path.
    pub path_params: Vec<(usize, Box<str>)>,
    pub backend: Backend,
}

impl Route {
    pub fn compile(publication: &Publication, version: Arc<ApiVersion>, _variables: &HashMap<String, String>) -> Self {
        let api: &Api = &version.api;
        let path_params = api
            .req_uri
            .trim_start_matches('/')
            .split('/')
            .enumerate()
            .filter_map(|(i, seg)| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')).map(|name| (i, name.into())))
            .collect();
        let backend = match (api.backend_type, &api.mock_info) {
            (BackendType::Mock, Some(m)) => Backend::Mock(MockResponse::compile(m.status_code, m.header.as_deref(), m.result_content.as_deref())),
            (other, _) => Backend::Unsupported(other),
        };
        Self { publish_id: publication.publish_id.clone(), version_id: version.version_id.clone(), path_params, backend, api: version }
    }

    pub fn def(&self) -> &Api {
        &self.api.api
    }

    pub fn match_mode(&self) -> MatchMode {
        self.def().match_mode
    }

    /// Whether a request over plain HTTP (`https == false`) may call it.
    pub fn allows(&self, https: bool) -> bool {
        match self.def().req_protocol {
            ReqProtocol::Both => true,
            ReqProtocol::Http => !https,
            ReqProtocol::Https => https,
        }
    }
}
