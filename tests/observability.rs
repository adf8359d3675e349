//! Operations end to end: the JSON access log line of each request and the
//! Prometheus metrics on the admin listener.

mod common;

use std::time::Duration;

use common::Server;
use common::echo::Echo;
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

fn mock_api(group: &str, name: &str, path: &str) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": path,
      "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "hello", "status_code": 200}
    })
}

/// Reads the access log until it holds `n` lines (workers write it out every 200 ms).
async fn log_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
        if lines.len() >= n {
            return lines;
        }
        assert!(std::time::Instant::now() < deadline, "access log has {} lines, expected {n}:\n{text}", lines.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scrape(server: &Server) -> String {
    let res = server.http.get(format!("{}/metrics", server.admin)).send().await.expect("scrape");
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap_or_default().to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    res.text().await.expect("metrics text")
}

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test]
async fn every_request_gets_one_json_access_log_line() {
    let echo = Echo::start().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let server = Server::start_with(common::Backend::Sqlite, &["--access-log", log.to_str().unwrap()]).await;
    let g = server.group("logged").await;
    let host = Server::group_host(&g);
    let mock = server.create_and_publish(&mock_api(&g, "hello", "/hello"), RELEASE).await;
    let http = server
        .create_and_publish(
            &json!({
              "group_id": g, "name": "echo", "type": 1, "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/echo",
              "auth_type": "NONE", "backend_type": "HTTP",
              "backend_api": {"url_domain": echo.address(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/e", "timeout": 3000}
            }),
            RELEASE,
        )
        .await;
    let hello = server.eventually("GET", &host, "/hello?secret=1", &[], |c| c.status == 200).await;
    let posted = server.http.post(format!("{}/echo", server.gateway)).header("Host", &host).body("payload").send().await.unwrap();
    assert_eq!(posted.status(), 200);
    let posted_id = posted.headers()["x-request-id"].to_str().unwrap().to_string();
    let posted_len = posted.bytes().await.unwrap().len() as u64;
    let missing = server.call_gateway("GET", &host, "/nothing \"here\"", &[]).await;
    assert_eq!(missing.status, 404);

    let lines = log_lines(&log, 3).await;
    let find = |id: &str| lines.iter().find(|l| l["request_id"] == id).unwrap_or_else(|| panic!("no line for {id} in {lines:?}")).clone();

    let line = find(hello.header("x-request-id"));
    assert_eq!(line["group"], g.as_str());
    assert_eq!(line["api"], mock.as_str());
    assert_eq!(line["env"], "RELEASE");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["path"], "/hello", "the query string is not logged");
    assert_eq!(line["status"], 200);
    assert_eq!(line["bytes"], 5);
    assert_eq!(line["client"], "127.0.0.1");
    assert!(line["upstream_latency_ms"].is_null());
    assert!(line["latency_ms"].as_f64().unwrap() >= 0.0);
    let time = line["time"].as_str().unwrap();
    assert!(time.len() == 24 && time.ends_with('Z'), "{time}");

    let line = find(&posted_id);
    assert_eq!(line["api"], http.as_str());
    assert_eq!(line["method"], "POST");
    assert_eq!(line["status"], 200);
    assert_eq!(line["bytes"], posted_len, "streamed bytes are counted");
    assert!(line["upstream_latency_ms"].as_f64().unwrap() >= 0.0);
    assert!(line["latency_ms"].as_f64().unwrap() >= line["upstream_latency_ms"].as_f64().unwrap());

    let line = find(missing.header("x-request-id"));
    assert_eq!(line["group"], g.as_str());
    assert_eq!(line["api"], "");
    assert_eq!(line["status"], 404);
    assert_eq!(line["path"], "/nothing%20%22here%22");
}

#[tokio::test]
async fn metrics_count_requests_by_api_environment_and_status_class() {
    let server = Server::start_with(common::Backend::Sqlite, &["--access-log", "off"]).await;
    let g = server.group("measured").await;
    let host = Server::group_host(&g);
    let api = server.create_and_publish(&mock_api(&g, "hello", "/hello"), RELEASE).await;
    server.eventually("GET", &host, "/hello", &[], |c| c.status == 200).await;
    for _ in 0..4 {
        assert_eq!(server.call_gateway("GET", &host, "/hello", &[]).await.status, 200);
    }
    assert_eq!(server.call_gateway("GET", &host, "/missing", &[]).await.status, 404);

    // Bodies finish just after the caller has read them: scrape until the counts settle.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let ok = format!("causeway_requests_total{{api=\"{api}\",env=\"RELEASE\",status=\"2xx\"}}");
    let text = loop {
        let text = scrape(&server).await;
        if sample(&text, &ok) == Some(5.0) {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "expected 5 requests in {ok}:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(sample(&text, "causeway_requests_total{api=\"\",env=\"\",status=\"4xx\"}").unwrap_or(0.0) >= 1.0, "{text}");
    assert_eq!(sample(&text, "causeway_routes_loaded"), Some(1.0), "{text}");
    assert!(sample(&text, "causeway_snapshot_revision").unwrap_or(0.0) > 0.0, "{text}");
    assert!(text.contains("# TYPE causeway_request_duration_seconds histogram"), "{text}");

    // Histogram samples are folded in by the exporter's upkeep; the count follows.
    let count = format!("causeway_request_duration_seconds_count{{api=\"{api}\",env=\"RELEASE\"}}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(&server).await;
        if sample(&text, &count) == Some(5.0) {
            assert!(text.contains(&format!("causeway_request_duration_seconds_bucket{{api=\"{api}\",env=\"RELEASE\",le=\"+Inf\"}} 5")), "{text}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "expected 5 samples in {count}:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn sighup_reopens_the_access_log_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let rotated = dir.path().join("access.log.1");
    let server = Server::start_with(common::Backend::Sqlite, &["--access-log", log.to_str().unwrap()]).await;
    let g = server.group("rotated").await;
    let host = Server::group_host(&g);
    server.create_and_publish(&mock_api(&g, "hello", "/hello"), RELEASE).await;
    server.create_and_publish(&mock_api(&g, "after", "/after"), RELEASE).await;
    // Every call so far (counted) written out before the rotation: one line each.
    let mut calls = 0;
    loop {
        calls += 1;
        if server.call_gateway("GET", &host, "/hello", &[]).await.status == 200 {
            break;
        }
        assert!(calls < 500, "the API was never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(log_lines(&log, calls).await.len(), calls);

    // logrotate moves the file away, then signals.
    std::fs::rename(&log, &rotated).unwrap();
    server.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !log.exists() {
        assert!(std::time::Instant::now() < deadline, "the access log was not reopened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = std::fs::read_to_string(&rotated).unwrap().lines().count();
    for _ in 0..3 {
        assert_eq!(server.call_gateway("GET", &host, "/after", &[]).await.status, 200);
    }
    let lines = log_lines(&log, 3).await;
    assert!(lines.iter().all(|l| l["path"] == "/after"), "{lines:?}");
    assert_eq!(std::fs::read_to_string(&rotated).unwrap().lines().count(), before, "nothing more goes to the rotated file");
}

/// A log nobody reads (a FIFO whose reader never reads: the pipe fills at
/// 64 KiB) never stops requests: the writer waits, batches beyond its queue
/// are dropped and counted.
#[tokio::test]
async fn a_full_log_pipe_never_stops_requests() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("access.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // A reader that never reads (opened first, without waiting, so the server's open does not wait).
    let _reader = std::fs::OpenOptions::new().read(true).custom_flags(0o4000).open(&fifo).unwrap();
    let server = Server::start_with(common::Backend::Sqlite, &["--access-log", fifo.to_str().unwrap()]).await;
    let g = server.group("full_pipe").await;
    let host = Server::group_host(&g);
    server.create_and_publish(&mock_api(&g, "hello", "/hello"), RELEASE).await;
    server.eventually("GET", &host, "/hello", &[], |c| c.status == 200).await;
    // Far more lines than the pipe and the writer's queue hold.
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let (http, url, host) = (server.http.clone(), format!("{}/hello", server.gateway), host.clone());
            tokio::spawn(async move {
                for _ in 0..600 {
                    let res = http.get(&url).header("Host", &host).header("X-Padding", "p".repeat(2000)).send().await.unwrap();
                    assert_eq!(res.status(), 200);
                }
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(120), futures_util::future::join_all(calls)).await.expect("requests went on");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let dropped = sample(&scrape(&server).await, "causeway_access_log_dropped_lines_total").unwrap_or(0.0);
        if dropped > 0.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no dropped lines counted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A clean shutdown writes every line the workers still hold.
#[tokio::test]
async fn no_line_is_lost_on_a_clean_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut server = Server::start_with(common::Backend::Sqlite, &["--access-log", log.to_str().unwrap()]).await;
    let g = server.group("shutdown_log").await;
    let host = Server::group_host(&g);
    server.create_and_publish(&mock_api(&g, "hello", "/hello"), RELEASE).await;
    let mut calls = 0;
    loop {
        calls += 1;
        if server.call_gateway("GET", &host, "/hello", &[]).await.status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..300 {
        assert_eq!(server.call_gateway("GET", &host, "/hello", &[]).await.status, 200);
        calls += 1;
    }
    // At once: the last lines are still in the workers' buffers.
    server.stop();
    let written = std::fs::read_to_string(&log).unwrap().lines().count();
    assert_eq!(written, calls);
}
