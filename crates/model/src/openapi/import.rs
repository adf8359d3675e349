//! A Swagger 2.0 / OpenAPI 3.0 document → API definitions and the policies
//! it declares. Each operation becomes one API, or one failure naming what
//! is wrong with it; only a document that cannot be read at all fails as a
//! whole. Names the document uses for other resources (load-balance
//! channels, custom authorizers, gateway responses) are put where their ids
//! go; the service layer resolves them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::OasVersion;
use super::schema::{self, resolve};
use crate::acl::AclInput;
use crate::api::input::*;
use crate::authorizer::AuthorizerInput;
use crate::error::{ApiError, Result, codes};
use crate::response::{GatewayResponseInput, HeaderInput, ResponseSpecInput};
use crate::rules::{API_NAME, Dialect, NameRule};
use crate::throttle::ThrottleInput;

/// Operation keys of a path item, in the order APIs are created.
pub const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];
/// The path-item key of an operation that answers every method.
pub const ANY_METHOD: &str = "x-apigateway-any-method";

#[derive(Debug, Clone)]
pub struct Options {
    /// Every API gets a MOCK backend, whatever the document says (V2 `mock_mode`).
    pub mock_mode: bool,
    /// Most operations one document may hold (`APIG.3603` beyond).
    pub max_apis: usize,
    /// Whose naming rules the APIs are checked by.
    pub dialect: Dialect,
}

/// What a document declares.
#[derive(Debug)]
pub struct Imported {
    pub version: OasVersion,
    /// `info.title`: the name of a group created for the import.
    pub title: Option<String>,
    /// `info.description`: its remark.
    pub description: Option<String>,
    pub apis: Vec<ImportedApi>,
    pub throttles: Vec<ImportedThrottle>,
    pub acls: Vec<AclInput>,
    /// Custom authorizers defined by security schemes (`x-apigateway-authorizer`).
    pub authorizers: Vec<AuthorizerInput>,
    pub responses: Vec<GatewayResponseInput>,
}

/// One operation.
#[derive(Debug)]
pub struct ImportedApi {
    pub method: String,
    pub path: String,
    pub draft: Result<ApiDraft>,
}

/// An API as the document defines it. In `input`, `authorizer_id`s,
/// `vpc_info.vpc_id`s and `response_id` hold the *names* the document uses.
#[derive(Debug)]
pub struct ApiDraft {
    pub input: ApiInput,
    /// `x-apigateway-ratelimit`: the throttling policy to bind when published.
    pub throttle: Option<String>,
    /// `x-apigateway-access-control`: access-control policies to bind when published.
    pub acls: Vec<String>,
}

#[derive(Debug)]
pub struct ImportedThrottle {
    pub input: ThrottleInput,
    /// `special`: (`APP`|`USER`, app id or name / user id, limit).
    pub specials: Vec<(String, String, i64)>,
}

/// Reads a parsed document (see [`super::parse`]).
pub fn read(doc: &Value, opts: &Options) -> Result<Imported> {
    let version = match (doc.get("swagger"), doc.get("openapi")) {
        (Some(v), _) if text(v).as_deref() == Some("2.0") => OasVersion::V2,
        (None, Some(v)) if text(v).is_some_and(|v| v.starts_with("3.")) => OasVersion::V3,
        _ => return Err(ApiError::detail(codes::SWAGGER_SYNTAX, "the document names no supported version (swagger: \"2.0\" or openapi: \"3.0.x\")")),
    };
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| ApiError::detail(codes::SWAGGER_SYNTAX, "paths must be an object"))?;
    let ctx = Ctx::new(doc, version, opts)?;
    let count: usize = paths
        .values()
        .map(|item| resolve(doc, item).ok().and_then(Value::as_object).map_or(0, |m| m.keys().filter(|k| is_operation(k)).count()))
        .sum();
    if count > opts.max_apis {
        return Err(ApiError::detail(
            codes::SWAGGER_TOO_LONG,
            &format!("the document has {count} operations; one import takes at most {}", opts.max_apis),
        ));
    }
    let mut apis = Vec::with_capacity(count);
    for (path, item) in paths {
        let item = match resolve(doc, item) {
            Ok(Value::Object(item)) => item,
            Ok(_) => continue,
            Err(why) => {
                apis.push(ImportedApi { method: "ANY".into(), path: path.clone(), draft: Err(syntax(&format!("paths.{path}"), &why)) });
                continue;
            }
        };
        for key in METHODS.iter().copied().chain([ANY_METHOD]) {
            let Some(op) = item.get(key) else { continue };
            let method = if key == ANY_METHOD { "ANY".to_string() } else { key.to_ascii_uppercase() };
            let draft = ctx.api(path, &method, item, op);
            apis.push(ImportedApi { method, path: ctx.full_path(path), draft });
        }
    }
    let info = doc.get("info");
    Ok(Imported {
        version,
        title: info.and_then(|i| i.get("title")).and_then(text),
        description: info.and_then(|i| i.get("description")).and_then(text),
        apis,
        throttles: ctx.throttles(),
        acls: ctx.acls(),
        authorizers: ctx.authorizers(),
        responses: ctx.responses(),
    })
}

