//! Custom authorizers (§1.7): a function that decides whether a request may
//! pass. `FRONTEND` authorizers authenticate callers of APIs with
//! `auth_type` AUTHORIZER; `BACKEND` authorizers run before the backend call
//! and supply values for it. Their answers are cached for `ttl` seconds,
//! keyed by the identity sources' values.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::function::Urn;
use crate::rules::{self, DISPLAY_NAME, PARAM_NAME};

crate::wire_enum!(
    /// Which side of the gateway the authorizer serves.
    AuthorizerKind { Frontend => "FRONTEND", Backend => "BACKEND" }
);
crate::wire_enum!(
    /// What runs the decision: a function (the only kind the vendors offer).
    AuthorizerType { Func => "FUNC" }
);
crate::wire_enum!(
    /// Where an identity source is read.
    IdentityLocation { Header => "HEADER", Query => "QUERY" }
);
crate::wire_enum!(
    /// FunctionGraph's network type; kept for compatibility, not used.
    AuthorizerNetwork { V1 => "V1", V2 => "V2" }
);

/// Longest cache lifetime, in seconds.
pub const MAX_TTL: u32 = 3600;
/// Longest `user_data`, in characters.
pub const MAX_USER_DATA: usize = 2048;
/// Longest identity `validation` expression.
pub const MAX_VALIDATION: usize = 255;

/// One identity source: a header or query parameter the caller must send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub location: IdentityLocation,
    /// A regular expression the value must match (V2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<String>,
}

/// A stored custom authorizer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorizer {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: AuthorizerKind,
    pub authorizer_type: AuthorizerType,
    /// The function's URN (with or without a qualifier).
    pub authorizer_uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_version: Option<String>,
    /// An alias URN; wins over `authorizer_uri` and `authorizer_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer_alias_uri: Option<String>,
    pub network_type: AuthorizerNetwork,
    #[serde(default)]
    pub identities: Vec<Identity>,
    /// Seconds an answer is cached; 0: not cached.
    pub ttl: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// Whether the function gets the request body.
    #[serde(default)]
    pub need_body: bool,
    pub create_time: String,
    /// Changes with every update, so cached answers of an older definition are not used.
    #[serde(default)]
    pub update_time: String,
}

/// Body of `POST /authorizers` and `PUT /authorizers/{id}`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AuthorizerInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub authorizer_type: Option<String>,
    pub authorizer_uri: Option<String>,
    pub authorizer_version: Option<String>,
    pub authorizer_alias_uri: Option<String>,
    pub network_type: Option<String>,
    pub identities: Option<Vec<IdentityInput>>,
    pub ttl: Option<i64>,
    pub user_data: Option<String>,
    pub need_body: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct IdentityInput {
    pub name: Option<String>,
    pub location: Option<String>,
    pub validation: Option<String>,
}

/// A checked authorizer definition (without id and times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizerSpec {
    pub name: String,
    pub kind: AuthorizerKind,
    pub authorizer_uri: String,
    pub authorizer_version: Option<String>,
    pub authorizer_alias_uri: Option<String>,
    pub network_type: AuthorizerNetwork,
    pub identities: Vec<Identity>,
    pub ttl: u32,
    pub user_data: Option<String>,
    pub need_body: bool,
}

impl AuthorizerSpec {
    /// The URN whose function the authorizer names (the alias's, when one is set).
    pub fn function_urn(&self) -> Option<Urn> {
        self.authorizer_alias_uri.as_deref().and_then(Urn::parse).or_else(|| Urn::parse(&self.authorizer_uri))
    }
}

impl AuthorizerInput {
    /// Checks the definition; `max_identities` is the installation's quota (`APIG.3117`).
    pub fn validate(self, max_identities: usize) -> Result<AuthorizerSpec> {
        let name = rules::required_str("name", self.name)?;
        DISPLAY_NAME.check("name", &name)?;
        let kind = AuthorizerKind::parse_field("type", &rules::required_str("type", self.kind)?)?;
        AuthorizerType::parse_field("authorizer_type", &rules::required_str("authorizer_type", self.authorizer_type)?)?;
        let authorizer_uri = rules::required_str("authorizer_uri", self.authorizer_uri)?;
        if authorizer_uri.len() > 255 || Urn::parse(&authorizer_uri).is_none() {
            return Err(ApiError::invalid("authorizer_uri"));
        }
        let authorizer_version = rules::optional_str(self.authorizer_version);
        if let Some(v) = &authorizer_version
            && !crate::function::is_version(v)
        {
            return Err(ApiError::invalid("authorizer_version"));
        }
        let authorizer_alias_uri = rules::optional_str(self.authorizer_alias_uri);
        if let Some(a) = &authorizer_alias_uri {
            let same_function = Urn::parse(a).zip(Urn::parse(&authorizer_uri)).is_some_and(|(a, f)| a.qualifier.is_some() && a.package == f.package && a.name == f.name);
            if a.len() > 255 || !same_function {
                return Err(ApiError::invalid("authorizer_alias_uri"));
            }
        }
        let network_type = match rules::optional_str(self.network_type) {
            Some(n) => AuthorizerNetwork::parse_field("network_type", &n)?,
            None => AuthorizerNetwork::V1,
        };
        let ttl = rules::int_range("ttl", self.ttl.unwrap_or(0), 0, i64::from(MAX_TTL))? as u32;
        let identities_in = self.identities.unwrap_or_default();
        if identities_in.len() > max_identities {
            return Err(ApiError::field(crate::error::codes::IDENTITY_QUOTA, "identities"));
        }
        let mut identities: Vec<Identity> = Vec::with_capacity(identities_in.len());
        for (i, id) in identities_in.into_iter().enumerate() {
            let field = |n: &str| format!("identities[{i}].{n}");
            let name = rules::required_str(&field("name"), id.name)?;
            PARAM_NAME.check(&field("name"), &name)?;
            let location = IdentityLocation::parse_field(&field("location"), &rules::required_str(&field("location"), id.location)?)?;
            let validation = rules::optional_str(id.validation);
            if let Some(v) = &validation {
                rules::check_len(&field("validation"), v, 1, MAX_VALIDATION)?;
                if regex::RegexBuilder::new(v).size_limit(1 << 20).build().is_err() {
                    return Err(ApiError::invalid(&field("validation")));
                }
            }
            let same = |o: &Identity| {
                o.location == location && if location == IdentityLocation::Header { o.name.eq_ignore_ascii_case(&name) } else { o.name == name }
            };
            if identities.iter().any(same) {
                return Err(ApiError::field(crate::error::codes::PARAM_NAME_EXISTS, &field("name")));
            }
            identities.push(Identity { name, location, validation });
        }
        // The identities are the cache key: without them every caller would share one answer.
        if kind == AuthorizerKind::Frontend && ttl > 0 && identities.is_empty() {
            return Err(ApiError::required("identities"));
        }
        let user_data = rules::optional_str(self.user_data);
        rules::check_text("user_data", user_data.as_deref(), MAX_USER_DATA)?;
        Ok(AuthorizerSpec {
            name,
            kind,
            authorizer_uri,
            authorizer_version,
            authorizer_alias_uri,
            network_type,
            identities,
            ttl,
            user_data,
            need_body: self.need_body.unwrap_or(false),
        })
    }
}

