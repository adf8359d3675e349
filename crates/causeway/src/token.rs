//! The admin token: from `CAUSEWAY_ADMIN_TOKEN`, else read from the data
//! directory, else generated there (mode 0600) and printed once.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
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
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(token.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((token, Source::Generated))
}