fn is_operation(key: &str) -> bool {
    key == ANY_METHOD || METHODS.contains(&key)
}

/// A structural problem of one operation (`APIG.3602` naming where).
fn syntax(at: &str, why: &str) -> ApiError {
    ApiError::detail(codes::SWAGGER_SYNTAX, &format!("{at}: {why}"))
}

struct Ctx<'a> {
    doc: &'a Value,
    version: OasVersion,
    opts: &'a Options,
    /// `basePath` (2.0) or the path of the first server (3.0), without a trailing `/`.
    base: String,
    /// Schemes the document serves on when an operation names none.
    schemes: Vec<String>,
    security_schemes: Map<String, Value>,
    /// The document-wide `security` requirement.
    security: Option<&'a Value>,
}

impl<'a> Ctx<'a> {
    fn new(doc: &'a Value, version: OasVersion, opts: &'a Options) -> Result<Self> {
        let (base, schemes) = match version {
            OasVersion::V2 => (
                doc.get("basePath").and_then(Value::as_str).unwrap_or("").to_string(),
                doc.get("schemes").and_then(Value::as_array).map(|s| s.iter().filter_map(text).collect()).unwrap_or_default(),
            ),
            // The document's servers are where the described API runs: their
            // path prefixes the routes (as 2.0's basePath), but which schemes
            // the gateway serves comes from the operations' own servers only.
            OasVersion::V3 => (server_path(doc.get("servers")), vec![]),
        };
        let base = base.trim_end_matches('/').to_string();
        if !base.is_empty() && !base.starts_with('/') {
            return Err(ApiError::detail(codes::SWAGGER_SYNTAX, "basePath must start with /"));
        }
        let schemes_at = match version {
            OasVersion::V2 => doc.get("securityDefinitions"),
            OasVersion::V3 => doc.get("components").and_then(|c| c.get("securitySchemes")),
        };
        let mut security_schemes = Map::new();
        if let Some(Value::Object(m)) = schemes_at {
            for (name, s) in m {
                if let Ok(s) = resolve(doc, s) {
                    security_schemes.insert(name.clone(), s.clone());
                }
            }
        }
        Ok(Self { doc, version, opts, base, schemes, security_schemes, security: doc.get("security") })
    }

    fn full_path(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A document-level extension map: at the root, or (3.0) under `components`.
    fn root_map(&self, key: &str) -> Option<&'a Map<String, Value>> {
        self.doc
            .get(key)
            .or_else(|| self.doc.get("components").and_then(|c| c.get(key)))
            .and_then(Value::as_object)
    }

    fn api(&self, path: &str, method: &str, item: &Map<String, Value>, op: &Value) -> Result<ApiDraft> {
        let at = format!("paths.{path}.{}", if method == "ANY" { ANY_METHOD.to_string() } else { method.to_ascii_lowercase() });
        let op = resolve(self.doc, op).map_err(|why| syntax(&at, &why))?;
        let Some(o) = op.as_object() else { return Err(syntax(&at, "the operation is not an object")) };
        let ext = |k: &str| o.get(k);
        let mut input = ApiInput { dialect: self.opts.dialect, ..Default::default() };
        input.name = Some(self.api_name(o.get("operationId").and_then(text), method, path));
        input.api_type = ext("x-apigateway-request-type").and_then(text).map(|t| if t.eq_ignore_ascii_case("private") { 2 } else { 1 }).or(Some(1));
        input.version = ext("x-causeway-version").and_then(text);
        input.req_protocol = Some(self.protocol(o));
        input.frontend_type = ext("x-causeway-frontend-type").and_then(text);
        input.forwarding = ext("x-causeway-forwarding").map(|f| ForwardingInput {
            query: f.get("query").and_then(text),
            header: f.get("header").and_then(text),
            body: f.get("body").and_then(text),
        });
        input.req_method = Some(method.to_string());
        input.req_uri = Some(self.full_path(path));
        input.match_mode = ext("x-apigateway-match-mode").and_then(text);
        input.remark = self.remark(o);
        input.cors = ext("x-apigateway-cors").and_then(boolean);
        input.content_type = ext("x-apigateway-content-type").and_then(text);
        input.is_send_fg_body_base64 = ext("x-apigateway-is-send-fg-body-base64").and_then(boolean);
        input.tag = ext("x-causeway-tag").and_then(text);
        // Tags an API cannot hold are left out (a plain document's tags are free text).
        let mut tags: Vec<String> = Vec::new();
        for t in o.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(text) {
            if crate::api::is_tag(&t) && !tags.contains(&t) && tags.len() < crate::api::MAX_TAGS {
                tags.push(t);
            }
        }
        input.tags = (!tags.is_empty()).then_some(tags);
        input.response_id = ext("x-apigateway-response").and_then(text);
        input.roma_app_id = ext("x-causeway-roma-app-id").and_then(text);
        input.domain_name = ext("x-causeway-domain-name").and_then(text);
        self.samples(o, &mut input);
        input.auth_type = Some("NONE".into());
        self.auth(o, &mut input);
        let (req_params, body_remark) = self.params(&at, item, o)?;
        input.req_params = Some(req_params);
        input.body_remark = ext("x-causeway-body-remark").and_then(text).or(body_remark);
        self.backend(&at, o, &mut input)?;
        let acls = match ext("x-apigateway-access-control") {
            Some(Value::Array(a)) => a.iter().filter_map(text).collect(),
            Some(v) => text(v).into_iter().collect(),
            None => vec![],
        };
        Ok(ApiDraft { input, throttle: ext("x-apigateway-ratelimit").and_then(text), acls })
    }

