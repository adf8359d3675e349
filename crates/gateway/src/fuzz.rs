//! Entry points of the fuzz targets (`fuzz/`), also run over their corpora
//! by `cargo test` (`tests/fuzz_corpora.rs`). Each takes arbitrary bytes,
//! feeds them to one part of the data plane as a caller, a function or a
//! backend could, and checks what must hold whatever the bytes: no panic,
//! and the part's own invariants.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use causeway_model::Limits;
use causeway_model::api::ApiInput;
use causeway_model::env::{Env, RELEASE_ENV_ID, RELEASE_ENV_NAME};
use causeway_model::group::Group;
use causeway_model::publish::{ApiVersion, Publication};

use crate::backend::http::target::substitute;
use crate::backend::http::websocket::FrameScanner;
use crate::functions::event::{AnswerMode, EventFormat, EventInput, answer, event};
use crate::http::error::errors;
use crate::http::query::{percent_decode, query_pairs};
use crate::pipeline::respond::{TemplateContext, fill_template};
use crate::routing::path::normalize;
use crate::routing::table::{Published, RouteCache, RouteTable};
use crate::routing::{checked_host, normalize_path, preflight};

/// Splits fuzz bytes into `n` text fields at newlines (the last takes the rest).
fn fields(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut parts: Vec<String> = text.splitn(n, '\n').map(str::to_string).collect();
    parts.resize(n, String::new());
    parts
}

/// A published group with APIs of every match mode, routed as the gateway routes.
fn table() -> &'static RouteTable {
    static TABLE: OnceLock<RouteTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let group: Group = serde_json::from_value(serde_json::json!({
            "id": "g1", "name": "shop", "status": 1, "sl_domain": "g1.apigw.localhost", "sl_domains": [],
            "register_time": "2026-01-01T00:00:00Z", "update_time": "2026-01-01T00:00:00Z",
            "on_sell_status": 2, "url_domains": [], "is_default": 1
        }))
        .unwrap_or_else(|e| unreachable!("fixed group: {e}"));
        let apis = [
            ("GET", "/items/{id}", "NORMAL", serde_json::json!([{"name": "id", "type": "STRING", "location": "PATH"}])),
            ("ANY", "/public", "SWA", serde_json::json!([])),
            ("POST", "/files/{name}/raw", "NORMAL", serde_json::json!([{"name": "name", "type": "STRING", "location": "PATH"}])),
            ("PUT", "/users/{uid}/orders/{oid}", "NORMAL", serde_json::json!([
                {"name": "uid", "type": "NUMBER", "location": "PATH"}, {"name": "oid", "type": "STRING", "location": "PATH"}])),
        ];
        let env = Env { id: RELEASE_ENV_ID.into(), name: RELEASE_ENV_NAME.into(), remark: None, create_time: String::new() };
        let (mut publications, mut versions) = (HashMap::new(), HashMap::new());
        for (i, (method, uri, mode, params)) in apis.into_iter().enumerate() {
            let input: ApiInput = serde_json::from_value(serde_json::json!({
                "group_id": "g1", "name": format!("api_{i}"), "type": 1, "req_method": method, "req_uri": uri, "match_mode": mode,
                "req_protocol": "BOTH", "auth_type": "NONE", "backend_type": "MOCK", "req_params": params,
                "mock_info": {"result_content": "{}"}, "cors": true
            }))
            .unwrap_or_else(|e| unreachable!("fixed API: {e}"));
            let mut api = input.validate(&Limits::default()).unwrap_or_else(|e| unreachable!("fixed API: {}", e.message));
            api.id = format!("a{i}");
            let version = ApiVersion {
                version_id: format!("v{i}"),
                version_no: "1".into(),
                api_id: api.id.clone(),
                env_id: env.id.clone(),
                remark: None,
                publish_time: "t".into(),
                api,
            };
            publications.insert(
                format!("p{i}"),
                Publication {
                    publish_id: format!("p{i}"),
                    api_id: format!("a{i}"),
                    group_id: "g1".into(),
                    env_id: env.id.clone(),
                    version_id: format!("v{i}"),
                    publish_time: "t".into(),
                    remark: None,
                },
            );
            versions.insert(format!("v{i}"), Arc::new(version));
        }
        let groups = HashMap::from([("g1".to_string(), group)]);
        let envs = HashMap::from([(env.id.clone(), env)]);
        let (variables, responses, domains) = (HashMap::new(), HashMap::new(), HashMap::new());
        let published = Published { groups: &groups, envs: &envs, variables: &variables, publications: &publications, versions: &versions, responses: &responses, domains: &domains };
        RouteTable::build(&published, "apigw.localhost", &mut RouteCache::default())
    })
}

