//! A published API compiled for the request path: everything a request needs
//! is prepared here once, when the snapshot is built.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use causeway_model::api::{Api, BackendType, MatchMode, ParamLocation, ReqProtocol, mock_headers};
use causeway_model::publish::{ApiVersion, Publication};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::function_backend::FunctionTarget;
use crate::http_backend::{Address, HttpTarget, compile_params};
use crate::observe::RouteMetrics;
use crate::params::InputParam;
use crate::policy::{Facts, Policy};

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
#[derive(Debug)]
pub enum Backend {
    Mock(MockResponse),
    Http(HttpTarget),
    Function(FunctionTarget),
    /// A definition this gateway cannot serve (a backend kind it does not have
    /// yet, or a variable with no value); requests get `APIG.0105` saying why.
    Unservable(String),
}

/// Headers the gateway answers a CORS preflight with (the cloud gateways' set,
/// plus the API's declared header parameters).
fn preflight_headers(api: &Api) -> HeaderMap {
    let mut allow = String::from(
        "X-Stage,X-Sdk-Date,X-Sdk-Nonce,X-Proxy-Signed-Headers,X-Sdk-Content-Sha256,X-Forwarded-For,Authorization,Content-Type,Accept,Accept-Ranges,Cache-Control,Range",
    );
    for p in api.req_params.iter().filter(|p| p.location == ParamLocation::Header) {
        allow.push(',');
        allow.push_str(&p.name);
    }
    let mut h = HeaderMap::new();
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    if let Ok(v) = HeaderValue::from_str(&allow) {
        h.insert("access-control-allow-headers", v);
    }
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("X-Request-Id,X-Apig-Latency,X-Apig-Upstream-Latency,X-Apig-RateLimit-api,X-Apig-RateLimit-user,X-Apig-RateLimit-app,X-Apig-RateLimit-ip,X-Apig-RateLimit-api-allenv"),
    );
    h.insert("access-control-allow-methods", HeaderValue::from_static("GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH"));
    h.insert("access-control-max-age", HeaderValue::from_static("172800"));
    h
}

fn http_backend(target: Result<HttpTarget, String>) -> Backend {
    match target {
        Ok(t) => Backend::Http(t),
        Err(e) => Backend::Unservable(e),
    }
}

fn function_backend(target: Result<FunctionTarget, String>) -> Backend {
    match target {
        Ok(t) => Backend::Function(t),
        Err(e) => Backend::Unservable(e),
    }
}

/// One published API, ready to serve.
#[derive(Debug)]
pub struct Route {
    pub publish_id: String,
    pub version_id: String,
    pub api: Arc<ApiVersion>,
    /// The environment it is published in (for logs and metric labels).
    pub env_name: Arc<str>,
    /// The declared input parameters.
    pub inputs: Vec<InputParam>,
    /// For SWA routes, how many path segments the prefix has.
    pub prefix_segments: Option<usize>,
    /// Some input parameter is a form field: the body is read before the backend call.
    pub reads_form: bool,
    /// A function may be called: the body is read whole for its event.
    pub calls_function: bool,
    /// For REGEX routes with PATH parameters: the path's regex, whose named groups they read.
    pub path_regex: Option<regex::Regex>,
    /// Evaluated in order before falling back to `backend`.
    pub policies: Vec<Policy>,
    /// The preflight answer, when CORS is on.
    pub cors_preflight: Option<HeaderMap>,
    pub backend: Backend,
    /// The default backend's custom authorizer, if any.
    pub backend_authorizer: Option<Box<str>>,
    /// A WebSocket frontend: only upgrades are taken, and proxied as connections.
    pub websocket: bool,
    /// Registered on the first request.
    metrics: OnceLock<Arc<RouteMetrics>>,
}

impl std::fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouteMetrics")
    }
}

