//! `causeway diff` and `causeway apply`: the files' state against the
//! running installation's, resource by resource in dependency order
//! (environments, channels, functions, authorizers, policies, apps; then
//! each group with its variables, responses, domains and APIs; publications
//! last). `diff` only says what would change; `apply` changes it, and stops
//! at the first refusal saying what was done and what was not. The files
//! are checked whole first — unknown fields, references that name nothing,
//! values the management API would refuse — and nothing is changed when
//! one is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::Args;
use serde_json::{Value, json};

use super::connect::{Admin, ConnectArgs, encode};
use super::kinds;
use super::state::{self, API_PARTS, APP_PARTS, Bindings, GROUP_PARTS, Origins, SECTIONS, Schemas, THROTTLE_PARTS};

/// `causeway dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Write to this file (or, with --split, this directory) instead of standard output.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// One file per group (`groups/<name>.yaml`) beside `causeway.yaml`.
    #[arg(long, requires = "output")]
    pub split: bool,
    /// Only these groups (names; repeatable), and nothing outside groups.
    #[arg(long)]
    pub group: Vec<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway diff -f PATH` and `causeway apply -f PATH`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// A file, or a directory of .yaml/.yml/.json files.
    #[arg(short = 'f', long)]
    pub file: PathBuf,
    /// Delete what the files do not mention (asks first unless --yes).
    #[arg(long)]
    pub prune: bool,
    /// With --prune: do not ask.
    #[arg(long)]
    pub yes: bool,
    /// Say what would change; change nothing (`apply` only; `diff` never changes anything).
    #[arg(long)]
    pub dry_run: bool,
    /// Only these groups (names; repeatable): nothing outside them is compared or changed.
    #[arg(long)]
    pub group: Vec<String>,
    /// Only APIs with this tag (`tag=NAME`): other APIs are not compared or changed.
    #[arg(long, value_name = "tag=NAME")]
    pub select: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn dump(a: DumpArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let mut state = state::dump(&admin, &Schemas::load(), false)?;
    if !a.group.is_empty() {
        let groups: Vec<Value> = state["groups"].as_array().into_iter().flatten().filter(|g| a.group.iter().any(|n| g["name"] == n.as_str())).cloned().collect();
        state = json!({"groups": groups});
    }
    state::write(&state, a.output.as_deref(), a.split)
}

/// Field-by-field differences between two values (`a.b[1].c: old → new`).
pub fn changes(before: &Value, after: &Value, at: &str, out: &mut Vec<String>) {
    let short = |v: &Value| {
        let t = if v.is_null() { "(none)".to_string() } else { v.to_string() };
        if t.chars().count() > 80 { t.chars().take(77).collect::<String>() + "…" } else { t }
    };
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                changes(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), &path, out);
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                changes(x, y, &format!("{at}[{i}]"), out);
            }
        }
        (a, b) if a != b => out.push(format!("{at}: {} → {}", short(a), short(b))),
        _ => {}
    }
}

/// What a walk does: only say (diff, dry run), or also change.
struct Walk<'a> {
    admin: &'a Admin,
    act: bool,
    done: Vec<String>,
    /// Names → ids per kind (`group`, `env`, `authorizer`, `channel`, …), kept up to date as things are created.
    ids: BTreeMap<String, BTreeMap<String, String>>,
    planned: usize,
    /// The policy bindings and app authorizations that run now.
    bound: Bindings,
}

impl Walk<'_> {
    /// Says (and, when acting, does) one step; a refusal stops the walk with the report.
    fn step(&mut self, line: String, detail: &[String], call: impl FnOnce(&Admin) -> Result<Value, String>) -> Result<Value, String> {
        println!("{line}");
        for d in detail {
            println!("    {d}");
        }
        self.planned += 1;
        if !self.act {
            return Ok(Value::Null);
        }
        match call(self.admin) {
            Ok(v) => {
                self.done.push(line);
                Ok(v)
            }
            Err(e) => Err(format!(
                "stopped at \"{}\": {e}\n{} step(s) done before it{}; running apply again continues from here",
                line.trim(),
                self.done.len(),
                if self.done.is_empty() { String::new() } else { format!(" (the last: \"{}\")", self.done.last().map(|s| s.trim()).unwrap_or_default()) }
            )),
        }
    }

    fn id(&self, kind: &str, name: &str) -> Option<String> {
        self.ids.get(kind).and_then(|m| m.get(name)).cloned()
    }

    fn remember(&mut self, kind: &str, name: &str, made: &Value) {
        let id = made["id"].as_str().map(str::to_string).unwrap_or_else(|| format!("(new {kind} {name})"));
        self.ids.entry(kind.to_string()).or_default().insert(name.to_string(), id);
    }
}

/// The items of a list by their name field.
fn by_name<'a>(list: &'a Value, field: &str) -> BTreeMap<String, &'a Value> {
    list.as_array().into_iter().flatten().filter_map(|v| Some((v[field].as_str()?.to_string(), v))).collect()
}

/// `v` without the keys `parts` (the nested resources), for comparing its own fields.
fn own(v: &Value, parts: &[&str]) -> Value {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        for p in parts {
            m.remove(*p);
        }
    }
    v
}

/// Checks the files' state whole before anything is changed: the sections'
/// and APIs' fields, the references, and each definition by the management
/// API's own rules. Every problem is listed with its file and resource.
fn check(desired: &Value, origins: &Origins, schemas: &Schemas, known: &dyn Fn(&str, &str, Option<&str>) -> bool) -> Result<(), String> {
    let mut problems = Vec::new();
    let unknown = |problems: &mut Vec<String>, label: &str, schema: &str, v: &Value, skip: &[&str]| {
        let mut found = Vec::new();
        schemas.unknown(&schemas.of(schema), &own(v, skip), "", &mut found);
        for f in found {
            problems.push(format!("{}: {label}: unknown field {f}", origins.of(label.split('.').next().unwrap_or(label))));
        }
    };
    let limits = causeway_model::Limits::default();
    for s in SECTIONS {
        for (name, item) in by_name(&desired[s.key], s.name) {
            let label = format!("{}[{name}]", s.key);
            let parts: &[&str] = match s.kind {
                "app" => APP_PARTS,
                "throttle" => THROTTLE_PARTS,
                _ => &[],
            };
            for sp in item["specials"].as_array().into_iter().flatten() {
                let ok = match (sp.get("app").and_then(Value::as_str), sp.get("user").and_then(Value::as_str)) {
                    (Some(app), None) => known("app", app, None),
                    (None, Some(_)) => true,
                    _ => false,
                } && sp["call_limits"].is_u64()
                    && sp.as_object().is_some_and(|m| m.len() == 2);
                if !ok {
                    problems.push(format!("{}: {label}.specials: {sp} is not {{app: NAME, call_limits: N}} or {{user: ID, call_limits: N}} (with an app that exists)", origins.of(&label)));
                }
            }
            unknown(&mut problems, &label, s.schema, item, parts);
            for (env, apis) in item["apis"].as_object().into_iter().flatten() {
                if !known("env", env, None) {
                    problems.push(format!("{}: {label}.apis.{env}: no environment named {env:?}", origins.of(&label)));
                }
                for api in apis.as_array().into_iter().flatten() {
                    let named = api.as_str().and_then(|a| a.split_once('/')).is_some_and(|(g, a)| known("api", a, Some(g)));
                    if !named {
                        problems.push(format!("{}: {label}.apis.{env}: no API {api} (written group/api)", origins.of(&label)));
                    }
                }
            }
            if let Err(e) = valid(s.kind, &own(item, parts), &limits) {
                problems.push(format!("{}: {label}: {e}", origins.of(&label)));
            }
        }
    }
    for (gname, group) in by_name(&desired["groups"], "name") {
        let glabel = format!("groups[{gname}]");
        unknown(&mut problems, &glabel, "GroupInput", group, GROUP_PARTS);
        if let Err(e) = serde_json::from_value::<causeway_model::group::GroupInput>(own(group, GROUP_PARTS)).map_err(|e| e.to_string()).and_then(|g| g.validate().map(|_| ()).map_err(|e| e.message)) {
            problems.push(format!("{}: {glabel}: {e}", origins.of(&glabel)));
        }
        for env in group["variables"].as_object().into_iter().flat_map(|m| m.keys()) {
            if !known("env", env, None) {
                problems.push(format!("{}: {glabel}.variables.{env}: no environment named {env:?}", origins.of(&glabel)));
            }
        }
        for (rname, r) in by_name(&group["responses"], "name") {
            unknown(&mut problems, &format!("{glabel}.responses[{rname}]"), "GatewayResponseInput", r, &[]);
        }
        for (dname, d) in by_name(&group["domains"], "url_domain") {
            unknown(&mut problems, &format!("{glabel}.domains[{dname}]"), "DomainInput", d, &[]);
        }
        for (aname, api) in by_name(&group["apis"], "name") {
            let alabel = format!("{glabel}.apis[{aname}]");
            let mut body = own(api, API_PARTS);
            let mut bad = Vec::new();
            let find = |kind: &str, name: &str| known(kind, name, Some(&gname)).then(|| "0".repeat(32));
            state::ids_for_names(&mut body, &find, "", &mut bad);
            for b in bad {
                problems.push(format!("{}: {alabel}.{b}", origins.of(&glabel)));
            }
            unknown(&mut problems, &alabel, "ApiInput", &body, &[]);
            let published: Vec<&str> = api["published"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            for env in &published {
                if !known("env", env, None) {
                    problems.push(format!("{}: {alabel}.published: no environment named {env:?}", origins.of(&glabel)));
                }
            }
            for (env, p) in api["policies"].as_object().into_iter().flatten() {
                let at = format!("{}: {alabel}.policies.{env}", origins.of(&glabel));
                if !published.contains(&env.as_str()) {
                    problems.push(format!("{at}: policies bind to a publication, and the API is not published in {env}"));
                }
                for (field, value) in p.as_object().into_iter().flatten() {
                    let (kind, names): (&str, Vec<&str>) = match field.as_str() {
                        "throttle" => ("throttle", value.as_str().into_iter().collect()),
                        "sign" => ("sign", value.as_str().into_iter().collect()),
                        "acls" => ("acl", value.as_array().into_iter().flatten().filter_map(Value::as_str).collect()),
                        other => {
                            problems.push(format!("{at}: unknown field {other} (throttle, acls, sign)"));
                            continue;
                        }
                    };
                    for n in names {
                        if !known(kind, n, None) {
                            problems.push(format!("{at}.{field}: no {kind} named {n:?}"));
                        }
                    }
                }
            }
            body["group_id"] = json!("0".repeat(32));
            match serde_json::from_value::<causeway_model::api::ApiInput>(body) {
                Ok(input) => {
                    if let Err(e) = input.validate(&limits) {
                        problems.push(format!("{}: {alabel}: {} ({})", origins.of(&glabel), e.message, e.code));
                    }
                }
                Err(e) => problems.push(format!("{}: {alabel}: {e}", origins.of(&glabel))),
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(format!("the files are refused, nothing was changed:\n  {}", problems.join("\n  "))) }
}

/// A definition of a global section by the management API's own rules.
fn valid(kind: &str, item: &Value, limits: &causeway_model::Limits) -> Result<(), String> {
    use causeway_model::{acl, app, authorizer, channel, env, function, sign_key, throttle};
    fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
        serde_json::from_value(v.clone()).map_err(|e| e.to_string())
    }
    let checked = match kind {
        "env" => read::<env::EnvInput>(item)?.validate().map(|_| ()),
        "channel" => read::<channel::ChannelInput>(item)?.validate().map(|_| ()),
        "function" => read::<function::FunctionInput>(item)?.validate(None).map(|_| ()),
        "authorizer" => read::<authorizer::AuthorizerInput>(item)?.validate(limits.identities_per_authorizer).map(|_| ()),
        "throttle" => read::<throttle::ThrottleInput>(item)?.validate().map(|_| ()),
        "acl" => read::<acl::AclInput>(item)?.validate().map(|_| ()),
        "sign" => read::<sign_key::SignKeyInput>(item)?.validate().map(|_| ()),
        "app" => read::<app::AppInput>(item)?.validate().map(|_| ()),
        _ => Ok(()),
    };
    checked.map_err(|e| format!("{} ({})", e.message, e.code))
}

/// Only the groups and APIs asked for.
fn narrow(state: &mut Value, groups: &[String], tag: Option<&str>) {
    if groups.is_empty() && tag.is_none() {
        return;
    }
    if !groups.is_empty()
        && let Value::Object(m) = state
    {
        m.retain(|k, _| k == "groups");
        if let Some(Value::Array(list)) = m.get_mut("groups") {
            list.retain(|g| groups.iter().any(|n| g["name"] == n.as_str()));
        }
    }
    if let Some(tag) = tag {
        for g in state["groups"].as_array_mut().into_iter().flatten() {
            if let Some(Value::Array(apis)) = g.get_mut("apis") {
                apis.retain(|a| a["tags"].as_array().is_some_and(|t| t.iter().any(|x| x == tag)));
            }
        }
    }
}

pub fn diff(a: PlanArgs) -> Result<(), String> {
    run(a, false)
}

pub fn apply(a: PlanArgs) -> Result<(), String> {
    let act = !a.dry_run;
    run(a, act)
}

fn run(a: PlanArgs, act: bool) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let schemas = Schemas::load();
    let tag = match &a.select {
        Some(s) => Some(s.strip_prefix("tag=").ok_or_else(|| format!("--select {s:?}: expected tag=NAME"))?.to_string()),
        None => None,
    };
    let (mut desired, origins) = state::load(&a.file)?;
    let mut current = state::dump(&admin, &schemas, true)?;
    narrow(&mut desired, &a.group, tag.as_deref());
    narrow(&mut current, &a.group, tag.as_deref());
    // What references may name: what runs now, and what the files make.
    // What references may name: what runs now, and what the files make — (kind, group, name), read once.
    let mut names: BTreeSet<(String, String, String)> = BTreeSet::new();
    for state in [&desired, &current] {
        for sec in SECTIONS {
            names.extend(by_name(&state[sec.key], sec.name).into_keys().map(|n| (sec.kind.to_string(), String::new(), n)));
        }
        for (g, group) in by_name(&state["groups"], "name") {
            names.extend(by_name(&group["responses"], "name").into_keys().map(|n| ("response".to_string(), g.clone(), n)));
            names.extend(by_name(&group["apis"], "name").into_keys().map(|n| ("api".to_string(), g.clone(), n)));
        }
    }
    let known = |kind: &str, name: &str, group: Option<&str>| {
        let group = if matches!(kind, "response" | "api") { group.unwrap_or_default() } else { "" };
        (kind == "response" && name == "default") || names.contains(&(kind.to_string(), group.to_string(), name.to_string()))
    };
    check(&desired, &origins, &schemas, &known)?;
    if a.prune && act && !a.yes {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            return Err("--prune deletes what the files do not mention: confirm with --yes".into());
        }
        print!("Delete what the files do not mention? [y/N] ");
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err("nothing was changed".into());
        }
    }
    let mut walk = Walk { admin: &admin, act, done: Vec::new(), ids: BTreeMap::new(), planned: 0, bound: state::bindings(&admin)? };
    for s in SECTIONS {
        let kind = kinds::find(s.kind)?;
        for item in kind.list(&admin, None)? {
            if let (Some(n), Some(id)) = (item[s.name].as_str(), item["id"].as_str()) {
                walk.ids.entry(s.kind.to_string()).or_default().insert(n.to_string(), id.to_string());
            }
        }
    }
    for g in kinds::find("group")?.list(&admin, None)? {
        if let (Some(n), Some(id)) = (g["name"].as_str(), g["id"].as_str()) {
            walk.ids.entry("group".into()).or_default().insert(n.into(), id.into());
        }
    }

    // Global sections: created or changed in order.
    for s in SECTIONS {
        let now = by_name(&current[s.key], s.name);
        for (name, want) in by_name(&desired[s.key], s.name) {
            let kind = kinds::find(s.kind)?;
            let mut want = schemas.project(&schemas.of(s.schema), want);
            state::omit_defaults(s.kind, &mut want);
            match now.get(&name) {
                None => {
                    let made = walk.step(format!("+ {} {name}", s.kind), &[], |adm| adm.json("POST", &kind.collection(None)?, Some(&want)))?;
                    walk.remember(s.kind, &name, &made);
                }
                Some(have) => {
                    // Secrets the files leave out stay as they are.
                    let mut have = own(have, if s.kind == "throttle" { THROTTLE_PARTS } else { APP_PARTS });
                    if let (Value::Object(h), Value::Object(w)) = (&mut have, &want) {
                        let only_given: Vec<String> = h.keys().filter(|k| !w.contains_key(*k) && state::is_secret(s.kind, k)).cloned().collect();
                        for k in only_given {
                            h.remove(&k);
                        }
                    }
                    let mut what = Vec::new();
                    changes(&have, &want, "", &mut what);
                    if !what.is_empty() {
                        let id = walk.id(s.kind, &name).unwrap_or_default();
                        // What the files say, with the secrets they leave out kept.
                        let mut body = want.clone();
                        if let (Value::Object(b), Value::Object(n)) = (&mut body, now[&name]) {
                            for (k, v) in n {
                                if state::is_secret(s.kind, k) && !b.contains_key(k) {
                                    b.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        walk.step(format!("~ {} {name}", s.kind), &what, |adm| adm.json("PUT", &kind.item_path(&id, None)?, Some(&body)))?;
                    }
                }
            }
        }
    }

    // Throttling policies' special limits (once the apps they name exist).
    for (name, item) in by_name(&desired["throttles"], "name") {
        let Some(want) = item.get("specials").and_then(Value::as_array) else { continue };
        let throttle = walk.id("throttle", &name).unwrap_or_default();
        let (have, ids) = if throttle.starts_with('(') { (vec![], BTreeMap::new()) } else { state::specials(&admin, &throttle)? };
        let key = |sp: &Value| -> (String, String) {
            match sp.get("app") {
                Some(a) => ("app".into(), a.as_str().unwrap_or_default().into()),
                None => ("user".into(), sp["user"].as_str().unwrap_or_default().into()),
            }
        };
        let have_by: BTreeMap<(String, String), &Value> = have.iter().map(|sp| (key(sp), sp)).collect();
        let want_by: BTreeMap<(String, String), &Value> = want.iter().map(|sp| (key(sp), sp)).collect();
        for ((who, n), sp) in &want_by {
            match have_by.get(&(who.clone(), n.clone())) {
                None => {
                    let instance = if who == "app" { walk.id("app", n).unwrap_or_default() } else { n.clone() };
                    let body = json!({"strategy_id": throttle, "instance_id": instance, "instance_type": who.to_ascii_uppercase(), "call_limits": sp["call_limits"]});
                    walk.step(format!("+ special limit of {who} {n} in throttle {name}"), &[], |adm| adm.json("POST", "/throttle-specials", Some(&body)))?;
                }
                Some(old) if old["call_limits"] != sp["call_limits"] => {
                    let id = ids.get(&(who.clone(), n.clone())).cloned().unwrap_or_default();
                    let what = [format!("call_limits: {} → {}", old["call_limits"], sp["call_limits"])];
                    walk.step(format!("~ special limit of {who} {n} in throttle {name}"), &what, |adm| adm.json("PUT", &format!("/throttle-specials/{}", encode(&id)), Some(&json!({"call_limits": sp["call_limits"]}))))?;
                }
                Some(_) => {}
            }
        }
        for (who, n) in have_by.keys().filter(|k| !want_by.contains_key(*k)) {
            let id = ids.get(&(who.clone(), n.clone())).cloned().unwrap_or_default();
            walk.step(format!("- special limit of {who} {n} in throttle {name}"), &[], |adm| adm.json("DELETE", &format!("/throttle-specials/{}", encode(&id)), None))?;
        }
    }

    // Groups, with what they hold.
    let now_groups = by_name(&current["groups"], "name");
    let empty = json!({});
    for (gname, want) in by_name(&desired["groups"], "name") {
        let have = now_groups.get(&gname).copied().unwrap_or(&empty);
        let mut want_own = schemas.project(&schemas.of("GroupInput"), &own(want, GROUP_PARTS));
        state::omit_defaults("group", &mut want_own);
        let have_own = own(have, GROUP_PARTS);
        if !now_groups.contains_key(&gname) {
            let made = walk.step(format!("+ group {gname}"), &[], |adm| adm.json("POST", "/api-groups", Some(&want_own)))?;
            walk.remember("group", &gname, &made);
        } else {
            let mut what = Vec::new();
            changes(&have_own, &want_own, "", &mut what);
            if !what.is_empty() {
                let id = walk.id("group", &gname).unwrap_or_default();
                walk.step(format!("~ group {gname}"), &what, |adm| adm.json("PUT", &format!("/api-groups/{}", encode(&id)), Some(&want_own)))?;
            }
        }
        let gid = walk.id("group", &gname).unwrap_or_default();
        group_parts(&mut walk, &schemas, &gname, &gid, have, want, a.prune && tag.is_none())?;
    }

    if a.group.is_empty() && tag.is_none() {
        authorizations(&mut walk, &desired, a.prune)?;
    }
    if a.prune {
        prune(&mut walk, &schemas, &desired, &current, tag.is_some())?;
    }
    if walk.planned == 0 {
        println!("No changes: the installation is as the files say.");
    } else if act {
        println!("{} change(s) made.", walk.done.len());
    } else {
        println!("{} change(s) to make.", walk.planned);
    }
    Ok(())
}

/// A group's variables, gateway responses, domains and APIs (and their publications).
fn group_parts(walk: &mut Walk, schemas: &Schemas, gname: &str, gid: &str, have: &Value, want: &Value, prune: bool) -> Result<(), String> {
    let admin = walk.admin;
    // A group made in this run (or only planned, in a dry run) holds nothing yet.
    let fresh = gid.is_empty() || gid.starts_with('(');

    // Variables: {ENV: {name: value}}.
    let vars_now: Vec<Value> = if fresh { vec![] } else { admin.list_all(&format!("/env-variables?group_id={}", encode(gid)), "variables")? };
    let env_name = |id: &str| walk.ids.get("env").and_then(|m| m.iter().find(|(_, v)| v.as_str() == id).map(|(k, _)| k.clone())).unwrap_or_default();
    let mut now_vars: BTreeMap<(String, String), (String, String)> = BTreeMap::new();
    for v in &vars_now {
        now_vars.insert((env_name(v["env_id"].as_str().unwrap_or_default()), v["variable_name"].as_str().unwrap_or_default().into()), (v["id"].as_str().unwrap_or_default().into(), v["variable_value"].as_str().unwrap_or_default().into()));
    }
    let mut want_vars: BTreeMap<(String, String), String> = BTreeMap::new();
    for (env, vars) in want["variables"].as_object().into_iter().flatten() {
        for (name, value) in vars.as_object().into_iter().flatten() {
            want_vars.insert((env.clone(), name.clone()), value.as_str().map_or_else(|| value.to_string(), str::to_string));
        }
    }
    for ((env, name), value) in &want_vars {
        match now_vars.get(&(env.clone(), name.clone())) {
            None => {
                let body = json!({"group_id": gid, "env_id": walk.id("env", env), "variable_name": name, "variable_value": value});
                walk.step(format!("+ variable {gname}/{env}/{name}"), &[], |adm| adm.json("POST", "/env-variables", Some(&body)))?;
            }
            Some((id, old)) if old != value => {
                let line = format!("~ variable {gname}/{env}/{name}");
                walk.step(line, &[format!("variable_value: {old:?} → {value:?}")], |adm| adm.json("PUT", &format!("/env-variables/{}", encode(id)), Some(&json!({"variable_value": value}))))?;
            }
            Some(_) => {}
        }
    }
    if prune {
        for ((env, name), (id, _)) in &now_vars {
            if !want_vars.contains_key(&(env.clone(), name.clone())) {
                walk.step(format!("- variable {gname}/{env}/{name}"), &[], |adm| adm.json("DELETE", &format!("/env-variables/{}", encode(id)), None))?;
            }
        }
    }

    // Gateway response sets, by name (the default set is never created or deleted).
    let sets_now = if fresh { vec![] } else { admin.get(&format!("/api-groups/{}/gateway-responses", encode(gid)))?["responses"].as_array().cloned().unwrap_or_default() };
    let mut set_ids: BTreeMap<String, String> = sets_now.iter().filter_map(|r| Some((r["name"].as_str()?.to_string(), r["id"].as_str()?.to_string()))).collect();
    let have_sets = by_name(&have["responses"], "name");
    for (rname, r) in by_name(&want["responses"], "name") {
        let body = schemas.project(&schemas.of("GatewayResponseInput"), r);
        let before = have_sets.get(&rname).map(|v| (*v).clone()).unwrap_or_else(|| json!({"name": rname, "responses": {}}));
        match set_ids.get(&rname).cloned() {
            None => {
                let made = walk.step(format!("+ response {gname}/{rname}"), &[], |adm| adm.json("POST", &format!("/api-groups/{}/gateway-responses", encode(gid)), Some(&body)))?;
                set_ids.insert(rname.clone(), made["id"].as_str().unwrap_or_default().to_string());
            }
            Some(id) => {
                let mut what = Vec::new();
                changes(&before, &body, "", &mut what);
                if !what.is_empty() {
                    walk.step(format!("~ response {gname}/{rname}"), &what, |adm| adm.json("PUT", &format!("/api-groups/{}/gateway-responses/{}", encode(gid), encode(&id)), Some(&body)))?;
                }
            }
        }
    }

    // Domains (certificates are uploaded apart: their keys are not in files).
    let have_domains = by_name(&have["domains"], "url_domain");
    let domain_ids: BTreeMap<String, String> = if fresh {
        BTreeMap::new()
    } else {
        admin.get(&format!("/api-groups/{}", encode(gid)))?["url_domains"].as_array().into_iter().flatten().filter_map(|x| Some((x["domain"].as_str()?.to_string(), x["id"].as_str()?.to_string()))).collect()
    };
    for (dname, d) in by_name(&want["domains"], "url_domain") {
        let mut body = schemas.project(&schemas.of("DomainInput"), d);
        state::omit_defaults("domain", &mut body);
        match have_domains.get(&dname) {
            None => {
                walk.step(format!("+ domain {gname}/{dname}"), &[], |adm| adm.json("POST", &format!("/api-groups/{}/domains", encode(gid)), Some(&body)))?;
            }
            Some(before) => {
                let mut what = Vec::new();
                changes(before, &body, "", &mut what);
                if !what.is_empty() {
                    let id = domain_ids.get(&dname).cloned().unwrap_or_default();
                    walk.step(format!("~ domain {gname}/{dname}"), &what, |adm| adm.json("PUT", &format!("/api-groups/{}/domains/{}", encode(gid), encode(&id)), Some(&body)))?;
                }
            }
        }
    }

    // APIs, then where they are published.
    let apis_now: BTreeMap<String, String> = if fresh {
        BTreeMap::new()
    } else {
        admin.list_all(&format!("/apis?group_id={}", encode(gid)), "apis")?.iter().filter_map(|a| Some((a["name"].as_str()?.to_string(), a["id"].as_str()?.to_string()))).collect()
    };
    let have_apis = by_name(&have["apis"], "name");
    // Names by id, to compare what the files say with what runs in the same words.
    let names_of = |kind: &str| state::Names { by_id: walk.ids.get(kind).into_iter().flatten().map(|(n, id)| (id.clone(), n.clone())).collect() };
    let (authorizer_names, channel_names) = (names_of("authorizer"), names_of("channel"));
    let response_names = state::Names { by_id: set_ids.iter().map(|(n, id)| (id.clone(), n.clone())).collect() };
    for (aname, api) in by_name(&want["apis"], "name") {
        let mut resolved = own(api, API_PARTS);
        let mut bad = Vec::new();
        let find = |kind: &str, name: &str| match kind {
            "response" => set_ids.get(name).cloned(),
            k => walk.ids.get(k).and_then(|m| m.get(name)).cloned(),
        };
        state::ids_for_names(&mut resolved, &find, "", &mut bad);
        if let Some(b) = bad.first() {
            return Err(format!("groups[{gname}].apis[{aname}].{b}"));
        }
        let mut body = schemas.project(&schemas.of("ApiInput"), &resolved);
        let mut want_cmp = state::minimal_api(schemas, &body);
        state::names_for_ids(&mut want_cmp, &authorizer_names, &channel_names, &response_names);
        body["group_id"] = json!(gid);
        let mut changed = false;
        let api_id = match (apis_now.get(&aname), have_apis.get(&aname)) {
            (Some(id), Some(before)) => {
                let mut what = Vec::new();
                changes(&own(before, API_PARTS), &want_cmp, "", &mut what);
                if !what.is_empty() {
                    walk.step(format!("~ api {gname}/{aname}"), &what, |adm| adm.json("PUT", &format!("/apis/{}", encode(id)), Some(&body)))?;
                    changed = true;
                }
                id.clone()
            }
            _ => {
                let made = walk.step(format!("+ api {gname}/{aname}"), &[], |adm| adm.json("POST", "/apis", Some(&body)))?;
                changed = true;
                made["id"].as_str().unwrap_or_default().to_string()
            }
        };
        let was: BTreeSet<String> = have_apis.get(&aname).and_then(|b| b["published"].as_array()).into_iter().flatten().filter_map(|e| e.as_str().map(str::to_string)).collect();
        let is: BTreeSet<String> = api["published"].as_array().into_iter().flatten().filter_map(|e| e.as_str().map(str::to_string)).collect();
        for env in &is {
            if !was.contains(env) || changed {
                let env_id = walk.id("env", env).unwrap_or_default();
                walk.step(format!("> publish {gname}/{aname} in {env}"), &[], |adm| adm.json("POST", &format!("/apis/publish/{}", encode(&api_id)), Some(&json!({"env_id": env_id}))))?;
            }
        }
        for env in was.difference(&is) {
            let env_id = walk.id("env", env).unwrap_or_default();
            walk.step(format!("< offline {gname}/{aname} in {env}"), &[], |adm| adm.json("DELETE", &format!("/apis/publish/{}?env_id={}", encode(&api_id), encode(&env_id)), None))?;
        }
        walk.ids.entry("api".into()).or_default().insert(format!("{gname}/{aname}"), api_id.clone());
        policies(walk, gname, &aname, &api_id, have_apis.get(&aname).copied().unwrap_or(&Value::Null), api, &is)?;
    }
    if prune {
        let want_apis = by_name(&want["apis"], "name");
        for (aname, id) in &apis_now {
            if !want_apis.contains_key(aname) {
                let was: Vec<String> = have_apis.get(aname).and_then(|b| b["published"].as_array()).into_iter().flatten().filter_map(|e| e.as_str().map(str::to_string)).collect();
                for env in was {
                    let env_id = walk.id("env", &env).unwrap_or_default();
                    walk.step(format!("< offline {gname}/{aname} in {env}"), &[], |adm| adm.json("DELETE", &format!("/apis/publish/{}?env_id={}", encode(id), encode(&env_id)), None))?;
                }
                walk.step(format!("- api {gname}/{aname}"), &[], |adm| adm.json("DELETE", &format!("/apis/{}", encode(id)), None))?;
            }
        }
        let want_sets = by_name(&want["responses"], "name");
        for (rname, id) in &set_ids {
            if rname != "default" && !want_sets.contains_key(rname) {
                walk.step(format!("- response {gname}/{rname}"), &[], |adm| adm.json("DELETE", &format!("/api-groups/{}/gateway-responses/{}", encode(gid), encode(id)), None))?;
            }
        }
        let want_domains = by_name(&want["domains"], "url_domain");
        for (dname, id) in &domain_ids {
            if !want_domains.contains_key(dname) {
                walk.step(format!("- domain {gname}/{dname}"), &[], |adm| adm.json("DELETE", &format!("/api-groups/{}/domains/{}", encode(gid), encode(id)), None))?;
            }
        }
    }
    Ok(())
}

/// The policies bound to an API's publications: per environment, the
/// throttle, the access-control lists and the signature key the files name.
fn policies(walk: &mut Walk, gname: &str, aname: &str, api_id: &str, have: &Value, want: &Value, published: &BTreeSet<String>) -> Result<(), String> {
    let envs: BTreeSet<String> = have["policies"].as_object().into_iter().flatten().chain(want["policies"].as_object().into_iter().flatten()).map(|(e, _)| e.clone()).collect();
    let names = |v: &Value, field: &str| -> BTreeSet<String> {
        match &v[field] {
            Value::String(s) => std::iter::once(s.clone()).collect(),
            Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
            _ => BTreeSet::new(),
        }
    };
    for env in envs {
        let (h, w) = (&have["policies"][&env], &want["policies"][&env]);
        // Off the environment, its bindings went with the publication.
        let online = published.contains(&env);
        for (field, kind, path, id_field) in [("throttle", "throttle", "/throttle-bindings", "strategy_id"), ("acls", "acl", "/acl-bindings", "acl_id"), ("sign", "sign", "/sign-bindings", "sign_id")] {
            let (had, wanted) = (names(h, field), if online { names(w, field) } else { BTreeSet::new() });
            for gone in had.difference(&wanted) {
                if !online {
                    continue;
                }
                let key = (kind.to_string(), gname.to_string(), aname.to_string(), env.clone(), gone.clone());
                let id = walk.bound.ids.get(&key).cloned().unwrap_or_default();
                walk.step(format!("< unbind {kind} {gone} from {gname}/{aname} in {env}"), &[], |adm| adm.json("DELETE", &format!("{path}/{}", encode(&id)), None))?;
            }
            for new in wanted.difference(&had) {
                let policy = walk.id(kind, new).unwrap_or_default();
                let env_id = walk.id("env", &env).unwrap_or_default();
                walk.step(format!("> bind {kind} {new} to {gname}/{aname} in {env}"), &[], |adm| {
                    let view = adm.get(&format!("/apis/{}", encode(api_id)))?;
                    let envs: Vec<&str> = view["run_env_id"].as_str().unwrap_or_default().split('|').collect();
                    let pubs: Vec<&str> = view["publish_id"].as_str().unwrap_or_default().split('|').collect();
                    let publish_id = envs.iter().position(|e| *e == env_id).and_then(|i| pubs.get(i)).ok_or(format!("{gname}/{aname} is not published in {env}"))?;
                    adm.json("POST", path, Some(&json!({id_field: policy, "publish_ids": [publish_id]})))
                })?;
            }
        }
    }
    Ok(())
}

/// The APIs each app may call, per environment.
fn authorizations(walk: &mut Walk, desired: &Value, prune_unlisted: bool) -> Result<(), String> {
    for (app, item) in by_name(&desired["apps"], "name") {
        let want: BTreeMap<String, BTreeSet<String>> = item["apis"].as_object().into_iter().flatten().map(|(env, l)| (env.clone(), l.as_array().into_iter().flatten().filter_map(|x| x.as_str().map(str::to_string)).collect())).collect();
        let have: BTreeMap<String, BTreeSet<String>> = walk.bound.apps.get(&app).cloned().unwrap_or_default().into_iter().map(|(e, l)| (e, l.into_iter().collect())).collect();
        let envs: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        for env in envs {
            let (w, h) = (want.get(env).cloned().unwrap_or_default(), have.get(env).cloned().unwrap_or_default());
            for api in w.difference(&h) {
                let body = json!({"app_ids": [walk.id("app", &app)], "api_ids": [walk.id("api", api)], "env_id": walk.id("env", env)});
                walk.step(format!("> authorize app {app} to call {api} in {env}"), &[], |adm| adm.json("POST", "/app-auths", Some(&body)))?;
            }
            if item.get("apis").is_none() && !prune_unlisted {
                continue;
            }
            for api in h.difference(&w) {
                let id = walk.bound.auth_ids.get(&(app.clone(), env.clone(), api.clone())).cloned().unwrap_or_default();
                walk.step(format!("< revoke app {app} from {api} in {env}"), &[], |adm| adm.json("DELETE", &format!("/app-auths/{}", encode(&id)), None))?;
            }
        }
    }
    Ok(())
}

/// Deletes what the files do not mention: groups (after their APIs), then the global sections in reverse order.
fn prune(walk: &mut Walk, schemas: &Schemas, desired: &Value, current: &Value, selected: bool) -> Result<(), String> {
    if selected {
        return Ok(());
    }
    let want_groups = by_name(&desired["groups"], "name");
    for (gname, have) in by_name(&current["groups"], "name") {
        if want_groups.contains_key(&gname) || gname == "DEFAULT" {
            continue;
        }
        let gid = walk.id("group", &gname).unwrap_or_default();
        group_parts(walk, schemas, &gname, &gid, have, &json!({"name": gname}), true)?;
        walk.step(format!("- group {gname}"), &[], |adm| adm.json("DELETE", &format!("/api-groups/{}", encode(&gid)), None))?;
    }
    for s in SECTIONS.iter().rev() {
        let want = by_name(&desired[s.key], s.name);
        for name in by_name(&current[s.key], s.name).keys() {
            if want.contains_key(name) || (s.kind == "env" && name == "RELEASE") {
                continue;
            }
            let kind = kinds::find(s.kind)?;
            let id = walk.id(s.kind, name).unwrap_or_default();
            walk.step(format!("- {} {name}", s.kind), &[], |adm| adm.json("DELETE", &kind.item_path(&id, None)?, None))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_listed_field_by_field() {
        let mut out = Vec::new();
        changes(
            &json!({"name": "a", "backend_api": {"timeout": 5000, "req_uri": "/x"}, "req_params": [{"name": "q"}], "gone": 1}),
            &json!({"name": "a", "backend_api": {"timeout": 8000, "req_uri": "/x"}, "req_params": [{"name": "r"}], "new": true}),
            "",
            &mut out,
        );
        assert_eq!(out, vec!["backend_api.timeout: 5000 → 8000", "gone: 1 → (none)", "new: (none) → true", "req_params[0].name: \"q\" → \"r\""]);
    }
}
