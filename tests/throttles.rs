//! Request throttling end to end on one node: policies bound to published
//! APIs, the limits per API, app and client address, the 429 answer and the
//! debug headers, accuracy over time, and the management rules.

mod common;

use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn mock_api(group: &str, name: &str, path: &str) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path, "auth_type": "NONE",
      "backend_type": "MOCK", "mock_info": {"result_content": "ok", "status_code": 200}
    })
}

/// Creates and publishes an API; returns (api id, publish id).
async fn publish(s: &Server, body: &Value) -> (String, String) {
    let (status, a) = s.post("/apis", body).await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (status, p) = s.post(&format!("/apis/publish/{id}"), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201, "{p}");
    (id, p["publish_id"].as_str().unwrap().to_string())
}

async fn throttle(s: &Server, body: Value) -> String {
    let (status, t) = s.post("/throttles", &body).await;
    assert_eq!(status, 201, "{t}");
    t["id"].as_str().unwrap().to_string()
}

async fn bind(s: &Server, throttle_id: &str, publish_ids: &[&str]) -> Value {
    let (status, b) = s.post("/throttle-bindings", &json!({"strategy_id": throttle_id, "publish_ids": publish_ids})).await;
    assert_eq!(status, 201, "{b}");
    b
}

/// How many of `n` calls are answered 200 (the others must be 429 APIG.0308).
async fn accepted(s: &Server, host: &str, path: &str, headers: &[(&str, &str)], n: usize) -> usize {
    let mut ok = 0;
    for _ in 0..n {
        let c = s.call_gateway("GET", host, path, headers).await;
        match c.status {
            200 => ok += 1,
            429 => assert_eq!(c.json()["error_code"], "APIG.0308", "{}", c.body),
            other => panic!("unexpected {other}: {}", c.body),
        }
    }
    ok
}

#[tokio::test]
async fn limits_per_api_per_address_and_shared() {
    let s = Server::start_with(common::Backend::Sqlite, &["--real-ip-from-xff=-1"]).await;
    let g = s.group("throttled").await;
    let host = Server::group_host(&g);
    let (_, one) = publish(&s, &mock_api(&g, "one", "/one")).await;
    let (_, two) = publish(&s, &mock_api(&g, "two", "/two")).await;
    let (_, three) = publish(&s, &mock_api(&g, "three", "/three")).await;
    let (_, four) = publish(&s, &mock_api(&g, "four", "/four")).await;
    s.eventually("GET", &host, "/four", &[], |c| c.status == 200).await;

    // A day's window, so the counts cannot roll over while the test runs.
    let daily = throttle(&s, json!({"name": "daily", "api_call_limits": 5, "ip_call_limits": 2, "time_interval": 1, "time_unit": "DAY"})).await;
    bind(&s, &daily, &[&one, &two]).await;
    let from = |ip: &'static str| [("X-Forwarded-For", ip)];
    assert_eq!(accepted(&s, &host, "/one", &from("10.0.0.1"), 4).await, 2, "two per address");
    assert_eq!(accepted(&s, &host, "/one", &from("10.0.0.2"), 4).await, 2);
    assert_eq!(accepted(&s, &host, "/one", &from("10.0.0.3"), 4).await, 1, "five for the API");
    // Exclusive (type 1): the other API has its own five.
    assert_eq!(accepted(&s, &host, "/two", &from("10.0.0.1"), 4).await, 2);

    // Debug mode shows what is left.
    let c = s.call_gateway("GET", &host, "/two", &[("X-Forwarded-For", "10.0.0.9"), ("X-Apig-Mode", "debug")]).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.header("x-apig-ratelimit-ip"), "remain:1,limit:2,time:1 day");
    assert_eq!(c.header("x-apig-ratelimit-api"), "remain:2,limit:5,time:1 day");
    let c = s.call_gateway("GET", &host, "/two", &[("X-Forwarded-For", "10.0.0.9"), ("X-Apig-Mode", "debug")]).await;
    let c2 = s.call_gateway("GET", &host, "/two", &[("X-Forwarded-For", "10.0.0.9"), ("X-Apig-Mode", "debug")]).await;
    assert_eq!((c.status, c2.status), (200, 429), "{}", c2.body);
    assert_eq!(c2.header("x-apig-ratelimit-ip"), "remain:0,limit:2,time:1 day");

    // Shared (type 2): the APIs count together.
    let shared = throttle(&s, json!({"name": "shared", "api_call_limits": 4, "time_interval": 1, "time_unit": "DAY", "type": 2})).await;
    bind(&s, &shared, &[&three, &four]).await;
    let both = accepted(&s, &host, "/three", &[], 3).await + accepted(&s, &host, "/four", &[], 3).await;
    assert_eq!(both, 4);

    // Unbound: no limit.
    let (_, bound) = s.get(&format!("/throttle-bindings/binded-apis?throttle_id={shared}")).await;
    for api in bound["apis"].as_array().unwrap() {
        let (status, _) = s.delete(&format!("/throttle-bindings/{}", api["throttle_apply_id"].as_str().unwrap())).await;
        assert_eq!(status, 204);
    }
    assert_eq!(accepted(&s, &host, "/three", &[], 6).await, 6);
}

