//! APP authentication on the data plane, end to end: apps and authorizations
//! made through the management API, requests signed as the vendors' SDKs sign
//! them, a real echo backend seeing the calling app.

mod common;

use causeway_sign::sdk::{self, Key};
use causeway_sign::tencent;
use common::echo::{self, Echo};
use common::{Backend, Called, Server};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn app_api(group: &str, name: &str, method: &str, path: &str, echo: &Echo, app_code: &str) -> Value {
    let params = if path.contains("{id}") { json!([{"name": "id", "type": "STRING", "location": "PATH", "required": 1}]) } else { json!([]) };
    json!({
      "req_params": params,
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": method, "req_uri": path,
      "auth_type": "APP", "auth_opt": {"app_code_auth_type": app_code},
      "backend_type": "HTTP",
      "backend_api": {"url_domain": echo.addr.to_string(), "req_protocol": "HTTP", "req_method": method, "req_uri": "/seen", "timeout": 5000},
      "backend_params": [
        {"name": "X-App-Id", "location": "HEADER", "origin": "SYSTEM", "value": "$context.appId"},
        {"name": "X-App-Name", "location": "HEADER", "origin": "SYSTEM", "value": "$context.appName"}
      ]
    })
}

struct App {
    id: String,
    key: String,
    secret: String,
}

async fn app(s: &Server, name: &str) -> App {
    let (status, a) = s.post("/apps", &json!({"name": name})).await;
    assert_eq!(status, 201, "{a}");
    App { id: a["id"].as_str().unwrap().into(), key: a["app_key"].as_str().unwrap().into(), secret: a["app_secret"].as_str().unwrap().into() }
}

async fn authorize(s: &Server, api: &str, app: &App) -> String {
    let (status, out) = s.post("/app-auths", &json!({"api_ids": [api], "app_ids": [app.id], "env_id": RELEASE})).await;
    assert_eq!(status, 201, "{out}");
    out[0]["id"].as_str().unwrap().to_string()
}

/// Sends a request signed with SDK-HMAC-SHA256 at time `at`, as the SDKs do
/// (the arguments are the parts of the request, in the order a caller writes them).
#[allow(clippy::too_many_arguments)]
async fn signed(s: &Server, key: Key<'_>, method: &str, host: &str, path: &str, query: &str, body: &[u8], extra: &[(&str, &str)], at: i64) -> Called {
    let mut headers: Vec<(String, String)> = vec![("host".into(), host.into())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let hash = sdk::payload_hash(&headers, body).into_owned();
    let sig = sdk::sign(key, method, path, query, &headers, &hash, at);
    let url = if query.is_empty() { format!("{}{path}", s.gateway) } else { format!("{}{path}?{query}", s.gateway) };
    let mut req = s.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).body(body.to_vec());
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    req = req.header("X-Sdk-Date", sig.date).header("Authorization", sig.authorization).header("User-Agent", "added-after-signing");
    let res = req.send().await.expect("gateway request");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    Called { status, headers, body: res.text().await.unwrap() }
}

fn auth_error(c: &Called, status: u16, code: &str, contains: &str) {
    assert_eq!(c.status, status, "{}", c.body);
    let body = c.json();
    assert_eq!(body["error_code"], code, "{body}");
    assert!(body["error_msg"].as_str().unwrap_or_default().contains(contains), "{contains:?} not in {body}");
    assert_eq!(body["request_id"].as_str().map(str::len), Some(32), "{body}");
}

