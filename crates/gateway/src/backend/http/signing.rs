//! Backend signatures, for APIs bound to a signature key: the backend request carries
//! an `SDK-HMAC-SHA256` signature made with the key (so the backend can check
//! it came through the gateway), or Basic credentials.

use std::sync::Arc;

use base64::Engine as _;
use causeway_model::sign_key::{SignBinding, SignKey, SignType};
use causeway_sign::sdk::{self, Key};
use http::{HeaderValue, Request};
use rustc_hash::FxHashMap;

use crate::http::error::{GatewayError, ResponseType};

pub enum BackendSigner {
    Hmac { key: Box<str>, secret: Box<str> },
    /// The whole `Authorization` value, encoded once.
    Basic(HeaderValue),
}

/// Never prints the secret or the credentials.
impl std::fmt::Debug for BackendSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Hmac { key, .. } => f.debug_struct("Hmac").field("key", key).finish_non_exhaustive(),
            Self::Basic(_) => f.write_str("Basic(..)"),
        }
    }
}

/// Signers by publication id.
#[derive(Debug, Default)]
pub struct BackendSigners(FxHashMap<Box<str>, Arc<BackendSigner>>);

impl BackendSigners {
    pub fn build<'a>(keys: impl Iterator<Item = &'a SignKey>, bindings: impl Iterator<Item = &'a SignBinding>) -> Self {
        let signers: FxHashMap<&str, Arc<BackendSigner>> = keys
            .filter_map(|k| {
                let signer = match k.sign_type {
                    SignType::Hmac => BackendSigner::Hmac { key: k.sign_key.as_str().into(), secret: k.sign_secret.as_str().into() },
                    SignType::Basic => {
                        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", k.sign_key, k.sign_secret));
                        BackendSigner::Basic(HeaderValue::from_str(&format!("Basic {token}")).ok()?)
                    }
                };
                Some((k.id.as_str(), Arc::new(signer)))
            })
            .collect();
        Self(bindings.filter_map(|b| Some((b.publish_id.as_str().into(), signers.get(b.sign_id.as_str())?.clone()))).collect())
    }

    pub fn get(&self, publish_id: &str) -> Option<&BackendSigner> {
        if self.0.is_empty() {
            return None;
        }
        self.0.get(publish_id).map(|s| &**s)
    }
}

fn failed() -> GatewayError {
    GatewayError { kind: ResponseType::Default5xx, status: 500, code: "APIG.0705", message: "Backend signature calculation failed".into() }
}

/// Signs `req` in place. `body` is the body when it was read whole; a
/// streamed body is declared `UNSIGNED-PAYLOAD` (signed as such).
pub fn sign<B>(signer: &BackendSigner, req: &mut Request<B>, body: Option<&[u8]>, now: i64) -> Result<(), GatewayError> {
    match signer {
        BackendSigner::Basic(value) => {
            req.headers_mut().insert(http::header::AUTHORIZATION, value.clone());
            Ok(())
        }
        BackendSigner::Hmac { key, secret } => {
            let date = causeway_sign::format_sdk_date(now);
            let host = req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default().to_string();
            let payload_hash = match body {
                Some(b) => sdk::sha256_hex(b),
                None => "UNSIGNED-PAYLOAD".to_string(),
            };
            let mut signed: Vec<(String, String)> = vec![("host".into(), host), (sdk::DATE_HEADER.into(), date.clone())];
            if body.is_none() {
                signed.push((sdk::CONTENT_SHA256_HEADER.into(), payload_hash.clone()));
            }
            let path = req.uri().path().to_string();
            let query = req.uri().query().unwrap_or_default().to_string();
            let s = sdk::sign(Key { access: key, secret }, req.method().as_str(), &path, &query, &signed, &payload_hash, now);
            let headers = req.headers_mut();
            headers.insert(http::header::HeaderName::from_static(sdk::DATE_HEADER), HeaderValue::from_str(&date).map_err(|_| failed())?);
            if body.is_none() {
                headers.insert(http::header::HeaderName::from_static(sdk::CONTENT_SHA256_HEADER), HeaderValue::from_static("UNSIGNED-PAYLOAD"));
            }
            headers.insert(http::header::AUTHORIZATION, HeaderValue::from_str(&s.authorization).map_err(|_| failed())?);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_sign::sdk::{Authorization, Request as Signed};

    fn key(t: SignType) -> SignKey {
        SignKey { id: "k".into(), name: "n".into(), sign_type: t, sign_key: "user_key".into(), sign_secret: "secret_0123456789".into(), create_time: String::new(), update_time: String::new() }
    }

    fn binding() -> SignBinding {
        SignBinding { id: "b".into(), sign_id: "k".into(), publish_id: "p".into(), api_id: "a".into(), env_id: "e".into(), binding_time: String::new() }
    }

    #[test]
    fn hmac_signatures_verify_with_the_key() {
        let signers = BackendSigners::build([key(SignType::Hmac)].iter(), [binding()].iter());
        assert!(signers.get("other").is_none());
        for body in [Some(&b"payload"[..]), None] {
            let mut req = Request::builder().method("POST").uri("/orders/1?b=2&a=1").header("host", "backend:8080").body(()).unwrap();
            sign(signers.get("p").unwrap(), &mut req, body, 1_700_000_000).unwrap();
            let auth = req.headers()["authorization"].to_str().unwrap().to_string();
            let date = req.headers()["x-sdk-date"].to_str().unwrap().to_string();
            let parsed = Authorization::parse(&auth).unwrap();
            assert_eq!(parsed.access, "user_key");
            let hash = sdk::payload_hash(req.headers(), body.unwrap_or_default());
            let signed = Signed { method: "POST", path: "/orders/1", query: "b=2&a=1", headers: req.headers(), payload_hash: &hash };
            assert_eq!(sdk::verify("secret_0123456789", &date, &signed, &parsed), Ok(()), "{body:?}");
        }
    }

    #[test]
    fn basic_credentials() {
        let signers = BackendSigners::build([key(SignType::Basic)].iter(), [binding()].iter());
        let mut req = Request::builder().uri("/").body(()).unwrap();
        sign(signers.get("p").unwrap(), &mut req, None, 0).unwrap();
        // base64("user_key:secret_0123456789")
        assert_eq!(req.headers()["authorization"], "Basic dXNlcl9rZXk6c2VjcmV0XzAxMjM0NTY3ODk=");
    }
}