#[tokio::test]
async fn a_per_second_limit_takes_its_number_each_second() {
    let s = Server::start().await;
    let g = s.group("per_second").await;
    let host = Server::group_host(&g);
    let (_, p) = publish(&s, &mock_api(&g, "steady", "/steady")).await;
    s.eventually("GET", &host, "/steady", &[], |c| c.status == 200).await;
    const N: usize = 20;
    let t = throttle(&s, json!({"name": "twenty", "api_call_limits": N, "time_interval": 1, "time_unit": "SECOND"})).await;
    bind(&s, &t, &[&p]).await;

    // 3N calls a second for five seconds: N accepted in each.
    let counts = accepted_each_second(&[&s], &host, "/steady", 3 * N, 5).await;
    assert_about_n_each_second(&counts, N);
}

/// N accepted a second, within generous bounds: the client counts by the
/// second it sent a call in, the server by the second it received it, and a
/// loaded machine sends late; over the whole run, no more than the limit allows.
fn assert_about_n_each_second(counts: &[usize], n: usize) {
    for c in counts {
        assert!(c.abs_diff(n) <= n / 4, "{n} ± 25 % each second: {counts:?}");
    }
    let total: usize = counts.iter().sum();
    assert!(total <= n * (counts.len() + 1) && total + n / 4 >= n * counts.len(), "{total} accepted in {} seconds: {counts:?}", counts.len());
}

