//! The store: JSON documents keyed by (kind, id), with unique lookup keys,
//! a global revision bumped by every write transaction, and a change feed
//! that a watcher resumes from a revision.
//!
//! Two implementations share one SQL text and one conformance suite:
//! SQLite (the embedded default) and PostgreSQL (for several nodes).
//! Write transactions are serialised (SQLite `BEGIN IMMEDIATE`, PostgreSQL a
//! transaction-scoped advisory lock), so a check-then-write inside one is
//! safe and revisions become visible in order.

mod migrations;
mod sealing;
mod sql;

use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;

pub use sealing::{Cipher, SEALED_FIELDS, SealingStore};
pub use sql::{PostgresStore, SqliteStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique lookup key is held by another document.
    #[error("key {key:?} of kind {kind} is already taken")]
    Conflict { kind: String, key: String },
    #[error("document {kind}/{id} is not valid JSON: {reason}")]
    Corrupt { kind: String, id: String, reason: String },
    #[error("unsupported store URL {0:?}: use sqlite://PATH or postgres://...")]
    BadUrl(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot prepare the store: {0}")]
    Setup(String),
}

impl StoreError {
    /// The database could not be reached (down, restarting, failing over,
    /// or no connection free in time), as opposed to refusing the request.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::WorkerCrashed) => true,
            // The server ended the connection: class 08 (connection exception), or it is
            // shutting down, crashed or starting (57P01–57P03) — a failover as a client sees it.
            StoreError::Database(sqlx::Error::Database(e)) => e.code().is_some_and(|c| c.starts_with("08") || matches!(&*c, "57P01" | "57P02" | "57P03")),
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub kind: String,
    pub id: String,
    /// The owning document's id (a group for APIs and variables), for listing by owner.
    pub parent: Option<String>,
    pub body: Value,
    /// Revision of the transaction that last wrote it.
    pub revision: i64,
}

/// A document to write.
#[derive(Debug, Clone)]
pub struct NewDocument<'a> {
    pub kind: &'a str,
    pub id: &'a str,
    pub parent: Option<&'a str>,
    /// Lookup keys unique within the kind (e.g. `name:<group>:<name>`); replaced on every put.
    pub keys: Vec<String>,
    pub body: &'a Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    Put,
    Delete,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub revision: i64,
    pub kind: String,
    pub id: String,
    pub op: ChangeOp,
}

/// One management write, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: String,
    /// When, in microseconds since the Unix epoch (for ordering and retention).
    pub at_micros: i64,
    /// The same time as RFC 3339.
    pub time: String,
    /// The name of the credential that made the call (empty if none signed in).
    pub credential: String,
    /// The caller's address.
    pub source: String,
    pub method: String,
    /// Path and query as the caller sent them.
    pub path: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub status: i64,
    /// The error code answered, empty on success.
    pub error_code: String,
    /// A digest of the change (the request body's SHA-256).
    pub digest: String,
    pub request_id: String,
}

/// Which audit entries to read: each filter applies when set; newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub credential: Option<String>,
    pub method: Option<String>,
    pub resource_kind: Option<String>,
    pub resource_id: Option<String>,
    /// `Some(true)`: only successes (status below 400); `Some(false)`: only failures.
    pub succeeded: Option<bool>,
    /// From this time on (microseconds, inclusive).
    pub since_micros: Option<i64>,
    /// Before this time (microseconds, exclusive).
    pub until_micros: Option<i64>,
    pub offset: i64,
    pub limit: i64,
}

