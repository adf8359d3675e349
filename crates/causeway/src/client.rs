//! `causeway sign` and `causeway call`: authenticate a request as a caller
//! of each authentication mode would (an app's `SDK-HMAC-SHA256` signature
//! as the vendors' SDKs make it, Tencent's key-pair `hmac-sha1`, an AppCode,
//! a bearer token) and print the headers, or send it and print the answer.
//! For people testing their APIs.

use std::io::Write;
use std::time::Duration;

use causeway_sign::sdk::{self, Key};
use causeway_sign::{bce, tencent};
use clap::{Args, ValueEnum};
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
    /// How the request authenticates.
    #[arg(long, value_enum, default_value_t = AuthMode::Sdk)]
    pub auth: AuthMode,
    /// The app's key (`app_key`), for `sdk` and `key-pair`.
    #[arg(long, env = "CAUSEWAY_APP_KEY")]
    pub key: Option<String>,
    /// The app's secret (`app_secret`), for `sdk` and `key-pair`.
    #[arg(long, env = "CAUSEWAY_APP_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// The app's AppCode, for `app-code`.
    #[arg(long, env = "CAUSEWAY_APP_CODE", hide_env_values = true)]
    pub app_code: Option<String>,
    /// The JWT, for `bearer`.
    #[arg(long, env = "CAUSEWAY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
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
    /// For https:// URLs: accept any certificate (e.g. the gateway's self-signed default).
    #[arg(short = 'k', long)]
    pub insecure: bool,
    /// For https:// URLs: PEM certificates to trust besides the public roots.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,
}

/// The authentication modes of the gateway, as a caller uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// `SDK-HMAC-SHA256` signature with the app's key and secret (APP APIs).
    Sdk,
    /// Tencent key-pair `hmac-sha1` over `X-Date` and `Source` (APP APIs).
    KeyPair,
    /// Baidu `bce-auth-v1` in `X-Bce-Signature`, over `Host` and `x-bce-date` (APP APIs).
    Bce,
    /// `X-Apig-AppCode` (APP APIs with AppCodes enabled).
    AppCode,
    /// `Authorization: Bearer <JWT>` (IAM APIs).
    Bearer,
    /// Nothing added (NONE APIs).
    None,
}

/// A request ready to send: what was signed, and the headers to send.
#[derive(Debug)]
struct Prepared {
    uri: http::Uri,
    method: http::Method,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// What the signature covers, for `causeway sign` to show.
    signed_text: Option<String>,
}

fn required<'a>(value: &'a Option<String>, flag: &str, mode: &str) -> Result<&'a str, String> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| format!("--auth {mode} needs {flag}"))
}

fn has(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
}

