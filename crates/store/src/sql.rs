//! SQLite and PostgreSQL implementations of [`Store`]. Both run the same SQL
//! (sqlx binds `$N` by position on SQLite too); the `sql_store!` macro stamps
//! the shared code out once per database, and only opening a connection pool
//! and starting a serialised write transaction differ.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Postgres, Row, Sqlite, Transaction};

use crate::migrations::{CREATE_MIGRATIONS_TABLE, MIGRATIONS};
use crate::{AuditEntry, AuditQuery, Change, ChangeOp, Document, NewDocument, Result, Store, StoreError, Txn};

const GET: &str = "SELECT kind, id, parent, body, revision FROM documents WHERE kind = $1 AND id = $2";
const LIST: &str = "SELECT kind, id, parent, body, revision FROM documents WHERE kind = $1 ORDER BY seq";
const LIST_BY_PARENT: &str =
    "SELECT kind, id, parent, body, revision FROM documents WHERE kind = $1 AND parent = $2 ORDER BY seq";
const COUNT: &str = "SELECT COUNT(*) FROM documents WHERE kind = $1";
const COUNT_BY_PARENT: &str = "SELECT COUNT(*) FROM documents WHERE kind = $1 AND parent = $2";
const FIND_KEY: &str = "SELECT d.kind, d.id, d.parent, d.body, d.revision FROM doc_keys k \
     JOIN documents d ON d.kind = k.kind AND d.id = k.id WHERE k.kind = $1 AND k.key = $2";
const REVISION: &str = "SELECT value FROM meta WHERE name = 'revision'";
const BUMP_REVISION: &str = "UPDATE meta SET value = value + 1 WHERE name = 'revision' RETURNING value";
const NEXT_SEQ: &str = "UPDATE meta SET value = value + 1 WHERE name = 'seq' RETURNING value";
const UPSERT: &str = "INSERT INTO documents (kind, id, parent, body, revision, seq) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (kind, id) DO UPDATE SET parent = excluded.parent, body = excluded.body, revision = excluded.revision";
const DELETE_KEYS: &str = "DELETE FROM doc_keys WHERE kind = $1 AND id = $2";
const INSERT_KEY: &str = "INSERT INTO doc_keys (kind, key, id) VALUES ($1, $2, $3)";
const KEY_OWNER: &str = "SELECT id FROM doc_keys WHERE kind = $1 AND key = $2";
const DELETE_DOC: &str = "DELETE FROM documents WHERE kind = $1 AND id = $2";
const RECORD_CHANGE: &str = "INSERT INTO changes (revision, kind, id, op) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (revision, kind, id) DO UPDATE SET op = excluded.op";
const CHANGES: &str =
    "SELECT revision, kind, id, op FROM changes WHERE revision > $1 ORDER BY revision, kind, id LIMIT $2";
const PRUNED: &str = "SELECT value FROM meta WHERE name = 'pruned'";
const PRUNE: &str = "DELETE FROM changes WHERE revision <= $1";
const SET_PRUNED: &str = "UPDATE meta SET value = $1 WHERE name = 'pruned'";
const APPEND_AUDIT: &str = "INSERT INTO audit_log (id, at_micros, time, credential, source, method, path, resource_kind, \
     resource_id, status, error_code, digest, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
/// Each filter is skipped when its parameter is NULL (typed, for PostgreSQL).
const AUDIT_FILTER: &str = " FROM audit_log WHERE (CAST($1 AS TEXT) IS NULL OR credential = $1) \
     AND (CAST($2 AS TEXT) IS NULL OR method = $2) AND (CAST($3 AS TEXT) IS NULL OR resource_kind = $3) \
     AND (CAST($4 AS TEXT) IS NULL OR resource_id = $4) \
     AND (CAST($5 AS BIGINT) IS NULL OR (CAST($5 AS BIGINT) = 1 AND status < 400) OR (CAST($5 AS BIGINT) = 0 AND status >= 400)) \
     AND (CAST($6 AS BIGINT) IS NULL OR at_micros >= $6) AND (CAST($7 AS BIGINT) IS NULL OR at_micros < $7)";
const AUDIT_COLUMNS: &str = "SELECT id, at_micros, time, credential, source, method, path, resource_kind, resource_id, \
     status, error_code, digest, request_id";