#[tokio::test]
async fn signed_calls_from_authorized_apps_reach_the_backend() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("signed").await;
    let host = Server::group_host(&g);
    let orders = s.create_and_publish(&app_api(&g, "orders", "POST", "/v1/orders/{id}", &echo, "DISABLE"), RELEASE).await;
    let caller = app(&s, "caller").await;
    let stranger = app(&s, "stranger").await;
    authorize(&s, &orders, &caller).await;
    let key = Key { access: &caller.key, secret: &caller.secret };
    let t = now();

    // A signed POST with a JSON body, an encoded path and a query.
    let body = br#"{"item":"book","qty":2}"#;
    let ok = signed(&s, key, "POST", &host, "/v1/orders/a%20b", "z=1&a=2&a=1", body, &[("Content-Type", "application/json"), ("X-Stage", "RELEASE")], t).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let seen = ok.json();
    assert_eq!(seen["body"], String::from_utf8_lossy(body).as_ref(), "{seen}");
    assert_eq!(echo::header(&seen, "x-app-id"), Some(caller.id.as_str()), "{seen}");
    assert_eq!(echo::header(&seen, "x-app-name"), Some("caller"));

    // The body is covered by the signature.
    let headers = vec![("host".to_string(), host.clone())];
    let sig = sdk::sign(key, "POST", "/v1/orders/1", "", &headers, &sdk::sha256_hex(b"signed body"), t);
    let res = s
        .http
        .post(format!("{}/v1/orders/1", s.gateway))
        .header("Host", &host)
        .header("X-Sdk-Date", &sig.date)
        .header("Authorization", &sig.authorization)
        .body("another body")
        .send()
        .await
        .unwrap();
    let tampered = Called { status: res.status().as_u16(), headers: res.headers().clone(), body: res.text().await.unwrap() };
    auth_error(&tampered, 401, "APIG.0303", "verify signature fail, canonicalRequest:POST|/v1/orders/1/||host:");
    assert!(tampered.json()["error_msg"].as_str().unwrap().matches('|').count() >= 6);

    // UNSIGNED-PAYLOAD: the body is not covered, and is passed on untouched.
    let unsigned = signed(&s, key, "POST", &host, "/v1/orders/9", "", b"streamed as is", &[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")], t).await;
    assert_eq!(unsigned.status, 200, "{}", unsigned.body);
    assert_eq!(unsigned.json()["body"], "streamed as is");

    // Clock skew: 15 minutes either way is fine, more is not.
    assert_eq!(signed(&s, key, "POST", &host, "/v1/orders/1", "", b"", &[], t - 14 * 60).await.status, 200);
    let expired = signed(&s, key, "POST", &host, "/v1/orders/1", "", b"", &[], t - 16 * 60).await;
    auth_error(&expired, 401, "APIG.0303", "signature expired");

    // Unknown key, wrong secret, no credentials at all, an unauthorized app.
    let unknown = signed(&s, Key { access: "no-such-key", secret: "x" }, "POST", &host, "/v1/orders/1", "", b"", &[], t).await;
    auth_error(&unknown, 401, "APIG.0303", "app not found, appkey no-such-key");
    let wrong = signed(&s, Key { access: &caller.key, secret: "not-the-secret" }, "POST", &host, "/v1/orders/1", "", b"", &[], t).await;
    auth_error(&wrong, 401, "APIG.0303", "verify signature fail");
    let none = s.call_gateway("POST", &host, "/v1/orders/1", &[]).await;
    auth_error(&none, 401, "APIG.0303", "no Authorization");
    let other = signed(&s, Key { access: &stranger.key, secret: &stranger.secret }, "POST", &host, "/v1/orders/1", "", b"", &[], t).await;
    auth_error(&other, 401, "APIG.0304", "not authorized");

    // Authorization changes apply at once: granted, then revoked.
    let grant = authorize(&s, &orders, &stranger).await;
    assert_eq!(signed(&s, Key { access: &stranger.key, secret: &stranger.secret }, "POST", &host, "/v1/orders/1", "", b"", &[], t).await.status, 200);
    assert_eq!(s.delete(&format!("/app-auths/{grant}")).await.0, 204);
    let revoked = signed(&s, Key { access: &stranger.key, secret: &stranger.secret }, "POST", &host, "/v1/orders/1", "", b"", &[], t).await;
    auth_error(&revoked, 401, "APIG.0304", "not authorized");

    // A reset secret invalidates signatures made with the old one.
    let (status, _) = s.put(&format!("/apps/secret/{}", caller.id), &json!({"app_secret": "Brand_new_secret1"})).await;
    assert_eq!(status, 200);
    let old = signed(&s, key, "POST", &host, "/v1/orders/1", "", b"", &[], t).await;
    auth_error(&old, 401, "APIG.0303", "verify signature fail");
    let new = signed(&s, Key { access: &caller.key, secret: "Brand_new_secret1" }, "POST", &host, "/v1/orders/1", "", b"", &[], t).await;
    assert_eq!(new.status, 200, "{}", new.body);
}

#[tokio::test]
async fn tencent_key_pair_signatures() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("keypair").await;
    let host = Server::group_host(&g);
    let api = s.create_and_publish(&app_api(&g, "key_pair", "GET", "/kp", &echo, "DISABLE"), RELEASE).await;
    let caller = app(&s, "kp_caller").await;
    authorize(&s, &api, &caller).await;

    let date = httpdate(now());
    let headers = [("x-date", date.as_str()), ("source", "tests")];
    let value = tencent::authorization_header(&caller.key, &caller.secret, &["x-date", "source"], &headers[..]);
    let ok = s.call_gateway("GET", &host, "/kp", &[("X-Date", &date), ("Source", "tests"), ("Authorization", &value)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(echo::header(&ok.json(), "x-app-id"), Some(caller.id.as_str()));

    let changed = s.call_gateway("GET", &host, "/kp", &[("X-Date", &date), ("Source", "other"), ("Authorization", &value)]).await;
    auth_error(&changed, 401, "APIG.0303", "verify signature fail");
    let old_date = httpdate(now() - 20 * 60);
    let old_headers = [("x-date", old_date.as_str()), ("source", "tests")];
    let old = tencent::authorization_header(&caller.key, &caller.secret, &["x-date", "source"], &old_headers[..]);
    let expired = s.call_gateway("GET", &host, "/kp", &[("X-Date", &old_date), ("Source", "tests"), ("Authorization", &old)]).await;
    auth_error(&expired, 401, "APIG.0303", "signature expired");

    // Signatures that omit the date, or name one they do not send, never pass.
    let undated = tencent::authorization_header(&caller.key, &caller.secret, &["source"], &[("source", "tests")][..]);
    let refused = s.call_gateway("GET", &host, "/kp", &[("Source", "tests"), ("Authorization", &undated)]).await;
    auth_error(&refused, 401, "APIG.0303", "sign X-Date or Date");
    let unsigned_date = s.call_gateway("GET", &host, "/kp", &[("X-Date", &date), ("Source", "tests"), ("Authorization", &undated)]).await;
    auth_error(&unsigned_date, 401, "APIG.0303", "X-Date must be signed");
    let absent = tencent::authorization_header(&caller.key, &caller.secret, &["date", "source"], &[("source", "tests")][..]);
    let no_date_sent = s.call_gateway("GET", &host, "/kp", &[("Source", "tests"), ("Authorization", &absent)]).await;
    auth_error(&no_date_sent, 401, "APIG.0303", "the signed header date is missing");
    // A signed Date header (not checked against the clock, as Tencent does) passes.
    let dated = tencent::authorization_header(&caller.key, &caller.secret, &["date", "source"], &[("date", date.as_str()), ("source", "tests")][..]);
    let with_date = s.call_gateway("GET", &host, "/kp", &[("Date", &date), ("Source", "tests"), ("Authorization", &dated)]).await;
    assert_eq!(with_date.status, 200, "{}", with_date.body);
}

#[tokio::test]
async fn app_codes_when_enabled_for_the_api() {
    let echo = Echo::start().await;
    // AppCodes travel in clear text: plain HTTP accepts them only when the operator says so.
    for over_http in [true, false] {
        let args: &[&str] = if over_http { &["--allow-app-code-over-http"] } else { &[] };
        let s = Server::start_with(Backend::Sqlite, args).await;
        let g = s.group("codes").await;
        let host = Server::group_host(&g);
        let with_codes = s.create_and_publish(&app_api(&g, "with_codes", "GET", "/coded", &echo, "HEADER"), RELEASE).await;
        let without = s.create_and_publish(&app_api(&g, "without", "GET", "/plain", &echo, "DISABLE"), RELEASE).await;
        let caller = app(&s, "code_caller").await;
        authorize(&s, &with_codes, &caller).await;
        authorize(&s, &without, &caller).await;
        let (status, code) = s.call("PUT", &format!("/apps/{}/app-codes", caller.id), None).await;
        assert_eq!(status, 201);
        let code = code["app_code"].as_str().unwrap().to_string();

        let called = s.call_gateway("GET", &host, "/coded", &[("X-Apig-AppCode", &code)]).await;
        if over_http {
            assert_eq!(called.status, 200, "{}", called.body);
            assert_eq!(echo::header(&called.json(), "x-app-id"), Some(caller.id.as_str()));
            let wrong = s.call_gateway("GET", &host, "/coded", &[("X-Apig-AppCode", &"A".repeat(64))]).await;
            auth_error(&wrong, 401, "APIG.0303", "AppCode not found");
            let disabled = s.call_gateway("GET", &host, "/plain", &[("X-Apig-AppCode", &code)]).await;
            auth_error(&disabled, 401, "APIG.0303", "not enabled");
            // Signatures keep working on an API with AppCodes.
            let sig = signed(&s, Key { access: &caller.key, secret: &caller.secret }, "GET", &host, "/coded", "", b"", &[], now()).await;
            assert_eq!(sig.status, 200, "{}", sig.body);
        } else {
            auth_error(&called, 401, "APIG.0303", "requires HTTPS");
        }
    }
}

#[tokio::test]
async fn backend_policies_by_calling_app() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("per_app").await;
    let host = Server::group_host(&g);
    let mut api = app_api(&g, "tiered", "GET", "/tiered", &echo, "DISABLE");
    api["policy_https"] = json!([
        {"name": "gold_by_name", "effect_mode": "ANY", "url_domain": echo.addr.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/gold",
         "conditions": [{"condition_origin": "system", "sys_param_name": "app_name", "condition_type": "enum", "condition_value": "gold,platinum"}]}
    ]);
    let (status, body) = s.post("/apis", &json!({"name": "bad_sys", "group_id": g, "type": 1, "req_method": "GET", "req_uri": "/bad", "auth_type": "NONE",
        "backend_type": "MOCK", "mock_info": {"result_content": "m"},
        "policy_mocks": [{"name": "pol", "effect_mode": "ANY", "result_content": "p",
            "conditions": [{"condition_origin": "system", "sys_param_name": "app_secret", "condition_value": "x"}]}]})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("sys_param_name"), "{body}");
    let tiered = s.create_and_publish(&api, RELEASE).await;
    let gold = app(&s, "gold").await;
    let basic = app(&s, "basic").await;
    authorize(&s, &tiered, &gold).await;
    authorize(&s, &tiered, &basic).await;
    let t = now();
    let as_gold = signed(&s, Key { access: &gold.key, secret: &gold.secret }, "GET", &host, "/tiered", "", b"", &[], t).await;
    assert_eq!(as_gold.status, 200, "{}", as_gold.body);
    assert_eq!(as_gold.json()["path"], "/gold", "the app's policy");
    let as_basic = signed(&s, Key { access: &basic.key, secret: &basic.secret }, "GET", &host, "/tiered", "", b"", &[], t).await;
    assert_eq!(as_basic.status, 200, "{}", as_basic.body);
    assert_eq!(as_basic.json()["path"], "/seen", "the default backend");
    assert_eq!(echo::header(&as_basic.json(), "x-app-name"), Some("basic"));
}

/// RFC 1123 date, as Tencent's `X-Date` carries it.
fn httpdate(unix: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let sdk = causeway_sign::format_sdk_date(unix); // YYYYMMDDTHHMMSSZ
    let month: usize = sdk[4..6].parse().unwrap();
    format!("{}, {} {} {} {}:{}:{} GMT", DAYS[(unix / 86400 % 7) as usize], &sdk[6..8], MONTHS[month - 1], &sdk[0..4], &sdk[9..11], &sdk[11..13], &sdk[13..15])
}

#[tokio::test]
async fn the_cli_signs_and_calls() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("cli").await;
    let host = Server::group_host(&g);
    let api = s.create_and_publish(&app_api(&g, "cli_api", "POST", "/v1/orders/{id}", &echo, "DISABLE"), RELEASE).await;
    let caller = app(&s, "cli_caller").await;
    authorize(&s, &api, &caller).await;
    let url = format!("{}/v1/orders/7?b=2&a=1", s.gateway);
    let run = |cmd: &'static str, secret: String| {
        let (url, host, key) = (url.clone(), host.clone(), caller.key.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(Server::binary())
                .args([cmd, "-X", "POST", "--host", &host, "-H", "Content-Type: application/json", "-d", r#"{"n":1}"#, &url])
                .env("CAUSEWAY_APP_KEY", key)
                .env("CAUSEWAY_APP_SECRET", secret)
                .output()
                .expect("run causeway")
        })
    };

    let out = run("call", caller.secret.clone()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).expect("the backend's JSON on stdout");
    assert_eq!(seen["body"], r#"{"n":1}"#);
    assert_eq!(seen["query"], "b=2&a=1");
    assert_eq!(echo::header(&seen, "x-app-id"), Some(caller.id.as_str()));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("HTTP/1.1 200 OK"));

    // A wrong secret: the gateway's answer is printed and the exit status says it failed.
    let out = run("call", "wrong-secret".into()).await.unwrap();
    assert!(!out.status.success());
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["error_code"], "APIG.0303");

    // `sign` prints the headers; sending them by hand works.
    let out = run("sign", caller.secret.clone()).await.unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut req = s.http.post(&url).body(r#"{"n":1}"#);
    for line in text.lines() {
        let (k, v) = line.split_once(": ").expect("Name: value lines");
        req = req.header(k, v);
    }
    assert!(text.contains("Authorization: SDK-HMAC-SHA256 Access="), "{text}");
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 200);

    // The other modes: a Tencent key-pair signature, an AppCode (refused: not enabled for this API).
    let (status, code) = s.call("PUT", &format!("/apps/{}/app-codes", caller.id), None).await;
    assert_eq!(status, 201);
    let code = code["app_code"].as_str().unwrap().to_string();
    for (mode, expect) in [("key-pair", 200), ("app-code", 401)] {
        let (url, host, key, secret, code) = (url.clone(), host.clone(), caller.key.clone(), caller.secret.clone(), code.clone());
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(Server::binary())
                .args(["call", "--auth", mode, "-X", "POST", "--host", &host, "-d", "{}", &url])
                .env("CAUSEWAY_APP_KEY", key)
                .env("CAUSEWAY_APP_SECRET", secret)
                .env("CAUSEWAY_APP_CODE", code)
                .output()
                .expect("run causeway")
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("HTTP/1.1 {expect}")), "{mode}: {stderr}");
        if expect == 200 {
            let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(echo::header(&seen, "x-app-id"), Some(caller.id.as_str()));
            assert_eq!(echo::header(&seen, "source"), Some("causeway-cli"));
        }
    }

    // Over HTTPS (AppCodes need it): -k accepts the gateway's self-signed default certificate; without it the call fails.
    let mut coded = app_api(&g, "cli_coded", "POST", "/coded", &echo, "HEADER");
    coded["req_protocol"] = json!("HTTPS");
    let coded = s.create_and_publish(&coded, RELEASE).await;
    authorize(&s, &coded, &caller).await;
    let tls_url = format!("https://{}/coded", s.gateway_tls);
    for insecure in [true, false] {
        let (tls_url, host, code) = (tls_url.clone(), host.clone(), code.clone());
        let out = tokio::task::spawn_blocking(move || {
            let mut args = vec!["call", "--auth", "app-code", "-X", "POST", "--host", &host, "-d", "{}"];
            if insecure {
                args.push("-k");
            }
            args.push(&tls_url);
            std::process::Command::new(Server::binary()).args(&args).env("CAUSEWAY_APP_CODE", code).output().expect("run causeway")
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if insecure {
            assert!(stderr.starts_with("HTTP/1.1 200"), "{stderr}");
            let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(echo::header(&seen, "x-app-id"), Some(caller.id.as_str()));
        } else {
            assert!(!out.status.success() && stderr.contains("TLS handshake failed"), "{stderr}");
        }
    }
}

fn open_api(group: &str, name: &str, path: &str, echo: &Echo) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "POST", "req_uri": path,
      "auth_type": "NONE", "backend_type": "HTTP",
      "backend_api": {"url_domain": echo.addr.to_string(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/backend", "timeout": 5000}
    })
}

