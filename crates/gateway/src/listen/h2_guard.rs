//! A budget for the HTTP/2 frames that make a server work without asking
//! it anything: PING, SETTINGS, PRIORITY, RST_STREAM and frames with an
//! empty payload. Floods of them (CVE-2019-9512, -9515, -9518) cost CPU and
//! answers while no request is made; h2 bounds the memory they take (one
//! pending PONG or SETTINGS ACK at a time), this bounds their number. The
//! guard reads frame heads as they pass on the client's side of the
//! connection and ends it when the budget runs out. Rapid reset
//! (CVE-2023-44487) and CONTINUATION floods are h2's own limits (see `conn`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use tokio::io::{AsyncRead, ReadBuf};

use crate::observe::metrics::{self, Refusal};

/// Control frames a connection may send at once…
const BURST: f64 = 1000.0;
/// …and per second after that (a keep-alive PING every few seconds, a
/// browser cancelling streams, settle far below it).
const PER_SECOND: f64 = 100.0;
const PREFACE_LEN: usize = 24;

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const PRIORITY: u8 = 0x2;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// Follows the frames on the client's side of an HTTP/2 connection.
#[derive(Debug)]
pub(super) struct Scanner {
    preface_left: usize,
    head: [u8; 9],
    head_len: usize,
    payload_left: usize,
    tokens: f64,
    refilled: Instant,
}

impl Scanner {
    pub(super) fn new() -> Self {
        Scanner { preface_left: PREFACE_LEN, head: [0; 9], head_len: 0, payload_left: 0, tokens: BURST, refilled: Instant::now() }
    }

    /// Takes the next bytes read from the client; an error once the control-frame budget is spent.
    pub(super) fn scan(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let skip = if self.preface_left > 0 {
                let n = self.preface_left.min(data.len());
                self.preface_left -= n;
                n
            } else if self.payload_left > 0 {
                let n = self.payload_left.min(data.len());
                self.payload_left -= n;
                n
            } else {
                let n = (9 - self.head_len).min(data.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
                self.head_len += n;
                if self.head_len == 9 {
                    self.head_len = 0;
                    let len = usize::from(self.head[0]) << 16 | usize::from(self.head[1]) << 8 | usize::from(self.head[2]);
                    self.payload_left = len;
                    self.frame(len, self.head[3], self.head[4])?;
                }
                n
            };
            data = &data[skip..];
        }
        Ok(())
    }

    fn frame(&mut self, len: usize, kind: u8, flags: u8) -> io::Result<()> {
        let costs = match kind {
            DATA => len == 0 && flags & END_STREAM == 0,
            HEADERS if len > 0 => {
                // A request may also cancel itself or set its priority.
                self.tokens = (self.tokens + 1.0).min(BURST);
                false
            }
            HEADERS => flags & END_STREAM == 0,
            CONTINUATION => len == 0 && flags & END_HEADERS == 0,
            PRIORITY | RST_STREAM => true,
            SETTINGS | PING => flags & ACK == 0,
            _ => false,
        };
        if !costs {
            return Ok(());
        }
        if self.tokens < 1.0 {
            let now = Instant::now();
            self.tokens = (self.tokens + now.duration_since(self.refilled).as_secs_f64() * PER_SECOND).min(BURST);
            self.refilled = now;
            if self.tokens < 1.0 {
                return Err(io::Error::other("HTTP/2 control frame flood"));
            }
        }
        self.tokens -= 1.0;
        Ok(())
    }
}

/// An HTTP/2 connection's transport with the frame budget on what it reads.
pub(super) struct FrameGuard<I> {
    io: I,
    scanner: Scanner,
}

impl<I> FrameGuard<I> {
    pub(super) fn new(io: I) -> Self {
        FrameGuard { io, scanner: Scanner::new() }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for FrameGuard<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if let Err(e) = this.scanner.scan(&buf.filled()[before..]) {
            metrics::refused(Refusal::Http2Flood);
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(()))
    }
}

super::passthrough::write_through!(FrameGuard);

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len();
        let mut f = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn preface() -> Vec<u8> {
        let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        bytes.extend(frame(SETTINGS, 0, 0, &[]));
        bytes
    }

    #[test]
    fn requests_with_bodies_never_spend_the_budget() {
        let mut scanner = Scanner::new();
        scanner.scan(&preface()).unwrap();
        for stream in (1..20_000u32).step_by(2) {
            let mut bytes = frame(HEADERS, END_HEADERS, stream, &[0x82, 0x84, 0x86]);
            bytes.extend(frame(DATA, 0, stream, &[7; 300]));
            bytes.extend(frame(DATA, END_STREAM, stream, &[]));
            bytes.extend(frame(PING, ACK, 0, &[0; 8]));
            bytes.extend(frame(SETTINGS, ACK, 0, &[]));
            scanner.scan(&bytes).unwrap();
        }
    }

    #[test]
    fn floods_of_each_control_frame_end_the_connection() {
        for flood in [frame(PING, 0, 0, &[0; 8]), frame(SETTINGS, 0, 0, &[]), frame(DATA, 0, 1, &[]), frame(PRIORITY, 0, 3, &[0, 0, 0, 1, 16]), frame(RST_STREAM, 0, 5, &[0, 0, 0, 8])] {
            let mut scanner = Scanner::new();
            scanner.scan(&preface()).unwrap();
            let bytes: Vec<u8> = flood.iter().copied().cycle().take(flood.len() * 5000).collect();
            assert!(scanner.scan(&bytes).is_err(), "a flood of {:?} went through", flood[3]);
        }
    }

    #[test]
    fn frames_split_across_reads_are_followed() {
        let mut scanner = Scanner::new();
        let mut bytes = preface();
        bytes.extend(frame(DATA, 0, 1, &[1; 70_000][..16_384]));
        for _ in 0..1500 {
            bytes.extend(frame(PING, 0, 0, &[0; 8]));
        }
        let mut ended = false;
        for byte in bytes.chunks(7) {
            if scanner.scan(byte).is_err() {
                ended = true;
                break;
            }
        }
        assert!(ended, "1500 PINGs read a few bytes at a time went through");
        // Exactly the burst is allowed.
        let mut scanner = Scanner::new();
        let mut bytes = preface();
        for _ in 0..999 {
            bytes.extend(frame(PING, 0, 0, &[0; 8]));
        }
        scanner.scan(&bytes).unwrap();
    }
}
