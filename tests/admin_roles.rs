//! Named admin credentials and their roles, against the real server: every
//! management path is tried as a viewer and as an editor, credentials are
//! rotated and revoked without a restart, AK/SK credentials sign calls, and
//! failed sign-ins are limited per address.

mod common;

use causeway_sign::sdk::Key;
use common::{Server, TOKEN, assert_error};
use serde_json::{Value, json};

fn restricted(path: &str) -> bool {
    path.starts_with("/admin-credentials") || path.starts_with("/audit-logs")
}

async fn credential(s: &Server, name: &str, role: &str, kind: &str) -> Value {
    let (status, body) = s.post("/admin-credentials", &json!({"name": name, "role": role, "type": kind, "remark": "made by a test"})).await;
    assert_eq!(status, 201, "{body}");
    body
}

fn is_forbidden(answer: &(u16, Value)) -> bool {
    answer.0 == 403 && answer.1["error_code"] == "APIG.1005"
}

#[tokio::test]
async fn viewers_read_editors_write_and_only_admins_manage_credentials() {
    let s = Server::start().await;
    let viewer = credential(&s, "ops_viewer", "viewer", "TOKEN").await;
    let editor = credential(&s, "ci_editor", "editor", "TOKEN").await;
    let admin = credential(&s, "second_admin", "admin", "TOKEN").await;
    // The token is shown once, in the answer that issues it.
    let (viewer_token, editor_token, admin_token) = (viewer["token"].as_str().unwrap(), editor["token"].as_str().unwrap(), admin["token"].as_str().unwrap());
    assert_eq!(viewer_token.len(), 64);
    assert!(viewer.get("token_sha256").is_none() && viewer.get("sealed_secret").is_none(), "{viewer}");
    let (_, shown) = s.get(&format!("/admin-credentials/{}", viewer["id"].as_str().unwrap())).await;
    assert_eq!((shown["name"].as_str(), shown["role"].as_str(), shown.get("token")), (Some("ops_viewer"), Some("viewer"), None), "{shown}");

    let body = json!({});
    for (method, path) in common::management_routes() {
        // Exports are POSTs that only read: viewers may make them.
        let write = method != "GET" && !matches!(path.as_str(), "/openapi/export" | "/openapi/apis");
        let as_viewer = s.call_as(viewer_token, &method, &path, write.then_some(&body)).await;
        assert_eq!(is_forbidden(&as_viewer), write || restricted(&path), "viewer {method} {path}: {as_viewer:?}");
        assert!(as_viewer.0 != 401 && as_viewer.0 < 500, "viewer {method} {path}: {as_viewer:?}");
        let as_editor = s.call_as(editor_token, &method, &path, write.then_some(&body)).await;
        assert_eq!(is_forbidden(&as_editor), restricted(&path), "editor {method} {path}: {as_editor:?}");
        assert!(as_editor.0 != 401 && as_editor.0 < 500, "editor {method} {path}: {as_editor:?}");
        let as_admin = s.call_as(admin_token, &method, &path, write.then_some(&body)).await;
        assert!(!is_forbidden(&as_admin) && as_admin.0 != 401 && as_admin.0 < 500, "admin {method} {path}: {as_admin:?}");
    }

    // What the roles mean in practice.
    let (status, group) = s.call_as(editor_token, "POST", "/api-groups", Some(&json!({"name": "edited_group"}))).await;
    assert_eq!(status, 201, "{group}");
    let (status, list) = s.call_as(viewer_token, "GET", "/api-groups?name=edited_group", None).await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(1)), "{list}");
    let refused = s.call_as(viewer_token, "DELETE", &format!("/api-groups/{}", group["id"].as_str().unwrap()), None).await;
    assert_error(&refused, 403, "APIG.1005", None);
    assert!(refused.1["error_msg"].as_str().unwrap().contains("viewer"), "{refused:?}");
    let (status, made) = s.call_as(admin_token, "POST", "/admin-credentials", Some(&json!({"name": "made_by_admin", "role": "viewer"}))).await;
    assert_eq!(status, 201, "{made}");
    assert_error(&s.call_as(editor_token, "POST", "/admin-credentials", Some(&json!({"name": "made_by_editor", "role": "admin"}))).await, 403, "APIG.1005", None);

    // Listing and filters; no secret in any of it.
    let (status, list) = s.get("/admin-credentials?role=viewer").await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(2)), "{list}");
    let (_, all) = s.get("/admin-credentials").await;
    assert_eq!(all["total"], 4, "{all}");
    for secret in [viewer_token, editor_token, admin_token] {
        assert!(!all.to_string().contains(secret));
    }
    assert_error(&s.get("/admin-credentials?role=root").await, 400, "APIG.2011", Some("role"));
}

