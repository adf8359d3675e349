//! Upstream HTTP/1.1 connections: a pool per worker thread of hyper
//! `SendRequest` handles keyed by backend address. No lock is shared between
//! requests; a connection is reused once its previous response has been read.

use std::cell::RefCell;

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

async fn connect(host: &str, port: u16) -> Result<Sender, GatewayError> {
    let stream = TcpStream::connect((host, port)).await.map_err(|e| {
        errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: cannot connect to {host}:{port}: {e}"))
    })?;
    let _ = stream.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::Builder::new()
        .writev(false)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}")))?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "upstream connection ended");
        }
    });
    Ok(sender)
}

/// Sends `req` to the backend and waits for the response headers, within `timeout`.
pub async fn send(target: &HttpTarget, req: Request<UpBody>) -> Result<Response<Incoming>, GatewayError> {
    let attempt = async {
        let mut req = req;
        // A pooled connection the backend has closed meanwhile gives the request
        // back unsent; then a fresh connection gets it.
        if let Some(mut sender) = take_ready(&target.authority) {
            match sender.try_send_request(req).await {
                Ok(res) => {
                    give_back(&target.authority, sender);
                    return Ok(res);
                }
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(send_error(e.into_error())),
                },
            }
        }
        // Boxed: the rare path keeps its large state out of every request's future.
        Box::pin(send_on_new_connection(target, req)).await
    };
    match tokio::time::timeout(target.timeout, attempt).await {
        Ok(result) => result,
        Err(_) => Err(errors::BACKEND_TIMEOUT),
    }
}

async fn send_on_new_connection(target: &HttpTarget, req: Request<UpBody>) -> Result<Response<Incoming>, GatewayError> {
    let mut sender = connect(&target.host, target.port).await?;
    let res = sender.send_request(req).await.map_err(send_error)?;
    give_back(&target.authority, sender);
    Ok(res)
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
