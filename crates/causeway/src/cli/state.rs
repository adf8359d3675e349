//! The declarative state of an installation: every resource as the
//! management API takes it (the fields of its create call only: no ids, no
//! times, nothing derived), references by name instead of id, empty values
//! left out, secrets left out, lists sorted by name — so that two dumps of
//! the same installation are byte for byte the same and a dump diffs
//! cleanly in git.
//!
//! ```yaml
//! environments: [{name: STAGING}]
//! throttles: [{name: per_second, api_call_limits: 100, time_interval: 1, time_unit: SECOND}]
//! groups:
//! - name: shop
//!   variables: {RELEASE: {backend: "10.0.0.8:8080"}}
//!   apis:
//!   - name: orders
//!     req_method: GET
//!     req_uri: /orders
//!     backend_type: HTTP
//!     backend_api: {url_domain: "#backend#", req_method: GET, req_uri: /orders, timeout: 5000}
//!     published: [RELEASE]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::connect::{Admin, encode};
use super::kinds;

/// A section of global resources: (YAML key, CLI kind, input schema, naming field).
pub struct Section {
    pub key: &'static str,
    pub kind: &'static str,
    pub schema: &'static str,
    pub name: &'static str,
}

/// The global sections in the order they are applied (what others refer to first).
pub const SECTIONS: &[Section] = &[
    Section { key: "environments", kind: "env", schema: "EnvInput", name: "name" },
    Section { key: "channels", kind: "channel", schema: "ChannelInput", name: "name" },
    Section { key: "functions", kind: "function", schema: "FunctionInput", name: "name" },
    Section { key: "authorizers", kind: "authorizer", schema: "AuthorizerInput", name: "name" },
    Section { key: "throttles", kind: "throttle", schema: "ThrottleInput", name: "name" },
    Section { key: "acls", kind: "acl", schema: "AclInput", name: "acl_name" },
    Section { key: "signs", kind: "sign", schema: "SignKeyInput", name: "name" },
    Section { key: "apps", kind: "app", schema: "AppInput", name: "name" },
];

/// What a group holds besides its own fields.
pub const GROUP_PARTS: &[&str] = &["variables", "responses", "domains", "apis"];
/// What an API holds besides its definition: where it is published, and
/// per environment the policies bound to it there.
pub const API_PARTS: &[&str] = &["published", "policies"];
/// What an app holds besides its fields: the APIs it may call, per environment (`group/api`).
pub const APP_PARTS: &[&str] = &["apis"];
/// What a throttling policy holds besides its fields: its special limits
/// (`{app: NAME, call_limits: N}` or `{user: ID, call_limits: N}`).
pub const THROTTLE_PARTS: &[&str] = &["specials"];

/// Special limits' ids by (`app`|`user`, name).
pub type SpecialIds = BTreeMap<(String, String), String>;

/// A throttling policy's special limits as the files write them, sorted, with their ids.
pub fn specials(admin: &Admin, throttle_id: &str) -> Result<(Vec<Value>, SpecialIds), String> {
    let mut list = Vec::new();
    let mut ids = BTreeMap::new();
    for sp in admin.get(&format!("/throttle-specials/{}?page_size=500", encode(throttle_id)))?["throttle_specials"].as_array().into_iter().flatten() {
        let who = if sp["instance_type"] == "USER" { "user" } else { "app" };
        let name = sp["instance_name"].as_str().unwrap_or_default().to_string();
        list.push(json!({who: name, "call_limits": sp["call_limits"]}));
        ids.insert((who.to_string(), name), sp["id"].as_str().unwrap_or_default().to_string());
    }
    list.sort_by_key(|v| v.to_string());
    Ok((list, ids))
}

/// Who is bound to what: (group, api, env) → policy names, and the binding ids.
#[derive(Default)]
pub struct Bindings {
    /// (group, api, env) → {"throttle": name, "acls": [names], "sign": name}.
    pub policies: BTreeMap<(String, String, String), Map<String, Value>>,
    /// (kind, group, api, env, policy name) → binding id.
    pub ids: BTreeMap<(String, String, String, String, String), String>,
    /// app → env → ["group/api"], and (app, env, "group/api") → authorization id.
    pub apps: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    pub auth_ids: BTreeMap<(String, String, String), String>,
}

