//! Input parameters: read from the request (PATH, QUERY, HEADER, and BODY —
//! fields of an `application/x-www-form-urlencoded` body), defaults
//! applied, required ones enforced, and — where `valid_enable` is 1 — checked
//! against their type, enumeration, range, length and pattern.

use std::borrow::Cow;

use causeway_model::api::{ParamLocation, ParamType, ReqParam};
use http::HeaderName;

use crate::http::error::{GatewayError, errors};
use crate::http::query::{percent_decode, query_pairs};

/// A declared input parameter, prepared for the request path.
#[derive(Debug)]
pub struct InputParam {
    pub name: Box<str>,
    pub location: ParamLocation,
    pub header: Option<HeaderName>,
    /// Where a PATH parameter is in the path's values: its segment index, or
    /// for REGEX paths its capture group index.
    pub segment: usize,
    pub required: bool,
    pub default: Option<Box<str>>,
    pub pass_through: bool,
    pub rules: Option<Rules>,
}

/// Names whose values a debug call's notes hide (credentials a caller may send as parameters).
pub fn is_credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "authorization" | "proxy-authorization" | "cookie" | "x-apig-appcode" | "x-auth-token")
        || n.starts_with("x-sdk-")
        || n.contains("signature")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("token")
}

/// A debug call's note of the values read: `name (LOCATION) = "value"`, or absent.
pub fn describe(inputs: &[InputParam], values: &[Option<std::borrow::Cow<'_, str>>]) -> String {
    if inputs.is_empty() {
        return "parameters: none declared".into();
    }
    let read: Vec<String> = inputs
        .iter()
        .zip(values)
        .map(|(p, v)| match v {
            Some(_) if is_credential(&p.name) => format!("{} ({}) = ***", p.name, p.location),
            Some(v) => format!("{} ({}) = {v:?}", p.name, p.location),
            None => format!("{} ({}) absent", p.name, p.location),
        })
        .collect();
    format!("parameters: {}", read.join(", "))
}

/// The rules checked when `valid_enable` is 1.
#[derive(Debug)]
pub struct Rules {
    pub param_type: ParamType,
    pub enumerations: Vec<Box<str>>,
    pub min_num: Option<i64>,
    pub max_num: Option<i64>,
    pub min_size: Option<i64>,
    pub max_size: Option<i64>,
    pub pattern: Option<regex::Regex>,
}

impl InputParam {
    pub fn compile(p: &ReqParam, req_uri: &str, path_regex: Option<&regex::Regex>) -> Self {
        let segment = match path_regex {
            Some(re) => re.capture_names().position(|n| n == Some(p.name.as_str())),
            None => req_uri
                .trim_start_matches('/')
                .split('/')
                .position(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) == Some(p.name.as_str())),
        }
        .unwrap_or(usize::MAX);
        let rules = (p.valid_enable == 1).then(|| Rules {
            param_type: p.param_type,
            enumerations: p
                .enumerations
                .as_deref()
                .map(|e| e.split(',').map(str::trim).filter(|v| !v.is_empty()).map(Into::into).collect())
                .unwrap_or_default(),
            min_num: p.min_num,
            max_num: p.max_num,
            min_size: p.min_size,
            max_size: p.max_size,
            // Validated (and size-limited) when the API was saved.
            pattern: p.regular.as_deref().and_then(|r| regex::RegexBuilder::new(r).size_limit(1 << 20).build().ok()),
        });
        Self {
            name: p.name.as_str().into(),
            location: p.location,
            header: match p.location {
                ParamLocation::Header => HeaderName::from_bytes(p.name.as_bytes()).ok(),
                _ => None,
            },
            segment,
            required: p.required == 1,
            default: p.default_value.as_deref().map(Into::into),
            pass_through: p.pass_through == 1,
            rules,
        }
    }
}

/// What PATH parameters read, when the API declares any: the path's
/// segments, or for a REGEX path (`path_regex`) its capture groups.
pub fn path_values<'p>(params: &[InputParam], path_regex: Option<&regex::Regex>, path: &'p str) -> Vec<&'p str> {
    if !params.iter().any(|p| p.location == ParamLocation::Path) {
        return Vec::new();
    }
    match path_regex {
        Some(re) => re.captures(path).map(|c| c.iter().map(|m| m.map_or("", |m| m.as_str())).collect()).unwrap_or_default(),
        None => path.trim_start_matches('/').split('/').collect(),
    }
}