impl Authorizer {
    pub fn new(id: String, spec: AuthorizerSpec, create_time: String, update_time: String) -> Self {
        Self {
            id,
            name: spec.name,
            kind: spec.kind,
            authorizer_type: AuthorizerType::Func,
            authorizer_uri: spec.authorizer_uri,
            authorizer_version: spec.authorizer_version,
            authorizer_alias_uri: spec.authorizer_alias_uri,
            network_type: spec.network_type,
            identities: spec.identities,
            ttl: spec.ttl,
            user_data: spec.user_data,
            need_body: spec.need_body,
            create_time,
            update_time,
        }
    }

    /// Whether the authorizer calls the function `urn` names (any qualifier).
    pub fn calls(&self, urn: &Urn) -> bool {
        [Some(&self.authorizer_uri), self.authorizer_alias_uri.as_ref()]
            .into_iter()
            .flatten()
            .filter_map(|u| Urn::parse(u))
            .any(|u| u.package == urn.package && u.name == urn.name && (urn.qualifier.is_none() || u.qualifier == urn.qualifier))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URN: &str = "urn:fss:local:causeway:function:default:auth";

    fn input() -> AuthorizerInput {
        AuthorizerInput {
            name: Some("auth_one".into()),
            kind: Some("frontend".into()),
            authorizer_type: Some("FUNC".into()),
            authorizer_uri: Some(URN.into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_normalised_case() {
        let s = input().validate(5).unwrap();
        assert_eq!(s.kind, AuthorizerKind::Frontend);
        assert_eq!(s.ttl, 0);
        assert_eq!(s.network_type, AuthorizerNetwork::V1);
        assert!(!s.need_body);
    }

    #[test]
    fn rejected_values_name_their_field() {
        let field = |i: AuthorizerInput| i.validate(2).unwrap_err().message;
        assert!(field(AuthorizerInput { authorizer_type: Some("LAMBDA".into()), ..input() }).contains("authorizer_type"));
        assert!(field(AuthorizerInput { authorizer_uri: Some("urn:fss:cn-north-4:x:function:default:a".into()), ..input() }).contains("authorizer_uri"));
        assert!(field(AuthorizerInput { ttl: Some(3601), ..input() }).contains("ttl"));
        // A cached frontend authorizer needs identities.
        assert!(field(AuthorizerInput { ttl: Some(60), ..input() }).contains("identities"));
        let id = |name: &str, loc: &str, v: Option<&str>| IdentityInput { name: Some(name.into()), location: Some(loc.into()), validation: v.map(Into::into) };
        assert!(field(AuthorizerInput { identities: Some(vec![id("a", "COOKIE", None)]), ..input() }).contains("identities[0].location"));
        assert!(field(AuthorizerInput { identities: Some(vec![id("a", "HEADER", Some("(unclosed"))]), ..input() }).contains("identities[0].validation"));
        assert!(field(AuthorizerInput { identities: Some(vec![id("a", "HEADER", None), id("A", "HEADER", None)]), ..input() }).contains("identities[1].name"));
        let quota = AuthorizerInput { identities: Some(vec![id("a", "HEADER", None), id("b", "QUERY", None), id("c", "QUERY", None)]), ..input() };
        assert_eq!(quota.validate(2).unwrap_err().code, "APIG.3117");
        let other_function = AuthorizerInput { authorizer_alias_uri: Some("urn:fss:local:causeway:function:default:other:prod".into()), ..input() };
        assert!(field(other_function).contains("authorizer_alias_uri"));
    }

    #[test]
    fn backend_authorizers_may_cache_without_identities() {
        let s = AuthorizerInput { kind: Some("BACKEND".into()), ttl: Some(60), ..input() }.validate(5).unwrap();
        assert_eq!(s.ttl, 60);
    }
}
