//! Counting calls against limits: the engines behind throttling. A request
//! brings every limit it must pass (its group's cap, its API's, its user's,
//! app's and address's) and an engine takes one call from each of them, or
//! from none when one is used up, so a refused call never uses up another
//! limit. Two engines: on this node ([`Local`], the default) and shared by
//! every node through Redis ([`Redis`], `--redis`).

mod checks;
mod local;
mod redis;

use std::sync::Arc;

pub use checks::{Checks, Limiter, MAX_CHECKS, Taken};
pub use local::Local;
pub use redis::Redis;

/// The engine this node runs, shared by every snapshot.
#[derive(Debug, Clone)]
pub enum Engine {
    Local(Arc<Local>),
    Redis(Arc<Redis>),
}

impl Default for Engine {
    fn default() -> Self {
        Engine::Local(Arc::default())
    }
}

impl Engine {
    pub async fn take(&self, checks: &Checks, now_secs: u64) -> Taken {
        match self {
            // The local engine never waits: no future to poll.
            Engine::Local(l) => l.take_now(checks, now_secs),
            Engine::Redis(r) => r.take(checks, now_secs).await,
        }
    }
}
