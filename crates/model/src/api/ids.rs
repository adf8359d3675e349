//! Ids and timestamps of a validated API: new ones on create; on update the
//! ids of what did not change are kept, so references to them stay valid.

use super::*;
use crate::ids::new_id;

/// Keeps `prev_id` when an earlier version of the item exists, else makes one.
fn keep_or_new(prev_id: Option<&String>) -> String {
    prev_id.cloned().unwrap_or_else(new_id)
}

fn assign_backend_params(params: &mut [BackendParam], prev: &[BackendParam]) {
    for p in params {
        p.id = keep_or_new(prev.iter().find(|q| q.name == p.name && q.location == p.location).map(|q| &q.id));
    }
}

fn assign_conditions(conditions: &mut [Condition], prev: &[Condition]) {
    for c in conditions {
        let same = |o: &&Condition| {
            o.condition_origin == c.condition_origin
                && o.condition_type == c.condition_type
                && o.condition_value == c.condition_value
                && o.req_param_name == c.req_param_name
                && o.sys_param_name == c.sys_param_name
                && o.cookie_param_name == c.cookie_param_name
                && o.frontend_authorizer_param_name == c.frontend_authorizer_param_name
        };
        c.id = keep_or_new(prev.iter().find(same).map(|o| &o.id));
    }
}

/// Policies of every kind: a name, conditions and backend parameters.
trait PolicyParts {
    fn name(&self) -> &str;
    fn id_mut(&mut self) -> &mut String;
    fn id(&self) -> &String;
    fn parts_mut(&mut self) -> (&mut [Condition], &mut [BackendParam]);
    fn parts(&self) -> (&[Condition], &[BackendParam]);
}

macro_rules! policy_parts {
    ($($t:ty),*) => {$(
        impl PolicyParts for $t {
            fn name(&self) -> &str { &self.name }
            fn id_mut(&mut self) -> &mut String { &mut self.id }
            fn id(&self) -> &String { &self.id }
            fn parts_mut(&mut self) -> (&mut [Condition], &mut [BackendParam]) { (&mut self.conditions, &mut self.backend_params) }
            fn parts(&self) -> (&[Condition], &[BackendParam]) { (&self.conditions, &self.backend_params) }
        }
    )*};
}
policy_parts!(PolicyHttp, PolicyMock, PolicyFunction);

fn assign_policies<P: PolicyParts>(policies: &mut [P], prev: &[P]) {
    for p in policies {
        let old = prev.iter().find(|o| o.name() == p.name());
        *p.id_mut() = keep_or_new(old.map(|o| o.id()));
        let (old_conditions, old_params) = old.map(|o| o.parts()).unwrap_or((&[], &[]));
        let (conditions, params) = p.parts_mut();
        assign_conditions(conditions, old_conditions);
        assign_backend_params(params, old_params);
    }
}

impl Api {
    /// Gives a freshly validated API its ids and timestamps. `prev` is the
    /// stored version being replaced (on update), whose ids and registration
    /// times are kept where the item still exists.
    pub fn assign_ids(&mut self, id: String, prev: Option<&Api>, now: &str) {
        self.id = id;
        self.register_time = prev.map_or_else(|| now.to_string(), |p| p.register_time.clone());
        self.update_time = now.to_string();

        let prev_params = prev.map_or(&[][..], |p| &p.req_params[..]);
        for p in &mut self.req_params {
            p.id = keep_or_new(prev_params.iter().find(|q| q.name == p.name && q.location == p.location).map(|q| &q.id));
        }
        assign_backend_params(&mut self.backend_params, prev.map_or(&[], |p| &p.backend_params));

        if let Some(b) = &mut self.backend_api {
            let old = prev.and_then(|p| p.backend_api.as_ref());
            b.id = keep_or_new(old.map(|o| &o.id));
            b.register_time = old.map_or_else(|| now.to_string(), |o| o.register_time.clone());
            b.update_time = now.to_string();
        }
        if let Some(m) = &mut self.mock_info {
            let old = prev.and_then(|p| p.mock_info.as_ref());
            m.id = keep_or_new(old.map(|o| &o.id));
            m.register_time = old.map_or_else(|| now.to_string(), |o| o.register_time.clone());
            m.update_time = now.to_string();
        }
        if let Some(f) = &mut self.func_info {
            let old = prev.and_then(|p| p.func_info.as_ref());
            f.id = keep_or_new(old.map(|o| &o.id));
            f.register_time = old.map_or_else(|| now.to_string(), |o| o.register_time.clone());
            f.update_time = now.to_string();
        }
        assign_policies(&mut self.policy_https, prev.map_or(&[], |p| &p.policy_https));
        assign_policies(&mut self.policy_mocks, prev.map_or(&[], |p| &p.policy_mocks));
        assign_policies(&mut self.policy_functions, prev.map_or(&[], |p| &p.policy_functions));
        self.link_params();
    }

    /// Fills `req_param_id` of REQUEST backend parameters and `param` conditions.
    fn link_params(&mut self) {
        let req_params = &self.req_params;
        let id_of = |name: &str| req_params.iter().find(|p| p.name == name).map(|p| p.id.clone());
        let link = |params: &mut [BackendParam]| {
            for p in params.iter_mut().filter(|p| p.origin == ParamOrigin::Request) {
                p.req_param_id = id_of(&p.value);
            }
        };
        let link_conditions = |conditions: &mut [Condition]| {
            for c in conditions.iter_mut() {
                if let Some(name) = &c.req_param_name {
                    c.req_param_id = id_of(name);
                }
            }
        };
        link(&mut self.backend_params);
        for p in &mut self.policy_https {
            link(&mut p.backend_params);
            link_conditions(&mut p.conditions);
        }
        for p in &mut self.policy_mocks {
            link(&mut p.backend_params);
            link_conditions(&mut p.conditions);
        }
        for p in &mut self.policy_functions {
            link(&mut p.backend_params);
            link_conditions(&mut p.conditions);
        }
    }
}
