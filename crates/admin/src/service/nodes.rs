//! The nodes of an installation, as each records itself in the store every
//! few seconds: what it runs, where it listens, which store revision its
//! gateway serves. A node that stopped cleanly says so; one that has not
//! been heard of for three of its heartbeats is silent.

use serde::Serialize;
use serde_json::Value;

use super::{Page, Paging, Service, system};
use causeway_model::Result;

/// A node as listed.
#[derive(Debug, Clone, Serialize)]
pub struct NodeView {
    #[serde(flatten)]
    pub reported: serde_json::Map<String, Value>,
    /// When it last recorded itself (RFC 3339).
    pub last_heartbeat: String,
    /// `up`, `silent` (not heard of for three heartbeats) or `stopped`.
    pub status: &'static str,
    /// Store revisions its gateway is behind (nodes with a gateway).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
}

fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn rfc3339(micros: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl Service {
    /// Records this node (what `body` says of it), now.
    pub async fn record_node(&self, id: &str, body: &Value) -> Result<()> {
        self.store.put_node(id, body, now_micros()).await.map_err(system)
    }

    /// Forgets nodes not heard of for a day.
    pub async fn forget_old_nodes(&self) -> Result<u64> {
        self.store.forget_nodes(now_micros() - 86_400_000_000).await.map_err(system)
    }

    /// `GET /nodes`: every node, with its state and lag.
    pub async fn list_nodes(&self, paging: &Paging) -> Result<Page<NodeView>> {
        let revision = self.store.revision().await.map_err(system)?;
        let now = now_micros();
        let nodes = self.store.nodes().await.map_err(system)?;
        let views = nodes
            .into_iter()
            .map(|(body, heartbeat)| {
                let interval_ms = body["heartbeat_ms"].as_i64().unwrap_or(5_000).max(1);
                let status = if body["state"] == "stopped" {
                    "stopped"
                } else if now - heartbeat > interval_ms * 3_000 {
                    "silent"
                } else {
                    "up"
                };
                let lag = body["revision"].as_i64().map(|r| (revision - r).max(0));
                let reported = match body {
                    Value::Object(m) => m,
                    _ => serde_json::Map::new(),
                };
                NodeView { reported, last_heartbeat: rfc3339(heartbeat), status, lag }
            })
            .collect();
        Ok(Page::of(views, paging))
    }
}
