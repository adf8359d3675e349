//! The audit log against the real server: every management write is
//! recorded with its credential, address, path, resource and outcome,
//! queryable with filters by admins only, free of secrets, kept in SQLite and
//! PostgreSQL alike, and pruned after its retention.

mod common;

use common::{Backend, Server, TOKEN, assert_error};
use serde_json::{Value, json};

async fn entries(s: &Server, query: &str) -> Value {
    let (status, body) = s.get(&format!("/audit-logs{query}")).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn writes_are_recorded(s: &Server) {
    // A create: the new resource's id comes from the answer.
    let (status, group) = s.post("/api-groups", &json!({"name": "audited_group", "remark": "first"})).await;
    assert_eq!(status, 201, "{group}");
    let group_id = group["id"].as_str().unwrap();
    let (status, _) = s.put(&format!("/api-groups/{group_id}"), &json!({"name": "audited_group", "remark": "second"})).await;
    assert_eq!(status, 200);
    // A refused write is recorded with its error code.
    assert_error(&s.post("/api-groups", &json!({"name": "x"})).await, 400, "APIG.2011", Some("name"));
    // A write by a named credential, and one its role refuses.
    let (_, viewer) = s.post("/admin-credentials", &json!({"name": "auditor_viewer", "role": "viewer"})).await;
    let viewer_token = viewer["token"].as_str().unwrap();
    assert_error(&s.call_as(viewer_token, "DELETE", &format!("/api-groups/{group_id}"), None).await, 403, "APIG.1005", None);
    // A write with a wrong token: no credential.
    assert_error(&s.call_as("a-wrong-token", "POST", "/api-groups", Some(&json!({"name": "sneaky"}))).await, 401, "APIG.1002", None);
    assert_eq!(s.delete(&format!("/api-groups/{group_id}")).await.0, 204);
    // Reads are not recorded.
    let _ = s.get("/api-groups").await;

    let log = entries(s, "?page_size=50").await;
    let list = log["audit_logs"].as_array().unwrap();
    assert_eq!(log["total"], 7, "{log:#}");
    let summary: Vec<(String, String, i64, String, String, String)> = list
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_string(),
                e["credential"].as_str().unwrap().to_string(),
                e["status"].as_i64().unwrap(),
                e["resource_kind"].as_str().unwrap().to_string(),
                e["resource_id"].as_str().unwrap().to_string(),
                e["error_code"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let g = group_id.to_string();
    let row = |m: &str, c: &str, st: i64, k: &str, id: &str, code: &str| (m.to_string(), c.to_string(), st, k.to_string(), id.to_string(), code.to_string());
    let viewer_id = viewer["id"].as_str().unwrap();
    assert_eq!(
        summary,
        vec![
            row("DELETE", "bootstrap", 204, "api-groups", &g, ""),
            row("POST", "", 401, "api-groups", "", "APIG.1002"),
            row("DELETE", "auditor_viewer", 403, "api-groups", &g, "APIG.1005"),
            row("POST", "bootstrap", 201, "admin-credentials", viewer_id, ""),
            row("POST", "bootstrap", 400, "api-groups", "", "APIG.2011"),
            row("PUT", "bootstrap", 200, "api-groups", &g, ""),
            row("POST", "bootstrap", 201, "api-groups", &g, ""),
        ],
        "newest first"
    );
    let first = &list[6];
    assert_eq!(first["path"], "/v1.0/apigw/api-groups");
    assert_eq!(first["source_ip"], "127.0.0.1");
    assert_eq!(first["outcome"], "success");
    assert_eq!(list[4]["outcome"], "failure");
    let body = json!({"name": "audited_group", "remark": "first"}).to_string();
    assert_eq!(first["digest"].as_str().unwrap(), format!("sha256:{}", causeway_sign::sdk::sha256_hex(body.as_bytes())));
    assert_eq!(first["request_id"].as_str().unwrap().len(), 32);
    assert!(first["time"].as_str().unwrap().ends_with('Z'));

    // Filters.
    let by = |q: &str| {
        let q = q.to_string();
        async move { entries(s, &q).await["total"].as_u64().unwrap() }
    };
    assert_eq!(by("?credential=auditor_viewer").await, 1);
    assert_eq!(by(&format!("?resource_kind=api-groups&resource_id={g}")).await, 4);
    assert_eq!(by("?method=post").await, 4);
    assert_eq!(by("?outcome=failure").await, 3);
    assert_eq!(by("?outcome=success&method=DELETE").await, 1);
    let last_time = list[0]["time"].as_str().unwrap();
    assert_eq!(by(&format!("?since={last_time}")).await, 1);
    assert_eq!(by(&format!("?until={last_time}")).await, 6);
    assert_eq!(by("?since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z").await, 0);
    assert_eq!(entries(s, "?page_size=2&page_no=2").await["audit_logs"].as_array().unwrap().len(), 2);
    assert_error(&s.get("/audit-logs?outcome=maybe").await, 400, "APIG.2011", Some("outcome"));
    assert_error(&s.get("/audit-logs?since=yesterday").await, 400, "APIG.2011", Some("since"));
    // Admins only.
    assert_error(&s.call_as(viewer_token, "GET", "/audit-logs", None).await, 403, "APIG.1005", None);
    let (_, editor) = s.post("/admin-credentials", &json!({"name": "auditor_editor", "role": "editor"})).await;
    assert_error(&s.call_as(editor["token"].as_str().unwrap(), "GET", "/audit-logs", None).await, 403, "APIG.1005", None);
}

#[tokio::test]
async fn writes_are_recorded_on_sqlite() {
    let s = Server::start().await;
    writes_are_recorded(&s).await;
}

#[tokio::test]
async fn writes_are_recorded_on_postgres() {
    let Some(backend) = Backend::postgres() else { return };
    let s = Server::start_with(backend, &[]).await;
    writes_are_recorded(&s).await;
}

/// Every write path, answered however it is answered, leaves one entry naming its method and path.
#[tokio::test]
async fn every_write_path_leaves_an_entry() {
    let s = Server::start().await;
    let mut expected = Vec::new();
    for (method, path) in common::management_routes() {
        if method == "GET" {
            continue;
        }
        let (status, _) = s.call(&method, &path, Some(&json!({}))).await;
        expected.push((method, format!("/v1.0/apigw{path}"), status as i64));
    }
    let log = entries(&s, "?page_size=500").await;
    let mut recorded: Vec<(String, String, i64)> = log["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["method"].as_str().unwrap().to_string(), e["path"].as_str().unwrap().to_string(), e["status"].as_i64().unwrap()))
        .collect();
    recorded.reverse();
    assert_eq!(recorded, expected);
    assert!(log["audit_logs"].as_array().unwrap().iter().all(|e| e["credential"] == "bootstrap"));
}

/// Secrets a write carries or answers never reach the log.
#[tokio::test]
async fn no_secret_reaches_the_log() {
    let s = Server::start().await;
    let secret = "Sup3r-Secret-Value-For-The-Audit-Test";
    let (status, app) = s.post("/apps", &json!({"name": "audited_app", "app_key": "audited-app-key-0001", "app_secret": secret})).await;
    assert_eq!(status, 201, "{app}");
    let (status, sign) = s.post("/signs", &json!({"name": "audited_sign", "sign_key": "audited_sign_key", "sign_secret": secret})).await;
    assert_eq!(status, 201, "{sign}");
    let (_, issued) = s.post("/admin-credentials", &json!({"name": "issued_one", "role": "viewer"})).await;
    let token = issued["token"].as_str().unwrap();
    let (_, rotated) = s.put(&format!("/admin-credentials/{}/secret", issued["id"].as_str().unwrap()), &json!({})).await;
    let log = entries(&s, "?page_size=50").await.to_string();
    assert_eq!(entries(&s, "").await["total"], 4);
    for leaked in [secret, token, rotated["token"].as_str().unwrap(), TOKEN] {
        assert!(!log.contains(leaked), "{leaked} in the audit log: {log}");
    }
}

/// Entries older than the retention are pruned when the server starts (and hourly).
#[tokio::test]
async fn old_entries_are_pruned_after_the_retention() {
    let mut s = Server::start_with(Backend::Sqlite, &["--audit-retention-days", "30"]).await;
    let (status, _) = s.post("/api-groups", &json!({"name": "recent_group"})).await;
    assert_eq!(status, 201);
    // An entry from 31 days ago, written straight into the store.
    {
        use sqlx::Executor;
        let url = format!("sqlite://{}/causeway.db", s.data_dir.path().display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let old = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64) - 31 * 86_400 * 1_000_000;
        let insert = format!(
            "INSERT INTO audit_log (id, at_micros, time, credential, source, method, path, resource_kind, resource_id, status, error_code, digest, request_id) \
             VALUES ('{:032x}', {old}, 'then', 'bootstrap', '127.0.0.1', 'POST', '/v1.0/apigw/apis', 'apis', '', 201, '', 'sha256:', '')",
            1
        );
        pool.execute(sqlx::AssertSqlSafe(insert)).await.unwrap();
        pool.close().await;
    }
    assert_eq!(entries(&s, "").await["total"], 2);
    s.restart();
    // Pruned by a task the start launches: wait for it (bounded), not a fixed time.
    let mut log = entries(&s, "").await;
    for _ in 0..200 {
        if log["total"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        log = entries(&s, "").await;
    }
    assert_eq!(log["total"], 1, "{log}");
    assert_eq!(log["audit_logs"][0]["path"], "/v1.0/apigw/api-groups");
}