/// Every binding of a policy to a publication, and every app's authorizations.
pub fn bindings(admin: &Admin) -> Result<Bindings, String> {
    let mut b = Bindings::default();
    // (kind, listing, filter, key, name field of the policy, field with the binding id)
    for (kind, list_path, query, key, name_field, id_field) in [
        ("throttle", "/throttles", "/throttle-bindings/binded-apis?throttle_id=", "apis", "name", "throttle_apply_id"),
        ("acl", "/acls", "/acl-bindings/binded-apis?acl_id=", "apis", "acl_name", "id"),
        ("sign", "/signs", "/sign-bindings/binded-apis?sign_id=", "bindings", "name", "id"),
    ] {
        let list_key = kinds::find(kind)?.list_key;
        for policy in admin.list_all(list_path, list_key)? {
            let (Some(pid), Some(pname)) = (policy["id"].as_str(), policy[name_field].as_str()) else { continue };
            for bound in admin.list_all(&format!("{query}{}", encode(pid)), key)? {
                let at = (bound["group_name"].as_str().unwrap_or_default().to_string(), bound["api_name"].as_str().unwrap_or_default().to_string(), bound["env_name"].as_str().unwrap_or_default().to_string());
                let entry = b.policies.entry(at.clone()).or_default();
                if kind == "acl" {
                    let list = entry.entry("acls").or_insert_with(|| json!([]));
                    if let Value::Array(l) = list {
                        l.push(json!(pname));
                        l.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
                    }
                } else {
                    entry.insert(kind.into(), json!(pname));
                }
                b.ids.insert((kind.into(), at.0, at.1, at.2, pname.into()), bound[id_field].as_str().unwrap_or_default().into());
            }
        }
    }
    for app in admin.list_all("/apps", "apps")? {
        let (Some(aid), Some(aname)) = (app["id"].as_str(), app["name"].as_str()) else { continue };
        for auth in admin.list_all(&format!("/app-auths/binded-apis?app_id={}", encode(aid)), "auths")? {
            let env = auth["env_name"].as_str().unwrap_or_default().to_string();
            let api = format!("{}/{}", auth["group_name"].as_str().unwrap_or_default(), auth["api_name"].as_str().unwrap_or_default());
            let list = b.apps.entry(aname.into()).or_default().entry(env.clone()).or_default();
            list.push(api.clone());
            list.sort();
            b.auth_ids.insert((aname.into(), env, api), auth["id"].as_str().unwrap_or_default().into());
        }
    }
    Ok(b)
}
/// Fields left out of dumps: secrets (referenced from `${ENV}` in files when wanted).
const SECRETS: &[(&str, &str)] = &[("app", "app_key"), ("app", "app_secret"), ("sign", "sign_key"), ("sign", "sign_secret")];
/// Fields the management API answers twice under two names: the second is left out.
const SYNONYMS: &[(&str, &str)] = &[("channel", "vpc_instances")];

/// What the management API stores when a field is left out, per kind:
/// (kind, field — `list[].field` for each item of a list —, value). Dumps
/// leave these out, and files that leave them out compare equal.
const DEFAULTS: &[(&str, &str, &str)] = &[
    ("group", "version", "\"V1\""),
    ("channel", "balance_strategy", "1"),
    ("channel", "members[].weight", "1"),
    ("channel", "members[].is_backup", "false"),
    ("channel", "members[].status", "1"),
    ("function", "package", "\"default\""),
    ("function", "runtime", "\"javascript\""),
    ("function", "handler", "\"index.handler\""),
    ("function", "memory_size", "128"),
    ("function", "timeout", "3000"),
    ("function", "event_format", "\"apig\""),
    ("function", "response_mode", "\"integration\""),
    ("function", "max_async_retry_attempts", "2"),
    ("authorizer", "network_type", "\"V1\""),
    ("authorizer", "ttl", "0"),
    ("authorizer", "need_body", "false"),
    ("throttle", "type", "1"),
    ("throttle", "enable_adaptive_control", "\"FALSE\""),
    ("sign", "sign_type", "\"hmac\""),
    ("domain", "min_ssl_version", "\"TLSv1.1\""),
    ("domain", "is_http_redirect_to_https", "false"),
];

