//! A group's APIs → a Swagger 2.0 / OpenAPI 3.0 document with Huawei
//! APIG's extensions, written so that [`super::import::read`] gives back
//! every field Causeway stores (Causeway's own fields as `x-causeway-*`).
//! Two APIs that differ only by match mode share a path and method, which
//! one document cannot hold: the first is written.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::import::ANY_METHOD;
use super::{Define, OasVersion};
use crate::acl::Acl;
use crate::api::*;
use crate::authorizer::Authorizer;
use crate::response::GatewayResponse;
use crate::throttle::{Throttle, ThrottleSpecial};

/// One API and the policies bound to it where it is published.
#[derive(Debug)]
pub struct ExportedApi<'a> {
    pub api: &'a Api,
    pub throttle: Option<&'a str>,
    pub acls: Vec<&'a str>,
}

/// What an export needs besides the APIs: names for the ids they hold and
/// the policies written with `define` `all`.
#[derive(Debug, Default)]
pub struct Context<'a> {
    /// Load-balance channel names by id.
    pub channels: HashMap<String, String>,
    /// Custom authorizers by id.
    pub authorizers: HashMap<String, &'a Authorizer>,
    /// The group's gateway responses.
    pub responses: Vec<&'a GatewayResponse>,
    pub throttles: Vec<(&'a Throttle, Vec<&'a ThrottleSpecial>)>,
    pub acls: Vec<&'a Acl>,
}

#[derive(Debug)]
pub struct Export<'a> {
    pub oas: OasVersion,
    pub define: Define,
    /// `info.title`: the group's name.
    pub title: &'a str,
    pub description: Option<&'a str>,
    /// `info.version`.
    pub version: &'a str,
    /// The group's domain.
    pub host: &'a str,
    pub apis: Vec<ExportedApi<'a>>,
    pub context: Context<'a>,
}

/// The names of the security schemes every export declares (as Huawei's do).
const APP: &str = "apig-auth-app";
const APP_HEADER: &str = "apig-auth-app-header";
const IAM: &str = "apig-auth-iam";

