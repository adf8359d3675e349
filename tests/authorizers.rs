//! Custom authorizers end to end: functions from the registry that admit or
//! refuse callers (frontend) or supply values for the backend call (backend),
//! with identity sources, the answer cache, and the context reaching a real
//! HTTP backend as parameters.

mod common;

use common::echo::{self, Echo};
use common::{Server, assert_error};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// Admits tokens starting with `good-`; the context says who, and carries a
/// random number that tells one invocation from another.
const FRONTEND_CODE: &str = r#"
exports.handler = async (event) => {
  const token = event.headers['x-token'] || '';
  const allow = token.startsWith('good-');
  const context = {
    user: token.split('-').slice(1).join('-'), call: String(Math.random()), ud: event.user_data,
    tenant: event.queryStringParameters.tenant || '', admin: token === 'good-admin', id: event.pathParameters.id || '',
  };
  return {statusCode: 200, body: JSON.stringify({status: allow ? 'allow' : 'deny', context})};
};
"#;

async fn function(s: &Server, name: &str, code: &str) -> String {
    let (status, f) = s.post("/functions", &json!({"name": name, "code": code})).await;
    assert_eq!(status, 201, "{f}");
    f["urn"].as_str().unwrap().to_string()
}

async fn authorizer(s: &Server, body: Value) -> String {
    let (status, a) = s.post("/authorizers", &body).await;
    assert_eq!(status, 201, "{a}");
    a["id"].as_str().unwrap().to_string()
}

fn api(group: &str, name: &str, path: &str, echo: &Echo, extra: Value) -> Value {
    let mut a = json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path,
      "auth_type": "NONE", "backend_type": "HTTP",
      "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/backend", "timeout": 3000}
    });
    if let Value::Object(m) = extra {
        for (k, v) in m {
            a[k] = v;
        }
    }
    a
}