/// `v` without the fields that hold their default value.
pub fn omit_defaults(kind: &str, v: &mut Value) {
    let Value::Object(map) = v else { return };
    for (k, path, default) in DEFAULTS.iter().filter(|(k, _, _)| *k == kind) {
        let _ = k;
        let Ok(default) = serde_json::from_str::<Value>(default) else { continue };
        match path.split_once("[].") {
            Some((list, field)) => {
                for item in map.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
                    if let Value::Object(m) = item
                        && m.get(field) == Some(&default)
                    {
                        m.remove(field);
                    }
                }
            }
            None => {
                if map.get(*path) == Some(&default) {
                    map.remove(*path);
                }
            }
        }
    }
    // A channel member on the channel's port says no port of its own.
    if kind == "channel" {
        let port = map.get("port").cloned();
        for item in map.get_mut("members").and_then(Value::as_array_mut).into_iter().flatten() {
            if let Value::Object(m) = item
                && port.is_some()
                && m.get("port") == port.as_ref()
            {
                m.remove("port");
            }
        }
    }
}

/// An API definition (`group_id` left out) as the management API would
/// store it: validated by the same rules, defaults filled in, in the
/// shape its create call takes; `None` when the rules refuse it.
fn normalized_api(schemas: &Schemas, v: &Value) -> Option<Value> {
    let mut input = v.clone();
    input["group_id"] = json!("0".repeat(32));
    let api = serde_json::from_value::<causeway_model::api::ApiInput>(input).ok()?.validate(&causeway_model::Limits::default()).ok()?;
    let mut out = schemas.project(&schemas.of("ApiInput"), &serde_json::to_value(&api).ok()?);
    if let Value::Object(m) = &mut out {
        m.remove("group_id");
    }
    Some(out)
}

/// The paths of every field of `v` (objects' keys, also inside lists), deepest last.
fn paths(v: &Value, at: &mut Vec<PathSeg>, out: &mut Vec<Vec<PathSeg>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(PathSeg::Key(k.clone()));
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(PathSeg::Index(i));
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum PathSeg {
    Key(String),
    Index(usize),
}

fn remove_path(v: &mut Value, path: &[PathSeg]) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut at = v;
    for seg in parents {
        at = match (seg, at) {
            (PathSeg::Key(k), Value::Object(m)) => match m.get_mut(k) {
                Some(next) => next,
                None => return,
            },
            (PathSeg::Index(i), Value::Array(a)) => match a.get_mut(*i) {
                Some(next) => next,
                None => return,
            },
            _ => return,
        };
    }
    if let (PathSeg::Key(k), Value::Object(m)) = (last, at) {
        m.remove(k);
    }
}

/// An API definition with every field that only repeats a default left
/// out (the API's own rules decide what is a default), ready to compare or
/// to write; unchanged when the rules refuse it.
pub fn minimal_api(schemas: &Schemas, v: &Value) -> Value {
    let Some(full) = normalized_api(schemas, v) else { return v.clone() };
    let mut all = Vec::new();
    paths(&full, &mut Vec::new(), &mut all);
    let mut min = full.clone();
    for path in all {
        let mut trial = min.clone();
        remove_path(&mut trial, &path);
        if normalized_api(schemas, &trial).as_ref() == Some(&full) {
            min = trial;
        }
    }
    min
}

/// The management API's body schemas.
pub struct Schemas(Value);

impl Schemas {
    pub fn load() -> Self {
        Schemas(causeway_admin::input_schemas())
    }

    fn named(&self, name: &str) -> &Value {
        &self.0[name]
    }

