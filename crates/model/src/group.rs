//! API groups: the unit that owns a subdomain, APIs and environment variables.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, DISPLAY_NAME};
use crate::throttle::{MAX_LIMIT, TimeUnit};

/// Name of the group that exists from the start and receives requests for unknown hosts.
pub const DEFAULT_GROUP_NAME: &str = "DEFAULT";

/// A stored API group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub status: i32,
    pub sl_domain: String,
    pub sl_domains: Vec<String>,
    pub register_time: String,
    pub update_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub on_sell_status: i32,
    pub url_domains: Vec<serde_json::Value>,
    /// 1 for the `DEFAULT` group, 2 otherwise.
    pub is_default: i32,
    /// A cap on all the group's APIs together: calls per `time_interval` × `time_unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_limits: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_unit: Option<TimeUnit>,
}

impl Group {
    pub fn is_default(&self) -> bool {
        self.is_default == 1
    }
}

/// Body of `POST`/`PUT /api-groups`.
#[derive(Debug, Default, Deserialize)]
pub struct GroupInput {
    pub name: Option<String>,
    pub remark: Option<String>,
    pub call_limits: Option<i64>,
    pub time_interval: Option<i64>,
    pub time_unit: Option<String>,
    /// V2: `V1` (a global group, the only kind Causeway has) or `V2` (an app-level group, refused).
    pub version: Option<String>,
    /// Set by the family the body came in by, not by the body.
    #[serde(skip)]
    pub dialect: rules::Dialect,
}

/// Validated group fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    pub remark: Option<String>,
    /// The group-wide limit: calls, interval, unit.
    pub limit: Option<(u32, u32, TimeUnit)>,
}

impl GroupInput {
    pub fn validate(self) -> Result<GroupSpec> {
        let name = rules::required_str("name", self.name)?;
        self.dialect.name_rule(DISPLAY_NAME).check("name", &name)?;
        let remark = rules::optional_str(self.remark);
        self.dialect.check_remark("remark", remark.as_deref())?;
        if rules::optional_str(self.version).is_some_and(|v| !v.eq_ignore_ascii_case("V1")) {
            return Err(ApiError::field_because(crate::error::codes::INVALID_VALUE, "version", "only global (V1) groups are supported"));
        }
        // All three, or none.
        let limit = match (self.call_limits, self.time_interval, rules::optional_str(self.time_unit)) {
            (None, None, None) => None,
            (calls, interval, unit) => {
                let calls = rules::int_range("call_limits", rules::required("call_limits", calls)?, 1, MAX_LIMIT)? as u32;
                let interval = rules::int_range("time_interval", rules::required("time_interval", interval)?, 1, MAX_LIMIT)? as u32;
                let unit = TimeUnit::parse_field("time_unit", &rules::required("time_unit", unit)?)?;
                Some((calls, interval, unit))
            }
        };
        Ok(GroupSpec { name, remark, limit })
    }
}

/// The subdomain a group is served at.
pub fn sl_domain(group_id: &str, base_domain: &str) -> String {
    format!("{group_id}.{base_domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_rules() {
        let ok = GroupInput { name: Some("group_01".into()), ..Default::default() }.validate().unwrap();
        assert_eq!(ok.name, "group_01");
        assert_eq!(GroupInput::default().validate().unwrap_err().code, "APIG.2001");
        let bad = GroupInput { name: Some("1group".into()), ..Default::default() }.validate().unwrap_err();
        assert!(bad.message.contains("parameterName:name"));
        let long = GroupInput { name: Some("grp".into()), remark: Some("x".repeat(256)), ..Default::default() }.validate().unwrap_err();
        assert!(long.message.contains("parameterName:remark"));
        // V2's and ROMA's wider names and remarks.
        let wide = GroupInput { name: Some("2024 orders-api.v2/(east):west".replace(' ', "_")), remark: Some("r".repeat(1000)), dialect: rules::Dialect::Wide, ..Default::default() };
        assert!(wide.validate().is_ok());
        let v1 = GroupInput { name: Some("orders-api.v2".into()), ..Default::default() };
        assert!(v1.validate().unwrap_err().message.contains("parameterName:name."));
        let too_long = GroupInput { name: Some("g".repeat(256)), dialect: rules::Dialect::Wide, ..Default::default() };
        assert!(too_long.validate().is_err());
        let limited = GroupInput { name: Some("grp".into()), call_limits: Some(100), time_interval: Some(1), time_unit: Some("minute".into()), ..Default::default() };
        assert_eq!(limited.validate().unwrap().limit, Some((100, 1, TimeUnit::Minute)));
        let half = GroupInput { name: Some("grp".into()), call_limits: Some(100), ..Default::default() }.validate().unwrap_err();
        assert!(half.message.contains("parameterName:time_interval"), "{half}");
    }
}
