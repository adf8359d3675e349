//! Apps: the callers' identities. An app holds an AK/SK pair (`app_key`,
//! `app_secret`) for signed calls and up to five AppCodes for simple
//! authentication.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, DISPLAY_NAME};

/// Most AppCodes one app holds.
pub const MAX_APP_CODES: usize = 5;

/// A stored app.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct App {
    pub id: String,
    pub name: String,
    /// 1: usable.
    pub status: i32,
    pub app_key: String,
    pub app_secret: String,
    /// `USER` (created here) or `MARKET`.
    pub creator: String,
    pub register_time: String,
    pub update_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub app_type: String,
}

crate::redacted_debug!(App { id, name, status, app_key, creator, register_time, update_time, remark, app_type } secret { app_secret });

/// Body of `POST`/`PUT /apps`.
#[derive(Default, Deserialize)]
pub struct AppInput {
    pub name: Option<String>,
    pub remark: Option<String>,
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
}

crate::redacted_debug!(AppInput { name, remark, app_key } secret { app_secret });

#[derive(Clone, PartialEq, Eq)]
pub struct AppSpec {
    pub name: String,
    pub remark: Option<String>,
    /// Generated when absent.
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
}

crate::redacted_debug!(AppSpec { name, remark, app_key } secret { app_secret });

/// `app_key`: 8–64 of letters, digits, `_`, `-`; starts with a letter or digit.
pub fn check_app_key(field: &str, v: &str) -> Result<()> {
    check_credential(field, v, 64, &['_', '-'])
}

/// `app_secret`: 8–64 of letters, digits and `_ - ! @ # $ %`; starts with a letter or digit.
pub fn check_app_secret(field: &str, v: &str) -> Result<()> {
    check_credential(field, v, 64, &['_', '-', '!', '@', '#', '$', '%'])
}

fn check_credential(field: &str, v: &str, max: usize, extra: &[char]) -> Result<()> {
    rules::check_len(field, v, 8, max)?;
    let starts_ok = v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if starts_ok && v.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(&c)) { Ok(()) } else { Err(ApiError::invalid(field)) }
}

impl AppInput {
    pub fn validate(self) -> Result<AppSpec> {
        let name = rules::required_str("name", self.name)?;
        DISPLAY_NAME.check("name", &name)?;
        let remark = rules::optional_str(self.remark);
        rules::check_text("remark", remark.as_deref(), 255)?;
        let app_key = rules::optional_str(self.app_key);
        if let Some(k) = &app_key {
            check_app_key("app_key", k)?;
        }
        let app_secret = rules::optional_str(self.app_secret);
        if let Some(s) = &app_secret {
            check_app_secret("app_secret", s)?;
        }
        Ok(AppSpec { name, remark, app_key, app_secret })
    }
}

/// Body of `PUT /apps/secret/{id}`: a given secret, or a generated one when absent.
#[derive(Default, Deserialize)]
pub struct SecretInput {
    pub app_secret: Option<String>,
}

crate::redacted_debug!(SecretInput { } secret { app_secret });

impl SecretInput {
    pub fn validate(self) -> Result<Option<String>> {
        let secret = rules::optional_str(self.app_secret);
        if let Some(s) = &secret {
            check_app_secret("app_secret", s)?;
        }
        Ok(secret)
    }
}

/// What `GET /apps/validation/{id}` tells someone who does not own the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppSummary {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// A stored AppCode.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppCode {
    pub id: String,
    pub app_code: String,
    pub app_id: String,
    pub create_time: String,
}

crate::redacted_debug!(AppCode { id, app_id, create_time } secret { app_code });

/// Body of `POST /apps/{app_id}/app-codes`.
#[derive(Default, Deserialize)]
pub struct AppCodeInput {
    pub app_code: Option<String>,
}

crate::redacted_debug!(AppCodeInput { } secret { app_code });

/// AppCodes: 64–180 of letters, digits and `+ _ ! @ # $ % / = -`; starts with a
/// letter, a digit, `+` or `/` (they look like base64).
pub fn check_app_code(field: &str, v: &str) -> Result<()> {
    rules::check_len(field, v, 64, 180)?;
    let starts_ok = v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/');
    let chars_ok = v.chars().all(|c| c.is_ascii_alphanumeric() || "+_!@#$%/=-".contains(c));
    if starts_ok && chars_ok { Ok(()) } else { Err(ApiError::invalid(field)) }
}

impl AppCodeInput {
    pub fn validate(self) -> Result<String> {
        let code = rules::required_str("app_code", self.app_code)?;
        check_app_code("app_code", &code)?;
        Ok(code)
    }
}

/// An app's authorization to call an API in an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppAuth {
    pub id: String,
    pub api_id: String,
    pub app_id: String,
    pub env_id: String,
    pub auth_time: String,
    /// `PROVIDER`: granted by the API's owner.
    pub auth_role: String,
}

/// Body of `POST /app-auths`.
#[derive(Debug, Default, Deserialize)]
pub struct AppAuthInput {
    pub api_ids: Option<Vec<String>>,
    pub app_ids: Option<Vec<String>>,
    pub env_id: Option<String>,
}

