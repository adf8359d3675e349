//! Parameter mapping: how the caller's request becomes the backend's — the
//! method, the path with its `{params}`, the query, the headers (declared
//! inputs held back or defaulted, backend parameters from the request,
//! constants, system values and custom authorizers' answers), and the
//! forwarding headers. Compiled once per backend (FUNCTION backends too: the
//! mapped headers and query become the function's event).

use std::borrow::Cow;

use causeway_model::api::{BACKEND_AUTHORIZER_PREFIX, BackendParam, FRONTEND_AUTHORIZER_PREFIX, Method, ParamLocation, ParamOrigin};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Request};

use crate::http::error::{GatewayError, errors};
use crate::http::headers::{X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PORT, X_FORWARDED_PROTO, X_REAL_IP, remove_hop_by_hop};
use crate::observe::trace::TRACEPARENT;
use crate::http::query::{encode_path, encode_query, query_pairs};
use crate::stages::authn::context::AuthContext;
use crate::stages::params::InputParam;
use crate::upstream::UpBody;

#[derive(Debug)]
pub enum PathPart {
    Literal(Box<str>),
    /// A `{name}` filled by the PATH backend parameter of that name.
    Param(Box<str>),
}

#[derive(Debug, Clone, Copy)]
pub enum SystemValue {
    SourceIp,
    Stage,
    ApiId,
    ApiName,
    AppId,
    AppName,
    RequestId,
    TraceId,
    /// `http` or `https`, as the caller called.
    Scheme,
    /// When the request came, as an HTTP date (GMT).
    RequestTimeGmt,
    /// The gateway's name as Baidu's `BceProxy` gives it.
    Proxy,
    ServerAddr,
    ServerName,
    HandleTime,
    /// Values that exist only with features not present (the provider app).
    Empty,
}

/// Where a backend parameter's value comes from.
#[derive(Debug)]
pub enum ValueSource {
    /// Index of the input parameter.
    Request(usize),
    Constant(Box<str>),
    System(SystemValue),
    /// A key of a custom authorizer's context (`frontend` or backend).
    Authorizer { frontend: bool, key: Box<str> },
}

#[derive(Debug)]
pub struct MappedParam {
    pub location: ParamLocation,
    pub name: Box<str>,
    pub header: Option<HeaderName>,
    pub source: ValueSource,
}

fn system_value(name: &str) -> SystemValue {
    match name {
        "$context.sourceIp" => SystemValue::SourceIp,
        "$context.stage" => SystemValue::Stage,
        "$context.apiId" => SystemValue::ApiId,
        "$context.apiName" => SystemValue::ApiName,
        "$context.appId" => SystemValue::AppId,
        "$context.appName" => SystemValue::AppName,
        "$context.requestId" => SystemValue::RequestId,
        "$context.traceId" => SystemValue::TraceId,
        // Baidu's names (seed 003).
        "BceClientIp" => SystemValue::SourceIp,
        "BceRequestHandleTime" => SystemValue::RequestTimeGmt,
        "BceAppId" => SystemValue::AppId,
        "BceRequestId" => SystemValue::RequestId,
        "BceHttpSchema" => SystemValue::Scheme,
        "BceProxy" => SystemValue::Proxy,
        "$context.serverAddr" => SystemValue::ServerAddr,
        "$context.serverName" => SystemValue::ServerName,
        "$context.handleTime" => SystemValue::HandleTime,
        _ => SystemValue::Empty,
    }
}

/// Backend parameters: the API's, with a policy's replacing any of the same location and name.
pub fn compile_params(api: &[BackendParam], policy: &[BackendParam], input_names: &[String]) -> Vec<MappedParam> {
    let overridden = |p: &BackendParam| policy.iter().any(|q| q.location == p.location && q.name.eq_ignore_ascii_case(&p.name));
    api.iter()
        .filter(|p| !overridden(p))
        .chain(policy.iter())
        .filter_map(|p| {
            let source = match p.origin {
                ParamOrigin::Request => ValueSource::Request(input_names.iter().position(|n| *n == p.value)?),
                ParamOrigin::Constant => ValueSource::Constant(p.value.as_str().into()),
                ParamOrigin::System => match (p.value.strip_prefix(FRONTEND_AUTHORIZER_PREFIX), p.value.strip_prefix(BACKEND_AUTHORIZER_PREFIX)) {
                    (Some(key), _) => ValueSource::Authorizer { frontend: true, key: key.into() },
                    (_, Some(key)) => ValueSource::Authorizer { frontend: false, key: key.into() },
                    _ => ValueSource::System(system_value(&p.value)),
                },
            };
            Some(MappedParam {
                location: p.location,
                name: p.name.as_str().into(),
                header: match p.location {
                    ParamLocation::Header => HeaderName::from_bytes(p.name.as_bytes()).ok(),
                    _ => None,
                },
                source,
            })
        })
        .collect()
}

