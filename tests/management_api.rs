//! The v1.0 management API end to end: the real binary, real HTTP, real stores.

mod common;

use common::{Backend, Server, assert_error};
use serde_json::{Value, json};

/// Seed 002's example request (with a real group id).
fn seed_002_example(group_id: &str) -> Value {
    json!({
      "auth_type": "app",
      "auth_opt": { "app_code_auth_type": "HEADER" },
      "backend_api": { "req_method": "get", "req_protocol": "http", "req_uri": "/test", "timeout": 1000, "url_domain": "xxxxxxxxxxx" },
      "backend_params": [
        { "location": "query", "name": "project_id", "origin": "request", "value": "project_id" },
        { "location": "query", "name": "city", "origin": "request", "value": "city" }
      ],
      "backend_type": "http",
      "group_id": group_id,
      "name": "test",
      "req_method": "get",
      "req_params": [
        { "location": "path", "name": "project_id", "required": 1, "type": "string" },
        { "location": "query", "name": "city", "required": 2, "type": "string" }
      ],
      "req_uri": "/test/{project_id}",
      "tags": ["APIG-SN-test", "test"],
      "type": 1,
      "result_normal_sample": "hello world!"
    })
}

/// The example's custom authorizers, which must exist: (frontend, backend) ids.
async fn roma_authorizers(server: &Server) -> (String, String) {
    let (status, f) = server.post("/functions", &json!({"name": "roma_auth", "code": "exports.handler = () => ({statusCode: 200, body: '{\"status\":\"allow\"}'});"})).await;
    assert_eq!(status, 201, "{f}");
    let mut ids = Vec::new();
    for kind in ["FRONTEND", "BACKEND"] {
        let body = json!({"name": format!("roma_{kind}"), "type": kind, "authorizer_type": "FUNC", "authorizer_uri": f["urn"]});
        let (status, a) = server.post("/authorizers", &body).await;
        assert_eq!(status, 201, "{a}");
        ids.push(a["id"].as_str().unwrap().to_string());
    }
    (ids[0].clone(), ids[1].clone())
}

/// ROMA example 1 (web backend), with a backend policy added.
fn roma_http(group_id: &str, authorizer_id: &str) -> Value {
    json!({
      "group_id": group_id, "match_mode": "NORMAL", "name": "Api_http",
      "auth_type": "AUTHORIZER", "authorizer_id": authorizer_id,
      "backend_type": "HTTP",
      "backend_api": { "url_domain": "10.10.10.156:12346", "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/test/benchmark", "timeout": 5000 },
      "req_protocol": "HTTPS", "req_uri": "/test/http", "remark": "Web backend API", "type": 1, "req_method": "GET",
      "result_normal_sample": "normal result", "result_failure_sample": "failure result", "tags": ["webApi"],
      "req_params": [
        { "name": "query_demo", "location": "QUERY", "type": "STRING", "required": 1 },
        { "name": "header-demo", "location": "HEADER", "type": "STRING", "required": 2 }
      ],
      "backend_params": [
        { "name": "backHeader", "value": "header-demo", "location": "HEADER", "origin": "REQUEST" },
        { "name": "backQuery", "value": "query_demo", "location": "QUERY", "origin": "REQUEST" },
        { "name": "X-CONSTANT-HEADER", "value": "demo", "location": "HEADER", "origin": "CONSTANT", "remark": "constant_demo" },
        { "name": "app-id", "value": "$context.appId", "location": "HEADER", "origin": "SYSTEM", "remark": "consumer app id" }
      ],
      "policy_https": [{
        "name": "policy001", "effect_mode": "ANY",
        "url_domain": "#backend_host#:8080", "req_protocol": "http", "req_method": "GET", "req_uri": "/#prefix#/policy/{project}", "timeout": 10000,
        "conditions": [
          { "condition_type": "pattern", "condition_value": "^[0-9]+$", "condition_origin": "param", "req_param_name": "query_demo" },
          { "condition_origin": "source", "condition_value": "10.0.0.0/8,192.168.1.5" },
          { "condition_origin": "system", "sys_param_name": "req_method", "condition_type": "enum", "condition_value": "GET,HEAD" },
          { "condition_origin": "cookie", "cookie_param_name": "beta", "condition_type": "exact", "condition_value": "yes" }
        ],
        "backend_params": [{ "name": "project", "value": "p1", "location": "PATH", "origin": "CONSTANT" }]
      }]
    })
}

/// ROMA example 2 (FunctionGraph backend).
fn roma_function(group_id: &str, authorizer_id: &str) -> Value {
    json!({
      "group_id": group_id, "match_mode": "NORMAL", "name": "Api_function", "auth_type": "APP", "backend_type": "FUNCTION",
      "func_info": {
        "authorizer_id": authorizer_id,
        "function_urn": "'urn:fss:region01:73d69ae0cfcf460190522d06b60f05ad:function:default:auto_testfunc93749'",
        "invocation_type": "sync", "timeout": 5000, "version": "latest"
      },
      "req_protocol": "HTTPS", "req_uri": "/test/function", "remark": "function API", "type": 1, "req_method": "GET",
      "result_normal_sample": "normal result", "result_failure_sample": "failure result", "tags": ["functionApi"]
    })
}

