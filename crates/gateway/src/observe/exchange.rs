//! One request and its answer, as the gateway reports it: produced when the
//! response body is done (or a WebSocket connection closes), so latency and
//! bytes cover the whole response. Finishing it records the route's metrics
//! and writes the access log line.

use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::observe::access_log;
use crate::observe::spans;
use crate::observe::metrics::{self, RouteMetrics};
use crate::observe::request_id::RequestId;
use crate::observe::trace::TraceContext;

/// One request and its answer, finished when the response body is done.
pub struct Exchange {
    pub started: Instant,
    pub request_id: RequestId,
    pub trace: TraceContext,
    pub client: IpAddr,
    pub method: http::Method,
    pub uri: http::Uri,
    pub group: Option<Arc<str>>,
    /// The matched API's counters (and its id and environment, for the log line).
    pub route: Option<Arc<RouteMetrics>>,
    pub status: u16,
    pub upstream: Option<Duration>,
    /// The authenticated app (APP APIs) or token subject (IAM APIs).
    pub app: Option<Box<str>>,
    pub user: Option<String>,
    /// Response body bytes sent.
    pub bytes: u64,
    /// The API's path template, for its span's name (only when spans are exported).
    pub route_template: Option<Box<str>>,
}

impl Exchange {
    pub fn finish(self: Box<Self>) {
        let latency = self.started.elapsed();
        self.route.as_ref().unwrap_or(metrics::unmatched()).record(self.status, latency, self.upstream);
        access_log::write(|buf| self.log_line(buf, latency));
        if spans::enabled() {
            self.record_span(latency);
        }
    }

    /// The request's server span, with the HTTP semantic conventions' attributes and Causeway's own.
    fn record_span(&self, latency: Duration) {
        use opentelemetry::KeyValue;
        let ended = std::time::SystemTime::now();
        let route = self.route.as_deref();
        let mut attributes = vec![
            KeyValue::new("http.request.method", self.method.as_str().to_string()),
            KeyValue::new("url.path", self.uri.path().to_string()),
            KeyValue::new("http.response.status_code", i64::from(self.status)),
            KeyValue::new("client.address", self.client.to_string()),
            KeyValue::new("causeway.request_id", self.request_id.as_str().to_string()),
        ];
        if let Some(template) = &self.route_template {
            attributes.push(KeyValue::new("http.route", template.to_string()));
        }
        if let Some(r) = route {
            attributes.push(KeyValue::new("causeway.api_id", r.api_id.to_string()));
            attributes.push(KeyValue::new("causeway.env", r.env_name.to_string()));
        }
        if let Some(g) = &self.group {
            attributes.push(KeyValue::new("causeway.group_id", g.to_string()));
        }
        if let Some(app) = &self.app {
            attributes.push(KeyValue::new("causeway.app_id", app.to_string()));
        }
        if let Some(u) = self.upstream {
            attributes.push(KeyValue::new("causeway.upstream_latency_ms", millis(u)));
        }
        let name = match &self.route_template {
            Some(t) => format!("{} {t}", self.method),
            None => self.method.as_str().to_string(),
        };
        spans::record(spans::Served { trace: &self.trace, request_id: &self.request_id, name: name.into(), started: ended - latency, ended, status: self.status, attributes });
    }

    /// `{"time","request_id","trace_id","span_id","client","group","api","env","app","user","method","path","status","latency_ms","upstream_latency_ms","bytes"}`
    fn log_line(&self, buf: &mut Vec<u8>, latency: Duration) {
        let route = self.route.as_deref();
        buf.extend_from_slice(b"{\"time\":\"");
        access_log::now_rfc3339(buf);
        let _ = write!(
            buf,
            "\",\"request_id\":\"{}\",\"trace_id\":\"{}\",\"span_id\":\"{}\",\"client\":\"{}\",\"group\":",
            self.request_id.as_str(),
            self.trace.trace_id(&self.request_id),
            TraceContext::span_id(&self.request_id),
            self.client
        );
        access_log::json_str(buf, self.group.as_deref().unwrap_or_default());
        buf.extend_from_slice(b",\"api\":");
        access_log::json_str(buf, route.map_or("", |r| &*r.api_id));
        buf.extend_from_slice(b",\"env\":");
        access_log::json_str(buf, route.map_or("", |r| &*r.env_name));
        buf.extend_from_slice(b",\"app\":");
        access_log::json_str(buf, self.app.as_deref().unwrap_or_default());
        buf.extend_from_slice(b",\"user\":");
        access_log::json_str(buf, self.user.as_deref().unwrap_or_default());
        buf.extend_from_slice(b",\"method\":");
        access_log::json_str(buf, self.method.as_str());
        buf.extend_from_slice(b",\"path\":");
        access_log::json_str(buf, self.uri.path());
        let _ = write!(buf, ",\"status\":{},\"latency_ms\":{:.3},\"upstream_latency_ms\":", self.status, millis(latency));
        match self.upstream {
            Some(u) => {
                let _ = write!(buf, "{:.3}", millis(u));
            }
            None => buf.extend_from_slice(b"null"),
        }
        let _ = write!(buf, ",\"bytes\":{}}}", self.bytes);
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

