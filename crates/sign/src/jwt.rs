//! JWT issuers' keys: what verifies the tokens of an IAM issuer (HS256
//! secret, RS256 / ES256 PEM public key, or JWKs matched by `kid`).

use causeway_model::iam::{IamIssuer, JwtAlgorithm};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};

pub fn algorithm(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::Hs256 => Algorithm::HS256,
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Es256 => Algorithm::ES256,
    }
}

/// The decoding keys an issuer's settings describe, or why they are unusable.
/// `fetched` is the JWK set fetched from the issuer's `jwks_uri`, if it has one.
pub fn decoding_keys(i: &IamIssuer, fetched: Option<&serde_json::Value>) -> Result<Vec<(Option<String>, DecodingKey)>, String> {
    match i.algorithm {
        JwtAlgorithm::Hs256 => {
            let secret = i.secret.as_deref().ok_or("HS256 needs a secret")?;
            Ok(vec![(None, DecodingKey::from_secret(secret.as_bytes()))])
        }
        JwtAlgorithm::Rs256 | JwtAlgorithm::Es256 => {
            if let Some(pem) = &i.public_key {
                let key = match i.algorithm {
                    JwtAlgorithm::Rs256 => DecodingKey::from_rsa_pem(pem.as_bytes()),
                    _ => DecodingKey::from_ec_pem(pem.as_bytes()),
                };
                return key.map(|k| vec![(None, k)]).map_err(|e| format!("the public key is not a usable PEM key: {e}"));
            }
            let jwks = match (&i.jwks, &i.jwks_uri) {
                (Some(j), _) => j,
                (None, Some(uri)) => fetched.ok_or_else(|| format!("the JWK set at {uri} has not been fetched yet"))?,
                (None, None) => return Err("a public key or JWKs are needed".into()),
            };
            let list: Vec<Jwk> = if jwks.get("keys").is_some() {
                serde_json::from_value::<JwkSet>(jwks.clone()).map_err(|e| format!("jwks is not a JWK set: {e}"))?.keys
            } else {
                vec![serde_json::from_value::<Jwk>(jwks.clone()).map_err(|e| format!("jwks is not a JWK: {e}"))?]
            };
            list.iter()
                .map(|k| DecodingKey::from_jwk(k).map(|d| (k.common.key_id.clone(), d)).map_err(|e| format!("a JWK is not usable: {e}")))
                .collect()
        }
    }
}

