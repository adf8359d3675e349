//! `ApiInput` -> `Api`: every value rule and cross-field rule of the API
//! definition. Ids and timestamps are left empty here and assigned by
//! [`Api::assign_ids`], so validation itself is pure.

use super::input::*;
use super::uri;
use super::*;
use crate::error::{ApiError, Result, codes};
use crate::limits::Limits;
use crate::rules::{self, API_NAME, PARAM_NAME, PLAIN_NAME};

/// Largest mock response body, in bytes.
pub const MAX_MOCK_CONTENT: usize = 1 << 20;
/// Largest number of tags on an API.
pub const MAX_TAGS: usize = 20;
/// Largest number of mock response headers.
pub const MAX_MOCK_HEADERS: usize = 20;
/// Size limit of a compiled condition or parameter regular expression.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl ApiInput {
    /// Validates a posted definition and returns it normalised (documented
    /// case, defaults applied) with empty ids and timestamps.
    pub fn validate(self, limits: &Limits) -> Result<Api> {
        let group_id = rules::required_str("group_id", self.group_id)?;
        rules::check_len("group_id", &group_id, 1, 65)?;
        let name = rules::required_str("name", self.name)?;
        self.dialect.name_rule(API_NAME).check("name", &name)?;
        let api_type = rules::required("type", self.api_type)?;
        let api_type = rules::flag("type", Some(api_type), 1)?;
        let version = rules::optional_str(self.version).unwrap_or_else(|| DEFAULT_API_VERSION.to_string());
        check_version("version", &version, 16)?;
        let req_protocol = match rules::optional_str(self.req_protocol) {
            Some(p) => ReqProtocol::parse_field("req_protocol", &p)?,
            None => ReqProtocol::Https,
        };
        let req_method = Method::parse_field("req_method", &rules::required_str("req_method", self.req_method)?)?;
        let frontend_type = match rules::optional_str(self.frontend_type) {
            Some(t) => FrontendType::parse_field("frontend_type", &t)?,
            None => FrontendType::Http,
        };
        // A WebSocket connection opens with a GET upgrade.
        if frontend_type == FrontendType::Websocket && !matches!(req_method, Method::Get | Method::Any) {
            return Err(ApiError::field_because(codes::INVALID_VALUE, "req_method", "A WEBSOCKET frontend takes GET (or ANY)"));
        }
        let req_uri = rules::required_str("req_uri", self.req_uri)?;
        let match_mode = match rules::optional_str(self.match_mode) {
            Some(m) => MatchMode::parse_field("match_mode", &m)?,
            None => MatchMode::Normal,
        };
        // A REGEX path's PATH parameters are its named groups.
        let path_params = match match_mode {
            MatchMode::Regex => uri::parse_req_regex("req_uri", &req_uri)?,
            _ => super::route::parse_req_path("req_uri", &req_uri, match_mode)?,
        };
        let remark = rules::optional_str(self.remark);
        self.dialect.check_remark("remark", remark.as_deref())?;
        let auth_type = AuthType::parse_field("auth_type", &rules::required_str("auth_type", self.auth_type)?)?;
        let app_code_auth_type = match self.auth_opt.and_then(|o| rules::optional_str(o.app_code_auth_type)) {
            Some(a) => AppCodeAuthType::parse_field("auth_opt.app_code_auth_type", &a)?,
            None => AppCodeAuthType::Disable,
        };
        if app_code_auth_type == AppCodeAuthType::Header && auth_type != AuthType::App {
            return Err(ApiError::invalid("auth_opt.app_code_auth_type"));
        }
        let authorizer_id = rules::optional_str(self.authorizer_id);
        match (auth_type, &authorizer_id) {
            (AuthType::Authorizer, None) => return Err(ApiError::required("authorizer_id")),
            (AuthType::Authorizer, Some(_)) => rules::check_ref_id("authorizer_id", authorizer_id.as_deref())?,
            (_, Some(_)) => return Err(ApiError::field(codes::AUTHORIZER_NOT_ALLOWED, "authorizer_id")),
            (_, None) => {}
        }
        let backend_type =
            BackendType::parse_field("backend_type", &rules::required_str("backend_type", self.backend_type)?)?;
        if frontend_type == FrontendType::Websocket && backend_type == BackendType::Mock {
            return Err(ApiError::field_because(codes::INVALID_VALUE, "backend_type", "A WEBSOCKET frontend needs an HTTP backend (ws:// or wss://) or functions"));
        }
        let tag = rules::optional_str(self.tag);
        rules::check_text("tag", tag.as_deref(), 255)?;
        let tags = self.tags.unwrap_or_default();
        check_tags(&tags)?;
        let cors = self.cors.unwrap_or(false);
        let content_type = rules::optional_str(self.content_type);
        if let Some(t) = &content_type
            && !CONTENT_TYPES.contains(&t.as_str())
        {
            return Err(ApiError::invalid("content_type"));
        }
        let is_send_fg_body_base64 = self.is_send_fg_body_base64.unwrap_or(true);
        if !is_send_fg_body_base64 && content_type.as_deref() != Some("application/json") {
            return Err(ApiError::invalid("is_send_fg_body_base64"));
        }
        let forwarding = match self.forwarding {
            None => Forwarding::default(),
            Some(f) => {
                let mode = |field: &str, v: Option<String>| match rules::optional_str(v) {
                    None => Ok(ForwardMode::Passthrough),
                    Some(m) => ForwardMode::parse_field(field, &m),
                };
                Forwarding { query: mode("forwarding.query", f.query)?, header: mode("forwarding.header", f.header)?, body: mode("forwarding.body", f.body)? }
            }
        };
        let body_remark = rules::optional_str(self.body_remark);
        rules::check_text("body_remark", body_remark.as_deref(), 20480)?;
        let result_normal_sample = rules::optional_str(self.result_normal_sample);
        rules::check_text("result_normal_sample", result_normal_sample.as_deref(), 20480)?;
        let result_failure_sample = rules::optional_str(self.result_failure_sample);
        rules::check_text("result_failure_sample", result_failure_sample.as_deref(), 20480)?;
        let response_id = rules::optional_str(self.response_id);
        rules::check_ref_id("response_id", response_id.as_deref())?;
        let roma_app_id = rules::optional_str(self.roma_app_id);
        rules::check_ref_id("roma_app_id", roma_app_id.as_deref())?;
        let domain_name = rules::optional_str(self.domain_name);
        if let Some(d) = &domain_name {
            if d.len() > 255 || !uri::is_hostname(d) {
                return Err(ApiError::invalid("domain_name"));
            }
            if roma_app_id.is_none() {
                return Err(ApiError::required("roma_app_id"));
            }
        }

        // Input parameters, and their correspondence with the `{param}`s of the path.
        let req_params_in = self.req_params.unwrap_or_default();
        if req_params_in.len() > limits.params_per_api {
            return Err(ApiError::field(codes::PARAM_QUOTA, "req_params"));
        }
        let mut req_params: Vec<ReqParam> = Vec::with_capacity(req_params_in.len());
        for (i, p) in req_params_in.into_iter().enumerate() {
            let param = validate_req_param(&format!("req_params[{i}]"), p, auth_type)?;
            let clash = req_params.iter().any(|q| {
                q.name == param.name
                    || (q.location == ParamLocation::Header
                        && param.location == ParamLocation::Header
                        && q.name.eq_ignore_ascii_case(&param.name))
            });
            if clash {
                return Err(ApiError::field(codes::PARAM_NAME_EXISTS, &format!("req_params[{i}].name")));
            }
            req_params.push(param);
        }
        for name in &path_params {
            if !req_params.iter().any(|p| p.location == ParamLocation::Path && &p.name == name) {
                return Err(ApiError::field(codes::PATH_PARAM_UNDEFINED, "req_uri"));
            }
        }
        if let Some(i) = req_params.iter().position(|p| p.location == ParamLocation::Path && !path_params.contains(&p.name)) {
            return Err(ApiError::field(codes::PATH_PARAM_UNDEFINED, &format!("req_params[{i}].location")));
        }

        let ctx = Ctx { limits, req_params: &req_params, auth_type, websocket: frontend_type == FrontendType::Websocket };

        // The default backend of the chosen type; definitions of other types are ignored.
        let (mut backend_api, mut mock_info, mut func_info) = (None, None, None);
        match backend_type {
            BackendType::Http => {
                let b = rules::required("backend_api", self.backend_api)?;
                backend_api = Some(validate_backend_api(&ctx, b)?);
            }
            BackendType::Mock => {
                let m = rules::required("mock_info", self.mock_info)?;
                mock_info = Some(validate_mock_info(m)?);
            }
            BackendType::Function => {
                let f = rules::required("func_info", self.func_info)?;
                func_info = Some(validate_func_info(&ctx, f)?);
            }
        }
        let backend_authorizer = backend_api.as_ref().and_then(|b| b.authorizer_id.as_ref())
            .or(mock_info.as_ref().and_then(|m| m.authorizer_id.as_ref()))
            .or(func_info.as_ref().and_then(|f| f.authorizer_id.as_ref()))
            .is_some();
        let backend_params = validate_backend_params(&ctx, "backend_params", self.backend_params, backend_authorizer)?;
        if let Some(b) = &backend_api {
            check_backend_path_params("backend_api.req_uri", &b.req_uri, &[&backend_params])?;
        }

        // Backend policies of the chosen type.
        let (mut policy_https, mut policy_mocks, mut policy_functions) = (Vec::new(), Vec::new(), Vec::new());
        match backend_type {
            BackendType::Http => {
                policy_https = validate_policy_list(limits, "policy_https", self.policy_https, |f, p| {
                    let policy = validate_policy_http(&ctx, f, p)?;
                    let path_field = format!("{f}.req_uri");
                    check_backend_path_params(&path_field, &policy.req_uri, &[&policy.backend_params, &backend_params])?;
                    Ok((policy.name.clone(), policy))
                })?;
            }
            BackendType::Mock => {
                policy_mocks = validate_policy_list(limits, "policy_mocks", self.policy_mocks, |f, p| {
                    validate_policy_mock(&ctx, f, p).map(|p| (p.name.clone(), p))
                })?;
            }
            BackendType::Function => {
                policy_functions = validate_policy_list(limits, "policy_functions", self.policy_functions, |f, p| {
                    validate_policy_function(&ctx, f, p).map(|p| (p.name.clone(), p))
                })?;
            }
        }

        Ok(Api {
            id: String::new(),
            name,
            group_id,
            api_type,
            version,
            req_protocol,
            frontend_type,
            req_method,
            req_uri,
            match_mode,
            remark,
            auth_type,
            auth_opt: AuthOpt { app_code_auth_type },
            authorizer_id,
            backend_type,
            tag,
            tags,
            cors,
            content_type,
            is_send_fg_body_base64,
            body_remark,
            forwarding,
            result_normal_sample,
            result_failure_sample,
            response_id,
            roma_app_id,
            domain_name,
            status: 1,
            arrange_necessary: 2,
            register_time: String::new(),
            update_time: String::new(),
            backend_api,
            mock_info,
            func_info,
            req_params,
            backend_params,
            policy_https,
            policy_mocks,
            policy_functions,
        })
    }
}