    /// `schema` with its reference followed.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some(name) => self.named(name),
            None => schema,
        }
    }

    /// `v` with only the fields `schema` takes, empty values left out.
    pub fn project(&self, schema: &Value, v: &Value) -> Value {
        let schema = self.resolve(schema);
        match v {
            Value::Object(map) => {
                let props = schema["properties"].as_object();
                let extra = &schema["additionalProperties"];
                let mut out = Map::new();
                for (k, val) in map {
                    let field_schema = match props {
                        Some(p) => match p.get(k) {
                            Some(s) => s,
                            None => continue,
                        },
                        // A map (`environment`, `responses`): every key, each value by its schema.
                        None => extra,
                    };
                    let projected = self.project(field_schema, val);
                    if !is_empty(&projected) {
                        out.insert(k.clone(), projected);
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.project(&schema["items"], i)).filter(|i| !is_empty(i)).collect()),
            other => other.clone(),
        }
    }

    /// The paths of fields in `v` that `schema` does not take.
    pub fn unknown(&self, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
        let schema = self.resolve(schema);
        match v {
            Value::Object(map) => {
                let props = schema["properties"].as_object();
                for (k, val) in map {
                    let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                    match props {
                        Some(p) => match p.get(k) {
                            Some(s) => self.unknown(s, val, &path, out),
                            None => out.push(path),
                        },
                        None => self.unknown(&schema["additionalProperties"], val, &path, out),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.unknown(&schema["items"], item, &format!("{at}[{i}]"), out);
                }
            }
            _ => {}
        }
    }

    pub fn of(&self, name: &str) -> Value {
        json!({"$ref": format!("#/components/schemas/{name}")})
    }
}

pub fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Names by id of what definitions refer to, and back.
#[derive(Default)]
pub struct Names {
    pub by_id: BTreeMap<String, String>,
}

/// Replaces the ids an API refers to by names (`authorizer_id` → `authorizer`,
/// `vpc_info.vpc_id` → `vpc_info.channel`, `response_id` → `response`).
pub fn names_for_ids(v: &mut Value, authorizers: &Names, channels: &Names, responses: &Names) {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(id)) = map.remove("authorizer_id") {
                map.insert("authorizer".into(), json!(authorizers.by_id.get(&id).cloned().unwrap_or(id)));
            }
            if let Some(Value::String(id)) = map.remove("response_id") {
                map.insert("response".into(), json!(responses.by_id.get(&id).cloned().unwrap_or(id)));
            }
            if let Some(Value::Object(vpc)) = map.get_mut("vpc_info")
                && let Some(Value::String(id)) = vpc.remove("vpc_id")
            {
                vpc.insert("channel".into(), json!(channels.by_id.get(&id).cloned().unwrap_or(id)));
            }
            for (_, child) in map.iter_mut() {
                names_for_ids(child, authorizers, channels, responses);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| names_for_ids(i, authorizers, channels, responses)),
        _ => {}
    }
}

/// The reverse: names to ids, or the reference that names nothing.
pub fn ids_for_names(v: &mut Value, find: &dyn Fn(&str, &str) -> Option<String>, at: &str, bad: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (named, field, kind) in [("authorizer", "authorizer_id", "authorizer"), ("response", "response_id", "response")] {
                if let Some(Value::String(name)) = map.remove(named) {
                    match find(kind, &name) {
                        Some(id) => {
                            map.insert(field.into(), json!(id));
                        }
                        None => bad.push(format!("{at}{named}: no {kind} named {name:?}")),
                    }
                }
            }
            if let Some(Value::Object(vpc)) = map.get_mut("vpc_info")
                && let Some(Value::String(name)) = vpc.remove("channel")
            {
                match find("channel", &name) {
                    Some(id) => {
                        vpc.insert("vpc_id".into(), json!(id));
                    }
                    None => bad.push(format!("{at}vpc_info.channel: no channel named {name:?}")),
                }
            }
            for (k, child) in map.iter_mut() {
                ids_for_names(child, find, &format!("{at}{k}."), bad);
            }
        }
        Value::Array(items) => {
            let base = at.trim_end_matches('.');
            for (i, item) in items.iter_mut().enumerate() {
                ids_for_names(item, find, &format!("{base}[{i}]."), bad);
            }
        }
        _ => {}
    }
}

fn sort_by_name(list: &mut [Value], field: &str) {
    list.sort_by(|a, b| a[field].as_str().unwrap_or_default().cmp(b[field].as_str().unwrap_or_default()));
}

/// Whether `field` of `kind` is a secret (left out of dumps, kept as it runs when files leave it out).
pub fn is_secret(kind: &str, field: &str) -> bool {
    SECRETS.contains(&(kind, field))
}

fn strip(kind: &str, v: &mut Value, keep_secrets: bool) {
    if let Value::Object(map) = v {
        let secrets = if keep_secrets { &[][..] } else { SECRETS };
        for (k, field) in secrets.iter().chain(SYNONYMS) {
            if *k == kind {
                map.remove(*field);
            }
        }
    }
}

