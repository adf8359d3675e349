//! Functions run by Causeway itself, for `FUNCTION` backends and custom
//! authorizers: the registry's resources (a Causeway extension; the cloud
//! gateways keep functions in FunctionGraph or SCF).
//!
//! A function's draft is version `latest`; publishing freezes a numbered
//! version (`1`, `2`, …); an alias names a version. APIs refer to them by URN:
//! `urn:fss:local:causeway:function:<package>:<name>[:<version or alias>]`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, NameRule};

crate::wire_enum!(
    /// Where the code runs: embedded JavaScript, or POSTed to an HTTP function platform.
    FunctionRuntime { Javascript => "javascript", Http => "http" }
);
crate::wire_enum!(
    /// The event's shape: FunctionGraph's API Gateway trigger or Tencent SCF's.
    EventFormat { Apig => "apig", Scf => "scf" }
);
crate::wire_enum!(
    /// How the answer is read: `{statusCode, headers, body, isBase64Encoded}`, or as the body itself.
    ResponseMode { Integration => "integration", Passthrough => "passthrough" }
);

crate::wire_enum!(
    /// Where an asynchronous invocation is.
    InvocationStatus { Pending => "pending", Running => "running", Succeeded => "succeeded", Failed => "failed" }
);

pub const URN_PREFIX: &str = "urn:fss:local:causeway:function:";
pub const DEFAULT_PACKAGE: &str = "default";
/// The draft version.
pub const LATEST: &str = "latest";
/// Tencent SCF's name for the latest version (seed 001: "Default value: $LATEST").
pub const SCF_LATEST: &str = "$LATEST";

/// A version as written, with SCF's `$LATEST` read as `latest`.
pub fn qualifier(v: &str) -> &str {
    if v == SCF_LATEST { LATEST } else { v }
}
pub const MAX_CODE_BYTES: usize = 1 << 20;
pub const DEFAULT_MEMORY_MIB: u32 = 128;
pub const MEMORY_MIB: std::ops::RangeInclusive<u32> = 16..=1024;
pub const DEFAULT_TIMEOUT_MS: u32 = 3000;
pub const TIMEOUT_MS: std::ops::RangeInclusive<u32> = 1..=60_000;
/// Environment variables: at most this many bytes of keys and values together (FunctionGraph's 4 KB).
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;
pub const DEFAULT_HANDLER: &str = "index.handler";
/// Asynchronous invocations: attempts after the first failed one (FunctionGraph's range and default).
pub const DEFAULT_ASYNC_RETRIES: u32 = 2;
pub const MAX_ASYNC_RETRIES: u32 = 8;

/// Function and package names: 1–60, letters, digits, `_`, `-`, starting with a letter.
pub const FUNCTION_NAME: NameRule = NameRule { min: 1, max: 60, cjk: false, digit_first: false, extra: &['_', '-'] };
/// Alias names: as function names, 1–63.
pub const ALIAS_NAME: NameRule = NameRule { min: 1, max: 63, cjk: false, digit_first: false, extra: &['_', '-'] };
/// Environment variable names: letters, digits, `_`, starting with a letter or `_`.
const ENV_NAME: NameRule = NameRule { min: 1, max: 64, cjk: false, digit_first: false, extra: &['_'] };

/// A function's settings and code: the draft (`latest`) or a published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSpec {
    pub runtime: FunctionRuntime,
    /// `javascript`: the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `http`: where the event is POSTed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub handler: String,
    pub memory_size: u32,
    /// Milliseconds.
    pub timeout: u32,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    pub event_format: EventFormat,
    pub response_mode: ResponseMode,
    /// Asynchronous invocations: how many times a failed one is tried again.
    #[serde(default = "default_async_retries")]
    pub max_async_retry_attempts: u32,
}

fn default_async_retries() -> u32 {
    DEFAULT_ASYNC_RETRIES
}

/// A stored function (its draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub id: String,
    pub name: String,
    pub package: String,
    #[serde(default)]
    pub description: String,
    #[serde(flatten)]
    pub spec: FunctionSpec,
    /// Bumped on every change, so warm instances of older code are not reused.
    pub revision: u64,
    pub create_time: String,
    pub update_time: String,
}

impl Function {
    pub fn urn(&self) -> String {
        Urn { package: self.package.clone(), name: self.name.clone(), qualifier: None }.to_string()
    }
}

/// A published, immutable version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionVersion {
    pub id: String,
    pub function_id: String,
    /// `1`, `2`, …
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(flatten)]
    pub spec: FunctionSpec,
    pub create_time: String,
}

