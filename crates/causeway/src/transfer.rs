//! `causeway import` and `causeway export`: OpenAPI (Swagger) files in and
//! out of a running Causeway, over its management API (`/v1.0/apigw/openapi`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::Value;

use crate::client::{AdminAuth, admin_call};

/// Where the management API is and how to sign in.
#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The admin listener.
    #[arg(long, env = "CAUSEWAY_ENDPOINT", default_value = "http://127.0.0.1:9180")]
    pub endpoint: String,
    /// The admin token (default: the token file in --data-dir).
    #[arg(long, env = "CAUSEWAY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// An admin access key, to sign calls instead of sending a token.
    #[arg(long, env = "CAUSEWAY_ADMIN_ACCESS_KEY", requires = "secret_key")]
    pub access_key: Option<String>,
    /// The admin access key's secret.
    #[arg(long, env = "CAUSEWAY_ADMIN_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// The data directory of a local `causeway serve`, where its admin token is.
    #[arg(long, default_value = crate::config::DEFAULT_DATA_DIR)]
    pub data_dir: PathBuf,
}

impl AdminArgs {
    fn auth(&self) -> Result<AdminAuth, String> {
        if let (Some(access), Some(secret)) = (&self.access_key, &self.secret_key) {
            return Ok(AdminAuth::Key { access: access.clone(), secret: secret.clone() });
        }
        if let Some(t) = &self.admin_token {
            return Ok(AdminAuth::Token(t.trim().to_string()));
        }
        let path = self.data_dir.join(crate::token::TOKEN_FILE);
        std::fs::read_to_string(&path)
            .map(|t| AdminAuth::Token(t.trim().to_string()))
            .map_err(|e| format!("no admin credentials: give --admin-token or --access-key/--secret-key, or --data-dir of the server ({}: {e})", path.display()))
    }

    /// A call that must succeed; its JSON answer.
    fn call(&self, method: &str, path_query: &str, content_type: Option<&str>, body: Vec<u8>) -> Result<(Vec<u8>, http::HeaderMap), String> {
        let (status, headers, body) = admin_call(&self.endpoint, &self.auth()?, method, path_query, content_type, body)?;
        if !(200..300).contains(&status) {
            let why = serde_json::from_slice::<Value>(&body)
                .ok()
                .map(|v| format!("{} {}", v["error_code"].as_str().unwrap_or_default(), v["error_msg"].as_str().unwrap_or_default()))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(format!("{method} {path_query}: {status} {why}"));
        }
        Ok((body.to_vec(), headers))
    }

    fn json(&self, path_query: &str) -> Result<Value, String> {
        let (body, _) = self.call("GET", path_query, None, vec![])?;
        serde_json::from_slice(&body).map_err(|e| format!("GET {path_query}: not JSON: {e}"))
    }

    /// The id of a group given by id or by name.
    fn group_id(&self, group: &str) -> Result<String, String> {
        let found = self.json(&format!("/v1.0/apigw/api-groups?name={}&precise_search=name", encode(group)))?;
        if let Some(id) = found["groups"].get(0).and_then(|g| g["id"].as_str()) {
            return Ok(id.to_string());
        }
        self.json(&format!("/v1.0/apigw/api-groups/{}", encode(group)))
            .ok()
            .and_then(|g| g["id"].as_str().map(str::to_string))
            .ok_or_else(|| format!("no group named or with the id {group:?}"))
    }

    /// The id of an environment given by id or by name.
    fn env_id(&self, env: &str) -> Result<String, String> {
        let found = self.json("/v1.0/apigw/envs?page_size=500")?;
        found["envs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == env || e["id"] == env)
            .and_then(|e| e["id"].as_str().map(str::to_string))
            .ok_or_else(|| format!("no environment named or with the id {env:?}"))
    }
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Merge,
    Override,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Merge => "merge",
            Mode::Override => "override",
        }
    }
}