impl Route {
    pub fn compile(publication: &Publication, env_name: Arc<str>, version: Arc<ApiVersion>, variables: &HashMap<String, String>) -> Self {
        let api: &Api = &version.api;
        let path_regex = (api.match_mode == MatchMode::Regex && api.req_params.iter().any(|p| p.location == ParamLocation::Path))
            .then(|| causeway_model::api::uri::compile_path_regex(&api.req_uri))
            .flatten();
        let inputs: Vec<InputParam> = api.req_params.iter().map(|p| InputParam::compile(p, &api.req_uri, path_regex.as_ref())).collect();
        let input_names: Vec<String> = api.req_params.iter().map(|p| p.name.clone()).collect();
        let prefix_segments = (api.match_mode == MatchMode::Swa).then(|| {
            let trimmed = api.req_uri.trim_end_matches('/');
            if trimmed.is_empty() { 0 } else { trimmed.trim_start_matches('/').split('/').count() }
        });
        let backend = match api.backend_type {
            BackendType::Mock => match &api.mock_info {
                Some(m) => Backend::Mock(MockResponse::compile(m.status_code, m.header.as_deref(), m.result_content.as_deref())),
                None => Backend::Unservable("the MOCK backend has no definition".into()),
            },
            BackendType::Http => match &api.backend_api {
                Some(b) => http_backend(
                    HttpTarget::compile(
                        Address::of(b.vpc_status, b.vpc_info.as_ref(), b.url_domain.as_deref(), Some((&b.id, &b.url_domains))),
                        b.req_protocol,
                        b.req_method,
                        &b.req_uri,
                        b.timeout,
                        compile_params(&api.backend_params, &[], &input_names),
                        variables,
                    )
                    .map(|t| t.with_retries(b.retry_count).with_client_cert(b.enable_client_ssl).with_http2(b.http2)),
                ),
                None => Backend::Unservable("the HTTP backend has no definition".into()),
            },
            BackendType::Function => match &api.func_info {
                Some(f) => function_backend(FunctionTarget::compile(
                    &f.function_urn,
                    f.version.as_deref(),
                    f.alias_urn.as_deref(),
                    f.timeout,
                    f.invocation_type,
                    compile_params(&api.backend_params, &[], &input_names),
                )),
                None => Backend::Unservable("the FUNCTION backend has no definition".into()),
            },
        };
        let default_timeout = api.backend_api.as_ref().map_or(5000, |b| b.timeout);
        let mut policies = Vec::new();
        for p in &api.policy_https {
            let params = compile_params(&api.backend_params, &p.backend_params, &input_names);
            let timeout = p.timeout.unwrap_or(default_timeout);
            let address = Address::of(p.vpc_status, p.vpc_info.as_ref(), p.url_domain.as_deref(), None);
            let target = HttpTarget::compile(address, p.req_protocol, p.req_method, &p.req_uri, timeout, params, variables);
            let backend = http_backend(target.map(|t| t.with_retries(p.retry_count).with_client_cert(p.enable_client_ssl).with_http2(p.http2)));
            policies.push(Policy::new(&p.name, p.effect_mode, &p.conditions, &input_names, backend).with_authorizer(p.authorizer_id.as_deref()));
        }
        for p in &api.policy_mocks {
            let backend = Backend::Mock(MockResponse::compile(p.status_code, p.header.as_deref(), p.result_content.as_deref()));
            policies.push(Policy::new(&p.name, p.effect_mode, &p.conditions, &input_names, backend).with_authorizer(p.authorizer_id.as_deref()));
        }
        for p in &api.policy_functions {
            let timeout = p.timeout.unwrap_or_else(|| api.func_info.as_ref().map_or(default_timeout, |f| f.timeout));
            let params = compile_params(&api.backend_params, &p.backend_params, &input_names);
            let backend = function_backend(FunctionTarget::compile(&p.function_urn, p.version.as_deref(), p.alias_urn.as_deref(), timeout, p.invocation_type, params));
            policies.push(Policy::new(&p.name, p.effect_mode, &p.conditions, &input_names, backend).with_authorizer(p.authorizer_id.as_deref()));
        }
        let backend_authorizer = match api.backend_type {
            BackendType::Http => api.backend_api.as_ref().and_then(|b| b.authorizer_id.as_deref()),
            BackendType::Mock => api.mock_info.as_ref().and_then(|m| m.authorizer_id.as_deref()),
            BackendType::Function => api.func_info.as_ref().and_then(|f| f.authorizer_id.as_deref()),
        }
        .map(Into::into);
        let calls_function = matches!(backend, Backend::Function(_)) || policies.iter().any(|p| matches!(p.backend, Backend::Function(_)));
        Self {
            calls_function,
            publish_id: publication.publish_id.clone(),
            version_id: version.version_id.clone(),
            reads_form: inputs.iter().any(|p| p.location == ParamLocation::Body),
            inputs,
            prefix_segments,
            path_regex,
            policies,
            cors_preflight: api.cors.then(|| preflight_headers(api)),
            backend,
            backend_authorizer,
            websocket: api.frontend_type == causeway_model::api::FrontendType::Websocket,
            api: version,
            env_name,
            metrics: OnceLock::new(),
        }
    }

    pub fn metrics(&self) -> &RouteMetrics {
        self.metrics.get_or_init(|| RouteMetrics::of(&self.def().id, &self.env_name))
    }

    /// The backend for a request, with its custom authorizer: the first policy that applies, else the default.
    pub fn select(&self, facts: &Facts<'_>) -> (&Backend, Option<&str>) {
        match self.policies.iter().find(|p| p.applies(facts)) {
            Some(p) => (&p.backend, p.authorizer.as_deref()),
            None => (&self.backend, self.backend_authorizer.as_deref()),
        }
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
