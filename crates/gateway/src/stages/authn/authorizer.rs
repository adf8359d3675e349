//! Custom authorizers: a function from the registry decides whether a
//! request passes, and what it adds (its `context`). Frontend authorizers
//! authenticate callers of AUTHORIZER APIs; backend authorizers run before
//! the backend call. Answers are cached for the authorizer's `ttl`, keyed by
//! the identity sources' values; the cache outlives snapshots and is bounded
//! in bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_model::api::InvocationType;
use causeway_model::authorizer::{Authorizer, AuthorizerKind, IdentityLocation};
use http::HeaderName;
use rustc_hash::FxHashMap;
use serde_json::Value;

use crate::functions::event::{self, EventFormat, EventInput};
use crate::functions::registry::Functions;
use crate::functions::target::FunctionTarget;
use crate::http::error::{GatewayError, errors};
use crate::http::query::{percent_decode, query_pairs};
use crate::stages::authn::context::AuthContext;

/// Most entries a `context` may have, and the longest value.
const MAX_CONTEXT_ENTRIES: usize = 50;
const MAX_CONTEXT_VALUE: usize = 1024;
/// Largest answer read from an authorizer function (the vendors' 1 MB).
const MAX_ANSWER: usize = 1 << 20;
/// Bytes of cached answers (keys and contexts) kept per gateway node.
const CACHE_BYTES: u64 = 64 << 20;

/// A decision: pass or not, with the context either way (a deny's context
/// can fill the AUTHORIZER_FAILURE response).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Arc<AuthContext>),
    Deny(Arc<AuthContext>),
}

/// Why a request did not pass, and the context the function gave, if any.
#[derive(Debug)]
pub struct Refused {
    pub error: GatewayError,
    pub context: Option<Arc<AuthContext>>,
}

impl From<GatewayError> for Refused {
    fn from(error: GatewayError) -> Self {
        Self { error, context: None }
    }
}

#[derive(Debug)]
struct IdentitySource {
    name: Box<str>,
    location: IdentityLocation,
    header: Option<HeaderName>,
    validation: Option<regex::Regex>,
}

/// One authorizer, compiled.
#[derive(Debug)]
pub struct AuthorizerEntry {
    pub id: Box<str>,
    pub kind: AuthorizerKind,
    target: Result<FunctionTarget, String>,
    identities: Vec<IdentitySource>,
    ttl: Duration,
    user_data: Option<Box<str>>,
    pub need_body: bool,
    /// Part of the cache key: answers given under an older definition are not reused.
    revision: Box<str>,
}

impl AuthorizerEntry {
    fn compile(a: &Authorizer) -> Self {
        let target = FunctionTarget::compile(
            &a.authorizer_uri,
            a.authorizer_version.as_deref(),
            a.authorizer_alias_uri.as_deref(),
            causeway_model::function::TIMEOUT_MS.end().to_owned(),
            InvocationType::Sync,
        );
        let identities = a
            .identities
            .iter()
            .map(|i| IdentitySource {
                name: i.name.as_str().into(),
                location: i.location,
                header: (i.location == IdentityLocation::Header).then(|| HeaderName::from_bytes(i.name.as_bytes()).ok()).flatten(),
                // Checked (and size-limited) when the authorizer was saved.
                validation: i.validation.as_deref().and_then(|v| regex::RegexBuilder::new(v).size_limit(1 << 20).build().ok()),
            })
            .collect();
        Self {
            id: a.id.as_str().into(),
            kind: a.kind,
            target,
            identities,
            ttl: Duration::from_secs(u64::from(a.ttl)),
            user_data: a.user_data.as_deref().map(Into::into),
            need_body: a.need_body,
            revision: a.update_time.as_str().into(),
        }
    }

    /// The identity sources' values: present, non-empty and valid, else `None`.
    fn identities<'r>(&self, headers: &'r http::HeaderMap, query: &'r str) -> Option<Vec<std::borrow::Cow<'r, str>>> {
        let mut values = Vec::with_capacity(self.identities.len());
        for i in &self.identities {
            let value = match i.location {
                IdentityLocation::Header => i.header.as_ref().and_then(|h| headers.get(h)).and_then(|v| v.to_str().ok()).map(std::borrow::Cow::Borrowed),
                IdentityLocation::Query => query_pairs(query).find(|(k, _)| *k == &*i.name).map(|(_, v)| percent_decode(v, true)),
            };
            let value = value.filter(|v| !v.is_empty())?;
            if i.validation.as_ref().is_some_and(|re| !re.is_match(&value)) {
                return None;
            }
            values.push(value);
        }
        Some(values)
    }

