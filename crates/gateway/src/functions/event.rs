//! What a function receives (a FUNCTION backend or a custom authorizer) and how its answer becomes the response.
//!
//! Two event formats: `apig` (FunctionGraph's API Gateway trigger, the
//! default) and `scf` (Tencent SCF's API Gateway trigger). Two answer modes:
//! `integration` (the function answers `{statusCode, headers, body,
//! isBase64Encoded}`) and `passthrough` (whatever it returns is the body).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::Value;

/// The event's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFormat {
    /// FunctionGraph: lower-case `headers`, base64 `body` with `isBase64Encoded`.
    Apig,
    /// Tencent SCF: the body as text, `headerParameters`, `stageVariables`.
    Scf,
}

/// What the event is made of.
pub struct EventInput<'a> {
    pub method: &'a str,
    /// The path as called.
    pub path: &'a str,
    /// The API's path template (`/users/{id}`).
    pub api_path: &'a str,
    /// The query string, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    /// Path parameters by name.
    pub path_params: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    /// `apig` only: send the body base64-encoded (the default).
    pub base64_body: bool,
    pub api_id: &'a str,
    pub group_id: &'a str,
    pub request_id: &'a str,
    pub stage: &'a str,
    pub source_ip: &'a str,
    /// The calling app's key, for SCF's `requestContext.identity.secretId`.
    pub app_key: Option<&'a str>,
    /// The declared HEADER parameters' values, for SCF's `headerParameters`.
    pub header_params: &'a [(&'a str, &'a str)],
    /// Custom authorizers: the authorizer's `user_data`.
    pub user_data: Option<&'a str>,
}

/// Query parameters in the order they first appear; a repeated name's values joined by `,`.
struct Query<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Query<'a> {
    fn parse(query: &'a str) -> Self {
        let mut pairs: Vec<(Cow<'a, str>, Cow<'a, str>)> = Vec::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match pairs.iter_mut().find(|(seen, _)| *seen == k) {
                Some((_, joined)) => {
                    let joined = joined.to_mut();
                    joined.push(',');
                    joined.push_str(&v);
                }
                None => pairs.push((k, v)),
            }
        }
        Self(pairs)
    }
}

impl Serialize for Query<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// Headers by lower-case name; a repeated header's values joined by `,`.
struct Headers<'a>(&'a HeaderMap);

/// The headers as Tencent's gateway gives them to SCF: with `x-api-requestid`
/// (the request id), as seed 001's event shows.
struct ScfHeaders<'a> {
    headers: &'a HeaderMap,
    request_id: &'a str,
}

impl Serialize for ScfHeaders<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        for name in self.headers.keys() {
            if name.as_str() != "x-api-requestid" {
                map.serialize_entry(name.as_str(), &JoinedValues(self.headers, name))?;
            }
        }
        map.serialize_entry("x-api-requestid", self.request_id)?;
        map.end()
    }
}

struct JoinedValues<'a>(&'a HeaderMap, &'a http::HeaderName);

impl Serialize for JoinedValues<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let values: Vec<_> = self.0.get_all(self.1).iter().map(|v| String::from_utf8_lossy(v.as_bytes())).collect();
        s.serialize_str(&values.join(","))
    }
}

impl Serialize for Headers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.keys().map(|name| {
            let mut values = self.0.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()));
            let first = values.next().unwrap_or_default();
            let joined = values.fold(first, |mut acc, v| {
                let acc_mut = acc.to_mut();
                acc_mut.push(',');
                acc_mut.push_str(&v);
                acc
            });
            (name.as_str(), joined)
        }))
    }
}

