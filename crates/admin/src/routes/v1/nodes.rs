use std::sync::Arc;

use axum::extract::State;

use crate::http::{Query, Reply, page};
use crate::service::Service;

/// `GET /nodes` (Causeway): the installation's nodes, their state and lag.
pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    page("nodes", s.list_nodes(&q.paging()?).await?)
}
