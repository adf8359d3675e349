//! OpenAPI (Swagger) import and export against the real server: public
//! specs become working mock APIs; export then import reproduces every
//! stored field of a group that uses every feature; bad documents get a
//! clear error and import nothing.
#![recursion_limit = "256"]

mod common;

use common::{Server, TOKEN, assert_error, tls};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const PROJECT: &str = "0f3c2e9b8a7d4e1f9c2b3a4d5e6f7a8b";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../../tests/fixtures/openapi/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// A raw-body v1.0 call (`/openapi` takes the document itself as the body).
async fn raw(s: &Server, method: &str, path: &str, body: Vec<u8>) -> (u16, Value, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let res = s.http.request(method, s.url(path)).header("X-Auth-Token", TOKEN).body(body).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), headers, text)
}

/// V2's multipart import.
async fn import_v2(s: &Server, fields: &[(&str, &str)], file: Vec<u8>) -> (u16, Value) {
    let mut form = reqwest::multipart::Form::new().part("file_name", reqwest::multipart::Part::bytes(file).file_name("api.yaml"));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let url = format!("{}/v2/{PROJECT}/apigw/instances/causeway/openapi/import", s.admin);
    let res = s.http.post(url).header("X-Auth-Token", TOKEN).multipart(form).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// V2's export: the document text.
async fn export_v2(s: &Server, oas: &str, body: &Value) -> (u16, String, reqwest::header::HeaderMap) {
    let url = format!("{}/v2/{PROJECT}/apigw/instances/causeway/openapi/export?oas_version={oas}", s.admin);
    let res = s.http.post(url).header("X-Auth-Token", TOKEN).header("Content-Type", "application/json").body(body.to_string()).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, res.text().await.unwrap(), headers)
}

fn assert_all_imported(result: &Value, operations: usize) {
    assert_eq!(result["failure"], json!([]), "{result}");
    assert_eq!(result["success"].as_array().map(Vec::len), Some(operations), "{result}");
    assert_eq!(result["swagger"]["result"], "Success");
    for s in result["success"].as_array().unwrap() {
        assert_eq!(s["action"], "create");
        assert_eq!(s["id"].as_str().map(str::len), Some(32), "{s}");
    }
}

