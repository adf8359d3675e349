//! Frontend authentication of APP APIs: who is calling (a signature with
//! the app's key pair — Huawei's `SDK-HMAC-SHA256`, Tencent's `hmac-sha1`
//! key pairs or Baidu's `bce-auth-v1` — or an AppCode), then whether that app is authorized
//! for the API in this environment. The apps, codes and grants come from the
//! snapshot; nothing here touches the store.

use std::sync::Arc;

use causeway_model::api::{Api, AppCodeAuthType, AuthType};
use causeway_model::app::{App, AppAuth, AppCode};
use causeway_model::publish::ApiVersion;
use causeway_sign::bce::{self, HeaderList};
use causeway_sign::{HeaderSource, sdk, tencent};
use rustc_hash::{FxHashMap, FxHashSet};

use crate::http::error::{GatewayError, ResponseType};
use crate::http::headers::X_APIG_APPCODE;

/// An app as the data plane knows it.
pub struct AppEntry {
    pub id: Box<str>,
    pub name: Box<str>,
    pub key: Box<str>,
    secret: Box<str>,
    /// The secret made ready for SDK-HMAC-SHA256 checks.
    signing_key: sdk::SigningKey,
}

/// Never prints the secret.
impl std::fmt::Debug for AppEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppEntry").field("id", &self.id).field("name", &self.name).field("key", &self.key).finish_non_exhaustive()
    }
}

/// Authorized app ids by API id, then environment id.
type Grants = FxHashMap<Box<str>, FxHashMap<Box<str>, FxHashSet<Box<str>>>>;

/// Apps by key and by AppCode, and which apps may call which API in which environment.
#[derive(Debug, Default)]
pub struct Credentials {
    by_key: FxHashMap<Box<str>, Arc<AppEntry>>,
    by_code: FxHashMap<Box<str>, Arc<AppEntry>>,
    grants: Grants,
    /// The same by group id: an app authorized for any API of a group (for
    /// pushes to the group's WebSocket connections).
    group_grants: Grants,
}

impl Credentials {
    /// `api_groups`: the group of each published API, by API id.
    pub fn build<'a>(
        apps: impl Iterator<Item = &'a App>,
        codes: impl Iterator<Item = &'a AppCode>,
        auths: impl Iterator<Item = &'a AppAuth>,
        api_groups: &FxHashMap<&str, &str>,
    ) -> Self {
        let mut by_id: FxHashMap<&str, Arc<AppEntry>> = FxHashMap::default();
        let mut by_key = FxHashMap::default();
        for a in apps {
            let entry = Arc::new(AppEntry { id: a.id.as_str().into(), name: a.name.as_str().into(), key: a.app_key.as_str().into(), secret: a.app_secret.as_str().into(), signing_key: sdk::SigningKey::new(&a.app_secret) });
            by_key.insert(entry.key.clone(), entry.clone());
            by_id.insert(&a.id, entry);
        }
        let by_code = codes.filter_map(|c| Some((c.app_code.as_str().into(), by_id.get(c.app_id.as_str())?.clone()))).collect();
        let (mut grants, mut group_grants) = (Grants::default(), Grants::default());
        for g in auths.filter(|g| by_id.contains_key(g.app_id.as_str())) {
            grants.entry(g.api_id.as_str().into()).or_default().entry(g.env_id.as_str().into()).or_default().insert(g.app_id.as_str().into());
            if let Some(group) = api_groups.get(g.api_id.as_str()) {
                group_grants.entry((*group).into()).or_default().entry(g.env_id.as_str().into()).or_default().insert(g.app_id.as_str().into());
            }
        }
        Self { by_key, by_code, grants, group_grants }
    }

    /// Whether the app is authorized for some API of the group in the environment.
    pub fn authorized_in_group(&self, group_id: &str, env_id: &str, app_id: &str) -> bool {
        self.group_grants.get(group_id).and_then(|envs| envs.get(env_id)).is_some_and(|apps| apps.contains(app_id))
    }

    fn authorized(&self, api_id: &str, env_id: &str, app_id: &str) -> bool {
        self.grants.get(api_id).and_then(|envs| envs.get(env_id)).is_some_and(|apps| apps.contains(app_id))
    }
}