/// Runs the Python verifier of docs/auth/backend-signatures.md, as the docs
/// print it, over what backends saw (`cases[i].seen`, the echo's JSON) and
/// returns its verdicts.
async fn documented_python_verifier(python: &str, cases: &[Value]) -> Vec<bool> {
    let doc = std::fs::read_to_string(format!("{}/../../docs/auth/backend-signatures.md", env!("CARGO_MANIFEST_DIR"))).expect("the doc");
    let verifier = doc.split("```python\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a Python block in the doc");
    let driver = r#"
import json, sys

class Headers(dict):
    """Header names in any case, as a web framework gives them."""
    def __getitem__(self, k): return dict.__getitem__(self, k.lower())
    def get(self, k, d=None): return dict.get(self, k.lower(), d)

out = []
for case in json.load(sys.stdin):
    seen = case["seen"]
    headers = Headers({k.lower(): v[0] for k, v in seen["headers"].items()})
    out.append(verified(seen["method"], seen["path"], seen["query"], headers, seen["body"].encode(), case["key"], case["secret"]))
print(json.dumps(out))
"#;
    let script = format!("{verifier}\n{driver}");
    let (python, input) = (python.to_string(), serde_json::to_vec(cases).unwrap());
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new(python)
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("python");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("verdicts")
}

