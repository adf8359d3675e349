//! Secrets at rest: a [`Store`] that seals the secret fields of the
//! documents it writes and opens them in the documents it reads, so the
//! database holds them only sealed while every reader sees them in clear.
//!
//! A sealed field is stored as `{"sealed": "<cipher text>"}` in place of its
//! string; a string found where a sealed field belongs (a store written
//! before sealing) is read as it is, and [`SealingStore::seal_in_place`]
//! seals it.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::{AuditEntry, AuditQuery, Change, Document, NewDocument, Result, Store, StoreError, Txn};

/// Seals and opens secrets (the installation's secret key).
pub trait Cipher: Send + Sync + 'static {
    fn seal(&self, clear: &[u8]) -> std::result::Result<String, String>;
    fn open(&self, sealed: &str) -> std::result::Result<Vec<u8>, String>;
}

/// The secret fields of each kind: app secrets, AppCodes, signature-key
/// secrets and IAM issuers' shared secrets.
pub const SEALED_FIELDS: &[(&str, &str)] =
    &[("app", "app_secret"), ("app_code", "app_code"), ("sign_key", "sign_secret"), ("iam_issuer", "secret")];

const SEALED: &str = "sealed";

/// A store whose documents' secret fields are sealed at rest.
pub struct SealingStore {
    inner: Arc<dyn Store>,
    cipher: Arc<dyn Cipher>,
    fields: &'static [(&'static str, &'static str)],
}

struct Fields {
    cipher: Arc<dyn Cipher>,
    fields: &'static [(&'static str, &'static str)],
}

impl Fields {
    fn of<'a>(&self, kind: &'a str) -> impl Iterator<Item = &'static str> + use<'a> {
        self.fields.iter().filter(move |(k, _)| *k == kind).map(|(_, f)| *f)
    }

    /// The body with its secret fields sealed; `None` if it has none in clear.
    fn sealed(&self, kind: &str, body: &Value) -> Result<Option<Value>> {
        let mut out: Option<Value> = None;
        for field in self.of(kind) {
            let Some(clear) = body.get(field).and_then(Value::as_str) else { continue };
            let sealed = self.cipher.seal(clear.as_bytes()).map_err(|e| StoreError::Setup(format!("cannot seal {kind}.{field}: {e}")))?;
            let target = out.get_or_insert_with(|| body.clone());
            target[field] = serde_json::json!({ SEALED: sealed });
        }
        Ok(out)
    }

    /// Opens the sealed fields of a document read from the store.
    fn open(&self, mut doc: Document) -> Result<Document> {
        for field in self.of(&doc.kind) {
            let Some(sealed) = doc.body.get(field).and_then(|v| v.get(SEALED)).and_then(Value::as_str) else { continue };
            let clear = self
                .cipher
                .open(sealed)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| StoreError::Corrupt {
                    kind: doc.kind.clone(),
                    id: doc.id.clone(),
                    reason: format!("{field} cannot be opened with this installation's secret key (nodes sharing a store must share it)"),
                })?;
            doc.body[field] = Value::String(clear);
        }
        Ok(doc)
    }

    fn open_all(&self, docs: Vec<Document>) -> Result<Vec<Document>> {
        docs.into_iter().map(|d| self.open(d)).collect()
    }
}

impl SealingStore {
    pub fn new(inner: Arc<dyn Store>, cipher: Arc<dyn Cipher>) -> Self {
        Self { inner, cipher, fields: SEALED_FIELDS }
    }

    fn fields(&self) -> Fields {
        Fields { cipher: self.cipher.clone(), fields: self.fields }
    }

    /// Seals the secret fields stored in clear (by a version before sealing);
    /// returns how many documents it sealed.
    pub async fn seal_in_place(&self) -> Result<u64> {
        let fields = self.fields();
        let mut kinds: Vec<&str> = self.fields.iter().map(|(k, _)| *k).collect();
        kinds.dedup();
        let mut tx = self.inner.begin().await?;
        let mut sealed = 0;
        for kind in kinds {
            for doc in tx.list(kind, None).await? {
                if let Some(body) = fields.sealed(kind, &doc.body)? {
                    tx.replace_body(kind, &doc.id, &body).await?;
                    sealed += 1;
                }
            }
        }
        tx.commit().await?;
        Ok(sealed)
    }
}

