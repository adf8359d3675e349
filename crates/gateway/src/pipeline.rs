//! The request pipeline, in order. Each stage either passes the request on
//! or ends it with a gateway response; nothing here touches the store.
//!
//! 1. request id and timer
//! 2. group by Host (subdomain or bound domain; a bound domain may redirect
//!    plain HTTP to HTTPS), environment by `X-Stage`
//! 3. route: method + path                         → APIG.0101
//!    (a CORS preflight for a CORS-enabled API is answered here)
//! 4. protocol (HTTP / HTTPS / BOTH)               → APIG.0607;
//!    access control: the publication's DENY and PERMIT lists → APIG.0402 (403)
//! 5. authentication: APP APIs by SDK-HMAC-SHA256 or key-pair signature, or
//!    AppCode, then the app's authorization     → APIG.0303, APIG.0304 (401);
//!    IAM APIs by a JWT from a configured issuer → APIG.0301 (401);
//!    AUTHORIZER APIs by their frontend custom authorizer (a function; its
//!    answer cached by identity values) → AUTHORIZER_IDENTITIES_FAILURE (401),
//!    AUTHORIZER_FAILURE, AUTHORIZER_CONF_FAILURE (500)
//!    then throttling: the publication's policy, per API, user, app and
//!    client address                               → APIG.0308 (429)
//! 6. input parameters: required, defaults, rules  → APIG.0201 (400)
//! 7. backend policies: the first whose conditions hold, else the default
//!    backend; then that backend's custom authorizer, if it has one
//! 8. backend call: MOCK answer; the HTTP backend with mapped parameters,
//!    signed with the API's signature key when one is bound
//!    (413 body too large, 502 unavailable, 504 timeout); or a FUNCTION from
//!    the registry run on the function runtime's workers (500 APIG.0103 no
//!    such function, 500 APIG.0201 it failed, 504 timeout)
//! 9. response headers: `X-Request-Id`, `X-Apig-Latency` / `X-Apig-Upstream-Latency` in debug mode

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use causeway_model::api::{AuthType, ParamLocation, ReqProtocol};
use http::{HeaderName, HeaderValue, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, Limited};
use hyper::body::Incoming;

use crate::auth::{self, AppEntry};
use crate::authorizer::{self, AuthContext, Authorizers, Asking, Refused};
use crate::backend_sign;
use crate::function_event::{self, EventInput};
use crate::body::Body;
use crate::http_backend::{CallContext, HttpTarget, SystemValue, is_hop_by_hop};
use crate::iam;
use crate::observe::Exchange;
use crate::params;
use crate::policy::Facts;
use crate::request_id::{self, RequestId};
use crate::response::{GatewayError, TemplateContext, errors};
use crate::route::{Backend, MockResponse, Route};
use crate::snapshot::{GroupRoutes, Snapshot};
use crate::throttle;
use crate::{balance, forward};
use crate::upstream;

// Header names used on every request, parsed once.
const X_APIG_MODE: HeaderName = HeaderName::from_static("x-apig-mode");
const X_STAGE: HeaderName = HeaderName::from_static("x-stage");
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_APIG_LATENCY: HeaderName = HeaderName::from_static("x-apig-latency");
const X_APIG_UPSTREAM_LATENCY: HeaderName = HeaderName::from_static("x-apig-upstream-latency");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Largest request body passed to a backend (the cloud gateways' 12 MiB).
pub const MAX_REQUEST_BODY: usize = 12 << 20;

/// What the pipeline knows about the connection a request came on.
/// Formatted once per connection, not per request.
#[derive(Debug)]
pub struct Conn {
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub https: bool,
    /// The HTTPS listener's port, for redirects to HTTPS (none without a listener).
    pub https_port: Option<u16>,
    pub websocket: crate::websocket::Limits,
    /// AppCodes accepted over plain HTTP (`--allow-app-code-over-http`).
    pub app_code_over_http: bool,
    /// Behind trusted proxies: which `X-Forwarded-For` entry is the caller (`--real-ip-from-xff`).
    pub xff_index: Option<i32>,
    pub peer_ip: Box<str>,
    pub local_ip: Box<str>,
    pub peer_ip_value: HeaderValue,
    pub local_port_value: HeaderValue,
}

impl Conn {
    pub fn new(peer: SocketAddr, local: SocketAddr, https: bool, options: ConnOptions) -> Self {
        let peer_ip = peer.ip().to_string();
        Self {
            peer,
            local,
            https,
            https_port: options.https_port,
            websocket: options.websocket,
            app_code_over_http: options.app_code_over_http,
            xff_index: options.real_ip_from_xff,
            peer_ip_value: HeaderValue::from_str(&peer_ip).unwrap_or(HeaderValue::from_static("unknown")),
            peer_ip: peer_ip.into(),
            local_ip: local.ip().to_string().into(),
            local_port_value: HeaderValue::from(local.port()),
        }
    }
}

/// How connections are served (from the gateway's configuration).
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnOptions {
    pub app_code_over_http: bool,
    /// Take the caller's address from `X-Forwarded-For` at this index (-1: the last entry).
    pub real_ip_from_xff: Option<i32>,
    /// The HTTPS listener's port (set once it is bound).
    pub https_port: Option<u16>,
    /// Limits of WebSocket connections.
    pub websocket: crate::websocket::Limits,
}

/// The caller's address: the TCP peer's, or behind trusted proxies the
/// configured `X-Forwarded-For` entry (when it is an address).
pub struct Client<'c> {
    /// The connection it came on.
    pub conn: &'c Conn,
    pub ip: IpAddr,
    pub text: Cow<'c, str>,
    pub value: Cow<'c, HeaderValue>,
}

