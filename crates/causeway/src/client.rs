//! `causeway sign` and `causeway call`: sign a request with an app's key
//! pair (`SDK-HMAC-SHA256`) as the vendors' SDKs do, and print the headers
//! or send it and print the answer. For people testing their APIs.

use std::io::Write;
use std::time::Duration;

use causeway_sign::sdk::{self, Key};
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

/// Flags shared by `sign` and `call`.
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// The URL to call, e.g. http://127.0.0.1:8080/v1/orders?id=1
    pub url: String,
    /// HTTP method.
    #[arg(short = 'X', long, default_value = "GET")]
    pub method: String,
    /// The app's key (`app_key`).
    #[arg(long, env = "CAUSEWAY_APP_KEY")]
    pub key: String,
    /// The app's secret (`app_secret`).
    #[arg(long, env = "CAUSEWAY_APP_SECRET", hide_env_values = true)]
    pub secret: String,
    /// A request header, `Name: value` (repeatable). Every header given is signed.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// The Host to sign and send, when it differs from the URL's (e.g. a
    /// group's `<group_id>.apigw.localhost` while calling 127.0.0.1).
    #[arg(long)]
    pub host: Option<String>,
    /// Request body.
    #[arg(short = 'd', long, conflicts_with = "data_file")]
    pub data: Option<String>,
    /// Request body read from a file.
    #[arg(long, value_name = "FILE")]
    pub data_file: Option<std::path::PathBuf>,
    /// Leave the body out of the signature (`X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`).
    #[arg(long)]
    pub unsigned_payload: bool,
}

/// A request ready to send: what was signed, and the headers to send.
#[derive(Debug)]
struct Prepared {
    uri: http::Uri,
    method: http::Method,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    canonical_request: String,
}

fn prepare(args: &RequestArgs) -> Result<Prepared, String> {
    let uri: http::Uri = args.url.parse().map_err(|e| format!("invalid URL {:?}: {e}", args.url))?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// URLs can be called for now (HTTPS comes with the TLS listener)".into());
    }
    let authority = uri.authority().ok_or("the URL has no host")?.as_str().to_string();
    let method = http::Method::from_bytes(args.method.to_ascii_uppercase().as_bytes()).map_err(|_| format!("invalid method {:?}", args.method))?;
    let body = match (&args.data, &args.data_file) {
        (Some(d), _) => d.clone().into_bytes(),
        (None, Some(f)) => std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?,
        (None, None) => Vec::new(),
    };
    let mut headers = vec![("host".to_string(), args.host.clone().unwrap_or(authority))];
    for h in &args.headers {
        let (name, value) = h.split_once(':').ok_or_else(|| format!("header {h:?} is not `Name: value`"))?;
        let name = name.trim();
        http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid header name {name:?}"))?;
        if name.eq_ignore_ascii_case("host") {
            headers[0].1 = value.trim().to_string();
        } else {
            headers.push((name.to_string(), value.trim().to_string()));
        }
    }
    if args.unsigned_payload {
        headers.push((sdk::CONTENT_SHA256_HEADER.to_string(), "UNSIGNED-PAYLOAD".to_string()));
    }
    let payload_hash = sdk::payload_hash(&headers, &body).into_owned();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    let signed = sdk::sign(Key { access: &args.key, secret: &args.secret }, method.as_str(), &path, &query, &headers, &payload_hash, now);
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(sdk::DATE_HEADER)) {
        headers.push(("X-Sdk-Date".to_string(), signed.date.clone()));
    }
    headers.push(("Authorization".to_string(), signed.authorization));
    Ok(Prepared { uri, method, headers, body, canonical_request: signed.canonical_request })
}

/// `causeway sign`: the headers to add, one per line, and the canonical request on stderr.
pub fn sign(args: RequestArgs) -> Result<(), String> {
    let p = prepare(&args)?;
    let mut out = std::io::stdout().lock();
    for (k, v) in &p.headers {
        let _ = writeln!(out, "{k}: {v}");
    }
    eprintln!("canonical request:\n{}", p.canonical_request);
    Ok(())
}

/// `causeway call`: sends the signed request; prints the status line and
/// headers on stderr and the body on stdout. Fails on a non-2xx answer.
pub fn call(args: RequestArgs) -> Result<(), String> {
    let p = prepare(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (status, headers, body) = runtime.block_on(send(p))?;
    eprintln!("HTTP/1.1 {status}");
    for (k, v) in &headers {
        eprintln!("{k}: {}", String::from_utf8_lossy(v.as_bytes()));
    }
    eprintln!();
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&body);
    let _ = out.flush();
    if status.is_success() { Ok(()) } else { Err(format!("the answer was {status}")) }
}

async fn send(p: Prepared) -> Result<(http::StatusCode, http::HeaderMap, Bytes), String> {
    let host = p.uri.host().ok_or("the URL has no host")?.trim_matches(|c| c == '[' || c == ']').to_string();
    let port = p.uri.port_u16().unwrap_or(80);
    let work = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let path = p.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let mut req = http::Request::builder().method(p.method).uri(path);
        for (k, v) in &p.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let req = req.body(Full::new(Bytes::from(p.body))).map_err(|e| format!("invalid request: {e}"))?;
        let res = sender.send_request(req).await.map_err(|e| format!("request failed: {e}"))?;
        let (parts, body) = res.into_parts();
        let body = body.collect().await.map_err(|e| format!("cannot read the answer: {e}"))?.to_bytes();
        Ok::<_, String>((parts.status, parts.headers, body))
    };
    tokio::time::timeout(Duration::from_secs(60), work).await.map_err(|_| "no answer within 60 s".to_string())?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> RequestArgs {
        RequestArgs {
            url: url.into(),
            method: "post".into(),
            key: "app_key_example".into(),
            secret: "app_secret_example".into(),
            headers: vec!["Content-Type: application/json".into(), "X-Sdk-Date: 20240101T000000Z".into(), "x-stage: RELEASE".into()],
            host: Some("abc.apigw.example.com".into()),
            data: Some(r#"{"k":"v"}"#.into()),
            data_file: None,
            unsigned_payload: false,
        }
    }

    #[test]
    fn signs_the_reference_request() {
        // The reference vector of the signature documents, through the CLI's own path.
        let p = prepare(&args("http://127.0.0.1:8080/v1/test%20path/x?b=2&a=1&a=0&empty=")).unwrap();
        let auth = p.headers.iter().find(|(k, _)| k == "Authorization").unwrap();
        assert_eq!(
            auth.1,
            "SDK-HMAC-SHA256 Access=app_key_example, SignedHeaders=content-type;host;x-sdk-date;x-stage, Signature=41ca529e7eaad280b5c89432c236b2d0f32080cf9a473e57a2b863689daa2387"
        );
        assert_eq!(p.headers[0], ("host".to_string(), "abc.apigw.example.com".to_string()));
        // The given date is kept, not added twice.
        assert_eq!(p.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("x-sdk-date")).count(), 1);
    }

    #[test]
    fn bad_input_is_a_message() {
        assert!(prepare(&args("https://example.com/")).unwrap_err().contains("http://"));
        assert!(prepare(&args("not a url")).unwrap_err().contains("invalid URL"));
        let mut a = args("http://h/");
        a.headers = vec!["no colon".into()];
        assert!(prepare(&a).unwrap_err().contains("Name: value"));
        a.headers = vec!["bad name: x".into()];
        assert!(prepare(&a).unwrap_err().contains("invalid header name"));
    }
}
