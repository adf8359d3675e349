//! Load-balance channels (§1.8, "VPC channels" on the cloud gateways): a
//! named set of backend servers (members) with a balancing strategy and an
//! optional active health check. HTTP backends use one with `vpc_status` = 1
//! and `vpc_info.vpc_id`. Members live inside their channel's document, so a
//! change to them is one write.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::api::uri;
use crate::error::{ApiError, Result, codes};
use crate::rules::{self, NameRule};

/// 3–64 letters, digits, `-`, `_` and `.`, starting with a letter.
pub const CHANNEL_NAME: NameRule = NameRule { min: 3, max: 64, cjk: false, digit_first: false, extra: &['_', '-', '.'] };

/// Most members one channel has.
pub const MAX_MEMBERS: usize = 200;

/// The built-in load-balancing channel type (the only one).
pub const BUILTIN: i32 = 2;

crate::wire_enum!(
    /// What an active health check speaks to a member.
    HealthProtocol { Tcp => "TCP", Http => "HTTP", Https => "HTTPS" }
);

/// `balance_strategy`: 1 weighted round-robin, 2 weighted least connections,
/// 3 source-address hash, 4 URI hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i32", try_from = "i32")]
pub enum Strategy {
    RoundRobin,
    LeastConnections,
    SourceHash,
    UriHash,
}

impl From<Strategy> for i32 {
    fn from(s: Strategy) -> i32 {
        match s {
            Strategy::RoundRobin => 1,
            Strategy::LeastConnections => 2,
            Strategy::SourceHash => 3,
            Strategy::UriHash => 4,
        }
    }
}

impl TryFrom<i32> for Strategy {
    type Error = String;
    fn try_from(v: i32) -> std::result::Result<Self, String> {
        match v {
            1 => Ok(Strategy::RoundRobin),
            2 => Ok(Strategy::LeastConnections),
            3 => Ok(Strategy::SourceHash),
            4 => Ok(Strategy::UriHash),
            other => Err(format!("unknown balance_strategy {other}")),
        }
    }
}

/// The active health check of a channel's members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthConfig {
    pub protocol: HealthProtocol,
    /// For HTTP(S): the path asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// For HTTP(S): `GET` or `HEAD`.
    pub method: String,
    /// The port checked; `None`: the member's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Consecutive successes that make an unhealthy member healthy.
    pub threshold_normal: u32,
    /// Consecutive failures that make a healthy member unhealthy.
    pub threshold_abnormal: u32,
    /// Seconds a check may take.
    pub time_out: u32,
    /// Seconds between checks.
    pub time_interval: u32,
    /// For HTTP(S): the answers that count as healthy, e.g. `200`, `200-299`, `201,202,210-299`.
    pub http_code: String,
    /// 1 checks run, 2 checks off (members are then only ejected passively).
    pub status: i32,
}

impl HealthConfig {
    /// Whether `code` is one of the healthy answers.
    pub fn accepts(&self, code: u16) -> bool {
        http_codes(&self.http_code).is_some_and(|ranges| ranges.iter().any(|(a, b)| (*a..=*b).contains(&code)))
    }
}

/// `200`, `200-299`, `201,202,210-299` → ranges; `None` if malformed.
fn http_codes(s: &str) -> Option<Vec<(u16, u16)>> {
    s.split(',')
        .map(|part| {
            let part = part.trim();
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            ((100..=599).contains(&a) && (100..=599).contains(&b) && a <= b).then_some((a, b))
        })
        .collect()
}

/// One backend server of a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    /// An IP address or a host name.
    pub host: String,
    /// The port; `None`: the channel's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// 1–100: the share of requests relative to the other members.
    pub weight: u32,
    /// Used only when no other member is healthy.
    pub is_backup: bool,
    /// 1 in service, 2 taken out of service by the owner.
    pub status: i32,
    /// A label of the owner's (the cloud gateways' server instance id and name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
    /// The member group it is in (V2), by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_group_id: Option<String>,
    pub create_time: String,
}

/// A named group of a channel's members (V2 "member groups"): its weight,
/// when set, is the weight of every member in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberGroup {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// 0–100; `None`: members keep their own weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    pub create_time: String,
    pub update_time: String,
}

/// Member group names: 3–64 letters, digits, `_`, `-`, `.`, starting with a letter (Chinese allowed).
pub const MEMBER_GROUP_NAME: NameRule = NameRule { min: 3, max: 64, cjk: true, digit_first: false, extra: &['_', '-', '.'] };