/// What authentication needs from the request.
pub struct Presented<'r, H: HeaderList + ?Sized> {
    pub method: &'r str,
    pub path: &'r str,
    pub query: &'r str,
    pub headers: &'r H,
    /// The body, when it was read (see [`needs_body`]).
    pub body: Option<&'r [u8]>,
    pub https: bool,
    /// AppCodes over plain HTTP (an operator's choice until callers use HTTPS).
    pub app_code_over_http: bool,
    /// Unix seconds.
    pub now: i64,
}

fn failure(message: String) -> GatewayError {
    GatewayError { kind: ResponseType::AuthFailure, status: 401, code: "APIG.0303", message: message.into() }
}

fn missing() -> GatewayError {
    GatewayError {
        kind: ResponseType::AuthHeaderMissing,
        status: 401,
        code: "APIG.0303",
        message: "Incorrect app authentication information: no Authorization or X-Apig-AppCode header".into(),
    }
}

/// 401, the UNAUTHORIZED response's default (the error-code table says 403;
/// owners who want that set it on the group's UNAUTHORIZED response).
fn unauthorized(app: &AppEntry) -> GatewayError {
    GatewayError {
        kind: ResponseType::Unauthorized,
        status: 401,
        code: "APIG.0304",
        message: format!("The app is not authorized to access the API, app id: {}", app.id).into(),
    }
}

/// Whether verifying this request needs its whole body: an `SDK-HMAC-SHA256`
/// signature on an APP API without the client's own payload hash.
pub fn needs_body(api: &Api, headers: &http::HeaderMap) -> bool {
    api.auth_type == AuthType::App
        && !headers.contains_key(sdk::CONTENT_SHA256_HEADER)
        && headers.get(http::header::AUTHORIZATION).is_some_and(|v| v.as_bytes().starts_with(sdk::ALGORITHM.as_bytes()))
}

/// The app that signed a request (or sent an AppCode), authorized or not.
pub fn identify_caller<'c, H: HeaderList + ?Sized>(creds: &'c Credentials, req: &Presented<'_, H>) -> Result<&'c AppEntry, GatewayError> {
    identify(creds, AppCodeAuthType::Disable, req)
}

/// The calling app of an APP API, authorized for it in the environment it is published in.
pub fn authenticate<'c, H: HeaderList + ?Sized>(creds: &'c Credentials, version: &ApiVersion, req: &Presented<'_, H>) -> Result<&'c AppEntry, GatewayError> {
    let api = &version.api;
    let app = identify(creds, api.auth_opt.app_code_auth_type, req)?;
    if !creds.authorized(&api.id, &version.env_id, &app.id) {
        return Err(unauthorized(app));
    }
    Ok(app)
}

fn identify<'c, H: HeaderList + ?Sized>(creds: &'c Credentials, app_code: AppCodeAuthType, req: &Presented<'_, H>) -> Result<&'c AppEntry, GatewayError> {
    let authorization = req.headers.header("authorization").map(str::trim);
    match authorization {
        Some(v) if v.starts_with(sdk::ALGORITHM) => return sdk_signature(creds, v, req),
        Some(v) if v.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("hmac ")) => return key_pair(creds, v, req),
        Some(v) if v.starts_with(bce::VERSION) => return bce_signature(creds, v, req),
        _ => {}
    }
    // Baidu API Gateway's place for the same string (looked for only when `Authorization` holds no signature).
    if let Some(v) = req.headers.header(bce::SIGNATURE_HEADER) {
        return bce_signature(creds, v, req);
    }
    if let Some(code) = req.headers.header(X_APIG_APPCODE) {
        if app_code != AppCodeAuthType::Header {
            return Err(failure("Incorrect app authentication information: AppCode authentication is not enabled for this API".into()));
        }
        if !req.https && !req.app_code_over_http {
            return Err(failure("Incorrect app authentication information: AppCode authentication requires HTTPS".into()));
        }
        return creds.by_code.get(code.trim()).map(|a| &**a).ok_or_else(|| failure("Incorrect app authentication information: AppCode not found".into()));
    }
    match authorization {
        Some(_) => Err(failure("Incorrect app authentication information: unsupported Authorization scheme".into())),
        None => Err(missing()),
    }
}

