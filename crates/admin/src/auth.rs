//! Management authentication and roles: the admin token in `X-Auth-Token`,
//! or a request signed with an admin access key (`SDK-HMAC-SHA256`, as the
//! vendors' signers and SDKs sign their AK/SK calls). The bootstrap
//! credentials of the first start are an `admin`; named credentials
//! (`/admin-credentials`) carry their own role, checked before the call runs.
//! Failed sign-ins are limited per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use causeway_model::ApiError;
use causeway_model::admin::AdminRole;
use causeway_model::error::codes;
use causeway_sign::sdk;
use subtle::ConstantTimeEq;

use crate::http::{Failure, MAX_BODY_BYTES};
use crate::service::{Principal, Service};

/// Failed sign-ins an address may make per window before it is refused until the window ends.
const FAILURES_ALLOWED: u32 = 10;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most (the oldest windows go first when full).
const FAILURES_TRACKED: usize = 10_000;

/// What management callers may present.
#[derive(Clone)]
pub struct AdminAuth {
    /// The bootstrap token, compared with `X-Auth-Token`.
    pub token: Arc<str>,
    /// The bootstrap access key and secret that sign management calls.
    pub access_key: Arc<str>,
    pub secret_key: Arc<str>,
    /// Looks named credentials up.
    pub service: Arc<Service>,
    /// Failed sign-ins by address: how many in the current window, and when it began.
    pub failures: Arc<Mutex<HashMap<IpAddr, (u32, Instant)>>>,
}

impl AdminAuth {
    pub fn new(token: Arc<str>, access_key: Arc<str>, secret_key: Arc<str>, service: Arc<Service>) -> Self {
        Self { token, access_key, secret_key, service, failures: Arc::default() }
    }

    /// A console sign-in with a token: the bootstrap token or a TOKEN credential's.
    /// Counts as a failed sign-in of `ip` when it is neither; `Err` when `ip` is locked out.
    pub async fn sign_in_token(&self, ip: IpAddr, token: &str) -> Result<Option<Principal>, ApiError> {
        self.sign_in(ip, async {
            if !token.is_empty() && bool::from(token.as_bytes().ct_eq(self.token.as_bytes())) {
                return Ok(Some(Principal { name: BOOTSTRAP.into(), role: AdminRole::Admin }));
            }
            self.service.principal_by_token(token).await
        })
        .await
    }

    /// A console sign-in with an access key and its secret (compared in constant time).
    pub async fn sign_in_key(&self, ip: IpAddr, access: &str, secret: &str) -> Result<Option<Principal>, ApiError> {
        self.sign_in(ip, async {
            if !access.is_empty() && bool::from(access.as_bytes().ct_eq(self.access_key.as_bytes())) {
                let ok = bool::from(secret.as_bytes().ct_eq(self.secret_key.as_bytes()));
                return Ok(ok.then(|| Principal { name: BOOTSTRAP.into(), role: AdminRole::Admin }));
            }
            Ok(match self.service.principal_by_access_key(access).await? {
                Some((principal, stored)) if bool::from(secret.as_bytes().ct_eq(stored.as_bytes())) => Some(principal),
                _ => None,
            })
        })
        .await
    }

    async fn sign_in(&self, ip: IpAddr, check: impl std::future::Future<Output = Result<Option<Principal>, ApiError>>) -> Result<Option<Principal>, ApiError> {
        if self.locked_out(ip) {
            return Err(ApiError::new(codes::SIGN_IN_THROTTLED));
        }
        let found = check.await?;
        if found.is_none() {
            self.failed(ip);
        }
        Ok(found)
    }

    /// Whether `ip` has used up its failed sign-ins for now.
    fn locked_out(&self, ip: IpAddr) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.get(&ip).is_some_and(|(n, since)| *n >= FAILURES_ALLOWED && since.elapsed() < FAILURE_WINDOW)
    }

    fn failed(&self, ip: IpAddr) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= FAILURES_TRACKED {
            failures.retain(|_, (_, since)| since.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures.entry(ip).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

/// Who made a management call, and from where (kept on the request for the audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub role: AdminRole,
    pub source: Option<IpAddr>,
}

/// The name the bootstrap credentials (token and access key of the first start) act under.
pub const BOOTSTRAP: &str = "bootstrap";

fn refused(detail: &str) -> Response {
    Failure(ApiError::detail(codes::TOKEN_INVALID, detail)).into_response()
}

pub async fn require_admin(State(auth): State<AdminAuth>, req: Request, next: Next) -> Response {
    let source = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if source.is_some_and(|ip| auth.locked_out(ip)) {
        return Failure(ApiError::new(codes::SIGN_IN_THROTTLED)).into_response();
    }
    let signature = req.headers().get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).filter(|v| v.starts_with(sdk::ALGORITHM));
    let signed_in = match signature {
        Some(value) => {
            let value = value.to_string();
            verify_signed(&auth, &value, req).await
        }
        None => verify_token(&auth, req).await,
    };
    let (principal, mut req) = match signed_in {
        Ok(signed_in) => signed_in,
        Err(res) => {
            if res.status() == axum::http::StatusCode::UNAUTHORIZED
                && let Some(ip) = source
            {
                auth.failed(ip);
            }
            return res;
        }
    };
    let caller = Caller { name: principal.name, role: principal.role, source };
    let mut res = if principal.role.allows(req.method().as_str(), req.uri().path()) {
        req.extensions_mut().insert(caller.clone());
        next.run(req).await
    } else {
        let detail = format!("the {} role cannot {} {}", principal.role.as_str(), req.method(), req.uri().path());
        Failure(ApiError::detail(codes::NO_PERMISSION_METHOD, &detail)).into_response()
    };
    // For the audit log, which wraps this check.
    res.extensions_mut().insert(caller);
    res
}

