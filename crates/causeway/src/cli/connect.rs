//! Where the management API is and how to sign in: flags, then environment
//! variables, then a named profile of `~/.config/causeway/config.toml`, then
//! a local `causeway serve` (its admin token read from its data directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{AdminAuth, admin_call};

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9180";

/// Connection flags every management command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// A profile of the configuration file (default: its `default`, else none).
    #[arg(long, env = "CAUSEWAY_PROFILE", global = true)]
    pub profile: Option<String>,
    /// The configuration file (default: $XDG_CONFIG_HOME/causeway/config.toml or ~/.config/causeway/config.toml).
    #[arg(long, env = "CAUSEWAY_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// The admin listener, e.g. http://127.0.0.1:9180.
    #[arg(long, env = "CAUSEWAY_ENDPOINT", global = true)]
    pub endpoint: Option<String>,
    /// The admin token.
    #[arg(long, env = "CAUSEWAY_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub admin_token: Option<String>,
    /// An admin access key, to sign calls instead of sending a token.
    #[arg(long, env = "CAUSEWAY_ADMIN_ACCESS_KEY", global = true)]
    pub access_key: Option<String>,
    /// The admin access key's secret.
    #[arg(long, env = "CAUSEWAY_ADMIN_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,
    /// The data directory of a local `causeway serve`, where its admin token is.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

/// One profile of the configuration file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub endpoint: Option<String>,
    pub token: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// The profile used when none is named.
    default: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// The configuration file's default place.
pub fn default_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).filter(|p| p.is_absolute()).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("causeway").join("config.toml"))
}

/// Reads the profile `name` (or the file's default) from `path`; a missing file is no profile.
/// A file holding credentials must be readable by its owner only.
fn read_profile(path: &Path, name: Option<&str>, named_file: bool) -> Result<Profile, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named_file && name.is_none() => return Ok(Profile::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let file: ConfigFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let holds_secrets = file.profiles.values().any(|p| p.token.is_some() || p.secret_key.is_some());
    #[cfg(unix)]
    if holds_secrets {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(format!(
                "{} holds credentials and can be read by others (mode {:o}): run chmod 600 {}",
                path.display(),
                mode & 0o777,
                path.display()
            ));
        }
    }
    let _ = holds_secrets;
    match name.or(file.default.as_deref()) {
        None => Ok(Profile::default()),
        Some(n) => file.profiles.get(n).cloned().ok_or_else(|| {
            let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
            format!("{} has no profile {n:?} (it has: {})", path.display(), if known.is_empty() { "none".to_string() } else { known.join(", ") })
        }),
    }
}

/// A resolved connection to a management API.
#[derive(Debug, Clone)]
pub struct Admin {
    pub endpoint: String,
    auth: AdminAuth,
}

impl ConnectArgs {
    /// Flags and environment first, then the profile, then a local server.
    pub fn connect(&self) -> Result<Admin, String> {
        let path = match &self.config {
            Some(p) => Some(p.clone()),
            None => default_config_path(),
        };
        let profile = match &path {
            Some(p) => read_profile(p, self.profile.as_deref(), self.config.is_some())?,
            None if self.profile.is_some() => return Err("no configuration file to read the profile from (set HOME or --config)".into()),
            None => Profile::default(),
        };
        let endpoint = self.endpoint.clone().or(profile.endpoint.clone()).unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let auth = match (&self.access_key, &self.secret_key, &self.admin_token) {
            (Some(a), Some(s), _) => AdminAuth::Key { access: a.clone(), secret: s.clone() },
            (Some(_), None, _) | (None, Some(_), _) => return Err("an access key needs its secret: give both --access-key and --secret-key".into()),
            (None, None, Some(t)) => AdminAuth::Token(t.trim().to_string()),
            (None, None, None) => match (&profile.access_key, &profile.secret_key, &profile.token) {
                (Some(a), Some(s), _) => AdminAuth::Key { access: a.clone(), secret: s.clone() },
                (None, None, Some(t)) => AdminAuth::Token(t.trim().to_string()),
                (Some(_), None, _) | (None, Some(_), _) => return Err("the profile has an access key without its secret (or a secret without its key)".into()),
                (None, None, None) => {
                    let dir = self.data_dir.clone().or(profile.data_dir.clone()).unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_DATA_DIR));
                    let file = dir.join(crate::token::TOKEN_FILE);
                    let token = std::fs::read_to_string(&file).map_err(|e| {
                        format!("no admin credentials: give --admin-token or --access-key/--secret-key, a profile, or --data-dir of the server ({}: {e})", file.display())
                    })?;
                    AdminAuth::Token(token.trim().to_string())
                }
            },
        };
        Ok(Admin { endpoint, auth })
    }
}

