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

fn mock_api(group_id: &str, name: &str, path: &str, auth: &str) -> serde_json::Value {
    json!({
      "group_id": group_id, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path,
      "auth_type": auth, "backend_type": "MOCK", "mock_info": {"result_content": "ok"}
    })
}

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

#[tokio::test]
async fn app_authorizations() {
    let s = Server::start().await;
    let group = s.group("auth_group").await;
    let orders = s.create_and_publish(&mock_api(&group, "orders", "/orders", "APP"), RELEASE).await;
    let users = s.create_and_publish(&mock_api(&group, "users", "/users", "APP"), RELEASE).await;
    let open = s.create_and_publish(&mock_api(&group, "open", "/open", "NONE"), RELEASE).await;
    let (_, draft) = s.post("/apis", &mock_api(&group, "draft", "/draft", "APP")).await;
    let draft = draft["id"].as_str().unwrap().to_string();
    let (_, app) = s.post("/apps", &json!({"name": "caller_one"})).await;
    let app = app["id"].as_str().unwrap().to_string();
    let (_, other) = s.post("/apps", &json!({"name": "caller_two"})).await;
    let other = other["id"].as_str().unwrap().to_string();

    // Authorize: one outcome per (API, app) pair; again is SKIPPED with the same id.
    let (status, out) = s.post("/app-auths", &json!({"api_ids": [orders], "app_ids": [app, other], "env_id": RELEASE})).await;
    assert_eq!(status, 201, "{out}");
    let out = out.as_array().expect("v1.0 answers an array").clone();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["api_id"], orders.as_str());
    assert_eq!(out[0]["auth_role"], "PROVIDER");
    assert_eq!(out[0]["auth_result"]["status"], "SUCCESS");
    assert_eq!(out[0]["auth_result"]["api_name"], "orders");
    let (status, again) = s.post("/app-auths", &json!({"api_ids": [orders], "app_ids": [app], "env_id": RELEASE})).await;
    assert_eq!(status, 201);
    assert_eq!(again[0]["auth_result"]["status"], "SKIPPED");
    assert_eq!(again[0]["id"], out[0]["id"]);

    // Only APP APIs published in the environment.
    assert_error(&s.post("/app-auths", &json!({"api_ids": [open], "app_ids": [app], "env_id": RELEASE})).await, 400, "APIG.2011", Some("api_ids"));
    assert_error(&s.post("/app-auths", &json!({"api_ids": [draft], "app_ids": [app], "env_id": RELEASE})).await, 404, "APIG.3015", None);
    assert_error(&s.post("/app-auths", &json!({"api_ids": ["nope"], "app_ids": [app], "env_id": RELEASE})).await, 404, "APIG.3002", None);
    assert_error(&s.post("/app-auths", &json!({"api_ids": [orders], "app_ids": ["nope"], "env_id": RELEASE})).await, 404, "APIG.3004", None);
    assert_error(&s.post("/app-auths", &json!({"api_ids": [orders], "app_ids": [app], "env_id": "nope"})).await, 404, "APIG.3003", None);
    assert_error(&s.post("/app-auths", &json!({"app_ids": [app], "env_id": RELEASE})).await, 400, "APIG.2001", Some("api_ids"));
    assert_error(&s.post("/app-auths", &json!({"api_ids": [], "app_ids": [app], "env_id": RELEASE})).await, 400, "APIG.2001", Some("api_ids"));
    assert_error(&s.post("/app-auths", &json!({"api_ids": [orders], "app_ids": [app]})).await, 400, "APIG.2001", Some("env_id"));
    assert_error(&s.post("/app-auths", &json!({"api_ids": "x", "app_ids": [app], "env_id": RELEASE})).await, 400, "APIG.2012", Some("api_ids"));

    // Queries.
    let (status, bound) = s.get(&format!("/app-auths/binded-apis?app_id={app}&env_id={RELEASE}")).await;
    assert_eq!(status, 200, "{bound}");
    assert_eq!(bound["total"], 1);
    let view = &bound["auths"][0];
    assert_eq!(view["api_name"], "orders");
    assert_eq!(view["group_name"], "auth_group");
    assert_eq!(view["env_name"], "RELEASE");
    assert_eq!(view["app_name"], "caller_one");
    assert!(view["publish_id"].is_string());
    let (_, apps) = s.get(&format!("/app-auths/binded-apps?api_id={orders}")).await;
    assert_eq!(apps["total"], 2, "{apps}");
    let (_, apps) = s.get(&format!("/app-auths/binded-apps?api_id={orders}&app_name=two")).await;
    assert_eq!(apps["total"], 1);
    let (_, unbound) = s.get(&format!("/app-auths/unbinded-apis?app_id={app}&env_id={RELEASE}")).await;
    assert_eq!(unbound["total"], 1, "{unbound}");
    assert_eq!(unbound["apis"][0]["id"], users.as_str());
    assert_eq!(unbound["apis"][0]["run_env_name"], "RELEASE");
    assert_error(&s.get("/app-auths/binded-apis").await, 400, "APIG.2001", Some("app_id"));
    assert_error(&s.get(&format!("/app-auths/unbinded-apis?app_id={app}")).await, 400, "APIG.2001", Some("env_id"));

    // Cancel one.
    let auth_id = out[0]["id"].as_str().unwrap();
    assert_eq!(s.delete(&format!("/app-auths/{auth_id}")).await.0, 204);
    assert_error(&s.delete(&format!("/app-auths/{auth_id}")).await, 404, "APIG.3009", None);
    let (_, bound) = s.get(&format!("/app-auths/binded-apis?app_id={app}")).await;
    assert_eq!(bound["total"], 0);

    // Deleting the app takes its authorizations; deleting an (offline) API takes its own.
    assert_eq!(s.delete(&format!("/apps/{other}")).await.0, 204);
    let (_, apps) = s.get(&format!("/app-auths/binded-apps?api_id={orders}")).await;
    assert_eq!(apps["total"], 0, "{apps}");
    let (status, _) = s.post("/app-auths", &json!({"api_ids": [users], "app_ids": [app], "env_id": RELEASE})).await;
    assert_eq!(status, 201);
    assert_eq!(s.delete(&format!("/apis/publish/{users}?env_id={RELEASE}")).await.0, 204);
    assert_eq!(s.delete(&format!("/apis/{users}")).await.0, 204);
    let (_, bound) = s.get(&format!("/app-auths/binded-apis?app_id={app}")).await;
    assert_eq!(bound["total"], 0, "{bound}");
}

