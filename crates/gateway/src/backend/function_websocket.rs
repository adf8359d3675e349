//! WebSocket APIs whose backend is functions, as Tencent's SCF WebSocket
//! APIs work: the gateway itself holds the caller's connection and runs
//!
//! * the *registration* function when a caller connects (`websocket.action`
//!   `connecting`): its answer's `errNo` 0 accepts, anything else refuses;
//! * the *transfer* function (the API's `function_urn`) for each message
//!   (`data send`), one at a time in the order they came;
//! * the *cleanup* function when the connection closes (`closing`).
//!
//! Every connection has an id (`secConnectionID`, the upgrade request's id).
//! Messages reach callers only through the reverse-push endpoint: a push
//! document `{"websocket": {"action": "data send" | "closing",
//! "secConnectionID", "dataType", "data"}}` sends to, or closes, a connection.
//! Functions reach it in-process (`context.websocket`, limited to their own
//! API's connections); other services POST it to [`PUSH_PATH`] on the
//! gateway, signed by an app authorized for an API of the connection's group
//! in its environment. The registry of open connections is touched on
//! connect, close and push only — never by ordinary requests.

use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use causeway_functions::PushHook;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use rustc_hash::FxHashMap;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

use crate::backend::http::websocket::{self as relay, LogOnClose, WebSocketLimits};
use crate::functions::event::EventFormat;
use crate::functions::registry::Functions;
use crate::functions::target::FunctionTarget;
use crate::http::body::Body;
use crate::http::error::{GatewayError, ResponseType, errors};
use crate::observe::Exchange;

/// Where the gateway takes push documents over HTTP (`POST`, on every gateway listener and host).
pub const PUSH_PATH: &str = "/.causeway/websocket/push";
/// Largest push document taken over HTTP.
pub const MAX_PUSH_BYTES: usize = 1 << 20;
/// Pushes waiting for one connection; more are refused (`errNo` 503) rather than held.
const SEND_QUEUE: usize = 256;
/// Messages waiting for the transfer function; the caller's reads wait beyond that.
const TRANSFER_QUEUE: usize = 64;

/// What a push asks of a connection.
enum Command {
    Send(Message),
    Close,
}

/// An open connection, as pushes find it.
struct Handle {
    api_id: Arc<str>,
    group_id: Arc<str>,
    env_id: Arc<str>,
    tx: mpsc::Sender<Command>,
}

/// Open connections of this process by id.
static CONNECTIONS: LazyLock<Mutex<FxHashMap<Box<str>, Handle>>> = LazyLock::new(Default::default);

fn connections() -> std::sync::MutexGuard<'static, FxHashMap<Box<str>, Handle>> {
    CONNECTIONS.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Which connections a push may reach.
pub enum Scope<'a> {
    /// A function of the API: its own API's connections in its environment.
    Api { api_id: &'a str, env_id: &'a str },
    /// An app: connections of the groups and environments it is authorized in.
    App(&'a dyn Fn(&str, &str) -> bool),
}

#[derive(Deserialize)]
struct PushDocument {
    websocket: PushBody,
}

#[derive(Deserialize)]
struct PushBody {
    action: String,
    #[serde(rename = "secConnectionID")]
    id: String,
    #[serde(rename = "dataType", default)]
    data_type: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

/// A push's outcome: `errNo` 0, or the HTTP status that says why not.
pub struct Pushed {
    pub err_no: u16,
    pub err_msg: String,
}

impl Pushed {
    fn failed(err_no: u16, err_msg: impl Into<String>) -> Self {
        Self { err_no, err_msg: err_msg.into() }
    }

