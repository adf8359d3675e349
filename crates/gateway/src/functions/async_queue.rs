//! Asynchronous invocations (`invocation_type` `async`): the invocation is
//! stored before the caller gets `202 {"request_id"}`; the runner
//! (`async_runner`) claims stored invocations (a lease, so a crashed node's
//! work is taken over), runs them with retries and records the outcome. An
//! invocation that succeeded is never run again.

use std::sync::Arc;
use std::time::Duration;

use causeway_model::function::{FunctionInvocation, InvocationStatus};
use causeway_model::{ids, kinds};
use causeway_store::{NewDocument, Store, StoreError};
use tokio::sync::Notify;

use crate::http::error::{GatewayError, errors};

/// Time a claimed invocation may run past its timeout before another node may take it.
const LEASE_MARGIN_MS: i64 = 2000;

/// Where asynchronous invocations are stored, and the task that runs them.
#[derive(Clone)]
pub struct AsyncQueue {
    pub store: Arc<dyn Store>,
    pub wake: Arc<Notify>,
    /// How long finished invocations are kept.
    pub retention: Duration,
}

impl std::fmt::Debug for AsyncQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncQueue").finish_non_exhaustive()
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn store_failed(e: StoreError) -> GatewayError {
    tracing::error!(error = %e, "cannot store an asynchronous invocation");
    errors::BACKEND_UNAVAILABLE.with_message("The invocation could not be queued".into())
}

pub(super) async fn save(store: &dyn Store, inv: &FunctionInvocation) -> Result<(), StoreError> {
    let body = serde_json::to_value(inv).unwrap_or_default();
    let mut tx = store.begin().await?;
    tx.put(NewDocument { kind: kinds::FUNCTION_INVOCATION, id: &inv.request_id, parent: Some(inv.status.as_str()), keys: Vec::new(), body: &body }).await?;
    tx.commit().await?;
    Ok(())
}

impl AsyncQueue {
    /// Stores the invocation (durably, before the caller is answered) and wakes the runner.
    pub async fn enqueue(&self, function_urn: &str, target: &str, request_id: &str, event: String, timeout_ms: u32, retries: u32) -> Result<(), GatewayError> {
        let now = ids::now();
        let inv = FunctionInvocation {
            request_id: request_id.to_string(),
            function_urn: function_urn.to_string(),
            target: target.to_string(),
            event,
            timeout_ms,
            status: InvocationStatus::Pending,
            attempts: 0,
            max_attempts: retries + 1,
            result: None,
            error: None,
            lease_until: 0,
            create_time: now.clone(),
            update_time: now,
        };
        save(&*self.store, &inv).await.map_err(store_failed)?;
        self.wake.notify_one();
        Ok(())
    }

    /// Takes up to `n` invocations that are pending, or running on a lease
    /// that ran out, marking them running on a new lease.
    pub(super) async fn claim(&self, n: usize) -> Result<Vec<FunctionInvocation>, StoreError> {
        let now = unix_ms();
        let mut candidates = self.store.list(kinds::FUNCTION_INVOCATION, Some(InvocationStatus::Pending.as_str())).await?;
        candidates.extend(self.store.list(kinds::FUNCTION_INVOCATION, Some(InvocationStatus::Running.as_str())).await?);
        let mut claimed = Vec::new();
        for doc in candidates {
            if claimed.len() >= n {
                break;
            }
            // Checked again inside the (serialised) transaction: another node may have taken it.
            let mut tx = self.store.begin().await?;
            let Some(doc) = tx.get(kinds::FUNCTION_INVOCATION, &doc.id).await? else { continue };
            let Ok(mut inv) = serde_json::from_value::<FunctionInvocation>(doc.body) else { continue };
            let free = inv.status == InvocationStatus::Pending || (inv.status == InvocationStatus::Running && inv.lease_until < now);
            if !free {
                continue;
            }
            inv.status = InvocationStatus::Running;
            inv.attempts += 1;
            inv.lease_until = now + i64::from(inv.timeout_ms) + LEASE_MARGIN_MS;
            inv.update_time = ids::now();
            let body = serde_json::to_value(&inv).unwrap_or_default();
            tx.put(NewDocument { kind: kinds::FUNCTION_INVOCATION, id: &inv.request_id, parent: Some(inv.status.as_str()), keys: Vec::new(), body: &body }).await?;
            tx.commit().await?;
            claimed.push(inv);
        }
        Ok(claimed)
    }
}

/// Finished invocations deleted per transaction.
const PRUNE_BATCH: usize = 500;

impl AsyncQueue {
    /// Deletes succeeded and failed invocations last changed before the retention period.
    pub(super) async fn prune(&self) -> Result<usize, StoreError> {
        let cutoff = time::OffsetDateTime::now_utc() - self.retention;
        let mut expired = Vec::new();
        for status in [InvocationStatus::Succeeded, InvocationStatus::Failed] {
            for doc in self.store.list(kinds::FUNCTION_INVOCATION, Some(status.as_str())).await? {
                let changed = doc.body.get("update_time").and_then(|t| t.as_str()).and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
                if changed.is_none_or(|t| t < cutoff) {
                    expired.push(doc.id);
                }
            }
        }
        for chunk in expired.chunks(PRUNE_BATCH) {
            let mut tx = self.store.begin().await?;
            for id in chunk {
                tx.delete(kinds::FUNCTION_INVOCATION, id).await?;
            }
            tx.commit().await?;
        }
        Ok(expired.len())
    }

    /// How often finished invocations are looked for: a quarter of the retention, within 1 s..1 h.
    pub(super) fn prune_every(&self) -> Duration {
        (self.retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }
}
