//! Publishing: an API version is an immutable copy of an API's definition
//! made when it is published to an environment; a publication says which
//! version is effective for an (API, environment) pair.

use serde::{Deserialize, Serialize};

use crate::api::Api;
use crate::error::{ApiError, Result};
use crate::rules;

/// How many versions are kept per (API, environment); older ones are dropped,
/// never the effective one.
pub const VERSIONS_KEPT: usize = 10;
/// Largest number of APIs in one batch publish or offline.
pub const MAX_BATCH: usize = 1000;

/// A published copy of an API definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiVersion {
    pub version_id: String,
    /// The publish time as `YYYYMMDDHHMMSS`, as the cloud gateways number versions.
    pub version_no: String,
    pub api_id: String,
    pub env_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub publish_time: String,
    /// The definition as it was when published.
    pub api: Api,
}

/// The effective version of an API in an environment. Its id (`publish_id`)
/// stays the same while the API remains online there, so that policies bound
/// to it survive a re-publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub publish_id: String,
    pub api_id: String,
    pub group_id: String,
    pub env_id: String,
    pub version_id: String,
    pub publish_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
}

/// Body of `POST /apis/publish/{api_id}`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct PublishInput {
    pub env_id: Option<String>,
    pub remark: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PublishSpec {
    pub env_id: String,
    pub remark: Option<String>,
}

impl PublishInput {
    pub fn validate(self) -> Result<PublishSpec> {
        let env_id = rules::required_str("env_id", self.env_id)?;
        let remark = rules::optional_str(self.remark);
        rules::check_text("remark", remark.as_deref(), 255)?;
        Ok(PublishSpec { env_id, remark })
    }
}

/// Body of V2's `POST /apis/action`: publish (`online`) or take offline one API.
#[derive(Debug, Default, Deserialize)]
pub struct ApiActionInput {
    pub action: Option<String>,
    pub env_id: Option<String>,
    pub api_id: Option<String>,
    pub remark: Option<String>,
}

/// What `POST /apis/action` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAction {
    Online { api_id: String, publish: PublishInput },
    Offline { api_id: String, env_id: String },
}

impl ApiActionInput {
    /// `action` (`online` or `offline`), `api_id` and `env_id` are required.
    pub fn validate(self) -> Result<ApiAction> {
        let action = rules::required_str("action", self.action)?;
        let api_id = rules::required_str("api_id", self.api_id)?;
        let env_id = rules::required_str("env_id", self.env_id)?;
        match action.to_ascii_lowercase().as_str() {
            "online" => Ok(ApiAction::Online { api_id, publish: PublishInput { env_id: Some(env_id), remark: self.remark } }),
            "offline" => Ok(ApiAction::Offline { api_id, env_id }),
            _ => Err(ApiError::invalid("action")),
        }
    }
}

/// Body of the batch `POST /apis/publish?action=online|offline`.
#[derive(Debug, Default, Deserialize)]
pub struct BatchPublishInput {
    pub apis: Option<Vec<String>>,
    /// V2: every API of this group, in place of `apis`.
    pub group_id: Option<String>,
    pub env_id: Option<String>,
    pub remark: Option<String>,
}

/// Body of `PUT /apis/publish/{api_id}` (switch the effective version).
#[derive(Debug, Default, Deserialize)]
pub struct SwitchVersionInput {
    pub version_id: Option<String>,
}

/// `2018-07-22T10:25:26.123Z` → `20180722102526`.
pub fn version_no(publish_time: &str) -> String {
    publish_time.chars().filter(char::is_ascii_digit).take(14).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_are_the_publish_time() {
        assert_eq!(version_no("2018-07-22T10:25:26.0239936Z"), "20180722102526");
    }

    #[test]
    fn publish_needs_an_environment() {
        let err = PublishInput::default().validate().unwrap_err();
        assert_eq!(err.code, "APIG.2001");
        assert!(err.message.contains("parameterName:env_id"));
        let long = PublishInput { env_id: Some("e".into()), remark: Some("r".repeat(256)) }.validate().unwrap_err();
        assert!(long.message.contains("parameterName:remark"));
    }
}
