//! Debugging an API: `POST .../apis/debug/{api_id}` runs one request
//! through the gateway's pipeline, as DEVELOPER (the draft, published or
//! not) or CONSUMER (the version published in `stage`), and answers the
//! request and response as text, the latency, and the steps taken.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use causeway_model::api::{Api, AuthType, Method};
use causeway_model::debug::{DebugCall, DebugOutcome};
use causeway_model::env::Env;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::{ApiError, Result, ids, kinds, rules};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Service, c};

/// Runs a debug call in the gateway (given by the binary, which holds it).
pub type ApiDebugger = Arc<dyn Fn(DebugCall) -> Pin<Box<dyn Future<Output = std::result::Result<DebugOutcome, String>> + Send>> + Send + Sync>;

/// Most bytes of a debug request body.
const MAX_DEBUG_BODY: usize = 1 << 20;

/// Body of `POST .../apis/debug/{api_id}` (Huawei's DebugApi fields).
#[derive(Debug, Default, Deserialize)]
pub struct DebugInput {
    /// `DEVELOPER` (the draft) or `CONSUMER` (the published version); `MARKETPLACE` is taken as `CONSUMER`.
    pub mode: Option<String>,
    /// `HTTP` or `HTTPS`.
    pub scheme: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    /// `{"name": ["value", ...]}` (a single string is taken too).
    pub query: Option<serde_json::Map<String, Value>>,
    pub header: Option<serde_json::Map<String, Value>>,
    pub body: Option<String>,
    /// The environment, by name (default `RELEASE`).
    pub stage: Option<String>,
    /// An app's key and secret: the request is signed with them (APP APIs).
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub struct DebugView {
    pub request: String,
    pub response: String,
    /// Milliseconds from sending the request to its whole answer.
    pub latency: u64,
    /// The steps the gateway took, one per line.
    pub log: String,
}

/// The values of a `query`/`header` entry.
fn values(field: &str, v: &Value) -> Result<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(list) => list.iter().map(|v| v.as_str().map(str::to_string).ok_or_else(|| ApiError::invalid(field))).collect(),
        _ => Err(ApiError::invalid(field)),
    }
}

impl Service {
    /// Runs `POST /apis/debug/{api_id}` with `debugger`.
    pub fn with_debugger(mut self, debugger: ApiDebugger) -> Self {
        self.debugger = Some(debugger);
        self
    }

    pub async fn debug_api(&self, api_id: &str, input: DebugInput) -> Result<DebugView> {
        let draft: Api = self.load(kinds::API, api_id, c::API_NOT_FOUND).await?;
        let mode = rules::required_str("mode", input.mode)?.to_ascii_uppercase();
        let https = match rules::required_str("scheme", input.scheme)?.to_ascii_uppercase().as_str() {
            "HTTP" => false,
            "HTTPS" => true,
            _ => return Err(ApiError::invalid("scheme")),
        };
        let method = Method::parse_field("method", &rules::required_str("method", input.method)?)?;
        if method == Method::Any {
            return Err(ApiError::invalid("method"));
        }
        let path = rules::required_str("path", input.path)?;
        if !path.starts_with('/') || path.len() > 2048 || path.contains(['?', '#', ' ', '\r', '\n']) {
            return Err(ApiError::invalid("path"));
        }
        let body = input.body.unwrap_or_default();
        if body.len() > MAX_DEBUG_BODY {
            return Err(ApiError::field(c::TOO_LONG, "body"));
        }
        let stage = rules::optional_str(input.stage).unwrap_or_else(|| "RELEASE".into());
        let env = self
            .load_all::<Env>(kinds::ENV, None)
            .await?
            .into_iter()
            .find(|e| e.name == stage || e.id == stage)
            .ok_or_else(|| ApiError::field(c::ENV_NOT_FOUND, "stage"))?;
        let published = self.load_all::<Publication>(kinds::PUBLICATION, Some(&draft.id)).await?.into_iter().find(|p| p.env_id == env.id);
        let (api, publication) = match mode.as_str() {
            "DEVELOPER" => {
                // Served as if published now, under its publication in the stage if it has one (its policies apply).
                let publication = match published {
                    // (The draft may have moved to another group since.)
                    Some(p) => Publication { version_id: format!("debug-{}", ids::new_id()), group_id: draft.group_id.clone(), ..p },
                    None => Publication {
                        publish_id: format!("debug-{}", ids::new_id()),
                        api_id: draft.id.clone(),
                        group_id: draft.group_id.clone(),
                        env_id: env.id.clone(),
                        version_id: format!("debug-{}", ids::new_id()),
                        publish_time: ids::now(),
                        remark: None,
                    },
                };
                (draft, publication)
            }
            "CONSUMER" | "MARKETPLACE" => {
                let p = published.ok_or_else(|| ApiError::field(c::PUBLICATION_NOT_FOUND, "stage"))?;
                let version: ApiVersion = self.load(kinds::API_VERSION, &p.version_id, c::PUBLICATION_NOT_FOUND).await?;
                (version.api, p)
            }
            _ => return Err(ApiError::invalid("mode")),
        };
        // The group's host as the gateway serves it now.
        let group = self.get_group(&api.group_id).await?.group;

        let mut query = Vec::new();
        for (k, v) in input.query.unwrap_or_default() {
            for v in values(&format!("query.{k}"), &v)? {
                query.push(format!("{}={}", encode(&k), encode(&v)));
            }
        }
        let target = if query.is_empty() { path.clone() } else { format!("{path}?{}", query.join("&")) };
        let mut headers = vec![("Host".to_string(), group.sl_domain.clone())];
        if env.name != "RELEASE" {
            headers.push(("X-Stage".to_string(), env.name.clone()));
        }
        for (k, v) in input.header.unwrap_or_default() {
            if k.eq_ignore_ascii_case("host") || k.is_empty() || k.len() > 256 || !k.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
                return Err(ApiError::invalid(&format!("header.{k}")));
            }
            for v in values(&format!("header.{k}"), &v)? {
                if v.contains(['\r', '\n', '\0']) {
                    return Err(ApiError::invalid(&format!("header.{k}")));
                }
                headers.push((k.clone(), v));
            }
        }
        if !body.is_empty() && !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        // An APP API is called as an app would call it: signed with its key and secret.
        if api.auth_type == AuthType::App
            && let (Some(key), Some(secret)) = (rules::optional_str(input.app_key), rules::optional_str(input.app_secret))
        {
            use causeway_sign::sdk;
            // The signature replaces any the caller wrote.
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("authorization") && !k.eq_ignore_ascii_case(sdk::DATE_HEADER));
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let hash = sdk::sha256_hex(body.as_bytes());
            let (path_only, query) = target.split_once('?').unwrap_or((&target, ""));
            let signed = sdk::sign(sdk::Key { access: &key, secret: &secret }, method.as_str(), path_only, query, &headers, &hash, now);
            headers.push(("X-Sdk-Date".to_string(), signed.date));
            headers.push(("Authorization".to_string(), signed.authorization));
        }

        let Some(debugger) = self.debugger.clone() else {
            return Err(ApiError::detail(c::SYSTEM, "debugging is not available in this process"));
        };
        let call = DebugCall { api, publication, env, https, method: method.as_str().to_string(), target, headers, body: body.into_bytes() };
        let outcome = debugger(call).await.map_err(|why| {
            tracing::warn!(error = %why, "debug call failed");
            ApiError::detail(c::SYSTEM, &why)
        })?;
        Ok(DebugView { request: outcome.request, response: outcome.response, latency: outcome.latency_ms, log: outcome.log.join("\n") })
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
