//! HTTP backends end to end: a real backend that echoes what it receives,
//! parameter mapping, pass-through, variables per environment, errors.

mod common;

use common::echo::{self, Echo};
use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

async fn variable(server: &Server, group: &str, env: &str, name: &str, value: &str) {
    let (status, v) = server.post("/env-variables", &json!({"group_id": group, "env_id": env, "variable_name": name, "variable_value": value})).await;
    assert_eq!(status, 201, "{v}");
}

fn http_api(group: &str, name: &str, method: &str, path: &str, backend: Value) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": method, "req_uri": path,
      "auth_type": "NONE", "backend_type": "HTTP", "backend_api": backend
    })
}

#[tokio::test]
async fn the_backend_sees_exactly_the_mapped_request() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("mapping").await;
    let host = Server::group_host(&g);
    variable(&server, &g, RELEASE, "backend_host", &echo.address()).await;
    variable(&server, &g, RELEASE, "api_version", "v1").await;
    let mut api = http_api(&g, "get_order", "GET", "/orders/{id}", json!({
        "url_domain": "#backend_host#", "req_protocol": "HTTP", "req_method": "GET",
        "req_uri": "/#api_version#/orders/{oid}", "timeout": 3000
    }));
    api["req_params"] = json!([
        {"name": "id", "type": "STRING", "location": "PATH"},
        {"name": "q", "type": "NUMBER", "location": "QUERY", "required": 1, "valid_enable": 1, "min_num": 1, "max_num": 100},
        {"name": "lang", "type": "STRING", "location": "HEADER", "default_value": "en", "pass_through": 2, "valid_enable": 1, "enumerations": "en,fr,de"},
        {"name": "token", "type": "STRING", "location": "QUERY", "pass_through": 2},
        {"name": "size", "type": "STRING", "location": "QUERY", "default_value": "10"}
    ]);
    api["backend_params"] = json!([
        {"name": "oid", "location": "PATH", "origin": "REQUEST", "value": "id"},
        {"name": "page", "location": "QUERY", "origin": "REQUEST", "value": "q"},
        {"name": "X-Lang", "location": "HEADER", "origin": "REQUEST", "value": "lang"},
        {"name": "tok", "location": "HEADER", "origin": "REQUEST", "value": "token"},
        {"name": "X-Const", "location": "HEADER", "origin": "CONSTANT", "value": "c1"},
        {"name": "X-Src", "location": "HEADER", "origin": "SYSTEM", "value": "$context.sourceIp"},
        {"name": "X-Stage-Name", "location": "HEADER", "origin": "SYSTEM", "value": "$context.stage"},
        {"name": "X-Api", "location": "HEADER", "origin": "SYSTEM", "value": "$context.apiName"},
        {"name": "rid", "location": "QUERY", "origin": "SYSTEM", "value": "$context.requestId"}
    ]);
    server.create_and_publish(&api, RELEASE).await;

    let path = "/orders/a%20b?q=7&token=secret&extra=1";
    let c = server.eventually("GET", &host, path, &[("lang", "fr"), ("X-Custom", "keep"), ("Connection", "keep-alive")], |c| c.status == 200).await;
    let seen = c.json();
    assert_eq!(c.header("x-backend"), "echo", "the backend's headers come back");
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["path"], "/v1/orders/a%20b", "variables substituted, {{oid}} filled and encoded");
    let q = echo::query(&seen);
    let has = |k: &str, v: &str| q.iter().any(|(a, b)| a == k && b == v);
    assert!(has("extra", "1"), "undeclared query parameters pass through: {q:?}");
    assert!(has("q", "7"), "declared ones pass through by default: {q:?}");
    assert!(has("page", "7"), "and are mapped: {q:?}");
    assert!(has("size", "10"), "defaults of pass-through parameters are added: {q:?}");
    assert!(!q.iter().any(|(k, _)| k == "token"), "pass_through 2 holds a parameter back: {q:?}");
    assert!(has("rid", c.header("x-request-id")), "the request id reaches the backend: {q:?}");
    assert_eq!(echo::header(&seen, "tok"), Some("secret"), "held-back parameters can still be mapped");
    assert_eq!(echo::header(&seen, "x-lang"), Some("fr"));
    assert_eq!(echo::header(&seen, "lang"), None);
    assert_eq!(echo::header(&seen, "x-const"), Some("c1"));
    assert_eq!(echo::header(&seen, "x-src"), Some("127.0.0.1"));
    assert_eq!(echo::header(&seen, "x-stage-name"), Some("RELEASE"));
    assert_eq!(echo::header(&seen, "x-api"), Some("get_order"));
    assert_eq!(echo::header(&seen, "x-custom"), Some("keep"));
    assert_eq!(echo::header(&seen, "host"), Some(host.as_str()), "the caller's Host is kept");
    assert_eq!(echo::header(&seen, "x-forwarded-host"), Some(host.as_str()));
    assert_eq!(echo::header(&seen, "x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(echo::header(&seen, "x-real-ip"), Some("127.0.0.1"));
    assert_eq!(echo::header(&seen, "x-forwarded-proto"), Some("http"));
    assert_eq!(echo::header(&seen, "connection"), None, "hop-by-hop headers stop at the gateway");

    // Backend to caller too, with the headers the backend's `Connection` names.
    let c = server.call_gateway("GET", &host, "/orders/1?q=7", &[("X-Echo-Hop", "1")]).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.header("x-backend"), "echo");
    assert_eq!(c.headers.get("x-hop"), None, "a header the backend's Connection names is hop-by-hop");
    assert_eq!(c.headers.get("connection"), None);

    // A default applies when the header is absent; a forwarded-for chain is extended.
    let c = server.call_gateway("GET", &host, "/orders/1?q=100", &[("X-Forwarded-For", "203.0.113.9")]).await;
    let seen = c.json();
    assert_eq!(echo::header(&seen, "x-lang"), Some("en"));
    assert_eq!(echo::header(&seen, "x-forwarded-for"), Some("203.0.113.9, 127.0.0.1"));

    // Parameter rules.
    for (path, headers, param) in [
        ("/orders/1", vec![], "q"),
        ("/orders/1?q=0", vec![], "q"),
        ("/orders/1?q=101", vec![], "q"),
        ("/orders/1?q=seven", vec![], "q"),
        ("/orders/1?q=5", vec![("lang", "it")], "lang"),
    ] {
        let c = server.call_gateway("GET", &host, path, &headers).await;
        assert_eq!(c.status, 400, "{path}: {}", c.body);
        let body = c.json();
        assert_eq!(body["error_code"], "APIG.0201");
        assert!(body["error_msg"].as_str().unwrap().contains(param), "{param} named in {body}");
        assert_eq!(body["request_id"], c.header("x-request-id"));
    }
}