impl<'c> Client<'c> {
    pub fn of(headers: &http::HeaderMap, conn: &'c Conn) -> Self {
        let peer = || Client { conn, ip: conn.peer.ip(), text: Cow::Borrowed(&*conn.peer_ip), value: Cow::Borrowed(&conn.peer_ip_value) };
        let Some(index) = conn.xff_index else { return peer() };
        // Several headers count as one list, in order.
        let entries: Vec<&str> = headers.get_all(X_FORWARDED_FOR).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
        let at = if index < 0 { entries.len().checked_sub(index.unsigned_abs() as usize) } else { Some(index as usize) };
        match at.and_then(|i| entries.get(i)).and_then(|e| Some((e.parse::<IpAddr>().ok()?, HeaderValue::from_str(e).ok()?))) {
            Some((ip, value)) => Client { conn, ip, text: Cow::Owned(ip.to_string()), value: Cow::Owned(value) },
            None => peer(),
        }
    }
}

/// This machine's name, for `$context.serverName`.
fn server_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "causeway".into())
    })
}

/// Serves one request from `snapshot`.
pub async fn handle(req: http::Request<Incoming>, conn: &Conn, snapshot: Arc<Snapshot>) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id::next();
    let (mut parts, body) = req.into_parts();
    let debug = parts.headers.get(X_APIG_MODE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"debug"));
    let mut outcome = Outcome { debug, ..Outcome::default() };
    let client = Client::of(&parts.headers, conn);
    let mut res = match serve(&mut parts, body, conn, &client, &snapshot, &request_id, &mut outcome).await {
        Ok(res) => res,
        Err(e) => {
            // Through the group's gateway responses (the API's set, else the default).
            let api = outcome.route.map(|r| r.def());
            let ctx = TemplateContext {
                request_id: request_id.as_str(),
                api_id: api.map_or("", |a| a.id.as_str()),
                api_name: api.map_or("", |a| a.name.as_str()),
                stage: outcome.stage,
                source_ip: &client.text,
                req_path: parts.uri.path(),
                req_uri: parts.uri.path_and_query().map_or("", |p| p.as_str()),
                req_method: parts.method.as_str(),
                frontend_authorizer: outcome.frontend_authorizer.as_deref(),
                backend_authorizer: outcome.backend_authorizer.as_deref(),
            };
            e.render_with(outcome.group.and_then(|g| g.responses(outcome.route.map(|r| &**r))), &ctx)
        }
    };
    let headers = res.headers_mut();
    // CORS on simple requests, unless the backend answered CORS itself.
    if outcome.cors && !headers.contains_key(http::header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        headers.insert(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    if let Ok(v) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert(X_REQUEST_ID, v);
    }
    for (k, v) in outcome.rate_limits.drain(..) {
        headers.insert(k, v);
    }
    if debug {
        headers.insert(X_APIG_LATENCY, HeaderValue::from(started.elapsed().as_millis() as u64));
        if let Some(d) = outcome.upstream_latency {
            headers.insert(X_APIG_UPSTREAM_LATENCY, HeaderValue::from(d.as_millis() as u64));
        }
    }
    // Metrics and the access log line, once the body is sent.
    let exchange = Exchange {
        started,
        request_id,
        client: client.ip,
        method: parts.method,
        uri: parts.uri,
        group: outcome.group.map(|g| g.id.clone()),
        route: outcome.route.cloned(),
        status: res.status().as_u16(),
        upstream: outcome.upstream_latency,
        app: outcome.app.map(|a| a.id.clone()),
        user: outcome.user.take(),
        bytes: 0,
    };
    // A WebSocket connection is logged when it closes; other requests when their body is sent.
    match res.extensions_mut().remove::<crate::websocket::LogOnClose>() {
        Some(on_close) => on_close.hand_over(Box::new(exchange)),
        None => res.body_mut().attach(Box::new(exchange)),
    }
    res
}

