//! `causeway import` and `causeway export`: OpenAPI (Swagger) files in and
//! out of a running Causeway, over its management API (`/v1.0/apigw/openapi`).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::Value;

use crate::cli::connect::{ConnectArgs, encode};
use crate::cli::kinds::{env_id, group_id};

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
    pub connect: ConnectArgs,
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
    pub connect: ConnectArgs,
}

pub fn import(args: ImportArgs) -> Result<(), String> {
    let document = std::fs::read(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let a = args.connect.connect()?;
    let mut query = format!("extend_mode={}&mock_mode={}", args.extend_mode.as_str(), args.mock);
    if let Some(env) = &args.publish {
        query.push_str(&format!("&publish_env_id={}", encode(&env_id(&a, env)?)));
    }
    let (method, path) = match &args.group {
        Some(g) => ("PUT", format!("/v1.0/apigw/openapi?group_id={}&mode={}&{query}", encode(&group_id(&a, g)?), args.mode.as_str())),
        None => ("POST", format!("/v1.0/apigw/openapi?{query}")),
    };
    let content_type = if document.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') { "application/json" } else { "application/yaml" };
    let body = a.call(method, &path, Some(content_type), document)?;
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
    let a = args.connect.connect()?;
    let mut path = format!(
        "/v1.0/apigw/openapi?group_id={}&define={}&oas_version={}&type={}",
        encode(&group_id(&a, &args.group)?),
        encode(&args.define),
        encode(&args.oas),
        encode(&args.format)
    );
    if let Some(env) = &args.env {
        path.push_str(&format!("&env_id={}", encode(&env_id(&a, env)?)));
    }
    let body = a.call("GET", &path, None, vec![])?;
    match &args.output {
        Some(file) => std::fs::write(file, &body).map_err(|e| format!("cannot write {}: {e}", file.display())),
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&body).map_err(|e| e.to_string())
        }
    }
}
