//! Request throttling (§1.9): how many calls an API takes per time window —
//! in all, per user, per app and per client address — bound to published
//! APIs, at most one policy per publication.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, DISPLAY_NAME};

crate::wire_enum!(
    /// The unit of `time_interval`.
    TimeUnit { Second => "SECOND", Minute => "MINUTE", Hour => "HOUR", Day => "DAY" }
);

impl TimeUnit {
    pub fn seconds(self) -> u64 {
        match self {
            TimeUnit::Second => 1,
            TimeUnit::Minute => 60,
            TimeUnit::Hour => 3600,
            TimeUnit::Day => 86_400,
        }
    }
}

/// Largest limit or interval (the vendors' 2147483647).
pub const MAX_LIMIT: i64 = i32::MAX as i64;
/// `type`: each bound API counts on its own.
pub const EXCLUSIVE: i32 = 1;
/// `type`: all bound APIs count together.
pub const SHARED: i32 = 2;

/// A stored throttling policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throttle {
    pub id: String,
    pub name: String,
    pub api_call_limits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_call_limits: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_call_limits: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_call_limits: Option<u32>,
    pub time_interval: u32,
    pub time_unit: TimeUnit,
    #[serde(rename = "type")]
    pub kind: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Not supported by the vendors either; always `FALSE`.
    pub enable_adaptive_control: String,
    pub create_time: String,
}

impl Throttle {
    /// The window every limit counts in.
    pub fn window_seconds(&self) -> u64 {
        u64::from(self.time_interval).saturating_mul(self.time_unit.seconds())
    }
}

/// Body of `POST /throttles` and `PUT /throttles/{id}`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ThrottleInput {
    pub name: Option<String>,
    pub api_call_limits: Option<i64>,
    pub user_call_limits: Option<i64>,
    pub app_call_limits: Option<i64>,
    pub ip_call_limits: Option<i64>,
    pub time_interval: Option<i64>,
    pub time_unit: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub remark: Option<String>,
    pub enable_adaptive_control: Option<String>,
}

/// A checked policy, without id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSpec {
    pub name: String,
    pub api_call_limits: u32,
    pub user_call_limits: Option<u32>,
    pub app_call_limits: Option<u32>,
    pub ip_call_limits: Option<u32>,
    pub time_interval: u32,
    pub time_unit: TimeUnit,
    pub kind: i32,
    pub remark: Option<String>,
}

fn limit(field: &str, v: i64) -> Result<u32> {
    Ok(rules::int_range(field, v, 1, MAX_LIMIT)? as u32)
}

fn above(field: &str, what: &str) -> ApiError {
    let mut e = ApiError::invalid(field);
    e.message = format!("Invalid parameter value,parameterName:{field}. It cannot be above {what}");
    e
}

impl ThrottleInput {
    pub fn validate(self) -> Result<ThrottleSpec> {
        let name = rules::required_str("name", self.name)?;
        DISPLAY_NAME.check("name", &name)?;
        let api_call_limits = limit("api_call_limits", rules::required("api_call_limits", self.api_call_limits)?)?;
        let user_call_limits = self.user_call_limits.map(|v| limit("user_call_limits", v)).transpose()?;
        let app_call_limits = self.app_call_limits.map(|v| limit("app_call_limits", v)).transpose()?;
        let ip_call_limits = self.ip_call_limits.map(|v| limit("ip_call_limits", v)).transpose()?;
        let time_interval = limit("time_interval", rules::required("time_interval", self.time_interval)?)?;
        let time_unit = TimeUnit::parse_field("time_unit", &rules::required_str("time_unit", self.time_unit)?)?;
        let kind = match self.kind {
            None => EXCLUSIVE,
            Some(k) if k == i64::from(EXCLUSIVE) || k == i64::from(SHARED) => k as i32,
            Some(_) => return Err(ApiError::invalid("type")),
        };
        let remark = rules::optional_str(self.remark);
        rules::check_text("remark", remark.as_deref(), 255)?;
        if let Some(a) = rules::optional_str(self.enable_adaptive_control)
            && !a.eq_ignore_ascii_case("FALSE")
        {
            return Err(ApiError::invalid("enable_adaptive_control"));
        }
        // The nesting rules: user ≤ api, app ≤ user (or api), ip ≤ api.
        if user_call_limits.is_some_and(|u| u > api_call_limits) {
            return Err(above("user_call_limits", "api_call_limits"));
        }
        if let Some(a) = app_call_limits {
            match user_call_limits {
                Some(u) if a > u => return Err(above("app_call_limits", "user_call_limits")),
                None if a > api_call_limits => return Err(above("app_call_limits", "api_call_limits")),
                _ => {}
            }
        }
        if ip_call_limits.is_some_and(|i| i > api_call_limits) {
            return Err(above("ip_call_limits", "api_call_limits"));
        }
        Ok(ThrottleSpec { name, api_call_limits, user_call_limits, app_call_limits, ip_call_limits, time_interval, time_unit, kind, remark })
    }
}

