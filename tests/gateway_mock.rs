//! The data plane end to end with MOCK backends: publish → call, environments,
//! routing by host, protocol, offline and version switches.

mod common;

use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn mock_api(group_id: &str, name: &str, path: &str, content: &str) -> Value {
    json!({
      "group_id": group_id, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path,
      "auth_type": "NONE", "backend_type": "MOCK",
      "mock_info": {"result_content": content, "status_code": 201, "header": [{"key": "X-Mock", "value": "yes"}]}
    })
}

fn is_request_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn published_mock_apis_answer_and_offline_ones_do_not() {
    let server = Server::start().await;
    let g = server.group("mocks").await;
    let host = Server::group_host(&g);
    let id = server.create_and_publish(&mock_api(&g, "hello", "/hello", "{\"hello\":\"world\"}"), RELEASE).await;

    let c = server.eventually("GET", &host, "/hello", &[], |c| c.status == 201).await;
    assert_eq!(c.body, "{\"hello\":\"world\"}");
    assert_eq!(c.header("content-type"), "application/json");
    assert_eq!(c.header("x-mock"), "yes");
    assert!(is_request_id(c.header("x-request-id")));

    // Unknown path, method, stage, and a host that is not the group's.
    for (method, path, headers) in [("GET", "/hello/", vec![]), ("POST", "/hello", vec![]), ("GET", "/hello", vec![("X-Stage", "NOPE")])] {
        let c = server.call_gateway(method, &host, path, &headers).await;
        assert_eq!(c.status, 404, "{method} {path}: {}", c.body);
        let body = c.json();
        assert_eq!(body["error_code"], "APIG.0101");
        assert_eq!(body["request_id"], c.header("x-request-id"));
        assert!(is_request_id(c.header("x-request-id")));
    }
    assert_eq!(server.call_gateway("GET", "other.apigw.localhost", "/hello", &[]).await.status, 404, "other hosts go to DEFAULT");
    let c = server.call_gateway("GET", &host, "/hello", &[("X-Apig-Mode", "debug")]).await;
    assert!(c.header("x-apig-latency").parse::<u64>().is_ok(), "debug latency header");

    // Environments: an edited draft published to DEV leaves RELEASE as it was.
    let (_, dev) = server.post("/envs", &json!({"name": "DEV"})).await;
    let dev_id = dev["id"].as_str().unwrap().to_string();
    let edited = mock_api(&g, "hello", "/hello", "dev answer");
    assert_eq!(server.put(&format!("/apis/{id}"), &edited).await.0, 200);
    let (status, _) = server.post(&format!("/apis/publish/{id}"), &json!({"env_id": dev_id})).await;
    assert_eq!(status, 201);
    let c = server.eventually("GET", &host, "/hello", &[("X-Stage", "dev")], |c| c.status == 201).await;
    assert_eq!(c.body, "dev answer", "X-Stage picks the environment, ignoring case");
    assert_eq!(server.call_gateway("GET", &host, "/hello", &[]).await.body, "{\"hello\":\"world\"}");

    // Switching RELEASE to a new version, then back.
    let (_, first) = server.get(&format!("/apis/publish/{id}?env_id={RELEASE}")).await;
    let first_version = first["api_versions"][0]["version_id"].clone();
    let (status, _) = server.post(&format!("/apis/publish/{id}"), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201);
    server.eventually("GET", &host, "/hello", &[], |c| c.body == "dev answer").await;
    assert_eq!(server.put(&format!("/apis/publish/{id}"), &json!({"version_id": first_version})).await.0, 200);
    server.eventually("GET", &host, "/hello", &[], |c| c.body == "{\"hello\":\"world\"}").await;

    // Offline: gone from RELEASE, still in DEV.
    assert_eq!(server.delete(&format!("/apis/publish/{id}?env_id={RELEASE}")).await.0, 204);
    let c = server.eventually("GET", &host, "/hello", &[], |c| c.status == 404).await;
    assert_eq!(c.json()["error_code"], "APIG.0101");
    assert_eq!(server.call_gateway("GET", &host, "/hello", &[("X-Stage", "DEV")]).await.status, 201);
}

#[tokio::test]
async fn protocols_the_default_group_and_match_modes() {
    let server = Server::start().await;
    let g = server.group("modes").await;
    let host = Server::group_host(&g);
    let mut https_only = mock_api(&g, "secure", "/secure", "s");
    https_only["req_protocol"] = json!("HTTPS");
    server.create_and_publish(&https_only, RELEASE).await;
    let mut both = mock_api(&g, "both", "/both", "b");
    both["req_protocol"] = json!("BOTH");
    server.create_and_publish(&both, RELEASE).await;
    let mut prefix = mock_api(&g, "files", "/files", "prefix");
    prefix["match_mode"] = json!("SWA");
    server.create_and_publish(&prefix, RELEASE).await;
    let mut template = mock_api(&g, "file", "/files/{name}", "template");
    template["req_params"] = json!([{"name": "name", "type": "STRING", "location": "PATH"}]);
    server.create_and_publish(&template, RELEASE).await;
    server.create_and_publish(&mock_api(&g, "readme", "/files/readme", "exact"), RELEASE).await;

    // Wait until the last publish is served, then check the priorities.
    server.eventually("GET", &host, "/files/readme", &[], |c| c.body == "exact").await;
    assert_eq!(server.call_gateway("GET", &host, "/files/a.txt", &[]).await.body, "template");
    assert_eq!(server.call_gateway("GET", &host, "/files/a/b.txt", &[]).await.body, "prefix");
    assert_eq!(server.call_gateway("GET", &host, "/files", &[]).await.body, "prefix");
    assert_eq!(server.call_gateway("GET", &host, "/filesystem", &[]).await.status, 404);
    assert_eq!(server.call_gateway("GET", &host, "/both", &[]).await.status, 201);
    let c = server.call_gateway("GET", &host, "/secure", &[]).await;
    assert_eq!(c.status, 400);
    assert_eq!(c.json()["error_code"], "APIG.0607");
    assert!(c.json()["error_msg"].as_str().unwrap().contains("HTTPS"));

    // APIs of the DEFAULT group answer on any other host, such as the bare address.
    let (_, groups) = server.get("/api-groups?name=DEFAULT&precise_search=name").await;
    let default_id = groups["groups"][0]["id"].as_str().unwrap().to_string();
    server.create_and_publish(&mock_api(&default_id, "root", "/", "default group"), RELEASE).await;
    let c = server.eventually("GET", "127.0.0.1", "/", &[], |c| c.status == 201).await;
    assert_eq!(c.body, "default group");
    assert_eq!(server.call_gateway("GET", &host, "/", &[]).await.status, 404, "a group's own host does not fall back");

    // Published routes survive a restart.
    let mut server = server;
    server.restart();
    let c = server.eventually("GET", &host, "/files/readme", &[], |c| c.status == 201).await;
    assert_eq!(c.body, "exact");
    assert_error(&server.get("/apis/nope").await, 404, "APIG.3002", None);
}
