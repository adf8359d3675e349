//! HTTP/2 towards backends (`http2: true`): h2c over plain TCP and ALPN h2
//! over TLS, connections shared by concurrent requests, and gRPC calls passed
//! through with their trailers.

mod common;

use bytes::Bytes;
use common::echo::Echo;
use common::tls::{self as client, Ca, request2};
use common::Server;
use http_body_util::{BodyExt, Full};
use hyper::body::Frame;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};

const RELEASE: &str = "DEFAULT_ENVIRONMENT_RELEASE_ID";

type Reply = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

/// An HTTP/2-only backend. `/grpc.Echo/Say` answers as a gRPC server does (the
/// request's message back, then `grpc-status` in trailers); other paths answer
/// JSON describing the request. Plain TCP (h2c) or TLS with ALPN h2.
async fn h2_backend(tls: Option<tokio_rustls::TlsAcceptor>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let tls = tls.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let (parts, body) = req.into_parts();
                    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    let reply: Reply = if parts.uri.path() == "/grpc.Echo/Say" {
                        let mut trailers = http::HeaderMap::new();
                        trailers.insert("grpc-status", "0".parse().unwrap());
                        trailers.insert("grpc-message", "said".parse().unwrap());
                        let frames = futures_util::stream::iter(vec![Ok(Frame::data(body)), Ok(Frame::trailers(trailers))]);
                        http_body_util::StreamBody::new(frames).boxed()
                    } else {
                        let seen = json!({
                            "version": format!("{:?}", parts.version),
                            "authority": parts.uri.authority().map(|a| a.to_string()),
                            "path": parts.uri.path(),
                            "te": parts.headers.get("te").and_then(|v| v.to_str().ok()),
                        });
                        Full::new(Bytes::from(seen.to_string())).boxed()
                    };
                    let content_type = if parts.uri.path() == "/grpc.Echo/Say" { "application/grpc" } else { "application/json" };
                    Ok::<_, std::convert::Infallible>(hyper::Response::builder().header("content-type", content_type).body(reply).unwrap())
                });
                let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
                match tls {
                    None => {
                        let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                    }
                    Some(acceptor) => {
                        if let Ok(s) = acceptor.accept(stream).await {
                            let _ = builder.serve_connection(TokioIo::new(s), service).await;
                        }
                    }
                }
            });
        }
    });
    addr
}

fn api(group: &str, name: &str, path: &str, url_domain: &str, protocol: &str) -> Value {
    json!({
      "group_id": group, "name": name, "type": 1, "req_protocol": "BOTH", "req_method": "ANY", "req_uri": path,
      "auth_type": "NONE", "backend_type": "HTTP",
      "backend_api": {"url_domain": url_domain, "req_protocol": protocol, "req_method": "ANY", "req_uri": path, "timeout": 3000, "http2": true}
    })
}

/// A gRPC message: uncompressed, length-prefixed.
fn grpc_message(payload: &[u8]) -> Bytes {
    let mut m = vec![0u8];
    m.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    m.extend_from_slice(payload);
    Bytes::from(m)
}

#[tokio::test]
async fn grpc_calls_pass_through_with_their_trailers() {
    let backend = h2_backend(None).await;
    let plain_h1 = Echo::start().await;
    let s = Server::start().await;
    let g = s.group("grpc").await;
    let host = Server::group_host(&g);
    let id = s.create_and_publish(&api(&g, "say", "/grpc.Echo/Say", &backend.to_string(), "HTTP"), RELEASE).await;
    let (_, stored) = s.get(&format!("/apis/{id}")).await;
    assert_eq!(stored["backend_api"]["http2"], true);
    s.create_and_publish(&api(&g, "described", "/describe", &backend.to_string(), "HTTP"), RELEASE).await;
    s.create_and_publish(&api(&g, "h1_only", "/h1", &plain_h1.address(), "HTTP"), RELEASE).await;
    s.eventually("GET", &host, "/describe", &[], |c| c.status != 404).await;

    // A gRPC client: HTTP/2 over TLS to the gateway.
    let tls = client::connect(s.gateway_tls, Some(&host), client::any_cert(&[b"h2"])).await.unwrap();
    let h2 = client::http2(tls).await;
    let calls = (0..50).map(|i| {
        let (mut h2, host) = (h2.clone(), host.clone());
        tokio::spawn(async move {
            let payload = format!("message {i}");
            let req = http::Request::builder()
                .method("POST")
                .uri(format!("https://{host}/grpc.Echo/Say"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(Full::new(grpc_message(payload.as_bytes())))
                .unwrap();
            let res = h2.send_request(req).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.headers()["content-type"], "application/grpc");
            let collected = res.into_body().collect().await.unwrap();
            let trailers = collected.trailers().cloned().expect("trailers reach the caller");
            assert_eq!(trailers["grpc-status"], "0");
            assert_eq!(trailers["grpc-message"], "said");
            assert_eq!(collected.to_bytes(), grpc_message(payload.as_bytes()));
        })
    });
    for c in calls {
        c.await.unwrap();
    }

    // The backend sees HTTP/2 with the caller's authority and TE: trailers, whatever the caller spoke.
    let h1 = s.call_gateway("GET", &host, "/describe", &[]).await;
    assert_eq!(h1.status, 200, "{}", h1.body);
    assert_eq!(h1.json()["version"], "HTTP/2.0");
    assert_eq!(h1.json()["authority"], host);
    assert_eq!(h1.json()["te"], "trailers");
    // h2c with prior knowledge from the caller too.
    let tcp = tokio::net::TcpStream::connect(s.gateway.trim_start_matches("http://")).await.unwrap();
    let (mut h2c, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await.unwrap();
    tokio::spawn(conn);
    let res = h2c.send_request(request2("GET", &host, "/describe", &[])).await.unwrap();
    assert_eq!(res.status(), 200);

    // A backend that does not speak HTTP/2 is a 502.
    let refused = s.call_gateway("GET", &host, "/h1", &[]).await;
    assert_eq!(refused.status, 502, "{}", refused.body);
}

#[tokio::test]
async fn http2_backends_over_tls_agree_on_it_by_alpn() {
    let ca = Ca::new("H2 CA");
    let backend = h2_backend(Some(ca.acceptor(&["localhost"], &[b"h2"]))).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = ca.write(dir.path());
    let s = Server::start_with(common::Backend::Sqlite, &["--upstream-ca", &ca_file]).await;
    let g = s.group("h2_tls").await;
    let host = Server::group_host(&g);
    s.create_and_publish(&api(&g, "secure_h2", "/describe", &format!("localhost:{}", backend.port()), "HTTPS"), RELEASE).await;
    let first = s.eventually("GET", &host, "/describe", &[], |c| c.status != 404).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.json()["version"], "HTTP/2.0");
    // Concurrent callers share the thread's connection.
    let calls: Vec<_> = (0..20).map(|_| s.call_gateway("GET", &host, "/describe", &[])).collect();
    for c in futures_util::future::join_all(calls).await {
        assert_eq!(c.status, 200, "{}", c.body);
    }
}
