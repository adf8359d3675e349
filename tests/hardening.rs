//! Hostile clients against the real listeners: slow headers and bodies,
//! connection caps, oversized requests, HTTP/2 floods and rapid reset,
//! request smuggling. Each test asserts what the client sees (a status, a
//! closed connection) and, where it matters, that nothing reached the backend.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::Server;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A backend that counts the requests it gets and answers each after reading its whole body.
struct Counting {
    addr: std::net::SocketAddr,
    requests: Arc<AtomicUsize>,
    /// Requests whose body was read whole.
    completed: Arc<AtomicUsize>,
    /// The names of every header received.
    header_names: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Counting {
    async fn start() -> Self {
        use http_body_util::BodyExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let completed = Arc::new(AtomicUsize::new(0));
        let header_names = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (counted, done, names) = (requests.clone(), completed.clone(), header_names.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (counted, done, names) = (counted.clone(), done.clone(), names.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (counted, done, names) = (counted.clone(), done.clone(), names.clone());
                        async move {
                            counted.fetch_add(1, Ordering::SeqCst);
                            names.lock().unwrap().extend(req.headers().keys().map(|k| k.to_string()));
                            let read = match req.into_body().collect().await {
                                Ok(body) => {
                                    done.fetch_add(1, Ordering::SeqCst);
                                    body.to_bytes().len()
                                }
                                Err(_) => 0,
                            };
                            Ok::<_, hyper::Error>(hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(format!("read {read}")))))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
                });
            }
        });
        Counting { addr, requests, completed, header_names }
    }

    fn count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn completed(&self) -> usize {
        self.completed.load(Ordering::SeqCst)
    }
}

fn gateway_addr(server: &Server) -> String {
    server.gateway.trim_start_matches("http://").to_string()
}

/// A group with a MOCK API at `/ok` and an HTTP API at `/up` (to `backend`), published; its host.
async fn published(server: &Server, backend: &Counting) -> String {
    let g = server.group("hardening").await;
    let mock = json!({
        "group_id": g, "name": "mocked", "type": 1, "req_protocol": "HTTP", "req_method": "ANY", "req_uri": "/ok",
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "fine", "status_code": 200}
    });
    let http = json!({
        "group_id": g, "name": "proxied", "type": 1, "req_protocol": "HTTP", "req_method": "ANY", "req_uri": "/up",
        "auth_type": "NONE", "backend_type": "HTTP",
        "backend_api": {"url_domain": backend.addr.to_string(), "req_protocol": "HTTP", "req_method": "POST", "req_uri": "/in", "timeout": 30000}
    });
    server.create_and_publish(&mock, RELEASE).await;
    server.create_and_publish(&http, RELEASE).await;
    let host = Server::group_host(&g);
    server.eventually("GET", &host, "/ok", &[], |c| c.status == 200).await;
    server.eventually("POST", &host, "/up", &[], |c| c.status == 200).await;
    host
}

/// Sends `raw` on a new connection and reads until the server closes it (or 10 s pass).
async fn exchange(addr: &str, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything: a failed write is part of the test.
    let _ = stream.write_all(raw).await;
    read_until_closed(&mut stream, Duration::from_secs(10)).await.unwrap_or_else(|| panic!("no answer within 10 s to {:?}", String::from_utf8_lossy(&raw[..raw.len().min(80)])))
}

/// What the server sends until it closes the connection; `None` if it is still open after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut answer = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await {
        Ok(_) => Some(String::from_utf8_lossy(&answer).into_owned()),
        Err(_) => None,
    }
}

