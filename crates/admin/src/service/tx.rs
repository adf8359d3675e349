//! The service layer's store transaction. [`Tx`] wraps the store's
//! transaction so that its methods answer [`ApiError`]: a store failure is
//! logged and hidden behind `APIG.9999` here, once, rather than at every
//! call. It also holds the few compound steps the services repeat (decoding,
//! unique-key conflicts as field errors, deleting by key or by parent).
//! `Service::begin` opens one; `Service::commit` commits it and waits for
//! the local gateway to serve the revision.

use causeway_model::error::Code;
use causeway_model::{ApiError, Result};
use causeway_store::{Document, NewDocument, StoreError, Txn};
use serde::de::DeserializeOwned;

use super::{Service, decode, system};

/// A write transaction, rolled back if dropped uncommitted (commit it with
/// [`Service::commit`], which also lets the local gateway catch up).
pub(crate) struct Tx(Box<dyn Txn>);

impl Tx {
    pub async fn get(&mut self, kind: &str, id: &str) -> Result<Option<Document>> {
        self.0.get(kind, id).await.map_err(system)
    }

    pub async fn exists(&mut self, kind: &str, id: &str) -> Result<bool> {
        Ok(self.get(kind, id).await?.is_some())
    }

    /// A document decoded, if there is one.
    pub async fn get_as<T: DeserializeOwned>(&mut self, kind: &str, id: &str) -> Result<Option<T>> {
        self.get(kind, id).await?.map(decode).transpose()
    }

    /// A document decoded, or the not-found error given.
    pub async fn load<T: DeserializeOwned>(&mut self, kind: &str, id: &str, not_found: Code) -> Result<T> {
        self.get_as(kind, id).await?.ok_or_else(|| ApiError::new(not_found))
    }

    /// Documents of a kind (of one parent if given), oldest first.
    pub async fn list(&mut self, kind: &str, parent: Option<&str>) -> Result<Vec<Document>> {
        self.0.list(kind, parent).await.map_err(system)
    }

    /// [`Tx::list`], decoded.
    pub async fn load_all<T: DeserializeOwned>(&mut self, kind: &str, parent: Option<&str>) -> Result<Vec<T>> {
        self.list(kind, parent).await?.into_iter().map(decode).collect()
    }

    pub async fn count(&mut self, kind: &str, parent: Option<&str>) -> Result<usize> {
        let n = self.0.count(kind, parent).await.map_err(system)?;
        // A count is never negative; the store's type is SQL's.
        Ok(usize::try_from(n).unwrap_or_default())
    }

    pub async fn find_key(&mut self, kind: &str, key: &str) -> Result<Option<Document>> {
        self.0.find_key(kind, key).await.map_err(system)
    }

    /// Every lookup key of a kind, with the id of the document holding it.
    pub async fn list_keys(&mut self, kind: &str) -> Result<Vec<(String, String)>> {
        self.0.list_keys(kind).await.map_err(system)
    }

    /// Whether a document other than `id` holds a unique key (the name a
    /// write would take is someone else's).
    pub async fn key_taken(&mut self, kind: &str, key: &str, id: &str) -> Result<bool> {
        Ok(self.find_key(kind, key).await?.is_some_and(|d| d.id != id))
    }

    /// Inserts or replaces a document whose keys no one else can hold
    /// (a conflict is a store failure).
    pub async fn put(&mut self, doc: NewDocument<'_>) -> Result<()> {
        self.0.put(doc).await.map_err(system)?;
        Ok(())
    }

    /// Inserts or replaces a document; a unique-key conflict (a concurrent
    /// writer took the key after our check) is `conflict` on `field`.
    pub async fn put_unique(&mut self, doc: NewDocument<'_>, conflict: Code, field: &str) -> Result<()> {
        self.put_or(doc, |_| ApiError::field(conflict, field)).await
    }

    /// Inserts or replaces a document; a unique-key conflict is the error
    /// `on_conflict` makes of the key taken.
    pub async fn put_or(&mut self, doc: NewDocument<'_>, on_conflict: impl FnOnce(&str) -> ApiError) -> Result<()> {
        match self.0.put(doc).await {
            Ok(_) => Ok(()),
            Err(StoreError::Conflict { key, .. }) => Err(on_conflict(&key)),
            Err(other) => Err(system(other)),
        }
    }

    /// Deletes a document; false if it did not exist.
    pub async fn delete(&mut self, kind: &str, id: &str) -> Result<bool> {
        self.0.delete(kind, id).await.map_err(system)
    }

    /// Deletes the document holding a unique key, if any.
    pub async fn delete_key(&mut self, kind: &str, key: &str) -> Result<()> {
        if let Some(doc) = self.find_key(kind, key).await? {
            self.delete(kind, &doc.id).await?;
        }
        Ok(())
    }

    /// Deletes every document of a kind under `parent` (what goes with it).
    pub async fn delete_children(&mut self, kind: &str, parent: &str) -> Result<()> {
        for doc in self.list(kind, Some(parent)).await? {
            self.delete(kind, &doc.id).await?;
        }
        Ok(())
    }

    /// Commits without waiting for the gateway (for steps of a batch, which
    /// waits once at the end); returns the revision written.
    pub async fn commit(self) -> Result<i64> {
        self.0.commit().await.map_err(system)
    }
}

