//! The response body the gateway sends: a ready buffer, or a backend's body
//! streamed through as it arrives. An enum rather than a boxed trait object,
//! so responses cost no extra allocation.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};

pub enum Body {
    Full(Option<Bytes>),
    Stream(Incoming),
}

impl Body {
    pub fn empty() -> Self {
        Body::Full(None)
    }

    pub fn full(b: impl Into<Bytes>) -> Self {
        let b = b.into();
        if b.is_empty() { Body::Full(None) } else { Body::Full(Some(b)) }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(s) => Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(b) => b.is_none(),
            Body::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(s) => s.size_hint(),
        }
    }
}
