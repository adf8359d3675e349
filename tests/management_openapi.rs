//! The management API describes itself (`GET /openapi.json`): the document
//! names every route the routers serve and nothing else, and schemathesis
//! (from PyPI, installed by `.ci/run` under `target/`) drives the real server
//! from it: no 5xx answer, no answer the document does not describe.

mod common;

use std::collections::BTreeSet;

use common::{Server, TOKEN};
use serde_json::Value;

/// `(METHOD, /path/{param})` of a router's source.
fn routes_of(source: &str, start: &str) -> BTreeSet<(String, String)> {
    let body = &source[source.find(start).expect("router fn")..];
    let mut out = BTreeSet::new();
    for chunk in body.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).expect("route path").to_string();
        let handlers = &chunk[chunk.find('"').unwrap() + path.len() + 2..];
        let handlers = &handlers[..handlers.find(".route(").unwrap_or(handlers.len())];
        for method in ["get", "post", "put", "delete"] {
            let found = handlers
                .match_indices(&format!("{method}("))
                .any(|(i, _)| i == 0 || !handlers.as_bytes()[i - 1].is_ascii_alphanumeric() && handlers.as_bytes()[i - 1] != b'_');
            if found {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

async fn document(s: &Server) -> Value {
    let res = s.http.get(format!("{}/openapi.json", s.admin)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    res.json().await.unwrap()
}

fn documented(doc: &Value, prefix: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(route) = path.strip_prefix(prefix) else { continue };
        if route.starts_with("/instances") && prefix.ends_with("{instance_id}") {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), route.to_string()));
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_described_and_every_described_route_is_served() {
    let s = Server::start().await;
    let doc = document(&s).await;
    assert_eq!(doc["openapi"], "3.0.3");
    let v1 = routes_of(include_str!("../crates/admin/src/routes/v1/mod.rs"), "pub(crate) fn resources");
    let v2_own = routes_of(include_str!("../crates/admin/src/routes/v2/mod.rs"), "pub fn router");
    assert!(v1.len() > 130, "{}", v1.len());
    assert_eq!(documented(&doc, "/v1.0/apigw"), v1, "v1.0 family");
    let instance_routes: BTreeSet<_> = v1.iter().chain(v2_own.iter().filter(|(_, p)| p != "/instances")).cloned().collect();
    for prefix in [
        "/v1/{project_id}/apigw/instances/{instance_id}",
        "/v2/{project_id}/apigw/instances/{instance_id}",
        "/v1/{project_id}/apic/instances/{instance_id}",
        "/v2/{project_id}/apic/instances/{instance_id}",
    ] {
        assert_eq!(documented(&doc, prefix), instance_routes, "{prefix}");
    }
    // Each described operation reaches a handler (the router's own 404 names no resource).
    let fallback: Value = s.http.get(format!("{}/v1.0/apigw/no-such-resource", s.admin)).header("X-Auth-Token", TOKEN).send().await.unwrap().json().await.unwrap();
    for (method, route) in &v1 {
        if method == "DELETE" || route.contains("admin-credentials") {
            continue;
        }
        let path = route.split('/').map(|seg| if seg.starts_with('{') { "0123456789abcdef0123456789abcdef" } else { seg }).collect::<Vec<_>>().join("/");
        let res = s.http.request(method.parse().unwrap(), format!("{}/v1.0/apigw{path}", s.admin)).header("X-Auth-Token", TOKEN).header("Content-Type", "application/json").body("{}").send().await.unwrap();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(body != fallback, "{method} {route} is described but not routed: {body}");
    }
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_undescribed_answer() {
    let Ok(schemathesis) = std::env::var("CAUSEWAY_TEST_SCHEMATHESIS") else {
        eprintln!("CAUSEWAY_TEST_SCHEMATHESIS is not set (.ci/run sets it): schemathesis not run");
        return;
    };
    let s = Server::start().await;
    let url = format!("{}/openapi.json", s.admin);
    let report = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(&schemathesis)
        .args(["run", &url, "--header", &format!("X-Auth-Token: {TOKEN}")])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
        // v1.0 and V2; the dedicated V1 and ROMA families share their handlers.
        .args(["--include-path-regex", r"^/(v1\.0/apigw|v2/\{project_id\}/apigw)/"])
        .args(["--phases", "examples,fuzzing", "--max-examples", "10", "--seed", "20261205", "--workers", "2", "--no-color"])
        .args(["--generation-database", "none", "--request-timeout", "20", "--max-failures", "20"])
        .arg("--report-dir")
        .arg(report.path())
        // Its caches go to the temporary directory, not the checkout.
        .current_dir(report.path())
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("{stdout}");
    assert!(stdout.contains("passed"), "{stdout}");
}