fn sdk_signature<'c, H: HeaderList + ?Sized>(creds: &'c Credentials, value: &str, req: &Presented<'_, H>) -> Result<&'c AppEntry, GatewayError> {
    let auth = sdk::Authorization::parse(value)
        .ok_or_else(|| failure("Incorrect app authentication information: malformed SDK-HMAC-SHA256 Authorization header".into()))?;
    let app = creds.by_key.get(auth.access).ok_or_else(|| failure(format!("Incorrect app authentication information: app not found, appkey {}", auth.access)))?;
    let date = req.headers.header(sdk::DATE_HEADER);
    match sdk::check_date(date, req.now) {
        Ok(_) => {}
        Err(sdk::DateError::Missing) => return Err(failure("Incorrect app authentication information: the X-Sdk-Date header is missing".into())),
        Err(sdk::DateError::Malformed) => return Err(failure("Incorrect app authentication information: X-Sdk-Date is not YYYYMMDDTHHMMSSZ".into())),
        Err(sdk::DateError::Expired { .. }) => {
            return Err(failure(format!(
                "Incorrect app authentication information: signature expired, signature time:{}, server time:{}",
                date.unwrap_or_default().trim(),
                causeway_sign::format_sdk_date(req.now)
            )));
        }
    }
    let payload_hash = match req.headers.header(sdk::CONTENT_SHA256_HEADER) {
        // A body the gateway has read must be the one the caller hashed (a streamed body is the backend's to check).
        Some(v) if v != sdk::UNSIGNED_PAYLOAD && req.body.is_some_and(|b| !sdk::sha256_hex(b).eq_ignore_ascii_case(v.trim())) => {
            return Err(failure("Incorrect app authentication information: the body does not match X-Sdk-Content-Sha256".into()));
        }
        Some(v) => std::borrow::Cow::Borrowed(v),
        None => match req.body {
            Some(body) if !body.is_empty() => std::borrow::Cow::Owned(sdk::sha256_hex(body)),
            _ => std::borrow::Cow::Borrowed(sdk::EMPTY_BODY_SHA256),
        },
    };
    let signed = sdk::Request { method: req.method, path: req.path, query: req.query, headers: req.headers, payload_hash: &payload_hash };
    sdk::verify_with(&app.signing_key, date.unwrap_or_default().trim(), &signed, &auth)
        .map_err(|m| failure(format!("Incorrect app authentication information: verify signature fail, canonicalRequest:{}", m.one_line())))?;
    Ok(app)
}

fn key_pair<'c, H: HeaderList + ?Sized>(creds: &'c Credentials, value: &str, req: &Presented<'_, H>) -> Result<&'c AppEntry, GatewayError> {
    let auth = tencent::Authorization::parse(value).ok_or_else(|| failure("Incorrect app authentication information: malformed hmac Authorization header".into()))?;
    let app = creds.by_key.get(auth.id).ok_or_else(|| failure(format!("Incorrect app authentication information: app not found, appkey {}", auth.id)))?;
    // X-Date is checked against the clock; a signed Date header is accepted as is (as Tencent does).
    if let Some(x_date) = req.headers.header("x-date") {
        let t = causeway_sign::parse_http_date(x_date.trim()).ok_or_else(|| failure("Incorrect app authentication information: X-Date is not an HTTP date".into()))?;
        if (req.now - t).abs() > causeway_sign::MAX_CLOCK_SKEW_SECS {
            return Err(failure(format!("Incorrect app authentication information: signature expired, signature time:{}", x_date.trim())));
        }
        if !auth.headers.iter().any(|h| h.eq_ignore_ascii_case("x-date")) {
            return Err(failure("Incorrect app authentication information: X-Date must be signed".into()));
        }
    } else if !auth.headers.iter().any(|h| h.eq_ignore_ascii_case("date")) {
        return Err(failure("Incorrect app authentication information: sign X-Date or Date".into()));
    }
    // A listed header that was not sent would be signed as empty: a signature with no date in it would never expire.
    if let Some(missing) = auth.headers.iter().find(|h| req.headers.header(&h.to_ascii_lowercase()).is_none()) {
        return Err(failure(format!("Incorrect app authentication information: the signed header {missing} is missing")));
    }
    if !tencent::verify(&app.secret, &auth, req.headers) {
        return Err(failure("Incorrect app authentication information: verify signature fail".into()));
    }
    Ok(app)
}

