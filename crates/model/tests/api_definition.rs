//! The API definition's validation and normalisation, without a server.

use causeway_model::Limits;
use causeway_model::api::*;
use serde_json::json;

fn input(v: serde_json::Value) -> ApiInput {
    serde_json::from_value(v).expect("decodes")
}

fn mock_api() -> serde_json::Value {
    json!({
        "group_id": "g1", "name": "mocked", "type": 2, "req_method": "post", "req_uri": "/items/{id}",
        "auth_type": "none", "backend_type": "mock",
        "req_params": [{"name": "id", "type": "number", "location": "path", "required": 2}],
        "mock_info": {"result_content": "{}", "header": "[{\"key\":\"X-A\",\"value\":\"1\"}]"}
    })
}

#[test]
fn defaults_and_documented_case() {
    let api = input(mock_api()).validate(&Limits::default()).unwrap();
    assert_eq!(api.req_protocol, ReqProtocol::Https);
    assert_eq!(api.match_mode, MatchMode::Normal);
    assert_eq!(api.version, DEFAULT_API_VERSION);
    assert_eq!(api.req_method, Method::Post);
    assert_eq!(api.auth_opt.app_code_auth_type, AppCodeAuthType::Disable);
    assert!(!api.cors);
    let p = &api.req_params[0];
    assert_eq!(p.required, 1, "PATH parameters are always required");
    assert_eq!(p.valid_enable, 2);
    assert_eq!(p.pass_through, 1);
    let mock = api.mock_info.as_ref().unwrap();
    assert_eq!(mock.status_code, 200);
    assert_eq!(mock.header.as_deref(), Some(r#"[{"key":"X-A","value":"1"}]"#));
    assert_eq!(mock_headers(mock.header.as_deref())[0].key, "X-A");
    let out = serde_json::to_value(&api).unwrap();
    assert_eq!(out["req_method"], "POST");
    assert_eq!(out["backend_type"], "MOCK");
    assert_eq!(out["req_params"][0]["type"], "NUMBER");
}

#[test]
fn ids_are_assigned_linked_and_kept() {
    let mut body = mock_api();
    body["backend_params"] = json!([{"name": "x", "location": "HEADER", "origin": "REQUEST", "value": "id"}]);
    body["policy_mocks"] = json!([{"name": "by_id", "effect_mode": "ANY", "conditions": [
        {"condition_origin": "param", "req_param_name": "id", "condition_type": "exact", "condition_value": "7"}]}]);
    let mut first = input(body.clone()).validate(&Limits::default()).unwrap();
    first.assign_ids("a".repeat(32), None, "2026-01-01T00:00:00Z");
    let pid = first.req_params[0].id.clone();
    assert_eq!(first.backend_params[0].req_param_id.as_deref(), Some(pid.as_str()));
    let cond = &first.policy_mocks[0].conditions[0];
    assert_eq!(cond.req_param_id.as_deref(), Some(pid.as_str()));
    assert_eq!(cond.req_param_location, Some(ParamLocation::Path));

    let mut second = input(body).validate(&Limits::default()).unwrap();
    second.assign_ids(first.id.clone(), Some(&first), "2026-02-01T00:00:00Z");
    assert_eq!(second.req_params[0].id, pid);
    assert_eq!(second.policy_mocks[0].id, first.policy_mocks[0].id);
    assert_eq!(second.policy_mocks[0].conditions[0].id, first.policy_mocks[0].conditions[0].id);
    assert_eq!(second.mock_info.as_ref().unwrap().id, first.mock_info.as_ref().unwrap().id);
    assert_eq!(second.register_time, "2026-01-01T00:00:00Z");
    assert_eq!(second.update_time, "2026-02-01T00:00:00Z");
}

#[test]
fn variables_and_route_keys() {
    let api = input(json!({
        "group_id": "g1", "name": "proxied", "type": 1, "req_method": "GET", "req_uri": "/a/{x}",
        "auth_type": "NONE", "backend_type": "HTTP",
        "req_params": [{"name": "x", "type": "STRING", "location": "PATH"}],
        "backend_api": {"url_domain": "#host#:#port_no#", "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/#prefix#/b", "timeout": 10}
    }))
    .validate(&Limits::default())
    .unwrap();
    assert_eq!(api.variables(), vec!["host", "port_no", "prefix"]);
    assert_eq!(api.route_key(), "GET /a/{} NORMAL");
}

#[test]
fn the_timeout_ceiling_follows_the_limits() {
    let mut body = mock_api();
    body["backend_type"] = json!("FUNCTION");
    body["func_info"] = json!({"function_urn": "urn:fss:local:causeway:function:default:f", "invocation_type": "SYNC", "timeout": 400000});
    let err = input(body.clone()).validate(&Limits::default()).unwrap_err();
    assert_eq!((err.code, err.status), ("APIG.2011", 400));
    assert!(err.message.contains("parameterName:func_info.timeout"));
    let roma = Limits { max_backend_timeout_ms: 600_000, ..Limits::default() };
    let api = input(body.clone()).validate(&roma).unwrap();
    assert_eq!(api.func_info.unwrap().invocation_type, InvocationType::Sync);
    // Without a timeout: SCF's 15 s, within an installation's smaller largest.
    body["func_info"].as_object_mut().unwrap().remove("timeout");
    assert_eq!(input(body.clone()).validate(&Limits::default()).unwrap().func_info.unwrap().timeout, 15_000);
    let strict = Limits { max_backend_timeout_ms: 10_000, ..Limits::default() };
    assert_eq!(input(body).validate(&strict).unwrap().func_info.unwrap().timeout, 10_000);
}
