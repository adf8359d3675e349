//! Every documented quota (`[limits]` in the configuration file) and the
//! name-uniqueness codes that go with them, against the real server: the
//! last resource within a quota is created, the next one is refused with the
//! documented code and status, and nothing over the quota is stored.

mod common;

use common::{Backend, Server, assert_error};
use serde_json::{Value, json};

/// A server whose quotas are all small.
async fn server() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("causeway.toml");
    std::fs::write(
        &config,
        "[limits]\ngroups = 2\nenvironments = 1\nvariables_per_group = 1\nthrottles = 1\nchannels = 1\nauthorizers = 1\n\
         params_per_api = 1\npolicies_per_api = 1\nconditions_per_policy = 1\n",
    )
    .unwrap();
    let s = Server::start_with(Backend::Sqlite, &["--config", config.to_str().unwrap()]).await;
    (s, dir)
}

/// Creates `first` (which must succeed), then refuses `second` with `code` (403); the list still holds one.
async fn one_then_refused(s: &Server, path: &str, list_key: &str, first: Value, second: Value, code: &str) {
    let (status, created) = s.post(path, &first).await;
    assert_eq!(status, 201, "{path}: {created}");
    let (_, before) = s.get(path).await;
    assert_error(&s.post(path, &second).await, 403, code, None);
    let (_, after) = s.get(path).await;
    assert_eq!(after[list_key].as_array().map(Vec::len), before[list_key].as_array().map(Vec::len), "{path}: nothing stored over the quota");
}

fn mock_api(group: &str, name: &str, extra: Value) -> Value {
    let mut api = json!({
        "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": format!("/{name}"),
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "ok"}
    });
    for (k, v) in extra.as_object().unwrap() {
        api[k] = v.clone();
    }
    api
}

fn param(name: &str) -> Value {
    json!({"name": name, "type": "STRING", "location": "QUERY"})
}

fn condition(value: &str) -> Value {
    json!({"condition_origin": "system", "sys_param_name": "req_path", "condition_type": "exact", "condition_value": value})
}

fn mock_policy(name: &str, conditions: Vec<Value>) -> Value {
    json!({"name": name, "effect_mode": "ANY", "result_content": "p", "status_code": 200, "conditions": conditions})
}

#[tokio::test]
async fn installation_quotas() {
    let (s, _dir) = server().await;
    // The DEFAULT group counts: one more group fits in 2.
    let (status, _) = s.post("/api-groups", &json!({"name": "shop"})).await;
    assert_eq!(status, 201);
    assert_error(&s.post("/api-groups", &json!({"name": "more"})).await, 403, "APIG.3101", None);

    one_then_refused(&s, "/envs", "envs", json!({"name": "DEVELOP"}), json!({"name": "TESTING"}), "APIG.3104").await;

    let throttle = |name: &str| json!({"name": name, "api_call_limits": 10, "time_interval": 1, "time_unit": "SECOND"});
    one_then_refused(&s, "/throttles", "throttles", throttle("limit_one"), throttle("limit_two"), "APIG.3107").await;

    let channel = |name: &str| json!({"name": name, "port": 80, "members": [{"host": "127.0.0.1"}]});
    one_then_refused(&s, "/vpc-channels", "vpcs", channel("chan_one"), channel("chan_two"), "APIG.3109").await;

    let (status, f) = s.post("/functions", &json!({"name": "gate", "code": "exports.handler = async () => ({statusCode: 200, body: '{\"status\":\"allow\"}'});"})).await;
    assert_eq!(status, 201, "{f}");
    let authorizer = |name: &str| json!({"name": name, "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": f["urn"]});
    one_then_refused(&s, "/authorizers", "authorizer_list", authorizer("auth_one"), authorizer("auth_two"), "APIG.3116").await;
}

#[tokio::test]
async fn group_and_api_quotas() {
    let (s, _dir) = server().await;
    let group = s.group("shop").await;
    let (_, env) = s.post("/envs", &json!({"name": "DEVELOP"})).await;
    let variable = |name: &str| json!({"group_id": group, "env_id": env["id"], "variable_name": name, "variable_value": "v"});
    let (status, created) = s.post("/env-variables", &variable("first")).await;
    assert_eq!(status, 201, "{created}");
    assert_error(&s.post("/env-variables", &variable("second")).await, 403, "APIG.3106", None);

    // Per API: parameters, backend policies and a policy's conditions, each named by its field.
    let (status, api) = s.post("/apis", &mock_api(&group, "within", json!({"req_params": [param("a")], "policy_mocks": [mock_policy("only", vec![condition("/a")])]}))).await;
    assert_eq!(status, 201, "{api}");
    assert_error(&s.post("/apis", &mock_api(&group, "params", json!({"req_params": [param("a"), param("b")]}))).await, 403, "APIG.3111", Some("req_params"));
    let two_policies = json!({"policy_mocks": [mock_policy("one", vec![condition("/a")]), mock_policy("two", vec![condition("/b")])]});
    assert_error(&s.post("/apis", &mock_api(&group, "policies", two_policies)).await, 403, "APIG.3113", Some("policy_mocks"));
    let two_conditions = json!({"policy_mocks": [mock_policy("one", vec![condition("/a"), condition("/b")])]});
    assert_error(&s.post("/apis", &mock_api(&group, "conditions", two_conditions)).await, 403, "APIG.3114", Some("policy_mocks[0].conditions"));
    let (_, apis) = s.get(&format!("/apis?group_id={group}")).await;
    assert_eq!(apis["total"], 1, "only the API within its quotas was stored: {apis}");
}

#[tokio::test]
async fn names_unique_where_documented() {
    let s = Server::start().await;
    let group = s.group("shop").await;
    // Two backend policies of one API may not share a name.
    let same = json!({"policy_mocks": [mock_policy("twin", vec![condition("/a")]), mock_policy("twin", vec![condition("/b")])]});
    assert_error(&s.post("/apis", &mock_api(&group, "twins", same)).await, 400, "APIG.3210", Some("policy_mocks[1].name"));
    // Function names are unique within their package.
    let function = json!({"name": "resize", "code": "exports.handler = async () => 1;"});
    assert_eq!(s.post("/functions", &function).await.0, 201);
    assert_error(&s.post("/functions", &function).await, 400, "APIG.3225", Some("name"));
    let (_, list) = s.get("/functions").await;
    assert_eq!(list["total"], 1, "{list}");
}