/// Management calls signed with the admin access key, as the vendors' AK/SK signers sign them.
#[tokio::test]
async fn signed_management_calls() {
    use causeway_sign::sdk::Key;
    let s = Server::start().await;
    let file = std::fs::read_to_string(s.data_dir.path().join("admin-access-key")).expect("access key generated on first start");
    let mut lines = file.lines();
    let (ak, sk) = (lines.next().unwrap(), lines.next().unwrap());
    let key = Key { access: ak, secret: sk };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;

    let (status, group) = s.signed("POST", "/v1.0/apigw/api-groups", r#"{"name":"signed_group"}"#, key, now).await;
    assert_eq!(status, 201, "{group}");
    assert_eq!(group["name"], "signed_group");
    let (status, list) = s.signed("GET", "/v1.0/apigw/api-groups?name=signed&page_size=5", "", key, now).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1);

    let wrong = Key { access: ak, secret: "not-the-secret-at-all" };
    let refused = (s.signed("POST", "/v1.0/apigw/api-groups", r#"{"name":"other_group"}"#, wrong, now).await, "verify signature fail");
    let expired = (s.signed("GET", "/v1.0/apigw/api-groups", "", key, now - 3600).await, "signature expired");
    let unknown = (s.signed("GET", "/v1.0/apigw/api-groups", "", Key { access: "UNKNOWNKEY", secret: sk }, now).await, "unknown access key");
    for ((status, body), why) in [refused, expired, unknown] {
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error_code"], "APIG.1002");
        assert!(body["error_msg"].as_str().unwrap().contains(why), "{why} in {body}");
    }
    // Nothing was created by the refused call.
    let (_, list) = s.get("/api-groups?name=other_group").await;
    assert_eq!(list["total"], 0);
}