/// Calls `path` on every node, each at `rate` calls a second, for `secs` whole
/// seconds; the calls accepted in each second, by the second they were sent in.
async fn accepted_each_second(nodes: &[&Server], host: &str, path: &str, rate: usize, secs: u64) -> Vec<usize> {
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let start = now().as_secs() + 1;
    while now().as_secs() < start {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let gap = std::time::Duration::from_secs(1) / rate as u32;
    let mut sending = tokio::task::JoinSet::new();
    for node in nodes {
        let (http, url, host) = (node.http.clone(), format!("{}{path}", node.gateway), host.to_string());
        sending.spawn(async move {
            let mut per_second = std::collections::BTreeMap::<u64, usize>::new();
            let mut next = tokio::time::Instant::now();
            while now().as_secs() < start + secs {
                let sent = now().as_secs();
                let status = http.get(&url).header("Host", &host).send().await.expect("gateway request").status().as_u16();
                assert!(status == 200 || status == 429, "{status}");
                *per_second.entry(sent).or_default() += usize::from(status == 200);
                next += gap;
                tokio::time::sleep_until(next).await;
            }
            per_second
        });
    }
    let mut total = std::collections::BTreeMap::<u64, usize>::new();
    for per_second in sending.join_all().await {
        for (second, n) in per_second {
            *total.entry(second).or_default() += n;
        }
    }
    assert_eq!(total.len() as u64, secs, "{total:?}");
    total.into_values().collect()
}

/// Three gateway processes on one PostgreSQL store and one Redis count together.
#[tokio::test]
async fn three_nodes_sharing_redis_take_the_limit_together() {
    let (Some(backend), Some(redis)) = (common::Backend::postgres(), common::service("CAUSEWAY_TEST_REDIS")) else { return };
    let redis_flag = format!("--redis={redis}");
    let first = Server::start_with(backend, &[&redis_flag]).await;
    let second = first.start_sharing(&[&redis_flag]).await;
    let third = first.start_sharing(&[&redis_flag]).await;
    let g = first.group("cluster").await;
    let host = Server::group_host(&g);
    let (_, p) = publish(&first, &mock_api(&g, "together", "/together")).await;
    const N: usize = 30;
    let t = throttle(&first, json!({"name": "thirty", "api_call_limits": N, "time_interval": 1, "time_unit": "SECOND"})).await;
    bind(&first, &t, &[&p]).await;
    // Every node serves the policy: each refuses once the window is used up.
    for node in [&first, &second, &third] {
        node.eventually("GET", &host, "/together", &[("X-Apig-Mode", "debug")], |c| c.header("x-apig-ratelimit-api").contains("limit:30")).await;
    }

    // N calls a second on each of the three nodes for five seconds: N accepted in each, over all three.
    let counts = accepted_each_second(&[&first, &second, &third], &host, "/together", N, 5).await;
    assert_about_n_each_second(&counts, N);
}

/// A node whose Redis is away keeps serving and limits on its own.
#[tokio::test]
async fn without_its_redis_a_node_limits_on_its_own() {
    // Nothing listens on port 1.
    let s = Server::start_with(common::Backend::Sqlite, &["--redis=redis://127.0.0.1:1"]).await;
    let g = s.group("alone").await;
    let host = Server::group_host(&g);
    let (_, p) = publish(&s, &mock_api(&g, "alone", "/alone")).await;
    let t = throttle(&s, json!({"name": "three_a_minute", "api_call_limits": 3, "time_interval": 1, "time_unit": "MINUTE"})).await;
    bind(&s, &t, &[&p]).await;
    s.eventually("GET", &host, "/alone", &[("X-Apig-Mode", "debug")], |c| c.header("x-apig-ratelimit-api").contains("limit:3,")).await;
    // The call above took one of the three (a minute window: unless it just turned, the rest follow).
    let ok = accepted(&s, &host, "/alone", &[], 5).await;
    assert!(ok == 2 || ok == 3, "{ok} accepted");
    let metrics = s.http.get(format!("{}/metrics", s.admin)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l.starts_with("causeway_throttle_redis_fallbacks_total") && !l.ends_with(" 0")), "{metrics}");
}

