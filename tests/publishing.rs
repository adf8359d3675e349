//! Publishing through the management API: versions, the effective version,
//! history, switching, offline, batches, and what publishing protects.

mod common;

use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn api_body(group_id: &str, name: &str, url_domain: &str) -> Value {
    json!({
      "group_id": group_id, "name": name, "type": 1, "req_method": "GET", "req_uri": format!("/{name}"),
      "auth_type": "NONE", "backend_type": "HTTP", "remark": "first",
      "backend_api": { "url_domain": url_domain, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/echo", "timeout": 1000 }
    })
}

async fn create(server: &Server, body: &Value) -> String {
    let (status, api) = server.post("/apis", body).await;
    assert_eq!(status, 201, "{api}");
    api["id"].as_str().unwrap().to_string()
}

async fn publish(server: &Server, api_id: &str, env_id: &str) -> Value {
    let (status, p) = server.post(&format!("/apis/publish/{api_id}"), &json!({"env_id": env_id, "remark": "go"})).await;
    assert_eq!(status, 201, "{p}");
    p
}

async fn history(server: &Server, api_id: &str) -> Vec<Value> {
    let (status, h) = server.get(&format!("/apis/publish/{api_id}")).await;
    assert_eq!(status, 200, "{h}");
    h["api_versions"].as_array().unwrap().clone()
}

#[tokio::test]
async fn publish_republish_switch_and_offline() {
    let server = Server::start().await;
    let g = server.group("pub").await;
    let api_id = create(&server, &api_body(&g, "orders", "backend.internal:8080")).await;

    let first = publish(&server, &api_id, RELEASE).await;
    for field in ["publish_id", "version_id"] {
        assert_eq!(first[field].as_str().unwrap().len(), 32, "{first}");
    }
    assert_eq!(first["api_id"], api_id.as_str());
    assert_eq!(first["api_name"], "orders");
    assert_eq!(first["env_id"], RELEASE);
    assert_eq!(first["env_name"], "RELEASE");
    assert_eq!(first["remark"], "go");

    // Editing the draft leaves the published version as it was.
    let mut edited = api_body(&g, "orders", "backend.internal:8080");
    edited["remark"] = json!("second");
    assert_eq!(server.put(&format!("/apis/{api_id}"), &edited).await.0, 200);
    let (_, v1) = server.get(&format!("/apis/versions/{}", first["version_id"].as_str().unwrap())).await;
    assert_eq!(v1["remark"], "first");
    assert_eq!(v1["version_status"], 1);
    assert_eq!(v1["env_name"], "RELEASE");
    assert_eq!(v1["group_name"], "pub");
    assert_eq!(v1["version_no"].as_str().unwrap().len(), 14);
    // Where the version is called: the group's subdomain.
    assert!(v1["sl_domain"].as_str().unwrap().ends_with(".apigw.localhost"), "{v1}");
    assert_eq!(v1["sl_domains"][0], v1["sl_domain"]);

    // Re-publishing makes a new version effective under the same publish id.
    let second = publish(&server, &api_id, RELEASE).await;
    assert_eq!(second["publish_id"], first["publish_id"]);
    assert_ne!(second["version_id"], first["version_id"]);
    let h = history(&server, &api_id).await;
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["version_id"], second["version_id"], "newest first");
    assert_eq!((h[0]["status"].clone(), h[1]["status"].clone()), (json!(1), json!(2)));
    let (_, v2) = server.get(&format!("/apis/versions/{}", second["version_id"].as_str().unwrap())).await;
    assert_eq!(v2["remark"], "second");

    // Switching back to the first version.
    let (status, switched) = server.put(&format!("/apis/publish/{api_id}"), &json!({"version_id": first["version_id"]})).await;
    assert_eq!(status, 200, "{switched}");
    assert_eq!(switched["version_id"], first["version_id"]);
    assert_eq!(switched["publish_id"], first["publish_id"]);
    let h = history(&server, &api_id).await;
    assert_eq!((h[0]["status"].clone(), h[1]["status"].clone()), (json!(2), json!(1)));
    assert_error(&server.put(&format!("/apis/publish/{api_id}"), &json!({})).await, 400, "APIG.2001", Some("version_id"));
    assert_error(&server.put(&format!("/apis/publish/{api_id}"), &json!({"version_id": "0123456789abcdef0123456789abcdef"})).await, 404, "APIG.3022", None);

    // A published API cannot be deleted; its environment cannot either.
    let (_, dev) = server.post("/envs", &json!({"name": "DEV"})).await;
    let dev_id = dev["id"].as_str().unwrap().to_string();
    publish(&server, &api_id, &dev_id).await;
    assert_error(&server.delete(&format!("/apis/{api_id}")).await, 403, "APIG.3416", None);
    assert_error(&server.delete(&format!("/envs/{dev_id}")).await, 403, "APIG.3418", None);
    assert_eq!(history(&server, &api_id).await.len(), 3);
    let (_, dev_only) = server.get(&format!("/apis/publish/{api_id}?env_id={dev_id}")).await;
    assert_eq!(dev_only["total"], 1);

    // Offline: per environment; then the environment and the API can go.
    assert_error(&server.delete(&format!("/apis/publish/{api_id}")).await, 400, "APIG.2001", Some("env_id"));
    assert_eq!(server.delete(&format!("/apis/publish/{api_id}?env_id={dev_id}")).await.0, 204);
    assert_error(&server.delete(&format!("/apis/publish/{api_id}?env_id={dev_id}")).await, 404, "APIG.3015", None);
    assert_eq!(server.delete(&format!("/envs/{dev_id}")).await.0, 204);
    assert_eq!(history(&server, &api_id).await.len(), 2, "the environment's versions went with it");

    // Taking a non-effective version offline changes nothing; the effective one takes the API offline.
    assert_eq!(server.delete(&format!("/apis/versions/{}", second["version_id"].as_str().unwrap())).await.0, 204);
    assert_error(&server.delete(&format!("/apis/{api_id}")).await, 403, "APIG.3416", None);
    assert_eq!(server.delete(&format!("/apis/versions/{}", first["version_id"].as_str().unwrap())).await.0, 204);
    assert!(history(&server, &api_id).await.iter().all(|v| v["status"] == 2));
    assert_eq!(server.delete(&format!("/apis/{api_id}")).await.0, 204);
    assert_error(&server.get(&format!("/apis/versions/{}", first["version_id"].as_str().unwrap())).await, 404, "APIG.3022", None);
    assert_error(&server.get(&format!("/apis/publish/{api_id}")).await, 404, "APIG.3002", None);
}

