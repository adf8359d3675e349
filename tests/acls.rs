//! Access control end to end: PERMIT and DENY lists bound to published APIs,
//! checked against the caller's address, and their management rules.

mod common;

use common::echo::Echo;
use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn api(group: &str, name: &str, path: &str, echo: &Echo) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path, "auth_type": "NONE",
      "backend_type": "HTTP", "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/backend", "timeout": 3000}
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

async fn acl(s: &Server, name: &str, kind: &str, value: &str) -> String {
    let (status, a) = s.post("/acls", &json!({"acl_name": name, "acl_type": kind, "entity_type": "IP", "acl_value": value})).await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

/// Binds; returns the binding id.
async fn bind(s: &Server, acl_id: &str, publish_id: &str) -> String {
    let (status, b) = s.post("/acl-bindings", &json!({"acl_id": acl_id, "publish_ids": [publish_id]})).await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(b[0]["publish_id"], publish_id);
    b[0]["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn lists_admit_and_refuse_callers_by_address() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("guarded_by_ip").await;
    let host = Server::group_host(&g);
    let (api_id, publish_id) = publish(&s, &api(&g, "inner", "/inner", &echo)).await;
    let (_, other_publish) = publish(&s, &api(&g, "outer", "/outer", &echo)).await;
    assert_eq!(s.eventually("GET", &host, "/inner", &[], |c| c.status == 200).await.status, 200);

    // An allow list without the caller (127.0.0.1): refused; the other API is not affected.
    let office = acl(&s, "office", "PERMIT", "10.0.0.0/8,192.168.1.5").await;
    bind(&s, &office, &publish_id).await;
    let c = s.call_gateway("GET", &host, "/inner", &[]).await;
    assert_eq!(c.status, 403, "{}", c.body);
    assert_eq!(c.json()["error_code"], "APIG.0402");
    assert_eq!(s.call_gateway("GET", &host, "/outer", &[]).await.status, 200);

    // With the caller in a range: admitted. IPv6 entries sit beside IPv4 ones.
    let (status, body) = s.put(&format!("/acls/{office}"), &json!({"acl_name": "office", "acl_type": "PERMIT", "entity_type": "IP", "acl_value": "::1,10.0.0.0/8,127.0.0.1-127.0.0.3"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(s.call_gateway("GET", &host, "/inner", &[]).await.status, 200);

    // A block list wins over the allow list.
    let blocked = acl(&s, "blocked", "DENY", "127.0.0.0/8").await;
    let blocking = bind(&s, &blocked, &publish_id).await;
    assert_eq!(s.call_gateway("GET", &host, "/inner", &[]).await.status, 403);
    bind(&s, &blocked, &other_publish).await;
    assert_eq!(s.call_gateway("GET", &host, "/outer", &[]).await.status, 403);

    // Unbound: admitted again.
    let (status, _) = s.delete(&format!("/acl-bindings/{blocking}")).await;
    assert_eq!(status, 204);
    assert_eq!(s.call_gateway("GET", &host, "/inner", &[]).await.status, 200);

    // The owner can shape the refusal like any ACCESS_DENIED response.
    let base = format!("/api-groups/{g}/gateway-responses");
    let (_, list) = s.get(&base).await;
    let default_id = list["responses"][0]["id"].as_str().unwrap().to_string();
    let custom = json!({"name": "default", "responses": {"ACCESS_DENIED": {"status": 451, "body": "{\"go_away\":\"$context.sourceIp\"}"}}});
    assert_eq!(s.put(&format!("{base}/{default_id}"), &custom).await.0, 200);
    let c = s.call_gateway("GET", &host, "/outer", &[]).await;
    assert_eq!((c.status, c.json()), (451, json!({"go_away": "127.0.0.1"})));

    // Offline takes the bindings with it: published again, the API is open.
    let (status, bound) = s.get(&format!("/acl-bindings/binded-acls?api_id={api_id}")).await;
    assert_eq!((status, bound["total"].as_u64()), (200, Some(1)), "{bound}");
    let (status, _) = s.delete(&format!("/apis/publish/{api_id}?env_id={RELEASE}")).await;
    assert_eq!(status, 204);
    let (_, bound) = s.get(&format!("/acl-bindings/binded-acls?api_id={api_id}")).await;
    assert_eq!(bound["total"], 0, "{bound}");
    let (status, _) = s.post(&format!("/apis/publish/{api_id}"), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201);
    assert_eq!(s.eventually("GET", &host, "/inner", &[], |c| c.status != 404).await.status, 200);
}

#[tokio::test]
async fn acls_are_managed_with_the_documented_rules() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("acl_rules").await;
    let (api_id, publish_id) = publish(&s, &api(&g, "ruled", "/ruled", &echo)).await;
    let (_, free_publish) = publish(&s, &api(&g, "free", "/free", &echo)).await;
    let body = |name: &str, kind: &str, value: &str| json!({"acl_name": name, "acl_type": kind, "entity_type": "IP", "acl_value": value});

    // Values: every form of address, checked.
    assert_error(&s.post("/acls", &body("bad_ip", "PERMIT", "10.0.0.300")).await, 400, "APIG.2015", Some("acl_value"));
    assert_error(&s.post("/acls", &body("bad_range", "PERMIT", "10.0.0.9-10.0.0.1")).await, 400, "APIG.2015", Some("acl_value"));
    assert_error(&s.post("/acls", &body("bad_type", "ALLOW", "10.0.0.1")).await, 400, "APIG.2011", Some("acl_type"));
    assert_error(&s.post("/acls", &json!({"acl_name": "domains", "acl_type": "PERMIT", "entity_type": "DOMAIN", "acl_value": "tenant"})).await, 400, "APIG.2011", Some("entity_type"));
    assert_error(&s.post("/acls", &json!({"acl_name": "no_value", "acl_type": "PERMIT", "entity_type": "IP"})).await, 400, "APIG.2001", Some("acl_value"));
    let (status, created) = s.post("/acls", &body("allow_one", "PERMIT", "192.168.1.5, 192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["acl_value"], "192.168.1.5,192.168.10.0/24,192.168.12.12-192.168.12.19,2001:db8::/32");
    let allow = created["id"].as_str().unwrap().to_string();
    assert_error(&s.post("/acls", &body("allow_one", "DENY", "10.0.0.1")).await, 400, "APIG.3206", Some("acl_name"));
    let allow_two = acl(&s, "allow_two", "PERMIT", "10.0.0.1").await;
    let deny = acl(&s, "deny_one", "DENY", "10.0.0.2").await;
    assert_error(&s.get("/acls/nothere").await, 404, "APIG.3006", None);

    // One policy of each type per published API.
    bind(&s, &allow, &publish_id).await;
    bind(&s, &allow, &publish_id).await;
    bind(&s, &deny, &publish_id).await;
    let second = s.post("/acl-bindings", &json!({"acl_id": allow_two, "publish_ids": [publish_id]})).await;
    assert_error(&second, 400, "APIG.2011", Some("publish_ids[0]"));
    assert_error(&s.post("/acl-bindings", &json!({"acl_id": allow, "publish_ids": ["nothere"]})).await, 404, "APIG.3015", Some("publish_ids[0]"));
    assert_error(&s.post("/acl-bindings", &json!({"acl_id": "nothere", "publish_ids": [publish_id]})).await, 404, "APIG.3006", None);
    assert_error(&s.delete("/acl-bindings/nothere").await, 404, "APIG.3010", None);

    // Queries.
    let (_, listed) = s.get("/acls?name=allow").await;
    assert_eq!(listed["total"], 2, "{listed}");
    let one = listed["acls"].as_array().unwrap().iter().find(|a| a["id"] == allow.as_str()).unwrap();
    assert_eq!(one["bind_num"], 1);
    let (_, bound) = s.get(&format!("/acl-bindings/binded-apis?acl_id={allow}")).await;
    assert_eq!((bound["total"].as_u64(), bound["apis"][0]["api_id"].as_str()), (Some(1), Some(api_id.as_str())), "{bound}");
    assert_eq!(bound["apis"][0]["env_name"], "RELEASE");
    let (_, unbound) = s.get(&format!("/acl-bindings/unbinded-apis?acl_id={allow_two}")).await;
    assert_eq!((unbound["total"].as_u64(), unbound["apis"][0]["publish_id"].as_str()), (Some(1), Some(free_publish.as_str())), "{unbound}");
    let (_, of_api) = s.get(&format!("/acl-bindings/binded-acls?api_id={api_id}")).await;
    assert_eq!(of_api["total"], 2, "{of_api}");
    assert_error(&s.get("/acl-bindings/binded-apis").await, 400, "APIG.2001", Some("acl_id"));

    // Bound policies keep their type and cannot be deleted; batch operations report each one.
    assert_error(&s.put(&format!("/acls/{allow}"), &body("allow_one", "DENY", "10.0.0.1")).await, 400, "APIG.2011", Some("acl_type"));
    assert_error(&s.delete(&format!("/acls/{allow}")).await, 403, "APIG.3452", None);
    let (status, batch) = s.put("/acls?action=delete", &json!({"acls": [allow, allow_two]})).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["success_count"], 1);
    assert_eq!((batch["failure"][0]["id"].as_str(), batch["failure"][0]["error_code"].as_str()), (Some(allow.as_str()), Some("APIG.3452")));
    let ids: Vec<String> = of_api["acls"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_string()).collect();
    let (status, batch) = s.put("/acl-bindings?action=delete", &json!({"acl_bindings": [ids[0], ids[1], "nothere"]})).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!((batch["success_count"].as_u64(), batch["failure"][0]["error_code"].as_str()), (Some(2), Some("APIG.3010")), "{batch}");
    assert_error(&s.put("/acl-bindings?action=drop", &json!({"acl_bindings": ["x"]})).await, 400, "APIG.2011", Some("action"));
    let (status, _) = s.delete(&format!("/acls/{allow}")).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn behind_trusted_proxies_the_forwarded_address_is_the_caller() {
    let echo = Echo::start().await;
    let s = Server::start_with(common::Backend::Sqlite, &["--real-ip-from-xff=-1"]).await;
    let g = s.group("proxied").await;
    let host = Server::group_host(&g);
    let (_, publish_id) = publish(&s, &api(&g, "proxied", "/proxied", &echo)).await;
    let office = acl(&s, "office", "PERMIT", "10.1.2.0/24").await;
    bind(&s, &office, &publish_id).await;

    // The last entry is the address the nearest (trusted) proxy saw.
    let admitted = s.eventually("GET", &host, "/proxied", &[("X-Forwarded-For", "1.1.1.1, 10.1.2.3")], |c| c.status != 404).await;
    assert_eq!(admitted.status, 200, "{}", admitted.body);
    let seen = admitted.json();
    assert_eq!(common::echo::header(&seen, "x-real-ip"), Some("10.1.2.3"));
    // The list goes on with the TCP peer appended, as any proxy does.
    assert_eq!(common::echo::header(&seen, "x-forwarded-for"), Some("1.1.1.1, 10.1.2.3, 127.0.0.1"));
    assert_eq!(s.call_gateway("GET", &host, "/proxied", &[("X-Forwarded-For", "10.1.2.3, 1.1.1.1")]).await.status, 403);
    // Without the header, or with an entry that is no address: the TCP peer.
    assert_eq!(s.call_gateway("GET", &host, "/proxied", &[]).await.status, 403);
    assert_eq!(s.call_gateway("GET", &host, "/proxied", &[("X-Forwarded-For", "unknown")]).await.status, 403);
}