/// `causeway import FILE`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// A Swagger 2.0 or OpenAPI 3.0 file, JSON or YAML.
    pub file: PathBuf,
    /// Import into this group (name or id); without it a new group named by the file's `info.title`.
    #[arg(long)]
    pub group: Option<String>,
    /// APIs already in the group with the same method, path and match mode: kept, or replaced.
    #[arg(long, value_enum, default_value_t = Mode::Merge)]
    pub mode: Mode,
    /// Policies, authorizers and gateway responses of the same name: kept, or replaced.
    #[arg(long, value_enum, default_value_t = Mode::Merge)]
    pub extend_mode: Mode,
    /// Every API answers with a mock (its example), whatever backend the file names.
    #[arg(long)]
    pub mock: bool,
    /// Publish every imported API in this environment (name or id).
    #[arg(long)]
    pub publish: Option<String>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

/// `causeway export`.
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// The group (name or id).
    #[arg(long)]
    pub group: String,
    /// The environment whose published APIs are written (name or id); not needed with `--define dev`.
    #[arg(long)]
    pub env: Option<String>,
    /// `base` (frontends), `full` (+ backends), `all` (+ policies), `dev` (the drafts, everything).
    #[arg(long, default_value = "full")]
    pub define: String,
    /// OpenAPI version: 2.0 (Swagger) or 3.0.
    #[arg(long, default_value = "2.0")]
    pub oas: String,
    /// json or yaml.
    #[arg(long, default_value = "yaml")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

pub fn import(args: ImportArgs) -> Result<(), String> {
    let document = std::fs::read(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let a = &args.admin;
    let mut query = format!("extend_mode={}&mock_mode={}", args.extend_mode.as_str(), args.mock);
    if let Some(env) = &args.publish {
        query.push_str(&format!("&publish_env_id={}", encode(&a.env_id(env)?)));
    }
    let (method, path) = match &args.group {
        Some(g) => ("PUT", format!("/v1.0/apigw/openapi?group_id={}&mode={}&{query}", encode(&a.group_id(g)?), args.mode.as_str())),
        None => ("POST", format!("/v1.0/apigw/openapi?{query}")),
    };
    let content_type = if document.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') { "application/json" } else { "application/yaml" };
    let (body, _) = a.call(method, &path, Some(content_type), document)?;
    let result: Value = serde_json::from_slice(&body).map_err(|e| format!("the answer is not JSON: {e}"))?;
    let list = |key: &str| result[key].as_array().cloned().unwrap_or_default();
    for s in list("success") {
        println!("{:<7} {:<7} {}  {}", s["action"].as_str().unwrap_or_default(), s["method"].as_str().unwrap_or_default(), s["path"].as_str().unwrap_or_default(), s["id"].as_str().unwrap_or_default());
    }
    for s in list("ignore") {
        println!("kept    {:<7} {}  (already in the group)", s["method"].as_str().unwrap_or_default(), s["path"].as_str().unwrap_or_default());
    }
    let failures = list("failure");
    for f in &failures {
        eprintln!("failed  {:<7} {}  {} {}", f["method"].as_str().unwrap_or_default(), f["path"].as_str().unwrap_or_default(), f["error_code"].as_str().unwrap_or_default(), f["error_msg"].as_str().unwrap_or_default());
    }
    println!(
        "group {}: {} imported, {} kept, {} failed",
        result["group_id"].as_str().unwrap_or_default(),
        list("success").len(),
        list("ignore").len(),
        failures.len()
    );
    if failures.is_empty() { Ok(()) } else { Err(format!("{} of the file's definitions were not imported", failures.len())) }
}

pub fn export(args: ExportArgs) -> Result<(), String> {
    let a = &args.admin;
    let mut path = format!(
        "/v1.0/apigw/openapi?group_id={}&define={}&oas_version={}&type={}",
        encode(&a.group_id(&args.group)?),
        encode(&args.define),
        encode(&args.oas),
        encode(&args.format)
    );
    if let Some(env) = &args.env {
        path.push_str(&format!("&env_id={}", encode(&a.env_id(env)?)));
    }
    let (body, _) = a.call("GET", &path, None, vec![])?;
    match &args.output {
        Some(file) => std::fs::write(file, &body).map_err(|e| format!("cannot write {}: {e}", file.display())),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&body).map_err(|e| e.to_string())
        }
    }
}
