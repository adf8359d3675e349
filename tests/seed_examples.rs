//! The examples of the Tencent and Baidu documents in `spec/seeds/`, one
//! test per section, end to end with real backends (an echo server, the
//! function runtime). Sections tested elsewhere say where:
//!
//! * seed 000 / 001 "URL path" (`=/user`, `^~/user`, `/user/{id}`, plain
//!   `/user`): `cloud_paths.rs` `tencent_exact_priority_prefix_and_plain_paths`;
//!   backend addresses with `http://`: `tencent_backend_addresses_carry_their_scheme`;
//!   timeouts: `backend_timeouts_take_the_seeds_defaults_and_ranges`;
//! * seed 000 "Integrating with WebSocket" (`ws://` backends): `websocket.rs`;
//!   WebSocket APIs with functions: `websocket.rs` `a_chat_served_by_…`;
//! * seed 001 "Key pair" authentication: `gateway_auth.rs` `tencent_key_pair_signatures`;
//! * seed 003 "Request Path" (`[param]`, UTF-8 paths, subpaths, TRACE):
//!   `cloud_paths.rs` `baidu_bracket_parameters_utf8_paths_subpaths_and_trace`;
//!   back-end, constant and system parameters and the forwarding modes:
//!   `baidu_backend_parameters_and_forwarding_modes`; same path and method
//!   routed by required query parameters: `baidu_routes_by_required_query_parameters`;
//!   APP authentication (`X-Bce-Signature`): `gateway_auth.rs` `baidu_bce_auth_v1_signatures`.

mod common;

use common::echo::{self, Echo};
use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn http_api(group: &str, name: &str, method: &str, path: &str, backend: Value) -> Value {
    json!({"group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": method, "req_uri": path,
        "auth_type": "NONE", "backend_type": "HTTP", "backend_api": backend})
}

/// Seed 000, "Step 2. Configure the frontend — Configuring frontend parameters":
/// header, query and path input parameters with types, required flags and
/// defaults; `/user/{userid}` declares a path parameter.
#[tokio::test]
async fn seed_000_frontend_parameters() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("seed000_frontend").await;
    let host = Server::group_host(&g);
    let mut api = http_api(&g, "user", "GET", "/user/{userid}", json!({"url_domain": format!("http://{}", backend.address()), "req_method": "GET", "req_uri": "/users/{userid}"}));
    api["req_params"] = json!([
        {"name": "userid", "type": "NUMBER", "location": "PATH", "required": 1, "valid_enable": 1},
        {"name": "lang", "type": "STRING", "location": "QUERY", "required": 2, "default_value": "en"},
        {"name": "X-Tenant", "type": "STRING", "location": "HEADER", "required": 1}
    ]);
    api["backend_params"] = json!([{"name": "userid", "location": "PATH", "origin": "REQUEST", "value": "userid"}]);
    s.create_and_publish(&api, RELEASE).await;
    let c = s.eventually("GET", &host, "/user/42", &[("X-Tenant", "acme")], |c| c.status == 200).await;
    let seen = c.json();
    assert_eq!(seen["path"], "/users/42");
    assert_eq!(echo::query(&seen), vec![("lang".to_string(), "en".to_string())], "the default of an optional parameter");
    assert_eq!(echo::header(&seen, "x-tenant"), Some("acme"));
    // "preliminary verification of input parameters": required and typed.
    let missing = s.call_gateway("GET", &host, "/user/42", &[]).await;
    assert_eq!(missing.status, 400, "{}", missing.body);
    assert!(missing.body.contains("X-Tenant"), "{}", missing.body);
    let not_a_number = s.call_gateway("GET", &host, "/user/abc", &[("X-Tenant", "acme")]).await;
    assert_eq!(not_a_number.status, 400, "{}", not_a_number.body);
}

