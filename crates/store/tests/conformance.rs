//! One conformance suite, run against every store implementation:
//! SQLite in a temporary directory, and PostgreSQL from
//! `CAUSEWAY_TEST_POSTGRES` in a schema of its own.

use std::sync::Arc;

use causeway_store::{AuditEntry, AuditQuery, Change, ChangeOp, Cipher, NewDocument, SealingStore, Store, StoreError};
use serde_json::json;

async fn suite(store: Arc<dyn Store>) {
    crud_and_revisions(&*store).await;
    unique_keys(&*store).await;
    rollback_on_drop(&*store).await;
    listing_by_parent_in_creation_order(&*store).await;
    serialised_check_then_write(store.clone()).await;
    pruning_the_feed(&*store).await;
    the_audit_log(&*store).await;
    bodies_replaced_keys_kept(&*store).await;
    sealed_fields(store.clone()).await;
}

async fn bodies_replaced_keys_kept(store: &dyn Store) {
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("replaced", "r1", None, &["name:r1", "alias:first"], &json!({"v": 1}))).await.unwrap();
    tx.commit().await.unwrap();
    let before = store.revision().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert!(tx.replace_body("replaced", "r1", &json!({"v": 2})).await.unwrap());
    assert!(!tx.replace_body("replaced", "missing", &json!({"v": 2})).await.unwrap());
    assert_eq!(tx.list_keys("replaced").await.unwrap(), [("alias:first".to_string(), "r1".to_string()), ("name:r1".to_string(), "r1".to_string())]);
    tx.commit().await.unwrap();
    let got = store.find_key("replaced", "alias:first").await.unwrap().expect("keys kept");
    assert_eq!(got.body, json!({"v": 2}));
    assert!(got.revision > before, "a replaced body is a change");
    assert!(store.changes_since(before, 10).await.unwrap().iter().any(|c| c.kind == "replaced" && c.id == "r1"));
}

/// A toy cipher for the wrapper's rules (the real one is AES-256-GCM in causeway-tls).
struct Reverse(&'static str);

impl Cipher for Reverse {
    fn seal(&self, clear: &[u8]) -> Result<String, String> {
        Ok(format!("{}{}", self.0, String::from_utf8_lossy(clear).chars().rev().collect::<String>()))
    }
    fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        let body = sealed.strip_prefix(self.0).ok_or("not sealed with this key")?;
        Ok(body.chars().rev().collect::<String>().into_bytes())
    }
}

async fn sealed_fields(raw: Arc<dyn Store>) {
    let sealing = SealingStore::new(raw.clone(), Arc::new(Reverse("k1:")));
    // Written before sealing: in clear.
    let mut tx = raw.begin().await.unwrap();
    tx.put(doc("app", "old", None, &["key:old-app"], &json!({"name": "old", "app_secret": "old-secret-1"}))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = sealing.begin().await.unwrap();
    tx.put(doc("app", "new", None, &["key:new-app"], &json!({"name": "new", "app_secret": "new-secret-2"}))).await.unwrap();
    tx.put(doc("group", "g", None, &[], &json!({"name": "g", "app_secret": "not a secret field here"}))).await.unwrap();
    tx.commit().await.unwrap();

    // Stored sealed, read in clear, through every way of reading.
    let stored = raw.get("app", "new").await.unwrap().unwrap();
    assert_eq!(stored.body, json!({"name": "new", "app_secret": {"sealed": "k1:2-terces-wen"}}));
    assert_eq!(sealing.get("app", "new").await.unwrap().unwrap().body["app_secret"], "new-secret-2");
    assert_eq!(sealing.find_key("app", "key:new-app").await.unwrap().unwrap().body["app_secret"], "new-secret-2");
    let listed = sealing.list("app", None).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.body["app_secret"].as_str().unwrap()).collect::<Vec<_>>(), ["old-secret-1", "new-secret-2"]);
    let mut tx = sealing.begin().await.unwrap();
    assert_eq!(tx.get("app", "new").await.unwrap().unwrap().body["app_secret"], "new-secret-2");
    drop(tx);
    assert_eq!(raw.get("group", "g").await.unwrap().unwrap().body["app_secret"], "not a secret field here", "only the kind's fields");

    // Sealing in place seals what was in clear, once, and keeps its keys.
    assert_eq!(sealing.seal_in_place().await.unwrap(), 1);
    assert_eq!(sealing.seal_in_place().await.unwrap(), 0);
    assert_eq!(raw.find_key("app", "key:old-app").await.unwrap().unwrap().body["app_secret"], json!({"sealed": "k1:1-terces-dlo"}));
    assert_eq!(sealing.get("app", "old").await.unwrap().unwrap().body["app_secret"], "old-secret-1");

    // Another key cannot open them: an error, never a wrong secret.
    let wrong = SealingStore::new(raw.clone(), Arc::new(Reverse("k2:")));
    assert!(matches!(wrong.get("app", "old").await, Err(StoreError::Corrupt { .. })));
    let mut tx = raw.begin().await.unwrap();
    tx.delete("app", "old").await.unwrap();
    tx.delete("app", "new").await.unwrap();
    tx.commit().await.unwrap();
}

