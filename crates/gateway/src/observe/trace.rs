//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>): a request's
//! place in a distributed trace. A valid `traceparent` from the caller is
//! kept — its trace id and flags — and the gateway's own span (the caller's
//! as its parent) is what backends and functions are told in the
//! `traceparent` they get; without one (or with a malformed one) the
//! gateway starts a trace. `tracestate` passes through untouched, as the
//! recommendation asks of a participant that adds nothing to it.
//!
//! Nothing is generated per request: the request id (32 random hex digits)
//! names a trace the gateway starts, and its second half is the gateway's
//! span id. What a request carries is only what the caller sent.

use http::HeaderMap;

use crate::observe::request_id::RequestId;

pub const TRACEPARENT: http::HeaderName = http::HeaderName::from_static("traceparent");

/// The caller's trace, if it sent a valid `traceparent` (ASCII hex throughout).
#[derive(Clone, Copy)]
pub struct TraceContext {
    caller: Option<Caller>,
}

#[derive(Clone, Copy)]
struct Caller {
    trace_id: [u8; 32],
    /// The caller's span: the gateway span's parent.
    parent_id: [u8; 16],
    flags: [u8; 2],
}

fn hex_str(bytes: &[u8]) -> &str {
    // Only lower-case hex digits are ever stored (request ids are too).
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn is_lower_hex(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

impl TraceContext {
    /// The caller's trace if its `traceparent` is valid, else none: the gateway starts one.
    pub fn of(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(TRACEPARENT).iter();
        // Exactly one header: two would leave the caller's trace in doubt.
        let caller = match (values.next(), values.next()) {
            (Some(value), None) => parse(value.as_bytes()),
            _ => None,
        };
        Self { caller }
    }

    /// The trace: the caller's, or the request's id.
    pub fn trace_id<'a>(&'a self, request: &'a RequestId) -> &'a str {
        match &self.caller {
            Some(c) => hex_str(&c.trace_id),
            None => request.as_str(),
        }
    }

    /// The gateway's span in it: the second half of the request id.
    pub fn span_id(request: &RequestId) -> &str {
        let half = &request.as_str()[16..];
        // An all-zero id is invalid; one in 2^64 requests would have it.
        if half.bytes().all(|b| b == b'0') { "0000000000000001" } else { half }
    }

    /// The caller's span, the gateway span's parent (none when the gateway started the trace).
    pub fn parent_id(&self) -> Option<&str> {
        self.caller.as_ref().map(|c| hex_str(&c.parent_id))
    }

    /// The caller asked for the trace to be recorded (a trace the gateway starts is).
    pub fn sampled(&self) -> bool {
        self.caller.as_ref().is_none_or(|c| u8::from_str_radix(hex_str(&c.flags), 16).is_ok_and(|f| f & 1 == 1))
    }

    /// `traceparent` for what the gateway calls: this trace, the gateway's span as parent
    /// (on the stack: made into a header value only where it is sent).
    pub fn traceparent(&self, request: &RequestId) -> [u8; 55] {
        let mut out = [0u8; 55];
        out[..3].copy_from_slice(b"00-");
        out[3..35].copy_from_slice(self.trace_id(request).as_bytes());
        out[35] = b'-';
        out[36..52].copy_from_slice(Self::span_id(request).as_bytes());
        out[52] = b'-';
        out[53..].copy_from_slice(self.caller.as_ref().map_or(b"01", |c| &c.flags));
        out
    }
}

/// `version-traceid-parentid-flags`: version 00 is exactly that; a later
/// version may add fields after another dash (its first four are read as 00's).
fn parse(v: &[u8]) -> Option<Caller> {
    if v.len() < 55 || v[2] != b'-' || v[35] != b'-' || v[52] != b'-' {
        return None;
    }
    let (version, trace, parent, flags) = (&v[..2], &v[3..35], &v[36..52], &v[53..55]);
    if !is_lower_hex(version) || version == b"ff" || (version == b"00" && v.len() != 55) || (v.len() > 55 && v[55] != b'-') {
        return None;
    }
    if !is_lower_hex(trace) || !is_lower_hex(parent) || !is_lower_hex(flags) || trace.iter().all(|&b| b == b'0') || parent.iter().all(|&b| b == b'0') {
        return None;
    }
    let mut t = [0u8; 32];
    t.copy_from_slice(trace);
    let mut p = [0u8; 16];
    p.copy_from_slice(parent);
    Some(Caller { trace_id: t, parent_id: p, flags: [flags[0], flags[1]] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::request_id;
    use http::HeaderValue;

    fn with(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(TRACEPARENT, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn a_callers_trace_is_kept_with_the_gateway_as_the_new_parent() {
        let id = request_id::next();
        let t = TraceContext::of(&with(&[CALLER]));
        assert_eq!(t.trace_id(&id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(t.parent_id(), Some("b7ad6b7169203331"));
        assert!(t.sampled());
        let sent = t.traceparent(&id);
        let sent = std::str::from_utf8(&sent).unwrap();
        assert_eq!(&sent[..36], "00-0af7651916cd43dd8448eb211c80319c-");
        assert_eq!(&sent[36..52], TraceContext::span_id(&id));
        assert_eq!(TraceContext::span_id(&id), &id.as_str()[16..]);
        assert!(sent.ends_with("-01"));
        // Not sampled stays not sampled.
        let t = TraceContext::of(&with(&["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"]));
        assert!(!t.sampled());
        assert!(t.traceparent(&id).ends_with(b"-00"));
        // A later version with more fields: its first four are read.
        let t = TraceContext::of(&with(&["01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-future"]));
        assert_eq!(t.trace_id(&id), "0af7651916cd43dd8448eb211c80319c");
    }

    #[test]
    fn without_a_valid_one_the_gateway_starts_a_trace_named_by_the_request_id() {
        let id = request_id::next();
        for bad in [
            &[][..],
            &["00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01"][..], // upper case
            &["00-00000000000000000000000000000000-b7ad6b7169203331-01"][..], // zero trace id
            &["00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"][..], // zero parent
            &["ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"][..], // version ff
            &["00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-x"][..], // 00 with more
            &["00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01"][..], // short parent
            &[CALLER, CALLER][..], // two headers
        ] {
            let t = TraceContext::of(&with(bad));
            assert_eq!(t.trace_id(&id), id.as_str(), "{bad:?}");
            assert_eq!(t.parent_id(), None);
            assert!(t.sampled());
            let sent = t.traceparent(&id);
            assert_eq!(std::str::from_utf8(&sent).unwrap(), format!("00-{}-{}-01", id.as_str(), &id.as_str()[16..]));
        }
    }
}
