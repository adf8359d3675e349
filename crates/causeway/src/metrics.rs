//! Prometheus metrics, rendered as text at `/metrics` on the admin listener:
//! the gateway's per-route series (kept by the gateway itself) followed by the
//! gauges recorded through the `metrics` facade.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The scrape side of the installed recorder.
#[derive(Clone)]
pub struct Metrics(PrometheusHandle);

impl Metrics {
    /// Prometheus text exposition with its content type.
    pub fn render(&self) -> ([(axum::http::header::HeaderName, &'static str); 1], String) {
        let mut text = String::new();
        causeway_gateway::render_route_metrics(&mut text);
        text.push_str(&self.0.render());
        ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text)
    }
}

/// Installs the process-wide recorder. It holds only gauges and counters, so
/// it needs no periodic upkeep.
pub fn install() -> Result<Metrics, String> {
    let handle = PrometheusBuilder::new().install_recorder().map_err(|e| format!("cannot start metrics: {e}"))?;
    causeway_gateway::describe_metrics();
    Ok(Metrics(handle))
}
