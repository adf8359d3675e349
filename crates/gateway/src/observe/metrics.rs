//! Prometheus metrics of the data plane.
//!
//! Label cardinality is bounded by what the owner publishes: requests are
//! labelled by API id, environment and status class, never by path or caller.
//! A route's counters are looked up on its first request, so a request costs
//! a few relaxed atomic adds, not a registry lookup. Per-route series are
//! kept here with fixed buckets and rendered on scrape: with 10,000 APIs a
//! sample-based exporter would spend its upkeep walking 20,000 histograms.
//! Gauges about the snapshot go through the `metrics` facade.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub const REQUESTS: &str = "causeway_requests_total";
pub const REQUEST_DURATION: &str = "causeway_request_duration_seconds";
pub const UPSTREAM_DURATION: &str = "causeway_upstream_duration_seconds";
pub const SNAPSHOT_REVISION: &str = "causeway_snapshot_revision";
pub const ROUTES_LOADED: &str = "causeway_routes_loaded";
pub const SNAPSHOT_BUILDS: &str = "causeway_snapshot_builds_total";
pub const THROTTLE_FALLBACKS: &str = "causeway_throttle_redis_fallbacks_total";
pub const TRACE_SPANS_DROPPED: &str = "causeway_trace_spans_dropped_total";
pub const ACCESS_LOG_DROPPED: &str = "causeway_access_log_dropped_lines_total";
pub const CONNECTIONS_OPEN: &str = "causeway_connections_open";
pub const LIMITS_HIT: &str = "causeway_limits_hit_total";

/// Histogram bucket bounds for the durations, in seconds.
pub const DURATION_BUCKETS: &[f64] =
    &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The same bounds in nanoseconds, for recording without floating point.
const BUCKET_NANOS: [u64; 16] = [
    500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000, 250_000_000, 500_000_000,
    1_000_000_000, 2_500_000_000, 5_000_000_000, 10_000_000_000, 30_000_000_000, 60_000_000_000,
];

const REQUESTS_HELP: &str = "Requests answered, by API id, environment and status class (api=\"\" for requests that match no API)";
const REQUEST_DURATION_HELP: &str = "Time from request to the last byte of the response, by API and environment";
const UPSTREAM_DURATION_HELP: &str = "Time the HTTP backend took to answer (to its response headers), by API and environment";

/// A client limit that refused a connection or a request (docs/security.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The node's connection cap: the connection was closed at once.
    NodeCap,
    /// The per-address connection cap: the connection was closed at once.
    AddressCap,
    /// No complete request head in time: the connection was closed.
    HeaderTimeout,
    /// No TLS handshake in time: the connection was closed.
    HandshakeTimeout,
    /// A request head over the size or header-count limit: 431.
    HeaderSize,
    /// A request target over the length limit: 414.
    UriLength,
    /// A request body that stopped arriving: 408.
    BodyTimeout,
    /// A request that is not valid HTTP/1.1: 400, then closed.
    Malformed,
    /// An HTTP/2 connection closed for breaking the protocol (rapid reset and CONTINUATION floods included).
    Http2Error,
    /// An HTTP/2 connection closed for a flood of control or empty frames.
    Http2Flood,
}

impl Refusal {
    const ALL: [Refusal; 10] = [
        Refusal::NodeCap,
        Refusal::AddressCap,
        Refusal::HeaderTimeout,
        Refusal::HandshakeTimeout,
        Refusal::HeaderSize,
        Refusal::UriLength,
        Refusal::BodyTimeout,
        Refusal::Malformed,
        Refusal::Http2Error,
        Refusal::Http2Flood,
    ];

    fn label(self) -> &'static str {
        match self {
            Refusal::NodeCap => "max_connections",
            Refusal::AddressCap => "max_connections_per_address",
            Refusal::HeaderTimeout => "header_timeout",
            Refusal::HandshakeTimeout => "handshake_timeout",
            Refusal::HeaderSize => "max_header_size",
            Refusal::UriLength => "max_uri_length",
            Refusal::BodyTimeout => "body_timeout",
            Refusal::Malformed => "malformed_request",
            Refusal::Http2Error => "http2_protocol",
            Refusal::Http2Flood => "http2_flood",
        }
    }
}

static REFUSALS: [AtomicU64; Refusal::ALL.len()] = [const { AtomicU64::new(0) }; Refusal::ALL.len()];
static OPEN_CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// Counts a limit that refused a connection or a request.
pub fn refused(limit: Refusal) {
    REFUSALS[limit as usize].fetch_add(1, Relaxed);
}

pub fn connection_opened() {
    OPEN_CONNECTIONS.fetch_add(1, Relaxed);
}

pub fn connection_closed() {
    OPEN_CONNECTIONS.fetch_sub(1, Relaxed);
}