/// PATH parameter values by name, as sent (for function events).
pub fn path_params<'a>(params: &'a [InputParam], path_values: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    params.iter().filter(|p| p.location == ParamLocation::Path).filter_map(|p| Some((&*p.name, *path_values.get(p.segment)?))).collect()
}

/// Reads every declared parameter from the request. Values are decoded; a
/// missing parameter takes its default; `None` means absent and optional.
pub fn collect<'r>(
    params: &[InputParam],
    path_segments: &[&'r str],
    query: &'r str,
    headers: &http::HeaderMap,
    form: Option<&'r [u8]>,
) -> Result<Vec<Option<Cow<'r, str>>>, GatewayError> {
    let mut values = Vec::with_capacity(params.len());
    for p in params {
        let found: Option<Cow<'r, str>> = match p.location {
            // An optional group of a REGEX path that took no part reads as absent.
            ParamLocation::Path => path_segments.get(p.segment).filter(|s| !s.is_empty()).map(|s| percent_decode(s, false)),
            ParamLocation::Body => form.and_then(|f| form_urlencoded::parse(f).find(|(k, _)| *k == *p.name).map(|(_, v)| v)),
            ParamLocation::Query => query_pairs(query).find(|(k, _)| *k == &*p.name).map(|(_, v)| percent_decode(v, true)),
            ParamLocation::Header => p
                .header
                .as_ref()
                .and_then(|h| headers.get(h))
                // Owned, so the header map can move into the backend request.
                .map(|v| Cow::Owned(String::from_utf8_lossy(v.as_bytes()).into_owned())),
        };
        let value = match found {
            Some(v) => {
                if let Some(rules) = &p.rules {
                    check_value(&p.name, rules, &v)?;
                }
                Some(v)
            }
            None => match &p.default {
                Some(d) => Some(Cow::Owned(d.to_string())),
                None if p.required => return Err(invalid(&p.name, "is required")),
                None => None,
            },
        };
        values.push(value);
    }
    Ok(values)
}

fn invalid(name: &str, why: &str) -> GatewayError {
    errors::BAD_PARAMETER.with_message(format!("Invalid request parameter {name}: {why}"))
}

fn check_value(name: &str, c: &Rules, v: &str) -> Result<(), GatewayError> {
    let numeric = match c.param_type {
        ParamType::String => None,
        ParamType::Number | ParamType::Float | ParamType::Double => {
            Some(v.parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| invalid(name, "must be a number"))?)
        }
        ParamType::Int => Some(v.parse::<i32>().map_err(|_| invalid(name, "must be a 32-bit integer"))? as f64),
        ParamType::Long => Some(v.parse::<i64>().map_err(|_| invalid(name, "must be an integer"))? as f64),
        ParamType::Boolean => {
            if !(v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")) {
                return Err(invalid(name, "must be true or false"));
            }
            None
        }
    };
    if let Some(n) = numeric {
        if c.min_num.is_some_and(|min| n < min as f64) {
            return Err(invalid(name, "is below the minimum"));
        }
        if c.max_num.is_some_and(|max| n > max as f64) {
            return Err(invalid(name, "is above the maximum"));
        }
    }
    let len = v.chars().count() as i64;
    if c.min_size.is_some_and(|min| len < min) || c.max_size.is_some_and(|max| len > max) {
        return Err(invalid(name, "has a length outside the allowed range"));
    }
    if !c.enumerations.is_empty() && !c.enumerations.iter().any(|e| &**e == v) {
        return Err(invalid(name, "is not one of the allowed values"));
    }
    if c.pattern.as_ref().is_some_and(|p| !p.is_match(v)) {
        return Err(invalid(name, "does not match the pattern"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        let c = Rules {
            param_type: ParamType::Int,
            enumerations: vec![],
            min_num: Some(1),
            max_num: Some(10),
            min_size: None,
            max_size: None,
            pattern: None,
        };
        assert!(check_value("n", &c, "5").is_ok());
        assert!(check_value("n", &c, "0").is_err());
        assert!(check_value("n", &c, "11").is_err());
        assert!(check_value("n", &c, "x").is_err());
        let c = Rules { param_type: ParamType::String, enumerations: vec!["a".into(), "b".into()], min_size: Some(1), max_size: Some(1), ..c };
        assert!(check_value("s", &c, "a").is_ok());
        assert!(check_value("s", &c, "c").is_err());
        let err = check_value("s", &c, "ab").unwrap_err();
        assert_eq!(err.code, "APIG.0201");
        assert!(err.message.contains("s"));
    }
}
