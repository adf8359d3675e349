//! Request paths as the other clouds' documents write them, end to end:
//! Tencent's `=/path` (exact, first), `^~/path` (prefix, before templates)
//! and plain paths that match as string prefixes (`match_mode` `PREFIX`),
//! per seed 000 "URL path"; Baidu's `[param]` segments, unescaped UTF-8
//! paths, subpath matching on segment boundaries and its TRACE method, per
//! seed 003 "Request Path". Paths are shown as written.

mod common;

use common::{Server, assert_error, echo::Echo};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn mock(group: &str, name: &str, path: &str, mode: &str, answer: &str) -> Value {
    json!({"group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": path, "match_mode": mode,
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": answer},
        "req_params": if path.contains("{id}") { json!([{"name": "id", "type": "STRING", "location": "PATH", "required": 1}]) } else { json!([]) }})
}

/// Which API answered (the mock's text), or the status when none did.
async fn answered(s: &Server, host: &str, path: &str) -> String {
    let c = s.call_gateway("GET", host, path, &[]).await;
    if c.status == 200 { c.body } else { c.status.to_string() }
}

#[tokio::test]
async fn tencent_exact_priority_prefix_and_plain_paths() {
    let s = Server::start().await;
    let g = s.group("tencent_paths").await;
    let host = Server::group_host(&g);
    let exact = s.create_and_publish(&mock(&g, "exact_user", "=/user", "NORMAL", "exact"), RELEASE).await;
    s.create_and_publish(&mock(&g, "user_by_id", "/user/{id}", "NORMAL", "template"), RELEASE).await;
    s.create_and_publish(&mock(&g, "plain_user", "/user", "PREFIX", "plain"), RELEASE).await;
    // Seed 000: "/user, /usertest, and /user/test/a all can access APIs with the path of /user";
    // "=/user … the highest matching priority"; a dynamic parameter the third.
    s.eventually("GET", &host, "/user", &[], |c| c.status == 200).await;
    for (path, want) in [("/user", "exact"), ("/usertest", "plain"), ("/user/test/a", "plain"), ("/user/5", "template")] {
        assert_eq!(answered(&s, &host, path).await, want, "{path}");
    }
    // "^~/user … the second highest matching priority": above the template.
    s.create_and_publish(&mock(&g, "admin_prefix", "^~/user/adm", "NORMAL", "priority prefix"), RELEASE).await;
    s.eventually("GET", &host, "/user/admin", &[], |c| c.body == "priority prefix").await;
    for (path, want) in [("/user/admin", "priority prefix"), ("/user/adm", "priority prefix"), ("/user/ad", "template"), ("/user", "exact")] {
        assert_eq!(answered(&s, &host, path).await, want, "{path}");
    }

    // Shown as written.
    let (_, api) = s.get(&format!("/apis/{exact}")).await;
    assert_eq!((api["req_uri"].as_str(), api["match_mode"].as_str()), (Some("=/user"), Some("NORMAL")));
    // `=/user` and `/user` are the same route.
    assert_error(&s.post("/apis", &mock(&g, "again_user", "/user", "NORMAL", "x")).await, 400, "APIG.3301", Some("req_uri"));
    // The markers go with NORMAL paths without parameters; PREFIX paths take none either.
    assert_error(&s.post("/apis", &mock(&g, "bad_exact", "=/user/{id}", "NORMAL", "x")).await, 400, "APIG.2011", Some("req_uri"));
    assert_error(&s.post("/apis", &mock(&g, "bad_marker", "^~/files", "SWA", "x")).await, 400, "APIG.2011", Some("req_uri"));
    assert_error(&s.post("/apis", &mock(&g, "bad_prefix", "/files/{id}", "PREFIX", "x")).await, 400, "APIG.2011", Some("req_uri"));
}

