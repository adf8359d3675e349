//! Causeway's data plane. The request path reads an immutable snapshot of
//! everything published and never touches the store.

pub mod access;
pub mod access_log;
pub mod auth;
pub mod authorizer;
pub mod backend_sign;
pub mod balance;
pub mod forward;
pub mod function_async;
pub mod function_backend;
pub mod function_event;
pub mod body;
pub mod health_check;
pub mod http_backend;
pub mod iam;
pub mod jwks;
pub mod limiter;
pub mod observe;
pub mod params;
pub mod pipeline;
pub mod policy;
pub mod request_id;
pub mod response;
pub mod route;
pub mod router;
pub mod server;
pub mod snapshot;
pub mod throttle;
pub mod tls_certs;
pub mod upstream;
pub mod watch;
pub mod websocket;

pub use server::{Gateway, GatewayConfig};
pub use watch::Watcher;