struct Pairs<'a>(&'a [(&'a str, &'a str)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApigEvent<'a> {
    body: Cow<'a, str>,
    is_base64_encoded: bool,
    http_method: &'a str,
    path: &'a str,
    resource: &'a str,
    path_parameters: Pairs<'a>,
    query_string_parameters: Query<'a>,
    headers: Headers<'a>,
    request_context: ApigContext<'a>,
    #[serde(rename = "user_data", skip_serializing_if = "Option::is_none")]
    user_data: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApigContext<'a> {
    api_id: &'a str,
    request_id: &'a str,
    stage: &'a str,
    source_ip: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScfEvent<'a> {
    request_context: ScfContext<'a>,
    headers: ScfHeaders<'a>,
    body: Cow<'a, str>,
    path_parameters: Pairs<'a>,
    query_string_parameters: &'a Query<'a>,
    header_parameters: Pairs<'a>,
    stage_variables: StageVariables,
    path: &'a str,
    query_string: &'a Query<'a>,
    http_method: &'a str,
    /// A body that is not UTF-8 text travels base64-encoded.
    is_base64_encoded: bool,
    #[serde(rename = "user_data", skip_serializing_if = "Option::is_none")]
    user_data: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScfContext<'a> {
    service_id: &'a str,
    path: &'a str,
    http_method: &'a str,
    request_id: &'a str,
    identity: ScfIdentity<'a>,
    source_ip: &'a str,
    stage: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScfIdentity<'a> {
    secret_id: &'a str,
}

#[derive(Serialize)]
struct StageVariables {
    stage: String,
}

/// The event as JSON text, written straight from the request (no value tree).
pub fn event(format: EventFormat, e: &EventInput<'_>) -> String {
    let written = match format {
        EventFormat::Apig => {
            let (body, encoded) = if e.base64_body { (Cow::Owned(STANDARD.encode(e.body)), true) } else { (String::from_utf8_lossy(e.body), false) };
            serde_json::to_string(&ApigEvent {
                body,
                is_base64_encoded: encoded,
                http_method: e.method,
                path: e.path,
                resource: e.api_path,
                path_parameters: Pairs(e.path_params),
                query_string_parameters: Query::parse(e.query),
                headers: Headers(e.headers),
                request_context: ApigContext { api_id: e.api_id, request_id: e.request_id, stage: e.stage, source_ip: e.source_ip },
                user_data: e.user_data,
            })
        }
        EventFormat::Scf => {
            let query = Query::parse(e.query);
            let stage = e.stage.to_ascii_lowercase();
            let (body, is_base64_encoded) = match std::str::from_utf8(e.body) {
                Ok(text) => (Cow::Borrowed(text), false),
                Err(_) => (Cow::Owned(STANDARD.encode(e.body)), true),
            };
            serde_json::to_string(&ScfEvent {
                request_context: ScfContext {
                    service_id: e.group_id,
                    path: e.api_path,
                    http_method: e.method,
                    request_id: e.request_id,
                    identity: ScfIdentity { secret_id: e.app_key.unwrap_or_default() },
                    source_ip: e.source_ip,
                    stage: stage.clone(),
                },
                headers: ScfHeaders { headers: e.headers, request_id: e.request_id },
                body,
                path_parameters: Pairs(e.path_params),
                query_string_parameters: &query,
                header_parameters: Pairs(e.header_params),
                stage_variables: StageVariables { stage },
                path: e.path,
                query_string: &query,
                http_method: e.method,
                is_base64_encoded,
                user_data: e.user_data,
            })
        }
    };
    // Maps with string keys and strings always serialize.
    written.unwrap_or_else(|_| "{}".to_string())
}

/// How a function's answer is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// `{statusCode, headers, body, isBase64Encoded}`.
    Integration,
    /// The value is the body (a string as text, anything else as JSON), status 200.
    Passthrough,
}

