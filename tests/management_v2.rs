//! The V2 path family (`/v2/{project_id}/apigw/instances/{instance_id}/...`)
//! against the real server: the instance it lists and answers to, paging by
//! `offset`/`limit`, the same stored result as through v1.0, and sign-in,
//! roles and the audit log applying alike.

mod common;

use common::{Backend, Server, TOKEN, assert_error};
use serde_json::{Value, json};

const PROJECT: &str = "0f3c2e9b8a7d4e1f9c2b3a4d5e6f7a8b";

async fn v2_as(s: &Server, token: &str, instance: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value, Option<String>) {
    let url = format!("{}/v2/{PROJECT}/apigw/instances/{instance}{path}", s.admin);
    let mut req = s.http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url).header("X-Auth-Token", token);
    if let Some(b) = body {
        req = req.header("Content-Type", "application/json").body(b.to_string());
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let request_id = res.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), request_id)
}

async fn v2(s: &Server, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, body, request_id) = v2_as(s, TOKEN, "causeway", method, path, body).await;
    assert_eq!(request_id.map(|r| r.len()), Some(32), "every V2 answer carries X-Request-Id");
    (status, body)
}

#[tokio::test]
async fn the_instance_is_listed_and_only_its_id_is_answered() {
    let s = Server::start_with(Backend::Sqlite, &["--instance-id", "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "--instance-name", "edge-gateway"]).await;
    let url = format!("{}/v2/any-project/apigw/instances", s.admin);
    let listed: Value = s.http.get(&url).header("X-Auth-Token", TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed["total"], 1, "{listed}");
    assert_eq!(listed["instances"][0]["id"], "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6");
    assert_eq!(listed["instances"][0]["instance_name"], "edge-gateway");
    assert_eq!(listed["instances"][0]["status"], "Running");
    let filtered: Value = s.http.get(format!("{url}?instance_name=nope")).header("X-Auth-Token", TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(filtered["total"], 0, "{filtered}");

    let (status, groups, _) = v2_as(&s, TOKEN, "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", "GET", "/api-groups", None).await;
    assert_eq!(status, 200, "{groups}");
    let other = v2_as(&s, TOKEN, "causeway", "GET", "/api-groups", None).await;
    assert_error(&(other.0, other.1), 404, "APIG.3030", None);
    // Not signed in: refused before anything else is said about the instance.
    let anonymous = s.http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong_family = s.http.get(format!("{}/v2/{PROJECT}/apic-nope/instances/x/apis", s.admin)).header("X-Auth-Token", TOKEN).send().await.unwrap();
    assert_eq!(wrong_family.status(), 404);
}

#[tokio::test]
async fn v2_and_v1_share_the_resources_and_v2_pages_by_offset() {
    let s = Server::start().await;
    for i in 0..5 {
        let (status, g) = v2(&s, "POST", "/api-groups", Some(&json!({"name": format!("v2_group_{i}"), "remark": "made through V2"}))).await;
        assert_eq!(status, 201, "{g}");
    }
    // What V2 made, v1.0 reads the same.
    let (_, through_v1) = s.get("/api-groups?name=v2_group_3").await;
    let id = through_v1["groups"][0]["id"].as_str().unwrap().to_string();
    let (status, through_v2) = v2(&s, "GET", &format!("/api-groups/{id}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(through_v2, through_v1["groups"][0]);

    // offset/limit, with the V2 envelope.
    let (status, page) = v2(&s, "GET", "/api-groups?name=v2_group&offset=1&limit=2", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!((page["total"].as_u64(), page["size"].as_u64()), (Some(5), Some(2)), "{page}");
    let names: Vec<&str> = page["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v2_group_1", "v2_group_2"]);
    assert_error(&v2(&s, "GET", "/api-groups?limit=0", None).await, 400, "APIG.2011", Some("limit"));
    assert_error(&v2(&s, "GET", "/api-groups?offset=-1", None).await, 400, "APIG.2011", Some("offset"));
    // v1.0 still pages by page number.
    let (_, v1_page) = s.get("/api-groups?name=v2_group&page_no=2&page_size=2").await;
    let names: Vec<&str> = v1_page["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["v2_group_2", "v2_group_3"]);

    // Updates and deletes through V2, seen through v1.0.
    let (status, _) = v2(&s, "PUT", &format!("/api-groups/{id}"), Some(&json!({"name": "v2_group_3", "remark": "changed"}))).await;
    assert_eq!(status, 200);
    let (_, g) = s.get(&format!("/api-groups/{id}")).await;
    assert_eq!(g["remark"], "changed");
    assert_eq!(v2(&s, "DELETE", &format!("/api-groups/{id}"), None).await.0, 204);
    assert_error(&s.get(&format!("/api-groups/{id}")).await, 404, "APIG.3001", None);
    // Validation answers as v1.0's does.
    assert_error(&v2(&s, "POST", "/envs", Some(&json!({"name": "x"}))).await, 400, "APIG.2011", Some("name"));
}

#[tokio::test]
async fn v2_calls_sign_in_check_roles_and_are_audited() {
    use causeway_sign::sdk::Key;
    let s = Server::start().await;
    let (_, viewer) = s.post("/admin-credentials", &json!({"name": "v2_viewer", "role": "viewer"})).await;
    let token = viewer["token"].as_str().unwrap();
    let (status, _, _) = v2_as(&s, token, "causeway", "GET", "/api-groups", None).await;
    assert_eq!(status, 200);
    let refused = v2_as(&s, token, "causeway", "POST", "/api-groups", Some(&json!({"name": "not_by_a_viewer"}))).await;
    assert_error(&(refused.0, refused.1), 403, "APIG.1005", None);

    // Signed with the bootstrap access key, over the whole V2 path.
    let file = std::fs::read_to_string(s.data_dir.path().join("admin-access-key")).unwrap();
    let mut lines = file.lines();
    let (ak, sk) = (lines.next().unwrap(), lines.next().unwrap());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let path = format!("/v2/{PROJECT}/apigw/instances/causeway/api-groups");
    let (status, group) = s.signed("POST", &path, r#"{"name":"signed_v2_group"}"#, Key { access: ak, secret: sk }, now).await;
    assert_eq!(status, 201, "{group}");

    let (_, log) = s.get("/audit-logs?resource_kind=api-groups").await;
    let entries = log["audit_logs"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{log}");
    assert_eq!(entries[0]["path"], path.as_str());
    assert_eq!(entries[0]["resource_id"], group["id"]);
    assert_eq!(entries[0]["credential"], "bootstrap");
    assert_eq!((entries[1]["credential"].as_str(), entries[1]["status"].as_i64()), (Some("v2_viewer"), Some(403)));
}