/// A policy bound to one publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleBinding {
    pub id: String,
    pub strategy_id: String,
    pub publish_id: String,
    pub api_id: String,
    pub env_id: String,
    /// 1: the whole API (the only scope the vendors offer).
    pub scope: i32,
    pub apply_time: String,
}

/// Body of `POST /throttle-bindings`.
#[derive(Debug, Default, Deserialize)]
pub struct ThrottleBindingInput {
    pub strategy_id: Option<String>,
    pub publish_ids: Option<Vec<String>>,
}

impl ThrottleBindingInput {
    pub fn validate(self) -> Result<(String, Vec<String>)> {
        let id = rules::required_str("strategy_id", self.strategy_id)?;
        rules::check_ref_id("strategy_id", Some(&id))?;
        let publish_ids = self.publish_ids.filter(|p| !p.is_empty()).ok_or_else(|| ApiError::required("publish_ids"))?;
        for (i, p) in publish_ids.iter().enumerate() {
            rules::check_ref_id(&format!("publish_ids[{i}]"), Some(p))?;
        }
        Ok((id, publish_ids))
    }
}

crate::wire_enum!(
    /// Who a special limit is for.
    SpecialType { App => "APP", User => "USER" }
);

/// A special limit: one app's or user's own number of calls per window under a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThrottleSpecial {
    pub id: String,
    pub strategy_id: String,
    pub instance_id: String,
    /// The app's name (APP); the user id (USER).
    pub instance_name: String,
    pub instance_type: SpecialType,
    pub call_limits: u32,
    pub apply_time: String,
}

/// Body of `POST /throttle-specials` (and of `PUT`, where only `call_limits` counts).
#[derive(Debug, Default, Deserialize)]
pub struct ThrottleSpecialInput {
    pub strategy_id: Option<String>,
    pub instance_id: Option<String>,
    pub instance_type: Option<String>,
    pub call_limits: Option<i64>,
}

impl ThrottleSpecialInput {
    /// `(strategy_id, instance_id, instance_type, call_limits)`.
    pub fn validate(self) -> Result<(String, String, SpecialType, u32)> {
        let strategy_id = rules::required_str("strategy_id", self.strategy_id)?;
        rules::check_ref_id("strategy_id", Some(&strategy_id))?;
        let instance_type = SpecialType::parse_field("instance_type", &rules::required_str("instance_type", self.instance_type)?)?;
        let instance_id = rules::required_str("instance_id", self.instance_id)?;
        rules::check_len("instance_id", &instance_id, 1, 128)?;
        rules::check_printable("instance_id", &instance_id)?;
        let call_limits = limit("call_limits", rules::required("call_limits", self.call_limits)?)?;
        Ok((strategy_id, instance_id, instance_type, call_limits))
    }

    /// A `PUT`: the new `call_limits`.
    pub fn limits(self) -> Result<u32> {
        limit("call_limits", rules::required("call_limits", self.call_limits)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ThrottleInput {
        ThrottleInput {
            name: Some("per_second".into()),
            api_call_limits: Some(100),
            time_interval: Some(1),
            time_unit: Some("second".into()),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_windows() {
        let s = input().validate().unwrap();
        assert_eq!((s.kind, s.time_unit), (EXCLUSIVE, TimeUnit::Second));
        let t = ThrottleInput { time_interval: Some(5), time_unit: Some("MINUTE".into()), ..input() }.validate().unwrap();
        assert_eq!(u64::from(t.time_interval) * t.time_unit.seconds(), 300);
    }

    #[test]
    fn nesting_and_ranges_name_their_field() {
        let field = |i: ThrottleInput| i.validate().unwrap_err().message;
        assert!(field(ThrottleInput { user_call_limits: Some(101), ..input() }).contains("user_call_limits"));
        assert!(field(ThrottleInput { user_call_limits: Some(50), app_call_limits: Some(60), ..input() }).contains("app_call_limits"));
        assert!(field(ThrottleInput { app_call_limits: Some(101), ..input() }).contains("app_call_limits"));
        assert!(field(ThrottleInput { ip_call_limits: Some(101), ..input() }).contains("ip_call_limits"));
        assert!(field(ThrottleInput { api_call_limits: Some(0), ..input() }).contains("api_call_limits"));
        assert!(field(ThrottleInput { api_call_limits: Some(MAX_LIMIT + 1), ..input() }).contains("api_call_limits"));
        assert!(field(ThrottleInput { time_unit: Some("WEEK".into()), ..input() }).contains("time_unit"));
        assert!(field(ThrottleInput { kind: Some(3), ..input() }).contains("type"));
        assert!(field(ThrottleInput { api_call_limits: None, ..input() }).contains("api_call_limits"));
        let ok = ThrottleInput { user_call_limits: Some(50), app_call_limits: Some(50), ip_call_limits: Some(100), kind: Some(2), ..input() };
        assert!(ok.validate().is_ok());
    }
}