/// Validates a policy list: its length, each policy (`one` returns its name
/// with it), and that names are unique.
fn validate_policy_list<I, P>(
    limits: &Limits,
    list_field: &str,
    list: Option<Vec<I>>,
    mut one: impl FnMut(&str, I) -> Result<(String, P)>,
) -> Result<Vec<P>> {
    let list = list.unwrap_or_default();
    if list.len() > limits.policies_per_api {
        return Err(ApiError::field(codes::POLICY_QUOTA, list_field));
    }
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.into_iter().enumerate() {
        let f = format!("{list_field}[{i}]");
        let (name, policy) = one(&f, item)?;
        if names.contains(&name) {
            return Err(ApiError::field(codes::POLICY_NAME_EXISTS, &format!("{f}.name")));
        }
        names.push(name);
        out.push(policy);
    }
    Ok(out)
}

/// What nested validation needs to know about the API as a whole.
struct Ctx<'a> {
    limits: &'a Limits,
    req_params: &'a [ReqParam],
    auth_type: AuthType,
    /// A WEBSOCKET frontend.
    websocket: bool,
}

impl Ctx<'_> {
    fn timeout(&self, field: &str, t: i64) -> Result<u32> {
        rules::int_range(field, t, 1, i64::from(self.limits.max_backend_timeout_ms)).map(|t| t as u32)
    }

    /// A backend's timeout, or `default` (within the installation's largest) when none is given.
    fn timeout_or(&self, field: &str, t: Option<i64>, default: u32) -> Result<u32> {
        match t {
            Some(t) => self.timeout(field, t),
            None => Ok(default.min(self.limits.max_backend_timeout_ms)),
        }
    }

    fn req_param(&self, name: &str) -> Option<&ReqParam> {
        self.req_params.iter().find(|p| p.name == name)
    }
}

