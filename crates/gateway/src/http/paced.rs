//! A request body that must keep arriving: it fails when no data comes for
//! the body timeout (nginx's `client_body_timeout`, between two reads), or
//! when, once that first stretch is over, it has averaged less than the
//! minimum rate (Apache's `MinRate`). A client that trickles a body one
//! byte a minute frees its connection and the backend's instead of holding
//! both. The timer is armed once per body and moved only when it fires.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Buf;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// How a request body must arrive.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Longest wait for the next piece of the body.
    pub timeout: Duration,
    /// Bytes per second the body must average after its first `timeout` (0: no minimum).
    pub min_rate: u32,
}

/// The body came too slowly.
#[derive(Debug)]
pub struct TooSlow;

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body arrived too slowly")
    }
}

impl std::error::Error for TooSlow {}

pub struct Paced<B> {
    inner: B,
    pace: Pace,
    started: Instant,
    last: Instant,
    received: u64,
    timer: Option<Pin<Box<Sleep>>>,
}

impl<B> Paced<B> {
    pub fn new(inner: B, pace: Pace) -> Self {
        let now = Instant::now();
        Self { inner, pace, started: now, last: now, received: 0, timer: None }
    }

    /// When the body is late, if nothing more arrives: the timeout after the
    /// last piece, or sooner when the average rate would fall below the minimum.
    fn deadline(pace: &Pace, started: Instant, last: Instant, received: u64) -> Instant {
        let idle = last + pace.timeout;
        if pace.min_rate == 0 {
            return idle;
        }
        // Received bytes buy time at the minimum rate, after a first stretch of `timeout`.
        let earned = Duration::from_secs_f64(received as f64 / f64::from(pace.min_rate));
        idle.min(started + pace.timeout + earned)
    }
}

impl<B> Body for Paced<B>
where
    B: Body + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let Some(Ok(frame)) = &frame {
                this.last = Instant::now();
                this.received += frame.data_ref().map_or(0, |d| d.remaining() as u64);
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        // Nothing ready: wait no longer than the deadline (the timer is moved only when it fires early).
        loop {
            let deadline = Self::deadline(&this.pace, this.started, this.last, this.received);
            let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            ready!(timer.as_mut().poll(cx));
            if Instant::now() >= deadline {
                return Poll::Ready(Some(Err(Box::new(TooSlow))));
            }
            timer.as_mut().reset(deadline);
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether an error (or one of its sources) is a body that came too slowly.
pub fn is_too_slow(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(s) = source {
        if s.is::<TooSlow>() {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn trickle(gaps: Vec<(u64, &'static [u8])>) -> impl Body<Data = bytes::Bytes, Error = std::convert::Infallible> + Unpin {
        let stream = futures_util::stream::unfold(gaps.into_iter(), |mut gaps| async move {
            let (wait, data) = gaps.next()?;
            tokio::time::sleep(Duration::from_secs(wait)).await;
            Some((Ok(Frame::data(bytes::Bytes::from_static(data))), gaps))
        });
        StreamBody::new(Box::pin(stream))
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_keeps_coming_is_read_whole() {
        let pace = Pace { timeout: Duration::from_secs(10), min_rate: 0 };
        let body = Paced::new(trickle(vec![(9, b"a"), (9, b"b"), (9, b"c")]), pace);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "abc");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_the_timeout_fails() {
        let pace = Pace { timeout: Duration::from_secs(10), min_rate: 0 };
        let body = Paced::new(trickle(vec![(1, b"a"), (11, b"b")]), pace);
        let e = body.collect().await.unwrap_err();
        assert!(is_too_slow(&*e), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickle_below_the_minimum_rate_fails() {
        // 1 byte every 5 s never pauses 10 s, but averages 0.2 B/s against a minimum of 1 B/s:
        // after the first 10 s each byte earns 1 s more, so it fails at 10 + n s with n bytes in.
        let pace = Pace { timeout: Duration::from_secs(10), min_rate: 1 };
        let start = Instant::now();
        let body = Paced::new(trickle((0..20).map(|_| (5, &b"x"[..])).collect()), pace);
        let e = body.collect().await.unwrap_err();
        assert!(is_too_slow(&*e));
        let took = start.elapsed();
        assert!(took >= Duration::from_secs(12) && took <= Duration::from_secs(15), "{took:?}");
    }
}