fn entry(n: i64, credential: &str, method: &str, kind: &str, status: i64) -> AuditEntry {
    AuditEntry {
        id: format!("{n:032x}"),
        at_micros: 1_000_000 * n,
        time: format!("t{n}"),
        credential: credential.into(),
        source: "192.0.2.7".into(),
        method: method.into(),
        path: format!("/v1.0/apigw/{kind}/{n}"),
        resource_kind: kind.into(),
        resource_id: format!("r{n}"),
        status,
        error_code: if status >= 400 { "APIG.2011".into() } else { String::new() },
        digest: format!("sha256:{n}"),
        request_id: format!("q{n}"),
    }
}

async fn the_audit_log(store: &dyn Store) {
    let entries = [
        entry(1, "alice", "POST", "apis", 201),
        entry(2, "bob", "PUT", "apis", 400),
        entry(3, "alice", "DELETE", "apps", 204),
        entry(4, "alice", "POST", "apis", 201),
    ];
    for e in &entries {
        store.append_audit(e).await.unwrap();
    }
    let all = AuditQuery { limit: 10, ..Default::default() };
    let (total, got) = store.audit_entries(&all).await.unwrap();
    assert_eq!(total, 4);
    assert_eq!(got.iter().map(|e| e.at_micros / 1_000_000).collect::<Vec<_>>(), [4, 3, 2, 1], "newest first");
    assert_eq!(got[3], entries[0], "every field kept");

    let select = |q: AuditQuery| async move {
        let (total, got) = store.audit_entries(&AuditQuery { limit: 10, ..q }).await.unwrap();
        (total, got.iter().map(|e| e.at_micros / 1_000_000).collect::<Vec<_>>())
    };
    assert_eq!(select(AuditQuery { credential: Some("alice".into()), ..Default::default() }).await, (3, vec![4, 3, 1]));
    assert_eq!(select(AuditQuery { method: Some("POST".into()), resource_kind: Some("apis".into()), ..Default::default() }).await, (2, vec![4, 1]));
    assert_eq!(select(AuditQuery { resource_id: Some("r3".into()), ..Default::default() }).await, (1, vec![3]));
    assert_eq!(select(AuditQuery { succeeded: Some(false), ..Default::default() }).await, (1, vec![2]));
    assert_eq!(select(AuditQuery { succeeded: Some(true), ..Default::default() }).await, (3, vec![4, 3, 1]));
    assert_eq!(select(AuditQuery { since_micros: Some(2_000_000), until_micros: Some(4_000_000), ..Default::default() }).await, (2, vec![3, 2]));
    // Paging counts every match and returns one page.
    let (total, page) = store.audit_entries(&AuditQuery { limit: 2, offset: 1, ..Default::default() }).await.unwrap();
    assert_eq!((total, page.iter().map(|e| e.at_micros / 1_000_000).collect::<Vec<_>>()), (4, vec![3, 2]));

    assert_eq!(store.prune_audit(3_000_000).await.unwrap(), 2);
    assert_eq!(select(AuditQuery::default()).await, (2, vec![4, 3]));
}