#[tokio::test]
async fn public_specs_become_working_mock_apis() {
    let s = Server::start().await;

    // Swagger 2.0 Petstore as the v1.0 body, published as it is imported.
    let (status, result, _, _) = raw(&s, "POST", "/openapi?publish_env_id=DEFAULT_ENVIRONMENT_RELEASE_ID", fixture("petstore-swagger2.json")).await;
    assert_eq!(status, 200, "{result}");
    assert_all_imported(&result, 20);
    let group = result["group_id"].as_str().unwrap().to_string();
    let (_, g) = s.get(&format!("/api-groups/{group}")).await;
    assert_eq!(g["name"], "Swagger_Petstore", "{g}");
    let host = Server::group_host(&group);
    let pet = s.eventually("GET", &host, "/v2/pet/7", &[], |c| c.status == 200).await;
    assert_eq!(pet.json()["name"], "doggie", "{}", pet.body);
    assert_eq!(pet.header("content-type"), "application/json");
    let order = s.call_gateway("POST", &host, "/v2/store/order", &[]).await;
    assert_eq!(order.status, 200, "{}", order.body);
    // Parameters are checked as the spec declares them.
    let bad = s.call_gateway("GET", &host, "/v2/store/order/11", &[]).await;
    assert_eq!(bad.status, 400, "orderId maximum is 10: {}", bad.body);

    // OpenAPI 3.0 Petstore as YAML through V2's multipart form.
    let (status, result) = import_v2(&s, &[("is_create_group", "true"), ("publish_env_id", RELEASE)], fixture("petstore-openapi3.yaml")).await;
    assert_eq!(status, 200, "{result}");
    assert_all_imported(&result, 19);
    let host = Server::group_host(result["group_id"].as_str().unwrap());
    let inventory = s.eventually("GET", &host, "/api/v3/pet/findByStatus?status=sold", &[], |c| c.status == 200).await;
    assert_eq!(inventory.json()[0]["name"], "doggie", "{}", inventory.body);

    // A larger public API (Slack's Web API, 174 operations): every mock answers its documented example.
    let (status, result, _, _) = raw(&s, "POST", "/openapi?publish_env_id=DEFAULT_ENVIRONMENT_RELEASE_ID", fixture("slack-web-api-swagger2.json")).await;
    assert_eq!(status, 200, "{result}");
    assert_all_imported(&result, 174);
    let host = Server::group_host(result["group_id"].as_str().unwrap());
    let spec: Value = serde_json::from_slice(&fixture("slack-web-api-swagger2.json")).unwrap();
    // Slack's document says `schemes: [https]`: its APIs answer over HTTPS only.
    let plain = s.eventually("GET", &host, "/api/api.test", &[], |c| c.status != 404).await;
    assert_eq!(plain.json()["error_code"], "APIG.0607", "{}", plain.body);
    let expected = &spec["paths"]["/api.test"]["get"]["responses"]["200"]["examples"]["application/json"];
    let answer = tls::get(s.gateway_tls, &host, "/api/api.test", &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(&answer.json(), expected, "{}", answer.body);
    let expected = &spec["paths"]["/chat.postMessage"]["post"]["responses"]["200"]["examples"]["application/json"];
    let stream = tls::connect(s.gateway_tls, Some(&host), tls::any_cert(&[b"http/1.1"])).await.unwrap();
    let mut h1 = tls::http1(stream).await;
    // Its required form field is checked as the document declares it.
    let missing = tls::answer(h1.send_request(tls::request("POST", &host, "/api/chat.postMessage", &[("token", "xoxb-1")])).await.unwrap()).await;
    assert_eq!((missing.status, missing.json()["error_code"].as_str()), (400, Some("APIG.0201")), "{}", missing.body);
    let form = http::Request::builder()
        .method("POST")
        .uri("/api/chat.postMessage")
        .header("host", &host)
        .header("token", "xoxb-1")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"channel=C1H9RESGL&text=hi")))
        .unwrap();
    let answer = tls::answer(h1.send_request(form).await.unwrap()).await;
    assert_eq!(&answer.json(), expected, "{}", answer.body);

    // Importing the same file into its group again: merge keeps every API, override updates them.
    let group = result["group_id"].as_str().unwrap();
    let (_, merged, _, _) = raw(&s, "PUT", &format!("/openapi?group_id={group}&mode=merge"), fixture("slack-web-api-swagger2.json")).await;
    assert_eq!(merged["ignore"].as_array().map(Vec::len), Some(174), "{merged}");
    assert_eq!(merged["success"], json!([]));
    let (_, overridden, _, _) = raw(&s, "PUT", &format!("/openapi?group_id={group}&mode=override"), fixture("slack-web-api-swagger2.json")).await;
    assert_eq!(overridden["success"].as_array().map(Vec::len), Some(174), "{overridden}");
    assert!(overridden["success"].as_array().unwrap().iter().all(|s| s["action"] == "update"));
}