fn status_of(answer: &str) -> u16 {
    answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

async fn limit_hits(server: &Server, limit: &str) -> u64 {
    let text = server.http.get(format!("{}/metrics", server.admin)).send().await.unwrap().text().await.unwrap();
    let series = format!("causeway_limits_hit_total{{limit=\"{limit}\"}} ");
    text.lines().find_map(|l| l.strip_prefix(&series)).and_then(|n| n.trim().parse().ok()).unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

#[tokio::test]
async fn slow_headers_are_cut_off_while_other_clients_are_served() {
    let backend = Counting::start().await;
    let server = Server::start_with(common::Backend::Sqlite, &["--header-timeout", "2"]).await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);

    // 500 clients send half a request head, and then nothing more.
    let mut slow = Vec::new();
    for _ in 0..500 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream.write_all(format!("GET /ok HTTP/1.1\r\nHost: {host}\r\nX-Slow: ").as_bytes()).await.unwrap();
        slow.push(stream);
    }
    // Meanwhile a normal client keeps being served.
    let started = Instant::now();
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(3) {
        let c = server.call_gateway("GET", &host, "/ok", &[]).await;
        assert_eq!(c.status, 200, "{}", c.body);
        served += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served > 10, "only {served} calls served");
    // Every slow connection is closed (with no answer) once its header time is up.
    let closing = slow.iter_mut().map(|s| read_until_closed(s, Duration::from_secs(20)));
    for answer in futures_util::future::join_all(closing).await {
        assert_eq!(answer.as_deref(), Some(""), "a slow connection was answered or left open");
    }
    assert!(limit_hits(&server, "header_timeout").await >= 500);
    // The same holds on the admin listener.
    let mut admin = TcpStream::connect(server.admin.trim_start_matches("http://")).await.unwrap();
    admin.write_all(b"GET /v1.0/apigw/api-groups HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    assert_eq!(read_until_closed(&mut admin, Duration::from_secs(20)).await.as_deref(), Some(""));
}

/// A connection from `source` (a loopback address) with one request answered on it, kept open.
async fn open_from(source: &str, addr: &str, host: &str) -> Option<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    let mut stream = socket.connect(addr.parse().unwrap()).await.unwrap();
    stream.write_all(format!("GET /ok HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await.ok()?;
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.ok()?.ok()?;
    (n > 0 && status_of(&String::from_utf8_lossy(&buf[..n])) == 200).then_some(stream)
}

#[tokio::test]
async fn connection_caps_hold_per_node_and_per_address() {
    let backend = Counting::start().await;
    let server = Server::start_with(common::Backend::Sqlite, &["--max-connections", "12", "--max-connections-per-address", "6"]).await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);
    // The test's own client keeps pooled connections from 127.0.0.1, so the caps are tried from other addresses.
    let mut from_2 = Vec::new();
    for _ in 0..6 {
        from_2.push(open_from("127.0.0.2", &addr, &host).await.expect("six connections from one address are served"));
    }
    // A seventh from the same address is closed unanswered; another address is still welcome.
    assert!(open_from("127.0.0.2", &addr, &host).await.is_none(), "the per-address cap let a 7th connection in");
    let mut from_3 = Vec::new();
    while from_3.len() < 6 {
        match open_from("127.0.0.3", &addr, &host).await {
            Some(s) => from_3.push(s),
            None => break,
        }
    }
    assert!(!from_3.is_empty(), "another address is served");
    // Twelve open (with the pooled ones): the node is full for everyone.
    assert!(open_from("127.0.0.4", &addr, &host).await.is_none(), "the node cap let a 13th connection in");
    assert!(limit_hits(&server, "max_connections_per_address").await >= 1);
    assert!(limit_hits(&server, "max_connections").await >= 1);
    // A closed connection frees its place.
    drop(from_2.pop());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if open_from("127.0.0.2", &addr, &host).await.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "a freed place was never given again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn each_size_limit_answers_its_status() {
    let backend = Counting::start().await;
    let server = Server::start().await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);
    let before = backend.count();

    // A request target over 8 KiB: 414 with the gateway's error body.
    let long = format!("/up?q={}", "a".repeat(8200));
    let answer = exchange(&addr, format!("GET {long} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await;
    assert_eq!(status_of(&answer), 414, "{answer}");
    assert!(answer.contains("APIG.0201"), "{answer}");
    // A request head over 32 KiB: 431.
    let big = format!("GET /up HTTP/1.1\r\nHost: {host}\r\nX-Big: {}\r\n\r\n", "b".repeat(33 << 10));
    assert_eq!(status_of(&exchange(&addr, big.as_bytes()).await), 431);
    // More than 100 header fields: 431.
    let many: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
    let answer = exchange(&addr, format!("GET /up HTTP/1.1\r\nHost: {host}\r\n{many}\r\n").as_bytes()).await;
    assert_eq!(status_of(&answer), 431, "{answer}");
    // A body declared over 12 MiB: 413 before it is read.
    let answer = exchange(&addr, format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", (12 << 20) + 1).as_bytes()).await;
    assert_eq!(status_of(&answer), 413, "{answer}");
    assert_eq!(backend.count(), before, "nothing over a limit reached the backend");

    // A chunked body that grows past 12 MiB while it is streamed to the backend: 413.
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream.write_all(format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let chunk = format!("100000\r\n{}\r\n", "c".repeat(1 << 20));
    for _ in 0..13 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let answer = read_until_closed(&mut stream, Duration::from_secs(10)).await.expect("answered");
    assert_eq!(status_of(&answer), 413, "{answer}");

    // Within the limits the same API answers.
    let answer = exchange(&addr, format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello").as_bytes()).await;
    assert_eq!(status_of(&answer), 200, "{answer}");
    assert!(answer.ends_with("read 5"), "{answer}");
    assert!(limit_hits(&server, "max_uri_length").await >= 1);
    assert!(limit_hits(&server, "max_header_size").await >= 2);
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_and_the_body_size_is_configurable() {
    let backend = Counting::start().await;
    let server = Server::start_with(common::Backend::Sqlite, &["--body-timeout", "1", "--max-body-size", "1000"]).await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);
    // --max-body-size: declared or streamed, a body over it is 413; one at it passes.
    let post = |length: usize, chunked: bool| {
        let framing = if chunked { "Transfer-Encoding: chunked".to_string() } else { format!("Content-Length: {length}") };
        let body = if chunked { format!("{length:x}\r\n{}\r\n0\r\n\r\n", "x".repeat(length)) } else { "x".repeat(length) };
        format!("POST /up HTTP/1.1\r\nHost: {host}\r\n{framing}\r\nConnection: close\r\n\r\n{body}")
    };
    assert_eq!(status_of(&exchange(&addr, post(1001, false).as_bytes()).await), 413);
    assert_eq!(status_of(&exchange(&addr, post(1001, true).as_bytes()).await), 413);
    let answer = exchange(&addr, post(1000, true).as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("read 1000"), "{answer}");
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream.write_all(format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\nonly ten..").as_bytes()).await.unwrap();
    let answer = read_until_closed(&mut stream, Duration::from_secs(15)).await.expect("answered and closed");
    assert_eq!(status_of(&answer), 408, "{answer}");
    assert!(answer.contains("APIG.0201"), "{answer}");
    assert!(limit_hits(&server, "body_timeout").await >= 1);
}


// ---- HTTP/2 (h2c with prior knowledge), frame by frame ----

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK header block for `GET path` on `host` (static table entries and literals, no Huffman).
fn h2_request_block(host: &str, path: &str) -> Vec<u8> {
    let mut block = vec![0x82, 0x86]; // :method GET, :scheme http
    block.push(0x04); // :path, literal value without indexing
    block.push(path.len() as u8);
    block.extend_from_slice(path.as_bytes());
    block.push(0x01); // :authority
    block.push(host.len() as u8);
    block.extend_from_slice(host.as_bytes());
    block
}

/// A connection that has sent the client preface and an empty SETTINGS frame.
async fn h2_open(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(h2_frame(0x4, 0, 0, &[]));
    stream.write_all(&hello).await.unwrap();
    stream
}

/// The frame types the server sent until it closed the connection; `None` if still open after `wait`.
async fn h2_frames_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut bytes)).await.ok()?;
    let mut kinds = Vec::new();
    let mut rest = &bytes[..];
    while rest.len() >= 9 {
        let len = usize::from(rest[0]) << 16 | usize::from(rest[1]) << 8 | usize::from(rest[2]);
        kinds.push(rest[3]);
        rest = &rest[(9 + len).min(rest.len())..];
    }
    Some(kinds)
}

const GOAWAY: u8 = 0x7;

/// A well-behaved HTTP/2 client's calls keep being answered while `attack` runs.
async fn h2_served_during(addr: &str, host: &str, attack: impl std::future::Future<Output = ()>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(hyper_util::rt::TokioExecutor::new(), hyper_util::rt::TokioIo::new(stream)).await.expect("h2 handshake");
    tokio::spawn(conn);
    let uri = format!("http://{host}/ok");
    let calls = async {
        let mut served = 0;
        for _ in 0..40 {
            let req = hyper::Request::get(uri.as_str()).body(http_body_util::Empty::<bytes::Bytes>::new()).unwrap();
            let res = tokio::time::timeout(Duration::from_secs(5), sender.send_request(req)).await.expect("answered in time").expect("h2 call");
            assert_eq!(res.status(), 200);
            served += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        served
    };
    let (served, ()) = tokio::join!(calls, attack);
    assert_eq!(served, 40);
}

#[tokio::test]
async fn http2_rapid_reset_and_floods_close_the_connection_without_stalling_others() {
    let backend = Counting::start().await;
    let server = Server::start().await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);
    let block = h2_request_block(&host, "/ok");

    // Rapid reset (CVE-2023-44487): 1000 requests, each cancelled at once.
    let rapid_reset = async {
        let mut stream = h2_open(&addr).await;
        let mut burst = Vec::new();
        for i in 0..1000u32 {
            let id = 2 * i + 1;
            burst.extend(h2_frame(0x1, 0x5, id, &block)); // HEADERS, END_STREAM | END_HEADERS
            burst.extend(h2_frame(0x3, 0, id, &8u32.to_be_bytes())); // RST_STREAM CANCEL
        }
        let _ = stream.write_all(&burst).await;
        let frames = h2_frames_until_closed(&mut stream, Duration::from_secs(10)).await.expect("the connection is closed");
        assert!(frames.contains(&GOAWAY), "no GOAWAY before the close: {frames:?}");
    };
    h2_served_during(&addr, &host, rapid_reset).await;
    assert!(limit_hits(&server, "http2_protocol").await >= 1);

    // CONTINUATION flood: a header block that never ends.
    let continuation = async {
        let mut stream = h2_open(&addr).await;
        let _ = stream.write_all(&h2_frame(0x1, 0, 1, &block)).await; // HEADERS without END_HEADERS
        let mut literal = vec![0x00, 0x05];
        literal.extend_from_slice(b"x-pad");
        literal.push(100);
        literal.extend_from_slice(&[b'p'; 100]);
        let flood: Vec<u8> = (0..2000).flat_map(|_| h2_frame(0x9, 0, 1, &literal)).collect();
        let _ = stream.write_all(&flood).await;
        assert!(h2_frames_until_closed(&mut stream, Duration::from_secs(10)).await.is_some(), "the connection is closed");
    };
    h2_served_during(&addr, &host, continuation).await;

    // PING, SETTINGS and empty DATA frame floods (the last is also one of h2's own limits, whichever ends it first).
    let ping = h2_frame(0x6, 0, 0, &[0; 8]);
    let settings = h2_frame(0x4, 0, 0, &[]);
    let empty_data = h2_frame(0x0, 0, 1, &[]);
    for (name, frame) in [("PING", ping), ("SETTINGS", settings), ("empty DATA", empty_data)] {
        let hits = || async { limit_hits(&server, "http2_flood").await + limit_hits(&server, "http2_protocol").await };
        let before = hits().await;
        let flood = async {
            let mut stream = h2_open(&addr).await;
            // The empty DATA frames go to an open request.
            let _ = stream.write_all(&h2_frame(0x1, 0x4, 1, &h2_request_block(&host, "/up"))).await;
            let bytes: Vec<u8> = (0..5000).flat_map(|_| frame.clone()).collect();
            let _ = stream.write_all(&bytes).await;
            assert!(h2_frames_until_closed(&mut stream, Duration::from_secs(10)).await.is_some(), "a {name} flood did not close the connection");
        };
        h2_served_during(&addr, &host, flood).await;
        assert!(hits().await > before, "the {name} flood was not counted");
    }
}

#[tokio::test]
async fn idle_http2_connections_are_closed_after_the_header_timeout() {
    let backend = Counting::start().await;
    let server = Server::start_with(common::Backend::Sqlite, &["--header-timeout", "1"]).await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);
    // One request answered, then nothing: a GOAWAY and the close within twice the timeout.
    let mut stream = h2_open(&addr).await;
    stream.write_all(&h2_frame(0x1, 0x5, 1, &h2_request_block(&host, "/ok"))).await.unwrap();
    let started = Instant::now();
    let frames = h2_frames_until_closed(&mut stream, Duration::from_secs(10)).await.expect("the idle connection is closed");
    assert!(frames.contains(&0x1) && frames.contains(&GOAWAY), "answered, then GOAWAY: {frames:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "closed before the timeout");
    // A connection that never sends a request is closed the same way.
    let mut silent = h2_open(&addr).await;
    assert!(h2_frames_until_closed(&mut silent, Duration::from_secs(10)).await.is_some(), "the silent connection is closed");
}

// ---- Request smuggling and malformed requests (RFC 9112 §6.3, and the cases of the published smuggling suites) ----

#[tokio::test]
async fn smuggling_and_malformed_requests_are_refused_before_the_backend() {
    let backend = Counting::start().await;
    let server = Server::start().await;
    let host = published(&server, &backend).await;
    let addr = gateway_addr(&server);
    let smuggled = "GET /up HTTP/1.1\r\nHost: {host}\r\n\r\n";
    // Each is refused with 400 (by the gateway or its HTTP parser) and no request of it reaches the backend.
    let heads = [
        ("CL.TE", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}")),
        ("TE.CL", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n{smuggled}")),
        ("TE.CL, the names' case varied", format!("POST /up HTTP/1.1\r\nHost: {host}\r\ntransfer-ENCODING: chunked\r\ncontent-length: 3\r\n\r\n0\r\n\r\n")),
        ("differing Content-Lengths", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc{smuggled}")),
        ("a list of Content-Lengths", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: 3, 30\r\n\r\nabc")),
        ("a signed Content-Length", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length: +3\r\n\r\nabc")),
        ("a space before the colon", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nContent-Length : 3\r\n\r\nabc")),
        ("Transfer-Encoding not ending in chunked", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n")),
        ("an unknown Transfer-Encoding", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n")),
        ("a second Transfer-Encoding", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n")),
        ("Transfer-Encoding in HTTP/1.0", format!("POST /up HTTP/1.0\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")),
        ("obsolete line folding", format!("GET /up HTTP/1.1\r\nHost: {host}\r\nX-A: a\r\n folded\r\n\r\n")),
        ("a bare CR in a value", format!("GET /up HTTP/1.1\r\nHost: {host}\r\nX-A: a\rb\r\n\r\n")),
        ("a NUL in a value", format!("GET /up HTTP/1.1\r\nHost: {host}\r\nX-A: a\0b\r\n\r\n")),
        ("a NUL in a name", format!("GET /up HTTP/1.1\r\nHost: {host}\r\nX\0A: a\r\n\r\n")),
        ("an invalid method", format!("G(T /up HTTP/1.1\r\nHost: {host}\r\n\r\n")),
        ("a space in the target", format!("GET /up /x HTTP/1.1\r\nHost: {host}\r\n\r\n")),
        ("a control character in the target", format!("GET /up\x01 HTTP/1.1\r\nHost: {host}\r\n\r\n")),
        ("an unknown version", format!("GET /up HTTP/1.2x\r\nHost: {host}\r\n\r\n")),
        ("two Host headers", format!("GET /up HTTP/1.1\r\nHost: {host}\r\nHost: other.example\r\n\r\n")),
        ("a Host other than the target's", format!("GET http://other.example/up HTTP/1.1\r\nHost: {host}\r\n\r\n")),
        ("no Host in HTTP/1.1", "GET /up HTTP/1.1\r\nX-A: a\r\n\r\n".to_string()),
    ];
    for (case, raw) in &heads {
        let before = backend.count();
        let answer = exchange(&addr, raw.as_bytes()).await;
        assert_eq!(status_of(&answer), 400, "{case}: {answer:?}");
        assert_eq!(backend.count(), before, "{case} reached the backend");
    }
    // Bodies that break their chunked framing: 400, and the backend never gets a whole request.
    let bodies = [
        ("an invalid chunk size", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")),
        ("a chunk size that overflows", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n")),
        ("chunk data longer than its size", format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n")),
    ];
    for (case, raw) in &bodies {
        let before = backend.completed();
        let answer = exchange(&addr, raw.as_bytes()).await;
        assert_eq!(status_of(&answer), 400, "{case}: {answer:?}");
        assert_eq!(backend.completed(), before, "{case} reached the backend whole");
    }
    // An absolute target naming the request's host is served.
    let absolute = exchange(&addr, format!("GET http://{host}/ok HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await;
    assert!(absolute.starts_with("HTTP/1.1 200"), "{absolute}");
    // The same requests framed one way are served.
    let fine = exchange(&addr, format!("POST /up HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n").as_bytes()).await;
    assert!(fine.starts_with("HTTP/1.1 200") && fine.ends_with("read 5"), "{fine}");
}

#[tokio::test]
async fn parameter_values_cannot_inject_headers_into_the_backend_request() {
    let backend = Counting::start().await;
    let server = Server::start().await;
    let g = server.group("injection").await;
    let api = json!({
        "group_id": g, "name": "mapped", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/mapped/{id}",
        "auth_type": "NONE", "backend_type": "HTTP",
        "req_params": [{"name": "id", "type": "STRING", "location": "PATH"}, {"name": "q", "type": "STRING", "location": "QUERY"}],
        "backend_params": [
            {"name": "X-Q", "location": "HEADER", "origin": "REQUEST", "value": "q"},
            {"name": "X-Id", "location": "HEADER", "origin": "REQUEST", "value": "id"}
        ],
        "backend_api": {"url_domain": backend.addr.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/in", "timeout": 30000}
    });
    server.create_and_publish(&api, RELEASE).await;
    let host = Server::group_host(&g);
    server.eventually("GET", &host, "/mapped/1?q=fine", &[], |c| c.status == 200).await;
    let addr = gateway_addr(&server);
    for target in ["/mapped/1?q=a%0d%0aX-Injected:%20yes", "/mapped/1?q=a%0aX-Injected:%20yes", "/mapped/a%0d%0aX-Injected:%20yes?q=1", "/mapped/1?q=a%00b"] {
        let answer = exchange(&addr, format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes()).await;
        assert_eq!(status_of(&answer), 400, "{target}: {answer}");
        assert!(answer.contains("APIG.0201"), "{target}: {answer}");
    }
    assert!(!backend.header_names.lock().unwrap().iter().any(|n| n == "x-injected"), "a header was injected");
}

/// A backend that answers every request with the raw response named by its `x-defect` header.
async fn defective_backend() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_lowercase();
                let defect = head.lines().find_map(|l| l.strip_prefix("x-defect: ")).unwrap_or("none").trim().to_string();
                let answer: &[u8] = match defect.as_str() {
                    "cl-te" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                    "two-cl" => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                    "bad-cl" => b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\nhello",
                    "obs-fold" => b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5\r\n\r\nhello",
                    "bare-cr" => b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 5\r\n\r\nhello",
                    "nul" => b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 5\r\n\r\nhello",
                    "status" => b"HTTP/1.1 2x0 OK\r\nContent-Length: 5\r\n\r\nhello",
                    "te-1.0" => b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                    "bad-chunk" => b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\nmore\r\n0\r\n\r\n",
                    _ => b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                };
                let _ = stream.write_all(answer).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn backend_responses_framed_ambiguously_are_answered_502() {
    let server = Server::start().await;
    let backend = defective_backend().await;
    let g = server.group("defective").await;
    let api = json!({
        "group_id": g, "name": "defective", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/d",
        "auth_type": "NONE", "backend_type": "HTTP",
        "backend_api": {"url_domain": backend.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/", "timeout": 5000}
    });
    server.create_and_publish(&api, RELEASE).await;
    let host = Server::group_host(&g);
    let c = server.eventually("GET", &host, "/d", &[], |c| c.status == 200).await;
    assert_eq!(c.body, "hello");
    for defect in ["cl-te", "two-cl", "bad-cl", "obs-fold", "bare-cr", "nul", "status", "te-1.0"] {
        let c = server.call_gateway("GET", &host, "/d", &[("x-defect", defect)]).await;
        assert_eq!(c.status, 502, "{defect}: {}", c.body);
        assert!(!c.body.contains("hello"), "{defect}: {}", c.body);
    }
    // A body that breaks after the response started: the caller's response never ends as a whole one.
    let addr = gateway_addr(&server);
    let answer = exchange(&addr, format!("GET /d HTTP/1.1\r\nHost: {host}\r\nX-Defect: bad-chunk\r\n\r\n").as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains("more") && !answer.ends_with("0\r\n\r\n"), "a broken body was passed on as whole: {answer:?}");
}
