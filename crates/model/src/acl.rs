//! Access control (§1.10): PERMIT (allow list) and DENY (block list)
//! policies of client addresses, bound to published APIs — at most one of
//! each type per publication.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result, codes};
use crate::ip::IpRule;
use crate::rules::{self, DISPLAY_NAME};

crate::wire_enum!(
    /// Allow list or block list.
    AclType { Permit => "PERMIT", Deny => "DENY" }
);
crate::wire_enum!(
    /// What the values are: client addresses, or (on the cloud gateways) account names.
    AclEntity { Ip => "IP", Domain => "DOMAIN" }
);

/// Most entries one policy lists (the vendors' 100).
pub const MAX_ACL_ENTRIES: usize = 100;

/// A stored access-control policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    pub id: String,
    pub acl_name: String,
    pub acl_type: AclType,
    pub entity_type: AclEntity,
    /// Comma-separated: addresses, CIDR blocks and ranges `a-b`, IPv4 or IPv6.
    pub acl_value: String,
    pub create_time: String,
    pub update_time: String,
}

/// Body of `POST /acls` and `PUT /acls/{id}`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AclInput {
    pub acl_name: Option<String>,
    pub acl_type: Option<String>,
    pub entity_type: Option<String>,
    pub acl_value: Option<String>,
}

/// A checked policy: name, type, entity, values (normalised: trimmed, joined by `,`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclSpec {
    pub acl_name: String,
    pub acl_type: AclType,
    pub entity_type: AclEntity,
    pub acl_value: String,
}

impl AclInput {
    pub fn validate(self) -> Result<AclSpec> {
        let acl_name = rules::required_str("acl_name", self.acl_name)?;
        DISPLAY_NAME.check("acl_name", &acl_name)?;
        let acl_type = AclType::parse_field("acl_type", &rules::required_str("acl_type", self.acl_type)?)?;
        let entity_type = AclEntity::parse_field("entity_type", &rules::required_str("entity_type", self.entity_type)?)?;
        if entity_type == AclEntity::Domain {
            let mut e = ApiError::invalid("entity_type");
            e.message = "Invalid parameter value,parameterName:entity_type. Causeway has no cloud accounts: DOMAIN lists are not supported; use IP".into();
            return Err(e);
        }
        let value = rules::required_str("acl_value", self.acl_value)?;
        let entries: Vec<&str> = value.split(',').map(str::trim).collect();
        if entries.len() > MAX_ACL_ENTRIES {
            return Err(ApiError::invalid("acl_value"));
        }
        if entries.iter().any(|e| e.is_empty() || IpRule::parse(e).is_none()) {
            return Err(ApiError::field(codes::INVALID_IP, "acl_value"));
        }
        Ok(AclSpec { acl_name, acl_type, entity_type, acl_value: entries.join(",") })
    }
}

/// A policy bound to one publication (an API in an environment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclBinding {
    pub id: String,
    pub acl_id: String,
    pub publish_id: String,
    pub api_id: String,
    pub env_id: String,
    pub create_time: String,
}

/// Body of `POST /acl-bindings`.
#[derive(Debug, Default, Deserialize)]
pub struct AclBindingInput {
    pub acl_id: Option<String>,
    pub publish_ids: Option<Vec<String>>,
}

impl AclBindingInput {
    pub fn validate(self) -> Result<(String, Vec<String>)> {
        let acl_id = rules::required_str("acl_id", self.acl_id)?;
        rules::check_ref_id("acl_id", Some(&acl_id))?;
        let publish_ids = self.publish_ids.filter(|p| !p.is_empty()).ok_or_else(|| ApiError::required("publish_ids"))?;
        for (i, p) in publish_ids.iter().enumerate() {
            rules::check_ref_id(&format!("publish_ids[{i}]"), Some(p))?;
        }
        Ok((acl_id, publish_ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(value: &str) -> AclInput {
        AclInput { acl_name: Some("office".into()), acl_type: Some("permit".into()), entity_type: Some("IP".into()), acl_value: Some(value.into()) }
    }

    #[test]
    fn every_value_form_is_accepted_and_normalised() {
        let s = input("192.168.1.5, 192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32,::1,fe80::1-fe80::9").validate().unwrap();
        assert_eq!(s.acl_type, AclType::Permit);
        assert_eq!(s.acl_value, "192.168.1.5,192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32,::1,fe80::1-fe80::9");
    }

    #[test]
    fn bad_values_name_their_field() {
        for bad in ["10.0.0.256", "10.0.0.0/33", "10.0.0.9-10.0.0.1", "10.0.0.1-::1", "a.b.c.d", "10.0.0.1,,10.0.0.2", ""] {
            let e = input(bad).validate().unwrap_err();
            assert!(e.message.contains("acl_value"), "{bad}: {e}");
        }
        let many = (0..101).map(|i| format!("10.0.0.{}", i % 250)).collect::<Vec<_>>().join(",");
        assert!(input(&many).validate().is_err());
        let domain = AclInput { entity_type: Some("DOMAIN".into()), ..input("tenant_a") };
        assert!(domain.validate().unwrap_err().message.contains("entity_type"));
        let name = AclInput { acl_name: Some("x".into()), ..input("10.0.0.1") };
        assert!(name.validate().unwrap_err().message.contains("acl_name"));
    }
}
