//! The API definition: a frontend (how callers reach it) and a backend (HTTP,
//! FUNCTION or MOCK), with parameters, parameter mapping and backend policies.
//!
//! `Api` is the stored, normalised form (enums in their documented case,
//! defaults applied, ids assigned). `ApiInput` (in [`input`]) is what a client
//! posts; [`ApiInput::validate`] turns one into the other.

mod backends;
mod ids;
pub mod input;
pub mod route;
pub mod uri;
mod validate;

use serde::{Deserialize, Serialize};

pub use backends::{BackendDef, DefaultBackend, FunctionBackend, HttpBackend, MockBackend, PolicyDef, DEFAULT_BACKEND_TIMEOUT_MS};
pub use input::ApiInput;
pub(crate) use validate::{MAX_TAGS, is_tag};

use crate::wire_enum;

wire_enum!(
    /// Frontend request protocol.
    ReqProtocol { Http => "HTTP", Https => "HTTPS", Both => "BOTH" }
);
wire_enum!(
    /// What the frontend speaks: plain requests, or WebSocket connections (an
    /// HTTP/1.1 upgrade, `ws://` over HTTP and `wss://` over HTTPS).
    FrontendType { Http => "HTTP", Websocket => "WEBSOCKET" }
);
wire_enum!(
    /// Backend request protocol.
    BackendProtocol { Http => "HTTP", Https => "HTTPS" }
);
wire_enum!(
    /// Request method; `ANY` matches every method (`TRACE` and `CONNECT` as Baidu allows them).
    Method { Get => "GET", Post => "POST", Put => "PUT", Delete => "DELETE", Head => "HEAD", Patch => "PATCH", Options => "OPTIONS", Trace => "TRACE", Connect => "CONNECT", Any => "ANY" }
);
wire_enum!(
    /// `NORMAL` = exact path, `SWA` = prefix on segment boundaries, `PREFIX` =
    /// string prefix (Tencent's plain paths), `REGEX` = a regular expression (see [`route`]).
    MatchMode { Normal => "NORMAL", Swa => "SWA", Prefix => "PREFIX", Regex => "REGEX" }
);
wire_enum!(
    AuthType { None => "NONE", App => "APP", Iam => "IAM", Authorizer => "AUTHORIZER" }
);
wire_enum!(
    AppCodeAuthType { Disable => "DISABLE", Header => "HEADER" }
);
wire_enum!(
    BackendType { Http => "HTTP", Function => "FUNCTION", Mock => "MOCK" }
);
wire_enum!(
    /// Parameter types: Huawei's STRING and NUMBER, plus Baidu's finer numeric and boolean types.
    ParamType { String => "STRING", Number => "NUMBER", Int => "INT", Long => "LONG", Float => "FLOAT", Double => "DOUBLE", Boolean => "BOOLEAN" }
);
wire_enum!(
    ParamLocation { Path => "PATH", Query => "QUERY", Header => "HEADER", Body => "BODY" }
);
wire_enum!(
    /// Where a backend parameter's value comes from.
    ParamOrigin { Request => "REQUEST", Constant => "CONSTANT", System => "SYSTEM" }
);
wire_enum!(
    InvocationType { Sync => "sync", Async => "async" }
);
wire_enum!(
    /// Baidu's forwarding modes: `PASSTHROUGH` sends the caller's parameters
    /// on; `MAPPING` sends only the declared ones (the others are dropped).
    ForwardMode { Passthrough => "PASSTHROUGH", Mapping => "MAPPING" }
);
wire_enum!(
    NetworkType { V1 => "V1", V2 => "V2" }
);
wire_enum!(
    /// How a policy combines its conditions.
    EffectMode { All => "ALL", Any => "ANY" }
);
wire_enum!(
    ConditionType { Exact => "exact", Enum => "enum", Pattern => "pattern" }
);
wire_enum!(
    ConditionOrigin { Param => "param", Source => "source", System => "system", Cookie => "cookie", FrontendAuthorizer => "frontend_authorizer" }
);
wire_enum!(
    /// System parameters a `system` condition can test: the vendors' two, and
    /// the calling app of an APP API (a Causeway extension).
    SysParamName { ReqPath => "req_path", ReqMethod => "req_method", AppId => "app_id", AppName => "app_name" }
);

/// Default `version` of an API when none is given, as the cloud gateways answer.
pub const DEFAULT_API_VERSION: &str = "V0.0.1";

/// Mock status codes the documents list.
pub const MOCK_STATUS_CODES: &[u16] = &[
    200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 306, 307, 400, 401, 402, 403, 404, 405,
    406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 450, 451, 500, 501, 502, 503, 504, 505,
];

