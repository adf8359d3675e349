//! Restarts and upgrades without a failed request: a new `causeway serve`
//! on the same data directory takes the running process's listening
//! sockets over (gateway, HTTPS and admin), and the old process drains —
//! under constant load, on kept-alive and new connections, ten times in a
//! row. A WebSocket connection open across a take-over keeps working until
//! the drain ends, then gets a clean close (1001). SIGTERM alone drains the
//! same way, refusing new connections.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{Server, echo::Echo};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// Counts of a load: answers as expected, and failures with what they were.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: Mutex<Vec<String>>,
}

impl Tally {
    fn ok(&self) -> u64 {
        self.ok.load(Ordering::Relaxed)
    }

    /// The first failures (and how many there were).
    fn failures(&self) -> Vec<String> {
        let failed = self.failed.lock().unwrap();
        let mut first: Vec<String> = failed.iter().take(10).cloned().collect();
        if failed.len() > 10 {
            first.push(format!("… {} in all", failed.len()));
        }
        first
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_take_overs_under_load_fail_no_request() {
    let backend = Echo::start().await;
    let mut s = Server::start_with(common::Backend::Sqlite, &["--drain-timeout", "5"]).await;
    let g = s.group("takeover").await;
    let host = Server::group_host(&g);
    s.create_and_publish(
        &json!({"group_id": g, "name": "proxied", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/proxied",
            "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": backend.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/echo", "timeout": 5000}}),
        RELEASE,
    )
    .await;
    let (gateway, admin, tls) = (s.gateway.clone(), s.admin.clone(), s.gateway_tls);
    assert_eq!(s.call_gateway("GET", &host, "/proxied", &[]).await.status, 200);

    // Constant load: kept-alive and new connections on the gateway (plain and HTTPS), and the admin API.
    let tally = Arc::new(Tally::default());
    let running = Arc::new(AtomicBool::new(true));
    let mut load = Vec::new();
    for fresh in [false, true] {
        load.push(tokio::spawn(https_load(tls, host.clone(), fresh, tally.clone(), running.clone())));
    }
    for (kind, fresh) in [("gateway", false), ("gateway", true), ("gateway", false), ("admin", false), ("admin", true)] {
        let (tally, running, host) = (tally.clone(), running.clone(), host.clone());
        let url = match kind {
            "gateway" => format!("{gateway}/proxied"),
            _ => format!("{admin}/v1.0/apigw/api-groups"),
        };
        load.push(tokio::spawn(async move {
            let builder = || reqwest::Client::builder().timeout(Duration::from_secs(10));
            let kept = builder().build().unwrap();
            while running.load(Ordering::Relaxed) {
                let client = if fresh { builder().pool_max_idle_per_host(0).build().unwrap() } else { kept.clone() };
                let req = if kind == "admin" { client.get(&url).header("X-Auth-Token", common::TOKEN) } else { client.get(&url).header("Host", &host) };
                match req.send().await {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(_) => tally.ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            tally.failed.lock().unwrap().push(format!("{kind}: body: {e:?}"));
                            0
                        }
                    },
                    Ok(r) => {
                        tally.failed.lock().unwrap().push(format!("{kind}: status {}", r.status()));
                        0
                    }
                    Err(e) => {
                        tally.failed.lock().unwrap().push(format!("{kind}: {e:?}"));
                        0
                    }
                };
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    for round in 1..=10 {
        let before = tally.ok();
        s.take_over(Duration::from_secs(15));
        // The same addresses: the sockets were handed over, not bound again.
        assert_eq!((s.gateway.as_str(), s.admin.as_str(), s.gateway_tls), (gateway.as_str(), admin.as_str(), tls), "round {round}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(tally.ok() > before + 20, "round {round}: served through the take-over");
        assert!(tally.failures().is_empty(), "round {round}: {:?}", tally.failures());
    }

    running.store(false, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    assert!(tally.failures().is_empty(), "failed requests: {:?} ({} served)", tally.failures(), tally.ok());
    // The node is still one node in the list, and up.
    let (_, nodes) = s.get("/nodes").await;
    let nodes = nodes["nodes"].as_array().cloned().unwrap_or_default();
    assert_eq!(nodes.len(), 1, "{nodes:?}");
    assert_eq!(nodes[0]["status"], "up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_websocket_open_across_a_take_over_is_closed_cleanly_when_the_drain_ends() {
    let backend = ws_echo().await;
    let mut s = Server::start_with(common::Backend::Sqlite, &["--drain-timeout", "2"]).await;
    let g = s.group("wstakeover").await;
    let host = Server::group_host(&g);
    s.create_and_publish(
        &json!({"group_id": g, "name": "chat", "type": 1, "req_protocol": "BOTH", "frontend_type": "WEBSOCKET",
            "req_method": "GET", "req_uri": "/chat", "auth_type": "NONE", "backend_type": "HTTP",
            "backend_api": {"url_domain": format!("ws://{backend}"), "req_method": "GET", "req_uri": "/chat", "timeout": 3000}}),
        RELEASE,
    )
    .await;
    let addr = s.gateway.trim_start_matches("http://").to_string();
    let mut req = format!("ws://{addr}/chat").into_client_request().unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(req, tokio::net::TcpStream::connect(&addr).await.unwrap()).await.expect("upgrade");
    ws.send(Message::text("before")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("before")));

    // The take-over returns once the old process has exited: run it beside the connection.
    let started = Instant::now();
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let taker = std::thread::spawn(move || {
        s.take_over(Duration::from_secs(10));
        let _ = done_tx.send(());
        s
    });
    // Still relayed by the draining process.
    tokio::time::sleep(Duration::from_millis(500)).await;
    ws.send(Message::text("during")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("during")));
    // When the drain ends: a close frame, 1001 going away.
    let closed = tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("a close frame when the drain ends");
    assert_eq!(closed.map(|f| f.code), Some(CloseCode::Away));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(1500), "the connection was given the drain timeout, closed after {waited:?}");
    done_rx.await.expect("the take-over finished");
    let s = taker.join().unwrap();

    // The new process serves WebSocket connections on the same address.
    let mut req = format!("ws://{addr}/chat").into_client_request().unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(req, tokio::net::TcpStream::connect(&addr).await.unwrap()).await.expect("upgrade after");
    ws.send(Message::text("after")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("after")));
    drop(s);
}

/// HTTPS requests, one after the other: on a kept-alive connection (a new
/// one when the gateway said `Connection: close` or closed it while idle),
/// or each on a new connection.
async fn https_load(addr: std::net::SocketAddr, host: String, fresh: bool, tally: Arc<Tally>, running: Arc<AtomicBool>) {
    use common::tls;
    let fail = |what: String| tally.failed.lock().unwrap().push(format!("https: {what}"));
    let mut kept: Option<tls::H1> = None;
    while running.load(Ordering::Relaxed) {
        let reusable = match kept.take() {
            Some(mut sender) => sender.ready().await.is_ok().then_some(sender),
            None => None,
        };
        let mut sender = match reusable {
            Some(sender) => sender,
            None => match tls::connect(addr, Some(&host), tls::any_cert(&[b"http/1.1"])).await {
                Ok(stream) => tls::http1(stream).await,
                Err(e) => {
                    fail(format!("connect: {e}"));
                    continue;
                }
            },
        };
        match sender.send_request(tls::request("GET", &host, "/proxied", &[])).await {
            Ok(res) => {
                let closing = res.headers().get("connection").is_some_and(|v| v == "close");
                let answer = tls::answer(res).await;
                if answer.status == 200 {
                    tally.ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    fail(format!("status {}", answer.status));
                }
                if !fresh && !closing {
                    kept = Some(sender);
                }
            }
            Err(e) => fail(format!("{e:?}")),
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_alone_drains_finishing_what_is_in_flight() {
    let backend = Echo::start().await;
    let mut s = Server::start_with(common::Backend::Sqlite, &["--drain-timeout", "5"]).await;
    let g = s.group("sigterm").await;
    let host = Server::group_host(&g);
    for (name, path, backend_path) in [("slow", "/slow", "/slow/1500"), ("fast", "/fast", "/echo")] {
        s.create_and_publish(
            &json!({"group_id": g, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": path,
                "auth_type": "NONE", "backend_type": "HTTP",
                "backend_api": {"url_domain": backend.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": backend_path, "timeout": 5000}}),
            RELEASE,
        )
        .await;
    }
    let client = reqwest::Client::new();
    let gateway = s.gateway.clone();
    let (admin, call) = (s.admin.clone(), |path: &str| client.get(format!("{gateway}{path}")).header("Host", &host).send());
    assert_eq!(call("/fast").await.unwrap().status(), 200);
    // Before: ready.
    assert_eq!(reqwest::get(format!("{admin}/readyz")).await.unwrap().status(), 200);
    let slow = tokio::spawn(call("/slow"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.signal("TERM");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused at once; the request in flight gets its answer, saying the connection closes.
    let addr = gateway.trim_start_matches("http://").to_string();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "new connections refused while draining");
    let answer = slow.await.unwrap().expect("the request in flight is answered");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));
    s.stop();
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn next(ws: &mut Ws) -> Option<Message> {
    tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an answer within 5 s").and_then(Result::ok)
}

/// A WebSocket backend that echoes messages.
async fn ws_echo() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(msg)) = ws.next().await {
                    if (msg.is_text() || msg.is_binary()) && ws.send(msg).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}
