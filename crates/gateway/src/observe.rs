//! What the gateway reports about each request: Prometheus metrics (through
//! the `metrics` facade; the binary installs the exporter) and the access
//! log line. Both are produced when the response body is done, so latency
//! and bytes cover the whole response.
//!
//! Label cardinality is bounded by what the owner publishes: requests are
//! labelled by API id, environment and status class, never by path or caller.
//! A route's metric handles are registered on its first request, so a
//! request costs a few atomic adds, not a registry lookup.

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use metrics::{Counter, Histogram};

use crate::access_log;
use crate::request_id::RequestId;
use crate::route::Route;

pub const REQUESTS: &str = "causeway_requests_total";
pub const REQUEST_DURATION: &str = "causeway_request_duration_seconds";
pub const UPSTREAM_DURATION: &str = "causeway_upstream_duration_seconds";
pub const SNAPSHOT_REVISION: &str = "causeway_snapshot_revision";
pub const ROUTES_LOADED: &str = "causeway_routes_loaded";
pub const SNAPSHOT_BUILDS: &str = "causeway_snapshot_builds_total";

/// Histogram bucket bounds for the durations, in seconds.
pub const DURATION_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Registers the descriptions shown in `/metrics`.
pub fn describe() {
    metrics::describe_counter!(REQUESTS, "Requests answered, by API id, environment and status class (api=\"\" for requests that match no API)");
    metrics::describe_histogram!(REQUEST_DURATION, metrics::Unit::Seconds, "Time from request to the last byte of the response, by API and environment");
    metrics::describe_histogram!(UPSTREAM_DURATION, metrics::Unit::Seconds, "Time the HTTP backend took to answer (to its response headers), by API and environment");
    metrics::describe_gauge!(SNAPSHOT_REVISION, "Store revision of the snapshot the gateway serves");
    metrics::describe_gauge!(ROUTES_LOADED, "Published APIs the gateway serves, over all groups and environments");
    metrics::describe_counter!(SNAPSHOT_BUILDS, "Snapshots built since start");
}

/// Metric handles of one API in one environment.
pub struct RouteMetrics {
    /// By status class: 1xx … 5xx.
    requests: [Counter; 5],
    latency: Histogram,
    upstream: Histogram,
}

impl RouteMetrics {
    pub fn new(api: &str, env: &str) -> Self {
        let counter = |class: &'static str| {
            metrics::counter!(REQUESTS, "api" => api.to_string(), "env" => env.to_string(), "status" => class)
        };
        Self {
            requests: [counter("1xx"), counter("2xx"), counter("3xx"), counter("4xx"), counter("5xx")],
            latency: metrics::histogram!(REQUEST_DURATION, "api" => api.to_string(), "env" => env.to_string()),
            upstream: metrics::histogram!(UPSTREAM_DURATION, "api" => api.to_string(), "env" => env.to_string()),
        }
    }

    fn record(&self, status: u16, latency: Duration, upstream: Option<Duration>) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[class].increment(1);
        self.latency.record(latency.as_secs_f64());
        if let Some(u) = upstream {
            self.upstream.record(u.as_secs_f64());
        }
    }
}

/// Requests that match no API share one set of series.
fn unmatched() -> &'static RouteMetrics {
    static UNMATCHED: OnceLock<RouteMetrics> = OnceLock::new();
    UNMATCHED.get_or_init(|| RouteMetrics::new("", ""))
}

/// One request and its answer, finished when the response body is done.
pub struct Exchange {
    pub started: Instant,
    pub request_id: RequestId,
    pub client: IpAddr,
    pub method: http::Method,
    pub uri: http::Uri,
    pub group: Option<Arc<str>>,
    pub route: Option<Arc<Route>>,
    pub status: u16,
    pub upstream: Option<Duration>,
    /// Response body bytes sent.
    pub bytes: u64,
}

impl Exchange {
    pub fn finish(self: Box<Self>) {
        let latency = self.started.elapsed();
        match &self.route {
            Some(r) => r.metrics().record(self.status, latency, self.upstream),
            None => unmatched().record(self.status, latency, self.upstream),
        }
        access_log::write(|buf| self.log_line(buf, latency));
    }

    /// `{"time","request_id","client","group","api","env","method","path","status","latency_ms","upstream_latency_ms","bytes"}`
    fn log_line(&self, buf: &mut Vec<u8>, latency: Duration) {
        let api = self.route.as_deref();
        buf.extend_from_slice(b"{\"time\":\"");
        access_log::now_rfc3339(buf);
        let _ = write!(buf, "\",\"request_id\":\"{}\",\"client\":\"{}\",\"group\":", self.request_id.as_str(), self.client);
        access_log::json_str(buf, self.group.as_deref().unwrap_or_default());
        buf.extend_from_slice(b",\"api\":");
        access_log::json_str(buf, api.map_or("", |r| r.def().id.as_str()));
        buf.extend_from_slice(b",\"env\":");
        access_log::json_str(buf, api.map_or("", |r| &*r.env_name));
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