#[tokio::test]
async fn baidu_bracket_parameters_utf8_paths_subpaths_and_trace() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("baidu_paths").await;
    let host = Server::group_host(&g);
    // Seed 003: 'the form of "/[path parameter name]" is used to represent the Path parameter'.
    let order = s
        .create_and_publish(
            &json!({"group_id": g, "name": "order", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/orders/[orderId]",
                "auth_type": "NONE", "backend_type": "HTTP",
                "req_params": [{"name": "orderId", "type": "STRING", "location": "PATH", "required": 1}],
                "backend_params": [{"name": "orderId", "location": "PATH", "origin": "REQUEST", "value": "orderId"},
                    {"name": "X-Client", "location": "HEADER", "origin": "SYSTEM", "value": "BceClientIp"},
                    {"name": "X-Req", "location": "HEADER", "origin": "SYSTEM", "value": "BceRequestId"},
                    {"name": "X-Schema", "location": "HEADER", "origin": "SYSTEM", "value": "BceHttpSchema"},
                    {"name": "X-Proxy", "location": "HEADER", "origin": "SYSTEM", "value": "BceProxy"},
                    {"name": "X-Time", "location": "HEADER", "origin": "SYSTEM", "value": "BceRequestHandleTime"}],
                "backend_api": {"url_domain": backend.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/echo/[orderId]", "timeout": 5000}}),
            RELEASE,
        )
        .await;
    let c = s.eventually("GET", &host, "/orders/42", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["path"], "/echo/42");
    // Seed 003's system parameters, by Baidu's names.
    let seen = c.json();
    let h = |name: &str| common::echo::header(&seen, name).unwrap_or_default().to_string();
    assert_eq!((h("x-client"), h("x-req"), h("x-schema"), h("x-proxy")), ("127.0.0.1".into(), c.header("x-request-id").to_string(), "http".into(), "BceApiGateway".into()));
    assert!(h("x-time").ends_with(" GMT") && h("x-time").len() == 29, "{}", h("x-time"));
    let (_, api) = s.get(&format!("/apis/{order}")).await;
    assert_eq!(api["req_uri"], "/orders/[orderId]", "shown as written");

    // "for the characters unsupported by url (such as: Chinese …), the escape is not necessary".
    s.create_and_publish(&mock(&g, "users_list", "/用户/列表", "NORMAL", "utf-8"), RELEASE).await;
    s.eventually("GET", &host, "/%E7%94%A8%E6%88%B7/%E5%88%97%E8%A1%A8", &[], |c| c.status == 200 && c.body == "utf-8").await;
    // Seed 003 "Back-end request Path": the same for the backend's path, sent percent-encoded.
    let utf8_backend = json!({"group_id": g, "name": "utf8_backend", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/utf8/[id]",
        "auth_type": "NONE", "backend_type": "HTTP",
        "req_params": [{"name": "id", "type": "STRING", "location": "PATH", "required": 1}],
        "backend_params": [{"name": "id", "location": "PATH", "origin": "REQUEST", "value": "id"}],
        "backend_api": {"url_domain": backend.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/订单/[id]/详情", "timeout": 5000}});
    let utf8_id = s.create_and_publish(&utf8_backend, RELEASE).await;
    let c = s.eventually("GET", &host, "/utf8/7", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["path"], "/%E8%AE%A2%E5%8D%95/7/%E8%AF%A6%E6%83%85", "{}", c.body);
    let (_, stored) = s.get(&format!("/apis/{utf8_id}")).await;
    assert_eq!(stored["backend_api"]["req_uri"], "/订单/[id]/详情", "shown as written");

    // "The "/path" may be matched with "/path/" and "/path/subPath", but cannot be matched with "/pathAndSubPath"".
    s.create_and_publish(&mock(&g, "sub_paths", "/path", "SWA", "subpaths"), RELEASE).await;
    s.eventually("GET", &host, "/path/subPath", &[], |c| c.status == 200).await;
    for (path, want) in [("/path", "subpaths"), ("/path/", "subpaths"), ("/path/subPath", "subpaths"), ("/pathAndSubPath", "404")] {
        assert_eq!(answered(&s, &host, path).await, want, "{path}");
    }

    // "It supports GET, POST, DELETE, PUT, HEAD, TRACE, PATCH, CONNECT, OPTIONS and ANY".
    let mut trace = mock(&g, "traced_method", "/trace-me", "NORMAL", "traced");
    trace["req_method"] = json!("TRACE");
    s.create_and_publish(&trace, RELEASE).await;
    let res = s.http.request(reqwest::Method::TRACE, format!("{}/trace-me", s.gateway)).header("Host", &host).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "traced");
    let mut connect = mock(&g, "connect_method", "/connect-me", "NORMAL", "x");
    connect["req_method"] = json!("CONNECT");
    assert_eq!(s.post("/apis", &connect).await.0, 201, "CONNECT is a method an API may declare");
}

#[tokio::test]
async fn tencent_backend_addresses_carry_their_scheme() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("tencent_backends").await;
    let host = Server::group_host(&g);
    // Seed 000: "Enter the backend domain name which begins with http:// or https:// excluding the path".
    let api = |url_domain: String, protocol: Option<&str>| {
        let mut a = json!({"group_id": g, "name": "schemed", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/schemed",
            "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": url_domain, "req_method": "GET", "req_uri": "/echo", "timeout": 5000}});
        if let Some(p) = protocol {
            a["backend_api"]["req_protocol"] = json!(p);
        }
        a
    };
    let id = s.create_and_publish(&api(format!("http://{}/", backend.address()), None), RELEASE).await;
    let (_, stored) = s.get(&format!("/apis/{id}")).await;
    assert_eq!((stored["backend_api"]["url_domain"].as_str(), stored["backend_api"]["req_protocol"].as_str()), (Some(backend.address().as_str()), Some("HTTP")));
    let c = s.eventually("GET", &host, "/schemed", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["path"], "/echo");
    assert_error(&s.post("/apis", &api("https://example.com".into(), Some("HTTP"))).await, 400, "APIG.2011", Some("backend_api.req_protocol"));
    assert_error(&s.post("/apis", &api("http://example.com/path".into(), None)).await, 400, "APIG.2024", Some("backend_api.url_domain"));
}

#[tokio::test]
async fn backend_timeouts_take_the_seeds_defaults_and_ranges() {
    let s = Server::start().await;
    let g = s.group("timeouts").await;
    let (_, f) = s.post("/functions", &json!({"name": "quick", "code": "exports.handler = () => ({statusCode: 200, body: 'ok'});"})).await;
    let http = |name: &str, timeout: Option<i64>| {
        let mut a = json!({"group_id": g, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": format!("/{name}"),
            "auth_type": "NONE", "backend_type": "HTTP", "backend_api": {"url_domain": "127.0.0.1:9", "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/"}});
        if let Some(t) = timeout {
            a["backend_api"]["timeout"] = json!(t);
        }
        a
    };
    // Seed 003: "It is an integer value within 1-300000, and its default value is 90000".
    let (status, api) = s.post("/apis", &http("baidu_default", None)).await;
    assert_eq!((status, api["backend_api"]["timeout"].as_i64()), (201, Some(90_000)), "{api}");
    let (status, api) = s.post("/apis", &http("baidu_longest", Some(300_000))).await;
    assert_eq!((status, api["backend_api"]["timeout"].as_i64()), (201, Some(300_000)), "{api}");
    assert_error(&s.post("/apis", &http("too_long", Some(300_001))).await, 400, "APIG.2011", Some("backend_api.timeout"));
    // Seed 001 (SCF): "Backend timeout The default value is 15 (seconds)".
    let (status, api) = s
        .post("/apis", &json!({"group_id": g, "name": "scf_default", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/scf",
            "auth_type": "NONE", "backend_type": "FUNCTION", "func_info": {"function_urn": f["urn"], "invocation_type": "sync", "version": "$LATEST"}}))
        .await;
    assert_eq!((status, api["func_info"]["timeout"].as_i64(), api["func_info"]["version"].as_str()), (201, Some(15_000), Some("$LATEST")), "{api}");
    s.call("POST", &format!("/apis/publish/{}", api["id"].as_str().unwrap()), Some(&json!({"env_id": RELEASE}))).await;
    let c = s.eventually("GET", &Server::group_host(&g), "/scf", &[], |c| c.status == 200).await;
    assert_eq!(c.body, "ok", "$LATEST calls the latest code");
}

/// Seed 003 "Back-end request parameter / Constant parameter / System parameter"
/// and the forwarding modes of "Request Path": BODY parameters (a form field,
/// or a JSON body's field), typed constants, `BceDomain` and `BceClientUa`,
/// and `MAPPING` forwarding that drops what was not declared.
#[tokio::test]
async fn baidu_backend_parameters_and_forwarding_modes() {
    let backend = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("baidu_params").await;
    let host = Server::group_host(&g);
    let api = |name: &str, path: &str, forwarding: Value| {
        json!({"group_id": g, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "POST", "req_uri": path,
            "auth_type": "NONE", "backend_type": "HTTP", "forwarding": forwarding,
            "backend_api": {"url_domain": format!("http://{}", backend.address()), "req_method": "POST", "req_uri": "/echo"},
            "req_params": [
                {"name": "count", "type": "INT", "location": "QUERY"},
                {"name": "X-Trace", "type": "STRING", "location": "HEADER"},
                {"name": "field", "type": "STRING", "location": "BODY"}
            ],
            "backend_params": [
                {"name": "limit", "location": "BODY", "origin": "CONSTANT", "value": "42", "type": "NUMBER"},
                {"name": "strict", "location": "BODY", "origin": "CONSTANT", "value": "true", "type": "BOOLEAN"},
                {"name": "label", "location": "BODY", "origin": "CONSTANT", "value": "007", "type": "STRING"},
                {"name": "n", "location": "BODY", "origin": "REQUEST", "value": "count"},
                {"name": "X-Domain", "location": "HEADER", "origin": "SYSTEM", "value": "BceDomain"},
                {"name": "X-Ua", "location": "HEADER", "origin": "SYSTEM", "value": "BceClientUa"},
                {"name": "X-Proxy", "location": "HEADER", "origin": "SYSTEM", "value": "BceProxy"}
            ]})
    };
    s.create_and_publish(&api("mapped", "/mapped", json!({"query": "MAPPING", "header": "MAPPING", "body": "MAPPING"})), RELEASE).await;
    s.create_and_publish(&api("passed", "/passed", json!({})), RELEASE).await;
    s.eventually("POST", &host, "/passed", &[], |c| c.status == 200).await;
    let send = |path: &'static str, content_type: &'static str, body: &'static str| {
        let (s, host) = (&s, host.clone());
        async move {
            let res = s
                .http
                .post(format!("{}{path}?count=7&stray=1", s.gateway))
                .header("Host", format!("{host}:8080"))
                .header("User-Agent", "seed-client/1.0")
                .header("X-Trace", "t-1")
                .header("X-Stray", "s")
                .header("Content-Type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.unwrap()
        }
    };

    // A JSON body gets its fields typed; the caller's own stay.
    let seen = send("/mapped", "application/json", r#"{"a": 1}"#).await;
    let body: Value = serde_json::from_str(seen["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"a": 1, "limit": 42, "strict": true, "label": "007", "n": 7}), "{seen}");
    assert_eq!(seen["body_len"].as_u64(), Some(seen["body"].as_str().unwrap().len() as u64));
    // System values of seed 003's table.
    assert_eq!(common::echo::header(&seen, "x-domain"), Some(host.as_str()), "BceDomain is the host without its port");
    assert_eq!(common::echo::header(&seen, "x-ua"), Some("seed-client/1.0"));
    assert_eq!(common::echo::header(&seen, "x-proxy"), Some("BceApiGateway"));
    // MAPPING: undeclared query parameters and headers are dropped, declared ones pass.
    assert_eq!(common::echo::query(&seen), vec![("count".to_string(), "7".to_string())], "{seen}");
    assert_eq!(common::echo::header(&seen, "x-trace"), Some("t-1"));
    assert_eq!(common::echo::header(&seen, "x-stray"), None, "{seen}");
    assert_eq!(common::echo::header(&seen, "user-agent"), None, "{seen}");
    assert!(common::echo::header(&seen, "x-forwarded-for").is_some(), "the gateway's own headers are added");

    // A form body: BODY parameters are form fields; MAPPING keeps only the declared fields.
    let seen = send("/mapped", "application/x-www-form-urlencoded", "field=f+1&other=x").await;
    assert_eq!(seen["body"], "field=f+1&limit=42&strict=true&label=007&n=7", "{seen}");

    // PASSTHROUGH (the default) sends everything on.
    let seen = send("/passed", "application/x-www-form-urlencoded", "field=f&other=x").await;
    assert_eq!(seen["body"], "field=f&other=x&limit=42&strict=true&label=007&n=7", "{seen}");
    assert!(common::echo::query(&seen).contains(&("stray".to_string(), "1".to_string())), "{seen}");
    assert_eq!(common::echo::header(&seen, "x-stray"), Some("s"));
    assert_eq!(common::echo::header(&seen, "user-agent"), Some("seed-client/1.0"));
    // BODY parameters cannot be put into a body of another kind.
    let res = s.http.post(format!("{}/passed", s.gateway)).header("Host", &host).header("Content-Type", "text/plain").body("hello").send().await.unwrap();
    assert_eq!(res.status(), 400);

    // The stored definition shows what was written; bad values are refused with their field.
    let (_, list) = s.get(&format!("/apis?group_id={g}&name=mapped")).await;
    let stored = &list["apis"][0];
    assert_eq!(stored["forwarding"], json!({"query": "MAPPING", "header": "MAPPING", "body": "MAPPING"}), "{stored}");
    assert_eq!(stored["backend_params"][0]["type"], "NUMBER", "{stored}");
    let (_, passed) = s.get(&format!("/apis?group_id={g}&name=passed")).await;
    assert!(passed["apis"][0].get("forwarding").is_none(), "the default is not shown");
    let mut bad = api("bad", "/bad", json!({"query": "SOMETIMES"}));
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2011", Some("forwarding.query"));
    bad["forwarding"] = json!({});
    bad["backend_params"][0]["value"] = json!("forty-two");
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2011", Some("backend_params[0].value"));
    bad["backend_params"][0]["value"] = json!("42");
    bad["backend_params"][3]["type"] = json!("NUMBER");
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2011", Some("backend_params[3].type"));
}

/// Seed 003 "Request Path", note 5: "two APIs with the same Path, Method,
/// and required query parameter cannot present" — so two that differ in
/// their required query parameters can, and requests are routed by them.
#[tokio::test]
async fn baidu_routes_by_required_query_parameters() {
    let s = Server::start().await;
    let g = s.group("baidu_query_routes").await;
    let host = Server::group_host(&g);
    let api = |name: &str, required: &[&str], answer: &str| {
        let params: Vec<Value> = required.iter().map(|n| json!({"name": n, "type": "STRING", "location": "QUERY", "required": 1})).collect();
        let mut a = mock(&g, name, "/search", "NORMAL", answer);
        a["req_params"] = json!(params);
        a
    };
    s.create_and_publish(&api("by_q", &["q"], "q"), RELEASE).await;
    s.create_and_publish(&api("by_q_page", &["q", "page"], "q+page"), RELEASE).await;
    // The same method, path and required query parameters: still one API.
    assert_error(&s.post("/apis", &api("by_q_again", &["q"], "again")).await, 400, "APIG.3301", Some("req_uri"));
    s.eventually("GET", &host, "/search?q=1&page=2", &[], |c| c.body == "q+page").await;
    for (path, want) in [("/search?q=1", "q"), ("/search?page=2&q=1", "q+page"), ("/search?q=", "q")] {
        assert_eq!(answered(&s, &host, path).await, want, "{path}");
    }
    // Neither applies: the API requiring the fewest answers, and says what is missing.
    let c = s.call_gateway("GET", &host, "/search?page=2", &[]).await;
    assert_eq!(c.status, 400, "{}", c.body);
    assert!(c.body.contains("q"), "{}", c.body);
    // An API requiring nothing takes what the others do not.
    s.create_and_publish(&api("plain", &[], "plain"), RELEASE).await;
    s.eventually("GET", &host, "/search", &[], |c| c.body == "plain").await;
    for (path, want) in [("/search?page=2", "plain"), ("/search?q=1", "q"), ("/search?q=1&page=1", "q+page")] {
        assert_eq!(answered(&s, &host, path).await, want, "{path}");
    }
}
