//! Where a backend request goes and what comes back when it fails: the
//! endpoint (address, TLS, HTTP/2, the key of its idle connections), an
//! owned address computed once, the request body type, and the failure.

use bytes::Bytes;
use http::Request;
use http_body_util::{Either, Full, Limited};
use hyper::body::Incoming;

use crate::http::error::{GatewayError, errors};
use crate::http::paced::{self, Paced};
use crate::observe::metrics::{self, Refusal};

/// The request body sent upstream: the caller's, streamed with a size limit
/// at the pace it must keep, or already read whole (when a stage needed it).
pub type UpBody = Either<Limited<Paced<Incoming>>, Full<Bytes>>;

/// Where a backend request goes.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint<'a> {
    pub host: &'a str,
    pub port: u16,
    /// The key of its idle connections: `host:port`, or over TLS also the
    /// server name and whether the client certificate was presented (see [`tls_pool_key`]).
    pub authority: &'a str,
    /// Over TLS, when set.
    pub tls: Option<TlsTo<'a>>,
    /// HTTP/2 (h2c over plain TCP, ALPN `h2` over TLS) instead of HTTP/1.1.
    pub http2: bool,
}

/// The idle-connection key of a TLS backend: connections made for another
/// server name, or with(out) the client certificate, are not reused for it.
pub fn tls_pool_key(authority: &str, server_name: &str, client_cert: bool) -> String {
    format!("tls{}:{server_name}@{authority}", if client_cert { "+cert" } else { "" })
}

/// A TLS connection's settings.
#[derive(Debug, Clone, Copy)]
pub struct TlsTo<'a> {
    /// The name the backend's certificate must carry (and SNI).
    pub server_name: &'a str,
    /// Present the gateway's client certificate (`enable_client_ssl`).
    pub client_cert: bool,
}

/// A backend request that got no answer.
pub struct Failure {
    pub error: GatewayError,
    /// The request, when it never left (the backend could not be reached): it may go elsewhere.
    pub unsent: Option<Request<UpBody>>,
    /// The backend did not answer in time.
    pub timed_out: bool,
}

/// A backend at one address, owned: its endpoint computed once.
#[derive(Debug, Clone)]
pub struct Address {
    pub host: Box<str>,
    pub port: u16,
    /// Over TLS: present the gateway's client certificate (`enable_client_ssl`).
    tls: Option<bool>,
    http2: bool,
    /// The key of its idle connections.
    key: Box<str>,
}

impl Address {
    /// `https`: `Some(client_cert)` over TLS, `None` in the clear.
    pub fn new(host: &str, port: u16, tls: Option<bool>, http2: bool) -> Self {
        let authority = format!("{host}:{port}");
        let key = match tls {
            Some(client_cert) => tls_pool_key(&authority, host, client_cert),
            None => authority,
        };
        let key = if http2 { format!("h2:{key}") } else { key };
        Self { host: host.into(), port, tls, http2, key: key.into() }
    }

    /// `host[:port]` (`[v6]:port` too), with `default_port` when it names none.
    pub fn parse(address: &str, default_port: u16) -> Result<(String, u16), String> {
        let bad = || format!("backend address {address:?} is not host[:port]");
        if let Some(rest) = address.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad())?,
                None if after.is_empty() => default_port,
                None => return Err(bad()),
            };
            return Ok((host.to_string(), port));
        }
        match address.rsplit_once(':') {
            Some((host, port)) => Ok((host.to_string(), port.parse().map_err(|_| bad())?)),
            None => Ok((address.to_string(), default_port)),
        }
    }

    pub fn endpoint(&self) -> Endpoint<'_> {
        Endpoint {
            host: &self.host,
            port: self.port,
            authority: &self.key,
            tls: self.tls.map(|client_cert| TlsTo { server_name: &self.host, client_cert }),
            http2: self.http2,
        }
    }
}

pub(crate) fn send_error(e: hyper::Error) -> GatewayError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    let mut depth = 0;
    while let Some(s) = source {
        // An error of the caller's connection under the client's own: the body it was sending broke (a bad chunk, a drop).
        if depth > 0 && s.is::<hyper::Error>() {
            return errors::BAD_PARAMETER.with_message("The request body could not be read".into());
        }
        depth += 1;
        if s.is::<http_body_util::LengthLimitError>() {
            return errors::BODY_TOO_LARGE;
        }
        if paced::is_too_slow(s) {
            metrics::refused(Refusal::BodyTimeout);
            return errors::BODY_TIMEOUT;
        }
        source = s.source();
    }
    errors::BACKEND_UNAVAILABLE.with_message(format!("Backend unavailable: {e}"))
}
