//! Thousands of random and mutated API bodies: never a 5xx, and every API the
//! server accepts reads back as a definition it accepts again unchanged.

mod common;

use common::Server;
use serde_json::{Value, json};

/// A small deterministic generator (xorshift), so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "", "a", "GET", "get", "ANY", "HTTP", "https", "BOTH", "MOCK", "FUNCTION", "NONE", "APP", "IAM", "AUTHORIZER",
    "SWA", "NORMAL", "PATH", "QUERY", "HEADER", "REQUEST", "CONSTANT", "SYSTEM", "STRING", "NUMBER", "sync", "async",
    "exact", "enum", "pattern", "param", "source", "system", "cookie", "ALL", "ANY", "/", "/a/{id}", "/a/{id}/b",
    "/#path_var#/x", "#host_var#:80", "host:8080", "10.0.0.1", "1.2.3.4/33", "id", "q", "X-Stage", "$context.appId",
    "$context.nothing", "ümlaut", "名字测试", "a\u{0}b", "((", "^[a-z]+$", "1,2,3", "req_path", "req_method",
    "{\"k\":1}", "[{\"key\":\"X-A\",\"value\":\"1\"}]", "\u{202e}", "\\", "\"", "name_ok", "APIG-SN-x",
];

fn random_scalar(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.below(5) as i64 - 1),
        3 => json!(rng.next() as i64),
        4 => json!(1.5),
        5 => json!("x".repeat(rng.pick(&[1usize, 31, 32, 33, 64, 65, 255, 256, 513, 20481]).to_owned())),
        6 => json!([]),
        7 => json!({}),
        _ => json!(rng.pick(WORDS)),
    }
}

fn valid_bodies(group_id: &str) -> Vec<Value> {
    vec![
        json!({
          "group_id": group_id, "name": "http_api", "type": 1, "req_method": "GET", "req_uri": "/a/{id}", "auth_type": "NONE",
          "backend_type": "HTTP", "cors": true,
          "req_params": [{"name": "id", "type": "STRING", "location": "PATH"}, {"name": "q", "type": "NUMBER", "location": "QUERY", "default_value": "3"}],
          "backend_api": {"url_domain": "#host_var#:8080", "req_protocol": "HTTP", "req_method": "ANY", "req_uri": "/#path_var#/{bid}", "timeout": 5000},
          "backend_params": [{"name": "bid", "location": "PATH", "origin": "REQUEST", "value": "id"}, {"name": "X-Src", "location": "HEADER", "origin": "SYSTEM", "value": "$context.sourceIp"}],
          "policy_https": [{"name": "pol_one", "effect_mode": "ANY", "url_domain": "10.0.0.1:81", "req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/p/{bid}",
              "conditions": [{"condition_origin": "param", "req_param_name": "q", "condition_type": "enum", "condition_value": "1,2,3"},
                             {"condition_origin": "source", "condition_value": "10.0.0.0/8"}]}]
        }),
        json!({
          "group_id": group_id, "name": "mock_api", "type": 2, "req_method": "POST", "req_uri": "/m", "auth_type": "APP", "backend_type": "MOCK",
          "mock_info": {"result_content": "{\"ok\":true}", "status_code": 201, "header": [{"key": "X-A", "value": "1"}]},
          "req_params": [{"name": "h", "type": "STRING", "location": "HEADER"}],
          "policy_mocks": [{"name": "pol_mock", "effect_mode": "ALL", "result_content": "p", "status_code": 202,
              "conditions": [{"condition_origin": "system", "sys_param_name": "req_path", "condition_type": "pattern", "condition_value": "^/m"}]}]
        }),
        json!({
          "group_id": group_id, "name": "func_api", "type": 1, "req_method": "ANY", "req_uri": "/f", "match_mode": "SWA", "auth_type": "IAM",
          "backend_type": "FUNCTION",
          "func_info": {"function_urn": "urn:fss:local:causeway:function:default:hello", "invocation_type": "async", "timeout": 100, "alias_urn": "urn:fss:local:causeway:function:default:hello:prod"},
          "policy_functions": [{"name": "pol_fn", "effect_mode": "ANY", "function_urn": "urn:fss:local:causeway:function:default:other", "invocation_type": "sync",
              "conditions": [{"condition_origin": "cookie", "cookie_param_name": "beta", "condition_type": "exact", "condition_value": "1"}]}]
        }),
    ]
}