async fn serve<'s>(
    parts: &mut http::request::Parts,
    body: Incoming,
    conn: &Conn,
    client: &Client<'_>,
    snapshot: &'s Snapshot,
    request_id: &RequestId,
    outcome: &mut Outcome<'s>,
) -> Result<Response<Body>, GatewayError> {
    let host = snapshot.host(host_of(parts));
    if host.redirect_https && !conn.https
        && let Some(port) = conn.https_port
    {
        return Ok(redirect_to_https(parts, port));
    }
    if let Some(res) = preflight(parts, snapshot) {
        return Ok(res);
    }
    let group = host.group.ok_or(errors::NOT_FOUND)?;
    outcome.group = Some(group);
    let (route, stage) = find_in_group(parts, &parts.method, group)?;
    outcome.route = Some(route);
    outcome.stage = stage;
    outcome.cors = route.cors_preflight.is_some();
    check_protocol(route, conn)?;
    if route.websocket != crate::websocket::is_upgrade(parts) {
        return Err(if route.websocket { errors::WEBSOCKET_ONLY } else { errors::NOT_WEBSOCKET });
    }
    snapshot.access.check(&route.publish_id, client.ip)?;
    let form_fields = route.reads_form && is_form(&parts.headers);
    let whole = form_fields || route.calls_function || auth::needs_body(route, &parts.headers) || authorizers_need_body(route, &snapshot.authorizers);
    let body = read_body(&parts.headers, body, whole).await?;
    let segments = path_segments(route, &parts.uri);
    match route.def().auth_type {
        AuthType::App => outcome.app = authenticate(&snapshot.credentials, route, parts, conn, body.as_ref().ok())?,
        AuthType::Iam => outcome.user = Some(iam::authenticate(&snapshot.issuers, &parts.headers)?),
        AuthType::Authorizer => {
            let id = route.def().authorizer_id.as_deref().unwrap_or_default();
            let path_params = authorizer::path_params(&route.inputs, &segments);
            let ask = asking(parts, route, &path_params, &body, stage, client, request_id);
            outcome.frontend_authorizer = Some(refused_with(snapshot.authorizers.authorize(&snapshot.functions, id, ask).await, &mut outcome.frontend_authorizer)?);
        }
        AuthType::None => {}
    }
    let caller = throttle::Caller { user: outcome.user.as_deref(), app: outcome.app.map(|a| &*a.id), ip: client.ip };
    let now = unix_now().max(0) as u64;
    match snapshot.throttles.check_now(group.limit.as_ref(), &route.publish_id, &caller, now, outcome.debug, &mut outcome.rate_limits) {
        Some(checked) => checked?,
        // Redis: boxed, so requests that do not wait for it do not carry its state.
        None => Box::pin(snapshot.throttles.check(group.limit.as_ref(), &route.publish_id, &caller, now, outcome.debug, &mut outcome.rate_limits)).await?,
    }
    let app = outcome.app;
    // A cheap handle on the read body: the parameter values may borrow from it.
    let form = if form_fields { body.as_ref().ok().cloned() } else { None };
    let values = params::collect(&route.inputs, &segments, parts.uri.query().unwrap_or_default(), &parts.headers, form.as_deref())?;
    let frontend = outcome.frontend_authorizer.clone();
    let (backend, backend_authorizer) = if route.policies.is_empty() {
        (&route.backend, route.backend_authorizer.as_deref())
    } else {
        route.select(&Facts {
            values: &values,
            source_ip: client.ip,
            path: parts.uri.path(),
            method: parts.method.as_str(),
            cookies: parts.headers.get(http::header::COOKIE).and_then(|c| c.to_str().ok()),
            app: app.map(|a| (&*a.id, &*a.name)),
            authorizer: frontend.as_deref(),
        })
    };
    // The backend's custom authorizer, before the backend is called.
    if let Some(id) = backend_authorizer {
        let path_params = authorizer::path_params(&route.inputs, &segments);
        let ask = asking(parts, route, &path_params, &body, stage, client, request_id);
        outcome.backend_authorizer = Some(refused_with(snapshot.authorizers.authorize(&snapshot.functions, id, ask).await, &mut outcome.backend_authorizer)?);
    }
    let authorizers = (frontend.as_deref(), outcome.backend_authorizer.clone());
    if route.websocket && !matches!(backend, Backend::Http(_)) {
        return Err(errors::BACKEND_NOT_SERVED.with_message("WebSocket connections need an HTTP backend; this request's backend policy chose a MOCK or FUNCTION one".into()));
    }
    match backend {
        Backend::Mock(m) => Ok(mock(m)),
        Backend::Http(target) => {
            let req = {
                let headers = std::mem::take(&mut parts.headers);
                let system = |v: SystemValue| system_value(v, route, stage, client, request_id, app);
                let ctx = call_context(parts, route, &values, &system, client, remainder(route, parts.uri.path()), (authorizers.0, authorizers.1.as_deref()));
                let signer = snapshot.backend_signers.get(&route.publish_id);
                let read = if signer.is_some() { body.as_ref().ok().cloned() } else { None };
                let body = match body {
                    Ok(read) => Either::Right(Full::new(read)),
                    Err(streamed) => Either::Left(Limited::new(streamed, MAX_REQUEST_BODY)),
                };
                let mut req = target.build(&ctx, headers, body)?;
                if let Some(signer) = signer {
                    backend_sign::sign(signer, &mut req, read.as_deref(), unix_now())?;
                }
                req
            };
            drop(values);
            let facts = balance::Facts { client_ip: client.ip, path: parts.uri.path(), now_secs: now };
            if route.websocket {
                let caller = parts.extensions.remove::<hyper::upgrade::OnUpgrade>().ok_or(errors::WEBSOCKET_ONLY)?;
                return Box::pin(crate::websocket::proxy(&snapshot.channels, target, &facts, req, caller, conn.websocket)).await;
            }
            call_http(&snapshot.channels, target, &facts, req, &mut outcome.upstream_latency).await
        }
        Backend::Function(target) => {
            let api = route.def();
            let read = body.as_ref().map(|b| &b[..]).unwrap_or_default();
            let path_params: Vec<(&str, &str)> =
                route.inputs.iter().zip(values.iter()).filter(|(p, _)| p.location == ParamLocation::Path).filter_map(|(p, v)| Some((&*p.name, v.as_deref()?))).collect();
            // The backend parameters, mapped as for an HTTP backend: the event gets its headers and query.
            let mapped = {
                let headers = std::mem::take(&mut parts.headers);
                let system = |v: SystemValue| system_value(v, route, stage, client, request_id, app);
                let ctx = call_context(parts, route, &values, &system, client, None, (authorizers.0, authorizers.1.as_deref()));
                target.mapping.build(&ctx, headers, Either::Right(Full::new(Bytes::new())))?
            };
            let event = |format| {
                function_event::event(format, &EventInput {
                    method: parts.method.as_str(),
                    path: parts.uri.path(),
                    api_path: &api.req_uri,
                    query: mapped.uri().query().unwrap_or_default(),
                    headers: mapped.headers(),
                    path_params: &path_params,
                    body: read,
                    base64_body: api.is_send_fg_body_base64,
                    api_id: &api.id,
                    group_id: &api.group_id,
                    request_id: request_id.as_str(),
                    stage,
                    source_ip: &client.text,
                    app_key: app.map(|a| &*a.key),
                    user_data: None,
                })
            };
            let started = Instant::now();
            let answer = snapshot.functions.call(target, request_id.as_str(), event).await;
            outcome.upstream_latency = Some(started.elapsed());
            let answer = answer?;
            let mut res = Response::new(Body::full(answer.body));
            *res.status_mut() = answer.status;
            let headers = res.headers_mut();
            for (k, v) in answer.headers {
                headers.append(k, v);
            }
            Ok(res)
        }
        Backend::Unservable(why) => Err(errors::BACKEND_NOT_SERVED.with_message(why.clone())),
    }
}