#[tokio::test]
async fn publishing_needs_every_variable_in_the_environment() {
    let server = Server::start().await;
    let g = server.group("vars").await;
    let mut body = api_body(&g, "templated", "#backend_host#:#backend_port#");
    body["backend_api"]["req_uri"] = json!("/#prefix#/echo");
    let api_id = create(&server, &body).await;
    let (_, dev) = server.post("/envs", &json!({"name": "DEV"})).await;
    let dev_id = dev["id"].as_str().unwrap().to_string();

    let resp = server.post(&format!("/apis/publish/{api_id}"), &json!({"env_id": dev_id})).await;
    assert_error(&resp, 404, "APIG.3011", None);
    assert!(resp.1["error_msg"].as_str().unwrap().contains("#backend_host#"), "{}", resp.1);
    for (name, value) in [("backend_host", "10.0.0.7"), ("backend_port", "8080"), ("prefix", "v2")] {
        let var = json!({"group_id": g, "env_id": dev_id, "variable_name": name, "variable_value": value});
        assert_eq!(server.post("/env-variables", &var).await.0, 201);
    }
    publish(&server, &api_id, &dev_id).await;
    // A value in DEV does not help RELEASE.
    assert_error(&server.post(&format!("/apis/publish/{api_id}"), &json!({"env_id": RELEASE})).await, 404, "APIG.3011", None);
    assert_error(&server.post(&format!("/apis/publish/{api_id}"), &json!({"env_id": "nope"})).await, 404, "APIG.3003", None);
    assert_error(&server.post(&format!("/apis/publish/{api_id}"), &json!({})).await, 400, "APIG.2001", Some("env_id"));
    assert_error(&server.post("/apis/publish/0123456789abcdef0123456789abcdef", &json!({"env_id": RELEASE})).await, 404, "APIG.3002", None);
}

#[tokio::test]
async fn batches_and_history_retention() {
    let server = Server::start().await;
    let g = server.group("batch").await;
    let a = create(&server, &api_body(&g, "alpha", "a.internal")).await;
    let b = create(&server, &api_body(&g, "beta", "b.internal")).await;
    let ghost = "0123456789abcdef0123456789abcdef";

    let (status, r) = server.post("/apis/publish?action=online", &json!({"apis": [a, b, ghost], "env_id": RELEASE, "remark": "batch"})).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["success"].as_array().unwrap().len(), 2);
    assert_eq!(r["success"][0]["api_name"], "alpha");
    assert_eq!(r["failure"][0]["api_id"], ghost);
    assert_eq!(r["failure"][0]["error_code"], "APIG.3002");

    let (status, r) = server.post("/apis/publish?action=offline", &json!({"apis": [a], "env_id": RELEASE})).await;
    assert_eq!(status, 200);
    assert_eq!(r["success"], json!([{"api_id": a, "api_name": "alpha"}]));
    let (_, r) = server.post("/apis/publish?action=offline", &json!({"apis": [a], "env_id": RELEASE})).await;
    assert_eq!(r["failure"][0]["error_code"], "APIG.3015");
    assert_error(&server.post("/apis/publish?action=sideways", &json!({"apis": [a], "env_id": RELEASE})).await, 400, "APIG.2011", Some("action"));
    assert_error(&server.post("/apis/publish", &json!({"apis": [a], "env_id": RELEASE})).await, 400, "APIG.2001", Some("action"));
    assert_error(&server.post("/apis/publish?action=online", &json!({"apis": [], "env_id": RELEASE})).await, 400, "APIG.2001", Some("apis"));
    assert_error(&server.post("/apis/publish?action=online", &json!({"apis": [a]})).await, 400, "APIG.2001", Some("env_id"));

    // Only the last ten versions per API and environment are kept.
    let mut last = Value::Null;
    for _ in 0..12 {
        last = publish(&server, &b, RELEASE).await;
    }
    let h = history(&server, &b).await;
    assert_eq!(h.len(), 10);
    assert_eq!(h[0]["version_id"], last["version_id"]);
    assert_eq!(h.iter().filter(|v| v["status"] == 1).count(), 1);
    let (_, paged) = server.get(&format!("/apis/publish/{b}?page_size=4&page_no=3")).await;
    assert_eq!((paged["total"].clone(), paged["size"].clone()), (json!(10), json!(2)));
}