/// Most member groups one channel has.
pub const MAX_MEMBER_GROUPS: usize = 50;

impl Member {
    /// `host:port` as the member is reached (IPv6 in brackets).
    pub fn address(&self, channel_port: u16) -> String {
        let port = self.port.unwrap_or(channel_port);
        if self.host.contains(':') { format!("[{}]:{port}", self.host) } else { format!("{}:{port}", self.host) }
    }
}

/// A stored channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: i32,
    /// `ip` (members are addresses) or `instance` (members carry an instance id and name too).
    pub member_type: String,
    pub port: u16,
    pub balance_strategy: Strategy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_health_config: Option<HealthConfig>,
    pub members: Vec<Member>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_groups: Vec<MemberGroup>,
    pub create_time: String,
}

impl Channel {
    /// The weight a member gets requests by: its group's, when the group has
    /// one (0 takes no new requests), else its own.
    pub fn effective_weight(&self, m: &Member) -> u32 {
        m.member_group_id
            .as_deref()
            .and_then(|g| self.member_groups.iter().find(|group| group.id == g))
            .and_then(|g| g.weight)
            .unwrap_or(m.weight)
    }

    pub fn member_group(&self, id: &str) -> Option<&MemberGroup> {
        self.member_groups.iter().find(|g| g.id == id)
    }
}

/// Body of `POST /vpc-channels/{id}/members` and one entry of a channel's
/// `vpc_instances` (v1.0) or `members` (V2).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct MemberInput {
    pub host: Option<String>,
    pub port: Option<i64>,
    pub weight: Option<i64>,
    pub is_backup: Option<bool>,
    pub status: Option<i64>,
    pub instance_id: Option<String>,
    pub instance_name: Option<String>,
    /// V2 names of the same labels.
    pub ecs_id: Option<String>,
    pub ecs_name: Option<String>,
    /// V2: the member group (by name) to put it in.
    pub member_group_name: Option<String>,
}

/// One member group of a body (`member_groups` of a channel, or of `POST .../member-groups`).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct MemberGroupInput {
    pub member_group_name: Option<String>,
    pub member_group_remark: Option<String>,
    pub member_group_weight: Option<i64>,
    /// Taken and not used (as on the cloud gateways).
    pub dict_code: Option<String>,
    pub microservice_version: Option<String>,
    pub microservice_port: Option<i64>,
}

/// A checked member group, without id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberGroupSpec {
    pub name: String,
    pub remark: Option<String>,
    pub weight: Option<u32>,
}

impl MemberGroupInput {
    pub fn validate(self, f: &str) -> Result<MemberGroupSpec> {
        let field = |name: &str| if f.is_empty() { name.to_string() } else { format!("{f}.{name}") };
        let name = rules::required_str(&field("member_group_name"), self.member_group_name)?;
        MEMBER_GROUP_NAME.check(&field("member_group_name"), &name)?;
        let remark = rules::optional_str(self.member_group_remark);
        rules::check_text(&field("member_group_remark"), remark.as_deref(), 255)?;
        let weight = self.member_group_weight.map(|w| rules::int_range(&field("member_group_weight"), w, 0, 100)).transpose()?.map(|w| w as u32);
        if self.microservice_version.as_deref().is_some_and(|v| !v.is_empty()) || self.microservice_port.is_some_and(|p| p != 0) {
            let mut e = ApiError::invalid(&field("microservice_version"));
            e.message = format!("Invalid parameter value,parameterName:{}. Microservice channels are not supported", field("microservice_version"));
            return Err(e);
        }
        Ok(MemberGroupSpec { name, remark, weight })
    }
}

/// Checks a list of member groups: each valid; the first of a name wins.
pub fn validate_member_groups(f: &str, list: Vec<MemberGroupInput>) -> Result<Vec<MemberGroupSpec>> {
    if list.len() > MAX_MEMBER_GROUPS {
        let mut e = ApiError::invalid(f);
        e.message = format!("Invalid parameter value,parameterName:{f}. A channel has at most {MAX_MEMBER_GROUPS} member groups");
        return Err(e);
    }
    let mut out: Vec<MemberGroupSpec> = Vec::with_capacity(list.len());
    for (i, g) in list.into_iter().enumerate() {
        let spec = g.validate(&format!("{f}[{i}]"))?;
        if !out.iter().any(|o| o.name == spec.name) {
            out.push(spec);
        }
    }
    Ok(out)
}