/// Versions: printable, no spaces, at most `max` characters.
fn check_version(field: &str, v: &str, max: usize) -> Result<()> {
    rules::check_len(field, v, 1, max)?;
    if v.chars().all(|c| c.is_ascii_graphic()) { Ok(()) } else { Err(ApiError::invalid(field)) }
}

/// Tags: one optional service-name tag `APIG-SN-...`, others of letters, digits and `_` starting with a letter.
fn check_tags(tags: &[String]) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid("tags"));
    }
    let mut service_tags = 0;
    for (i, t) in tags.iter().enumerate() {
        let field = format!("tags[{i}]");
        rules::check_len(&field, t, 1, 128)?;
        if t.starts_with("APIG-SN-") {
            service_tags += 1;
        }
        if !is_tag(t) || service_tags > 1 || tags[..i].contains(t) {
            return Err(ApiError::invalid(&field));
        }
    }
    Ok(())
}

/// A tag's form: a service-name tag `APIG-SN-...`, or letters, digits and `_` starting with a letter.
pub(crate) fn is_tag(t: &str) -> bool {
    if let Some(rest) = t.strip_prefix("APIG-SN-") {
        !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    } else {
        t.starts_with(|c: char| c.is_ascii_alphabetic()) && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    }
}

/// Parameter names callers may not declare.
fn is_reserved_param(name: &str, location: ParamLocation, auth_type: AuthType) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("x-apig-")
        || lower.starts_with("x-sdk-")
        || lower == "x-stage"
        || (location == ParamLocation::Header
            && auth_type == AuthType::Iam
            && (lower == "authorization" || lower == "x-auth-token"))
}

fn compile_regex(field: &str, pattern: &str) -> Result<()> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map(|_| ())
        .map_err(|_| ApiError::invalid(field))
}

fn validate_req_param(f: &str, p: ReqParamInput, auth_type: AuthType) -> Result<ReqParam> {
    let field = |name: &str| format!("{f}.{name}");
    let name = rules::required_str(&field("name"), p.name)?;
    PARAM_NAME.check(&field("name"), &name)?;
    let param_type = ParamType::parse_field(&field("type"), &rules::required_str(&field("type"), p.param_type)?)?;
    let location = ParamLocation::parse_field(&field("location"), &rules::required_str(&field("location"), p.location)?)?;
    if is_reserved_param(&name, location, auth_type) {
        return Err(ApiError::invalid(&field("name")));
    }
    let required = match location {
        ParamLocation::Path => {
            rules::flag(&field("required"), p.required, 1)?;
            1
        }
        _ => rules::flag(&field("required"), p.required, 2)?,
    };
    let valid_enable = rules::flag(&field("valid_enable"), p.valid_enable, 2)?;
    let pass_through = rules::flag(&field("pass_through"), p.pass_through, 1)?;
    let default_value = rules::optional_str(p.default_value);
    rules::check_text(&field("default_value"), default_value.as_deref(), 255)?;
    if let Some(d) = &default_value
        && !value_fits_type(d, param_type) {
            return Err(ApiError::invalid(&field("default_value")));
        }
    let sample_value = rules::optional_str(p.sample_value);
    rules::check_text(&field("sample_value"), sample_value.as_deref(), 255)?;
    let remark = rules::optional_str(p.remark);
    rules::check_text(&field("remark"), remark.as_deref(), 255)?;
    let enumerations = rules::optional_str(p.enumerations);
    rules::check_text(&field("enumerations"), enumerations.as_deref(), 1024)?;
    if let (Some(min), Some(max)) = (p.min_num, p.max_num)
        && min > max {
            return Err(ApiError::invalid(&field("min_num")));
        }
    for (name, v) in [("min_size", p.min_size), ("max_size", p.max_size)] {
        if v.is_some_and(|v| v < 0) {
            return Err(ApiError::invalid(&field(name)));
        }
    }
    if let (Some(min), Some(max)) = (p.min_size, p.max_size)
        && min > max {
            return Err(ApiError::invalid(&field("min_size")));
        }
    let regular = rules::optional_str(p.regular);
    if let Some(r) = &regular {
        rules::check_len(&field("regular"), r, 1, 512)?;
        compile_regex(&field("regular"), r)?;
    }
    let json_schema = rules::optional_str(p.json_schema);
    if let Some(s) = &json_schema {
        rules::check_len(&field("json_schema"), s, 1, 20480)?;
        if serde_json::from_str::<serde_json::Value>(s).is_err() {
            return Err(ApiError::invalid(&field("json_schema")));
        }
    }
    Ok(ReqParam {
        id: String::new(),
        name,
        param_type,
        location,
        default_value,
        sample_value,
        required,
        valid_enable,
        remark,
        enumerations,
        min_num: p.min_num,
        max_num: p.max_num,
        min_size: p.min_size,
        max_size: p.max_size,
        regular,
        json_schema,
        pass_through,
    })
}

