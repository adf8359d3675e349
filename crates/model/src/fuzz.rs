//! Entry point of the management-JSON fuzz target (`fuzz/`), also run over
//! its corpus by `cargo test`: a body as a management call could send it,
//! decoded and validated as the resource its first byte selects. Whatever
//! the bytes, validation answers a value or an error naming a field; it
//! never panics, and an accepted API's paths compile.

use crate::Limits;

/// The kinds a body can be validated as, selected by the first byte.
const KINDS: usize = 22;

fn check<T: serde::de::DeserializeOwned, R>(body: &[u8], validate: impl FnOnce(T) -> crate::Result<R>) -> Option<R> {
    let input: T = serde_json::from_slice(body).ok()?;
    match validate(input) {
        Ok(v) => Some(v),
        Err(e) => {
            assert!(e.status >= 400 && e.status < 500, "validation answered {} for input", e.status);
            assert!(e.code.starts_with("APIG."));
            None
        }
    }
}

pub fn management_json(data: &[u8]) {
    let Some((&selector, body)) = data.split_first() else { return };
    let limits = Limits::default();
    match usize::from(selector) % KINDS {
        0 => {
            if let Some(api) = check(body, |i: crate::api::ApiInput| i.validate(&limits)) {
                // An accepted path routes: a template parses again, a regular expression compiles.
                match api.match_mode {
                    crate::api::MatchMode::Regex => assert!(crate::api::uri::compile_path_regex(&api.req_uri).is_some(), "{:?}", api.req_uri),
                    _ => assert!(crate::api::uri::parse_req_uri("req_uri", &api.req_uri).is_ok(), "{:?}", api.req_uri),
                }
            }
        }
        1 => drop(check(body, |i: crate::group::GroupInput| i.validate())),
        2 => drop(check(body, |i: crate::env::EnvInput| i.validate())),
        3 => drop(check(body, |i: crate::env::EnvVariableInput| i.validate())),
        4 => drop(check(body, |i: crate::app::AppInput| i.validate())),
        5 => drop(check(body, |i: crate::app::AppCodeInput| i.validate())),
        6 => drop(check(body, |i: crate::app::AppAuthInput| i.validate())),
        7 => drop(check(body, |i: crate::throttle::ThrottleInput| i.validate())),
        8 => drop(check(body, |i: crate::throttle::ThrottleSpecialInput| i.validate())),
        9 => drop(check(body, |i: crate::acl::AclInput| i.validate())),
        10 => drop(check(body, |i: crate::channel::ChannelInput| i.validate())),
        11 => drop(check(body, |i: crate::authorizer::AuthorizerInput| i.validate(limits.identities_per_authorizer))),
        12 => drop(check(body, |i: crate::function::FunctionInput| i.validate(None))),
        13 => drop(check(body, |i: crate::function::AliasInput| i.validate(None))),
        14 => drop(check(body, |i: crate::domain::DomainInput| i.validate())),
        15 => drop(check(body, |i: crate::domain::CertificateInput| i.validate())),
        16 => drop(check(body, |i: crate::iam::IamIssuerInput| i.validate())),
        17 => drop(check(body, |i: crate::response::GatewayResponseInput| i.validate())),
        18 => drop(check(body, |i: crate::sign_key::SignKeyInput| i.validate())),
        19 => drop(check(body, |i: crate::admin::AdminCredentialInput| i.validate())),
        20 => drop(check(body, |i: crate::publish::PublishInput| i.validate())),
        _ => {
            // The path and address rules on their own.
            let text = String::from_utf8_lossy(body);
            let _ = crate::api::uri::parse_req_uri("req_uri", &text);
            if crate::api::uri::parse_req_regex("req_uri", &text).is_ok() {
                assert!(crate::api::uri::compile_path_regex(&text).is_some(), "an accepted regex path that does not compile: {text:?}");
            }
            let _ = crate::api::uri::parse_backend_uri("req_uri", &text);
            let _ = crate::api::uri::parse_url_domain("url_domain", &text);
            let _ = crate::api::uri::check_proxy_host("vpc_proxy_host", &text);
            let _ = crate::ip::IpRule::parse_list(&text);
        }
    }
}

/// Entry point of the OpenAPI-import fuzz target: any bytes are read as a
/// document (JSON or YAML) and imported by both families' rules. Whatever
/// they hold, reading answers a document or an `APIG.36xx` error, and each
/// operation an API definition or an error naming what failed; an accepted
/// definition exports and reads back to the same definition.
pub fn openapi_import(data: &[u8]) {
    use crate::openapi::{self, export, import};
    let doc = match openapi::parse(data) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(e.code.starts_with("APIG.36") && e.status == 400, "{e}");
            return;
        }
    };
    for dialect in [crate::rules::Dialect::Apig, crate::rules::Dialect::Wide] {
        let opts = import::Options { mock_mode: data.len().is_multiple_of(2), max_apis: 50, dialect };
        let imported = match import::read(&doc, &opts) {
            Ok(i) => i,
            Err(e) => {
                assert!(e.status == 400 && e.code.starts_with("APIG."), "{e}");
                continue;
            }
        };
        assert!(imported.apis.len() <= opts.max_apis);
        for a in imported.apis {
            let Ok(mut draft) = a.draft else { continue };
            draft.input.group_id = Some("0".repeat(32));
            let Ok(mut api) = draft.input.validate(&Limits::default()) else { continue };
            // A gateway response is written by name, which the service resolves.
            api.response_id = None;
            api.assign_ids(crate::ids::new_id(), None, "2024-01-01T00:00:00Z");
            // What was accepted goes out and comes back the same.
            let e = export::Export {
                oas: if data.len().is_multiple_of(3) { openapi::OasVersion::V3 } else { openapi::OasVersion::V2 },
                define: openapi::Define::Full,
                title: "fuzz_group",
                description: None,
                version: "1",
                host: "fuzz.example.com",
                apis: vec![export::ExportedApi { api: &api, throttle: None, acls: vec![] }],
                context: export::Context::default(),
            };
            let written = export::write(&e);
            let text = openapi::to_text(&written, openapi::Format::Yaml).expect("an export writes");
            let reread = openapi::parse(text.as_bytes()).expect("an export reads back");
            let again = import::read(&reread, &import::Options { mock_mode: false, ..opts.clone() }).expect("an export imports");
            let mut back = again.apis.into_iter().next().expect("one operation").draft.expect("an export's operation imports");
            back.input.group_id = Some("0".repeat(32));
            let mut api2 = back.input.validate(&Limits::default()).expect("an export's API validates");
            api2.assign_ids(api.id.clone(), Some(&api), "2024-01-01T00:00:00Z");
            assert_eq!(api2, api, "exported as:\n{text}");
        }
    }
}
