//! Following a request across services (W3C Trace Context): a caller's
//! `traceparent` is kept and the gateway's span becomes the parent that
//! backends and functions are told; without one the gateway starts a trace
//! named by the request id. The trace is in the access log and a
//! `$context.traceId` value, and each sampled request's span is exported
//! over OTLP/HTTP to a small collector the test runs.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, echo::Echo};
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";
const CALLER: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

/// An OTLP/HTTP collector: keeps the resource's service name and every span posted to `/v1/traces`.
#[derive(Default)]
struct Collected {
    services: Vec<String>,
    spans: Vec<Span>,
}

async fn collector() -> (String, Arc<Mutex<Collected>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let collected = Arc::new(Mutex::new(Collected::default()));
    let keep = collected.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let keep = keep.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let keep = keep.clone();
                    async move {
                        let ok = req.uri().path() == "/v1/traces" && req.headers().get("content-type").is_some_and(|v| v == "application/x-protobuf");
                        let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                        let status = match ExportTraceServiceRequest::decode(body) {
                            Ok(export) if ok => {
                                let mut c = keep.lock().unwrap();
                                for rs in export.resource_spans {
                                    let service = rs.resource.iter().flat_map(|r| &r.attributes).find(|a| a.key == "service.name");
                                    if let Some(AnyValue::StringValue(s)) = service.and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref()) {
                                        c.services.push(s.clone());
                                    }
                                    c.spans.extend(rs.scope_spans.into_iter().flat_map(|ss| ss.spans));
                                }
                                200
                            }
                            _ => 400,
                        };
                        Ok::<_, std::convert::Infallible>(hyper::Response::builder().status(status).body(http_body_util::Full::new(bytes::Bytes::new())).unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    (format!("http://{addr}"), collected)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a AnyValue> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.as_ref()).and_then(|v| v.value.as_ref())
}

