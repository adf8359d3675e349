//! Optional export of the gateway's spans over OTLP/HTTP (protobuf, the
//! `opentelemetry-otlp` exporter) when `--otlp-endpoint` names a collector.
//! Each sampled request becomes one server span — the trace and span ids of
//! its [`TraceContext`](super::trace::TraceContext), the caller's span as
//! parent — handed to a bounded queue (full: the span is dropped and
//! counted, a request never waits) and exported in batches of up to 512, at
//! least every second, by a task of the node's runtime.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanExporter, SpanLinks};
use tokio::sync::{mpsc, oneshot};

use crate::observe::metrics::TRACE_SPANS_DROPPED;
use crate::observe::request_id::RequestId;
use crate::observe::trace::TraceContext;

/// Spans waiting for export; more are dropped.
const QUEUE: usize = 8_192;
const BATCH: usize = 512;
const EVERY: Duration = Duration::from_secs(1);

enum Message {
    Span(Box<SpanData>),
    /// Export what is queued, then answer.
    Flush(oneshot::Sender<()>),
}

static QUEUE_TX: OnceLock<mpsc::Sender<Message>> = OnceLock::new();

/// Where spans go, and what the node says of itself in them.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The collector's OTLP/HTTP base URL (`http://collector:4318`) or its traces URL (`…/v1/traces`).
    pub endpoint: String,
    /// `service.instance.id`: the node's id.
    pub instance: String,
}

/// Starts exporting to the collector (on the current runtime); spans are recorded from then on.
pub fn start(config: &OtlpConfig) -> Result<(), String> {
    let endpoint = if config.endpoint.trim_end_matches('/').ends_with("/v1/traces") {
        config.endpoint.clone()
    } else {
        format!("{}/v1/traces", config.endpoint.trim_end_matches('/'))
    };
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint.clone())
        .with_timeout(Duration::from_secs(10))
        .with_headers(Default::default())
        .build()
        .map_err(|e| format!("cannot export spans to {endpoint}: {e}"))?;
    let resource = opentelemetry_sdk::Resource::builder_empty()
        .with_service_name("causeway")
        .with_attributes([KeyValue::new("service.version", env!("CARGO_PKG_VERSION")), KeyValue::new("service.instance.id", config.instance.clone())])
        .build();
    exporter.set_resource(&resource);
    let (tx, rx) = mpsc::channel(QUEUE);
    QUEUE_TX.set(tx).map_err(|_| "span export is already started".to_string())?;
    tokio::spawn(export(exporter, rx, endpoint));
    Ok(())
}

async fn export(exporter: opentelemetry_otlp::SpanExporter, mut rx: mpsc::Receiver<Message>, endpoint: String) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut failing = false;
    loop {
        let deadline = tokio::time::sleep(EVERY);
        tokio::pin!(deadline);
        let mut flushed = None;
        while batch.len() < BATCH && flushed.is_none() {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(Message::Span(span)) => batch.push(*span),
                    Some(Message::Flush(done)) => flushed = Some(done),
                    None => return,
                },
                _ = &mut deadline => break,
            }
        }
        if !batch.is_empty() {
            let spans = batch.len();
            match exporter.export(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).await {
                Ok(()) if failing => {
                    tracing::info!(%endpoint, "exporting spans again");
                    failing = false;
                }
                Ok(()) => {}
                Err(e) => {
                    metrics::counter!(TRACE_SPANS_DROPPED).increment(spans as u64);
                    if !failing {
                        tracing::warn!(%endpoint, error = %e, "cannot export spans (dropped and counted until the collector takes them)");
                        failing = true;
                    }
                }
            }
        }
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}

/// Whether spans are exported.
pub fn enabled() -> bool {
    QUEUE_TX.get().is_some()
}

/// Exports what is queued (at shutdown), waiting up to `within`.
pub async fn flush(within: Duration) {
    let Some(tx) = QUEUE_TX.get() else { return };
    let (done, answered) = oneshot::channel();
    if tx.send(Message::Flush(done)).await.is_ok() {
        let _ = tokio::time::timeout(within, answered).await;
    }
}

/// One request, as its span says it.
pub struct Served<'a> {
    pub trace: &'a TraceContext,
    pub request_id: &'a RequestId,
    pub name: Cow<'static, str>,
    pub started: SystemTime,
    pub ended: SystemTime,
    pub status: u16,
    pub attributes: Vec<KeyValue>,
}

fn scope() -> InstrumentationScope {
    static SCOPE: OnceLock<InstrumentationScope> = OnceLock::new();
    SCOPE.get_or_init(|| InstrumentationScope::builder("causeway-gateway").with_version(env!("CARGO_PKG_VERSION")).build()).clone()
}

/// Queues a request's span (sampled ones only; dropped and counted when the queue is full).
pub fn record(served: Served<'_>) {
    let Some(tx) = QUEUE_TX.get() else { return };
    if !served.trace.sampled() {
        return;
    }
    let id = |hex: &str| u64::from_str_radix(hex, 16).map(|n| SpanId::from_bytes(n.to_be_bytes())).unwrap_or(SpanId::INVALID);
    let trace_id = u128::from_str_radix(served.trace.trace_id(served.request_id), 16).map(|n| TraceId::from_bytes(n.to_be_bytes())).unwrap_or(TraceId::INVALID);
    let parent = served.trace.parent_id().map(id);
    let span = SpanData {
        span_context: SpanContext::new(trace_id, id(TraceContext::span_id(served.request_id)), TraceFlags::SAMPLED, false, TraceState::default()),
        parent_span_id: parent.unwrap_or(SpanId::INVALID),
        parent_span_is_remote: parent.is_some(),
        span_kind: SpanKind::Server,
        name: served.name,
        start_time: served.started,
        end_time: served.ended,
        attributes: served.attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        // Server spans: a 5xx is the gateway's (or its backend's) failure; a 4xx is the caller's.
        status: if served.status >= 500 { Status::error("") } else { Status::Unset },
        instrumentation_scope: scope(),
    };
    if tx.try_send(Message::Span(Box::new(span))).is_err() {
        metrics::counter!(TRACE_SPANS_DROPPED).increment(1);
    }
}