#[tokio::test]
async fn methods_bodies_prefixes_and_environments() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("passing").await;
    let host = Server::group_host(&g);
    let backend = |method: &str, path: &str| json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": method, "req_uri": path, "timeout": 3000});

    // ANY passes the caller's method through; bodies stream both ways.
    server.create_and_publish(&http_api(&g, "upload", "ANY", "/upload", backend("ANY", "/store")), RELEASE).await;
    let payload = "x".repeat(1 << 20);
    server.eventually("GET", &host, "/upload", &[], |c| c.status == 200).await;
    let res = server.http.put(format!("{}/upload", server.gateway)).header("Host", &host).body(payload.clone()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let seen: Value = res.json().await.unwrap();
    assert_eq!(seen["method"], "PUT");
    assert_eq!(seen["body_len"], payload.len());
    // A fixed backend method replaces the caller's.
    server.create_and_publish(&http_api(&g, "convert", "POST", "/convert", backend("GET", "/converted")), RELEASE).await;
    let c = server.eventually("POST", &host, "/convert", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["method"], "GET");
    // Too large a body is refused from its Content-Length, before anything is read or sent on.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = server.gateway.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let head = format!("POST /upload HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\nyyyy", (12 << 20) + 1);
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("APIG.0201"), "{answer}");
    }

    // SWA: the rest of the path follows the backend path.
    let mut files = http_api(&g, "files", "GET", "/files", backend("GET", "/store/"));
    files["match_mode"] = json!("SWA");
    server.create_and_publish(&files, RELEASE).await;
    let c = server.eventually("GET", &host, "/files/a/b.txt?v=2", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["path"], "/store/a/b.txt");
    assert_eq!(c.json()["query"], "v=2");
    assert_eq!(server.call_gateway("GET", &host, "/files", &[]).await.json()["path"], "/store/");

    // The same API in two environments, each with its own variable value.
    let (_, dev) = server.post("/envs", &json!({"name": "DEV"})).await;
    let dev_id = dev["id"].as_str().unwrap().to_string();
    variable(&server, &g, RELEASE, "tier", "prod").await;
    variable(&server, &g, &dev_id, "tier", "dev").await;
    let api = http_api(&g, "tiered", "GET", "/tier", backend("GET", "/#tier#/x"));
    let id = server.create_and_publish(&api, RELEASE).await;
    assert_eq!(server.post(&format!("/apis/publish/{id}"), &json!({"env_id": dev_id})).await.0, 201);
    let c = server.eventually("GET", &host, "/tier", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["path"], "/prod/x");
    let c = server.eventually("GET", &host, "/tier", &[("X-Stage", "DEV")], |c| c.status == 200).await;
    assert_eq!(c.json()["path"], "/dev/x");
    assert_error(&server.get("/apis/none").await, 404, "APIG.3002", None);
}

