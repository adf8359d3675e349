//! Causeway's data plane. The request path reads an immutable snapshot of
//! everything published and never touches the store.

pub mod route;
pub mod router;
pub mod snapshot;
pub mod watch;