/// ROMA example 2 calling a function of this installation (the example's URN names none here).
fn roma_function_here(group_id: &str, authorizer_id: &str) -> Value {
    let mut api = roma_function(group_id, authorizer_id);
    api["func_info"]["function_urn"] = json!("urn:fss:local:causeway:function:default:roma_auth");
    api
}

/// ROMA example 3 (Mock backend with a policy).
fn roma_mock(group_id: &str) -> Value {
    json!({
      "group_id": group_id, "match_mode": "SWA", "name": "Api_mock", "auth_type": "IAM", "backend_type": "MOCK",
      "mock_info": { "result_content": "mock success" },
      "policy_mocks": [{
        "name": "mock_policy_backend", "effect_mode": "ANY", "result_content": "mock policy success",
        "conditions": [{ "condition_origin": "source", "condition_value": "1.0.1.0" }]
      }],
      "req_protocol": "HTTPS", "req_uri": "/test/mock", "remark": "mock api", "type": 1, "req_method": "GET",
      "result_normal_sample": "normal result", "result_failure_sample": "failure result", "tags": ["mockApi"]
    })
}

fn is_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_time(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.len() >= 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}

#[tokio::test]
async fn seed_002_example_creates_the_documented_response() {
    let server = Server::start().await;
    let group_id = server.group("group0002").await;
    let (status, api) = server.post("/apis", &seed_002_example(&group_id)).await;
    assert_eq!(status, 201, "{api}");

    // The frontend, echoed in the documented case with defaults filled in.
    for (field, expected) in [
        ("name", json!("test")),
        ("type", json!(1)),
        ("version", json!("V0.0.1")),
        ("req_protocol", json!("HTTPS")),
        ("req_method", json!("GET")),
        ("req_uri", json!("/test/{project_id}")),
        ("auth_type", json!("APP")),
        ("auth_opt", json!({"app_code_auth_type": "HEADER"})),
        ("tags", json!(["APIG-SN-test", "test"])),
        ("cors", json!(false)),
        ("match_mode", json!("NORMAL")),
        ("backend_type", json!("HTTP")),
        ("group_id", json!(group_id)),
        ("group_name", json!("group0002")),
        ("result_normal_sample", json!("hello world!")),
        ("status", json!(1)),
        ("arrange_necessary", json!(2)),
    ] {
        assert_eq!(api[field], expected, "{field} in {api}");
    }
    assert!(is_id(&api["id"]));
    assert!(is_time(&api["register_time"]) && is_time(&api["update_time"]));

    let backend = &api["backend_api"];
    assert!(is_id(&backend["id"]));
    assert_eq!(backend["url_domain"], "xxxxxxxxxxx");
    assert_eq!(backend["req_protocol"], "HTTP");
    assert_eq!(backend["req_method"], "GET");
    assert_eq!(backend["req_uri"], "/test");
    assert_eq!(backend["timeout"], 1000);
    assert_eq!(backend["vpc_status"], 2);
    assert_eq!(backend["status"], 1);
    assert!(is_time(&backend["register_time"]));

    let params = api["req_params"].as_array().unwrap();
    assert_eq!(params.len(), 2);
    assert_eq!(params[0]["name"], "project_id");
    assert_eq!(params[0]["type"], "STRING");
    assert_eq!(params[0]["location"], "PATH");
    assert_eq!(params[0]["required"], 1);
    assert_eq!(params[0]["valid_enable"], 2);
    assert_eq!(params[1]["location"], "QUERY");
    assert_eq!(params[1]["required"], 2);
    assert!(params.iter().all(|p| is_id(&p["id"])));

    // Backend parameters are linked to the input parameters they map.
    let mapped = api["backend_params"].as_array().unwrap();
    assert_eq!(mapped[0]["origin"], "REQUEST");
    assert_eq!(mapped[0]["location"], "QUERY");
    assert_eq!(mapped[0]["req_param_id"], params[0]["id"]);
    assert_eq!(mapped[1]["req_param_id"], params[1]["id"]);
    assert!(is_id(&mapped[0]["id"]) && mapped[0]["id"] != mapped[1]["id"]);

    // Read back unchanged.
    let id = api["id"].as_str().unwrap();
    let (status, read) = server.get(&format!("/apis/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read, api);
}

#[tokio::test]
async fn roma_example_shapes_read_back_identically() {
    let server = Server::start().await;
    let group_id = server.group("api_group_001").await;
    let (front, back) = roma_authorizers(&server).await;
    // Seed 004's 404 example: a function URN that names no function.
    assert_error(&server.post("/apis", &roma_function(&group_id, &back)).await, 404, "APIG.3019", Some("func_info.function_urn"));
    for body in [roma_http(&group_id, &front), roma_function_here(&group_id, &back), roma_mock(&group_id)] {
        let (status, created) = server.post("/apis", &body).await;
        assert_eq!(status, 201, "{created}");
        let (status, read) = server.get(&format!("/apis/{}", created["id"].as_str().unwrap())).await;
        assert_eq!(status, 200);
        assert_eq!(read, created);
    }
    let (_, list) = server.get(&format!("/apis?group_id={group_id}")).await;
    assert_eq!(list["total"], 3);
    let by_name = |name: &str| list["apis"].as_array().unwrap().iter().find(|a| a["name"] == name).cloned().unwrap();

    let http = by_name("Api_http");
    assert_eq!(http["authorizer_id"], front.as_str());
    assert_eq!(http["auth_opt"]["app_code_auth_type"], "DISABLE");
    assert_eq!(http["backend_params"][3]["value"], "$context.appId");
    assert!(http["backend_params"][2].get("req_param_id").is_none(), "CONSTANT params map nothing");
    let policy = &http["policy_https"][0];
    assert!(is_id(&policy["id"]));
    assert_eq!(policy["req_protocol"], "HTTP");
    assert_eq!(policy["effect_mode"], "ANY");
    let conditions = policy["conditions"].as_array().unwrap();
    assert_eq!(conditions[0]["req_param_id"], http["req_params"][0]["id"]);
    assert_eq!(conditions[0]["req_param_location"], "QUERY");
    assert_eq!(conditions[2]["sys_param_name"], "req_method");
    assert_eq!(conditions[3]["cookie_param_name"], "beta");
    assert!(conditions.iter().all(|c| is_id(&c["id"])));

    let function = by_name("Api_function");
    assert_eq!(function["func_info"]["invocation_type"], "sync");
    assert_eq!(function["func_info"]["network_type"], "V1");
    assert_eq!(function["func_info"]["version"], "latest");
    assert!(is_id(&function["func_info"]["id"]));

    let mock = by_name("Api_mock");
    assert_eq!(mock["match_mode"], "SWA");
    assert_eq!(mock["mock_info"]["result_content"], "mock success");
    assert_eq!(mock["mock_info"]["status_code"], 200);
    assert_eq!(mock["policy_mocks"][0]["conditions"][0]["condition_origin"], "source");
}

/// A valid HTTP API to mutate, one rule at a time.
fn base_api(group_id: &str) -> Value {
    json!({
      "group_id": group_id, "name": "orders", "type": 1, "req_method": "GET", "req_uri": "/orders/{id}",
      "auth_type": "NONE", "backend_type": "HTTP",
      "req_params": [
        { "name": "id", "type": "NUMBER", "location": "PATH" },
        { "name": "q", "type": "STRING", "location": "QUERY" }
      ],
      "backend_api": { "url_domain": "backend.internal:8080", "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/v1/orders/{oid}", "timeout": 3000 },
      "backend_params": [{ "name": "oid", "location": "PATH", "origin": "REQUEST", "value": "id" }],
      "policy_https": [{
        "name": "canary", "effect_mode": "ALL", "url_domain": "canary.internal", "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/v2/orders/{oid}",
        "conditions": [{ "condition_origin": "param", "req_param_name": "q", "condition_type": "exact", "condition_value": "beta" }]
      }]
    })
}

/// Sets `pointer` in `v` (creating objects on the way) or removes it when `value` is None.
fn mutate(mut v: Value, pointer: &str, value: Option<Value>) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent}"));
    match (target, value) {
        (Value::Object(m), Some(x)) => {
            m.insert(key.to_string(), x);
        }
        (Value::Object(m), None) => {
            m.remove(key);
        }
        (Value::Array(a), Some(x)) => a[key.parse::<usize>().unwrap()] = x,
        (Value::Array(a), None) => {
            a.remove(key.parse::<usize>().unwrap());
        }
        _ => panic!("cannot set {pointer}"),
    }
    v
}

