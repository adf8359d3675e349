//! FUNCTION backends end to end: functions created through the registry,
//! published as versions and aliases, called through published APIs.

mod common;

use common::echo::{self, Echo};
use common::{Called, Server};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn function_api(group: &str, name: &str, path: &str, urn: &str, extra: Value) -> Value {
    let mut func_info = json!({"function_urn": urn, "invocation_type": "sync", "timeout": 2000});
    if let Value::Object(m) = extra {
        for (k, v) in m {
            func_info[k] = v;
        }
    }
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "ANY", "req_uri": path,
      "auth_type": "NONE", "backend_type": "FUNCTION", "func_info": func_info,
      "req_params": if path.contains("{id}") { json!([{"name": "id", "type": "STRING", "location": "PATH", "required": 1}]) } else { json!([]) }
    })
}

async fn function(s: &Server, body: Value) -> Value {
    let (status, f) = s.post("/functions", &body).await;
    assert_eq!(status, 201, "{f}");
    f
}

async fn send(s: &Server, method: &str, host: &str, path: &str, body: &str) -> Called {
    let res = s
        .http
        .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", s.gateway))
        .header("Host", host)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("gateway request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    Called { status, headers, body: res.text().await.unwrap() }
}

const ECHO: &str = r#"
exports.handler = async (event, context) => {
  console.log('called', event.path);
  return {
    statusCode: 201,
    headers: {'Content-Type': 'application/json', 'X-Function': context.getFunctionName() + '@' + context.getVersion()},
    body: JSON.stringify({event, requestId: context.getRequestID(), greeting: context.getUserData('GREETING')}),
  };
};
"#;

#[tokio::test]
async fn functions_answer_through_published_apis() {
    let s = Server::start().await;
    let g = s.group("fn_group").await;
    let host = Server::group_host(&g);

    // Code that does not parse is refused with its line.
    let (status, e) = s.post("/functions", &json!({"name": "broken", "code": "exports.handler = () => {\n  return (;\n};"})).await;
    assert_eq!(status, 400, "{e}");
    assert!(e["error_msg"].as_str().unwrap().contains("line 2"), "{e}");

    let f = function(&s, json!({"name": "echo", "code": ECHO, "environment": {"GREETING": "hello"}})).await;
    let urn = f["urn"].as_str().unwrap().to_string();
    assert_eq!(urn, "urn:fss:local:causeway:function:default:echo");
    assert_eq!(f["version"], "latest");
    let mut echo_api = function_api(&g, "echo_api", "/users/{id}", &urn, json!({}));
    echo_api["backend_params"] = json!([
        {"name": "X-Tenant", "location": "HEADER", "origin": "CONSTANT", "value": "acme"},
        {"name": "uid", "location": "QUERY", "origin": "REQUEST", "value": "id"},
        {"name": "X-Api", "location": "HEADER", "origin": "SYSTEM", "value": "$context.apiId"}
    ]);
    let echo_id = s.create_and_publish(&echo_api, RELEASE).await;

    let c = s.eventually("POST", &host, "/users/42?q=1&q=2", &[], |c| c.status == 201).await;
    assert_eq!(c.headers["x-function"], "echo@latest");
    let out = c.json();
    let event = &out["event"];
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["path"], "/users/42");
    assert_eq!(event["pathParameters"], json!({"id": "42"}));
    // Backend parameters reach the function as they would an HTTP backend.
    assert_eq!(event["queryStringParameters"], json!({"q": "1,2", "uid": "42"}));
    assert_eq!(event["headers"]["x-tenant"], "acme");
    assert_eq!(event["headers"]["x-api"], echo_id.as_str());
    assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(event["headers"]["host"], host.as_str());
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["requestContext"]["stage"], "RELEASE");
    assert_eq!(event["requestContext"]["requestId"], out["requestId"]);
    assert_eq!(c.headers["x-request-id"].to_str().unwrap(), out["requestId"].as_str().unwrap());
    assert_eq!(out["greeting"], "hello");

    // The body reaches the function base64-encoded.
    let c = send(&s, "PUT", &host, "/users/7", r#"{"k":"v"}"#).await;
    assert_eq!(c.status, 201, "{}", c.body);
    let body = c.json()["event"]["body"].as_str().unwrap().to_string();
    assert_eq!(body, "eyJrIjoidiJ9");

    // Or as text, for a JSON API that turns the encoding off.
    let mut plain = function_api(&g, "plain_api", "/plain", &urn, json!({}));
    plain["is_send_fg_body_base64"] = json!(false);
    let (status, e) = s.post("/apis", &plain).await;
    assert_eq!((status, e["error_code"].as_str()), (400, Some("APIG.2011")), "only with content_type application/json: {e}");
    assert!(e["error_msg"].as_str().unwrap().contains("is_send_fg_body_base64"), "{e}");
    plain["content_type"] = json!("application/json");
    s.create_and_publish(&plain, RELEASE).await;
    let c = send(&s, "PUT", &host, "/plain", r#"{"k":"v"}"#).await;
    assert_eq!(c.status, 201, "{}", c.body);
    let event = &c.json()["event"];
    assert_eq!((event["body"].as_str(), event["isBase64Encoded"].as_bool()), (Some(r#"{"k":"v"}"#), Some(false)), "{event}");

    // Versions and aliases: prod keeps version 1 while the draft changes.
    let id = f["id"].as_str().unwrap();
    let (status, v1) = s.post(&format!("/functions/{id}/versions"), &json!({"description": "first"})).await;
    assert_eq!((status, v1["version"].as_str()), (201, Some("1")), "{v1}");
    let (status, alias) = s.post(&format!("/functions/{id}/aliases"), &json!({"name": "prod", "version": "1"})).await;
    assert_eq!(status, 201, "{alias}");
    let alias_urn = alias["alias_urn"].as_str().unwrap().to_string();
    let (status, _) = s.call("PUT", &format!("/functions/{id}"), Some(&json!({"code": "exports.handler = () => ({statusCode: 200, body: 'draft two'});"}))).await;
    assert_eq!(status, 200);
    s.create_and_publish(&function_api(&g, "prod_api", "/prod", &urn, json!({"alias_urn": alias_urn})), RELEASE).await;
    s.create_and_publish(&function_api(&g, "v1_api", "/v1", &urn, json!({"version": "1"})), RELEASE).await;
    let prod = s.eventually("GET", &host, "/prod", &[], |c| c.status == 201).await;
    assert_eq!(prod.headers["x-function"], "echo@1");
    assert_eq!(s.call_gateway("GET", &host, "/v1", &[]).await.headers["x-function"], "echo@1");
    let latest = s.eventually("GET", &host, "/users/1", &[], |c| c.body == "draft two").await;
    assert_eq!(latest.status, 200);

    // A referenced function, or alias, cannot be deleted.
    let (status, e) = s.call("DELETE", &format!("/functions/{id}"), None).await;
    assert_eq!((status, e["error_code"].as_str()), (403, Some("APIG.3461")), "{e}");
    let (status, e) = s.call("DELETE", &format!("/functions/{id}/aliases/prod"), None).await;
    assert_eq!((status, e["error_code"].as_str()), (403, Some("APIG.3461")), "{e}");
    let (status, _) = s.post(&format!("/functions/{id}/aliases"), &json!({"name": "spare", "version": "1"})).await;
    assert_eq!(status, 201);
    let (status, _) = s.call("DELETE", &format!("/functions/{id}/aliases/spare"), None).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn failing_functions_map_to_gateway_errors() {
    let s = Server::start().await;
    let g = s.group("fn_failures").await;
    let host = Server::group_host(&g);
    let cases = [
        ("looping", "exports.handler = () => { for (;;) {} };", json!({"timeout": 300}), 504, "APIG.0203"),
        ("throwing", "exports.handler = () => { throw new Error('secret detail'); };", json!({}), 500, "APIG.0201"),
        ("malformed", "exports.handler = () => 'just a string';", json!({}), 500, "APIG.0201"),
        ("bomb", "exports.handler = () => { const a = []; for (;;) a.push(new Array(1e5).fill(1)); };", json!({}), 500, "APIG.0201"),
    ];
    for (name, code, extra, _, _) in &cases {
        let f = function(&s, json!({"name": name, "code": code, "memory_size": 32})).await;
        s.create_and_publish(&function_api(&g, &format!("{name}_api"), &format!("/{name}"), f["urn"].as_str().unwrap(), extra.clone()), RELEASE).await;
    }
    // A URN that names no function is refused when the API is written (seed 004's 404 APIG.3019), not when it is called.
    let missing = "urn:fss:local:causeway:function:default:nothere";
    common::assert_error(&s.post("/apis", &function_api(&g, "missing_api", "/missing", missing, json!({}))).await, 404, "APIG.3019", Some("func_info.function_urn"));
    for (name, _, _, status, code) in cases {
        let started = std::time::Instant::now();
        let c = s.eventually("GET", &host, &format!("/{name}"), &[], |c| c.status != 404).await;
        assert_eq!(c.status, status, "{name}: {}", c.body);
        assert_eq!(c.json()["error_code"], code, "{name}");
        assert!(!c.body.contains("secret detail"), "exception details stay in the log");
        if name == "looping" {
            // Stopped by the API's timeout (300 ms), not left to run: a generous bound for loaded machines.
            assert!(started.elapsed() < std::time::Duration::from_secs(10), "stopped at the API's timeout, not after {:?}", started.elapsed());
        }
    }
    // The runtime is still healthy after all that.
    let ok = function(&s, json!({"name": "fine", "code": "exports.handler = () => ({statusCode: 200, body: 'ok'});"})).await;
    s.create_and_publish(&function_api(&g, "fine_api", "/fine", ok["urn"].as_str().unwrap(), json!({})), RELEASE).await;
    let c = s.eventually("GET", &host, "/fine", &[], |c| c.status == 200).await;
    assert_eq!(c.body, "ok");
}

/// The function checks the event it gets, field by field, and answers what differs.
const SCF_CHECK: &str = r#"
exports.main_handler = async (event, context) => {
  const want = {
    'httpMethod': 'POST', 'path': '/scf/9', 'body': '{"a":1}',
    'requestContext.path': '/scf/{id}', 'requestContext.httpMethod': 'POST', 'requestContext.stage': 'release',
    'pathParameters.id': '9', 'queryStringParameters.x': 'y', 'queryString.x': 'y', 'stageVariables.stage': 'release',
    'headers.content-type': 'application/json', 'headerParameters.Refer': '10.0.2.14', 'isBase64Encoded': false,
  };
  const got = (path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), event);
  const wrong = Object.keys(want).filter((k) => got(k) !== want[k]).map((k) => `${k}=${JSON.stringify(got(k))}`);
  if (!/^[0-9a-f]{32}$/.test(event.requestContext.requestId)) wrong.push('requestId');
  if (event.requestContext.serviceId.length !== 32) wrong.push('serviceId');
  return wrong.length ? {wrong} : 'all fields as expected';
};
"#;

#[tokio::test]
async fn scf_events_and_passthrough_answers() {
    let s = Server::start().await;
    let g = s.group("fn_scf").await;
    let host = Server::group_host(&g);
    let f = function(&s, json!({"name": "scf_check", "code": SCF_CHECK, "handler": "index.main_handler", "event_format": "scf", "response_mode": "passthrough"})).await;
    // Seed 001's event has a declared header parameter in `headerParameters` ("Refer").
    let mut api = function_api(&g, "scf_api", "/scf/{id}", f["urn"].as_str().unwrap(), json!({}));
    api["req_params"].as_array_mut().unwrap().push(json!({"name": "Refer", "type": "STRING", "location": "HEADER"}));
    s.create_and_publish(&api, RELEASE).await;
    let call = || async {
        let res = s.http.post(format!("{}/scf/9?x=y", s.gateway)).header("Host", &host).header("Content-Type", "application/json").header("Refer", "10.0.2.14")
            .body(r#"{"a":1}"#).send().await.expect("gateway request");
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        Called { status, headers, body: res.text().await.unwrap() }
    };
    let mut c = call().await;
    for _ in 0..50 {
        if c.status != 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        c = call().await;
    }
    assert_eq!((c.status, c.body.as_str()), (200, "all fields as expected"));
    assert_eq!(c.headers["content-type"], "text/plain; charset=utf-8");
}

#[tokio::test]
async fn test_invocations_through_the_management_api() {
    let s = Server::start().await;
    let f = function(&s, json!({"name": "tried", "code": "exports.handler = (event) => { console.warn('got', event.n); if (event.n < 0) throw new Error('negative'); return {double: event.n * 2}; };"})).await;
    let id = f["id"].as_str().unwrap();
    let (status, out) = s.post(&format!("/functions/{id}/invocations"), &json!({"n": 21})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!((out["status"].as_str(), &out["result"]), (Some("success"), &json!({"double": 42})));
    assert_eq!(out["logs"], json!([{"level": "warn", "message": "got 21"}]));
    assert_eq!(out["request_id"].as_str().map(str::len), Some(32));
    let (_, failed) = s.post(&format!("/functions/{id}/invocations"), &json!({"n": -1})).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("negative"), "{failed}");
    // A version or an alias by `qualifier`; unknown ones are 404.
    s.post(&format!("/functions/{id}/versions"), &json!({})).await;
    let (status, v1) = s.post(&format!("/functions/{id}/invocations?qualifier=1"), &json!({"n": 1})).await;
    assert_eq!((status, &v1["result"]), (200, &json!({"double": 2})));
    let (status, e) = s.post(&format!("/functions/{id}/invocations?qualifier=9"), &json!({})).await;
    assert_eq!((status, e["error_code"].as_str()), (404, Some("APIG.3019")), "{e}");
    let (status, e) = s.post(&format!("/functions/{id}/invocations?qualifier=nosuch"), &json!({})).await;
    assert_eq!((status, e["error_code"].as_str()), (404, Some("APIG.3019")), "{e}");
}

#[tokio::test]
async fn http_runtime_functions_get_the_event_by_post() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("fn_remote").await;
    let host = Server::group_host(&g);
    let url = format!("http://{}/function/invoke", echo.addr);
    let remote = function(&s, json!({"name": "remote", "runtime": "http", "url": url, "response_mode": "passthrough"})).await;
    s.create_and_publish(&function_api(&g, "remote_api", "/remote/{id}", remote["urn"].as_str().unwrap(), json!({})), RELEASE).await;
    // An integration-mode function whose platform answers something else.
    let strict = function(&s, json!({"name": "strict", "runtime": "http", "url": url})).await;
    s.create_and_publish(&function_api(&g, "strict_api", "/strict", strict["urn"].as_str().unwrap(), json!({})), RELEASE).await;
    let gone = function(&s, json!({"name": "gone", "runtime": "http", "url": "http://127.0.0.1:9/nothing"})).await;
    s.create_and_publish(&function_api(&g, "gone_api", "/gone", gone["urn"].as_str().unwrap(), json!({})), RELEASE).await;

    let mut c = send(&s, "PUT", &host, "/remote/5?k=v", "payload").await;
    for _ in 0..50 {
        if c.status != 404 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        c = send(&s, "PUT", &host, "/remote/5?k=v", "payload").await;
    }
    assert_eq!(c.status, 200, "{}", c.body);
    let seen = c.json();
    assert_eq!((seen["method"].as_str(), seen["path"].as_str()), (Some("POST"), Some("/function/invoke")));
    assert_eq!(echo::header(&seen, "content-type"), Some("application/json"));
    assert_eq!(echo::header(&seen, "x-request-id").map(str::len), Some(32));
    let event: Value = serde_json::from_str(seen["body"].as_str().unwrap()).unwrap();
    assert_eq!(event["httpMethod"], "PUT");
    assert_eq!(event["path"], "/remote/5");
    assert_eq!(event["pathParameters"], json!({"id": "5"}));
    assert_eq!(event["queryStringParameters"], json!({"k": "v"}));
    assert_eq!(event["body"], "cGF5bG9hZA==");

    let c = s.call_gateway("GET", &host, "/strict", &[]).await;
    assert_eq!((c.status, c.json()["error_code"].as_str()), (500, Some("APIG.0201")), "{}", c.body);
    let c = s.call_gateway("GET", &host, "/gone", &[]).await;
    assert_eq!(c.status, 502, "{}", c.body);
}

/// Polls an asynchronous invocation until `done` holds (15 s at most).
async fn invocation(s: &Server, request_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, inv) = s.call("GET", &format!("/function-invocations/{request_id}"), None).await;
        assert_eq!(status, 200, "{inv}");
        if done(&inv) {
            return inv;
        }
        assert!(std::time::Instant::now() < deadline, "invocation not done in time: {inv}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn asynchronous_invocations_are_stored_retried_and_survive_a_restart() {
    let mut s = Server::start().await;
    let g = s.group("fn_async").await;
    let host = Server::group_host(&g);
    let ok = function(&s, json!({"name": "later", "code": "exports.handler = async (event) => ({seen: event.path});"})).await;
    let bad = function(&s, json!({"name": "always_fails", "code": "exports.handler = () => { throw new Error('no luck'); };"})).await;
    let slow = function(&s, json!({"name": "slow", "timeout": 3000,
        "code": "exports.handler = (e) => { const t = Date.now(); while (Date.now() - t < 400) {} return 'done ' + e.path; };"})).await;
    for (name, f) in [("later", &ok), ("fails", &bad), ("slow", &slow)] {
        let api = function_api(&g, &format!("{name}_async"), &format!("/{name}"), f["urn"].as_str().unwrap(), json!({"invocation_type": "async"}));
        s.create_and_publish(&api, RELEASE).await;
    }

    // Answered at once with the request id; the result is kept.
    let c = s.eventually("POST", &host, "/later", &[], |c| c.status != 404).await;
    assert_eq!(c.status, 202, "{}", c.body);
    let id = c.json()["request_id"].as_str().unwrap().to_string();
    assert_eq!(c.header("x-request-id"), id);
    let done = invocation(&s, &id, |i| i["status"] == "succeeded").await;
    assert_eq!((done["result"].clone(), done["attempts"].clone()), (json!({"seen": "/later"}), json!(1)));

    // A failing function is tried 1 + 2 times, then marked failed with the reason.
    let c = s.call_gateway("POST", &host, "/fails", &[]).await;
    assert_eq!(c.status, 202);
    let failed = invocation(&s, c.json()["request_id"].as_str().unwrap(), |i| i["status"] == "failed").await;
    assert_eq!(failed["attempts"], 3);
    assert!(failed["error"].as_str().unwrap().contains("no luck"), "{failed}");

    // The number of retries is the function's setting.
    let id = bad["id"].as_str().unwrap();
    let (status, changed) = s.call("PUT", &format!("/functions/{id}"), Some(&json!({"max_async_retry_attempts": 0}))).await;
    assert_eq!((status, changed["max_async_retry_attempts"].as_u64()), (200, Some(0)), "{changed}");
    let (status, e) = s.call("PUT", &format!("/functions/{id}"), Some(&json!({"max_async_retry_attempts": 9}))).await;
    assert_eq!((status, e["error_code"].as_str()), (400, Some("APIG.2011")), "{e}");
    let once = s.call_gateway("POST", &host, "/fails", &[]).await;
    assert_eq!(once.status, 202);
    let failed = invocation(&s, once.json()["request_id"].as_str().unwrap(), |i| i["status"] == "failed").await;
    assert_eq!(failed["attempts"], 1, "{failed}");

    // Queued, then the gateway restarts: each one still runs, and once it succeeded never again.
    let mut ids = Vec::new();
    for _ in 0..4 {
        let c = s.call_gateway("POST", &host, "/slow", &[]).await;
        assert_eq!(c.status, 202, "{}", c.body);
        ids.push(c.json()["request_id"].as_str().unwrap().to_string());
    }
    s.restart();
    let mut finished = Vec::new();
    for id in &ids {
        let inv = invocation(&s, id, |i| i["status"] == "succeeded").await;
        assert_eq!(inv["result"], "done /slow");
        assert!(inv["attempts"].as_u64().unwrap() <= 2, "{inv}");
        finished.push(inv);
    }
    // One more, queued after them: once it has run, the queue has passed every earlier one.
    let marker = s.call_gateway("POST", &host, "/slow", &[]).await;
    assert_eq!(marker.status, 202, "{}", marker.body);
    invocation(&s, marker.json()["request_id"].as_str().unwrap(), |i| i["status"] == "succeeded").await;
    for (id, before) in ids.iter().zip(&finished) {
        let (_, after) = s.call("GET", &format!("/function-invocations/{id}"), None).await;
        assert_eq!(after, *before, "a succeeded invocation is not run again");
    }
    let (status, listed) = s.call("GET", "/function-invocations?status=succeeded", None).await;
    assert_eq!((status, listed["total"].as_u64()), (200, Some(6)), "{listed}");
}

#[tokio::test]
async fn finished_invocations_are_deleted_after_the_retention() {
    let s = Server::start_with(common::Backend::Sqlite, &["--invocation-retention", "2"]).await;
    let g = s.group("fn_retention").await;
    let host = Server::group_host(&g);
    let f = function(&s, json!({"name": "brief", "code": "exports.handler = async () => 'ok';"})).await;
    s.create_and_publish(&function_api(&g, "brief_async", "/brief", f["urn"].as_str().unwrap(), json!({"invocation_type": "async"})), RELEASE).await;
    let c = s.eventually("POST", &host, "/brief", &[], |c| c.status == 202).await;
    let id = c.json()["request_id"].as_str().unwrap().to_string();
    invocation(&s, &id, |i| i["status"] == "succeeded").await;
    // Kept for the retention (2 s here), then gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (status, inv) = s.call("GET", &format!("/function-invocations/{id}"), None).await;
        if status == 404 {
            break;
        }
        assert_eq!(status, 200, "{inv}");
        assert!(std::time::Instant::now() < deadline, "still kept: {inv}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