/// Every feature an API can use, in one group; published, with policies bound.
async fn rich_group(s: &Server) -> (String, Vec<String>) {
    let g = s.group("rich_source").await;
    let (status, f) = s.post("/functions", &json!({"name": "gate", "code": "exports.handler = () => ({status: 'allow', context: {user: 'u1'}});"})).await;
    assert_eq!(status, 201, "{f}");
    let urn = f["urn"].as_str().unwrap().to_string();
    let (status, auth) = s.post("/authorizers", &json!({"name": "rich_gate", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": urn, "ttl": 10,
        "identities": [{"name": "Authorization", "location": "HEADER"}], "user_data": "x"})).await;
    assert_eq!(status, 201, "{auth}");
    let (status, back_auth) = s.post("/authorizers", &json!({"name": "rich_backend_gate", "type": "BACKEND", "authorizer_type": "FUNC", "authorizer_uri": urn, "ttl": 0})).await;
    assert_eq!(status, 201, "{back_auth}");
    let (status, ch) = s.post("/vpc-channels", &json!({"name": "rich_channel", "port": 8080, "balance_strategy": 1, "member_type": "ip", "type": 2,
        "vpc_instances": [{"host": "127.0.0.1", "port": 8081, "weight": 1}]})).await;
    assert_eq!(status, 201, "{ch}");
    let (status, resp) = s.post(&format!("/api-groups/{g}/gateway-responses"), &json!({"name": "rich_responses",
        "responses": {"AUTH_FAILURE": {"status": 401, "body": "{\"m\":\"$context.error.message\"}", "headers": [{"key": "X-A", "value": "1"}]}}})).await;
    assert_eq!(status, 201, "{resp}");
    let (status, app) = s.post("/apps", &json!({"name": "rich_app"})).await;
    assert_eq!(status, 201, "{app}");
    let (status, throttle) = s.post("/throttles", &json!({"name": "rich_throttle", "api_call_limits": 100, "user_call_limits": 50, "app_call_limits": 20,
        "ip_call_limits": 10, "time_interval": 1, "time_unit": "MINUTE", "type": 2, "remark": "for rich"})).await;
    assert_eq!(status, 201, "{throttle}");
    let (status, special) = s.post("/throttle-specials", &json!({"strategy_id": throttle["id"], "instance_id": app["id"], "instance_type": "APP", "call_limits": 7})).await;
    assert_eq!(status, 201, "{special}");
    let (status, acl) = s.post("/acls", &json!({"acl_name": "rich_acl", "acl_type": "DENY", "entity_type": "IP", "acl_value": "10.0.0.0/8,192.168.0.1"})).await;
    assert_eq!(status, 201, "{acl}");
    let channel = ch["id"].as_str().unwrap();
    let bodies = vec![
        json!({
          "group_id": g, "name": "http_api", "type": 1, "version": "V1.2.3", "req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/a/{id}",
          "auth_type": "APP", "auth_opt": {"app_code_auth_type": "HEADER"}, "backend_type": "HTTP", "cors": true, "remark": "the HTTP one",
          "tags": ["orders", "APIG-SN-shop"], "tag": "legacy", "result_normal_sample": "{\"ok\":1}", "result_failure_sample": "{\"ok\":0}",
          "response_id": resp["id"],
          "req_params": [
            {"name": "id", "type": "STRING", "location": "PATH", "min_size": 1, "max_size": 32, "regular": "^[a-z0-9]+$", "remark": "the id", "sample_value": "abc"},
            {"name": "q", "type": "NUMBER", "location": "QUERY", "default_value": "3", "min_num": 1, "max_num": 9, "required": 1, "pass_through": 2},
            {"name": "n", "type": "INT", "location": "QUERY", "enumerations": "1,2,3", "valid_enable": 2},
            {"name": "l", "type": "LONG", "location": "QUERY", "json_schema": "{\"type\":\"integer\"}"},
            {"name": "fl", "type": "FLOAT", "location": "QUERY"}, {"name": "d", "type": "DOUBLE", "location": "QUERY"},
            {"name": "b", "type": "BOOLEAN", "location": "HEADER", "default_value": "true", "valid_enable": 1}
          ],
          "backend_api": {"url_domain": "10.0.0.5:8080", "req_protocol": "HTTP", "req_method": "ANY", "req_uri": "/b/{bid}", "timeout": 4000, "retry_count": 2, "remark": "back"},
          "backend_params": [
            {"name": "bid", "location": "PATH", "origin": "REQUEST", "value": "id", "remark": "mapped"},
            {"name": "X-Src", "location": "HEADER", "origin": "SYSTEM", "value": "$context.sourceIp"},
            {"name": "fixed", "location": "QUERY", "origin": "CONSTANT", "value": "yes"}
          ],
          "policy_https": [{"name": "pol_vpc", "effect_mode": "ANY", "req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/p/{bid}", "timeout": 3000, "retry_count": 1,
              "vpc_channel_status": 1, "vpc_channel_info": {"vpc_channel_id": channel, "vpc_channel_proxy_host": "inner.example.com"}, "enable_client_ssl": true,
              "backend_params": [{"name": "bid", "location": "PATH", "origin": "REQUEST", "value": "id"}],
              "conditions": [{"condition_origin": "param", "req_param_name": "q", "condition_type": "enum", "condition_value": "1,2,3"},
                             {"condition_origin": "source", "condition_value": "10.0.0.0/8"},
                             {"condition_origin": "system", "sys_param_name": "req_method", "condition_type": "exact", "condition_value": "GET"},
                             {"condition_origin": "cookie", "cookie_param_name": "beta", "condition_type": "pattern", "condition_value": "^1$"}]}]
        }),
        json!({
          "group_id": g, "name": "mock_api", "type": 2, "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/m", "auth_type": "IAM", "backend_type": "MOCK",
          "content_type": "application/json", "is_send_fg_body_base64": false, "body_remark": "a JSON order",
          "mock_info": {"result_content": "{\"ok\":true}", "status_code": 201, "header": [{"key": "X-A", "value": "1"}], "remark": "mocked", "version": "2.0"},
          "req_params": [{"name": "h", "type": "STRING", "location": "HEADER"}, {"name": "field", "type": "STRING", "location": "BODY", "required": 1}],
          "policy_mocks": [{"name": "pol_mock", "effect_mode": "ALL", "result_content": "p", "status_code": 202, "header": [{"key": "X-P", "value": "2"}],
              "conditions": [{"condition_origin": "system", "sys_param_name": "req_path", "condition_type": "pattern", "condition_value": "^/m"}]}]
        }),
        json!({
          "group_id": g, "name": "func_api", "type": 1, "req_method": "ANY", "req_uri": "/f", "match_mode": "SWA", "auth_type": "AUTHORIZER",
          "authorizer_id": auth["id"], "backend_type": "FUNCTION",
          "func_info": {"function_urn": urn, "invocation_type": "sync", "timeout": 100, "network_type": "V2", "remark": "fn"},
          "policy_functions": [{"name": "pol_fn", "effect_mode": "ANY", "function_urn": urn, "invocation_type": "async", "timeout": 50,
              "conditions": [{"condition_origin": "frontend_authorizer", "frontend_authorizer_param_name": "$context.authorizer.frontend.user", "condition_type": "exact", "condition_value": "u1"}]}]
        }),
        json!({
          "group_id": g, "name": "ws_api", "type": 1, "req_protocol": "BOTH", "frontend_type": "WEBSOCKET", "req_method": "GET", "req_uri": "/ws",
          "auth_type": "NONE", "backend_type": "HTTP",
          "backend_api": {"url_domains": [{"url_domain": "10.0.0.6:80", "weight": 3}, {"url_domain": "10.0.0.7:80", "weight": 1}], "req_protocol": "HTTP",
              "req_method": "GET", "req_uri": "/ws", "timeout": 60000, "http2": true, "authorizer_id": back_auth["id"]}
        }),
    ];
    let mut names = vec![];
    for body in &bodies {
        let id = s.create_and_publish(body, RELEASE).await;
        names.push(body["name"].as_str().unwrap().to_string());
        let (_, history) = s.get(&format!("/apis/publish/{id}")).await;
        let publish_id = history["api_versions"][0]["publish_id"].as_str().map(str::to_string);
        let (_, published) = s.get(&format!("/apis/{id}")).await;
        let publish_id = publish_id.or_else(|| published["publish_id"].as_str().map(str::to_string)).unwrap();
        if body["name"] == "http_api" {
            let (status, b) = s.post("/throttle-bindings", &json!({"strategy_id": throttle["id"], "publish_ids": [publish_id]})).await;
            assert_eq!(status, 201, "{b}");
        }
        if body["name"] == "mock_api" {
            let (status, b) = s.post("/acl-bindings", &json!({"acl_id": acl["id"], "publish_ids": [publish_id]})).await;
            assert_eq!(status, 201, "{b}");
        }
    }
    (g, names)
}