/// Seed 000, "Step 3 — API Gateway backend integration with CLB resources in
/// VPC": the backend address as `http://vip+port`, the backend path as the
/// listener's, "a parameter named host as a constant parameter … in the
/// header, whose value should be the domain name configured in the CLB
/// listener"; the backend's method may differ from the frontend's.
#[tokio::test]
async fn seed_000_http_backend_with_a_host_constant() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("seed000_clb").await;
    let host = Server::group_host(&g);
    let mut api = http_api(&g, "clb", "GET", "/pets/{petid}", json!({"url_domain": format!("http://{}", backend.address()), "req_method": "POST", "req_uri": "/path/{petid}", "timeout": 1_800_000}));
    api["req_params"] = json!([{"name": "petid", "type": "STRING", "location": "PATH", "required": 1}]);
    api["backend_params"] = json!([
        {"name": "petid", "location": "PATH", "origin": "REQUEST", "value": "petid"},
        {"name": "host", "location": "HEADER", "origin": "CONSTANT", "value": "clb.example.com"}
    ]);
    // Tencent's 30 minutes are beyond the installation's default ceiling (300 s).
    assert_error(&s.post("/apis", &api).await, 400, "APIG.2011", Some("backend_api.timeout"));
    api["backend_api"]["timeout"] = json!(300_000);
    s.create_and_publish(&api, RELEASE).await;
    let c = s.eventually("GET", &host, "/pets/7", &[], |c| c.status == 200).await;
    let seen = c.json();
    assert_eq!((seen["method"].as_str(), seen["path"].as_str()), (Some("POST"), Some("/path/7")));
    assert_eq!(echo::header(&seen, "host"), Some("clb.example.com"), "{seen}");
}

/// The SCF event of seeds 000 and 001 ("The structure sent by API Gateway to SCF"),
/// field by field, for `POST /test/value?foo=bar&bob=alice` with `{"test":"body"}`.
const SCF_EVENT_ECHO: &str = r#"
exports.handler = async (event) => ({isBase64Encoded: false, statusCode: 200, headers: {'Content-Type': 'application/json'}, body: JSON.stringify(event)});
"#;

/// Seeds 000 and 001, "Integrating with SCF" / "Step 3: Configure SCF in the
/// backend": namespace `default`, version `$LATEST`, a 15 s default timeout,
/// the fixed event structure, and response integration on (the function's
/// `statusCode`, `headers`, `body`) and off (its JSON passed through).
#[tokio::test]
async fn seed_001_scf_backend_event_and_response_integration() {
    let s = Server::start().await;
    let g = s.group("seed001_scf").await;
    let host = Server::group_host(&g);
    let (status, echo_fn) = s.post("/functions", &json!({"name": "scf_echo", "code": SCF_EVENT_ECHO, "event_format": "scf"})).await;
    assert_eq!(status, 201, "{echo_fn}");
    assert!(echo_fn["urn"].as_str().unwrap().contains(":default:scf_echo"), "namespace default: {echo_fn}");
    let (status, raw_fn) = s
        .post("/functions", &json!({"name": "scf_raw", "code": "exports.handler = async () => ({ok: true, items: [1, 2]});", "event_format": "scf", "response_mode": "passthrough"}))
        .await;
    assert_eq!(status, 201, "{raw_fn}");
    let scf_api = |name: &str, path: &str, urn: &str| {
        let mut a = json!({"group_id": g, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "POST", "req_uri": path,
            "auth_type": "NONE", "backend_type": "FUNCTION", "func_info": {"function_urn": urn, "invocation_type": "sync", "version": "$LATEST"}});
        if path.contains("{path}") {
            a["req_params"] = json!([{"name": "path", "type": "STRING", "location": "PATH", "required": 1}]);
        }
        a
    };
    let id = s.create_and_publish(&scf_api("scf_event", "/test/{path}", echo_fn["urn"].as_str().unwrap()), RELEASE).await;
    let (_, stored) = s.get(&format!("/apis/{id}")).await;
    assert_eq!(stored["func_info"]["timeout"], 15000, "SCF's default: {stored}");
    s.create_and_publish(&scf_api("scf_raw", "/raw", raw_fn["urn"].as_str().unwrap()), RELEASE).await;
    s.eventually("POST", &host, "/raw", &[], |c| c.status == 200).await;

    let res = s
        .http
        .post(format!("{}/test/value?foo=bar&bob=alice", s.gateway))
        .header("Host", &host)
        .header("Accept-Language", "en-US,en,cn")
        .header("User-Agent", "User Agent String")
        .body(r#"{"test":"body"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    let event: Value = res.json().await.unwrap();
    let ctx = &event["requestContext"];
    assert_eq!((ctx["serviceId"].as_str(), ctx["path"].as_str(), ctx["httpMethod"].as_str(), ctx["stage"].as_str()), (Some(g.as_str()), Some("/test/{path}"), Some("POST"), Some("release")), "{event}");
    assert!(ctx["sourceIp"].as_str().is_some_and(|ip| !ip.is_empty()), "{event}");
    assert!(ctx["identity"].get("secretId").is_some(), "{event}");
    assert_eq!(event["body"], r#"{"test":"body"}"#);
    assert_eq!(event["pathParameters"], json!({"path": "value"}));
    assert_eq!(event["queryString"], json!({"foo": "bar", "bob": "alice"}));
    assert_eq!(event["queryStringParameters"], json!({"foo": "bar", "bob": "alice"}));
    assert_eq!(event["stageVariables"], json!({"stage": "release"}));
    assert_eq!((event["path"].as_str(), event["httpMethod"].as_str()), (Some("/test/value"), Some("POST")));
    assert_eq!(event["headers"]["user-agent"], "User Agent String");
    assert_eq!(event["headers"]["accept-language"], "en-US,en,cn");
    assert_eq!(event["headers"]["x-api-requestid"], request_id.as_str(), "seed 001's x-api-requestid: {event}");
    assert_eq!(event["isBase64Encoded"], false);

    // Response integration off: "The response will be passed through … in JSON format".
    let raw = s.call_gateway("POST", &host, "/raw", &[]).await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.json(), json!({"ok": true, "items": [1, 2]}));
}

/// Seed 000, "Integrating with Mock": a fixed response, configured in advance.
#[tokio::test]
async fn seed_000_mock_backend() {
    let s = Server::start().await;
    let g = s.group("seed000_mock").await;
    let host = Server::group_host(&g);
    let api = json!({"group_id": g, "name": "mocked", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/mocked",
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "{\"pets\": []}", "status_code": 203,
        "header": [{"key": "Content-Type", "value": "application/json"}, {"key": "X-Mocked", "value": "yes"}]}});
    s.create_and_publish(&api, RELEASE).await;
    let c = s.eventually("GET", &host, "/mocked", &[], |c| c.status == 203).await;
    assert_eq!(c.json(), json!({"pets": []}));
    assert_eq!(c.header("x-mocked"), "yes");
}

