//! The overview: requests per second, error rate and p50/p99 latency over
//! the last minutes, overall (with a chart) and per API (the top APIs by
//! traffic and by errors), from the gateway's own counters; and every node
//! of the installation, with its state and the store revision it serves.
//! The page reloads itself every 10 s.

use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{self, PageOptions};
use crate::traffic::{Point, RouteStats, Stats, View};
use crate::{Console, QueryMap, Signed};

/// The windows offered, in minutes.
const WINDOWS: [u64; 3] = [1, 5, 15];
const TOP: usize = 10;

/// `GET /console/overview?minutes=`.
pub async fn show(State(console): State<Console>, signed: Signed, QueryMap(q): QueryMap) -> Response {
    let minutes = q.get("minutes").and_then(|m| m.parse::<u64>().ok()).filter(|m| WINDOWS.contains(m)).unwrap_or(5);
    let view = console.node.traffic.as_ref().map(|t| t.view(Duration::from_secs(minutes * 60)));
    let nodes = console.service.list_nodes(&causeway_admin::service::Paging::page(1, 100)).await.map(|p| p.items);
    let mut by_traffic: Vec<&RouteStats> = view.iter().flat_map(|v| &v.routes).collect();
    by_traffic.sort_by(|a, b| b.stats.requests.cmp(&a.stats.requests).then_with(|| a.api_id.cmp(&b.api_id)));
    let mut by_errors: Vec<&RouteStats> = by_traffic.iter().copied().filter(|r| r.stats.errors() > 0).collect();
    by_errors.sort_by(|a, b| b.stats.errors().cmp(&a.stats.errors()).then_with(|| a.api_id.cmp(&b.api_id)));
    by_traffic.truncate(TOP);
    by_errors.truncate(TOP);
    let ids: Vec<&str> = by_traffic.iter().chain(&by_errors).map(|r| r.api_id.as_str()).filter(|id| !id.is_empty()).collect();
    let names = console.service.api_names(&ids).await.unwrap_or_default();
    let api_cell = |r: &RouteStats| -> Markup {
        html! {
            @if r.api_id.is_empty() { span.muted { "no API matched" } }
            @else if let Some(name) = names.get(&r.api_id) { a href=(format!("/console/apis/{}", r.api_id)) { (name) } }
            @else { code { (r.api_id) } " " span.muted { "(deleted)" } }
        }
    };
    let routes_table = |caption: &str, rows: &[&RouteStats]| -> Markup {
        html! {
            table {
                caption { (caption) }
                thead { tr { th { "API" } th { "Environment" } th { "Requests" } th { "Per second" } th { "Errors" } th { "p50" } th { "p99" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { (api_cell(r)) }
                            td { (r.env) }
                            td { (r.stats.requests) }
                            td { (rate(r.stats.per_second)) }
                            td { (r.stats.errors()) " (" (percent(r.stats.error_rate())) ")" }
                            td { (latency(r.stats.p50)) }
                            td { (latency(r.stats.p99)) }
                        }
                    }
                }
            }
        }
    };
    let node = &console.node;
    let body = html! {
        h1 { "Overview" }
        nav.tabs aria-label="Window" {
            "Last "
            @for m in WINDOWS {
                a href=(format!("/console/overview?minutes={m}")) aria-current=[(m == minutes).then_some("page")] { (m) " min" }
            }
        }
        @match &view {
            None => p.empty { "This node runs no gateway, so it has no traffic to show. Each gateway node's numbers are on its " code { "/metrics" } "." },
            Some(v) => {
                (summary(&v.overall, v.span))
                section.card.wide aria-labelledby="chart" {
                    h2 id="chart" { "Requests per second" }
                    (chart(v, Duration::from_secs(minutes * 60)))
                    p.legend { span.swatch.requests {} " all requests " span.swatch.errors {} " errors (4xx and 5xx)" }
                }
                @if v.routes.is_empty() {
                    p.empty { "No requests in this window. Publish an API and call it through the gateway; its traffic shows here." }
                } @else {
                    (routes_table("Top APIs by traffic", &by_traffic))
                    @if by_errors.is_empty() { p.muted { "No errors in this window." } } @else { (routes_table("Top APIs by errors", &by_errors)) }
                }
            }
        }
        section.card.wide aria-labelledby="nodes" {
            h2 id="nodes" { "Nodes" }
            @match &nodes {
                Ok(list) if !list.is_empty() => {
                    table {
                        thead { tr { th { "Node" } th { "Role" } th { "State" } th { "Version" } th { "Listens on" } th { "Serving revision" } th { "Last heard of" } } }
                        tbody {
                            @for n in list {
                                @let r = &n.reported;
                                @let id = r.get("id").and_then(|v| v.as_str()).unwrap_or_default();
                                tr {
                                    td { code { (id.get(..8).unwrap_or(id)) } @if node.id == id { " " span.muted { "(this node)" } } }
                                    td { (r.get("role").and_then(|v| v.as_str()).unwrap_or_default()) }
                                    td { @match n.status { "up" => span.ok { "up" }, other => span.error { (other) } } }
                                    td { (r.get("version").and_then(|v| v.as_str()).unwrap_or_default()) }
                                    td {
                                        @for key in ["gateway", "gateway_tls", "admin"] {
                                            @if let Some(a) = r.get(key).and_then(|v| v.as_str()) { (key.replace('_', " ")) " " code { (a) } br; }
                                        }
                                    }
                                    td {
                                        @match (r.get("revision").and_then(|v| v.as_i64()), n.lag) {
                                            (Some(rev), Some(0)) => { (rev) " " span.ok { "up to date" } },
                                            (Some(rev), Some(lag)) => { (rev) " " span.error { (lag) " behind" } },
                                            _ => span.muted { "no gateway" },
                                        }
                                    }
                                    td { (n.last_heartbeat.replace('T', " ").split('.').next().unwrap_or_default()) }
                                }
                            }
                        }
                    }
                },
                Ok(_) => p.muted { "No node has recorded itself yet (nodes do every few seconds)." },
                Err(e) => p.error { (e.message) },
            }
        }
    };
    layout::page_with(&signed, "Overview", "/console/overview", body, PageOptions { refresh: Some(10) }).into_response()
}