/// Baidu's `bce-auth-v1` string, from `X-Bce-Signature` (Baidu API Gateway's
/// place for it) or `Authorization`.
fn bce_signature<'c, H: HeaderList + ?Sized>(creds: &'c Credentials, value: &str, req: &Presented<'_, H>) -> Result<&'c AppEntry, GatewayError> {
    let auth = bce::AuthString::parse(value).ok_or_else(|| failure("Incorrect app authentication information: malformed bce-auth-v1 authorization string".into()))?;
    let app = creds.by_key.get(auth.access_key).ok_or_else(|| failure(format!("Incorrect app authentication information: app not found, appkey {}", auth.access_key)))?;
    match bce::check_time(&auth, req.now) {
        Ok(()) => {}
        Err(bce::TimeError::Early) => return Err(failure(format!("Incorrect app authentication information: signature time {} is ahead of the server's", auth.timestamp))),
        Err(bce::TimeError::Expired) => {
            return Err(failure(format!(
                "Incorrect app authentication information: signature expired, signature time:{}, expiration:{}s, server time:{}",
                auth.timestamp,
                auth.expiration_secs,
                bce::format_timestamp(req.now)
            )));
        }
    }
    let signed = bce::Request { method: req.method, path: req.path, query: req.query, headers: req.headers };
    match bce::verify(&app.secret, &auth, &signed) {
        Ok(()) => Ok(app),
        Err(bce::Mismatch::MissingHeader(h)) => Err(failure(format!("Incorrect app authentication information: the signed header {h} is missing"))),
        Err(bce::Mismatch::Signature(canonical)) => {
            Err(failure(format!("Incorrect app authentication information: verify signature fail, canonicalRequest:{}", canonical.replace('\n', "|"))))
        }
    }
}

/// Request headers as the signature reads them: `host` falls back to the
/// URI's authority (HTTP/2 requests carry `:authority`, not `Host`).
pub struct SignedView<'a> {
    pub headers: &'a http::HeaderMap,
    pub authority: Option<&'a str>,
}

impl HeaderSource for SignedView<'_> {
    fn header(&self, lower_name: &str) -> Option<&str> {
        match self.headers.header(lower_name) {
            None if lower_name == "host" => self.authority,
            found => found,
        }
    }
}

impl HeaderList for SignedView<'_> {
    fn names(&self) -> Vec<String> {
        self.headers.names()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(id: &str, key: &str) -> App {
        App {
            id: id.into(),
            name: format!("name_{id}"),
            status: 1,
            app_key: key.into(),
            app_secret: "secret_0001".into(),
            creator: "USER".into(),
            register_time: String::new(),
            update_time: String::new(),
            remark: None,
            app_type: "apig".into(),
        }
    }

    #[test]
    fn grants_are_per_api_env_and_app() {
        let apps = [app("a1", "k1"), app("a2", "k2")];
        let auths = [AppAuth { id: "x".into(), api_id: "api".into(), app_id: "a1".into(), env_id: "env".into(), auth_time: String::new(), auth_role: "PROVIDER".into() }];
        let codes = [AppCode { id: "c".into(), app_code: "code".into(), app_id: "a2".into(), create_time: String::new() }];
        let groups: FxHashMap<&str, &str> = [("api", "g1")].into_iter().collect();
        let creds = Credentials::build(apps.iter(), codes.iter(), auths.iter(), &groups);
        assert!(creds.authorized("api", "env", "a1"));
        assert!(creds.authorized_in_group("g1", "env", "a1"));
        assert!(!creds.authorized_in_group("g1", "env", "a2"));
        assert!(!creds.authorized_in_group("g2", "env", "a1"));
        assert!(!creds.authorized("api", "env", "a2"));
        assert!(!creds.authorized("api", "other", "a1"));
        assert_eq!(&*creds.by_code["code"].id, "a2");
        assert_eq!(&*creds.by_key["k1"].id, "a1");
        assert!(!format!("{creds:?}").contains("secret_0001"), "secrets stay out of debug output");
    }
}
