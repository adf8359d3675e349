//! One request's state as it passes the stages ([`RequestCtx`]), and how
//! each stage is asked about the request: the views of it that the stage
//! modules take (the signed request for APP authentication, the event for
//! custom authorizers and functions, the mapping input for backends), each
//! built in one place here. What the stages decide is in their own modules.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use causeway_model::api::{AuthType, ParamLocation};
use http::request::Parts;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use http_body_util::{Either, Full};
use hyper::upgrade::OnUpgrade;

use crate::backend::function::{self, FunctionBackend};
use crate::backend::function_websocket;
use crate::backend::http::mapping::{CallerValues, MappingInput, SystemValue};
use crate::backend::http::target::HttpTarget;
use crate::backend::http::websocket;
use crate::config::snapshot::Snapshot;
use crate::functions::event::{self, EventInput};
use crate::http::body::Body;
use crate::http::error::{GatewayError, errors};
use crate::http::headers::X_APIG_MODE;
use crate::observe::request_id::{self, RequestId};
use crate::observe::trace::TraceContext;
use crate::pipeline::conn::{Client, Conn};
use crate::routing::route::Route;
use crate::routing::table::GroupRoutes;
use crate::routing;
use crate::stages::authn::app::{self, AppEntry};
use crate::stages::authn::authorizer::{Asking, Refused};
use crate::stages::authn::context::AuthContext;
use crate::stages::authn::iam;
use crate::stages::body::{self, RequestBody};
use crate::stages::params;
use crate::stages::policies::ConditionInput;
use crate::stages::throttle;
use crate::upstream::balance::PickInput;

/// The parameter values the input stage read, in the route's declaration order.
pub(crate) type Values<'r> = Vec<Option<Cow<'r, str>>>;

/// What routing found.
pub(crate) enum Routed<'s> {
    /// The API the request is for.
    Api(&'s Route),
    /// Answered by the gateway itself: an HTTPS redirect or a CORS preflight
    /// (boxed: rare, and every request's result would carry its size).
    Answered(Box<Response<Body>>),
}

/// A request's state: where it came from, and what the stages decided so far
/// (for later stages, the response headers, error responses and the log).
pub(crate) struct RequestCtx<'s> {
    pub snapshot: &'s Snapshot,
    pub conn: &'s Conn,
    pub client: Client<'s>,
    pub request_id: RequestId,
    /// The trace the request belongs to (the caller's, or one started here) and the gateway's span in it.
    pub trace: TraceContext,
    pub started: Instant,
    /// When it came, in seconds since the epoch: its throttling window, the
    /// hash of a channel member. (Signatures read the clock when they are made or checked.)
    pub now_secs: u64,
    /// `X-Apig-Mode: debug`: latency and rate-limit headers are added.
    pub debug: bool,
    pub group: Option<&'s GroupRoutes>,
    pub route: Option<&'s Route>,
    /// The environment's name.
    pub stage: &'s str,
    /// The API has CORS on: simple requests' responses get `Access-Control-Allow-Origin`.
    pub cors: bool,
    /// The caller's connection, handed over to a WebSocket API's backend.
    pub upgrade: Option<OnUpgrade>,
    /// The authenticated app (APP APIs).
    pub app: Option<&'s AppEntry>,
    /// The token's subject (IAM APIs): the user, for throttling.
    pub user: Option<String>,
    /// What the custom authorizers returned (for backend parameters, policy conditions and error responses).
    pub frontend_authorizer: Option<Arc<AuthContext>>,
    pub backend_authorizer: Option<Arc<AuthContext>>,
    /// The `X-Apig-RateLimit-*` headers (debug mode).
    pub rate_limits: Vec<(HeaderName, HeaderValue)>,
    pub upstream_latency: Option<Duration>,
}