#[tokio::test]
async fn backend_timeouts_and_refusals_are_gateway_errors() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("failing").await;
    let host = Server::group_host(&g);
    let slow = http_api(&g, "slow", "GET", "/slow", json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/slow/2000", "timeout": 200}));
    server.create_and_publish(&slow, RELEASE).await;
    // A port nothing listens on: bind one, then free it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let refused = http_api(&g, "refused", "GET", "/refused", json!({"url_domain": closed.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/", "timeout": 1000}));
    server.create_and_publish(&refused, RELEASE).await;

    let c = server.eventually("GET", &host, "/slow", &[], |c| c.status != 404).await;
    assert_eq!(c.status, 504, "{}", c.body);
    assert_eq!(c.json()["error_code"], "APIG.0203");
    assert_eq!(c.json()["request_id"], c.header("x-request-id"));
    let c = server.eventually("GET", &host, "/refused", &[], |c| c.status != 404).await;
    assert_eq!(c.status, 502, "{}", c.body);
    assert_eq!(c.json()["error_code"], "APIG.0201");
    assert_eq!(c.json()["request_id"], c.header("x-request-id"));

    // Debug mode reports latencies.
    let fast = http_api(&g, "fast", "GET", "/fast", json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/", "timeout": 1000}));
    server.create_and_publish(&fast, RELEASE).await;
    let c = server.eventually("GET", &host, "/fast", &[("X-Apig-Mode", "debug")], |c| c.status == 200).await;
    assert!(c.header("x-apig-latency").parse::<u64>().is_ok());
    assert!(c.header("x-apig-upstream-latency").parse::<u64>().is_ok());
}

#[tokio::test]
async fn backend_policies_choose_the_first_match() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("policies").await;
    let host = Server::group_host(&g);
    let target = |path: &str| json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "ANY", "req_uri": path, "timeout": 2000});
    let mut api = http_api(&g, "routed", "ANY", "/routed", target("/default"));
    api["req_params"] = json!([{"name": "q", "type": "STRING", "location": "QUERY"}]);
    api["backend_params"] = json!([
        {"name": "X-Tier", "location": "HEADER", "origin": "CONSTANT", "value": "api"},
        {"name": "X-Api-Only", "location": "HEADER", "origin": "CONSTANT", "value": "yes"}
    ]);
    let with = |mut t: Value, name: &str, mode: &str, conditions: Value| {
        t["name"] = json!(name);
        t["effect_mode"] = json!(mode);
        t["conditions"] = conditions;
        t
    };
    let mut beta = with(target("/beta"), "by_param", "ALL", json!([
        {"condition_origin": "param", "req_param_name": "q", "condition_type": "exact", "condition_value": "beta"}
    ]));
    beta["backend_params"] = json!([{"name": "X-Tier", "location": "HEADER", "origin": "CONSTANT", "value": "policy"}]);
    api["policy_https"] = json!([
        beta,
        with(target("/vip"), "vip_any", "ANY", json!([
            {"condition_origin": "cookie", "cookie_param_name": "tier", "condition_type": "enum", "condition_value": "gold,silver"},
            {"condition_origin": "system", "sys_param_name": "req_method", "condition_type": "exact", "condition_value": "DELETE"}
        ])),
        with(target("/remote"), "remote_only", "ALL", json!([
            {"condition_origin": "source", "condition_value": "10.0.0.0/8,192.168.0.1-192.168.0.9"}
        ])),
        with(target("/local"), "local_x", "ALL", json!([
            {"condition_origin": "source", "condition_value": "127.0.0.1-127.0.0.2"},
            {"condition_origin": "param", "req_param_name": "q", "condition_type": "pattern", "condition_value": "^x[0-9]+$"}
        ]))
    ]);
    server.create_and_publish(&api, RELEASE).await;

    let path_for = |c: &common::Called| c.json()["path"].as_str().unwrap_or_default().to_string();
    let c = server.eventually("GET", &host, "/routed", &[], |c| c.status == 200).await;
    assert_eq!(path_for(&c), "/default", "no policy applies");
    assert_eq!(echo::header(&c.json(), "x-tier"), Some("api"));

    let c = server.call_gateway("GET", &host, "/routed?q=beta", &[]).await;
    assert_eq!(path_for(&c), "/beta");
    assert_eq!(echo::header(&c.json(), "x-tier"), Some("policy"), "a policy's parameters replace the API's");
    assert_eq!(echo::header(&c.json(), "x-api-only"), Some("yes"), "and add to the rest");

    assert_eq!(path_for(&server.call_gateway("GET", &host, "/routed", &[("Cookie", "a=1; tier=gold")]).await), "/vip");
    assert_eq!(path_for(&server.call_gateway("GET", &host, "/routed", &[("Cookie", "tier=bronze")]).await), "/default");
    assert_eq!(path_for(&server.call_gateway("DELETE", &host, "/routed", &[]).await), "/vip", "ANY: one condition is enough");
    assert_eq!(path_for(&server.call_gateway("GET", &host, "/routed?q=x42", &[]).await), "/local", "ALL: source range and pattern");
    assert_eq!(path_for(&server.call_gateway("GET", &host, "/routed?q=y42", &[]).await), "/default");
    // First match wins: q=beta with a gold cookie goes to the first policy.
    assert_eq!(path_for(&server.call_gateway("GET", &host, "/routed?q=beta", &[("Cookie", "tier=gold")]).await), "/beta");

    // Mock policies.
    let mock = json!({
      "group_id": g, "name": "mocked", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/m", "match_mode": "SWA",
      "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "default mock"},
      "policy_mocks": [{"name": "special", "effect_mode": "ANY", "result_content": "special mock", "status_code": 418,
          "conditions": [{"condition_origin": "system", "sys_param_name": "req_path", "condition_type": "pattern", "condition_value": "^/m/special"}]}]
    });
    let (status, body) = server.post("/apis", &mock).await;
    assert_eq!(status, 400, "418 is not a documented mock status: {body}");
    let mut mock = mock;
    mock["policy_mocks"][0]["status_code"] = json!(202);
    server.create_and_publish(&mock, RELEASE).await;
    let c = server.eventually("GET", &host, "/m/special/1", &[], |c| c.status == 202).await;
    assert_eq!(c.body, "special mock");
    let c = server.call_gateway("GET", &host, "/m/other", &[]).await;
    assert_eq!((c.status, c.body.as_str()), (200, "default mock"));
}