/// Seed 001, "Configuring basic frontend information — CORS": "If enabled,
/// Access-Control-Allow-Origin : * will be added to the response header by default."
#[tokio::test]
async fn seed_001_cors() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("seed001_cors").await;
    let host = Server::group_host(&g);
    let mut api = http_api(&g, "cors", "GET", "/cors", json!({"url_domain": format!("http://{}", backend.address()), "req_method": "GET", "req_uri": "/"}));
    api["cors"] = json!(true);
    s.create_and_publish(&api, RELEASE).await;
    let c = s.eventually("GET", &host, "/cors", &[("Origin", "https://app.example.com")], |c| c.status == 200).await;
    assert_eq!(c.header("access-control-allow-origin"), "*");
}

/// Seed 003, "Request parameter": types STRING, INT, LONG, FLOAT, DOUBLE and
/// BOOLEAN, required flags, lengths and enumerations checked on the request
/// ("the API Gateway can verify the parameters … according to the parameter
/// position, type, requirement, maximum length, and minimum length").
#[tokio::test]
async fn seed_003_request_parameters() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("seed003_params").await;
    let host = Server::group_host(&g);
    let mut api = http_api(&g, "typed", "GET", "/typed/[id]", json!({"url_domain": format!("http://{}", backend.address()), "req_method": "GET", "req_uri": "/typed"}));
    // `valid_enable` 1: checked on each request (Huawei's switch; Baidu always checks).
    api["req_params"] = json!([
        {"name": "id", "type": "LONG", "location": "PATH", "required": 1, "valid_enable": 1},
        {"name": "count", "type": "INT", "location": "QUERY", "required": 1, "valid_enable": 1},
        {"name": "ratio", "type": "FLOAT", "location": "QUERY", "required": 2, "valid_enable": 1},
        {"name": "weight", "type": "DOUBLE", "location": "QUERY", "required": 2, "valid_enable": 1},
        {"name": "flag", "type": "BOOLEAN", "location": "QUERY", "required": 2, "valid_enable": 1},
        {"name": "code", "type": "STRING", "location": "QUERY", "required": 2, "min_size": 2, "max_size": 4, "valid_enable": 1},
        {"name": "color", "type": "STRING", "location": "QUERY", "required": 2, "enumerations": "red,green", "valid_enable": 1}
    ]);
    s.create_and_publish(&api, RELEASE).await;
    s.eventually("GET", &host, "/typed/9?count=1", &[], |c| c.status == 200).await;
    let ok = "/typed/9007199254740993?count=-3&ratio=1.5&weight=2e3&flag=true&code=ab&color=red";
    let c = s.call_gateway("GET", &host, ok, &[]).await;
    assert_eq!(c.status, 200, "{}", c.body);
    for (path, named) in [
        ("/typed/9?ratio=1", "count"),
        ("/typed/9?count=1.5", "count"),
        ("/typed/x?count=1", "id"),
        ("/typed/9?count=1&ratio=abc", "ratio"),
        ("/typed/9?count=1&weight=abc", "weight"),
        ("/typed/9?count=1&flag=yes", "flag"),
        ("/typed/9?count=1&code=a", "code"),
        ("/typed/9?count=1&code=abcde", "code"),
        ("/typed/9?count=1&color=blue", "color"),
    ] {
        let c = s.call_gateway("GET", &host, path, &[]).await;
        assert_eq!(c.status, 400, "{path}: {}", c.body);
        assert!(c.body.contains(named), "{path} names {named}: {}", c.body);
    }
}