/// The installation as it runs, in the declarative form.
pub fn dump(admin: &Admin, schemas: &Schemas, keep_secrets: bool) -> Result<Value, String> {
    let bound = bindings(admin)?;
    let mut state = Map::new();
    let mut names: BTreeMap<&str, Names> = BTreeMap::new();
    for section in SECTIONS {
        let kind = kinds::find(section.kind)?;
        let mut items = Vec::new();
        for listed in kind.list(admin, None)? {
            let full = match (kind.get_by_id, listed["id"].as_str()) {
                (true, Some(id)) => admin.get(&kind.item_path(id, None)?)?,
                _ => listed,
            };
            names.entry(section.kind).or_default().by_id.insert(full["id"].as_str().unwrap_or_default().to_string(), full[section.name].as_str().unwrap_or_default().to_string());
            let mut item = schemas.project(&schemas.of(section.schema), &full);
            strip(section.kind, &mut item, keep_secrets);
            omit_defaults(section.kind, &mut item);
            if section.kind == "app"
                && let Some(apis) = bound.apps.get(full["name"].as_str().unwrap_or_default())
            {
                item["apis"] = json!(apis);
            }
            if section.kind == "throttle" {
                let (list, _) = specials(admin, full["id"].as_str().unwrap_or_default())?;
                if !list.is_empty() {
                    item["specials"] = Value::Array(list);
                }
            }
            items.push(item);
        }
        sort_by_name(&mut items, section.name);
        if !items.is_empty() {
            state.insert(section.key.into(), Value::Array(items));
        }
    }
    let envs = names.remove("env").unwrap_or_default();
    let (authorizers, channels) = (names.remove("authorizer").unwrap_or_default(), names.remove("channel").unwrap_or_default());
    let mut groups = Vec::new();
    for listed in kinds::find("group")?.list(admin, None)? {
        let gid = listed["id"].as_str().unwrap_or_default().to_string();
        let full = admin.get(&format!("/api-groups/{}", encode(&gid)))?;
        let mut group = schemas.project(&schemas.of("GroupInput"), &full);
        omit_defaults("group", &mut group);
        // Variables: {ENV: {name: value}}.
        let mut variables: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        for v in admin.list_all(&format!("/env-variables?group_id={}", encode(&gid)), "variables")? {
            let env = envs.by_id.get(v["env_id"].as_str().unwrap_or_default()).cloned().unwrap_or_default();
            variables.entry(env).or_default().insert(v["variable_name"].as_str().unwrap_or_default().into(), v["variable_value"].as_str().unwrap_or_default().into());
        }
        if !variables.is_empty() {
            group["variables"] = json!(variables);
        }
        // Gateway responses: the customised types of each set (the default set when it has some).
        let mut responses = Names::default();
        let mut sets = Vec::new();
        for r in admin.get(&format!("/api-groups/{}/gateway-responses", encode(&gid)))?["responses"].as_array().cloned().unwrap_or_default() {
            responses.by_id.insert(r["id"].as_str().unwrap_or_default().into(), r["name"].as_str().unwrap_or_default().into());
            let custom: Map<String, Value> = r["responses"].as_object().into_iter().flatten().filter(|(_, spec)| spec["default"] != true).map(|(k, spec)| (k.clone(), spec.clone())).collect();
            let mut set = schemas.project(&schemas.of("GatewayResponseInput"), &json!({"name": r["name"], "responses": custom}));
            if r["default"] == true && custom.is_empty() {
                continue;
            }
            if set.get("responses").is_none() {
                set["responses"] = json!({});
            }
            sets.push(set);
        }
        sort_by_name(&mut sets, "name");
        if !sets.is_empty() {
            group["responses"] = Value::Array(sets);
        }
        let mut domains: Vec<Value> = full["url_domains"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                let mut domain = schemas.project(&schemas.of("DomainInput"), &json!({"url_domain": d["domain"], "min_ssl_version": d["min_ssl_version"], "is_http_redirect_to_https": d["is_http_redirect_to_https"]}));
                omit_defaults("domain", &mut domain);
                domain
            })
            .collect();
        sort_by_name(&mut domains, "url_domain");
        if !domains.is_empty() {
            group["domains"] = Value::Array(domains);
        }
        let mut apis = Vec::new();
        for api in admin.list_all(&format!("/apis?group_id={}", encode(&gid)), "apis")? {
            let full = admin.get(&format!("/apis/{}", encode(api["id"].as_str().unwrap_or_default())))?;
            let mut item = schemas.project(&schemas.of("ApiInput"), &full);
            if let Value::Object(m) = &mut item {
                m.remove("group_id");
            }
            let mut item = minimal_api(schemas, &item);
            names_for_ids(&mut item, &authorizers, &channels, &responses);
            let mut published: Vec<&str> = full["run_env_name"].as_str().unwrap_or_default().split('|').filter(|e| !e.is_empty()).collect();
            published.sort_unstable();
            if !published.is_empty() {
                item["published"] = json!(published);
            }
            let gname = full["group_name"].as_str().unwrap_or_default().to_string();
            let aname = full["name"].as_str().unwrap_or_default().to_string();
            let policies: Map<String, Value> = bound
                .policies
                .range((gname.clone(), aname.clone(), String::new())..)
                .take_while(|((g, a, _), _)| *g == gname && *a == aname)
                .map(|((_, _, env), p)| (env.clone(), Value::Object(p.clone())))
                .collect();
            if !policies.is_empty() {
                item["policies"] = Value::Object(policies);
            }
            apis.push(item);
        }
        sort_by_name(&mut apis, "name");
        if !apis.is_empty() {
            group["apis"] = Value::Array(apis);
        }
        groups.push(group);
    }
    sort_by_name(&mut groups, "name");
    state.insert("groups".into(), Value::Array(groups));
    Ok(Value::Object(state))
}

