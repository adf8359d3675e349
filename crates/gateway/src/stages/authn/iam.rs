//! Frontend authentication of IAM APIs: a JWT bearer token from a configured issuer. The
//! token's unverified `iss` picks the issuer; its keys, algorithm, audiences
//! and the token's `exp` / `nbf` then decide. The subject is the caller.

use base64::Engine as _;
use causeway_model::iam::IamIssuer;
use causeway_sign::jwt;
use jsonwebtoken::{DecodingKey, Validation};
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::http::error::{GatewayError, ResponseType};

/// Clock skew allowed on `exp` and `nbf`, in seconds.
const LEEWAY_SECS: u64 = 60;
/// Longest token read.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

struct Verifier {
    validation: Validation,
    /// Keys with their `kid` (when known); a token's `kid` picks among them.
    keys: Vec<(Option<String>, DecodingKey)>,
}

/// The configured issuers, by `iss`.
#[derive(Default)]
pub struct Issuers {
    by_iss: FxHashMap<Box<str>, Verifier>,
    /// Cookies that may carry a token.
    cookies: Vec<Box<str>>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuers").field("issuers", &self.by_iss.len()).finish()
    }
}

impl Issuers {
    /// Issuers whose keys do not load are left out (and logged): the management API refuses them.
    /// `fetched`: the JWK sets fetched from the issuers' `jwks_uri`s, by URL.
    pub fn build<'a>(issuers: impl Iterator<Item = &'a IamIssuer>, fetched: &std::collections::HashMap<String, serde_json::Value>) -> Self {
        let mut out = Self::default();
        for i in issuers {
            let keys = match jwt::decoding_keys(i, i.jwks_uri.as_ref().and_then(|u| fetched.get(u))) {
                Ok(k) => k,
                Err(e) => {
                    tracing::error!(issuer = %i.issuer, error = %e, "IAM issuer left out");
                    continue;
                }
            };
            let mut validation = Validation::new(jwt::algorithm(i.algorithm));
            validation.set_issuer(&[&i.issuer]);
            validation.leeway = LEEWAY_SECS;
            validation.validate_nbf = true;
            if i.audiences.is_empty() {
                validation.validate_aud = false;
            } else {
                validation.set_audience(&i.audiences);
            }
            out.by_iss.insert(i.issuer.as_str().into(), Verifier { validation, keys });
            if let Some(c) = &i.token_cookie {
                out.cookies.push(c.as_str().into());
            }
        }
        out
    }
}

fn failure(message: String) -> GatewayError {
    GatewayError { kind: ResponseType::AuthFailure, status: 401, code: "APIG.0301", message: message.into() }
}

/// The token a request carries: `Authorization: Bearer`, `X-Auth-Token`, or an issuer's cookie.
fn token<'r>(headers: &'r http::HeaderMap, issuers: &Issuers) -> Option<&'r str> {
    if let Some(v) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.get(..7).filter(|p| p.eq_ignore_ascii_case("bearer ")).map(|_| v[7..].trim())
    {
        return Some(t);
    }
    if let Some(t) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim());
    }
    let cookies = headers.get_all(http::header::COOKIE).iter().filter_map(|v| v.to_str().ok());
    for header in cookies {
        for pair in header.split(';') {
            if let Some((k, v)) = pair.trim().split_once('=')
                && issuers.cookies.iter().any(|c| **c == *k)
            {
                return Some(v.trim_matches('"'));
            }
        }
    }
    None
}

#[derive(Deserialize)]
struct Unverified {
    iss: Option<String>,
}

#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
}

