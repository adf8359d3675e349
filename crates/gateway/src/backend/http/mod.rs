//! HTTP backends: the target (`target`: address, channel or weighted list),
//! the request built from the caller's (`mapping`), signed when the API has
//! a signature key (`signing`), sent with retries (`forward`), or joined
//! with the caller as a WebSocket connection (`websocket`).

pub(crate) mod forward;
pub(crate) mod mapping;
pub(crate) mod signing;
pub(crate) mod target;
pub(crate) mod websocket;

use std::time::{Duration, Instant};

use http::{HeaderMap, Request, Response};
use http_body_util::{Either, Full};

use crate::backend::http::mapping::MappingInput;
use crate::backend::http::signing::BackendSigner;
use crate::backend::http::target::HttpTarget;
use crate::http::body::Body;
use crate::http::error::GatewayError;
use crate::http::headers::remove_hop_by_hop;
use crate::stages::body::RequestBody;
use crate::upstream::UpBody;
use crate::upstream::balance::{Channels, PickInput};

/// The backend request: mapped from the caller's, with its body (read, or
/// streamed within the size limit), signed when `signer` is given.
pub fn build(
    target: &HttpTarget,
    input: &MappingInput<'_>,
    headers: HeaderMap,
    body: RequestBody,
    signer: Option<&BackendSigner>,
    now_secs: i64,
) -> Result<Request<UpBody>, GatewayError> {
    let (headers, body) = match body {
        Ok(read) if target.mapping.maps_body() || input.forwarding.body == causeway_model::api::ForwardMode::Mapping => {
            let mut headers = headers;
            let mapped = target.mapping.map_body(input, &mut headers, read)?;
            (headers, Ok(mapped))
        }
        other => (headers, other),
    };
    let read = if signer.is_some() { body.as_ref().ok().cloned() } else { None };
    let body = match body {
        Ok(read) => Either::Right(Full::new(read)),
        Err(streamed) => Either::Left(streamed),
    };
    let mut req = target.mapping.build(input, headers, body)?;
    if let Some(signer) = signer {
        signing::sign(signer, &mut req, read.as_deref(), now_secs)?;
    }
    Ok(req)
}

/// Sends the request and streams the answer back; `latency` is the time to its headers.
pub async fn call(
    channels: &Channels,
    target: &HttpTarget,
    pick: &PickInput<'_>,
    req: Request<UpBody>,
    latency: &mut Option<Duration>,
) -> Result<Response<Body>, GatewayError> {
    let sent = Instant::now();
    let res = forward::forward(channels, target, pick, req).await?;
    *latency = Some(sent.elapsed());
    let (mut parts, body) = res.into_parts();
    // Usually just the backend's `Connection: keep-alive`.
    remove_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::stream(body)))
}