const PRUNE_AUDIT: &str = "DELETE FROM audit_log WHERE at_micros < $1";
const REPLACE_BODY: &str = "UPDATE documents SET body = $3, revision = $4 WHERE kind = $1 AND id = $2";
const DOC_EXISTS: &str = "SELECT 1 FROM documents WHERE kind = $1 AND id = $2";
const LIST_KEYS: &str = "SELECT key, id FROM doc_keys WHERE kind = $1 ORDER BY key";
const APPLIED: &str = "SELECT version FROM schema_migrations";
const MARK_APPLIED: &str = "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, CURRENT_TIMESTAMP)";

const PUT_NODE: &str = "INSERT INTO nodes (id, body, heartbeat_micros) VALUES ($1, $2, $3) \
     ON CONFLICT (id) DO UPDATE SET body = excluded.body, heartbeat_micros = excluded.heartbeat_micros";
const LIST_NODES: &str = "SELECT body, heartbeat_micros FROM nodes ORDER BY id";
const FORGET_NODES: &str = "DELETE FROM nodes WHERE heartbeat_micros < $1";

/// Announces a committed revision to the nodes listening on the channel.
const NOTIFY: &str = "SELECT pg_notify($1, $2)";
/// The channel's name: one per store (schema), so stores sharing a database do not wake each other.
const CHANNEL: &str = "causeway_changes";

/// Any key for PostgreSQL's advisory lock that serialises Causeway's writers.
const PG_WRITE_LOCK: i64 = 0x4361_7573_6577_6179; // "Causeway"

fn op_name(op: ChangeOp) -> &'static str {
    match op {
        ChangeOp::Put => "put",
        ChangeOp::Delete => "delete",
    }
}

/// Binds `AUDIT_FILTER`'s parameters `$1`..`$7` from an [`AuditQuery`].
macro_rules! bind_audit_filter {
    ($query:expr, $q:expr, $succeeded:expr) => {
        $query
            .bind(&$q.credential)
            .bind(&$q.method)
            .bind(&$q.resource_kind)
            .bind(&$q.resource_id)
            .bind($succeeded)
            .bind($q.since_micros)
            .bind($q.until_micros)
    };
}

