//! Load-balance channels end to end: members on real test backends, weights,
//! hash strategies, health checks and passive ejection, retries, backups,
//! the proxy host, and the management rules.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::echo::Echo;
use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn member(echo: &Echo, weight: u32) -> Value {
    json!({"host": "127.0.0.1", "port": echo.addr.port(), "weight": weight})
}

async fn channel(s: &Server, body: Value) -> Value {
    let (status, c) = s.post("/vpc-channels", &body).await;
    assert_eq!(status, 201, "{c}");
    c
}

fn api(group: &str, name: &str, path: &str, channel_id: &str, extra: Value) -> Value {
    let mut backend = json!({"req_protocol": "HTTP", "req_method": "ANY", "req_uri": "/backend", "timeout": 3000, "vpc_status": 1, "vpc_info": {"vpc_id": channel_id}});
    for (k, v) in extra.as_object().unwrap() {
        backend[k] = v.clone();
    }
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "ANY", "req_uri": path, "auth_type": "NONE",
      "backend_type": "HTTP", "backend_api": backend
    })
}

async fn publish(s: &Server, body: &Value) -> String {
    let (status, a) = s.post("/apis", body).await;
    assert_eq!(status, 201, "{a}");
    let id = a["id"].as_str().unwrap().to_string();
    let (status, p) = s.post(&format!("/apis/publish/{id}"), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201, "{p}");
    id
}

/// Sends `n` GETs, `concurrency` at a time; answers by serving member (`host:port`), or by status when not 200.
async fn spread(s: &Server, host: &str, path: &str, n: usize, concurrency: usize) -> HashMap<String, usize> {
    let mut tasks = tokio::task::JoinSet::new();
    for t in 0..concurrency {
        let (http, url, host) = (s.http.clone(), format!("{}{path}", s.gateway), host.to_string());
        let share = n / concurrency + usize::from(t < n % concurrency);
        tasks.spawn(async move {
            let mut seen: HashMap<String, usize> = HashMap::new();
            for _ in 0..share {
                let res = http.get(&url).header("Host", &host).send().await.expect("gateway request");
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap_or_default();
                let key = if status == 200 { body["served_by"].as_str().unwrap_or("?").to_string() } else { format!("{status} {}", body["error_code"]) };
                *seen.entry(key).or_default() += 1;
            }
            seen
        });
    }
    let mut all = HashMap::new();
    for seen in tasks.join_all().await {
        for (k, v) in seen {
            *all.entry(k).or_default() += v;
        }
    }
    all
}

#[tokio::test]
async fn weights_are_respected_over_ten_thousand_requests() {
    let (a, b, c) = (Echo::start().await, Echo::start().await, Echo::start().await);
    let s = Server::start().await;
    let g = s.group("weighted").await;
    let host = Server::group_host(&g);
    let ch = channel(&s, json!({"name": "weighted", "type": 2, "port": 80, "balance_strategy": 1, "vpc_instances": [member(&a, 5), member(&b, 3), member(&c, 2)]})).await;
    publish(&s, &api(&g, "spread", "/spread", ch["id"].as_str().unwrap(), json!({}))).await;
    s.eventually("GET", &host, "/spread", &[], |c| c.status == 200).await;

    let seen = spread(&s, &host, "/spread", 10_000, 8).await;
    let total: usize = seen.values().sum();
    assert_eq!(seen.len(), 3, "{seen:?}");
    for (echo, weight) in [(&a, 5.0), (&b, 3.0), (&c, 2.0)] {
        let share = seen[&echo.address()] as f64 / total as f64;
        let expected = weight / 10.0;
        assert!((share - expected).abs() <= expected * 0.05, "{} got {share:.3}, expected {expected} ± 5 %: {seen:?}", echo.address());
    }
}