    /// `operationId`, made to fit the naming rules if it does not; one made
    /// from the method and path if there is none.
    fn api_name(&self, operation_id: Option<String>, method: &str, path: &str) -> String {
        let rule = self.opts.dialect.name_rule(API_NAME);
        match operation_id {
            Some(id) if rule.accepts(&id) => id,
            Some(id) => fit(&rule, &id),
            None => fit(&rule, &format!("{}{}", method.to_ascii_lowercase(), path.replace('/', "_"))),
        }
    }

    /// The schemes the operation (else the document) names; `BOTH` when none.
    fn protocol(&self, o: &Map<String, Value>) -> String {
        let own: Vec<String> = match self.version {
            OasVersion::V2 => o.get("schemes").and_then(Value::as_array).map(|s| s.iter().filter_map(text).collect()).unwrap_or_default(),
            OasVersion::V3 => server_schemes(o.get("servers")),
        };
        let schemes = if own.is_empty() { &self.schemes } else { &own };
        let http = schemes.iter().any(|s| s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("ws"));
        let https = schemes.iter().any(|s| s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("wss"));
        match (http, https) {
            (true, false) => "HTTP",
            (false, true) => "HTTPS",
            _ => "BOTH",
        }
        .into()
    }

    /// `description`, else `summary`, cut to the dialect's remark length.
    fn remark(&self, o: &Map<String, Value>) -> Option<String> {
        let max = self.opts.dialect.max_remark();
        let description = o.get("description").and_then(text).filter(|d| !d.is_empty());
        let summary = o.get("summary").and_then(text).filter(|d| !d.is_empty());
        match (description, summary) {
            (Some(d), _) if d.chars().count() <= max => Some(d),
            (_, Some(s)) if s.chars().count() <= max => Some(s),
            (Some(d), _) | (None, Some(d)) => Some(d.chars().take(max).collect()),
            (None, None) => None,
        }
    }

    /// `x-apigateway-result-{normal,failure}-sample`: keys of `responses` (2.0) or of a response in it.
    fn samples(&self, o: &Map<String, Value>, input: &mut ApiInput) {
        let Some(responses) = o.get("responses").and_then(Value::as_object) else { return };
        let find = |key: &str| {
            responses.get(key).and_then(text).or_else(|| {
                responses.values().find_map(|r| resolve(self.doc, r).ok().and_then(|r| r.get(key)).and_then(text))
            })
        };
        input.result_normal_sample = find("x-apigateway-result-normal-sample");
        input.result_failure_sample = find("x-apigateway-result-failure-sample");
    }

