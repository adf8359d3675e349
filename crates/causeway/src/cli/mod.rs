//! The operator's commands over the management API: `get`, `describe`,
//! `create`, `edit` and `delete` for every kind of resource (addressed by
//! name where names are unique), publishing (`publish`, `offline`,
//! `versions`, `switch-version`), `authorize`, and shell completions.

pub mod connect;
pub mod kinds;
pub mod output;
pub mod plan;
pub mod state;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use clap::Args;
use serde_json::{Map, Value, json};

use connect::{Admin, ConnectArgs, encode};
use kinds::{Kind, Scope};
use output::Format;

/// `causeway get KIND [NAME|ID]`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// group, api, env, variable, app, throttle, acl, sign, channel, authorizer, function, response, domain, certificate.
    pub kind: String,
    /// One of them, by name or id (all of them without it).
    pub key: Option<String>,
    /// The group (name or id): APIs and variables of it; needed for responses and domains.
    #[arg(long)]
    pub group: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway describe KIND NAME|ID`: the whole definition.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    pub kind: String,
    pub key: String,
    #[arg(long)]
    pub group: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Yaml)]
    pub output: Format,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway create KIND (-f FILE | --set FIELD=VALUE ...)`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    pub kind: String,
    /// The definition, YAML or JSON as the management API takes it (`-` reads standard input).
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    /// A field of the definition (repeatable; `a.b=v` reaches into objects; values read as JSON when they are).
    /// `group=NAME` and `env=NAME` stand for `group_id` and `env_id`.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// The group (name or id) it goes in: `group_id` of APIs and variables; the group of responses and domains.
    #[arg(long)]
    pub group: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway edit KIND NAME|ID [-f FILE | --set FIELD=VALUE ...]`: without either, in $EDITOR.
#[derive(Debug, Args)]
pub struct EditArgs {
    pub kind: String,
    pub key: String,
    #[arg(short = 'f', long)]
    pub file: Option<PathBuf>,
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    #[arg(long)]
    pub group: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway delete KIND NAME|ID`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    pub kind: String,
    pub key: String,
    #[arg(long)]
    pub group: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway publish API [--env ENV] [--remark TEXT]`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The API (name or id).
    pub api: String,
    /// The environment (name or id).
    #[arg(long, default_value = "RELEASE")]
    pub env: String,
    #[arg(long)]
    pub remark: Option<String>,
    /// The API's group, when its name is not unique.
    #[arg(long)]
    pub group: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway offline API [--env ENV]`.
