//! Debugging an API (`POST .../apis/debug/{api_id}`) against the real server
//! and a real backend: a draft that was never published runs through the
//! pipeline, the answer shows the mapped request the backend received and
//! the steps taken; CONSUMER mode runs the published version; secrets stay out.

mod common;

use common::echo::{self, Echo};
use common::{Server, TOKEN, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn api_body(group: &str, echo: &Echo) -> Value {
    json!({
      "group_id": group, "name": "orders", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/orders/{id}", "auth_type": "NONE", "backend_type": "HTTP",
      "req_params": [{"name": "id", "type": "NUMBER", "location": "PATH", "valid_enable": 1}, {"name": "q", "type": "STRING", "location": "QUERY"}],
      "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/internal/orders", "timeout": 5000},
      "backend_params": [
        {"name": "order", "location": "QUERY", "origin": "REQUEST", "value": "id"},
        {"name": "X-From", "location": "HEADER", "origin": "CONSTANT", "value": "gateway"}
      ],
      "policy_https": [{"name": "canary", "effect_mode": "ANY", "url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/canary",
          "conditions": [{"condition_origin": "param", "req_param_name": "q", "condition_type": "exact", "condition_value": "canary"}]}]
    })
}

fn response_body(debug: &Value) -> Value {
    let text = debug["response"].as_str().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default();
    serde_json::from_str(body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_draft_runs_through_the_pipeline_to_a_real_backend() {
    let s = Server::start().await;
    let echo = Echo::start().await;
    let g = s.group("debugged").await;
    let (status, api) = s.post("/apis", &api_body(&g, &echo)).await;
    assert_eq!(status, 201, "{api}");
    let id = api["id"].as_str().unwrap();

    // Never published: DEVELOPER mode runs the draft.
    let (status, d) = s
        .post(&format!("/apis/debug/{id}"), &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/orders/42",
            "query": {"q": ["plain"]}, "header": {"X-Trace": ["t-1"]}}))
        .await;
    assert_eq!(status, 200, "{d}");
    let request = d["request"].as_str().unwrap();
    assert!(request.starts_with("GET /orders/42?q=plain HTTP/1.1\r\n"), "{request}");
    assert!(request.contains(&format!("Host: {g}.apigw.localhost")), "{request}");
    assert!(request.contains("X-Trace: t-1"), "{request}");
    let response = d["response"].as_str().unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    // What the backend received: the mapped request.
    let seen = response_body(&d);
    assert_eq!(seen["path"], "/internal/orders", "{seen}");
    assert!(echo::query(&seen).contains(&("order".into(), "42".into())), "{seen}");
    assert_eq!(echo::header(&seen, "x-from"), Some("gateway"), "{seen}");
    assert!(d["latency"].as_u64().is_some(), "{d}");
    let log = d["log"].as_str().unwrap();
    for step in ["route: GET /orders/42 → API orders (GET /orders/{id} NORMAL) in environment RELEASE", "parameters: id (PATH) = \"42\", q (QUERY) = \"plain\"",
        "no backend policy matched: default HTTP backend", &format!("backend request (http://{}): GET", echo.address()), "x-from: gateway", "backend answered 200 in"] {
        assert!(log.contains(step), "{step:?} not in\n{log}");
    }

    // A policy's condition holds: the log names it, its backend answers.
    let (_, d) = s.post(&format!("/apis/debug/{id}"), &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/orders/7", "query": {"q": "canary"}})).await;
    assert_eq!(response_body(&d)["path"], "/canary", "{d}");
    assert!(d["log"].as_str().unwrap().contains("backend policy \"canary\" matched (HTTP backend)"), "{d}");

    // The pipeline's checks apply: a NUMBER parameter that is not a number.
    let (_, d) = s.post(&format!("/apis/debug/{id}"), &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/orders/abc"})).await;
    assert!(d["response"].as_str().unwrap().starts_with("HTTP/1.1 400"), "{d}");
    assert!(d["response"].as_str().unwrap().contains("APIG.0201"), "{d}");

    // CONSUMER mode needs a published version, and runs it, not the draft.
    assert_error(&s.post(&format!("/apis/debug/{id}"), &json!({"mode": "CONSUMER", "scheme": "HTTP", "method": "GET", "path": "/orders/1"})).await, 404, "APIG.3015", Some("stage"));
    let (status, p) = s.post(&format!("/apis/publish/{id}"), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201, "{p}");
    let mut edited = api_body(&g, &echo);
    edited["backend_api"]["req_uri"] = json!("/v2/orders");
    assert_eq!(s.put(&format!("/apis/{id}"), &edited).await.0, 200);
    let (_, consumer) = s.post(&format!("/apis/debug/{id}"), &json!({"mode": "CONSUMER", "scheme": "HTTP", "method": "GET", "path": "/orders/1", "stage": "RELEASE"})).await;
    assert_eq!(response_body(&consumer)["path"], "/internal/orders", "{consumer}");
    let (_, developer) = s.post(&format!("/apis/debug/{id}"), &json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/orders/1"})).await;
    assert_eq!(response_body(&developer)["path"], "/v2/orders", "{developer}");
    // Debugging changed nothing that is served.
    let called = s.eventually("GET", &Server::group_host(&g), "/orders/5", &[], |c| c.status == 200).await;
    assert_eq!(called.json()["path"], "/internal/orders");

    // The V2 family answers the same.
    let url = format!("{}/v2/p1/apigw/instances/causeway/apis/debug/{id}", s.admin);
    let v2: Value = s.http.post(url).header("X-Auth-Token", TOKEN).json(&json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/orders/3"}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(response_body(&v2)["path"], "/v2/orders", "{v2}");
}

#[tokio::test]
async fn app_apis_are_signed_with_the_given_app_and_secrets_stay_out() {
    let s = Server::start().await;
    let echo = Echo::start().await;
    let g = s.group("debug_app").await;
    let mut body = api_body(&g, &echo);
    body["auth_type"] = json!("APP");
    body["name"] = json!("app_orders");
    let id = s.create_and_publish(&body, RELEASE).await;
    let (_, app) = s.post("/apps", &json!({"name": "debug_app_one"})).await;
    let (key, secret) = (app["app_key"].as_str().unwrap().to_string(), app["app_secret"].as_str().unwrap().to_string());
    let (status, auth) = s.post("/app-auths", &json!({"api_ids": [id], "app_ids": [app["id"]], "env_id": RELEASE})).await;
    assert!(status < 300, "{auth}");

    let call = json!({"mode": "CONSUMER", "scheme": "HTTP", "method": "GET", "path": "/orders/9", "app_key": key, "app_secret": secret});
    let (status, d) = s.post(&format!("/apis/debug/{id}"), &call).await;
    assert_eq!(status, 200, "{d}");
    assert!(d["response"].as_str().unwrap().starts_with("HTTP/1.1 200"), "{d}");
    assert!(d["request"].as_str().unwrap().contains("Authorization: SDK-HMAC-SHA256 Access="), "{d}");
    assert!(d["log"].as_str().unwrap().contains("APP authentication"), "{d}");
    let whole = d.to_string();
    assert!(!whole.contains(&secret), "the app secret appears in {whole}");
    // The gateway's own signature headers reach the backend hidden in the log.
    assert!(!d["log"].as_str().unwrap().contains("Access="), "{d}");

    // Unsigned: the gateway's refusal is the answer.
    let (_, d) = s.post(&format!("/apis/debug/{id}"), &json!({"mode": "CONSUMER", "scheme": "HTTP", "method": "GET", "path": "/orders/9"})).await;
    assert!(d["response"].as_str().unwrap().starts_with("HTTP/1.1 401"), "{d}");
}

#[tokio::test]
async fn bad_debug_requests_name_the_field() {
    let s = Server::start().await;
    let echo = Echo::start().await;
    let g = s.group("debug_bad").await;
    let (_, api) = s.post("/apis", &api_body(&g, &echo)).await;
    let path = format!("/apis/debug/{}", api["id"].as_str().unwrap());
    let ok = json!({"mode": "DEVELOPER", "scheme": "HTTP", "method": "GET", "path": "/orders/1"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    assert_error(&s.post(&path, &with("mode", json!("TESTER"))).await, 400, "APIG.2011", Some("mode"));
    assert_error(&s.post(&path, &with("scheme", json!("FTP"))).await, 400, "APIG.2011", Some("scheme"));
    assert_error(&s.post(&path, &with("method", json!("ANY"))).await, 400, "APIG.2011", Some("method"));
    assert_error(&s.post(&path, &with("path", json!("orders"))).await, 400, "APIG.2011", Some("path"));
    assert_error(&s.post(&path, &with("header", json!({"X-A": ["a\r\nb"]}))).await, 400, "APIG.2011", Some("header.X-A"));
    assert_error(&s.post(&path, &with("query", json!({"q": 5}))).await, 400, "APIG.2011", Some("query.q"));
    assert_error(&s.post(&path, &with("stage", json!("NOPE"))).await, 404, "APIG.3003", Some("stage"));
    assert_error(&s.post(&path, &json!({"scheme": "HTTP", "method": "GET", "path": "/"})).await, 400, "APIG.2001", Some("mode"));
    assert_error(&s.post("/apis/debug/0123456789abcdef0123456789abcdef", &ok).await, 404, "APIG.3002", None);
    // A viewer may not debug (it calls backends).
    let (_, viewer) = s.post("/admin-credentials", &json!({"name": "debug_viewer", "role": "viewer"})).await;
    let (status, _) = s.call_as(viewer["token"].as_str().unwrap(), "POST", &path, Some(&ok)).await;
    assert_eq!(status, 403);
}