/// Seed 003, "Back-end service of HTTP(S) type": several back-end addresses
/// polled by weight (1–100, default 1), and "Back-end service of Mock type":
/// the HTTP status codes it lists, 200 by default.
#[tokio::test]
async fn seed_003_backend_addresses_and_mock_codes() {
    let (one, two) = (Echo::start().await, Echo::start().await);
    let s = Server::start().await;
    let g = s.group("seed003_backends").await;
    let host = Server::group_host(&g);
    let api = http_api(&g, "weighted", "GET", "/weighted", json!({"req_protocol": "HTTP", "req_method": "GET", "req_uri": "/w",
        "url_domains": [{"url_domain": one.address(), "weight": 3}, {"url_domain": two.address()}]}));
    let id = s.create_and_publish(&api, RELEASE).await;
    let (_, stored) = s.get(&format!("/apis/{id}")).await;
    assert_eq!(stored["backend_api"]["url_domains"][1]["weight"], 1, "default weight: {stored}");
    s.eventually("GET", &host, "/weighted", &[], |c| c.status == 200).await;
    let mut served = std::collections::HashMap::new();
    for _ in 0..40 {
        let c = s.call_gateway("GET", &host, "/weighted", &[]).await;
        *served.entry(c.json()["served_by"].as_str().unwrap().to_string()).or_insert(0) += 1;
    }
    assert_eq!(served.len(), 2, "both addresses serve: {served:?}");
    assert_eq!(served[&one.address()], 30, "3 of every 4: {served:?}");
    let mut bad = api.clone();
    bad["name"] = json!("too_heavy");
    bad["req_uri"] = json!("/heavy");
    bad["backend_api"]["url_domains"][0]["weight"] = json!(101);
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2011", Some("backend_api.url_domains[0].weight"));

    let codes = [200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 304, 305, 307, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 450, 451, 500, 501, 502, 503, 504, 505];
    let mock = |name: String, code: Option<u16>| {
        let mut m = json!({"group_id": g, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/mock/code",
            "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "{}"}});
        if let Some(c) = code {
            m["mock_info"]["status_code"] = json!(c);
        }
        m
    };
    let (_, default) = s.post("/apis", &mock("mock_default".into(), None)).await;
    assert_eq!(default["mock_info"]["status_code"], 200, "{default}");
    assert_eq!(s.delete(&format!("/apis/{}", default["id"].as_str().unwrap())).await.0, 204);
    for code in codes {
        let (status, created) = s.post("/apis", &mock(format!("mock_{code}"), Some(code))).await;
        assert_eq!(status, 201, "{code}: {created}");
        assert_eq!(s.delete(&format!("/apis/{}", created["id"].as_str().unwrap())).await.0, 204);
    }
    assert_error(&s.post("/apis", &mock("mock_208".into(), Some(208))).await, 400, "APIG.2011", Some("mock_info.status_code"));
    // A listed code served as the answer's status.
    s.create_and_publish(&mock("mock_451".into(), Some(451)), RELEASE).await;
    s.eventually("GET", &host, "/mock/code", &[], |c| c.status == 451).await;
}