#[derive(Debug, Args)]
pub struct OfflineArgs {
    pub api: String,
    #[arg(long, default_value = "RELEASE")]
    pub env: String,
    #[arg(long)]
    pub group: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway versions API [--env ENV]`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    pub api: String,
    #[arg(long)]
    pub env: Option<String>,
    #[arg(long)]
    pub group: Option<String>,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Format,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway switch-version API VERSION`.
#[derive(Debug, Args)]
pub struct SwitchArgs {
    pub api: String,
    /// The version's id, or its number (`versions` lists them) with `--env`.
    pub version: String,
    #[arg(long)]
    pub env: Option<String>,
    #[arg(long)]
    pub group: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// `causeway authorize APP API... [--env ENV]`.
#[derive(Debug, Args)]
pub struct AuthorizeArgs {
    /// The app (name or id).
    pub app: String,
    /// The APIs (names or ids) it may call.
    #[arg(required = true)]
    pub apis: Vec<String>,
    #[arg(long, default_value = "RELEASE")]
    pub env: String,
    #[arg(long)]
    pub group: Option<String>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

fn print(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// The group id `--group` names, if given.
fn group_of(admin: &Admin, group: Option<&str>) -> Result<Option<String>, String> {
    group.map(|g| kinds::group_id(admin, g)).transpose()
}

fn id_of(v: &Value) -> Result<String, String> {
    v["id"].as_str().map(str::to_string).ok_or_else(|| "the answer has no id".to_string())
}

/// Certificates are a domain's: addressed by the domain, in a group.
fn is_certificate(word: &str) -> bool {
    matches!(word.to_ascii_lowercase().as_str(), "certificate" | "certificates" | "cert" | "certs")
}

/// The group's domains with their certificates (`not_after` and the certificate's name).
fn certificates(admin: &Admin, group: Option<&str>) -> Result<(String, Vec<Value>), String> {
    let gid = group_of(admin, group)?.ok_or("certificates belong to a group's domains: give --group")?;
    let g = admin.get(&format!("/api-groups/{}", encode(&gid)))?;
    let mut rows = Vec::new();
    for d in g["url_domains"].as_array().into_iter().flatten() {
        let mut row = json!({"domain": d["domain"], "domain_id": d["id"], "name": d["ssl_name"], "id": d["ssl_id"]});
        if let (Some(did), Some(cid)) = (d["id"].as_str(), d["ssl_id"].as_str()) {
            let c = admin.get(&format!("/api-groups/{}/domains/{}/certificate/{}", encode(&gid), encode(did), encode(cid)))?;
            row = json!({"domain": d["domain"], "domain_id": did, "name": c["name"], "id": cid, "common_name": c["common_name"], "san": c["san"], "not_after": c["not_after"], "cert_content": c["cert_content"]});
        }
        rows.push(row);
    }
    Ok((gid, rows))
}

const CERT_COLUMNS: &[(&str, &str)] = &[("DOMAIN", "domain"), ("CERTIFICATE", "name"), ("EXPIRES", "not_after"), ("ID", "id")];

fn certificate_of<'a>(rows: &'a [Value], key: &str) -> Result<&'a Value, String> {
    rows.iter().find(|r| r["domain"] == key || r["domain_id"] == key || r["id"] == key).ok_or_else(|| format!("no domain {key:?} in the group"))
}

pub fn get(a: GetArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    if is_certificate(&a.kind) {
        let (_, rows) = certificates(&admin, a.group.as_deref())?;
        let rows: Vec<Value> = match &a.key {
            Some(k) => vec![certificate_of(&rows, k)?.clone()],
            None => rows,
        };
        print(&output::listing(a.output, CERT_COLUMNS, &rows)?);
        return Ok(());
    }
    let kind = kinds::find(&a.kind)?;
    let group = group_of(&admin, a.group.as_deref())?;
    match &a.key {
        Some(key) => {
            let item = kind.find(&admin, key, group.as_deref())?;
            print(&match a.output {
                Format::Table => output::table(kind.columns, std::slice::from_ref(&item)),
                other => output::document(other, &item)?,
            });
        }
        None => print(&output::listing(a.output, kind.columns, &kind.list(&admin, group.as_deref())?)?),
    }
    Ok(())
}

pub fn describe(a: DescribeArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    if is_certificate(&a.kind) {
        let (_, rows) = certificates(&admin, a.group.as_deref())?;
        print(&output::document(if a.output == Format::Table { Format::Yaml } else { a.output }, certificate_of(&rows, &a.key)?)?);
        return Ok(());
    }
    let kind = kinds::find(&a.kind)?;
    let group = group_of(&admin, a.group.as_deref())?;
    let item = kind.find(&admin, &a.key, group.as_deref())?;
    print(&output::document(if a.output == Format::Table { Format::Yaml } else { a.output }, &item)?);
    Ok(())
}

/// A definition read from a file (`-`: standard input), YAML or JSON.
fn read_definition(file: &PathBuf) -> Result<Value, String> {
    let text = if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| format!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?
    };
    parse_definition(&text).map_err(|e| format!("{}: {e}", file.display()))
}

pub fn parse_definition(text: &str) -> Result<Value, String> {
    let v: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?
    };
    if !v.is_object() {
        return Err("a definition is a mapping of fields".into());
    }
    Ok(v)
}

