//! Request smuggling's classic form on HTTP/1.1: a request with both
//! `Content-Length` and `Transfer-Encoding` (and its cousin, two `Host`
//! headers, which the parser passes on as a list). RFC 9112 §6.3 lets a server
//! process it as chunked and close the connection, which the HTTP library
//! does — after dropping the `Content-Length` header, so the pipeline could
//! never tell. Causeway refuses such a request with `400` instead, never
//! serving it: this guard follows the request heads and bodies as they are
//! read, finds the heads that carry both, and spoils the blank line that
//! ends them, so that the parser answers `400 Bad Request` and closes.
//!
//! It reads line starts only (a memchr per line), and skips bodies by their
//! framing. After a request asking for an upgrade (`Upgrade`, `CONNECT`)
//! the connection may stop being HTTP, so the guard stops there; the
//! library's own RFC 9112 handling still applies to what follows.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, ReadBuf};

/// How much of a line is kept to recognise it (a header name and a length).
const LINE_KEPT: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Reading a request head, line by line.
    Head,
    /// A body of known length: this many bytes left.
    Fixed(u64),
    /// A chunked body: reading a chunk-size line (the size so far, and whether an extension started).
    ChunkSize(u64, bool),
    /// A chunk's data: this many bytes left.
    ChunkData(u64),
    /// The line end after a chunk's data.
    ChunkEnd,
    /// The trailer lines after the last chunk.
    Trailers,
    /// No longer followed: an upgrade, or framing the parser refuses anyway.
    Off,
}

/// What the current request head has shown so far.
#[derive(Debug, Default, Clone, Copy)]
struct HeadSeen {
    request_line: bool,
    content_length: Option<Option<u64>>,
    chunked: bool,
    transfer_encoding: bool,
    upgrade: bool,
    host: bool,
    second_host: bool,
}

/// Follows the requests read on an HTTP/1.1 connection.
#[derive(Debug)]
pub(super) struct Scanner {
    framing: Framing,
    head: HeadSeen,
    line: [u8; LINE_KEPT],
    line_len: usize,
}

impl Scanner {
    pub(super) fn new() -> Self {
        Scanner { framing: Framing::Head, head: HeadSeen::default(), line: [0; LINE_KEPT], line_len: 0 }
    }