    /// `security` → auth type through the scheme's `x-apigateway-auth-type`;
    /// schemes without one (a plain document's OAuth2, API keys) leave the API open.
    fn auth(&self, o: &Map<String, Value>, input: &mut ApiInput) {
        let Some(Value::Array(reqs)) = o.get("security").or(self.security) else { return };
        for req in reqs {
            let Some(req) = req.as_object() else { continue };
            for name in req.keys() {
                let Some(scheme) = self.security_schemes.get(name) else { continue };
                let kind = scheme.get("x-apigateway-auth-type").and_then(text).unwrap_or_default().to_ascii_uppercase();
                let (auth, authorizer) = match kind.as_str() {
                    "APPSIGV1" | "APP" => ("APP", None),
                    "IAM" | "IAM_NONE" => ("IAM", None),
                    "AUTHORIZER" => ("AUTHORIZER", Some(name.clone())),
                    "NONE" => ("NONE", None),
                    _ if scheme.get("x-apigateway-authorizer").is_some() => ("AUTHORIZER", Some(name.clone())),
                    _ => continue,
                };
                input.auth_type = Some(auth.into());
                input.authorizer_id = authorizer;
                let code = scheme.get("x-apigateway-auth-opt").and_then(|a| a.get("appcode-auth-type")).and_then(text);
                if let Some(code) = code {
                    input.auth_opt = Some(AuthOptInput { app_code_auth_type: Some(code.to_ascii_uppercase()) });
                }
                return;
            }
        }
    }

    /// Path-item and operation parameters (the operation's win) → request
    /// parameters; a `body` parameter or `requestBody` gives the body remark.
    fn params(&self, at: &str, item: &Map<String, Value>, o: &Map<String, Value>) -> Result<(Vec<ReqParamInput>, Option<String>)> {
        let mut all: Vec<(&Value, String)> = Vec::new();
        for (list, where_) in [(item.get("parameters"), "parameters"), (o.get("parameters"), "parameters")] {
            let Some(list) = list else { continue };
            let Some(list) = list.as_array() else { return Err(syntax(at, &format!("{where_} must be a list"))) };
            for (i, p) in list.iter().enumerate() {
                let p = resolve(self.doc, p).map_err(|why| syntax(&format!("{at}.parameters[{i}]"), &why))?;
                let key = |p: &Value| (p.get("name").and_then(text), p.get("in").and_then(text));
                all.retain(|(q, _)| key(q) != key(p));
                all.push((p, format!("{at}.parameters[{i}]")));
            }
        }
        let mut body_remark = None;
        let mut out = Vec::new();
        for (p, _) in all {
            let location = match p.get("in").and_then(text).unwrap_or_default().to_ascii_lowercase().as_str() {
                "path" => "PATH",
                "query" => "QUERY",
                "header" => "HEADER",
                "formdata" => "BODY",
                "body" => {
                    body_remark = p.get("description").and_then(text);
                    continue;
                }
                _ => continue,
            };
            if let Some(param) = self.param(p, location) {
                out.push(param);
            }
        }
        if let Some(Value::Array(extra)) = o.get("x-causeway-body-parameters") {
            out.extend(extra.iter().filter_map(|p| self.param(p, "BODY")));
        }
        if let Some(rb) = o.get("requestBody").and_then(|b| resolve(self.doc, b).ok()) {
            body_remark = rb.get("description").and_then(text);
        }
        Ok((out, body_remark))
    }