/// Gateway system parameters usable as SYSTEM backend parameters.
pub const SYSTEM_PARAMS: &[&str] = &[
    "$context.sourceIp",
    "$context.stage",
    "$context.apiId",
    "$context.apiName",
    "$context.appId",
    "$context.appName",
    "$context.requestId",
    "$context.traceId",
    "$context.serverAddr",
    "$context.serverName",
    "$context.handleTime",
    "$context.providerAppId",
    // Baidu's system parameters (seed 003), by its names.
    "BceClientIp",
    "BceRequestHandleTime",
    "BceAppId",
    "BceRequestId",
    "BceHttpSchema",
    "BceProxy",
    "BceClientUa",
    "BceDomain",
];
pub const FRONTEND_AUTHORIZER_PREFIX: &str = "$context.authorizer.frontend.";
pub const BACKEND_AUTHORIZER_PREFIX: &str = "$context.authorizer.backend.";

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_true(b: &bool) -> bool {
    *b
}

fn yes() -> bool {
    true
}

impl FrontendType {
    pub fn is_http(&self) -> bool {
        *self == FrontendType::Http
    }

    /// Stored APIs from before WebSocket frontends existed are HTTP.
    fn http() -> Self {
        FrontendType::Http
    }
}

/// `content_type` values (V2): the request body's format.
pub const CONTENT_TYPES: &[&str] = &["application/x-www-form-urlencoded", "application/json", "application/xml", "text/plain", "multipart/form-data"];

/// A stored API definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Api {
    pub id: String,
    pub name: String,
    pub group_id: String,
    #[serde(rename = "type")]
    pub api_type: i32,
    pub version: String,
    pub req_protocol: ReqProtocol,
    /// `WEBSOCKET`: callers open WebSocket connections, proxied to the HTTP backend.
    #[serde(default = "FrontendType::http", skip_serializing_if = "FrontendType::is_http")]
    pub frontend_type: FrontendType,
    pub req_method: Method,
    pub req_uri: String,
    pub match_mode: MatchMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub auth_type: AuthType,
    pub auth_opt: AuthOpt,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    pub backend_type: BackendType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub cors: bool,
    /// The request body's format (V2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// FUNCTION backends and custom authorizers get the body base64-encoded
    /// (V2; `false` only with `content_type` `application/json`).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub is_send_fg_body_base64: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_remark: Option<String>,
    /// Which of the caller's query parameters, headers and form fields reach the backend.
    #[serde(default, skip_serializing_if = "Forwarding::is_passthrough")]
    pub forwarding: Forwarding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_normal_sample: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_failure_sample: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roma_app_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    pub status: i32,
    pub arrange_necessary: i32,
    pub register_time: String,
    pub update_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_api: Option<BackendApi>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock_info: Option<MockInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub func_info: Option<FuncInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub req_params: Vec<ReqParam>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_params: Vec<BackendParam>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_https: Vec<PolicyHttp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_mocks: Vec<PolicyMock>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_functions: Vec<PolicyFunction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthOpt {
    pub app_code_auth_type: AppCodeAuthType,
}

/// A VPC (load-balance) channel reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VpcInfo {
    pub vpc_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_proxy_host: Option<String>,
}

/// The default HTTP backend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendApi {
    pub id: String,
    pub status: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_domain: Option<String>,
    /// Several addresses sharing the requests by weight (then `url_domain` is the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub url_domains: Vec<WeightedDomain>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub req_protocol: BackendProtocol,
    pub req_method: Method,
    pub req_uri: String,
    pub timeout: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub vpc_status: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_info: Option<VpcInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_client_ssl: bool,
    /// Causeway: HTTP/2 to the backend (h2c over plain TCP, ALPN `h2` over TLS); needed for gRPC.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http2: bool,
    pub register_time: String,
    pub update_time: String,
}

/// One address of a backend's weighted address list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightedDomain {
    pub url_domain: String,
    pub weight: u32,
}

/// Most addresses in a backend's weighted address list.
pub const MAX_URL_DOMAINS: usize = 50;

/// The default MOCK backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockInfo {
    pub id: String,
    pub status: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub status_code: u16,
    /// Response headers as the documents carry them: a JSON string of `[{"key","value","remark"}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    pub register_time: String,
    pub update_time: String,
}

/// One mock response header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockHeader {
    pub key: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// Parses a stored mock `header` string.
pub fn mock_headers(header: Option<&str>) -> Vec<MockHeader> {
    header.and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default()
}

/// Baidu's query, header and body forwarding modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarding {
    pub query: ForwardMode,
    pub header: ForwardMode,
    pub body: ForwardMode,
}

impl Default for Forwarding {
    fn default() -> Self {
        Self { query: ForwardMode::Passthrough, header: ForwardMode::Passthrough, body: ForwardMode::Passthrough }
    }
}

impl Forwarding {
    pub fn is_passthrough(&self) -> bool {
        *self == Self::default()
    }
}