/// All JSON pointers inside `v`.
fn pointers(v: &Value, prefix: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let p = format!("{prefix}/{k}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                let p = format!("{prefix}/{i}");
                out.push(p.clone());
                pointers(c, p, out);
            }
        }
        _ => {}
    }
}

fn mutate(rng: &mut Rng, mut body: Value, group_id: &str) -> Value {
    for _ in 0..1 + rng.below(4) {
        let mut all = Vec::new();
        pointers(&body, String::new(), &mut all);
        let target = rng.pick(&all).clone();
        let (parent, key) = target.rsplit_once('/').unwrap();
        let Some(node) = body.pointer_mut(parent) else { continue };
        match (node, rng.below(3)) {
            (Value::Object(m), 0) => {
                m.remove(key);
            }
            (Value::Object(m), _) => {
                m.insert(key.to_string(), random_scalar(rng));
            }
            (Value::Array(a), 0) => {
                a.remove(key.parse::<usize>().unwrap());
            }
            (Value::Array(a), _) => {
                let i = key.parse::<usize>().unwrap();
                a[i] = random_scalar(rng);
            }
            _ => {}
        }
    }
    // Keep most bodies in a real group so that group-level rules are reached.
    if rng.chance(80)
        && let Some(m) = body.as_object_mut() {
            m.insert("group_id".into(), json!(group_id));
        }
    // Distinct names and paths let many mutated bodies be accepted.
    if rng.chance(70) {
        let n = rng.next() % 1_000_000;
        if let Some(name) = body.get("name").and_then(Value::as_str).map(str::to_string) {
            body["name"] = json!(format!("{name}_{n}"));
        }
        if let Some(uri) = body.get("req_uri").and_then(Value::as_str).map(str::to_string) {
            body["req_uri"] = json!(format!("/v{n}{uri}"));
        }
    }
    body
}

#[tokio::test]
async fn random_api_bodies_never_break_the_server() {
    let server = Server::start().await;
    let group_id = server.group("fuzz").await;
    let seed = std::env::var("CAUSEWAY_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x9E37_79B9_7F4A_7C15u64);
    let rounds: usize = std::env::var("CAUSEWAY_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3000);
    eprintln!("fuzz seed {seed}, {rounds} rounds");
    let mut rng = Rng(seed);
    let bases = valid_bodies(&group_id);
    let (mut accepted, mut rejected) = (0, 0);
    for round in 0..rounds {
        let base = rng.pick(&bases).clone();
        let body = mutate(&mut rng, base, &group_id);
        let (status, resp) = server.post("/apis", &body).await;
        assert!(status < 500, "round {round}: {status} {resp} for {body}");
        match status {
            201 => accepted += 1,
            _ => {
                assert!(resp["error_code"].as_str().is_some_and(|c| c.starts_with("APIG.")), "round {round}: {resp}");
                rejected += 1;
            }
        }
        // Now and then, something that is not even an object.
        if round % 100 == 0 {
            let junk = [&b"{"[..], b"null", b"\"str\"", b"{\"type\": 1e400}", b"\xff\xfe", b"{\"name\": \"\\ud800\"}"];
            let (status, _) = server.post_raw("/apis", rng.pick(&junk).to_vec()).await;
            assert_eq!(status, 400);
        }
    }
    eprintln!("accepted {accepted}, rejected {rejected}");
    assert!(accepted > 50, "the mutations should leave many bodies valid ({accepted})");
    assert!(rejected > 500, "and reject many ({rejected})");

    // Every stored API re-validates: posting it back as an update is accepted and changes nothing.
    let mut page_no = 1;
    let mut checked = 0;
    loop {
        let (_, page) = server.get(&format!("/apis?page_size=500&page_no={page_no}")).await;
        let apis = page["apis"].as_array().unwrap().clone();
        if apis.is_empty() {
            break;
        }
        for api in apis {
            let id = api["id"].as_str().unwrap();
            let (status, again) = server.put(&format!("/apis/{id}"), &api).await;
            assert_eq!(status, 200, "stored API {api} does not re-validate: {again}");
            let mut a = again.clone();
            let mut b = api.clone();
            a.as_object_mut().unwrap().remove("update_time");
            b.as_object_mut().unwrap().remove("update_time");
            for x in [&mut a, &mut b] {
                for backend in ["backend_api", "mock_info", "func_info"] {
                    if let Some(o) = x.get_mut(backend).and_then(Value::as_object_mut) {
                        o.remove("update_time");
                    }
                }
            }
            assert_eq!(a, b, "re-validating changed the API");
            checked += 1;
        }
        page_no += 1;
    }
    assert_eq!(checked, accepted);
}
