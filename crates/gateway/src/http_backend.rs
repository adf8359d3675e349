//! HTTP backends: the target compiled from the definition (variables
//! substituted, parameters resolved to indexes), and the backend request
//! built from a caller's request: method, mapped path, query and headers,
//! forwarding headers, the streamed body.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use causeway_model::api::{BACKEND_AUTHORIZER_PREFIX, BackendParam, BackendProtocol, FRONTEND_AUTHORIZER_PREFIX, Method, ParamLocation, ParamOrigin};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Request};

use crate::authorizer::AuthContext;
use crate::params::{InputParam, query_pairs};
use crate::response::{GatewayError, errors};
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
    ServerAddr,
    ServerName,
    HandleTime,
    /// Values that exist only with features not present (the provider app).
    Empty,
}

#[derive(Debug)]
pub enum Source {
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
    pub source: Source,
}

/// A backend reached through a load-balance channel.
#[derive(Debug)]
pub struct ChannelTarget {
    /// The channel's id (its members are looked up in the snapshot per request).
    pub id: Box<str>,
    /// For a backend's own weighted address list: its pool (kept with the compiled route).
    pub addresses: Option<std::sync::Arc<crate::balance::Pool>>,
    /// `vpc_proxy_host`: the `Host` the members get (else the caller's).
    pub host_header: Option<HeaderValue>,
    /// Over HTTPS, the name members' certificates must carry: the proxy host's (else each member's own host).
    pub tls_name: Option<Box<str>>,
}

