//! Signature keys for backends: bound to published APIs so that the
//! requests the gateway sends to their backends carry a signature
//! (`hmac`: SDK-HMAC-SHA256) or Basic credentials (`basic`) the backend can verify.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, DISPLAY_NAME};

crate::wire_enum!(
    /// How a bound backend request is signed.
    SignType { Hmac => "hmac", Basic => "basic" }
);

/// A stored signature key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignKey {
    pub id: String,
    pub name: String,
    pub sign_type: SignType,
    pub sign_key: String,
    pub sign_secret: String,
    pub create_time: String,
    pub update_time: String,
}

crate::redacted_debug!(SignKey { id, name, sign_type, sign_key, create_time, update_time } secret { sign_secret });

/// Body of `POST`/`PUT /signs`.
#[derive(Default, Deserialize)]
pub struct SignKeyInput {
    pub name: Option<String>,
    pub sign_type: Option<String>,
    pub sign_key: Option<String>,
    pub sign_secret: Option<String>,
}

crate::redacted_debug!(SignKeyInput { name, sign_type, sign_key } secret { sign_secret });

#[derive(Clone, PartialEq, Eq)]
pub struct SignKeySpec {
    pub name: String,
    pub sign_type: SignType,
    /// Generated when absent.
    pub sign_key: Option<String>,
    pub sign_secret: Option<String>,
}

crate::redacted_debug!(SignKeySpec { name, sign_type, sign_key } secret { sign_secret });

fn check_chars(field: &str, v: &str, min: usize, max: usize, letter_first: bool, extra: &[char]) -> Result<()> {
    rules::check_len(field, v, min, max)?;
    let first_ok = v.chars().next().is_some_and(|c| if letter_first { c.is_ascii_alphabetic() } else { c.is_ascii_alphanumeric() });
    if first_ok && v.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(&c)) { Ok(()) } else { Err(ApiError::invalid(field)) }
}

const SECRET_CHARS: &[char] = &['_', '-', '!', '@', '#', '$', '%'];

impl SignKeyInput {
    pub fn validate(self) -> Result<SignKeySpec> {
        let name = rules::required_str("name", self.name)?;
        DISPLAY_NAME.check("name", &name)?;
        let sign_type = match rules::optional_str(self.sign_type) {
            None => SignType::Hmac,
            Some(t) => SignType::parse_field("sign_type", &t)?,
        };
        let sign_key = rules::optional_str(self.sign_key);
        let sign_secret = rules::optional_str(self.sign_secret);
        match sign_type {
            SignType::Hmac => {
                if let Some(k) = &sign_key {
                    check_chars("sign_key", k, 8, 32, false, &['_', '-'])?;
                }
                if let Some(s) = &sign_secret {
                    check_chars("sign_secret", s, 16, 64, false, SECRET_CHARS)?;
                }
            }
            SignType::Basic => {
                // A user name and a password.
                if let Some(k) = &sign_key {
                    check_chars("sign_key", k, 4, 32, true, &['_', '-'])?;
                }
                if let Some(s) = &sign_secret {
                    check_chars("sign_secret", s, 8, 64, false, SECRET_CHARS)?;
                }
            }
        }
        Ok(SignKeySpec { name, sign_type, sign_key, sign_secret })
    }
}

/// A signature key bound to a published API (its publication in one environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignBinding {
    pub id: String,
    pub sign_id: String,
    pub publish_id: String,
    pub api_id: String,
    pub env_id: String,
    pub binding_time: String,
}

/// Body of `POST /sign-bindings`.
#[derive(Debug, Default, Deserialize)]
pub struct SignBindingInput {
    pub sign_id: Option<String>,
    pub publish_ids: Option<Vec<String>>,
}

impl SignBindingInput {
    pub fn validate(self) -> Result<(String, Vec<String>)> {
        let sign_id = rules::required_str("sign_id", self.sign_id)?;
        let mut ids = rules::required("publish_ids", self.publish_ids)?;
        if ids.is_empty() {
            return Err(ApiError::required("publish_ids"));
        }
        if ids.len() > 1000 || ids.iter().any(|s| s.is_empty() || s.len() > 64) {
            return Err(ApiError::invalid("publish_ids"));
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|s| seen.insert(s.clone()));
        Ok((sign_id, ids))
    }
}

/// Random key material.
pub mod generate {
    /// An hmac key (32 hex digits) or a Basic user name (`u` + 15 hex digits).
    pub fn key(sign_type: super::SignType) -> String {
        let hex = uuid::Uuid::new_v4().simple().to_string();
        match sign_type {
            super::SignType::Hmac => hex,
            super::SignType::Basic => format!("u{}", &hex[..15]),
        }
    }

    /// 32 letters and digits.
    pub fn secret() -> String {
        crate::app::generate::app_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(t: Option<&str>, k: Option<&str>, s: Option<&str>) -> SignKeyInput {
        SignKeyInput { name: Some("backend_key".into()), sign_type: t.map(Into::into), sign_key: k.map(Into::into), sign_secret: s.map(Into::into) }
    }

    #[test]
    fn rules() {
        assert_eq!(input(None, None, None).validate().unwrap().sign_type, SignType::Hmac);
        assert!(input(Some("HMAC"), Some("key_0001"), Some("secret_000000001")).validate().is_ok());
        let field = |i: SignKeyInput| i.validate().unwrap_err().message;
        assert!(field(input(None, Some("short"), None)).contains("parameterName:sign_key"));
        assert!(field(input(None, None, Some("too_short"))).contains("parameterName:sign_secret"));
        assert!(field(input(Some("aes"), None, None)).contains("parameterName:sign_type"));
        assert!(input(Some("basic"), Some("user"), Some("password1")).validate().is_ok());
        assert!(field(input(Some("basic"), Some("1user"), None)).contains("parameterName:sign_key"));
        for t in [SignType::Hmac, SignType::Basic] {
            let spec = input(Some(t.as_str()), Some(&generate::key(t)), Some(&generate::secret())).validate();
            assert!(spec.is_ok(), "{t:?}");
        }
    }
}
