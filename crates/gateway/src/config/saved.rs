//! The last good published state, saved in the data directory so a node
//! can start serving while the store cannot be reached, and catch up from
//! its revision once it can.
//!
//! The file holds the mirrored documents (certificates' keys still sealed
//! as the store keeps them) and is sealed as a whole with the
//! installation's secret key, since it also holds app secrets that the
//! store keeps sealed field by field. It is written atomically (a temporary
//! file renamed over it), at most once a second, off the serving threads.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::config::source::Source;

/// The file's name in the data directory.
pub const FILE: &str = "published-snapshot.sealed";
/// Bumped when the file's layout changes: an older layout is ignored.
const FORMAT: u32 = 1;
/// Saves are at most this often (a burst of publishes is saved once).
const EVERY: Duration = Duration::from_secs(1);

/// Where the snapshot is saved and what seals it.
#[derive(Clone)]
pub struct SavedSnapshot {
    pub path: PathBuf,
    pub sealer: Arc<causeway_tls::Sealer>,
}

/// The file's content before sealing.
#[derive(Serialize, Deserialize)]
struct Saved<S> {
    format: u32,
    revision: i64,
    saved_at: String,
    source: S,
}

/// What a node starts from when the store cannot be reached.
pub struct Loaded {
    pub revision: i64,
    pub saved_at: String,
    pub source: Source,
}

/// The published state to save: its revision and its documents.
pub type ToSave = Option<Arc<(i64, Source)>>;

impl SavedSnapshot {
    /// Writes `source` at `revision` (blocking: serialises, seals, writes and syncs).
    pub fn save(&self, revision: i64, source: &Source) -> Result<(), String> {
        let saved = Saved { format: FORMAT, revision, saved_at: causeway_model::ids::now(), source };
        let json = serde_json::to_vec(&saved).map_err(|e| format!("cannot encode the snapshot: {e}"))?;
        let sealed = self.sealer.seal(&json)?;
        let tmp = self.path.with_extension("tmp");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            file.write_all(sealed.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    /// The saved state, `None` if nothing was saved (or in an older layout).
    pub fn load(&self) -> Result<Option<Loaded>, String> {
        let sealed = match std::fs::read_to_string(&self.path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display())),
        };
        let json = self.sealer.open(sealed.trim()).map_err(|e| format!("{}: {e}", self.path.display()))?;
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_slice(&json).map_err(|e| format!("{}: {e}", self.path.display()))?;
        if format.format != FORMAT {
            tracing::warn!(file = %self.path.display(), format = format.format, "ignoring a saved snapshot of another layout");
            return Ok(None);
        }
        let saved: Saved<Source> = serde_json::from_slice(&json).map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(Some(Loaded { revision: saved.revision, saved_at: saved.saved_at, source: saved.source }))
    }

    /// Saves each state `latest` is given, at most once every second, until
    /// the sender is dropped; the last one is saved before it returns.
    pub async fn run(self, mut latest: watch::Receiver<ToSave>) {
        let mut saved_revision = None;
        loop {
            let state = latest.borrow_and_update().clone();
            if let Some(state) = state.filter(|s| saved_revision != Some(s.0)) {
                let this = self.clone();
                let revision = state.0;
                match tokio::task::spawn_blocking(move || this.save(state.0, &state.1)).await {
                    Ok(Ok(())) => {
                        saved_revision = Some(revision);
                        tracing::debug!(revision, "published snapshot saved");
                    }
                    Ok(Err(e)) => tracing::warn!(error = %e, "cannot save the published snapshot (a restart while the store is down could not serve)"),
                    Err(e) => tracing::warn!(error = %e, "saving the published snapshot failed"),
                }
                tokio::time::sleep(EVERY).await;
            }
            // A closed channel still holds the last state: saved above before returning.
            if latest.changed().await.is_err() && latest.borrow().as_ref().is_none_or(|s| saved_revision == Some(s.0)) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::acl::{Acl, AclEntity, AclType};

    #[test]
    fn a_saved_snapshot_reads_back_whole_and_sealed() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Arc::new(causeway_tls::Sealer::from_secret("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        let saved = SavedSnapshot { path: dir.path().join(FILE), sealer: sealer.clone() };
        assert!(saved.load().unwrap().is_none(), "nothing saved yet");
        let mut source = Source::default();
        let acl = Acl {
            id: "a1".into(),
            acl_name: "office-secret-name".into(),
            acl_type: AclType::Deny,
            entity_type: AclEntity::Ip,
            acl_value: "10.0.0.1".into(),
            create_time: String::new(),
            update_time: String::new(),
        };
        source.acls.insert("a1".into(), acl.clone());
        source.fetched_jwks.insert("https://issuer/jwks".into(), serde_json::json!({"keys": []}));
        saved.save(42, &source).unwrap();

        let on_disk = std::fs::read(dir.path().join(FILE)).unwrap();
        assert!(!on_disk.windows(18).any(|w| w == b"office-secret-name"), "the file is sealed");
        let loaded = saved.load().unwrap().expect("saved");
        assert_eq!(loaded.revision, 42);
        assert_eq!(loaded.source.acls.get("a1"), Some(&acl));
        assert_eq!(loaded.source.fetched_jwks.len(), 1);

        // Another installation's key cannot open it.
        let other = SavedSnapshot { path: dir.path().join(FILE), sealer: Arc::new(causeway_tls::Sealer::from_secret("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")) };
        assert!(other.load().is_err());
    }
}
