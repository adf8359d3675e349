//! Causeway's data plane. A node ([`Gateway`]) serves what is published from
//! an immutable snapshot; the request path touches the store only to queue
//! an asynchronous function invocation.
//!
//! Folders, each depending only on those listed after it:
//! `node` → `debug` → `listen` → `pipeline` → `config` → `routing` → `backend` →
//! `stages` → `functions` → `upstream` → `http` → `observe`.
//! `docs/architecture.md` draws the request path through them.

mod backend;
mod config;
mod debug;
mod functions;
#[doc(hidden)]
pub mod fuzz;
mod http;
mod listen;
mod node;
mod observe;
mod pipeline;
mod routing;
mod stages;
mod upstream;

pub use backend::http::websocket::WebSocketLimits;
pub use config::saved::{FILE as SAVED_SNAPSHOT_FILE, SavedSnapshot};
pub use config::watch::DEFAULT_KEEP_CHANGES;
pub use debug::Debugger;
pub use node::{Gateway, GatewayConfig, HttpsConfig};
pub use listen::{DEFAULT_DRAIN, Inherited, SocketKind, serve_http1};
pub use pipeline::conn::ConnLimits;
pub use observe::access_log::{Target as AccessLogTarget, reopen as reopen_access_log};
pub use observe::spans::{OtlpConfig, flush as flush_spans};
pub use observe::metrics::{DURATION_BUCKETS, RouteCounts, describe as describe_metrics, render_routes as render_route_metrics, route_counts};

#[cfg(test)]
mod layering;
