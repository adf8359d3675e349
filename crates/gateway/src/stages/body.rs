//! The request body: passed through as a stream unless a stage needs it
//! whole (a signature covering it, form fields declared as parameters, a
//! function's event, an authorizer that asks for it); then read once, within
//! the size limit, and sent on as read. Either way it must keep arriving
//! (see [`Paced`]), or the caller gets 408.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::http::error::{GatewayError, errors};
use crate::http::paced::{self, Pace, Paced};
use crate::observe::metrics::{self, Refusal};

/// The body as the stages after this one see it: read whole (`Ok`), or still
/// a stream (`Err`) to be passed through untouched.
pub type RequestBody = Result<Bytes, ClientBody>;

/// The caller's body as it arrives, at the pace and within the size it must keep.
pub type ClientBody = Limited<Paced<Incoming>>;

/// How a request body must arrive: at a pace, and up to a size (413 beyond).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub pace: Pace,
    pub max_size: usize,
}

/// Reads the body whole when `whole`; a body declared larger than the limit is refused first.
pub async fn read(headers: &http::HeaderMap, body: Incoming, whole: bool, limits: BodyLimits) -> Result<RequestBody, GatewayError> {
    check_length(headers, limits.max_size)?;
    // Most calls are bodiless GETs: nothing to collect, and a body in hand can be sent again.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Ok(Bytes::new()));
    }
    let body = Limited::new(Paced::new(body, limits.pace), limits.max_size);
    if !whole {
        return Ok(Err(body));
    }
    match body.collect().await {
        Ok(collected) => Ok(Ok(collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(errors::BODY_TOO_LARGE),
        Err(e) if paced::is_too_slow(&*e) => {
            metrics::refused(Refusal::BodyTimeout);
            Err(errors::BODY_TIMEOUT)
        }
        Err(_) => Err(errors::BAD_PARAMETER.with_message("The request body could not be read".into())),
    }
}

/// Whether the body is an `application/x-www-form-urlencoded` form.
pub fn is_form(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

fn check_length(headers: &http::HeaderMap, max: usize) -> Result<(), GatewayError> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) { Err(errors::BODY_TOO_LARGE) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_known_by_their_content_type() {
        let mut h = http::HeaderMap::new();
        assert!(!is_form(&h));
        h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("Application/X-WWW-Form-Urlencoded; charset=utf-8"));
        assert!(is_form(&h));
        h.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(1001));
        assert_eq!(check_length(&h, 1000).unwrap_err().status, 413);
        assert!(check_length(&h, 1001).is_ok());
    }
}