/// What backend parameter mapping reads, for an HTTP backend or a function's event.
fn call_context<'a>(
    parts: &'a http::request::Parts,
    route: &'a Route,
    values: &'a [Option<Cow<'a, str>>],
    system: &'a dyn Fn(SystemValue) -> Cow<'a, str>,
    client: &'a Client<'_>,
    remainder: Option<&'a str>,
    (frontend_authorizer, backend_authorizer): (Option<&'a AuthContext>, Option<&'a AuthContext>),
) -> CallContext<'a> {
    CallContext {
        method: &parts.method,
        uri: &parts.uri,
        inputs: &route.inputs,
        values,
        remainder,
        system,
        peer_ip: &client.conn.peer_ip,
        peer_ip_value: &client.conn.peer_ip_value,
        client_ip_value: &client.value,
        local_port_value: &client.conn.local_port_value,
        https: client.conn.https,
        frontend_authorizer,
        backend_authorizer,
    }
}

/// What a custom authorizer is asked about: the caller's request as it came.
fn asking<'a>(
    parts: &'a http::request::Parts,
    route: &'a Route,
    path_params: &'a [(&'a str, &'a str)],
    body: &'a Result<Bytes, Incoming>,
    stage: &'a str,
    client: &'a Client<'_>,
    request_id: &'a RequestId,
) -> Asking<'a> {
    let api = route.def();
    let query = parts.uri.query().unwrap_or_default();
    Asking {
        event: EventInput {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            api_path: &api.req_uri,
            query,
            headers: &parts.headers,
            path_params,
            body: body.as_ref().map(|b| &b[..]).unwrap_or_default(),
            base64_body: api.is_send_fg_body_base64,
            api_id: &api.id,
            group_id: &api.group_id,
            request_id: request_id.as_str(),
            stage,
            source_ip: &client.text,
            app_key: None,
            user_data: None,
        },
        query,
    }
}