fn prepare(args: &RequestArgs) -> Result<Prepared, String> {
    let uri: http::Uri = args.url.parse().map_err(|e| format!("invalid URL {:?}: {e}", args.url))?;
    if !matches!(uri.scheme_str(), Some("http") | Some("https")) {
        return Err("the URL must be http:// or https://".into());
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
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let mut signed_text = None;
    match args.auth {
        AuthMode::Sdk => {
            let key = Key { access: required(&args.key, "--key", "sdk")?, secret: required(&args.secret, "--secret", "sdk")? };
            if args.unsigned_payload {
                headers.push((sdk::CONTENT_SHA256_HEADER.to_string(), "UNSIGNED-PAYLOAD".to_string()));
            }
            let payload_hash = sdk::payload_hash(&headers, &body).into_owned();
            let signed = sdk::sign(key, method.as_str(), uri.path(), uri.query().unwrap_or_default(), &headers, &payload_hash, now);
            if !has(&headers, sdk::DATE_HEADER) {
                headers.push(("X-Sdk-Date".to_string(), signed.date.clone()));
            }
            headers.push(("Authorization".to_string(), signed.authorization));
            signed_text = Some(signed.canonical_request);
        }
        AuthMode::KeyPair => {
            let (id, secret) = (required(&args.key, "--key", "key-pair")?, required(&args.secret, "--secret", "key-pair")?);
            if !has(&headers, "x-date") {
                headers.push(("X-Date".to_string(), causeway_sign::format_http_date(now)));
            }
            if !has(&headers, "source") {
                headers.push(("Source".to_string(), "causeway-cli".to_string()));
            }
            let names = ["x-date", "source"];
            signed_text = Some(tencent::signing_string(&names, &headers));
            headers.push(("Authorization".to_string(), tencent::authorization_header(id, secret, &names, &headers)));
        }
        AuthMode::Bce => {
            let (ak, secret) = (required(&args.key, "--key", "bce")?, required(&args.secret, "--secret", "bce")?);
            if !has(&headers, "x-bce-date") {
                headers.push(("x-bce-date".to_string(), bce::format_timestamp(now)));
            }
            let req = bce::Request { method: method.as_str(), path: uri.path(), query: uri.query().unwrap_or_default(), headers: &headers };
            let value = bce::sign(ak, secret, &req, now, 1800, &["host", "x-bce-date"]);
            let names = ["host".to_string(), "x-bce-date".to_string()];
            signed_text = Some(bce::canonical_request(method.as_str(), uri.path(), uri.query().unwrap_or_default(), &names, &headers));
            headers.push(("X-Bce-Signature".to_string(), value));
        }
        AuthMode::AppCode => headers.push(("X-Apig-AppCode".to_string(), required(&args.app_code, "--app-code", "app-code")?.to_string())),
        AuthMode::Bearer => headers.push(("Authorization".to_string(), format!("Bearer {}", required(&args.token, "--token", "bearer")?))),
        AuthMode::None => {}
    }
    Ok(Prepared { uri, method, headers, body, signed_text })
}

/// `causeway sign`: the headers to add, one per line, and the canonical request on stderr.
pub fn sign(args: RequestArgs) -> Result<(), String> {
    let p = prepare(&args)?;
    let mut out = std::io::stdout().lock();
    for (k, v) in &p.headers {
        let _ = writeln!(out, "{k}: {v}");
    }
    if let Some(text) = &p.signed_text {
        let what = if matches!(args.auth, AuthMode::Sdk | AuthMode::Bce) { "canonical request" } else { "signing string" };
        eprintln!("{what}:\n{text}");
    }
    Ok(())
}

/// `causeway call`: sends the signed request; prints the status line and
/// headers on stderr and the body on stdout. Fails on a non-2xx answer.
pub fn call(args: RequestArgs) -> Result<(), String> {
    let p = prepare(&args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let tls = TlsOptions { insecure: args.insecure, cacert: args.cacert.clone() };
    let (status, headers, body) = runtime.block_on(send(p, tls))?;
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

/// How a management call authenticates: the admin token, or an admin access key's signature.
#[derive(Debug, Clone)]
pub enum AdminAuth {
    Token(String),
    Key { access: String, secret: String },
}

/// One management call (`path_query` from `/v1.0/...`) to `endpoint`; the answer's status, headers and body.
pub fn admin_call(
    endpoint: &str,
    auth: &AdminAuth,
    method: &str,
    path_query: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<(u16, http::HeaderMap, Bytes), String> {
    let url = format!("{}{path_query}", endpoint.trim_end_matches('/'));
    let uri: http::Uri = url.parse().map_err(|e| format!("invalid endpoint {endpoint:?}: {e}"))?;
    let authority = uri.authority().ok_or("the endpoint has no host")?.as_str().to_string();
    let method = http::Method::from_bytes(method.as_bytes()).map_err(|_| format!("invalid method {method:?}"))?;
    let mut headers = vec![("host".to_string(), authority)];
    if let Some(ct) = content_type {
        headers.push(("content-type".to_string(), ct.to_string()));
    }
    match auth {
        AdminAuth::Token(t) => headers.push(("X-Auth-Token".to_string(), t.clone())),
        AdminAuth::Key { access, secret } => {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
            let payload_hash = sdk::sha256_hex(&body);
            let key = Key { access, secret };
            let signed = sdk::sign(key, method.as_str(), uri.path(), uri.query().unwrap_or_default(), &headers, &payload_hash, now);
            headers.push(("X-Sdk-Date".to_string(), signed.date));
            headers.push(("Authorization".to_string(), signed.authorization));
        }
    }
    let p = Prepared { uri, method, headers, body, signed_text: None };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let (status, headers, body) = runtime.block_on(send(p, TlsOptions { insecure: false, cacert: None }))?;
    Ok((status.as_u16(), headers, body))
}

/// Over TLS: the server name is the Host sent (so `--host` picks a group's certificate).
async fn tls_stream(p: &Prepared, tcp: tokio::net::TcpStream, tls: &TlsOptions) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    let config = if tls.insecure {
        causeway_tls::client::accept_any_config()?
    } else {
        let extra_roots_pem = match &tls.cacert {
            Some(f) => Some(std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?),
            None => None,
        };
        causeway_tls::UpstreamTls::new(&causeway_tls::UpstreamTrust { extra_roots_pem, client_cert_pem: None })?.plain
    };
    let host = p.headers.iter().find(|(k, _)| k == "host").map_or("", |(_, v)| v.as_str());
    let name = host.rsplit_once(':').filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    let name = causeway_tls::client::server_name(name.trim_matches(|c| c == '[' || c == ']'))?;
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| format!("TLS handshake failed: {e}"))
}

/// How https:// URLs are verified.
pub struct TlsOptions {
    pub insecure: bool,
    pub cacert: Option<std::path::PathBuf>,
}

async fn send(p: Prepared, tls: TlsOptions) -> Result<(http::StatusCode, http::HeaderMap, Bytes), String> {
    let host = p.uri.host().ok_or("the URL has no host")?.trim_matches(|c| c == '[' || c == ']').to_string();
    let https = p.uri.scheme_str() == Some("https");
    let port = p.uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let work = async {
        let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
        let mut sender = if https {
            let stream = tls_stream(&p, stream, &tls).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            sender
        } else {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            sender
        };
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
            auth: AuthMode::Sdk,
            key: Some("app_key_example".into()),
            secret: Some("app_secret_example".into()),
            app_code: None,
            token: None,
            headers: vec!["Content-Type: application/json".into(), "X-Sdk-Date: 20240101T000000Z".into(), "x-stage: RELEASE".into()],
            host: Some("abc.apigw.example.com".into()),
            data: Some(r#"{"k":"v"}"#.into()),
            data_file: None,
            unsigned_payload: false,
            insecure: false,
            cacert: None,
        }
    }

    #[test]
    fn signs_the_reference_request() {
        // The reference vector of shared/spec/apig-reference.md §3.1 (computed with the
        // vendors' PyPI signer; see causeway-sign's sdk tests), through the CLI's own path.
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
        assert!(prepare(&args("https://example.com/")).is_ok());
        assert!(prepare(&args("ftp://example.com/")).unwrap_err().contains("http://"));
        assert!(prepare(&args("not a url")).unwrap_err().contains("invalid URL"));
        let mut a = args("http://h/");
        a.headers = vec!["no colon".into()];
        assert!(prepare(&a).unwrap_err().contains("Name: value"));
        a.headers = vec!["bad name: x".into()];
        assert!(prepare(&a).unwrap_err().contains("invalid header name"));
        a.headers = vec![];
        a.auth = AuthMode::AppCode;
        assert_eq!(prepare(&a).unwrap_err(), "--auth app-code needs --app-code");
        a.auth = AuthMode::Sdk;
        a.secret = None;
        assert_eq!(prepare(&a).unwrap_err(), "--auth sdk needs --secret");
    }

    #[test]
    fn other_modes() {
        let mut a = args("http://127.0.0.1:8080/x");
        a.auth = AuthMode::KeyPair;
        a.headers = vec!["X-Date: Mon, 19 Mar 2018 12:08:40 GMT".into(), "Source: test".into()];
        let p = prepare(&a).unwrap();
        let auth = &p.headers.iter().find(|(k, _)| k == "Authorization").unwrap().1;
        let parsed = tencent::Authorization::parse(auth).unwrap();
        assert_eq!((parsed.id, parsed.headers.as_slice()), ("app_key_example", &["x-date", "source"][..]));
        assert!(tencent::verify("app_secret_example", &parsed, &p.headers));

        assert_eq!(p.signed_text.as_deref(), Some("x-date: Mon, 19 Mar 2018 12:08:40 GMT\nsource: test"));
        a.auth = AuthMode::Bce;
        a.headers = vec![];
        let p = prepare(&a).unwrap();
        let value = &p.headers.iter().find(|(k, _)| k == "X-Bce-Signature").unwrap().1;
        let parsed = bce::AuthString::parse(value).unwrap();
        assert_eq!((parsed.access_key, parsed.signed_headers.as_slice()), ("app_key_example", &["host", "x-bce-date"][..]));
        let req = bce::Request { method: "POST", path: "/x", query: "", headers: &p.headers };
        assert_eq!(bce::verify("app_secret_example", &parsed, &req), Ok(()));

        a.auth = AuthMode::Bearer;
        a.token = Some("eyJ.x.y".into());
        let p = prepare(&a).unwrap();
        assert!(p.headers.contains(&("Authorization".to_string(), "Bearer eyJ.x.y".to_string())));
        a.auth = AuthMode::None;
        assert!(!has(&prepare(&a).unwrap().headers, "authorization"));
    }
}