    fn param(&self, p: &Value, location: &str) -> Option<ReqParamInput> {
        let schema = match self.version {
            OasVersion::V3 => p.get("schema").and_then(|s| resolve(self.doc, s).ok()).unwrap_or(&Value::Null),
            OasVersion::V2 => p,
        };
        let ty = schema.get("type").and_then(text).unwrap_or_else(|| "string".into());
        let format = schema.get("format").and_then(text).unwrap_or_default();
        let param_type = match (ty.as_str(), format.as_str()) {
            ("file", _) => return None,
            ("integer", "int32") => "INT",
            ("integer", "int64") => "LONG",
            ("number", "float") => "FLOAT",
            ("number", "double") => "DOUBLE",
            ("integer" | "number", _) => "NUMBER",
            ("boolean", _) => "BOOLEAN",
            _ => "STRING",
        };
        let enum_source = if ty == "array" { schema.get("items").and_then(|i| resolve(self.doc, i).ok()).unwrap_or(schema) } else { schema };
        let enumerations = enum_source.get("enum").and_then(Value::as_array).map(|e| e.iter().filter_map(text).collect::<Vec<_>>().join(","));
        let whole = |v: Option<&Value>| v.and_then(Value::as_f64).filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15).map(|f| f as i64);
        let (mut min_num, mut max_num) = (whole(schema.get("minimum")), whole(schema.get("maximum")));
        // Huawei's OpenAPI 3 exports write 0 for limits that are not set.
        if min_num == Some(0) && max_num == Some(0) {
            (min_num, max_num) = (None, None);
        }
        let min_size = whole(schema.get("minLength"));
        let max_size = whole(schema.get("maxLength")).filter(|n| *n != 0);
        let regular = schema.get("pattern").and_then(text);
        let inferred = if enumerations.is_some() || min_num.is_some() || max_num.is_some() || min_size.is_some() || max_size.is_some() || regular.is_some() { 1 } else { 2 };
        let valid_enable = p.get("x-causeway-valid-enable").and_then(int).unwrap_or(inferred);
        let required = p.get("required").and_then(boolean).map(|r| if r { 1 } else { 2 });
        Some(ReqParamInput {
            name: p.get("name").and_then(text),
            param_type: Some(param_type.into()),
            location: Some(location.into()),
            default_value: schema.get("default").and_then(text),
            sample_value: p.get("x-apigateway-sample").or_else(|| p.get("example")).or_else(|| schema.get("example")).and_then(text).filter(|s| !s.is_empty()),
            required,
            valid_enable: Some(valid_enable),
            remark: p.get("description").and_then(text).map(|d| d.chars().take(255).collect()),
            enumerations,
            min_num,
            max_num,
            min_size,
            max_size,
            regular,
            json_schema: p.get("x-causeway-json-schema").and_then(text),
            pass_through: p.get("x-apigateway-pass-through").and_then(text).map(|v| if v.eq_ignore_ascii_case("never") { 2 } else { 1 }),
        })
    }

    /// `x-apigateway-backend` and `x-apigateway-backend-policies`; a MOCK
    /// answering the operation's example when there is no backend (or `mock_mode`).
    fn backend(&self, at: &str, o: &Map<String, Value>, input: &mut ApiInput) -> Result<()> {
        let backend = o.get("x-apigateway-backend").filter(|_| !self.opts.mock_mode);
        let Some(backend) = backend else {
            input.backend_type = Some("MOCK".into());
            input.mock_info = Some(self.example_mock(o));
            return Ok(());
        };
        let at = format!("{at}.x-apigateway-backend");
        let Some(b) = backend.as_object() else { return Err(syntax(&at, "must be an object")) };
        let kind = b.get("type").and_then(text).unwrap_or_default().to_ascii_uppercase();
        input.backend_params = Some(backend_params(b.get("parameters")));
        match kind.as_str() {
            "HTTP" | "HTTP-VPC" => {
                input.backend_type = Some("HTTP".into());
                input.backend_api = Some(http_backend(b)?);
            }
            "FUNCTION" => {
                input.backend_type = Some("FUNCTION".into());
                let f = b.get("functionEndpoints").and_then(Value::as_object).ok_or_else(|| ApiError::required("func_info"))?;
                input.func_info = Some(function_endpoint(f));
            }
            "MOCK" => {
                input.backend_type = Some("MOCK".into());
                let m = b.get("mockEndpoints").and_then(Value::as_object).ok_or_else(|| ApiError::required("mock_info"))?;
                input.mock_info = Some(MockInfoInput {
                    result_content: m.get("result-content").and_then(text),
                    version: m.get("x-causeway-version").and_then(text),
                    remark: m.get("description").and_then(text),
                    status_code: m.get("x-causeway-status-code").and_then(int),
                    header: m.get("x-causeway-headers").cloned(),
                    authorizer_id: m.get("x-causeway-authorizer").and_then(text),
                });
            }
            _ => return Err(ApiError::invalid("backend_type")),
        }
        let Some(policies) = o.get("x-apigateway-backend-policies") else { return Ok(()) };
        let Some(policies) = policies.as_array() else { return Err(syntax(&format!("{at}-policies"), "must be a list")) };
        let (mut https, mut mocks, mut functions) = (vec![], vec![], vec![]);
        for p in policies {
            let Some(p) = p.as_object() else { continue };
            let common = PolicyCommonInput {
                name: p.get("name").and_then(text),
                effect_mode: p.get("effectMode").or_else(|| p.get("effect_mode")).and_then(text),
                conditions: Some(p.get("conditions").and_then(Value::as_array).map(|c| c.iter().map(condition).collect()).unwrap_or_default()),
                backend_params: Some(backend_params(p.get("parameters"))),
                authorizer_id: None,
            };
            let kind = p.get("type").and_then(text).unwrap_or_else(|| kind.clone()).to_ascii_uppercase();
            match kind.as_str() {
                "HTTP" | "HTTP-VPC" => {
                    let h = http_backend(p)?;
                    https.push(PolicyHttpInput {
                        common: PolicyCommonInput { authorizer_id: h.authorizer_id.clone(), ..common },
                        url_domain: h.url_domain,
                        req_protocol: h.req_protocol,
                        req_method: h.req_method,
                        req_uri: h.req_uri,
                        timeout: h.timeout,
                        retry_count: h.retry_count,
                        vpc_status: h.vpc_status,
                        vpc_info: h.vpc_info,
                        enable_client_ssl: h.enable_client_ssl,
                        http2: h.http2,
                    });
                }
                "FUNCTION" => {
                    let f = function_endpoint(&p.get("functionEndpoints").and_then(Value::as_object).cloned().unwrap_or_default());
                    functions.push(PolicyFunctionInput {
                        common: PolicyCommonInput { authorizer_id: f.authorizer_id, ..common },
                        function_urn: f.function_urn,
                        invocation_type: f.invocation_type,
                        timeout: f.timeout,
                        version: f.version,
                        alias_urn: f.alias_urn,
                        network_type: f.network_type,
                    });
                }
                "MOCK" => {
                    let m = p.get("mockEndpoints").and_then(Value::as_object).cloned().unwrap_or_default();
                    mocks.push(PolicyMockInput {
                        common: PolicyCommonInput { authorizer_id: m.get("x-causeway-authorizer").and_then(text), ..common },
                        result_content: m.get("result-content").and_then(text),
                        status_code: m.get("x-causeway-status-code").and_then(int),
                        header: m.get("x-causeway-headers").cloned(),
                    });
                }
                _ => return Err(ApiError::invalid("policies.type")),
            }
        }
        input.policy_https = Some(https);
        input.policy_mocks = Some(mocks);
        input.policy_functions = Some(functions);
        Ok(())
    }

    /// A MOCK that answers the operation's first success response: its
    /// example, or one made from its schema, with its media type.
    fn example_mock(&self, o: &Map<String, Value>) -> MockInfoInput {
        let responses = o.get("responses").and_then(Value::as_object);
        let chosen = responses.and_then(|rs| {
            let mut codes: Vec<(&String, &Value)> = rs.iter().filter(|(k, _)| k.len() == 3 && k.starts_with('2')).collect();
            codes.sort_by_key(|(k, _)| k.as_str());
            codes.first().copied().or_else(|| rs.get_key_value("default"))
        });
        let Some((code, response)) = chosen else { return MockInfoInput { status_code: Some(200), ..Default::default() } };
        let status = code.parse::<i64>().ok().filter(|c| crate::api::MOCK_STATUS_CODES.contains(&(*c as u16))).unwrap_or(200);
        let response = resolve(self.doc, response).unwrap_or(&Value::Null);
        let (media, body) = match self.version {
            OasVersion::V2 => {
                // Examples made from schemas are JSON: JSON is preferred where it is offered.
                let produces = o.get("produces").or_else(|| self.doc.get("produces")).and_then(Value::as_array).and_then(|p| {
                    p.iter().filter_map(text).find(|m| m.contains("json")).or_else(|| p.first().and_then(text))
                });
                let examples = response.get("examples").and_then(Value::as_object);
                match examples.and_then(|e| e.iter().next()) {
                    Some((media, ex)) => (Some(media.clone()), Some(ex.clone())),
                    None => (produces, response.get("schema").map(|s| schema::example(self.doc, s))),
                }
            }
            OasVersion::V3 => match response.get("content").and_then(Value::as_object).and_then(|c| c.iter().find(|(m, _)| m.contains("json")).or_else(|| c.iter().next())) {
                Some((media, content)) => {
                    let ex = content
                        .get("example")
                        .cloned()
                        .or_else(|| {
                            content.get("examples").and_then(Value::as_object).and_then(|e| e.values().next()).and_then(|e| resolve(self.doc, e).ok()).and_then(|e| e.get("value")).cloned()
                        })
                        .or_else(|| content.get("schema").map(|s| schema::example(self.doc, s)));
                    (Some(media.clone()), ex)
                }
                None => (None, None),
            },
        };
        let content = body.map(|b| match b {
            Value::String(s) => s,
            other => serde_json::to_string_pretty(&other).unwrap_or_default(),
        });
        let header = media.filter(|m| !m.contains('*')).map(|m| serde_json::json!([{"key": "Content-Type", "value": m}]));
        MockInfoInput { result_content: content, status_code: Some(status), header, remark: None, ..Default::default() }
    }

    fn throttles(&self) -> Vec<ImportedThrottle> {
        let Some(map) = self.root_map("x-apigateway-ratelimits") else { return vec![] };
        map.iter()
            .map(|(name, t)| {
                let shared = t.get("shared").and_then(boolean).unwrap_or(false);
                let specials = t
                    .get("special")
                    .and_then(Value::as_array)
                    .map(|s| {
                        s.iter()
                            .filter_map(|s| Some((s.get("type").and_then(text)?, s.get("instance").and_then(text)?, s.get("limit").and_then(int)?)))
                            .collect()
                    })
                    .unwrap_or_default();
                ImportedThrottle {
                    input: ThrottleInput {
                        name: Some(name.clone()),
                        api_call_limits: t.get("api-limit").and_then(int),
                        user_call_limits: t.get("user-limit").and_then(int),
                        app_call_limits: t.get("app-limit").and_then(int),
                        ip_call_limits: t.get("ip-limit").and_then(int),
                        time_interval: t.get("interval").and_then(int),
                        time_unit: t.get("unit").and_then(text).map(|u| u.to_ascii_uppercase()),
                        kind: Some(if shared { 2 } else { 1 }),
                        remark: t.get("description").and_then(text),
                        enable_adaptive_control: None,
                    },
                    specials,
                }
            })
            .collect()
    }

    fn acls(&self) -> Vec<AclInput> {
        let Some(map) = self.root_map("x-apigateway-access-controls") else { return vec![] };
        map.iter()
            .map(|(name, a)| AclInput {
                acl_name: Some(name.clone()),
                acl_type: a.get("acl-type").and_then(text),
                entity_type: a.get("entity-type").and_then(text),
                acl_value: a.get("value").and_then(|v| match v {
                    Value::Array(list) => Some(list.iter().filter_map(text).collect::<Vec<_>>().join(",")),
                    v => text(v),
                }),
            })
            .collect()
    }

    /// Custom authorizers: of security schemes (`x-apigateway-authorizer`),
    /// and backends' (`x-causeway-authorizers`, a map by name).
    fn authorizers(&self) -> Vec<AuthorizerInput> {
        let backends = self.root_map("x-causeway-authorizers").into_iter().flatten().map(|(name, a)| (name, Some(a)));
        let schemes = self.security_schemes.iter().map(|(name, s)| (name, s.get("x-apigateway-authorizer")));
        schemes
            .chain(backends)
            .filter_map(|(name, a)| {
                let mut obj = a?.as_object()?.clone();
                obj.insert("name".into(), Value::String(name.clone()));
                // A value of the wrong type leaves the field out; validation then names it.
                Some(serde_json::from_value(Value::Object(obj)).unwrap_or_else(|_| AuthorizerInput { name: Some(name.clone()), ..Default::default() }))
            })
            .collect()
    }

    fn responses(&self) -> Vec<GatewayResponseInput> {
        let Some(map) = self.root_map("x-apigateway-responses") else { return vec![] };
        map.iter()
            .map(|(name, r)| {
                let mut responses = BTreeMap::new();
                if let Some(r) = r.as_object() {
                    for (kind, spec) in r {
                        let body = match spec.get("body") {
                            Some(Value::Object(by_type)) => by_type.values().next().and_then(text),
                            Some(v) => text(v),
                            None => None,
                        };
                        let headers = spec.get("headers").map(|h| match h {
                            Value::Array(list) => list
                                .iter()
                                .map(|h| HeaderInput { key: h.get("key").and_then(text), value: h.get("value").and_then(text) })
                                .collect(),
                            Value::Object(m) => m.iter().map(|(k, v)| HeaderInput { key: Some(k.clone()), value: text(v) }).collect(),
                            _ => vec![],
                        });
                        responses.insert(kind.clone(), ResponseSpecInput { status: spec.get("status").and_then(int), body, headers });
                    }
                }
                GatewayResponseInput { name: Some(name.clone()), responses: Some(responses) }
            })
            .collect()
    }
}

