//! Parameter mapping: how the caller's request becomes the backend's — the
//! method, the path with its `{params}`, the query, the headers (declared
//! inputs held back or defaulted, backend parameters from the request,
//! constants, system values and custom authorizers' answers), and the
//! forwarding headers. Compiled once per backend (FUNCTION backends too: the
//! mapped headers and query become the function's event).

use std::borrow::Cow;

use bytes::Bytes;
use causeway_model::api::{BACKEND_AUTHORIZER_PREFIX, BackendParam, FRONTEND_AUTHORIZER_PREFIX, ForwardMode, Forwarding, Method, ParamLocation, ParamOrigin, ParamType, ReqParam};
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
    /// The caller's `User-Agent` (Baidu's `BceClientUa`).
    ClientUa,
    /// The host the caller called, without a port (Baidu's `BceDomain`).
    Domain,
    /// Values that exist only with features not present (the provider app).
    Empty,
}

/// Values read from the caller's headers, kept apart before the headers
/// move on to the backend (only when a parameter reads them).
#[derive(Debug, Default)]
pub struct CallerValues {
    pub user_agent: Option<String>,
    pub domain: Option<String>,
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
    /// What a JSON body gets for a BODY parameter: the constant's type, or the input's.
    pub json: JsonKind,
}

/// A value's type in a JSON body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    String,
    Number,
    Boolean,
}

impl JsonKind {
    fn of(t: ParamType) -> Self {
        match t {
            ParamType::String => JsonKind::String,
            ParamType::Boolean => JsonKind::Boolean,
            ParamType::Number | ParamType::Int | ParamType::Long | ParamType::Float | ParamType::Double => JsonKind::Number,
        }
    }

    /// The value as this type, or as a string when it is not one.
    fn value(self, v: &str) -> serde_json::Value {
        let number = || v.parse::<i64>().map(serde_json::Value::from).ok().or_else(|| v.parse::<f64>().ok().and_then(|f| serde_json::Number::from_f64(f).map(serde_json::Value::Number)));
        match self {
            JsonKind::Number => number().unwrap_or_else(|| serde_json::Value::String(v.to_string())),
            JsonKind::Boolean if v == "true" || v == "false" => serde_json::Value::Bool(v == "true"),
            _ => serde_json::Value::String(v.to_string()),
        }
    }
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
        "BceClientUa" => SystemValue::ClientUa,
        "BceDomain" => SystemValue::Domain,
        "$context.serverAddr" => SystemValue::ServerAddr,
        "$context.serverName" => SystemValue::ServerName,
        "$context.handleTime" => SystemValue::HandleTime,
        _ => SystemValue::Empty,
    }
}