/// How a caller's request becomes the backend's.
#[derive(Debug)]
pub struct Mapping {
    /// `None` for `ANY`: the caller's method passes through.
    method: Option<http::Method>,
    path: Vec<PathPart>,
    /// The path, parsed once, when it has no `{param}`s: most requests reuse it as is.
    static_path: Option<http::uri::PathAndQuery>,
    params: Vec<MappedParam>,
    /// The `Host` the backend gets instead of the caller's (a channel's `vpc_proxy_host`).
    host: Option<HeaderValue>,
}

/// Everything a backend request is built from (the caller's headers move in separately).
pub struct MappingInput<'a> {
    pub method: &'a http::Method,
    pub uri: &'a http::Uri,
    pub inputs: &'a [InputParam],
    pub values: &'a [Option<Cow<'a, str>>],
    /// For SWA routes: the path after the matched prefix (`a/b` of `/files/a/b`), if any.
    pub remainder: Option<&'a str>,
    pub system: &'a dyn Fn(SystemValue) -> Cow<'a, str>,
    /// The TCP peer, appended to `X-Forwarded-For`.
    pub peer_ip: &'a str,
    pub peer_ip_value: &'a HeaderValue,
    /// The caller (the peer, or behind trusted proxies the address they forwarded), sent as `X-Real-IP`.
    pub client_ip_value: &'a HeaderValue,
    pub local_port_value: &'a HeaderValue,
    pub https: bool,
    /// `traceparent` for the backend: the request's trace, the gateway's span as parent.
    pub traceparent: [u8; 55],
    /// What the frontend and backend custom authorizers returned.
    pub frontend_authorizer: Option<&'a AuthContext>,
    pub backend_authorizer: Option<&'a AuthContext>,
}

impl Mapping {
    /// `path` has its `#variables#` substituted already.
    pub fn compile(method: Method, path: &str, params: Vec<MappedParam>) -> Self {
        let parts = split_path(path);
        let static_path = if parts.iter().all(|p| matches!(p, PathPart::Literal(_))) {
            http::uri::PathAndQuery::try_from(path).ok().filter(|p| p.query().is_none())
        } else {
            None
        };
        Self {
            method: match method {
                Method::Any => None,
                m => http::Method::from_bytes(m.as_str().as_bytes()).ok(),
            },
            path: parts,
            static_path,
            params,
            host: None,
        }
    }

    /// Sends `host` as the backend's `Host` instead of the caller's.
    pub fn with_host(mut self, host: Option<HeaderValue>) -> Self {
        self.host = host;
        self
    }

    fn value<'s>(&'s self, p: &'s MappedParam, ctx: &'s MappingInput<'_>) -> Option<Cow<'s, str>> {
        match &p.source {
            ValueSource::Request(i) => ctx.values.get(*i).and_then(|v| v.as_deref()).map(Cow::Borrowed),
            ValueSource::Constant(c) => Some(Cow::Borrowed(c)),
            ValueSource::System(s) => Some((ctx.system)(*s)),
            ValueSource::Authorizer { frontend, key } => {
                let context = if *frontend { ctx.frontend_authorizer } else { ctx.backend_authorizer };
                context.and_then(|c| c.get(key)).map(Cow::Borrowed)
            }
        }
    }

    /// Builds the backend request from the caller's, reusing its header map.
    pub fn build(&self, ctx: &MappingInput<'_>, headers: HeaderMap, body: UpBody) -> Result<Request<UpBody>, GatewayError> {
        let mut query = String::new();
        self.build_query(ctx, &mut query);
        let uri = match &self.static_path {
            // A fixed path and nothing to add: no formatting, no parsing.
            Some(path) if ctx.remainder.is_none() && query.is_empty() => http::Uri::from(path.clone()),
            _ => {
                let mut uri = String::with_capacity(64 + query.len());
                for part in &self.path {
                    match part {
                        PathPart::Literal(s) => uri.push_str(s),
                        PathPart::Param(name) => {
                            let mapped = self.params.iter().find(|p| p.location == ParamLocation::Path && p.name == *name);
                            if let Some(v) = mapped.and_then(|p| self.value(p, ctx)) {
                                encode_path(&mut uri, &v);
                            }
                        }
                    }
                }
                if let Some(rest) = ctx.remainder {
                    if !uri.ends_with('/') {
                        uri.push('/');
                    }
                    uri.push_str(rest);
                }
                uri.push_str(&query);
                http::Uri::try_from(uri)
                    .map_err(|_| errors::BAD_PARAMETER.with_message("The request cannot be mapped to a valid backend URI".into()))?
            }
        };
        let mut req = Request::new(body);
        *req.method_mut() = self.method.clone().unwrap_or_else(|| ctx.method.clone());
        *req.uri_mut() = uri;
        *req.headers_mut() = self.build_headers(ctx, headers)?;
        if let Some(host) = &self.host {
            req.headers_mut().insert(header::HOST, host.clone());
        }
        Ok(req)
    }

