//! Shared HTTP pieces of the data plane, used by every layer above: header
//! names, hop-by-hop headers, query-string helpers, the response body, and
//! the gateway's own errors with their default rendering.

pub(crate) mod body;
pub(crate) mod error;
pub(crate) mod headers;
pub(crate) mod paced;
pub(crate) mod query;
