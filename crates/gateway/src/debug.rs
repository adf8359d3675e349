//! Debug calls (`POST .../apis/debug/{api_id}`): one request run through
//! the real pipeline against a snapshot in which the API is served as the
//! call asks — its draft, or the version published in an environment —
//! over an in-memory connection, with each step the pipeline takes noted.
//! Nothing here is on the request path of the listeners.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_model::debug::{DebugCall, DebugOutcome};
use causeway_model::publish::ApiVersion;
use causeway_store::Store;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::config::runtime::Runtime;
use crate::config::snapshot::Snapshot;
use crate::config::source::Source;
use crate::pipeline;
use crate::pipeline::conn::{Conn, ConnOptions};
use crate::pipeline::notes::Steps;
use crate::routing::table::RouteCache;

/// Longest a debug call waits for its answer.
const DEBUG_TIMEOUT: Duration = Duration::from_secs(60);
/// Most of the answer's body shown.
const MAX_SHOWN_BODY: usize = 1 << 20;

/// Runs debug calls with a node's runtime (its functions, limiter, channel health).
#[derive(Clone)]
pub struct Debugger {
    store: Arc<dyn Store>,
    runtime: Runtime,
    base_domain: String,
    options: ConnOptions,
}

impl Debugger {
    pub(crate) fn new(store: Arc<dyn Store>, runtime: Runtime, base_domain: String, options: ConnOptions) -> Self {
        Self { store, runtime, base_domain, options }
    }

    /// For a process without a gateway node (`--role admin`): its own runtime.
    pub fn standalone(store: Arc<dyn Store>, base_domain: String, functions: Option<Arc<causeway_functions::Pool>>) -> Self {
        let runtime = Runtime { function_pool: functions, ..Runtime::default() };
        Self::new(store, runtime, base_domain, ConnOptions::default())
    }

    pub async fn run(&self, call: DebugCall) -> Result<DebugOutcome, String> {
        let snapshot = Arc::new(self.snapshot(&call).await?);
        let steps = Arc::new(Steps::default());
        let peer = SocketAddr::from(([127, 0, 0, 1], 0));
        let local = SocketAddr::from(([127, 0, 0, 1], if call.https { 443 } else { 80 }));
        let conn = Arc::new(Conn { steps: Some(steps.clone()), ..Conn::new(peer, local, call.https, self.options) });
        let request_text = request_text(&call);

        let (client_io, server_io) = tokio::io::duplex(64 << 10);
        let service = hyper::service::service_fn(move |req| {
            let (conn, snapshot) = (conn.clone(), snapshot.clone());
            async move { Ok::<_, Infallible>(pipeline::handle(req, &conn, snapshot).await) }
        });
        tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(server_io), service));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(client_io)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);

        let mut req = http::Request::builder().method(call.method.as_str()).uri(call.target.as_str());
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(call.body))).map_err(|e| format!("the request cannot be sent: {e}"))?;
        let started = Instant::now();
        let answer = async {
            let res = sender.send_request(req).await.map_err(|e| format!("the request failed: {e}"))?;
            let (parts, body) = res.into_parts();
            let mut text = format!("{:?} {}\r\n", parts.version, parts.status);
            for (k, v) in &parts.headers {
                text.push_str(&format!("{k}: {}\r\n", String::from_utf8_lossy(v.as_bytes())));
            }
            text.push_str("\r\n");
            match Limited::new(body, MAX_SHOWN_BODY).collect().await {
                Ok(b) => text.push_str(&String::from_utf8_lossy(&b.to_bytes())),
                Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
                    text.push_str(&format!("(the body is larger than {MAX_SHOWN_BODY} bytes and is not shown)"))
                }
                Err(e) => text.push_str(&format!("(the body could not be read whole: {e})")),
            }
            Ok::<_, String>(text)
        };
        // No answer in time is an outcome too: the steps show where it waited.
        let response = match tokio::time::timeout(DEBUG_TIMEOUT, answer).await {
            Ok(answered) => answered?,
            Err(_) => format!("(no answer within {} s)", DEBUG_TIMEOUT.as_secs()),
        };
        let latency_ms = started.elapsed().as_millis() as u64;
        Ok(DebugOutcome { request: request_text, response, latency_ms, log: steps.taken() })
    }

    /// Everything published in the API's group as a node serves it, with the
    /// API served as the call asks in the call's environment.
    async fn snapshot(&self, call: &DebugCall) -> Result<Snapshot, String> {
        let mut source = Source::load(&*self.store).await.map_err(|e| format!("cannot read the store: {e}"))?;
        let group = &call.api.group_id;
        source.publications.retain(|_, p| &p.group_id == group && !(p.api_id == call.api.id && p.env_id == call.env.id));
        source.load_versions(&*self.store).await.map_err(|e| format!("cannot read the store: {e}"))?;
        source.envs.insert(call.env.id.clone(), call.env.clone());
        let p = &call.publication;
        let version = ApiVersion {
            version_id: p.version_id.clone(),
            version_no: String::new(),
            api_id: call.api.id.clone(),
            env_id: call.env.id.clone(),
            remark: None,
            publish_time: p.publish_time.clone(),
            api: call.api.clone(),
        };
        source.versions.insert(p.version_id.clone(), Arc::new(version));
        source.publications.insert(p.publish_id.clone(), p.clone());
        Ok(Snapshot::build(&source, &self.runtime, &self.base_domain, &mut RouteCache::default()))
    }
}

/// The request as sent, as HTTP/1.1 text.
fn request_text(call: &DebugCall) -> String {
    let mut text = format!("{} {} HTTP/1.1\r\n", call.method, call.target);
    for (k, v) in &call.headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(&String::from_utf8_lossy(&call.body));
    text
}
