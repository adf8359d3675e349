//! Upstream HTTP/1.1 connections, plain or over TLS: a pool per worker thread
//! of hyper `SendRequest` handles keyed by backend address. No lock is shared
//! between requests; a connection is reused once its previous response has
//! been read. TLS connections verify the backend's certificate against the
//! public roots and the operator's CA (`--upstream-ca`), and present the
//! gateway's client certificate to backends with `enable_client_ssl`.

use std::cell::RefCell;
use std::sync::OnceLock;
use std::time::Duration;

use causeway_tls::{UpstreamTls, UpstreamTrust};

use http::{Request, Response};
use bytes::Bytes;
use http_body_util::{Either, Full, Limited};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustc_hash::FxHashMap;
use tokio::net::TcpStream;

use crate::http_backend::HttpTarget;
use crate::response::{GatewayError, errors};

/// The request body sent upstream: the caller's, streamed with a size limit,
/// or already read whole (when form fields were needed as parameters).
pub type UpBody = Either<Limited<Incoming>, Full<Bytes>>;
type Sender = SendRequest<UpBody>;

/// Idle connections kept per backend address and thread.
const MAX_IDLE: usize = 256;

/// Idle connections by backend `host:port`.
type Idle = FxHashMap<Box<str>, Vec<Sender>>;

thread_local! {
    static POOL: RefCell<Idle> = RefCell::new(FxHashMap::default());
    /// HTTP/2 backends: one connection per address and thread, its streams shared by requests.
    static H2: RefCell<FxHashMap<Box<str>, H2Sender>> = RefCell::new(FxHashMap::default());
}

type H2Sender = hyper::client::conn::http2::SendRequest<UpBody>;

/// TLS towards backends, configured once at start-up (public roots only, if never configured).
static UPSTREAM_TLS: OnceLock<Result<UpstreamTls, String>> = OnceLock::new();

/// Sets what backend connections trust and present; the first call wins.
pub fn configure_tls(trust: &UpstreamTrust) -> Result<(), String> {
    let tls = UpstreamTls::new(trust)?;
    let _ = UPSTREAM_TLS.set(Ok(tls));
    Ok(())
}

fn upstream_tls() -> Result<&'static UpstreamTls, GatewayError> {
    UPSTREAM_TLS
        .get_or_init(|| UpstreamTls::new(&UpstreamTrust::default()))
        .as_ref()
        .map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: TLS is not configured: {e}")))
}

/// A pooled connection that can take a request now.
fn take_ready(authority: &str) -> Option<Sender> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let idle = pool.get_mut(authority)?;
        idle.retain(|s| !s.is_closed());
        let i = idle.iter().rposition(|s| s.is_ready())?;
        Some(idle.swap_remove(i))
    })
}

fn give_back(authority: &str, sender: Sender) {
    if sender.is_closed() {
        return;
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let idle = match pool.get_mut(authority) {
            Some(idle) => idle,
            None => pool.entry(authority.into()).or_default(),
        };
        if idle.len() < MAX_IDLE {
            idle.push(sender);
        }
    });
}

/// A connection to a backend, before HTTP is spoken on it.
pub enum Dialed {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Connects to `endpoint`, with the TLS handshake when it asks for TLS.
pub async fn dial(endpoint: Endpoint<'_>) -> Result<Dialed, GatewayError> {
    let (host, port) = (endpoint.host, endpoint.port);
    let stream = TcpStream::connect((host, port)).await.map_err(|e| {
        errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: cannot connect to {host}:{port}: {e}"))
    })?;
    let _ = stream.set_nodelay(true);
    let Some(tls) = endpoint.tls else { return Ok(Dialed::Plain(stream)) };
    let alpn: &[&[u8]] = if endpoint.http2 { &[b"h2"] } else { &[] };
    let config = upstream_tls()?.config(tls.client_cert, alpn).map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}")))?;
    let name = causeway_tls::client::server_name(tls.server_name).map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(config)
        .connect(name, stream)
        .await
        .map_err(|e| errors::BACKEND_PROTOCOL.with_message(format!("Backend unavailable: TLS with {host}:{port} failed: {e}")))?;
    Ok(Dialed::Tls(Box::new(stream)))
}

async fn connect(endpoint: Endpoint<'_>) -> Result<Sender, GatewayError> {
    match dial(endpoint).await? {
        Dialed::Plain(s) => handshake(s).await,
        Dialed::Tls(s) => handshake(s).await,
    }
}

async fn handshake<I>(io: I) -> Result<Sender, GatewayError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .writev(false)
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream connection ended");
        }
    });
    Ok(sender)
}

/// Where a backend request goes.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The key of its idle connections: `host:port`, or over TLS also the
    /// server name and whether the client certificate was presented (see [`tls_pool_key`]).
    pub authority: &'a str,
    /// Over TLS, when set.
    pub tls: Option<TlsTo<'a>>,
    /// HTTP/2 (h2c over plain TCP, ALPN `h2` over TLS) instead of HTTP/1.1.
    pub http2: bool,
}

/// The idle-connection key of a TLS backend: connections made for another
/// server name, or with(out) the client certificate, are not reused for it.
pub fn tls_pool_key(authority: &str, server_name: &str, client_cert: bool) -> String {
    format!("tls{}:{server_name}@{authority}", if client_cert { "+cert" } else { "" })
}

/// A TLS connection's settings.
#[derive(Debug, Clone, Copy)]
pub struct TlsTo<'a> {
    /// The name the backend's certificate must carry (and SNI).
    pub server_name: &'a str,
    /// Present the gateway's client certificate (`enable_client_ssl`).
    pub client_cert: bool,
}