/// A name for a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionAlias {
    pub id: String,
    pub function_id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    pub create_time: String,
    pub update_time: String,
}

/// An asynchronous invocation: stored before the caller is answered, run
/// in the background with retries. Stored with the status as its parent, so
/// the pending ones list cheaply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionInvocation {
    pub request_id: String,
    /// The URN called (with its qualifier).
    pub function_urn: String,
    /// What the gateway resolves: `package:name:qualifier`.
    pub target: String,
    /// The event, as JSON text.
    pub event: String,
    pub timeout_ms: u32,
    pub status: InvocationStatus,
    pub attempts: u32,
    pub max_attempts: u32,
    /// The function's value, once it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Unix milliseconds until which a running invocation belongs to the node
    /// that claimed it; after that another may run it again.
    #[serde(default)]
    pub lease_until: i64,
    pub create_time: String,
    pub update_time: String,
}

/// `urn:fss:local:causeway:function:<package>:<name>[:<qualifier>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urn {
    pub package: String,
    pub name: String,
    /// A version (`latest`, `3`) or an alias.
    pub qualifier: Option<String>,
}

impl Urn {
    pub fn parse(s: &str) -> Option<Self> {
        let rest = s.strip_prefix(URN_PREFIX)?;
        let mut parts = rest.split(':');
        let package = parts.next().filter(|p| FUNCTION_NAME.accepts(p))?.to_string();
        let name = parts.next().filter(|n| FUNCTION_NAME.accepts(n))?.to_string();
        let qualifier = match parts.next() {
            None => None,
            Some(q) if is_version(qualifier(q)) || ALIAS_NAME.accepts(q) => Some(qualifier(q).to_string()),
            Some(_) => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self { package, name, qualifier })
    }

    /// The same function at `qualifier`.
    pub fn with(&self, qualifier: &str) -> Self {
        Self { qualifier: Some(qualifier.to_string()), ..self.clone() }
    }
}

impl std::fmt::Display for Urn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{URN_PREFIX}{}:{}", self.package, self.name)?;
        match &self.qualifier {
            Some(q) => write!(f, ":{q}"),
            None => Ok(()),
        }
    }
}

/// `latest` or a published version number.
pub fn is_version(s: &str) -> bool {
    s == LATEST || (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0'))
}

/// Body of `POST /functions` and `PUT /functions/{id}` (a `PUT` keeps what it leaves out).
#[derive(Debug, Default, Deserialize)]
pub struct FunctionInput {
    pub name: Option<String>,
    pub package: Option<String>,
    pub description: Option<String>,
    pub runtime: Option<String>,
    pub code: Option<String>,
    pub url: Option<String>,
    pub handler: Option<String>,
    pub memory_size: Option<i64>,
    pub timeout: Option<i64>,
    pub environment: Option<BTreeMap<String, String>>,
    pub event_format: Option<String>,
    pub response_mode: Option<String>,
    pub max_async_retry_attempts: Option<i64>,
}

/// A checked function: identity and settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionFields {
    pub name: String,
    pub package: String,
    pub description: String,
    pub spec: FunctionSpec,
}

fn check_handler(h: &str) -> Result<()> {
    // `file.export`: the part after the last dot names the exported function.
    let export = h.rsplit('.').next().unwrap_or_default();
    let ok = rules::char_len(h) <= 128
        && !export.is_empty()
        && export.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && h.chars().all(|c| c.is_ascii_alphanumeric() || "._-$/".contains(c));
    if ok { Ok(()) } else { Err(ApiError::invalid("handler")) }
}

fn check_url(u: &str) -> Result<()> {
    rules::check_len("url", u, 1, 1024)?;
    let ok = (u.starts_with("http://") || u.starts_with("https://")) && !u.contains(char::is_whitespace);
    if ok { Ok(()) } else { Err(ApiError::invalid("url")) }
}