/// Body of `PUT /vpc-channels/{id}/health-config` and a channel's `vpc_health_config`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct HealthInput {
    pub protocol: Option<String>,
    pub path: Option<String>,
    pub method: Option<String>,
    pub port: Option<i64>,
    pub threshold_normal: Option<i64>,
    pub threshold_abnormal: Option<i64>,
    pub time_out: Option<i64>,
    /// V2 name of `time_out`.
    pub timeout: Option<i64>,
    pub time_interval: Option<i64>,
    pub http_code: Option<String>,
    pub enable_client_ssl: Option<bool>,
    pub status: Option<i64>,
}

/// Body of `POST /vpc-channels` and `PUT /vpc-channels/{id}`.
#[derive(Debug, Default, Deserialize)]
pub struct ChannelInput {
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<i64>,
    pub member_type: Option<String>,
    pub port: Option<i64>,
    pub balance_strategy: Option<i64>,
    pub vpc_health_config: Option<HealthInput>,
    /// v1.0 name of the members.
    pub vpc_instances: Option<Vec<MemberInput>>,
    pub members: Option<Vec<MemberInput>>,
    /// V2: the channel's member groups.
    pub member_groups: Option<Vec<MemberGroupInput>>,
    /// Taken and not used (as on the cloud gateways).
    pub dict_code: Option<String>,
}

/// A checked channel, without id and times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: String,
    pub member_type: String,
    pub port: u16,
    pub balance_strategy: Strategy,
    pub vpc_health_config: Option<HealthConfig>,
    /// `None` when the body named no members (an update keeps the old ones).
    pub members: Option<Vec<MemberSpec>>,
    /// `None` when the body named no member groups (an update keeps the old ones).
    pub member_groups: Option<Vec<MemberGroupSpec>>,
}

/// A checked member, without id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSpec {
    pub host: String,
    pub port: Option<u16>,
    pub weight: u32,
    pub is_backup: bool,
    pub status: i32,
    pub instance_id: Option<String>,
    pub instance_name: Option<String>,
    pub member_group_name: Option<String>,
}

impl MemberSpec {
    /// Members are told apart by where they are.
    pub fn same_place(&self, m: &Member) -> bool {
        self.host.eq_ignore_ascii_case(&m.host) && self.port == m.port
    }

    /// `member_group_id`: the id, in `ch`, of the group the member names.
    pub fn into_member(self, id: String, create_time: String, member_group_id: Option<String>) -> Member {
        Member {
            id,
            host: self.host,
            port: self.port,
            weight: self.weight,
            is_backup: self.is_backup,
            status: self.status,
            instance_id: self.instance_id,
            instance_name: self.instance_name,
            member_group_id,
            create_time,
        }
    }
}

fn port(field: &str, v: i64) -> Result<u16> {
    if (1..=65535).contains(&v) { Ok(v as u16) } else { Err(ApiError::field(codes::INVALID_PORT, field)) }
}

impl MemberInput {
    pub fn validate(self, f: &str, member_type: &str) -> Result<MemberSpec> {
        let field = |name: &str| format!("{f}.{name}");
        let host = rules::required_str(&field("host"), self.host.map(|h| h.trim().to_string()))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if host.len() > 64 || !(bare.parse::<IpAddr>().is_ok() || uri::is_hostname(bare)) {
            return Err(ApiError::field(codes::INVALID_URL_DOMAIN, &field("host")));
        }
        let port = self.port.map(|p| port(&field("port"), p)).transpose()?;
        let weight = rules::int_range(&field("weight"), self.weight.unwrap_or(1), 1, 100)? as u32;
        let status = rules::flag(&field("status"), self.status, 1)?;
        let instance_id = rules::optional_str(self.instance_id.or(self.ecs_id));
        let instance_name = rules::optional_str(self.instance_name.or(self.ecs_name));
        rules::check_text(&field("instance_id"), instance_id.as_deref(), 64)?;
        rules::check_text(&field("instance_name"), instance_name.as_deref(), 64)?;
        if member_type == "instance" && instance_id.is_none() {
            return Err(ApiError::required(&field("instance_id")));
        }
        let member_group_name = rules::optional_str(self.member_group_name);
        Ok(MemberSpec { host: bare.to_string(), port, weight, is_backup: self.is_backup.unwrap_or(false), status, instance_id, instance_name, member_group_name })
    }
}