/// Where each resource of a loaded state came from, for error messages.
#[derive(Default)]
pub struct Origins(pub BTreeMap<String, PathBuf>);

impl Origins {
    pub fn of(&self, label: &str) -> String {
        self.0.get(label).map(|p| p.display().to_string()).unwrap_or_else(|| "the files".into())
    }
}

/// `${NAME}` replaced by the environment's value (`$${` is a literal `${`); a missing variable is an error.
pub fn substitute(text: &str, file: &Path) -> Result<String, String> {
    substitute_with(text, file, &|name| std::env::var(name).ok())
}

fn substitute_with(text: &str, file: &Path, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            out.push_str(&rest[..at]);
            out.push('{');
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find('}') else { return Err(format!("{}: an unclosed ${{", file.display())) };
        let name = &rest[at + 2..at + end];
        let value = lookup(name).ok_or_else(|| format!("{}: ${{{name}}} is not set in the environment", file.display()))?;
        out.push_str(&value);
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The state the files at `path` (a file, or a directory of `.yaml`/`.yml`/`.json` files) describe.
pub fn load(path: &Path) -> Result<(Value, Origins), String> {
    let mut files = Vec::new();
    if path.is_dir() {
        collect(path, &mut files)?;
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut state = Map::new();
    let mut origins = Origins::default();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let text = substitute(&text, &file)?;
        if text.trim().is_empty() {
            continue;
        }
        let doc = super::parse_definition(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let Value::Object(doc) = doc else { continue };
        for (key, value) in doc {
            let known = key == "groups" || SECTIONS.iter().any(|s| s.key == key);
            if !known {
                return Err(format!("{}: unknown section {key:?} (the sections are: groups, {})", file.display(), SECTIONS.iter().map(|s| s.key).collect::<Vec<_>>().join(", ")));
            }
            let Value::Array(items) = value else { return Err(format!("{}: {key} is a list", file.display())) };
            let name_field = SECTIONS.iter().find(|s| s.key == key).map_or("name", |s| s.name);
            let list = state.entry(key.clone()).or_insert_with(|| Value::Array(vec![]));
            for item in items {
                let name = item[name_field].as_str().ok_or_else(|| format!("{}: an item of {key} has no {name_field}", file.display()))?.to_string();
                let label = format!("{key}[{name}]");
                if let Some(first) = origins.0.get(&label) {
                    return Err(format!("{}: {label} is defined twice (also in {})", file.display(), first.display()));
                }
                origins.0.insert(label, file.clone());
                if let Value::Array(l) = list {
                    l.push(item);
                }
            }
        }
    }
    Ok((Value::Object(state), origins))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    for entry in std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(path);
        }
    }
    Ok(())
}