#[tokio::test]
async fn every_api_rule_rejects_with_its_code_and_field() {
    let server = Server::start().await;
    let g = server.group("rules").await;
    let base = base_api(&g);
    let (status, body) = server.post("/apis", &base).await;
    assert_eq!(status, 201, "the base body is valid: {body}");
    server.delete(&format!("/apis/{}", body["id"].as_str().unwrap())).await;

    let long = "x".repeat(256);
    #[rustfmt::skip]
    let cases: Vec<(&str, Option<Value>, u16, &str, &str)> = vec![
        ("/name", None, 400, "APIG.2001", "name"),
        ("/name", Some(json!("1orders")), 400, "APIG.2011", "name"),
        ("/name", Some(json!("ab")), 400, "APIG.2011", "name"),
        ("/name", Some(json!(12)), 400, "APIG.2012", "name"),
        ("/type", Some(json!(3)), 400, "APIG.2011", "type"),
        ("/type", Some(json!("1")), 400, "APIG.2012", "type"),
        ("/type", None, 400, "APIG.2001", "type"),
        ("/version", Some(json!("v".repeat(17))), 400, "APIG.2011", "version"),
        ("/req_protocol", Some(json!("FTP")), 400, "APIG.2011", "req_protocol"),
        ("/req_method", Some(json!("FETCH")), 400, "APIG.2011", "req_method"),
        ("/req_uri", Some(json!("orders")), 400, "APIG.2011", "req_uri"),
        ("/req_uri", Some(json!("/orders/{id}?x=1")), 400, "APIG.2011", "req_uri"),
        ("/req_uri", Some(json!("/orders/{id}/{item}")), 400, "APIG.2026", "req_uri"),
        ("/req_uri", Some(json!("/orders")), 400, "APIG.2026", "req_params[0].location"),
        ("/match_mode", Some(json!("FUZZY")), 400, "APIG.2011", "match_mode"),
        ("/remark", Some(json!(long)), 400, "APIG.2011", "remark"),
        ("/auth_type", None, 400, "APIG.2001", "auth_type"),
        ("/auth_type", Some(json!("OAUTH")), 400, "APIG.2011", "auth_type"),
        ("/auth_opt", Some(json!({"app_code_auth_type": "HEADER"})), 400, "APIG.2011", "auth_opt.app_code_auth_type"),
        ("/authorizer_id", Some(json!("abc")), 400, "APIG.2036", "authorizer_id"),
        ("/backend_type", Some(json!("GRPC")), 400, "APIG.2011", "backend_type"),
        ("/tags", Some(json!(["APIG-SN-a", "APIG-SN-b"])), 400, "APIG.2011", "tags[1]"),
        ("/tags", Some(json!(["bad tag"])), 400, "APIG.2011", "tags[0]"),
        ("/cors", Some(json!("yes")), 400, "APIG.2012", "cors"),
        ("/body_remark", Some(json!("x".repeat(20481))), 400, "APIG.2011", "body_remark"),
        ("/domain_name", Some(json!("api.example.com")), 400, "APIG.2001", "roma_app_id"),
        ("/req_params/0/name", Some(json!("X-Stage")), 400, "APIG.2011", "req_params[0].name"),
        ("/req_params/1/name", Some(json!("id")), 400, "APIG.3209", "req_params[1].name"),
        ("/req_params/1/type", Some(json!("BLOB")), 400, "APIG.2011", "req_params[1].type"),
        ("/req_params/1/location", None, 400, "APIG.2001", "req_params[1].location"),
        ("/req_params/1/valid_enable", Some(json!(0)), 400, "APIG.2011", "req_params[1].valid_enable"),
        ("/req_params/1/regular", Some(json!("(")), 400, "APIG.2011", "req_params[1].regular"),
        ("/req_params/0/default_value", Some(json!("abc")), 400, "APIG.2011", "req_params[0].default_value"),
        ("/req_params/0/min_size", Some(json!(-1)), 400, "APIG.2011", "req_params[0].min_size"),
        ("/backend_api", None, 400, "APIG.2001", "backend_api"),
        ("/backend_api/timeout", Some(json!(0)), 400, "APIG.2011", "backend_api.timeout"),
        ("/backend_api/timeout", Some(json!(300001)), 400, "APIG.2011", "backend_api.timeout"),
        ("/backend_api/timeout", Some(json!("soon")), 400, "APIG.2012", "backend_api.timeout"),
        ("/backend_api/url_domain", Some(json!("bad host!")), 400, "APIG.2024", "backend_api.url_domain"),
        ("/backend_api/url_domain", Some(json!("backend:70000")), 400, "APIG.2025", "backend_api.url_domain"),
        ("/backend_api/url_domain", Some(json!("#ab#:80")), 400, "APIG.2024", "backend_api.url_domain"),
        ("/backend_api/url_domain", None, 400, "APIG.2001", "backend_api.url_domain"),
        ("/backend_api/req_uri", Some(json!("/#ab#/x")), 400, "APIG.2011", "backend_api.req_uri"),
        ("/backend_api/req_uri", Some(json!("/v1/{missing}")), 400, "APIG.2027", "backend_api.req_uri"),
        ("/backend_api/req_protocol", Some(json!("BOTH")), 400, "APIG.2011", "backend_api.req_protocol"),
        ("/backend_api/vpc_status", Some(json!(1)), 400, "APIG.2001", "backend_api.vpc_info"),
        ("/backend_api/retry_count", Some(json!(11)), 400, "APIG.2011", "backend_api.retry_count"),
        ("/backend_params/0/value", Some(json!("nope")), 400, "APIG.2028", "backend_params[0].value"),
        ("/backend_params/0/origin", Some(json!("MAGIC")), 400, "APIG.2011", "backend_params[0].origin"),
        ("/backend_params/0", Some(json!({"name": "src", "location": "HEADER", "origin": "SYSTEM", "value": "$context.nothing"})), 400, "APIG.2011", "backend_params[0].value"),
        ("/backend_params/0", Some(json!({"name": "src", "location": "HEADER", "origin": "SYSTEM", "value": "$context.authorizer.frontend.user"})), 400, "APIG.2011", "backend_params[0].value"),
        ("/policy_https/0/name", Some(json!("c!")), 400, "APIG.2011", "policy_https[0].name"),
        ("/policy_https/0/effect_mode", None, 400, "APIG.2001", "policy_https[0].effect_mode"),
        ("/policy_https/0/conditions", Some(json!([])), 400, "APIG.2001", "policy_https[0].conditions"),
        ("/policy_https/0/conditions/0/req_param_name", Some(json!("ghost")), 400, "APIG.2028", "policy_https[0].conditions[0].req_param_name"),
        ("/policy_https/0/conditions/0/condition_type", None, 400, "APIG.2001", "policy_https[0].conditions[0].condition_type"),
        ("/policy_https/0/conditions/0", Some(json!({"condition_origin": "source", "condition_value": "10.0.0.999"})), 400, "APIG.2015", "policy_https[0].conditions[0].condition_value"),
        ("/policy_https/0/conditions/0", Some(json!({"condition_origin": "param", "req_param_name": "q", "condition_type": "pattern", "condition_value": "(unclosed"})), 400, "APIG.2011", "policy_https[0].conditions[0].condition_value"),
        ("/policy_https/0/conditions/0", Some(json!({"condition_origin": "system", "sys_param_name": "req_host", "condition_value": "x"})), 400, "APIG.2011", "policy_https[0].conditions[0].sys_param_name"),
        ("/policy_https/0/conditions/0", Some(json!({"condition_origin": "cookie", "condition_type": "exact", "condition_value": "x"})), 400, "APIG.2001", "policy_https[0].conditions[0].cookie_param_name"),
        ("/policy_https/0/req_uri", Some(json!("/v2/{other}")), 400, "APIG.2027", "policy_https[0].req_uri"),
        ("/policy_https/0/timeout", Some(json!(300001)), 400, "APIG.2011", "policy_https[0].timeout"),
        ("/group_id", Some(json!("0123456789abcdef0123456789abcdef")), 404, "APIG.3001", ""),
    ];
    for (pointer, value, status, code, field) in cases {
        let body = mutate(base.clone(), pointer, value.clone());
        let resp = server.post("/apis", &body).await;
        let field = if field.is_empty() { None } else { Some(field) };
        assert_error(&resp, status, code, field);
        eprintln!("ok: {pointer} = {value:?} -> {code}");
    }

    // Backend-specific objects are required by backend type.
    let mock = mutate(base.clone(), "/backend_type", Some(json!("MOCK")));
    assert_error(&server.post("/apis", &mock).await, 400, "APIG.2001", Some("mock_info"));
    let mock = mutate(mock, "/mock_info", Some(json!({"status_code": 299})));
    assert_error(&server.post("/apis", &mock).await, 400, "APIG.2011", Some("mock_info.status_code"));
    let mock = mutate(mock, "/mock_info", Some(json!({"header": [{"key": "-bad", "value": "v"}]})));
    assert_error(&server.post("/apis", &mock).await, 400, "APIG.2011", Some("mock_info.header"));
    let function = mutate(base.clone(), "/backend_type", Some(json!("FUNCTION")));
    assert_error(&server.post("/apis", &function).await, 400, "APIG.2001", Some("func_info"));
    let function = mutate(function, "/func_info", Some(json!({"function_urn": "urn:fss:local:causeway:function:default:f", "invocation_type": "later", "timeout": 100})));
    assert_error(&server.post("/apis", &function).await, 400, "APIG.2011", Some("func_info.invocation_type"));
    let authorizer = mutate(base.clone(), "/auth_type", Some(json!("AUTHORIZER")));
    assert_error(&server.post("/apis", &authorizer).await, 400, "APIG.2001", Some("authorizer_id"));

    // Malformed and oversize bodies.
    assert_error(&server.post_raw("/apis", b"{\"name\": ".to_vec()).await, 400, "APIG.2012", Some("body"));
    assert_error(&server.post_raw("/apis", b"[1,2]".to_vec()).await, 400, "APIG.2012", Some("body"));
    assert_error(&server.post_raw("/apis", vec![b' '; 5 << 20]).await, 400, "APIG.2006", Some("body"));
}