impl HealthInput {
    pub fn validate(self, f: &str) -> Result<HealthConfig> {
        let field = |name: &str| format!("{f}.{name}");
        let protocol = HealthProtocol::parse_field(&field("protocol"), &rules::required_str(&field("protocol"), self.protocol)?)?;
        let path = rules::optional_str(self.path);
        if protocol != HealthProtocol::Tcp {
            let p = path.as_deref().ok_or_else(|| ApiError::required(&field("path")))?;
            if !p.starts_with('/') || p.len() > 512 || p.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(ApiError::invalid(&field("path")));
            }
        }
        let method = rules::optional_str(self.method).unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
        if method != "GET" && method != "HEAD" {
            return Err(ApiError::invalid(&field("method")));
        }
        let port = self.port.filter(|p| *p != 0).map(|p| port(&field("port"), p)).transpose()?;
        let threshold_normal = rules::int_range(&field("threshold_normal"), self.threshold_normal.unwrap_or(2), 2, 10)? as u32;
        let threshold_abnormal = rules::int_range(&field("threshold_abnormal"), self.threshold_abnormal.unwrap_or(5), 2, 10)? as u32;
        let time_interval = rules::int_range(&field("time_interval"), self.time_interval.unwrap_or(10), 5, 300)? as u32;
        let timeout_field = if self.time_out.is_some() { "time_out" } else { "timeout" };
        let time_out = rules::int_range(&field(timeout_field), self.time_out.or(self.timeout).unwrap_or(5), 2, 30)? as u32;
        if time_out >= time_interval {
            let mut e = ApiError::invalid(&field(timeout_field));
            e.message = format!("Invalid parameter value,parameterName:{}. The check's timeout must be shorter than its interval", field(timeout_field));
            return Err(e);
        }
        let http_code = rules::optional_str(self.http_code).unwrap_or_else(|| "200".into());
        if protocol != HealthProtocol::Tcp && http_codes(&http_code).is_none() {
            return Err(ApiError::invalid(&field("http_code")));
        }
        if self.enable_client_ssl == Some(true) {
            let mut e = ApiError::invalid(&field("enable_client_ssl"));
            e.message = format!("Invalid parameter value,parameterName:{}. Client certificates for health checks are not supported", field("enable_client_ssl"));
            return Err(e);
        }
        let status = rules::flag(&field("status"), self.status, 1)?;
        Ok(HealthConfig { protocol, path, method, port, threshold_normal, threshold_abnormal, time_out, time_interval, http_code, status })
    }
}

/// Checks a list of members: each valid, no two at the same place.
pub fn validate_members(f: &str, list: Vec<MemberInput>, member_type: &str) -> Result<Vec<MemberSpec>> {
    if list.len() > MAX_MEMBERS {
        let mut e = ApiError::invalid(f);
        e.message = format!("Invalid parameter value,parameterName:{f}. A channel has at most {MAX_MEMBERS} members");
        return Err(e);
    }
    let mut out: Vec<MemberSpec> = Vec::with_capacity(list.len());
    for (i, m) in list.into_iter().enumerate() {
        let spec = m.validate(&format!("{f}[{i}]"), member_type)?;
        // As on the cloud gateways: the first definition of an address wins.
        if !out.iter().any(|o| o.host.eq_ignore_ascii_case(&spec.host) && o.port == spec.port) {
            out.push(spec);
        }
    }
    Ok(out)
}

