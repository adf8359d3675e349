//! What the gateway reports: request ids, trace context, per-route
//! Prometheus metrics, the access log, and the exchange record that feeds
//! the last two when a response is done. Nothing here depends on the rest of the gateway.

pub(crate) mod access_log;
mod exchange;
pub(crate) mod metrics;
pub(crate) mod request_id;
pub mod spans;
pub(crate) mod trace;

pub(crate) use exchange::Exchange;
