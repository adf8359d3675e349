//! Configuration of the data plane: the published state mirrored from the
//! store (`source`, one table of served kinds), the immutable snapshot built
//! from it (`snapshot`), the watcher that follows the store's change feed
//! and swaps in new snapshots (`watch`), what outlives snapshots
//! (`runtime`), the HTTPS listener's certificates (`domain_certs`), and the copy of
//! the published state kept in the data directory (`saved`).

pub(crate) mod domain_certs;
pub(crate) mod runtime;
pub(crate) mod saved;
pub(crate) mod snapshot;
pub(crate) mod source;
pub(crate) mod watch;

use std::sync::Arc;

use arc_swap::ArcSwap;

/// The snapshot being served, swapped atomically when a new one is built.
pub type Shared = Arc<ArcSwap<snapshot::Snapshot>>;