async fn pruning_the_feed(store: &dyn Store) {
    for i in 0..5 {
        let mut tx = store.begin().await.unwrap();
        tx.put(doc("pruned", &format!("p{i}"), None, &[], &json!({"i": i}))).await.unwrap();
        tx.commit().await.unwrap();
    }
    let revision = store.revision().await.unwrap();
    assert!(store.prune_changes(2).await.unwrap() > 0);
    assert_eq!(store.pruned().await.unwrap(), revision - 2);
    let left = store.changes_since(0, 1000).await.unwrap();
    assert!(left.iter().all(|c| c.revision > revision - 2), "{left:?}");
    assert_eq!(left.iter().filter(|c| c.kind == "pruned").count(), 2);
    // Nothing more to drop; documents are untouched.
    assert_eq!(store.prune_changes(2).await.unwrap(), 0);
    assert_eq!(store.list("pruned", None).await.unwrap().len(), 5);
}

fn doc<'a>(kind: &'a str, id: &'a str, parent: Option<&'a str>, keys: &[&str], body: &'a serde_json::Value) -> NewDocument<'a> {
    NewDocument { kind, id, parent, keys: keys.iter().map(|k| k.to_string()).collect(), body }
}

async fn crud_and_revisions(store: &dyn Store) {
    let start = store.revision().await.unwrap();
    let body = json!({"name": "one", "nested": {"n": 1, "list": [1, "two", null]}});
    let mut tx = store.begin().await.unwrap();
    let r1 = tx.put(doc("thing", "a1", None, &["name:one"], &body)).await.unwrap();
    // Several writes in one transaction share its revision.
    let r1b = tx.put(doc("thing", "a2", None, &[], &json!({"name": "two"}))).await.unwrap();
    assert_eq!(r1, r1b);
    assert_eq!(tx.commit().await.unwrap(), r1);
    assert!(r1 > start);
    assert_eq!(store.revision().await.unwrap(), r1);

    let got = store.get("thing", "a1").await.unwrap().expect("stored");
    assert_eq!(got.body, body);
    assert_eq!(got.revision, r1);
    assert_eq!(got.parent, None);
    assert!(store.get("thing", "missing").await.unwrap().is_none());
    assert!(store.get("other", "a1").await.unwrap().is_none(), "kinds are separate namespaces");

    // Replace, then delete; each commit is a new revision in the feed.
    let mut tx = store.begin().await.unwrap();
    let r2 = tx.put(doc("thing", "a1", None, &["name:uno"], &json!({"name": "uno"}))).await.unwrap();
    tx.commit().await.unwrap();
    assert!(r2 > r1);
    assert_eq!(store.get("thing", "a1").await.unwrap().unwrap().body["name"], "uno");
    assert!(store.find_key("thing", "name:one").await.unwrap().is_none(), "old keys are released");
    assert_eq!(store.find_key("thing", "name:uno").await.unwrap().unwrap().id, "a1");

    let mut tx = store.begin().await.unwrap();
    assert!(tx.delete("thing", "a1").await.unwrap());
    assert!(!tx.delete("thing", "nope").await.unwrap());
    let r3 = tx.commit().await.unwrap();
    assert!(r3 > r2);
    assert!(store.get("thing", "a1").await.unwrap().is_none());
    assert!(store.find_key("thing", "name:uno").await.unwrap().is_none());

    let changes = store.changes_since(start, 100).await.unwrap();
    let ours: Vec<&Change> = changes.iter().filter(|c| c.kind == "thing").collect();
    assert_eq!(
        ours.iter().map(|c| (c.revision, c.id.as_str(), c.op)).collect::<Vec<_>>(),
        vec![(r1, "a1", ChangeOp::Put), (r1, "a2", ChangeOp::Put), (r2, "a1", ChangeOp::Put), (r3, "a1", ChangeOp::Delete)]
    );
    // A watcher resumes after the last revision it saw.
    let later = store.changes_since(r2, 100).await.unwrap();
    assert!(later.iter().all(|c| c.revision > r2));
    assert_eq!(store.changes_since(start, 1).await.unwrap().len(), 1, "limit is honoured");

    // A transaction that writes nothing reports the current revision.
    let tx = store.begin().await.unwrap();
    assert_eq!(tx.commit().await.unwrap(), r3);
}

