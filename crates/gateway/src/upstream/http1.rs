//! HTTP/1.1 to backends: each worker thread keeps idle `SendRequest`
//! handles by backend address; a request takes a ready one or opens a
//! connection, and gives it back once the response headers are in.

use std::cell::RefCell;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustc_hash::FxHashMap;

use super::dial::{Dialed, dial, drive};
use super::endpoint::{Endpoint, Failure, UpBody, send_error};
use crate::http::error::{GatewayError, errors};

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

/// Sends `req` on an idle connection, or on a new one.
pub(super) async fn send(endpoint: Endpoint<'_>, mut req: Request<UpBody>) -> Result<Response<Incoming>, Failure> {
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
    drive(conn, "upstream connection");
    Ok(sender)
}