impl FunctionInput {
    /// Checks a create (`existing` = `None`) or an update of `existing`.
    /// Whether JavaScript parses is the caller's check (it holds the engine).
    pub fn validate(self, existing: Option<&FunctionFields>) -> Result<FunctionFields> {
        let name = match (self.name, existing) {
            (Some(n), _) => n,
            (None, Some(e)) => e.name.clone(),
            (None, None) => return Err(ApiError::required("name")),
        };
        FUNCTION_NAME.check("name", &name)?;
        let package = self.package.or_else(|| existing.map(|e| e.package.clone())).unwrap_or_else(|| DEFAULT_PACKAGE.to_string());
        FUNCTION_NAME.check("package", &package)?;
        let description = self.description.or_else(|| existing.map(|e| e.description.clone())).unwrap_or_default();
        rules::check_text("description", Some(&description), 1024)?;
        let old = existing.map(|e| &e.spec);
        let runtime = match self.runtime {
            Some(r) => FunctionRuntime::parse_field("runtime", &r)?,
            None => old.map_or(FunctionRuntime::Javascript, |s| s.runtime),
        };
        let code = self.code.or_else(|| old.and_then(|s| s.code.clone())).filter(|c| !c.trim().is_empty());
        let url = rules::optional_str(self.url).or_else(|| old.and_then(|s| s.url.clone()));
        let (code, url) = match runtime {
            FunctionRuntime::Javascript => {
                let code = rules::required("code", code)?;
                if code.len() > MAX_CODE_BYTES {
                    return Err(ApiError::invalid("code"));
                }
                (Some(code), None)
            }
            FunctionRuntime::Http => {
                let url = rules::required("url", url)?;
                check_url(&url)?;
                (None, Some(url))
            }
        };
        let handler = self.handler.or_else(|| old.map(|s| s.handler.clone())).unwrap_or_else(|| DEFAULT_HANDLER.to_string());
        check_handler(&handler)?;
        let memory_size = match self.memory_size {
            Some(m) => u32::try_from(rules::int_range("memory_size", m, i64::from(*MEMORY_MIB.start()), i64::from(*MEMORY_MIB.end()))?)
                .map_err(|_| ApiError::invalid("memory_size"))?,
            None => old.map_or(DEFAULT_MEMORY_MIB, |s| s.memory_size),
        };
        let timeout = match self.timeout {
            Some(t) => u32::try_from(rules::int_range("timeout", t, i64::from(*TIMEOUT_MS.start()), i64::from(*TIMEOUT_MS.end()))?)
                .map_err(|_| ApiError::invalid("timeout"))?,
            None => old.map_or(DEFAULT_TIMEOUT_MS, |s| s.timeout),
        };
        let environment = self.environment.or_else(|| old.map(|s| s.environment.clone())).unwrap_or_default();
        let env_bytes: usize = environment.iter().map(|(k, v)| k.len() + v.len()).sum();
        if env_bytes > MAX_ENVIRONMENT_BYTES || environment.keys().any(|k| !(ENV_NAME.accepts(k) || (k.starts_with('_') && ENV_NAME.accepts(&k[1..])))) {
            return Err(ApiError::invalid("environment"));
        }
        let event_format = match self.event_format {
            Some(f) => EventFormat::parse_field("event_format", &f)?,
            None => old.map_or(EventFormat::Apig, |s| s.event_format),
        };
        let response_mode = match self.response_mode {
            Some(m) => ResponseMode::parse_field("response_mode", &m)?,
            None => old.map_or(ResponseMode::Integration, |s| s.response_mode),
        };
        let max_async_retry_attempts = match self.max_async_retry_attempts {
            Some(n) => rules::int_range("max_async_retry_attempts", n, 0, i64::from(MAX_ASYNC_RETRIES))? as u32,
            None => old.map_or(DEFAULT_ASYNC_RETRIES, |s| s.max_async_retry_attempts),
        };
        Ok(FunctionFields {
            name,
            package,
            description,
            spec: FunctionSpec { runtime, code, url, handler, memory_size, timeout, environment, event_format, response_mode, max_async_retry_attempts },
        })
    }
}

/// Body of `POST /functions/{id}/aliases` and `PUT /functions/{id}/aliases/{name}`.
#[derive(Debug, Default, Deserialize)]
pub struct AliasInput {
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
}

