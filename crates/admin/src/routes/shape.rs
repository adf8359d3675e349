//! Answers as each family spells them, where the stored model is shared:
//! V2 and ROMA name an API backend's load-balance channel fields
//! `vpc_channel_status` and `vpc_channel_info {vpc_channel_id,
//! vpc_channel_proxy_host}` where v1.0 has `vpc_status` and `vpc_info
//! {vpc_id, vpc_proxy_host}`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::http::Family;

/// An API (or anything holding `backend_api` and `policy_https`) as `family` answers it.
pub fn api<T: Serialize>(view: T, family: Family) -> Value {
    let mut v = serde_json::to_value(view).unwrap_or_default();
    if family != Family::V1 {
        if let Some(backend) = v.get_mut("backend_api").and_then(Value::as_object_mut) {
            channel_fields(backend);
        }
        if let Some(policies) = v.get_mut("policy_https").and_then(Value::as_array_mut) {
            for p in policies.iter_mut().filter_map(Value::as_object_mut) {
                channel_fields(p);
            }
        }
    }
    v
}

/// V2's `api_group_info`: the group's common fields.
pub fn group_info(group: &crate::service::GroupView) -> Value {
    let g = &group.group;
    serde_json::json!({
        "id": g.id, "name": g.name, "status": g.status, "sl_domain": g.sl_domain, "register_time": g.register_time,
        "update_time": g.update_time, "on_sell_status": g.on_sell_status, "url_domains": g.url_domains,
        "sl_domain_access_enabled": group.sl_domain_access_enabled,
    })
}

/// What V2's API lists add to each item (`return_data_mode`, comma-separated):
/// `brief` (default) nothing, `include_group` the group, `include_group_backend` the group and the backend.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReturnMode {
    pub group: bool,
    pub backend: bool,
}

impl ReturnMode {
    pub fn parse(s: Option<&str>) -> Self {
        let mut m = ReturnMode::default();
        for part in s.unwrap_or_default().split(',').map(str::trim) {
            match part {
                "include_group" => m.group = true,
                "include_group_backend" => (m.group, m.backend) = (true, true),
                _ => {}
            }
        }
        m
    }
}

/// A V2 list item (`ApiInfoPerPage`): the detail without functions, mocks,
/// backend parameters and policies; the backend and group as `mode` asks.
pub fn list_item(v: &mut Value, mode: ReturnMode, group: Option<&crate::service::GroupView>) {
    let Some(m) = v.as_object_mut() else { return };
    for key in ["func_info", "mock_info", "backend_params", "policy_https", "policy_mocks", "policy_functions"] {
        m.remove(key);
    }
    if !mode.backend {
        m.remove("backend_api");
    }
    if mode.group
        && let Some(g) = group
    {
        m.insert("api_group_info".into(), group_info(g));
    }
}

fn rename(m: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = m.remove(from) {
        m.insert(to.to_string(), value);
    }
}

fn channel_fields(backend: &mut Map<String, Value>) {
    rename(backend, "vpc_status", "vpc_channel_status");
    rename(backend, "vpc_info", "vpc_channel_info");
    if let Some(info) = backend.get_mut("vpc_channel_info").and_then(Value::as_object_mut) {
        rename(info, "vpc_id", "vpc_channel_id");
        rename(info, "vpc_proxy_host", "vpc_channel_proxy_host");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_spells_the_channel_fields_its_way() {
        let v1 = serde_json::json!({"backend_api": {"vpc_status": 1, "vpc_info": {"vpc_id": "c1", "vpc_proxy_host": "h"}}, "policy_https": [{"vpc_status": 2}]});
        assert_eq!(api(&v1, Family::V1), v1);
        let v2 = api(&v1, Family::V2);
        assert_eq!(v2["backend_api"], serde_json::json!({"vpc_channel_status": 1, "vpc_channel_info": {"vpc_channel_id": "c1", "vpc_channel_proxy_host": "h"}}));
        assert_eq!(v2["policy_https"][0], serde_json::json!({"vpc_channel_status": 2}));
    }
}