#[tokio::test]
async fn credentials_are_validated_rotated_and_revoked_without_a_restart() {
    let s = Server::start().await;
    assert_error(&s.post("/admin-credentials", &json!({"role": "viewer"})).await, 400, "APIG.2001", Some("name"));
    assert_error(&s.post("/admin-credentials", &json!({"name": "no_role"})).await, 400, "APIG.2001", Some("role"));
    assert_error(&s.post("/admin-credentials", &json!({"name": "bad_role", "role": "root"})).await, 400, "APIG.2011", Some("role"));
    assert_error(&s.post("/admin-credentials", &json!({"name": "bad_type", "role": "viewer", "type": "PASSWORD"})).await, 400, "APIG.2011", Some("type"));
    assert_error(&s.post("/admin-credentials", &json!({"name": "x", "role": "viewer"})).await, 400, "APIG.2011", Some("name"));
    assert_error(&s.post("/admin-credentials", &json!({"name": "tagged", "role": "viewer", "remark": "<b>"})).await, 400, "APIG.2011", Some("remark"));
    assert_error(&s.get("/admin-credentials/0123456789abcdef0123456789abcdef").await, 404, "APIG.3097", None);

    let k = credential(&s, "deployer", "editor", "TOKEN").await;
    let id = k["id"].as_str().unwrap();
    let old = k["token"].as_str().unwrap().to_string();
    assert_error(&s.post("/admin-credentials", &json!({"name": "deployer", "role": "viewer"})).await, 400, "APIG.3217", Some("name"));
    assert_eq!(s.call_as(&old, "GET", "/apis", None).await.0, 200);

    // A role change applies to the next call.
    let (status, changed) = s.put(&format!("/admin-credentials/{id}"), &json!({"name": "deployer", "role": "viewer", "remark": "read only now"})).await;
    assert_eq!((status, changed["role"].as_str()), (200, Some("viewer")), "{changed}");
    assert_error(&s.call_as(&old, "POST", "/api-groups", Some(&json!({"name": "not_allowed"}))).await, 403, "APIG.1005", None);
    assert_error(&s.put(&format!("/admin-credentials/{id}"), &json!({"name": "deployer", "role": "viewer", "type": "AKSK"})).await, 400, "APIG.2011", Some("type"));

    // Rotation: the old token stops working at once, the new one works.
    let (status, rotated) = s.put(&format!("/admin-credentials/{id}/secret"), &json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["token"].as_str().unwrap();
    assert_ne!(new, old);
    assert_error(&s.call_as(&old, "GET", "/apis", None).await, 401, "APIG.1002", None);
    assert_eq!(s.call_as(new, "GET", "/apis", None).await.0, 200);

    // Revocation.
    assert_eq!(s.delete(&format!("/admin-credentials/{id}")).await.0, 204);
    assert_error(&s.call_as(new, "GET", "/apis", None).await, 401, "APIG.1002", None);
    assert_error(&s.delete(&format!("/admin-credentials/{id}")).await, 404, "APIG.3097", None);
    // The bootstrap token stays an admin throughout.
    assert_eq!(s.get("/admin-credentials").await.0, 200);
}

#[tokio::test]
async fn access_key_credentials_sign_calls_with_their_role_and_rotate() {
    let s = Server::start().await;
    let k = credential(&s, "signer", "editor", "AKSK").await;
    let (ak, sk) = (k["access_key"].as_str().unwrap().to_string(), k["secret_key"].as_str().unwrap().to_string());
    assert!(k.get("token").is_none(), "{k}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let key = Key { access: &ak, secret: &sk };

    let (status, group) = s.signed("POST", "/v1.0/apigw/api-groups", r#"{"name":"signed_by_editor"}"#, key, now).await;
    assert_eq!(status, 201, "{group}");
    let refused = s.signed("GET", "/v1.0/apigw/admin-credentials", "", key, now).await;
    assert_error(&refused, 403, "APIG.1005", None);
    // A wrong secret, a tampered body, and a body left out of the signature are refused.
    let wrong = s.signed("POST", "/v1.0/apigw/api-groups", r#"{"name":"signed_by_nobody"}"#, Key { access: &ak, secret: "the-wrong-secret" }, now).await;
    assert_error(&wrong, 401, "APIG.1002", None);
    let tampered = s.signed_with("POST", "/v1.0/apigw/api-groups", r#"{"name":"what_was_signed"}"#, r#"{"name":"what_was_sent"}"#, &[], key, now).await;
    assert_error(&tampered, 401, "APIG.1002", None);
    assert!(tampered.1["error_msg"].as_str().unwrap().contains("verify signature fail"), "{tampered:?}");
    let unsigned = s.signed_with("POST", "/v1.0/apigw/api-groups", "", r#"{"name":"unsigned_body"}"#, &[("X-Sdk-Content-Sha256", "UNSIGNED-PAYLOAD")], key, now).await;
    assert_error(&unsigned, 401, "APIG.1002", None);
    let claimed = causeway_sign::sdk::sha256_hex(br#"{"name":"claimed_body"}"#);
    let mismatched = s.signed_with("POST", "/v1.0/apigw/api-groups", "", r#"{"name":"other_body"}"#, &[("X-Sdk-Content-Sha256", &claimed)], key, now).await;
    assert_error(&mismatched, 401, "APIG.1002", None);
    for name in ["what_was_sent", "body"] {
        let (_, groups) = s.get(&format!("/api-groups?name={name}")).await;
        assert_eq!(groups["total"], 0, "no refused call created anything: {groups}");
    }

    let (status, rotated) = s.put(&format!("/admin-credentials/{}/secret", k["id"].as_str().unwrap()), &json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["access_key"].as_str(), Some(ak.as_str()), "the access key stays, the secret changes");
    let new_sk = rotated["secret_key"].as_str().unwrap();
    assert_ne!(new_sk, sk);
    assert_error(&s.signed("GET", "/v1.0/apigw/apis", "", key, now).await, 401, "APIG.1002", None);
    assert_eq!(s.signed("GET", "/v1.0/apigw/apis", "", Key { access: &ak, secret: new_sk }, now).await.0, 200);

    // Neither secret is in the store in clear: the token as its hash, the secret sealed.
    let t = credential(&s, "tokened", "viewer", "TOKEN").await;
    let token = t["token"].as_str().unwrap();
    let stored = s.sqlite_bytes();
    for secret in [sk.as_str(), new_sk, token] {
        assert!(!common::contains(&stored, secret.as_bytes()), "a secret in clear in the store");
    }
    assert!(common::contains(&stored, ak.as_bytes()), "the access key itself is stored");
}

#[tokio::test]
async fn failed_sign_ins_are_limited_per_address() {
    let s = Server::start().await;
    for _ in 0..10 {
        assert_error(&s.call_as("not-a-token", "GET", "/apis", None).await, 401, "APIG.1002", None);
    }
    // The eleventh failure in the window, and any call after it, even a right one, is refused.
    assert_error(&s.call_as("not-a-token", "GET", "/apis", None).await, 429, "APIG.0308", None);
    assert_error(&s.call_as(TOKEN, "GET", "/apis", None).await, 429, "APIG.0308", None);
}