#[tokio::test]
async fn group_level_uniqueness_and_updates() {
    let server = Server::start().await;
    let g = server.group("uniq").await;
    let (status, first) = server.post("/apis", &base_api(&g)).await;
    assert_eq!(status, 201, "{first}");
    let id = first["id"].as_str().unwrap().to_string();

    // Same name in the group.
    let renamed_path = mutate(base_api(&g), "/req_uri", Some(json!("/other/{id}")));
    assert_error(&server.post("/apis", &renamed_path).await, 400, "APIG.3202", Some("name"));
    // Same method + path + match mode, whatever the parameter is called.
    let same_route = mutate(base_api(&g), "/name", Some(json!("orders_again")));
    let same_route = mutate(same_route, "/req_uri", Some(json!("/orders/{order}")));
    let same_route = mutate(same_route, "/req_params/0/name", Some(json!("order")));
    let same_route = mutate(same_route, "/backend_params/0/value", Some(json!("order")));
    assert_error(&server.post("/apis", &same_route).await, 400, "APIG.3301", None);
    // Another method, another match mode or another group is fine.
    let other_method = mutate(same_route.clone(), "/req_method", Some(json!("POST")));
    assert_eq!(server.post("/apis", &other_method).await.0, 201);
    let other_mode = mutate(mutate(same_route.clone(), "/match_mode", Some(json!("SWA"))), "/name", Some(json!("orders_swa")));
    assert_eq!(server.post("/apis", &other_mode).await.0, 201);
    let g2 = server.group("uniq_two").await;
    assert_eq!(server.post("/apis", &base_api(&g2)).await.0, 201);

    // Update keeps the ids of what remains and assigns new ones to what is new.
    let mut edit = mutate(first.clone(), "/remark", Some(json!("edited")));
    edit["req_params"].as_array_mut().unwrap().push(json!({"name": "lang", "type": "STRING", "location": "HEADER"}));
    let (status, updated) = server.put(&format!("/apis/{id}"), &edit).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["id"], first["id"]);
    assert_eq!(updated["remark"], "edited");
    assert_eq!(updated["register_time"], first["register_time"]);
    assert_ne!(updated["update_time"], first["update_time"]);
    assert_eq!(updated["req_params"][0]["id"], first["req_params"][0]["id"]);
    assert_eq!(updated["req_params"][1]["id"], first["req_params"][1]["id"]);
    assert!(is_id(&updated["req_params"][2]["id"]));
    assert_eq!(updated["backend_api"]["id"], first["backend_api"]["id"]);
    assert_eq!(updated["backend_params"][0]["id"], first["backend_params"][0]["id"]);
    assert_eq!(updated["policy_https"][0]["id"], first["policy_https"][0]["id"]);
    assert_eq!(updated["policy_https"][0]["conditions"][0]["id"], first["policy_https"][0]["conditions"][0]["id"]);
    // An update may not take another API's name, and is validated like a create.
    let clash = mutate(edit.clone(), "/name", Some(json!("orders_swa")));
    assert_error(&server.put(&format!("/apis/{id}"), &clash).await, 400, "APIG.3202", Some("name"));
    let bad = mutate(edit, "/backend_api/timeout", Some(json!(-5)));
    assert_error(&server.put(&format!("/apis/{id}"), &bad).await, 400, "APIG.2011", Some("backend_api.timeout"));
    assert_error(&server.put("/apis/0123456789abcdef0123456789abcdef", &first).await, 404, "APIG.3002", None);

    // Listing filters and paging.
    let (_, all) = server.get("/apis").await;
    assert_eq!(all["total"], 4);
    let (_, page) = server.get(&format!("/apis?group_id={g}&page_size=1&page_no=2")).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["size"], 1);
    let (_, by_name) = server.get("/apis?name=orders_s").await;
    assert_eq!(by_name["total"], 1);
    let (_, precise) = server.get("/apis?name=orders&precise_search=name").await;
    assert_eq!(precise["total"], 2, "one per group");
    let (_, post_only) = server.get("/apis?req_method=post").await;
    assert_eq!(post_only["total"], 1);
    assert_eq!(server.get("/apis?backend_type=MOCK").await.1["total"], 0);
    assert_error(&server.get("/apis?page_size=0").await, 400, "APIG.2011", Some("page_size"));
    assert_error(&server.get("/apis?page_no=x").await, 400, "APIG.2011", Some("page_no"));

    // A group with APIs cannot be deleted; an API can, then the group can.
    assert_error(&server.delete(&format!("/api-groups/{g2}")).await, 403, "APIG.3415", None);
    let (_, in_g2) = server.get(&format!("/apis?group_id={g2}")).await;
    let api_in_g2 = in_g2["apis"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(server.delete(&format!("/apis/{api_in_g2}")).await.0, 204);
    assert_error(&server.get(&format!("/apis/{api_in_g2}")).await, 404, "APIG.3002", None);
    assert_error(&server.delete(&format!("/apis/{api_in_g2}")).await, 404, "APIG.3002", None);
    assert_eq!(server.delete(&format!("/api-groups/{g2}")).await.0, 204);
    assert_error(&server.get(&format!("/api-groups/{g2}")).await, 404, "APIG.3001", None);
}