/// A backend request that got no answer.
pub struct Failure {
    pub error: GatewayError,
    /// The request, when it never left (the backend could not be reached): it may go elsewhere.
    pub unsent: Option<Request<UpBody>>,
    /// The backend did not answer in time.
    pub timed_out: bool,
}

/// Sends `req` to a fixed backend and waits for the response headers, within its timeout.
pub async fn send(target: &HttpTarget, req: Request<UpBody>) -> Result<Response<Incoming>, GatewayError> {
    send_to(target.endpoint(), target.timeout, req).await.map_err(|f| f.error)
}

/// Sends `req` to `endpoint` and waits for the response headers, within `timeout`.
pub async fn send_to(endpoint: Endpoint<'_>, timeout: Duration, req: Request<UpBody>) -> Result<Response<Incoming>, Failure> {
    if endpoint.http2 {
        return match tokio::time::timeout(timeout, Box::pin(send_h2(endpoint, req))).await {
            Ok(result) => result,
            Err(_) => Err(Failure { error: errors::BACKEND_TIMEOUT, unsent: None, timed_out: true }),
        };
    }
    let attempt = async {
        let mut req = req;
        // A pooled connection the backend has closed meanwhile gives the request
        // back unsent; then a fresh connection gets it.
        if let Some(mut sender) = take_ready(endpoint.authority) {
            match sender.try_send_request(req).await {
                Ok(res) => {
                    give_back(endpoint.authority, sender);
                    return Ok(res);
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(Failure { error: send_error(e.into_error()), unsent: None, timed_out: false }),
                },
            }
        }
        // Boxed: the rare path keeps its large state out of every request's future.
        Box::pin(send_on_new_connection(endpoint, req)).await
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(Failure { error: errors::BACKEND_TIMEOUT, unsent: None, timed_out: true }),
    }
}

async fn send_on_new_connection(endpoint: Endpoint<'_>, req: Request<UpBody>) -> Result<Response<Incoming>, Failure> {
    let mut sender = match connect(endpoint).await {
        Ok(s) => s,
        Err(error) => return Err(Failure { error, unsent: Some(req), timed_out: false }),
    };
    match sender.try_send_request(req).await {
        Ok(res) => {
            give_back(endpoint.authority, sender);
            Ok(res)
        }
        Err(mut e) => {
            let unsent = e.take_message();
            Err(Failure { error: send_error(e.into_error()), unsent, timed_out: false })
        }
    }
}

/// Over HTTP/2: the thread's connection to the backend, opened when there is
/// none (or it closed). The request names scheme and authority in its URI
/// (`:scheme`, `:authority`); the Host it would have had becomes the authority.
async fn send_h2(endpoint: Endpoint<'_>, mut req: Request<UpBody>) -> Result<Response<Incoming>, Failure> {
    let scheme = if endpoint.tls.is_some() { http::uri::Scheme::HTTPS } else { http::uri::Scheme::HTTP };
    let authority = match req.headers_mut().remove(http::header::HOST) {
        Some(h) => http::uri::Authority::try_from(h.as_bytes()).ok(),
        None => None,
    };
    let authority = match authority {
        Some(a) => a,
        None => http::uri::Authority::try_from(format!("{}:{}", endpoint.host, endpoint.port)).map_err(|_| Failure {
            error: errors::BACKEND_UNAVAILABLE.with_message("Backend unavailable: no valid authority for HTTP/2".into()),
            unsent: None,
            timed_out: false,
        })?,
    };
    // gRPC servers insist on it; it is the one TE value HTTP/2 allows.
    req.headers_mut().insert(http::header::TE, http::HeaderValue::from_static("trailers"));
    let mut parts = req.uri().clone().into_parts();
    parts.scheme = Some(scheme);
    parts.authority = Some(authority);
    if let Ok(uri) = http::Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
    let cached = H2.with(|h2| h2.borrow().get(endpoint.authority).filter(|s| !s.is_closed()).cloned());
    let mut sender = match cached {
        Some(s) => s,
        None => {
            let connected = async {
                let sender = match dial(endpoint).await? {
                    Dialed::Plain(s) => handshake_h2(s).await?,
                    Dialed::Tls(s) => {
                        if s.get_ref().1.alpn_protocol() != Some(b"h2") {
                            return Err(errors::BACKEND_PROTOCOL.with_message("Backend unavailable: the backend did not agree to HTTP/2 (ALPN h2)".into()));
                        }
                        handshake_h2(s).await?
                    }
                };
                Ok::<_, GatewayError>(sender)
            };
            match connected.await {
                Ok(s) => {
                    H2.with(|h2| h2.borrow_mut().insert(endpoint.authority.into(), s.clone()));
                    s
                }
                Err(error) => return Err(Failure { error, unsent: Some(req), timed_out: false }),
            }
        }
    };
    match sender.try_send_request(req).await {
        Ok(res) => Ok(res),
        Err(mut e) => {
            let unsent = e.take_message();
            Err(Failure { error: send_error(e.into_error()), unsent, timed_out: false })
        }
    }
}

async fn handshake_h2<I>(io: I) -> Result<H2Sender, GatewayError>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new())
        .handshake(TokioIo::new(io))
        .await
        .map_err(|e| errors::BACKEND_PROTOCOL.with_message(format!("Backend unavailable: HTTP/2: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream HTTP/2 connection ended");
        }
    });
    Ok(sender)
}

fn send_error(e: hyper::Error) -> GatewayError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return errors::BODY_TOO_LARGE;
        }
        source = s.source();
    }
    errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}"))
}
