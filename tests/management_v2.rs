//! The V2 path family (`/v2/{project_id}/apigw/instances/{instance_id}/...`)
//! against the real server: the instance it lists and answers to, paging by
//! `offset`/`limit`, the same stored result as through v1.0, and sign-in,
//! roles and the audit log applying alike.

mod common;

use common::{Backend, Server, TOKEN, assert_error};
use serde_json::{Value, json};

const PROJECT: &str = "0f3c2e9b8a7d4e1f9c2b3a4d5e6f7a8b";
const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

async fn v2_as(s: &Server, token: &str, instance: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value, Option<String>) {
    let url = format!("{}/v2/{PROJECT}/apigw/instances/{instance}{path}", s.admin);
    let mut req = s.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).header("X-Auth-Token", token);
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let request_id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), request_id)
}

async fn v2(s: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, body, request_id) = v2_as(s, TOKEN, "causeway", method, path, body).await;
    assert_eq!(request_id.map(|r| r.len()), Some(32), "every V2 answer carries X-Request-Id");
    (status, body)
}

#[tokio::test]
async fn the_instance_is_listed_and_only_its_id_is_answered() {
    let s = Server::start_with(Backend::Sqlite, &["--instance-id", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "--instance-name", "edge-gateway"]).await;
    let url = format!("{}/v2/any-project/apigw/instances", s.admin);
    let listed: Value = s.http.get(&url).header("X-Auth-Token", TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["instances"][0]["id"], "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6");
    assert_eq!(listed["instances"][0]["instance_name"], "edge-gateway");
    assert_eq!(listed["instances"][0]["status"], "Running");
    let filtered: Value = s.http.get(format!("{url}?instance_name=nope")).header("X-Auth-Token", TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(filtered["total"], 0, "{filtered}");

    let (status, groups, _) = v2_as(&s, TOKEN, "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "GET", "/api-groups", None).await;
    assert_eq!(status, 200, "{groups}");
    let other = v2_as(&s, TOKEN, "causeway", "GET", "/api-groups", None).await;
    assert_error(&(other.0, other.1), 404, "APIG.3030", None);
    // Not signed in: refused before anything else is said about the instance.
    let anonymous = s.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong_family = s.http.get(format!("{}/v2/{PROJECT}/apic-nope/instances/x/apis", s.admin)).header("X-Auth-Token", TOKEN).send().await.unwrap();
    assert_eq!(wrong_family.status(), 404);
}

#[tokio::test]
async fn v2_and_v1_share_the_resources_and_v2_pages_by_offset() {
    let s = Server::start().await;
    for i in 0..5 {
        let (status, g) = v2(&s, "POST", "/api-groups", Some(&json!({"name": format!("v2_group_{i}"), "remark": "made through V2"}))).await;
        assert_eq!(status, 201, "{g}");
    }
    // What V2 made, v1.0 reads the same.
    let (_, through_v1) = s.get("/api-groups?name=v2_group_3").await;
    let id = through_v1["groups"][0]["id"].as_str().unwrap().to_string();
    let (status, through_v2) = v2(&s, "GET", &format!("/api-groups/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(through_v2, through_v1["groups"][0]);

    // offset/limit, with the V2 envelope.
    let (status, page) = v2(&s, "GET", "/api-groups?name=v2_group&offset=1&limit=2", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!((page["total"].as_u64(), page["size"].as_u64()), (Some(5), Some(2)), "{page}");
    let names: Vec<&str> = page["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v2_group_1", "v2_group_2"]);
    assert_error(&v2(&s, "GET", "/api-groups?limit=0", None).await, 400, "APIG.2011", Some("limit"));
    assert_error(&v2(&s, "GET", "/api-groups?offset=-1", None).await, 400, "APIG.2011", Some("offset"));
    // v1.0 still pages by page number.
    let (_, v1_page) = s.get("/api-groups?name=v2_group&page_no=2&page_size=2").await;
    let names: Vec<&str> = v1_page["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v2_group_2", "v2_group_3"]);

    // Updates and deletes through V2, seen through v1.0.
    let (status, _) = v2(&s, "PUT", &format!("/api-groups/{id}"), Some(&json!({"name": "v2_group_3", "remark": "changed"}))).await;
    assert_eq!(status, 200);
    let (_, g) = s.get(&format!("/api-groups/{id}")).await;
    assert_eq!(g["remark"], "changed");
    assert_eq!(v2(&s, "DELETE", &format!("/api-groups/{id}"), None).await.0, 204);
    assert_error(&s.get(&format!("/api-groups/{id}")).await, 404, "APIG.3001", None);
    // Groups say what kind they are (global, V1), and app-level (V2) groups are refused.
    assert_eq!((through_v2["version"].as_str(), through_v2["sl_domain_access_enabled"].as_bool()), (Some("V1"), Some(true)), "{through_v2}");
    assert_error(&v2(&s, "POST", "/api-groups", Some(&json!({"name": "app_level", "version": "V2"}))).await, 400, "APIG.2011", Some("version"));
    assert_eq!(v2(&s, "POST", "/api-groups", Some(&json!({"name": "global_level", "version": "V1"}))).await.0, 201);
    // Validation answers as v1.0's does, with V2's wider names and remarks for groups and APIs.
    assert_error(&v2(&s, "POST", "/envs", Some(&json!({"name": "x"}))).await, 400, "APIG.2011", Some("name"));
    let wide = json!({"name": "orders-api.v2/(east):west", "remark": "r".repeat(1000)});
    let (status, made) = v2(&s, "POST", "/api-groups", Some(&wide)).await;
    assert_eq!(status, 201, "{made}");
    assert_error(&s.post("/api-groups", &json!({"name": "orders-api.v1/(east)"})).await, 400, "APIG.2011", Some("name"));
    assert_error(&s.post("/api-groups", &json!({"name": "long_remark", "remark": "r".repeat(256)})).await, 400, "APIG.2011", Some("remark"));
    assert_error(&v2(&s, "POST", "/api-groups", Some(&json!({"name": "g".repeat(256)}))).await, 400, "APIG.2011", Some("name"));
}

#[tokio::test]
async fn v2_calls_sign_in_check_roles_and_are_audited() {
    use causeway_sign::sdk::Key;
    let s = Server::start().await;
    let (_, viewer) = s.post("/admin-credentials", &json!({"name": "v2_viewer", "role": "viewer"})).await;
    let token = viewer["token"].as_str().unwrap();
    let (status, _, _) = v2_as(&s, token, "causeway", "GET", "/api-groups", None).await;
    assert_eq!(status, 200);
    let refused = v2_as(&s, token, "causeway", "POST", "/api-groups", Some(&json!({"name": "not_by_a_viewer"}))).await;
    assert_error(&(refused.0, refused.1), 403, "APIG.1005", None);

    // Signed with the bootstrap access key, over the whole V2 path.
    let file = std::fs::read_to_string(s.data_dir.path().join("admin-access-key")).unwrap();
    let mut lines = file.lines();
    let (ak, sk) = (lines.next().unwrap(), lines.next().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let path = format!("/v2/{PROJECT}/apigw/instances/causeway/api-groups");
    let (status, group) = s.signed("POST", &path, r#"{"name":"signed_v2_group"}"#, Key { access: ak, secret: sk }, now).await;
    assert_eq!(status, 201, "{group}");

    let (_, log) = s.get("/audit-logs?resource_kind=api-groups").await;
    let entries = log["audit_logs"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["path"], path.as_str());
    assert_eq!(entries[0]["resource_id"], group["id"]);
    assert_eq!(entries[0]["credential"], "bootstrap");
    assert_eq!((entries[1]["credential"].as_str(), entries[1]["status"].as_i64()), (Some("v2_viewer"), Some(403)));
}

fn http_api(group: &str, name: &str, path: &str, echo: &common::echo::Echo) -> Value {
    json!({
        "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": path,
        "auth_type": "APP", "backend_type": "HTTP",
        "req_params": [{"name": "q", "type": "STRING", "location": "QUERY", "required": 2}],
        "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/seen", "timeout": 5000, "retry_count": "-1"},
        "backend_params": [{"name": "X-Q", "location": "HEADER", "origin": "REQUEST", "value": "q"}]
    })
}

/// The same API made through v1.0 and V2 is stored the same; V2 publishes by
/// `POST /apis/action`, answers app authorizations as `{"auths": [...]}`, and
/// takes V2's spellings (`retry_count` as a string, `vpc_channel_*`).
#[tokio::test]
async fn a_v2_workflow_stores_what_v1_stores_and_serves_it() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let group = s.group("workflow").await;
    let (status, via_v2) = v2(&s, "POST", "/apis", Some(&http_api(&group, "via_v2", "/v2", &echo))).await;
    assert_eq!(status, 201, "{via_v2}");
    let mut v1_body = http_api(&group, "via_v1", "/v1", &echo);
    v1_body["backend_api"]["retry_count"] = json!(-1);
    let (status, via_v1) = s.post("/apis", &v1_body).await;
    assert_eq!(status, 201, "{via_v1}");
    let strip = |mut v: Value| {
        for k in ["id", "name", "req_uri", "register_time", "update_time"] {
            v.as_object_mut().unwrap().remove(k);
        }
        for k in ["id", "register_time", "update_time"] {
            if let Some(b) = v["backend_api"].as_object_mut() {
                b.remove(k);
            }
        }
        if let Some(params) = v["req_params"].as_array_mut() {
            for p in params {
                p.as_object_mut().unwrap().remove("id");
            }
        }
        if let Some(params) = v["backend_params"].as_array_mut() {
            for p in params {
                p.as_object_mut().unwrap().remove("id");
                p.as_object_mut().unwrap().remove("req_param_id");
            }
        }
        v
    };
    let (v1_id, v2_id) = (via_v1["id"].as_str().unwrap().to_string(), via_v2["id"].as_str().unwrap().to_string());
    let (_, stored_v1) = s.get(&format!("/apis/{v1_id}")).await;
    let (_, stored_v2) = s.get(&format!("/apis/{v2_id}")).await;
    assert_eq!(strip(stored_v2), strip(stored_v1.clone()), "the same definition, whichever family made it");
    // V2 spells the channel fields its way; v1.0 its own.
    let (_, shown_v2) = v2(&s, "GET", &format!("/apis/{v1_id}"), None).await;
    assert_eq!(shown_v2["backend_api"]["vpc_channel_status"], stored_v1["backend_api"]["vpc_status"], "{shown_v2}");
    assert!(shown_v2["backend_api"].get("vpc_status").is_none() && stored_v1["backend_api"].get("vpc_channel_status").is_none());
    // A definition read through V2 goes back through V2 unchanged.
    let (status, again) = v2(&s, "PUT", &format!("/apis/{v1_id}"), Some(&shown_v2)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(strip(again), strip(shown_v2.clone()));

    // Publish through POST /apis/action; authorize an app as V2 answers it.
    let (status, published) = v2(&s, "POST", "/apis/action", Some(&json!({"action": "online", "env_id": RELEASE, "api_id": v2_id, "remark": "first"}))).await;
    assert_eq!(status, 201, "{published}");
    assert_eq!((published["api_id"].as_str(), published["env_id"].as_str()), (Some(v2_id.as_str()), Some(RELEASE)));
    // Where it is published, in its answers.
    let (_, shown) = v2(&s, "GET", &format!("/apis/{v2_id}"), None).await;
    assert_eq!((shown["run_env_id"].as_str(), shown["run_env_name"].as_str()), (Some(RELEASE), Some("RELEASE")), "{shown}");
    assert_eq!(shown["publish_id"], published["publish_id"]);
    assert_eq!(shown["group_version"], "V1");
    let (_, listed) = s.get(&format!("/apis?id={v2_id}")).await;
    assert_eq!(listed["apis"][0]["run_env_name"], "RELEASE", "{listed}");
    let (status, app) = v2(&s, "POST", "/apps", Some(&json!({"name": "v2_app"}))).await;
    assert_eq!(status, 201, "{app}");
    let (status, auths) = v2(&s, "POST", "/app-auths", Some(&json!({"env_id": RELEASE, "app_ids": [app["id"]], "api_ids": [v2_id]}))).await;
    assert_eq!(status, 201, "{auths}");
    assert_eq!(auths["auths"].as_array().map(Vec::len), Some(1), "{auths}");
    let (_, bound) = v2(&s, "GET", &format!("/app-auths/binded-apis?app_id={}&offset=0&limit=5", app["id"].as_str().unwrap()), None).await;
    assert_eq!(bound["total"], 1, "{bound}");
    let (_, apps) = v2(&s, "GET", "/apps?name=v2_app", None).await;
    assert_eq!(apps["apps"][0]["bind_num"], 1, "an app's authorizations are counted in lists: {apps}");
    let (status, code) = v2(&s, "PUT", &format!("/apps/{}/app-codes", app["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 201, "{code}");
    let (app_key, app_secret) = (app["app_key"].as_str().unwrap().to_string(), app["app_secret"].as_str().unwrap().to_string());
    let host = Server::group_host(&group);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let headers = vec![("host".to_string(), host.clone())];
    let signed = causeway_sign::sdk::sign(causeway_sign::sdk::Key { access: &app_key, secret: &app_secret }, "GET", "/v2", "q=hello", &headers, causeway_sign::sdk::EMPTY_BODY_SHA256, now);
    let called = s.call_gateway("GET", &host, "/v2?q=hello", &[("X-Sdk-Date", &signed.date), ("Authorization", &signed.authorization)]).await;
    assert_eq!(called.status, 200, "{}", called.body);
    assert_eq!(common::echo::header(&called.json(), "x-q"), Some("hello"));

    // Offline through the same call; the API stops answering.
    let (status, _) = v2(&s, "POST", "/apis/action", Some(&json!({"action": "offline", "env_id": RELEASE, "api_id": v2_id}))).await;
    assert_eq!(status, 204);
    let gone = s.call_gateway("GET", &host, "/v2?q=hello", &[("X-Sdk-Date", &signed.date), ("Authorization", &signed.authorization)]).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert_error(&v2(&s, "POST", "/apis/action", Some(&json!({"action": "sideways", "env_id": RELEASE, "api_id": v2_id}))).await, 400, "APIG.2011", Some("action"));
    assert_error(&v2(&s, "POST", "/apis/action", Some(&json!({"action": "online", "env_id": RELEASE}))).await, 400, "APIG.2001", Some("api_id"));
    // V2's availability checks: 204 when free, the duplicate's error when not.
    assert_eq!(v2(&s, "POST", "/api-groups/check", Some(&json!({"group_name": "a_free_name"}))).await.0, 204);
    assert_error(&v2(&s, "POST", "/api-groups/check", Some(&json!({"group_name": "workflow"}))).await, 400, "APIG.3201", Some("group_name"));
    let check = |body: Value| {
        let s = &s;
        async move { v2(s, "POST", "/apis/check", Some(&body)).await }
    };
    assert_error(&check(json!({"group_id": group, "type": "name", "name": "via_v2"})).await, 400, "APIG.3202", Some("name"));
    assert_eq!(check(json!({"group_id": group, "type": "name", "name": "via_v2", "api_id": v2_id})).await.0, 204, "its own name is free to it");
    assert_eq!(check(json!({"group_id": group, "type": "name", "name": "unused_name"})).await.0, 204);
    assert_error(&check(json!({"group_id": group, "type": "path", "req_method": "GET", "req_uri": "/v2"})).await, 400, "APIG.3301", None);
    assert_eq!(check(json!({"group_id": group, "type": "path", "req_method": "POST", "req_uri": "/v2"})).await.0, 204);
    assert_error(&check(json!({"group_id": group, "type": "color"})).await, 400, "APIG.2011", Some("type"));

    // V2's batch takes a whole group in place of a list of APIs.
    let batch_group = s.group("batch_by_group").await;
    for i in 0..2 {
        let mock = json!({"group_id": batch_group, "name": format!("batched_{i}"), "type": 1, "req_protocol": "BOTH", "req_method": "GET",
            "req_uri": format!("/batched/{i}"), "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "batched"}});
        assert_eq!(v2(&s, "POST", "/apis", Some(&mock)).await.0, 201);
    }
    let (status, online) = v2(&s, "POST", "/apis/publish?action=online", Some(&json!({"group_id": batch_group, "env_id": RELEASE}))).await;
    assert_eq!(status, 200, "{online}");
    assert_eq!((online["success"].as_array().map(Vec::len), online["failure"].as_array().map(Vec::len)), (Some(2), Some(0)), "{online}");
    let batch_host = Server::group_host(&batch_group);
    assert_eq!(s.call_gateway("GET", &batch_host, "/batched/1", &[]).await.status, 200);
    let (_, offline) = v2(&s, "POST", "/apis/publish?action=offline", Some(&json!({"group_id": batch_group, "env_id": RELEASE}))).await;
    assert_eq!(offline["success"].as_array().map(Vec::len), Some(2), "{offline}");
    assert_eq!(s.call_gateway("GET", &batch_host, "/batched/1", &[]).await.status, 404);
    assert_error(&v2(&s, "POST", "/apis/publish?action=online", Some(&json!({"env_id": RELEASE}))).await, 400, "APIG.2001", Some("apis"));
    assert_error(&v2(&s, "POST", "/apis/publish?action=online", Some(&json!({"group_id": "0".repeat(32), "env_id": RELEASE}))).await, 404, "APIG.3001", None);
    let bad_retry = {
        let mut b = http_api(&group, "bad_retry", "/bad", &echo);
        b["backend_api"]["retry_count"] = json!("often");
        b
    };
    assert_error(&v2(&s, "POST", "/apis", Some(&bad_retry)).await, 400, "APIG.2012", Some("backend_api.retry_count"));
}

/// Huawei's official Python SDK (`huaweicloudsdkapig`, V2 clients) drives a
/// whole workflow with only an endpoint, a project id and an access key:
/// groups, environments and variables, APIs of the three backend types,
/// publishing, versions and switching, an app, its AppCodes and
/// authorization, throttling, access-control and signature-key policies,
/// lists and details, deletes, and its `ClientRequestException`s carrying
/// the APIG codes.
#[tokio::test]
async fn the_official_python_sdk_drives_a_workflow() {
    let Some(python) = common::service("CAUSEWAY_TEST_PYTHON_SIGNERS") else { return };
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let (status, f) = s.post("/functions", &json!({"name": "sdk_fn", "code": "exports.handler = () => ({statusCode: 200, body: 'fn'});"})).await;
    assert_eq!(status, 201, "{f}");
    let file = std::fs::read_to_string(s.data_dir.path().join("admin-access-key")).unwrap();
    let mut lines = file.lines();
    let (ak, sk) = (lines.next().unwrap().to_string(), lines.next().unwrap().to_string());
    let script = format!("{}/../../tests/signers/apig_sdk_workflow.py", env!("CARGO_MANIFEST_DIR"));
    let args = [script, s.admin.clone(), PROJECT.to_string(), "causeway".into(), ak, sk, echo.address(), f["urn"].as_str().unwrap().to_string()];
    let out = tokio::task::spawn_blocking(move || std::process::Command::new(python).args(&args).output().expect("python")).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value = serde_json::from_slice(&out.stdout).expect("JSON from the workflow");

    assert_eq!(seen["instances"], json!(["causeway"]));
    assert_eq!(seen["group"]["name"], "sdk_group");
    let group = seen["group"]["id"].as_str().unwrap();
    assert_eq!(seen["published"].as_array().unwrap().len(), 3, "{seen}");
    assert_eq!(seen["auths"], 1);
    assert_eq!(seen["lists"], json!({"groups": 1, "apis": 3, "apis_page": 2, "apps": 1, "envs": ["RELEASE", "SDK_ENV"]}));
    assert_eq!(seen["shown_api"], json!({"name": "sdk_http", "backend_type": "HTTP", "url_domain": echo.address(), "retry_count": "-1"}));
    assert_eq!(seen["shown_app"], "sdk_app");
    assert_eq!(seen["variable"], json!({"listed": 1, "value": "10.0.0.2"}));
    assert_eq!(seen["app_codes"], json!({"made": 64, "listed": 1}));
    assert_eq!(seen["versions"], json!({"total": 2, "switched_to_first": true}));
    assert_eq!((seen["bound_apps"].as_u64(), seen["bound_after_cancel"].as_u64()), (Some(1), Some(0)));
    assert_eq!(seen["unbound_apis"], json!(["sdk_function"]), "the APP APIs the app is not authorized for");
    assert_eq!(seen["policies"], json!({"throttles": 1, "acls": 1, "signs": 1}));
    for (case, status, code) in [
        ("bad_name", 400, "APIG.2011"),
        ("missing_api", 404, "APIG.3002"),
        ("published_api_delete", 403, "APIG.3416"),
        ("group_with_apis", 403, "APIG.3415"),
        ("other_instance", 404, "APIG.3030"),
    ] {
        assert_eq!((seen[case]["status"].as_u64(), seen[case]["code"].as_str()), (Some(status), Some(code)), "{case}: {}", seen[case]);
        assert_eq!(seen[case]["request_id"].as_str().map(str::len), Some(32), "{case}: the SDK reads X-Request-Id");
    }
    assert_eq!(seen["after_delete"], json!({"apis": 2, "apps": 0}));

    // What the SDK made is stored and served: seen through v1.0 and called through the gateway.
    let (_, through_v1) = s.get(&format!("/apis?group_id={group}")).await;
    assert_eq!(through_v1["total"], 2, "{through_v1}");
    let host = Server::group_host(group);
    let mocked = s.call_gateway("GET", &host, "/sdk/mock", &[]).await;
    assert_eq!((mocked.status, mocked.body.as_str()), (200, r#"{"from":"mock"}"#));
    let function = s.call_gateway("GET", &host, "/sdk/function", &[]).await;
    assert_eq!(function.status, 401, "an APP API without credentials: {}", function.body);
    // Every SDK write is in the audit log under the bootstrap access key, by its V2 path.
    let (_, log) = s.get("/audit-logs?credential=bootstrap&page_size=100").await;
    let v2_writes = log["audit_logs"].as_array().unwrap().iter().filter(|e| e["path"].as_str().unwrap().starts_with(&format!("/v2/{PROJECT}/apigw/instances/causeway/"))).count();
    assert!(v2_writes >= 12, "{log}");
}

/// The same scenario through every family — v1.0, the dedicated V1
/// (`/v1/{project_id}/apigw/instances/…`), V2 and ROMA Connect's APIC
/// (`/v1|v2/{project_id}/apic/instances/…`) — stores the same result.
#[tokio::test]
async fn every_family_stores_the_same_result() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let group = s.group("families").await;
    let prefixes = [
        ("v1.0", "/v1.0/apigw".to_string()),
        ("dedicated V1", format!("/v1/{PROJECT}/apigw/instances/causeway")),
        ("V2", format!("/v2/{PROJECT}/apigw/instances/causeway")),
        ("ROMA V1", format!("/v1/{PROJECT}/apic/instances/causeway")),
        ("ROMA V2", format!("/v2/{PROJECT}/apic/instances/causeway")),
    ];
    let mut stored = Vec::new();
    for (i, (family, prefix)) in prefixes.iter().enumerate() {
        let mut body = http_api(&group, &format!("family_api_{i}"), &format!("/family/{i}"), &echo);
        body["backend_api"]["retry_count"] = json!(-1);
        let res = s.http.post(format!("{}{prefix}/apis", s.admin)).header("X-Auth-Token", TOKEN).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{family}");
        let made: Value = res.json().await.unwrap();
        let (_, read) = s.get(&format!("/apis/{}", made["id"].as_str().unwrap())).await;
        let mut read = read;
        for k in ["id", "name", "req_uri", "register_time", "update_time"] {
            read.as_object_mut().unwrap().remove(k);
        }
        for section in ["backend_api"] {
            for k in ["id", "register_time", "update_time"] {
                read[section].as_object_mut().unwrap().remove(k);
            }
        }
        for list in ["req_params", "backend_params"] {
            for p in read[list].as_array_mut().unwrap() {
                p.as_object_mut().unwrap().remove("id");
                p.as_object_mut().unwrap().remove("req_param_id");
            }
        }
        stored.push((family, read));
        // Each family lists with its own paging: page numbers for v1.0 and the dedicated V1, offsets for the others.
        let query = if prefix.starts_with("/v1.0") || prefix.contains("/apigw/instances") && prefix.starts_with("/v1/") { "page_no=1&page_size=1" } else { "offset=0&limit=1" };
        let listed: Value = s.http.get(format!("{}{prefix}/apis?group_id={group}&{query}", s.admin)).header("X-Auth-Token", TOKEN).send().await.unwrap().json().await.unwrap();
        assert_eq!((listed["total"].as_u64(), listed["size"].as_u64()), (Some(i as u64 + 1), Some(1)), "{family}: {listed}");
    }
    for (family, read) in &stored[1..] {
        assert_eq!(read, &stored[0].1, "{family} stored what v1.0 stored");
    }
    // ROMA's and V2's wider names, refused by v1.0 and the dedicated V1.
    for (i, (family, prefix)) in prefixes.iter().enumerate() {
        let res = s.http.post(format!("{}{prefix}/api-groups", s.admin)).header("X-Auth-Token", TOKEN).json(&json!({"name": format!("wide-name.{i}")})).send().await.unwrap();
        let wide = !(prefix.starts_with("/v1.0") || prefix.starts_with("/v1/") && prefix.contains("/apigw/"));
        assert_eq!(res.status().as_u16(), if wide { 201 } else { 400 }, "{family}");
        // ROMA refuses `<>` in remarks; the others take them.
        let res = s.http.post(format!("{}{prefix}/api-groups", s.admin)).header("X-Auth-Token", TOKEN).json(&json!({"name": format!("remarked_{i}"), "remark": "a <b> c"})).send().await.unwrap();
        assert_eq!(res.status().as_u16(), if prefix.contains("/apic/") { 400 } else { 201 }, "{family}");
    }
}

#[tokio::test]
async fn v2_api_lists_are_brief_unless_asked_and_filter_as_the_sdk_does() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let group = s.group("listed").await;
    let (status, ch) = s.post("/vpc-channels", &json!({"name": "listed_channel", "port": 8080, "balance_strategy": 1, "member_type": "ip", "type": 2,
        "vpc_instances": [{"host": "127.0.0.1", "port": 8081, "weight": 1}]})).await;
    assert_eq!(status, 201, "{ch}");
    let mut tagged = http_api(&group, "tagged_api", "/tagged", &echo);
    tagged["tags"] = json!(["orders", "beta"]);
    tagged["req_protocol"] = json!("HTTP");
    let tagged_id = s.create_and_publish(&tagged, RELEASE).await;
    let mut channelled = http_api(&group, "channelled_api", "/channelled", &echo);
    channelled["type"] = json!(2);
    channelled["backend_api"] = json!({"vpc_channel_status": 1, "vpc_channel_info": {"vpc_channel_id": ch["id"]}, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/x", "timeout": 1000});
    let (status, made) = s.post("/apis", &channelled).await;
    assert_eq!(status, 201, "{made}");

    let names = |list: &Value| -> Vec<String> { list["apis"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap().to_string()).collect() };
    let (_, brief) = v2(&s, "GET", &format!("/apis?group_id={group}"), None).await;
    assert_eq!(brief["total"], 2, "{brief}");
    for item in brief["apis"].as_array().unwrap() {
        for absent in ["backend_api", "api_group_info", "backend_params", "policy_https", "func_info", "mock_info"] {
            assert!(item.get(absent).is_none(), "{absent} in a brief item: {item}");
        }
        assert!(item["req_params"].is_array() || item.get("req_params").is_none());
    }
    let (_, with_group) = v2(&s, "GET", &format!("/apis?group_id={group}&return_data_mode=include_group"), None).await;
    let info = &with_group["apis"][0]["api_group_info"];
    assert_eq!(info["id"], group.as_str(), "{with_group}");
    assert_eq!(info["name"], "listed");
    assert_eq!(info["sl_domain_access_enabled"], true);
    assert!(with_group["apis"][0].get("backend_api").is_none());
    let (_, full) = v2(&s, "GET", &format!("/apis?group_id={group}&return_data_mode=include_group_backend"), None).await;
    assert!(full["apis"][0]["backend_api"]["req_uri"].is_string(), "{full}");
    // The v1.0 list is unchanged: whole definitions.
    let (_, v1) = s.get(&format!("/apis?group_id={group}")).await;
    assert!(v1["apis"][0]["backend_api"].is_object() && v1["apis"][0].get("api_group_info").is_none(), "{v1}");

    // The SDK's filters.
    for (q, expected) in [
        (format!("env_id={RELEASE}"), "tagged_api"),
        ("tags=beta".into(), "tagged_api"),
        ("tags=%23no_tags%23".into(), "channelled_api"),
        ("req_protocol=http".into(), "tagged_api"),
        ("type=2".into(), "channelled_api"),
        ("vpc_channel_name=listed_channel".into(), "channelled_api"),
    ] {
        let (_, found) = v2(&s, "GET", &format!("/apis?group_id={group}&{q}"), None).await;
        assert_eq!(names(&found), [expected], "{q}: {found}");
    }
    assert_error(&v2(&s, "GET", "/apis?type=x", None).await, 400, "APIG.2011", Some("type"));

    // A V2 detail carries its group.
    let (_, detail) = v2(&s, "GET", &format!("/apis/{tagged_id}"), None).await;
    assert_eq!(detail["api_group_info"]["name"], "listed", "{detail}");
    assert_eq!(detail["backend_api"]["req_uri"], "/seen", "{detail}");
    let (_, v1_detail) = s.get(&format!("/apis/{tagged_id}")).await;
    assert!(v1_detail.get("api_group_info").is_none());
}
