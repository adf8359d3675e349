//! Baidu AI Cloud's `bce-auth-v1`, which Baidu API Gateway's APP
//! authentication reads from `X-Bce-Signature` (its other services from
//! `Authorization`):
//!
//! ```text
//! bce-auth-v1/{accessKeyId}/{timestamp}/{expirationPeriodInSeconds}/{signedHeaders}/{signature}
//! signing key       = hex(hmac-sha256(secret, "bce-auth-v1/{ak}/{timestamp}/{expiration}"))
//! canonical request = METHOD \n UriEncodeExceptSlash(path) \n canonical query \n canonical headers
//! signature         = hex(hmac-sha256(signing key, canonical request))
//! ```
//!
//! The query is `UriEncode(k)=UriEncode(v)` sorted (`authorization` left
//! out); headers are `UriEncode(lower(name)):UriEncode(trim(value))`, sorted
//! and joined by `\n`. An empty `signedHeaders` means Baidu's default set:
//! `host`, `content-md5`, `content-length`, `content-type` and every
//! `x-bce-*` header the request has (not the signature header itself, which
//! is added after signing); headers with empty values are left out, as
//! Baidu's SDKs leave them out.

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::HeaderSource;

pub const VERSION: &str = "bce-auth-v1";
/// Where Baidu API Gateway's APP authentication carries the authorization string.
pub const SIGNATURE_HEADER: &str = "x-bce-signature";
/// The headers signed when the authorization string names none (besides `x-bce-*`).
pub const DEFAULT_HEADERS: [&str; 4] = ["host", "content-md5", "content-length", "content-type"];

/// RFC 3986 unreserved characters stay; everything else is upper-case `%XX`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// The same, keeping `/` (for the path).
const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// A parsed authorization string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthString<'a> {
    pub access_key: &'a str,
    /// As sent, `yyyy-mm-ddThh:mm:ssZ`.
    pub timestamp: &'a str,
    /// Unix seconds of `timestamp`.
    pub signed_at: i64,
    pub expiration_secs: u32,
    /// Lower-case names as listed (`;`-separated); empty for the default set.
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

impl<'a> AuthString<'a> {
    pub fn parse(value: &'a str) -> Option<Self> {
        let mut f = value.trim().splitn(6, '/');
        if f.next()? != VERSION {
            return None;
        }
        let (access_key, timestamp, expiration, headers, signature) = (f.next()?, f.next()?, f.next()?, f.next()?, f.next()?);
        if access_key.is_empty() || signature.is_empty() || signature.contains('/') {
            return None;
        }
        Some(Self {
            access_key,
            timestamp,
            signed_at: parse_timestamp(timestamp)?,
            expiration_secs: expiration.parse().ok()?,
            signed_headers: headers.split(';').map(str::trim).filter(|h| !h.is_empty()).collect(),
            signature,
        })
    }

    /// The first four fields, which the signing key is derived from.
    fn prefix(&self) -> String {
        format!("{VERSION}/{}/{}/{}", self.access_key, self.timestamp, self.expiration_secs)
    }
}

/// `yyyy-mm-ddThh:mm:ssZ` (UTC) → Unix seconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z' {
        return None;
    }
    let compact = format!("{}{}{}T{}{}{}Z", &s[0..4], &s[5..7], &s[8..10], &s[11..13], &s[14..16], &s[17..19]);
    crate::parse_sdk_date(&compact)
}

/// Unix seconds → `yyyy-mm-ddThh:mm:ssZ`.
pub fn format_timestamp(unix: i64) -> String {
    let c = crate::format_sdk_date(unix);
    format!("{}-{}-{}T{}:{}:{}Z", &c[0..4], &c[4..6], &c[6..8], &c[9..11], &c[11..13], &c[13..15])
}

/// Why a signature's time is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeError {
    /// Signed more than [`crate::MAX_CLOCK_SKEW_SECS`] in the future.
    Early,
    /// Older than its expiration period.
    Expired,
}

/// A signature is valid from its timestamp (give or take the allowed clock
/// skew) for its expiration period.
pub fn check_time(auth: &AuthString<'_>, now: i64) -> Result<(), TimeError> {
    if auth.signed_at - now > crate::MAX_CLOCK_SKEW_SECS {
        return Err(TimeError::Early);
    }
    if now - auth.signed_at > i64::from(auth.expiration_secs) {
        return Err(TimeError::Expired);
    }
    Ok(())
}

fn encode(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
}

fn decode(s: &str) -> std::borrow::Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// The path as sent, decoded and encoded again keeping `/`.
pub fn canonical_uri(path: &str) -> String {
    encode(&decode(path), UNRESERVED_AND_SLASH)
}

/// `k=v` pairs (decoded, then encoded) sorted as strings and joined by `&`;
/// a bare key is `k=`, an `authorization` parameter is not signed.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let k = decode(k);
            (!k.is_empty() && !k.eq_ignore_ascii_case("authorization")).then(|| format!("{}={}", encode(&k, UNRESERVED), encode(&decode(v), UNRESERVED)))
        })
        .collect();
    pairs.sort_unstable();
    pairs.join("&")
}