#[tokio::test]
async fn groups_environments_and_variables() {
    let server = Server::start().await;

    // The DEFAULT group and RELEASE environment exist from the start and stay.
    let (_, groups) = server.get("/api-groups").await;
    assert_eq!(groups["total"], 1);
    let default = &groups["groups"][0];
    assert_eq!(default["name"], "DEFAULT");
    assert_eq!(default["is_default"], 1);
    let default_id = default["id"].as_str().unwrap();
    assert_eq!(default["sl_domain"], format!("{default_id}.apigw.localhost"));
    assert_error(&server.delete(&format!("/api-groups/{default_id}")).await, 403, "APIG.1101", None);
    assert_error(&server.put(&format!("/api-groups/{default_id}"), &json!({"name": "renamed"})).await, 403, "APIG.1101", None);

    let (_, envs) = server.get("/envs").await;
    assert_eq!(envs["envs"][0]["id"], "DEFAULT_ENVIRONMENT_RELEASE_ID");
    assert_eq!(envs["envs"][0]["name"], "RELEASE");
    assert_error(&server.delete("/envs/DEFAULT_ENVIRONMENT_RELEASE_ID").await, 403, "APIG.1103", None);
    assert_error(&server.put("/envs/DEFAULT_ENVIRONMENT_RELEASE_ID", &json!({"name": "PROD"})).await, 403, "APIG.1103", None);

    // Groups.
    let (status, g) = server.post("/api-groups", &json!({"name": "shop", "remark": "storefront"})).await;
    assert_eq!(status, 201);
    let gid = g["id"].as_str().unwrap().to_string();
    assert_eq!(g["sl_domain"], format!("{gid}.apigw.localhost"));
    assert_eq!(g["is_default"], 2);
    assert_error(&server.post("/api-groups", &json!({"name": "shop"})).await, 400, "APIG.3201", Some("name"));
    assert_error(&server.post("/api-groups", &json!({"name": "s"})).await, 400, "APIG.2011", Some("name"));
    assert_error(&server.post("/api-groups", &json!({})).await, 400, "APIG.2001", Some("name"));
    let (status, g2) = server.put(&format!("/api-groups/{gid}"), &json!({"name": "shop_v2", "remark": "moved"})).await;
    assert_eq!(status, 200);
    assert_eq!(g2["name"], "shop_v2");
    assert_eq!(g2["register_time"], g["register_time"]);
    assert_eq!(server.get("/api-groups?name=shop&precise_search=name").await.1["total"], 0);
    assert_eq!(server.get("/api-groups?name=shop").await.1["total"], 1);

    // Environments: names unique ignoring case, RELEASE included.
    let (status, dev) = server.post("/envs", &json!({"name": "DEVELOP", "remark": "dev"})).await;
    assert_eq!(status, 201);
    assert!(is_id(&dev["id"]) && is_time(&dev["create_time"]));
    let dev_id = dev["id"].as_str().unwrap().to_string();
    assert_error(&server.post("/envs", &json!({"name": "develop"})).await, 400, "APIG.3205", Some("name"));
    assert_error(&server.post("/envs", &json!({"name": "release"})).await, 400, "APIG.3205", Some("name"));
    assert_error(&server.post("/envs", &json!({"name": "dev-1"})).await, 400, "APIG.2011", Some("name"));
    let (status, renamed) = server.put(&format!("/envs/{dev_id}"), &json!({"name": "DEV"})).await;
    assert_eq!((status, renamed["name"].clone()), (200, json!("DEV")));

    // Variables: per (group, environment), names case-sensitive.
    let var = json!({"group_id": gid, "env_id": dev_id, "variable_name": "address", "variable_value": "192.168.1.5:8080"});
    let (status, v) = server.post("/env-variables", &var).await;
    assert_eq!(status, 201, "{v}");
    let vid = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["variable_value"], "192.168.1.5:8080");
    assert_error(&server.post("/env-variables", &var).await, 400, "APIG.3303", Some("variable_name"));
    let upper = mutate(var.clone(), "/variable_name", Some(json!("ADDRESS")));
    assert_eq!(server.post("/env-variables", &upper).await.0, 201);
    let in_release = mutate(var.clone(), "/env_id", Some(json!("DEFAULT_ENVIRONMENT_RELEASE_ID")));
    assert_eq!(server.post("/env-variables", &in_release).await.0, 201);
    assert_error(&server.post("/env-variables", &mutate(var.clone(), "/variable_name", Some(json!("ab")))).await, 400, "APIG.2011", Some("variable_name"));
    assert_error(&server.post("/env-variables", &mutate(var.clone(), "/variable_value", Some(json!("a b")))).await, 400, "APIG.2011", Some("variable_value"));
    assert_error(&server.post("/env-variables", &mutate(var.clone(), "/group_id", Some(json!("nope")))).await, 404, "APIG.3001", None);
    assert_error(&server.post("/env-variables", &mutate(var.clone(), "/env_id", Some(json!("nope")))).await, 404, "APIG.3003", None);
    assert_eq!(server.get(&format!("/env-variables?group_id={gid}")).await.1["total"], 3);
    assert_eq!(server.get(&format!("/env-variables?group_id={gid}&env_id={dev_id}")).await.1["total"], 2);
    assert_eq!(server.get("/env-variables?variable_name=address&precise_search=variable_name").await.1["total"], 2);
    let (status, got) = server.get(&format!("/env-variables/{vid}")).await;
    assert_eq!((status, got), (200, v.clone()));
    let (status, changed) = server.put(&format!("/env-variables/{vid}"), &json!({"variable_value": "10.0.0.1"})).await;
    assert_eq!((status, changed["variable_value"].clone()), (200, json!("10.0.0.1")));
    assert_eq!(server.delete(&format!("/env-variables/{vid}")).await.0, 204);
    assert_error(&server.get(&format!("/env-variables/{vid}")).await, 404, "APIG.3011", None);

    // Deleting an environment removes its variables; deleting a group removes its own.
    assert_eq!(server.delete(&format!("/envs/{dev_id}")).await.0, 204);
    assert_error(&server.delete(&format!("/envs/{dev_id}")).await, 404, "APIG.3003", None);
    assert_eq!(server.get(&format!("/env-variables?group_id={gid}")).await.1["total"], 1);
    assert_eq!(server.delete(&format!("/api-groups/{gid}")).await.0, 204);
    assert_eq!(server.get("/env-variables").await.1["total"], 0);
}

