//! WebSocket APIs end to end: a real WebSocket backend (plain and over TLS),
//! real clients over ws:// and wss://, the pipeline's stages on the upgrade,
//! and the connection's life: echo, ping/pong, close, a backend that goes
//! away, idle and message-size limits.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Server, assert_error, tls as client};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

/// What the backend saw on the upgrade request.
#[derive(Debug, Default, Clone)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A WebSocket backend: echoes messages; `bye` makes it drop the connection
/// without a close frame; upgrades to `/refused` are answered 403.
struct WsBackend {
    addr: std::net::SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl WsBackend {
    async fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (record, tls) = (record.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        None => serve_ws(stream, record).await,
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_ws(stream, record).await
                            }
                        }
                    }
                });
            }
        });
        WsBackend { addr, seen }
    }

    fn last(&self) -> Seen {
        self.seen.lock().unwrap().last().cloned().unwrap_or_default()
    }
}

// The library's callback type returns its (large) error response by value.
#[allow(clippy::result_large_err)]
async fn serve_ws<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(stream: S, record: Arc<Mutex<Vec<Seen>>>) {
    let callback = |req: &tokio_tungstenite::tungstenite::handshake::server::Request, res| {
        let headers = req.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string())).collect();
        record.lock().unwrap().push(Seen { path: req.uri().to_string(), headers });
        if req.uri().path() == "/refused" {
            let mut refusal = tokio_tungstenite::tungstenite::handshake::server::ErrorResponse::new(Some("not for you".into()));
            *refusal.status_mut() = http::StatusCode::FORBIDDEN;
            return Err(refusal);
        }
        Ok(res)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else { return };
    while let Some(Ok(msg)) = ws.next().await {
        // Pings are answered by the library; a close is answered and ends the loop.
        let echo = match &msg {
            Message::Text(t) if t.as_str() == "bye" => return, // dropped: no close frame
            Message::Text(_) | Message::Binary(_) => true,
            _ => false,
        };
        if echo && ws.send(msg).await.is_err() {
            return;
        }
    }
}

fn ws_api(group: &str, name: &str, path: &str, url_domain: &str, extra: Value) -> Value {
    let mut api = json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "frontend_type": "WEBSOCKET",
      "req_method": "GET", "req_uri": path, "auth_type": "NONE", "backend_type": "HTTP",
      "backend_api": {"url_domain": url_domain, "req_method": "GET", "req_uri": path, "timeout": 3000}
    });
    for (k, v) in extra.as_object().unwrap() {
        api[k] = v.clone();
    }
    api
}

type Ws<S> = tokio_tungstenite::WebSocketStream<S>;