impl Service {
    /// Starts a write transaction.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(Tx(self.store.begin().await.map_err(system)?))
    }

    /// Deletes one document that nothing depends on (a binding, a variable,
    /// ...) in a transaction of its own, or answers `not_found`.
    pub(crate) async fn delete_doc(&self, kind: &str, not_found: Code, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.delete(kind, id).await? {
            return Err(ApiError::new(not_found));
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Commits a write transaction and lets the local gateway catch up.
    pub(crate) async fn commit(&self, tx: Tx) -> Result<i64> {
        let revision = tx.commit().await?;
        self.settle(revision).await;
        Ok(revision)
    }
}

#[cfg(test)]
mod tests {
    use causeway_model::{Limits, kinds};
    use serde_json::json;

    use super::super::{ServiceConfig, c};
    use super::*;

    /// A service over a fresh SQLite store in its own folder (removed by the caller).
    async fn service(name: &str) -> (Service, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("causeway-admin-tx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = causeway_store::open(&format!("sqlite://{}/causeway.db", dir.display())).await.unwrap();
        (Service::new(store, ServiceConfig { base_domain: "example.test".into(), limits: Limits::default(), instance: Default::default() }), dir)
    }

    fn doc<'a>(kind: &'a str, id: &'a str, parent: Option<&'a str>, keys: &[&str], body: &'a serde_json::Value) -> NewDocument<'a> {
        NewDocument { kind, id, parent, keys: keys.iter().map(|k| k.to_string()).collect(), body }
    }

    #[tokio::test]
    async fn a_taken_key_is_the_callers_error_and_other_reads_decode() {
        let (s, dir) = service("keys").await;
        let body = json!({"id": "e1", "name": "one", "create_time": "t"});
        let mut tx = s.begin().await.unwrap();
        tx.put(doc(kinds::ENV, "e1", None, &["name:one"], &body)).await.unwrap();
        assert!(tx.key_taken(kinds::ENV, "name:one", "e2").await.unwrap());
        assert!(!tx.key_taken(kinds::ENV, "name:one", "e1").await.unwrap());
        assert!(!tx.key_taken(kinds::ENV, "name:two", "e2").await.unwrap());

        // Another document taking the key: the code given on the field given, or whatever `put_or` makes of the key.
        let e = tx.put_unique(doc(kinds::ENV, "e2", None, &["name:one"], &body), c::ENV_NAME_EXISTS, "name").await.unwrap_err();
        assert_eq!((e.code, e.status), (c::ENV_NAME_EXISTS.code, 400));
        assert!(e.message.contains("parameterName:name"), "{}", e.message);
        let e = tx.put_or(doc(kinds::ENV, "e2", None, &["name:one"], &body), |key| ApiError::detail(c::ENV_NAME_EXISTS, key)).await.unwrap_err();
        assert!(e.message.contains("name:one"), "{}", e.message);
        // Without a conflict code, a conflict is a store failure.
        let e = tx.put(doc(kinds::ENV, "e2", None, &["name:one"], &body)).await.unwrap_err();
        assert_eq!(e.code, c::SYSTEM.code);

        assert!(tx.exists(kinds::ENV, "e1").await.unwrap());
        let env: causeway_model::env::Env = tx.load(kinds::ENV, "e1", c::ENV_NOT_FOUND).await.unwrap();
        assert_eq!(env.name, "one");
        let e = tx.load::<causeway_model::env::Env>(kinds::ENV, "nope", c::ENV_NOT_FOUND).await.unwrap_err();
        assert_eq!(e.code, c::ENV_NOT_FOUND.code);
        assert_eq!(tx.load_all::<causeway_model::env::Env>(kinds::ENV, None).await.unwrap().len(), 1);
        s.commit(tx).await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn deletes_by_key_by_parent_and_by_id() {
        let (s, dir) = service("deletes").await;
        let body = json!({});
        let mut tx = s.begin().await.unwrap();
        tx.put(doc("thing", "p", None, &[], &body)).await.unwrap();
        tx.put(doc("child", "c1", Some("p"), &["slot:1"], &body)).await.unwrap();
        tx.put(doc("child", "c2", Some("p"), &[], &body)).await.unwrap();
        tx.put(doc("child", "c3", Some("q"), &[], &body)).await.unwrap();
        assert_eq!(tx.count("child", Some("p")).await.unwrap(), 2);

        tx.delete_key("child", "slot:1").await.unwrap();
        tx.delete_key("child", "slot:1").await.unwrap();
        assert!(!tx.exists("child", "c1").await.unwrap());
        tx.delete_children("child", "p").await.unwrap();
        assert_eq!(tx.count("child", Some("p")).await.unwrap(), 0);
        assert_eq!(tx.count("child", None).await.unwrap(), 1);
        s.commit(tx).await.unwrap();

        // One at a time, and a batch where each fails on its own.
        s.delete_doc("child", c::ACL_BINDING_NOT_FOUND, "c3").await.unwrap();
        let e = s.delete_doc("child", c::ACL_BINDING_NOT_FOUND, "c3").await.unwrap_err();
        assert_eq!(e.code, c::ACL_BINDING_NOT_FOUND.code);
        let out = s.delete_bindings("thing", c::ACL_BINDING_NOT_FOUND, vec!["p".into(), "gone".into()]).await.unwrap();
        assert_eq!(
            serde_json::to_value(&out).unwrap(),
            json!({"success_count": 1, "failure": [{"id": "gone", "error_code": "APIG.3010", "error_msg": c::ACL_BINDING_NOT_FOUND.message}]})
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