#[tokio::test]
async fn authentication_and_unknown_routes() {
    let server = Server::start().await;
    let url = server.url("/api-groups");
    let res = server.http.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("x-request-id").is_some());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error_code"], "APIG.1002");
    let res = server.http.get(&url).header("X-Auth-Token", "wrong-token-wrong-token").send().await.unwrap();
    assert_eq!(res.status(), 401);

    let (status, body) = server.get("/no-such-thing").await;
    assert_eq!((status, body["error_code"].clone()), (404, json!("APIG.3000")));
    let (status, body) = server.call("PATCH", "/api-groups", None).await;
    assert_eq!((status, body["error_code"].clone()), (404, json!("APIG.3000")));
}

/// Everything written survives a restart, unchanged.
async fn survives_restart(mut server: Server) {
    let g = server.group("durable").await;
    let (_, env) = server.post("/envs", &json!({"name": "TEST"})).await;
    let var = json!({"group_id": g, "env_id": env["id"], "variable_name": "backend_host", "variable_value": "10.1.2.3"});
    assert_eq!(server.post("/env-variables", &var).await.0, 201);
    let (front, back) = roma_authorizers(&server).await;
    for body in [seed_002_example(&g), roma_http(&g, &front), roma_function_here(&g, &back), roma_mock(&g)] {
        assert_eq!(server.post("/apis", &body).await.0, 201);
    }
    let paths = ["/api-groups", "/envs", "/env-variables", "/apis", "/authorizers"];
    let mut before = Vec::new();
    for p in paths {
        before.push(server.get(p).await.1);
    }
    server.restart();
    for (p, b) in paths.iter().zip(&before) {
        assert_eq!(&server.get(p).await.1, b, "{p} changed across a restart");
    }
    // And the service still writes after the restart.
    assert_error(&server.post("/apis", &seed_002_example(&g)).await, 400, "APIG.3202", Some("name"));
    server.stop();
}