/// Opens `ws://<host><path>` on the gateway's plain listener.
async fn open(s: &Server, host: &str, path: &str, headers: &[(&str, &str)]) -> Result<Ws<TcpStream>, tokio_tungstenite::tungstenite::Error> {
    let addr = s.gateway.trim_start_matches("http://");
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    for (k, v) in headers {
        req.headers_mut().insert(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
    }
    let tcp = TcpStream::connect(addr).await.unwrap();
    tokio_tungstenite::client_async(req, tcp).await.map(|(ws, _)| ws)
}

/// The refused upgrade's status and body.
fn refusal(e: tokio_tungstenite::tungstenite::Error) -> (u16, Value) {
    match e {
        tokio_tungstenite::tungstenite::Error::Http(res) => {
            let body = res.body().as_ref().map(|b| String::from_utf8_lossy(b).to_string()).unwrap_or_default();
            (res.status().as_u16(), serde_json::from_str(&body).unwrap_or(Value::String(body)))
        }
        other => panic!("expected an HTTP refusal, got {other:?}"),
    }
}

async fn next<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(ws: &mut Ws<S>) -> Option<Message> {
    tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("an answer within 5 s").and_then(Result::ok)
}

#[tokio::test]
async fn messages_pings_and_close_pass_through_after_authentication() {
    let backend = WsBackend::start(None).await;
    let s = Server::start().await;
    let g = s.group("chat").await;
    let host = Server::group_host(&g);
    let mut api = ws_api(&g, "chat_ws", "/chat/{room}", &format!("ws://{}", backend.addr), json!({
        "auth_type": "APP", "auth_opt": {"app_code_auth_type": "HEADER"},
        "req_params": [{"name": "room", "type": "STRING", "location": "PATH"}],
        "backend_params": [{"name": "room", "location": "PATH", "origin": "REQUEST", "value": "room"},
                           {"name": "X-Gateway", "location": "HEADER", "origin": "CONSTANT", "value": "causeway"}]
    }));
    api["backend_api"]["req_uri"] = json!("/rooms/{room}");
    let api_id = s.create_and_publish(&api, RELEASE).await;
    let (_, stored) = s.get(&format!("/apis/{api_id}")).await;
    assert_eq!(stored["frontend_type"], "WEBSOCKET");
    assert_eq!((stored["backend_api"]["url_domain"].as_str(), stored["backend_api"]["req_protocol"].as_str()), (Some(backend.addr.to_string().as_str()), Some("HTTP")));
    let (_, app) = s.post("/apps", &json!({"name": "chatter"})).await;
    let app_id = app["id"].as_str().unwrap();
    assert_eq!(s.post("/app-auths", &json!({"api_ids": [api_id], "app_ids": [app_id], "env_id": RELEASE})).await.0, 201);
    let (_, code) = s.call("PUT", &format!("/apps/{app_id}/app-codes"), None).await;
    let code = code["app_code"].as_str().unwrap().to_string();

    // Authentication runs on the upgrade: without credentials the handshake is refused.
    let (status, body) = refusal(open(&s, &host, "/chat/lobby", &[]).await.unwrap_err());
    assert_eq!((status, body["error_code"].as_str()), (401, Some("APIG.0303")), "{body}");

    // wss:// (AppCodes travel over HTTPS only), with the AppCode.
    let tls = client::connect(s.gateway_tls, Some(&host), client::any_cert(&[b"http/1.1"])).await.unwrap();
    let mut req = format!("wss://{host}/chat/lobby").into_client_request().unwrap();
    req.headers_mut().insert("x-apig-appcode", code.parse().unwrap());
    let (mut ws, res) = tokio_tungstenite::client_async(req, tls).await.expect("upgrade through the gateway");
    assert_eq!(res.status(), 101);
    assert_eq!(res.headers()["x-request-id"].len(), 32);
    let seen = backend.last();
    assert_eq!(seen.path, "/rooms/lobby", "the path is mapped");
    assert_eq!(seen.header("x-gateway"), Some("causeway"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("upgrade"), Some("websocket"));

    ws.send(Message::text("hello")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("hello")));
    let blob: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    ws.send(Message::binary(blob.clone())).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::binary(blob)));
    ws.send(Message::Ping("are you there".into())).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::Pong("are you there".into())));
    // The close handshake is the peers' own: the backend's close comes back.
    ws.send(Message::Close(Some(CloseFrame { code: CloseCode::Normal, reason: "done".into() }))).await.unwrap();
    match next(&mut ws).await {
        Some(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Normal),
        other => panic!("expected the backend's close, got {other:?}"),
    }
    assert!(next(&mut ws).await.is_none(), "closed after the handshake");
}

