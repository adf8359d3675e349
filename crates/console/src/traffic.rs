//! The traffic the overview shows, from the gateway's own counters: a
//! sampler reads them every few seconds and keeps the last minutes (the
//! whole installation's totals every 5 s for the chart, each route's counts
//! every 30 s for the per-API numbers); a view over a window subtracts the
//! sample at its start from the counters now. Quantiles are estimated from
//! the latency histogram's buckets, as Prometheus' `histogram_quantile` does.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One route's counters as the gateway keeps them.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub api_id: String,
    pub env: String,
    /// By status class: 1xx … 5xx.
    pub requests: [u64; 5],
    /// Latency per bucket (not cumulative), the last one unbounded.
    pub latency: Vec<u64>,
}

/// Reads every route's counters now (given by the binary, which holds the gateway).
pub type Source = Arc<dyn Fn() -> Vec<Counts> + Send + Sync>;

/// Totals over all routes.
#[derive(Debug, Clone, Default)]
struct Totals {
    requests: [u64; 5],
    latency: Vec<u64>,
}

impl Totals {
    fn add(&mut self, c: &Counts) {
        for (t, n) in self.requests.iter_mut().zip(c.requests) {
            *t += n;
        }
        if self.latency.len() < c.latency.len() {
            self.latency.resize(c.latency.len(), 0);
        }
        for (t, n) in self.latency.iter_mut().zip(&c.latency) {
            *t += n;
        }
    }
}

const TOTALS_EVERY: Duration = Duration::from_secs(5);
/// Route samples are taken every this many totals samples (30 s).
const ROUTES_EVERY: u32 = 6;
/// How far back the overview can look.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Each route's counts, by API id and environment.
type RouteSample = Arc<HashMap<(String, String), Counts>>;

struct History {
    totals: VecDeque<(Instant, Totals)>,
    routes: VecDeque<(Instant, RouteSample)>,
}

/// The sampler and its history.
pub struct Traffic {
    source: Source,
    /// Upper bounds of the latency buckets, in seconds.
    bounds: Vec<f64>,
    started: Instant,
    history: Mutex<History>,
}

/// Numbers over a window.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub requests: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub per_second: f64,
    /// Estimated from the buckets; `None` without requests.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

impl Stats {
    pub fn errors(&self) -> u64 {
        self.client_errors + self.server_errors
    }

    /// Errors (4xx and 5xx) as a share of requests, 0 without requests.
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 { 0.0 } else { self.errors() as f64 / self.requests as f64 }
    }
}

/// One route's numbers over a window.
#[derive(Debug, Clone)]
pub struct RouteStats {
    pub api_id: String,
    pub env: String,
    pub stats: Stats,
}

/// One interval of the chart: requests and errors per second from `from` to `to` before now.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub from: Duration,
    pub to: Duration,
    pub per_second: f64,
    pub errors_per_second: f64,
}

/// What the overview shows for a window.
#[derive(Debug, Clone, Default)]
pub struct View {
    /// The span the numbers cover (shorter than asked when the node is younger).
    pub span: Duration,
    pub overall: Stats,
    pub routes: Vec<RouteStats>,
    /// Oldest first.
    pub series: Vec<Point>,
}

impl Traffic {
    pub fn new(source: Source, bounds: Vec<f64>) -> Arc<Self> {
        let history = History { totals: VecDeque::new(), routes: VecDeque::new() };
        Arc::new(Traffic { source, bounds, started: Instant::now(), history: Mutex::new(history) })
    }

    /// Samples every 5 s until the process ends (the task holds only a weak reference).
    pub fn start(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(TOTALS_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut n: u32 = 0;
            loop {
                tick.tick().await;
                let Some(traffic) = weak.upgrade() else { return };
                traffic.sample(n.is_multiple_of(ROUTES_EVERY));
                n = n.wrapping_add(1);
            }
        });
    }

    fn sample(&self, with_routes: bool) {
        let now = Instant::now();
        let counts = (self.source)();
        let mut totals = Totals::default();
        counts.iter().for_each(|c| totals.add(c));
        let mut h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        h.totals.push_back((now, totals));
        while h.totals.front().is_some_and(|(t, _)| now.duration_since(*t) > LONGEST_WINDOW + TOTALS_EVERY * 2) {
            h.totals.pop_front();
        }
        if with_routes {
            let map = counts.into_iter().map(|c| ((c.api_id.clone(), c.env.clone()), c)).collect();
            h.routes.push_back((now, Arc::new(map)));
            while h.routes.front().is_some_and(|(t, _)| now.duration_since(*t) > LONGEST_WINDOW + TOTALS_EVERY * ROUTES_EVERY * 2) {
                h.routes.pop_front();
            }
        }
    }

    /// The numbers over the last `window` (at most [`LONGEST_WINDOW`]).
    pub fn view(&self, window: Duration) -> View {
        let window = window.min(LONGEST_WINDOW);
        let now = Instant::now();
        let counts = (self.source)();
        let mut totals_now = Totals::default();
        counts.iter().for_each(|c| totals_now.add(c));
        let h = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let start = now.checked_sub(window).unwrap_or(self.started);

        // Overall: from the last totals sample at or before the window's start (or the node's start).
        let zero = Totals::default();
        let (base_at, base) = h.totals.iter().rev().find(|(t, _)| *t <= start).map_or((self.started, &zero), |(t, s)| (*t, s));
        let span = now.duration_since(base_at);
        let overall = self.stats(&totals_now, base, span);

        // The chart: every sample after the base, then now.
        let mut series = Vec::new();
        let mut prev = (base_at, base);
        for (t, s) in h.totals.iter().filter(|(t, _)| *t > base_at) {
            series.push(point(now, prev, (*t, s)));
            prev = (*t, s);
        }
        series.push(point(now, prev, (now, &totals_now)));

        // Per route: from the last route sample at or before the start.
        let empty = Arc::new(HashMap::new());
        let (route_at, route_base) = h.routes.iter().rev().find(|(t, _)| *t <= start).map_or((self.started, empty), |(t, m)| (*t, m.clone()));
        drop(h);
        let route_span = now.duration_since(route_at);
        let routes = counts
            .iter()
            .filter_map(|c| {
                let before = route_base.get(&(c.api_id.clone(), c.env.clone()));
                let mut now_t = Totals::default();
                now_t.add(c);
                let mut base_t = Totals::default();
                if let Some(b) = before {
                    base_t.add(b);
                }
                let stats = self.stats(&now_t, &base_t, route_span);
                (stats.requests > 0).then(|| RouteStats { api_id: c.api_id.clone(), env: c.env.clone(), stats })
            })
            .collect();
        View { span, overall, routes, series }
    }

    fn stats(&self, now: &Totals, base: &Totals, span: Duration) -> Stats {
        let class = |i: usize| now.requests[i].saturating_sub(base.requests[i]);
        let requests: u64 = (0..5).map(class).sum();
        let buckets: Vec<u64> = now.latency.iter().enumerate().map(|(i, n)| n.saturating_sub(base.latency.get(i).copied().unwrap_or(0))).collect();
        Stats {
            requests,
            client_errors: class(3),
            server_errors: class(4),
            per_second: per_second(requests, span),
            p50: quantile(&self.bounds, &buckets, 0.5),
            p99: quantile(&self.bounds, &buckets, 0.99),
        }
    }
}

