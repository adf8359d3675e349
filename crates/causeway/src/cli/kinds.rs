//! The kinds of resource the CLI handles, and where the management API
//! keeps each: its collection, the key its listing answers under, the field
//! that names it, whether it lives in a group, and the columns of its table.

use serde_json::Value;

use super::connect::{Admin, encode};

/// Where a kind lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A collection of its own (`/apis`).
    Global,
    /// Under a group (`/api-groups/{group}/gateway-responses`): `--group` is needed.
    InGroup,
    /// A group's `url_domains` (bound with `/api-groups/{group}/domains`).
    Domain,
}

#[derive(Debug)]
pub struct Kind {
    pub name: &'static str,
    /// Other words for it (plural, the API's word).
    pub aliases: &'static [&'static str],
    /// The collection under `/v1.0/apigw` (`{group}` for kinds in a group).
    pub path: &'static str,
    /// The listing's key.
    pub list_key: &'static str,
    /// The field that names one.
    pub name_field: &'static str,
    pub scope: Scope,
    /// Whether `GET {path}/{id}` exists (else the item is found in the listing).
    pub get_by_id: bool,
    /// A filter narrowing a listing to one group (`group_id`), when the kind has one.
    pub group_filter: Option<&'static str>,
    /// (header, field) of the table.
    pub columns: &'static [(&'static str, &'static str)],
}

pub const KINDS: &[Kind] = &[
    Kind {
        name: "group",
        aliases: &["groups", "api-group", "api-groups"],
        path: "/api-groups",
        list_key: "groups",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("SUBDOMAIN", "sl_domain"), ("REMARK", "remark")],
    },
    Kind {
        name: "api",
        aliases: &["apis"],
        path: "/apis",
        list_key: "apis",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: Some("group_id"),
        columns: &[("NAME", "name"), ("ID", "id"), ("METHOD", "req_method"), ("PATH", "req_uri"), ("GROUP", "group_name"), ("AUTH", "auth_type"), ("BACKEND", "backend_type"), ("PUBLISHED", "run_env_name")],
    },
    Kind {
        name: "env",
        aliases: &["envs", "environment", "environments"],
        path: "/envs",
        list_key: "envs",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("REMARK", "remark")],
    },
    Kind {
        name: "variable",
        aliases: &["variables", "env-variable", "env-variables"],
        path: "/env-variables",
        list_key: "variables",
        name_field: "variable_name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: Some("group_id"),
        columns: &[("NAME", "variable_name"), ("ID", "id"), ("VALUE", "variable_value"), ("GROUP", "group_id"), ("ENV", "env_id")],
    },
    Kind {
        name: "app",
        aliases: &["apps"],
        path: "/apps",
        list_key: "apps",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("KEY", "app_key"), ("APIS", "bind_num"), ("REMARK", "remark")],
    },
    Kind {
        name: "throttle",
        aliases: &["throttles", "throttling"],
        path: "/throttles",
        list_key: "throttles",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("API", "api_call_limits"), ("USER", "user_call_limits"), ("APP", "app_call_limits"), ("IP", "ip_call_limits"), ("PER", "time_interval"), ("UNIT", "time_unit"), ("BOUND", "bind_num")],
    },
    Kind {
        name: "acl",
        aliases: &["acls"],
        path: "/acls",
        list_key: "acls",
        name_field: "acl_name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "acl_name"), ("ID", "id"), ("TYPE", "acl_type"), ("VALUES", "acl_value"), ("BOUND", "bind_num")],
    },
    Kind {
        name: "sign",
        aliases: &["signs", "signature", "signature-key", "signature-keys"],
        path: "/signs",
        list_key: "signs",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: false,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("TYPE", "sign_type"), ("KEY", "sign_key")],
    },
    Kind {
        name: "channel",
        aliases: &["channels", "vpc-channel", "vpc-channels"],
        path: "/vpc-channels",
        list_key: "vpcs",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("PORT", "port"), ("STRATEGY", "balance_strategy"), ("MEMBERS", "member_count")],
    },
    Kind {
        name: "authorizer",
        aliases: &["authorizers"],
        path: "/authorizers",
        list_key: "authorizer_list",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("TYPE", "type"), ("FUNCTION", "authorizer_uri"), ("TTL", "ttl")],
    },
    Kind {
        name: "function",
        aliases: &["functions", "fn"],
        path: "/functions",
        list_key: "functions",
        name_field: "name",
        scope: Scope::Global,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("RUNTIME", "runtime"), ("URN", "urn"), ("UPDATED", "update_time")],
    },
    Kind {
        name: "response",
        aliases: &["responses", "gateway-response", "gateway-responses"],
        path: "/api-groups/{group}/gateway-responses",
        list_key: "responses",
        name_field: "name",
        scope: Scope::InGroup,
        get_by_id: true,
        group_filter: None,
        columns: &[("NAME", "name"), ("ID", "id"), ("DEFAULT", "default")],
    },
    Kind {
        name: "domain",
        aliases: &["domains"],
        path: "/api-groups/{group}/domains",
        list_key: "url_domains",
        name_field: "domain",
        scope: Scope::Domain,
        get_by_id: false,
        group_filter: None,
        columns: &[("DOMAIN", "domain"), ("ID", "id"), ("CERTIFICATE", "ssl_name"), ("TLS", "min_ssl_version"), ("REDIRECT", "is_http_redirect_to_https")],
    },
];

