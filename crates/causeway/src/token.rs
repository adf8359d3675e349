//! The admin token: from `CAUSEWAY_ADMIN_TOKEN`, else read from the data
//! directory, else generated there (mode 0600) and printed once.

use std::path::Path;

pub const TOKEN_FILE: &str = "admin-token";

/// Where the token came from, for the start-up message.
pub enum Source {
    Environment,
    File,
    Generated,
}

pub fn load_or_create(data_dir: &Path) -> Result<(String, Source), String> {
    if let Ok(t) = std::env::var("CAUSEWAY_ADMIN_TOKEN") {
        let t = t.trim().to_string();
        if t.len() < 16 {
            return Err("CAUSEWAY_ADMIN_TOKEN must be at least 16 characters".into());
        }
        return Ok((t, Source::Environment));
    }
    let path = data_dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(t) if t.trim().len() >= 16 => return Ok((t.trim().to_string(), Source::File)),
        Ok(_) => return Err(format!("{} holds no usable token; remove it to generate a new one", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    let token = format!("{}{}", causeway_model::ids::new_id(), causeway_model::ids::new_id());
    write_private(&path, &token)?;
    Ok((token, Source::Generated))
}

/// Creates `path` readable by this user only (it must not exist yet) holding `text`.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    causeway_tls::seal::write_secret_file(path, text)
}

pub const ACCESS_KEY_FILE: &str = "admin-access-key";

/// The admin access key and secret that sign management calls: from
/// `CAUSEWAY_ADMIN_ACCESS_KEY` and `CAUSEWAY_ADMIN_SECRET_KEY`, else the data
/// directory's `admin-access-key` (key and secret on two lines), else
/// generated there (mode 0600).
pub fn load_or_create_access_key(data_dir: &Path) -> Result<(String, String, Source), String> {
    match (std::env::var("CAUSEWAY_ADMIN_ACCESS_KEY"), std::env::var("CAUSEWAY_ADMIN_SECRET_KEY")) {
        (Ok(k), Ok(s)) => {
            let (k, s) = (k.trim().to_string(), s.trim().to_string());
            if k.len() < 8 || s.len() < 16 {
                return Err("CAUSEWAY_ADMIN_ACCESS_KEY must be at least 8 characters and CAUSEWAY_ADMIN_SECRET_KEY at least 16".into());
            }
            return Ok((k, s, Source::Environment));
        }
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => {
            return Err("set both CAUSEWAY_ADMIN_ACCESS_KEY and CAUSEWAY_ADMIN_SECRET_KEY, or neither".into());
        }
        _ => {}
    }
    let path = data_dir.join(ACCESS_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            return match (lines.next(), lines.next()) {
                (Some(k), Some(s)) if k.len() >= 8 && s.len() >= 16 => Ok((k.to_string(), s.to_string(), Source::File)),
                _ => Err(format!("{} does not hold an access key and a secret on two lines; remove it to generate new ones", path.display())),
            };
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    }
    // Upper-case key and a 40-character secret, shaped like the clouds' AK/SK.
    let key = causeway_model::ids::new_id()[..20].to_ascii_uppercase();
    let secret = format!("{}{}", causeway_model::ids::new_id(), &causeway_model::ids::new_id()[..8]);
    write_private(&path, &format!("{key}\n{secret}\n"))?;
    Ok((key, secret, Source::Generated))
}
