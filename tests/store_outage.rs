//! A PostgreSQL outage under load, with a PostgreSQL the test starts and
//! stops itself (`initdb`/`pg_ctl` in a temporary directory, on its own
//! port): the data plane keeps serving every request, management writes
//! answer `503 APIG.9998` within seconds instead of hanging, and once the
//! database is back everything resumes by itself — writes succeed and a
//! publish reaches every gateway. A gateway node restarted during the
//! outage serves from the snapshot it saved in its data directory.

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Backend, Server};
use serde_json::json;

/// A PostgreSQL server of the test's own.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// Where `initdb` and `pg_ctl` are (PATH, or Debian's versioned directory).
fn postgres_bin() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").into_iter().flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.filter_map(|e| Some(e.ok()?.path().join("bin"))).filter(|b| b.join("initdb").is_file()).collect();
        versions.sort();
        versions.pop()
    })
}

impl OwnPostgres {
    fn start() -> Option<Self> {
        let Some(bin) = postgres_bin() else {
            assert!(std::env::var_os("CI").is_none(), "initdb and pg_ctl are needed under CI");
            eprintln!("no initdb/pg_ctl: skipping");
            return None;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let pg = OwnPostgres { dir, bin, port };
        // PostgreSQL will not run as root: the server runs as `postgres` then.
        if is_root() {
            assert!(Command::new("chown").args(["-R", "postgres", pg.dir.path().to_str().unwrap()]).status().unwrap().success());
        }
        let data = pg.data();
        pg.run("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        pg.start_again();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = cmd.args(args).output().unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(out.status.success(), "{tool} {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }

    fn start_again(&self) {
        let options = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("postgres.log");
        self.run("pg_ctl", &["-D", self.data().to_str().unwrap(), "-o", &options, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", self.data().to_str().unwrap(), "-m", "immediate", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("pg_ctl")).args(["-D", self.data().to_str().unwrap_or_default(), "-m", "immediate", "stop"]).output();
        if is_root() {
            let _ = Command::new("runuser").args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl")).args(["-D", self.data().to_str().unwrap_or_default(), "-m", "immediate", "stop"]).output();
        }
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_under_load_fails_no_request_and_heals_by_itself() {
    let Some(pg) = OwnPostgres::start() else { return };
    let s = Server::start_with(Backend::Shared(pg.url()), &[]).await;
    let g = s.group("outage").await;
    let host = Server::group_host(&g);
    let api = |name: &str, path: &str| json!({"group_id": g, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": path,
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": name}});
    s.create_and_publish(&api("steady", "/steady"), "DEFAULT_ENVIRONMENT_RELEASE_ID").await;
    assert_eq!(s.call_gateway("GET", &host, "/steady", &[]).await.status, 200);
    // A second, gateway-only node: it saves what it serves in its data directory.
    let mut gw = s.start_sharing(&["--role", "gateway"]).await;
    assert_eq!(gw.call_gateway("GET", &host, "/steady", &[]).await.status, 200);
    let saved = gw.data_dir.path().join("published-snapshot.sealed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !saved.is_file() {
        assert!(Instant::now() < deadline, "no snapshot saved in {}", saved.display());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Constant load on the data plane, new connections and kept-alive ones.
    let (ok, failed, running) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(true)));
    let mut load = Vec::new();
    for fresh in [false, true] {
        let (ok, failed, running, gateway, host) = (ok.clone(), failed.clone(), running.clone(), s.gateway.clone(), host.clone());
        load.push(tokio::spawn(async move {
            let kept = reqwest::Client::new();
            while running.load(Ordering::Relaxed) {
                let client = if fresh { reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap() } else { kept.clone() };
                match client.get(format!("{gateway}/steady")).header("Host", &host).send().await {
                    Ok(r) if r.status() == 200 => ok.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    pg.stop();
    // Management writes are answered quickly with what happened.
    let asked = Instant::now();
    let (status, body) = s.post("/api-groups", &json!({"name": "during_outage"})).await;
    let took = asked.elapsed();
    assert_eq!((status, body["error_code"].as_str()), (503, Some("APIG.9998")), "{body}");
    assert!(took < Duration::from_secs(5), "answered after {took:?}");
    let before = ok.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(ok.load(Ordering::Relaxed) > before + 20, "the data plane kept serving");

    // The gateway node restarted while the database is down starts from its saved snapshot.
    gw.restart();
    let called = gw.call_gateway("GET", &host, "/steady", &[]).await;
    assert_eq!((called.status, called.body.as_str()), (200, "steady"), "served from the saved snapshot");

    pg.start_again();
    // Writes succeed again by themselves, and a publish reaches the gateway.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = s.post("/api-groups", &json!({"name": "after_outage"})).await;
        if status == 201 {
            break;
        }
        assert!(Instant::now() < deadline, "writes never resumed: {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    s.create_and_publish(&api("later", "/later"), "DEFAULT_ENVIRONMENT_RELEASE_ID").await;
    s.eventually("GET", &host, "/later", &[], |c| c.status == 200).await;
    gw.eventually("GET", &host, "/later", &[], |c| c.status == 200).await;

    running.store(false, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed data-plane requests ({} served)", ok.load(Ordering::Relaxed));
}