/// `httpEndpoints` or `httpVpcEndpoints` (the channel by name) of a backend or policy.
fn http_backend(b: &Map<String, Value>) -> Result<BackendApiInput> {
    let (e, vpc) = match (b.get("httpEndpoints"), b.get("httpVpcEndpoints")) {
        (Some(Value::Object(e)), _) => (e, false),
        (_, Some(Value::Object(e))) => (e, true),
        _ => return Err(ApiError::required("backend_api")),
    };
    let first = |v: Option<&Value>| match v {
        Some(Value::Array(a)) => a.first().and_then(text),
        Some(v) => text(v),
        None => None,
    };
    let url_domains = e.get("x-causeway-addresses").and_then(Value::as_array).map(|list| {
        list.iter()
            .map(|d| WeightedDomainInput { url_domain: d.get("address").and_then(text), weight: d.get("weight").and_then(int) })
            .collect()
    });
    Ok(BackendApiInput {
        url_domain: if vpc { None } else { first(e.get("address")) },
        url_domains,
        version: e.get("x-causeway-version").and_then(text),
        req_protocol: e.get("scheme").and_then(text).map(|s| s.to_ascii_uppercase()),
        req_method: e.get("method").and_then(text).map(|m| m.to_ascii_uppercase()),
        req_uri: e.get("path").and_then(text),
        timeout: e.get("timeout").and_then(int),
        retry_count: e.get("retryCount").and_then(int),
        remark: e.get("description").and_then(text),
        vpc_status: Some(if vpc { 1 } else { 2 }),
        vpc_info: vpc.then(|| VpcInfoInput { vpc_id: first(e.get("name")), vpc_proxy_host: e.get("host").and_then(text) }),
        authorizer_id: e.get("x-causeway-authorizer").and_then(text),
        enable_client_ssl: e.get("enableClientSsl").and_then(boolean),
        http2: e.get("x-causeway-http2").and_then(boolean),
    })
}