    /// The cache key: the authorizer, its definition, and each identity value (length-prefixed).
    fn cache_key(&self, values: &[std::borrow::Cow<'_, str>]) -> String {
        let mut key = String::with_capacity(self.id.len() + self.revision.len() + values.iter().map(|v| v.len() + 8).sum::<usize>() + 2);
        key.push_str(&self.id);
        key.push('\n');
        key.push_str(&self.revision);
        for v in values {
            key.push('\n');
            key.push_str(&v.len().to_string());
            key.push(':');
            key.push_str(v);
        }
        key
    }
}

/// Cached decisions, by [`AuthorizerEntry::cache_key`], with when they expire.
pub struct DecisionCache {
    cache: quick_cache::sync::Cache<String, (Instant, Decision), Weigher>,
}

#[derive(Clone)]
struct Weigher;

impl quick_cache::Weighter<String, (Instant, Decision)> for Weigher {
    fn weight(&self, key: &String, value: &(Instant, Decision)) -> u64 {
        let context = match &value.1 {
            Decision::Allow(c) | Decision::Deny(c) => c.weight(),
        };
        (key.len() + context + 64) as u64
    }
}

impl Default for DecisionCache {
    fn default() -> Self {
        Self { cache: quick_cache::sync::Cache::with_weighter(16_384, CACHE_BYTES, Weigher) }
    }
}

impl std::fmt::Debug for DecisionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionCache").field("entries", &self.cache.len()).finish()
    }
}

impl DecisionCache {
    fn get(&self, key: &str, now: Instant) -> Option<Decision> {
        match self.cache.get(key) {
            Some((until, d)) if until > now => Some(d),
            Some(_) => {
                self.cache.remove(key);
                None
            }
            None => None,
        }
    }
}

/// The authorizers a snapshot serves, by id.
#[derive(Debug, Default)]
pub struct Authorizers {
    by_id: FxHashMap<Box<str>, AuthorizerEntry>,
    cache: Arc<DecisionCache>,
}

/// The request as the authorizer sees it (the event's parts, without `user_data`).
pub struct Asking<'a> {
    pub event: EventInput<'a>,
    /// The raw query, for QUERY identity sources.
    pub query: &'a str,
}

impl Authorizers {
    pub fn build<'a>(authorizers: impl Iterator<Item = &'a Authorizer>, cache: Arc<DecisionCache>) -> Self {
        Self { by_id: authorizers.map(|a| (a.id.as_str().into(), AuthorizerEntry::compile(a))).collect(), cache }
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&AuthorizerEntry> {
        self.by_id.get(id)
    }

    /// Whether the authorizer wants the request body.
    pub fn needs_body(&self, id: Option<&str>) -> bool {
        id.and_then(|id| self.get(id)).is_some_and(|a| a.need_body)
    }

    /// Asks authorizer `id` about a request: its context when it allows.
    pub async fn authorize(&self, functions: &Functions, id: &str, ask: Asking<'_>) -> Result<Arc<AuthContext>, Refused> {
        let side = |kind| if kind == AuthorizerKind::Frontend { "frontend" } else { "backend" };
        let Some(entry) = self.get(id) else {
            return Err(errors::AUTHORIZER_CONF_FAILURE.with_message(format!("The custom authorizer {id} does not exist")).into());
        };
        let Some(values) = entry.identities(ask.event.headers, ask.query) else {
            return Err(errors::AUTHORIZER_IDENTITIES_FAILURE.into());
        };
        let key = (!entry.ttl.is_zero()).then(|| entry.cache_key(&values));
        let now = Instant::now();
        let decision = match key.as_deref().and_then(|k| self.cache.get(k, now)) {
            Some(d) => d,
            None => {
                let d = ask_function(functions, entry, ask).await?;
                if let Some(key) = key {
                    self.cache.cache.insert(key, (now + entry.ttl, d.clone()));
                }
                d
            }
        };
        match decision {
            Decision::Allow(context) => Ok(context),
            Decision::Deny(context) => Err(Refused {
                error: errors::AUTHORIZER_FAILURE.with_message(format!("Incorrect authentication information: {} authorizer", side(entry.kind))),
                context: Some(context),
            }),
        }
    }
}

/// Runs the function and reads its answer; whatever goes wrong is the authorizer's configuration failing.
async fn ask_function(functions: &Functions, entry: &AuthorizerEntry, ask: Asking<'_>) -> Result<Decision, GatewayError> {
    let request_id = ask.event.request_id;
    let conf = |why: &str| {
        tracing::warn!(request_id, authorizer = %entry.id, "custom authorizer failed: {why}");
        errors::AUTHORIZER_CONF_FAILURE
    };
    let target = entry.target.as_ref().map_err(|why| conf(why))?;
    let mut input = ask.event;
    input.user_data = Some(entry.user_data.as_deref().unwrap_or_default());
    if !entry.need_body {
        input.body = b"";
    }
    let answer = functions.decide(target, request_id, |format: EventFormat| event::event(format, &input)).await;
    let (json, body) = answer.map_err(|e| conf(&e.message))?;
    read_answer(json.as_deref(), body).map_err(|why| conf(&why))
}