/// The request's headers as `bce-auth-v1` sees them: names the caller sent.
pub trait HeaderList: HeaderSource {
    /// Every header name present, lower-case (repeated names may repeat).
    fn names(&self) -> Vec<String>;
}

impl HeaderList for http::HeaderMap {
    fn names(&self) -> Vec<String> {
        self.keys().map(|k| k.as_str().to_string()).collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderList for [(K, V)] {
    fn names(&self) -> Vec<String> {
        self.iter().map(|(k, _)| k.as_ref().to_ascii_lowercase()).collect()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderList for Vec<(K, V)> {
    fn names(&self) -> Vec<String> {
        self.as_slice().names()
    }
}

/// The lower-case header names a signature covers: those it lists, or the default set.
pub fn covered_headers(auth: &AuthString<'_>, headers: &(impl HeaderList + ?Sized)) -> Vec<String> {
    if !auth.signed_headers.is_empty() {
        return auth.signed_headers.iter().map(|h| h.to_ascii_lowercase()).collect();
    }
    let mut names: Vec<String> = headers
        .names()
        .into_iter()
        .filter(|n| (n.starts_with("x-bce-") && n != SIGNATURE_HEADER) || DEFAULT_HEADERS.contains(&n.as_str()))
        .collect();
    // `host` may come from the URI (HTTP/2's `:authority`), not the header list.
    if !names.iter().any(|n| n == "host") && headers.header("host").is_some() {
        names.push("host".into());
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// `name:value` lines, encoded, sorted and joined by `\n`.
pub fn canonical_headers(names: &[String], headers: &(impl HeaderSource + ?Sized)) -> String {
    let mut lines: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let v = headers.header(n)?.trim();
            (!v.is_empty()).then(|| format!("{}:{}", encode(n, UNRESERVED), encode(v, UNRESERVED)))
        })
        .collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// `METHOD \n URI \n query \n headers`.
pub fn canonical_request(method: &str, path: &str, query: &str, header_names: &[String], headers: &(impl HeaderSource + ?Sized)) -> String {
    format!("{}\n{}\n{}\n{}", method.to_ascii_uppercase(), canonical_uri(path), canonical_query(query), canonical_headers(header_names, headers))
}

fn hmac_hex(key: &[u8], data: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(data.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The hex signature of `canonical_request` under `secret` for this authorization string's prefix.
pub fn signature(secret: &str, auth: &AuthString<'_>, canonical_request: &str) -> String {
    let signing_key = hmac_hex(secret.as_bytes(), &auth.prefix());
    hmac_hex(signing_key.as_bytes(), canonical_request)
}

/// A request as received.
pub struct Request<'a, H: HeaderList + ?Sized> {
    pub method: &'a str,
    /// As sent (percent-encoded).
    pub path: &'a str,
    /// Without `?`.
    pub query: &'a str,
    pub headers: &'a H,
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// A header the signature lists was not sent.
    MissingHeader(String),
    /// The signature differs; the canonical request the gateway built, to show the caller.
    Signature(String),
}

/// Whether `auth` signs `req` with `secret` (time not checked: see [`check_time`]).
pub fn verify<H: HeaderList + ?Sized>(secret: &str, auth: &AuthString<'_>, req: &Request<'_, H>) -> Result<(), Mismatch> {
    let names = covered_headers(auth, req.headers);
    if let Some(missing) = names.iter().find(|n| req.headers.header(n).is_none()) {
        return Err(Mismatch::MissingHeader(missing.clone()));
    }
    let canonical = canonical_request(req.method, req.path, req.query, &names, req.headers);
    let expected = signature(secret, auth, &canonical);
    if bool::from(expected.as_bytes().ct_eq(auth.signature.to_ascii_lowercase().as_bytes())) { Ok(()) } else { Err(Mismatch::Signature(canonical)) }
}

/// Signs `req` at `now` (what a Baidu SDK does): the authorization string.
/// `signed_headers` empty signs the default set and leaves the field empty.
pub fn sign<H: HeaderList + ?Sized>(access_key: &str, secret: &str, req: &Request<'_, H>, now: i64, expiration_secs: u32, signed_headers: &[&str]) -> String {
    let timestamp = format_timestamp(now);
    let auth = AuthString { access_key, timestamp: &timestamp, signed_at: now, expiration_secs, signed_headers: signed_headers.to_vec(), signature: "" };
    let names = covered_headers(&auth, req.headers);
    let canonical = canonical_request(req.method, req.path, req.query, &names, req.headers);
    format!("{}/{}/{}", auth.prefix(), signed_headers.join(";"), signature(secret, &auth, &canonical))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(parse_timestamp("2015-04-27T08:23:49Z"), Some(1_430_123_029));
        assert_eq!(format_timestamp(1_430_123_029), "2015-04-27T08:23:49Z");
        for bad in ["2015-04-27 08:23:49Z", "2015-04-27T08:23:49", "2015-13-27T08:23:49Z", "20150427T082349Z", ""] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    /// The example of Baidu's "生成认证字符串" page; the signature is what
    /// bce-python-sdk 0.9.79's `bce_v1_signer.sign` gives for it.
    #[test]
    fn baidus_documented_example() {
        let headers = [
            ("Host", "bj.bcebos.com"),
            ("Date", "Mon, 27 Apr 2015 16:23:49 +0800"),
            ("Content-Type", "text/plain"),
            ("Content-Length", "8"),
            ("Content-Md5", "NFzcPqhviddjRNnSOGo4rw=="),
            ("x-bce-date", "2015-04-27T08:23:49Z"),
        ];
        let auth = AuthString::parse("bce-auth-v1/aafe8bd03b204a49ac2fe8a4ae04b2d1/2015-04-27T08:23:49Z/1800//x").unwrap();
        let names = covered_headers(&auth, &headers[..]);
        assert_eq!(names, ["content-length", "content-md5", "content-type", "host", "x-bce-date"]);
        let canonical = canonical_request("PUT", "/v1/test/myfolder/readme.txt", "partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851", &names, &headers[..]);
        assert_eq!(
            canonical,
            "PUT\n/v1/test/myfolder/readme.txt\npartNumber=9&uploadId=a44cc9bab11cbd156984767aad637851\n\
             content-length:8\ncontent-md5:NFzcPqhviddjRNnSOGo4rw%3D%3D\ncontent-type:text%2Fplain\nhost:bj.bcebos.com\nx-bce-date:2015-04-27T08%3A23%3A49Z"
        );
        assert_eq!(signature("4c2d8e9a3b5f4a1c8d7e6f5a4b3c2d1e", &auth, &canonical), "130cade42b11223182995a1ac30ea347a513ff090d608bb5497a5f9f5f5df287");
    }

    #[test]
    fn signs_and_verifies_the_listed_or_default_headers() {
        let headers = vec![("host", "g.example.com"), ("x-bce-date", "2026-12-05T10:00:00Z"), ("content-type", "application/json"), ("x-other", "not signed")];
        let req = Request { method: "post", path: "/v1/用户/a b", query: "b=2&a=1&authorization=x&e", headers: &headers };
        let now = 1_796_465_000;
        for listed in [&[][..], &["host", "x-bce-date"][..]] {
            let value = sign("ak", "sk", &req, now, 1800, listed);
            let auth = AuthString::parse(&value).unwrap();
            assert_eq!(auth.signed_headers, listed);
            assert_eq!(verify("sk", &auth, &req), Ok(()), "{value}");
            assert!(matches!(verify("other", &auth, &req), Err(Mismatch::Signature(_))));
            let moved = Request { path: "/v1/用户/a c", ..req };
            assert!(verify("sk", &auth, &moved).is_err());
            let mut changed = headers.clone();
            changed[1].1 = "2026-12-05T10:00:01Z";
            assert!(verify("sk", &auth, &Request { headers: &changed, ..req }).is_err());
            // Unsigned headers may change, and the signature header itself is never signed.
            let mut extra = headers.clone();
            extra[3].1 = "changed";
            extra.push(("x-bce-signature", value.as_str()));
            assert_eq!(verify("sk", &auth, &Request { headers: &extra, ..req }), Ok(()));
            assert_eq!(check_time(&auth, now + 1800), Ok(()));
            assert_eq!(check_time(&auth, now + 1801), Err(TimeError::Expired));
            assert_eq!(check_time(&auth, now - 3600), Err(TimeError::Early));
        }
        assert_eq!(canonical_uri("/v1/%E7%94%A8%E6%88%B7/a%20b"), canonical_uri("/v1/用户/a b"));
        assert_eq!(canonical_query("b=2&a=1&authorization=x&e&=z"), "a=1&b=2&e=");
        let value = sign("ak", "sk", &req, now, 60, &["host", "x-absent"]);
        let listed = AuthString::parse(&value).unwrap();
        assert_eq!(verify("sk", &listed, &req), Err(Mismatch::MissingHeader("x-absent".into())));
    }

    #[test]
    fn malformed_strings_do_not_parse() {
        for bad in [
            "",
            "bce-auth-v1",
            "bce-auth-v2/ak/2015-04-27T08:23:49Z/1800//sig",
            "bce-auth-v1//2015-04-27T08:23:49Z/1800//sig",
            "bce-auth-v1/ak/2015-04-27T08:23:49Z/-1//sig",
            "bce-auth-v1/ak/yesterday/1800//sig",
            "bce-auth-v1/ak/2015-04-27T08:23:49Z/1800/host/",
            "bce-auth-v1/ak/2015-04-27T08:23:49Z/1800/host/a/b",
        ] {
            assert_eq!(AuthString::parse(bad), None, "{bad}");
        }
    }
}