async fn unique_keys(store: &dyn Store) {
    let body = json!({});
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("keyed", "k1", None, &["name:x"], &body)).await.unwrap();
    tx.commit().await.unwrap();

    let mut tx = store.begin().await.unwrap();
    let err = tx.put(doc("keyed", "k2", None, &["name:x"], &body)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { ref key, .. } if key == "name:x"), "{err}");
    drop(tx);
    assert!(store.get("keyed", "k2").await.unwrap().is_none());
    // The same key in another kind is free; the owner may put it again.
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("other_keyed", "k2", None, &["name:x"], &body)).await.unwrap();
    tx.put(doc("keyed", "k1", None, &["name:x", "alias:y"], &body)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.find_key("keyed", "alias:y").await.unwrap().unwrap().id, "k1");
}

async fn rollback_on_drop(store: &dyn Store) {
    let before = store.revision().await.unwrap();
    {
        let mut tx = store.begin().await.unwrap();
        tx.put(doc("ghost", "g1", None, &["name:g"], &json!({"x": 1}))).await.unwrap();
        assert!(tx.get("ghost", "g1").await.unwrap().is_some(), "a transaction reads its own writes");
    }
    assert!(store.get("ghost", "g1").await.unwrap().is_none());
    assert!(store.find_key("ghost", "name:g").await.unwrap().is_none());
    assert_eq!(store.revision().await.unwrap(), before);
}

async fn listing_by_parent_in_creation_order(store: &dyn Store) {
    let mut tx = store.begin().await.unwrap();
    for (id, parent) in [("c3", "p1"), ("c1", "p2"), ("c2", "p1")] {
        tx.put(doc("child", id, Some(parent), &[], &json!({"id": id}))).await.unwrap();
    }
    tx.commit().await.unwrap();
    // Updating keeps a document's place.
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("child", "c3", Some("p1"), &[], &json!({"id": "c3", "v": 2}))).await.unwrap();
    assert_eq!(tx.count("child", Some("p1")).await.unwrap(), 2);
    assert_eq!(tx.count("child", None).await.unwrap(), 3);
    assert_eq!(tx.list("child", Some("p2")).await.unwrap().len(), 1);
    tx.commit().await.unwrap();

    let ids = |docs: Vec<causeway_store::Document>| docs.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list("child", Some("p1")).await.unwrap()), ["c3", "c2"]);
    assert_eq!(ids(store.list("child", None).await.unwrap()), ["c3", "c1", "c2"]);
    assert_eq!(store.list("child", Some("p1")).await.unwrap()[0].parent.as_deref(), Some("p1"));
}