#[tokio::test]
async fn the_frontend_type_decides_what_a_request_may_be() {
    let backend = WsBackend::start(None).await;
    let s = Server::start().await;
    let g = s.group("kinds").await;
    let host = Server::group_host(&g);
    s.create_and_publish(&ws_api(&g, "live", "/live", &backend.addr.to_string(), json!({"backend_api": {"url_domain": backend.addr.to_string(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/live", "timeout": 3000}})), RELEASE).await;
    s.create_and_publish(&json!({
      "group_id": g, "name": "plain", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/plain",
      "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "plain"}
    }), RELEASE).await;
    s.create_and_publish(&ws_api(&g, "refusing", "/refused", &format!("ws://{}", backend.addr), json!({})), RELEASE).await;

    let plain = s.eventually("GET", &host, "/live", &[], |c| c.status != 404).await;
    assert_eq!(plain.status, 400, "{}", plain.body);
    assert_eq!(plain.json()["error_code"], "APIG.0201");
    assert!(plain.body.contains("WebSocket connections only"), "{}", plain.body);
    let (status, body) = refusal(open(&s, &host, "/plain", &[]).await.unwrap_err());
    assert_eq!(status, 400, "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("does not accept WebSocket"), "{body}");
    // A backend that refuses the upgrade: its answer reaches the caller.
    // (The client reads the body as sent: chunked, since the backend gave no length.)
    let (status, body) = refusal(open(&s, &host, "/refused", &[]).await.unwrap_err());
    assert_eq!(status, 403);
    assert!(body.as_str().unwrap().contains("not for you"), "{body}");
    assert!(open(&s, &host, "/live", &[]).await.is_ok());

    // Definitions: a WebSocket frontend needs an HTTP backend and a GET; ws:// and wss:// name the backend's protocol.
    let mock = json!({"group_id": g, "name": "ws_mock", "type": 1, "frontend_type": "WEBSOCKET", "req_method": "GET", "req_uri": "/m",
        "auth_type": "NONE", "backend_type": "MOCK", "mock_info": {"result_content": "x"}});
    assert_error(&s.post("/apis", &mock).await, 400, "APIG.2011", Some("backend_type"));
    let mut post = ws_api(&g, "ws_post", "/p", "ws://127.0.0.1:9", json!({}));
    post["req_method"] = json!("POST");
    assert_error(&s.post("/apis", &post).await, 400, "APIG.2011", Some("req_method"));
    let mut mixed = ws_api(&g, "ws_mixed", "/x", "wss://127.0.0.1:9", json!({}));
    mixed["backend_api"]["req_protocol"] = json!("HTTP");
    assert_error(&s.post("/apis", &mixed).await, 400, "APIG.2011", Some("backend_api.req_protocol"));
    let mut bad = ws_api(&g, "ws_bad", "/b", "ws://", json!({}));
    bad["frontend_type"] = json!("SOCKET");
    assert_error(&s.post("/apis", &bad).await, 400, "APIG.2011", Some("frontend_type"));
}

#[tokio::test]
async fn backends_that_go_away_idle_connections_and_oversized_messages() {
    let backend = WsBackend::start(None).await;
    let logs = tempfile::tempdir().unwrap();
    let log_file = logs.path().join("access.log");
    let s = Server::start_with(
        common::Backend::Sqlite,
        &["--websocket-idle-timeout", "1", "--websocket-max-message", "1000", "--access-log", log_file.to_str().unwrap()],
    )
    .await;
    let g = s.group("limits").await;
    let host = Server::group_host(&g);
    s.create_and_publish(&ws_api(&g, "limited", "/ws", &format!("ws://{}", backend.addr), json!({})), RELEASE).await;
    s.eventually("GET", &host, "/ws", &[], |c| c.status != 404).await;

    // The backend drops the connection mid-stream: the caller's ends too.
    let mut ws = open(&s, &host, "/ws", &[]).await.unwrap();
    ws.send(Message::text("first")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("first")));
    ws.send(Message::text("bye")).await.unwrap();
    assert!(next(&mut ws).await.is_none(), "the caller's connection ends with the backend's");

    // Quiet for longer than the idle timeout: closed with 1001 (going away).
    let mut ws = open(&s, &host, "/ws", &[]).await.unwrap();
    ws.send(Message::text("then silence")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("then silence")));
    match next(&mut ws).await {
        Some(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Away),
        other => panic!("expected a 1001 close, got {other:?}"),
    }

    // A message over the limit (in fragments or whole): closed with 1009 (too big); smaller ones pass.
    let mut ws = open(&s, &host, "/ws", &[]).await.unwrap();
    ws.send(Message::binary(vec![7u8; 1000])).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::binary(vec![7u8; 1000])));
    ws.send(Message::binary(vec![7u8; 1001])).await.unwrap();
    match next(&mut ws).await {
        Some(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Size),
        other => panic!("expected a 1009 close, got {other:?}"),
    }
    // The gateway goes on serving.
    let mut ws = open(&s, &host, "/ws", &[]).await.unwrap();
    ws.send(Message::text("still here")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("still here")));

    // Each connection has one access log line, written when it closed: status 101,
    // its whole life as latency, and the bytes the backend sent through it.
    ws.close(None).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let lines = loop {
        let text = std::fs::read_to_string(&log_file).unwrap_or_default();
        let lines: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).filter(|l: &Value| l["path"] == "/ws" && l["status"] == 101).collect();
        if lines.len() == 4 || std::time::Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(lines.len(), 4, "one line per closed connection: {lines:?}");
    // The idle one: "then silence" came back (2 + 12 bytes), then the 1 s timeout ended it.
    let idle = lines.iter().find(|l| l["bytes"] == 14).unwrap_or_else(|| panic!("{lines:?}"));
    assert!(idle["latency_ms"].as_f64().unwrap() >= 1000.0, "{idle}");
}

#[tokio::test]
async fn wss_backends_are_verified_like_https_ones() {
    let ca = common::tls::Ca::new("WS CA");
    let backend = WsBackend::start(Some(ca.acceptor(&["localhost"], &[]))).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path());
    let s = Server::start_with(common::Backend::Sqlite, &["--upstream-ca", &ca_file]).await;
    let g = s.group("secure_ws").await;
    let host = Server::group_host(&g);
    s.create_and_publish(&ws_api(&g, "secure", "/s", &format!("wss://localhost:{}", backend.addr.port()), json!({})), RELEASE).await;
    s.create_and_publish(&ws_api(&g, "by_address", "/a", &format!("wss://127.0.0.1:{}", backend.addr.port()), json!({})), RELEASE).await;
    s.eventually("GET", &host, "/s", &[], |c| c.status != 404).await;

    let mut ws = open(&s, &host, "/s", &[]).await.expect("wss backend");
    ws.send(Message::text("over tls")).await.unwrap();
    assert_eq!(next(&mut ws).await, Some(Message::text("over tls")));
    // The certificate does not name 127.0.0.1: refused as for any HTTPS backend.
    let (status, body) = refusal(open(&s, &host, "/a", &[]).await.unwrap_err());
    assert_eq!((status, body["error_code"].as_str()), (502, Some("APIG.0202")), "{body}");
}

const REGISTER: &str = r#"
exports.handler = async (event) => {
  const q = event.queryString || {};
  if (q.deny) return {errNo: 403, errMsg: 'not in this room'};
  const offered = (event.websocket.secWebSocketProtocol || '').split(',')[0].trim();
  return {errNo: 0, errMsg: 'ok', websocket: {action: 'connecting', secConnectionID: event.websocket.secConnectionID, secWebSocketProtocol: offered}};
};
"#;

const TRANSFER: &str = r#"
exports.handler = async (event, context) => {
  const ws = event.websocket, me = ws.secConnectionID, q = event.queryString || {};
  if (ws.data === 'whoami') {
    // An answer that is a push document is pushed.
    return {websocket: {action: 'data send', secConnectionID: me, dataType: 'text', data: JSON.stringify({you: me})}};
  }
  if (ws.data.startsWith('kick:')) {
    const closed = await context.websocket.close(ws.data.slice(5));
    await context.websocket.send(me, 'kicked ' + closed.errNo);
    return;
  }
  if (ws.dataType === 'binary') {
    await context.websocket.send(me, ws.data, 'binary');
    return;
  }
  const sent = await context.websocket.send(q.peer || me, JSON.stringify({from: me, text: ws.data}));
  if (sent.errNo) await context.websocket.send(me, 'not delivered: ' + sent.errNo);
};
"#;

const CLEANUP: &str = r#"
exports.handler = async (event, context) => {
  const q = event.queryString || {};
  if (q.peer) await context.websocket.send(q.peer, JSON.stringify({left: event.websocket.secConnectionID}));
};
"#;

async fn text<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(ws: &mut Ws<S>) -> String {
    loop {
        match next(ws).await {
            Some(Message::Text(t)) => return t.to_string(),
            Some(Message::Ping(_) | Message::Pong(_)) => continue,
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

async fn json_message<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(ws: &mut Ws<S>) -> Value {
    let t = text(ws).await;
    serde_json::from_str(&t).unwrap_or_else(|_| panic!("not JSON: {t}"))
}

/// A push document POSTed to the gateway's reverse-push endpoint, signed with `key` (if any).
async fn push_over_http(s: &Server, doc: &Value, key: Option<causeway_sign::sdk::Key<'_>>) -> (u16, Value) {
    use causeway_sign::sdk;
    let body = doc.to_string();
    let authority = s.gateway.trim_start_matches("http://").to_string();
    let mut req = s.http.post(format!("{}/.causeway/websocket/push", s.gateway)).header("Content-Type", "application/json");
    if let Some(key) = key {
        let headers = vec![("host".to_string(), authority), ("content-type".to_string(), "application/json".to_string())];
        let hash = sdk::sha256_hex(body.as_bytes());
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let signed = sdk::sign(key, "POST", "/.causeway/websocket/push", "", &headers, &hash, now);
        req = req.header("X-Sdk-Date", signed.date).header("Authorization", signed.authorization);
    }
    let res = req.body(body).send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

/// Tencent's WebSocket APIs with function backends: a chat through three
/// JavaScript functions and the reverse-push endpoint.
#[tokio::test]
async fn a_chat_served_by_registration_transfer_and_cleanup_functions() {
    let s = Server::start().await;
    let g = s.group("fnchat").await;
    let host = Server::group_host(&g);
    let mut urns = Vec::new();
    for (name, code) in [("chat_register", REGISTER), ("chat_transfer", TRANSFER), ("chat_cleanup", CLEANUP)] {
        let (status, f) = s.post("/functions", &json!({"name": name, "code": code, "event_format": "scf"})).await;
        assert_eq!(status, 201, "{f}");
        urns.push(f["urn"].as_str().unwrap().to_string());
    }
    let api = json!({
      "group_id": g, "name": "fnchat", "type": 1, "req_protocol": "BOTH", "frontend_type": "WEBSOCKET",
      "req_method": "GET", "req_uri": "/chat", "auth_type": "NONE", "backend_type": "FUNCTION",
      "func_info": {"function_urn": urns[1], "invocation_type": "sync", "timeout": 3000,
                    "websocket_register_urn": urns[0], "websocket_cleanup_urn": urns[2]}
    });
    // The functions must exist, and only WebSocket APIs run functions on connect and close.
    let mut missing = api.clone();
    missing["func_info"]["websocket_cleanup_urn"] = json!(format!("{}x", urns[2]));
    assert_error(&s.post("/apis", &missing).await, 404, "APIG.3019", Some("func_info.websocket_cleanup_urn"));
    let mut plain = api.clone();
    plain["frontend_type"] = json!("HTTP");
    assert_error(&s.post("/apis", &plain).await, 400, "APIG.2011", Some("func_info.websocket_register_urn"));
    let api_id = s.create_and_publish(&api, RELEASE).await;
    let (_, stored) = s.get(&format!("/apis/{api_id}")).await;
    assert_eq!(stored["func_info"]["websocket_register_urn"], json!(urns[0]), "{stored}");

    // B connects; the registration function picks the first protocol offered.
    let addr = s.gateway.trim_start_matches("http://").to_string();
    let mut req = format!("ws://{addr}/chat").into_client_request().unwrap();
    req.headers_mut().insert("host", host.parse().unwrap());
    req.headers_mut().insert("sec-websocket-protocol", "chat, json".parse().unwrap());
    let (mut b, answer) = tokio_tungstenite::client_async(req, TcpStream::connect(&addr).await.unwrap()).await.unwrap();
    assert_eq!(answer.headers().get("sec-websocket-protocol").unwrap(), "chat");
    let b_id_header = answer.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_string());
    b.send(Message::text("whoami")).await.unwrap();
    let b_id = json_message(&mut b).await["you"].as_str().unwrap().to_string();
    assert_eq!(Some(&b_id), b_id_header.as_ref(), "the connection id is the upgrade request's id");

    // A talks to B: the transfer function pushes A's message to B.
    let mut a = open(&s, &host, &format!("/chat?peer={b_id}"), &[]).await.unwrap();
    a.send(Message::text("whoami")).await.unwrap();
    let a_id = json_message(&mut a).await["you"].as_str().unwrap().to_string();
    assert_ne!(a_id, b_id);
    for i in 0..5 {
        a.send(Message::text(format!("hello {i}"))).await.unwrap();
    }
    for i in 0..5 {
        assert_eq!(json_message(&mut b).await, json!({"from": a_id, "text": format!("hello {i}")}), "in order");
    }
    // Binary messages travel base64 in the event and come back as bytes.
    a.send(Message::binary(vec![0u8, 1, 2, 255])).await.unwrap();
    assert_eq!(next(&mut a).await, Some(Message::binary(vec![0u8, 1, 2, 255])));

    // The registration function refuses.
    let (status, body) = refusal(open(&s, &host, "/chat?deny=1", &[]).await.unwrap_err());
    assert_eq!((status, body["error_code"].as_str()), (403, Some("APIG.0306")), "{body}");
    assert!(body["error_msg"].as_str().unwrap().contains("not in this room"), "{body}");

    // A function closes a connection by its id; C's cleanup tells B.
    let mut c = open(&s, &host, &format!("/chat?peer={b_id}"), &[]).await.unwrap();
    c.send(Message::text("whoami")).await.unwrap();
    let c_id = json_message(&mut c).await["you"].as_str().unwrap().to_string();
    b.send(Message::text(format!("kick:{c_id}"))).await.unwrap();
    match next(&mut c).await {
        Some(Message::Close(Some(frame))) => assert_eq!((frame.code, frame.reason.as_str()), (CloseCode::Normal, "closed by the API")),
        other => panic!("expected C to be closed, got {other:?}"),
    }
    let mut from_b = vec![text(&mut b).await, text(&mut b).await];
    from_b.sort();
    assert_eq!(from_b, vec!["kicked 0".to_string(), json!({"left": c_id}).to_string()]);
    // A push to a closed connection finds nothing.
    b.send(Message::text(format!("kick:{c_id}"))).await.unwrap();
    assert_eq!(text(&mut b).await, "kicked 404");

    // A leaves: the cleanup function runs and tells B.
    a.close(None).await.unwrap();
    assert_eq!(json_message(&mut b).await, json!({"left": a_id}));

    // The reverse-push endpoint over HTTP: signed by an app authorized for an API of the group.
    let push = json!({"websocket": {"action": "data send", "secConnectionID": b_id, "dataType": "text", "data": "from a backend"}});
    let (status, body) = push_over_http(&s, &push, None).await;
    assert_eq!((status, body["error_code"].as_str()), (401, Some("APIG.0303")), "{body}");
    let (_, app) = s.post("/apps", &json!({"name": "pusher"})).await;
    let key = causeway_sign::sdk::Key { access: app["app_key"].as_str().unwrap(), secret: app["app_secret"].as_str().unwrap() };
    let (status, body) = push_over_http(&s, &push, Some(key)).await;
    assert_eq!((status, body["errNo"].as_i64()), (404, Some(404)), "not authorized in the group yet: {body}");
    let notify = s
        .create_and_publish(
            &json!({"group_id": g, "name": "notify", "type": 1, "req_protocol": "BOTH", "req_method": "POST", "req_uri": "/notify",
                    "auth_type": "APP", "backend_type": "MOCK", "mock_info": {"result_content": "ok"}}),
            RELEASE,
        )
        .await;
    assert_eq!(s.post("/app-auths", &json!({"api_ids": [notify], "app_ids": [app["id"]], "env_id": RELEASE})).await.0, 201);
    let pushed = {
        let mut tries = 0;
        loop {
            let (status, body) = push_over_http(&s, &push, Some(key)).await;
            if status == 200 || tries == 50 {
                break (status, body);
            }
            tries += 1;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert_eq!(pushed, (200, json!({"errNo": 0, "errMsg": "ok"})));
    assert_eq!(text(&mut b).await, "from a backend");
    let close = json!({"websocket": {"action": "closing", "secConnectionID": b_id}});
    assert_eq!(push_over_http(&s, &close, Some(key)).await.0, 200);
    assert!(matches!(next(&mut b).await, Some(Message::Close(_))));
    let (status, body) = push_over_http(&s, &close, Some(key)).await;
    assert_eq!((status, body["errNo"].as_i64()), (404, Some(404)), "{body}");
    let (status, _) = push_over_http(&s, &json!({"websocket": {"action": "shout", "secConnectionID": b_id}}), Some(key)).await;
    assert_eq!(status, 400);

    // Plain requests to a WebSocket API are refused as before.
    let plain = s.call_gateway("GET", &host, "/chat", &[]).await;
    assert_eq!(plain.status, 400, "{}", plain.body);
}