/// Reads outside a transaction, and the way into one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    async fn get(&self, kind: &str, id: &str) -> Result<Option<Document>>;
    /// Documents of a kind (of one parent if given), oldest first.
    async fn list(&self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>>;
    async fn find_key(&self, kind: &str, key: &str) -> Result<Option<Document>>;
    /// The latest committed revision.
    async fn revision(&self) -> Result<i64>;
    /// Changes with a revision above `after`, in revision order, at most `limit`.
    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>>;
    /// Revisions up to this one may be missing from the feed (0: none pruned);
    /// a reader behind it must load everything again.
    async fn pruned(&self) -> Result<i64>;
    /// Drops the feed's changes older than the last `keep` revisions; returns how many went.
    async fn prune_changes(&self, keep: i64) -> Result<u64>;
    /// Starts a write transaction; it is rolled back if dropped uncommitted.
    async fn begin(&self) -> Result<Box<dyn Txn>>;
    /// Makes sure content overwritten or deleted so far is gone from the
    /// database's files (after secrets were sealed in place): SQLite zeroes
    /// freed content as it goes and here truncates its write-ahead log;
    /// PostgreSQL's old row versions are left to VACUUM.
    async fn scrub(&self) -> Result<()>;
    /// Adds an entry to the audit log.
    async fn append_audit(&self, entry: &AuditEntry) -> Result<()>;
    /// The audit entries `query` selects (newest first, paged), and how many it selects in all.
    async fn audit_entries(&self, query: &AuditQuery) -> Result<(i64, Vec<AuditEntry>)>;
    /// Drops audit entries older than `before_micros`; returns how many went.
    async fn prune_audit(&self, before_micros: i64) -> Result<u64>;
    /// Records (or refreshes) a node of the installation: what it says of
    /// itself, and when it last did (microseconds since the epoch).
    async fn put_node(&self, id: &str, body: &serde_json::Value, heartbeat_micros: i64) -> Result<()>;
    /// Every node recorded, with its last heartbeat.
    async fn nodes(&self) -> Result<Vec<(serde_json::Value, i64)>>;
    /// Forgets nodes silent since before `before_micros`; returns how many.
    async fn forget_nodes(&self, before_micros: i64) -> Result<u64>;
    /// Wakes `wake` whenever another process commits a change, until `stop`
    /// changes (PostgreSQL: `LISTEN`); returns at once where the store cannot
    /// tell (SQLite), leaving the readers to poll.
    async fn watch_changes(&self, wake: std::sync::Arc<tokio::sync::Notify>, stop: tokio::sync::watch::Receiver<bool>) {
        let _ = (wake, stop);
    }
    async fn close(&self);
    /// Prepares the database (creates the schema, applies migrations): done
    /// by opening, again for a store opened deferred once it can be reached.
    async fn prepare(&self) -> Result<()>;
}

/// A serialised write transaction.
#[async_trait]
pub trait Txn: Send {
    async fn get(&mut self, kind: &str, id: &str) -> Result<Option<Document>>;
    async fn list(&mut self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>>;
    async fn count(&mut self, kind: &str, parent: Option<&str>) -> Result<i64>;
    async fn find_key(&mut self, kind: &str, key: &str) -> Result<Option<Document>>;
    /// Inserts or replaces a document; returns the transaction's revision.
    async fn put(&mut self, doc: NewDocument<'_>) -> Result<i64>;
    /// Deletes a document; false if it did not exist.
    async fn delete(&mut self, kind: &str, id: &str) -> Result<bool>;
    /// Replaces a document's body, keeping its keys; false if it does not exist.
    async fn replace_body(&mut self, kind: &str, id: &str, body: &Value) -> Result<bool>;
    /// Every lookup key of a kind, with the id of the document holding it.
    async fn list_keys(&mut self, kind: &str) -> Result<Vec<(String, String)>>;
    /// Commits; returns the revision written (or the current one if nothing was).
    async fn commit(self: Box<Self>) -> Result<i64>;
}

/// A connection URL (a store's, Redis's) without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Opens the store a URL names: `sqlite://PATH` or `postgres://...`
/// (`postgresql://` too). A `schema=NAME` query parameter on a PostgreSQL URL
/// keeps Causeway's tables in that schema, created if missing.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if is_postgres(url) {
        Ok(Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_string()))
    }
}

/// A PostgreSQL store opened without connecting (a node starting while the
/// database is down): its calls fail as unavailable until the database can be
/// reached, and [`Store::prepare`] must succeed once it can. Only PostgreSQL
/// can be out of reach; other URLs are refused.
pub fn open_deferred(url: &str) -> Result<Arc<dyn Store>> {
    if is_postgres(url) { Ok(Arc::new(PostgresStore::open_deferred(url)?)) } else { Err(StoreError::BadUrl(url.to_string())) }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("redis://:pw@127.0.0.1:6379"), "redis://:***@127.0.0.1:6379");
        assert_eq!(redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}