macro_rules! sql_store {
    ($store:ident, $txn:ident, $db:ty, $row:ty, $backend:literal) => {
        /// A store on this database; cheap to share behind an `Arc`.
        pub struct $store {
            pool: Pool<$db>,
            /// PostgreSQL: the channel committed revisions are announced on (`NOTIFY`).
            notify: Option<String>,
            /// PostgreSQL: the schema Causeway's tables are kept in, if not the default.
            #[allow(dead_code, reason = "SQLite has no schemas")]
            schema: Option<String>,
        }

        /// A serialised write transaction on this database.
        pub struct $txn {
            tx: Transaction<'static, $db>,
            revision: Option<i64>,
            notify: Option<String>,
        }

        impl $store {
            fn doc(row: &$row) -> Result<Document> {
                let kind: String = row.try_get(0)?;
                let id: String = row.try_get(1)?;
                let body: String = row.try_get(3)?;
                let body = serde_json::from_str(&body)
                    .map_err(|e| StoreError::Corrupt { kind: kind.clone(), id: id.clone(), reason: e.to_string() })?;
                Ok(Document { kind, id, parent: row.try_get(2)?, body, revision: row.try_get(4)? })
            }

            fn docs(rows: Vec<$row>) -> Result<Vec<Document>> {
                rows.iter().map(Self::doc).collect()
            }

            /// Applies the embedded migrations not yet applied, under the write lock.
            async fn migrate(&self) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(CREATE_MIGRATIONS_TABLE).execute(&mut *tx).await?;
                let applied: Vec<i64> = sqlx::query(APPLIED)
                    .fetch_all(&mut *tx)
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<std::result::Result<_, _>>()?;
                for (version, sql) in MIGRATIONS {
                    if applied.contains(version) {
                        continue;
                    }
                    sqlx::raw_sql(*sql).execute(&mut *tx).await?;
                    sqlx::query(MARK_APPLIED).bind(version).execute(&mut *tx).await?;
                    tracing::info!(backend = $backend, version, "applied store migration");
                }
                tx.commit().await?;
                Ok(())
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn get(&self, kind: &str, id: &str) -> Result<Option<Document>> {
                let row = sqlx::query(GET).bind(kind).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::doc).transpose()
            }

            async fn list(&self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>> {
                let rows = match parent {
                    Some(p) => sqlx::query(LIST_BY_PARENT).bind(kind).bind(p).fetch_all(&self.pool).await?,
                    None => sqlx::query(LIST).bind(kind).fetch_all(&self.pool).await?,
                };
                Self::docs(rows)
            }

            async fn find_key(&self, kind: &str, key: &str) -> Result<Option<Document>> {
                let row = sqlx::query(FIND_KEY).bind(kind).bind(key).fetch_optional(&self.pool).await?;
                row.as_ref().map(Self::doc).transpose()
            }

            async fn revision(&self) -> Result<i64> {
                Ok(sqlx::query(REVISION).fetch_one(&self.pool).await?.try_get(0)?)
            }

            async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>> {
                let rows = sqlx::query(CHANGES).bind(after).bind(limit).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        let op: String = r.try_get(3)?;
                        Ok(Change {
                            revision: r.try_get(0)?,
                            kind: r.try_get(1)?,
                            id: r.try_get(2)?,
                            op: if op == "delete" { ChangeOp::Delete } else { ChangeOp::Put },
                        })
                    })
                    .collect()
            }

            async fn pruned(&self) -> Result<i64> {
                Ok(sqlx::query(PRUNED).fetch_one(&self.pool).await?.try_get(0)?)
            }

            async fn prune_changes(&self, keep: i64) -> Result<u64> {
                let mut tx = self.begin_write().await?;
                let revision: i64 = sqlx::query(REVISION).fetch_one(&mut *tx).await?.try_get(0)?;
                let pruned: i64 = sqlx::query(PRUNED).fetch_one(&mut *tx).await?.try_get(0)?;
                let cutoff = revision.saturating_sub(keep.max(0));
                if cutoff <= pruned {
                    return Ok(0);
                }
                let done = sqlx::query(PRUNE).bind(cutoff).execute(&mut *tx).await?;
                sqlx::query(SET_PRUNED).bind(cutoff).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(done.rows_affected())
            }

            async fn begin(&self) -> Result<Box<dyn Txn>> {
                Ok(Box::new($txn { tx: self.begin_write().await?, revision: None, notify: self.notify.clone() }))
            }

            async fn scrub(&self) -> Result<()> {
                self.scrub_files().await
            }

            async fn append_audit(&self, e: &AuditEntry) -> Result<()> {
                sqlx::query(APPEND_AUDIT)
                    .bind(&e.id)
                    .bind(e.at_micros)
                    .bind(&e.time)
                    .bind(&e.credential)
                    .bind(&e.source)
                    .bind(&e.method)
                    .bind(&e.path)
                    .bind(&e.resource_kind)
                    .bind(&e.resource_id)
                    .bind(e.status)
                    .bind(&e.error_code)
                    .bind(&e.digest)
                    .bind(&e.request_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn audit_entries(&self, q: &AuditQuery) -> Result<(i64, Vec<AuditEntry>)> {
                let succeeded = q.succeeded.map(i64::from);
                let count = format!("SELECT COUNT(*){AUDIT_FILTER}");
                let total: i64 = bind_audit_filter!(sqlx::query(sqlx::AssertSqlSafe(count)), q, succeeded)
                    .fetch_one(&self.pool)
                    .await?
                    .try_get(0)?;
                let select = format!("{AUDIT_COLUMNS}{AUDIT_FILTER} ORDER BY at_micros DESC, id DESC LIMIT $8 OFFSET $9");
                let rows = bind_audit_filter!(sqlx::query(sqlx::AssertSqlSafe(select)), q, succeeded)
                    .bind(q.limit)
                    .bind(q.offset)
                    .fetch_all(&self.pool)
                    .await?;
                let entries = rows
                    .iter()
                    .map(|r| {
                        Ok(AuditEntry {
                            id: r.try_get(0)?,
                            at_micros: r.try_get(1)?,
                            time: r.try_get(2)?,
                            credential: r.try_get(3)?,
                            source: r.try_get(4)?,
                            method: r.try_get(5)?,
                            path: r.try_get(6)?,
                            resource_kind: r.try_get(7)?,
                            resource_id: r.try_get(8)?,
                            status: r.try_get(9)?,
                            error_code: r.try_get(10)?,
                            digest: r.try_get(11)?,
                            request_id: r.try_get(12)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((total, entries))
            }

            async fn prune_audit(&self, before_micros: i64) -> Result<u64> {
                Ok(sqlx::query(PRUNE_AUDIT).bind(before_micros).execute(&self.pool).await?.rows_affected())
            }

            async fn put_node(&self, id: &str, body: &serde_json::Value, heartbeat_micros: i64) -> Result<()> {
                sqlx::query(PUT_NODE).bind(id).bind(body.to_string()).bind(heartbeat_micros).execute(&self.pool).await?;
                Ok(())
            }

            async fn nodes(&self) -> Result<Vec<(serde_json::Value, i64)>> {
                let rows = sqlx::query(LIST_NODES).fetch_all(&self.pool).await?;
                rows.iter()
                    .map(|r| {
                        let body: String = r.try_get(0)?;
                        let body = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt { kind: "node".into(), id: String::new(), reason: e.to_string() })?;
                        Ok((body, r.try_get(1)?))
                    })
                    .collect()
            }

            async fn forget_nodes(&self, before_micros: i64) -> Result<u64> {
                Ok(sqlx::query(FORGET_NODES).bind(before_micros).execute(&self.pool).await?.rows_affected())
            }

            async fn watch_changes(&self, wake: std::sync::Arc<tokio::sync::Notify>, stop: tokio::sync::watch::Receiver<bool>) {
                self.listen_for_changes(wake, stop).await
            }

            async fn close(&self) {
                self.pool.close().await;
            }

            async fn prepare(&self) -> Result<()> {
                self.prepare_database().await
            }
        }

        impl $txn {
            /// The revision this transaction writes, taken on its first write.
            async fn write_revision(&mut self) -> Result<i64> {
                if let Some(r) = self.revision {
                    return Ok(r);
                }
                let r: i64 = sqlx::query(BUMP_REVISION).fetch_one(&mut *self.tx).await?.try_get(0)?;
                self.revision = Some(r);
                Ok(r)
            }

            async fn record(&mut self, kind: &str, id: &str, op: ChangeOp) -> Result<i64> {
                let revision = self.write_revision().await?;
                sqlx::query(RECORD_CHANGE)
                    .bind(revision)
                    .bind(kind)
                    .bind(id)
                    .bind(op_name(op))
                    .execute(&mut *self.tx)
                    .await?;
                Ok(revision)
            }
        }

        #[async_trait]
        impl Txn for $txn {
            async fn get(&mut self, kind: &str, id: &str) -> Result<Option<Document>> {
                let row = sqlx::query(GET).bind(kind).bind(id).fetch_optional(&mut *self.tx).await?;
                row.as_ref().map($store::doc).transpose()
            }

            async fn list(&mut self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>> {
                let rows = match parent {
                    Some(p) => sqlx::query(LIST_BY_PARENT).bind(kind).bind(p).fetch_all(&mut *self.tx).await?,
                    None => sqlx::query(LIST).bind(kind).fetch_all(&mut *self.tx).await?,
                };
                $store::docs(rows)
            }

            async fn count(&mut self, kind: &str, parent: Option<&str>) -> Result<i64> {
                let row = match parent {
                    Some(p) => sqlx::query(COUNT_BY_PARENT).bind(kind).bind(p).fetch_one(&mut *self.tx).await?,
                    None => sqlx::query(COUNT).bind(kind).fetch_one(&mut *self.tx).await?,
                };
                Ok(row.try_get(0)?)
            }

            async fn find_key(&mut self, kind: &str, key: &str) -> Result<Option<Document>> {
                let row = sqlx::query(FIND_KEY).bind(kind).bind(key).fetch_optional(&mut *self.tx).await?;
                row.as_ref().map($store::doc).transpose()
            }

            async fn put(&mut self, doc: NewDocument<'_>) -> Result<i64> {
                // Check keys first: a failed INSERT would abort a PostgreSQL transaction.
                for key in &doc.keys {
                    let owner = sqlx::query(KEY_OWNER).bind(doc.kind).bind(key).fetch_optional(&mut *self.tx).await?;
                    if let Some(owner) = owner {
                        let owner: String = owner.try_get(0)?;
                        if owner != doc.id {
                            return Err(StoreError::Conflict { kind: doc.kind.to_string(), key: key.clone() });
                        }
                    }
                }
                let revision = self.record(doc.kind, doc.id, ChangeOp::Put).await?;
                let seq: i64 = sqlx::query(NEXT_SEQ).fetch_one(&mut *self.tx).await?.try_get(0)?;
                let body = doc.body.to_string();
                sqlx::query(UPSERT)
                    .bind(doc.kind)
                    .bind(doc.id)
                    .bind(doc.parent)
                    .bind(body)
                    .bind(revision)
                    .bind(seq)
                    .execute(&mut *self.tx)
                    .await?;
                sqlx::query(DELETE_KEYS).bind(doc.kind).bind(doc.id).execute(&mut *self.tx).await?;
                for key in &doc.keys {
                    sqlx::query(INSERT_KEY).bind(doc.kind).bind(key).bind(doc.id).execute(&mut *self.tx).await?;
                }
                Ok(revision)
            }

            async fn delete(&mut self, kind: &str, id: &str) -> Result<bool> {
                let done = sqlx::query(DELETE_DOC).bind(kind).bind(id).execute(&mut *self.tx).await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                sqlx::query(DELETE_KEYS).bind(kind).bind(id).execute(&mut *self.tx).await?;
                self.record(kind, id, ChangeOp::Delete).await?;
                Ok(true)
            }

            async fn replace_body(&mut self, kind: &str, id: &str, body: &serde_json::Value) -> Result<bool> {
                if sqlx::query(DOC_EXISTS).bind(kind).bind(id).fetch_optional(&mut *self.tx).await?.is_none() {
                    return Ok(false);
                }
                let revision = self.record(kind, id, ChangeOp::Put).await?;
                sqlx::query(REPLACE_BODY).bind(kind).bind(id).bind(body.to_string()).bind(revision).execute(&mut *self.tx).await?;
                Ok(true)
            }

            async fn list_keys(&mut self, kind: &str) -> Result<Vec<(String, String)>> {
                let rows = sqlx::query(LIST_KEYS).bind(kind).fetch_all(&mut *self.tx).await?;
                rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
            }

            async fn commit(mut self: Box<Self>) -> Result<i64> {
                let revision = match self.revision {
                    Some(r) => r,
                    None => sqlx::query(REVISION).fetch_one(&mut *self.tx).await?.try_get(0)?,
                };
                // Other nodes hear of a change when it commits (NOTIFY is delivered on commit).
                if let (Some(_), Some(channel)) = (self.revision, &self.notify) {
                    sqlx::query(NOTIFY).bind(channel.as_str()).bind(revision.to_string()).execute(&mut *self.tx).await?;
                }
                self.tx.commit().await?;
                Ok(revision)
            }
        }
    };
}

sql_store!(SqliteStore, SqliteTxn, Sqlite, sqlx::sqlite::SqliteRow, "sqlite");
sql_store!(PostgresStore, PostgresTxn, Postgres, sqlx::postgres::PgRow, "postgres");

impl SqliteStore {
    /// Other processes' commits are not announced on SQLite: readers poll.
    pub async fn listen_for_changes(&self, _wake: std::sync::Arc<tokio::sync::Notify>, _stop: tokio::sync::watch::Receiver<bool>) {}

    /// Opens (creating if needed) the database file of a `sqlite://PATH` URL, in WAL mode.
    pub async fn open(url: &str) -> Result<Self> {
        let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
        let path = path.split('?').next().unwrap_or_default();
        if path.is_empty() {
            return Err(StoreError::BadUrl(url.to_string()));
        }
        if path != ":memory:"
            && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Setup(format!("{}: {e}", dir.display())))?;
            }
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            // Deleted and overwritten content is zeroed, so a sealed secret's clear predecessor does not linger in free pages.
            .pragma("secure_delete", "on");
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        let store = Self { pool, notify: None, schema: None };
        store.prepare_database().await?;
        Ok(store)
    }

    /// Applies the migrations not yet applied.
    pub async fn prepare_database(&self) -> Result<()> {
        self.migrate().await
    }

    /// Copies the write-ahead log into the database file and empties it. A
    /// checkpoint that a reader holds up (busy) is tried again: until it
    /// completes, pages replaced since (secrets sealed in place) are still in the log.
    async fn scrub_files(&self) -> Result<()> {
        // Up to 10 s: a node starting under load has its snapshot readers busy for a while.
        for _ in 0..500 {
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&self.pool).await?;
            let busy: i64 = row.try_get(0)?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tracing::warn!("the write-ahead log could not be emptied: readers held it for 10 s");
        Ok(())
    }

    /// SQLite serialises writers itself once a transaction holds the write lock from its start.
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL; `schema=NAME` selects (and creates) a schema.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::open_deferred(url)?;
        store.prepare_database().await?;
        Ok(store)
    }

    /// The store of a `postgres://` URL without connecting yet: calls fail as
    /// unavailable until the database can be reached, and [`Self::prepare`]
    /// must succeed once it can (a node starting while the database is down).
    pub fn open_deferred(url: &str) -> Result<Self> {
        let (url, schema) = split_schema(url)?;
        let mut options = PgConnectOptions::from_str(&url)?;
        if let Some(schema) = &schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        // A store that cannot be reached is answered in seconds (503), not waited on.
        let pool = PgPoolOptions::new().max_connections(8).acquire_timeout(Duration::from_secs(3)).connect_lazy_with(options);
        let notify = Some(match &schema {
            Some(schema) => format!("{CHANNEL}_{schema}"),
            None => CHANNEL.to_string(),
        });
        Ok(Self { pool, notify, schema })
    }

    /// Creates the schema if named and missing, and applies the migrations not yet applied.
    pub async fn prepare_database(&self) -> Result<()> {
        if let Some(schema) = &self.schema {
            let mut tx = self.begin_write().await?;
            // The name was checked by `split_schema` to be a plain identifier.
            let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
            sqlx::query(sqlx::AssertSqlSafe(create)).execute(&mut *tx).await?;
            tx.commit().await?;
        }
        self.migrate().await
    }

    async fn scrub_files(&self) -> Result<()> {
        Ok(())
    }

    /// Listens for committed revisions on a connection of its own, waking
    /// `wake` at each, until `stop` changes. A lost connection is opened
    /// again (after a second, then up to every 10 s); `wake` is woken
    /// whenever listening (re)starts, for what was committed meanwhile.
    pub async fn listen_for_changes(&self, wake: std::sync::Arc<tokio::sync::Notify>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(channel) = self.notify.clone() else { return };
        let mut backoff = Duration::from_secs(1);
        loop {
            match Self::listener(&self.pool, &channel).await {
                Ok(mut listener) => {
                    tracing::debug!(channel, "listening for store changes");
                    backoff = Duration::from_secs(1);
                    wake.notify_one();
                    loop {
                        tokio::select! {
                            _ = stop.changed() => return,
                            got = listener.try_recv() => match got {
                                Ok(Some(_)) => wake.notify_one(),
                                // The connection was lost and opened again: notifications may have been missed.
                                Ok(None) => wake.notify_one(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "lost the store's change notifications; polling until they are back");
                                    break;
                                }
                            },
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot listen for the store's changes; polling until it can"),
            }
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(10));
        }
    }

    async fn listener(pool: &Pool<Postgres>, channel: &str) -> Result<sqlx::postgres::PgListener> {
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(channel).await?;
        Ok(listener)
    }

    /// Writers on every node take one transaction-scoped advisory lock.
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(PG_WRITE_LOCK).execute(&mut *tx).await?;
        Ok(tx)
    }
}

/// Removes our `schema=NAME` parameter from a PostgreSQL URL.
fn split_schema(url: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_string(), None)) };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("schema=") {
            Some(name) => schema = Some(name.to_string()),
            None => rest.push(pair),
        }
    }
    if let Some(name) = &schema {
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !ok {
            return Err(StoreError::Setup(format!("schema name {name:?} must match [a-z_][a-z0-9_]{{0,62}}")));
        }
    }
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    Ok((url, schema))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameter_is_taken_out_of_the_url() {
        let (url, schema) = split_schema("postgres://u@h/db?schema=cw_1&sslmode=disable").unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert_eq!(schema.as_deref(), Some("cw_1"));
        assert_eq!(split_schema("postgres://h/db").unwrap(), ("postgres://h/db".to_string(), None));
        assert!(split_schema("postgres://h/db?schema=Bad-Name").is_err());
        assert!(split_schema("postgres://h/db?schema=x\";drop").is_err());
    }
}