/// An authorizer's answer; when it refuses, the context it gave is kept for the error response.
fn refused_with(answer: Result<Arc<AuthContext>, Refused>, keep: &mut Option<Arc<AuthContext>>) -> Result<Arc<AuthContext>, GatewayError> {
    answer.map_err(|r| {
        *keep = r.context;
        r.error
    })
}

/// Whether a custom authorizer the route may ask wants the request body.
fn authorizers_need_body(route: &Route, authorizers: &Authorizers) -> bool {
    if authorizers.is_empty() {
        return false;
    }
    let api = route.def();
    let frontend = if api.auth_type == AuthType::Authorizer { api.authorizer_id.as_deref() } else { None };
    frontend
        .into_iter()
        .chain(route.backend_authorizer.as_deref())
        .chain(route.policies.iter().filter_map(|p| p.authorizer.as_deref()))
        .any(|id| authorizers.needs_body(Some(id)))
}

fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

/// The body is read whole (within the size limit) only when a stage needs
/// it: a signature covering it, or form fields declared as parameters. It is
/// then sent on as read. Otherwise it stays a stream (`Err`), passed through untouched.
async fn read_body(headers: &http::HeaderMap, body: Incoming, whole: bool) -> Result<Result<Bytes, Incoming>, GatewayError> {
    check_length(headers)?;
    // Most calls are bodiless GETs: nothing to collect, and a body in hand can be sent again.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Ok(Bytes::new()));
    }
    if !whole {
        return Ok(Err(body));
    }
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(Ok(collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(errors::BODY_TOO_LARGE),
        Err(_) => Err(errors::BAD_PARAMETER.with_message("The request body could not be read".into())),
    }
}

/// Stage 5: the calling app of an APP API, authorized for it in this environment.
fn authenticate<'s>(
    creds: &'s auth::Credentials,
    route: &Route,
    parts: &http::request::Parts,
    conn: &Conn,
    body: Option<&Bytes>,
) -> Result<Option<&'s AppEntry>, GatewayError> {
    let headers = auth::SignedView { headers: &parts.headers, authority: parts.uri.authority().map(|a| a.as_str()) };
    let now = unix_now();
    let presented = auth::Presented {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or_default(),
        headers: &headers,
        body: body.map(|b| &b[..]),
        https: conn.https,
        app_code_over_http: conn.app_code_over_http,
        now,
    };
    auth::authenticate(creds, route, &presented)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// What the stages report back for the response: headers and error rendering.