/// Backend signature keys: bound publications' backend requests carry a
/// signature the backend verifies with the key, or Basic credentials.
#[tokio::test]
async fn backend_signature_keys() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("signing").await;
    let host = Server::group_host(&g);
    let hmac_api = s.create_and_publish(&open_api(&g, "hmac_api", "/hmac", &echo), RELEASE).await;
    s.create_and_publish(&open_api(&g, "basic_api", "/basic", &echo), RELEASE).await;

    let (status, hmac) = s.post("/signs", &json!({"name": "backend_hmac", "sign_key": "gateway_key1", "sign_secret": "gateway_secret_0001"})).await;
    assert_eq!(status, 201, "{hmac}");
    assert_eq!(hmac["sign_type"], "hmac");
    let (status, basic) = s.post("/signs", &json!({"name": "backend_basic", "sign_type": "basic", "sign_key": "gateway", "sign_secret": "pass_word_1"})).await;
    assert_eq!(status, 201, "{basic}");
    let (status, generated) = s.post("/signs", &json!({"name": "generated_key"})).await;
    assert_eq!(status, 201);
    assert!(generated["sign_secret"].as_str().unwrap().len() >= 16);
    common::assert_error(&s.post("/signs", &json!({"name": "backend_hmac"})).await, 400, "APIG.3207", Some("name"));
    common::assert_error(&s.post("/signs", &json!({"name": "bad_key", "sign_key": "short"})).await, 400, "APIG.2011", Some("sign_key"));
    common::assert_error(&s.post("/signs", &json!({"name": "bad_type", "sign_type": "aes"})).await, 400, "APIG.2011", Some("sign_type"));
    let (hmac_id, basic_id) = (hmac["id"].as_str().unwrap().to_string(), basic["id"].as_str().unwrap().to_string());

    // The published APIs without a key, with their publication ids.
    let (status, unbound) = s.get(&format!("/sign-bindings/unbinded-apis?sign_id={hmac_id}")).await;
    assert_eq!(status, 200, "{unbound}");
    assert_eq!(unbound["total"], 2, "{unbound}");
    let publish_of = |name: &str| unbound["apis"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap()["publish_id"].as_str().unwrap().to_string();
    let (hmac_pub, basic_pub) = (publish_of("hmac_api"), publish_of("basic_api"));

    let (status, bound) = s.post("/sign-bindings", &json!({"sign_id": hmac_id, "publish_ids": [hmac_pub]})).await;
    assert_eq!(status, 201, "{bound}");
    assert_eq!(bound["bindings"][0]["api_name"], "hmac_api");
    assert_eq!(bound["bindings"][0]["env_name"], "RELEASE");
    let binding_id = bound["bindings"][0]["id"].as_str().unwrap().to_string();
    let (status, _) = s.post("/sign-bindings", &json!({"sign_id": basic_id, "publish_ids": [basic_pub]})).await;
    assert_eq!(status, 201);
    // One key per published API.
    let second = s.post("/sign-bindings", &json!({"sign_id": basic_id, "publish_ids": [hmac_pub]})).await;
    common::assert_error(&second, 400, "APIG.2011", Some("publish_ids"));
    common::assert_error(&s.post("/sign-bindings", &json!({"sign_id": basic_id, "publish_ids": ["nope"]})).await, 404, "APIG.3015", None);
    common::assert_error(&s.post("/sign-bindings", &json!({"sign_id": "nope", "publish_ids": [hmac_pub]})).await, 404, "APIG.3017", None);
    common::assert_error(&s.delete(&format!("/signs/{hmac_id}")).await, 403, "APIG.3451", None);
    let (_, signs) = s.get(&format!("/sign-bindings/binded-signs?api_id={hmac_api}")).await;
    assert_eq!(signs["total"], 1, "{signs}");
    assert_eq!(signs["bindings"][0]["sign_name"], "backend_hmac");

    // The hmac-bound backend request verifies with the key (the streamed body is declared UNSIGNED-PAYLOAD).
    let called = s.http.post(format!("{}/hmac?q=1", s.gateway)).header("Host", &host).body("order body").send().await.unwrap();
    assert_eq!(called.status(), 200);
    let seen: Value = called.json().await.unwrap();
    let auth = echo::header(&seen, "authorization").expect("signed").to_string();
    let parsed = sdk::Authorization::parse(&auth).unwrap();
    assert_eq!(parsed.access, "gateway_key1");
    let headers: Vec<(String, String)> = ["host", "x-sdk-date", "x-sdk-content-sha256"]
        .iter()
        .filter_map(|h| echo::header(&seen, h).map(|v| (h.to_string(), v.to_string())))
        .collect();
    let body = seen["body"].as_str().unwrap().as_bytes().to_vec();
    let hash = sdk::payload_hash(&headers, &body).into_owned();
    let received = sdk::Request { method: "POST", path: "/backend", query: seen["query"].as_str().unwrap(), headers: &headers, payload_hash: &hash };
    let date = echo::header(&seen, "x-sdk-date").unwrap();
    assert_eq!(sdk::verify("gateway_secret_0001", date, &received, &parsed), Ok(()), "{seen}");
    assert!(sdk::verify("another_secret_000", date, &received, &parsed).is_err());

    // The verifier the docs give backends (Python's standard library only) accepts what the gateway signed.
    if let Some(python) = common::service("CAUSEWAY_TEST_PYTHON_SIGNERS") {
        let mut cases = Vec::new();
        for (query, body) in [("q=1", "order body"), ("b=2&a=1&a=0&e=%20x&t=%E2%82%AC&plus=a+b&empty=", "{\"k\":\"v\"}"), ("", "")] {
            let url = if query.is_empty() { format!("{}/hmac", s.gateway) } else { format!("{}/hmac?{query}", s.gateway) };
            let called = s.http.post(url).header("Host", &host).body(body).send().await.unwrap();
            assert_eq!(called.status(), 200);
            let seen: Value = called.json().await.unwrap();
            for (secret, expected) in [("gateway_secret_0001", true), ("another_secret_000", false)] {
                cases.push(json!({"seen": seen.clone(), "key": "gateway_key1", "secret": secret, "expected": expected}));
            }
        }
        let verdicts = documented_python_verifier(&python, &cases).await;
        let expected: Vec<bool> = cases.iter().map(|c| c["expected"].as_bool().unwrap()).collect();
        assert_eq!(verdicts, expected, "{cases:#?}");
    }

    // Basic credentials.
    let called = s.http.post(format!("{}/basic", s.gateway)).header("Host", &host).send().await.unwrap();
    let seen: Value = called.json().await.unwrap();
    assert_eq!(echo::header(&seen, "authorization"), Some("Basic Z2F0ZXdheTpwYXNzX3dvcmRfMQ=="));

    // Unbinding stops the signing at once; taking an API offline drops its binding.
    assert_eq!(s.delete(&format!("/sign-bindings/{binding_id}")).await.0, 204);
    common::assert_error(&s.delete(&format!("/sign-bindings/{binding_id}")).await, 404, "APIG.3018", None);
    let called = s.http.post(format!("{}/hmac", s.gateway)).header("Host", &host).send().await.unwrap();
    let seen: Value = called.json().await.unwrap();
    assert_eq!(echo::header(&seen, "authorization"), None, "{seen}");
    let basic_api_id = {
        let (_, apis) = s.get(&format!("/apis?group_id={g}&name=basic_api")).await;
        apis["apis"][0]["id"].as_str().unwrap().to_string()
    };
    assert_eq!(s.delete(&format!("/apis/publish/{basic_api_id}?env_id={RELEASE}")).await.0, 204);
    let (_, bound) = s.get(&format!("/sign-bindings/binded-apis?sign_id={basic_id}")).await;
    assert_eq!(bound["total"], 0, "{bound}");
    assert_eq!(s.delete(&format!("/signs/{basic_id}")).await.0, 204);
    let (_, list) = s.get("/signs").await;
    assert_eq!(list["total"], 2, "{list}");
}

