//! The request pipeline: the stages every request passes, in order, written
//! once in [`run_stages`]. Each stage passes the request on or ends it with
//! a gateway error; nothing here touches the store.
//!
//! | stage | decided in | ends with |
//! |---|---|---|
//! | request target within its length limit | `pipeline` | 414 |
//! | the WebSocket reverse-push endpoint (`POST /.causeway/websocket/push`, signed by an app) | `backend::function_websocket` | `APIG.0303`/`0304` 401, 400/404/503 with `errNo` |
//! | route: path normalised, host → group, `X-Stage` → environment, method + path → API | `routing` | `APIG.0101` 404; 400 `APIG.0201` for a path above its root or with an escaped slash; HTTPS redirect; CORS preflight answer |
//! | protocol, WebSocket or not | `routing::route` | `APIG.0607`, `APIG.0201` 400 |
//! | access control | `stages::access` | `APIG.0402` 403 |
//! | read the body (only when needed) | `stages::body` | 413; 408 for a body that stops arriving |
//! | frontend authentication: APP, IAM, custom authorizer | `stages::authn` | `APIG.0303`/`0304`/`0301` 401, authorizer errors |
//! | throttling | `stages::throttle` | `APIG.0308` 429 |
//! | input parameters | `stages::params` | `APIG.0201` 400 |
//! | backend policy | `stages::policies` (on `routing::route`) | — |
//! | backend authorizer | `stages::authn::authorizer` | authorizer errors |
//! | backend call: MOCK, HTTP (or WebSocket), FUNCTION (or WebSocket served by functions) | `backend` | 500 `APIG.0105` (unservable definition), 502 `APIG.0201`/`0202`/`0610`, 504 `APIG.0203`, 413 (a streamed body over the limit), function errors |
//! | response: error templates, headers, log | `pipeline::respond` | — |

pub(crate) mod conn;
mod ctx;
pub(crate) mod notes;
pub(crate) mod respond;

use std::sync::Arc;

use http::Response;
use http::request::Parts;
use hyper::body::Incoming;

use crate::backend::{Backend, function_websocket};
use crate::config::snapshot::Snapshot;
use crate::http::body::Body;
use crate::http::error::{GatewayError, errors};
use crate::observe::metrics::{self, Refusal};
use crate::pipeline::conn::Conn;
use crate::pipeline::ctx::{RequestCtx, Routed};
use crate::stages::{body, params};

/// Serves one request from `snapshot` (a debug call's connection notes each step).
pub(crate) async fn handle(req: http::Request<Incoming>, conn: &Conn, snapshot: Arc<Snapshot>) -> Response<Body> {
    let (mut parts, body) = req.into_parts();
    let mut ctx = RequestCtx::new(&snapshot, conn, &parts.headers);
    let answer = run_stages(&mut ctx, &mut parts, body).await;
    respond::finish(&mut ctx, &mut parts, answer)
}

/// The stages, in request order.
async fn run_stages<'s>(ctx: &mut RequestCtx<'s>, parts: &mut Parts, body: Incoming) -> Result<Response<Body>, GatewayError> {
    // A target longer than the limit goes no further.
    if parts.uri.path_and_query().is_some_and(|pq| pq.as_str().len() > ctx.conn.max_uri_length) {
        metrics::refused(Refusal::UriLength);
        return Err(errors::URI_TOO_LONG);
    }
    // The reverse-push endpoint of WebSocket APIs served by functions.
    if parts.uri.path() == function_websocket::PUSH_PATH {
        return ctx.push_to_websocket(parts, body).await;
    }
    // Route: the group, environment and API (or the gateway answers itself).
    let route = match ctx.route(parts)? {
        Routed::Api(route) => route,
        Routed::Answered(res) => return Ok(*res),
    };
    ctx.conn.note(|| {
        let api = route.def();
        format!("route: {} {} → API {} ({} {} {}) in environment {}", parts.method, parts.uri.path(), api.name, api.req_method, api.req_uri, api.match_mode, route.env_name)
    });
    // Access control, then the body (read whole only when a later stage needs it).
    ctx.snapshot.access.check(&route.publish_id, ctx.client.ip)?;
    let body = body::read(&parts.headers, body, ctx.needs_body(route, &parts.headers), ctx.conn.body).await?;
    let path_values = route.path_values(parts.uri.path());
    // Who calls, and whether they may call this often.
    ctx.authenticate(route, parts, &path_values, &body).await?;
    ctx.throttle(route).await?;
    ctx.conn.note(|| format!("access control, {} authentication and throttling passed", route.def().auth_type));
    // Input parameters (form fields from the body in hand).
    let form = (route.reads_form && body::is_form(&parts.headers)).then(|| body.as_ref().ok().cloned()).flatten();
    let values = params::collect(&route.inputs, &path_values, parts.uri.query().unwrap_or_default(), &parts.headers, form.as_deref())?;
    // The backend: the first policy whose conditions hold, else the default; its authorizer first.
    ctx.conn.note(|| params::describe(&route.inputs, &values));
    let choice = route.select(|| ctx.conditions(parts, &values));
    ctx.conn.note(|| route.describe(&choice));
    if let Some(id) = choice.authorizer {
        ctx.authorize_backend(id, route, parts, &path_values, &body).await?;
    }
    if route.websocket && matches!(choice.backend, Backend::Mock(_)) {
        return Err(errors::WEBSOCKET_BACKEND);
    }
    // The call; the caller's headers move on to the backend.
    let headers = std::mem::take(&mut parts.headers);
    match choice.backend {
        Backend::Mock(mock) => {
            let res = mock.respond();
            ctx.conn.note(|| format!("MOCK backend answered {}", res.status().as_u16()));
            Ok(res)
        }
        Backend::Http(target) => ctx.call_http(target, route, parts, headers, &values, body).await,
        Backend::Function(function) if route.websocket => ctx.open_function_websocket(function, route, parts, headers, &values).await,
        Backend::Function(function) => ctx.call_function(function, route, parts, headers, &values, &body).await,
        Backend::Unservable(why) => Err(errors::BACKEND_NOT_SERVED.with_message(why.clone())),
    }
}
