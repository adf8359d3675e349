//! `causeway rotate-secret-key`: seals every secret in the store again with a
//! new installation key, then puts the new key in place. Run it with every
//! node stopped (a node still on the old key cannot open what was re-sealed).
//!
//! Order, so that no crash loses the secrets: the new key is written to
//! `secret-key.new` and flushed; the store is re-sealed in one transaction;
//! only then is `secret-key` replaced (the old one kept as `secret-key.old`).

use causeway_tls::Sealer;
use causeway_tls::seal::{KeySource, SECRET_KEY_FILE, new_secret, write_secret_file};
use serde_json::Value;

use crate::config::Settings;

/// The kinds whose documents hold sealed values: the sealing store's, certificates' private keys, admin AK/SK secrets.
const KINDS: &[&str] = &["app", "app_code", "sign_key", "iam_issuer", "domain", "admin_credential"];

pub async fn run(settings: Settings) -> Result<(), String> {
    let dir = &settings.data_dir;
    let (old, source) = Sealer::load_existing(dir)?;
    let (new_secret, from_env) = match std::env::var("CAUSEWAY_NEW_SECRET_KEY") {
        Ok(s) if s.trim().len() >= 16 => (s.trim().to_string(), true),
        Ok(_) => return Err("CAUSEWAY_NEW_SECRET_KEY must be at least 16 characters".into()),
        Err(_) => (new_secret()?, false),
    };
    let new = Sealer::from_secret(&new_secret);
    let staged = dir.join(format!("{SECRET_KEY_FILE}.new"));
    if source == KeySource::File {
        if staged.exists() {
            return Err(format!("{} exists: an earlier rotation did not finish; see docs/security.md", staged.display()));
        }
        write_secret_file(&staged, &new_secret)?;
    }

    let store = causeway_store::open(&settings.store).await.map_err(|e| format!("cannot open the store: {e}"))?;
    let resealed = reseal(&*store, &old, &new).await;
    store.close().await;
    let resealed = match resealed {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(e);
        }
    };

    match source {
        KeySource::File => {
            let current = dir.join(SECRET_KEY_FILE);
            let kept = dir.join(format!("{SECRET_KEY_FILE}.old"));
            std::fs::rename(&current, &kept).map_err(|e| format!("cannot move {} aside: {e}; the new key is in {}", current.display(), staged.display()))?;
            std::fs::rename(&staged, &current).map_err(|e| format!("cannot put the new key in place: {e}; it is in {}", staged.display()))?;
            println!(
                "Secret key rotated: {resealed} sealed values sealed again. The new key is in {}; copy it to every node sharing this store. The old one is in {} (delete it when no backup needs it).",
                current.display(),
                kept.display()
            );
        }
        KeySource::Environment | KeySource::Generated if from_env => {
            println!("Secret key rotated: {resealed} sealed values sealed again. Set CAUSEWAY_SECRET_KEY to the value of CAUSEWAY_NEW_SECRET_KEY on every node before starting it.");
        }
        KeySource::Environment | KeySource::Generated => {
            println!("Secret key rotated: {resealed} sealed values sealed again. Set CAUSEWAY_SECRET_KEY on every node to the new key before starting it:\n{new_secret}");
        }
    }
    Ok(())
}

/// Opens every sealed value of the store with `old` and seals it with `new`, in one transaction.
async fn reseal(store: &dyn causeway_store::Store, old: &Sealer, new: &Sealer) -> Result<u64, String> {
    let failed = |e: causeway_store::StoreError| format!("store: {e}");
    let mut tx = store.begin().await.map_err(failed)?;
    let mut count = 0;
    for kind in KINDS {
        for doc in tx.list(kind, None).await.map_err(failed)? {
            let mut body = doc.body.clone();
            let n = reseal_values(&mut body, old, new).map_err(|e| format!("{kind}/{}: {e}", doc.id))?;
            if n > 0 {
                tx.replace_body(kind, &doc.id, &body).await.map_err(failed)?;
                count += n;
            }
        }
    }
    tx.commit().await.map_err(failed)?;
    Ok(count as u64)
}

/// Re-seals the sealed strings (`v1:…`) anywhere in `v`; how many.
fn reseal_values(v: &mut Value, old: &Sealer, new: &Sealer) -> Result<usize, String> {
    match v {
        Value::String(s) if s.starts_with("v1:") => {
            let Ok(clear) = old.open(s) else { return Ok(0) };
            *s = new.seal(&clear)?;
            Ok(1)
        }
        Value::Object(m) => m.values_mut().map(|c| reseal_values(c, old, new)).sum(),
        Value::Array(a) => a.iter_mut().map(|c| reseal_values(c, old, new)).sum(),
        _ => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_anywhere_are_sealed_again() {
        let (old, new) = (Sealer::from_secret("the-old-secret-key-0"), Sealer::from_secret("the-new-secret-key-1"));
        let mut body = serde_json::json!({
            "app_secret": {"sealed": old.seal(b"s1").unwrap()},
            "certificate": {"sealed_private_key": old.seal(b"pem").unwrap()},
            "note": "v1:not sealed at all",
            "list": [old.seal(b"s2").unwrap(), 3]
        });
        assert_eq!(reseal_values(&mut body, &old, &new).unwrap(), 3);
        assert_eq!(new.open(body["app_secret"]["sealed"].as_str().unwrap()).unwrap(), b"s1");
        assert_eq!(new.open(body["certificate"]["sealed_private_key"].as_str().unwrap()).unwrap(), b"pem");
        assert_eq!(new.open(body["list"][0].as_str().unwrap()).unwrap(), b"s2");
        assert_eq!(body["note"], "v1:not sealed at all");
        assert!(old.open(body["app_secret"]["sealed"].as_str().unwrap()).is_err());
    }
}
