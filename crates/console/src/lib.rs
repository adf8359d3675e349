//! Causeway's web console, served by `causeway serve` on the admin listener
//! at `/console/`: pages rendered on the server (maud), our own stylesheet,
//! no script from anywhere else. It calls the same service layer as the
//! management API, so every rule and error code is the same; a session
//! signs in with an admin token or access key, the admin roles decide what
//! it may see and do, and every change is written to the audit log.

mod forms;
mod pages;
mod session;
pub mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use causeway_admin::AdminAuth;
use causeway_admin::service::{AuditRecord, Principal, Service};

pub use session::Sessions;

/// What the console's handlers share.
#[derive(Clone)]
pub struct Console {
    pub service: Arc<Service>,
    pub auth: AdminAuth,
    pub sessions: Arc<Sessions>,
    pub node: Arc<NodeInfo>,
}

/// The node the console runs on, as the overview shows it.
pub struct NodeInfo {
    /// This node's id (as the node list has it).
    pub id: String,
    /// The gateway's counters (on a node that runs a gateway).
    pub traffic: Option<Arc<traffic::Traffic>>,
}

/// The console's routes (under `/console`), and `/` sending browsers there.
/// Starts sampling the node's traffic.
pub fn router(service: Arc<Service>, auth: AdminAuth, node: NodeInfo) -> Router {
    if let Some(t) = &node.traffic {
        t.start();
    }
    let console = Console { service, auth, sessions: Arc::default(), node: Arc::new(node) };
    let pages = Router::new()
        .route("/", get(|| async { Redirect::to("/console/overview") }))
        .route("/overview", get(pages::overview::show))
        .route("/sign-in", get(pages::sign_in::form).post(pages::sign_in::submit))
        .route("/sign-in.css", get(pages::sign_in::style))
        .route("/favicon.svg", get(pages::layout::favicon))
        .route("/sign-out", post(pages::sign_in::sign_out))
        .route("/assets/console.css", get(pages::layout::stylesheet))
        .route("/assets/console.js", get(pages::layout::script))
        .route("/functions", get(pages::functions::list).post(pages::functions::create))
        .route("/functions/{id}", get(pages::functions::detail))
        .route("/functions/{id}/code", post(pages::functions::save))
        .route("/functions/{id}/test", post(pages::functions::test))
        .route("/functions/{id}/versions", post(pages::functions::publish_version))
        .route("/functions/{id}/aliases", post(pages::functions::add_alias))
        .route("/functions/{id}/aliases/{name}/delete", get(pages::functions::confirm_delete_alias).post(pages::functions::delete_alias))
        .route("/functions/{id}/delete", get(pages::functions::confirm_delete).post(pages::functions::delete))
        .route("/groups", get(pages::groups::list).post(pages::groups::create))
        .route("/envs", get(pages::envs::list).post(pages::envs::create))
        .route("/envs/{id}/delete", get(pages::envs::confirm_delete).post(pages::envs::delete))
        .route("/apps", get(pages::apps::list).post(pages::apps::create))
        .route("/apps/{id}", get(pages::apps::detail))
        .route("/apps/{id}/authorize", post(pages::apps::authorize))
        .route("/apps/{id}/revoke", post(pages::apps::revoke))
        .route("/apps/{id}/app-codes", post(pages::app_codes::create))
        .route("/apps/{id}/app-codes/{code}/delete", get(pages::app_codes::confirm_delete).post(pages::app_codes::delete))
        .route("/apps/{id}/{action}", get(pages::apps::confirm).post(pages::apps::act))
        .route("/throttles", get(pages::throttles::list).post(pages::throttles::create))
        .route("/throttles/{id}", get(pages::throttles::detail))
        .route("/throttles/{id}/bind", post(pages::throttles::bind))
        .route("/throttles/{id}/unbind", post(pages::throttles::unbind))
        .route("/throttles/{id}/specials", post(pages::throttles::add_special))
        .route("/throttles/{id}/specials/{special}/delete", get(pages::throttles::confirm_delete_special).post(pages::throttles::delete_special))
        .route("/throttles/{id}/delete", get(pages::throttles::confirm_delete).post(pages::throttles::delete))
        .route("/channels", get(pages::channels::list).post(pages::channels::create))
        .route("/channels/{id}", get(pages::channels::detail))
        .route("/channels/{id}/members", post(pages::channels::add_members))
        .route("/channels/{id}/members/{member}/{action}", get(pages::channels::confirm_member).post(pages::channels::member))
        .route("/channels/{id}/delete", get(pages::channels::confirm_delete).post(pages::channels::delete))
        .route("/authorizers", get(pages::authorizers::list).post(pages::authorizers::create))
        .route("/authorizers/{id}/delete", get(pages::authorizers::confirm_delete).post(pages::authorizers::delete))
        .route("/openapi", get(pages::openapi::show))
        .route("/openapi/import", post(pages::openapi::import))
        .route("/openapi/export", get(pages::openapi::export))
        .route("/acls", get(pages::acls::list).post(pages::acls::create))
        .route("/acls/{id}", get(pages::acls::detail))
        .route("/acls/{id}/bind", post(pages::acls::bind))
        .route("/acls/{id}/unbind", post(pages::acls::unbind))
        .route("/acls/{id}/delete", get(pages::acls::confirm_delete).post(pages::acls::delete))
        .route("/signs", get(pages::sign_keys::list).post(pages::sign_keys::create))
        .route("/signs/{id}", get(pages::sign_keys::detail))
        .route("/signs/{id}/bind", post(pages::sign_keys::bind))
        .route("/signs/{id}/unbind", post(pages::sign_keys::unbind))
        .route("/signs/{id}/delete", get(pages::sign_keys::confirm_delete).post(pages::sign_keys::delete))
        .route("/apis", get(pages::apis::list))
        .route("/apis/new", get(pages::wizard::form).post(pages::wizard::submit))
        .route("/apis/{id}", get(pages::apis::detail))
        .route("/apis/{id}/edit", get(pages::wizard::edit_form).post(pages::wizard::edit_submit))
        .route("/apis/{id}/delete", get(pages::apis::confirm_delete).post(pages::apis::delete))
        .route("/apis/{id}/diff", get(pages::versions::diff))
        .route("/apis/{id}/publish", post(pages::publish::publish))
        .route("/apis/{id}/offline", get(pages::publish::confirm_offline).post(pages::publish::offline))
        .route("/apis/{id}/switch", post(pages::publish::switch))
        .route("/apis/{id}/debug", post(pages::publish::debug))
        .route("/groups/{id}", get(pages::group::detail))
        .route("/groups/{id}/edit", post(pages::group::edit))
        .route("/groups/{id}/domains", post(pages::domains::bind))
        .route("/groups/{id}/certificate", post(pages::domains::upload))
        .route("/groups/{id}/domains/{domain}/delete", get(pages::domains::confirm_unbind).post(pages::domains::unbind))
        .route(
            "/groups/{id}/domains/{domain}/certificate/delete",
            get(pages::domains::confirm_remove_certificate).post(pages::domains::remove_certificate),
        )
        .route("/groups/{id}/responses", post(pages::responses::create))
        .route("/groups/{id}/responses/type", post(pages::responses::set_type))
        .route("/groups/{id}/responses/{response_id}/types/{kind}/delete", post(pages::responses::reset_type))
        .route("/groups/{id}/responses/{response_id}/delete", get(pages::responses::confirm_delete).post(pages::responses::delete))
        .route("/groups/{id}/delete", get(pages::groups::confirm_delete).post(pages::groups::delete))
        .route("/groups/{id}/variables", post(pages::variables::create))
        .route("/groups/{id}/variables/{variable_id}/delete", get(pages::variables::confirm_delete).post(pages::variables::delete))
        .fallback(pages::layout::not_found)
        .with_state(console)
        .layer(axum::middleware::from_fn(security_headers));
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(|| async { Redirect::to("/console/overview") }))
        .nest("/console", pages)
}

