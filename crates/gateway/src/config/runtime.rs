//! What a node keeps running across snapshots and hands to each one it
//! builds: the throttling engine and its counters, channel members' health,
//! custom authorizers' cached answers, the function runtime and the queue of
//! asynchronous invocations. A new snapshot (any management change) neither
//! forgets nor resets them.

use std::sync::Arc;

use crate::functions::async_queue::AsyncQueue;
use crate::stages::authn::authorizer::DecisionCache;
use crate::stages::throttle::limiter::Engine;
use crate::upstream::balance::Health;

#[derive(Clone, Default)]
pub struct Runtime {
    /// Counts throttled calls (this node's counters, or Redis).
    pub limiter: Engine,
    /// Members' health, as this node's checks and requests find it.
    pub channel_health: Arc<Health>,
    pub authorizer_cache: Arc<DecisionCache>,
    /// The function runtime, when this process runs one.
    pub function_pool: Option<Arc<causeway_functions::Pool>>,
    /// Where asynchronous invocations are queued, when this process runs them.
    pub async_queue: Option<AsyncQueue>,
}