/// Whether a default value can be a value of the parameter's type.
fn value_fits_type(v: &str, t: ParamType) -> bool {
    match t {
        ParamType::String => true,
        ParamType::Number | ParamType::Float | ParamType::Double => v.parse::<f64>().is_ok_and(f64::is_finite),
        ParamType::Int => v.parse::<i32>().is_ok(),
        ParamType::Long => v.parse::<i64>().is_ok(),
        ParamType::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
    }
}

fn validate_backend_params(
    ctx: &Ctx,
    list_field: &str,
    list: Option<Vec<BackendParamInput>>,
    backend_authorizer: bool,
) -> Result<Vec<BackendParam>> {
    let list = list.unwrap_or_default();
    if list.len() > ctx.limits.params_per_api {
        return Err(ApiError::field(codes::PARAM_QUOTA, list_field));
    }
    let mut out: Vec<BackendParam> = Vec::with_capacity(list.len());
    for (i, p) in list.into_iter().enumerate() {
        let f = format!("{list_field}[{i}]");
        let field = |name: &str| format!("{f}.{name}");
        let name = rules::required_str(&field("name"), p.name)?;
        PARAM_NAME.check(&field("name"), &name)?;
        let location = ParamLocation::parse_field(&field("location"), &rules::required_str(&field("location"), p.location)?)?;
        // BODY: a field of the backend's form or JSON body (Baidu's backend BODY parameters).
        let origin = ParamOrigin::parse_field(&field("origin"), &rules::required_str(&field("origin"), p.origin)?)?;
        let value = rules::required_str(&field("value"), p.value)?;
        rules::check_len(&field("value"), &value, 1, 255)?;
        rules::check_printable(&field("value"), &value)?;
        // Baidu's typed constants: STRING, NUMBER or BOOLEAN (a JSON body gets the value as that type).
        let param_type = match rules::optional_str(p.param_type) {
            None => None,
            Some(t) => {
                let t = ParamType::parse_field(&field("type"), &t)?;
                if origin != ParamOrigin::Constant || !matches!(t, ParamType::String | ParamType::Number | ParamType::Boolean) {
                    return Err(ApiError::field_because(codes::INVALID_VALUE, &field("type"), "Constant parameters are typed STRING, NUMBER or BOOLEAN"));
                }
                let fits = match t {
                    ParamType::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
                    ParamType::Boolean => value == "true" || value == "false",
                    _ => true,
                };
                if !fits {
                    return Err(ApiError::field_because(codes::INVALID_VALUE, &field("value"), &format!("The value is not a {t}")));
                }
                Some(t)
            }
        };
        let remark = rules::optional_str(p.remark);
        rules::check_text(&field("remark"), remark.as_deref(), 255)?;
        match origin {
            ParamOrigin::Request => {
                if ctx.req_param(&value).is_none() {
                    return Err(ApiError::field(codes::MAPPED_PARAM_UNDEFINED, &field("value")));
                }
            }
            ParamOrigin::System => {
                let ok = SYSTEM_PARAMS.contains(&value.as_str())
                    || (ctx.auth_type == AuthType::Authorizer && is_context_key(value.strip_prefix(FRONTEND_AUTHORIZER_PREFIX)))
                    || (backend_authorizer && is_context_key(value.strip_prefix(BACKEND_AUTHORIZER_PREFIX)));
                if !ok {
                    return Err(ApiError::invalid(&field("value")));
                }
            }
            ParamOrigin::Constant => {}
        }
        let clash = out.iter().any(|q| {
            q.location == location
                && if location == ParamLocation::Header { q.name.eq_ignore_ascii_case(&name) } else { q.name == name }
        });
        if clash {
            return Err(ApiError::field(codes::PARAM_NAME_EXISTS, &field("name")));
        }
        out.push(BackendParam { id: String::new(), name, location, origin, value, remark, req_param_id: None, param_type });
    }
    Ok(out)
}

