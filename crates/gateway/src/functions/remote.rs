//! Functions served by another platform over HTTP (the `http` runtime:
//! OpenFaaS, Knative, a Lambda-style runtime): the event is POSTed to the
//! function's URL over the gateway's upstream connections, and a 2xx
//! answer's body is the function's value.

use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http_body_util::{BodyExt, Either, Full, Limited};

use crate::http::error::{GatewayError, errors};
use crate::http::headers::X_REQUEST_ID;
use crate::upstream::{self, Address};

/// A function served by another platform over HTTP (OpenFaaS, Knative, a Lambda-style runtime).
#[derive(Debug)]
pub(super) struct Remote {
    address: Address,
    path: http::uri::PathAndQuery,
    host: HeaderValue,
}

/// Largest answer read from an `http` function.
const MAX_REMOTE_ANSWER: usize = 12 << 20;

impl Remote {
    pub(super) fn compile(url: &str) -> Result<Self, String> {
        let uri: http::Uri = url.parse().map_err(|_| format!("the function URL {url:?} is not a URL"))?;
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("the function URL {url:?} is neither http:// nor https://")),
        };
        let authority = uri.authority().ok_or_else(|| format!("the function URL {url:?} has no host"))?;
        let path = uri.path_and_query().cloned().unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
        let host = HeaderValue::from_str(authority.as_str()).map_err(|_| format!("the function URL {url:?} has an invalid host"))?;
        let (name, port) = Address::parse(authority.as_str(), if https { 443 } else { 80 })?;
        Ok(Self { address: Address::new(&name, port, https.then_some(false), false), path, host })
    }

    /// POSTs the event; a 2xx answer's body is the function's value (empty: `undefined`).
    pub(super) async fn invoke(&self, request_id: &str, event: String, timeout: Duration) -> Result<Option<String>, GatewayError> {
        let mut req = http::Request::new(Either::Right(Full::new(Bytes::from(event))));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = http::Uri::from(self.path.clone());
        let headers = req.headers_mut();
        headers.insert(http::header::HOST, self.host.clone());
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Ok(id) = HeaderValue::from_str(request_id) {
            headers.insert(X_REQUEST_ID, id);
        }
        let answer = async {
            let res = upstream::send(self.address.endpoint(), timeout, req).await.map_err(|f| f.error)?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_REMOTE_ANSWER)
                .collect()
                .await
                .map_err(|_| errors::BACKEND_UNAVAILABLE.with_message("The function's answer could not be read".into()))?
                .to_bytes();
            if !status.is_success() {
                tracing::warn!(request_id, status = status.as_u16(), "function URL answered an error");
                return Err(errors::FUNCTION_FAILED);
            }
            if body.iter().all(u8::is_ascii_whitespace) {
                return Ok(None);
            }
            String::from_utf8(body.to_vec()).map(Some).map_err(|_| errors::FUNCTION_FAILED.with_message("The backend function's answer is not UTF-8 JSON".into()))
        };
        tokio::time::timeout(timeout, answer).await.unwrap_or(Err(errors::BACKEND_TIMEOUT))
    }
}

