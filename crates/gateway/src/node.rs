//! A gateway node: what the binary configures and starts. It opens the access
//! log, configures TLS towards backends, prepares the HTTPS certificates,
//! loads what is published and builds the first snapshot, binds the
//! listeners, and starts the background tasks (the watcher, channel health
//! checks, asynchronous function invocations).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use causeway_store::Store;
use tokio::sync::{Notify, watch};

use crate::backend::http::websocket::WebSocketLimits;
use crate::config::domain_certs::DomainCerts;
use crate::config::runtime::Runtime;
use crate::config::saved::SavedSnapshot;
use crate::config::watch::Watcher;
use crate::debug::Debugger;
use crate::functions::async_queue::AsyncQueue;
use crate::functions::async_runner;
use crate::listen::{self, Inherited, ListenConfig, Listeners, SocketKind};
use crate::observe::spans::{self, OtlpConfig};
use crate::observe::access_log;
use crate::pipeline::conn::{ConnLimits, ConnOptions};
use crate::stages::throttle::limiter::{Engine, Redis};
use crate::upstream::{self, balance::Health, health_check};

/// Everything a node is configured with.
#[derive(Clone)]
pub struct GatewayConfig {
    /// The plain HTTP listener.
    pub listen: SocketAddr,
    /// The HTTPS listener, when there is one.
    pub https: Option<HttpsConfig>,
    /// Listener threads (at least one).
    pub workers: usize,
    /// Groups are served at `<group_id>.<base_domain>`.
    pub base_domain: String,
    /// AppCodes accepted over plain HTTP.
    pub app_code_over_http: bool,
    /// Behind trusted proxies: which `X-Forwarded-For` entry is the caller (-1: the last).
    pub real_ip_from_xff: Option<i32>,
    pub websocket: WebSocketLimits,
    /// What clients may send, how slowly, and how many connections they may hold.
    pub limits: ConnLimits,
    /// What backend TLS connections trust and present.
    pub upstream_trust: causeway_tls::UpstreamTrust,
    /// Throttling counted across nodes in this Redis (else on this node).
    pub redis: Option<String>,
    /// Certificates (PEM) a `rediss://` Redis is trusted by, instead of the system's roots.
    pub redis_ca: Option<Vec<u8>>,
    /// The function runtime, shared with the admin API's test invocations.
    pub function_runtime: Option<Arc<causeway_functions::Pool>>,
    /// How long finished asynchronous invocations are kept.
    pub invocation_retention: Duration,
    /// How often the store's change feed is read (writes through this process wake it at once).
    pub watch_interval: Duration,
    /// Revisions of the change feed kept (0: all).
    pub change_feed_keep: i64,
    pub access_log: access_log::Target,
    /// Where the published state is saved, to start from while the store cannot be reached.
    pub saved_snapshot: Option<SavedSnapshot>,
    /// How long open connections get to finish when the node stops.
    pub drain_timeout: Duration,
    /// Spans exported over OTLP to this collector.
    pub otlp: Option<OtlpConfig>,
}

/// The HTTPS listener: certificates of bound domains by SNI, else the
/// self-signed `*.<base-domain>` default made in `data_dir` on first start.
#[derive(Clone)]
pub struct HttpsConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Opens the sealed private keys of uploaded certificates.
    pub sealer: Arc<causeway_tls::Sealer>,
    /// Callers without SNI get the default certificate (else the handshake fails).
    pub default_without_sni: bool,
}

/// A running node.
pub struct Gateway {
    listeners: Listeners,
    wake: Arc<Notify>,
    served: watch::Receiver<i64>,
    health: Arc<Health>,
    debugger: Debugger,
}