/// Every console answer: no inline script or style, no framing, no caching of pages.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The caller's address (from the connection; `0.0.0.0` when unknown).
pub struct Peer(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map_or(std::net::IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())))
    }
}

/// The decoded query string.
pub struct QueryMap(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(QueryMap(form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect()))
    }
}

/// A signed-in request: its session (else the browser is sent to sign in).
pub struct Signed {
    pub id: String,
    pub session: session::Session,
    /// The caller's address (for the audit log and sign-in limits).
    pub source: String,
}

impl Signed {
    pub fn principal(&self) -> &Principal {
        &self.session.principal
    }

    /// Whether the role may make a management call of `method` to `path` (as the API decides).
    pub fn may(&self, method: &str, path: &str) -> bool {
        self.session.principal.role.allows(method, path)
    }
}

impl FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let cookie = parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|c| session::cookie_id(c).map(str::to_string));
        let source = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default();
        let to_sign_in = || Redirect::to("/console/sign-in").into_response();
        let Some((id, session)) = cookie.and_then(|id| console.sessions.get(&id).map(|s| (id, s))) else { return Err(to_sign_in()) };
        // A named credential revoked, or given another role, since signing in ends the session.
        let p = &session.principal;
        if p.name != causeway_admin::BOOTSTRAP {
            match console.service.credential_role(&p.name).await {
                Ok(Some(role)) if role == p.role => {}
                _ => {
                    console.sessions.close(&id);
                    return Err(to_sign_in());
                }
            }
        }
        Ok(Signed { id, session, source })
    }
}

impl Console {
    /// Writes a console change to the audit log, as the management API writes its calls.
    pub async fn audit(&self, who: &Signed, method: &str, path: &str, kind: &str, id: &str, outcome: Result<(), &causeway_model::ApiError>) {
        let (status, error_code) = match outcome {
            Ok(()) => (200, String::new()),
            Err(e) => (e.status, e.code.to_string()),
        };
        self.service
            .record_audit(AuditRecord {
                credential: who.principal().name.clone(),
                source: who.source.clone(),
                method: method.into(),
                path: path.into(),
                resource_kind: kind.into(),
                resource_id: id.into(),
                status,
                error_code,
                digest: String::new(),
                request_id: causeway_model::ids::new_id(),
            })
            .await;
    }
}

/// A page refused to the session's role.
pub fn forbidden() -> Response {
    (StatusCode::FORBIDDEN, pages::layout::bare("Not allowed", "Your role does not allow this.")).into_response()
}