/// Where an HTTP backend is.
#[derive(Debug, Clone, Copy)]
pub enum Address<'a> {
    /// `url_domain`: `host[:port]`, with `#variables#`.
    Domain(&'a str),
    /// A load-balance channel (`vpc_status` 1).
    Channel(&'a causeway_model::api::VpcInfo),
    /// A weighted address list (`url_domains`); `id` names its pool.
    Weighted { id: &'a str, url_domains: &'a [causeway_model::api::WeightedDomain] },
}

impl<'a> Address<'a> {
    /// The address an HTTP backend definition gives.
    pub fn of(vpc_status: i32, vpc_info: Option<&'a causeway_model::api::VpcInfo>, url_domain: Option<&'a str>, weighted: Option<(&'a str, &'a [causeway_model::api::WeightedDomain])>) -> Self {
        match (vpc_status, vpc_info, weighted) {
            (1, Some(vpc), _) => Address::Channel(vpc),
            (_, _, Some((id, list))) if list.len() > 1 => Address::Weighted { id, url_domains: list },
            _ => Address::Domain(url_domain.unwrap_or_default()),
        }
    }
}

/// One HTTP backend (the default one or a policy's).
#[derive(Debug)]
pub struct HttpTarget {
    pub https: bool,
    /// Over HTTPS, present the gateway's client certificate (`enable_client_ssl`).
    pub client_cert: bool,
    /// HTTP/2 to the backend (`http2`).
    pub http2: bool,
    /// The address of a backend at one address (empty with a channel).
    pub host: Box<str>,
    pub port: u16,
    /// The key of this backend's idle connections: `host:port` (over TLS, see `upstream::tls_pool_key`).
    pub authority: Box<str>,
    /// Set when a load-balance channel's members are the address.
    pub channel: Option<ChannelTarget>,
    /// `retry_count`: -1 retries idempotent requests once, 0 never, 1–10 that many times.
    pub retry_count: i32,
    /// `None` for `ANY`: the caller's method passes through.
    pub method: Option<http::Method>,
    pub path: Vec<PathPart>,
    /// The path, parsed once, when it has no `{param}`s: most requests reuse it as is.
    static_path: Option<http::uri::PathAndQuery>,
    pub timeout: Duration,
    pub params: Vec<MappedParam>,
}

/// Replaces `#name#` references with their values in the environment.
pub fn substitute(s: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('#') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('#').ok_or_else(|| format!("unclosed variable in {s}"))?;
        let name = &after[..end];
        out.push_str(vars.get(name).ok_or_else(|| format!("variable #{name}# has no value in this environment"))?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
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
                ParamOrigin::Request => Source::Request(input_names.iter().position(|n| *n == p.value)?),
                ParamOrigin::Constant => Source::Constant(p.value.as_str().into()),
                ParamOrigin::System => match (p.value.strip_prefix(FRONTEND_AUTHORIZER_PREFIX), p.value.strip_prefix(BACKEND_AUTHORIZER_PREFIX)) {
                    (Some(key), _) => Source::Authorizer { frontend: true, key: key.into() },
                    (_, Some(key)) => Source::Authorizer { frontend: false, key: key.into() },
                    _ => Source::System(system_value(&p.value)),
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

impl HttpTarget {
    pub fn compile(
        address: Address<'_>,
        protocol: BackendProtocol,
        method: Method,
        req_uri: &str,
        timeout_ms: u32,
        params: Vec<MappedParam>,
        vars: &HashMap<String, String>,
    ) -> Result<Self, String> {
        let default_port = if protocol == BackendProtocol::Https { 443 } else { 80 };
        let (host, port, channel) = match address {
            Address::Domain(url_domain) => {
                let (host, port) = split_address(&substitute(url_domain, vars)?, default_port)?;
                (host, port, None)
            }
            Address::Channel(vpc) => {
                let host_header = match vpc.vpc_proxy_host.as_deref() {
                    Some(h) => Some(HeaderValue::from_str(h).map_err(|_| format!("vpc_proxy_host {h:?} is not a valid Host"))?),
                    None => None,
                };
                let tls_name = match vpc.vpc_proxy_host.as_deref() {
                    Some(h) => Some(split_address(h, default_port)?.0.into()),
                    None => None,
                };
                (String::new(), 0, Some(ChannelTarget { id: vpc.vpc_id.as_str().into(), addresses: None, host_header, tls_name }))
            }
            Address::Weighted { id, url_domains } => {
                let mut addresses = Vec::with_capacity(url_domains.len());
                for d in url_domains {
                    let (host, port) = split_address(&substitute(&d.url_domain, vars)?, default_port)?;
                    addresses.push((host, port, d.weight));
                }
                let pool = std::sync::Arc::new(crate::balance::Pool::of_addresses(id, &addresses));
                (String::new(), 0, Some(ChannelTarget { id: id.into(), addresses: Some(pool), host_header: None, tls_name: None }))
            }
        };
        let https = protocol == BackendProtocol::Https;
        let path = substitute(req_uri, vars)?;
        let parts = split_path(&path);
        let static_path = if parts.iter().all(|p| matches!(p, PathPart::Literal(_))) {
            http::uri::PathAndQuery::try_from(path.as_str()).ok().filter(|p| p.query().is_none())
        } else {
            None
        };
        Ok(Self {
            static_path,
            https,
            client_cert: false,
            http2: false,
            authority: match (&channel, https) {
                (Some(_), _) => "".into(),
                (None, false) => format!("{host}:{port}").into(),
                (None, true) => crate::upstream::tls_pool_key(&format!("{host}:{port}"), &host, false).into(),
            },
            host: host.into(),
            port,
            channel,
            retry_count: 0,
            method: match method {
                Method::Any => None,
                m => http::Method::from_bytes(m.as_str().as_bytes()).ok(),
            },
            path: parts,
            timeout: Duration::from_millis(u64::from(timeout_ms)),
            params,
        })
    }

    /// Presents the gateway's client certificate over HTTPS (`enable_client_ssl`).
    pub fn with_client_cert(mut self, on: bool) -> Self {
        self.client_cert = on;
        if self.https && self.channel.is_none() {
            self.authority = crate::upstream::tls_pool_key(&format!("{}:{}", self.host, self.port), &self.host, on).into();
        }
        self
    }

    /// HTTP/2 to the backend (`http2`): its own idle-connection keys.
    pub fn with_http2(mut self, on: bool) -> Self {
        self.http2 = on;
        if on && self.channel.is_none() {
            self.authority = format!("h2:{}", self.authority).into();
        }
        self
    }

    /// The one address of a backend without a channel.
    pub fn endpoint(&self) -> crate::upstream::Endpoint<'_> {
        let tls = self.https.then_some(crate::upstream::TlsTo { server_name: &self.host, client_cert: self.client_cert });
        crate::upstream::Endpoint { host: &self.host, port: self.port, authority: &self.authority, tls, http2: self.http2 }
    }

    /// Sets `retry_count` (none given: -1).
    pub fn with_retries(mut self, retry_count: Option<i32>) -> Self {
        self.retry_count = retry_count.unwrap_or(-1);
        self
    }
}

fn split_address(address: &str, default_port: u16) -> Result<(String, u16), String> {
    let bad = || format!("backend address {address:?} is not host[:port]");
    if let Some(rest) = address.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| bad())?,
            None if after.is_empty() => default_port,
            None => return Err(bad()),
        };
        return Ok((host.to_string(), port));
    }
    match address.rsplit_once(':') {
        Some((host, port)) => Ok((host.to_string(), port.parse().map_err(|_| bad())?)),
        None => Ok((address.to_string(), default_port)),
    }
}

fn split_path(path: &str) -> Vec<PathPart> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            literal.push('/');
        }
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
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

/// Percent-encodes for a path segment (RFC 3986 pchar stays).
pub fn encode_path(out: &mut String, v: &str) {
    encode(out, v, |b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b));
}

