//! The web console against the real server: nothing without a session but
//! signing in; the session cookie's flags; forms refused without their CSRF
//! token; the content security policy; roles; changes in the audit log; a
//! group created (first with a mistake shown on its field) and deleted.

mod common;

use common::{Server, TOKEN};
use serde_json::json;

struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
        self.body[at..at + 64].to_string()
    }
}

impl Browser {
    fn new(s: &Server) -> Self {
        let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { http, base: s.admin.clone(), cookie: None }
    }

    async fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = self.http.request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header("Cookie", c);
        }
        if let Some(f) = form {
            let body: String = form_urlencoded::Serializer::new(String::new()).extend_pairs(f.iter()).finish();
            req = req.header("Content-Type", "application/x-www-form-urlencoded").body(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        if let Some(set) = headers.get("set-cookie").and_then(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap().to_string();
            self.cookie = if pair.ends_with('=') { None } else { Some(pair) };
        }
        Page { status, headers, body: res.text().await.unwrap() }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send("GET", path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send("POST", path, Some(form)).await
    }
}

#[tokio::test]
async fn nothing_without_a_session_and_the_session_is_guarded() {
    let s = Server::start().await;
    let mut b = Browser::new(&s);
    // Every page and asset but signing in sends the browser to sign in.
    for path in ["/console/", "/console/overview", "/console/groups", "/console/apis/x/edit", "/console/apis/x/diff", "/console/assets/console.css", "/console/groups/x/delete"] {
        let p = b.get(path).await;
        assert!((300..400).contains(&p.status), "{path}: {}", p.status);
        let to = p.location();
        assert!(to == "/console/sign-in" || to == "/console/overview", "{path} → {to}");
    }
    assert_eq!(b.get("/").await.location(), "/console/");
    let p = b.post("/console/groups", &[("name", "sneaky_group")]).await;
    assert_eq!(p.location(), "/console/sign-in");
    let sign_in = b.get("/console/sign-in").await;
    assert_eq!(sign_in.status, 200);
    let csp = sign_in.headers["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(!sign_in.body.contains("<script") && !sign_in.body.contains("style="), "no inline script or style");
    assert_eq!(b.get("/console/sign-in.css").await.status, 200);

    // A wrong token is refused; the right one opens a session with a guarded cookie.
    let wrong = b.post("/console/sign-in", &[("token", "not-the-token-0000")]).await;
    assert_eq!(wrong.status, 401);
    assert!(b.cookie.is_none());
    let signed = b.post("/console/sign-in", &[("token", TOKEN)]).await;
    assert_eq!((signed.status, signed.location()), (303, "/console/"));
    let cookie = signed.headers["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
        assert!(cookie.contains(flag), "{flag} not in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    let groups = b.get("/console/groups").await;
    assert_eq!(groups.status, 200, "{}", groups.body);
    assert!(groups.body.contains("API groups") && groups.body.contains("DEFAULT"), "{}", groups.body);
    // No inline script or style: the one script is our file, loaded from this origin.
    assert!(!groups.body.contains("style="), "{}", groups.body);
    let scripts: Vec<&str> = groups.body.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "{}", groups.body);
    assert!(scripts[0].starts_with(" src=\"/console/assets/console.js\" defer></script>"), "{}", scripts[0]);
    assert_eq!(b.get("/console/assets/console.css").await.headers["content-type"], "text/css; charset=utf-8");
    assert_eq!(b.get("/console/assets/console.js").await.headers["content-type"], "text/javascript; charset=utf-8");

    // A form without the session's token, or from another origin, is refused.
    let no_token = b.post("/console/groups", &[("name", "no_token_group")]).await;
    assert_eq!(no_token.status, 403);
    let forged = b.post("/console/groups", &[("name", "forged_group"), ("csrf", &"0".repeat(64))]).await;
    assert_eq!(forged.status, 403);
    let csrf = groups.csrf();
    let req = b.http.post(format!("{}/console/groups", b.base)).header("Cookie", b.cookie.clone().unwrap()).header("Origin", "http://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded").body(format!("name=cross_site&csrf={csrf}"));
    assert_eq!(req.send().await.unwrap().status(), 403);
    let (_, listed) = s.get("/api-groups?name=no_token_group").await;
    assert_eq!(listed["total"], 0);

    // A mistake is shown on its field, with what was typed; then the group is made.
    let bad = b.post("/console/groups", &[("name", "1_starts_with_a_digit"), ("remark", "kept"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("parameterName:name") && bad.body.contains("aria-invalid=\"true\""), "{}", bad.body);
    assert!(bad.body.contains("value=\"1_starts_with_a_digit\"") && bad.body.contains(">kept</textarea>"), "{}", bad.body);
    let made = b.post("/console/groups", &[("name", "console_group"), ("remark", "made in the console"), ("csrf", &csrf)]).await;
    assert_eq!((made.status, made.location()), (303, "/console/groups"));
    let (_, listed) = s.get("/api-groups?name=console_group").await;
    assert_eq!(listed["groups"][0]["remark"], "made in the console", "{listed}");
    let id = listed["groups"][0]["id"].as_str().unwrap().to_string();
    let found = b.get("/console/groups?name=console").await;
    assert!(found.body.contains("console_group") && !found.body.contains(">DEFAULT<"), "{}", found.body);

    // Deleting asks first, then deletes; both changes are in the audit log.
    let ask = b.get(&format!("/console/groups/{id}/delete")).await;
    assert!(ask.body.contains("Delete the group console_group?"), "{}", ask.body);
    let gone = b.post(&format!("/console/groups/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(gone.location(), "/console/groups");
    assert_eq!(s.get(&format!("/api-groups/{id}")).await.0, 404);
    let (_, audit) = s.get("/audit-logs?page_size=50").await;
    let entries: Vec<(String, String, String)> = audit["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["method"].as_str().unwrap().to_string(), e["path"].as_str().unwrap().to_string(), e["credential"].as_str().unwrap().to_string()))
        .collect();
    assert!(entries.contains(&("POST".into(), "/console/groups".into(), "bootstrap".into())), "{entries:?}");
    assert!(entries.contains(&("DELETE".into(), format!("/console/groups/{id}"), "bootstrap".into())), "{entries:?}");

    // Signing out ends the session.
    let out = b.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.location(), "/console/sign-in");
    assert!(b.cookie.is_none());
    let old = Browser { cookie: Some(cookie.split(';').next().unwrap().to_string()), ..Browser::new(&s) }.get("/console/groups").await;
    assert_eq!(old.location(), "/console/sign-in");
}

#[tokio::test]
async fn roles_decide_what_the_console_offers_and_access_keys_sign_in() {
    let s = Server::start().await;
    let (_, viewer) = s.post("/admin-credentials", &json!({"name": "console_viewer", "role": "viewer", "type": "AKSK"})).await;
    let mut b = Browser::new(&s);
    let wrong = b.post("/console/sign-in", &[("access_key", viewer["access_key"].as_str().unwrap()), ("secret_key", "not-the-secret")]).await;
    assert_eq!(wrong.status, 401);
    let signed = b.post("/console/sign-in", &[("access_key", viewer["access_key"].as_str().unwrap()), ("secret_key", viewer["secret_key"].as_str().unwrap())]).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let groups = b.get("/console/groups").await;
    assert!(groups.body.contains("console_viewer · viewer"), "{}", groups.body);
    assert!(!groups.body.contains("New group") && !groups.body.contains("Delete"), "a viewer sees no write controls");
    let csrf = groups.csrf();
    let refused = b.post("/console/groups", &[("name", "viewer_group"), ("csrf", &csrf)]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(s.get("/api-groups?name=viewer_group").await.1["total"], 0);
    // Revoking the credential ends its session at the next page.
    assert_eq!(s.delete(&format!("/admin-credentials/{}", viewer["id"].as_str().unwrap())).await.0, 204);
    assert_eq!(b.get("/console/groups").await.location(), "/console/sign-in");
}

#[tokio::test]
async fn apis_are_listed_filtered_and_shown_with_their_history() {
    let s = Server::start().await;
    let g = s.group("console_apis").await;
    let api = |name: &str, path: &str, auth: &str| {
        json!({"group_id": g, "name": name, "type": 1, "req_method": "GET", "req_uri": path, "auth_type": auth, "backend_type": "MOCK",
            "remark": format!("the {name} API"), "req_params": [{"name": "id", "type": "STRING", "location": "QUERY", "default_value": "7"}],
            "mock_info": {"result_content": "{}", "status_code": 200}})
    };
    let published = s.create_and_publish(&api("orders_api", "/orders", "NONE"), "DEFAULT_ENVIRONMENT_RELEASE_ID").await;
    let (status, _) = s.post("/apis", &api("drafts_api", "/drafts", "APP")).await;
    assert_eq!(status, 201);
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;

    let all = b.get("/console/apis").await;
    assert_eq!(all.status, 200, "{}", all.body);
    assert!(all.body.contains("orders_api") && all.body.contains("drafts_api"), "{}", all.body);
    let cases = [
        ("/console/apis?published=no", "drafts_api", "orders_api"),
        ("/console/apis?published=yes", "orders_api", "drafts_api"),
        ("/console/apis?q=%2Fdrafts", "drafts_api", "orders_api"),
        ("/console/apis?q=orders", "orders_api", "drafts_api"),
        ("/console/apis?auth_type=APP", "drafts_api", "orders_api"),
        ("/console/apis?env_id=DEFAULT_ENVIRONMENT_RELEASE_ID", "orders_api", "drafts_api"),
    ];
    for (path, shown, hidden) in cases {
        let p = b.get(path).await;
        assert!(p.body.contains(shown) && !p.body.contains(&format!(">{hidden}<")), "{path}: {}", p.body);
    }
    assert!(b.get("/console/apis?q=nothing_like_it").await.body.contains("No API matches"));

    let detail = b.get(&format!("/console/apis/{published}")).await;
    assert_eq!(detail.status, 200);
    for part in ["the orders_api API", "GET /orders", "console_apis", "Input parameters", "Effective in: RELEASE", "effective"] {
        assert!(detail.body.contains(part), "{part} not in {}", detail.body);
    }
    assert_eq!(b.get("/console/apis/0123456789abcdef0123456789abcdef").await.status, 404);
}

#[tokio::test]
async fn an_api_is_published_switched_debugged_and_taken_offline_from_its_page() {
    let s = Server::start().await;
    let g = s.group("console_publish").await;
    let body = |content: &str| {
        json!({"group_id": g, "name": "pub_api", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/pub", "auth_type": "NONE",
            "backend_type": "MOCK", "mock_info": {"result_content": content, "status_code": 200}})
    };
    let (_, api) = s.post("/apis", &body("first")).await;
    let id = api["id"].as_str().unwrap().to_string();
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page = b.get(&format!("/console/apis/{id}")).await;
    assert!(page.body.contains("Not published anywhere yet"), "{}", page.body);
    let csrf = page.csrf();
    let host = Server::group_host(&g);

    let done = b.post(&format!("/console/apis/{id}/publish"), &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("remark", "v1"), ("csrf", &csrf)]).await;
    assert_eq!(done.location(), format!("/console/apis/{id}"));
    assert_eq!(s.eventually("GET", &host, "/pub", &[], |c| c.status == 200).await.body, "first");
    s.put(&format!("/apis/{id}"), &body("second")).await;
    b.post(&format!("/console/apis/{id}/publish"), &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("remark", "v2"), ("csrf", &csrf)]).await;
    assert_eq!(s.eventually("GET", &host, "/pub", &[], |c| c.body == "second").await.body, "second");

    // The history offers the earlier version back.
    let page = b.get(&format!("/console/apis/{id}")).await;
    assert!(page.body.contains("Effective in: RELEASE") && page.body.contains("Make effective"), "{}", page.body);
    let (_, history) = s.get(&format!("/apis/publish/{id}")).await;
    let earlier = history["api_versions"].as_array().unwrap().iter().find(|v| v["remark"] == "v1").unwrap()["version_id"].as_str().unwrap().to_string();
    let switched = b.post(&format!("/console/apis/{id}/switch"), &[("version_id", &earlier), ("csrf", &csrf)]).await;
    assert_eq!(switched.location(), format!("/console/apis/{id}"));
    assert_eq!(s.eventually("GET", &host, "/pub", &[], |c| c.body == "first").await.body, "first");

    // Debug the draft: the log says what the gateway did.
    let debugged = b.post(&format!("/console/apis/{id}/debug"), &[("mode", "DEVELOPER"), ("stage", "RELEASE"), ("scheme", "HTTP"), ("method", "GET"), ("path", "/pub"), ("csrf", &csrf)]).await;
    assert_eq!(debugged.status, 200, "{}", debugged.body);
    assert!(debugged.body.contains("MOCK backend answered 200") && debugged.body.contains("second"), "{}", debugged.body);
    let bad = b.post(&format!("/console/apis/{id}/debug"), &[("mode", "DEVELOPER"), ("method", "GET"), ("path", "no-slash"), ("csrf", &csrf)]).await;
    assert!(bad.body.contains("parameterName:path"), "{}", bad.body);

    // Offline asks first, then callers get 404.
    let ask = b.get(&format!("/console/apis/{id}/offline?env_id=DEFAULT_ENVIRONMENT_RELEASE_ID")).await;
    assert!(ask.body.contains("Take pub_api offline?"), "{}", ask.body);
    b.post(&format!("/console/apis/{id}/offline"), &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("csrf", &csrf)]).await;
    assert_eq!(s.eventually("GET", &host, "/pub", &[], |c| c.status == 404).await.status, 404);
    let refused = b.post(&format!("/console/apis/{id}/publish"), &[("env_id", "nope"), ("csrf", &csrf)]).await;
    assert!(refused.body.contains("APIG.3003"), "{}", refused.body);
}

#[tokio::test]
async fn environments_are_created_and_deleted() {
    let s = Server::start().await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page = b.get("/console/envs").await;
    assert!(page.body.contains("RELEASE"), "{}", page.body);
    let csrf = page.csrf();
    let bad = b.post("/console/envs", &[("name", "x"), ("remark", "too short"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("parameterName:name") && bad.body.contains("value=\"too short\""), "{}", bad.body);
    let made = b.post("/console/envs", &[("name", "STAGING"), ("remark", "for tests"), ("csrf", &csrf)]).await;
    assert_eq!(made.location(), "/console/envs");
    let (_, envs) = s.get("/envs?name=STAGING").await;
    let id = envs["envs"][0]["id"].as_str().unwrap().to_string();
    assert!(b.get(&format!("/console/envs/{id}/delete")).await.body.contains("Delete the environment STAGING?"));
    b.post(&format!("/console/envs/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/envs/{id}")).await.0, 404);
}

#[tokio::test]
async fn apps_are_created_authorized_reset_and_deleted() {
    let s = Server::start().await;
    let g = s.group("console_apps").await;
    let api = s
        .create_and_publish(
            &json!({"group_id": g, "name": "app_only", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/app-only", "auth_type": "APP",
                "backend_type": "MOCK", "mock_info": {"result_content": "hi", "status_code": 200}}),
            "DEFAULT_ENVIRONMENT_RELEASE_ID",
        )
        .await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let list = b.get("/console/apps").await;
    assert!(list.body.contains("No apps yet"), "{}", list.body);
    let csrf = list.csrf();
    let made = b.post("/console/apps", &[("name", "console_app"), ("remark", "from the console"), ("csrf", &csrf)]).await;
    assert_eq!(made.status, 200, "{}", made.body);
    let (_, apps) = s.get("/apps?name=console_app").await;
    let app = &apps["apps"][0];
    let (id, secret) = (app["id"].as_str().unwrap().to_string(), app["app_secret"].as_str().unwrap().to_string());
    assert!(made.body.contains(&secret) && made.body.contains(app["app_key"].as_str().unwrap()), "key and secret shown once");

    let page = b.get(&format!("/console/apps/{id}")).await;
    assert!(!page.body.contains(&secret) && page.body.contains("Show the secret"), "{}", page.body);
    assert!(b.get(&format!("/console/apps/{id}?show_secret=1")).await.body.contains(&secret));
    assert!(page.body.contains("app_only"), "the APP API is offered: {}", page.body);
    let done = b.post(&format!("/console/apps/{id}/authorize"), &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("api_id", &api), ("csrf", &csrf)]).await;
    assert!(done.location().starts_with(&format!("/console/apps/{id}")), "{}", done.body);
    let (_, bound) = s.get(&format!("/app-auths/binded-apis?app_id={id}")).await;
    assert_eq!(bound["total"], 1, "{bound}");
    let page = b.get(&format!("/console/apps/{id}")).await;
    assert!(page.body.contains("Revoke"), "{}", page.body);
    let auth_id = bound["auths"][0]["id"].as_str().unwrap().to_string();
    b.post(&format!("/console/apps/{id}/revoke"), &[("auth_id", &auth_id), ("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/app-auths/binded-apis?app_id={id}")).await.1["total"], 0);

    assert!(b.get(&format!("/console/apps/{id}/reset-secret")).await.body.contains("Reset the secret of console_app?"));
    let reset = b.post(&format!("/console/apps/{id}/reset-secret"), &[("csrf", &csrf)]).await;
    assert_eq!(reset.location(), format!("/console/apps/{id}?show_secret=1"));
    let (_, after) = s.get(&format!("/apps/{id}")).await;
    assert_ne!(after["app_secret"].as_str().unwrap(), secret);
    b.post(&format!("/console/apps/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/apps/{id}")).await.0, 404);
    assert_eq!(b.get(&format!("/console/apps/{id}/nothing")).await.status, 404);
}

#[tokio::test]
async fn the_wizard_makes_an_http_api_with_a_path_parameter_and_a_mapping() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let g = s.group("wizard_group").await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let form = b.get("/console/apis/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("1 · Frontend") && form.body.contains("2 · Backend") && form.body.contains("3 · Responses") && form.body.contains("4 · Review"));
    let csrf = form.csrf();
    let address = echo.address();
    let mut fields = vec![
        ("csrf", csrf.as_str()), ("group_id", g.as_str()), ("name", "wizard_orders"), ("req_protocol", "HTTP"), ("req_method", "GET"),
        ("req_uri", "/orders/{id}"), ("match_mode", "NORMAL"), ("auth_type", "NONE"), ("cors", "2"), ("backend_type", "HTTP"),
        ("url_domain", address.as_str()), ("backend_protocol", "HTTP"), ("backend_method", "GET"), ("backend_uri", "/internal/orders"), ("timeout", "5000"),
        ("map_name_0", "order"), ("map_location_0", "QUERY"), ("map_origin_0", "REQUEST"), ("map_value_0", "idd"), ("step", "review"),
    ];
    // A mapping naming an input parameter that does not exist: shown on that field, with what was typed.
    let wrong = b.post("/console/apis/new", &fields).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    let at = wrong.body.find("id=\"map_value_0\"").expect("the field");
    let after = &wrong.body[at..(at + 400).min(wrong.body.len())];
    assert!(after.contains("value=\"idd\"") && after.contains("aria-invalid=\"true\""), "{after}");
    assert!(after.contains("The mapped request parameter is not defined,parameterName:backend_params[0].value"), "{after}");
    // Corrected: the path's {id} was added as a PATH parameter, so the mapping finds it.
    for f in fields.iter_mut() {
        if f.0 == "map_value_0" {
            f.1 = "id";
        }
    }
    let review = b.post("/console/apis/new", &fields).await;
    assert_eq!(review.status, 200, "{}", review.body);
    assert!(review.body.contains("The definition is valid") && review.body.contains("Create the API"), "{}", review.body);
    for f in fields.iter_mut() {
        if f.0 == "step" {
            f.1 = "create";
        }
    }
    let made = b.post("/console/apis/new", &fields).await;
    assert_eq!(made.status, 303, "{}", made.body);
    let id = made.location().trim_start_matches("/console/apis/").to_string();
    let (_, api) = s.get(&format!("/apis/{id}")).await;
    assert_eq!(api["req_params"][0]["name"], "id", "{api}");
    assert_eq!(api["req_params"][0]["location"], "PATH");
    // Published from its page, it serves callers with the mapping applied.
    let page = b.get(&format!("/console/apis/{id}")).await;
    b.post(&format!("/console/apis/{id}/publish"), &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("csrf", &page.csrf())]).await;
    let called = s.eventually("GET", &Server::group_host(&g), "/orders/42", &[], |c| c.status == 200).await;
    assert_eq!(called.json()["path"], "/internal/orders");
    assert_eq!(called.json()["query"], "order=42");
}

#[tokio::test]
async fn a_groups_page_holds_its_environment_variables() {
    let s = Server::start().await;
    let g = s.group("vars_group").await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let list = b.get("/console/groups").await;
    assert!(list.body.contains(&format!("href=\"/console/groups/{g}\"")), "{}", list.body);
    let page = b.get(&format!("/console/groups/{g}")).await;
    assert!(page.body.contains(&format!("{g}.apigw.localhost")) && page.body.contains("No variables yet"), "{}", page.body);
    let csrf = page.csrf();
    let path = format!("/console/groups/{g}/variables");
    let bad = b.post(&path, &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("variable_name", "x"), ("variable_value", "10.0.0.1"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("parameterName:variable_name") && bad.body.contains("value=\"10.0.0.1\""), "{}", bad.body);
    let made = b.post(&path, &[("env_id", "DEFAULT_ENVIRONMENT_RELEASE_ID"), ("variable_name", "backend_host"), ("variable_value", "10.0.0.1:8080"), ("csrf", &csrf)]).await;
    assert_eq!(made.location(), format!("/console/groups/{g}#variables"));
    let page = b.get(&format!("/console/groups/{g}")).await;
    assert!(page.body.contains("#backend_host#") && page.body.contains("10.0.0.1:8080") && page.body.contains(">RELEASE<"), "{}", page.body);
    let (_, vars) = s.get(&format!("/env-variables?group_id={g}")).await;
    let id = vars["variables"][0]["id"].as_str().unwrap().to_string();
    assert!(b.get(&format!("/console/groups/{g}/variables/{id}/delete")).await.body.contains("Delete #backend_host#?"));
    b.post(&format!("/console/groups/{g}/variables/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/env-variables?group_id={g}")).await.1["total"], 0);
}

#[tokio::test]
async fn throttling_policies_are_created_and_deleted() {
    let s = Server::start().await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page = b.get("/console/throttles").await;
    assert!(page.body.contains("No throttling policies yet"), "{}", page.body);
    let csrf = page.csrf();
    let bad = b.post("/console/throttles", &[("name", "per_minute"), ("api_call_limits", "lots"), ("time_interval", "1"), ("time_unit", "MINUTE"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("parameterName:api_call_limits") && bad.body.contains("value=\"lots\""), "{}", bad.body);
    let made = b.post("/console/throttles", &[("name", "per_minute"), ("api_call_limits", "100"), ("app_call_limits", "10"), ("time_interval", "1"), ("time_unit", "MINUTE"), ("csrf", &csrf)]).await;
    assert_eq!(made.location(), "/console/throttles");
    let (_, list) = s.get("/throttles?name=per_minute").await;
    assert_eq!((list["throttles"][0]["api_call_limits"].as_u64(), list["throttles"][0]["app_call_limits"].as_u64()), (Some(100), Some(10)), "{list}");
    let id = list["throttles"][0]["id"].as_str().unwrap().to_string();
    assert!(b.get("/console/throttles").await.body.contains("1 minute"));
    assert!(b.get(&format!("/console/throttles/{id}/delete")).await.body.contains("Delete the throttling policy per_minute?"));
    b.post(&format!("/console/throttles/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/throttles/{id}")).await.0, 404);
}

/// The value of `name="publish_id" value="…"` checkboxes on a page.
fn publish_ids(body: &str) -> Vec<String> {
    body.split("name=\"publish_id\" value=\"").skip(1).filter_map(|rest| rest.split('"').next().map(str::to_string)).collect()
}

#[tokio::test]
async fn policies_are_bound_to_published_apis_and_the_gateway_applies_them() {
    let s = Server::start().await;
    let g = s.group("policies").await;
    let host = Server::group_host(&g);
    let mock = json!({"group_id": g, "name": "guarded", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/guarded",
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "in"}});
    s.create_and_publish(&mock, "DEFAULT_ENVIRONMENT_RELEASE_ID").await;
    assert_eq!(s.call_gateway("GET", &host, "/guarded", &[]).await.status, 200);
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;

    // An access-control policy: a mistake on its field, then made, bound, applied, unbound.
    let page = b.get("/console/acls").await;
    assert!(page.body.contains("No access-control policies yet") && page.body.contains("aria-label=\"Policies\""), "{}", page.body);
    let csrf = page.csrf();
    let bad = b.post("/console/acls", &[("acl_name", "no_locals"), ("acl_type", "DENY"), ("entity_type", "IP"), ("acl_value", "not-an-address"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("parameterName:acl_value"), "{}", bad.body);
    let made = b.post("/console/acls", &[("acl_name", "no_locals"), ("acl_type", "DENY"), ("entity_type", "IP"), ("acl_value", "127.0.0.1\n10.0.0.0/8"), ("csrf", &csrf)]).await;
    let acl_page = made.location().to_string();
    assert!(acl_page.starts_with("/console/acls/"), "{}", made.location());
    let detail = b.get(&acl_page).await;
    assert!(detail.body.contains("127.0.0.1, 10.0.0.0/8") && detail.body.contains("Not bound to any API yet"), "{}", detail.body);
    let free = publish_ids(&detail.body);
    assert_eq!(free.len(), 1, "{}", detail.body);
    let bound = b.post(&format!("{acl_page}/bind"), &[("publish_id", &free[0]), ("csrf", &csrf)]).await;
    assert_eq!(bound.location(), acl_page);
    let detail = b.get(&acl_page).await;
    assert!(detail.body.contains(">guarded</a>") && detail.body.contains("Unbind guarded in RELEASE"), "{}", detail.body);
    let refused = s.eventually("GET", &host, "/guarded", &[], |c| c.status != 200).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let binding = detail.body.split("name=\"binding_id\" value=\"").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    b.post(&format!("{acl_page}/unbind"), &[("binding_id", &binding), ("csrf", &csrf)]).await;
    s.eventually("GET", &host, "/guarded", &[], |c| c.status == 200).await;

    // A throttling policy's page: bound, with a special limit for an app.
    let (_, app) = s.post("/apps", &json!({"name": "special_app"})).await;
    b.post("/console/throttles", &[("name", "per_second"), ("api_call_limits", "100"), ("app_call_limits", "5"), ("time_interval", "1"), ("time_unit", "SECOND"), ("csrf", &csrf)]).await;
    let (_, list) = s.get("/throttles?name=per_second").await;
    let throttle = list["throttles"][0]["id"].as_str().unwrap().to_string();
    let page = b.get(&format!("/console/throttles/{throttle}")).await;
    assert!(page.body.contains("special_app") && page.body.contains("Special limits"), "{}", page.body);
    b.post(&format!("/console/throttles/{throttle}/bind"), &[("publish_id", &free[0]), ("csrf", &csrf)]).await;
    let bad = b.post(&format!("/console/throttles/{throttle}/specials"), &[("instance_id", app["id"].as_str().unwrap()), ("instance_type", "APP"), ("call_limits", "many"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("call_limits"), "{}", bad.body);
    b.post(&format!("/console/throttles/{throttle}/specials"), &[("instance_id", app["id"].as_str().unwrap()), ("instance_type", "APP"), ("call_limits", "50"), ("csrf", &csrf)]).await;
    let (_, specials) = s.get(&format!("/throttle-specials/{throttle}")).await;
    assert_eq!(specials["throttle_specials"][0]["call_limits"], 50, "{specials}");
    let special = specials["throttle_specials"][0]["id"].as_str().unwrap().to_string();
    assert!(b.get(&format!("/console/throttles/{throttle}/specials/{special}/delete")).await.body.contains("Remove the limit of special_app (50 calls)?"));
    b.post(&format!("/console/throttles/{throttle}/specials/{special}/delete"), &[("csrf", &csrf)]).await;
    let (_, specials) = s.get(&format!("/throttle-specials/{throttle}")).await;
    assert_eq!(specials["total"], 0, "{specials}");
    let (_, bound) = s.get(&format!("/throttle-bindings/binded-apis?throttle_id={throttle}")).await;
    assert_eq!(bound["apis"][0]["api_name"], "guarded", "{bound}");

    // A signature key: generated key and secret, the secret shown on request, bound.
    let made = b.post("/console/signs", &[("name", "backend_key"), ("sign_type", "hmac"), ("csrf", &csrf)]).await;
    let key_page = made.location().to_string();
    let detail = b.get(&key_page).await;
    assert!(detail.body.contains("Show the secret"), "{}", detail.body);
    let (_, keys) = s.get("/signs?name=backend_key").await;
    let secret = keys["signs"][0]["sign_secret"].as_str().unwrap().to_string();
    assert!(!detail.body.contains(&secret));
    assert!(b.get(&format!("{key_page}?show_secret=1")).await.body.contains(&secret));
    b.post(&format!("{key_page}/bind"), &[("publish_id", &free[0]), ("csrf", &csrf)]).await;
    let sign_id = keys["signs"][0]["id"].as_str().unwrap();
    let (_, bound) = s.get(&format!("/sign-bindings/binded-apis?sign_id={sign_id}")).await;
    assert_eq!(bound["bindings"][0]["api_name"], "guarded", "{bound}");
    // Bound, it is not deleted; the page says why.
    let kept = b.post(&format!("{key_page}/delete"), &[("csrf", &csrf)]).await;
    assert!(kept.body.contains("APIG.3451"), "{}", kept.body);
}

#[tokio::test]
async fn functions_are_edited_tested_versioned_and_aliased() {
    let s = Server::start().await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page = b.get("/console/functions").await;
    let csrf = page.csrf();
    let made = b.post("/console/functions", &[("name", "greeter"), ("csrf", &csrf)]).await;
    let fn_page = made.location().to_string();
    assert!(fn_page.starts_with("/console/functions/"), "{}", made.status);
    let page = b.get(&fn_page).await;
    assert!(page.body.contains("exports.handler") && page.body.contains("class=\"gutter\""), "{}", page.body);
    // A syntax error is shown at its line, and the code sent is kept in the editor.
    let broken = "exports.handler = async (event) => {\n  const a = 1;\n  return {statusCode: 200, body: ;\n};\n";
    let refused = b.post(&format!("{fn_page}/code"), &[("code", broken), ("handler", "handler"), ("timeout", "3000"), ("memory_size", "128"), ("csrf", &csrf)]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("SyntaxError at line 3") && refused.body.contains("<span class=\"error-line\">3</span>"), "{}", refused.body);
    assert!(refused.body.contains("body: ;"), "the draft is kept");
    let good = "exports.handler = async (event) => {\n  console.log('hello ' + event.name);\n  return {statusCode: 200, body: 'hi ' + event.name};\n};\n";
    let saved = b.post(&format!("{fn_page}/code"), &[("code", good), ("handler", "handler"), ("timeout", "3000"), ("memory_size", "128"), ("csrf", &csrf)]).await;
    assert!(saved.body.contains("Saved."), "{}", saved.body);
    // A test run with an event shows the result and the logs.
    let ran = b.post(&format!("{fn_page}/test"), &[("qualifier", "$LATEST"), ("event", r#"{"name": "Ada"}"#), ("csrf", &csrf)]).await;
    assert!(ran.body.contains("hi Ada") && ran.body.contains("hello Ada"), "{}", ran.body);
    let not_json = b.post(&format!("{fn_page}/test"), &[("event", "{name"), ("csrf", &csrf)]).await;
    assert!(not_json.body.contains("parameterName:event"), "{}", not_json.body);
    // A version, an alias to it, the alias run, the alias removed.
    let v = b.post(&format!("{fn_page}/versions"), &[("description", "first"), ("csrf", &csrf)]).await;
    assert!(v.body.contains("Version 1 published."), "{}", v.body);
    b.post(&format!("{fn_page}/aliases"), &[("name", "prod"), ("version", "1"), ("csrf", &csrf)]).await;
    let page = b.get(&fn_page).await;
    assert!(page.body.contains(":prod</code>") && page.body.contains("<option>prod</option>"), "{}", page.body);
    let ran = b.post(&format!("{fn_page}/test"), &[("qualifier", "prod"), ("event", r#"{"name": "Lin"}"#), ("csrf", &csrf)]).await;
    assert!(ran.body.contains("hi Lin"), "{}", ran.body);
    assert!(b.get(&format!("{fn_page}/aliases/prod/delete")).await.body.contains("Delete the alias prod (version 1)?"));
    b.post(&format!("{fn_page}/aliases/prod/delete"), &[("csrf", &csrf)]).await;
    assert!(!b.get(&fn_page).await.body.contains(":prod</code>"));
    // An authorizer calling it, then the function deleted.
    let (_, f) = s.get("/functions?name=greeter").await;
    let urn = f["functions"][0]["urn"].as_str().unwrap().to_string();
    let made = b.post("/console/authorizers", &[("name", "gate"), ("type", "FRONTEND"), ("authorizer_uri", &urn), ("identity_header", "Authorization"), ("ttl", "30"), ("csrf", &csrf)]).await;
    assert_eq!(made.location(), "/console/authorizers", "{}", made.body);
    let list = b.get("/console/authorizers").await;
    assert!(list.body.contains("gate") && list.body.contains("30 s") && list.body.contains("Authorization"), "{}", list.body);
    let (_, auths) = s.get("/authorizers?name=gate").await;
    let auth_id = auths["authorizer_list"][0]["id"].as_str().or(auths["authorizers"][0]["id"].as_str()).unwrap().to_string();
    b.post(&format!("/console/authorizers/{auth_id}/delete"), &[("csrf", &csrf)]).await;
    let gone = b.post(&format!("{fn_page}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(gone.location(), "/console/functions", "{}", gone.body);
    assert_eq!(s.get(&fn_page.replace("/console", "")).await.0, 404);
}

#[tokio::test]
async fn channels_list_their_members_with_health() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let csrf = b.get("/console/channels").await.csrf();
    let bad = b.post("/console/channels", &[("name", "pool"), ("port", "80"), ("balance_strategy", "1"), ("members", "10.0.0.1:99999"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let members = format!("{} 3\n127.0.0.1:1", echo.address());
    let made = b.post("/console/channels", &[("name", "pool"), ("port", "80"), ("balance_strategy", "1"), ("members", &members), ("health_path", "/"), ("csrf", &csrf)]).await;
    let page_url = made.location().to_string();
    let page = b.get(&page_url).await;
    assert!(page.body.contains("http-equiv=\"refresh\" content=\"5\""), "the page refreshes itself");
    assert!(page.body.contains(&echo.address()) && page.body.contains("127.0.0.1:1") && page.body.contains("HTTP /"), "{}", page.body);
    assert!(page.body.contains("class=\"health "), "{}", page.body);
    let id = page_url.rsplit('/').next().unwrap();
    let (_, listed) = s.get(&format!("/vpc-channels/{id}/members")).await;
    let weights: Vec<u64> = listed["members"].as_array().unwrap().iter().map(|m| m["weight"].as_u64().unwrap()).collect();
    assert_eq!(weights, vec![3, 1], "{listed}");
    let dead = listed["members"][1]["id"].as_str().unwrap();
    b.post(&format!("{page_url}/members/{dead}/disable"), &[("csrf", &csrf)]).await;
    let (_, listed) = s.get(&format!("/vpc-channels/{id}/members")).await;
    assert_eq!(listed["members"][1]["status"], 2, "{listed}");
    assert!(b.get(&format!("{page_url}/members/{dead}/delete")).await.body.contains("Remove 127.0.0.1:1 from pool?"));
    b.post(&format!("{page_url}/members/{dead}/delete"), &[("csrf", &csrf)]).await;
    b.post(&format!("{page_url}/members"), &[("members", "127.0.0.1:2 4"), ("csrf", &csrf)]).await;
    let (_, listed) = s.get(&format!("/vpc-channels/{id}/members")).await;
    let hosts: Vec<String> = listed["members"].as_array().unwrap().iter().map(|m| format!("{}:{}", m["host"].as_str().unwrap(), m["port"])).collect();
    assert_eq!(hosts, vec![echo.address(), "127.0.0.1:2".to_string()], "{listed}");
    b.post(&format!("{page_url}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/vpc-channels/{id}")).await.0, 404);
}

#[tokio::test]
async fn openapi_files_are_imported_and_exported() {
    let s = Server::start().await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let csrf = b.get("/console/openapi").await.csrf();
    let file = std::fs::read(format!("{}/../../tests/fixtures/openapi/petstore-swagger2.json", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let upload = |csrf: &str| {
        reqwest::multipart::Form::new()
            .text("csrf", csrf.to_string())
            .text("group_id", "")
            .text("api_mode", "merge")
            .text("mock_mode", "1")
            .part("file", reqwest::multipart::Part::bytes(file.clone()).file_name("petstore.json"))
    };
    let send = |form: reqwest::multipart::Form| b.http.post(format!("{}/console/openapi/import", b.base)).header("Cookie", b.cookie.clone().unwrap()).multipart(form).send();
    // Without the session's token nothing is imported.
    let refused = send(upload(&"0".repeat(64))).await.unwrap();
    assert_eq!(refused.status(), 403);
    let done = send(upload(&csrf)).await.unwrap();
    assert_eq!(done.status(), 200);
    let body = done.text().await.unwrap();
    assert!(body.contains("Imported: 20 APIs, 0 failed"), "{body}");
    let group = body.split("/console/apis?group_id=").nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    let (_, apis) = s.get(&format!("/apis?group_id={group}")).await;
    assert_eq!(apis["total"], 20, "{apis}");
    // The drafts come back as a YAML download.
    let file = b.get(&format!("/console/openapi/export?group_id={group}&define=dev&oas=3.0&format=yaml")).await;
    assert_eq!(file.status, 200);
    assert!(file.headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename="), "{:?}", file.headers);
    assert!(file.body.contains("\nopenapi: ") && file.body.contains("3.0.1") && file.body.contains("/pet/{petId}"), "{}", &file.body[..file.body.len().min(500)]);
}

#[tokio::test]
async fn editing_an_api_keeps_what_the_wizard_does_not_show() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let g = s.group("kept").await;
    let (status, api) = s
        .post(
            "/apis",
            &json!({"group_id": g, "name": "detailed", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/detailed",
                "auth_type": "NONE", "backend_type": "HTTP",
                "req_params": [{"name": "q", "type": "STRING", "location": "QUERY", "required": 2, "max_size": 8, "min_size": 1, "remark": "search"}],
                "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/b", "timeout": 4000, "retry_count": "2"},
                "policy_https": [{"name": "beta", "url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/beta", "timeout": 4000,
                    "effect_mode": "ANY", "conditions": [{"condition_type": "Equal", "condition_value": "1", "condition_origin": "param", "req_param_name": "q"}]}]}),
        )
        .await;
    assert_eq!(status, 201, "{api}");
    let id = api["id"].as_str().unwrap();
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page = b.get(&format!("/console/apis/{id}/edit")).await;
    assert!(page.body.contains("value=\"detailed\"") && page.body.contains("value=\"/detailed\"") && page.body.contains("value=\"4000\""), "{}", page.body);
    let csrf = page.csrf();
    // The form as the browser sends it, with the name and the path changed.
    let mut form: Vec<(String, String)> = vec![("csrf".into(), csrf)];
    for (k, v) in [
        ("group_id", g.as_str()), ("name", "renamed"), ("req_protocol", "BOTH"), ("req_method", "GET"), ("req_uri", "/renamed"), ("match_mode", "NORMAL"),
        ("auth_type", "NONE"), ("cors", "2"), ("backend_type", "HTTP"), ("url_domain", &echo.address()), ("backend_protocol", "HTTP"), ("backend_method", "GET"),
        ("backend_uri", "/b"), ("timeout", "4000"), ("param_name_0", "q"), ("param_location_0", "QUERY"), ("param_type_0", "STRING"), ("param_required_0", "2"),
        ("rows", "4"), ("step", "create"),
    ] {
        form.push((k.into(), v.into()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = b.post(&format!("/console/apis/{id}/edit"), &pairs).await;
    assert_eq!(saved.location(), format!("/console/apis/{id}"), "{}", saved.body);
    let (_, after) = s.get(&format!("/apis/{id}")).await;
    assert_eq!((after["name"].as_str(), after["req_uri"].as_str()), (Some("renamed"), Some("/renamed")));
    let q = &after["req_params"][0];
    assert_eq!((q["max_size"].as_i64(), q["min_size"].as_i64(), q["remark"].as_str()), (Some(8), Some(1), Some("search")), "{after}");
    assert_eq!(after["backend_api"]["retry_count"].as_i64(), Some(2), "{after}");
    assert_eq!(after["policy_https"][0]["name"], "beta", "{after}");
    assert_eq!(after["policy_https"][0]["conditions"][0]["req_param_name"], "q", "{after}");
}

#[tokio::test]
async fn a_groups_page_edits_it_and_holds_its_domains_certificates_and_gateway_responses() {
    let s = Server::start().await;
    let g = s.group("storefront").await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page_url = format!("/console/groups/{g}");
    let page = b.get(&page_url).await;
    for part in ["Domains", "Gateway responses", "Environment variables", "No domains bound", "(default)"] {
        assert!(page.body.contains(part), "{part}: {}", page.body);
    }
    let csrf = page.csrf();

    // Edited: a mistake on its field, then saved.
    let bad = b.post(&format!("{page_url}/edit"), &[("name", "1shop"), ("remark", "kept"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("id=\"group-edit-name\" name=\"name\" value=\"1shop\" aria-invalid=\"true\""), "{}", bad.body);
    b.post(&format!("{page_url}/edit"), &[("name", "shopfront"), ("remark", "the shop"), ("csrf", &csrf)]).await;
    let (_, group) = s.get(&format!("/api-groups/{g}")).await;
    assert_eq!((group["name"].as_str(), group["remark"].as_str()), (Some("shopfront"), Some("the shop")), "{group}");

    // A domain, its certificate (a wrong one refused with its code), the expiry shown, removed, unbound.
    let bad = b.post(&format!("{page_url}/domains"), &[("url_domain", "not a domain"), ("csrf", &csrf)]).await;
    assert!(bad.status == 400 && bad.body.contains("parameterName:url_domain"), "{}", bad.body);
    // Redirecting HTTP to HTTPS needs a certificate: refused on its field until there is one.
    let early = b.post(&format!("{page_url}/domains"), &[("url_domain", "shop.example.com"), ("is_http_redirect_to_https", "1"), ("csrf", &csrf)]).await;
    assert!(early.status == 400 && early.body.contains("parameterName:is_http_redirect_to_https"), "{}", early.body);
    let bound = b.post(&format!("{page_url}/domains"), &[("url_domain", "shop.example.com"), ("min_ssl_version", "TLSv1.2"), ("csrf", &csrf)]).await;
    assert_eq!(bound.location(), format!("{page_url}#domains"), "{}", bound.body);
    let (_, group) = s.get(&format!("/api-groups/{g}")).await;
    let domain = group["url_domains"][0]["id"].as_str().unwrap().to_string();
    let ca = common::tls::Ca::new("Console Test CA");
    let (wrong_chain, wrong_key, _) = ca.issue(&["other.example.org"], -1, 90);
    let refused = b.post(&format!("{page_url}/certificate"), &[("domain_id", &domain), ("name", "shop_cert"), ("cert_content", &wrong_chain), ("private_key", &wrong_key), ("csrf", &csrf)]).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("APIG.") && refused.body.contains("value=\"shop_cert\""), "{}", refused.body);
    let (chain, key, _) = ca.issue(&["shop.example.com"], -1, 90);
    b.post(&format!("{page_url}/certificate"), &[("domain_id", &domain), ("name", "shop_cert"), ("cert_content", &chain), ("private_key", &key), ("csrf", &csrf)]).await;
    let page = b.get(&page_url).await;
    let expiry = (time::OffsetDateTime::now_utc() + time::Duration::days(90)).date().to_string();
    assert!(page.body.contains("shop_cert") && page.body.contains(&expiry), "{expiry}: {}", page.body);
    assert!(!page.body.contains("PRIVATE KEY"), "the key is never shown");
    let ask = b.get(&format!("{page_url}/domains/{domain}/certificate/delete")).await;
    assert!(ask.body.contains("Remove the certificate of shop.example.com?"), "{}", ask.body);
    b.post(&format!("{page_url}/domains/{domain}/certificate/delete"), &[("csrf", &csrf)]).await;
    let (_, group) = s.get(&format!("/api-groups/{g}")).await;
    assert!(group["url_domains"][0]["ssl_id"].is_null(), "{group}");
    assert!(b.get(&format!("{page_url}/domains/{domain}/delete")).await.body.contains("Unbind shop.example.com?"));
    b.post(&format!("{page_url}/domains/{domain}/delete"), &[("csrf", &csrf)]).await;
    let (_, group) = s.get(&format!("/api-groups/{g}")).await;
    assert_eq!(group["url_domains"].as_array().map(Vec::len), Some(0), "{group}");

    // Gateway responses: one type customised (a bad status on its field), reset; a set added and deleted.
    let (_, sets) = s.get(&format!("/api-groups/{g}/gateway-responses")).await;
    let default = sets["responses"][0]["id"].as_str().unwrap().to_string();
    let bad = b.post(&format!("{page_url}/responses/type"), &[("response_id", &default), ("type", "NOT_FOUND"), ("status", "99"), ("body", "{}"), ("csrf", &csrf)]).await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    b.post(&format!("{page_url}/responses/type"), &[("response_id", &default), ("type", "AUTH_FAILURE"), ("status", "401"), ("body", r#"{"denied":"$context.error.code"}"#), ("csrf", &csrf)]).await;
    b.post(&format!("{page_url}/responses/type"), &[("response_id", &default), ("type", "NOT_FOUND"), ("status", "404"), ("body", r#"{"missing":"$context.requestId"}"#), ("csrf", &csrf)]).await;
    let (_, set) = s.get(&format!("/api-groups/{g}/gateway-responses/{default}")).await;
    assert_eq!(set["responses"]["NOT_FOUND"]["body"], r#"{"missing":"$context.requestId"}"#, "{set}");
    assert_eq!(set["responses"]["AUTH_FAILURE"]["status"], 401, "the other type is kept: {set}");
    let missing = s.call_gateway("GET", &Server::group_host(&g), "/nothing/here", &[]).await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.starts_with("{\"missing\":\""), "{}", missing.body);
    b.post(&format!("{page_url}/responses/{default}/types/NOT_FOUND/delete"), &[("csrf", &csrf)]).await;
    let (_, set) = s.get(&format!("/api-groups/{g}/gateway-responses/{default}")).await;
    assert_eq!(set["responses"]["NOT_FOUND"]["default"], true, "{set}");
    assert_eq!(set["responses"]["AUTH_FAILURE"]["body"], r#"{"denied":"$context.error.code"}"#, "{set}");
    b.post(&format!("{page_url}/responses"), &[("name", "partner_errors"), ("csrf", &csrf)]).await;
    let (_, sets) = s.get(&format!("/api-groups/{g}/gateway-responses")).await;
    let custom = sets["responses"].as_array().unwrap().iter().find(|r| r["name"] == "partner_errors").expect("the new set")["id"].as_str().unwrap().to_string();
    assert!(b.get(&format!("{page_url}/responses/{custom}/delete")).await.body.contains("Delete the gateway responses partner_errors?"));
    b.post(&format!("{page_url}/responses/{custom}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s.get(&format!("/api-groups/{g}/gateway-responses/{custom}")).await.0, 404);
}

/// Posts the wizard's form (`step` create) and answers the new API's id, or panics with the page.
async fn wizard_create(b: &mut Browser, fields: &[(&str, &str)]) -> String {
    let made = b.post("/console/apis/new", fields).await;
    assert_eq!(made.status, 303, "{}", made.body);
    made.location().trim_start_matches("/console/apis/").to_string()
}

#[tokio::test]
async fn the_wizard_makes_mocks_functions_policies_and_authorizer_apis() {
    let echo = common::echo::Echo::start().await;
    let s = Server::start().await;
    let g = s.group("wizard_extras").await;
    let host = Server::group_host(&g);
    let (_, f) = s.post("/functions", &json!({"name": "wizard_fn", "code": "exports.handler = async () => ({statusCode: 200, body: 'from fn'});"})).await;
    let urn = f["urn"].as_str().unwrap().to_string();
    let (status, _) = s.post(&format!("/functions/{}/versions", f["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, 201);
    let (_, auth) = s.post("/authorizers", &json!({"name": "wizard_gate", "type": "FRONTEND", "authorizer_type": "FUNC", "authorizer_uri": urn})).await;
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let form = b.get("/console/apis/new").await;
    assert!(form.body.contains(&format!("<option value=\"{urn}\">wizard_fn</option>")) && form.body.contains(">wizard_gate</option>"), "{}", form.body);
    let csrf = form.csrf();
    let common = [("csrf", csrf.as_str()), ("group_id", g.as_str()), ("req_protocol", "BOTH"), ("req_method", "GET"), ("match_mode", "NORMAL"), ("cors", "2"), ("step", "create")];

    // A mock with headers: a bad header line is shown on the headers field.
    let mut mock: Vec<(&str, &str)> = common.to_vec();
    mock.extend([("name", "wizard_mock"), ("req_uri", "/mock"), ("auth_type", "NONE"), ("backend_type", "MOCK"), ("mock_status", "201"), ("mock_content", "made")]);
    let mut bad = mock.clone();
    bad.push(("mock_headers", "not a header: x"));
    let refused = b.post("/console/apis/new", &bad).await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("id=\"mock_headers\" name=\"mock_headers\" rows=\"2\" placeholder=\"Content-Type: application/json\" aria-invalid=\"true\""), "{}", refused.body);
    mock.push(("mock_headers", "X-Made-By: wizard\nCache-Control: no-store"));
    // Its errors answered with a set of gateway responses of its group.
    let (_, set) = s.post(&format!("/api-groups/{g}/gateway-responses"), &json!({"name": "partner_set"})).await;
    let set_id = set["id"].as_str().unwrap().to_string();
    assert!(b.get("/console/apis/new").await.body.contains(&format!("<option value=\"{set_id}\">wizard_extras · partner_set</option>")));
    mock.push(("response_id", set_id.as_str()));
    let mock_id = wizard_create(&mut b, &mock).await;
    let (_, api) = s.get(&format!("/apis/{mock_id}")).await;
    assert_eq!(api["response_id"].as_str(), Some(set_id.as_str()), "{api}");
    s.post(&format!("/apis/publish/{mock_id}"), &json!({"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})).await;
    let called = s.eventually("GET", &host, "/mock", &[], |c| c.status == 201).await;
    assert_eq!((called.body.as_str(), called.header("x-made-by")), ("made", "wizard"));

    // A function backend at version 1.
    let mut func: Vec<(&str, &str)> = common.to_vec();
    func.extend([("name", "wizard_function"), ("req_uri", "/fn"), ("auth_type", "NONE"), ("backend_type", "FUNCTION"), ("function_urn", urn.as_str()), ("function_version", "1"), ("invocation_type", "sync"), ("timeout", "5000")]);
    let fn_id = wizard_create(&mut b, &func).await;
    let (_, api) = s.get(&format!("/apis/{fn_id}")).await;
    assert_eq!((api["func_info"]["function_urn"].as_str(), api["func_info"]["version"].as_str()), (Some(urn.as_str()), Some("1")), "{api}");
    s.post(&format!("/apis/publish/{fn_id}"), &json!({"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})).await;
    assert_eq!(s.eventually("GET", &host, "/fn", &[], |c| c.status == 200).await.body, "from fn");

    // An HTTP backend with a policy sending `?beta=1` elsewhere.
    let address = echo.address();
    let mut http: Vec<(&str, &str)> = common.to_vec();
    http.extend([
        ("name", "wizard_policy"), ("req_uri", "/shop"), ("auth_type", "NONE"), ("backend_type", "HTTP"), ("url_domain", address.as_str()),
        ("backend_protocol", "HTTP"), ("backend_method", "GET"), ("backend_uri", "/stable"), ("timeout", "5000"),
        ("param_name_0", "beta"), ("param_location_0", "QUERY"), ("param_type_0", "STRING"), ("param_required_0", "2"),
        ("policy_name", "beta_users"), ("policy_url_domain", address.as_str()), ("policy_uri", "/beta"), ("cond_param", "beta"), ("cond_type", "exact"), ("cond_value", "1"),
    ]);
    let http_id = wizard_create(&mut b, &http).await;
    s.post(&format!("/apis/publish/{http_id}"), &json!({"env_id": "DEFAULT_ENVIRONMENT_RELEASE_ID"})).await;
    let stable = s.eventually("GET", &host, "/shop", &[], |c| c.status == 200).await;
    assert_eq!(stable.json()["path"], "/stable");
    assert_eq!(s.call_gateway("GET", &host, "/shop?beta=1", &[]).await.json()["path"], "/beta");
    // Edited again, the policy comes back filled in.
    let edit = b.get(&format!("/console/apis/{http_id}/edit")).await;
    assert!(edit.body.contains("value=\"beta_users\"") && edit.body.contains("id=\"cond_value\" name=\"cond_value\" value=\"1\""), "{}", edit.body);

    // A custom authorizer's API names it.
    let mut gated: Vec<(&str, &str)> = common.to_vec();
    let auth_id = auth["id"].as_str().unwrap().to_string();
    gated.extend([("name", "wizard_gated"), ("req_uri", "/gated"), ("auth_type", "AUTHORIZER"), ("authorizer_id", auth_id.as_str()), ("backend_type", "MOCK"), ("mock_content", "in")]);
    let gated_id = wizard_create(&mut b, &gated).await;
    let (_, api) = s.get(&format!("/apis/{gated_id}")).await;
    assert_eq!((api["auth_type"].as_str(), api["authorizer_id"].as_str()), (Some("AUTHORIZER"), Some(auth_id.as_str())), "{api}");
}

#[tokio::test]
async fn an_apps_appcodes_are_added_shown_on_request_and_deleted() {
    let s = Server::start().await;
    let (_, app) = s.post("/apps", &json!({"name": "coded_app"})).await;
    let id = app["id"].as_str().unwrap().to_string();
    let mut b = Browser::new(&s);
    b.post("/console/sign-in", &[("token", TOKEN)]).await;
    let page = b.get(&format!("/console/apps/{id}")).await;
    assert!(page.body.contains("No AppCodes."), "{}", page.body);
    let csrf = page.csrf();
    let short = b.post(&format!("/console/apps/{id}/app-codes"), &[("app_code", "too-short"), ("csrf", &csrf)]).await;
    assert!(short.status == 400 && short.body.contains("parameterName:app_code"), "{}", short.body);
    let generated = b.post(&format!("/console/apps/{id}/app-codes"), &[("csrf", &csrf)]).await;
    assert_eq!(generated.location(), format!("/console/apps/{id}?show_codes=1#app-codes"));
    let own = "A".repeat(64);
    b.post(&format!("/console/apps/{id}/app-codes"), &[("app_code", &own), ("csrf", &csrf)]).await;
    let (_, codes) = s.get(&format!("/apps/{id}/app-codes")).await;
    assert_eq!(codes["total"], 2, "{codes}");
    // Masked on the page until asked for.
    let page = b.get(&format!("/console/apps/{id}")).await;
    assert!(!page.body.contains(&own) && page.body.contains("AAAA…AAAA"), "{}", page.body);
    assert!(b.get(&format!("/console/apps/{id}?show_codes=1")).await.body.contains(&own));
    let own_id = codes["app_codes"].as_array().unwrap().iter().find(|c| c["app_code"] == own.as_str()).unwrap()["id"].as_str().unwrap().to_string();
    assert!(b.get(&format!("/console/apps/{id}/app-codes/{own_id}/delete")).await.body.contains("Delete the AppCode AAAA…AAAA?"));
    b.post(&format!("/console/apps/{id}/app-codes/{own_id}/delete"), &[("csrf", &csrf)]).await;
    let (_, codes) = s.get(&format!("/apps/{id}/app-codes")).await;
    assert_eq!(codes["total"], 1, "{codes}");
}