/// Polls the members until `done` holds for the member at `address` (or panics after `within`).
async fn member_health(s: &Server, channel_id: &str, address: &str, want: &str, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let (status, m) = s.get(&format!("/vpc-channels/{channel_id}/members")).await;
        assert_eq!(status, 200, "{m}");
        let health = m["members"].as_array().unwrap().iter().find(|m| format!("{}:{}", m["host"].as_str().unwrap(), m["port"]) == address).map(|m| m["health_status"].clone());
        if health.as_ref().and_then(|h| h.as_str()) == Some(want) {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "{address} did not become {want} within {within:?}: {m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_killed_member_is_ejected_without_failed_requests_and_readmitted_when_back() {
    let (a, b, c) = (Echo::start().await, Echo::start().await, Echo::start().await);
    let s = Server::start().await;
    let g = s.group("healing").await;
    let host = Server::group_host(&g);
    let health = json!({"protocol": "HTTP", "path": "/health", "method": "GET", "threshold_normal": 2, "threshold_abnormal": 2, "time_out": 2, "time_interval": 5, "http_code": "200"});
    let ch = channel(&s, json!({"name": "healing", "port": 80, "balance_strategy": 1, "vpc_health_config": health, "vpc_instances": [member(&a, 1), member(&b, 1), member(&c, 1)]})).await;
    let ch = ch["id"].as_str().unwrap().to_string();
    publish(&s, &api(&g, "heal", "/heal", &ch, json!({"retry_count": 2}))).await;
    s.eventually("GET", &host, "/heal", &[], |c| c.status == 200).await;
    member_health(&s, &ch, &b.address(), "healthy", Duration::from_secs(30)).await;

    // b goes down: requests keep succeeding (retried on another member) while the checks eject it.
    let b_addr = b.address();
    b.stop();
    let traffic = {
        let (http, url, host) = (s.http.clone(), format!("{}/heal", s.gateway), host.clone());
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0, Vec::new());
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(14) {
                let res = http.get(&url).header("Host", &host).send().await.expect("gateway request");
                match res.status().as_u16() {
                    200 => ok += 1,
                    other => failed.push(format!("{other} {}", res.text().await.unwrap_or_default())),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (ok, failed)
        })
    };
    // Two failed checks 5 s apart: ejected after about two intervals (request failures may eject it
    // sooner); the bound is generous, for loaded machines.
    let took = member_health(&s, &ch, &b_addr, "unhealthy", Duration::from_secs(30)).await;
    let after = spread(&s, &host, "/heal", 60, 3).await;
    assert_eq!(after.get(&b_addr), None, "an ejected member gets no requests: {after:?}");
    assert_eq!(after.values().sum::<usize>(), 60, "{after:?}");
    let (ok, failed) = traffic.await.unwrap();
    assert!(failed.is_empty(), "{} of {} requests failed while the member was down (ejected after {took:?}): {failed:?}", failed.len(), ok + failed.len());

    // Back on the same port: two good checks readmit it, and it serves again.
    let b = Echo::start_on(&b_addr).await;
    member_health(&s, &ch, &b.address(), "healthy", Duration::from_secs(30)).await;
    let back = spread(&s, &host, "/heal", 30, 1).await;
    assert_eq!(back.get(&b_addr), Some(&10), "{back:?}");
}