impl<'s> RequestCtx<'s> {
    pub fn new(snapshot: &'s Snapshot, conn: &'s Conn, headers: &HeaderMap) -> Self {
        Self {
            snapshot,
            conn,
            client: Client::of(headers, conn),
            trace: TraceContext::of(headers),
            request_id: request_id::next(),
            started: Instant::now(),
            now_secs: unix_now().max(0) as u64,
            debug: headers.get(X_APIG_MODE).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"debug")),
            group: None,
            route: None,
            stage: "",
            cors: false,
            upgrade: None,
            app: None,
            user: None,
            frontend_authorizer: None,
            backend_authorizer: None,
            rate_limits: Vec::new(),
            upstream_latency: None,
        }
    }

    /// Routing: the path made unambiguous, the group by host (a bound domain
    /// may redirect plain HTTP to HTTPS; CORS preflights are answered), the
    /// environment and the route, then the API's protocol and whether it
    /// takes WebSocket upgrades.
    pub fn route(&mut self, parts: &mut Parts) -> Result<Routed<'s>, GatewayError> {
        routing::normalize_path(parts)?;
        let host = self.snapshot.routes.host(routing::checked_host(parts)?);
        if host.redirect_https
            && !self.conn.https
            && let Some(port) = self.conn.https_port
        {
            return Ok(Routed::Answered(Box::new(routing::redirect_to_https(parts, port))));
        }
        if let Some(res) = routing::preflight(parts, host.group) {
            return Ok(Routed::Answered(Box::new(res)));
        }
        let group = host.group.ok_or(errors::NOT_FOUND)?;
        self.group = Some(group);
        let (route, stage) = group.find(parts, &parts.method)?;
        self.route = Some(route);
        self.stage = stage;
        self.cors = route.cors_preflight.is_some();
        route.check_protocol(self.conn.https)?;
        route.check_upgrade(routing::is_websocket_upgrade(parts))?;
        if route.websocket {
            self.upgrade = parts.extensions.remove::<OnUpgrade>();
        }
        Ok(Routed::Api(route))
    }

    /// Whether a stage will need the whole body: form fields as parameters, a
    /// function's event, an SDK signature over it, a custom authorizer asking for it.
    pub fn needs_body(&self, route: &Route, headers: &HeaderMap) -> bool {
        (route.reads_form && body::is_form(headers))
            || route.calls_function
            || route.maps_body
            || app::needs_body(route.def(), headers)
            || self.authorizers_need_body(route)
    }

    fn authorizers_need_body(&self, route: &Route) -> bool {
        let authorizers = &self.snapshot.authorizers;
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

    /// What APP authentication reads from the request.
    fn presented<'r>(&self, parts: &'r Parts, headers: &'r app::SignedView<'r>, body: Option<&'r [u8]>) -> app::Presented<'r, app::SignedView<'r>> {
        app::Presented {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query().unwrap_or_default(),
            headers,
            body,
            https: self.conn.https,
            app_code_over_http: self.conn.app_code_over_http,
            now: unix_now(),
        }
    }

    /// Frontend authentication by the API's `auth_type`: the calling app
    /// (APP), the token's subject (IAM) or the custom authorizer's answer.
    pub async fn authenticate(&mut self, route: &'s Route, parts: &Parts, path_values: &[&str], body: &RequestBody) -> Result<(), GatewayError> {
        match route.def().auth_type {
            AuthType::None => {}
            AuthType::App => {
                let headers = app::SignedView { headers: &parts.headers, authority: parts.uri.authority().map(|a| a.as_str()) };
                let presented = self.presented(parts, &headers, body.as_ref().ok().map(|b| &b[..]));
                self.app = Some(app::authenticate(&self.snapshot.credentials, &route.api, &presented)?);
            }
            AuthType::Iam => self.user = Some(iam::authenticate(&self.snapshot.issuers, &parts.headers)?),
            AuthType::Authorizer => {
                let id = route.def().authorizer_id.as_deref().unwrap_or_default();
                let answer = self.ask_authorizer(id, route, parts, path_values, body).await;
                self.frontend_authorizer = Some(refused_with(answer, &mut self.frontend_authorizer)?);
            }
        }
        Ok(())
    }

    /// Throttling: one call from the group's cap and each of the publication's limits, or none.
    pub async fn throttle(&mut self, route: &Route) -> Result<(), GatewayError> {
        let call = throttle::Call {
            group: self.group.and_then(|g| g.limit.as_ref()),
            publish_id: &route.publish_id,
            caller: throttle::Caller { user: self.user.as_deref(), app: self.app.map(|a| &*a.id), ip: self.client.ip },
            now_secs: self.now_secs,
            debug: self.debug,
        };
        let throttles = &self.snapshot.throttles;
        match throttles.check_now(&call, &mut self.rate_limits) {
            Some(checked) => checked,
            // Redis: boxed, so requests that do not wait for it do not carry its state.
            None => Box::pin(throttles.check(&call, &mut self.rate_limits)).await,
        }
    }

    /// What backend policy conditions look at.
    pub fn conditions<'a>(&'a self, parts: &'a Parts, values: &'a [Option<Cow<'a, str>>]) -> ConditionInput<'a> {
        ConditionInput {
            values,
            source_ip: self.client.ip,
            path: parts.uri.path(),
            method: parts.method.as_str(),
            cookies: parts.headers.get(http::header::COOKIE).and_then(|c| c.to_str().ok()),
            app: self.app.map(|a| (&*a.id, &*a.name)),
            authorizer: self.frontend_authorizer.as_deref(),
        }
    }

    /// The chosen backend's custom authorizer, before the backend is called.
    pub async fn authorize_backend(&mut self, id: &str, route: &Route, parts: &Parts, path_values: &[&str], body: &RequestBody) -> Result<(), GatewayError> {
        let answer = self.ask_authorizer(id, route, parts, path_values, body).await;
        self.backend_authorizer = Some(refused_with(answer, &mut self.backend_authorizer)?);
        Ok(())
    }

    /// Asks custom authorizer `id` about the caller's request as it came.
    async fn ask_authorizer(&self, id: &str, route: &Route, parts: &Parts, path_values: &[&str], body: &RequestBody) -> Result<Arc<AuthContext>, Refused> {
        let path_params = params::path_params(&route.inputs, path_values);
        let query = parts.uri.query().unwrap_or_default();
        let body = body.as_ref().map(|b| &b[..]).unwrap_or_default();
        let ask = Asking { event: self.event_input(route, parts, query, &parts.headers, &path_params, body), query };
        self.snapshot.authorizers.authorize(&self.snapshot.functions, id, ask).await
    }

    /// An HTTP backend: the mapped (and signed) request sent, its answer
    /// streamed back — or, for a WebSocket API, the connection joined.
    pub async fn call_http(&mut self, target: &HttpTarget, route: &Route, parts: &Parts, headers: HeaderMap, values: &Values<'_>, body: RequestBody) -> Result<Response<Body>, GatewayError> {
        let snapshot = self.snapshot;
        let caller = target.mapping.caller_values(&headers, &parts.uri);
        let req = {
            let system = |v| self.system_value(v, route);
            let input = self.mapping_input(route, parts, values, &system, route.remainder(parts.uri.path()), &caller);
            let signer = snapshot.backend_signers.get(&route.publish_id);
            crate::backend::http::build(target, &input, headers, body, signer, unix_now())?
        };
        self.conn.note(|| describe_backend_request(&req, target));
        let pick = PickInput { client_ip: self.client.ip, path: parts.uri.path(), now_secs: self.now_secs };
        if route.websocket {
            let caller = self.upgrade.take().ok_or(errors::WEBSOCKET_ONLY)?;
            return Box::pin(websocket::proxy(&snapshot.channels, target, &pick, req, caller, self.conn.websocket)).await;
        }
        let answer = crate::backend::http::call(&snapshot.channels, target, &pick, req, &mut self.upstream_latency).await;
        self.conn.note(|| match (&answer, self.upstream_latency) {
            (Ok(res), Some(took)) => format!("backend answered {} in {:.1} ms", res.status().as_u16(), took.as_secs_f64() * 1000.0),
            (Ok(res), None) => format!("backend answered {}", res.status().as_u16()),
            (Err(e), _) => format!("backend call failed: {} {}", e.code, e.message),
        });
        answer
    }

    /// A FUNCTION backend: the request mapped as for an HTTP backend, put in
    /// the function's event; the function's answer is the response.
    pub async fn call_function(&mut self, backend: &FunctionBackend, route: &Route, parts: &Parts, headers: HeaderMap, values: &Values<'_>, body: &RequestBody) -> Result<Response<Body>, GatewayError> {
        // The event's path parameters are the values as read (decoded, defaulted).
        let declared = |location| declared_values(route, values, location);
        let path_params = declared(ParamLocation::Path);
        // SCF's `headerParameters`: the declared HEADER parameters' values.
        let header_params = declared(ParamLocation::Header);
        let caller = backend.mapping.caller_values(&headers, &parts.uri);
        let mapped = {
            let system = |v| self.system_value(v, route);
            let input = self.mapping_input(route, parts, values, &system, None, &caller);
            backend.mapping.build(&input, headers, Either::Right(Full::new(Bytes::new())))?
        };
        let body = body.as_ref().map(|b| &b[..]).unwrap_or_default();
        let input = EventInput {
            app_key: self.app.map(|a| &*a.key),
            header_params: &header_params,
            ..self.event_input(route, parts, mapped.uri().query().unwrap_or_default(), mapped.headers(), &path_params, body)
        };
        let started = Instant::now();
        let answer = self.snapshot.functions.call(&backend.target, self.request_id.as_str(), |format| event::event(format, &input)).await;
        self.upstream_latency = Some(started.elapsed());
        self.conn.note(|| {
            let took = started.elapsed().as_secs_f64() * 1000.0;
            match &answer {
                Ok(_) => format!("function {} answered in {took:.1} ms", backend.target.urn),
                Err(e) => format!("function {} failed after {took:.1} ms: {} {}", backend.target.urn, e.code, e.message),
            }
        });
        Ok(function::respond(answer?))
    }

    /// A WebSocket API served by functions: the registration function asked,
    /// the caller's connection held by the gateway (see `backend::function_websocket`).
    pub async fn open_function_websocket(&mut self, backend: &FunctionBackend, route: &Route, parts: &Parts, headers: HeaderMap, values: &Values<'_>) -> Result<Response<Body>, GatewayError> {
        let connection = self.upgrade.take().ok_or(errors::WEBSOCKET_ONLY)?;
        // A policy chooses the transfer function; registration and cleanup are the API's.
        let default = match &route.backend {
            crate::backend::Backend::Function(f) => Some(f),
            _ => None,
        };
        let register = backend.register.as_ref().or(default.and_then(|d| d.register.as_ref()));
        let cleanup = backend.cleanup.as_ref().or(default.and_then(|d| d.cleanup.as_ref()));
        let mut upgrade = HeaderMap::new();
        for name in [http::header::SEC_WEBSOCKET_KEY, http::header::SEC_WEBSOCKET_PROTOCOL, http::header::SEC_WEBSOCKET_EXTENSIONS] {
            if let Some(v) = headers.get(&name) {
                upgrade.insert(name, v.clone());
            }
        }
        let declared = |location| declared_values(route, values, location);
        let (path_params, header_params) = (declared(ParamLocation::Path), declared(ParamLocation::Header));
        let caller = backend.mapping.caller_values(&headers, &parts.uri);
        let mapped = {
            let system = |v| self.system_value(v, route);
            let input = self.mapping_input(route, parts, values, &system, None, &caller);
            backend.mapping.build(&input, headers, Either::Right(Full::new(Bytes::new())))?
        };
        let input = EventInput {
            app_key: self.app.map(|a| &*a.key),
            header_params: &header_params,
            ..self.event_input(route, parts, mapped.uri().query().unwrap_or_default(), mapped.headers(), &path_params, &[])
        };
        let base = function_websocket::BaseEvents::new(|format| event::event(format, &input));
        let api = route.def();
        let owner = function_websocket::Owner { api_id: api.id.as_str().into(), group_id: api.group_id.as_str().into(), env_id: route.api.env_id.as_str().into() };
        let fns = function_websocket::WebSocketFunctions { register, transfer: &backend.target, cleanup };
        let id = self.request_id.as_str().to_string();
        let opened = function_websocket::open(&self.snapshot.functions, fns, owner, &id, &upgrade, base, connection, self.conn.websocket).await;
        self.conn.note(|| match &opened {
            Ok(_) => format!("WebSocket connection {id} served by function {}", backend.target.urn),
            Err(e) => format!("WebSocket connection refused: {} {}", e.code, e.message),
        });
        opened
    }

    /// The reverse-push endpoint: a push document signed by an app, applied
    /// to a connection of a group the app is authorized in.
    pub async fn push_to_websocket(&mut self, parts: &Parts, body: hyper::body::Incoming) -> Result<Response<Body>, GatewayError> {
        if parts.method != http::Method::POST {
            return Err(errors::BAD_PARAMETER.with_message(format!("The WebSocket push endpoint takes POST, not {}", parts.method)));
        }
        let limits = body::BodyLimits { max_size: self.conn.body.max_size.min(function_websocket::MAX_PUSH_BYTES), ..self.conn.body };
        let body = body::read(&parts.headers, body, true, limits).await?.unwrap_or_default();
        let headers = app::SignedView { headers: &parts.headers, authority: parts.uri.authority().map(|a| a.as_str()) };
        let presented = self.presented(parts, &headers, Some(&body));
        let creds = &self.snapshot.credentials;
        let caller = app::identify_caller(creds, &presented)?;
        self.app = Some(caller);
        let pushed = function_websocket::push(&body, &function_websocket::Scope::App(&|group, env| creds.authorized_in_group(group, env, &caller.id)));
        Ok(function_websocket::push_answer(&pushed))
    }

    /// What a function (a backend or a custom authorizer) is told about the request.
    fn event_input<'a>(
        &'a self,
        route: &'a Route,
        parts: &'a Parts,
        query: &'a str,
        headers: &'a HeaderMap,
        path_params: &'a [(&'a str, &'a str)],
        body: &'a [u8],
    ) -> EventInput<'a> {
        let api = route.def();
        EventInput {
            method: parts.method.as_str(),
            path: parts.uri.path(),
            api_path: &api.req_uri,
            query,
            headers,
            path_params,
            body,
            base64_body: api.is_send_fg_body_base64,
            api_id: &api.id,
            group_id: &api.group_id,
            request_id: self.request_id.as_str(),
            stage: self.stage,
            source_ip: &self.client.text,
            app_key: None,
            header_params: &[],
            user_data: None,
        }
    }

    /// What backend parameter mapping reads, for an HTTP backend or a function's event.
    fn mapping_input<'a>(
        &'a self,
        route: &'a Route,
        parts: &'a Parts,
        values: &'a [Option<Cow<'a, str>>],
        system: &'a dyn Fn(SystemValue) -> Cow<'a, str>,
        remainder: Option<&'a str>,
        caller: &'a CallerValues,
    ) -> MappingInput<'a> {
        MappingInput {
            method: &parts.method,
            uri: &parts.uri,
            inputs: &route.inputs,
            values,
            remainder,
            system,
            peer_ip: &self.conn.peer_ip,
            peer_ip_value: &self.conn.peer_ip_value,
            client_ip_value: &self.client.value,
            local_port_value: &self.conn.local_port_value,
            https: self.conn.https,
            traceparent: self.trace.traceparent(&self.request_id),
            frontend_authorizer: self.frontend_authorizer.as_deref(),
            backend_authorizer: self.backend_authorizer.as_deref(),
            caller,
            forwarding: route.def().forwarding,
        }
    }

    /// A `$context.*` system value, for backend parameters.
    fn system_value<'a>(&'a self, v: SystemValue, route: &'a Route) -> Cow<'a, str> {
        match v {
            SystemValue::SourceIp => Cow::Borrowed(&self.client.text),
            SystemValue::Stage => Cow::Borrowed(self.stage),
            SystemValue::ApiId => Cow::Borrowed(&route.def().id),
            SystemValue::ApiName => Cow::Borrowed(&route.def().name),
            SystemValue::RequestId => Cow::Owned(self.request_id.as_str().to_string()),
            SystemValue::TraceId => Cow::Borrowed(self.trace.trace_id(&self.request_id)),
            SystemValue::Scheme => Cow::Borrowed(if self.conn.https { "https" } else { "http" }),
            SystemValue::RequestTimeGmt => Cow::Owned(http_date(self.now_secs)),
            SystemValue::Proxy => Cow::Borrowed("BceApiGateway"),
            SystemValue::ServerAddr => Cow::Borrowed(&self.conn.local_ip),
            SystemValue::ServerName => Cow::Borrowed(server_name()),
            SystemValue::HandleTime => Cow::Owned(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis()).to_string(),
            ),
            SystemValue::AppId => Cow::Borrowed(self.app.map_or("", |a| &*a.id)),
            SystemValue::AppName => Cow::Borrowed(self.app.map_or("", |a| &*a.name)),
            // Read from the caller's headers by the mapping itself (`CallerValues`).
            SystemValue::ClientUa | SystemValue::Domain | SystemValue::Empty => Cow::Borrowed(""),
        }
    }
}