#[tokio::test]
async fn cors_preflight_and_simple_requests() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("cors").await;
    let host = Server::group_host(&g);
    let mut api = http_api(&g, "shared", "POST", "/shared", json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/", "timeout": 2000}));
    api["cors"] = json!(true);
    api["req_params"] = json!([{"name": "X-Tenant", "type": "STRING", "location": "HEADER"}]);
    server.create_and_publish(&api, RELEASE).await;
    let plain = http_api(&g, "private", "GET", "/private", json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/", "timeout": 2000}));
    server.create_and_publish(&plain, RELEASE).await;
    server.eventually("GET", &host, "/private", &[], |c| c.status == 200).await;

    let pre = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST"), ("Access-Control-Request-Headers", "x-tenant")];
    let c = server.eventually("OPTIONS", &host, "/shared", &pre, |c| c.status == 200).await;
    assert_eq!(c.header("access-control-allow-origin"), "*");
    assert_eq!(c.header("access-control-allow-methods"), "GET,POST,PUT,DELETE,HEAD,OPTIONS,PATCH");
    assert_eq!(c.header("access-control-max-age"), "172800");
    let allow = c.header("access-control-allow-headers");
    assert!(allow.starts_with("X-Stage,X-Sdk-Date") && allow.ends_with(",X-Tenant"), "{allow}");
    assert!(c.header("access-control-expose-headers").contains("X-Request-Id"));
    assert!(c.body.is_empty());
    assert_eq!(c.header("x-request-id").len(), 32);

    let c = server.call_gateway("POST", &host, "/shared", &[("Origin", "https://app.example")]).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.header("access-control-allow-origin"), "*");
    assert_eq!(c.json()["method"], "POST", "the simple request reached the backend");

    // A backend that answers CORS itself is left alone.
    let own = json!({
      "group_id": g, "name": "own_cors", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/own", "cors": true,
      "auth_type": "NONE", "backend_type": "MOCK",
      "mock_info": {"result_content": "{}", "header": [{"key": "Access-Control-Allow-Origin", "value": "https://only.example"}]}
    });
    server.create_and_publish(&own, RELEASE).await;
    let c = server.eventually("GET", &host, "/own", &[("Origin", "https://only.example")], |c| c.status == 200).await;
    assert_eq!(c.headers.get_all("access-control-allow-origin").iter().count(), 1);
    assert_eq!(c.header("access-control-allow-origin"), "https://only.example");

    // An API without CORS gets no preflight answer and no CORS header.
    let c = server.call_gateway("OPTIONS", &host, "/private", &[("Origin", "https://x"), ("Access-Control-Request-Method", "GET")]).await;
    assert_eq!(c.status, 404);
    let c = server.call_gateway("GET", &host, "/private", &[("Origin", "https://x")]).await;
    assert_eq!(c.header("access-control-allow-origin"), "");
}