/// A key of an authorizer's returned context: 1–64 letters, digits, `_`, `-`.
fn is_context_key(k: Option<&str>) -> bool {
    k.is_some_and(|k| (1..=64).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
}

/// Every `{param}` of a backend path must be a PATH backend parameter (`APIG.2027`).
fn check_backend_path_params(field: &str, path: &str, params: &[&[BackendParam]]) -> Result<()> {
    let (names, _) = uri::parse_backend_uri(field, path)?;
    for name in names {
        let defined = params.iter().any(|list| list.iter().any(|p| p.location == ParamLocation::Path && p.name == name));
        if !defined {
            return Err(ApiError::field(codes::BACKEND_PATH_PARAM_UNDEFINED, field));
        }
    }
    Ok(())
}

/// `vpc_status` and `vpc_info`, shared by the default HTTP backend and HTTP policies.
fn validate_vpc(f: &str, status: Option<i64>, info: Option<VpcInfoInput>) -> Result<(i32, Option<VpcInfo>)> {
    let vpc_status = rules::flag(&format!("{f}.vpc_status"), status, 2)?;
    if vpc_status == 2 {
        return Ok((2, None));
    }
    let info = rules::required(&format!("{f}.vpc_info"), info)?;
    let vpc_id = rules::required_str(&format!("{f}.vpc_info.vpc_id"), info.vpc_id)?;
    rules::check_ref_id(&format!("{f}.vpc_info.vpc_id"), Some(&vpc_id))?;
    let vpc_proxy_host = rules::optional_str(info.vpc_proxy_host);
    if let Some(h) = &vpc_proxy_host {
        uri::check_proxy_host(&format!("{f}.vpc_info.vpc_proxy_host"), h)?;
    }
    Ok((1, Some(VpcInfo { vpc_id, vpc_proxy_host })))
}

/// The fields of an HTTP backend shared by `backend_api` and `policy_https`.
struct HttpTarget {
    url_domain: Option<String>,
    req_protocol: BackendProtocol,
    req_method: Method,
    req_uri: String,
    retry_count: Option<i32>,
    vpc_status: i32,
    vpc_info: Option<VpcInfo>,
}

#[allow(clippy::too_many_arguments)]
fn validate_http_target(
    f: &str,
    url_domain: Option<String>,
    req_protocol: Option<String>,
    req_method: Option<String>,
    req_uri: Option<String>,
    retry_count: Option<i64>,
    vpc_status: Option<i64>,
    vpc_info: Option<VpcInfoInput>,
) -> Result<HttpTarget> {
    let field = |name: &str| format!("{f}.{name}");
    let (vpc_status, vpc_info) = validate_vpc(f, vpc_status, vpc_info)?;
    let url_domain = match (vpc_status, rules::optional_str(url_domain)) {
        // With a channel the members are the address; a stray url_domain is dropped.
        (1, _) => None,
        (_, None) => return Err(ApiError::required(&field("url_domain"))),
        (_, Some(d)) => Some(d),
    };
    // `http://host:port`, `https://host`, `ws://host`, `wss://host` (seed 000: the
    // address "begins with http:// or https:// excluding the path") name the
    // protocol with the address: stored as the address and `req_protocol`.
    let (url_domain, scheme_protocol) = match url_domain {
        Some(d) => {
            let schemes = [("http://", BackendProtocol::Http), ("https://", BackendProtocol::Https), ("ws://", BackendProtocol::Http), ("wss://", BackendProtocol::Https)];
            match schemes.iter().find_map(|(scheme, p)| d.get(..scheme.len()).filter(|s| s.eq_ignore_ascii_case(scheme)).map(|_| (&d[scheme.len()..], *p))) {
                // "excluding the path": a lone trailing `/` is no path.
                Some((rest, p)) => (Some(rest.strip_suffix('/').unwrap_or(rest).to_string()), Some(p)),
                None => (Some(d), None),
            }
        }
        None => (None, None),
    };
    if let Some(d) = &url_domain {
        uri::parse_url_domain(&field("url_domain"), d)?;
    }
    let req_protocol = match (rules::optional_str(req_protocol), scheme_protocol) {
        (Some(p), scheme) => {
            let p = BackendProtocol::parse_field(&field("req_protocol"), &p)?;
            if scheme.is_some_and(|s| s != p) {
                return Err(ApiError::field_because(codes::INVALID_VALUE, &field("req_protocol"), "http:// and ws:// go with HTTP, https:// and wss:// with HTTPS"));
            }
            p
        }
        (None, Some(scheme)) => scheme,
        (None, None) => return Err(ApiError::required(&field("req_protocol"))),
    };
    let req_method = Method::parse_field(&field("req_method"), &rules::required_str(&field("req_method"), req_method)?)?;
    let req_uri = rules::required_str(&field("req_uri"), req_uri)?;
    uri::parse_backend_uri(&field("req_uri"), &req_uri)?;
    let retry_count = retry_count
        .map(|r| rules::int_range(&field("retry_count"), r, -1, 10).map(|r| r as i32))
        .transpose()?;
    Ok(HttpTarget { url_domain, req_protocol, req_method, req_uri, retry_count, vpc_status, vpc_info })
}

/// `backend_api.url_domains`: addresses with weights 1–100, not with a channel.
fn validate_url_domains(list: Vec<WeightedDomainInput>, vpc_status: Option<i64>) -> Result<Vec<WeightedDomain>> {
    let f = "backend_api.url_domains";
    if list.is_empty() {
        return Ok(Vec::new());
    }
    if vpc_status == Some(1) || list.len() > MAX_URL_DOMAINS {
        return Err(ApiError::invalid(f));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, d)| {
            let url_domain = rules::required_str(&format!("{f}[{i}].url_domain"), d.url_domain)?;
            uri::parse_url_domain(&format!("{f}[{i}].url_domain"), &url_domain)?;
            let weight = rules::int_range(&format!("{f}[{i}].weight"), d.weight.unwrap_or(1), 1, 100)? as u32;
            Ok(WeightedDomain { url_domain, weight })
        })
        .collect()
}