#[tokio::test]
async fn traces_are_kept_passed_on_logged_and_exported() {
    let backend = Echo::start().await;
    let (otlp, collected) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let s = Server::start_with(common::Backend::Sqlite, &["--otlp-endpoint", &otlp, "--access-log", log.to_str().unwrap()]).await;
    let g = s.group("traced").await;
    let host = Server::group_host(&g);
    s.create_and_publish(
        &json!({"group_id": g, "name": "traced", "type": 1, "req_protocol": "BOTH", "req_method": "GET", "req_uri": "/traced/{id}",
            "auth_type": "NONE", "backend_type": "HTTP",
            "req_params": [{"name": "id", "type": "STRING", "location": "PATH", "required": 1}],
            "backend_api": {"url_domain": backend.address(), "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/echo/{id}", "timeout": 5000},
            "backend_params": [{"name": "id", "location": "PATH", "origin": "REQUEST", "value": "id"},
                               {"name": "X-Trace", "location": "HEADER", "origin": "SYSTEM", "value": "$context.traceId"}]}),
        RELEASE,
    )
    .await;

    // The caller's trace: kept, with the gateway's span as the backend's parent.
    let c = s.eventually("GET", &host, "/traced/1", &[("traceparent", CALLER), ("tracestate", "vendor=opaque")], |c| c.status == 200).await;
    let seen = c.json();
    let sent = common::echo::header(&seen, "traceparent").expect("traceparent sent to the backend").to_string();
    assert_eq!(&sent[..36], "00-0af7651916cd43dd8448eb211c80319c-", "{sent}");
    assert!(sent.ends_with("-01"), "{sent}");
    let gateway_span = sent[36..52].to_string();
    assert_ne!(gateway_span, "b7ad6b7169203331", "the gateway's own span");
    assert_eq!(common::echo::header(&seen, "tracestate"), Some("vendor=opaque"), "tracestate passes through");
    assert_eq!(common::echo::header(&seen, "x-trace"), Some("0af7651916cd43dd8448eb211c80319c"), "$context.traceId");

    // No trace (or a malformed one): one is started, named by the request id.
    for headers in [&[][..], &[("traceparent", "00-0AF7651916CD43DD8448EB211C80319C-B7AD6B7169203331-01")][..]] {
        let c = s.call_gateway("GET", &host, "/traced/2", headers).await;
        assert_eq!(c.status, 200);
        let request_id = c.header("x-request-id").to_string();
        let sent = common::echo::header(&c.json(), "traceparent").unwrap().to_string();
        assert_eq!(&sent[3..35], request_id, "{sent}");
    }
    // Not sampled by the caller: passed on as such, and not exported.
    let unsampled = "00-11111111111111111111111111111111-2222222222222222-00";
    let c = s.call_gateway("GET", &host, "/traced/3", &[("traceparent", unsampled)]).await;
    assert!(common::echo::header(&c.json(), "traceparent").unwrap().ends_with("-00"));

    // The access log names the trace and the gateway's span.
    let deadline = Instant::now() + Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| l.contains("0af7651916cd43dd8448eb211c80319c")) {
            break serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert!(Instant::now() < deadline, "no access log line with the trace: {text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((line["trace_id"].as_str(), line["span_id"].as_str()), (Some("0af7651916cd43dd8448eb211c80319c"), Some(gateway_span.as_str())));

    // The span reached the collector: ids, parent, name, attributes, the node as the service.
    let deadline = Instant::now() + Duration::from_secs(10);
    let span = loop {
        let found = collected.lock().unwrap().spans.iter().find(|s| hex(&s.trace_id) == "0af7651916cd43dd8448eb211c80319c").cloned();
        if let Some(span) = found {
            break span;
        }
        assert!(Instant::now() < deadline, "no span exported");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!((hex(&span.span_id), hex(&span.parent_span_id)), (gateway_span.clone(), "b7ad6b7169203331".to_string()));
    assert_eq!(span.name, "GET /traced/{id}");
    assert_eq!(span.kind, 2, "a server span");
    assert!(span.end_time_unix_nano > span.start_time_unix_nano);
    assert_eq!(attribute(&span, "http.response.status_code"), Some(&AnyValue::IntValue(200)));
    assert_eq!(attribute(&span, "http.route"), Some(&AnyValue::StringValue("/traced/{id}".into())));
    assert_eq!(attribute(&span, "url.path"), Some(&AnyValue::StringValue("/traced/1".into())));
    assert!(collected.lock().unwrap().services.iter().all(|s| s == "causeway"));
    // Wait for the other calls' spans, then check the unsampled one is not among them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while collected.lock().unwrap().spans.len() < 3 {
        assert!(Instant::now() < deadline, "the other spans never came");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(collected.lock().unwrap().spans.iter().all(|s| hex(&s.trace_id) != "11111111111111111111111111111111"), "unsampled traces are not exported");
}

#[tokio::test]
async fn functions_are_told_the_trace_in_their_event() {
    let s = Server::start().await;
    let g = s.group("traced_fn").await;
    let host = Server::group_host(&g);
    let (status, f) = s
        .post("/functions", &json!({"name": "tracer", "code": "exports.handler = async (event) => ({statusCode: 200, body: JSON.stringify({traceparent: event.headers.traceparent})});"}))
        .await;
    assert_eq!(status, 201, "{f}");
    s.create_and_publish(
        &json!({"group_id": g, "name": "traced_fn", "type": 1, "req_protocol": "HTTP", "req_method": "GET", "req_uri": "/fn",
            "auth_type": "NONE", "backend_type": "FUNCTION", "func_info": {"function_urn": f["urn"], "invocation_type": "sync", "timeout": 5000}}),
        RELEASE,
    )
    .await;
    let c = s.eventually("GET", &host, "/fn", &[("traceparent", CALLER)], |c| c.status == 200).await;
    let told = c.json()["traceparent"].as_str().unwrap_or_default().to_string();
    assert_eq!(&told[..36], "00-0af7651916cd43dd8448eb211c80319c-", "{told}");
    assert_ne!(&told[36..52], "b7ad6b7169203331");
}
