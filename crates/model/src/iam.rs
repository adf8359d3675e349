//! IAM authentication, self-hosted: APIs with `auth_type` IAM accept a JWT
//! bearer token from one of the configured issuers. An issuer names its
//! `iss`, the audiences it accepts, and how its signatures are checked: a
//! shared secret (HS256) or public keys (RS256 / ES256) as PEM or JWKs.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, DISPLAY_NAME};

crate::wire_enum!(
    /// Signature algorithm of an issuer's tokens.
    JwtAlgorithm { Hs256 => "HS256", Rs256 => "RS256", Es256 => "ES256" }
);

/// Most audiences one issuer lists.
pub const MAX_AUDIENCES: usize = 20;

/// A stored token issuer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamIssuer {
    pub id: String,
    pub name: String,
    /// The `iss` claim of its tokens.
    pub issuer: String,
    /// Accepted `aud` values; empty: `aud` is not checked.
    #[serde(default)]
    pub audiences: Vec<String>,
    pub algorithm: JwtAlgorithm,
    /// HS256: the shared secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// RS256 / ES256: a PEM public key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// RS256 / ES256: a JWK or a JWK set (`{"keys": [...]}`), matched by `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// RS256 / ES256: where the issuer publishes its JWK set; fetched in the
    /// background every `jwks_refresh_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    #[serde(default = "default_refresh")]
    pub jwks_refresh_secs: u32,
    /// A cookie that may carry the token (Tencent's OAuth 2.0 mode), besides
    /// `Authorization: Bearer` and `X-Auth-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_cookie: Option<String>,
    pub create_time: String,
    pub update_time: String,
}

crate::redacted_debug!(IamIssuer { id, name, issuer, audiences, algorithm, public_key, jwks, jwks_uri, jwks_refresh_secs, token_cookie, create_time, update_time } secret { secret });

/// Body of `POST`/`PUT /iam-issuers`.
#[derive(Default, Deserialize)]
pub struct IamIssuerInput {
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub audiences: Option<Vec<String>>,
    pub algorithm: Option<String>,
    pub secret: Option<String>,
    pub public_key: Option<String>,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub jwks_refresh_secs: Option<u32>,
    pub token_cookie: Option<String>,
}

crate::redacted_debug!(IamIssuerInput { name, issuer, audiences, algorithm, public_key, jwks, jwks_uri, jwks_refresh_secs, token_cookie } secret { secret });

/// How often a JWKS URL is fetched again, by default.
pub const DEFAULT_JWKS_REFRESH_SECS: u32 = 300;

fn default_refresh() -> u32 {
    DEFAULT_JWKS_REFRESH_SECS
}

#[derive(Clone, PartialEq, Eq)]
pub struct IamIssuerSpec {
    pub name: String,
    pub issuer: String,
    pub audiences: Vec<String>,
    pub algorithm: JwtAlgorithm,
    pub secret: Option<String>,
    pub public_key: Option<String>,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub jwks_refresh_secs: u32,
    pub token_cookie: Option<String>,
}

crate::redacted_debug!(IamIssuerSpec { name, issuer, audiences, algorithm, public_key, jwks, jwks_uri, jwks_refresh_secs, token_cookie } secret { secret });