impl Admin {
    /// A call and its status and body (any status).
    pub fn send(&self, method: &str, path_query: &str, content_type: Option<&str>, body: Vec<u8>) -> Result<(u16, Vec<u8>), String> {
        let (status, _, body) = admin_call(&self.endpoint, &self.auth, method, path_query, content_type, body)
            .map_err(|e| format!("{e} (is Causeway's admin API at {}?)", self.endpoint))?;
        Ok((status, body.to_vec()))
    }

    /// A call that must succeed; its body.
    pub fn call(&self, method: &str, path_query: &str, content_type: Option<&str>, body: Vec<u8>) -> Result<Vec<u8>, String> {
        let (status, body) = self.send(method, path_query, content_type, body)?;
        if !(200..300).contains(&status) {
            return Err(format!("{method} {path_query}: {status} {}", why(&body)));
        }
        Ok(body)
    }

    /// A JSON call under `/v1.0/apigw` that must succeed; its JSON answer (`null` when empty).
    pub fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let full = format!("/v1.0/apigw{path}");
        let bytes = match body {
            Some(b) => serde_json::to_vec(b).map_err(|e| e.to_string())?,
            None => vec![],
        };
        let answer = self.call(method, &full, body.map(|_| "application/json"), bytes)?;
        if answer.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&answer).map_err(|e| format!("{method} {full}: the answer is not JSON: {e}"))
    }

    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.json("GET", path, None)
    }

    /// Every item of a listing (`key` in each page), page after page.
    pub fn list_all(&self, path: &str, key: &str) -> Result<Vec<Value>, String> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut all = Vec::new();
        for page in 1.. {
            let answer = self.get(&format!("{path}{sep}page_size=500&page_no={page}"))?;
            let items = answer[key].as_array().cloned().unwrap_or_default();
            let total = answer["total"].as_u64().unwrap_or(0) as usize;
            let got = items.len();
            all.extend(items);
            if got == 0 || all.len() >= total {
                break;
            }
        }
        Ok(all)
    }
}

/// An error answer's code and message.
pub fn why(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .map(|v| format!("{} {}", v["error_code"].as_str().unwrap_or_default(), v["error_msg"].as_str().unwrap_or_default()))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
}

/// A value for a query string.
pub fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        path
    }

    #[test]
    fn profiles_are_read_by_name_or_default_and_guarded() {
        let dir = tempfile::tempdir().unwrap();
        let text = "default = \"local\"\n[profiles.local]\nendpoint = \"http://127.0.0.1:9180\"\n[profiles.prod]\nendpoint = \"https://admin.example.com\"\naccess_key = \"ak\"\nsecret_key = \"sk\"\n";
        let path = write(dir.path(), text, 0o600);
        assert_eq!(read_profile(&path, None, true).unwrap().endpoint.as_deref(), Some("http://127.0.0.1:9180"));
        let prod = read_profile(&path, Some("prod"), true).unwrap();
        assert_eq!((prod.access_key.as_deref(), prod.secret_key.as_deref()), (Some("ak"), Some("sk")));
        assert!(read_profile(&path, Some("staging"), true).unwrap_err().contains("has no profile \"staging\" (it has: local, prod)"));
        // Credentials readable by others: refused.
        let path = write(dir.path(), text, 0o644);
        assert!(read_profile(&path, Some("prod"), true).unwrap_err().contains("chmod 600"));
        // Without credentials the mode does not matter; unknown keys are refused.
        let path = write(dir.path(), "[profiles.local]\nendpoint = \"http://h:1\"\n", 0o644);
        assert!(read_profile(&path, Some("local"), true).is_ok());
        let path = write(dir.path(), "[profiles.local]\nendpont = \"http://h:1\"\n", 0o600);
        assert!(read_profile(&path, Some("local"), true).unwrap_err().contains("endpont"));
        // No file at the default place: no profile, unless one was asked for.
        let missing = dir.path().join("none.toml");
        assert!(read_profile(&missing, None, false).is_ok());
        assert!(read_profile(&missing, Some("x"), false).is_err());
    }
}
