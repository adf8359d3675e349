//! A published API compiled for the request path: everything a request needs
//! is prepared here once, when the snapshot is built — its input parameters,
//! its backends and backend policies, its CORS answer, its metrics.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use causeway_model::api::route::PathMatch;
use causeway_model::api::{Api, MatchMode, ParamLocation, ReqProtocol};
use causeway_model::publish::{ApiVersion, Publication};
use http::HeaderMap;

use crate::backend::Backend;
use crate::backend::http::mapping::compile_params;
use crate::http::error::{GatewayError, errors};
use crate::observe::metrics::RouteMetrics;
use crate::routing::cors;
use crate::stages::params::{self, InputParam};
use crate::stages::policies::{ConditionInput, Policy};

/// One published API, ready to serve.
#[derive(Debug)]
pub struct Route {
    pub publish_id: String,
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
    /// The backend's body is built from the caller's (BODY parameters, body forwarding `MAPPING`): read whole.
    pub maps_body: bool,
    /// For REGEX routes with PATH parameters: the path's regex, whose named groups they read.
    pub path_regex: Option<regex::Regex>,
    /// Evaluated in order before falling back to `backend`.
    pub policies: Vec<Policy<Backend>>,
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

/// The backend a request goes to, and the custom authorizer that runs first, if any.
pub struct Choice<'r> {
    pub backend: &'r Backend,
    pub authorizer: Option<&'r str>,
}

impl Route {
    pub fn compile(publication: &Publication, env_name: Arc<str>, version: Arc<ApiVersion>, variables: &HashMap<String, String>) -> Self {
        let api: &Api = &version.api;
        let path_regex = (api.match_mode == MatchMode::Regex && api.req_params.iter().any(|p| p.location == ParamLocation::Path))
            .then(|| causeway_model::api::uri::compile_path_regex(&api.req_uri))
            .flatten();
        // The path as routed: `[name]` parameters as `{name}`, without a `=` or `^~` marker.
        let routed = api.route_path();
        let inputs: Vec<InputParam> = api.req_params.iter().map(|p| InputParam::compile(p, &routed.path, path_regex.as_ref())).collect();
        let input_names: Vec<String> = api.req_params.iter().map(|p| p.name.clone()).collect();
        // An SWA route passes what follows its prefix on to the backend (string prefixes do not).
        let prefix_segments = (routed.kind == PathMatch::SegmentPrefix).then(|| {
            let trimmed = routed.path.trim_end_matches('/');
            if trimmed.is_empty() { 0 } else { trimmed.trim_start_matches('/').split('/').count() }
        });
        let default = api.default_backend();
        let backend = match &default {
            Some(d) => Backend::compile(&d.backend, compile_params(&api.backend_params, &[], &api.req_params), variables),
            None => Backend::Unservable(format!("the {} backend has no definition", api.backend_type)),
        };
        let policies: Vec<Policy<Backend>> = api
            .policies()
            .map(|p| {
                let backend = Backend::compile(&p.backend, compile_params(&api.backend_params, p.backend_params, &api.req_params), variables);
                Policy::new(p.effect_mode, p.conditions, &input_names, backend, p.authorizer_id)
            })
            .collect();
        let calls_function = backend.calls_function() || policies.iter().any(|p| p.backend.calls_function());
        let maps_body = api.forwarding.body == causeway_model::api::ForwardMode::Mapping || backend.maps_body() || policies.iter().any(|p| p.backend.maps_body());
        Self {
            calls_function,
            maps_body,
            publish_id: publication.publish_id.clone(),
            reads_form: inputs.iter().any(|p| p.location == ParamLocation::Body),
            inputs,
            prefix_segments,
            path_regex,
            policies,
            cors_preflight: api.cors.then(|| cors::preflight_headers(api)),
            backend,
            backend_authorizer: default.and_then(|d| d.authorizer_id).map(Into::into),
            websocket: api.frontend_type == causeway_model::api::FrontendType::Websocket,
            api: version,
            env_name,
            metrics: OnceLock::new(),
        }
    }

    /// Its counters (registered on the first request).
    pub fn metrics(&self) -> &Arc<RouteMetrics> {
        self.metrics.get_or_init(|| RouteMetrics::of(&self.def().id, &self.env_name))
    }

    /// The backend for a request, with its custom authorizer: the first
    /// policy whose conditions hold (on what `input` gives, asked only when
    /// there are policies), else the default.
    pub fn select<'a>(&self, input: impl FnOnce() -> ConditionInput<'a>) -> Choice<'_> {
        let chosen = if self.policies.is_empty() {
            None
        } else {
            let input = input();
            self.policies.iter().find(|p| p.applies(&input))
        };
        match chosen {
            Some(p) => Choice { backend: &p.backend, authorizer: p.authorizer.as_deref() },
            None => Choice { backend: &self.backend, authorizer: self.backend_authorizer.as_deref() },
        }
    }

    /// A debug call's note of the backend chosen: a policy (by its name) or the default.
    pub fn describe(&self, choice: &Choice<'_>) -> String {
        let policy = self.policies.iter().position(|p| std::ptr::eq(&p.backend, choice.backend));
        let kind = self.def().backend_type;
        match policy.and_then(|i| self.def().policies().nth(i)) {
            Some(p) => {
                let kind = match p.backend {
                    causeway_model::api::BackendDef::Http(_) => "HTTP",
                    causeway_model::api::BackendDef::Mock(_) => "MOCK",
                    causeway_model::api::BackendDef::Function(_) => "FUNCTION",
                };
                format!("backend policy {:?} matched ({kind} backend)", p.name)
            }
            None if self.policies.is_empty() => format!("default {kind} backend"),
            None => format!("no backend policy matched: default {kind} backend"),
        }
    }

    pub fn def(&self) -> &Api {
        &self.api.api
    }

    /// The API's `req_protocol` against the listener the request came on → `APIG.0607`.
    pub fn check_protocol(&self, https: bool) -> Result<(), GatewayError> {
        match self.def().req_protocol {
            ReqProtocol::Both => Ok(()),
            ReqProtocol::Http if !https => Ok(()),
            ReqProtocol::Https if https => Ok(()),
            ReqProtocol::Http => Err(errors::HTTP_ONLY),
            ReqProtocol::Https => Err(errors::HTTPS_ONLY),
        }
    }

    /// A WebSocket API takes upgrades only, other APIs never.
    pub fn check_upgrade(&self, is_upgrade: bool) -> Result<(), GatewayError> {
        match (self.websocket, is_upgrade) {
            (true, false) => Err(errors::WEBSOCKET_ONLY),
            (false, true) => Err(errors::NOT_WEBSOCKET),
            _ => Ok(()),
        }
    }

    /// What its PATH parameters read from `path` (see [`params::path_values`]).
    pub fn path_values<'p>(&self, path: &'p str) -> Vec<&'p str> {
        params::path_values(&self.inputs, self.path_regex.as_ref(), path)
    }

    /// For SWA routes: the path after the prefix (`a/b` of `/files/a/b` under `/files`).
    pub fn remainder<'p>(&self, path: &'p str) -> Option<&'p str> {
        let n = self.prefix_segments?;
        let mut rest = path.strip_prefix('/')?;
        for _ in 0..n {
            match rest.find('/') {
                Some(i) => rest = &rest[i + 1..],
                None => return None,
            }
        }
        Some(rest)
    }
}
