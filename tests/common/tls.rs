//! A TLS client for the gateway's HTTPS listener: handshakes with or without
//! SNI, shows which certificate was served, and speaks HTTP/1.1 or HTTP/2.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use causeway_tls::certificate::to_pem;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client that accepts any certificate (the test looks at which one it got), offering `alpn`.
pub fn any_cert(alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut c = (*causeway_tls::client::accept_any_config().unwrap()).clone();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

/// A client that trusts only `ca_pem`, offering `alpn`.
pub fn trusting(ca_pem: &str, alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let mut c = ClientConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots).with_no_client_auth();
    c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

/// A handshake asking for `sni` (none: no server name is sent).
pub async fn connect(addr: SocketAddr, sni: Option<&str>, config: Arc<ClientConfig>) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = match sni {
        Some(n) => ServerName::try_from(n.to_string()).unwrap(),
        // rustls sends no SNI for an address.
        None => ServerName::IpAddress(addr.ip().into()),
    };
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await
}

/// The leaf certificate the server presented.
pub fn served(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().expect("a certificate")[0].clone().into_owned()
}

pub type H1 = hyper::client::conn::http1::SendRequest<Full<Bytes>>;
pub type H2 = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

pub async fn http1(stream: TlsStream<TcpStream>) -> H1 {
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

pub async fn http2(stream: TlsStream<TcpStream>) -> H2 {
    let (sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await.unwrap();
    tokio::spawn(conn);
    sender
}

/// A response as the caller sees it.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// An HTTP/1.1 request (origin-form target and a Host header).
pub fn request(method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::builder().method(method).uri(path).header("host", host);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

/// An HTTP/2 request (the host goes in `:authority`).
pub fn request2(method: &str, host: &str, path: &str, headers: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    let mut b = http::Request::builder().method(method).uri(format!("https://{host}{path}"));
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(Full::new(Bytes::new())).unwrap()
}

pub async fn answer(res: hyper::Response<hyper::body::Incoming>) -> Answer {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer { status, headers, body: String::from_utf8_lossy(&body).into_owned() }
}

/// One HTTP/1.1 request on a fresh TLS connection with SNI `host`.
pub async fn get(addr: SocketAddr, host: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let stream = connect(addr, Some(host), any_cert(&[b"http/1.1"])).await.expect("handshake");
    let mut h1 = http1(stream).await;
    answer(h1.send_request(request("GET", host, path, headers)).await.unwrap()).await
}

/// A test certificate authority that signs server and client certificates.
pub struct Ca {
    /// Its certificate, PEM.
    pub pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Self {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { pem: to_pem("CERTIFICATE", cert.der()), issuer: rcgen::Issuer::new(params, key) }
    }

    /// A certificate for `names`, valid from `from` to `to` days from now: (chain PEM, key PEM, leaf DER).
    pub fn issue(&self, names: &[&str], from: i64, to: i64) -> (String, String, Vec<u8>) {
        let mut params = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(from);
        params.not_after = now + time::Duration::days(to);
        params.distinguished_name.push(rcgen::DnType::CommonName, names[0]);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (format!("{}{}", to_pem("CERTIFICATE", cert.der()), self.pem), to_pem("PRIVATE KEY", &key.serialize_der()), cert.der().to_vec())
    }

    /// A TLS acceptor for a backend named `names`, agreeing to `alpn`.
    pub fn acceptor(&self, names: &[&str], alpn: &[&[u8]]) -> tokio_rustls::TlsAcceptor {
        let (chain, key, _) = self.issue(names, -1, 30);
        let chain: Vec<_> = CertificateDer::pem_slice_iter(chain.as_bytes()).map(|c| c.unwrap()).collect();
        let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions().unwrap().with_no_client_auth().with_single_cert(chain, key).unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }

    /// The CA certificate in a file, for `--upstream-ca`.
    pub fn write(&self, dir: &std::path::Path) -> String {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).unwrap();
        path.display().to_string()
    }
}
