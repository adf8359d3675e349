//! Causeway's data plane. The request path reads an immutable snapshot of
//! everything published and never touches the store.

pub mod router;