fn validate_backend_api(ctx: &Ctx, b: BackendApiInput) -> Result<BackendApi> {
    let f = "backend_api";
    let url_domains = validate_url_domains(b.url_domains.unwrap_or_default(), b.vpc_status)?;
    // With a list, `url_domain` is its first address.
    let url_domain = url_domains.first().map(|d| d.url_domain.clone()).or(b.url_domain);
    let t = validate_http_target(f, url_domain, b.req_protocol, b.req_method, b.req_uri, b.retry_count, b.vpc_status, b.vpc_info)?;
    let timeout = ctx.timeout_or("backend_api.timeout", b.timeout, crate::limits::DEFAULT_HTTP_TIMEOUT_MS)?;
    let version = rules::optional_str(b.version);
    if let Some(v) = &version {
        check_version("backend_api.version", v, 16)?;
    }
    let remark = rules::optional_str(b.remark);
    rules::check_text("backend_api.remark", remark.as_deref(), 255)?;
    let authorizer_id = rules::optional_str(b.authorizer_id);
    rules::check_ref_id("backend_api.authorizer_id", authorizer_id.as_deref())?;
    Ok(BackendApi {
        id: String::new(),
        status: 1,
        url_domain: t.url_domain,
        url_domains,
        version,
        req_protocol: t.req_protocol,
        req_method: t.req_method,
        req_uri: t.req_uri,
        timeout,
        retry_count: t.retry_count,
        remark,
        vpc_status: t.vpc_status,
        vpc_info: t.vpc_info,
        authorizer_id,
        enable_client_ssl: b.enable_client_ssl.unwrap_or(false),
        http2: b.http2.unwrap_or(false),
        register_time: String::new(),
        update_time: String::new(),
    })
}

/// Mock status code (default 200) and response headers, shared by `mock_info` and `policy_mocks`.
fn validate_mock_response(
    f: &str,
    result_content: Option<String>,
    status_code: Option<i64>,
    header: Option<serde_json::Value>,
) -> Result<(Option<String>, u16, Option<String>)> {
    let field = |name: &str| format!("{f}.{name}");
    let result_content = rules::optional_str(result_content);
    if result_content.as_ref().is_some_and(|c| c.len() > MAX_MOCK_CONTENT) {
        return Err(ApiError::invalid(&field("result_content")));
    }
    let status_code = match status_code {
        None => 200,
        Some(c) => match u16::try_from(c) {
            Ok(c) if MOCK_STATUS_CODES.contains(&c) => c,
            _ => return Err(ApiError::invalid(&field("status_code"))),
        },
    };
    let header = validate_mock_headers(&field("header"), header)?;
    Ok((result_content, status_code, header))
}

/// Mock headers arrive as a JSON array or as a string holding one; they are
/// stored and returned as the string form the documents use.
fn validate_mock_headers(field: &str, header: Option<serde_json::Value>) -> Result<Option<String>> {
    let value = match header {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(serde_json::Value::String(s)) => serde_json::from_str(&s).map_err(|_| ApiError::invalid(field))?,
        Some(v) => v,
    };
    let headers: Vec<MockHeader> = serde_json::from_value(value).map_err(|_| ApiError::invalid(field))?;
    if headers.len() > MAX_MOCK_HEADERS {
        return Err(ApiError::invalid(field));
    }
    for (i, h) in headers.iter().enumerate() {
        let key_ok = (1..=64).contains(&h.key.len())
            && h.key.starts_with(|c: char| c.is_ascii_alphanumeric())
            && h.key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = rules::check_len("", &h.value, 1, 10240).is_ok()
            && h.value.chars().all(|c| c == '\t' || (!c.is_control()));
        let remark_ok = rules::check_text("", h.remark.as_deref(), 2048).is_ok();
        if !key_ok || !value_ok || !remark_ok || headers[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&h.key)) {
            return Err(ApiError::invalid(field));
        }
    }
    if headers.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&headers).map(Some).map_err(|_| ApiError::invalid(field))
}

fn validate_mock_info(m: MockInfoInput) -> Result<MockInfo> {
    let (result_content, status_code, header) = validate_mock_response("mock_info", m.result_content, m.status_code, m.header)?;
    let version = rules::optional_str(m.version);
    if let Some(v) = &version {
        check_version("mock_info.version", v, 64)?;
    }
    let remark = rules::optional_str(m.remark);
    rules::check_text("mock_info.remark", remark.as_deref(), 255)?;
    let authorizer_id = rules::optional_str(m.authorizer_id);
    rules::check_ref_id("mock_info.authorizer_id", authorizer_id.as_deref())?;
    Ok(MockInfo {
        id: String::new(),
        status: 1,
        result_content,
        version,
        remark,
        status_code,
        header,
        authorizer_id,
        register_time: String::new(),
        update_time: String::new(),
    })
}

/// The fields of a function backend shared by `func_info` and `policy_functions`.
struct FunctionTarget {
    function_urn: String,
    invocation_type: InvocationType,
    version: Option<String>,
    alias_urn: Option<String>,
    network_type: NetworkType,
}

