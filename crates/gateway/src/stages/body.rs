//! The request body: passed through as a stream unless a stage needs it
//! whole (a signature covering it, form fields declared as parameters, a
//! function's event, an authorizer that asks for it); then read once, within
//! the size limit, and sent on as read.

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::http::error::{GatewayError, errors};

/// Largest request body passed to a backend (the cloud gateways' 12 MiB).
pub const MAX_REQUEST_BODY: usize = 12 << 20;

/// The body as the stages after this one see it: read whole (`Ok`), or still
/// a stream (`Err`) to be passed through untouched.
pub type RequestBody = Result<Bytes, Incoming>;

/// Reads the body whole when `whole`; a body declared larger than the limit is refused first.
pub async fn read(headers: &http::HeaderMap, body: Incoming, whole: bool) -> Result<RequestBody, GatewayError> {
    check_length(headers)?;
    // Most calls are bodiless GETs: nothing to collect, and a body in hand can be sent again.
    if hyper::body::Body::is_end_stream(&body) {
        return Ok(Ok(Bytes::new()));
    }
    if !whole {
        return Ok(Err(body));
    }
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(Ok(collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(errors::BODY_TOO_LARGE),
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

fn check_length(headers: &http::HeaderMap) -> Result<(), GatewayError> {
    let declared = headers.get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_REQUEST_BODY as u64) { Err(errors::BODY_TOO_LARGE) } else { Ok(()) }
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
        h.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(MAX_REQUEST_BODY as u64 + 1));
        assert_eq!(check_length(&h).unwrap_err().status, 413);
    }
}