#[derive(Default)]
struct Outcome<'s> {
    /// The authenticated app (APP APIs).
    app: Option<&'s AppEntry>,
    /// The token's subject (IAM APIs): the user, for throttling.
    user: Option<String>,
    upstream_latency: Option<Duration>,
    cors: bool,
    group: Option<&'s GroupRoutes>,
    route: Option<&'s Arc<Route>>,
    stage: &'s str,
    /// `X-Apig-Mode: debug`: latency and rate-limit headers are added.
    debug: bool,
    /// The `X-Apig-RateLimit-*` headers (debug mode).
    rate_limits: Vec<(HeaderName, HeaderValue)>,
    /// What the custom authorizers returned (for backend parameters and error responses).
    frontend_authorizer: Option<Arc<AuthContext>>,
    backend_authorizer: Option<Arc<AuthContext>>,
}

/// A CORS preflight (`OPTIONS` with `Access-Control-Request-Method`) for a
/// CORS-enabled API is answered by the gateway; other `OPTIONS` requests route as usual.
fn preflight(parts: &http::request::Parts, snapshot: &Snapshot) -> Option<Response<Body>> {
    if parts.method != http::Method::OPTIONS {
        return None;
    }
    let requested = parts.headers.get(http::header::ACCESS_CONTROL_REQUEST_METHOD)?;
    let method = http::Method::from_bytes(requested.as_bytes()).ok()?;
    let group = snapshot.group(host_of(parts))?;
    let (route, _) = find_in_group(parts, &method, group).ok()?;
    let headers = route.cors_preflight.as_ref()?;
    let mut res = Response::new(Body::empty());
    *res.headers_mut() = headers.clone();
    Some(res)
}

/// Stage 2, for a bound domain that asks for it: plain HTTP goes to the same
/// URL over HTTPS (301 for GET and HEAD; 308, which keeps the method and body, otherwise).
fn redirect_to_https(parts: &http::request::Parts, port: u16) -> Response<Body> {
    let host = host_of(parts);
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let location = if port == 443 { format!("https://{host}{path}") } else { format!("https://{host}:{port}{path}") };
    let mut res = Response::new(Body::empty());
    *res.status_mut() = if parts.method == http::Method::GET || parts.method == http::Method::HEAD {
        http::StatusCode::MOVED_PERMANENTLY
    } else {
        http::StatusCode::PERMANENT_REDIRECT
    };
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(http::header::LOCATION, v);
    }
    res
}

/// Stage 2: the host the request names, without its port.
fn host_of(parts: &http::request::Parts) -> &str {
    let host = parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).or_else(|| parts.uri.host()).unwrap_or_default();
    strip_port(host)
}

/// Stages 2 and 3 within the group: environment by `X-Stage`, then method and path.
fn find_in_group<'s>(parts: &http::request::Parts, method: &http::Method, group: &'s GroupRoutes) -> Result<(&'s Arc<Route>, &'s str), GatewayError> {
    let stage = parts.headers.get(X_STAGE).and_then(|v| v.to_str().ok());
    let env = group.env(stage).ok_or(errors::NOT_FOUND)?;
    let (route, _) = env.find(method, parts.uri.path()).ok_or(errors::NOT_FOUND)?;
    Ok((route, &env.env_name))
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| h.trim_start_matches('['));
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

/// Stage 4: the API's `req_protocol`.
fn check_protocol(route: &Route, conn: &Conn) -> Result<(), GatewayError> {
    if route.allows(conn.https) {
        return Ok(());
    }
    Err(match route.def().req_protocol {
        ReqProtocol::Http => errors::HTTP_ONLY,
        _ => errors::HTTPS_ONLY,
    })
}

