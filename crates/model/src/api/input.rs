//! What clients post. Every field is optional here so that a missing field is
//! reported by validation as `APIG.2001` naming it, and enumerations are plain
//! strings so that an unknown value is `APIG.2011` naming it. Unknown fields
//! are ignored, so a stored API read back can be posted again unchanged.

use serde::Deserialize;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ApiInput {
    /// Set by the family the body came in by, not by the body.
    #[serde(skip)]
    pub dialect: crate::rules::Dialect,
    pub group_id: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub api_type: Option<i64>,
    pub version: Option<String>,
    pub req_protocol: Option<String>,
    pub frontend_type: Option<String>,
    pub forwarding: Option<ForwardingInput>,
    pub req_method: Option<String>,
    pub req_uri: Option<String>,
    pub match_mode: Option<String>,
    pub remark: Option<String>,
    pub auth_type: Option<String>,
    pub auth_opt: Option<AuthOptInput>,
    pub authorizer_id: Option<String>,
    pub backend_type: Option<String>,
    pub tag: Option<String>,
    pub tags: Option<Vec<String>>,
    pub cors: Option<bool>,
    pub content_type: Option<String>,
    pub is_send_fg_body_base64: Option<bool>,
    pub body_remark: Option<String>,
    pub result_normal_sample: Option<String>,
    pub result_failure_sample: Option<String>,
    pub response_id: Option<String>,
    pub roma_app_id: Option<String>,
    pub domain_name: Option<String>,
    pub backend_api: Option<BackendApiInput>,
    pub mock_info: Option<MockInfoInput>,
    pub func_info: Option<FuncInfoInput>,
    pub req_params: Option<Vec<ReqParamInput>>,
    pub backend_params: Option<Vec<BackendParamInput>>,
    pub policy_https: Option<Vec<PolicyHttpInput>>,
    pub policy_mocks: Option<Vec<PolicyMockInput>>,
    pub policy_functions: Option<Vec<PolicyFunctionInput>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthOptInput {
    pub app_code_auth_type: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct VpcInfoInput {
    /// V2 calls it `vpc_channel_id` (in `vpc_channel_info`).
    #[serde(alias = "vpc_channel_id")]
    pub vpc_id: Option<String>,
    #[serde(alias = "vpc_channel_proxy_host")]
    pub vpc_proxy_host: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct BackendApiInput {
    pub url_domain: Option<String>,
    /// Several addresses with weights (Baidu's backend address list).
    pub url_domains: Option<Vec<WeightedDomainInput>>,
    pub version: Option<String>,
    pub req_protocol: Option<String>,
    pub req_method: Option<String>,
    pub req_uri: Option<String>,
    pub timeout: Option<i64>,
    /// A number, or (as V2's SDK types it) a string holding one.
    #[serde(default, deserialize_with = "crate::rules::int_or_string")]
    pub retry_count: Option<i64>,
    pub remark: Option<String>,
    /// V2: `vpc_channel_status`.
    #[serde(alias = "vpc_channel_status")]
    pub vpc_status: Option<i64>,
    /// V2: `vpc_channel_info`.
    #[serde(alias = "vpc_channel_info")]
    pub vpc_info: Option<VpcInfoInput>,
    pub authorizer_id: Option<String>,
    pub enable_client_ssl: Option<bool>,
    /// Causeway: speak HTTP/2 to the backend (h2c over plain TCP, ALPN h2 over TLS).
    pub http2: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct WeightedDomainInput {
    pub url_domain: Option<String>,
    pub weight: Option<i64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct MockInfoInput {
    pub result_content: Option<String>,
    pub version: Option<String>,
    pub remark: Option<String>,
    pub status_code: Option<i64>,
    /// A JSON array of `{key, value, remark}`, or a string holding one (as the documents type it).
    pub header: Option<serde_json::Value>,
    pub authorizer_id: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct FuncInfoInput {
    pub function_urn: Option<String>,
    pub invocation_type: Option<String>,
    pub timeout: Option<i64>,
    pub version: Option<String>,
    pub alias_urn: Option<String>,
    pub network_type: Option<String>,
    pub remark: Option<String>,
    pub authorizer_id: Option<String>,
    pub websocket_register_urn: Option<String>,
    pub websocket_cleanup_urn: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ForwardingInput {
    pub query: Option<String>,
    pub header: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ReqParamInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub param_type: Option<String>,
    pub location: Option<String>,
    pub default_value: Option<String>,
    pub sample_value: Option<String>,
    pub required: Option<i64>,
    pub valid_enable: Option<i64>,
    pub remark: Option<String>,
    pub enumerations: Option<String>,
    pub min_num: Option<i64>,
    pub max_num: Option<i64>,
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    pub regular: Option<String>,
    pub json_schema: Option<String>,
    pub pass_through: Option<i64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct BackendParamInput {
    pub name: Option<String>,
    pub location: Option<String>,
    pub origin: Option<String>,
    pub value: Option<String>,
    pub remark: Option<String>,
    #[serde(rename = "type")]
    pub param_type: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ConditionInput {
    pub condition_type: Option<String>,
    pub condition_value: Option<String>,
    pub condition_origin: Option<String>,
    pub req_param_name: Option<String>,
    pub sys_param_name: Option<String>,
    pub cookie_param_name: Option<String>,
    pub frontend_authorizer_param_name: Option<String>,
}

/// Fields every policy kind shares.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyCommonInput {
    pub name: Option<String>,
    pub effect_mode: Option<String>,
    pub conditions: Option<Vec<ConditionInput>>,
    pub backend_params: Option<Vec<BackendParamInput>>,
    pub authorizer_id: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyHttpInput {
    #[serde(flatten)]
    pub common: PolicyCommonInput,
    pub url_domain: Option<String>,
    pub req_protocol: Option<String>,
    pub req_method: Option<String>,
    pub req_uri: Option<String>,
    pub timeout: Option<i64>,
    #[serde(default, deserialize_with = "crate::rules::int_or_string")]
    pub retry_count: Option<i64>,
    #[serde(alias = "vpc_channel_status")]
    pub vpc_status: Option<i64>,
    #[serde(alias = "vpc_channel_info")]
    pub vpc_info: Option<VpcInfoInput>,
    pub enable_client_ssl: Option<bool>,
    /// Causeway: speak HTTP/2 to the backend (h2c over plain TCP, ALPN h2 over TLS).
    pub http2: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyMockInput {
    #[serde(flatten)]
    pub common: PolicyCommonInput,
    pub result_content: Option<String>,
    pub status_code: Option<i64>,
    pub header: Option<serde_json::Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyFunctionInput {
    #[serde(flatten)]
    pub common: PolicyCommonInput,
    pub function_urn: Option<String>,
    pub invocation_type: Option<String>,
    pub timeout: Option<i64>,
    pub version: Option<String>,
    pub alias_urn: Option<String>,
    pub network_type: Option<String>,
}