/// Applies `FIELD=VALUE` settings to `body`.
pub fn apply_settings(body: &mut Value, settings: &[String]) -> Result<(), String> {
    for s in settings {
        let (path, raw) = s.split_once('=').ok_or_else(|| format!("--set {s:?}: expected FIELD=VALUE"))?;
        if path.is_empty() {
            return Err(format!("--set {s:?}: the field is empty"));
        }
        // `@FILE`: the file's text; JSON where it reads as JSON (numbers, true/false, null, lists, objects, "quoted"), else the text.
        let value = match raw.strip_prefix('@').filter(|f| !f.is_empty()) {
            Some(file) => Value::String(std::fs::read_to_string(file).map_err(|e| format!("--set {path}=@{file}: cannot read {file}: {e}"))?),
            None => serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string())),
        };
        let parts: Vec<&str> = path.split('.').collect();
        let Some((last, parents)) = parts.split_last() else { continue };
        let mut at = &mut *body;
        for part in parents {
            if !at.is_object() {
                *at = Value::Object(Map::new());
            }
            at = match at {
                Value::Object(map) => map.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new())),
                _ => return Err(format!("--set {s:?}: {part} is not an object")),
            };
        }
        if !at.is_object() {
            *at = Value::Object(Map::new());
        }
        if let Value::Object(map) = at {
            map.insert(last.to_string(), value);
        }
    }
    Ok(())
}

/// `group` and `env` by name become `group_id` and `env_id`.
fn resolve_names(admin: &Admin, body: &mut Value) -> Result<(), String> {
    let Some(map) = body.as_object_mut() else { return Ok(()) };
    if let Some(Value::String(g)) = map.remove("group") {
        map.insert("group_id".into(), json!(kinds::group_id(admin, &g)?));
    }
    if let Some(Value::String(e)) = map.remove("env") {
        map.insert("env_id".into(), json!(kinds::env_id(admin, &e)?));
    }
    Ok(())
}

pub fn create(a: CreateArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let mut body = match &a.file {
        Some(f) => read_definition(f)?,
        None if a.set.is_empty() => return Err("give the definition: -f FILE, or --set FIELD=VALUE".into()),
        None => json!({}),
    };
    apply_settings(&mut body, &a.set)?;
    if is_certificate(&a.kind) {
        // Uploaded for a domain (replacing the one it has): `domain`, `name`, `cert_content`, `private_key` (`@FILE` reads them).
        let (gid, rows) = certificates(&admin, a.group.as_deref())?;
        let domain = body.as_object_mut().and_then(|m| m.remove("domain")).and_then(|d| d.as_str().map(str::to_string)).ok_or("give the domain: --set domain=NAME")?;
        let did = certificate_of(&rows, &domain)?["domain_id"].as_str().unwrap_or_default().to_string();
        admin.json("POST", &format!("/api-groups/{}/domains/{}/certificate", encode(&gid), encode(&did)), Some(&body))?;
        println!("certificate {} uploaded for {domain}", body["name"].as_str().unwrap_or_default());
        return Ok(());
    }
    let kind = kinds::find(&a.kind)?;
    resolve_names(&admin, &mut body)?;
    let group = group_of(&admin, a.group.as_deref())?;
    if let (Some(g), Scope::Global, Some(_)) = (&group, kind.scope, kind.group_filter) {
        body["group_id"] = json!(g);
    }
    let made = admin.json("POST", &kind.collection(group.as_deref())?, Some(&body))?;
    print(&match a.output {
        Format::Table => format!("{} {} created ({})\n", kind.name, made[kind.name_field].as_str().or(made["url_domain"].as_str()).unwrap_or_default(), made["id"].as_str().unwrap_or_default()),
        other => output::document(other, &made)?,
    });
    Ok(())
}