    fn build_query(&self, ctx: &MappingInput<'_>, uri: &mut String) {
        let mut first = true;
        let mut sep = |uri: &mut String| {
            uri.push(if first { '?' } else { '&' });
            first = false;
        };
        let query = ctx.uri.query().unwrap_or_default();
        let mapped = |k: &str| self.params.iter().any(|p| p.location == ParamLocation::Query && &*p.name == k);
        for (k, v) in query_pairs(query) {
            let held_back = ctx.inputs.iter().any(|p| p.location == ParamLocation::Query && &*p.name == k && !p.pass_through);
            if held_back || mapped(k) {
                continue;
            }
            sep(uri);
            uri.push_str(k);
            if !v.is_empty() {
                uri.push('=');
                uri.push_str(v);
            }
        }
        // Defaults of pass-through parameters the caller left out.
        for (p, v) in ctx.inputs.iter().zip(ctx.values) {
            if p.location == ParamLocation::Query && p.pass_through && !mapped(&p.name)
                && let Some(v) = v
                && !query_pairs(query).any(|(k, _)| k == &*p.name)
            {
                sep(uri);
                encode_query(uri, &p.name);
                uri.push('=');
                encode_query(uri, v);
            }
        }
        for p in self.params.iter().filter(|p| p.location == ParamLocation::Query) {
            if let Some(v) = self.value(p, ctx) {
                sep(uri);
                encode_query(uri, &p.name);
                uri.push('=');
                encode_query(uri, &v);
            }
        }
    }

    /// The backend's headers; a mapped value that is no header value (a CR, LF or NUL in it) is refused, never sent.
    fn build_headers(&self, ctx: &MappingInput<'_>, mut headers: HeaderMap) -> Result<HeaderMap, GatewayError> {
        remove_hop_by_hop(&mut headers);
        for (p, v) in ctx.inputs.iter().zip(ctx.values) {
            let Some(h) = &p.header else { continue };
            if !p.pass_through {
                headers.remove(h);
            } else if let Some(v) = v
                && !headers.contains_key(h)
                && let Ok(v) = HeaderValue::from_str(v)
            {
                // The default of an absent pass-through header.
                headers.insert(h.clone(), v);
            }
        }
        for p in &self.params {
            if let (Some(h), Some(v)) = (&p.header, self.value(p, ctx)) {
                let v = HeaderValue::from_str(&v).map_err(|_| errors::BAD_PARAMETER.with_message(format!("The value of {} cannot be sent in a header", p.name)))?;
                headers.insert(h.clone(), v);
            }
        }
        // Room for the forwarding headers at once rather than growing twice.
        headers.reserve(6);
        let host = match headers.get(header::HOST) {
            Some(h) => Some(h.clone()),
            None => {
                let host = ctx.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok());
                if let Some(h) = &host {
                    headers.insert(header::HOST, h.clone());
                }
                host
            }
        };
        let forwarded_for = match headers.get(X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
            Some(prior) => HeaderValue::from_str(&format!("{prior}, {}", ctx.peer_ip)).ok(),
            None => Some(ctx.peer_ip_value.clone()),
        };
        if let Some(v) = forwarded_for {
            headers.insert(X_FORWARDED_FOR, v);
        }
        headers.insert(X_REAL_IP, ctx.client_ip_value.clone());
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static(if ctx.https { "https" } else { "http" }));
        headers.insert(X_FORWARDED_PORT, ctx.local_port_value.clone());
        if let Some(h) = host {
            headers.insert(X_FORWARDED_HOST, h);
        }
        if let Ok(v) = HeaderValue::from_bytes(&ctx.traceparent) {
            headers.insert(TRACEPARENT, v);
        }
        Ok(headers)
    }
}


fn split_path(path: &str) -> Vec<PathPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            literal.push('/');
        }
        // `{name}`, or Baidu's `[name]`.
        let param = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')).or_else(|| seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')));
        match param.filter(|name| !name.is_empty()) {
            Some(name) => {
                parts.push(PathPart::Literal(std::mem::take(&mut literal).into()));
                parts.push(PathPart::Param(name.into()));
            }
            None => literal.push_str(seg),
        }
    }
    if !literal.is_empty() {
        parts.push(PathPart::Literal(literal.into()));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_split_at_their_params() {
        let parts = split_path("/v1/orders/{oid}/items");
        assert!(matches!(&parts[..], [PathPart::Literal(a), PathPart::Param(p), PathPart::Literal(b)] if &**a == "/v1/orders/" && &**p == "oid" && &**b == "/items"));
        assert!(Mapping::compile(Method::Get, "/fixed", Vec::new()).static_path.is_some());
        assert!(Mapping::compile(Method::Get, "/a/{x}", Vec::new()).static_path.is_none());
    }
}