/// The connection gauge and the limit counters in the Prometheus text format.
fn render_limits(out: &mut String) {
    let _ = writeln!(out, "# HELP {CONNECTIONS_OPEN} Client connections open on the gateway's listeners\n# TYPE {CONNECTIONS_OPEN} gauge");
    let _ = writeln!(out, "{CONNECTIONS_OPEN} {}", OPEN_CONNECTIONS.load(Relaxed));
    let _ = writeln!(out, "# HELP {LIMITS_HIT} Connections and requests refused by a client limit, by limit\n# TYPE {LIMITS_HIT} counter");
    for limit in Refusal::ALL {
        let _ = writeln!(out, "{LIMITS_HIT}{{limit=\"{}\"}} {}", limit.label(), REFUSALS[limit as usize].load(Relaxed));
    }
}

/// Registers the descriptions of the gauges kept through the `metrics` facade.
pub fn describe() {
    metrics::describe_gauge!(SNAPSHOT_REVISION, "Store revision of the snapshot the gateway serves");
    metrics::describe_gauge!(ROUTES_LOADED, "Published APIs the gateway serves, over all groups and environments");
    metrics::describe_counter!(SNAPSHOT_BUILDS, "Snapshots built since start");
    metrics::describe_counter!(THROTTLE_FALLBACKS, "Requests counted on this node because Redis did not answer (with --redis)");
    metrics::describe_counter!(ACCESS_LOG_DROPPED, "Access log lines not written: the log's writer was behind (a full pipe or disk) by more than its queue");
    metrics::describe_counter!(TRACE_SPANS_DROPPED, "Spans not exported: the queue to the collector was full, or the collector refused them (with --otlp-endpoint)");
}

/// A Prometheus histogram with fixed buckets: recording is three relaxed
/// atomic adds, with no background upkeep however many routes exist.
#[derive(Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; BUCKET_NANOS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn record(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let i = BUCKET_NANOS.iter().position(|&b| nanos <= b).unwrap_or(BUCKET_NANOS.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, count) in self.counts.iter().enumerate() {
            cumulative += count.load(Relaxed);
            match DURATION_BUCKETS.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", self.sum_nanos.load(Relaxed) as f64 / 1e9);
        let _ = writeln!(out, "{name}_count{{{labels}}} {cumulative}");
    }

    fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| c.load(Relaxed) == 0)
    }
}

/// Counters of one API in one environment, kept for the life of the process
/// and shared by every snapshot that serves the route.
pub struct RouteMetrics {
    /// The API's id and its environment's name, for the access log.
    pub api_id: Box<str>,
    pub env_name: Box<str>,
    /// `api="…",env="…"`, escaped once.
    labels: Box<str>,
    /// By status class: 1xx … 5xx.
    requests: [AtomicU64; 5],
    latency: Histogram,
    upstream: Histogram,
}

type Registry = Mutex<HashMap<(Box<str>, Box<str>), Arc<RouteMetrics>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

impl RouteMetrics {
    /// The counters of `api` in `env`, created on first use. Called once per
    /// compiled route, never per request.
    pub fn of(api: &str, env: &str) -> Arc<RouteMetrics> {
        let mut map = registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(m) = map.get(&(Box::from(api), Box::from(env))) {
            return m.clone();
        }
        let mut labels = String::from("api=\"");
        label_value(&mut labels, api);
        labels.push_str("\",env=\"");
        label_value(&mut labels, env);
        labels.push('"');
        let m = Arc::new(RouteMetrics {
            api_id: api.into(),
            env_name: env.into(),
            labels: labels.into(),
            requests: Default::default(),
            latency: Histogram::default(),
            upstream: Histogram::default(),
        });
        map.insert((api.into(), env.into()), m.clone());
        m
    }

    pub(super) fn record(&self, status: u16, latency: Duration, upstream: Option<Duration>) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[class].fetch_add(1, Relaxed);
        self.latency.record(latency);
        if let Some(u) = upstream {
            self.upstream.record(u);
        }
    }
}

/// The data plane's own series in the Prometheus text format: the client
/// limits, then the per-route series sorted by labels.
pub fn render_routes(out: &mut String) {
    render_limits(out);
    let mut all: Vec<Arc<RouteMetrics>> = registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect();
    all.sort_by(|a, b| a.labels.cmp(&b.labels));
    let _ = writeln!(out, "# HELP {REQUESTS} {REQUESTS_HELP}\n# TYPE {REQUESTS} counter");
    for m in &all {
        for (class, count) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().zip(&m.requests) {
            let n = count.load(Relaxed);
            if n > 0 {
                let _ = writeln!(out, "{REQUESTS}{{{},status=\"{class}\"}} {n}", m.labels);
            }
        }
    }
    let _ = writeln!(out, "# HELP {REQUEST_DURATION} {REQUEST_DURATION_HELP}\n# TYPE {REQUEST_DURATION} histogram");
    for m in all.iter().filter(|m| !m.latency.is_empty()) {
        m.latency.render(out, REQUEST_DURATION, &m.labels);
    }
    let _ = writeln!(out, "# HELP {UPSTREAM_DURATION} {UPSTREAM_DURATION_HELP}\n# TYPE {UPSTREAM_DURATION} histogram");
    for m in all.iter().filter(|m| !m.upstream.is_empty()) {
        m.upstream.render(out, UPSTREAM_DURATION, &m.labels);
    }
}

