//! Query strings and percent-encoding: reading a caller's values as sent,
//! and writing values into a backend's path and query.

use std::borrow::Cow;

/// The raw `key=value` pairs of a query string.
pub fn query_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, "")))
}

/// Decodes `%XX` escapes (and `+` in queries) when there are any.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || (plus_is_space && b == b'+')) {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Percent-encodes for a path segment (RFC 3986 pchar stays).
pub fn encode_path(out: &mut String, v: &str) {
    encode(out, v, |b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b));
}

/// Percent-encodes for a query key or value.
pub fn encode_query(out: &mut String, v: &str) {
    encode(out, v, |b| b.is_ascii_alphanumeric() || b"-._~!$'()*,;:@/?".contains(&b));
}

fn encode(out: &mut String, v: &str, keep: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in v.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b", false), "a b");
        assert_eq!(percent_decode("a+b", true), "a b");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%e4%bd%a0", false), "你");
        assert!(matches!(percent_decode("plain", true), Cow::Borrowed(_)));
    }

    #[test]
    fn encoding() {
        let mut s = String::new();
        encode_path(&mut s, "a b/c");
        assert_eq!(s, "a%20b%2Fc");
        let mut s = String::new();
        encode_query(&mut s, "x=1&y");
        assert_eq!(s, "x%3D1%26y");
    }

    #[test]
    fn pairs_keep_raw_values() {
        let pairs: Vec<_> = query_pairs("a=1&&b&c=x%20y").collect();
        assert_eq!(pairs, [("a", "1"), ("b", ""), ("c", "x%20y")]);
    }
}