/// Percent-encodes for a query key or value.
pub fn encode_query(out: &mut String, v: &str) {
    encode(out, v, |b| b.is_ascii_alphanumeric() || b"-._~!$'()*,;:@/?".contains(&b));
}

fn encode(out: &mut String, v: &str, keep: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in v.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Whether a header describes one hop only.
pub fn is_hop_by_hop(name: &HeaderName) -> bool {
    // Standard names compare as enum values; only the two others compare text.
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::UPGRADE
        || name == header::TE
        || name == header::TRAILER
        || name == header::PROXY_AUTHENTICATE
        || name == header::PROXY_AUTHORIZATION
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Everything a backend request is built from (the caller's headers move in separately).
pub struct CallContext<'a> {
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
    /// What the frontend and backend custom authorizers returned.
    pub frontend_authorizer: Option<&'a AuthContext>,
    pub backend_authorizer: Option<&'a AuthContext>,
}

impl HttpTarget {
    fn value<'s>(&'s self, p: &'s MappedParam, ctx: &'s CallContext<'_>) -> Option<Cow<'s, str>> {
        match &p.source {
            Source::Request(i) => ctx.values.get(*i).and_then(|v| v.as_deref()).map(Cow::Borrowed),
            Source::Constant(c) => Some(Cow::Borrowed(c)),
            Source::System(s) => Some((ctx.system)(*s)),
            Source::Authorizer { frontend, key } => {
                let context = if *frontend { ctx.frontend_authorizer } else { ctx.backend_authorizer };
                context.and_then(|c| c.get(key)).map(Cow::Borrowed)
            }
        }
    }

    /// Builds the backend request from the caller's, reusing its header map.
    pub fn build(&self, ctx: &CallContext<'_>, headers: HeaderMap, body: UpBody) -> Result<Request<UpBody>, GatewayError> {
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
        *req.headers_mut() = self.build_headers(ctx, headers);
        if let Some(host) = self.channel.as_ref().and_then(|c| c.host_header.clone()) {
            req.headers_mut().insert(header::HOST, host);
        }
        Ok(req)
    }

    fn build_query(&self, ctx: &CallContext<'_>, uri: &mut String) {
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

    fn build_headers(&self, ctx: &CallContext<'_>, mut headers: HeaderMap) -> HeaderMap {
        // One look at the caller's names: most requests carry no hop-by-hop header.
        if headers.keys().any(is_hop_by_hop) {
            // Headers named in `Connection` are hop-by-hop too.
            if let Some(listed) = headers.get(header::CONNECTION).and_then(|v| v.to_str().ok()).map(str::to_owned) {
                for name in listed.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    headers.remove(name);
                }
            }
            for name in HOP_BY_HOP {
                headers.remove(*name);
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
            if let (Some(h), Some(v)) = (&p.header, self.value(p, ctx))
                && let Ok(v) = HeaderValue::from_str(&v)
            {
                headers.insert(h.clone(), v);
            }
        }
        // Room for the forwarding headers at once rather than growing twice.
        headers.reserve(5);
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
        headers
    }
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that describe one hop and are never forwarded.
const HOP_BY_HOP: &[&str] =
    &["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_substituted() {
        let vars = HashMap::from([("host".to_string(), "10.0.0.1".to_string()), ("p".to_string(), "v2".to_string())]);
        assert_eq!(substitute("#host#:8080", &vars).unwrap(), "10.0.0.1:8080");
        assert_eq!(substitute("/#p#/x/#p#", &vars).unwrap(), "/v2/x/v2");
        assert!(substitute("#missing#", &vars).unwrap_err().contains("#missing#"));
    }

    #[test]
    fn addresses_and_paths() {
        assert_eq!(split_address("a.b:81", 80).unwrap(), ("a.b".into(), 81));
        assert_eq!(split_address("a.b", 443).unwrap(), ("a.b".into(), 443));
        assert_eq!(split_address("[::1]:9", 80).unwrap(), ("::1".into(), 9));
        let parts = split_path("/v1/orders/{oid}/items");
        assert!(matches!(&parts[..], [PathPart::Literal(a), PathPart::Param(p), PathPart::Literal(b)] if &**a == "/v1/orders/" && &**p == "oid" && &**b == "/items"));
    }

    #[test]
    fn hop_by_hop_names() {
        for name in HOP_BY_HOP {
            assert!(is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["host", "content-length", "x-connection", "keep-alive-x", "authorization"] {
            assert!(!is_hop_by_hop(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn encoding() {
        let mut s = String::new();
        encode_path(&mut s, "a b/c");
        assert_eq!(s, "a%20b%2Fc");
        let mut s = String::new();
        encode_query(&mut s, "x=1&y");
        assert_eq!(s, "x%3D1%26y");
    }
}
