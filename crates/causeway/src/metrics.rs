//! Prometheus metrics: the exporter behind the `metrics` facade the gateway
//! records into, rendered as text at `/metrics` on the admin listener.

use std::time::Duration;

use causeway_gateway::observe;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

/// How often histogram samples are folded into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

/// The scrape side of the installed recorder.
#[derive(Clone)]
pub struct Metrics(PrometheusHandle);

impl Metrics {
    /// Prometheus text exposition with its content type.
    pub fn render(&self) -> ([(axum::http::header::HeaderName, &'static str); 1], String) {
        ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], self.0.render())
    }
}

/// Installs the process-wide recorder and keeps it tidy until `stopping`.
pub fn install(mut stopping: watch::Receiver<bool>) -> Result<Metrics, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".into()), observe::DURATION_BUCKETS)
        .and_then(|b| b.install_recorder())
        .map_err(|e| format!("cannot start metrics: {e}"))?;
    observe::describe();
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tokio::select! {
                _ = tick.tick() => upkeep.run_upkeep(),
                _ = stopping.changed() => break,
            }
        }
    });
    Ok(Metrics(handle))
}
