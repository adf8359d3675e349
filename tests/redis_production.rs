//! Throttling on Redis as production runs it, with Redis servers the test
//! starts itself (`redis-server` on ports of its own): over TLS with a
//! password and a private CA (`rediss://`, `--redis-ca`), and through Redis
//! Sentinel across a failover — the counters land in the Redis the
//! Sentinels name, before and after.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::json;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// A `redis-server` (or Sentinel) of the test's own, killed when dropped.
struct OwnRedis {
    child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).map(|d| d.join("redis-server")).find(|p| p.is_file());
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "redis-server is needed under CI");
        eprintln!("no redis-server: skipping");
    }
    found
}

impl OwnRedis {
    /// Starts `redis-server` with `args` (a config file first, if any) in `dir`, on a port of its own unless `args` name one.
    fn start(bin: &Path, dir: &Path, port: u16, args: &[&str]) -> Self {
        let child = Command::new(bin)
            .args(args)
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .args(["--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on {port}");
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis { child }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A MOCK API with a throttle of 1000 calls a minute, published and bound; returns the host to call.
async fn throttled_api(s: &Server) -> String {
    let g = s.group("redis_prod").await;
    let (status, api) = s
        .post("/apis", &json!({"group_id": g, "name": "counted", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/counted",
            "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "ok"}}))
        .await;
    assert_eq!(status, 201, "{api}");
    let (status, published) = s.post(&format!("/apis/publish/{}", api["id"].as_str().unwrap()), &json!({"env_id": RELEASE})).await;
    assert_eq!(status, 201, "{published}");
    let publish_id = published["publish_id"].as_str().unwrap().to_string();
    let (status, t) = s.post("/throttles", &json!({"name": "many", "api_call_limits": 1000, "time_interval": 1, "time_unit": "MINUTE"})).await;
    assert_eq!(status, 201, "{t}");
    let (status, b) = s.post("/throttle-bindings", &json!({"strategy_id": t["id"], "publish_ids": [publish_id]})).await;
    assert_eq!(status, 201, "{b}");
    let host = Server::group_host(&g);
    s.eventually("GET", &host, "/counted", &[("X-Apig-Mode", "debug")], |c| c.header("x-apig-ratelimit-api").contains("limit:1000")).await;
    host
}

/// The calls counted in a Redis: the sum of Causeway's throttle counters.
fn counted(client: &redis::Client) -> i64 {
    let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else { return -1 };
    let keys: Vec<String> = redis::cmd("KEYS").arg("causeway:throttle:*").query(&mut conn).unwrap_or_default();
    keys.iter().map(|k| redis::cmd("GET").arg(k).query::<Option<i64>>(&mut conn).ok().flatten().unwrap_or(0)).sum()
}

async fn fallbacks(s: &Server) -> f64 {
    let metrics = s.http.get(format!("{}/metrics", s.admin)).send().await.unwrap().text().await.unwrap();
    metrics.lines().find(|l| l.starts_with("causeway_throttle_redis_fallbacks_total")).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn throttling_counts_in_redis_over_tls_with_a_password() {
    let Some(bin) = redis_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ca = common::tls::Ca::new("Redis test CA");
    let (chain, key, _) = ca.issue(&["localhost"], -1, 30);
    let (cert_file, key_file) = (dir.path().join("redis.crt"), dir.path().join("redis.key"));
    std::fs::write(&cert_file, chain).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let ca_file = ca.write(dir.path());
    let port = free_port();
    let _redis = OwnRedis::start(
        &bin,
        dir.path(),
        port,
        &["--port", "0", "--tls-port", &port.to_string(), "--tls-cert-file", cert_file.to_str().unwrap(), "--tls-key-file", key_file.to_str().unwrap(),
          "--tls-ca-cert-file", &ca_file, "--tls-auth-clients", "no", "--requirepass", "s3cret"],
    );
    let url = format!("rediss://:s3cret@localhost:{port}");
    let s = Server::start_with(common::Backend::Sqlite, &["--redis", &url, "--redis-ca", &ca_file]).await;
    let host = throttled_api(&s).await;
    for _ in 0..5 {
        assert_eq!(s.call_gateway("GET", &host, "/counted", &[]).await.status, 200);
    }
    let client = redis::Client::build_with_tls(url.as_str(), redis::TlsCertificates { client_tls: None, root_cert: Some(ca.pem.as_bytes().to_vec()) }).unwrap();
    // The debug calls above count too: at least the five, all in Redis, none on the node.
    assert!(counted(&client) >= 5, "counted in Redis: {}", counted(&client));
    assert_eq!(fallbacks(&s).await, 0.0, "nothing counted on the node");

    // A wrong password: the node counts on its own and says so, it never fails calls.
    let wrong = format!("rediss://:wrong@localhost:{port}");
    let other = Server::start_with(common::Backend::Sqlite, &["--redis", &wrong, "--redis-ca", &ca_file]).await;
    let host = throttled_api(&other).await;
    assert_eq!(other.call_gateway("GET", &host, "/counted", &[]).await.status, 200);
    assert!(fallbacks(&other).await > 0.0);
}

#[tokio::test]
async fn throttling_follows_the_primary_sentinel_names_across_a_failover() {
    let Some(bin) = redis_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (free_port(), free_port(), free_port());
    let (pa, pb) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&pa).unwrap();
    std::fs::create_dir_all(&pb).unwrap();
    let _primary = OwnRedis::start(&bin, &pa, a, &["--port", &a.to_string()]);
    let _replica = OwnRedis::start(&bin, &pb, b, &["--port", &b.to_string(), "--replicaof", "127.0.0.1", &a.to_string()]);
    let conf = dir.path().join("sentinel.conf");
    std::fs::write(
        &conf,
        format!("port {c}\nsentinel monitor causeway 127.0.0.1 {a} 1\nsentinel down-after-milliseconds causeway 1000\nsentinel failover-timeout causeway 3000\n"),
    )
    .unwrap();
    let _sentinel = OwnRedis::start(&bin, dir.path(), c, &[conf.to_str().unwrap(), "--sentinel"]);
    let on = |port: u16| redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
    let sentinel = on(c);
    // The Sentinel knows the replica before it can fail over to it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let known = sentinel.get_connection().ok().and_then(|mut conn| redis::cmd("SENTINEL").arg("REPLICAS").arg("causeway").query::<Vec<redis::Value>>(&mut conn).ok());
        if known.is_some_and(|r| !r.is_empty()) {
            break;
        }
        assert!(Instant::now() < deadline, "the Sentinel never saw the replica");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let s = Server::start_with(common::Backend::Sqlite, &["--redis", &format!("redis-sentinel://127.0.0.1:{c}/causeway")]).await;
    let host = throttled_api(&s).await;
    for _ in 0..5 {
        assert_eq!(s.call_gateway("GET", &host, "/counted", &[]).await.status, 200);
    }
    let before = counted(&on(a));
    assert!(before >= 5, "counted on the primary: {before}");

    // The Sentinel promotes the replica (once it finds it fit: in sync, and seen lately).
    let mut conn = sentinel.get_connection().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match redis::cmd("SENTINEL").arg("FAILOVER").arg("causeway").query::<()>(&mut conn) {
            Ok(()) => break,
            Err(e) => assert!(Instant::now() < deadline, "no failover: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let primary: Vec<String> = redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg("causeway").query(&mut conn).unwrap_or_default();
        if primary.get(1).is_some_and(|p| *p == b.to_string()) {
            break;
        }
        assert!(Instant::now() < deadline, "no failover: {primary:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Calls never fail; within seconds they are counted on the new primary.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert_eq!(s.call_gateway("GET", &host, "/counted", &[]).await.status, 200);
        if counted(&on(b)) >= before + 3 {
            break;
        }
        assert!(Instant::now() < deadline, "never counted on the new primary: {} there, {before} before", counted(&on(b)));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