/// The verified subject (`sub`, empty when the token has none).
pub fn authenticate(issuers: &Issuers, headers: &http::HeaderMap) -> Result<String, GatewayError> {
    let Some(token) = token(headers, issuers) else {
        return Err(GatewayError {
            kind: ResponseType::AuthHeaderMissing,
            status: 401,
            code: "APIG.0301",
            message: "Incorrect IAM authentication information: no bearer token".into(),
        });
    };
    if token.len() > MAX_TOKEN_BYTES {
        return Err(failure("Incorrect IAM authentication information: the token is too long".into()));
    }
    // Which issuer: the payload's `iss`, read before any check, only to pick the keys.
    let payload = token.split('.').nth(1).ok_or_else(|| failure("Incorrect IAM authentication information: not a JWT".into()))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|_| failure("Incorrect IAM authentication information: not a JWT".into()))?;
    let iss = serde_json::from_slice::<Unverified>(&bytes).ok().and_then(|u| u.iss).unwrap_or_default();
    let verifier = issuers.by_iss.get(iss.as_str()).ok_or_else(|| failure(format!("Incorrect IAM authentication information: unknown issuer {iss:?}")))?;
    let header = jsonwebtoken::decode_header(token).map_err(|e| failure(format!("Incorrect IAM authentication information: {e}")))?;
    let candidates = verifier.keys.iter().filter(|(kid, _)| match (&header.kid, kid) {
        (Some(want), Some(have)) => want == have,
        _ => true,
    });
    let mut last = None;
    for (_, key) in candidates {
        match jsonwebtoken::decode::<Claims>(token, key, &verifier.validation) {
            Ok(data) => return Ok(data.claims.sub.unwrap_or_default()),
            Err(e) => last = Some(e),
        }
    }
    Err(failure(match last {
        Some(e) => format!("Incorrect IAM authentication information: {e}"),
        None => "Incorrect IAM authentication information: no key of the issuer matches the token's kid".into(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::iam::JwtAlgorithm;
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    use serde_json::json;

    fn issuer(audiences: Vec<String>) -> IamIssuer {
        IamIssuer {
            id: "i".into(),
            name: "idp".into(),
            issuer: "https://idp.example".into(),
            audiences,
            algorithm: JwtAlgorithm::Hs256,
            secret: Some("a-shared-secret-of-16+".into()),
            public_key: None,
            jwks: None,
            jwks_uri: None,
            jwks_refresh_secs: 300,
            token_cookie: Some("session".into()),
            create_time: String::new(),
            update_time: String::new(),
        }
    }

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    }

    fn hs256(claims: serde_json::Value, secret: &str) -> String {
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
    }

    fn with(name: &str, value: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::HeaderName::from_bytes(name.as_bytes()).unwrap(), value.parse().unwrap());
        h
    }

    #[test]
    fn hs256_tokens() {
        let issuers = Issuers::build([issuer(vec!["orders".into()])].iter(), &Default::default());
        let good = hs256(json!({"iss": "https://idp.example", "sub": "alice", "aud": "orders", "exp": now() + 300}), "a-shared-secret-of-16+");
        assert_eq!(authenticate(&issuers, &with("authorization", &format!("Bearer {good}"))).unwrap(), "alice");
        assert_eq!(authenticate(&issuers, &with("x-auth-token", &good)).unwrap(), "alice");
        assert_eq!(authenticate(&issuers, &with("cookie", &format!("a=1; session={good}"))).unwrap(), "alice");
        let reasons = [
            (hs256(json!({"iss": "https://idp.example", "sub": "a", "aud": "orders", "exp": now() - 600}), "a-shared-secret-of-16+"), "Expired"),
            (hs256(json!({"iss": "https://idp.example", "sub": "a", "aud": "orders", "exp": now() + 300}), "another-secret-xxxxxx"), "InvalidSignature"),
            (hs256(json!({"iss": "https://idp.example", "sub": "a", "aud": "billing", "exp": now() + 300}), "a-shared-secret-of-16+"), "InvalidAudience"),
            (hs256(json!({"iss": "https://other", "sub": "a", "exp": now() + 300}), "a-shared-secret-of-16+"), "unknown issuer"),
            (hs256(json!({"iss": "https://idp.example", "sub": "a", "aud": "orders", "exp": now() + 300, "nbf": now() + 600}), "a-shared-secret-of-16+"), "ImmatureSignature"),
            ("not.a.jwt".to_string(), "not a JWT"),
        ];
        for (token, why) in reasons {
            let e = authenticate(&issuers, &with("authorization", &format!("Bearer {token}"))).unwrap_err();
            assert_eq!((e.status, e.code), (401, "APIG.0301"));
            assert!(e.message.contains(why), "{why}: {}", e.message);
        }
        let missing = authenticate(&issuers, &http::HeaderMap::new()).unwrap_err();
        assert_eq!(missing.kind, ResponseType::AuthHeaderMissing);
    }
}