/// A `functionEndpoints` object (of a backend or a policy).
fn function_endpoint(f: &Map<String, Value>) -> FuncInfoInput {
    FuncInfoInput {
        function_urn: f.get("function-urn").and_then(text),
        invocation_type: f.get("invocation-type").and_then(text).map(invocation_type),
        timeout: f.get("timeout").and_then(int),
        version: f.get("version").and_then(text),
        alias_urn: f.get("alias-urn").and_then(text),
        network_type: f.get("network-type").and_then(text),
        remark: f.get("description").and_then(text),
        authorizer_id: f.get("x-causeway-authorizer").and_then(text),
        websocket_register_urn: f.get("x-causeway-websocket-register-urn").and_then(text),
        websocket_cleanup_urn: f.get("x-causeway-websocket-cleanup-urn").and_then(text),
    }
}

fn backend_params(list: Option<&Value>) -> Vec<BackendParamInput> {
    let Some(Value::Array(list)) = list else { return vec![] };
    list.iter()
        .map(|p| BackendParamInput {
            name: p.get("name").and_then(text),
            location: p.get("in").and_then(text).map(|l| l.to_ascii_uppercase()),
            origin: p.get("origin").and_then(text).map(|o| o.to_ascii_uppercase()),
            value: p.get("value").and_then(text),
            remark: p.get("description").and_then(text),
            param_type: p.get("x-causeway-type").and_then(text),
        })
        .collect()
}

