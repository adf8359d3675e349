//! Thousands of random and mutated management bodies, for APIs and for every
//! other resource: never a 5xx; every API the server accepts reads back as a
//! definition it accepts again unchanged, publishes or is refused with a
//! documented code, and once published answers callers without breaking.
//! The seed is random and printed (`CAUSEWAY_FUZZ_SEED` replays a run;
//! `CAUSEWAY_FUZZ_ROUNDS` sets its length).

mod common;

use common::Server;
use common::echo::Echo;
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// The run's seed: `CAUSEWAY_FUZZ_SEED`, else a new one (printed, to replay a failure).
fn seed() -> u64 {
    let seed = std::env::var("CAUSEWAY_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
        nanos ^ u64::from(std::process::id()) << 32
    });
    // xorshift never leaves zero.
    let seed = seed.max(1);
    eprintln!("fuzz seed {seed} (replay with CAUSEWAY_FUZZ_SEED={seed})");
    seed
}

fn rounds(default: usize) -> usize {
    std::env::var("CAUSEWAY_FUZZ_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

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
        if all.is_empty() {
            break;
        }
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
        for key in ["name", "acl_name", "variable_name"] {
            if let Some(name) = body.get(key).and_then(Value::as_str).map(str::to_string) {
                body[key] = json!(format!("{name}_{n}"));
            }
        }
        if let Some(domain) = body.get("url_domain").and_then(Value::as_str).filter(|d| d.ends_with(".example.com")).map(str::to_string) {
            body["url_domain"] = json!(format!("d{n}.{domain}"));
        }
        if let Some(uri) = body.get("req_uri").and_then(Value::as_str).map(str::to_string) {
            body["req_uri"] = json!(format!("/v{n}{uri}"));
        }
    }
    body
}