fn iam_api(group: &str, name: &str, path: &str, echo: &Echo) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path,
      "auth_type": "IAM", "backend_type": "HTTP",
      "backend_api": {"url_domain": echo.addr.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/backend", "timeout": 5000}
    })
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../tests/fixtures/jwt/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

fn jwt(alg: jsonwebtoken::Algorithm, kid: Option<&str>, claims: Value, key: &jsonwebtoken::EncodingKey) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_string);
    jsonwebtoken::encode(&header, &claims, key).unwrap()
}

/// IAM APIs take a JWT from a configured issuer: HS256 secrets, RS256 PEM keys, ES256 JWKs by kid.
#[tokio::test]
async fn iam_bearer_tokens() {
    use jsonwebtoken::{Algorithm, EncodingKey};
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("iam").await;
    let host = Server::group_host(&g);
    s.create_and_publish(&iam_api(&g, "iam_api", "/iam", &echo), RELEASE).await;
    let exp = now() + 300;

    let (status, hs) = s.post("/iam-issuers", &json!({"name": "shared_idp", "issuer": "https://hs.idp", "algorithm": "HS256", "secret": "a-shared-secret-0123", "audiences": ["orders"]})).await;
    assert_eq!(status, 201, "{hs}");
    let (status, rs) = s.post("/iam-issuers", &json!({"name": "rsa_idp", "issuer": "https://rs.idp", "algorithm": "RS256", "public_key": fixture("rs256-public.pem")})).await;
    assert_eq!(status, 201, "{rs}");
    let jwks: Value = serde_json::from_str(&fixture("es256-jwks.json")).unwrap();
    let (status, es) = s.post("/iam-issuers", &json!({"name": "ec_idp", "issuer": "https://es.idp", "algorithm": "ES256", "jwks": jwks, "token_cookie": "session"})).await;
    assert_eq!(status, 201, "{es}");
    // Keys that do not load, duplicates, and missing material name their field.
    common::assert_error(&s.post("/iam-issuers", &json!({"name": "bad_pem", "issuer": "x", "algorithm": "RS256", "public_key": "not a key"})).await, 400, "APIG.2011", Some("public_key"));
    common::assert_error(&s.post("/iam-issuers", &json!({"name": "bad_jwk", "issuer": "y", "algorithm": "ES256", "jwks": {"kty": "EC"}})).await, 400, "APIG.2011", Some("jwks"));
    common::assert_error(&s.post("/iam-issuers", &json!({"name": "dup_iss", "issuer": "https://hs.idp", "algorithm": "HS256", "secret": "another-secret-0123"})).await, 400, "APIG.2011", Some("issuer"));
    common::assert_error(&s.post("/iam-issuers", &json!({"name": "no_secret", "issuer": "z", "algorithm": "HS256"})).await, 400, "APIG.2001", Some("secret"));
    let (_, list) = s.get("/iam-issuers").await;
    assert_eq!(list["total"], 3, "{list}");

    let call = |headers: Vec<(&'static str, String)>| {
        let (s, host) = (&s, host.clone());
        async move {
            let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            s.call_gateway("GET", &host, "/iam", &h).await
        }
    };
    let hs_key = EncodingKey::from_secret(b"a-shared-secret-0123");
    let rs_key = EncodingKey::from_rsa_pem(fixture("rs256-private.pem").as_bytes()).unwrap();
    let es_key = EncodingKey::from_ec_pem(fixture("es256-private.pem").as_bytes()).unwrap();

    let good = [
        ("Authorization", format!("Bearer {}", jwt(Algorithm::HS256, None, json!({"iss": "https://hs.idp", "sub": "alice", "aud": "orders", "exp": exp}), &hs_key))),
        ("X-Auth-Token", jwt(Algorithm::RS256, None, json!({"iss": "https://rs.idp", "sub": "bob", "exp": exp}), &rs_key)),
        ("Cookie", format!("theme=dark; session={}", jwt(Algorithm::ES256, Some("es-key-1"), json!({"iss": "https://es.idp", "sub": "carol", "exp": exp}), &es_key))),
    ];
    for (name, value) in good {
        let c = call(vec![(name, value)]).await;
        assert_eq!(c.status, 200, "{name}: {}", c.body);
    }

    let bad = [
        (jwt(Algorithm::HS256, None, json!({"iss": "https://hs.idp", "sub": "a", "aud": "billing", "exp": exp}), &hs_key), "InvalidAudience"),
        (jwt(Algorithm::HS256, None, json!({"iss": "https://hs.idp", "sub": "a", "aud": "orders", "exp": now() - 600}), &hs_key), "Expired"),
        (jwt(Algorithm::HS256, None, json!({"iss": "https://rs.idp", "sub": "a", "exp": exp}), &hs_key), "InvalidAlgorithm"),
        (jwt(Algorithm::ES256, Some("other-kid"), json!({"iss": "https://es.idp", "sub": "a", "exp": exp}), &es_key), "kid"),
        (jwt(Algorithm::HS256, None, json!({"iss": "https://unknown", "sub": "a", "exp": exp}), &hs_key), "unknown issuer"),
    ];
    // Unsigned tokens (`alg: none`, with or without a signature part) and tokens that never expire.
    let b64 = |v: Value| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, v.to_string());
    let claims = json!({"iss": "https://hs.idp", "sub": "mallory", "aud": "orders", "exp": exp});
    let unsigned = format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(claims.clone()));
    let unsigned_upper = format!("{}.{}", b64(json!({"alg": "NONE"})), b64(claims));
    let bad = bad.into_iter().chain([
        (unsigned, ""),
        (unsigned_upper, ""),
        (jwt(Algorithm::HS256, None, json!({"iss": "https://hs.idp", "sub": "a", "aud": "orders"}), &hs_key), "exp"),
    ]);
    for (token, why) in bad {
        let c = call(vec![("Authorization", format!("Bearer {token}"))]).await;
        auth_error(&c, 401, "APIG.0301", why);
    }
    auth_error(&call(vec![]).await, 401, "APIG.0301", "no bearer token");

    // Removing an issuer stops its tokens at once.
    assert_eq!(s.delete(&format!("/iam-issuers/{}", rs["id"].as_str().unwrap())).await.0, 204);
    let c = call(vec![("X-Auth-Token", jwt(Algorithm::RS256, None, json!({"iss": "https://rs.idp", "sub": "bob", "exp": exp}), &rs_key))]).await;
    auth_error(&c, 401, "APIG.0301", "unknown issuer");
}

