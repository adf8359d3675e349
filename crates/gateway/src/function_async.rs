//! Asynchronous invocations (`invocation_type` `async`): the invocation is
//! stored before the caller gets `202 {"request_id"}`; a background task
//! claims stored invocations (a lease, so a crashed node's work is taken
//! over), runs them with retries and records the outcome. An invocation that
//! succeeded is never run again.

use std::sync::Arc;
use std::time::Duration;

use causeway_model::function::{FunctionInvocation, InvocationStatus};
use causeway_model::{ids, kinds};
use causeway_store::{NewDocument, Store, StoreError};
use tokio::sync::{Notify, watch};

use crate::response::{GatewayError, errors};
use crate::watch::Shared;

/// Retries after a failed attempt, by default.
/// Time a claimed invocation may run past its timeout before another node may take it.
const LEASE_MARGIN_MS: i64 = 2000;
/// Invocations one node runs at a time.
const CONCURRENCY: usize = 4;
/// How often stored invocations are looked for when nothing wakes the task.
const POLL: Duration = Duration::from_secs(1);

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

async fn save(store: &dyn Store, inv: &FunctionInvocation) -> Result<(), StoreError> {
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
    async fn claim(&self, n: usize) -> Result<Vec<FunctionInvocation>, StoreError> {
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
    async fn prune(&self) -> Result<usize, StoreError> {
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
    fn prune_every(&self) -> Duration {
        (self.retention / 4).clamp(Duration::from_secs(1), Duration::from_secs(3600))
    }
}

/// Runs stored invocations until `stop` changes, and deletes finished ones once they are older than the retention.
pub async fn run(queue: AsyncQueue, shared: Shared, mut stop: watch::Receiver<bool>) {
    let mut next_prune = tokio::time::Instant::now() + queue.prune_every();
    loop {
        if tokio::time::Instant::now() >= next_prune {
            match queue.prune().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "finished asynchronous invocations past their retention deleted"),
                Err(e) => tracing::warn!(error = %e, "cannot delete finished asynchronous invocations"),
            }
            next_prune = tokio::time::Instant::now() + queue.prune_every();
        }
        loop {
            let claimed = match queue.claim(CONCURRENCY).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read queued invocations");
                    break;
                }
            };
            if claimed.is_empty() {
                break;
            }
            let mut running = tokio::task::JoinSet::new();
            for inv in claimed {
                let (queue, snapshot) = (queue.clone(), shared.load_full());
                running.spawn(async move { execute(&queue, &snapshot, inv).await });
            }
            while running.join_next().await.is_some() {}
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = queue.wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

async fn execute(queue: &AsyncQueue, snapshot: &crate::snapshot::Snapshot, mut inv: FunctionInvocation) {
    let timeout = Duration::from_millis(u64::from(inv.timeout_ms.max(1)));
    let outcome = snapshot.functions.run_value(&inv.target, &inv.request_id, inv.event.clone(), timeout).await;
    match outcome {
        Ok(value) => {
            inv.status = InvocationStatus::Succeeded;
            inv.result = value;
            inv.error = None;
        }
        Err(why) => {
            tracing::warn!(request_id = %inv.request_id, function = %inv.function_urn, attempt = inv.attempts, error = %why, "asynchronous invocation failed");
            inv.status = if inv.attempts < inv.max_attempts { InvocationStatus::Pending } else { InvocationStatus::Failed };
            inv.error = Some(why);
        }
    }
    inv.lease_until = 0;
    inv.update_time = ids::now();
    if let Err(e) = save(&*queue.store, &inv).await {
        // The lease runs out and the invocation is taken again.
        tracing::error!(request_id = %inv.request_id, error = %e, "cannot record an asynchronous invocation's outcome");
    }
    if inv.status == InvocationStatus::Pending {
        queue.wake.notify_one();
    }
}
