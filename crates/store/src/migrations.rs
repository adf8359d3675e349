//! Schema migrations, embedded and applied in order at start. The same SQL
//! runs on SQLite and PostgreSQL (BIGINT is a 64-bit integer on both).

/// (version, SQL). Append only: never edit a migration that has shipped.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (
    1,
    r#"
CREATE TABLE documents (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    parent TEXT,
    body TEXT NOT NULL,
    revision BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX documents_by_parent ON documents (kind, parent, seq);
CREATE INDEX documents_by_seq ON documents (kind, seq);
CREATE TABLE doc_keys (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX doc_keys_by_id ON doc_keys (kind, id);
CREATE TABLE changes (
    revision BIGINT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    op TEXT NOT NULL,
    PRIMARY KEY (revision, kind, id)
);
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (name, value) VALUES ('revision', 0), ('seq', 0);
"#,
), (
    2,
    // The change feed is pruned: revisions up to `pruned` may be missing from it.
    r#"
INSERT INTO meta (name, value) VALUES ('pruned', 0) ON CONFLICT (name) DO NOTHING;
"#,
), (
    3,
    // The audit log of management writes: append only, pruned by age.
    r#"
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at_micros BIGINT NOT NULL,
    time TEXT NOT NULL,
    credential TEXT NOT NULL,
    source TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    status BIGINT NOT NULL,
    error_code TEXT NOT NULL,
    digest TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (at_micros);
"#,
), (
    4,
    // The nodes of an installation, each recording itself (not in the change feed: heartbeats are not changes).
    r#"
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    heartbeat_micros BIGINT NOT NULL
);
"#,
)];

pub const CREATE_MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)";