/// `{"statusCode":200,"body":"{\"status\":\"allow\",\"context\":{...}}"}`:
/// `allow` with status 200 passes; any other status or statusCode is a deny.
pub(crate) fn read_answer(json: Option<&str>, body: Option<String>) -> Result<Decision, String> {
    let json = json.ok_or("the function returned nothing")?;
    if json.len() + body.as_ref().map_or(0, String::len) > MAX_ANSWER {
        return Err("the answer is larger than 1 MB".into());
    }
    let answer: Value = serde_json::from_str(json).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let status_code = answer.get("statusCode").and_then(Value::as_u64).ok_or("the answer has no numeric statusCode")?;
    let body = match body {
        Some(b) => b,
        None => answer.get("body").and_then(Value::as_str).ok_or("the answer has no string body")?.to_string(),
    };
    let body: Value = serde_json::from_str(&body).map_err(|e| format!("the answer's body is not JSON: {e}"))?;
    let status = body.get("status").and_then(Value::as_str).ok_or("the answer's body has no status")?;
    let mut entries = Vec::new();
    match body.get("context") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            if map.len() > MAX_CONTEXT_ENTRIES {
                return Err(format!("the context has more than {MAX_CONTEXT_ENTRIES} entries"));
            }
            for (k, v) in map {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => return Err(format!("the context value of {k:?} is not a string, number or boolean")),
                };
                if text.len() > MAX_CONTEXT_VALUE {
                    return Err(format!("the context value of {k:?} is longer than {MAX_CONTEXT_VALUE} bytes"));
                }
                entries.push((k.as_str().into(), text.into()));
            }
        }
        Some(_) => return Err("the context is not an object".into()),
    }
    let context = Arc::new(AuthContext::new(entries));
    Ok(if status_code == 200 && status == "allow" { Decision::Allow(context) } else { Decision::Deny(context) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: &str) -> Result<Decision, String> {
        read_answer(Some(&serde_json::json!({ "statusCode": 200, "body": body }).to_string()), None)
    }

    #[test]
    fn answers_are_read_by_the_documented_contract() {
        let Decision::Allow(c) = answer(r#"{"status":"allow","context":{"user":"ann","n":3,"ok":true}}"#).unwrap() else { panic!() };
        assert_eq!((c.get("user"), c.get("n"), c.get("ok")), (Some("ann"), Some("3"), Some("true")));
        assert!(matches!(answer(r#"{"status":"deny"}"#).unwrap(), Decision::Deny(_)));
        assert!(matches!(answer(r#"{"status":"ALLOW"}"#).unwrap(), Decision::Deny(_)));
        let not_200 = serde_json::json!({ "statusCode": 401, "body": r#"{"status":"allow"}"# }).to_string();
        assert!(matches!(read_answer(Some(&not_200), None).unwrap(), Decision::Deny(_)));
        // A body handed over apart (integration mode).
        assert!(matches!(read_answer(Some(r#"{"statusCode":200}"#), Some(r#"{"status":"allow"}"#.into())).unwrap(), Decision::Allow(_)));
    }

    #[test]
    fn malformed_answers_are_configuration_failures() {
        assert!(read_answer(None, None).is_err());
        assert!(read_answer(Some("\"allow\""), None).is_err());
        assert!(read_answer(Some(r#"{"statusCode":200,"body":{"status":"allow"}}"#), None).is_err());
        assert!(answer("not json").is_err());
        assert!(answer(r#"{"context":{}}"#).is_err());
        assert!(answer(r#"{"status":"allow","context":{"a":{"nested":1}}}"#).is_err());
        assert!(answer(r#"{"status":"allow","context":[1]}"#).is_err());
    }

    #[test]
    fn cache_keys_keep_identity_values_apart() {
        let a = Authorizer {
            id: "a1".into(),
            name: "auth".into(),
            kind: AuthorizerKind::Frontend,
            authorizer_type: causeway_model::authorizer::AuthorizerType::Func,
            authorizer_uri: "urn:fss:local:causeway:function:default:auth".into(),
            authorizer_version: None,
            authorizer_alias_uri: None,
            network_type: causeway_model::authorizer::AuthorizerNetwork::V1,
            identities: Vec::new(),
            ttl: 60,
            user_data: None,
            need_body: false,
            create_time: String::new(),
            update_time: "t1".into(),
        };
        let e = AuthorizerEntry::compile(&a);
        let k = |v: &[&str]| e.cache_key(&v.iter().map(|s| std::borrow::Cow::Borrowed(*s)).collect::<Vec<_>>());
        assert_ne!(k(&["a\n1:b"]), k(&["a", "b"]));
        assert_ne!(k(&["ab", ""]), k(&["a", "b"]));
        assert_eq!(k(&["x"]), k(&["x"]));
    }
}