#[tokio::test]
async fn without_checks_failing_members_are_ejected_by_requests_and_backups_stand_in() {
    let (a, b, backup) = (Echo::start().await, Echo::start().await, Echo::start().await);
    let s = Server::start().await;
    let g = s.group("passive").await;
    let host = Server::group_host(&g);
    let mut standby = member(&backup, 1);
    standby["is_backup"] = json!(true);
    let ch = channel(&s, json!({"name": "passive", "port": 80, "members": [member(&a, 1), member(&b, 1), standby]})).await;
    let ch = ch["id"].as_str().unwrap().to_string();
    publish(&s, &api(&g, "passive", "/passive", &ch, json!({}))).await;
    s.eventually("GET", &host, "/passive", &[], |c| c.status == 200).await;
    let seen = spread(&s, &host, "/passive", 20, 1).await;
    assert_eq!((seen.get(&a.address()), seen.get(&b.address()), seen.get(&backup.address())), (Some(&10), Some(&10), None), "{seen:?}");

    // Both primaries down: GETs are retried once (retry_count -1), then the backup takes over.
    a.stop();
    b.stop();
    let seen = spread(&s, &host, "/passive", 20, 1).await;
    assert_eq!(seen.get(&backup.address()).copied().unwrap_or(0) + seen.get("502 \"APIG.0201\"").copied().unwrap_or(0), 20, "{seen:?}");
    let seen = spread(&s, &host, "/passive", 20, 1).await;
    assert_eq!(seen, HashMap::from([(backup.address(), 20)]), "after three failures each, the primaries are out");
    member_health(&s, &ch, &a.address(), "unhealthy", Duration::from_secs(10)).await;

    // A POST reached a member that failed: not retried.
    backup.stop();
    let c = s.call_gateway("POST", &host, "/passive", &[]).await;
    assert_eq!((c.status, c.json()["error_code"].as_str()), (502, Some("APIG.0201")), "{}", c.body);
    // Every member out: no backend available.
    for _ in 0..3 {
        s.call_gateway("GET", &host, "/passive", &[]).await;
    }
    let c = s.call_gateway("GET", &host, "/passive", &[]).await;
    assert_eq!((c.status, c.json()["error_code"].as_str()), (502, Some("APIG.0610")), "{}", c.body);
}

#[tokio::test]
async fn hash_strategies_stick_and_the_proxy_host_is_sent() {
    let (a, b, c) = (Echo::start().await, Echo::start().await, Echo::start().await);
    let s = Server::start_with(common::Backend::Sqlite, &["--real-ip-from-xff=-1"]).await;
    let g = s.group("sticky").await;
    let host = Server::group_host(&g);
    let members = json!([member(&a, 1), member(&b, 1), member(&c, 1)]);
    let by_source = channel(&s, json!({"name": "by_source", "port": 80, "balance_strategy": 3, "members": members})).await;
    let by_uri = channel(&s, json!({"name": "by_uri", "port": 80, "balance_strategy": 4, "members": members})).await;
    let source_api = api(&g, "by_source", "/source", by_source["id"].as_str().unwrap(), json!({}));
    publish(&s, &source_api).await;
    let mut uri_api = api(&g, "by_uri", "/uri", by_uri["id"].as_str().unwrap(), json!({"vpc_info": {"vpc_id": by_uri["id"], "vpc_proxy_host": "internal.example:8080"}}));
    uri_api["match_mode"] = json!("SWA");
    publish(&s, &uri_api).await;
    s.eventually("GET", &host, "/source", &[], |c| c.status == 200).await;

    let mut used = std::collections::HashSet::new();
    for i in 0..30 {
        let caller = format!("203.0.113.{i}");
        let first = s.call_gateway("GET", &host, "/source", &[("X-Forwarded-For", &caller)]).await.json()["served_by"].clone();
        for _ in 0..4 {
            let again = s.call_gateway("GET", &host, "/source", &[("X-Forwarded-For", &caller)]).await.json()["served_by"].clone();
            assert_eq!(again, first, "{caller} moved");
        }
        used.insert(first.to_string());
    }
    assert_eq!(used.len(), 3, "30 callers spread over the members: {used:?}");

    let mut used = std::collections::HashSet::new();
    for i in 0..30 {
        let path = format!("/uri/item/{i}");
        let first = s.call_gateway("GET", &host, &path, &[]).await.json();
        assert_eq!(common::echo::header(&first, "host"), Some("internal.example:8080"), "{first}");
        assert_eq!(common::echo::header(&first, "x-forwarded-host"), Some(host.as_str()), "{first}");
        for k in 0..4 {
            let caller = format!("198.51.100.{k}");
            let again = s.call_gateway("GET", &host, &path, &[("X-Forwarded-For", &caller)]).await.json();
            assert_eq!(again["served_by"], first["served_by"], "{path} moved");
        }
        used.insert(first["served_by"].to_string());
    }
    assert_eq!(used.len(), 3, "{used:?}");
}

