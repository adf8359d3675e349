//! `SDK-HMAC-SHA256`, as Huawei's signers produce it:
//!
//! ```text
//! canonical request = METHOD \n canonical URI \n canonical query \n
//!                     name:value\n per signed header \n signed;headers \n payload hash
//! string to sign    = SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(sha256(canonical request))
//! signature         = hex(hmac-sha256(secret, string to sign))
//! Authorization: SDK-HMAC-SHA256 Access=<key>, SignedHeaders=<a;b>, Signature=<hex>
//! ```
//!
//! The canonical URI always ends in `/`; path segments and query keys and
//! values are percent-decoded, then encoded keeping only RFC 3986 unreserved
//! characters; the query is sorted by key, then value. The verifier rebuilds
//! the canonical request with the *client's* `SignedHeaders` list, because
//! clients add headers (`Content-Length`, `User-Agent`) after signing.

use std::borrow::Cow;

use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::HeaderSource;

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
/// The signing time, `YYYYMMDDTHHMMSSZ`.
pub const DATE_HEADER: &str = "x-sdk-date";
/// Overrides the payload hash (e.g. `UNSIGNED-PAYLOAD`).
pub const CONTENT_SHA256_HEADER: &str = "x-sdk-content-sha256";
/// The `X-Sdk-Content-Sha256` value of a request whose body is not signed.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// SHA-256 of the empty body.
pub const EMPTY_BODY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 unreserved characters stay; everything else is `%XX`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A request as the signature covers it.
pub struct Request<'a, H: HeaderSource + ?Sized> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    pub headers: &'a H,
    /// Hex SHA-256 of the body, or the client's `X-Sdk-Content-Sha256`: see [`payload_hash`].
    pub payload_hash: &'a str,
}

/// The payload hash a request is signed with: `X-Sdk-Content-Sha256` when
/// the client sent one, else the hex SHA-256 of `body`.
pub fn payload_hash<'h>(headers: &'h (impl HeaderSource + ?Sized), body: &[u8]) -> Cow<'h, str> {
    match headers.header(CONTENT_SHA256_HEADER) {
        Some(v) => Cow::Borrowed(v),
        None => Cow::Owned(sha256_hex(body)),
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    if data.is_empty() {
        return EMPTY_BODY_SHA256.to_string();
    }
    hex::encode(Sha256::digest(data))
}

fn decode(s: &str) -> Cow<'_, str> {
    percent_decode_str(s).decode_utf8_lossy()
}

/// Where a canonical request goes: a `String` to show it, or straight into
/// the SHA-256 that the string to sign needs (no copy on the request path).
trait Sink {
    fn put(&mut self, s: &str);

    fn put_encoded(&mut self, decoded: &str) {
        for chunk in utf8_percent_encode(decoded, UNRESERVED) {
            self.put(chunk);
        }
    }
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, s: &str) {
        self.update(s.as_bytes());
    }
}

fn write_uri(out: &mut impl Sink, path: &str) {
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.put("/");
        }
        out.put_encoded(&decode(seg));
    }
    // Encoded segments never end in `/`: only a trailing empty segment does.
    if !path.ends_with('/') {
        out.put("/");
    }
}

/// The canonical URI: each segment decoded and re-encoded, ending in `/`.
pub fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 1);
    write_uri(&mut out, path);
    out
}

/// How a `+` in the query string is read: Huawei's Python signer keeps it
/// (`%2B`), signers built on form decoding (Go's `url.Query`) read a space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plus {
    Literal,
    Space,
}

fn decode_part(s: &str, plus: Plus) -> Cow<'_, str> {
    match plus {
        Plus::Space if s.contains('+') => Cow::Owned(decode(&s.replace('+', " ")).into_owned()),
        _ => decode(s),
    }
}

fn write_query(out: &mut impl Sink, query: &str, plus: Plus) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (!k.is_empty()).then(|| (decode_part(k, plus), decode_part(v, plus)))
        })
        .collect();
    pairs.sort_unstable();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.put("&");
        }
        out.put_encoded(k);
        out.put("=");
        out.put_encoded(v);
    }
}