pub fn write(e: &Export) -> Value {
    let w = Writer { e };
    let mut paths = Map::new();
    let mut authorizers_used: Vec<&Authorizer> = vec![];
    let mut backend_authorizers: Vec<&Authorizer> = vec![];
    for x in &e.apis {
        let key = match x.api.req_method {
            Method::Any => ANY_METHOD.to_string(),
            m => m.as_str().to_ascii_lowercase(),
        };
        let item = paths.entry(x.api.req_uri.clone()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item
            && !item.contains_key(&key)
        {
            item.insert(key, w.operation(x));
        }
        if let Some(a) = x.api.authorizer_id.as_ref().and_then(|id| e.context.authorizers.get(id))
            && !authorizers_used.iter().any(|u| u.id == a.id)
        {
            authorizers_used.push(a);
        }
        for id in backend_authorizer_ids(x.api) {
            if let Some(a) = e.context.authorizers.get(id)
                && !backend_authorizers.iter().any(|u| u.id == a.id)
            {
                backend_authorizers.push(a);
            }
        }
    }
    let mut schemes = Map::new();
    schemes.insert(APP.into(), json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-apigateway-auth-type": "AppSigv1"}));
    schemes.insert(
        APP_HEADER.into(),
        json!({"type": "apiKey", "name": "Authorization", "in": "header", "x-apigateway-auth-type": "AppSigv1", "x-apigateway-auth-opt": {"appcode-auth-type": "header"}}),
    );
    schemes.insert(IAM.into(), json!({"type": "apiKey", "name": "unused", "in": "header", "x-apigateway-auth-type": "IAM"}));
    for a in &authorizers_used {
        let mut s = json!({"type": "apiKey", "name": "unused", "in": "header", "x-apigateway-auth-type": "AUTHORIZER"});
        if e.define.policies() {
            s["x-apigateway-authorizer"] = authorizer(a);
        }
        schemes.insert(a.name.clone(), s);
    }
    let mut info = json!({"title": e.title, "version": e.version});
    if let Some(d) = e.description {
        info["description"] = json!(d);
    }
    let mut doc = match e.oas {
        OasVersion::V2 => json!({"swagger": "2.0", "info": info, "host": e.host, "paths": paths, "securityDefinitions": schemes}),
        OasVersion::V3 => json!({
            "openapi": "3.0.1", "info": info, "servers": [{"url": format!("https://{}", e.host)}],
            "paths": paths, "components": {"securitySchemes": schemes}}),
    };
    if e.define.policies() {
        doc["x-apigateway-ratelimits"] = Value::Object(e.context.throttles.iter().map(|(t, s)| (t.name.clone(), throttle(t, s))).collect());
        doc["x-apigateway-access-controls"] = Value::Object(
            e.context
                .acls
                .iter()
                .map(|a| (a.acl_name.clone(), json!({"acl-type": a.acl_type.as_str(), "entity-type": a.entity_type.as_str(), "value": a.acl_value})))
                .collect(),
        );
        // Backends' authorizers (frontends' are in their security schemes).
        let backends: Map<String, Value> =
            backend_authorizers.iter().filter(|a| !authorizers_used.iter().any(|u| u.id == a.id)).map(|a| (a.name.clone(), authorizer(a))).collect();
        if !backends.is_empty() {
            doc["x-causeway-authorizers"] = Value::Object(backends);
        }
        let responses = Value::Object(e.context.responses.iter().map(|r| (r.name.clone(), gateway_response(r))).collect());
        match e.oas {
            OasVersion::V2 => doc["x-apigateway-responses"] = responses,
            OasVersion::V3 => doc["components"]["x-apigateway-responses"] = responses,
        }
    }
    doc
}

struct Writer<'a> {
    e: &'a Export<'a>,
}

impl Writer<'_> {
    fn operation(&self, x: &ExportedApi) -> Value {
        let a = x.api;
        let mut o = Map::new();
        o.insert("operationId".into(), json!(a.name));
        put(&mut o, "description", a.remark.as_deref());
        if !a.tags.is_empty() {
            o.insert("tags".into(), json!(a.tags));
        }
        let schemes: &[&str] = match a.req_protocol {
            ReqProtocol::Http => &["http"],
            ReqProtocol::Https => &["https"],
            ReqProtocol::Both => &["http", "https"],
        };
        match self.e.oas {
            OasVersion::V2 => {
                o.insert("schemes".into(), json!(schemes));
            }
            OasVersion::V3 => {
                let servers: Vec<Value> = schemes.iter().map(|s| json!({"url": format!("{s}://{}", self.e.host)})).collect();
                o.insert("servers".into(), json!(servers));
            }
        }
        let (params, body_params): (Vec<&ReqParam>, Vec<&ReqParam>) = a.req_params.iter().partition(|p| p.location != ParamLocation::Body);
        let mut list: Vec<Value> = params.iter().map(|p| self.param(p)).collect();
        match self.e.oas {
            OasVersion::V2 => {
                list.extend(body_params.iter().map(|p| self.param(p)));
                // A body parameter and form parameters cannot be in one operation.
                match &a.body_remark {
                    Some(r) if body_params.is_empty() => list.push(json!({"name": "body", "in": "body", "description": r, "schema": {}})),
                    Some(r) => {
                        o.insert("x-causeway-body-remark".into(), json!(r));
                    }
                    None => {}
                }
            }
            OasVersion::V3 => {
                if !body_params.is_empty() {
                    o.insert("x-causeway-body-parameters".into(), json!(body_params.iter().map(|p| self.param(p)).collect::<Vec<_>>()));
                }
                if let Some(r) = &a.body_remark {
                    let media = a.content_type.as_deref().unwrap_or("application/json");
                    o.insert("requestBody".into(), json!({"description": r, "content": {media: {"schema": {}}}}));
                }
            }
        }
        if !list.is_empty() {
            o.insert("parameters".into(), json!(list));
        }
        o.insert("responses".into(), self.responses(a));
        match a.auth_type {
            AuthType::None => {}
            AuthType::App if a.auth_opt.app_code_auth_type == AppCodeAuthType::Header => {
                o.insert("security".into(), json!([{APP_HEADER: []}]));
            }
            AuthType::App => {
                o.insert("security".into(), json!([{APP: []}]));
            }
            AuthType::Iam => {
                o.insert("security".into(), json!([{IAM: []}]));
            }
            AuthType::Authorizer => {
                if let Some(name) = self.authorizer_name(a.authorizer_id.as_deref()) {
                    o.insert("security".into(), json!([{name: []}]));
                }
            }
        }
        o.insert("x-apigateway-request-type".into(), json!(if a.api_type == 2 { "private" } else { "public" }));
        o.insert("x-apigateway-match-mode".into(), json!(a.match_mode.as_str()));
        o.insert("x-apigateway-cors".into(), json!(a.cors));
        put(&mut o, "x-apigateway-content-type", a.content_type.as_deref());
        o.insert("x-apigateway-is-send-fg-body-base64".into(), json!(a.is_send_fg_body_base64));
        if let Some(name) = a.response_id.as_ref().and_then(|id| self.e.context.responses.iter().find(|r| &r.id == id)).map(|r| &r.name) {
            o.insert("x-apigateway-response".into(), json!(name));
        }
        if self.e.define.policies() {
            put(&mut o, "x-apigateway-ratelimit", x.throttle);
            match x.acls.as_slice() {
                [] => {}
                [one] => {
                    o.insert("x-apigateway-access-control".into(), json!(one));
                }
                many => {
                    o.insert("x-apigateway-access-control".into(), json!(many));
                }
            }
        }
        if self.e.define.backends() {
            o.insert("x-apigateway-backend".into(), self.backend(a));
            let policies = self.policies(a);
            if !policies.is_empty() {
                o.insert("x-apigateway-backend-policies".into(), json!(policies));
            }
        }
        put(&mut o, "x-causeway-version", Some(a.version.as_str()).filter(|v| *v != DEFAULT_API_VERSION));
        if a.frontend_type != FrontendType::Http {
            o.insert("x-causeway-frontend-type".into(), json!(a.frontend_type.as_str()));
        }
        if !a.forwarding.is_passthrough() {
            let f = a.forwarding;
            o.insert("x-causeway-forwarding".into(), json!({"query": f.query.as_str(), "header": f.header.as_str(), "body": f.body.as_str()}));
        }
        put(&mut o, "x-causeway-tag", a.tag.as_deref());
        put(&mut o, "x-causeway-roma-app-id", a.roma_app_id.as_deref());
        put(&mut o, "x-causeway-domain-name", a.domain_name.as_deref());
        Value::Object(o)
    }

    fn authorizer_name(&self, id: Option<&str>) -> Option<String> {
        id.map(|id| self.e.context.authorizers.get(id).map_or_else(|| id.to_string(), |a| a.name.clone()))
    }

    fn responses(&self, a: &Api) -> Value {
        let mut default = json!({"description": "default response"});
        match self.e.oas {
            OasVersion::V2 => {
                let mut r = json!({"default": default});
                if let Some(s) = &a.result_normal_sample {
                    r["x-apigateway-result-normal-sample"] = json!(s);
                }
                if let Some(s) = &a.result_failure_sample {
                    r["x-apigateway-result-failure-sample"] = json!(s);
                }
                r
            }
            OasVersion::V3 => {
                if let Some(s) = &a.result_normal_sample {
                    default["x-apigateway-result-normal-sample"] = json!(s);
                }
                if let Some(s) = &a.result_failure_sample {
                    default["x-apigateway-result-failure-sample"] = json!(s);
                }
                json!({"default": default})
            }
        }
    }

    fn param(&self, p: &ReqParam) -> Value {
        let (ty, format) = match p.param_type {
            ParamType::String => ("string", None),
            ParamType::Number => ("number", None),
            ParamType::Int => ("integer", Some("int32")),
            ParamType::Long => ("integer", Some("int64")),
            ParamType::Float => ("number", Some("float")),
            ParamType::Double => ("number", Some("double")),
            ParamType::Boolean => ("boolean", None),
        };
        let mut schema = Map::new();
        schema.insert("type".into(), json!(ty));
        put(&mut schema, "format", format);
        put(&mut schema, "default", p.default_value.as_deref());
        if let Some(e) = &p.enumerations {
            schema.insert("enum".into(), json!(e.split(',').collect::<Vec<_>>()));
        }
        for (key, v) in [("minimum", p.min_num), ("maximum", p.max_num), ("minLength", p.min_size), ("maxLength", p.max_size)] {
            if let Some(v) = v {
                schema.insert(key.into(), json!(v));
            }
        }
        put(&mut schema, "pattern", p.regular.as_deref());
        let location = match p.location {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Body => "formData",
        };
        let mut o = Map::new();
        o.insert("name".into(), json!(p.name));
        o.insert("in".into(), json!(location));
        o.insert("required".into(), json!(p.required == 1));
        put(&mut o, "description", p.remark.as_deref());
        match self.e.oas {
            OasVersion::V2 => o.extend(schema),
            OasVersion::V3 => {
                o.insert("schema".into(), Value::Object(schema));
            }
        }
        put(&mut o, "x-apigateway-sample", p.sample_value.as_deref());
        o.insert("x-apigateway-pass-through".into(), json!(if p.pass_through == 2 { "never" } else { "always" }));
        let checks = p.enumerations.is_some() || p.min_num.is_some() || p.max_num.is_some() || p.min_size.is_some() || p.max_size.is_some() || p.regular.is_some();
        if p.valid_enable != if checks { 1 } else { 2 } {
            o.insert("x-causeway-valid-enable".into(), json!(p.valid_enable));
        }
        put(&mut o, "x-causeway-json-schema", p.json_schema.as_deref());
        Value::Object(o)
    }

    fn backend(&self, a: &Api) -> Value {
        let mut b = Map::new();
        match a.backend_type {
            BackendType::Http => {
                if let Some(h) = &a.backend_api {
                    let (kind, key, mut e) = self.http(h.url_domain.as_deref(), h.req_protocol, h.req_method, &h.req_uri, Some(h.timeout), h.retry_count, h.vpc_status, h.vpc_info.as_ref(), h.enable_client_ssl, h.http2, h.authorizer_id.as_deref());
                    put(&mut e, "description", h.remark.as_deref());
                    put(&mut e, "x-causeway-version", h.version.as_deref());
                    if !h.url_domains.is_empty() {
                        e.insert("x-causeway-addresses".into(), json!(h.url_domains.iter().map(|d| json!({"address": d.url_domain, "weight": d.weight})).collect::<Vec<_>>()));
                    }
                    b.insert("type".into(), json!(kind));
                    b.insert(key.into(), Value::Object(e));
                }
            }
            BackendType::Function => {
                if let Some(f) = &a.func_info {
                    let mut e = self.function(&f.function_urn, f.invocation_type, Some(f.timeout), f.version.as_deref(), f.alias_urn.as_deref(), f.network_type, f.authorizer_id.as_deref());
                    put(&mut e, "description", f.remark.as_deref());
                    put(&mut e, "x-causeway-websocket-register-urn", f.websocket_register_urn.as_deref());
                    put(&mut e, "x-causeway-websocket-cleanup-urn", f.websocket_cleanup_urn.as_deref());
                    b.insert("type".into(), json!("FUNCTION"));
                    b.insert("functionEndpoints".into(), Value::Object(e));
                }
            }
            BackendType::Mock => {
                if let Some(m) = &a.mock_info {
                    let mut e = self.mock(m.result_content.as_deref(), m.status_code, m.header.as_deref(), m.authorizer_id.as_deref());
                    put(&mut e, "description", m.remark.as_deref());
                    put(&mut e, "x-causeway-version", m.version.as_deref());
                    b.insert("type".into(), json!("MOCK"));
                    b.insert("mockEndpoints".into(), Value::Object(e));
                }
            }
        }
        if !a.backend_params.is_empty() {
            b.insert("parameters".into(), backend_params(&a.backend_params));
        }
        Value::Object(b)
    }

    fn policies(&self, a: &Api) -> Vec<Value> {
        let common = |name: &str, mode: EffectMode, conditions: &[Condition], params: &[BackendParam]| {
            let mut p = Map::new();
            p.insert("name".into(), json!(name));
            p.insert("effectMode".into(), json!(mode.as_str()));
            p.insert("conditions".into(), json!(conditions.iter().map(condition).collect::<Vec<_>>()));
            if !params.is_empty() {
                p.insert("parameters".into(), backend_params(params));
            }
            p
        };
        let mut out = vec![];
        for h in &a.policy_https {
            let mut p = common(&h.name, h.effect_mode, &h.conditions, &h.backend_params);
            let (kind, key, e) = self.http(h.url_domain.as_deref(), h.req_protocol, h.req_method, &h.req_uri, h.timeout, h.retry_count, h.vpc_status, h.vpc_info.as_ref(), h.enable_client_ssl, h.http2, h.authorizer_id.as_deref());
            p.insert("type".into(), json!(kind));
            p.insert(key.into(), Value::Object(e));
            out.push(Value::Object(p));
        }
        for f in &a.policy_functions {
            let mut p = common(&f.name, f.effect_mode, &f.conditions, &f.backend_params);
            p.insert("type".into(), json!("FUNCTION"));
            let e = self.function(&f.function_urn, f.invocation_type, f.timeout, f.version.as_deref(), f.alias_urn.as_deref(), f.network_type, f.authorizer_id.as_deref());
            p.insert("functionEndpoints".into(), Value::Object(e));
            out.push(Value::Object(p));
        }
        for m in &a.policy_mocks {
            let mut p = common(&m.name, m.effect_mode, &m.conditions, &m.backend_params);
            p.insert("type".into(), json!("MOCK"));
            p.insert("mockEndpoints".into(), Value::Object(self.mock(m.result_content.as_deref(), m.status_code, m.header.as_deref(), m.authorizer_id.as_deref())));
            out.push(Value::Object(p));
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn http(
        &self,
        url_domain: Option<&str>,
        scheme: BackendProtocol,
        method: Method,
        path: &str,
        timeout: Option<u32>,
        retry: Option<i32>,
        vpc_status: i32,
        vpc: Option<&VpcInfo>,
        client_ssl: bool,
        http2: bool,
        authorizer: Option<&str>,
    ) -> (&'static str, &'static str, Map<String, Value>) {
        let mut e = Map::new();
        let (kind, key) = match vpc.filter(|_| vpc_status == 1) {
            Some(v) => {
                e.insert("name".into(), json!(self.e.context.channels.get(&v.vpc_id).unwrap_or(&v.vpc_id)));
                put(&mut e, "host", v.vpc_proxy_host.as_deref());
                ("HTTP-VPC", "httpVpcEndpoints")
            }
            None => {
                put(&mut e, "address", url_domain);
                ("HTTP", "httpEndpoints")
            }
        };
        e.insert("scheme".into(), json!(scheme.as_str().to_ascii_lowercase()));
        e.insert("method".into(), json!(method.as_str()));
        e.insert("path".into(), json!(path));
        if let Some(t) = timeout {
            e.insert("timeout".into(), json!(t));
        }
        if let Some(r) = retry {
            e.insert("retryCount".into(), json!(r.to_string()));
        }
        if client_ssl {
            e.insert("enableClientSsl".into(), json!(true));
        }
        if http2 {
            e.insert("x-causeway-http2".into(), json!(true));
        }
        put(&mut e, "x-causeway-authorizer", self.authorizer_name(authorizer).as_deref());
        (kind, key, e)
    }

    #[allow(clippy::too_many_arguments)]
    fn function(&self, urn: &str, invocation: InvocationType, timeout: Option<u32>, version: Option<&str>, alias: Option<&str>, network: NetworkType, authorizer: Option<&str>) -> Map<String, Value> {
        let mut e = Map::new();
        e.insert("function-urn".into(), json!(urn));
        e.insert("invocation-type".into(), json!(invocation.as_str()));
        if let Some(t) = timeout {
            e.insert("timeout".into(), json!(t));
        }
        put(&mut e, "version", version);
        put(&mut e, "alias-urn", alias);
        e.insert("network-type".into(), json!(network.as_str()));
        put(&mut e, "x-causeway-authorizer", self.authorizer_name(authorizer).as_deref());
        e
    }

    fn mock(&self, content: Option<&str>, status: u16, header: Option<&str>, authorizer: Option<&str>) -> Map<String, Value> {
        let mut e = Map::new();
        put(&mut e, "result-content", content);
        e.insert("x-causeway-status-code".into(), json!(status));
        if let Some(h) = header.and_then(|h| serde_json::from_str::<Value>(h).ok()) {
            e.insert("x-causeway-headers".into(), h);
        }
        put(&mut e, "x-causeway-authorizer", self.authorizer_name(authorizer).as_deref());
        e
    }
}

/// The custom authorizers an API's backends run.
fn backend_authorizer_ids(a: &Api) -> Vec<&String> {
    let mut ids: Vec<&String> = Vec::new();
    ids.extend(a.backend_api.as_ref().and_then(|b| b.authorizer_id.as_ref()));
    ids.extend(a.func_info.as_ref().and_then(|f| f.authorizer_id.as_ref()));
    ids.extend(a.mock_info.as_ref().and_then(|m| m.authorizer_id.as_ref()));
    ids.extend(a.policy_https.iter().filter_map(|p| p.authorizer_id.as_ref()));
    ids.extend(a.policy_functions.iter().filter_map(|p| p.authorizer_id.as_ref()));
    ids.extend(a.policy_mocks.iter().filter_map(|p| p.authorizer_id.as_ref()));
    ids
}

fn backend_params(params: &[BackendParam]) -> Value {
    json!(params
        .iter()
        .map(|p| {
            let mut o = json!({"name": p.name, "value": p.value, "in": p.location.as_str(), "origin": p.origin.as_str()});
            if let Some(r) = &p.remark {
                o["description"] = json!(r);
            }
            if let Some(t) = p.param_type {
                o["x-causeway-type"] = json!(t.as_str());
            }
            o
        })
        .collect::<Vec<_>>())
}

fn condition(c: &Condition) -> Value {
    let mut o = json!({"origin": c.condition_origin.as_str(), "value": c.condition_value});
    if let Some(t) = c.condition_type {
        o["type"] = json!(t.as_str());
    }
    let parameter = match c.condition_origin {
        ConditionOrigin::Param => c.req_param_name.clone(),
        ConditionOrigin::System => c.sys_param_name.map(|s| s.as_str().to_string()),
        ConditionOrigin::Cookie => c.cookie_param_name.clone(),
        ConditionOrigin::FrontendAuthorizer => c.frontend_authorizer_param_name.clone(),
        ConditionOrigin::Source => None,
    };
    if let Some(p) = parameter {
        o["parameter"] = json!(p);
    }
    o
}

fn authorizer(a: &Authorizer) -> Value {
    let mut v = serde_json::to_value(a).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        for k in ["id", "name", "create_time", "update_time"] {
            m.remove(k);
        }
    }
    v
}

fn throttle(t: &Throttle, specials: &[&ThrottleSpecial]) -> Value {
    let mut o = json!({
        "api-limit": t.api_call_limits, "interval": t.time_interval, "unit": t.time_unit.as_str(), "shared": t.kind == 2,
    });
    for (k, v) in [("user-limit", t.user_call_limits), ("app-limit", t.app_call_limits), ("ip-limit", t.ip_call_limits)] {
        if let Some(v) = v {
            o[k] = json!(v);
        }
    }
    if let Some(r) = &t.remark {
        o["description"] = json!(r);
    }
    if !specials.is_empty() {
        o["special"] = json!(specials.iter().map(|s| json!({"type": s.instance_type.as_str(), "instance": s.instance_id, "limit": s.call_limits})).collect::<Vec<_>>());
    }
    o
}

fn gateway_response(r: &GatewayResponse) -> Value {
    Value::Object(
        r.responses
            .iter()
            .map(|(kind, spec)| {
                let mut o = json!({"body": {"application/json": spec.body}});
                if let Some(s) = spec.status {
                    o["status"] = json!(s);
                }
                if !spec.headers.is_empty() {
                    o["headers"] = json!(spec.headers.iter().map(|h| json!({"key": h.key, "value": h.value})).collect::<Vec<_>>());
                }
                (kind.clone(), o)
            })
            .collect(),
    )
}

/// Inserts `key` when there is a value.
fn put(o: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    if let Some(v) = v {
        o.insert(key.into(), json!(v));
    }
}