    pub fn json(&self) -> String {
        json!({"errNo": self.err_no, "errMsg": self.err_msg}).to_string()
    }
}

/// Applies a push document: sends to, or closes, the connection it names.
pub fn push(document: &[u8], scope: &Scope<'_>) -> Pushed {
    let doc: PushDocument = match serde_json::from_slice(document) {
        Ok(d) => d,
        Err(e) => return Pushed::failed(400, format!("not a push document ({{\"websocket\": {{\"action\", \"secConnectionID\", …}}}}): {e}")),
    };
    let w = doc.websocket;
    let command = match w.action.as_str() {
        "data send" => {
            let binary = match w.data_type.as_deref() {
                None | Some("text") => false,
                Some("binary") => true,
                Some(other) => return Pushed::failed(400, format!("dataType {other:?} is neither text nor binary")),
            };
            let text = match w.data {
                Some(Value::String(s)) => s,
                Some(Value::Null) | None => String::new(),
                Some(other) => other.to_string(),
            };
            if binary {
                match STANDARD.decode(text.as_bytes()) {
                    Ok(bytes) => Command::Send(Message::Binary(bytes.into())),
                    Err(_) => return Pushed::failed(400, "binary data must be base64"),
                }
            } else {
                Command::Send(Message::Text(text.into()))
            }
        }
        "closing" => Command::Close,
        other => return Pushed::failed(400, format!("action {other:?} is neither \"data send\" nor \"closing\"")),
    };
    let map = connections();
    let Some(handle) = map.get(w.id.as_str()) else {
        return Pushed::failed(404, format!("no connection {} on this node", w.id));
    };
    let allowed = match scope {
        Scope::Api { api_id, env_id } => &*handle.api_id == *api_id && &*handle.env_id == *env_id,
        Scope::App(authorized) => authorized(&handle.group_id, &handle.env_id),
    };
    if !allowed {
        // Said as not found: connections of others are not for probing.
        return Pushed::failed(404, format!("no connection {} on this node", w.id));
    }
    match handle.tx.try_send(command) {
        Ok(()) => Pushed { err_no: 0, err_msg: "ok".into() },
        Err(mpsc::error::TrySendError::Full(_)) => Pushed::failed(503, format!("connection {} has {SEND_QUEUE} messages waiting", w.id)),
        Err(mpsc::error::TrySendError::Closed(_)) => Pushed::failed(404, format!("connection {} is closing", w.id)),
    }
}

/// The functions of a function-backed WebSocket API.
pub struct WebSocketFunctions<'a> {
    pub register: Option<&'a FunctionTarget>,
    pub transfer: &'a FunctionTarget,
    pub cleanup: Option<&'a FunctionTarget>,
}

/// Who the connection belongs to.
pub struct Owner {
    pub api_id: Arc<str>,
    pub group_id: Arc<str>,
    pub env_id: Arc<str>,
}

/// The upgrade request's event in each format (without `websocket`), made once per connection.
pub struct BaseEvents {
    apig: Map<String, Value>,
    scf: Map<String, Value>,
}

impl BaseEvents {
    pub fn new(event: impl Fn(EventFormat) -> String) -> Self {
        let parse = |f| match serde_json::from_str::<Value>(&event(f)) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        Self { apig: parse(EventFormat::Apig), scf: parse(EventFormat::Scf) }
    }

    fn with(&self, format: EventFormat, websocket: Value) -> String {
        let mut event = match format {
            EventFormat::Apig => self.apig.clone(),
            EventFormat::Scf => self.scf.clone(),
        };
        event.insert("websocket".into(), websocket);
        Value::Object(event).to_string()
    }
}

/// The registration function's verdict.
#[derive(Deserialize)]
struct Registered {
    #[serde(rename = "errNo")]
    err_no: Option<i64>,
    #[serde(rename = "errMsg", default)]
    err_msg: Option<String>,
    #[serde(default)]
    websocket: Option<RegisteredSocket>,
}

#[derive(Deserialize)]
struct RegisteredSocket {
    #[serde(rename = "secWebSocketProtocol", default)]
    protocol: Option<String>,
    #[serde(rename = "secWebSocketExtensions", default)]
    extensions: Option<String>,
}

/// Opens a function-backed connection: runs the registration function,
/// answers `101`, and serves the connection in a task of its own.
#[allow(clippy::too_many_arguments)]
pub async fn open(
    functions: &Arc<Functions>,
    fns: WebSocketFunctions<'_>,
    owner: Owner,
    id: &str,
    headers: &HeaderMap,
    base: BaseEvents,
    caller: OnUpgrade,
    limits: WebSocketLimits,
) -> Result<Response<Body>, GatewayError> {
    let key = headers.get(header::SEC_WEBSOCKET_KEY).ok_or(errors::WEBSOCKET_ONLY)?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let offered = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut protocol = None;
    if let Some(register) = fns.register {
        let websocket = json!({
            "action": "connecting",
            "secConnectionID": id,
            "secWebSocketProtocol": offered(header::SEC_WEBSOCKET_PROTOCOL),
            "secWebSocketExtensions": offered(header::SEC_WEBSOCKET_EXTENSIONS),
        });
        let value = functions.run_value_for(register, id, |f| base.with(f, websocket), None).await?;
        let verdict: Option<Registered> = value.and_then(|v| serde_json::from_value(v).ok());
        match verdict {
            Some(Registered { err_no: Some(0), websocket, .. }) => {
                protocol = websocket.as_ref().and_then(|w| w.protocol.clone()).filter(|p| !p.is_empty());
                if websocket.and_then(|w| w.extensions).is_some_and(|e| !e.is_empty()) {
                    tracing::debug!(connection = id, "extensions chosen by the registration function are not negotiated");
                }
            }
            Some(Registered { err_no, err_msg, .. }) => {
                let why = err_msg.unwrap_or_default();
                return Err(GatewayError { kind: ResponseType::AccessDenied, status: 403, code: "APIG.0306", message: format!("The registration function refused the connection: errNo {}, {why}", err_no.unwrap_or(-1)).into() });
            }
            None => {
                return Err(GatewayError {
                    kind: ResponseType::AccessDenied,
                    status: 403,
                    code: "APIG.0306",
                    message: "The registration function refused the connection: its answer has no errNo".into(),
                });
            }
        }
    }

    let (tx, rx) = mpsc::channel(SEND_QUEUE);
    connections().insert(id.into(), Handle { api_id: owner.api_id.clone(), group_id: owner.group_id.clone(), env_id: owner.env_id.clone(), tx });
    let (log_tx, log_rx) = tokio::sync::oneshot::channel::<Box<Exchange>>();
    let session = Session {
        functions: functions.clone(),
        transfer: fns.transfer.clone(),
        cleanup: fns.cleanup.cloned(),
        owner,
        id: id.into(),
        base: Arc::new(base),
    };
    let open = relay::Open::new();
    tokio::spawn(async move {
        let _open = open;
        let sent = match caller.await {
            Ok(upgraded) => session.serve(TokioIo::new(upgraded), rx, limits).await,
            Err(e) => {
                tracing::debug!(error = %e, "WebSocket upgrade did not complete");
                session.forget();
                0
            }
        };
        if let Ok(mut exchange) = log_rx.await {
            exchange.bytes = sent;
            exchange.finish();
        }
    });

    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = res.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    if let Some(p) = protocol.and_then(|p| HeaderValue::from_str(&p).ok()) {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, p);
    }
    res.extensions_mut().insert(LogOnClose::new(log_tx));
    Ok(res)
}

