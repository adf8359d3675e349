//! The audit log: every management write, who made it, from where, what it
//! touched and how it ended. Entries hold a digest of the change, never the
//! change itself, so no secret a body carries reaches the log.

use causeway_model::{ApiError, Result, ids};
use causeway_store::{AuditEntry, AuditQuery};
use serde::Serialize;

use super::{Page, Paging, Service, system};

/// What the management API knows about a write once it is answered.
#[derive(Debug, Clone, Default)]
pub struct AuditRecord {
    pub credential: String,
    pub source: String,
    pub method: String,
    pub path: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub status: u16,
    pub error_code: String,
    pub digest: String,
    pub request_id: String,
}

/// An entry as `GET /audit-logs` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub id: String,
    pub time: String,
    pub credential: String,
    pub source_ip: String,
    pub method: String,
    pub path: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub status: i64,
    /// `success` (status below 400) or `failure`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub error_code: String,
    pub digest: String,
    pub request_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub credential: Option<String>,
    pub method: Option<String>,
    pub resource_kind: Option<String>,
    pub resource_id: Option<String>,
    pub outcome: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub paging: Paging,
}

fn view(e: AuditEntry) -> AuditView {
    AuditView {
        outcome: if e.status < 400 { "success" } else { "failure" },
        id: e.id,
        time: e.time,
        credential: e.credential,
        source_ip: e.source,
        method: e.method,
        path: e.path,
        resource_kind: e.resource_kind,
        resource_id: e.resource_id,
        status: e.status,
        error_code: e.error_code,
        digest: e.digest,
        request_id: e.request_id,
    }
}

fn time_field(name: &str, value: Option<&str>) -> Result<Option<i64>> {
    value.map(|v| ids::parse_time(v).map(ids::micros).ok_or_else(|| ApiError::invalid(name))).transpose()
}

impl Service {
    /// Appends a write to the audit log. A store failure is logged, not
    /// answered: the write it describes has already happened.
    pub async fn record_audit(&self, r: AuditRecord) {
        let now = ids::micros_now();
        let entry = AuditEntry {
            id: ids::new_id(),
            at_micros: now,
            time: ids::format_micros(now),
            credential: r.credential,
            source: r.source,
            method: r.method,
            path: r.path,
            resource_kind: r.resource_kind,
            resource_id: r.resource_id,
            status: i64::from(r.status),
            error_code: r.error_code,
            digest: r.digest,
            request_id: r.request_id,
        };
        if let Err(e) = self.store.append_audit(&entry).await {
            tracing::error!(error = %e, method = %entry.method, path = %entry.path, credential = %entry.credential, "cannot record a management write in the audit log");
        }
    }

    /// Audit entries, newest first. `outcome` is `success` or `failure`;
    /// `since` (inclusive) and `until` (exclusive) are RFC 3339 times.
    pub async fn list_audit_logs(&self, f: &AuditFilter) -> Result<Page<AuditView>> {
        let succeeded = match f.outcome.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("success") => Some(true),
            Some("failure") => Some(false),
            Some(_) => return Err(ApiError::invalid("outcome")),
        };
        let query = AuditQuery {
            credential: f.credential.clone(),
            method: f.method.as_deref().map(str::to_ascii_uppercase),
            resource_kind: f.resource_kind.clone(),
            resource_id: f.resource_id.clone(),
            succeeded,
            since_micros: time_field("since", f.since.as_deref())?,
            until_micros: time_field("until", f.until.as_deref())?,
            offset: i64::try_from(f.paging.offset).unwrap_or(i64::MAX),
            limit: i64::try_from(f.paging.limit).unwrap_or(i64::MAX),
        };
        let (total, entries) = self.store.audit_entries(&query).await.map_err(system)?;
        Ok(Page { total: usize::try_from(total).unwrap_or(0), items: entries.into_iter().map(view).collect() })
    }

    /// Drops entries older than `retention`; returns how many went.
    pub async fn prune_audit_log(&self, retention: std::time::Duration) -> Result<u64> {
        let retention = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
        self.store.prune_audit(ids::micros_now().saturating_sub(retention)).await.map_err(system)
    }
}
