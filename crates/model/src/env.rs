//! Environments (stages) and their variables.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rules::{self, PLAIN_NAME, VARIABLE_NAME};

/// The built-in production environment, present in every installation.
pub const RELEASE_ENV_ID: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
pub const RELEASE_ENV_NAME: &str = "RELEASE";

/// A stored environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Env {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub create_time: String,
}

/// Body of `POST`/`PUT /envs`.
#[derive(Debug, Default, Deserialize)]
pub struct EnvInput {
    pub name: Option<String>,
    pub remark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvSpec {
    pub name: String,
    pub remark: Option<String>,
}

impl EnvInput {
    pub fn validate(self) -> Result<EnvSpec> {
        let name = rules::required_str("name", self.name)?;
        PLAIN_NAME.check("name", &name)?;
        let remark = rules::optional_str(self.remark);
        rules::check_text("remark", remark.as_deref(), 255)?;
        Ok(EnvSpec { name, remark })
    }
}

/// A stored environment variable, referenced as `#variable_name#` in backend addresses and paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVariable {
    pub id: String,
    pub group_id: String,
    pub env_id: String,
    pub variable_name: String,
    pub variable_value: String,
}

/// Body of `POST /env-variables`.
#[derive(Debug, Default, Deserialize)]
pub struct EnvVariableInput {
    pub group_id: Option<String>,
    pub env_id: Option<String>,
    pub variable_name: Option<String>,
    pub variable_value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVariableSpec {
    pub group_id: String,
    pub env_id: String,
    pub variable_name: String,
    pub variable_value: String,
}

/// Variable values: 1–255 of letters, digits and `_ - / . :`.
pub fn check_variable_value(field: &str, v: &str) -> Result<()> {
    rules::check_len(field, v, 1, 255)?;
    if v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | ':')) {
        Ok(())
    } else {
        Err(crate::error::ApiError::invalid(field))
    }
}

impl EnvVariableInput {
    pub fn validate(self) -> Result<EnvVariableSpec> {
        let group_id = rules::required_str("group_id", self.group_id)?;
        let env_id = rules::required_str("env_id", self.env_id)?;
        let variable_name = rules::required_str("variable_name", self.variable_name)?;
        VARIABLE_NAME.check("variable_name", &variable_name)?;
        let variable_value = rules::required_str("variable_value", self.variable_value)?;
        check_variable_value("variable_value", &variable_value)?;
        Ok(EnvVariableSpec { group_id, env_id, variable_name, variable_value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_rules() {
        let ok = EnvVariableInput {
            group_id: Some("g".into()),
            env_id: Some("e".into()),
            variable_name: Some("address".into()),
            variable_value: Some("192.168.1.5:8080".into()),
        };
        assert!(ok.validate().is_ok());
        let bad_value = EnvVariableInput {
            group_id: Some("g".into()),
            env_id: Some("e".into()),
            variable_name: Some("address".into()),
            variable_value: Some("a b".into()),
        };
        assert!(bad_value.validate().unwrap_err().message.contains("parameterName:variable_value"));
        let missing = EnvVariableInput { group_id: Some("g".into()), ..Default::default() };
        assert!(missing.validate().unwrap_err().message.contains("parameterName:env_id"));
    }

    #[test]
    fn env_rules() {
        assert!(EnvInput { name: Some("DEVELOP".into()), remark: None }.validate().is_ok());
        assert!(EnvInput { name: Some("dev-1".into()), remark: None }.validate().is_err());
    }
}