/// What PATH parameters read, when there are any: the path's segments, or
/// for a REGEX path its capture groups.
fn path_segments<'p>(route: &Route, uri: &'p http::Uri) -> Vec<&'p str> {
    if !route.inputs.iter().any(|p| p.location == ParamLocation::Path) {
        return Vec::new();
    }
    match &route.path_regex {
        Some(re) => re
            .captures(uri.path())
            .map(|c| c.iter().map(|m| m.map_or("", |m| m.as_str())).collect())
            .unwrap_or_default(),
        None => uri.path().trim_start_matches('/').split('/').collect(),
    }
}

/// For SWA routes: the path after the prefix (`a/b` of `/files/a/b` under `/files`).
fn remainder<'p>(route: &Route, path: &'p str) -> Option<&'p str> {
    let n = route.prefix_segments?;
    let mut rest = path.strip_prefix('/')?;
    for _ in 0..n {
        match rest.find('/') {
            Some(i) => rest = &rest[i + 1..],
            None => return None,
        }
    }
    Some(rest)
}

fn check_length(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY as u64) { Err(errors::BODY_TOO_LARGE) } else { Ok(()) }
}

fn system_value<'a>(v: SystemValue, route: &'a Route, stage: &'a str, client: &'a Client<'_>, request_id: &'a RequestId, app: Option<&'a AppEntry>) -> Cow<'a, str> {
    match v {
        SystemValue::SourceIp => Cow::Borrowed(&client.text),
        SystemValue::Stage => Cow::Borrowed(stage),
        SystemValue::ApiId => Cow::Borrowed(&route.def().id),
        SystemValue::ApiName => Cow::Borrowed(&route.def().name),
        SystemValue::RequestId => Cow::Owned(request_id.as_str().to_string()),
        SystemValue::ServerAddr => Cow::Borrowed(&client.conn.local_ip),
        SystemValue::ServerName => Cow::Borrowed(server_name()),
        SystemValue::HandleTime => Cow::Owned(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis()).to_string(),
        ),
        SystemValue::AppId => Cow::Borrowed(app.map_or("", |a| &*a.id)),
        SystemValue::AppName => Cow::Borrowed(app.map_or("", |a| &*a.name)),
        SystemValue::Empty => Cow::Borrowed(""),
    }
}

fn mock(m: &MockResponse) -> Response<Body> {
    let mut res = Response::new(Body::full(m.body.clone()));
    *res.status_mut() = m.status;
    *res.headers_mut() = m.headers.clone();
    res
}

/// Stage 6 for HTTP backends: send, then stream the answer back.
async fn call_http(
    channels: &balance::Channels,
    target: &HttpTarget,
    facts: &balance::Facts<'_>,
    req: http::Request<upstream::UpBody>,
    latency: &mut Option<Duration>,
) -> Result<Response<Body>, GatewayError> {
    let sent = Instant::now();
    let res = forward::send(channels, target, facts, req).await?;
    *latency = Some(sent.elapsed());
    let (mut parts, body) = res.into_parts();
    // Usually just the backend's `Connection: keep-alive`.
    while let Some(k) = parts.headers.keys().find(|k| is_hop_by_hop(k)).cloned() {
        parts.headers.remove(k);
    }
    Ok(Response::from_parts(parts, Body::stream(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forwarded_entry_at_the_index_is_the_caller() {
        let peer: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let conn = |index| Conn::new(peer, peer, false, ConnOptions { app_code_over_http: false, real_ip_from_xff: index, ..Default::default() });
        let mut headers = http::HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static("1.1.1.1, 2.2.2.2"));
        headers.append("x-forwarded-for", HeaderValue::from_static("3.3.3.3"));
        let at = |index| Client::of(&headers, &conn(index)).text.into_owned();
        assert_eq!(at(Some(-1)), "3.3.3.3");
        assert_eq!(at(Some(-2)), "2.2.2.2");
        assert_eq!(at(Some(0)), "1.1.1.1");
        assert_eq!(at(Some(3)), "127.0.0.1", "past the end: the peer");
        assert_eq!(at(Some(-4)), "127.0.0.1");
        assert_eq!(at(None), "127.0.0.1", "not configured: the peer");
        assert_eq!(Client::of(&headers, &conn(Some(-1))).ip, "3.3.3.3".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("a.apigw.localhost:8080"), "a.apigw.localhost");
        assert_eq!(strip_port("a.apigw.localhost"), "a.apigw.localhost");
        assert_eq!(strip_port("[::1]:8080"), "::1");
        assert_eq!(strip_port("10.0.0.1"), "10.0.0.1");
    }
}
