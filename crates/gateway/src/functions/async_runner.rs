//! The background task that runs stored asynchronous invocations on each
//! gateway node: claims them from the queue, runs them with the functions
//! served now, records each outcome (retrying failed ones), and deletes
//! finished ones past their retention.

use std::sync::Arc;
use std::time::Duration;

use causeway_model::function::{FunctionInvocation, InvocationStatus};
use causeway_model::ids;
use tokio::sync::watch;

use crate::functions::async_queue::{AsyncQueue, save};
use crate::functions::registry::Functions;

/// Invocations one node runs at a time.
const CONCURRENCY: usize = 4;
/// How often stored invocations are looked for when nothing wakes the task.
const POLL: Duration = Duration::from_secs(1);

/// Runs stored invocations until `stop` changes (with the functions
/// `functions` gives, the ones served now), and deletes finished ones once
/// they are older than the retention.
pub async fn run(queue: AsyncQueue, functions: impl Fn() -> Arc<Functions>, mut stop: watch::Receiver<bool>) {
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
                let (queue, functions) = (queue.clone(), functions());
                running.spawn(async move { execute(&queue, &functions, inv).await });
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

async fn execute(queue: &AsyncQueue, functions: &Functions, mut inv: FunctionInvocation) {
    let timeout = Duration::from_millis(u64::from(inv.timeout_ms.max(1)));
    let outcome = functions.run_value(&inv.target, &inv.request_id, inv.event.clone(), timeout).await;
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