impl IamIssuerInput {
    /// Checks the fields; whether the key material parses is checked by the
    /// caller that holds the JWT library (see `check_keys`).
    pub fn validate(self) -> Result<IamIssuerSpec> {
        let name = rules::required_str("name", self.name)?;
        DISPLAY_NAME.check("name", &name)?;
        let issuer = rules::required_str("issuer", self.issuer)?;
        rules::check_len("issuer", &issuer, 1, 255)?;
        let audiences = self.audiences.unwrap_or_default();
        if audiences.len() > MAX_AUDIENCES || audiences.iter().any(|a| a.is_empty() || rules::char_len(a) > 255) {
            return Err(ApiError::invalid("audiences"));
        }
        let algorithm = JwtAlgorithm::parse_field("algorithm", &rules::required_str("algorithm", self.algorithm)?)?;
        let secret = rules::optional_str(self.secret);
        let public_key = rules::optional_str(self.public_key);
        let jwks = self.jwks.filter(|v| !v.is_null());
        let jwks_uri = rules::optional_str(self.jwks_uri);
        if let Some(u) = &jwks_uri {
            rules::check_len("jwks_uri", u, 1, 1024)?;
            let ok = (u.starts_with("http://") || u.starts_with("https://")) && !u.contains(char::is_whitespace);
            if !ok {
                return Err(ApiError::invalid("jwks_uri"));
            }
        }
        let jwks_refresh_secs = self.jwks_refresh_secs.unwrap_or(DEFAULT_JWKS_REFRESH_SECS);
        if !(1..=86_400).contains(&jwks_refresh_secs) {
            return Err(ApiError::invalid("jwks_refresh_secs"));
        }
        match algorithm {
            JwtAlgorithm::Hs256 => {
                let s = rules::required("secret", secret.as_ref())?;
                rules::check_len("secret", s, 16, 512)?;
                if public_key.is_some() {
                    return Err(ApiError::invalid("public_key"));
                }
                if jwks.is_some() {
                    return Err(ApiError::invalid("jwks"));
                }
                if jwks_uri.is_some() {
                    return Err(ApiError::invalid("jwks_uri"));
                }
            }
            JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
                if secret.is_some() {
                    return Err(ApiError::invalid("secret"));
                }
                match (&public_key, &jwks, &jwks_uri) {
                    (None, None, None) => return Err(ApiError::required("public_key")),
                    (Some(k), None, None) => rules::check_len("public_key", k, 1, 16 * 1024)?,
                    (None, Some(j), None) => {
                        if !j.is_object() || j.to_string().len() > 64 * 1024 {
                            return Err(ApiError::invalid("jwks"));
                        }
                    }
                    (None, None, Some(_)) => {}
                    // One source of keys only.
                    (_, _, Some(_)) => return Err(ApiError::invalid("jwks_uri")),
                    _ => return Err(ApiError::invalid("jwks")),
                }
            }
        }
        let token_cookie = rules::optional_str(self.token_cookie);
        if let Some(c) = &token_cookie {
            rules::check_len("token_cookie", c, 1, 64)?;
            if !c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
                return Err(ApiError::invalid("token_cookie"));
            }
        }
        Ok(IamIssuerSpec { name, issuer, audiences, algorithm, secret, public_key, jwks, jwks_uri, jwks_refresh_secs, token_cookie })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: serde_json::Value) -> IamIssuerInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn rules() {
        assert!(input(json!({"name": "idp_one", "issuer": "https://idp", "algorithm": "hs256", "secret": "0123456789abcdef"})).validate().is_ok());
        assert!(input(json!({"name": "idp_one", "issuer": "https://idp", "algorithm": "RS256", "jwks": {"keys": []}})).validate().is_ok());
        let field = |v| input(v).validate().unwrap_err().message;
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "HS256"})).contains("parameterName:secret"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "HS256", "secret": "short"})).contains("parameterName:secret"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "RS256"})).contains("parameterName:public_key"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "RS256", "secret": "0123456789abcdef"})).contains("parameterName:secret"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "PS256"})).contains("parameterName:algorithm"));
        assert!(field(json!({"name": "idp_one", "algorithm": "HS256"})).contains("parameterName:issuer"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "ES256", "jwks": [1]})).contains("parameterName:jwks"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "HS256", "secret": "0123456789abcdef", "token_cookie": "a b"})).contains("parameterName:token_cookie"));
        assert!(field(json!({"name": "idp_one", "issuer": "i", "algorithm": "HS256", "secret": "0123456789abcdef", "audiences": [""]})).contains("parameterName:audiences"));
    }
}