#[tokio::test]
async fn regex_paths_route_last_and_bind_their_named_groups() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("regex").await;
    let host = Server::group_host(&g);
    let backend = |path: &str| json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": path, "timeout": 3000});
    let mut images = http_api(&g, "images", "GET", "/img/(?<name>[a-z]+)\\.(?<ext>png|jpg)", backend("/store/{n}"));
    images["match_mode"] = json!("REGEX");
    images["req_params"] = json!([
        {"name": "name", "type": "STRING", "location": "PATH"},
        {"name": "ext", "type": "STRING", "location": "PATH"}
    ]);
    images["backend_params"] = json!([
        {"name": "n", "location": "PATH", "origin": "REQUEST", "value": "name"},
        {"name": "X-Ext", "location": "HEADER", "origin": "REQUEST", "value": "ext"}
    ]);
    server.create_and_publish(&images, RELEASE).await;
    server.create_and_publish(&http_api(&g, "logo", "GET", "/img/logo.png", backend("/exact")), RELEASE).await;
    let mut docs = http_api(&g, "docs", "GET", "/docs", backend("/prefix"));
    docs["match_mode"] = json!("SWA");
    server.create_and_publish(&docs, RELEASE).await;
    let mut any_doc = http_api(&g, "any_doc", "GET", "/docs/.*|/manual/.*", backend("/regex"));
    any_doc["match_mode"] = json!("REGEX");
    server.create_and_publish(&any_doc, RELEASE).await;

    let c = server.eventually("GET", &host, "/img/cat.png", &[], |c| c.status == 200).await;
    let seen = c.json();
    assert_eq!(seen["path"], "/store/cat", "the named group fills the backend path");
    assert_eq!(echo::header(&seen, "x-ext"), Some("png"));
    let c = server.call_gateway("GET", &host, "/img/logo.png", &[]).await;
    assert_eq!(c.json()["path"], "/exact", "an exact path beats a regex");
    let c = server.call_gateway("GET", &host, "/docs/a/b", &[]).await;
    assert_eq!(c.json()["path"], "/prefix/a/b", "a prefix beats a regex");
    let c = server.call_gateway("GET", &host, "/manual/x", &[]).await;
    assert_eq!(c.json()["path"], "/regex");
    for path in ["/img/cat.gif", "/img/cat.png/more", "/x/img/cat.png"] {
        let c = server.call_gateway("GET", &host, path, &[]).await;
        assert_eq!((c.status, c.json()["error_code"].as_str()), (404, Some("APIG.0101")), "{path}");
    }

    // A regex that does not compile, or a PATH parameter without its group, is refused.
    let mut bad = http_api(&g, "bad", "GET", "/a(", backend("/"));
    bad["match_mode"] = json!("REGEX");
    common::assert_error(&server.post("/apis", &bad).await, 400, "APIG.2011", Some("req_uri"));
    bad["req_uri"] = json!("/a/(?<x>[0-9]+)");
    bad["req_params"] = json!([{"name": "y", "type": "STRING", "location": "PATH"}]);
    common::assert_error(&server.post("/apis", &bad).await, 400, "APIG.2026", Some("req_uri"));
}