impl Gateway {
    /// Starts a node on `store`, listening on the `inherited` sockets (handed
    /// over by a process it replaces) or on new ones; its background tasks run
    /// until `stop` changes.
    pub async fn start(store: Arc<dyn Store>, config: GatewayConfig, inherited: Inherited, stop: watch::Receiver<bool>) -> Result<Gateway, String> {
        access_log::open(&config.access_log).map_err(|e| format!("cannot open the access log {:?}: {e}", config.access_log))?;
        if let Some(otlp) = &config.otlp {
            spans::start(otlp)?;
            tracing::info!(endpoint = %otlp.endpoint, "exporting spans over OTLP");
        }
        upstream::configure_tls(&config.upstream_trust)?;
        let queue = AsyncQueue { store: store.clone(), wake: Arc::new(Notify::new()), retention: config.invocation_retention };
        let runtime = Runtime {
            limiter: match &config.redis {
                Some(url) => Engine::Redis(Arc::new(Redis::new(url, config.redis_ca.as_deref()).map_err(|e| format!("--redis {}: {e}", causeway_store::redact_url(url)))?)),
                None => Engine::default(),
            },
            function_pool: config.function_runtime.clone(),
            async_queue: Some(queue.clone()),
            ..Runtime::default()
        };
        let health = runtime.channel_health.clone();
        let debug_runtime = runtime.clone();
        let debug_store = store.clone();
        let (tls, domain_certs) = match &config.https {
            Some(https) => {
                let (server_config, certs) = https_listener(https, &config.base_domain)?;
                (Some((https.listen, server_config)), Some(certs))
            }
            None => (None, None),
        };
        let announcer = store.clone();
        let watcher = Watcher::start(store, config.base_domain.clone(), runtime, domain_certs, config.change_feed_keep, config.saved_snapshot.clone())
            .await
            .map_err(|e| format!("cannot load published APIs: {e}"))?;
        let shared = watcher.shared();
        let connections = ConnOptions {
            app_code_over_http: config.app_code_over_http,
            real_ip_from_xff: config.real_ip_from_xff,
            https_port: None,
            websocket: config.websocket,
            limits: config.limits,
        };
        let debugger = Debugger::new(debug_store, debug_runtime, config.base_domain.clone(), connections);
        let listen = ListenConfig { listen: config.listen, tls, workers: config.workers, connections, inherited, drain: config.drain_timeout };
        let listeners = listen::start(listen, shared.clone()).map_err(|e| match &config.https {
            Some(https) => format!("cannot listen on {} / {}: {e}", config.listen, https.listen),
            None => format!("cannot listen on {}: {e}", config.listen),
        })?;
        // Stored asynchronous invocations run from start-up on, left-overs of a previous run first.
        let functions = shared.clone();
        tokio::spawn(async_runner::run(queue, move || functions.load().functions.clone(), stop.clone()));
        let channels = shared.clone();
        tokio::spawn(health_check::run(move || channels.load().channels.clone(), stop.clone()));
        let (wake, served) = (watcher.wake(), watcher.served());
        // Other nodes' commits wake the watcher at once where the store announces them (PostgreSQL); it polls besides.
        let (woken, stopping) = (wake.clone(), stop.clone());
        tokio::spawn(async move { announcer.watch_changes(woken, stopping).await });
        tokio::spawn(watcher.run(config.watch_interval, stop));
        Ok(Gateway { listeners, wake, served, health, debugger })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listeners.local_addr
    }

    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.listeners.tls_addr
    }

    /// Every listening socket, to hand over to a process replacing this one.
    pub fn sockets(&self) -> impl Iterator<Item = (SocketKind, std::os::fd::BorrowedFd<'_>)> {
        self.listeners.sockets()
    }

    /// Notifying this makes the node read the store's changes now; the
    /// receiver tells which revision it serves (so a write through the admin
    /// API in this process can answer once the gateway serves it).
    pub fn snapshot_sync(&self) -> (Arc<Notify>, watch::Receiver<i64>) {
        (self.wake.clone(), self.served.clone())
    }

    /// A channel member's health as this node sees it: by channel id and `host:port`.
    pub fn member_health(&self) -> impl Fn(&str, &str) -> Option<bool> + Send + Sync + 'static {
        let health = self.health.clone();
        move |channel, member| health.get(channel, member)
    }

    /// Runs debug calls with this node's runtime.
    pub fn debugger(&self) -> Debugger {
        self.debugger.clone()
    }

    /// Stops accepting, drains open connections (up to the drain timeout) and joins the listener threads.
    pub fn stop(self) {
        self.listeners.stop();
    }
}

/// The HTTPS listener's TLS configuration, and the certificates of bound domains it serves.
fn https_listener(https: &HttpsConfig, base_domain: &str) -> Result<(Arc<rustls::ServerConfig>, DomainCerts), String> {
    let default = causeway_tls::self_signed::load_or_create(&https.data_dir, base_domain)?;
    if default.created {
        tracing::info!(
            file = %default.cert_path.display(),
            names = %default.certificate.names.join(","),
            "created a self-signed default certificate: HTTPS works now for testing (curl -k); bind domains with certificates, or replace this file, for real clients"
        );
    }
    let default_key = default.certificate.certified_key().map_err(|e| format!("{}: {e}", default.cert_path.display()))?;
    let store = causeway_tls::CertStore::new(causeway_tls::Certs::new(Some(default_key.clone()), https.default_without_sni));
    let server_config = causeway_tls::store::server_config(store.clone()).map_err(|e| format!("cannot configure TLS: {e}"))?;
    Ok((server_config, DomainCerts::new(store, https.sealer.clone(), Some(default_key), https.default_without_sni)))
}