fn validate_function_target(
    f: &str,
    function_urn: Option<String>,
    invocation_type: Option<String>,
    version: Option<String>,
    alias_urn: Option<String>,
    network_type: Option<String>,
) -> Result<FunctionTarget> {
    let field = |name: &str| format!("{f}.{name}");
    let function_urn = rules::required_str(&field("function_urn"), function_urn)?;
    check_urn(&field("function_urn"), &function_urn)?;
    let invocation_type = InvocationType::parse_field(
        &field("invocation_type"),
        &rules::required_str(&field("invocation_type"), invocation_type)?,
    )?;
    let version = rules::optional_str(version);
    if let Some(v) = &version {
        check_version(&field("version"), v, 64)?;
    }
    let alias_urn = rules::optional_str(alias_urn);
    if let Some(a) = &alias_urn {
        check_urn(&field("alias_urn"), a)?;
    }
    let network_type = match rules::optional_str(network_type) {
        Some(n) => NetworkType::parse_field(&field("network_type"), &n)?,
        None => NetworkType::V1,
    };
    Ok(FunctionTarget { function_urn, invocation_type, version, alias_urn, network_type })
}

/// Function URNs: 1–255 printable characters without spaces.
fn check_urn(field: &str, urn: &str) -> Result<()> {
    rules::check_len(field, urn, 1, 255)?;
    if urn.chars().all(|c| c.is_ascii_graphic()) { Ok(()) } else { Err(ApiError::invalid(field)) }
}

fn validate_func_info(ctx: &Ctx, fi: FuncInfoInput) -> Result<FuncInfo> {
    let t = validate_function_target("func_info", fi.function_urn, fi.invocation_type, fi.version, fi.alias_urn, fi.network_type)?;
    let timeout = ctx.timeout_or("func_info.timeout", fi.timeout, crate::limits::DEFAULT_FUNCTION_TIMEOUT_MS)?;
    let remark = rules::optional_str(fi.remark);
    rules::check_text("func_info.remark", remark.as_deref(), 255)?;
    let authorizer_id = rules::optional_str(fi.authorizer_id);
    rules::check_ref_id("func_info.authorizer_id", authorizer_id.as_deref())?;
    let (websocket_register_urn, websocket_cleanup_urn) = (rules::optional_str(fi.websocket_register_urn), rules::optional_str(fi.websocket_cleanup_urn));
    for (field, urn) in [("func_info.websocket_register_urn", &websocket_register_urn), ("func_info.websocket_cleanup_urn", &websocket_cleanup_urn)] {
        if let Some(urn) = urn {
            if !ctx.websocket {
                return Err(ApiError::field_because(codes::INVALID_VALUE, field, "Only WEBSOCKET APIs run functions on connect and close"));
            }
            check_urn(field, urn)?;
        }
    }
    if ctx.websocket && t.invocation_type == InvocationType::Async {
        return Err(ApiError::field_because(codes::INVALID_VALUE, "func_info.invocation_type", "A WEBSOCKET API's transfer function is called synchronously"));
    }
    Ok(FuncInfo {
        id: String::new(),
        status: 1,
        function_urn: t.function_urn,
        invocation_type: t.invocation_type,
        timeout,
        version: t.version,
        alias_urn: t.alias_urn,
        network_type: t.network_type,
        remark,
        authorizer_id,
        websocket_register_urn,
        websocket_cleanup_urn,
        register_time: String::new(),
        update_time: String::new(),
    })
}

/// Name, effect mode, conditions, backend parameters and authorizer of a policy.
struct PolicyCommon {
    name: String,
    effect_mode: EffectMode,
    conditions: Vec<Condition>,
    backend_params: Vec<BackendParam>,
    authorizer_id: Option<String>,
}

fn validate_policy_common(ctx: &Ctx, f: &str, c: PolicyCommonInput) -> Result<PolicyCommon> {
    let field = |name: &str| format!("{f}.{name}");
    let name = rules::required_str(&field("name"), c.name)?;
    PLAIN_NAME.check(&field("name"), &name)?;
    let effect_mode =
        EffectMode::parse_field(&field("effect_mode"), &rules::required_str(&field("effect_mode"), c.effect_mode)?)?;
    let conditions_in = c.conditions.unwrap_or_default();
    if conditions_in.is_empty() {
        return Err(ApiError::required(&field("conditions")));
    }
    if conditions_in.len() > ctx.limits.conditions_per_policy {
        return Err(ApiError::field(codes::CONDITION_QUOTA, &field("conditions")));
    }
    let conditions = conditions_in
        .into_iter()
        .enumerate()
        .map(|(i, c)| validate_condition(ctx, &format!("{f}.conditions[{i}]"), c))
        .collect::<Result<Vec<_>>>()?;
    let authorizer_id = rules::optional_str(c.authorizer_id);
    rules::check_ref_id(&field("authorizer_id"), authorizer_id.as_deref())?;
    let backend_params = validate_backend_params(ctx, &field("backend_params"), c.backend_params, authorizer_id.is_some())?;
    Ok(PolicyCommon { name, effect_mode, conditions, backend_params, authorizer_id })
}

