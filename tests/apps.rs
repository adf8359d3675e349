//! Apps and AppCodes through the v1.0 management API: the real binary, real HTTP, both stores.

mod common;

use common::{Backend, Server, assert_error};
use serde_json::json;

async fn app_lifecycle(s: &Server) {
    // Generated credentials.
    let (status, app) = s.post("/apps", &json!({"name": "app_one", "remark": "first app"})).await;
    assert_eq!(status, 201, "{app}");
    let id = app["id"].as_str().unwrap().to_string();
    assert_eq!(app["name"], "app_one");
    assert_eq!(app["status"], 1);
    assert_eq!(app["creator"], "USER");
    assert_eq!(app["app_type"], "apig");
    assert_eq!(app["remark"], "first app");
    let key = app["app_key"].as_str().unwrap();
    let secret = app["app_secret"].as_str().unwrap();
    assert_eq!(key.len(), 32, "{key}");
    assert!(secret.len() >= 8 && secret.chars().all(|c| c.is_ascii_alphanumeric()), "{secret}");
    assert!(app["register_time"].as_str().unwrap().ends_with('Z'));

    // Given credentials; read back equal.
    let (status, given) = s
        .post("/apps", &json!({"name": "app_two", "app_key": "my-key_0001", "app_secret": "My$ecret#0001"}))
        .await;
    assert_eq!(status, 201, "{given}");
    assert_eq!(given["app_key"], "my-key_0001");
    assert_eq!(given["app_secret"], "My$ecret#0001");
    let given_id = given["id"].as_str().unwrap().to_string();
    let (status, read) = s.get(&format!("/apps/{given_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read, given);

    // Uniqueness of names and keys.
    assert_error(&s.post("/apps", &json!({"name": "app_one"})).await, 400, "APIG.3203", Some("name"));
    assert_error(&s.post("/apps", &json!({"name": "app_three", "app_key": "my-key_0001"})).await, 400, "APIG.3310", Some("app_key"));
    assert_error(&s.put(&format!("/apps/{id}"), &json!({"name": "app_two"})).await, 400, "APIG.3203", Some("name"));

    // Validation names the field.
    assert_error(&s.post("/apps", &json!({})).await, 400, "APIG.2001", Some("name"));
    assert_error(&s.post("/apps", &json!({"name": "9lives"})).await, 400, "APIG.2011", Some("name"));
    assert_error(&s.post("/apps", &json!({"name": "app_x", "app_key": "short"})).await, 400, "APIG.2011", Some("app_key"));
    assert_error(&s.post("/apps", &json!({"name": "app_x", "app_secret": "bad secret!"})).await, 400, "APIG.2011", Some("app_secret"));
    assert_error(&s.post("/apps", &json!({"name": "app_x", "remark": "r".repeat(256)})).await, 400, "APIG.2011", Some("remark"));
    assert_error(&s.post("/apps", &json!({"name": 5})).await, 400, "APIG.2012", Some("name"));

    // List with filters.
    let (status, list) = s.get("/apps?name=app_").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 2, "{list}");
    let (_, list) = s.get("/apps?app_key=my-key_0001").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["apps"][0]["id"], given_id.as_str());

    // Update keeps the secret unless one is given.
    let (status, updated) = s.put(&format!("/apps/{id}"), &json!({"name": "app_renamed", "remark": "changed"})).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["name"], "app_renamed");
    assert_eq!(updated["app_secret"], secret);
    assert_eq!(updated["app_key"], key);

    // Secret reset: generated, then given.
    let (status, reset) = s.call("PUT", &format!("/apps/secret/{id}"), None).await;
    assert_eq!(status, 200, "{reset}");
    assert_ne!(reset["app_secret"], secret);
    assert_eq!(reset["app_key"], key);
    let (status, reset) = s.put(&format!("/apps/secret/{id}"), &json!({"app_secret": "Chosen_secret_1"})).await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(reset["app_secret"], "Chosen_secret_1");
    assert_error(&s.put(&format!("/apps/secret/{id}"), &json!({"app_secret": "x"})).await, 400, "APIG.2011", Some("app_secret"));
    let (_, read) = s.get(&format!("/apps/{id}")).await;
    assert_eq!(read["app_secret"], "Chosen_secret_1");

    // Validation view: no credentials.
    let (status, v) = s.get(&format!("/apps/validation/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(v, json!({"id": id, "name": "app_renamed", "remark": "changed"}));

    // AppCodes: given, generated, at most five, unique, deleted with the app.
    let code = format!("+{}", "A1b2".repeat(16));
    let (status, c1) = s.post(&format!("/apps/{id}/app-codes"), &json!({"app_code": code})).await;
    assert_eq!(status, 201, "{c1}");
    assert_eq!(c1["app_code"], code.as_str());
    assert_eq!(c1["app_id"], id.as_str());
    let (status, c2) = s.call("PUT", &format!("/apps/{id}/app-codes"), None).await;
    assert_eq!(status, 201, "{c2}");
    assert_eq!(c2["app_code"].as_str().unwrap().len(), 64);
    let reused = s.post(&format!("/apps/{given_id}/app-codes"), &json!({"app_code": code})).await;
    assert_error(&reused, 400, "APIG.2011", Some("app_code"));
    assert_error(&s.post(&format!("/apps/{id}/app-codes"), &json!({"app_code": "short"})).await, 400, "APIG.2011", Some("app_code"));
    assert_error(&s.post(&format!("/apps/{id}/app-codes"), &json!({})).await, 400, "APIG.2001", Some("app_code"));
    for _ in 0..3 {
        let (status, _) = s.call("PUT", &format!("/apps/{id}/app-codes"), None).await;
        assert_eq!(status, 201);
    }
    assert_error(&s.call("PUT", &format!("/apps/{id}/app-codes"), None).await, 403, "APIG.3131", None);
    let (status, codes) = s.get(&format!("/apps/{id}/app-codes")).await;
    assert_eq!(status, 200);
    assert_eq!(codes["total"], 5, "{codes}");
    let c1_id = c1["id"].as_str().unwrap();
    let (status, got) = s.get(&format!("/apps/{id}/app-codes/{c1_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(got, c1);
    // A code is found only under its own app.
    assert_error(&s.get(&format!("/apps/{given_id}/app-codes/{c1_id}")).await, 404, "APIG.3082", None);
    let (status, _) = s.delete(&format!("/apps/{id}/app-codes/{c1_id}")).await;
    assert_eq!(status, 204);
    assert_error(&s.get(&format!("/apps/{id}/app-codes/{c1_id}")).await, 404, "APIG.3082", None);
    // The freed code can be used by another app now.
    let (status, _) = s.post(&format!("/apps/{given_id}/app-codes"), &json!({"app_code": code})).await;
    assert_eq!(status, 201);

    // Delete.
    let (status, _) = s.delete(&format!("/apps/{id}")).await;
    assert_eq!(status, 204);
    assert_error(&s.get(&format!("/apps/{id}")).await, 404, "APIG.3004", None);
    assert_error(&s.get(&format!("/apps/{id}/app-codes")).await, 404, "APIG.3004", None);
    assert_error(&s.delete(&format!("/apps/{id}")).await, 404, "APIG.3004", None);
    assert_error(&s.get(&format!("/apps/validation/{id}")).await, 404, "APIG.3004", None);
    // Its name is free again.
    let (status, _) = s.post("/apps", &json!({"name": "app_renamed"})).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn apps_and_app_codes_on_sqlite() {
    let mut s = Server::start().await;
    app_lifecycle(&s).await;
    // Everything survives a restart.
    let (_, before) = s.get("/apps").await;
    s.restart();
    let (_, after) = s.get("/apps").await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn apps_and_app_codes_on_postgres() {
    let Some(backend) = Backend::postgres() else { return };
    let s = Server::start_with(backend, &[]).await;
    app_lifecycle(&s).await;
}

#[tokio::test]
async fn app_quota_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("causeway.toml");
    std::fs::write(&config, "[limits]\napps = 2\n").unwrap();
    let s = Server::start_with(Backend::Sqlite, &["--config", config.to_str().unwrap()]).await;
    for name in ["app_a", "app_b"] {
        let (status, _) = s.post("/apps", &json!({"name": name})).await;
        assert_eq!(status, 201);
    }
    assert_error(&s.post("/apps", &json!({"name": "app_c"})).await, 403, "APIG.3103", None);
}