    /// Takes the next bytes read; spoils the end of any head that carries both framings. Whether it did.
    pub(super) fn scan(&mut self, data: &mut [u8]) -> bool {
        let mut spoiled = false;
        let mut at = 0;
        while at < data.len() {
            let rest = &data[at..];
            match self.framing {
                Framing::Off => return spoiled,
                Framing::Head | Framing::Trailers if self.line_len > 0 => {
                    // A line begun in an earlier read: its start was kept.
                    match memchr::memchr(b'\n', rest) {
                        None => {
                            self.keep(rest);
                            at = data.len();
                        }
                        Some(end) => {
                            self.keep(&rest[..end]);
                            at += end + 1;
                            let (kept, len) = (self.line, self.line_len);
                            self.line_len = 0;
                            if self.line_ended(&kept[..len], len == LINE_KEPT) {
                                // The blank line's LF becomes a NUL: the head no longer parses.
                                data[at - 1] = 0;
                                spoiled = true;
                            }
                        }
                    }
                }
                Framing::Head | Framing::Trailers => {
                    // Whole lines in this read, read in place.
                    let mut start = 0;
                    let mut spoil = None;
                    for end in memchr::memchr_iter(b'\n', rest) {
                        let line = &rest[start..end];
                        start = end + 1;
                        if self.head.request_line && self.framing == Framing::Head && !matches!(line, [] | [b'\r']) {
                            // A header line: most need no look but their first letter.
                            if line.first().is_some_and(|b| matches!(b | 0x20, b'c' | b't' | b'u' | b'h')) {
                                self.header(line, false);
                            }
                            continue;
                        }
                        if self.line_ended(line, false) {
                            spoil = Some(at + end);
                        }
                        if !matches!(self.framing, Framing::Head | Framing::Trailers) {
                            break;
                        }
                    }
                    if let Some(lf) = spoil {
                        data[lf] = 0;
                        spoiled = true;
                    }
                    if matches!(self.framing, Framing::Head | Framing::Trailers) {
                        self.keep(&data[at + start..]);
                        at = data.len();
                    } else {
                        at += start;
                    }
                }
                Framing::Fixed(left) => {
                    let n = left.min(rest.len() as u64);
                    at += n as usize;
                    self.framing = if n == left { Framing::Head } else { Framing::Fixed(left - n) };
                }
                Framing::ChunkData(left) => {
                    let n = left.min(rest.len() as u64);
                    at += n as usize;
                    self.framing = if n == left { Framing::ChunkEnd } else { Framing::ChunkData(left - n) };
                }
                Framing::ChunkEnd => match memchr::memchr(b'\n', rest) {
                    None => at = data.len(),
                    Some(end) => {
                        at += end + 1;
                        self.framing = Framing::ChunkSize(0, false);
                    }
                },
                Framing::ChunkSize(size, extension) => {
                    let byte = rest[0];
                    at += 1;
                    self.framing = match byte {
                        b'\n' if size == 0 => Framing::Trailers,
                        b'\n' => Framing::ChunkData(size),
                        _ if extension || byte == b'\r' => Framing::ChunkSize(size, extension),
                        b';' | b' ' | b'\t' => Framing::ChunkSize(size, true),
                        _ => match (char::from(byte).to_digit(16), size.checked_mul(16)) {
                            (Some(digit), Some(shifted)) => Framing::ChunkSize(shifted + u64::from(digit), false),
                            // The parser refuses this body and ends the connection.
                            _ => Framing::Off,
                        },
                    };
                }
            }
        }
        spoiled
    }

    /// Keeps the start of the current line.
    fn keep(&mut self, bytes: &[u8]) {
        let room = LINE_KEPT - self.line_len;
        let n = room.min(bytes.len());
        self.line[self.line_len..self.line_len + n].copy_from_slice(&bytes[..n]);
        self.line_len += n;
    }

    /// A line of a head or of trailers has ended (`truncated`: only its start
    /// is known); true when it ends a head that must be refused.
    fn line_ended(&mut self, line: &[u8], truncated: bool) -> bool {
        let blank = line.is_empty() || line == b"\r";
        if self.framing == Framing::Trailers {
            if blank {
                self.framing = Framing::Head;
            }
            return false;
        }
        if !self.head.request_line {
            // Blank lines before a request line are allowed and skipped.
            if !blank {
                self.head.request_line = true;
                self.head.upgrade = line.starts_with(b"CONNECT ");
            }
            return false;
        }
        if !blank {
            self.header(line, truncated);
            return false;
        }
        let head = std::mem::take(&mut self.head);
        if (head.transfer_encoding && head.content_length.is_some()) || head.second_host {
            self.framing = Framing::Off;
            return true;
        }
        self.framing = if head.upgrade {
            Framing::Off
        } else if head.transfer_encoding {
            if head.chunked { Framing::ChunkSize(0, false) } else { Framing::Off }
        } else {
            match head.content_length {
                None | Some(Some(0)) => Framing::Head,
                Some(Some(n)) => Framing::Fixed(n),
                Some(None) => Framing::Off,
            }
        };
        false
    }

    /// Notes a header line's framing fields (names in any case; the parser
    /// refuses a space before the colon, so the name ends at it).
    fn header(&mut self, line: &[u8], truncated: bool) {
        let value = match line.first().map(|b| b | 0x20) {
            Some(b'c') if starts_with_ignore_case(line, b"content-length:") => &line[15..],
            Some(b't') if starts_with_ignore_case(line, b"transfer-encoding:") => {
                let value = trim(&line[18..]);
                self.head.transfer_encoding = true;
                // The last coding decides, as for the parser.
                self.head.chunked = value.len() >= 7 && value[value.len() - 7..].eq_ignore_ascii_case(b"chunked");
                return;
            }
            Some(b'u') if starts_with_ignore_case(line, b"upgrade:") => {
                self.head.upgrade = true;
                return;
            }
            Some(b'h') if starts_with_ignore_case(line, b"host:") => {
                self.head.second_host |= self.head.host;
                self.head.host = true;
                return;
            }
            _ => return,
        };
        let length = if truncated { None } else { std::str::from_utf8(trim(value)).ok().and_then(|v| v.parse::<u64>().ok()) };
        self.head.content_length = match self.head.content_length {
            Some(Some(before)) if Some(before) != length => Some(None),
            _ => Some(length),
        };
    }
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r'] = bytes {
        bytes = rest;
    }
    bytes
}