pub fn edit(a: EditArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let kind = kinds::find(&a.kind)?;
    let group = group_of(&admin, a.group.as_deref())?;
    let current = kind.find(&admin, &a.key, group.as_deref())?;
    let id = id_of(&current)?;
    let mut body = match &a.file {
        Some(f) => read_definition(f)?,
        None if a.set.is_empty() => in_editor(kind, &current)?,
        None => current.clone(),
    };
    apply_settings(&mut body, &a.set)?;
    resolve_names(&admin, &mut body)?;
    if body == current {
        println!("{} {}: nothing changed", kind.name, a.key);
        return Ok(());
    }
    let changed = admin.json("PUT", &kind.item_path(&id, group.as_deref())?, Some(&body))?;
    print(&match a.output {
        Format::Table => format!("{} {} changed\n", kind.name, a.key),
        other => output::document(other, &changed)?,
    });
    Ok(())
}

/// The definition opened in `$VISUAL`/`$EDITOR` (vi) as YAML; what was saved.
fn in_editor(kind: &Kind, current: &Value) -> Result<Value, String> {
    if !std::io::stdin().is_terminal() {
        return Err("nothing to change: give -f FILE or --set FIELD=VALUE (an editor needs a terminal)".into());
    }
    let editor = std::env::var("VISUAL").or_else(|_| std::env::var("EDITOR")).unwrap_or_else(|_| "vi".into());
    let dir = std::env::temp_dir().join(format!("causeway-edit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join(format!("{}.yaml", kind.name));
    std::fs::write(&file, output::document(Format::Yaml, current)?).map_err(|e| e.to_string())?;
    let status = std::process::Command::new("sh").arg("-c").arg(format!("{editor} \"$1\"")).arg("sh").arg(&file).status().map_err(|e| format!("cannot run {editor}: {e}"))?;
    let edited = std::fs::read_to_string(&file).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    if !status.success() {
        return Err(format!("{editor} exited with {status}: nothing changed"));
    }
    parse_definition(&edited?)
}

pub fn delete(a: DeleteArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    if is_certificate(&a.kind) {
        let (gid, rows) = certificates(&admin, a.group.as_deref())?;
        let row = certificate_of(&rows, &a.key)?;
        let (did, cid) = (row["domain_id"].as_str().unwrap_or_default(), row["id"].as_str().ok_or_else(|| format!("{} has no certificate", a.key))?);
        admin.json("DELETE", &format!("/api-groups/{}/domains/{}/certificate/{}", encode(&gid), encode(did), encode(cid)), None)?;
        println!("certificate of {} deleted", a.key);
        return Ok(());
    }
    let kind = kinds::find(&a.kind)?;
    let group = group_of(&admin, a.group.as_deref())?;
    let item = kind.find(&admin, &a.key, group.as_deref())?;
    admin.json("DELETE", &kind.item_path(&id_of(&item)?, group.as_deref())?, None)?;
    println!("{} {} deleted", kind.name, a.key);
    Ok(())
}

/// The API `key` names (in `group` when given).
fn api(admin: &Admin, key: &str, group: Option<&str>) -> Result<Value, String> {
    let group = group_of(admin, group)?;
    kinds::find("api")?.find(admin, key, group.as_deref())
}

pub fn publish(a: PublishArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let api = api(&admin, &a.api, a.group.as_deref())?;
    let env_id = kinds::env_id(&admin, &a.env)?;
    let done = admin.json("POST", &format!("/apis/publish/{}", encode(&id_of(&api)?)), Some(&json!({"env_id": env_id, "remark": a.remark})))?;
    println!("{} published in {} (version {})", a.api, a.env, done["version_id"].as_str().unwrap_or_default());
    Ok(())
}

pub fn offline(a: OfflineArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let api = api(&admin, &a.api, a.group.as_deref())?;
    let env_id = kinds::env_id(&admin, &a.env)?;
    admin.json("DELETE", &format!("/apis/publish/{}?env_id={}", encode(&id_of(&api)?), encode(&env_id)), None)?;
    println!("{} taken offline in {}", a.api, a.env);
    Ok(())
}

pub fn versions(a: VersionsArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let api = api(&admin, &a.api, a.group.as_deref())?;
    let mut path = format!("/apis/publish/{}", encode(&id_of(&api)?));
    if let Some(env) = &a.env {
        path.push_str(&format!("?env_id={}", encode(&kinds::env_id(&admin, env)?)));
    }
    let rows = admin.list_all(&path, "api_versions")?;
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|mut v| {
            v["state"] = json!(if v["status"] == 1 { "effective" } else { "earlier" });
            v
        })
        .collect();
    let columns = [("VERSION", "version_no"), ("ID", "version_id"), ("ENV", "env_name"), ("PUBLISHED", "publish_time"), ("STATE", "state"), ("REMARK", "remark")];
    print(&output::listing(a.output, &columns, &rows)?);
    Ok(())
}

pub fn switch_version(a: SwitchArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let api = api(&admin, &a.api, a.group.as_deref())?;
    let api_id = id_of(&api)?;
    let mut path = format!("/apis/publish/{}", encode(&api_id));
    if let Some(env) = &a.env {
        path.push_str(&format!("?env_id={}", encode(&kinds::env_id(&admin, env)?)));
    }
    let history = admin.list_all(&path, "api_versions")?;
    let matching: Vec<&Value> = history.iter().filter(|v| v["version_id"] == a.version.as_str() || v["version_no"] == a.version.as_str()).collect();
    let version = match matching.as_slice() {
        [one] => one["version_id"].as_str().unwrap_or_default().to_string(),
        [] => return Err(format!("{} has no version {:?}{}", a.api, a.version, a.env.as_ref().map(|e| format!(" in {e}")).unwrap_or_default())),
        many => {
            let ids: Vec<String> = many.iter().map(|v| format!("{} ({})", v["version_id"].as_str().unwrap_or_default(), v["env_name"].as_str().unwrap_or_default())).collect();
            return Err(format!("{} versions are numbered {:?}: name one by its id: {}", many.len(), a.version, ids.join(", ")));
        }
    };
    admin.json("PUT", &format!("/apis/publish/{}", encode(&api_id)), Some(&json!({"version_id": version})))?;
    println!("{}: version {} is effective", a.api, a.version);
    Ok(())
}

pub fn authorize(a: AuthorizeArgs) -> Result<(), String> {
    let admin = a.connect.connect()?;
    let app = kinds::find("app")?.find(&admin, &a.app, None)?;
    let env_id = kinds::env_id(&admin, &a.env)?;
    let api_ids = a.apis.iter().map(|k| api(&admin, k, a.group.as_deref()).and_then(|v| id_of(&v))).collect::<Result<Vec<_>, _>>()?;
    admin.json("POST", "/app-auths", Some(&json!({"app_ids": [id_of(&app)?], "api_ids": api_ids, "env_id": env_id})))?;
    println!("{} may call {} in {}", a.app, a.apis.join(", "), a.env);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_reach_into_objects_and_read_json() {
        let mut body = json!({"name": "x", "backend_api": {"timeout": 1}});
        apply_settings(&mut body, &["backend_api.url_domain=10.0.0.1:80".into(), "backend_api.timeout=5000".into(), "cors=true".into(), "tags=[\"a\",\"b\"]".into(), "remark=a=b".into(), "n=\"7\"".into()]).unwrap();
        assert_eq!(body, json!({"name": "x", "backend_api": {"timeout": 5000, "url_domain": "10.0.0.1:80"}, "cors": true, "tags": ["a", "b"], "remark": "a=b", "n": "7"}));
        assert!(apply_settings(&mut body, &["novalue".into()]).unwrap_err().contains("FIELD=VALUE"));
        assert!(apply_settings(&mut body, &["=x".into()]).is_err());
    }

    #[test]
    fn definitions_are_yaml_or_json_mappings() {
        assert_eq!(parse_definition("name: shop\nremark: main\n").unwrap(), json!({"name": "shop", "remark": "main"}));
        assert_eq!(parse_definition("{\"name\": \"shop\"}").unwrap(), json!({"name": "shop"}));
        assert!(parse_definition("- a\n- b\n").unwrap_err().contains("mapping"));
        assert!(parse_definition("name: [").is_err());
    }
}