#[tokio::test]
async fn random_api_bodies_never_break_the_server() {
    let echo = Echo::start().await;
    let server = Server::start().await;
    let group_id = server.group("fuzz").await;
    // What the valid bodies name: the variables their backends use, the functions they call.
    for (name, value) in [("host_var", echo.address()), ("path_var", "p".to_string())] {
        let (status, v) = server.post("/env-variables", &json!({"group_id": group_id, "env_id": RELEASE, "variable_name": name, "variable_value": value})).await;
        assert_eq!(status, 201, "{v}");
    }
    for name in ["hello", "other"] {
        let (status, f) = server.post("/functions", &json!({"name": name, "code": "exports.handler = (e) => ({statusCode: 200, body: 'hi'});"})).await;
        assert_eq!(status, 201, "{f}");
    }
    let seed = seed();
    let rounds = rounds(3000);
    let mut rng = Rng(seed);
    let bases = valid_bodies(&group_id);
    let (mut accepted, mut rejected) = (0, 0);
    let mut stored: Vec<Value> = Vec::new();
    for round in 0..rounds {
        let base = rng.pick(&bases).clone();
        let body = mutate(&mut rng, base, &group_id);
        let (status, resp) = server.post("/apis", &body).await;
        assert!(status < 500, "seed {seed} round {round}: {status} {resp} for {body}");
        match status {
            201 => {
                accepted += 1;
                stored.push(resp);
            }
            _ => {
                assert!(resp["error_code"].as_str().is_some_and(|c| c.starts_with("APIG.")), "seed {seed} round {round}: {resp}");
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

    // Publish what was accepted, and call it: published or refused with a documented code, and a
    // published API answers with a status of its own or a documented gateway error, never a crash.
    let host = Server::group_host(&group_id);
    let (mut published, mut called) = (0, 0);
    for api in &stored {
        let id = api["id"].as_str().unwrap();
        let (status, out) = server.post(&format!("/apis/publish/{id}"), &json!({"env_id": RELEASE})).await;
        if status != 201 {
            assert!(status < 500 && out["error_code"].as_str().is_some_and(|c| c.starts_with("APIG.")), "seed {seed}: publishing {api} answered {status} {out}");
            continue;
        }
        published += 1;
        if api["match_mode"] == "REGEX" || api["group_id"] != group_id.as_str() {
            continue;
        }
        let path = callable_path(api["req_uri"].as_str().unwrap_or("/"));
        let method = match api["req_method"].as_str().unwrap_or("GET") {
            "ANY" => "GET",
            m => m,
        };
        let c = server.call_gateway(method, &host, &path, &[("Cookie", "beta=1")]).await;
        called += 1;
        if c.status >= 500 {
            let body: Value = serde_json::from_str(&c.body).unwrap_or_default();
            assert!(
                matches!(c.status, 500 | 502 | 503 | 504) && body["error_code"].as_str().is_some_and(|code| code.starts_with("APIG.")),
                "seed {seed}: {method} {path} of {api} answered {} {}",
                c.status,
                c.body
            );
        }
    }
    eprintln!("published {published}, called {called}");
    assert!(published > 10, "many accepted APIs publish ({published} of {accepted})");
}

/// A concrete path for a template: each `{param}` or `{param+}` becomes `1`.
fn callable_path(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push('1');
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// One valid create body per resource family (and the path it is posted to), in creation order.
fn family_bases(group_id: &str, function_urn: &str) -> Vec<(String, Value)> {
    vec![
        ("/api-groups".into(), json!({"name": "fuzz_group", "remark": "groups"})),
        ("/envs".into(), json!({"name": "FUZZ_ENV", "remark": "envs"})),
        ("/env-variables".into(), json!({"group_id": group_id, "env_id": RELEASE, "variable_name": "fuzz_var", "variable_value": "10.0.0.1"})),
        ("/apps".into(), json!({"name": "fuzz_app", "remark": "apps", "app_key": "fuzz_app_key_0001", "app_secret": "fuzz_app_secret_1"})),
        ("/throttles".into(), json!({"name": "fuzz_throttle", "api_call_limits": 100, "user_call_limits": 50, "app_call_limits": 20, "ip_call_limits": 10, "time_interval": 1, "time_unit": "SECOND", "type": 1})),
        ("/acls".into(), json!({"acl_name": "fuzz_acl", "acl_type": "DENY", "entity_type": "IP", "acl_value": "10.0.0.0/8,192.168.0.1"})),
        ("/vpc-channels".into(), json!({"name": "fuzz_channel", "port": 8080, "balance_strategy": 1, "member_type": "ip", "type": 2,
            "vpc_health_config": {"protocol": "HTTP", "path": "/health", "method": "GET", "threshold_normal": 2, "threshold_abnormal": 2, "time_out": 2, "time_interval": 5, "http_code": "200"},
            "vpc_instances": [{"host": "127.0.0.1", "port": 8081, "weight": 1}]})),
        ("/authorizers".into(), json!({"name": "fuzz_authorizer", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": function_urn, "ttl": 10,
            "identities": [{"name": "Authorization", "location": "HEADER"}]})),
        ("/functions".into(), json!({"name": "fuzz_function", "code": "exports.handler = () => ({statusCode: 200});", "timeout": 3000, "memory_size": 128, "environment": {"A": "1"}})),
        ("/signs".into(), json!({"name": "fuzz_sign", "sign_type": "hmac", "sign_key": "fuzz_sign_key", "sign_secret": "fuzz_sign_secret_1"})),
        ("/iam-issuers".into(), json!({"name": "fuzz_issuer", "issuer": "https://fuzz.idp", "algorithm": "HS256", "secret": "fuzz-shared-secret-0001", "audiences": ["a"]})),
        ("/admin-credentials".into(), json!({"name": "fuzz_credential", "role": "viewer", "type": "TOKEN", "remark": "fuzz"})),
        (format!("/api-groups/{group_id}/gateway-responses"), json!({"name": "fuzz_responses", "responses": {"AUTH_FAILURE": {"status": 401, "body": "{\"m\":\"$context.error.message\"}", "headers": [{"key": "X-A", "value": "1"}]}}})),
        (format!("/api-groups/{group_id}/domains"), json!({"url_domain": "fuzz.example.com", "min_ssl_version": "TLSv1.2"})),
    ]
}

/// Every other resource family: random bodies never break the server, and
/// errors are documented. Bindings and authorizations get ids that exist.
#[tokio::test]
async fn random_bodies_for_every_resource_never_break_the_server() {
    let server = Server::start().await;
    let group_id = server.group("fuzz_families").await;
    let (status, f) = server.post("/functions", &json!({"name": "gate", "code": "exports.handler = () => ({status: 'allow'});"})).await;
    assert_eq!(status, 201, "{f}");
    let urn = f["urn"].as_str().unwrap().to_string();
    let mut bases = family_bases(&group_id, &urn);
    let mut created = std::collections::HashMap::new();
    for (path, body) in &bases {
        let (status, out) = server.post(path, body).await;
        assert_eq!(status, 201, "the valid {path} body is accepted: {out}");
        created.insert(path.clone(), out);
    }
    // Something published to bind and authorize.
    let api = json!({"group_id": group_id, "name": "bound", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/bound", "auth_type": "APP", "backend_type": "MOCK", "mock_info": {"result_content": "ok"}});
    let api_id = server.create_and_publish(&api, RELEASE).await;
    let id_of = |path: &str| created[path]["id"].as_str().unwrap_or_default().to_string();
    let (_, unbound) = server.get(&format!("/sign-bindings/unbinded-apis?sign_id={}", id_of("/signs"))).await;
    let publish_id = unbound["apis"][0]["publish_id"].as_str().expect("the published API's publication").to_string();
    bases.extend([
        ("/app-auths".to_string(), json!({"api_ids": [api_id], "app_ids": [id_of("/apps")], "env_id": RELEASE})),
        ("/throttle-bindings".to_string(), json!({"strategy_id": id_of("/throttles"), "publish_ids": [publish_id]})),
        ("/throttle-specials".to_string(), json!({"strategy_id": id_of("/throttles"), "instance_id": id_of("/apps"), "instance_type": "APP", "call_limits": 5})),
        ("/acl-bindings".to_string(), json!({"acl_id": id_of("/acls"), "publish_ids": [publish_id]})),
        ("/sign-bindings".to_string(), json!({"sign_id": id_of("/signs"), "publish_ids": [publish_id]})),
        (format!("/vpc-channels/{}/members", id_of("/vpc-channels")), json!({"vpc_instances": [{"host": "127.0.0.2", "port": 8082, "weight": 2}]})),
    ]);

    let seed = seed();
    let mut rng = Rng(seed);
    let (mut accepted, mut rejected) = (std::collections::BTreeMap::<String, usize>::new(), 0);
    for round in 0..rounds(3000) {
        let (path, base) = rng.pick(&bases).clone();
        let body = mutate(&mut rng, base, &group_id);
        // Creates, and (for resources with an id) updates of the ones created above.
        let (method, target) = match created.get(&path).and_then(|c| c["id"].as_str()) {
            Some(id) if rng.chance(30) && !path.contains("/api-groups/") => ("PUT", format!("{path}/{id}")),
            _ => ("POST", path.clone()),
        };
        let (status, out) = server.call(method, &target, Some(&body)).await;
        assert!(status < 500, "seed {seed} round {round}: {method} {target} answered {status} {out} for {body}");
        if status < 300 {
            *accepted.entry(path.clone()).or_default() += 1;
        } else {
            assert!(out["error_code"].as_str().is_some_and(|c| c.starts_with("APIG.")), "seed {seed} round {round}: {method} {target}: {out}");
            rejected += 1;
        }
    }
    eprintln!("accepted {accepted:?}, rejected {rejected}");
    assert!(rejected > 300, "many bodies are refused ({rejected})");
    // Still serving what it served.
    server.eventually("GET", &Server::group_host(&group_id), "/bound", &[], |c| c.status == 401).await;
}