/// The canonical query: decoded pairs sorted by key then value, re-encoded,
/// `k=v` joined by `&` (a bare key is `k=`).
pub fn canonical_query(query: &str, plus: Plus) -> String {
    let mut out = String::with_capacity(query.len() + 8);
    write_query(&mut out, query, plus);
    out
}

fn write_canonical<H: HeaderSource + ?Sized>(out: &mut impl Sink, req: &Request<'_, H>, signed_headers: &[&str], plus: Plus) {
    if req.method.bytes().any(|b| b.is_ascii_lowercase()) {
        out.put(&req.method.to_ascii_uppercase());
    } else {
        out.put(req.method);
    }
    out.put("\n");
    write_uri(out, req.path);
    out.put("\n");
    write_query(out, req.query, plus);
    out.put("\n");
    for name in signed_headers {
        out.put(name);
        out.put(":");
        out.put(req.headers.header(name).unwrap_or_default().trim());
        out.put("\n");
    }
    out.put("\n");
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.put(";");
        }
        out.put(name);
    }
    out.put("\n");
    out.put(req.payload_hash);
}

/// The canonical request over the given signed headers (lower-case names).
pub fn canonical_request<H: HeaderSource + ?Sized>(req: &Request<'_, H>, signed_headers: &[&str], plus: Plus) -> String {
    let mut out = String::with_capacity(256);
    write_canonical(&mut out, req, signed_headers, plus);
    out
}

