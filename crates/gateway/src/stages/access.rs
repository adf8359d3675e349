//! Access control: the PERMIT and DENY lists bound to each publication,
//! parsed once per snapshot and checked against the client's address.

use std::net::IpAddr;

use causeway_model::acl::{Acl, AclBinding, AclType};
use causeway_model::ip::IpRule;
use rustc_hash::FxHashMap;

use crate::http::error::{GatewayError, errors};

/// One publication's lists.
#[derive(Debug, Default)]
struct Lists {
    permit: Option<Vec<IpRule>>,
    deny: Option<Vec<IpRule>>,
}

/// The lists of every publication that has one, by publish id.
#[derive(Debug, Default)]
pub struct AccessControl {
    by_publication: FxHashMap<Box<str>, Lists>,
}

impl AccessControl {
    pub fn build<'a>(acls: impl Iterator<Item = &'a Acl>, bindings: impl Iterator<Item = &'a AclBinding>) -> Self {
        let acls: FxHashMap<&str, &Acl> = acls.map(|a| (a.id.as_str(), a)).collect();
        let mut by_publication: FxHashMap<Box<str>, Lists> = FxHashMap::default();
        for b in bindings {
            let Some(acl) = acls.get(b.acl_id.as_str()) else { continue };
            // Checked when the policy was saved; an entry that no longer parses is left out.
            let rules: Vec<IpRule> = acl.acl_value.split(',').filter_map(IpRule::parse).collect();
            let lists = by_publication.entry(b.publish_id.as_str().into()).or_default();
            match acl.acl_type {
                AclType::Permit => lists.permit = Some(rules),
                AclType::Deny => lists.deny = Some(rules),
            }
        }
        Self { by_publication }
    }

    /// Refuses a client on the publication's DENY list, or missing from its PERMIT list.
    pub fn check(&self, publish_id: &str, client: IpAddr) -> Result<(), GatewayError> {
        if self.by_publication.is_empty() {
            return Ok(());
        }
        let Some(lists) = self.by_publication.get(publish_id) else { return Ok(()) };
        let listed = |rules: &Vec<IpRule>| rules.iter().any(|r| r.contains(client));
        let denied = lists.deny.as_ref().is_some_and(listed) || lists.permit.as_ref().is_some_and(|p| !listed(p));
        if denied { Err(errors::IP_DENIED) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(id: &str, t: AclType, value: &str) -> Acl {
        Acl {
            id: id.into(),
            acl_name: id.into(),
            acl_type: t,
            entity_type: causeway_model::acl::AclEntity::Ip,
            acl_value: value.into(),
            create_time: String::new(),
            update_time: String::new(),
        }
    }

    fn bind(acl: &str, publish: &str) -> AclBinding {
        AclBinding { id: format!("{acl}-{publish}"), acl_id: acl.into(), publish_id: publish.into(), api_id: "a".into(), env_id: "e".into(), create_time: String::new() }
    }

    #[test]
    fn deny_wins_and_permit_lists_exclude_the_rest() {
        let acls = [acl("office", AclType::Permit, "10.0.0.0/8,192.168.1.5"), acl("bad", AclType::Deny, "10.9.0.0-10.9.255.255,2001:db8::/32")];
        let bindings = [bind("office", "p1"), bind("bad", "p1"), bind("bad", "p2")];
        let ac = AccessControl::build(acls.iter(), bindings.iter());
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ac.check("p1", ip("10.1.2.3")).is_ok());
        assert!(ac.check("p1", ip("192.168.1.5")).is_ok());
        assert!(ac.check("p1", ip("::ffff:10.1.2.3")).is_ok(), "IPv4-mapped addresses count as IPv4");
        assert_eq!(ac.check("p1", ip("10.9.1.1")).unwrap_err().code, "APIG.0402");
        assert!(ac.check("p1", ip("172.16.0.1")).is_err());
        assert!(ac.check("p2", ip("172.16.0.1")).is_ok());
        assert!(ac.check("p2", ip("2001:db8::7")).is_err());
        assert!(ac.check("p3", ip("2001:db8::7")).is_ok());
    }
}