/// A policy condition, in either of the forms the documents show.
fn condition(c: &Value) -> ConditionInput {
    let origin = c.get("origin").and_then(text).map(|o| match o.to_ascii_lowercase().as_str() {
        "request" | "request_parameter" | "param" | "source/request_parameter" => "param".to_string(),
        other => other.to_string(),
    });
    let kind = c.get("type").and_then(text).filter(|t| !t.is_empty()).map(|t| match t.to_ascii_lowercase().as_str() {
        "equal" => "exact".to_string(),
        other => other.to_string(),
    });
    let parameter = c.get("parameter").or_else(|| c.get("parameter_name")).and_then(text);
    let mut out = ConditionInput { condition_type: kind, condition_value: c.get("value").and_then(text), ..Default::default() };
    match origin.as_deref() {
        Some("system") => out.sys_param_name = parameter,
        Some("cookie") => out.cookie_param_name = parameter,
        Some("frontend_authorizer") => out.frontend_authorizer_param_name = parameter,
        Some("source") => {}
        _ => out.req_param_name = parameter,
    }
    out.condition_origin = origin;
    out
}

/// `synchronous`/`asynchronous` (as some pages write them) → `sync`/`async`.
fn invocation_type(s: String) -> String {
    match s.to_ascii_lowercase().as_str() {
        "synchronous" => "sync".into(),
        "asynchronous" => "async".into(),
        _ => s,
    }
}

/// Schemes of a server list's URLs (`https://...`); none for relative URLs.
fn server_schemes(servers: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(list)) = servers else { return vec![] };
    list.iter()
        .filter_map(|s| s.get("url").and_then(Value::as_str))
        .filter_map(|u| u.split_once("://").map(|(scheme, _)| scheme.to_string()))
        .collect()
}

/// The path part of the first server's URL (`https://h/api/v3` or `/api/v3` → `/api/v3`).
fn server_path(servers: Option<&Value>) -> String {
    let Some(url) = servers.and_then(|s| s.get(0)).and_then(|s| s.get("url")).and_then(Value::as_str) else { return String::new() };
    let rest = match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => url,
    };
    // Server variables (`{basePath}`) cannot be known here.
    if rest.contains('{') || !rest.starts_with('/') { String::new() } else { rest.to_string() }
}

/// Makes `s` fit a naming rule: characters it does not allow become `_`,
/// a letter goes first if needed, and the length is brought into range.
/// (`info.title` `Swagger Petstore` names the group `Swagger_Petstore`.)
pub fn fit(rule: &NameRule, s: &str) -> String {
    let mut out: String = s
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || rule.extra.contains(&c) || (rule.cjk && crate::rules::is_cjk(c)) { c } else { '_' })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || (rule.digit_first && c.is_ascii_digit())) {
        out.insert_str(0, "API_");
    }
    while out.chars().count() < rule.min {
        out.push('_');
    }
    out.chars().take(rule.max).collect()
}

/// A scalar as text (numbers and booleans as written).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}