/// The HTTP answer a function's value maps to.
#[derive(Debug, PartialEq)]
pub struct FunctionAnswer {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// Why an integration answer cannot be used (shown in the gateway log; the
/// caller gets a 500).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed function answer: {0}")]
pub struct Malformed(pub String);

fn malformed(why: &str) -> Malformed {
    Malformed(why.to_string())
}

/// Maps the function's value (JSON text, `None` for `undefined`) to the
/// response; `body` is the string body handed over apart from the rest.
pub fn answer(mode: AnswerMode, value: Option<&str>, body: Option<String>) -> Result<FunctionAnswer, Malformed> {
    let mut parsed: Option<Value> = value.map(serde_json::from_str).transpose().map_err(|e| Malformed(format!("not JSON: {e}")))?;
    if let (Some(b), Some(Value::Object(obj))) = (body, parsed.as_mut()) {
        obj.insert("body".into(), Value::String(b));
    }
    match mode {
        AnswerMode::Passthrough => Ok(match parsed {
            None | Some(Value::Null) => FunctionAnswer { status: StatusCode::OK, headers: Vec::new(), body: Bytes::new() },
            Some(Value::String(s)) => text(s, "text/plain; charset=utf-8"),
            Some(other) => text(other.to_string(), "application/json"),
        }),
        AnswerMode::Integration => {
            let Some(Value::Object(mut obj)) = parsed else {
                return Err(malformed("expected an object with statusCode, headers, body and isBase64Encoded"));
            };
            let status = obj
                .get("statusCode")
                .and_then(Value::as_u64)
                .and_then(|c| u16::try_from(c).ok())
                .and_then(|c| StatusCode::from_u16(c).ok())
                .filter(|c| (200..600).contains(&c.as_u16()))
                .ok_or_else(|| malformed("statusCode must be an HTTP status code"))?;
            let mut headers = Vec::new();
            match obj.remove("headers") {
                None | Some(Value::Null) => {}
                Some(Value::Object(map)) => {
                    for (k, v) in map {
                        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| Malformed(format!("invalid header name {k:?}")))?;
                        let values = match v {
                            Value::Array(items) => items,
                            single => vec![single],
                        };
                        for v in values {
                            let text = match v {
                                Value::String(s) => s,
                                Value::Number(n) => n.to_string(),
                                Value::Bool(b) => b.to_string(),
                                _ => return Err(Malformed(format!("header {k:?} must be a string"))),
                            };
                            let value = HeaderValue::try_from(text).map_err(|_| Malformed(format!("invalid value for header {k:?}")))?;
                            headers.push((name.clone(), value));
                        }
                    }
                }
                Some(_) => return Err(malformed("headers must be an object")),
            }
            let encoded = match obj.get("isBase64Encoded") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(malformed("isBase64Encoded must be true or false")),
            };
            let body = match obj.remove("body") {
                None | Some(Value::Null) => Bytes::new(),
                Some(Value::String(s)) if encoded => STANDARD.decode(s.trim()).map(Bytes::from).map_err(|_| malformed("body is not base64 though isBase64Encoded is true"))?,
                Some(Value::String(s)) => Bytes::from(s),
                Some(_) => return Err(malformed("body must be a string")),
            };
            Ok(FunctionAnswer { status, headers, body })
        }
    }
}