/// What one route has counted so far: requests by status class, and the
/// latency histogram per bucket (not cumulative; the last is `+Inf`).
#[derive(Debug, Clone)]
pub struct RouteCounts {
    pub api_id: Box<str>,
    pub env_name: Box<str>,
    pub requests: [u64; 5],
    pub latency: [u64; BUCKET_NANOS.len() + 1],
}

/// Every route's counters now, for the console's traffic view (read every few
/// seconds, never on the request path). Routes that served nothing are left out.
pub fn route_counts() -> Vec<RouteCounts> {
    let all: Vec<Arc<RouteMetrics>> = registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect();
    all.iter()
        .filter(|m| !m.latency.is_empty())
        .map(|m| RouteCounts {
            api_id: m.api_id.clone(),
            env_name: m.env_name.clone(),
            requests: std::array::from_fn(|i| m.requests[i].load(Relaxed)),
            latency: std::array::from_fn(|i| m.latency.counts[i].load(Relaxed)),
        })
        .collect()
}

impl std::fmt::Debug for RouteMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMetrics").field("api_id", &self.api_id).field("env_name", &self.env_name).finish_non_exhaustive()
    }
}

/// Requests that match no API share one set of series.
pub(super) fn unmatched() -> &'static Arc<RouteMetrics> {
    static UNMATCHED: OnceLock<Arc<RouteMetrics>> = OnceLock::new();
    UNMATCHED.get_or_init(|| RouteMetrics::of("", ""))
}

/// A label value with `\`, `"` and newlines escaped.
fn label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_with_sum_and_count() {
        let h = Histogram::default();
        h.record(Duration::from_micros(300)); // le 0.0005
        h.record(Duration::from_micros(500)); // le 0.0005 (bounds are inclusive)
        h.record(Duration::from_millis(3)); // le 0.005
        h.record(Duration::from_secs(100)); // +Inf only
        let mut out = String::new();
        h.render(&mut out, "d", "api=\"a\"");
        assert!(out.contains("d_bucket{api=\"a\",le=\"0.0005\"} 2\n"), "{out}");
        assert!(out.contains("d_bucket{api=\"a\",le=\"0.0025\"} 2\n"), "{out}");
        assert!(out.contains("d_bucket{api=\"a\",le=\"0.005\"} 3\n"), "{out}");
        assert!(out.contains("d_bucket{api=\"a\",le=\"60\"} 3\n"), "{out}");
        assert!(out.contains("d_bucket{api=\"a\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("d_sum{api=\"a\"} 100.0038\n"), "{out}");
        assert!(out.contains("d_count{api=\"a\"} 4\n"), "{out}");
    }

    #[test]
    fn route_counters_are_shared_and_labels_escaped() {
        let a = RouteMetrics::of("obs-test-api", "RELEASE");
        let b = RouteMetrics::of("obs-test-api", "RELEASE");
        assert!(Arc::ptr_eq(&a, &b));
        a.record(204, Duration::from_millis(1), None);
        b.record(503, Duration::from_millis(2), Some(Duration::from_millis(1)));
        let odd = RouteMetrics::of("q\"x\\y\nz", "E");
        odd.record(200, Duration::ZERO, None);
        let mut out = String::new();
        render_routes(&mut out);
        assert!(out.contains("causeway_requests_total{api=\"obs-test-api\",env=\"RELEASE\",status=\"2xx\"} 1\n"), "{out}");
        assert!(out.contains("causeway_requests_total{api=\"obs-test-api\",env=\"RELEASE\",status=\"5xx\"} 1\n"), "{out}");
        assert!(!out.contains("api=\"obs-test-api\",env=\"RELEASE\",status=\"4xx\""), "{out}");
        assert!(out.contains("causeway_upstream_duration_seconds_count{api=\"obs-test-api\",env=\"RELEASE\"} 1\n"), "{out}");
        assert!(out.contains("causeway_requests_total{api=\"q\\\"x\\\\y\\nz\",env=\"E\",status=\"2xx\"} 1\n"), "{out}");
    }
}