/// The window's headline numbers.
fn summary(s: &Stats, span: Duration) -> Markup {
    html! {
        div.stats {
            div.stat { span.label { "Requests per second" } strong { (rate(s.per_second)) } }
            div.stat { span.label { "Error rate" } strong { (percent(s.error_rate())) } small { (s.client_errors) " 4xx · " (s.server_errors) " 5xx" } }
            div.stat { span.label { "p50 latency" } strong { (latency(s.p50)) } }
            div.stat { span.label { "p99 latency" } strong { (latency(s.p99)) } }
            div.stat { span.label { "Requests" } strong { (s.requests) } small { "in the last " (uptime(span)) } }
        }
    }
}

const CHART_W: f64 = 720.0;
const CHART_H: f64 = 180.0;
const PAD_L: f64 = 48.0;
const PAD_B: f64 = 22.0;
const PAD_T: f64 = 10.0;

/// Requests and errors per second over the window, as SVG.
fn chart(v: &View, window: Duration) -> Markup {
    let top = v.series.iter().map(|p| p.per_second).fold(0.0, f64::max);
    let top = nice_ceiling(top);
    let span = window.as_secs_f64();
    let x = |ago: Duration| PAD_L + (CHART_W - PAD_L) * (1.0 - (ago.as_secs_f64() / span).min(1.0));
    let y = |value: f64| PAD_T + (CHART_H - PAD_B - PAD_T) * (1.0 - value / top);
    // Each interval is drawn as a step, so a burst reads as one.
    let line = |f: &dyn Fn(&Point) -> f64| -> String {
        v.series.iter().map(|p| format!("{:.1},{2:.1} {:.1},{2:.1}", x(p.from), x(p.to), y(f(p)))).collect::<Vec<_>>().join(" ")
    };
    let label = format!("Requests per second over the last {} minutes: at most {}", window.as_secs() / 60, rate(top));
    html! {
        svg.chart viewBox=(format!("0 0 {CHART_W} {CHART_H}")) role="img" aria-label=(label) {
            title { (label) }
            @for i in 0..=4 {
                @let value = top * f64::from(i) / 4.0;
                line.grid x1=(PAD_L) x2=(CHART_W) y1=(format!("{:.1}", y(value))) y2=(format!("{:.1}", y(value))) {}
                text.axis x=(PAD_L - 6.0) y=(format!("{:.1}", y(value) + 4.0)) text-anchor="end" { (rate(value)) }
            }
            text.axis x=(PAD_L) y=(CHART_H - 4.0) { "−" (window.as_secs() / 60) " min" }
            text.axis x=(CHART_W) y=(CHART_H - 4.0) text-anchor="end" { "now" }
            polyline.requests points=(line(&|p| p.per_second)) {}
            polyline.errors points=(line(&|p| p.errors_per_second)) {}
        }
    }
}

/// 1, 2 or 5 times a power of ten at or above `v` (at least 1).
fn nice_ceiling(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|c| *c >= v).unwrap_or(10.0 * power)
}

fn rate(v: f64) -> String {
    if v >= 100.0 { format!("{v:.0}") } else if v >= 10.0 { format!("{v:.1}") } else { format!("{v:.2}") }
}

fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0)
}

/// A latency in seconds, as ms (or s when long).
pub fn latency(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(s) if s >= 1.0 => format!("{s:.2} s"),
        Some(s) if s >= 0.01 => format!("{:.0} ms", s * 1000.0),
        Some(s) => format!("{:.2} ms", s * 1000.0),
    }
}

fn uptime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_scales_are_round() {
        assert_eq!(nice_ceiling(0.3), 1.0);
        assert_eq!(nice_ceiling(1.5), 2.0);
        assert_eq!(nice_ceiling(37.0), 50.0);
        assert_eq!(nice_ceiling(500.0), 500.0);
        assert_eq!(nice_ceiling(501.0), 1000.0);
    }

    #[test]
    fn latencies_read_naturally() {
        assert_eq!(latency(None), "–");
        assert_eq!(latency(Some(0.0012)), "1.20 ms");
        assert_eq!(latency(Some(0.25)), "250 ms");
        assert_eq!(latency(Some(2.0)), "2.00 s");
    }
}
