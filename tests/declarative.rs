//! Declarative configuration against real servers: an installation that
//! uses every kind of resource is dumped, applied to empty installations
//! (SQLite and PostgreSQL) whose dumps are then identical; a second apply
//! changes nothing and writes nothing; one field edited shows as that field
//! and is the only change; --prune deletes only what the files do not
//! mention; files with an unknown field, a reference to nothing or an
//! invalid value are refused before anything changes.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Backend, Server, TOKEN};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

struct Ran {
    ok: bool,
    out: String,
    err: String,
}

fn causeway(s: &Server, args: &[&str]) -> Ran {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(Server::binary())
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("CAUSEWAY_ENDPOINT", &s.admin)
        .env("CAUSEWAY_ADMIN_TOKEN", TOKEN)
        .env("BACKEND_SIGN_SECRET", "0123456789abcdef0123")
        .output()
        .expect("causeway runs");
    Ran { ok: out.status.success(), out: String::from_utf8_lossy(&out.stdout).into_owned(), err: String::from_utf8_lossy(&out.stderr).into_owned() }
}

fn ok(s: &Server, args: &[&str]) -> String {
    let r = causeway(s, args);
    assert!(r.ok, "causeway {}: {}\n{}", args.join(" "), r.out, r.err);
    r.out
}

fn dump(s: &Server) -> String {
    ok(s, &["dump"])
}

/// How many changes the audit log holds.
async fn writes(s: &Server) -> u64 {
    s.get("/audit-logs?page_size=1").await.1["total"].as_u64().unwrap_or(0)
}

async fn created(s: &Server, path: &str, body: Value) -> String {
    let (status, v) = s.post(path, &body).await;
    assert!(status == 201 || status == 200, "{path}: {status} {v}");
    v["id"].as_str().unwrap_or_default().to_string()
}