#[tokio::test]
async fn form_fields_are_body_parameters() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("forms").await;
    let host = Server::group_host(&g);
    let mut api = http_api(&g, "login", "POST", "/login", json!({
        "url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/in", "timeout": 3000
    }));
    api["req_params"] = json!([
        {"name": "user", "type": "STRING", "location": "BODY", "required": 1},
        {"name": "age", "type": "INT", "location": "BODY", "valid_enable": 1, "min_num": 1, "max_num": 150},
        {"name": "plan", "type": "STRING", "location": "BODY", "default_value": "free"}
    ]);
    api["backend_params"] = json!([
        {"name": "X-User", "location": "HEADER", "origin": "REQUEST", "value": "user"},
        {"name": "age", "location": "QUERY", "origin": "REQUEST", "value": "age"},
        {"name": "X-Plan", "location": "HEADER", "origin": "REQUEST", "value": "plan"}
    ]);
    server.create_and_publish(&api, RELEASE).await;
    let post = |body: &'static str, ct: &'static str| {
        let req = server.http.post(format!("{}/login", server.gateway)).header("Host", &host).header("Content-Type", ct).body(body);
        async move {
            let res = req.send().await.expect("request");
            (res.status().as_u16(), res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let (status, seen) = loop {
        let r = post("user=ann+b%C3%A9&age=30&extra=1", FORM).await;
        if r.0 == 200 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    assert_eq!(status, 200, "{seen}");
    assert_eq!(echo::header(&seen, "x-user"), Some("ann bé"), "form fields are decoded");
    assert_eq!(echo::query(&seen), vec![("age".to_string(), "30".to_string())]);
    assert_eq!(echo::header(&seen, "x-plan"), Some("free"), "defaults apply to form fields");
    assert_eq!(seen["body"], "user=ann+b%C3%A9&age=30&extra=1", "the body goes on as it came");

    for (body, ct, param) in [("age=30", FORM, "user"), ("user=a&age=200", FORM, "age"), ("user=a&age=x", FORM, "age"), ("{\"user\":\"a\"}", "application/json", "user")] {
        let (status, err) = post(body, ct).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["error_code"], "APIG.0201");
        assert!(err["error_msg"].as_str().unwrap().contains(param), "{param} named in {err}");
    }

    // A backend BODY parameter is a field of the backend's form (Baidu's): the field renamed.
    let mut renamed = http_api(&g, "renamed", "POST", "/renamed", json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/", "timeout": 3000}));
    renamed["req_params"] = json!([{"name": "user", "type": "STRING", "location": "BODY"}]);
    renamed["backend_params"] = json!([{"name": "login", "location": "BODY", "origin": "REQUEST", "value": "user"}]);
    server.create_and_publish(&renamed, "DEFAULT_ENVIRONMENT_RELEASE_ID").await;
    let called = server.eventually("POST", &host, "/renamed", &[("Content-Type", FORM)], |c| c.status != 404).await;
    assert_eq!(called.status, 200, "{}", called.body);
    let res = server.http.post(format!("{}/renamed", server.gateway)).header("Host", &host).header("Content-Type", FORM).body("user=ann&x=1").send().await.unwrap();
    let seen: Value = res.json().await.unwrap();
    assert_eq!(seen["body"], "user=ann&x=1&login=ann", "{seen}");
}

#[tokio::test]
async fn h2c_callers_are_served() {
    use http_body_util::{BodyExt, Full};
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("h2c").await;
    let host = Server::group_host(&g);
    server
        .create_and_publish(&http_api(&g, "echo", "POST", "/e", json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/seen", "timeout": 3000})), RELEASE)
        .await;
    server.eventually("POST", &host, "/e", &[], |c| c.status == 200).await;

    // HTTP/2 with prior knowledge, on the same listener as HTTP/1.1.
    let addr = server.gateway.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(stream))
        .await
        .expect("h2 handshake");
    tokio::spawn(conn);
    for i in 0..3 {
        let req = hyper::Request::post(format!("http://{host}/e?n={i}"))
            .header("x-custom", "h2")
            .body(Full::new(bytes::Bytes::from(format!("body {i}"))))
            .unwrap();
        let res = sender.send_request(req).await.expect("h2 request");
        assert_eq!(res.status(), 200);
        assert_eq!(res.version(), hyper::Version::HTTP_2);
        assert_eq!(res.headers()["x-request-id"].len(), 32);
        let body = res.into_body().collect().await.expect("body").to_bytes();
        let seen: Value = serde_json::from_slice(&body).expect("echo json");
        assert_eq!(seen["path"], "/seen");
        assert_eq!(seen["query"], format!("n={i}"));
        assert_eq!(seen["body"], format!("body {i}"));
        assert_eq!(echo::header(&seen, "x-custom"), Some("h2"));
        assert_eq!(echo::header(&seen, "host"), Some(host.as_str()), "the :authority becomes the backend's Host");
    }
    let res = sender.send_request(hyper::Request::get(format!("http://{host}/nothing")).body(Full::new(bytes::Bytes::new())).unwrap()).await.unwrap();
    assert_eq!(res.status(), 404);
}

/// A backend that counts the connections it accepts and the idle ones it
/// closes: each change of `close` closes every connection then open (as a
/// backend's idle timeout would), so the test counts instead of waiting.
struct CountingBackend {
    addr: String,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    closed: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    close: tokio::sync::watch::Sender<u64>,
}

async fn counting_backend() -> CountingBackend {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (accepted, closed) = (std::sync::Arc::new(AtomicUsize::new(0)), std::sync::Arc::new(AtomicUsize::new(0)));
    let (close, closing) = tokio::sync::watch::channel(0u64);
    let (counted, closes) = (accepted.clone(), closed.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            let (mut closing, closes) = (closing.clone(), closes.clone());
            closing.mark_unchanged();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let got = tokio::select! {
                        read = stream.read(&mut chunk) => match read {
                            Ok(got) if got > 0 => got,
                            _ => return,
                        },
                        _ = closing.changed() => {
                            closes.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    buf.extend_from_slice(&chunk[..got]);
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        let body = format!("connection {n}");
                        let res = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
                        if stream.write_all(res.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    CountingBackend { addr, accepted, closed, close }
}

#[tokio::test]
async fn backend_connections_are_reused_and_idle_closes_are_survived() {
    use std::sync::atomic::Ordering;
    let backend = counting_backend().await;
    let server = Server::start().await;
    let g = server.group("pooling").await;
    let host = Server::group_host(&g);
    server
        .create_and_publish(&http_api(&g, "pooled", "GET", "/p", json!({"url_domain": backend.addr, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/", "timeout": 3000})), RELEASE)
        .await;
    server.eventually("GET", &host, "/p", &[], |c| c.status == 200).await;
    let before = backend.accepted.load(Ordering::SeqCst);
    for _ in 0..10 {
        let c = server.call_gateway("GET", &host, "/p", &[]).await;
        assert_eq!(c.status, 200, "{}", c.body);
    }
    assert_eq!(backend.accepted.load(Ordering::SeqCst), before, "back-to-back requests reuse one backend connection");

    // The backend closes its idle connections; the next request gets a fresh one, never an error.
    for round in 1..=3 {
        let open = backend.accepted.load(Ordering::SeqCst) - backend.closed.load(Ordering::SeqCst);
        let closed_before = backend.closed.load(Ordering::SeqCst);
        backend.close.send_modify(|g| *g += 1);
        for _ in 0..1000 {
            if backend.closed.load(Ordering::SeqCst) >= closed_before + open {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(backend.closed.load(Ordering::SeqCst), closed_before + open, "round {round}: the backend closed what it had open");
        let c = server.call_gateway("GET", &host, "/p", &[]).await;
        assert_eq!(c.status, 200, "round {round}: {}", c.body);
    }
    assert_eq!(backend.accepted.load(Ordering::SeqCst), before + 3);
}

#[tokio::test]
async fn large_backend_bodies_stream_through() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A backend answering 8 MiB in chunks, pausing between them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").await;
                let chunk = vec![b'x'; 256 << 10];
                for i in 0..32 {
                    let _ = stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await;
                    let _ = stream.write_all(&chunk).await;
                    let _ = stream.write_all(b"\r\n").await;
                    if i % 8 == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    }
                }
                let _ = stream.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    let server = Server::start().await;
    let g = server.group("big").await;
    let host = Server::group_host(&g);
    server
        .create_and_publish(&http_api(&g, "big", "GET", "/big", json!({"url_domain": backend, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/", "timeout": 3000})), RELEASE)
        .await;
    for _ in 0..3 {
        let c = server.eventually("GET", &host, "/big", &[], |c| c.status == 200).await;
        assert_eq!(c.body.len(), 8 << 20, "the whole body arrives");
        assert!(c.body.bytes().all(|b| b == b'x'));
    }
}

/// One request as sent, byte for byte (HTTP clients resolve dot-segments
/// themselves): its status and body.
async fn raw_get(server: &Server, host: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.gateway.trim_start_matches("http://")).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await.expect("answered").unwrap();
    let answer = String::from_utf8_lossy(&answer).to_string();
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn ambiguous_paths_are_normalised_or_refused() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let g = server.group("paths").await;
    let host = Server::group_host(&g);
    let backend = json!({"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/store/", "timeout": 3000});
    let mut files = http_api(&g, "files", "GET", "/files", backend);
    files["match_mode"] = json!("SWA");
    server.create_and_publish(&files, RELEASE).await;
    server.eventually("GET", &host, "/files/x", &[], |c| c.status == 200).await;

    // What routing saw is what the backend gets: dot-segments resolved, repeated slashes merged.
    let (status, body) = raw_get(&server, &host, "/files/a/../b.txt").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["path"], "/store/b.txt");
    let (status, body) = raw_get(&server, &host, "/files//a/./c?v=1").await;
    assert_eq!(status, 200, "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((seen["path"].as_str(), seen["query"].as_str()), (Some("/store/a/c"), Some("v=1")));
    // Leaving the prefix leaves its API: the normalised path matches no API here.
    let (status, body) = raw_get(&server, &host, "/files/%2e%2e/admin/users").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("APIG.0101"), "{body}");
    // Above the root, or a slash hidden in an escape: refused, never sent on.
    for path in ["/files/../../etc/passwd", "/files/a%2fb", "/files/a%5C..%5Cb", "/files/a%zz", "/files/b%2", "/files/%/c"] {
        let (status, body) = raw_get(&server, &host, path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains("APIG.0201") && body.contains("The request path"), "{path}: {body}");
    }
    // Well-formed escapes pass as sent, whatever bytes they decode to; the query is the backend's to read.
    let (status, body) = raw_get(&server, &host, "/files/%C3%28/x%20y?q=%zz&r=%").await;
    assert_eq!(status, 200, "{body}");
    let seen: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((seen["path"].as_str(), seen["query"].as_str()), (Some("/store/%C3%28/x%20y"), Some("q=%zz&r=%")), "{seen}");
}