/// A dump as files: one, or with `split` a directory of `causeway.yaml` and `groups/<name>.yaml`.
pub fn write(state: &Value, to: Option<&Path>, split: bool) -> Result<(), String> {
    let yaml = |v: &Value| super::output::document(super::output::Format::Yaml, v);
    match (to, split) {
        (None, _) => {
            print!("{}", yaml(state)?);
            Ok(())
        }
        (Some(file), false) => std::fs::write(file, yaml(state)?).map_err(|e| format!("cannot write {}: {e}", file.display())),
        (Some(dir), true) => {
            let groups_dir = dir.join("groups");
            std::fs::create_dir_all(&groups_dir).map_err(|e| format!("cannot create {}: {e}", groups_dir.display()))?;
            let mut global = state.clone();
            let groups = global.as_object_mut().and_then(|m| m.remove("groups")).unwrap_or_default();
            std::fs::write(dir.join("causeway.yaml"), yaml(&global)?).map_err(|e| e.to_string())?;
            for g in groups.as_array().into_iter().flatten() {
                let name = g["name"].as_str().unwrap_or("group");
                let file: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect();
                std::fs::write(groups_dir.join(format!("{file}.yaml")), yaml(&json!({"groups": [g]}))?).map_err(|e| e.to_string())?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_what_a_create_call_takes() {
        let s = Schemas::load();
        let got = json!({"id": "x", "name": "shop", "remark": "", "register_time": "t", "call_limits": 5, "url_domains": []});
        assert_eq!(s.project(&s.of("GroupInput"), &got), json!({"name": "shop", "call_limits": 5}));
        let api = json!({"name": "a", "req_params": [{"id": "p", "name": "q", "type": "STRING"}], "backend_api": {"id": "b", "timeout": 5}});
        assert_eq!(s.project(&s.of("ApiInput"), &api), json!({"name": "a", "req_params": [{"name": "q", "type": "STRING"}], "backend_api": {"timeout": 5}}));
        let mut unknown = Vec::new();
        s.unknown(&s.of("ApiInput"), &json!({"name": "a", "nmae": 1, "backend_api": {"timout": 1}, "req_params": [{"nam": "x"}]}), "", &mut unknown);
        assert_eq!(unknown, vec!["backend_api.timout", "nmae", "req_params[0].nam"]);
    }

    #[test]
    fn references_go_by_name_and_come_back() {
        let mut api = json!({"authorizer_id": "A1", "backend_api": {"vpc_info": {"vpc_id": "C1"}}, "response_id": "R1"});
        let names = |pairs: &[(&str, &str)]| Names { by_id: pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect() };
        names_for_ids(&mut api, &names(&[("A1", "gate")]), &names(&[("C1", "pool")]), &names(&[("R1", "partner")]));
        assert_eq!(api, json!({"authorizer": "gate", "backend_api": {"vpc_info": {"channel": "pool"}}, "response": "partner"}));
        let find = |kind: &str, name: &str| match (kind, name) {
            ("authorizer", "gate") => Some("A1".to_string()),
            ("channel", "pool") => Some("C1".to_string()),
            _ => None,
        };
        let mut bad = Vec::new();
        ids_for_names(&mut api, &find, "", &mut bad);
        assert_eq!(api, json!({"authorizer_id": "A1", "backend_api": {"vpc_info": {"vpc_id": "C1"}}}));
        assert_eq!(bad, vec!["response: no response named \"partner\""]);
    }

    #[test]
    fn environment_variables_are_substituted() {
        let env = |name: &str| (name == "SECRET").then(|| "s3cret".to_string());
        let f = Path::new("x.yaml");
        assert_eq!(substitute_with("a: ${SECRET}\nb: $${LITERAL}\n", f, &env).unwrap(), "a: s3cret\nb: ${LITERAL}\n");
        assert!(substitute_with("a: ${MISSING}", f, &env).unwrap_err().contains("x.yaml: ${MISSING} is not set"));
        assert!(substitute_with("a: ${OPEN", f, &env).is_err());
    }
}