/// Two writers doing "read the counter, write counter + 1" must not lose an update.
async fn serialised_check_then_write(store: Arc<dyn Store>) {
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("counter", "c", None, &[], &json!({"n": 0}))).await.unwrap();
    tx.commit().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                let mut tx = store.begin().await.unwrap();
                let n = tx.get("counter", "c").await.unwrap().unwrap().body["n"].as_i64().unwrap();
                tokio::task::yield_now().await;
                tx.put(doc("counter", "c", None, &[], &json!({"n": n + 1}))).await.unwrap();
                tx.commit().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.get("counter", "c").await.unwrap().unwrap().body["n"], 40);
    // Revisions in the feed are gap-free for committed transactions and ordered.
    let changes = store.changes_since(0, 10_000).await.unwrap();
    assert!(changes.windows(2).all(|w| w[0].revision <= w[1].revision));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/causeway.db", dir.path().display());
    let store = causeway_store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    suite(store.clone()).await;
    store.close().await;

    // Reopening finds everything, and migrations are not applied twice.
    let store = causeway_store::open(&url).await.unwrap();
    assert!(store.get("thing", "a2").await.unwrap().is_some());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conformance() {
    let Ok(base) = std::env::var("CAUSEWAY_TEST_POSTGRES") else {
        // Under CI every test service must be there.
        assert!(std::env::var_os("CI").is_none(), "CAUSEWAY_TEST_POSTGRES is not set, and CI is");
        eprintln!("CAUSEWAY_TEST_POSTGRES is not set: skipping the PostgreSQL conformance run");
        return;
    };
    let schema = format!("cw_conf_{}", uuid::Uuid::new_v4().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema={schema}");
    let store = causeway_store::open(&url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    suite(store.clone()).await;
    store.close().await;

    let store = causeway_store::open(&url).await.unwrap();
    assert!(store.get("thing", "a2").await.unwrap().is_some());
    store.close().await;

    // Leave the test database as we found it.
    use sqlx::Executor;
    let pool = sqlx::PgPool::connect(&base).await.unwrap();
    pool.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE"))).await.unwrap();
}

/// A failover as a writer sees it: the connection of its transaction is cut
/// (as a primary that goes away, or an administrator, cuts it) before the
/// commit. The write is reported as the store being unavailable — never
/// half-applied: nothing of it is there, the revision has not moved, and the
/// next write succeeds on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connection_cut_mid_transaction_applies_nothing() {
    let Ok(base) = std::env::var("CAUSEWAY_TEST_POSTGRES") else {
        assert!(std::env::var_os("CI").is_none(), "CAUSEWAY_TEST_POSTGRES is not set, and CI is");
        eprintln!("CAUSEWAY_TEST_POSTGRES is not set: skipping");
        return;
    };
    let schema = format!("cw_cut_{}", uuid::Uuid::new_v4().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    let store = causeway_store::open(&format!("{base}{sep}schema={schema}")).await.unwrap();
    let admin = sqlx::PgPool::connect(&base).await.unwrap();
    let body = serde_json::json!({"n": 1});
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("thing", "first", None, &["name:first"], &body)).await.unwrap();
    tx.put(doc("thing", "second", None, &["name:second"], &body)).await.unwrap();
    let before = store.revision().await.unwrap();
    // The writer holds the one advisory lock Causeway's writers take: its backend is the holder.
    let cut: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT count(pg_terminate_backend(pid))::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid::bigint = $1 AND objid::bigint = $2")
            .bind(0x4361_7573_i64)
            .bind(0x6577_6179_i64)
            .fetch_one(&admin)
            .await
            .unwrap(),
        0,
    )
    .unwrap();
    assert_eq!(cut, 1, "the writer's connection was found and cut");
    let failed = tx.commit().await.expect_err("a commit on a cut connection fails");
    assert!(failed.is_unavailable(), "reported as the store being unavailable (503, try again): {failed:?}");
    // Nothing of it was applied.
    assert_eq!(store.revision().await.unwrap(), before);
    assert!(store.get("thing", "first").await.unwrap().is_none());
    assert!(store.get("thing", "second").await.unwrap().is_none());
    // The next write goes through on a new connection.
    let mut tx = store.begin().await.unwrap();
    tx.put(doc("thing", "first", None, &["name:first"], &body)).await.unwrap();
    tx.commit().await.unwrap();
    assert!(store.get("thing", "first").await.unwrap().is_some());
    store.close().await;
    use sqlx::Executor;
    admin.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE"))).await.unwrap();
}