/// Backend parameters: the API's, with a policy's replacing any of the same location and name.
pub fn compile_params(api: &[BackendParam], policy: &[BackendParam], inputs: &[ReqParam]) -> Vec<MappedParam> {
    let overridden = |p: &BackendParam| policy.iter().any(|q| q.location == p.location && q.name.eq_ignore_ascii_case(&p.name));
    api.iter()
        .filter(|p| !overridden(p))
        .chain(policy.iter())
        .filter_map(|p| {
            let mut json = p.param_type.map_or(JsonKind::String, JsonKind::of);
            let source = match p.origin {
                ParamOrigin::Request => {
                    let i = inputs.iter().position(|n| n.name == p.value)?;
                    json = JsonKind::of(inputs[i].param_type);
                    ValueSource::Request(i)
                }
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
                json,
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
    /// A parameter reads the caller's `User-Agent` or host (see [`CallerValues`]).
    reads_caller_headers: bool,
    /// A parameter is a field of the backend's body.
    maps_body: bool,
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
    pub caller: &'a CallerValues,
    /// The API's forwarding modes (Baidu's `MAPPING` drops undeclared parameters).
    pub forwarding: Forwarding,
}

impl Mapping {
    /// `path` has its `#variables#` substituted already.
    pub fn compile(method: Method, path: &str, params: Vec<MappedParam>) -> Self {
        let parts = split_path(path);
        let static_path = if parts.iter().all(|p| matches!(p, PathPart::Literal(_))) {
            let encoded: String = parts.iter().map(|p| match p {
                PathPart::Literal(s) | PathPart::Param(s) => &**s,
            }).collect();
            http::uri::PathAndQuery::try_from(encoded).ok().filter(|p| p.query().is_none())
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
            reads_caller_headers: params.iter().any(|p| matches!(p.source, ValueSource::System(SystemValue::ClientUa | SystemValue::Domain))),
            maps_body: params.iter().any(|p| p.location == ParamLocation::Body),
            params,
            host: None,
        }
    }

    /// Whether the backend's body is built here (BODY parameters), so the caller's must be read whole.
    pub fn maps_body(&self) -> bool {
        self.maps_body
    }

    /// The backend's body: the caller's with the BODY parameters set (a form
    /// or JSON object body), and with body forwarding `MAPPING` only the
    /// declared form fields kept. Anything else passes as it came.
    pub fn map_body(&self, ctx: &MappingInput<'_>, headers: &mut HeaderMap, body: Bytes) -> Result<Bytes, GatewayError> {
        let mapping = ctx.forwarding.body == ForwardMode::Mapping;
        if !self.maps_body && !mapping {
            return Ok(body);
        }
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        let media = content_type.split(';').next().unwrap_or_default().trim().to_string();
        let fields = self.params.iter().filter(|p| p.location == ParamLocation::Body);
        let mapped: Bytes = if media == "application/json" || media.ends_with("+json") {
            if !self.maps_body {
                return Ok(body);
            }
            let mut object = if body.iter().all(u8::is_ascii_whitespace) {
                serde_json::Map::new()
            } else {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(serde_json::Value::Object(o)) => o,
                    _ => return Err(errors::BAD_PARAMETER.with_message("The backend's BODY parameters need a JSON object body".into())),
                }
            };
            for p in fields {
                if let Some(v) = self.value(p, ctx) {
                    object.insert(p.name.to_string(), p.json.value(&v));
                }
            }
            serde_json::to_vec(&object).map_err(|_| errors::BAD_PARAMETER)?.into()
        } else if media == "application/x-www-form-urlencoded" || (media.is_empty() && body.is_empty()) {
            let declared = |k: &str| ctx.inputs.iter().any(|p| p.location == ParamLocation::Body && &*p.name == k && p.pass_through);
            let set = |k: &str| self.params.iter().any(|p| p.location == ParamLocation::Body && &*p.name == k);
            let mut out = form_urlencoded::Serializer::new(String::new());
            for (k, v) in form_urlencoded::parse(&body) {
                if !set(&k) && (!mapping || declared(&k)) {
                    out.append_pair(&k, &v);
                }
            }
            for p in fields {
                if let Some(v) = self.value(p, ctx) {
                    out.append_pair(&p.name, &v);
                }
            }
            if media.is_empty() {
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
            }
            out.finish().into()
        } else if self.maps_body {
            return Err(errors::BAD_PARAMETER.with_message("The backend's BODY parameters need a form (application/x-www-form-urlencoded) or JSON body".into()));
        } else {
            return Ok(body);
        };
        headers.remove(header::TRANSFER_ENCODING);
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(mapped.len()));
        Ok(mapped)
    }

    /// The caller's values the parameters read, taken before its headers move on.
    pub fn caller_values(&self, headers: &HeaderMap, uri: &http::Uri) -> CallerValues {
        if !self.reads_caller_headers {
            return CallerValues::default();
        }
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let host = text(header::HOST).or_else(|| uri.authority().map(|a| a.as_str()));
        // `host[:port]`, `[v6]:port`: the name only.
        let domain = host.map(|h| match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) && (!name.contains(':') || name.ends_with(']')) => name.to_string(),
            _ => h.to_string(),
        });
        CallerValues { user_agent: text(header::USER_AGENT).map(str::to_string), domain }
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
            ValueSource::System(SystemValue::ClientUa) => ctx.caller.user_agent.as_deref().map(Cow::Borrowed),
            ValueSource::System(SystemValue::Domain) => ctx.caller.domain.as_deref().map(Cow::Borrowed),
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
        let only_declared = ctx.forwarding.query == ForwardMode::Mapping;
        for (k, v) in query_pairs(query) {
            let held_back = match ctx.inputs.iter().find(|p| p.location == ParamLocation::Query && &*p.name == k) {
                Some(p) => !p.pass_through,
                None => only_declared,
            };
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
        if ctx.forwarding.header == ForwardMode::Mapping {
            // Only declared headers, and what the request itself needs (its host, its body's framing, a WebSocket handshake).
            let undeclared: Vec<HeaderName> = headers
                .keys()
                .filter(|k| {
                    let needed = matches!(*k, &header::HOST | &header::CONTENT_TYPE | &header::CONTENT_LENGTH | &header::CONTENT_ENCODING | &header::TRANSFER_ENCODING)
                        || k.as_str().starts_with("sec-websocket-");
                    !needed && !ctx.inputs.iter().any(|p| p.header.as_ref() == Some(*k))
                })
                .cloned()
                .collect();
            for k in undeclared {
                headers.remove(k);
            }
        }
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
            // A path written in UTF-8 is sent percent-encoded.
            None if !seg.is_ascii() => {
                for b in seg.bytes() {
                    if b.is_ascii() {
                        literal.push(b as char);
                    } else {
                        literal.push_str(&format!("%{b:02X}"));
                    }
                }
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
        let utf8 = Mapping::compile(Method::Get, "/用户/列表", Vec::new());
        assert_eq!(utf8.static_path.as_ref().map(|p| p.as_str()), Some("/%E7%94%A8%E6%88%B7/%E5%88%97%E8%A1%A8"));
    }
}