/// One connection's life.
struct Session {
    functions: Arc<Functions>,
    transfer: FunctionTarget,
    cleanup: Option<FunctionTarget>,
    owner: Owner,
    id: Arc<str>,
    base: Arc<BaseEvents>,
}

impl Session {
    /// The in-process way to the push endpoint, for this API's functions.
    fn hook(&self) -> PushHook {
        let (api_id, env_id) = (self.owner.api_id.clone(), self.owner.env_id.clone());
        PushHook(Arc::new(move |doc: &str| push(doc.as_bytes(), &Scope::Api { api_id: &api_id, env_id: &env_id }).json()))
    }

    fn forget(&self) {
        connections().remove(&*self.id);
    }

    /// Reads messages into the transfer function and writes pushes out,
    /// until either side closes; then runs the cleanup function. Returns the
    /// bytes of messages sent to the caller.
    async fn serve<S>(self, io: S, mut commands: mpsc::Receiver<Command>, limits: WebSocketLimits) -> u64
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut config = WebSocketConfig::default();
        config.max_message_size = Some(usize::try_from(limits.max_message).unwrap_or(usize::MAX));
        config.max_frame_size = config.max_message_size;
        let mut ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        let (queue, mut messages) = mpsc::channel::<(&'static str, String)>(TRANSFER_QUEUE);
        // The transfer function runs for one message at a time, in order.
        let transfer = {
            let (functions, target, base, id, hook) = (self.functions.clone(), self.transfer.clone(), self.base.clone(), self.id.clone(), self.hook());
            tokio::spawn(async move {
                while let Some((data_type, data)) = messages.recv().await {
                    let websocket = json!({"action": "data send", "secConnectionID": &*id, "dataType": data_type, "data": data});
                    match functions.run_value_for(&target, &id, |f| base.with(f, websocket), Some(hook.clone())).await {
                        // An answer that is itself a push document is pushed (Tencent's samples answer so).
                        Ok(Some(answer)) if answer.get("websocket").and_then(|w| w.get("action")).is_some_and(|a| a == "data send" || a == "closing") => {
                            let pushed = (hook.0)(&answer.to_string());
                            if pushed.contains("\"errNo\":0") {
                                continue;
                            }
                            tracing::debug!(connection = &*id, answer = %pushed, "transfer function's answer not pushed");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(connection = &*id, function = %target.urn, code = e.code, error = %e.message, "transfer function failed"),
                    }
                }
            })
        };
        let mut sent = 0u64;
        let idle = tokio::time::sleep(limits.idle_timeout);
        tokio::pin!(idle);
        let stopping = relay::stopping();
        tokio::pin!(stopping);
        let close: Option<(CloseCode, &str)> = loop {
            tokio::select! {
                incoming = ws.next() => {
                    idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                    let message = match incoming {
                        Some(Ok(m)) => m,
                        Some(Err(tokio_tungstenite::tungstenite::Error::Capacity(_))) => break Some((CloseCode::Size, "message too big")),
                        Some(Err(e)) => {
                            tracing::debug!(connection = &*self.id, error = %e, "WebSocket connection ended");
                            break None;
                        }
                        None => break None,
                    };
                    let item = match message {
                        Message::Text(t) => ("text", t.to_string()),
                        Message::Binary(b) => ("binary", STANDARD.encode(&b)),
                        // Pings are answered by the protocol layer; a close is answered below.
                        Message::Close(_) => break Some((CloseCode::Normal, "")),
                        _ => continue,
                    };
                    if queue.send(item).await.is_err() {
                        break Some((CloseCode::Error, "transfer function stopped"));
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Send(m)) => {
                        idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                        sent += m.len() as u64;
                        if ws.send(m).await.is_err() {
                            break None;
                        }
                    }
                    Some(Command::Close) => break Some((CloseCode::Normal, "closed by the API")),
                    None => break None,
                },
                () = &mut idle => break Some((CloseCode::Away, "idle")),
                () = &mut stopping => break Some((CloseCode::Away, "node stopping")),
            }
        };
        // No more pushes reach it; messages already read still go to the transfer function.
        self.forget();
        if let Some((code, reason)) = close {
            let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(Some(frame))).await;
        }
        drop(ws);
        drop(queue);
        let _ = transfer.await;
        if let Some(cleanup) = &self.cleanup {
            let websocket = json!({"action": "closing", "secConnectionID": &*self.id});
            if let Err(e) = self.functions.run_value_for(cleanup, &self.id, |f| self.base.with(f, websocket), Some(self.hook())).await {
                tracing::warn!(connection = &*self.id, function = %cleanup.urn, code = e.code, error = %e.message, "cleanup function failed");
            }
        }
        sent
    }
}