#[tokio::test]
async fn channels_are_managed_with_the_documented_rules() {
    let a = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("managed").await;
    let created = channel(
        &s,
        json!({"name": "managed-1", "type": 2, "member_type": "instance", "port": 8080, "balance_strategy": 2,
               "vpc_health_config": {"protocol": "TCP", "threshold_normal": 2, "threshold_abnormal": 3, "time_out": 3, "time_interval": 10},
               "vpc_instances": [{"instance_id": "i-1", "instance_name": "one", "host": "127.0.0.1", "port": a.addr.port(), "weight": 7}]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!((created["type"].as_i64(), created["balance_strategy"].as_i64(), created["status"].as_i64()), (Some(2), Some(2), Some(1)), "{created}");
    assert_eq!(created["vpc_instances"][0]["weight"], 7);
    assert_eq!(created["vpc_instances"][0]["vpc_id"], id.as_str());
    assert_eq!(created["vpc_health_config"]["protocol"], "TCP");

    assert_error(&s.post("/vpc-channels", &json!({"name": "managed-1", "port": 80})).await, 400, "APIG.3208", Some("name"));
    assert_error(&s.post("/vpc-channels", &json!({"name": "x", "port": 80})).await, 400, "APIG.2011", Some("name"));
    assert_error(&s.post("/vpc-channels", &json!({"name": "bad_port", "port": 0})).await, 400, "APIG.2025", Some("port"));
    assert_error(&s.post("/vpc-channels", &json!({"name": "bad_member", "port": 80, "members": [{"host": "not a host"}]})).await, 400, "APIG.2024", Some("members[0].host"));
    assert_error(
        &s.post("/vpc-channels", &json!({"name": "bad_check", "port": 80, "vpc_health_config": {"protocol": "HTTP"}})).await,
        400,
        "APIG.2001",
        Some("vpc_health_config.path"),
    );

    let (status, list) = s.get("/vpc-channels?name=managed-1&precise_search=name").await;
    assert_eq!((status, list["total"].as_i64(), list["vpcs"][0]["id"].as_str()), (200, Some(1), Some(id.as_str())), "{list}");

    // Members: adding at a known place updates it; new places are added.
    let (status, m) = s
        .post(&format!("/vpc-channels/{id}/members"), &json!({"members": [{"host": "127.0.0.1", "port": a.addr.port(), "weight": 9, "instance_id": "i-1"}, {"host": "10.0.0.2", "instance_id": "i-2"}]}))
        .await;
    assert_eq!((status, m["total"].as_i64()), (201, Some(2)), "{m}");
    assert_eq!(m["members"][0]["weight"], 9);
    assert_eq!(m["members"][1]["port"], 8080, "the channel's port");
    let second = m["members"][1]["id"].as_str().unwrap().to_string();
    // Each member answers its port once (its own or the channel's).
    let raw = s.http.get(s.url(&format!("/vpc-channels/{id}/members"))).header("X-Auth-Token", common::TOKEN).send().await.unwrap().text().await.unwrap();
    assert_eq!(raw.matches("\"port\":").count(), 2, "{raw}");
    let (_, disabled) = s.post(&format!("/vpc-channels/{id}/members/batch-disable"), &json!({"member_ids": [second]})).await;
    let (_, m) = s.get(&format!("/vpc-channels/{id}/members")).await;
    assert_eq!(m["members"][1]["health_status"], "disabled", "{disabled} {m}");
    assert_eq!(s.delete(&format!("/vpc-channels/{id}/members/{second}")).await.0, 204);
    assert_error(&s.delete(&format!("/vpc-channels/{id}/members/{second}")).await, 404, "APIG.3024", None);

    // APIs name existing channels; a channel in use stays.
    assert_error(&s.post("/apis", &api(&g, "nowhere", "/nowhere", "0123456789abcdef0123456789abcdef", json!({}))).await, 404, "APIG.3023", Some("backend_api.vpc_info.vpc_id"));
    let api_id = publish(&s, &api(&g, "somewhere", "/somewhere", &id, json!({}))).await;
    let host = Server::group_host(&g);
    let c = s.eventually("GET", &host, "/somewhere", &[], |c| c.status == 200).await;
    assert_eq!(c.json()["served_by"], a.address().as_str());
    assert_error(&s.delete(&format!("/vpc-channels/{id}")).await, 403, "APIG.3450", None);
    assert_eq!(s.delete(&format!("/apis/publish/{api_id}?env_id={RELEASE}")).await.0, 204);
    assert_eq!(s.delete(&format!("/apis/{api_id}")).await.0, 204);
    assert_eq!(s.delete(&format!("/vpc-channels/{id}")).await.0, 204);
    assert_error(&s.get(&format!("/vpc-channels/{id}")).await, 404, "APIG.3023", None);
}

#[tokio::test]
async fn a_backend_with_weighted_addresses_balances_like_a_channel() {
    let (a, b, dead) = (Echo::start().await, Echo::start().await, Echo::start().await);
    let s = Server::start().await;
    let g = s.group("addresses").await;
    let host = Server::group_host(&g);
    let list = json!([{"url_domain": a.address(), "weight": 3}, {"url_domain": b.address()}]);
    let body = json!({
      "group_id": g, "name": "listed", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/listed", "auth_type": "NONE",
      "backend_type": "HTTP", "backend_api": {"url_domains": list, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/b", "timeout": 3000}
    });
    let (status, created) = s.post("/apis", &body).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["backend_api"]["url_domain"], a.address().as_str(), "url_domain is the first address");
    assert_eq!(created["backend_api"]["url_domains"][1]["weight"], 1);
    let (status, p) = s.post(&format!("/apis/publish/{}", created["id"].as_str().unwrap()), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201, "{p}");
    s.eventually("GET", &host, "/listed", &[], |c| c.status == 200).await;
    let seen = spread(&s, &host, "/listed", 400, 3).await;
    assert_eq!(seen.values().sum::<usize>(), 400, "{seen:?}");
    // Exactly 3:1 over whole cycles; the call above took the first turn of one.
    assert!(seen[&a.address()].abs_diff(300) <= 1 && seen[&b.address()].abs_diff(100) <= 1, "{seen:?}");

    // A dead address: GETs are retried on the other one and none fails.
    let mut with_dead = body.clone();
    with_dead["name"] = json!("with_dead");
    with_dead["req_uri"] = json!("/with_dead");
    with_dead["backend_api"]["url_domains"] = json!([{"url_domain": a.address()}, {"url_domain": dead.address()}]);
    dead.stop();
    publish(&s, &with_dead).await;
    s.eventually("GET", &host, "/with_dead", &[], |c| c.status == 200).await;
    let seen = spread(&s, &host, "/with_dead", 20, 1).await;
    assert_eq!(seen, HashMap::from([(a.address(), 20)]));

    let mut bad = body.clone();
    bad["backend_api"]["url_domains"][0]["weight"] = json!(0);
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2011", Some("backend_api.url_domains[0].weight"));
    let mut bad = body.clone();
    bad["backend_api"]["url_domains"][1]["url_domain"] = json!("http://x/y");
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2024", Some("backend_api.url_domains[1].url_domain"));
}

/// A backend that reads each request and drops the connection without answering.
async fn crasher() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 4096];
                // The request arrives; then the server "crashes".
                let _ = stream.read(&mut buf).await;
            });
        }
    });
    (addr, task)
}

