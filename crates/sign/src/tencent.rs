//! Tencent Cloud API Gateway key-pair authentication:
//!
//! ```text
//! Authorization: hmac id="<secret_id>", algorithm="hmac-sha1", headers="x-date source", signature="<base64>"
//! signing string = "x-date: <X-Date>\nsource: <Source>"   (the listed headers, in order)
//! signature      = base64(hmac-sha1(secret_key, signing string))
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use crate::HeaderSource;

pub const ALGORITHM: &str = "hmac-sha1";

/// A parsed `Authorization: hmac id="…", algorithm="…", headers="…", signature="…"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    pub id: &'a str,
    pub algorithm: &'a str,
    /// Lower-case header names, in signing order.
    pub headers: Vec<&'a str>,
    pub signature: &'a str,
}

impl<'a> Authorization<'a> {
    pub fn parse(value: &'a str) -> Option<Self> {
        let rest = value.trim_start();
        let rest = rest.get(..5).filter(|p| p.eq_ignore_ascii_case("hmac ")).map(|_| &rest[5..])?;
        let (mut id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
        for field in rest.split(',') {
            let (k, v) = field.trim().split_once('=')?;
            let v = v.trim().strip_prefix('"')?.strip_suffix('"')?;
            match k.trim().to_ascii_lowercase().as_str() {
                "id" => id = Some(v),
                "algorithm" => algorithm = Some(v),
                "headers" => headers = Some(v),
                "signature" => signature = Some(v),
                _ => {}
            }
        }
        Some(Self {
            id: id.filter(|s| !s.is_empty())?,
            algorithm: algorithm?,
            headers: headers?.split_ascii_whitespace().collect(),
            signature: signature.filter(|s| !s.is_empty())?,
        })
    }
}

/// `name: value` for each listed header, joined by `\n`.
pub fn signing_string(names: &[&str], headers: &(impl HeaderSource + ?Sized)) -> String {
    let lines: Vec<String> = names
        .iter()
        .map(|n| {
            let n = n.to_ascii_lowercase();
            let v = headers.header(&n).unwrap_or_default().trim().to_string();
            format!("{n}: {v}")
        })
        .collect();
    lines.join("\n")
}

fn mac(secret: &str, signing_string: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(signing_string.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Base64 HMAC-SHA1 of the signing string.
pub fn signature(secret: &str, signing_string: &str) -> String {
    STANDARD.encode(mac(secret, signing_string))
}

/// Whether `auth` is a valid `hmac-sha1` signature over the request's listed headers.
pub fn verify(secret: &str, auth: &Authorization<'_>, headers: &(impl HeaderSource + ?Sized)) -> bool {
    if !auth.algorithm.eq_ignore_ascii_case(ALGORITHM) {
        return false;
    }
    let Ok(given) = STANDARD.decode(auth.signature) else { return false };
    bool::from(mac(secret, &signing_string(&auth.headers, headers)).ct_eq(&given))
}

/// The `Authorization` value for a key pair over the listed headers.
pub fn authorization_header(id: &str, secret: &str, names: &[&str], headers: &(impl HeaderSource + ?Sized)) -> String {
    let sig = signature(secret, &signing_string(names, headers));
    format!("hmac id=\"{id}\", algorithm=\"{ALGORITHM}\", headers=\"{}\", signature=\"{sig}\"", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The key-pair vector of shared/spec/apig-reference.md §6.1 (Tencent's
    /// documented example headers and secret); the signature checked
    /// independently with Python's `hmac`:
    /// `base64(hmac.new(b"secretKey_example", b"x-date: Mon, 19 Mar 2018 12:08:40 GMT\nsource: test", sha1).digest())`.
    #[test]
    fn reference_vector() {
        let headers = [("X-Date", "Mon, 19 Mar 2018 12:08:40 GMT"), ("Source", "test")];
        let s = signing_string(&["x-date", "source"], &headers[..]);
        assert_eq!(s, "x-date: Mon, 19 Mar 2018 12:08:40 GMT\nsource: test");
        assert_eq!(signature("secretKey_example", &s), "BYuSK/NrkFAQukcSqLPlGx1L5dA=");
        let value = authorization_header("AKIDexample", "secretKey_example", &["x-date", "source"], &headers[..]);
        assert_eq!(value, "hmac id=\"AKIDexample\", algorithm=\"hmac-sha1\", headers=\"x-date source\", signature=\"BYuSK/NrkFAQukcSqLPlGx1L5dA=\"");
        let auth = Authorization::parse(&value).unwrap();
        assert_eq!(auth.headers, vec!["x-date", "source"]);
        assert!(verify("secretKey_example", &auth, &headers[..]));
        assert!(!verify("other", &auth, &headers[..]));
        let changed = [("X-Date", "Mon, 19 Mar 2018 12:08:41 GMT"), ("Source", "test")];
        assert!(!verify("secretKey_example", &auth, &changed[..]));
    }

    #[test]
    fn parsing() {
        assert!(Authorization::parse("Hmac id=\"a\", algorithm=\"hmac-sha1\", headers=\"date\", signature=\"eA==\"").is_some());
        for bad in ["", "hmac", "hmac id=a, algorithm=\"hmac-sha1\", headers=\"date\", signature=\"x\"", "hmac id=\"a\", headers=\"date\", signature=\"x\"", "Basic abc"] {
            assert_eq!(Authorization::parse(bad), None, "{bad}");
        }
        let other_alg = Authorization::parse("hmac id=\"a\", algorithm=\"hmac-sha256\", headers=\"date\", signature=\"eA==\"").unwrap();
        assert!(!verify("s", &other_alg, &[("date", "x")][..]));
    }
}