/// `X-Auth-Token`: the bootstrap token (compared in constant time), or a named credential's (found by its hash).
async fn verify_token(auth: &AdminAuth, req: Request) -> Result<(Principal, Request), Response> {
    let given = req.headers().get("x-auth-token").map(|v| v.as_bytes()).unwrap_or_default();
    if given.is_empty() {
        return Err(Failure(ApiError::new(codes::TOKEN_INVALID)).into_response());
    }
    if bool::from(given.ct_eq(auth.token.as_bytes())) {
        return Ok((Principal { name: BOOTSTRAP.into(), role: AdminRole::Admin }, req));
    }
    let given = std::str::from_utf8(given).map_err(|_| Failure(ApiError::new(codes::TOKEN_INVALID)).into_response())?;
    match auth.service.principal_by_token(given).await {
        Ok(Some(principal)) => Ok((principal, req)),
        Ok(None) => Err(Failure(ApiError::new(codes::TOKEN_INVALID)).into_response()),
        Err(e) => Err(Failure(e).into_response()),
    }
}

/// Checks an `SDK-HMAC-SHA256` management call; hands the request back with its body restored.
async fn verify_signed(auth: &AdminAuth, value: &str, req: Request) -> Result<(Principal, Request), Response> {
    let parsed = sdk::Authorization::parse(value).ok_or_else(|| refused("malformed SDK-HMAC-SHA256 Authorization header"))?;
    let (principal, secret): (Principal, Arc<str>) = if bool::from(parsed.access.as_bytes().ct_eq(auth.access_key.as_bytes())) {
        (Principal { name: BOOTSTRAP.into(), role: AdminRole::Admin }, auth.secret_key.clone())
    } else {
        match auth.service.principal_by_access_key(parsed.access).await {
            Ok(Some((principal, secret))) => (principal, secret.into()),
            Ok(None) => return Err(refused(&format!("unknown access key {}", parsed.access))),
            Err(e) => return Err(Failure(e).into_response()),
        }
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let date = req.headers().get(sdk::DATE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    match sdk::check_date(date.as_deref(), now) {
        Ok(_) => {}
        Err(sdk::DateError::Missing) => return Err(refused("the X-Sdk-Date header is missing")),
        Err(sdk::DateError::Malformed) => return Err(refused("X-Sdk-Date is not YYYYMMDDTHHMMSSZ")),
        Err(sdk::DateError::Expired { .. }) => {
            return Err(refused(&format!(
                "signature expired, signature time:{}, server time:{}",
                date.unwrap_or_default(),
                causeway_sign::format_sdk_date(now)
            )));
        }
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| Failure(ApiError::field(codes::TOO_LONG, "body")).into_response())?;
    // Signed over the path the caller sent, before the router strips its prefix.
    let uri = parts.extensions.get::<OriginalUri>().map_or(&parts.uri, |o| &o.0);
    // A management call's body is the change: it is always signed, whatever X-Sdk-Content-Sha256 claims.
    let payload_hash = sdk::sha256_hex(&bytes);
    if let Some(claimed) = parts.headers.get(sdk::CONTENT_SHA256_HEADER)
        && !claimed.as_bytes().eq_ignore_ascii_case(payload_hash.as_bytes())
    {
        return Err(refused("the body does not match X-Sdk-Content-Sha256 (management calls sign their body)"));
    }
    let signed = sdk::Request { method: parts.method.as_str(), path: uri.path(), query: uri.query().unwrap_or_default(), headers: &parts.headers, payload_hash: &payload_hash };
    sdk::verify(&secret, date.as_deref().unwrap_or_default(), &signed, &parsed)
        .map_err(|m| refused(&format!("verify signature fail, canonicalRequest:{}", m.one_line())))?;
    Ok((principal, Request::from_parts(parts, Body::from(bytes))))
}
