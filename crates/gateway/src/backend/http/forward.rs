//! Sending a built backend request: to the backend's one address, or to a
//! member of its load-balance channel chosen per request, with the API's
//! retries. A request is retried when it never left (the backend could not
//! be reached) and — with `retry_count` 1–10, for idempotent methods whose
//! body is in hand — when a member failed after it left and another member
//! can take it; never after a non-idempotent request reached a backend, and
//! never after a timeout (the API's timeout bounds the whole call).

use http::{Method, Request, Response};
use http_body_util::Either;
use hyper::body::Incoming;

use crate::backend::http::target::{ChannelTarget, HttpTarget, Reach};
use crate::http::error::{GatewayError, errors};
use crate::upstream::balance::{Channels, Lease, MemberState, PickInput};
use crate::upstream::{self, UpBody};

fn is_idempotent(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS | Method::PUT | Method::DELETE | Method::TRACE)
}

/// How many times a request may be sent again after a failure.
fn retries(retry_count: i32, idempotent: bool) -> usize {
    match retry_count {
        -1 => usize::from(idempotent),
        n => n.max(0) as usize,
    }
}

/// A copy of a request whose body is in hand (to send again after a failure).
fn replayable(req: &Request<UpBody>) -> Option<Request<UpBody>> {
    let Either::Right(body) = req.body() else { return None };
    let mut copy = Request::new(Either::Right(body.clone()));
    *copy.method_mut() = req.method().clone();
    *copy.uri_mut() = req.uri().clone();
    *copy.headers_mut() = req.headers().clone();
    Some(copy)
}

/// Sends `req` to `target` and waits for the response headers.
pub async fn forward(channels: &Channels, target: &HttpTarget, pick: &PickInput<'_>, req: Request<UpBody>) -> Result<Response<Incoming>, GatewayError> {
    let idempotent = is_idempotent(req.method());
    let retries = retries(target.retry_count, idempotent);
    let channel = match &target.reach {
        Reach::Channel(channel) => channel,
        Reach::One(address) => {
            let endpoint = address.endpoint();
            let mut req = req;
            let mut attempt = 0;
            loop {
                match upstream::send(endpoint, target.timeout, req).await {
                Ok(res) => return Ok(res),
                    // One address: only a request that never left is worth sending again.
                    Err(upstream::Failure { unsent: Some(unsent), .. }) if attempt < retries => {
                        req = unsent;
                        attempt += 1;
                    }
                    Err(f) => return Err(f.error),
                }
            }
        }
    };
    // Boxed: requests to one address do not carry the balancing state.
    Box::pin(send_balanced(channels, target, channel, pick, req, idempotent, retries)).await
}

async fn send_balanced(
    channels: &Channels,
    target: &HttpTarget,
    channel: &ChannelTarget,
    pick: &PickInput<'_>,
    req: Request<UpBody>,
    idempotent: bool,
    retries: usize,
) -> Result<Response<Incoming>, GatewayError> {
    let pool = HttpTarget::pool(channel, channels)?;
    let mut tried: Vec<std::sync::Arc<MemberState>> = Vec::new();
    let mut req = req;
    loop {
        let tried_names: Vec<&str> = tried.iter().map(|m| &*m.authority).collect();
        let Some(member) = pool.pick(pick, &tried_names) else {
            return Err(if tried.is_empty() { errors::NO_BACKEND_AVAILABLE } else { errors::BACKEND_UNAVAILABLE });
        };
        drop(tried_names);
        let lease = Lease::new(member);
        let can_retry = tried.len() < retries;
        // Kept only when a failure after sending could go to another member, and
        // the owner asked for retries in numbers: a copy costs about a fifth of
        // a proxied request's own work, paid on every request.
        let copy = if can_retry && idempotent && target.retry_count > 0 && pool.len() > tried.len() + 1 { replayable(&req) } else { None };
        let m = lease.member();
        let mut key = None;
        let endpoint = target.member_endpoint(channel, m, Some(&mut key));
        match upstream::send(endpoint, target.timeout, req).await {
            Ok(res) => {
                m.succeeded(pool.threshold_normal());
                return Ok(res);
            }
            Err(f) => {
                m.failed(pool.threshold_abnormal(), pool.passive_only());
                tracing::debug!(member = %m.authority, error = %f.error.message, "load-balance member failed");
                req = match (f.unsent, copy) {
                    (Some(unsent), _) if can_retry => unsent,
                    (None, Some(copy)) if can_retry && !f.timed_out => copy,
                    _ => return Err(f.error),
                };
                tried.push(m.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_counts() {
        assert_eq!(retries(-1, true), 1);
        assert_eq!(retries(-1, false), 0);
        assert_eq!(retries(0, true), 0);
        assert_eq!(retries(3, false), 3, "a request that never left may go again whatever its method");
        assert!(is_idempotent(&Method::PUT) && !is_idempotent(&Method::POST) && !is_idempotent(&Method::PATCH));
    }
}