#[tokio::test]
async fn requests_that_reached_a_failing_member_are_retried_only_when_asked_and_idempotent() {
    let echo = Echo::start().await;
    let (crash, _task) = crasher().await;
    let s = Server::start().await;
    let g = s.group("reached").await;
    let host = Server::group_host(&g);
    let members = json!([{"host": "127.0.0.1", "port": crash.port()}, member(&echo, 1)]);
    let counted = channel(&s, json!({"name": "counted", "port": 80, "members": members})).await;
    let default = channel(&s, json!({"name": "default", "port": 80, "members": members})).await;
    publish(&s, &api(&g, "counted", "/counted", counted["id"].as_str().unwrap(), json!({"retry_count": 1}))).await;
    publish(&s, &api(&g, "default", "/default", default["id"].as_str().unwrap(), json!({}))).await;
    s.eventually("GET", &host, "/counted", &[], |c| c.status == 200).await;

    // retry_count 1: a GET the crashing member took is sent to the other member.
    let seen = spread(&s, &host, "/counted", 6, 1).await;
    assert_eq!(seen, HashMap::from([(echo.address(), 6)]), "{seen:?}");
    // The default (-1): only requests that never left are retried; this one reached the member.
    let first_two = spread(&s, &host, "/default", 2, 1).await;
    assert_eq!(first_two.get("502 \"APIG.0201\""), Some(&1), "{first_two:?}");
    // A POST is never sent again once it reached a member, whatever retry_count says.
    let fresh = channel(&s, json!({"name": "fresh", "port": 80, "members": [{"host": "127.0.0.1", "port": crash.port()}]})).await;
    publish(&s, &api(&g, "posted", "/posted", fresh["id"].as_str().unwrap(), json!({"retry_count": 3}))).await;
    let c = s.eventually("POST", &host, "/posted", &[], |c| c.status != 404).await;
    assert_eq!((c.status, c.json()["error_code"].as_str()), (502, Some("APIG.0201")), "{}", c.body);
}