fn per_second(n: u64, span: Duration) -> f64 {
    let secs = span.as_secs_f64();
    if secs <= 0.0 { 0.0 } else { n as f64 / secs }
}

fn point(now: Instant, (t0, a): (Instant, &Totals), (t1, b): (Instant, &Totals)) -> Point {
    let span = t1.duration_since(t0);
    let delta = |i: usize| b.requests[i].saturating_sub(a.requests[i]);
    Point { from: now.duration_since(t0), to: now.duration_since(t1), per_second: per_second((0..5).map(delta).sum(), span), errors_per_second: per_second(delta(3) + delta(4), span) }
}

/// The `q` quantile of a histogram given per bucket with upper `bounds`
/// (one more bucket than bounds: the unbounded one), interpolating
/// linearly inside the bucket; `None` when it is empty. A quantile in the
/// unbounded bucket is the highest bound.
pub fn quantile(bounds: &[f64], buckets: &[u64], q: f64) -> Option<f64> {
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = q * total as f64;
    let mut seen = 0u64;
    for (i, &n) in buckets.iter().enumerate() {
        if n > 0 && (seen + n) as f64 >= rank {
            let Some(&upper) = bounds.get(i) else { return bounds.last().copied() };
            let lower = if i == 0 { 0.0 } else { bounds[i - 1] };
            return Some(lower + (upper - lower) * ((rank - seen as f64) / n as f64));
        }
        seen += n;
    }
    bounds.last().copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_inside_the_bucket() {
        let bounds = [0.001, 0.01, 0.1];
        // 10 requests under 1 ms, 10 between 1 and 10 ms.
        let buckets = [10, 10, 0, 0];
        assert_eq!(quantile(&bounds, &buckets, 0.5), Some(0.001));
        let p99 = quantile(&bounds, &buckets, 0.99).unwrap();
        assert!((p99 - (0.001 + 0.009 * 0.98)).abs() < 1e-12, "{p99}");
        assert_eq!(quantile(&bounds, &[0, 0, 0, 0], 0.5), None);
        // Beyond the last bound: the last bound.
        assert_eq!(quantile(&bounds, &[0, 0, 0, 3], 0.5), Some(0.1));
    }

    #[tokio::test]
    async fn a_window_counts_what_happened_since_its_start() {
        let counter = Arc::new(Mutex::new(Counts { api_id: "a".into(), env: "RELEASE".into(), requests: [0, 5, 0, 1, 0], latency: vec![6, 0] }));
        let c = counter.clone();
        let source: Source = Arc::new(move || vec![c.lock().unwrap().clone()]);
        let traffic = Traffic::new(source, vec![0.001]);
        // A young node: the window starts at the node's start.
        let v = traffic.view(Duration::from_secs(60));
        assert_eq!(v.overall.requests, 6);
        assert_eq!(v.overall.client_errors, 1);
        assert_eq!(v.routes.len(), 1);
        assert_eq!(v.routes[0].stats.requests, 6);
        // Samples taken at the window's start are subtracted.
        traffic.sample(true);
        {
            let mut h = traffic.history.lock().unwrap();
            let long_ago = Instant::now() - Duration::from_secs(120);
            h.totals.iter_mut().for_each(|(t, _)| *t = long_ago);
            h.routes.iter_mut().for_each(|(t, _)| *t = long_ago);
        }
        {
            let mut c = counter.lock().unwrap();
            c.requests[4] += 2;
            c.latency[1] += 2;
        }
        let v = traffic.view(Duration::from_secs(60));
        assert_eq!(v.overall.requests, 2);
        assert_eq!(v.overall.server_errors, 2);
        assert_eq!(v.overall.error_rate(), 1.0);
        assert_eq!(v.overall.p50, Some(0.001));
        assert_eq!(v.routes[0].stats.requests, 2);
        assert!(v.span >= Duration::from_secs(120));
        assert_eq!(v.series.len(), 1);
    }
}