impl AliasInput {
    /// The alias's name, version and description; `existing_name` on update.
    pub fn validate(self, existing_name: Option<&str>) -> Result<(String, String, String)> {
        let name = match (self.name, existing_name) {
            (Some(n), _) => n,
            (None, Some(e)) => e.to_string(),
            (None, None) => return Err(ApiError::required("name")),
        };
        // An alias must not read as a version.
        if !ALIAS_NAME.accepts(&name) || is_version(&name) {
            return Err(ApiError::invalid("name"));
        }
        let version = rules::required_str("version", self.version)?;
        if !is_version(&version) {
            return Err(ApiError::invalid("version"));
        }
        let description = self.description.unwrap_or_default();
        rules::check_text("description", Some(&description), 1024)?;
        Ok((name, version, description))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(v: serde_json::Value) -> FunctionInput {
        serde_json::from_value(v).unwrap()
    }

    fn field_of(r: Result<FunctionFields>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn defaults_and_rules() {
        let f = input(serde_json::json!({"name": "hello", "code": "exports.handler = () => 1;"})).validate(None).unwrap();
        assert_eq!(f.package, "default");
        assert_eq!(f.spec.runtime, FunctionRuntime::Javascript);
        assert_eq!((f.spec.handler.as_str(), f.spec.memory_size, f.spec.timeout), ("index.handler", 128, 3000));
        assert_eq!((f.spec.event_format, f.spec.response_mode), (EventFormat::Apig, ResponseMode::Integration));

        for (body, field) in [
            (serde_json::json!({"code": "x"}), "name"),
            (serde_json::json!({"name": "1abc", "code": "x"}), "name"),
            (serde_json::json!({"name": "a b", "code": "x"}), "name"),
            (serde_json::json!({"name": "ok"}), "code"),
            (serde_json::json!({"name": "ok", "code": "x", "memory_size": 8}), "memory_size"),
            (serde_json::json!({"name": "ok", "code": "x", "timeout": 60001}), "timeout"),
            (serde_json::json!({"name": "ok", "code": "x", "handler": "index."}), "handler"),
            (serde_json::json!({"name": "ok", "code": "x", "runtime": "python"}), "runtime"),
            (serde_json::json!({"name": "ok", "runtime": "http"}), "url"),
            (serde_json::json!({"name": "ok", "runtime": "http", "url": "ftp://x"}), "url"),
            (serde_json::json!({"name": "ok", "code": "x", "environment": {"1BAD": "v"}}), "environment"),
            (serde_json::json!({"name": "ok", "code": "x", "environment": {"BIG": "v".repeat(5000)}}), "environment"),
            (serde_json::json!({"name": "ok", "code": "x", "event_format": "lambda"}), "event_format"),
            (serde_json::json!({"name": "ok", "code": "x", "response_mode": "raw"}), "response_mode"),
        ] {
            let err = field_of(input(body.clone()).validate(None));
            assert!(err.contains(field), "{body}: {err}");
        }
        let http = input(serde_json::json!({"name": "remote", "runtime": "http", "url": "http://127.0.0.1:8000/fn"})).validate(None).unwrap();
        assert_eq!((http.spec.code, http.spec.url.as_deref()), (None, Some("http://127.0.0.1:8000/fn")));
    }

    #[test]
    fn updates_keep_what_they_leave_out() {
        let first = input(serde_json::json!({"name": "hello", "code": "a", "timeout": 500, "environment": {"K": "v"}})).validate(None).unwrap();
        let second = input(serde_json::json!({"code": "b"})).validate(Some(&first)).unwrap();
        assert_eq!((second.name.as_str(), second.spec.code.as_deref(), second.spec.timeout), ("hello", Some("b"), 500));
        assert_eq!(second.spec.environment.get("K").map(String::as_str), Some("v"));
    }

    #[test]
    fn urns() {
        let u = Urn::parse("urn:fss:local:causeway:function:default:hello:3").unwrap();
        assert_eq!((u.package.as_str(), u.name.as_str(), u.qualifier.as_deref()), ("default", "hello", Some("3")));
        assert_eq!(u.to_string(), "urn:fss:local:causeway:function:default:hello:3");
        assert_eq!(Urn::parse("urn:fss:local:causeway:function:default:hello").unwrap().qualifier, None);
        assert_eq!(Urn::parse("urn:fss:local:causeway:function:default:hello:prod").unwrap().qualifier.as_deref(), Some("prod"));
        for bad in ["", "urn:fss:cn-north-4:abc:function:default:hello", "urn:fss:local:causeway:function:default", "urn:fss:local:causeway:function:default:hello:1:2", "urn:fss:local:causeway:function:default:he llo"] {
            assert_eq!(Urn::parse(bad), None, "{bad}");
        }
        assert!(is_version("latest") && is_version("12") && !is_version("012") && !is_version("v1"));
    }

    #[test]
    fn aliases() {
        let a = AliasInput { name: Some("prod".into()), version: Some("2".into()), description: None };
        assert_eq!(a.validate(None).unwrap(), ("prod".into(), "2".into(), String::new()));
        assert!(AliasInput { name: Some("3".into()), version: Some("2".into()), description: None }.validate(None).is_err());
        assert!(AliasInput { name: Some("latest".into()), version: Some("2".into()), description: None }.validate(None).is_err());
        assert!(AliasInput { name: Some("prod".into()), version: Some("two".into()), description: None }.validate(None).is_err());
    }
}