/// Requests signed by the vendors' Python signers from PyPI
/// (`apigateway-sdk-python` and `huaweicloudsdkcore`); `.ci/run` installs them
/// in a virtual environment and names its interpreter in `CAUSEWAY_TEST_PYTHON_SIGNERS`.
#[tokio::test]
async fn vendor_python_signers() {
    let Some(python) = common::service("CAUSEWAY_TEST_PYTHON_SIGNERS") else { return };
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("vendors").await;
    let host = Server::group_host(&g);
    let api = s.create_and_publish(&app_api(&g, "vendor_api", "POST", "/v1/orders/{id}", &echo, "DISABLE"), RELEASE).await;
    let caller = app(&s, "vendor_caller").await;
    // Published in STAGING too, but authorized in RELEASE only.
    let (_, staging) = s.post("/envs", &json!({"name": "STAGING"})).await;
    let (status, _) = s.post(&format!("/apis/publish/{api}"), &json!({"env_id": staging["id"]})).await;
    assert_eq!(status, 201);
    authorize(&s, &api, &caller).await;
    let script = format!("{}/../../tests/signers/vendor_signers.py", env!("CARGO_MANIFEST_DIR"));
    let (gateway, key, secret) = (s.gateway.clone(), caller.key.clone(), caller.secret.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python).args([&script, &gateway, &host, "/v1/orders/42", &key, &secret]).output().expect("python")
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Value = serde_json::from_slice(&out.stdout).expect("JSON results");
    let expect = [
        ("pypi", 200),
        ("pypi_wrong_secret", 401),
        ("pypi_body", 401),
        ("pypi_path", 401),
        ("pypi_header", 401),
        ("pypi_date", 401),
        ("pypi_other_env", 401),
        ("core", 200),
        ("core_wrong_secret", 401),
        ("core_body", 401),
    ];
    for (case, status) in expect {
        assert_eq!(results[case], status, "{case} in {results}");
    }
}