/// The kind a word names.
pub fn find(word: &str) -> Result<&'static Kind, String> {
    let w = word.to_ascii_lowercase();
    KINDS.iter().find(|k| k.name == w || k.aliases.contains(&w.as_str())).ok_or_else(|| {
        let names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        format!("no kind of resource {word:?}; the kinds are: {}", names.join(", "))
    })
}

impl Kind {
    /// The collection's path, with the group in it for kinds in a group.
    pub fn collection(&self, group_id: Option<&str>) -> Result<String, String> {
        match self.scope {
            Scope::Global => Ok(self.path.to_string()),
            Scope::InGroup | Scope::Domain => {
                let g = group_id.ok_or_else(|| format!("{}s belong to a group: give --group", self.name))?;
                Ok(self.path.replace("{group}", &encode(g)))
            }
        }
    }

    /// Every item (of one group when given and the kind can be narrowed to one).
    pub fn list(&self, admin: &Admin, group_id: Option<&str>) -> Result<Vec<Value>, String> {
        match self.scope {
            Scope::Domain => {
                let g = group_id.ok_or("domains belong to a group: give --group")?;
                Ok(admin.get(&format!("/api-groups/{}", encode(g)))?["url_domains"].as_array().cloned().unwrap_or_default())
            }
            Scope::InGroup => Ok(admin.get(&self.collection(group_id)?)?[self.list_key].as_array().cloned().unwrap_or_default()),
            Scope::Global => {
                let path = match (self.group_filter, group_id) {
                    (Some(field), Some(g)) => format!("{}?{field}={}", self.path, encode(g)),
                    _ => self.path.to_string(),
                };
                admin.list_all(&path, self.list_key)
            }
        }
    }

    /// The one item `key` names: its id, or its name when that is unique (among `group_id`'s when given).
    pub fn find(&self, admin: &Admin, key: &str, group_id: Option<&str>) -> Result<Value, String> {
        let all = self.list(admin, group_id)?;
        if let Some(hit) = all.iter().find(|v| v["id"] == key) {
            return self.full(admin, hit, group_id);
        }
        let named: Vec<&Value> = all.iter().filter(|v| v[self.name_field] == key).collect();
        match named.as_slice() {
            [one] => self.full(admin, one, group_id),
            [] => Err(format!("no {} named or with the id {key:?}{}", self.name, group_id.map(|g| format!(" in group {g}")).unwrap_or_default())),
            many => {
                let ids: Vec<&str> = many.iter().filter_map(|v| v["id"].as_str()).collect();
                Err(format!("{} {}s are named {key:?} (ids {}): name one by its id, or narrow with --group", many.len(), self.name, ids.join(", ")))
            }
        }
    }

    /// The item as `GET {path}/{id}` answers it (the listing's when there is no such call).
    fn full(&self, admin: &Admin, listed: &Value, group_id: Option<&str>) -> Result<Value, String> {
        match (self.get_by_id, listed["id"].as_str()) {
            (true, Some(id)) => admin.get(&format!("{}/{}", self.collection(group_id)?, encode(id))),
            _ => Ok(listed.clone()),
        }
    }

    /// Where one item is changed and deleted.
    pub fn item_path(&self, id: &str, group_id: Option<&str>) -> Result<String, String> {
        Ok(format!("{}/{}", self.collection(group_id)?, encode(id)))
    }
}

/// The id of a group named by name or id.
pub fn group_id(admin: &Admin, key: &str) -> Result<String, String> {
    let g = find("group")?.find(admin, key, None)?;
    g["id"].as_str().map(str::to_string).ok_or_else(|| format!("group {key:?} has no id"))
}

/// The id of an environment named by name or id.
pub fn env_id(admin: &Admin, key: &str) -> Result<String, String> {
    let e = find("env")?.find(admin, key, None)?;
    e["id"].as_str().map(str::to_string).ok_or_else(|| format!("environment {key:?} has no id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_found_by_any_of_their_words() {
        assert_eq!(find("APIs").unwrap().name, "api");
        assert_eq!(find("vpc-channels").unwrap().name, "channel");
        assert_eq!(find("signature-key").unwrap().name, "sign");
        assert!(find("widgets").unwrap_err().contains("the kinds are: group, api, env"));
        // No word names two kinds.
        let mut words: Vec<&str> = KINDS.iter().flat_map(|k| std::iter::once(k.name).chain(k.aliases.iter().copied())).collect();
        let n = words.len();
        words.sort();
        words.dedup();
        assert_eq!(words.len(), n);
    }
}