fn text(body: String, content_type: &'static str) -> FunctionAnswer {
    FunctionAnswer { status: StatusCode::OK, headers: vec![(http::header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body: Bytes::from(body) }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input<'a>(headers: &'a HeaderMap, body: &'a [u8], base64_body: bool) -> EventInput<'a> {
        EventInput {
            method: "POST",
            path: "/users/42",
            api_path: "/users/{id}",
            query: "a=1&b=x%20y&a=2",
            headers,
            path_params: &[("id", "42")],
            body,
            base64_body,
            api_id: "api1",
            group_id: "group1",
            request_id: "req1",
            stage: "RELEASE",
            source_ip: "10.0.0.7",
            app_key: Some("key1"),
            header_params: &[("X-Tenant", "acme")],
            user_data: None,
        }
    }

    #[test]
    fn apig_event() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.append("x-multi", HeaderValue::from_static("1"));
        headers.append("x-multi", HeaderValue::from_static("2"));
        let e: Value = serde_json::from_str(&event(EventFormat::Apig, &input(&headers, b"{\"k\":1}", true))).unwrap();
        assert_eq!(e["body"], STANDARD.encode(b"{\"k\":1}"));
        assert_eq!(e["isBase64Encoded"], true);
        assert_eq!(e["httpMethod"], "POST");
        assert_eq!(e["path"], "/users/42");
        assert_eq!(e["pathParameters"], json!({"id": "42"}));
        assert_eq!(e["queryStringParameters"], json!({"a": "1,2", "b": "x y"}));
        assert_eq!(e["headers"], json!({"content-type": "application/json", "x-multi": "1,2"}));
        assert_eq!(e["requestContext"], json!({"apiId": "api1", "requestId": "req1", "stage": "RELEASE", "sourceIp": "10.0.0.7"}));
        let plain: Value = serde_json::from_str(&event(EventFormat::Apig, &input(&headers, b"raw", false))).unwrap();
        assert_eq!((plain["body"].as_str(), plain["isBase64Encoded"].as_bool()), (Some("raw"), Some(false)));
    }

    #[test]
    fn scf_event() {
        let headers = HeaderMap::new();
        let e: Value = serde_json::from_str(&event(EventFormat::Scf, &input(&headers, b"{\"test\":\"body\"}", true))).unwrap();
        assert_eq!(e["body"], "{\"test\":\"body\"}", "SCF bodies are text");
        assert_eq!(e["requestContext"]["serviceId"], "group1");
        assert_eq!(e["requestContext"]["path"], "/users/{id}");
        assert_eq!(e["requestContext"]["identity"]["secretId"], "key1");
        assert_eq!(e["requestContext"]["stage"], "release");
        assert_eq!(e["stageVariables"], json!({"stage": "release"}));
        assert_eq!(e["queryString"], json!({"a": "1,2", "b": "x y"}));
        assert_eq!(e["path"], "/users/42");
        assert_eq!(e["httpMethod"], "POST");
        // Seed 001's event: the declared header parameters, and whether the body is base64.
        assert_eq!(e["headerParameters"], json!({"X-Tenant": "acme"}));
        assert_eq!(e["isBase64Encoded"], false);
        assert_eq!(e["requestContext"]["requestId"], "req1");
        let binary: Value = serde_json::from_str(&event(EventFormat::Scf, &input(&headers, &[0xff, 0x00, 0x01], true))).unwrap();
        assert_eq!((binary["body"].as_str(), binary["isBase64Encoded"].as_bool()), (Some("/wAB"), Some(true)));
    }

    #[test]
    fn integration_answers() {
        let a = answer(AnswerMode::Integration, Some(r#"{"statusCode":201,"headers":{"X-A":"1","X-N":2,"Set-Cookie":["a=1","b=2"]},"body":"hi"}"#), None).unwrap();
        assert_eq!(a.status, 201);
        assert_eq!(a.body, "hi");
        assert_eq!(a.headers.iter().filter(|(k, _)| k == "set-cookie").count(), 2);
        assert!(a.headers.contains(&(HeaderName::from_static("x-n"), HeaderValue::from_static("2"))));
        let b = answer(AnswerMode::Integration, Some(r#"{"statusCode":200,"isBase64Encoded":true,"body":"AAEC"}"#), None).unwrap();
        assert_eq!(&b.body[..], &[0u8, 1, 2]);
        for bad in [
            r#""just a string""#,
            r#"{"body":"no status"}"#,
            r#"{"statusCode":999}"#,
            r#"{"statusCode":200,"body":{"k":1}}"#,
            r#"{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}"#,
            r#"{"statusCode":200,"headers":{"bad name":"x"}}"#,
            r#"{"statusCode":200,"headers":{"x":"line\nbreak"}}"#,
            r#"{"statusCode":200,"headers":"x"}"#,
        ] {
            assert!(answer(AnswerMode::Integration, Some(bad), None).is_err(), "{bad}");
        }
        assert!(answer(AnswerMode::Integration, None, None).is_err());
        let split = answer(AnswerMode::Integration, Some(r#"{"statusCode":202}"#), Some("apart".into())).unwrap();
        assert_eq!((split.status.as_u16(), &split.body[..]), (202, &b"apart"[..]));
    }

    #[test]
    fn passthrough_answers() {
        let s = answer(AnswerMode::Passthrough, Some(r#""hello""#), None).unwrap();
        assert_eq!((s.status, &s.body[..]), (StatusCode::OK, &b"hello"[..]));
        let j = answer(AnswerMode::Passthrough, Some(r#"{"statusCode":404}"#), None).unwrap();
        assert_eq!((j.status, &j.body[..]), (StatusCode::OK, &br#"{"statusCode":404}"#[..]));
        assert_eq!(j.headers[0].1, "application/json");
        assert_eq!(answer(AnswerMode::Passthrough, None, None).unwrap().body, "");
    }
}