#[tokio::test]
async fn frontend_authorizers_admit_refuse_and_cache() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("authorized").await;
    let host = Server::group_host(&g);
    let urn = function(&s, "gatekeeper", FRONTEND_CODE).await;
    let auth = json!({
        "name": "gatekeeper_auth", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": urn, "ttl": 60,
        "user_data": "from-owner",
        "identities": [{"name": "X-Token", "location": "HEADER"}, {"name": "tenant", "location": "QUERY", "validation": "^[a-z]+$"}]
    });
    let auth_id = authorizer(&s, auth.clone()).await;
    let (status, shown) = s.get(&format!("/authorizers/{auth_id}")).await;
    assert_eq!((status, shown["type"].as_str(), shown["ttl"].as_u64()), (200, Some("FRONTEND"), Some(60)), "{shown}");

    let mut a = api(&g, "guarded", "/orders/{id}", &echo, json!({
        "auth_type": "AUTHORIZER", "authorizer_id": auth_id,
        "req_params": [{"name": "id", "type": "STRING", "location": "PATH", "required": 1}],
        "backend_params": [
            {"name": "X-User", "location": "HEADER", "origin": "SYSTEM", "value": "$context.authorizer.frontend.user"},
            {"name": "X-Call", "location": "HEADER", "origin": "SYSTEM", "value": "$context.authorizer.frontend.call"},
            {"name": "X-Ud", "location": "HEADER", "origin": "SYSTEM", "value": "$context.authorizer.frontend.ud"},
            {"name": "seen_id", "location": "QUERY", "origin": "SYSTEM", "value": "$context.authorizer.frontend.id"}
        ]
    }));
    // Admins go to another backend path, chosen on the authorizer's context.
    a["policy_https"] = json!([{
        "name": "admins", "effect_mode": "ALL", "url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/admin", "timeout": 3000,
        "conditions": [{"condition_origin": "frontend_authorizer", "frontend_authorizer_param_name": "$context.authorizer.frontend.admin", "condition_type": "exact", "condition_value": "true"}]
    }]);
    s.create_and_publish(&a, RELEASE).await;

    // Identity sources missing or invalid: refused before the function runs.
    let first = s.eventually("GET", &host, "/orders/1?tenant=acme", &[], |c| c.status != 404).await;
    assert_eq!(first.status, 401, "{}", first.body);
    assert_eq!(first.json()["error_code"], "APIG.0305");
    let c = s.call_gateway("GET", &host, "/orders/1?tenant=ACME1", &[("X-Token", "good-ann")]).await;
    assert_eq!(c.status, 401, "{}", c.body);
    let c = s.call_gateway("GET", &host, "/orders/1", &[("X-Token", "good-ann")]).await;
    assert_eq!(c.status, 401, "{}", c.body);

    // Allowed: the context reaches the backend as parameters.
    let c = s.call_gateway("GET", &host, "/orders/7?tenant=acme", &[("X-Token", "good-ann")]).await;
    assert_eq!(c.status, 200, "{}", c.body);
    let seen = c.json();
    assert_eq!(seen["path"], "/backend");
    assert_eq!(echo::header(&seen, "x-user"), Some("ann"));
    assert_eq!(echo::header(&seen, "x-ud"), Some("from-owner"), "{seen}");
    assert!(echo::query(&seen).contains(&("seen_id".into(), "7".into())), "{seen}");
    let call = echo::header(&seen, "x-call").unwrap().to_string();

    // The same identities within the ttl: the cached answer, not a new invocation.
    let again = s.call_gateway("GET", &host, "/orders/8?tenant=acme", &[("X-Token", "good-ann")]).await.json();
    assert_eq!(echo::header(&again, "x-call"), Some(call.as_str()));
    // Other identity values: asked again.
    let bob = s.call_gateway("GET", &host, "/orders/8?tenant=acme", &[("X-Token", "good-bob")]).await;
    assert_eq!(bob.status, 200, "{}", bob.body);
    let bob = bob.json();
    assert_eq!(echo::header(&bob, "x-user"), Some("bob"));
    assert!(echo::header(&bob, "x-call").is_some_and(|c| c != call), "{bob}");
    let other_tenant = s.call_gateway("GET", &host, "/orders/8?tenant=beta", &[("X-Token", "good-ann")]).await;
    assert_eq!(other_tenant.status, 200, "{}", other_tenant.body);
    let other_tenant = other_tenant.json();
    assert!(echo::header(&other_tenant, "x-call").is_some_and(|c| c != call), "{other_tenant}");

    // A policy condition on the context.
    let admin = s.call_gateway("GET", &host, "/orders/1?tenant=acme", &[("X-Token", "good-admin")]).await.json();
    assert_eq!(admin["path"], "/admin");

    // Refused: AUTHORIZER_FAILURE (500 by default) ...
    let c = s.call_gateway("GET", &host, "/orders/1?tenant=acme", &[("X-Token", "bad-eve")]).await;
    assert_eq!(c.status, 500, "{}", c.body);
    assert_eq!(c.json()["error_code"], "APIG.0305");
    // ... whose response the owner can shape, with the refusal's context.
    let base = format!("/api-groups/{g}/gateway-responses");
    let (_, list) = s.get(&base).await;
    let default_id = list["responses"][0]["id"].as_str().unwrap().to_string();
    let custom = json!({"name": "default", "responses": {"AUTHORIZER_FAILURE": {"status": 403, "body": "{\"denied\":\"$context.authorizer.frontend.user\"}"}}});
    let (status, body) = s.put(&format!("{base}/{default_id}"), &custom).await;
    assert_eq!(status, 200, "{body}");
    let c = s.eventually("GET", &host, "/orders/1?tenant=acme", &[("X-Token", "bad-mallory")], |c| c.status == 403).await;
    assert_eq!(c.json(), json!({"denied": "mallory"}));

    // Changing the authorizer drops what was cached under its old definition.
    let (status, body) = s.put(&format!("/authorizers/{auth_id}"), &with(auth.clone(), "ttl", json!(120))).await;
    assert_eq!(status, 200, "{body}");
    let fresh = s
        .eventually("GET", &host, "/orders/9?tenant=acme", &[("X-Token", "good-ann")], |c| c.status == 200 && echo::header(&c.json(), "x-call") != Some(call.as_str()))
        .await;
    assert_eq!(echo::header(&fresh.json(), "x-user"), Some("ann"));
}