#[async_trait]
impl Store for SealingStore {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn get(&self, kind: &str, id: &str) -> Result<Option<Document>> {
        self.inner.get(kind, id).await?.map(|d| self.fields().open(d)).transpose()
    }

    async fn list(&self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>> {
        self.fields().open_all(self.inner.list(kind, parent).await?)
    }

    async fn find_key(&self, kind: &str, key: &str) -> Result<Option<Document>> {
        self.inner.find_key(kind, key).await?.map(|d| self.fields().open(d)).transpose()
    }

    async fn revision(&self) -> Result<i64> {
        self.inner.revision().await
    }

    async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>> {
        self.inner.changes_since(after, limit).await
    }

    async fn pruned(&self) -> Result<i64> {
        self.inner.pruned().await
    }

    async fn prune_changes(&self, keep: i64) -> Result<u64> {
        self.inner.prune_changes(keep).await
    }

    async fn begin(&self) -> Result<Box<dyn Txn>> {
        Ok(Box::new(SealingTxn { inner: self.inner.begin().await?, fields: self.fields() }))
    }

    async fn scrub(&self) -> Result<()> {
        self.inner.scrub().await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.inner.append_audit(entry).await
    }

    async fn audit_entries(&self, query: &AuditQuery) -> Result<(i64, Vec<AuditEntry>)> {
        self.inner.audit_entries(query).await
    }

    async fn prune_audit(&self, before_micros: i64) -> Result<u64> {
        self.inner.prune_audit(before_micros).await
    }

    async fn put_node(&self, id: &str, body: &serde_json::Value, heartbeat_micros: i64) -> Result<()> {
        self.inner.put_node(id, body, heartbeat_micros).await
    }

    async fn nodes(&self) -> Result<Vec<(serde_json::Value, i64)>> {
        self.inner.nodes().await
    }

    async fn forget_nodes(&self, before_micros: i64) -> Result<u64> {
        self.inner.forget_nodes(before_micros).await
    }

    async fn watch_changes(&self, wake: std::sync::Arc<tokio::sync::Notify>, stop: tokio::sync::watch::Receiver<bool>) {
        self.inner.watch_changes(wake, stop).await
    }

    async fn close(&self) {
        self.inner.close().await
    }

    async fn prepare(&self) -> Result<()> {
        self.inner.prepare().await
    }
}

struct SealingTxn {
    inner: Box<dyn Txn>,
    fields: Fields,
}

#[async_trait]
impl Txn for SealingTxn {
    async fn get(&mut self, kind: &str, id: &str) -> Result<Option<Document>> {
        self.inner.get(kind, id).await?.map(|d| self.fields.open(d)).transpose()
    }

    async fn list(&mut self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>> {
        let docs = self.inner.list(kind, parent).await?;
        self.fields.open_all(docs)
    }

    async fn count(&mut self, kind: &str, parent: Option<&str>) -> Result<i64> {
        self.inner.count(kind, parent).await
    }

    async fn find_key(&mut self, kind: &str, key: &str) -> Result<Option<Document>> {
        self.inner.find_key(kind, key).await?.map(|d| self.fields.open(d)).transpose()
    }

    async fn put(&mut self, doc: NewDocument<'_>) -> Result<i64> {
        match self.fields.sealed(doc.kind, doc.body)? {
            Some(body) => self.inner.put(NewDocument { body: &body, ..doc }).await,
            None => self.inner.put(doc).await,
        }
    }

    async fn delete(&mut self, kind: &str, id: &str) -> Result<bool> {
        self.inner.delete(kind, id).await
    }

    async fn replace_body(&mut self, kind: &str, id: &str, body: &Value) -> Result<bool> {
        match self.fields.sealed(kind, body)? {
            Some(sealed) => self.inner.replace_body(kind, id, &sealed).await,
            None => self.inner.replace_body(kind, id, body).await,
        }
    }

    async fn list_keys(&mut self, kind: &str) -> Result<Vec<(String, String)>> {
        self.inner.list_keys(kind).await
    }

    async fn commit(self: Box<Self>) -> Result<i64> {
        self.inner.commit().await
    }
}
