//! This node in the installation's node list: a lasting id in the data
//! directory, and a record in the store refreshed every heartbeat (what it
//! runs, where it listens, the revision its gateway serves), marked stopped
//! when it stops cleanly.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use causeway_store::Store;
use serde_json::{Value, json};
use tokio::sync::watch;

const NODE_ID_FILE: &str = "node-id";

/// The node's id, kept in the data directory so a restart is the same node.
pub fn id(data_dir: &Path) -> Result<String, String> {
    let path = data_dir.join(NODE_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
        _ => {
            let id = causeway_model::ids::new_id();
            std::fs::write(&path, format!("{id}\n")).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Ok(id)
        }
    }
}

/// What the node says of itself, without its revision and state.
pub fn describe(id: &str, role: &str, admin: Option<String>, gateway: Option<String>, gateway_tls: Option<String>, interval: Duration) -> Value {
    json!({
        "id": id,
        "role": role,
        "version": env!("CARGO_PKG_VERSION"),
        "started_at": causeway_model::ids::now(),
        "heartbeat_ms": u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
        "admin": admin,
        "gateway": gateway,
        "gateway_tls": gateway_tls,
    })
}

/// Records the node every `interval` (and when its gateway serves a new
/// revision) until `stop` changes, then once more as stopped — unless
/// `replaced`: a new process of the same node took over and records it.
pub async fn heartbeat(
    store: Arc<dyn Store>,
    node: Value,
    mut served: Option<watch::Receiver<i64>>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
    replaced: watch::Receiver<bool>,
) {
    let id = node["id"].as_str().unwrap_or_default().to_string();
    let record = |state: &str, revision: Option<i64>| {
        let mut body = node.clone();
        body["state"] = json!(state);
        body["revision"] = revision.map_or(Value::Null, |r| json!(r));
        body
    };
    let micros = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let mut beats: u64 = 0;
    let mut failing = false;
    loop {
        let revision = served.as_mut().map(|s| *s.borrow_and_update());
        match store.put_node(&id, &record("up", revision), micros()).await {
            Ok(()) if failing => {
                tracing::info!("recording this node in the store again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "cannot record this node in the store");
                failing = true;
            }
            Err(_) => {}
        }
        // Nodes not heard of for a day leave the list.
        if beats.is_multiple_of(720) {
            let _ = store.forget_nodes(micros() - 86_400_000_000).await;
        }
        beats = beats.wrapping_add(1);
        // Also as soon as the gateway serves a new revision, so the list's lag is current.
        let newer = async {
            match served.as_mut() {
                Some(s) => {
                    if s.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = newer => {}
            _ = stop.changed() => break,
        }
    }
    if *replaced.borrow() {
        return;
    }
    let revision = served.as_mut().map(|s| *s.borrow());
    if let Err(e) = store.put_node(&id, &record("stopped", revision), micros()).await {
        tracing::warn!(error = %e, "cannot record this node as stopped");
    }
}
