//! Upstream connections to backends, plain or over TLS, HTTP/1.1 or HTTP/2:
//! one pool per worker thread (no lock is shared between requests), a
//! connection reused once its previous response has been read. Here too: the
//! choice of a load-balance channel's member (`balance`) and the active
//! health checks of members (`health_check`). What is sent is `backend`'s.

pub(crate) mod balance;
mod dial;
mod endpoint;
pub(crate) mod health_check;
mod http1;
mod http2;

use std::time::Duration;

use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{Request, Response};
use hyper::body::Incoming;

use crate::http::error::errors;

pub(crate) use dial::{Dialed, configure_tls, dial, drive};
pub(crate) use endpoint::{Address, Endpoint, Failure, TlsTo, UpBody, tls_pool_key};

/// Sends `req` to `endpoint` and waits for the response headers, within `timeout`.
pub async fn send(endpoint: Endpoint<'_>, timeout: Duration, req: Request<UpBody>) -> Result<Response<Incoming>, Failure> {
    let late = || Failure { error: errors::BACKEND_TIMEOUT, unsent: None, timed_out: true };
    if endpoint.http2 {
        // Boxed: HTTP/1 requests do not carry the HTTP/2 state.
        return tokio::time::timeout(timeout, Box::pin(http2::send(endpoint, req))).await.map_err(|_| late())?;
    }
    let res = tokio::time::timeout(timeout, http1::send(endpoint, req)).await.map_err(|_| late())??;
    // A response framed both ways is read as chunked by the client, but it is
    // what response splitting looks like (RFC 9112 §6.3): not passed on.
    if res.headers().contains_key(TRANSFER_ENCODING) && res.headers().contains_key(CONTENT_LENGTH) {
        return Err(Failure {
            error: errors::BACKEND_UNAVAILABLE.with_message("The backend's response has both Content-Length and Transfer-Encoding".into()),
            unsent: None,
            timed_out: false,
        });
    }
    Ok(res)
}