pub fn string_to_sign(date: &str, canonical_request: &str) -> String {
    format!("{ALGORITHM}\n{date}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())))
}

/// An HMAC-SHA256 key made ready once (its padded key blocks hashed), for
/// the many signatures one secret checks or makes.
#[derive(Clone)]
pub struct SigningKey(Hmac<Sha256>);

impl SigningKey {
    pub fn new(secret: &str) -> Self {
        // HMAC takes keys of any length: this cannot fail.
        Self(<Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC accepts any key length")))
    }

    /// The raw signature over a request: HMAC of the string to sign, fed
    /// piecewise with the canonical request hashed as it is written.
    fn sign_request<H: HeaderSource + ?Sized>(&self, date: &str, req: &Request<'_, H>, signed_headers: &[&str], plus: Plus) -> [u8; 32] {
        let mut hasher = Sha256::new();
        write_canonical(&mut hasher, req, signed_headers, plus);
        let mut hex_digest = [0u8; 64];
        // 32 bytes always fit 64 hex digits.
        let _ = hex::encode_to_slice(hasher.finalize(), &mut hex_digest);
        let mut mac = self.0.clone();
        mac.update(ALGORITHM.as_bytes());
        mac.update(b"\n");
        mac.update(date.as_bytes());
        mac.update(b"\n");
        mac.update(&hex_digest);
        mac.finalize().into_bytes().into()
    }
}

/// Never prints the key.
impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

/// Hex HMAC-SHA256 of the string to sign, keyed by the app secret.
pub fn signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = SigningKey::new(secret).0;
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A parsed `Authorization: SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub access: &'a str,
    /// Lower-case names, in the client's order.
    pub signed_headers: Vec<&'a str>,
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    /// `None` when the header is not an `SDK-HMAC-SHA256` authorization or
    /// lacks one of its three fields.
    pub fn parse(value: &'a str) -> Option<Self> {
        let rest = value.trim_start().strip_prefix(ALGORITHM)?;
        if !rest.starts_with(' ') {
            return None;
        }
        let (mut access, mut signed, mut signature) = (None, None, None);
        for field in rest.split(',') {
            let (k, v) = field.trim().split_once('=')?;
            match k.trim() {
                "Access" => access = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => signature = Some(v.trim()),
                _ => {}
            }
        }
        let signed_headers: Vec<&str> = signed?.split(';').filter(|h| !h.is_empty()).collect();
        let (access, signature) = (access.filter(|a| !a.is_empty())?, signature.filter(|s| !s.is_empty())?);
        if signed_headers.iter().any(|h| h.bytes().any(|b| b.is_ascii_uppercase())) {
            return None;
        }
        Some(Self { access, signed_headers, signature })
    }
}

/// The value of the `Authorization` header.
pub fn authorization_header(access: &str, signed_headers: &[&str], signature: &str) -> String {
    format!("{ALGORITHM} Access={access}, SignedHeaders={}, Signature={signature}", signed_headers.join(";"))
}

/// Why a signature did not verify, with the gateway's canonical request for
/// the caller to compare with their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub canonical_request: String,
}

impl Mismatch {
    /// The canonical request on one line, newlines shown as `|` (as the cloud gateway reports it).
    pub fn one_line(&self) -> String {
        self.canonical_request.replace('\n', "|")
    }
}

/// Checks `auth` against the request and the app's secret. The date is the
/// request's `X-Sdk-Date` (its skew is the caller's check, see [`check_date`]).
pub fn verify<H: HeaderSource + ?Sized>(secret: &str, date: &str, req: &Request<'_, H>, auth: &Authorization<'_>) -> Result<(), Mismatch> {
    verify_with(&SigningKey::new(secret), date, req, auth)
}

/// [`verify`] with a key made ready beforehand.
pub fn verify_with<H: HeaderSource + ?Sized>(key: &SigningKey, date: &str, req: &Request<'_, H>, auth: &Authorization<'_>) -> Result<(), Mismatch> {
    let mismatch = || Mismatch { canonical_request: canonical_request(req, &auth.signed_headers, Plus::Literal) };
    let mut given = [0u8; 32];
    if hex::decode_to_slice(auth.signature, &mut given).is_err() {
        return Err(mismatch());
    }
    if bool::from(key.sign_request(date, req, &auth.signed_headers, Plus::Literal)[..].ct_eq(&given[..])) {
        return Ok(());
    }
    if req.query.contains('+') && bool::from(key.sign_request(date, req, &auth.signed_headers, Plus::Space)[..].ct_eq(&given[..])) {
        return Ok(());
    }
    Err(mismatch())
}

/// Why an `X-Sdk-Date` is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateError {
    Missing,
    Malformed,
    /// Further than [`crate::MAX_CLOCK_SKEW_SECS`] from the server's time.
    Expired { signed: i64, now: i64 },
}

/// The request's signing time, if present, well-formed and within the allowed skew of `now`.
pub fn check_date(value: Option<&str>, now: i64) -> Result<i64, DateError> {
    let value = value.ok_or(DateError::Missing)?;
    let signed = crate::parse_sdk_date(value.trim()).ok_or(DateError::Malformed)?;
    if (now - signed).abs() > crate::MAX_CLOCK_SKEW_SECS {
        return Err(DateError::Expired { signed, now });
    }
    Ok(signed)
}

/// An access key and its secret (an app's `app_key` / `app_secret`).
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub access: &'a str,
    pub secret: &'a str,
}

/// What a client adds to sign a request: `X-Sdk-Date` (when absent) and `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub date: String,
    pub authorization: String,
    pub canonical_request: String,
}

/// Signs a request as the SDKs do: every header present is signed (names
/// lower-cased and sorted, `Authorization` never), with `X-Sdk-Date` set to
/// `now` unless the headers carry one. The headers must include `host`.
pub fn sign(key: Key<'_>, method: &str, path: &str, query: &str, headers: &[(String, String)], payload_hash: &str, now: i64) -> Signed {
    let mut all: Vec<(String, String)> = headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("authorization"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let date = match all.header(DATE_HEADER) {
        Some(d) => d.to_string(),
        None => {
            let d = crate::format_sdk_date(now);
            all.push((DATE_HEADER.to_string(), d.clone()));
            d
        }
    };
    let mut names: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let req = Request { method, path, query, headers: &all, payload_hash };
    let canonical = canonical_request(&req, &names, Plus::Literal);
    let sig = signature(key.secret, &string_to_sign(&date, &canonical));
    Signed { authorization: authorization_header(key.access, &names, &sig), date, canonical_request: canonical }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_headers() -> Vec<(String, String)> {
        [("X-Sdk-Date", "20240101T000000Z"), ("Content-Type", "application/json"), ("x-stage", "RELEASE"), ("host", "abc.apigw.example.com")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // The vectors of the signature reference (shared/spec/apig-reference.md §3.1),
    // computed with the vendors' Python signer from PyPI (apigateway-sdk-python
    // 1.0.0); the same signer checks Causeway's signatures end to end in
    // tests/gateway_auth.rs (`vendor_python_signers`).
    const VECTOR_CANONICAL: &str = "POST\n/v1/test%20path/x/\na=0&a=1&b=2&empty=\ncontent-type:application/json\nhost:abc.apigw.example.com\nx-sdk-date:20240101T000000Z\nx-stage:RELEASE\n\ncontent-type;host;x-sdk-date;x-stage\n666c1aa02e8068c6d5cc1d3295009432c16790bec28ec8ce119d0d1a18d61319";

    #[test]
    fn reference_vector_post_with_query_and_body() {
        let headers = vector_headers();
        let hash = payload_hash(&headers, br#"{"k":"v"}"#);
        assert_eq!(hash, "666c1aa02e8068c6d5cc1d3295009432c16790bec28ec8ce119d0d1a18d61319");
        let signed = sign(Key { access: "app_key_example", secret: "app_secret_example" }, "POST", "/v1/test%20path/x", "b=2&a=1&a=0&empty=", &headers, &hash, 0);
        assert_eq!(signed.canonical_request, VECTOR_CANONICAL);
        assert_eq!(
            string_to_sign("20240101T000000Z", &signed.canonical_request),
            "SDK-HMAC-SHA256\n20240101T000000Z\n9d95daadc8729ad815d6e0697fc022e761793fcae7d22c155f47229173baffbe"
        );
        assert_eq!(
            signed.authorization,
            "SDK-HMAC-SHA256 Access=app_key_example, SignedHeaders=content-type;host;x-sdk-date;x-stage, Signature=41ca529e7eaad280b5c89432c236b2d0f32080cf9a473e57a2b863689daa2387"
        );
    }

    #[test]
    fn reference_vector_get_root() {
        let headers = vec![("host".to_string(), "127.0.0.1:8080".to_string())];
        let signed = sign(Key { access: "app_key_example", secret: "app_secret_example" }, "GET", "/", "", &headers, EMPTY_BODY_SHA256, 1_704_067_200);
        assert_eq!(signed.date, "20240101T000000Z");
        assert_eq!(
            signed.authorization,
            "SDK-HMAC-SHA256 Access=app_key_example, SignedHeaders=host;x-sdk-date, Signature=ba3bd6b64be59243ddc9085cc6be3df7a8a22fe4b9705b56da8d998bed311d59"
        );
    }

    #[test]
    fn verification_uses_the_clients_signed_headers() {
        let mut headers = vector_headers();
        let signed = sign(Key { access: "app_key_example", secret: "app_secret_example" }, "POST", "/v1/test%20path/x", "b=2&a=1&a=0&empty=", &headers, "UNSIGNED-PAYLOAD", 0);
        // Added after signing: not in SignedHeaders, so they do not matter.
        headers.push(("User-Agent".into(), "curl/8".into()));
        headers.push(("Content-Length".into(), "9".into()));
        headers.push(("Authorization".into(), signed.authorization.clone()));
        let auth = Authorization::parse(&signed.authorization).unwrap();
        assert_eq!(auth.access, "app_key_example");
        let req = Request { method: "POST", path: "/v1/test%20path/x", query: "empty=&a=0&b=2&a=1", headers: &headers, payload_hash: "UNSIGNED-PAYLOAD" };
        assert_eq!(verify("app_secret_example", "20240101T000000Z", &req, &auth), Ok(()));
        // A changed signed header, path, query, method or secret fails, echoing the gateway's view.
        let wrong = verify("other_secret", "20240101T000000Z", &req, &auth).unwrap_err();
        assert!(wrong.one_line().starts_with("POST|/v1/test%20path/x/|a=0&a=1&b=2&empty=|content-type:application/json|"), "{}", wrong.one_line());
        let req2 = Request { path: "/v1/test%20path/y", ..req };
        assert!(verify("app_secret_example", "20240101T000000Z", &req2, &auth).is_err());
        let req3 = Request { query: "b=3&a=1&a=0&empty=", ..req2 };
        assert!(verify("app_secret_example", "20240101T000000Z", &Request { path: "/v1/test%20path/x", ..req3 }, &auth).is_err());
    }

    #[test]
    fn plus_in_the_query_verifies_either_way() {
        let headers = vec![("host".to_string(), "h".to_string()), (DATE_HEADER.to_string(), "20240101T000000Z".to_string())];
        for plus in [Plus::Literal, Plus::Space] {
            let names = ["host", DATE_HEADER];
            let req = Request { method: "GET", path: "/p", query: "q=a+b", headers: &headers, payload_hash: EMPTY_BODY_SHA256 };
            let sig = signature("s", &string_to_sign("20240101T000000Z", &canonical_request(&req, &names, plus)));
            let value = authorization_header("k", &names, &sig);
            assert_eq!(verify("s", "20240101T000000Z", &req, &Authorization::parse(&value).unwrap()), Ok(()), "{plus:?}");
        }
    }

    #[test]
    fn canonical_parts() {
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/a/b/"), "/a/b/");
        assert_eq!(canonical_uri("/v1/test path/x"), "/v1/test%20path/x/");
        assert_eq!(canonical_uri("/a%2Fb/@:+=,"), "/a%2Fb/%40%3A%2B%3D%2C/");
        assert_eq!(canonical_uri("/%E4%BD%A0/é"), "/%E4%BD%A0/%C3%A9/");
        assert_eq!(canonical_query("", Plus::Literal), "");
        assert_eq!(canonical_query("b&a=2&a=1&&=x", Plus::Literal), "a=1&a=2&b=");
        assert_eq!(canonical_query("k=a+b%20c", Plus::Literal), "k=a%2Bb%20c");
        assert_eq!(canonical_query("k=a+b%20c", Plus::Space), "k=a%20b%20c");
    }

    #[test]
    fn authorization_parsing() {
        let ok = Authorization::parse("SDK-HMAC-SHA256 Access=k, SignedHeaders=host;x-sdk-date, Signature=ab12").unwrap();
        assert_eq!(ok, Authorization { access: "k", signed_headers: vec!["host", "x-sdk-date"], signature: "ab12" });
        // Extra spaces are tolerated.
        assert!(Authorization::parse("SDK-HMAC-SHA256  Access=k ,SignedHeaders=host , Signature=ab").is_some());
        for bad in [
            "",
            "Bearer x",
            "SDK-HMAC-SHA256",
            "SDK-HMAC-SHA256Access=k, SignedHeaders=host, Signature=ab",
            "SDK-HMAC-SHA256 Access=k, SignedHeaders=host",
            "SDK-HMAC-SHA256 Access=, SignedHeaders=host, Signature=ab",
            "SDK-HMAC-SHA256 Access=k, SignedHeaders=Host, Signature=ab",
            "SDK-HMAC-SHA256 Access=k SignedHeaders=host Signature=ab",
        ] {
            assert_eq!(Authorization::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_within_fifteen_minutes() {
        let t = 1_704_067_200;
        assert_eq!(check_date(Some("20240101T000000Z"), t + 900), Ok(t));
        assert_eq!(check_date(Some("20240101T000000Z"), t - 900), Ok(t));
        assert_eq!(check_date(Some("20240101T000000Z"), t + 901), Err(DateError::Expired { signed: t, now: t + 901 }));
        assert_eq!(check_date(Some("yesterday"), t), Err(DateError::Malformed));
        assert_eq!(check_date(None, t), Err(DateError::Missing));
    }
}