/// Requests signed by Baidu's own Python SDK (`bce-python-sdk`, its
/// `bce_v1_signer`), with the string in `X-Bce-Signature` as Baidu API
/// Gateway's APP authentication carries it, or in `Authorization`.
#[tokio::test]
async fn baidu_bce_auth_v1_signatures() {
    let Some(python) = common::service("CAUSEWAY_TEST_PYTHON_SIGNERS") else { return };
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("baidu").await;
    let host = Server::group_host(&g);
    let api = s.create_and_publish(&app_api(&g, "baidu_api", "POST", "/v1/orders/{id}", &echo, "DISABLE"), RELEASE).await;
    let caller = app(&s, "baidu_caller").await;
    authorize(&s, &api, &caller).await;
    let script = format!("{}/../../tests/signers/baidu_signer.py", env!("CARGO_MANIFEST_DIR"));
    let (gateway, key, secret) = (s.gateway.clone(), caller.key.clone(), caller.secret.clone());
    let out = tokio::task::spawn_blocking(move || std::process::Command::new(python).args([&script, &gateway, &host, "/v1/orders/42", &key, &secret]).output().expect("python"))
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Value = serde_json::from_slice(&out.stdout).expect("JSON results");
    let expect = [
        ("default_headers", 200),
        ("listed_headers", 200),
        ("authorization_header", 200),
        ("unsigned_header", 200),
        ("wrong_secret", 401),
        ("path", 401),
        ("query", 401),
        ("signed_header", 401),
        ("expired", 401),
        ("ahead", 401),
    ];
    for (case, status) in expect {
        assert_eq!(results[case], status, "{case} in {results}");
    }
    // The caller is told why, and the backend sees who called.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let headers = vec![("host".to_string(), Server::group_host(&g)), ("x-bce-date".to_string(), causeway_sign::bce::format_timestamp(now))];
    let req = causeway_sign::bce::Request { method: "POST", path: "/v1/orders/7", query: "", headers: &headers };
    let value = causeway_sign::bce::sign(&caller.key, &caller.secret, &req, now, 300, &[]);
    let called = s.http.post(format!("{}/v1/orders/7", s.gateway)).header("Host", &headers[0].1).header("x-bce-date", &headers[1].1).header("X-Bce-Signature", &value).send().await.unwrap();
    assert_eq!(called.status(), 200);
    let seen: Value = called.json().await.unwrap();
    assert_eq!(echo::header(&seen, "x-app-id"), Some(caller.id.as_str()), "{seen}");
    let wrong = s.http.post(format!("{}/v1/orders/8", s.gateway)).header("Host", &headers[0].1).header("x-bce-date", &headers[1].1).header("X-Bce-Signature", &value).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error_code"], "APIG.0303", "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("canonicalRequest:POST|/v1/orders/8||host:"), "{body}");
    let unknown = s.http.post(format!("{}/v1/orders/7", s.gateway)).header("Host", &headers[0].1).header("X-Bce-Signature", "bce-auth-v1/nobody/2026-01-01T00:00:00Z/1800//00").send().await.unwrap();
    let body: Value = unknown.json().await.unwrap();
    assert!(body["error_msg"].as_str().unwrap().contains("app not found"), "{body}");
}