impl ChannelInput {
    pub fn validate(self) -> Result<ChannelSpec> {
        let name = rules::required_str("name", self.name)?;
        CHANNEL_NAME.check("name", &name)?;
        if let Some(k) = self.kind
            && k != i64::from(BUILTIN)
        {
            let mut e = ApiError::invalid("type");
            e.message = "Invalid parameter value,parameterName:type. Only type 2 (load-balance channel) is supported".into();
            return Err(e);
        }
        let member_type = rules::optional_str(self.member_type).unwrap_or_else(|| "ip".into()).to_ascii_lowercase();
        let member_type = match member_type.as_str() {
            "ip" | "instance" => member_type,
            "ecs" => "instance".into(),
            _ => return Err(ApiError::invalid("member_type")),
        };
        let port = port("port", rules::required("port", self.port)?)?;
        let balance_strategy = Strategy::try_from(rules::int_range("balance_strategy", self.balance_strategy.unwrap_or(1), 1, 4)? as i32)
            .map_err(|_| ApiError::invalid("balance_strategy"))?;
        let vpc_health_config = self.vpc_health_config.map(|h| h.validate("vpc_health_config")).transpose()?;
        let members = match (self.members, self.vpc_instances) {
            (Some(m), _) => Some(validate_members("members", m, &member_type)?),
            (None, Some(m)) => Some(validate_members("vpc_instances", m, &member_type)?),
            (None, None) => None,
        };
        let member_groups = self.member_groups.map(|g| validate_member_groups("member_groups", g)).transpose()?;
        Ok(ChannelSpec { name, member_type, port, balance_strategy, vpc_health_config, members, member_groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn channel(body: serde_json::Value) -> Result<ChannelSpec> {
        serde_json::from_value::<ChannelInput>(body).unwrap().validate()
    }

    #[test]
    fn a_channel_with_members_and_a_health_check() {
        let s = channel(json!({
            "name": "shop-backends", "type": 2, "port": 8080, "balance_strategy": 2,
            "vpc_health_config": {"protocol": "http", "path": "/health", "http_code": "200-299,304", "time_interval": 10, "time_out": 3},
            "vpc_instances": [{"host": "10.0.0.1", "weight": 3}, {"host": "backend.internal", "port": 9000, "is_backup": true}, {"host": "10.0.0.1", "weight": 9}, {"host": "[::1]"}]
        }))
        .unwrap();
        assert_eq!(s.balance_strategy, Strategy::LeastConnections);
        let members = s.members.unwrap();
        assert_eq!(members.len(), 3, "the first definition of an address wins");
        assert_eq!((members[0].weight, members[1].port, members[1].is_backup, members[1].weight), (3, Some(9000), true, 1));
        assert_eq!(members[2].host, "::1");
        let h = s.vpc_health_config.unwrap();
        assert_eq!((h.threshold_normal, h.threshold_abnormal, h.method.as_str()), (2, 5, "GET"));
        assert!(h.accepts(204) && h.accepts(304) && !h.accepts(500) && !h.accepts(303));
    }

    #[test]
    fn bad_values_name_their_field() {
        let base = json!({"name": "chan_one", "port": 80});
        let cases = [
            (json!({"name": "1abc"}), "name"),
            (json!({"port": 0}), "port"),
            (json!({"type": 3}), "type"),
            (json!({"balance_strategy": 5}), "balance_strategy"),
            (json!({"member_type": "pod"}), "member_type"),
            (json!({"members": [{"host": "a b"}]}), "members[0].host"),
            (json!({"members": [{"host": "10.0.0.1", "weight": 0}]}), "members[0].weight"),
            (json!({"vpc_instances": [{"host": "10.0.0.1", "weight": 101}]}), "vpc_instances[0].weight"),
            (json!({"members": [{"host": "10.0.0.1", "port": 70000}]}), "members[0].port"),
            (json!({"member_type": "instance", "members": [{"host": "10.0.0.1"}]}), "members[0].instance_id"),
            (json!({"vpc_health_config": {"protocol": "HTTP"}}), "vpc_health_config.path"),
            (json!({"vpc_health_config": {"protocol": "UDP"}}), "vpc_health_config.protocol"),
            (json!({"vpc_health_config": {"protocol": "TCP", "time_interval": 4}}), "vpc_health_config.time_interval"),
            (json!({"vpc_health_config": {"protocol": "TCP", "time_interval": 5, "time_out": 5}}), "vpc_health_config.time_out"),
            (json!({"vpc_health_config": {"protocol": "TCP", "threshold_normal": 11}}), "vpc_health_config.threshold_normal"),
            (json!({"vpc_health_config": {"protocol": "HTTP", "path": "/h", "http_code": "299-200"}}), "vpc_health_config.http_code"),
        ];
        for (patch, field) in cases {
            let mut body = base.clone();
            for (k, v) in patch.as_object().unwrap() {
                body[k] = v.clone();
            }
            let e = channel(body.clone()).unwrap_err();
            assert!(e.message.contains(&format!("parameterName:{field}")), "{body}: {e}");
        }
    }
}
