//! Gateway responses: per group, how the gateway's own errors look — status,
//! body template and headers per response type. Every group has a `default`
//! set; an API may name another with `response_id`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules;

/// The response types, with their default statuses (`None`: the error's own status).
pub const RESPONSE_TYPES: &[(&str, Option<u16>)] = &[
    ("ACCESS_DENIED", Some(403)),
    ("AUTH_FAILURE", Some(401)),
    ("AUTH_HEADER_MISSING", Some(401)),
    ("AUTHORIZER_FAILURE", Some(500)),
    ("AUTHORIZER_CONF_FAILURE", Some(500)),
    ("AUTHORIZER_IDENTITIES_FAILURE", Some(401)),
    ("BACKEND_TIMEOUT", Some(504)),
    ("BACKEND_UNAVAILABLE", Some(502)),
    ("NOT_FOUND", Some(404)),
    ("REQUEST_PARAMETERS_FAILURE", Some(400)),
    ("THROTTLED", Some(429)),
    ("UNAUTHORIZED", Some(401)),
    ("DEFAULT_4XX", None),
    ("DEFAULT_5XX", None),
];

/// The body every type has until customised.
pub const DEFAULT_BODY: &str =
    r#"{"error_code":"$context.error.code","error_msg":"$context.error.message","request_id":"$context.requestId"}"#;
/// Name of the set every group has.
pub const DEFAULT_NAME: &str = "default";
/// Largest number of response sets per group, the default included.
pub const MAX_PER_GROUP: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseHeader {
    pub key: String,
    pub value: String,
}

/// One customised response type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseSpec {
    /// `None` keeps the type's default status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub body: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<ResponseHeader>,
}

/// A stored set of gateway responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayResponse {
    pub id: String,
    pub name: String,
    pub group_id: String,
    /// The group's default set.
    pub default: bool,
    /// Only the customised types.
    pub responses: BTreeMap<String, ResponseSpec>,
    pub create_time: String,
    pub update_time: String,
}

/// Body of `POST`/`PUT .../gateway-responses`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct GatewayResponseInput {
    pub name: Option<String>,
    pub responses: Option<BTreeMap<String, ResponseSpecInput>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ResponseSpecInput {
    pub status: Option<i64>,
    pub body: Option<String>,
    pub headers: Option<Vec<HeaderInput>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct HeaderInput {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// Validated fields.
#[derive(Debug, Clone)]
pub struct GatewayResponseSpec {
    pub name: String,
    pub responses: BTreeMap<String, ResponseSpec>,
}

pub fn is_response_type(t: &str) -> bool {
    RESPONSE_TYPES.iter().any(|(n, _)| *n == t)
}

impl GatewayResponseInput {
    pub fn validate(self) -> Result<GatewayResponseSpec> {
        let name = rules::required_str("name", self.name)?;
        let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err(ApiError::invalid("name"));
        }
        let mut responses = BTreeMap::new();
        for (t, spec) in self.responses.unwrap_or_default() {
            let ty = t.to_ascii_uppercase();
            let f = |x: &str| format!("responses.{t}.{x}");
            if !is_response_type(&ty) {
                return Err(ApiError::invalid(&format!("responses.{t}")));
            }
            let status = match spec.status {
                None => None,
                Some(s) if (200..=599).contains(&s) && s != 444 => Some(s as u16),
                Some(_) => return Err(ApiError::invalid(&f("status"))),
            };
            let body = spec.body.unwrap_or_else(|| DEFAULT_BODY.to_string());
            rules::check_text(&f("body"), Some(&body), 10240)?;
            let headers_in = spec.headers.unwrap_or_default();
            if headers_in.len() > 10 {
                return Err(ApiError::invalid(&f("headers")));
            }
            let mut headers = Vec::with_capacity(headers_in.len());
            for (i, h) in headers_in.into_iter().enumerate() {
                let key = rules::required_str(&f(&format!("headers[{i}].key")), h.key)?;
                let value = rules::required_str(&f(&format!("headers[{i}].value")), h.value)?;
                let key_ok = key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if !key_ok {
                    return Err(ApiError::invalid(&f(&format!("headers[{i}].key"))));
                }
                if value.len() > 1024 || value.chars().any(|c| c.is_control() && c != '\t') {
                    return Err(ApiError::invalid(&f(&format!("headers[{i}].value"))));
                }
                headers.push(ResponseHeader { key, value });
            }
            responses.insert(ty, ResponseSpec { status, body, headers });
        }
        Ok(GatewayResponseSpec { name, responses })
    }
}

/// The answer shape: every type, each marked `default` when not customised.
pub fn view(r: &GatewayResponse) -> serde_json::Value {
    let mut all = serde_json::Map::new();
    for (t, status) in RESPONSE_TYPES {
        let entry = match r.responses.get(*t) {
            Some(s) => serde_json::json!({"status": s.status.or(*status), "body": s.body, "headers": s.headers, "default": false}),
            None => serde_json::json!({"status": status, "body": DEFAULT_BODY, "default": true}),
        };
        all.insert(t.to_string(), entry);
    }
    serde_json::json!({
        "id": r.id, "name": r.name, "group_id": r.group_id, "default": r.default,
        "create_time": r.create_time, "update_time": r.update_time, "responses": all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let input: GatewayResponseInput = serde_json::from_value(serde_json::json!({
            "name": "friendly", "responses": {"not_found": {"status": 410, "body": "gone", "headers": [{"key": "X-A", "value": "1"}]}}
        })).unwrap();
        let spec = input.validate().unwrap();
        assert_eq!(spec.responses["NOT_FOUND"].status, Some(410));
        let bad: GatewayResponseInput = serde_json::from_value(serde_json::json!({"name": "x", "responses": {"NOT_FOUND": {"status": 444}}})).unwrap();
        assert!(bad.validate().unwrap_err().message.contains("responses.NOT_FOUND.status"));
        let bad: GatewayResponseInput = serde_json::from_value(serde_json::json!({"name": "x", "responses": {"NOPE": {}}})).unwrap();
        assert!(bad.validate().unwrap_err().message.contains("responses.NOPE"));
    }
}