/// Serves whatever JWK set `doc` holds at `/jwks`.
/// Serves `doc` as a JWK set; counts the fetches.
async fn jwks_server(doc: std::sync::Arc<std::sync::Mutex<String>>) -> (std::net::SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = fetches.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (doc, counted) = (doc.clone(), counted.clone());
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req| {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let body = doc.lock().unwrap().clone();
                    async move { Ok::<_, std::convert::Infallible>(hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)))) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, fetches)
}

/// An issuer publishing its keys at a URL: fetched in the background, and a
/// rotated key is used once the set is fetched again (RS256 and ES256).
#[tokio::test]
async fn jwks_url_with_key_rotation() {
    use jsonwebtoken::{Algorithm, EncodingKey};
    let rsa = |f: &str| EncodingKey::from_rsa_pem(fixture(f).as_bytes()).unwrap();
    let ec = |f: &str| EncodingKey::from_ec_pem(fixture(f).as_bytes()).unwrap();
    let cases = [
        ("RS256", Algorithm::RS256, ["rs256-jwks.json", "rs256-2-jwks.json"], [rsa("rs256-private.pem"), rsa("rs256-2-private.pem")], ["rs-key-1", "rs-key-2"]),
        ("ES256", Algorithm::ES256, ["es256-jwks.json", "es256-2-jwks.json"], [ec("es256-private.pem"), ec("es256-2-private.pem")], ["es-key-1", "es-key-2"]),
    ];
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("rotation").await;
    let host = Server::group_host(&g);
    common::assert_error(&s.post("/iam-issuers", &json!({"name": "bad_uri", "issuer": "b", "algorithm": "ES256", "jwks_uri": "ftp://x"})).await, 400, "APIG.2011", Some("jwks_uri"));
    for (name, alg, sets, keys, kids) in cases {
        let doc = std::sync::Arc::new(std::sync::Mutex::new(fixture(sets[0])));
        let (jwks, fetches) = jwks_server(doc.clone()).await;
        let path = format!("/rotated/{name}");
        s.create_and_publish(&iam_api(&g, &format!("rotated_{name}"), &path, &echo), RELEASE).await;
        let iss = format!("https://rot.idp/{name}");
        let (status, issuer) = s
            .post("/iam-issuers", &json!({"name": format!("idp_{name}"), "issuer": iss, "algorithm": name, "jwks_uri": format!("http://{jwks}/jwks"), "jwks_refresh_secs": 1}))
            .await;
        assert_eq!(status, 201, "{issuer}");
        let exp = now() + 300;
        let token = |i: usize| format!("Bearer {}", jwt(alg, Some(kids[i]), json!({"iss": iss, "sub": "u", "exp": exp}), &keys[i]));

        // The first set is fetched shortly after the issuer is added.
        s.eventually("GET", &host, &path, &[("Authorization", &token(0))], |c| c.status == 200).await;
        auth_error(&s.call_gateway("GET", &host, &path, &[("Authorization", &token(1))]).await, 401, "APIG.0301", "kid");

        // The issuer rotates to key 2: tokens signed with it pass, key 1's no longer do.
        *doc.lock().unwrap() = fixture(sets[1]);
        s.eventually("GET", &host, &path, &[("Authorization", &token(1))], |c| c.status == 200).await;
        auth_error(&s.call_gateway("GET", &host, &path, &[("Authorization", &token(0))]).await, 401, "APIG.0301", "kid");

        // A broken answer keeps the last good set: once it has been fetched twice, key 2 still works.
        *doc.lock().unwrap() = "not json".to_string();
        let seen = fetches.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..300 {
            if fetches.load(std::sync::atomic::Ordering::SeqCst) >= seen + 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(fetches.load(std::sync::atomic::Ordering::SeqCst) >= seen + 2, "{name}: the set is fetched again every second");
        assert_eq!(s.call_gateway("GET", &host, &path, &[("Authorization", &token(1))]).await.status, 200, "{name}");
    }
}