fn validate_condition(ctx: &Ctx, f: &str, c: ConditionInput) -> Result<Condition> {
    let field = |name: &str| format!("{f}.{name}");
    let origin = ConditionOrigin::parse_field(
        &field("condition_origin"),
        &rules::required_str(&field("condition_origin"), c.condition_origin)?,
    )?;
    let value = rules::required_str(&field("condition_value"), c.condition_value)?;
    rules::check_len(&field("condition_value"), &value, 1, 1024)?;
    rules::check_printable(&field("condition_value"), &value)?;
    // "equal" is the Swagger extension's spelling of "exact".
    let parse_type = |t: Option<String>| -> Result<Option<ConditionType>> {
        match rules::optional_str(t) {
            None => Ok(None),
            Some(t) if t.eq_ignore_ascii_case("equal") => Ok(Some(ConditionType::Exact)),
            Some(t) => ConditionType::parse_field(&field("condition_type"), &t).map(Some),
        }
    };
    let condition_type = parse_type(c.condition_type)?;
    let mut out = Condition {
        id: String::new(),
        condition_origin: origin,
        condition_type: None,
        condition_value: value,
        req_param_name: None,
        req_param_id: None,
        req_param_location: None,
        sys_param_name: None,
        cookie_param_name: None,
        frontend_authorizer_param_name: None,
    };
    match origin {
        ConditionOrigin::Param => {
            let name = rules::required_str(&field("req_param_name"), c.req_param_name)?;
            let param = ctx.req_param(&name).ok_or_else(|| ApiError::field(codes::MAPPED_PARAM_UNDEFINED, &field("req_param_name")))?;
            out.req_param_location = Some(param.location);
            out.req_param_name = Some(name);
            out.condition_type = Some(rules::required(&field("condition_type"), condition_type)?);
        }
        ConditionOrigin::Source => {
            if crate::ip::IpRule::parse_list(&out.condition_value).is_none() {
                return Err(ApiError::field(codes::INVALID_IP, &field("condition_value")));
            }
        }
        ConditionOrigin::System => {
            let name = rules::required_str(&field("sys_param_name"), c.sys_param_name)?;
            out.sys_param_name = Some(SysParamName::parse_field(&field("sys_param_name"), &name)?);
            out.condition_type = Some(condition_type.unwrap_or(ConditionType::Exact));
        }
        ConditionOrigin::Cookie => {
            let name = rules::required_str(&field("cookie_param_name"), c.cookie_param_name)?;
            let token = name.len() <= 255 && name.bytes().all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
            if !token {
                return Err(ApiError::invalid(&field("cookie_param_name")));
            }
            out.cookie_param_name = Some(name);
            out.condition_type = Some(rules::required(&field("condition_type"), condition_type)?);
        }
        ConditionOrigin::FrontendAuthorizer => {
            let f = field("frontend_authorizer_param_name");
            if ctx.auth_type != AuthType::Authorizer {
                return Err(ApiError::field(codes::AUTHORIZER_NOT_ALLOWED, &f));
            }
            // Stored in the documented prefixed form; the bare key is accepted too.
            let name = rules::required_str(&f, c.frontend_authorizer_param_name)?;
            let key = name.strip_prefix(FRONTEND_AUTHORIZER_PREFIX).unwrap_or(&name);
            if !is_context_key(Some(key)) {
                return Err(ApiError::invalid(&f));
            }
            out.frontend_authorizer_param_name = Some(format!("{FRONTEND_AUTHORIZER_PREFIX}{key}"));
            out.condition_type = Some(rules::required(&field("condition_type"), condition_type)?);
        }
    }
    if out.condition_type == Some(ConditionType::Pattern) {
        compile_regex(&field("condition_value"), &out.condition_value)?;
    }
    Ok(out)
}

fn validate_policy_http(ctx: &Ctx, f: &str, p: PolicyHttpInput) -> Result<PolicyHttp> {
    let c = validate_policy_common(ctx, f, p.common)?;
    let t = validate_http_target(f, p.url_domain, p.req_protocol, p.req_method, p.req_uri, p.retry_count, p.vpc_status, p.vpc_info)?;
    let timeout = p.timeout.map(|t| ctx.timeout(&format!("{f}.timeout"), t)).transpose()?;
    Ok(PolicyHttp {
        id: String::new(),
        name: c.name,
        effect_mode: c.effect_mode,
        conditions: c.conditions,
        backend_params: c.backend_params,
        url_domain: t.url_domain,
        req_protocol: t.req_protocol,
        req_method: t.req_method,
        req_uri: t.req_uri,
        timeout,
        retry_count: t.retry_count,
        vpc_status: t.vpc_status,
        vpc_info: t.vpc_info,
        authorizer_id: c.authorizer_id,
        enable_client_ssl: p.enable_client_ssl.unwrap_or(false),
        http2: p.http2.unwrap_or(false),
    })
}

fn validate_policy_mock(ctx: &Ctx, f: &str, p: PolicyMockInput) -> Result<PolicyMock> {
    let c = validate_policy_common(ctx, f, p.common)?;
    let (result_content, status_code, header) = validate_mock_response(f, p.result_content, p.status_code, p.header)?;
    Ok(PolicyMock {
        id: String::new(),
        name: c.name,
        effect_mode: c.effect_mode,
        conditions: c.conditions,
        backend_params: c.backend_params,
        result_content,
        status_code,
        header,
        authorizer_id: c.authorizer_id,
    })
}

fn validate_policy_function(ctx: &Ctx, f: &str, p: PolicyFunctionInput) -> Result<PolicyFunction> {
    let c = validate_policy_common(ctx, f, p.common)?;
    let t = validate_function_target(f, p.function_urn, p.invocation_type, p.version, p.alias_urn, p.network_type)?;
    let timeout = p.timeout.map(|t| ctx.timeout(&format!("{f}.timeout"), t)).transpose()?;
    Ok(PolicyFunction {
        id: String::new(),
        name: c.name,
        effect_mode: c.effect_mode,
        conditions: c.conditions,
        backend_params: c.backend_params,
        function_urn: t.function_urn,
        invocation_type: t.invocation_type,
        timeout,
        version: t.version,
        alias_urn: t.alias_urn,
        network_type: t.network_type,
        authorizer_id: c.authorizer_id,
    })
}
