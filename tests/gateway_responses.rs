//! Per-group gateway responses: management rules, and errors rendered
//! through the group's default set or the API's `response_id` set.

mod common;

use common::echo::Echo;
use common::{Server, assert_error};
use serde_json::json;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

#[tokio::test]
async fn custom_gateway_responses() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("responses").await;
    let host = Server::group_host(&g);
    let base = format!("/api-groups/{g}/gateway-responses");

    // Every group starts with its default set: 14 types, all default.
    let (status, list) = server.get(&base).await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    let default = list["responses"][0].clone();
    assert_eq!(default["name"], "default");
    assert_eq!(default["default"], true);
    let types = default["responses"].as_object().unwrap();
    assert_eq!(types.len(), 14);
    assert_eq!(types["NOT_FOUND"]["status"], 404);
    assert_eq!(types["THROTTLED"]["status"], 429);
    assert!(types.values().all(|t| t["default"] == true));
    let default_id = default["id"].as_str().unwrap().to_string();

    // Customise NOT_FOUND in the default set.
    let custom = json!({"name": "default", "responses": {"not_found": {
        "body": "{\"msg\":\"nothing at $context.reqPath\",\"rid\":\"$context.requestId\",\"code\":\"$context.error.code\",\"q\":\"$context.nope\"}",
        "headers": [{"key": "X-Why", "value": "missing"}]}}});
    let (status, updated) = server.put(&format!("{base}/{default_id}"), &custom).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["responses"]["NOT_FOUND"]["default"], false);
    assert_eq!(updated["responses"]["NOT_FOUND"]["status"], 404);

    // A second set, selected by an API.
    let friendly = json!({"name": "friendly", "responses": {"BACKEND_TIMEOUT": {"status": 503, "body": "slow: $context.apiName \"$context.stage\""}}});
    let (status, created) = server.post(&base, &friendly).await;
    assert_eq!(status, 201, "{created}");
    let friendly_id = created["id"].as_str().unwrap().to_string();
    let api = |name: &str, path: &str, response_id: Option<&str>| {
        let mut a = json!({
          "group_id": g, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path, "auth_type": "NONE",
          "backend_type": "HTTP", "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/slow/2000", "timeout": 100}
        });
        if let Some(id) = response_id {
            a["response_id"] = json!(id);
        }
        a
    };
    for body in [api("slowapi", "/slow", Some(&friendly_id)), api("plainslow", "/plain", None)] {
        let (status, a) = server.post("/apis", &body).await;
        assert_eq!(status, 201, "{a}");
        let id = a["id"].as_str().unwrap();
        assert_eq!(server.post(&format!("/apis/publish/{id}"), &json!({"env_id": RELEASE})).await.0, 201);
    }

    // Group-level errors use the default set, with the template filled in.
    let c = server.call_gateway("GET", &host, "/nothing/here", &[]).await;
    assert_eq!(c.status, 404);
    assert_eq!(c.header("x-why"), "missing");
    let body = c.json();
    assert_eq!(body["msg"], "nothing at /nothing/here");
    assert_eq!(body["rid"], c.header("x-request-id"));
    assert_eq!(body["code"], "APIG.0101");
    assert_eq!(body["q"], "$context.nope", "unknown names stay as written");

    // The API's set: its own status and body; other types fall back to the defaults.
    let c = server.call_gateway("GET", &host, "/slow", &[]).await;
    assert_eq!(c.status, 503);
    assert_eq!(c.body, "slow: slowapi \"RELEASE\"");
    let c = server.call_gateway("GET", &host, "/plain", &[]).await;
    assert_eq!(c.status, 504, "no response_id: the default set, BACKEND_TIMEOUT not customised");
    assert_eq!(c.json()["error_code"], "APIG.0203");

    // Management rules.
    assert_error(&server.delete(&format!("{base}/{default_id}")).await, 409, "APIG.3491", None);
    assert_error(&server.put(&format!("{base}/{default_id}"), &json!({"name": "renamed"})).await, 409, "APIG.3492", None);
    assert_error(&server.post(&base, &json!({"name": "friendly"})).await, 400, "APIG.3212", Some("name"));
    assert_error(&server.post(&base, &json!({"name": "bad", "responses": {"NOPE": {}}})).await, 400, "APIG.2011", Some("responses.NOPE"));
    assert_error(&server.post(&base, &json!({"name": "bad", "responses": {"THROTTLED": {"status": 444}}})).await, 400, "APIG.2011", Some("responses.THROTTLED.status"));
    assert_error(&server.post(&base, &json!({"name": "b d"})).await, 400, "APIG.2011", Some("name"));
    assert_eq!(server.post(&base, &json!({"name": "third"})).await.0, 201);
    assert_eq!(server.post(&base, &json!({"name": "fourth"})).await.0, 201);
    assert_error(&server.post(&base, &json!({"name": "fifth"})).await, 403, "APIG.3136", None);
    assert_error(&server.get(&format!("{base}/0123456789abcdef0123456789abcdef")).await, 404, "APIG.3074", None);
    assert_error(&server.post("/api-groups/nope/gateway-responses", &json!({"name": "x"})).await, 404, "APIG.3001", None);
    let other = server.group("other").await;
    let (_, other_list) = server.get(&format!("/api-groups/{other}/gateway-responses")).await;
    let foreign = other_list["responses"][0]["id"].as_str().unwrap().to_string();
    assert_error(&server.post("/apis", &api("foreign", "/foreign", Some(&foreign))).await, 404, "APIG.3074", Some("response_id"));
    assert_error(&server.get(&format!("{base}/{foreign}")).await, 404, "APIG.3074", None);
    assert_eq!(server.delete(&format!("{base}/{friendly_id}")).await.0, 204, "a non-default set can be deleted");
}
