//! Entry point of the signature fuzz target (`fuzz/`), also run over its
//! corpus by `cargo test`: `Authorization` values and dates as callers send
//! them are parsed, and requests made of the bytes are signed and verified.
//! What a signer signs, the verifier accepts, and with another secret it
//! refuses — whatever the method, path, query and headers.

use crate::{bce, sdk, tencent};

/// A header name as HTTP allows it (a token).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub fn signatures(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut f: Vec<&str> = text.splitn(6, '\n').collect();
    f.resize(6, "");
    let (value, method, path, query, headers, body) = (f[0], f[1], f[2], f[3], f[4], f[5]);

    let _ = sdk::Authorization::parse(value);
    let _ = tencent::Authorization::parse(value);
    let _ = bce::AuthString::parse(value);
    let _ = bce::canonical_uri(path);
    let _ = bce::canonical_query(query);
    let _ = crate::parse_sdk_date(value);
    let _ = crate::parse_http_date(value);
    let _ = sdk::check_date(Some(value), 1_700_000_000);
    let _ = sdk::canonical_uri(path);
    let _ = sdk::canonical_query(query, sdk::Plus::Literal);
    let _ = sdk::canonical_query(query, sdk::Plus::Space);

    if !is_token(method) {
        return;
    }
    let mut list: Vec<(String, String)> = vec![("host".into(), "g1.apigw.example.com".into())];
    for line in headers.split('\r') {
        if let Some((name, v)) = line.split_once(':')
            && is_token(name)
            && !name.eq_ignore_ascii_case("host")
            && v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
        {
            list.push((name.to_string(), v.trim().to_string()));
        }
    }
    let key = sdk::Key { access: "FUZZACCESSKEY", secret: "fuzz-secret-key" };
    let hash = sdk::sha256_hex(body.as_bytes());
    let signed = sdk::sign(key, method, path, query, &list, &hash, 1_700_000_000);
    let auth = sdk::Authorization::parse(&signed.authorization).unwrap_or_else(|| panic!("own header does not parse: {}", signed.authorization));
    let mut sent = list.clone();
    if !sent.iter().any(|(k, _)| k.eq_ignore_ascii_case(sdk::DATE_HEADER)) {
        sent.push((sdk::DATE_HEADER.to_string(), signed.date.clone()));
    }
    let received = sdk::Request { method, path, query, headers: &sent, payload_hash: &hash };
    assert_eq!(sdk::verify(key.secret, &signed.date, &received, &auth), Ok(()), "own signature refused: {}", signed.canonical_request);
    assert!(sdk::verify("another-secret", &signed.date, &received, &auth).is_err(), "another secret accepted");

    let names: Vec<String> = list.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let header = tencent::authorization_header("fuzz-id", "fuzz-secret", &names, &list);
    let parsed = tencent::Authorization::parse(&header).unwrap_or_else(|| panic!("own header does not parse: {header}"));
    assert!(tencent::verify("fuzz-secret", &parsed, &list), "own Tencent signature refused");
    assert!(!tencent::verify("another-secret", &parsed, &list), "another secret accepted");

    let req = bce::Request { method, path, query, headers: &list };
    let value = bce::sign("fuzz-ak", "fuzz-secret", &req, 1_700_000_000, 1800, &[]);
    let parsed = bce::AuthString::parse(&value).unwrap_or_else(|| panic!("own string does not parse: {value}"));
    assert_eq!(bce::verify("fuzz-secret", &parsed, &req), Ok(()), "own bce-auth-v1 signature refused");
    assert!(bce::verify("another-secret", &parsed, &req).is_err(), "another secret accepted");
}