/// A group's published APIs by name, without what differs between two
/// copies (ids, times, the group), with the gateway response by name and
/// the bound policies by name.
async fn published_definitions(s: &Server, group: &str) -> Vec<(String, Value)> {
    let (_, list) = s.get(&format!("/apis?group_id={group}&page_size=500")).await;
    let (_, responses) = s.get(&format!("/api-groups/{group}/gateway-responses")).await;
    let mut out = vec![];
    for api in list["apis"].as_array().unwrap() {
        let id = api["id"].as_str().unwrap();
        let (_, history) = s.get(&format!("/apis/publish/{id}")).await;
        let version_id = history["api_versions"][0]["version_id"].as_str().unwrap().to_string();
        let (_, mut v) = s.get(&format!("/apis/versions/{version_id}")).await;
        if let Some(rid) = v["response_id"].as_str() {
            let name = responses["responses"].as_array().unwrap().iter().find(|r| r["id"] == rid).map(|r| r["name"].clone());
            v["response_id"] = name.unwrap_or(Value::Null);
        }
        let (_, throttles) = s.get(&format!("/throttle-bindings/binded-throttles?api_id={id}")).await;
        v["bound_throttles"] = json!(throttles["throttles"].as_array().unwrap().iter().map(|t| t["name"].clone()).collect::<Vec<_>>());
        let (_, acls) = s.get(&format!("/acl-bindings/binded-acls?api_id={id}")).await;
        v["bound_acls"] = json!(acls["acls"].as_array().unwrap().iter().map(|a| a["acl_name"].clone()).collect::<Vec<_>>());
        strip(&mut v);
        out.push((api["name"].as_str().unwrap().to_string(), v));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Removes what is generated per copy: ids, times, group and publication fields.
fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in [
                "id", "group_id", "group_name", "register_time", "update_time", "req_param_id", "version_id", "version_no", "publish_time",
                "publish_id", "api_id", "env_id", "env_name", "run_env_id", "run_env_name", "sl_domain", "sl_domains", "version_status", "remark_version",
            ] {
                m.remove(k);
            }
            for c in m.values_mut() {
                strip(c);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(strip),
        _ => {}
    }
}

#[tokio::test]
async fn export_then_import_reproduces_every_field() {
    let s = Server::start().await;
    let (source, names) = rich_group(&s).await;
    let original = published_definitions(&s, &source).await;
    assert_eq!(original.len(), names.len());
    // What is compared holds the whole definition (not an empty shell).
    let http_api = &original.iter().find(|(n, _)| n == "http_api").unwrap().1;
    for pointer in ["/policy_https/0/vpc_info/vpc_proxy_host", "/req_params/6/type", "/backend_params/2/value", "/auth_opt/app_code_auth_type", "/response_id", "/bound_throttles/0"] {
        assert!(http_api.pointer(pointer).is_some_and(|v| !v.is_null()), "{pointer} missing in {http_api}");
    }

    let exports = [
        ("v1.0 Swagger 2.0 YAML", {
            let (status, _, headers, text) = raw(&s, "GET", &format!("/openapi?group_id={source}&env_id={RELEASE}&define=all&type=yaml"), vec![]).await;
            assert_eq!(status, 200, "{text}");
            assert_eq!(headers["content-type"], "application/yaml");
            assert!(headers["content-disposition"].to_str().unwrap().contains("rich_source-RELEASE-all-"), "{headers:?}");
            text
        }),
        ("V2 OpenAPI 3.0 JSON", {
            let (status, text, _) = export_v2(&s, "3.0", &json!({"group_id": source, "env_id": RELEASE, "define": "ALL", "type": "json"})).await;
            assert_eq!(status, 200, "{text}");
            // Authorizers travel with the document: frontends' as security schemes, backends' beside them.
            let doc: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(doc["components"]["securitySchemes"]["rich_gate"]["x-apigateway-authorizer"]["type"], "FRONTEND", "{text}");
            assert_eq!(doc["x-causeway-authorizers"]["rich_backend_gate"]["type"], "BACKEND", "{text}");
            text
        }),
    ];
    for (i, (what, text)) in exports.iter().enumerate() {
        let target = s.group(&format!("rich_copy_{i}")).await;
        let (status, result, _, _) = raw(&s, "PUT", &format!("/openapi?group_id={target}&mode=merge&publish_env_id={RELEASE}"), text.as_bytes().to_vec()).await;
        assert_eq!(status, 200, "{what}: {result}");
        assert_eq!(result["failure"], json!([]), "{what}: {result}\n{text}");
        assert_eq!(result["success"].as_array().map(Vec::len), Some(names.len()), "{what}: {result}");
        let copy = published_definitions(&s, &target).await;
        for ((name, a), (_, b)) in original.iter().zip(copy.iter()) {
            assert_eq!(a, b, "{what}: {name} differs\noriginal: {a}\ncopy:     {b}\ndocument:\n{text}");
        }
    }

    // `base` leaves backends out: the copy answers as mocks; `full` has no policies.
    let (_, _, _, base) = raw(&s, "GET", &format!("/openapi?group_id={source}&env_id={RELEASE}"), vec![]).await;
    let doc: Value = serde_json::from_str(&base).unwrap();
    assert_eq!(doc["swagger"], "2.0");
    assert!(doc["paths"]["/a/{id}"]["get"].get("x-apigateway-backend").is_none(), "{base}");
    let (_, _, _, full) = raw(&s, "GET", &format!("/openapi?group_id={source}&env_id={RELEASE}&define=full"), vec![]).await;
    let doc: Value = serde_json::from_str(&full).unwrap();
    assert_eq!(doc["paths"]["/a/{id}"]["get"]["x-apigateway-backend"]["type"], "HTTP");
    assert!(doc.get("x-apigateway-ratelimits").is_none(), "{full}");
    // Selected APIs only.
    let (_, list) = s.get(&format!("/apis?group_id={source}&name=mock_api")).await;
    let (status, _, _, one) = raw(&s, "POST", &format!("/openapi/apis?env_id={RELEASE}&define=full"), json!([list["apis"][0]["id"]]).to_string().into_bytes()).await;
    assert_eq!(status, 200, "{one}");
    let doc: Value = serde_json::from_str(&one).unwrap();
    assert_eq!(doc["paths"].as_object().unwrap().keys().collect::<Vec<_>>(), ["/m"]);
    // Drafts (`dev`) need no environment.
    let (status, text, _) = export_v2(&s, "2.0", &json!({"group_id": source, "define": "dev"})).await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn bad_documents_are_refused_whole_or_per_api() {
    let s = Server::start().await;
    let g = s.group("bad_docs").await;
    let path = format!("/openapi?group_id={g}&mode=merge");
    let put = |body: &str| raw(&s, "PUT", &path, body.as_bytes().to_vec());
    let err = |r: (u16, Value, reqwest::header::HeaderMap, String)| (r.0, r.1);
    assert_error(&err(put("").await), 400, "APIG.3609", None);
    assert_error(&err(put("{\"swagger\": \"2.0\", ").await), 400, "APIG.3600", None);
    assert_error(&err(put("swagger: '2.0'\npaths: [1, 2\n").await), 400, "APIG.3600", None);
    assert_error(&err(put("{\"swagger\": \"1.2\", \"paths\": {}}").await), 400, "APIG.3602", None);
    assert_error(&err(put("{\"swagger\": \"2.0\", \"paths\": 5}").await), 400, "APIG.3602", None);
    assert_error(&err(put("[1, 2]").await), 400, "APIG.3602", None);
    assert_error(&err(raw(&s, "PUT", "/openapi?group_id=0123456789abcdef0123456789abcdef&mode=merge", b"{\"swagger\":\"2.0\",\"paths\":{}}".to_vec()).await), 404, "APIG.3001", None);
    assert_error(&err(raw(&s, "PUT", &format!("/openapi?group_id={g}&mode=replace"), b"{}".to_vec()).await), 400, "APIG.2011", Some("mode"));

    // 10,000 paths: refused as a whole, nothing created.
    let mut paths = serde_json::Map::new();
    for i in 0..10_000 {
        paths.insert(format!("/p{i}"), json!({"get": {"responses": {"200": {"description": "ok"}}}}));
    }
    let huge = json!({"swagger": "2.0", "info": {"title": "huge"}, "paths": paths}).to_string();
    let (status, body, _, _) = put(&huge).await;
    assert_error(&(status, body.clone()), 400, "APIG.3603", None);
    assert!(body["error_msg"].as_str().unwrap().contains("10000 operations"), "{body}");
    let (_, apis) = s.get(&format!("/apis?group_id={g}")).await;
    assert_eq!(apis["total"], 0);

    // Per-API failures name what failed; the good APIs are imported.
    let doc = json!({
      "swagger": "2.0", "info": {"title": "mixed"},
      "parameters": {"loop": {"$ref": "#/parameters/loop2"}, "loop2": {"$ref": "#/parameters/loop"}},
      "paths": {
        "/good": {"get": {"operationId": "good_one", "responses": {"200": {"description": "ok", "examples": {"application/json": {"a": 1}}}}}},
        "/cycle": {"get": {"parameters": [{"$ref": "#/parameters/loop"}], "responses": {}}},
        "/external": {"get": {"parameters": [{"$ref": "other.yaml#/p"}], "responses": {}}},
        "/bad-backend": {"get": {"x-apigateway-backend": {"type": "HTTP", "httpEndpoints": {"address": "not a host", "scheme": "http", "method": "GET", "path": "/"}}}},
        "/bad-param/{x}": {"get": {"parameters": [{"name": "x", "in": "path", "required": true, "type": "string"}, {"name": "9bad", "in": "query", "type": "string"}]}},
        "/then-dup": {"get": {"operationId": "good_one"}},
        "/unknown": {"get": {"x-apigateway-something-new": {"a": 1}, "x-vendor": true}}
      }
    });
    let (status, result, _, _) = put(&doc.to_string()).await;
    assert_eq!(status, 200, "{result}");
    let failed = |path: &str| result["failure"].as_array().unwrap().iter().find(|f| f["path"] == path).cloned().unwrap_or(Value::Null);
    assert_eq!(failed("/cycle")["error_code"], "APIG.3602", "{result}");
    assert!(failed("/cycle")["error_msg"].as_str().unwrap().contains("itself"), "{result}");
    assert_eq!(failed("/external")["error_code"], "APIG.3602", "{result}");
    assert_eq!(failed("/bad-backend")["error_code"], "APIG.2024", "{result}");
    assert!(failed("/bad-param/{x}")["error_msg"].as_str().unwrap().contains("req_params[1].name"), "{result}");
    assert_eq!(failed("/then-dup")["error_code"], "APIG.3202", "{result}");
    let imported: Vec<&str> = result["success"].as_array().unwrap().iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(imported, ["/good", "/unknown"], "{result}");
    assert_eq!(result["swagger"]["result"], "Failure");

    // v1.0 new-group import: the title names the group; taken → 3201, nothing imported.
    let (status, created, _, _) = raw(&s, "POST", "/openapi", b"{\"swagger\":\"2.0\",\"info\":{\"title\":\"fresh_group\"},\"paths\":{}}".to_vec()).await;
    assert_eq!(status, 200, "{created}");
    let again = raw(&s, "POST", "/openapi", b"{\"swagger\":\"2.0\",\"info\":{\"title\":\"fresh_group\"},\"paths\":{}}".to_vec()).await;
    assert_error(&(again.0, again.1), 400, "APIG.3201", None);
    // V2: a form without the file, or an existing-group import without the group.
    assert_error(&import_v2(&s, &[("is_create_group", "false")], b"{}".to_vec()).await, 400, "APIG.2001", Some("group_id"));
    assert_error(&import_v2(&s, &[("is_create_group", "maybe")], b"{}".to_vec()).await, 400, "APIG.2011", Some("is_create_group"));
    let url = format!("{}/v2/{PROJECT}/apigw/instances/causeway/openapi/import", s.admin);
    let not_a_form = s.http.post(url).header("X-Auth-Token", TOKEN).header("Content-Type", "application/json").body("{}").send().await.unwrap();
    assert_eq!(not_a_form.status(), 400);
    let body: Value = not_a_form.json().await.unwrap();
    assert_eq!(body["error_code"], "APIG.2012", "{body}");
    // Export: group and environment are required and must exist.
    assert_error(&err(raw(&s, "GET", &format!("/openapi?group_id={g}"), vec![]).await), 400, "APIG.2001", Some("env_id"));
    assert_error(&err(raw(&s, "GET", &format!("/openapi?group_id={g}&env_id=nope"), vec![]).await), 404, "APIG.3003", None);
    assert_error(&err(raw(&s, "GET", &format!("/openapi?group_id={g}&env_id={RELEASE}&define=every"), vec![]).await), 400, "APIG.2011", Some("define"));
}

#[tokio::test]
async fn the_cli_imports_and_exports_over_the_management_api() {
    let s = Server::start().await;
    let run = |args: &[&str]| {
        let out = std::process::Command::new(Server::binary())
            .args(args)
            .args(["--endpoint", &s.admin, "--admin-token", TOKEN])
            .output()
            .expect("causeway runs");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("petstore.json");
    std::fs::write(&file, fixture("petstore-swagger2.json")).unwrap();
    let (ok, out, err) = run(&["import", file.to_str().unwrap(), "--publish", "RELEASE"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("20 imported, 0 kept, 0 failed"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("create") && l.contains("/v2/pet/{petId}")), "{out}");
    // By the group's name: merge keeps what is there.
    let (ok, out, err) = run(&["import", file.to_str().unwrap(), "--group", "Swagger_Petstore"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("0 imported, 20 kept, 0 failed"), "{out}");

    let exported = dir.path().join("out.yaml");
    let (ok, out, err) = run(&["export", "--group", "Swagger_Petstore", "--env", "RELEASE", "--define", "full", "-o", exported.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    let text = std::fs::read_to_string(&exported).unwrap();
    assert!(text.contains("swagger: '2.0'") || text.contains("swagger: \"2.0\""), "{text}");
    assert!(text.contains("\"/v2/pet/{petId}\":") || text.contains("/v2/pet/{petId}:"), "{text}");
    // The exported file imports as a new group.
    let renamed = text.replacen("title: Swagger_Petstore", "title: Petstore_copy", 1);
    std::fs::write(&exported, renamed).unwrap();
    let (ok, out, err) = run(&["import", exported.to_str().unwrap()]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("20 imported"), "{out}");

    // Failures are reported and the command fails.
    std::fs::write(&file, "{\"swagger\":\"2.0\",\"info\":{\"title\":\"broken_one\"},\"paths\":{\"/a\":{\"get\":{\"parameters\":[{\"name\":\"9x\",\"in\":\"query\",\"type\":\"string\"}]}}}}").unwrap();
    let (ok, _, err) = run(&["import", file.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("APIG.2011") && err.contains("req_params[0].name"), "{err}");
    let (ok, _, err) = run(&["export", "--group", "no_such_group", "--env", "RELEASE"]);
    assert!(!ok);
    assert!(err.contains("no group named"), "{err}");
}