/// An HTTP/1.1 connection's transport with its requests followed.
pub(super) struct HeadGuard<I> {
    io: I,
    scanner: Scanner,
}

impl<I> HeadGuard<I> {
    pub(super) fn new(io: I) -> Self {
        HeadGuard { io, scanner: Scanner::new() }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for HeadGuard<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        if this.scanner.framing != Framing::Off {
            this.scanner.scan(&mut buf.filled_mut()[before..]);
        }
        Poll::Ready(Ok(()))
    }
}

super::passthrough::write_through!(HeadGuard);

#[cfg(test)]
mod tests {
    use super::*;

    /// Scans `stream` in pieces of `piece` bytes; the positions spoiled.
    fn spoiled(stream: &str, piece: usize) -> Vec<usize> {
        let mut bytes = stream.as_bytes().to_vec();
        let mut scanner = Scanner::new();
        for chunk in bytes.chunks_mut(piece) {
            scanner.scan(chunk);
        }
        bytes.iter().enumerate().filter(|(i, b)| **b == 0 && stream.as_bytes()[*i] != 0).map(|(i, _)| i).collect()
    }

    #[test]
    fn heads_with_both_framings_are_spoiled_at_their_end() {
        for piece in [1, 3, 7, 4096] {
            let smuggle = "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
            assert_eq!(spoiled(smuggle, piece), vec![smuggle.len() - 6], "piece {piece}");
            let reversed = "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\nCONTENT-LENGTH: 4\r\n\r\n0\r\n\r\n";
            assert_eq!(spoiled(reversed, piece).len(), 1, "piece {piece}");
        }
    }

    #[test]
    fn bodies_are_skipped_by_their_framing() {
        // A body that looks like a smuggling head is not one.
        let inner = "GET /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        let fixed = format!("POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n{inner}GET /b HTTP/1.1\r\n\r\n", inner.len());
        let chunked = format!("POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n{:x};ext=1\r\n{inner}\r\n0\r\nTrailer: t\r\n\r\nGET /b HTTP/1.1\r\n\r\n", inner.len());
        for piece in [1, 2, 5, 4096] {
            assert!(spoiled(&fixed, piece).is_empty(), "piece {piece}");
            assert!(spoiled(&chunked, piece).is_empty(), "piece {piece}");
        }
        // And the head after them is followed: a smuggling one after a chunked body is found.
        let after = format!("{chunked}POST /c HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(spoiled(&after, 3).len(), 1);
    }

    #[test]
    fn heads_with_two_hosts_are_spoiled() {
        for piece in [1, 4096] {
            assert_eq!(spoiled("GET / HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: b\r\n\r\n", piece).len(), 1);
            assert!(spoiled("GET / HTTP/1.1\r\nHost: a\r\nX-Host: b\r\n\r\n", piece).is_empty());
        }
    }

    #[test]
    fn upgrades_end_the_following() {
        let ws = "GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x01\x05hello\nContent-Length: 1\nTransfer-Encoding: chunked\n\n";
        assert!(spoiled(ws, 4096).is_empty());
    }

    #[test]
    fn ordinary_pipelined_requests_pass_untouched() {
        let stream = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /f HTTP/1.1\nContent-Length: 3\n\nabcGET /g HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        for piece in [1, 4096] {
            assert!(spoiled(stream, piece).is_empty());
        }
    }
}
