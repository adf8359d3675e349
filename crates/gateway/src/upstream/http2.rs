//! HTTP/2 to backends (`http2`): one connection per backend address and
//! worker thread, its streams shared by requests; opened when there is none
//! (or it closed).

use std::cell::RefCell;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustc_hash::FxHashMap;

use super::dial::{Dialed, dial, drive};
use super::endpoint::{Endpoint, Failure, UpBody, send_error};
use crate::http::error::{GatewayError, errors};

type H2Sender = hyper::client::conn::http2::SendRequest<UpBody>;

thread_local! {
    static H2: RefCell<FxHashMap<Box<str>, H2Sender>> = RefCell::new(FxHashMap::default());
}

/// Over HTTP/2: the thread's connection to the backend, opened when there is
/// none (or it closed). The request names scheme and authority in its URI
/// (`:scheme`, `:authority`); the Host it would have had becomes the authority.
pub(super) async fn send(endpoint: Endpoint<'_>, mut req: Request<UpBody>) -> Result<Response<Incoming>, Failure> {
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
    drive(conn, "upstream HTTP/2 connection");
    Ok(sender)
}

