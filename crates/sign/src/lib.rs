//! Request signatures callers of the cloud gateways already produce.
//!
//! * [`sdk`]: `SDK-HMAC-SHA256`, the algorithm of Huawei APIG's app
//!   authentication and of its SDKs' AK/SK signing (management calls too).
//! * [`tencent`]: Tencent Cloud API Gateway's key-pair `hmac-sha1`.
//! * [`bce`]: Baidu AI Cloud's `bce-auth-v1` (`X-Bce-Signature` for APP APIs).
//! * [`jwt`]: the keys that verify an IAM issuer's JWTs.
//!
//! All verify over the request as received and compare in constant time.
//! Nothing here does I/O; headers are read through [`HeaderSource`].

#[doc(hidden)]
pub mod fuzz;
pub mod bce;
pub mod jwt;
pub mod sdk;
pub mod tencent;
mod time_formats;

pub use time_formats::{format_http_date, format_sdk_date, parse_http_date, parse_sdk_date};

/// How far a signed request's own timestamp may be from the server's clock.
pub const MAX_CLOCK_SKEW_SECS: i64 = 15 * 60;

/// Read access to a request's headers by lower-case name.
pub trait HeaderSource {
    /// The (first) value of the header named `lower_name`, if present and text.
    fn header(&self, lower_name: &str) -> Option<&str>;
}

impl HeaderSource for http::HeaderMap {
    fn header(&self, lower_name: &str) -> Option<&str> {
        // UTF-8 values are signed as sent; http's `to_str` would refuse them.
        self.get(lower_name).and_then(|v| std::str::from_utf8(v.as_bytes()).ok())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderSource for [(K, V)] {
    fn header(&self, lower_name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(lower_name)).map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderSource for Vec<(K, V)> {
    fn header(&self, lower_name: &str) -> Option<&str> {
        self.as_slice().header(lower_name)
    }
}