/// `v` with one field set.
fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

#[tokio::test]
async fn uncached_authorizers_ask_every_time() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("uncached").await;
    let host = Server::group_host(&g);
    let urn = function(&s, "fresh_gate", FRONTEND_CODE).await;
    let id = authorizer(&s, json!({"name": "fresh_auth", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": urn})).await;
    let a = api(&g, "fresh", "/fresh", &echo, json!({
        "auth_type": "AUTHORIZER", "authorizer_id": id,
        "backend_params": [{"name": "X-Call", "location": "HEADER", "origin": "SYSTEM", "value": "$context.authorizer.frontend.call"}]
    }));
    s.create_and_publish(&a, RELEASE).await;
    let one = s.eventually("GET", &host, "/fresh", &[("X-Token", "good-ann")], |c| c.status == 200).await.json();
    let two = s.call_gateway("GET", &host, "/fresh", &[("X-Token", "good-ann")]).await;
    assert_eq!(two.status, 200, "{}", two.body);
    let two = two.json();
    assert!(echo::header(&one, "x-call").is_some(), "{one}");
    assert_ne!(echo::header(&one, "x-call"), echo::header(&two, "x-call"));
    // Without identity sources nothing is required of the caller; the function decides.
    assert_eq!(s.call_gateway("GET", &host, "/fresh", &[]).await.status, 500);
}

#[tokio::test]
async fn backend_authorizers_supply_values_and_failures_are_configuration_errors() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("backend_auth").await;
    let host = Server::group_host(&g);
    let signer = function(&s, "token_minter", r#"
exports.handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({status: 'allow', context: {token: 'minted-for-' + (event.headers['x-who'] || 'nobody') + '-' + event.body}}),
});"#).await;
    let backend_id = authorizer(&s, json!({"name": "minter", "type": "BACKEND", "authorizer_type": "FUNC", "authorizer_uri": signer, "need_body": true})).await;
    let a = api(&g, "minted", "/minted", &echo, json!({
        "req_method": "POST",
        "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/backend", "timeout": 3000, "authorizer_id": backend_id},
        "backend_params": [{"name": "X-Backend-Token", "location": "HEADER", "origin": "SYSTEM", "value": "$context.authorizer.backend.token"}]
    }));
    s.create_and_publish(&a, RELEASE).await;
    s.eventually("POST", &host, "/minted", &[], |c| c.status != 404).await;
    let res = s.http.post(format!("{}/minted", s.gateway)).header("Host", &host).header("X-Who", "ann").body("Ym9keQ").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let seen: Value = res.json().await.unwrap();
    // The function got the body (base64, as `need_body` asks); the backend the token and the body as sent.
    assert_eq!(echo::header(&seen, "x-backend-token"), Some("minted-for-ann-WW05a2VR"));
    assert_eq!(seen["body"], "Ym9keQ");

    // A function that fails, or answers off contract: AUTHORIZER_CONF_FAILURE.
    let cases = [
        ("thrower", "exports.handler = () => { throw new Error('secret'); };"),
        ("shapeless", "exports.handler = () => ({statusCode: 200, body: 'not json'});"),
        ("nested", "exports.handler = () => ({statusCode: 200, body: JSON.stringify({status: 'allow', context: {a: {b: 1}}})});"),
    ];
    for (name, code) in cases {
        let urn = function(&s, name, code).await;
        let id = authorizer(&s, json!({"name": format!("{name}_auth"), "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": urn})).await;
        s.create_and_publish(&api(&g, &format!("{name}_api"), &format!("/{name}"), &echo, json!({"auth_type": "AUTHORIZER", "authorizer_id": id})), RELEASE).await;
        let c = s.eventually("GET", &host, &format!("/{name}"), &[], |c| c.status != 404).await;
        assert_eq!(c.status, 500, "{name}: {}", c.body);
        assert_eq!(c.json()["error_code"], "APIG.0601", "{name}");
        assert!(!c.body.contains("secret"), "{}", c.body);
    }
    // The gateway keeps serving.
    let res = s.http.post(format!("{}/minted", s.gateway)).header("Host", &host).body("x").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn authorizers_are_managed_with_the_documented_rules() {
    let echo = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("auth_admin").await;
    let urn = function(&s, "checker", FRONTEND_CODE).await;
    let body = |name: &str, kind: &str| json!({"name": name, "type": kind, "authorizer_type": "FUNC", "authorizer_uri": urn});

    let front = authorizer(&s, body("front_one", "FRONTEND")).await;
    let back = authorizer(&s, body("back_one", "BACKEND")).await;
    assert_error(&s.post("/authorizers", &body("front_one", "FRONTEND")).await, 400, "APIG.3211", Some("name"));
    assert_error(&s.post("/authorizers", &with(body("cached", "FRONTEND"), "ttl", json!(10))).await, 400, "APIG.2001", Some("identities"));
    assert_error(&s.post("/authorizers", &with(body("lambda", "FRONTEND"), "authorizer_type", json!("LAMBDA"))).await, 400, "APIG.2011", Some("authorizer_type"));
    let missing = with(body("ghost", "FRONTEND"), "authorizer_uri", json!("urn:fss:local:causeway:function:default:nothere"));
    assert_error(&s.post("/authorizers", &missing).await, 404, "APIG.3019", Some("authorizer_uri"));
    // `type` cannot change.
    assert_error(&s.put(&format!("/authorizers/{front}"), &body("front_one", "BACKEND")).await, 400, "APIG.2011", Some("type"));
    assert_error(&s.get("/authorizers/nothere").await, 404, "APIG.3081", None);

    let (status, list) = s.get("/authorizers?name=one").await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(2)), "{list}");
    assert_eq!(list["authorizer_list"].as_array().unwrap().len(), 2);
    let (_, list) = s.get("/authorizers?type=BACKEND").await;
    assert_eq!(list["authorizer_list"][0]["id"], back.as_str());

    // APIs name existing authorizers of the right side.
    let guarded = |id: &str| api(&g, "guarded_api", "/guarded", &echo, json!({"auth_type": "AUTHORIZER", "authorizer_id": id}));
    assert_error(&s.post("/apis", &guarded("nothere")).await, 404, "APIG.3081", Some("authorizer_id"));
    assert_error(&s.post("/apis", &guarded(&back)).await, 400, "APIG.2011", Some("authorizer_id"));
    let (status, created) = s.post("/apis", &guarded(&front)).await;
    assert_eq!(status, 201, "{created}");
    let mut backed = api(&g, "backed_api", "/backed", &echo, json!({}));
    backed["backend_api"]["authorizer_id"] = json!(front);
    assert_error(&s.post("/apis", &backed).await, 400, "APIG.2011", Some("backend_api.authorizer_id"));
    let mut policed = api(&g, "policed_api", "/policed", &echo, json!({}));
    policed["policy_https"] = json!([{
        "name": "inside", "effect_mode": "ANY", "url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/in", "timeout": 3000,
        "conditions": [{"condition_origin": "source", "condition_value": "10.0.0.0/8"}], "authorizer_id": "nothere"
    }]);
    assert_error(&s.post("/apis", &policed).await, 404, "APIG.3081", Some("policy_https[0].authorizer_id"));

    // In use: neither the authorizer nor its function can go.
    assert_error(&s.delete(&format!("/authorizers/{front}")).await, 403, "APIG.3462", None);
    let (_, fns) = s.get("/functions").await;
    let fn_id = fns["functions"][0]["id"].as_str().unwrap().to_string();
    assert_error(&s.delete(&format!("/functions/{fn_id}")).await, 403, "APIG.3461", None);
    let (status, _) = s.delete(&format!("/authorizers/{back}")).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&format!("/apis/{}", created["id"].as_str().unwrap())).await;
    assert_eq!(status, 204);
    let (status, _) = s.delete(&format!("/authorizers/{front}")).await;
    assert_eq!(status, 204);
}