/// The values of the declared input parameters at `location`, by name (for a function's event).
fn declared_values<'a>(route: &'a Route, values: &'a Values<'_>, location: ParamLocation) -> Vec<(&'a str, &'a str)> {
    route.inputs.iter().zip(values.iter()).filter(|(p, _)| p.location == location).filter_map(|(p, v)| Some((&*p.name, v.as_deref()?))).collect()
}

/// An authorizer's answer; when it refuses, the context it gave is kept for the error response.
fn refused_with(answer: Result<Arc<AuthContext>, Refused>, keep: &mut Option<Arc<AuthContext>>) -> Result<Arc<AuthContext>, GatewayError> {
    answer.map_err(|r| {
        *keep = r.context;
        r.error
    })
}

/// This machine's name, for `$context.serverName`.
fn server_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_else(|_| "causeway".into())
    })
}

/// An HTTP date (`Sat, 05 Dec 2026 18:45:00 GMT`) of a time in seconds since the epoch.
fn http_date(secs: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(0)).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (weekday, month) = (t.weekday().to_string(), t.month().to_string());
    format!("{}, {:02} {} {} {:02}:{:02}:{:02} GMT", &weekday[..3], t.day(), &month[..3], t.year(), t.hour(), t.minute(), t.second())
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A debug call's note of the backend request: method, URL, and headers
/// (credentials and signatures shown as `***`).
fn describe_backend_request<B>(req: &http::Request<B>, target: &HttpTarget) -> String {
    let headers: Vec<String> = req
        .headers()
        .iter()
        .map(|(k, v)| if params::is_credential(k.as_str()) { format!("{k}: ***") } else { format!("{k}: {}", String::from_utf8_lossy(v.as_bytes())) })
        .collect();
    format!("backend request ({}): {} {}\n  {}", target.describe(), req.method(), req.uri(), headers.join("\n  "))
}
