//! `/audit-logs`: the management writes recorded (admin only).

use std::sync::Arc;

use axum::extract::State;

use crate::http::{Query, Reply, page};
use crate::service::{AuditFilter, Service};

pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let filter = AuditFilter {
        credential: q.owned("credential"),
        method: q.owned("method"),
        resource_kind: q.owned("resource_kind"),
        resource_id: q.owned("resource_id"),
        outcome: q.owned("outcome"),
        since: q.owned("since"),
        until: q.owned("until"),
        paging: q.paging()?,
    };
    page("audit_logs", s.list_audit_logs(&filter).await?)
}
