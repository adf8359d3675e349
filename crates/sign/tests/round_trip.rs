//! Properties: whatever a client signs verifies on the gateway's side, and
//! any change to a signed part of the request breaks the signature.

use causeway_sign::sdk::{self, Authorization, Request};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

/// What a careful client encodes (everything but unreserved).
const ALL: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// What a lax client encodes (only what cannot appear in a request line).
const LAX: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'/').add(b'?').add(b'#').add(b'&').add(b'=').add(b'+');

fn method() -> impl Strategy<Value = String> {
    prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE"), Just("PATCH"), Just("HEAD"), Just("OPTIONS")].prop_map(String::from)
}

/// Path segments: spaces, unicode, slashes inside a segment (sent as %2F), reserved characters.
fn segments() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-zA-Z0-9 ._~!$&'()*+,;=:@/%éü你-]{0,8}", 0..5)
}

fn query() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[a-zA-Z0-9 _.~=&+/é-]{1,6}", "[a-zA-Z0-9 _.~=&+/é-]{0,6}"), 0..5)
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("x-[a-z0-9-]{1,10}", "[ -~]{0,20}"), 0..5)
}

fn encode_path(segs: &[String], set: &'static AsciiSet) -> String {
    let mut p = String::from("/");
    p.push_str(&segs.iter().map(|s| utf8_percent_encode(s, set).to_string()).collect::<Vec<_>>().join("/"));
    p
}

fn encode_query(pairs: &[(String, String)], set: &'static AsciiSet) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, set), utf8_percent_encode(v, set)))
        .collect::<Vec<_>>()
        .join("&")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn signed_requests_verify(
        method in method(),
        segs in segments(),
        pairs in query(),
        extra in headers(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        secret in "[ -~]{1,40}",
        now in 1_600_000_000i64..1_900_000_000,
        lax in any::<bool>(),
    ) {
        let set = if lax { LAX } else { ALL };
        let (path, query) = (encode_path(&segs, set), encode_query(&pairs, set));
        let mut hdrs = vec![("Host".to_string(), "g.apigw.example.com:8080".to_string())];
        hdrs.extend(extra.iter().cloned());
        let hash = sdk::sha256_hex(&body);
        let signed = sdk::sign(sdk::Key { access: "key", secret: &secret }, &method, &path, &query, &hdrs, &hash, now);

        // What the gateway receives: the signed headers, the date, the Authorization, and more.
        hdrs.push((sdk::DATE_HEADER.to_string(), signed.date.clone()));
        hdrs.push(("Authorization".to_string(), signed.authorization.clone()));
        hdrs.push(("User-Agent".to_string(), "added-after-signing".to_string()));
        let auth = Authorization::parse(&signed.authorization).expect("own header parses");
        prop_assert_eq!(auth.access, "key");
        let received = Request { method: &method, path: &path, query: &query, headers: &hdrs, payload_hash: &sdk::payload_hash(&hdrs, &body) };
        prop_assert_eq!(sdk::check_date(Some(&signed.date), now), Ok(now));
        prop_assert_eq!(sdk::verify(&secret, &signed.date, &received, &auth), Ok(()));

        // The other encoding of the same path and query verifies too.
        let other = if lax { ALL } else { LAX };
        let (path2, query2) = (encode_path(&segs, other), encode_query(&pairs, other));
        let re_encoded = Request { path: &path2, query: &query2, ..received };
        prop_assert_eq!(sdk::verify(&secret, &signed.date, &re_encoded, &auth), Ok(()));

        // A different body, secret or method does not.
        let mut changed_body = body.clone();
        changed_body.push(b'!');
        let tampered_hash = sdk::sha256_hex(&changed_body);
        let tampered = Request { payload_hash: &tampered_hash, ..received };
        prop_assert!(sdk::verify(&secret, &signed.date, &tampered, &auth).is_err());
        let wrong_secret = format!("{secret}x");
        prop_assert!(sdk::verify(&wrong_secret, &signed.date, &received, &auth).is_err());
        let other_method = if method == "GET" { "POST" } else { "GET" };
        let other_request = Request { method: other_method, ..received };
        prop_assert!(sdk::verify(&secret, &signed.date, &other_request, &auth).is_err());
    }

    #[test]
    fn a_changed_signed_header_breaks_the_signature(
        extra in headers().prop_filter("at least one header", |h| !h.is_empty()),
        pick in any::<prop::sample::Index>(),
    ) {
        let mut hdrs = vec![("host".to_string(), "h".to_string())];
        hdrs.extend(extra.iter().cloned());
        let signed = sdk::sign(sdk::Key { access: "k", secret: "s" }, "GET", "/a", "", &hdrs, sdk::EMPTY_BODY_SHA256, 1_700_000_000);
        hdrs.push((sdk::DATE_HEADER.to_string(), signed.date.clone()));
        let auth = Authorization::parse(&signed.authorization).expect("parses");
        // Change the value the gateway reads for one signed header (the first of its name).
        let name = extra[pick.index(extra.len())].0.clone();
        let i = hdrs.iter().position(|(k, _)| k.eq_ignore_ascii_case(&name)).expect("present");
        hdrs[i].1 = format!("{}changed", hdrs[i].1);
        let req = Request { method: "GET", path: "/a", query: "", headers: &hdrs, payload_hash: sdk::EMPTY_BODY_SHA256 };
        prop_assert!(sdk::verify("s", &signed.date, &req, &auth).is_err());
    }
}
