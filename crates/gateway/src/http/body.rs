//! The response body the gateway sends: a ready buffer, or a backend's body
//! streamed through as it arrives. An enum rather than a boxed trait object,
//! so responses cost no extra allocation.
//!
//! The body also carries the request's [`Exchange`]: it counts the bytes
//! sent, and when the body is dropped (fully sent, or the caller went away)
//! the exchange is finished — metrics recorded and the access log line written.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};

use crate::observe::Exchange;

pub struct Body {
    kind: Kind,
    exchange: Option<Box<Exchange>>,
}

enum Kind {
    Full(Option<Bytes>),
    Stream(Incoming),
}

impl Body {
    pub fn empty() -> Self {
        Self { kind: Kind::Full(None), exchange: None }
    }

    pub fn full(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        Self { kind: Kind::Full(if b.is_empty() { None } else { Some(b) }), exchange: None }
    }

    pub fn stream(body: Incoming) -> Self {
        Self { kind: Kind::Stream(body), exchange: None }
    }

    /// Attaches the exchange finished when this body is done.
    pub fn attach(&mut self, exchange: Box<Exchange>) {
        self.exchange = Some(exchange);
    }

    /// The ready buffer, if this body is one (for tests and small answers).
    #[cfg(test)]
    pub fn into_bytes(mut self) -> Option<Bytes> {
        match &mut self.kind {
            Kind::Full(b) => b.take(),
            Kind::Stream(_) => None,
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some(exchange) = self.exchange.take() {
            exchange.finish();
        }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let polled = match &mut this.kind {
            Kind::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(s) => Pin::new(s).poll_frame(cx),
        };
        if let (Poll::Ready(Some(Ok(frame))), Some(exchange)) = (&polled, &mut this.exchange)
            && let Some(data) = frame.data_ref()
        {
            exchange.bytes += data.len() as u64;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(b) => b.is_none(),
            Kind::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Stream(s) => s.size_hint(),
        }
    }
}