/// V2's member groups: created with the channel or added later, members put in
/// them by name, their weight the weight of their members (0 drains a group),
/// answered as V2 shapes them; deleting a group removes its members.
#[tokio::test]
async fn member_groups_weigh_their_members_and_v2_answers_them() {
    let (blue_a, blue_b, green) = (Echo::start().await, Echo::start().await, Echo::start().await);
    let s = Server::start().await;
    let v2 = |path: &str| format!("{}/v2/p1/apigw/instances/causeway{path}", s.admin);
    let call = |method: &str, url: String, body: Option<Value>| {
        let mut req = s.http.request(method.parse().unwrap(), url).header("X-Auth-Token", common::TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let m = |e: &Echo, group: &str| json!({"host": "127.0.0.1", "port": e.addr.port(), "weight": 1, "member_group_name": group});
    let (status, ch) = call("POST", v2("/vpc-channels"), Some(json!({"name": "canary.release", "port": 80, "balance_strategy": 1, "member_type": "ip", "type": 2,
        "member_groups": [{"member_group_name": "blue", "member_group_weight": 1, "member_group_remark": "stable"}, {"member_group_name": "green", "member_group_weight": 2}],
        "members": [m(&blue_a, "blue"), m(&blue_b, "blue"), m(&green, "green")]}))).await;
    assert_eq!(status, 201, "{ch}");
    let id = ch["id"].as_str().unwrap().to_string();
    assert_eq!(ch["member_groups"][0]["member_group_name"], "blue", "{ch}");
    assert_eq!(ch["member_groups"][0]["member_group_weight"], 1);
    assert_eq!(ch["member_groups"][0]["member_group_remark"], "stable");
    let green_id = ch["member_groups"][1]["member_group_id"].as_str().unwrap().to_string();
    assert_eq!(green_id.len(), 32);

    // The V2 list key, and its member-group filters.
    let (_, listed) = call("GET", v2("/vpc-channels?member_group_name=gre"), None).await;
    assert_eq!(listed["vpc_channels"][0]["id"], id.as_str(), "{listed}");
    let (_, none) = call("GET", v2("/vpc-channels?member_group_name=gre&precise_search=member_group_name"), None).await;
    assert_eq!(none["total"], 0, "{none}");
    let (_, v1) = s.get("/vpc-channels").await;
    assert_eq!(v1["vpcs"][0]["id"], id.as_str(), "v1.0 keeps its key: {v1}");
    // Members answer their group.
    let (_, members) = call("GET", v2(&format!("/vpc-channels/{id}/members?member_group_name=green")), None).await;
    assert_eq!(members["total"], 1, "{members}");
    assert_eq!(members["members"][0]["member_group_id"], green_id.as_str());
    assert_eq!(members["members"][0]["member_group_name"], "green");
    assert_eq!(members["members"][0]["vpc_channel_id"], id.as_str());

    // Requests follow the group weights: blue (weight 1) has two members, green (weight 2) one.
    let g = s.group("canary").await;
    let host = Server::group_host(&g);
    publish(&s, &api(&g, "canary_api", "/canary", &id, json!({}))).await;
    s.eventually("GET", &host, "/canary", &[], |c| c.status == 200).await;
    let seen = spread(&s, &host, "/canary", 400, 4).await;
    assert_eq!((seen[&blue_a.address()], seen[&blue_b.address()], seen[&green.address()]), (100, 100, 200), "{seen:?}");

    // Drain green to 0 through its own route: no new requests reach it.
    let (status, updated) = call("PUT", v2(&format!("/vpc-channels/{id}/member-groups/{green_id}")), Some(json!({"member_group_name": "green", "member_group_weight": 0}))).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["member_group_weight"], 0);
    let seen = spread(&s, &host, "/canary", 100, 4).await;
    assert_eq!(seen.get(&green.address()), None, "{seen:?}");

    // Groups are upserted by name; a member naming an unknown group is refused.
    let (status, groups) = call("POST", v2(&format!("/vpc-channels/{id}/member-groups")), Some(json!({"member_groups": [{"member_group_name": "blue", "member_group_weight": 5}, {"member_group_name": "purple"}]}))).await;
    assert_eq!(status, 201, "{groups}");
    assert_eq!(groups["total"], 3, "{groups}");
    let (_, blue) = call("GET", v2(&format!("/vpc-channels/{id}/member-groups?member_group_name=blue&precise_search=member_group_name")), None).await;
    assert_eq!(blue["member_groups"][0]["member_group_weight"], 5, "{blue}");
    let (status, bad) = call("POST", v2(&format!("/vpc-channels/{id}/members")), Some(json!({"members": [m(&green, "nope")]}))).await;
    assert_eq!((status, bad["error_code"].as_str()), (400, Some("APIG.2012")), "{bad}");
    assert!(bad["error_msg"].as_str().unwrap().contains("members.member_group_name"), "{bad}");
    assert_error(&call("GET", v2(&format!("/vpc-channels/{id}/member-groups/0123456789abcdef0123456789abcdef")), None).await, 404, "APIG.3025", None);
    assert_error(&call("POST", v2(&format!("/vpc-channels/{id}/member-groups")), Some(json!({"member_groups": [{"member_group_name": "x"}]}))).await, 400, "APIG.2011", Some("member_groups[0].member_group_name"));
    assert_error(&call("POST", v2(&format!("/vpc-channels/{id}/member-groups")), Some(json!({"member_groups": [{"member_group_name": "heavy", "member_group_weight": 101}]}))).await, 400, "APIG.2011", Some("member_groups[0].member_group_weight"));

    // Deleting a group takes its members with it.
    let (status, _) = call("DELETE", v2(&format!("/vpc-channels/{id}/member-groups/{green_id}")), None).await;
    assert_eq!(status, 204);
    let (_, after) = call("GET", v2(&format!("/vpc-channels/{id}")), None).await;
    assert_eq!(after["members"].as_array().unwrap().len(), 2, "{after}");
    assert!(after["member_groups"].as_array().unwrap().iter().all(|g| g["member_group_name"] != "green"), "{after}");
}