/// An installation using every kind the files hold.
async fn build(s: &Server) {
    let staging = created(s, "/envs", json!({"name": "STAGING", "remark": "before release"})).await;
    let channel = created(s, "/vpc-channels", json!({"name": "pool", "type": 2, "port": 8080, "balance_strategy": 1, "member_type": "ip",
        "members": [{"host": "10.0.0.11", "weight": 3}, {"host": "10.0.0.12", "weight": 1}],
        "vpc_health_config": {"protocol": "HTTP", "path": "/health", "method": "GET", "threshold_normal": 2, "threshold_abnormal": 3, "time_out": 5, "time_interval": 10}})).await;
    created(s, "/functions", json!({"name": "gatekeeper", "code": "exports.handler = async (e) => ({statusCode: 200, body: JSON.stringify({status: 'allow', context: {user: 'u'}})});", "timeout": 3000})).await;
    let (_, f) = s.get("/functions?name=gatekeeper").await;
    let urn = f["functions"][0]["urn"].as_str().unwrap().to_string();
    let authorizer = created(s, "/authorizers", json!({"name": "gate", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": urn, "ttl": 30,
        "identities": [{"name": "Authorization", "location": "HEADER"}]})).await;
    created(s, "/throttles", json!({"name": "per_second", "api_call_limits": 100, "app_call_limits": 10, "time_interval": 1, "time_unit": "SECOND"})).await;
    created(s, "/acls", json!({"acl_name": "office", "acl_type": "PERMIT", "entity_type": "IP", "acl_value": "10.0.0.0/8,192.168.1.1"})).await;
    created(s, "/signs", json!({"name": "backend_key", "sign_type": "hmac"})).await;
    created(s, "/apps", json!({"name": "mobile", "remark": "the phone app"})).await;
    let g = created(s, "/api-groups", json!({"name": "shop", "remark": "the shop"})).await;
    created(s, "/env-variables", json!({"group_id": g, "env_id": staging, "variable_name": "backend", "variable_value": "10.0.0.8:8080"})).await;
    created(s, "/env-variables", json!({"group_id": g, "env_id": RELEASE, "variable_name": "backend", "variable_value": "10.0.1.8:8080"})).await;
    let set = created(s, &format!("/api-groups/{g}/gateway-responses"), json!({"name": "partner", "responses": {"NOT_FOUND": {"status": 404, "body": "{\"missing\":true}"}}})).await;
    created(s, &format!("/api-groups/{g}/domains"), json!({"url_domain": "shop.example.com"})).await;
    let orders = created(s, "/apis", json!({"group_id": g, "name": "orders", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/orders/{id}",
        "auth_type": "AUTHORIZER", "authorizer_id": authorizer, "backend_type": "HTTP", "response_id": set, "tags": ["team_a"],
        "req_params": [{"name": "id", "type": "NUMBER", "location": "PATH", "required": 1}, {"name": "q", "type": "STRING", "location": "QUERY", "max_size": 10}],
        "backend_api": {"vpc_status": 1, "vpc_info": {"vpc_id": channel}, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/orders/{oid}", "timeout": 5000},
        "backend_params": [{"name": "oid", "location": "PATH", "origin": "REQUEST", "value": "id"}, {"name": "X-Shop", "location": "HEADER", "origin": "CONSTANT", "value": "main"}]})).await;
    let ping = created(s, "/apis", json!({"group_id": g, "name": "ping", "type": 1, "req_method": "GET", "req_uri": "/ping", "auth_type": "NONE", "backend_type": "MOCK",
        "mock_info": {"status_code": 201, "result_content": "{\"pong\":true}"}})).await;
    let greet = created(s, "/apis", json!({"group_id": g, "name": "greet", "type": 1, "req_method": "POST", "req_uri": "/greet", "auth_type": "APP", "backend_type": "FUNCTION",
        "func_info": {"function_urn": urn, "invocation_type": "sync", "timeout": 3000}})).await;
    let mut publications = Vec::new();
    for (api, env) in [(&orders, RELEASE), (&orders, staging.as_str()), (&ping, RELEASE), (&greet, RELEASE)] {
        let (status, v) = s.post(&format!("/apis/publish/{api}"), &json!({"env_id": env})).await;
        assert_eq!(status, 201, "{v}");
        publications.push(v["publish_id"].as_str().unwrap().to_string());
    }
    // Policies bound to publications, an app authorized.
    let id_of = |list: Value, key: &str| list[key][0]["id"].as_str().unwrap().to_string();
    let throttle = id_of(s.get("/throttles?name=per_second").await.1, "throttles");
    let acl = id_of(s.get("/acls?name=office").await.1, "acls");
    let sign = id_of(s.get("/signs?name=backend_key").await.1, "signs");
    let app = id_of(s.get("/apps?name=mobile").await.1, "apps");
    for (path, body) in [
        ("/throttle-bindings", json!({"strategy_id": throttle, "publish_ids": [publications[0], publications[1]]})),
        ("/acl-bindings", json!({"acl_id": acl, "publish_ids": [publications[0]]})),
        ("/sign-bindings", json!({"sign_id": sign, "publish_ids": [publications[2]]})),
        ("/app-auths", json!({"app_ids": [app], "api_ids": [greet], "env_id": RELEASE})),
        ("/throttle-specials", json!({"strategy_id": throttle, "instance_id": app, "instance_type": "APP", "call_limits": 50})),
        ("/throttle-specials", json!({"strategy_id": throttle, "instance_id": "user-7", "instance_type": "USER", "call_limits": 5})),
    ] {
        let (status, v) = s.post(path, &body).await;
        assert!(status == 201 || status == 200, "{path}: {status} {v}");
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

async fn round_trip(target: &Server) {
    let source = Server::start().await;
    build(&source).await;
    let dir = tempfile::tempdir().unwrap();
    let text = dump(&source);
    // Stable, human: names for references, no ids, no secrets.
    for part in ["name: shop", "authorizer: gate", "channel: pool", "response: partner", "published:", "- RELEASE", "- STAGING", "backend: 10.0.1.8:8080",
        "policies:", "throttle: per_second", "- office", "sign: backend_key", "- shop/greet", "specials:", "app: mobile", "user: user-7"] {
        assert!(text.contains(part), "{part}:\n{text}");
    }
    assert!(!text.contains("_id:") && !text.contains("app_secret") && !text.contains("sign_secret") && !text.contains("register_time"), "{text}");
    assert_eq!(text, dump(&source), "two dumps are the same");
    let file = write(dir.path(), "causeway.yaml", &text);

    // Applied to an empty installation: the same dump.
    let plan = ok(target, &["diff", "-f", &file]);
    assert!(plan.contains("+ group shop") && plan.contains("+ api shop/orders") && plan.contains("> publish shop/orders in STAGING"), "{plan}");
    let before = writes(target).await;
    assert_eq!(writes(target).await, before, "diff writes nothing");
    let applied = ok(target, &["apply", "-f", &file]);
    assert!(applied.contains("change(s) made"), "{applied}");
    assert_eq!(dump(target), text, "the target's dump is the source's");

    // Again: nothing to do, nothing written.
    let before = writes(target).await;
    let again = ok(target, &["apply", "-f", &file]);
    assert!(again.contains("No changes: the installation is as the files say."), "{again}");
    assert_eq!(writes(target).await, before, "a second apply writes nothing");

    // One field edited: the diff names it, apply changes it (and publishes the API again where it is published).
    let edited = write(dir.path(), "causeway.yaml", &text.replacen("timeout: 5000", "timeout: 8000", 1));
    let plan = ok(target, &["diff", "-f", &edited]);
    let lines: Vec<&str> = plan.lines().collect();
    assert!(lines.contains(&"~ api shop/orders") && lines.contains(&"    backend_api.timeout: 5000 → 8000"), "{plan}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("~ ") || l.starts_with("+ ") || l.starts_with("- ")).count(), 1, "only that: {plan}");
    ok(target, &["apply", "-f", &edited]);
    let (_, orders) = target.get("/apis?name=orders").await;
    assert_eq!(orders["apis"][0]["backend_api"]["timeout"], 8000, "{orders}");
    assert!(ok(target, &["diff", "-f", &edited]).contains("No changes"));

    // Prune: only what the files do not mention goes, and only when asked.
    let (_, _) = target.post("/acls", &json!({"acl_name": "stray", "acl_type": "DENY", "entity_type": "IP", "acl_value": "1.2.3.4"})).await;
    assert!(ok(target, &["apply", "-f", &edited]).contains("No changes"), "without --prune nothing is deleted");
    let refused = causeway(target, &["apply", "-f", &edited, "--prune"]);
    assert!(!refused.ok && refused.err.contains("confirm with --yes"), "{}", refused.err);
    let pruned = ok(target, &["apply", "-f", &edited, "--prune", "--yes"]);
    assert!(pruned.contains("- acl stray") && pruned.lines().filter(|l| l.starts_with("- ")).count() == 1, "{pruned}");
    assert_eq!(dump(target), dump(&source).replacen("timeout: 5000", "timeout: 8000", 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_round_trips_through_files_on_sqlite() {
    let target = Server::start().await;
    round_trip(&target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installation_round_trips_through_files_on_postgres() {
    let Some(backend) = Backend::postgres() else { return };
    let target = Server::start_with(backend, &[]).await;
    round_trip(&target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_are_refused_before_anything_changes() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let base = "groups:\n- name: shop\n  apis:\n  - name: orders\n    type: 1\n    req_method: GET\n    req_uri: /orders\n    auth_type: NONE\n    backend_type: MOCK\n    mock_info: {result_content: ok}\n";
    let good = write(dir.path(), "good.yaml", base);
    let before = dump(&s);
    for (file, text, says) in [
        ("unknown.yaml", base.replace("    req_uri: /orders\n", "    req_uri: /orders\n    req_urii: /x\n"), "unknown.yaml: groups[shop].apis[orders]: unknown field req_urii"),
        ("nested.yaml", base.replace("{result_content: ok}", "{result_content: ok, stauts: 200}"), "nested.yaml: groups[shop].apis[orders]: unknown field mock_info.stauts"),
        ("reference.yaml", base.replace("    auth_type: NONE\n", "    auth_type: AUTHORIZER\n    authorizer: nobody\n"), "reference.yaml: groups[shop].apis[orders].authorizer: no authorizer named \"nobody\""),
        ("invalid.yaml", base.replace("req_method: GET", "req_method: FETCH"), "invalid.yaml: groups[shop].apis[orders]: Invalid parameter value,parameterName:req_method"),
        ("env.yaml", format!("{base}    published: [NOWHERE]\n"), "env.yaml: groups[shop].apis[orders].published: no environment named \"NOWHERE\""),
        ("section.yaml", format!("{base}widgets: []\n"), "section.yaml: unknown section \"widgets\""),
        ("policy.yaml", format!("{base}    published: [RELEASE]\n    policies: {{RELEASE: {{throttle: nothing}}}}\n"), "policy.yaml: groups[shop].apis[orders].policies.RELEASE.throttle: no throttle named \"nothing\""),
        ("unpublished.yaml", format!("{base}    policies: {{RELEASE: {{acls: []}}}}\n"), "the API is not published in RELEASE"),
        ("app.yaml", "apps:\n- name: mobile\n  apis: {RELEASE: [shop/nothing]}\n".to_string(), "app.yaml: apps[mobile].apis.RELEASE: no API \"shop/nothing\""),
        ("secret.yaml", "apps:\n- name: a\n  app_secret: ${NOT_SET_ANYWHERE}\n".to_string(), "secret.yaml: ${NOT_SET_ANYWHERE} is not set"),
        ("short.yaml", "signs:\n- {name: k, sign_type: hmac}\n".to_string(), "short.yaml: signs[k]: Invalid parameter value,parameterName:name"),
    ] {
        let path = write(dir.path(), file, &text);
        for cmd in ["diff", "apply"] {
            let r = causeway(&s, &[cmd, "-f", &path]);
            assert!(!r.ok && r.err.contains(says), "{cmd} {file}: {}\n{}", r.out, r.err);
        }
    }
    // Several files in a directory: a name defined twice is refused with both files.
    let two = tempfile::tempdir().unwrap();
    write(two.path(), "a.yaml", "throttles:\n- {name: t, api_call_limits: 1, time_interval: 1, time_unit: SECOND}\n");
    write(two.path(), "b.yaml", "throttles:\n- {name: t, api_call_limits: 2, time_interval: 1, time_unit: SECOND}\n");
    let r = causeway(&s, &["apply", "-f", two.path().to_str().unwrap()]);
    assert!(!r.ok && r.err.contains("b.yaml: throttles[t] is defined twice (also in") && r.err.contains("a.yaml"), "{}", r.err);
    assert_eq!(dump(&s), before, "nothing changed");
    // Secrets from the environment; the good file applies; --group leaves the rest alone.
    let with_secret = write(dir.path(), "secret_ok.yaml", "signs:\n- {name: backend_k, sign_type: hmac, sign_key: backend_key_0001, sign_secret: \"${BACKEND_SIGN_SECRET}\"}\n");
    ok(&s, &["apply", "-f", &with_secret]);
    let (_, signs) = s.get("/signs?name=backend_k").await;
    assert_eq!(signs["signs"][0]["sign_secret"], "0123456789abcdef0123", "{signs}");
    ok(&s, &["apply", "-f", &good]);
    let only_shop = ok(&s, &["diff", "-f", &good, "--group", "shop", "--prune"]);
    assert!(only_shop.contains("No changes"), "the sign key outside the group is not pruned: {only_shop}");
    assert!(!dump(&s).contains("before") && ok(&s, &["dump", "--group", "shop"]).starts_with("groups:"));
    // Split into files per group, and applied from the directory.
    let split = tempfile::tempdir().unwrap();
    ok(&s, &["dump", "-o", split.path().to_str().unwrap(), "--split"]);
    assert!(split.path().join("causeway.yaml").exists() && split.path().join("groups/shop.yaml").exists());
    assert!(ok(&s, &["diff", "-f", split.path().to_str().unwrap()]).contains("No changes"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_failure_says_what_was_done_and_a_second_run_continues() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let api = |name: &str, path: &str| format!("  - {{name: {name}, type: 1, req_method: GET, req_uri: {path}, auth_type: NONE, backend_type: MOCK, mock_info: {{result_content: ok}}}}\n");
    // Two APIs with one method and path: each is valid alone, the group refuses the second.
    let clash = format!("environments:\n- {{name: STAGING}}\ngroups:\n- name: shop\n  apis:\n{}{}", api("first", "/same"), api("second", "/same"));
    let file = write(dir.path(), "causeway.yaml", &clash);
    let r = causeway(&s, &["apply", "-f", &file]);
    assert!(!r.ok, "{}", r.out);
    assert!(r.err.contains("stopped at \"+ api shop/second\"") && r.err.contains("APIG.3301") && r.err.contains("3 step(s) done before it (the last: \"+ api shop/first\")"), "{}", r.err);
    assert!(r.err.contains("running apply again continues from here"), "{}", r.err);
    // Fixed, the next run does only what was left.
    let fixed = write(dir.path(), "causeway.yaml", &format!("environments:\n- {{name: STAGING}}\ngroups:\n- name: shop\n  apis:\n{}{}", api("first", "/same"), api("second", "/other")));
    let again = ok(&s, &["apply", "-f", &fixed]);
    assert_eq!(again.lines().filter(|l| l.starts_with(['+', '~', '-'])).collect::<Vec<_>>(), vec!["+ api shop/second"], "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_example_applies_as_written() {
    let s = Server::start().await;
    let doc = std::fs::read_to_string(format!("{}/../../docs/declarative.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let format = &doc[doc.find("## The format").unwrap()..];
    let start = format.find("```yaml\n").unwrap() + "```yaml\n".len();
    let example = &format[start..start + format[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "example.yaml", example);
    let applied = ok(&s, &["apply", "-f", &file]);
    assert!(applied.contains("> bind throttle per_second to shop/orders in RELEASE") && applied.contains("> authorize app mobile to call shop/orders in RELEASE"), "{applied}");
    let again = ok(&s, &["diff", "-f", &file]);
    assert!(again.contains("No changes"), "{again}");
    let (_, orders) = s.get("/apis?name=orders").await;
    assert_eq!(orders["apis"][0]["run_env_name"], "RELEASE|STAGING", "{orders}");
}