/// The HTTP push endpoint's answer: `200` with `{"errNo": 0, "errMsg": "ok"}`,
/// or the status `errNo` names with the same body.
pub fn push_answer(pushed: &Pushed) -> Response<Body> {
    let mut res = Response::new(Body::full(bytes::Bytes::from(pushed.json())));
    *res.status_mut() = StatusCode::from_u16(if pushed.err_no == 0 { 200 } else { pushed.err_no }).unwrap_or(StatusCode::BAD_REQUEST);
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(id: &str, api: &str, group: &str, env: &str) -> mpsc::Receiver<Command> {
        let (tx, rx) = mpsc::channel(2);
        connections().insert(id.into(), Handle { api_id: api.into(), group_id: group.into(), env_id: env.into(), tx });
        rx
    }

    #[test]
    fn pushes_reach_only_connections_in_scope() {
        let mut rx = register("t-conn-1", "api1", "g1", "e1");
        let own = Scope::Api { api_id: "api1", env_id: "e1" };
        let sent = push(br#"{"websocket":{"action":"data send","secConnectionID":"t-conn-1","dataType":"text","data":"hi"}}"#, &own);
        assert_eq!(sent.err_no, 0, "{}", sent.err_msg);
        assert!(matches!(rx.try_recv(), Ok(Command::Send(Message::Text(t))) if t == "hi"));
        let sent = push(br#"{"websocket":{"action":"data send","secConnectionID":"t-conn-1","dataType":"binary","data":"AAEC"}}"#, &own);
        assert_eq!(sent.err_no, 0);
        assert!(matches!(rx.try_recv(), Ok(Command::Send(Message::Binary(b))) if b[..] == [0, 1, 2]));
        // Another API, another environment, an app not authorized: not found.
        for scope in [Scope::Api { api_id: "api2", env_id: "e1" }, Scope::Api { api_id: "api1", env_id: "e2" }, Scope::App(&|g, e| g == "g2" && e == "e1")] {
            assert_eq!(push(br#"{"websocket":{"action":"closing","secConnectionID":"t-conn-1"}}"#, &scope).err_no, 404);
        }
        assert_eq!(push(br#"{"websocket":{"action":"closing","secConnectionID":"t-conn-1"}}"#, &Scope::App(&|g, e| g == "g1" && e == "e1")).err_no, 0);
        assert!(matches!(rx.try_recv(), Ok(Command::Close)));
        // A full queue refuses instead of waiting.
        for _ in 0..2 {
            assert_eq!(push(br#"{"websocket":{"action":"closing","secConnectionID":"t-conn-1"}}"#, &own).err_no, 0);
        }
        assert_eq!(push(br#"{"websocket":{"action":"closing","secConnectionID":"t-conn-1"}}"#, &own).err_no, 503);
        for bad in [&b"{}"[..], br#"{"websocket":{"action":"shout","secConnectionID":"t-conn-1"}}"#, br#"{"websocket":{"action":"data send","secConnectionID":"t-conn-1","dataType":"binary","data":"!!"}}"#] {
            assert_eq!(push(bad, &own).err_no, 400);
        }
        assert_eq!(push(br#"{"websocket":{"action":"closing","secConnectionID":"nobody"}}"#, &own).err_no, 404);
        connections().remove("t-conn-1");
    }
}