/// Most APIs or apps one `POST /app-auths` names.
pub const MAX_AUTH_BATCH: usize = 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppAuthSpec {
    pub api_ids: Vec<String>,
    pub app_ids: Vec<String>,
    pub env_id: String,
}

impl AppAuthInput {
    pub fn validate(self) -> Result<AppAuthSpec> {
        let list = |field: &str, v: Option<Vec<String>>| -> Result<Vec<String>> {
            let mut v = rules::required(field, v)?;
            if v.is_empty() {
                return Err(ApiError::required(field));
            }
            if v.len() > MAX_AUTH_BATCH || v.iter().any(|s| s.is_empty() || s.len() > 64) {
                return Err(ApiError::invalid(field));
            }
            // Naming the same id twice authorizes once.
            let mut seen = std::collections::HashSet::new();
            v.retain(|s| seen.insert(s.clone()));
            Ok(v)
        };
        let api_ids = list("api_ids", self.api_ids)?;
        let app_ids = list("app_ids", self.app_ids)?;
        let env_id = rules::required_str("env_id", self.env_id)?;
        Ok(AppAuthSpec { api_ids, app_ids, env_id })
    }
}

/// Random credentials from the operating system's generator.
pub mod generate {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    fn random_bytes(n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 16);
        while out.len() < n {
            out.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        }
        out.truncate(n);
        out
    }

    /// Characters drawn uniformly from `alphabet` (rejection sampling, no modulo bias).
    fn from_alphabet(alphabet: &[u8], n: usize) -> String {
        let limit = 256 - 256 % alphabet.len();
        let mut out = String::with_capacity(n);
        while out.len() < n {
            for b in random_bytes(n * 2) {
                if (b as usize) < limit && out.len() < n {
                    out.push(alphabet[b as usize % alphabet.len()] as char);
                }
            }
        }
        out
    }

    /// An app key: 32 hex digits, like the cloud gateway's.
    pub fn app_key() -> String {
        uuid::Uuid::new_v4().simple().to_string()
    }

    /// An app secret: 32 letters and digits (about 190 bits).
    pub fn app_secret() -> String {
        from_alphabet(ALNUM, 32)
    }

    /// An AppCode: 64 base64 characters (384 bits).
    pub fn app_code() -> String {
        from_alphabet(BASE64, 64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, key: Option<&str>, secret: Option<&str>) -> AppInput {
        AppInput { name: Some(name.into()), remark: None, app_key: key.map(Into::into), app_secret: secret.map(Into::into) }
    }

    #[test]
    fn app_rules() {
        assert!(input("app_1", None, None).validate().is_ok());
        assert!(input("应用一", Some("key-0123_abc"), Some("Secret!@#$%_-9")).validate().is_ok());
        let field = |i: AppInput| i.validate().unwrap_err().message;
        assert!(field(input("1app", None, None)).contains("parameterName:name"));
        assert!(field(input("app", Some("short"), None)).contains("parameterName:app_key"));
        assert!(field(input("app", Some("_key012345"), None)).contains("parameterName:app_key"));
        assert!(field(input("app", Some("key.0123456"), None)).contains("parameterName:app_key"));
        assert!(field(input("app", None, Some("secret^12345"))).contains("parameterName:app_secret"));
        assert!(field(input("app", None, Some(&"s".repeat(65)))).contains("parameterName:app_secret"));
        assert!(field(AppInput::default()).contains("parameterName:name"));
    }

    #[test]
    fn app_code_rules() {
        let ok = format!("+{}", "a".repeat(63));
        assert!(check_app_code("app_code", &ok).is_ok());
        assert!(check_app_code("app_code", &"A".repeat(180)).is_ok());
        assert!(check_app_code("app_code", &"A".repeat(63)).is_err());
        assert!(check_app_code("app_code", &"A".repeat(181)).is_err());
        assert!(check_app_code("app_code", &format!("={}", "a".repeat(63))).is_err());
        assert!(check_app_code("app_code", &format!("{}~", "a".repeat(63))).is_err());
    }

    #[test]
    fn generated_credentials_pass_their_own_rules() {
        for _ in 0..50 {
            assert!(check_app_key("app_key", &generate::app_key()).is_ok());
            assert!(check_app_secret("app_secret", &generate::app_secret()).is_ok());
            assert!(check_app_code("app_code", &generate::app_code()).is_ok());
        }
        assert_ne!(generate::app_secret(), generate::app_secret());
    }
}

#[cfg(test)]
mod debug_tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_secret() {
        let app = App {
            id: "a1".into(),
            name: "shop".into(),
            status: 1,
            app_key: "shop-key".into(),
            app_secret: "the-app-secret".into(),
            creator: "USER".into(),
            register_time: String::new(),
            update_time: String::new(),
            remark: None,
            app_type: "apig".into(),
        };
        let shown = format!("{app:?}");
        assert!(shown.contains("shop-key") && shown.contains("<redacted>") && !shown.contains("the-app-secret"), "{shown}");
        let code = AppCode { id: "c1".into(), app_code: "the-app-code".into(), app_id: "a1".into(), create_time: String::new() };
        assert!(!format!("{code:?}").contains("the-app-code"));
    }
}