#[tokio::test]
async fn throttles_are_managed_with_the_documented_rules() {
    let s = Server::start().await;
    let g = s.group("throttle_rules").await;
    let (api_id, p) = publish(&s, &mock_api(&g, "ruled", "/ruled")).await;
    let (_, free) = publish(&s, &mock_api(&g, "free", "/free")).await;
    let body = |name: &str| json!({"name": name, "api_call_limits": 100, "user_call_limits": 50, "app_call_limits": 20, "ip_call_limits": 10, "time_interval": 1, "time_unit": "MINUTE", "remark": "per minute"});

    let with = |mut v: Value, k: &str, x: Value| {
        v[k] = x;
        v
    };
    assert_error(&s.post("/throttles", &with(body("nested"), "user_call_limits", json!(101))).await, 400, "APIG.2011", Some("user_call_limits"));
    assert_error(&s.post("/throttles", &with(body("nested"), "app_call_limits", json!(60))).await, 400, "APIG.2011", Some("app_call_limits"));
    assert_error(&s.post("/throttles", &with(body("nested"), "ip_call_limits", json!(101))).await, 400, "APIG.2011", Some("ip_call_limits"));
    assert_error(&s.post("/throttles", &with(body("unit"), "time_unit", json!("WEEK"))).await, 400, "APIG.2011", Some("time_unit"));
    assert_error(&s.post("/throttles", &with(body("limit"), "api_call_limits", json!(0))).await, 400, "APIG.2011", Some("api_call_limits"));
    assert_error(&s.post("/throttles", &json!({"name": "bare", "time_interval": 1, "time_unit": "SECOND"})).await, 400, "APIG.2001", Some("api_call_limits"));
    let (status, created) = s.post("/throttles", &body("minutely")).await;
    assert_eq!(status, 201, "{created}");
    for (k, v) in [("type", json!(1)), ("bind_num", json!(0)), ("is_inclu_special_throttle", json!(2)), ("enable_adaptive_control", json!("FALSE"))] {
        assert_eq!(created[k], v, "{k}: {created}");
    }
    let id = created["id"].as_str().unwrap().to_string();
    assert_error(&s.post("/throttles", &body("minutely")).await, 400, "APIG.3204", Some("name"));
    assert_error(&s.get("/throttles/nothere").await, 404, "APIG.3005", None);
    let other = throttle(&s, body("other")).await;

    // One policy per published API; the bindings answer as throttle_applys.
    let b = bind(&s, &id, &[&p]).await;
    let applied = &b["throttle_applys"][0];
    assert_eq!((applied["publish_id"].as_str(), applied["strategy_id"].as_str(), applied["scope"].as_i64()), (Some(p.as_str()), Some(id.as_str()), Some(1)), "{b}");
    bind(&s, &id, &[&p]).await;
    assert_error(&s.post("/throttle-bindings", &json!({"strategy_id": other, "publish_ids": [p]})).await, 400, "APIG.2011", Some("publish_ids[0]"));
    assert_error(&s.post("/throttle-bindings", &json!({"strategy_id": id, "publish_ids": ["nothere"]})).await, 404, "APIG.3015", Some("publish_ids[0]"));
    assert_error(&s.post("/throttle-bindings", &json!({"strategy_id": "nothere", "publish_ids": [p]})).await, 404, "APIG.3005", None);

    let (_, shown) = s.get(&format!("/throttles/{id}")).await;
    assert_eq!(shown["bind_num"], 1);
    let (_, bound) = s.get(&format!("/throttle-bindings/binded-apis?throttle_id={id}")).await;
    assert_eq!((bound["total"].as_u64(), bound["apis"][0]["api_id"].as_str()), (Some(1), Some(api_id.as_str())), "{bound}");
    let (_, unbound) = s.get(&format!("/throttle-bindings/unbinded-apis?throttle_id={other}")).await;
    assert_eq!((unbound["total"].as_u64(), unbound["apis"][0]["publish_id"].as_str()), (Some(1), Some(free.as_str())), "{unbound}");
    let (_, of_api) = s.get(&format!("/throttle-bindings/binded-throttles?api_id={api_id}")).await;
    assert_eq!((of_api["total"].as_u64(), of_api["throttles"][0]["name"].as_str(), of_api["throttles"][0]["env_name"].as_str()), (Some(1), Some("minutely"), Some("RELEASE")), "{of_api}");

    // A bound policy stays; batch unbinding reports each binding.
    assert_error(&s.delete(&format!("/throttles/{id}")).await, 403, "APIG.3453", None);
    let bind_id = of_api["throttles"][0]["bind_id"].as_str().unwrap().to_string();
    let (status, batch) = s.put("/throttle-bindings?action=delete", &json!({"throttle_bindings": [bind_id, "nothere"]})).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!((batch["success_count"].as_u64(), batch["failure"][0]["error_code"].as_str()), (Some(1), Some("APIG.3012")), "{batch}");
    let (status, updated) = s.put(&format!("/throttles/{id}"), &with(body("minutely"), "api_call_limits", json!(200))).await;
    assert_eq!((status, updated["api_call_limits"].as_u64()), (200, Some(200)), "{updated}");
    let (status, _) = s.delete(&format!("/throttles/{id}")).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn apps_have_their_limits_and_special_ones() {
    let s = Server::start_with(common::Backend::Sqlite, &["--allow-app-code-over-http"]).await;
    let g = s.group("app_limits").await;
    let host = Server::group_host(&g);
    let mut body = mock_api(&g, "coded", "/coded");
    body["auth_type"] = json!("APP");
    body["auth_opt"] = json!({"app_code_auth_type": "HEADER"});
    let (api_id, p) = publish(&s, &body).await;
    let mut codes = Vec::new();
    let mut apps = Vec::new();
    for name in ["regular_app", "vip_app"] {
        let (status, app) = s.post("/apps", &json!({"name": name})).await;
        assert_eq!(status, 201, "{app}");
        let id = app["id"].as_str().unwrap().to_string();
        let (status, auth) = s.post("/app-auths", &json!({"api_ids": [api_id], "app_ids": [id], "env_id": RELEASE})).await;
        assert_eq!(status, 201, "{auth}");
        let (status, code) = s.call("PUT", &format!("/apps/{id}/app-codes"), None).await;
        assert_eq!(status, 201, "{code}");
        codes.push(code["app_code"].as_str().unwrap().to_string());
        apps.push(id);
    }
    let t = throttle(&s, json!({"name": "per_app", "api_call_limits": 50, "app_call_limits": 2, "time_interval": 1, "time_unit": "DAY"})).await;
    bind(&s, &t, &[&p]).await;

    // The VIP app gets its own number; the others the policy's.
    let (status, special) = s.post("/throttle-specials", &json!({"strategy_id": t, "instance_id": apps[1], "instance_type": "APP", "call_limits": 5})).await;
    assert_eq!(status, 201, "{special}");
    assert_eq!((special["instance_name"].as_str(), special["call_limits"].as_u64()), (Some("vip_app"), Some(5)));
    let code = |i: usize| [("X-Apig-AppCode", codes[i].as_str())];
    s.eventually("GET", &host, "/coded", &code(0), |c| c.status != 404).await;
    assert_eq!(accepted(&s, &host, "/coded", &code(0), 4).await, 1, "one was taken by the first call");
    assert_eq!(accepted(&s, &host, "/coded", &code(1), 8).await, 5);

    // Managing special limits.
    let (_, shown) = s.get(&format!("/throttles/{t}")).await;
    assert_eq!(shown["is_inclu_special_throttle"], 1);
    let (status, listed) = s.get(&format!("/throttle-specials/{t}")).await;
    assert_eq!((status, listed["total"].as_u64()), (200, Some(1)), "{listed}");
    let again = s.post("/throttle-specials", &json!({"strategy_id": t, "instance_id": apps[1], "instance_type": "APP", "call_limits": 9})).await;
    assert_error(&again, 400, "APIG.2011", Some("instance_id"));
    let ghost = s.post("/throttle-specials", &json!({"strategy_id": t, "instance_id": "nothere", "instance_type": "APP", "call_limits": 9})).await;
    assert_error(&ghost, 404, "APIG.3004", Some("instance_id"));
    let (status, user) = s.post("/throttle-specials", &json!({"strategy_id": t, "instance_id": "ann", "instance_type": "USER", "call_limits": 3})).await;
    assert_eq!((status, user["instance_name"].as_str()), (201, Some("ann")), "{user}");
    let special_id = special["id"].as_str().unwrap();
    let (status, changed) = s.put(&format!("/throttle-specials/{special_id}"), &json!({"call_limits": 7})).await;
    assert_eq!((status, changed["call_limits"].as_u64()), (200, Some(7)), "{changed}");
    assert_eq!(accepted(&s, &host, "/coded", &code(1), 4).await, 2, "seven now, five taken");
    let (status, _) = s.delete(&format!("/throttle-specials/{special_id}")).await;
    assert_eq!(status, 204);
    assert_error(&s.delete(&format!("/throttle-specials/{special_id}")).await, 404, "APIG.3013", None);
}

#[tokio::test]
async fn a_group_can_cap_all_its_apis_together() {
    let s = Server::start().await;
    let g = s.group("capped").await;
    let host = Server::group_host(&g);
    let other = s.group("uncapped").await;
    let other_host = Server::group_host(&other);
    publish(&s, &mock_api(&g, "first", "/first")).await;
    publish(&s, &mock_api(&g, "second", "/second")).await;
    publish(&s, &mock_api(&other, "third", "/third")).await;
    s.eventually("GET", &other_host, "/third", &[], |c| c.status == 200).await;

    let half = s.put(&format!("/api-groups/{g}"), &json!({"name": "capped", "call_limits": 3})).await;
    assert_error(&half, 400, "APIG.2001", Some("time_interval"));
    let (status, group) = s.put(&format!("/api-groups/{g}"), &json!({"name": "capped", "call_limits": 3, "time_interval": 1, "time_unit": "DAY"})).await;
    assert_eq!(status, 200, "{group}");
    assert_eq!((group["call_limits"].as_u64(), group["time_unit"].as_str()), (Some(3), Some("DAY")));
    assert_eq!(accepted(&s, &host, "/first", &[], 2).await + accepted(&s, &host, "/second", &[], 2).await, 3);
    assert_eq!(accepted(&s, &other_host, "/third", &[], 5).await, 5);
    // Lifted: open again.
    let (status, _) = s.put(&format!("/api-groups/{g}"), &json!({"name": "capped"})).await;
    assert_eq!(status, 200);
    assert_eq!(accepted(&s, &host, "/first", &[], 3).await, 3);
}