#[tokio::test]
async fn restart_keeps_everything_on_sqlite() {
    survives_restart(Server::start().await).await;
}

#[tokio::test]
async fn restart_keeps_everything_on_postgres() {
    let Some(backend) = Backend::postgres() else { return };
    survives_restart(Server::start_with(backend, &[]).await).await;
}

#[tokio::test]
async fn configured_quota_and_timeout_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("causeway.toml");
    std::fs::write(&config, "[limits]\napis_per_group = 2\nmax_backend_timeout_ms = 600000\n").unwrap();
    let server = Server::start_with(Backend::Sqlite, &["--config", config.to_str().unwrap()]).await;
    let g = server.group("quota").await;
    let slow = mutate(base_api(&g), "/backend_api/timeout", Some(json!(600000)));
    assert_eq!(server.post("/apis", &slow).await.0, 201, "ROMA-style ceiling is configurable");
    let second = mutate(mutate(base_api(&g), "/name", Some(json!("second"))), "/req_method", Some(json!("PUT")));
    assert_eq!(server.post("/apis", &second).await.0, 201);
    let third = mutate(mutate(base_api(&g), "/name", Some(json!("third"))), "/req_method", Some(json!("DELETE")));
    assert_error(&server.post("/apis", &third).await, 403, "APIG.3102", None);
    let too_slow = mutate(third, "/backend_api/timeout", Some(json!(600001)));
    assert_error(&server.post("/apis", &too_slow).await, 400, "APIG.2011", Some("backend_api.timeout"));
}