/// The default FUNCTION backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncInfo {
    pub id: String,
    pub status: i32,
    pub function_urn: String,
    pub invocation_type: InvocationType,
    pub timeout: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_urn: Option<String>,
    pub network_type: NetworkType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    /// WEBSOCKET APIs (Tencent's function-backed WebSocket APIs): run when a
    /// caller connects, and may refuse it; `function_urn` is the transfer
    /// function, run for each message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket_register_urn: Option<String>,
    /// WEBSOCKET APIs: run when a connection closes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websocket_cleanup_urn: Option<String>,
    pub register_time: String,
    pub update_time: String,
}

/// A frontend (input) parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqParam {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub param_type: ParamType,
    pub location: ParamLocation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_value: Option<String>,
    pub required: i32,
    pub valid_enable: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enumerations: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_num: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_num: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regular: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<String>,
    pub pass_through: i32,
}

/// A backend parameter: where a value the backend receives comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendParam {
    pub id: String,
    pub name: String,
    pub location: ParamLocation,
    pub origin: ParamOrigin,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// For REQUEST origin: the id of the input parameter mapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_param_id: Option<String>,
    /// A CONSTANT's type (Baidu's STRING, NUMBER, BOOLEAN): what a JSON body gets.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub param_type: Option<ParamType>,
}

/// A backend policy condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub id: String,
    pub condition_origin: ConditionOrigin,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition_type: Option<ConditionType>,
    pub condition_value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_param_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_param_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub req_param_location: Option<ParamLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sys_param_name: Option<SysParamName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie_param_name: Option<String>,
    /// For `frontend_authorizer` conditions: `$context.authorizer.frontend.<key>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontend_authorizer_param_name: Option<String>,
}

/// An HTTP backend chosen when its conditions hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyHttp {
    pub id: String,
    pub name: String,
    pub effect_mode: EffectMode,
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_params: Vec<BackendParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_domain: Option<String>,
    pub req_protocol: BackendProtocol,
    pub req_method: Method,
    pub req_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_count: Option<i32>,
    pub vpc_status: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_info: Option<VpcInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub enable_client_ssl: bool,
    /// Causeway: HTTP/2 to the backend (h2c over plain TCP, ALPN `h2` over TLS); needed for gRPC.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http2: bool,
}

/// A MOCK backend chosen when its conditions hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyMock {
    pub id: String,
    pub name: String,
    pub effect_mode: EffectMode,
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_params: Vec<BackendParam>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_content: Option<String>,
    pub status_code: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
}

/// A FUNCTION backend chosen when its conditions hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyFunction {
    pub id: String,
    pub name: String,
    pub effect_mode: EffectMode,
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_params: Vec<BackendParam>,
    pub function_urn: String,
    pub invocation_type: InvocationType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias_urn: Option<String>,
    pub network_type: NetworkType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_id: Option<String>,
}

/// What makes two APIs of a group the same route (see [`Api::route_key`]).
/// (`=/a` and `/a` are one route; `^~/a` is its own, beside `SWA` and `PREFIX` ones.)
pub fn route_key(method: Method, req_uri: &str, match_mode: MatchMode) -> String {
    let routed = route::route_path(req_uri, match_mode);
    match routed.kind {
        route::PathMatch::Regex => format!("{method} {req_uri} {match_mode}"),
        route::PathMatch::PriorityPrefix => format!("{method} {} PRIORITY_PREFIX", routed.path),
        _ => format!("{method} {} {match_mode}", uri::route_shape(&routed.path)),
    }
}

impl Api {
    /// What makes two APIs of a group the same route: method, path (parameter
    /// names do not matter: `/a/{x}` and `/a/{y}` collide), match mode, and
    /// (as Baidu allows) the names of the required query parameters — two
    /// APIs that differ only there are routed by them.
    pub fn route_key(&self) -> String {
        let base = route_key(self.req_method, &self.req_uri, self.match_mode);
        match self.required_query().as_slice() {
            [] => base,
            names => format!("{base} ?{}", names.join("&")),
        }
    }

    /// The names of its required QUERY parameters, sorted.
    pub fn required_query(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.req_params.iter().filter(|p| p.location == ParamLocation::Query && p.required == 1).map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// How its request path is routed (its written syntax read; see [`route`]).
    pub fn route_path(&self) -> route::RoutePath {
        route::route_path(&self.req_uri, self.match_mode)
    }

    /// Names of the environment variables (`#name#`) the backends use.
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |s: Option<&str>| {
            if let Some(s) = s {
                for v in uri::variables(s) {
                    if !out.contains(&v) {
                        out.push(v);
                    }
                }
            }
        };
        if let Some(b) = &self.backend_api {
            add(b.url_domain.as_deref());
            add(Some(&b.req_uri));
        }
        for p in &self.policy_https {
            add(p.url_domain.as_deref());
            add(Some(&p.req_uri));
        }
        out
    }
}