/// A request head (`method\nhost\ntarget\nheader: value...`) routed as the
/// gateway routes it. A normalised path is plain: normalising it again
/// changes nothing, and it has no empty, `.` or `..` segment.
pub fn router(data: &[u8]) {
    let f = fields(data, 4);
    if let Ok(Some(path)) = normalize(&f[2]) {
        assert!(path.starts_with('/'), "{path:?}");
        assert!(matches!(normalize(&path), Ok(None)), "normalising {path:?} again changed it");
        let inner = path.trim_end_matches('/');
        assert!(inner.split('/').skip(1).all(|s| !s.is_empty() && s != "." && s != ".."), "{path:?}");
    }
    let mut builder = http::Request::builder().method(f[0].as_str()).uri(f[2].as_str()).header(http::header::HOST, f[1].as_str());
    for line in f[3].lines() {
        if let Some((name, value)) = line.split_once(':') {
            builder = builder.header(name.trim(), value.trim());
        }
    }
    let Ok(request) = builder.body(()) else { return };
    let (mut parts, ()) = request.into_parts();
    if normalize_path(&mut parts).is_err() {
        return;
    }
    let Ok(host) = checked_host(&parts) else { return };
    let group = table().host(host).group;
    let _ = preflight(&parts, group);
    if let Some(group) = group
        && let Ok((route, _env)) = group.find(&parts, &parts.method)
    {
        assert!(route.api.api_id.starts_with('a'));
    }
}

/// `#variable#` substitution, percent-decoding and query splitting, and the
/// `$context` templates of gateway responses: a template that is JSON gives
/// JSON whatever the values put in it.
pub fn templates(data: &[u8]) {
    let f = fields(data, 3);
    let vars = HashMap::from([("host".to_string(), f[1].clone()), ("p".to_string(), "v\"2".to_string())]);
    if let Ok(out) = substitute(&f[0], &vars) {
        // Every reference is replaced, once: values are not expanded again.
        if !f[1].contains('#') {
            assert!(!out.contains("#p#") && !out.contains("#host#"), "{out:?}");
        }
    }
    let _ = percent_decode(&f[0], true);
    let _ = percent_decode(&f[0], false);
    assert!(query_pairs(&f[0]).count() <= f[0].len() + 1);

    let e = errors::BAD_PARAMETER.with_message(f[1].clone());
    let ctx = TemplateContext { request_id: "r\"1\\", req_path: &f[2], req_uri: &f[2], req_method: "GE\nT", source_ip: "\u{7}", ..Default::default() };
    let out = fill_template(&f[0], &e, &ctx);
    if serde_json::from_str::<serde_json::Value>(&f[0]).is_ok() {
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok(), "template {:?} gave {out:?}", f[0]);
    }
}

/// The event a request becomes for a function (always JSON), and a
/// function's or a custom authorizer's answer read back.
pub fn function_events(data: &[u8]) {
    let f = fields(data, 6);
    let mut headers = http::HeaderMap::new();
    for line in f[3].lines() {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Ok(v)) = (http::HeaderName::try_from(name.trim()), http::HeaderValue::try_from(value.trim()))
        {
            headers.append(n, v);
        }
    }
    for format in [EventFormat::Apig, EventFormat::Scf] {
        let input = EventInput {
            method: &f[0],
            path: &f[1],
            api_path: "/items/{id}",
            query: &f[2],
            headers: &headers,
            path_params: &[("id", &f[1])],
            body: f[4].as_bytes(),
            base64_body: f[4].len().is_multiple_of(2),
            api_id: "a1",
            group_id: "g1",
            request_id: "r1",
            stage: "RELEASE",
            source_ip: "10.0.0.1",
            app_key: Some(&f[2]),
            header_params: &[("X-Tenant", &f[3])],
            user_data: Some(&f[5]),
        };
        let json = event(format, &input);
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok(), "event is not JSON: {json}");
    }
    for mode in [AnswerMode::Integration, AnswerMode::Passthrough] {
        if let Ok(a) = answer(mode, Some(&f[5]), Some(f[4].clone())) {
            let _ = crate::backend::function::respond(a);
        }
        let _ = answer(mode, Some(&f[5]), None);
    }
    let _ = crate::stages::authn::authorizer::read_answer(Some(&f[5]), Some(f[4].clone()));
}

/// WebSocket frames as a caller or backend sends them: the size verdict is
/// the same however the bytes are split into reads.
pub fn websocket_frames(data: &[u8]) {
    let Some((&split, stream)) = data.split_first() else { return };
    let max = 64 + u64::from(split) * 16;
    let whole = FrameScanner::new(max).feed(stream).is_ok();
    let mut chunked = FrameScanner::new(max);
    let chunk = usize::from(split % 7) + 1;
    let chunks_ok = stream.chunks(chunk).all(|c| chunked.feed(c).is_ok());
    assert_eq!(whole, chunks_ok, "a verdict that depends on how the stream was read");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fuzzed_table_routes_its_apis() {
        let found = |method: &str, path: &str| {
            let (parts, ()) = http::Request::builder().method(method).uri(path).body(()).unwrap_or_default().into_parts();
            let group = table().host("g1.apigw.localhost").group?;
            group.find(&parts, &parts.method).ok().map(|(r, _)| r.api.api_id.clone())
        };
        assert_eq!(found("GET", "/items/42").as_deref(), Some("a0"));
        assert_eq!(found("DELETE", "/public/x/y").as_deref(), Some("a1"));
        assert_eq!(found("POST", "/files/report/raw").as_deref(), Some("a2"));
        assert_eq!(found("PUT", "/users/7/orders/x").as_deref(), Some("a3"));
        assert_eq!(found("GET", "/nowhere"), None);
    }
}
