//! Several nodes on one PostgreSQL: a commit on one node is announced to
//! the others (`LISTEN`/`NOTIFY`), so they serve it without waiting for
//! their next poll — here the poll is a minute away — also after their
//! listening connection was cut.

mod common;

use std::time::{Duration, Instant};

use common::{Backend, Server};
use serde_json::json;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn mock(group: &str, name: &str, path: &str) -> serde_json::Value {
    json!({"group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": path, "auth_type": "NONE",
        "backend_type": "MOCK", "mock_info": {"result_content": name}})
}

/// How long until `node` serves `path` of `group` (panics after 10 s).
async fn served_after(node: &Server, group: &str, path: &str) -> Duration {
    let host = Server::group_host(group);
    let start = Instant::now();
    loop {
        let called = node.call_gateway("GET", &host, path, &[]).await;
        if called.status == 200 {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{path} never served by the other node: {} {}", called.status, called.body);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_publish_reaches_the_other_nodes_at_once() {
    let Some(base) = common::service("CAUSEWAY_TEST_POSTGRES") else { return };
    let schema = format!("cw_e2e_{}", uuid::Uuid::new_v4().simple());
    // Polling every minute: only the announcement can bring the change in time.
    let admin = Server::start_with(Backend::Postgres { base: base.clone(), schema: schema.clone() }, &["--watch-interval", "60000"]).await;
    let gateway = admin.start_sharing(&["--watch-interval", "60000"]).await;
    let g = admin.group("announced").await;
    admin.create_and_publish(&mock(&g, "first", "/first"), RELEASE).await;
    let took = served_after(&gateway, &g, "/first").await;
    assert!(took < Duration::from_secs(5), "served after {took:?}");

    // The listening connections cut (as a failover or a restarted pooler would): they come back by themselves.
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&base).await.expect("connect to PostgreSQL");
    let cut: i64 = sqlx::Row::try_get(
        &sqlx::query("SELECT count(pg_terminate_backend(pid))::bigint FROM pg_stat_activity WHERE query LIKE 'LISTEN %' AND query LIKE $1")
            .bind(format!("%{schema}%"))
            .fetch_one(&pool)
            .await
            .expect("query"),
        0,
    )
    .expect("a count");
    assert!(cut >= 1, "a listening connection was there to cut");
    // Reconnecting waits a second, then catches up.
    admin.create_and_publish(&mock(&g, "second", "/second"), RELEASE).await;
    let took = served_after(&gateway, &g, "/second").await;
    assert!(took < Duration::from_secs(8), "served after {took:?}");
}


#[tokio::test]
async fn nodes_list_themselves_with_their_revisions_and_state() {
    let Some(backend) = Backend::postgres() else { return };
    let fast = ["--heartbeat-interval", "200"];
    let admin = Server::start_with(backend, &["--role", "admin", "--heartbeat-interval", "200"]).await;
    let first = admin.start_sharing(&[&["--role", "gateway"][..], &fast].concat()).await;
    let mut second = admin.start_sharing(&[&["--role", "gateway"][..], &fast].concat()).await;
    // Health for load balancers, on every node's admin listener, without credentials.
    for node in [&admin, &first] {
        for (path, said) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
            let res = reqwest::get(format!("{}{path}", node.admin)).await.unwrap();
            assert_eq!((res.status().as_u16(), res.text().await.unwrap()), (200, said.to_string()), "{path}");
        }
    }
    let g = admin.group("listed").await;
    admin.create_and_publish(&mock(&g, "listed", "/listed"), RELEASE).await;
    served_after(&first, &g, "/listed").await;
    served_after(&second, &g, "/listed").await;
    let nodes = |list: &serde_json::Value| list["nodes"].as_array().cloned().unwrap_or_default();
    // Three nodes, the gateways up to date.
    let deadline = Instant::now() + Duration::from_secs(10);
    let listed = loop {
        let (status, list) = admin.get("/nodes").await;
        assert_eq!(status, 200, "{list}");
        let all = nodes(&list);
        let gateways_current = all.iter().filter(|n| n["role"] == "gateway" && n["lag"] == 0 && n["status"] == "up").count() == 2;
        if all.len() == 3 && gateways_current {
            break all;
        }
        assert!(Instant::now() < deadline, "nodes never all listed and current: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let admin_node = listed.iter().find(|n| n["role"] == "admin").expect("the admin node");
    assert!(admin_node["revision"].is_null() && admin_node["admin"].as_str().is_some_and(|a| admin.admin.ends_with(a)), "{admin_node}");
    assert!(listed.iter().all(|n| n["version"] == env!("CARGO_PKG_VERSION") && n["started_at"].is_string() && n["last_heartbeat"].is_string()));
    // One killed: silent; one stopped: stopped.
    first.signal("KILL");
    second.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, list) = admin.get("/nodes").await;
        let states: Vec<&str> = nodes(&list).iter().filter(|n| n["role"] == "gateway").filter_map(|n| n["status"].as_str().map(|s| if s == "silent" { "silent" } else if s == "stopped" { "stopped" } else { "up" })).collect();
        let mut sorted = states.clone();
        sorted.sort_unstable();
        if sorted == ["silent", "stopped"] {
            break;
        }
        assert!(Instant::now() < deadline, "states: {states:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
