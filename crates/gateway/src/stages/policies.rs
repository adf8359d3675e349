//! Backend policies: conditions compiled once, evaluated in order per
//! request; the first policy whose conditions hold supplies the backend
//! (whatever kind of backend the route compiled it to: `B`).

use std::borrow::Cow;
use std::net::IpAddr;

use causeway_model::api::{Condition, ConditionOrigin, ConditionType, EffectMode, FRONTEND_AUTHORIZER_PREFIX, SysParamName};
use causeway_model::ip::IpRule;

use crate::stages::authn::context::AuthContext;

#[derive(Debug)]
enum Subject {
    /// Index of an input parameter.
    Param(usize),
    SourceIp,
    Path,
    Method,
    AppId,
    AppName,
    Cookie(Box<str>),
    /// A key of the frontend authorizer's context.
    Authorizer(Box<str>),
}

#[derive(Debug)]
enum Test {
    Exact(Box<str>),
    Enum(Vec<Box<str>>),
    Pattern(regex::Regex),
    Ips(Vec<IpRule>),
}

#[derive(Debug)]
struct CompiledCondition {
    subject: Subject,
    test: Test,
}

/// A policy ready to evaluate, with the backend it chooses.
#[derive(Debug)]
pub struct Policy<B> {
    all: bool,
    conditions: Vec<CompiledCondition>,
    pub backend: B,
    /// The backend custom authorizer that runs before this backend is called.
    pub authorizer: Option<Box<str>>,
}

/// What conditions look at.
pub struct ConditionInput<'a> {
    pub values: &'a [Option<Cow<'a, str>>],
    pub source_ip: IpAddr,
    pub path: &'a str,
    pub method: &'a str,
    pub cookies: Option<&'a str>,
    /// The authenticated app's id and name (APP APIs only).
    pub app: Option<(&'a str, &'a str)>,
    /// What the frontend custom authorizer returned (AUTHORIZER APIs only).
    pub authorizer: Option<&'a AuthContext>,
}

impl CompiledCondition {
    /// `None` when the condition refers to something the API no longer has.
    fn compile(c: &Condition, input_names: &[String]) -> Option<Self> {
        let subject = match c.condition_origin {
            ConditionOrigin::Param => Subject::Param(input_names.iter().position(|n| Some(n) == c.req_param_name.as_ref())?),
            ConditionOrigin::Source => Subject::SourceIp,
            ConditionOrigin::System => match c.sys_param_name? {
                SysParamName::ReqPath => Subject::Path,
                SysParamName::ReqMethod => Subject::Method,
                SysParamName::AppId => Subject::AppId,
                SysParamName::AppName => Subject::AppName,
            },
            ConditionOrigin::Cookie => Subject::Cookie(c.cookie_param_name.as_deref()?.into()),
            ConditionOrigin::FrontendAuthorizer => {
                let name = c.frontend_authorizer_param_name.as_deref()?;
                Subject::Authorizer(name.strip_prefix(FRONTEND_AUTHORIZER_PREFIX).unwrap_or(name).into())
            }
        };
        let test = match (c.condition_origin, c.condition_type.unwrap_or(ConditionType::Exact)) {
            (ConditionOrigin::Source, _) => Test::Ips(IpRule::parse_list(&c.condition_value)?),
            (_, ConditionType::Exact) => Test::Exact(c.condition_value.as_str().into()),
            (_, ConditionType::Enum) => Test::Enum(c.condition_value.split(',').map(|v| v.trim().into()).collect()),
            (_, ConditionType::Pattern) => {
                Test::Pattern(regex::RegexBuilder::new(&c.condition_value).size_limit(1 << 20).build().ok()?)
            }
        };
        Some(Self { subject, test })
    }

    fn holds(&self, f: &ConditionInput<'_>) -> bool {
        let value: Option<&str> = match &self.subject {
            Subject::Param(i) => f.values.get(*i).and_then(|v| v.as_deref()),
            Subject::SourceIp => {
                return match &self.test {
                    Test::Ips(rules) => rules.iter().any(|r| r.contains(f.source_ip)),
                    _ => false,
                };
            }
            Subject::Path => Some(f.path),
            Subject::Method => Some(f.method),
            Subject::AppId => f.app.map(|(id, _)| id),
            Subject::AppName => f.app.map(|(_, name)| name),
            Subject::Cookie(name) => f.cookies.and_then(|c| cookie(c, name)),
            Subject::Authorizer(key) => f.authorizer.and_then(|a| a.get(key)),
        };
        let Some(v) = value else { return false };
        match &self.test {
            Test::Exact(e) => v == &**e,
            Test::Enum(list) => list.iter().any(|e| v == &**e),
            Test::Pattern(re) => re.is_match(v),
            Test::Ips(_) => false,
        }
    }
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie<'c>(header: &'c str, name: &str) -> Option<&'c str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v.trim_matches('"'))
    })
}

impl<B> Policy<B> {
    pub fn new(mode: EffectMode, conditions: &[Condition], input_names: &[String], backend: B, authorizer: Option<&str>) -> Self {
        let compiled: Vec<_> = conditions.iter().filter_map(|c| CompiledCondition::compile(c, input_names)).collect();
        // A condition that no longer compiles makes an ALL policy unusable, and counts as false for ANY.
        let broken = compiled.len() != conditions.len();
        Self {
            all: mode == EffectMode::All,
            conditions: if broken && mode == EffectMode::All { Vec::new() } else { compiled },
            backend,
            authorizer: authorizer.map(Into::into),
        }
    }

    pub fn applies(&self, f: &ConditionInput<'_>) -> bool {
        if self.conditions.is_empty() {
            return false;
        }
        if self.all { self.conditions.iter().all(|c| c.holds(f)) } else { self.conditions.iter().any(|c| c.holds(f)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        assert_eq!(cookie("a=1; beta=yes; c=\"q\"", "beta"), Some("yes"));
        assert_eq!(cookie("a=1; c=\"q\"", "c"), Some("q"));
        assert_eq!(cookie("a=1", "b"), None);
    }
}