/// Listings are kept from the store's change feed between changes: every
/// kind of change shows in the next listing, on SQLite and on PostgreSQL,
/// also when another node made it.
async fn listings_follow_every_change(s: &Server, other: &Server) {
    let g = s.group("listed").await;
    let named = |name: &str, path: &str| {
        let mut v = base_api(&g);
        v["name"] = json!(name);
        v["req_uri"] = json!(format!("{path}/{{id}}"));
        v
    };
    let names = |list: &Value| list["apis"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    let list = || async { s.get(&format!("/apis?group_id={g}&page_size=100")).await.1 };
    let mut ids = Vec::new();
    for (name, path) in [("first", "/l/1"), ("second", "/l/2"), ("third", "/l/3")] {
        let (status, api) = s.post("/apis", &named(name, path)).await;
        assert_eq!(status, 201, "{api}");
        ids.push(api["id"].as_str().unwrap().to_string());
    }
    assert_eq!(names(&list().await), ["first", "second", "third"]);
    // Renamed in place, the order kept.
    let (status, _) = s.put(&format!("/apis/{}", ids[1]), &named("second_renamed", "/l/2")).await;
    assert_eq!(status, 200);
    assert_eq!(names(&list().await), ["first", "second_renamed", "third"]);
    // Deleted; a new one at the end.
    assert_eq!(s.delete(&format!("/apis/{}", ids[0])).await.0, 204);
    s.post("/apis", &named("fourth", "/l/4")).await;
    assert_eq!(names(&list().await), ["second_renamed", "third", "fourth"]);
    // Published: the listing says where.
    s.post(&format!("/apis/publish/{}", ids[2]), &json!({"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})).await;
    let l = list().await;
    let third = l["apis"].as_array().unwrap().iter().find(|a| a["name"] == "third").unwrap();
    assert_eq!(third["run_env_name"], "RELEASE", "{l}");
    // The group renamed: the listing names it.
    let (status, _) = s.put(&format!("/api-groups/{g}"), &json!({"name": "listed_renamed"})).await;
    assert_eq!(status, 200);
    assert!(list().await["apis"].as_array().unwrap().iter().all(|a| a["group_name"] == "listed_renamed"));
    // A change made through another node shows here too.
    let (status, _) = other.post("/apis", &named("from_elsewhere", "/l/5")).await;
    assert_eq!(status, 201);
    assert_eq!(names(&list().await), ["second_renamed", "third", "fourth", "from_elsewhere"]);
}

#[tokio::test]
async fn listings_follow_every_change_on_sqlite() {
    let s = Server::start().await;
    listings_follow_every_change(&s, &s).await;
}

#[tokio::test]
async fn listings_follow_every_change_on_postgres() {
    let Some(backend) = Backend::postgres() else { return };
    let s = Server::start_with(backend, &[]).await;
    let other = s.start_sharing(&[]).await;
    listings_follow_every_change(&s, &other).await;
}
