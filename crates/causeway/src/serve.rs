//! `causeway serve`: opens the store, prepares the built-in resources and
//! runs the listeners until SIGINT or SIGTERM.

use std::sync::Arc;

use causeway_admin::service::SnapshotSync;
use causeway_admin::{AdminAuth, Service, ServiceConfig};
use causeway_gateway::{Gateway, GatewayConfig, HttpsConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use causeway_store::redact_url as redact;

use crate::config::{Role, Settings};
use crate::handover::Kind;
use std::os::fd::AsFd;
use crate::{metrics, token};

pub async fn run(settings: Settings) -> Result<(), String> {
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", settings.data_dir.display()))?;
    // A process already serving this installation hands its listening sockets over;
    // it stops once this one is ready (restarts and upgrades refuse no connection).
    let mut predecessor = crate::handover::take_over(&settings.data_dir)?;
    if let Some(p) = &predecessor {
        tracing::info!(pid = p.pid, "taking over the listening sockets of the running process");
    }
    // This node's lasting id in the installation's node list.
    let node_id = crate::node::id(&settings.data_dir)?;
    // Secrets in the store (certificates' private keys, app, AppCode, signature-key and
    // IAM secrets, admin access keys' secrets) are sealed with the installation's secret key.
    let (sealer, source) = causeway_tls::Sealer::load_or_create(&settings.data_dir)?;
    let sealer = Arc::new(sealer);
    let secret_file = settings.data_dir.join(causeway_tls::seal::SECRET_KEY_FILE);
    match source {
        causeway_tls::seal::KeySource::Environment => tracing::info!("secret key taken from CAUSEWAY_SECRET_KEY"),
        causeway_tls::seal::KeySource::File => tracing::info!(file = %secret_file.display(), "secret key loaded"),
        causeway_tls::seal::KeySource::Generated => tracing::info!(file = %secret_file.display(), "secret key created (nodes sharing a store need the same key: set CAUSEWAY_SECRET_KEY)"),
    }
    // A gateway node that has served before starts while PostgreSQL cannot be
    // reached, from the published state saved in its data directory.
    let saved_snapshot = causeway_gateway::SavedSnapshot { path: settings.data_dir.join(causeway_gateway::SAVED_SNAPSHOT_FILE), sealer: sealer.clone() };
    let (raw, deferred) = match causeway_store::open(&settings.store).await {
        Ok(store) => (store, false),
        Err(e) if e.is_unavailable() && settings.role != Role::Admin && saved_snapshot.path.is_file() => {
            tracing::warn!(error = %e, store = %redact(&settings.store), "the store cannot be reached: starting from the saved snapshot, catching up once it can be reached");
            let store = causeway_store::open_deferred(&settings.store).map_err(|e| format!("cannot open store {}: {e}", redact(&settings.store)))?;
            (store, true)
        }
        Err(e) => return Err(format!("cannot open store {}: {e}", redact(&settings.store))),
    };
    let store = Arc::new(causeway_store::SealingStore::new(raw, Arc::new(StoreCipher(sealer.clone()))));
    if !deferred {
        match store.seal_in_place().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(documents = n, "secrets stored in clear are now sealed"),
            Err(e) => return Err(format!("cannot seal the secrets in the store: {e}")),
        }
    }
    let sealing = store.clone();
    let store: Arc<dyn causeway_store::Store> = store;
    tracing::info!(backend = store.backend(), store = %redact(&settings.store), "store ready");

    let mut service = Service::new(
        store.clone(),
        ServiceConfig { base_domain: settings.base_domain.clone(), limits: settings.limits.clone(), instance: settings.instance.clone() },
    );
    if deferred {
        // Built-in resources exist: the saved snapshot came from this store.
        tokio::spawn(prepare_when_reachable(sealing));
    } else {
        service.bootstrap().await.map_err(|e| format!("cannot prepare built-in resources: {e}"))?;
        // What sealing and re-keying replaced is not left in the database's files.
        store.scrub().await.map_err(|e| format!("cannot checkpoint the store: {e}"))?;
    }
    service = service.with_sealer(sealer.clone());
    // Function code is checked, test-run and served by the same engine.
    let functions = Arc::new(
        causeway_functions::Pool::new(causeway_functions::PoolConfig { workers: settings.function_workers, ..Default::default() })
            .map_err(|e| format!("cannot start the function runtime: {e}"))?,
    );
    service = service
        .with_syntax_check(|name, source| causeway_functions::check_syntax(name, source).map_err(|e| (e.line, e.message)))
        .with_test_invoker(crate::functions::test_invoker(functions.clone()));

    tracing::info!(
        role = ?settings.role,
        base_domain = %settings.base_domain,
        tls_listen = %settings.listen_tls,
        redis = settings.redis.as_deref().map(redact).unwrap_or_default(),
        "settings"
    );
    let (stop, stopping) = watch::channel(false);
    let metrics = metrics::install()?;

    // The data plane: serves what is published, kept current from the store.
    let gateway = if settings.role == Role::Admin {
        // Debug calls run in this process, on a runtime of their own.
        let debugger = causeway_gateway::Debugger::standalone(store.clone(), settings.base_domain.clone(), Some(functions.clone()));
        service = service.with_debugger(debug_calls(debugger));
        None
    } else {
        let config = GatewayConfig {
            listen: settings.listen,
            https: Some(HttpsConfig {
                listen: settings.listen_tls,
                data_dir: settings.data_dir.clone(),
                sealer: sealer.clone(),
                default_without_sni: settings.tls_default_without_sni,
            }),
            workers: settings.workers,
            base_domain: settings.base_domain.clone(),
            app_code_over_http: settings.allow_app_code_over_http,
            real_ip_from_xff: settings.real_ip_from_xff,
            websocket: settings.websocket,
            limits: settings.client_limits,
            upstream_trust: upstream_trust(&settings)?,
            redis: settings.redis.clone(),
            redis_ca: match &settings.redis_ca {
                Some(path) => Some(std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?),
                None => None,
            },
            function_runtime: Some(functions.clone()),
            invocation_retention: settings.invocation_retention,
            watch_interval: settings.watch_interval,
            change_feed_keep: settings.change_feed_keep,
            access_log: settings.access_log.clone(),
            saved_snapshot: Some(saved_snapshot),
            drain_timeout: settings.drain_timeout,
            otlp: settings.otlp_endpoint.clone().map(|endpoint| causeway_gateway::OtlpConfig { endpoint, instance: node_id.clone() }),
        };
        let inherited = match &mut predecessor {
            Some(p) => causeway_gateway::Inherited { plain: p.take(Kind::Gateway, settings.listen), tls: p.take(Kind::GatewayTls, settings.listen_tls) },
            None => causeway_gateway::Inherited::default(),
        };
        let gateway = Gateway::start(store.clone(), config, inherited, stopping.clone()).await?;
        // With the admin API in this process, a write answers once the gateway serves it.
        let (wake, served) = gateway.snapshot_sync();
        service = service.with_snapshot_sync(SnapshotSync { wake, served });
        service = service.with_channel_health(Arc::new(gateway.member_health()));
        service = service.with_debugger(debug_calls(gateway.debugger()));
        Some(gateway)
    };

    // The listening sockets a successor process would take over.
    let mut offered = Vec::new();
    if let Some(g) = &gateway {
        for (kind, fd) in g.sockets() {
            let (kind, addr) = match kind {
                causeway_gateway::SocketKind::Plain => (Kind::Gateway, g.local_addr()),
                causeway_gateway::SocketKind::Tls => (Kind::GatewayTls, g.tls_addr().unwrap_or(settings.listen_tls)),
            };
            offered.push((kind, addr, fd.try_clone_to_owned().map_err(|e| format!("cannot keep a listening socket for hand-over: {e}"))?));
        }
    }

    // The admin listener: management API and /metrics (only /metrics for a gateway-only node).
    let admin_addr;
    let admin = {
        let app = if settings.role == Role::Gateway {
            axum::Router::new()
        } else {
            let (token, source) = token::load_or_create(&settings.data_dir)?;
            match source {
                token::Source::Generated => println!(
                    "Admin token (stored in {}): {token}",
                    settings.data_dir.join(token::TOKEN_FILE).display()
                ),
                token::Source::File => tracing::info!(file = %settings.data_dir.join(token::TOKEN_FILE).display(), "admin token loaded"),
                token::Source::Environment => tracing::info!("admin token taken from CAUSEWAY_ADMIN_TOKEN"),
            }
            let (access_key, secret_key, source) = token::load_or_create_access_key(&settings.data_dir)?;
            let file = settings.data_dir.join(token::ACCESS_KEY_FILE);
            match source {
                token::Source::Generated => println!("Admin access key for signed management calls (stored in {}): {access_key}", file.display()),
                token::Source::File => tracing::info!(file = %file.display(), "admin access key loaded"),
                token::Source::Environment => tracing::info!("admin access key taken from CAUSEWAY_ADMIN_ACCESS_KEY"),
            }
            let service = Arc::new(service);
            if let Some(retention) = settings.audit_retention {
                tokio::spawn(prune_audit_log(service.clone(), retention, stopping.clone()));
            }
            let auth = AdminAuth::new(token.into(), access_key.into(), secret_key.into(), service.clone());
            // The management API, and the web console beside it (`/console/`, `/` redirects there).
            let node = console_node(&node_id, gateway.as_ref());
            causeway_admin::router(service.clone(), auth.clone()).merge(causeway_console::router(service, auth, node))
        };
        // For load balancers and orchestrators: alive, and ready (not while stopping).
        let draining = stopping.clone();
        let app = app
            .route("/metrics", axum::routing::get(move || std::future::ready(metrics.render())))
            .route("/healthz", axum::routing::get(|| async { "ok\n" }))
            .route(
                "/readyz",
                axum::routing::get(move || {
                    let stopping = *draining.borrow();
                    async move {
                        if stopping { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "draining\n") } else { (axum::http::StatusCode::OK, "ready\n") }
                    }
                }),
            );
        let inherited = predecessor.as_mut().and_then(|p| p.take(Kind::Admin, settings.admin_listen).pop());
        let listener = match inherited {
            Some(socket) => socket.set_nonblocking(true).and_then(|()| TcpListener::from_std(socket)),
            None => TcpListener::bind(settings.admin_listen).await,
        }
        .map_err(|e| format!("cannot listen on {}: {e}", settings.admin_listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        offered.push((Kind::Admin, addr, listener.as_fd().try_clone_to_owned().map_err(|e| e.to_string())?));
        tracing::info!(%addr, "admin API listening");
        admin_addr = Some(addr.to_string());
        // Under the same client limits as the gateway's listeners.
        // Each connection's requests carry its peer address (failed sign-ins are limited per address, the audit log names it).
        let service_for = move |peer| {
            hyper_util::service::TowerToHyperService::new(app.clone().layer(axum::Extension(axum::extract::ConnectInfo::<std::net::SocketAddr>(peer))))
        };
        tokio::spawn(causeway_gateway::serve_http1(listener, service_for, settings.client_limits, stopping.clone(), settings.drain_timeout))
    };

    // This node in the installation's node list.
    let node = crate::node::describe(
        &node_id,
        &format!("{:?}", settings.role).to_lowercase(),
        admin_addr,
        gateway.as_ref().map(|g| g.local_addr().to_string()),
        gateway.as_ref().and_then(|g| g.tls_addr()).map(|a| a.to_string()),
        settings.heartbeat_interval,
    );
    let served = gateway.as_ref().map(|g| g.snapshot_sync().1);
    let (replaced, replaced_rx) = watch::channel(false);
    let heartbeat = tokio::spawn(crate::node::heartbeat(store.clone(), node, served, settings.heartbeat_interval, stopping.clone(), replaced_rx.clone()));

    // Serving: the process this one replaces may stop now; then this one offers its sockets in turn.
    if let Some(p) = predecessor {
        let pid = p.pid;
        match tokio::task::spawn_blocking(move || p.ready()).await {
            Ok(Ok(())) => tracing::info!(pid, "the process taken over from is draining"),
            Ok(Err(e)) => tracing::warn!(error = %e, "the process taken over from did not answer; it may still be serving"),
            Err(e) => tracing::warn!(error = %e, "the hand-over did not finish"),
        }
    }
    tokio::spawn(crate::handover::offer(settings.data_dir.clone(), offered, replaced, stopping.clone()));

    tokio::spawn(reopen_logs_on_hangup());
    let mut replaced_rx = replaced_rx;
    tokio::select! {
        _ = shutdown_signal() => {}
        _ = replaced_rx.wait_for(|r| *r) => {}
    }
    // Stop accepting everywhere at once, then drain: admin connections and gateway workers side by side.
    let _ = stop.send(true);
    let draining = gateway.map(|g| tokio::task::spawn_blocking(move || g.stop()));
    let _ = heartbeat.await;
    if let Err(e) = admin.await {
        tracing::error!(error = %e, "admin listener task failed");
    }
    if let Some(draining) = draining {
        let _ = draining.await;
        // The last requests' spans, before the runtime ends.
        causeway_gateway::flush_spans(std::time::Duration::from_secs(5)).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// What the console's overview shows of this node, and where it reads the gateway's counters.
fn console_node(node_id: &str, gateway: Option<&Gateway>) -> causeway_console::NodeInfo {
    use causeway_console::traffic::{Counts, Traffic};
    let traffic = gateway.map(|_| {
        let read = || {
            causeway_gateway::route_counts()
                .into_iter()
                .map(|c| Counts { api_id: c.api_id.into(), env: c.env_name.into(), requests: c.requests, latency: c.latency.to_vec() })
                .collect()
        };
        Traffic::new(Arc::new(read), causeway_gateway::DURATION_BUCKETS.to_vec())
    });
    causeway_console::NodeInfo { id: node_id.to_string(), traffic }
}

/// Towards backends: the public roots and the operator's CA; a client certificate if given.
fn upstream_trust(settings: &Settings) -> Result<causeway_tls::UpstreamTrust, String> {
    let read = |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    Ok(causeway_tls::UpstreamTrust {
        extra_roots_pem: settings.upstream_ca.as_deref().map(read).transpose()?,
        client_cert_pem: match &settings.upstream_client_cert {
            Some((cert, key)) => Some((read(cert)?, read(key)?)),
            None => None,
        },
    })
}

/// On SIGHUP (as logrotate sends) the access log file is opened again at its path.
async fn reopen_logs_on_hangup() {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGHUP: the access log will not be reopened");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        match causeway_gateway::reopen_access_log() {
            Ok(()) => tracing::info!("SIGHUP: access log reopened"),
            Err(e) => tracing::error!(error = %e, "SIGHUP: cannot reopen the access log; still writing to the old file"),
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

/// For a node started while the store could not be reached: prepares the
/// database (migrations) and seals secrets left in clear once it can be.
async fn prepare_when_reachable(store: Arc<causeway_store::SealingStore>) {
    use causeway_store::Store;
    let mut wait = std::time::Duration::from_secs(1);
    loop {
        tokio::time::sleep(wait).await;
        match store.prepare().await {
            Ok(()) => break,
            Err(e) if e.is_unavailable() => wait = (wait * 2).min(std::time::Duration::from_secs(10)),
            Err(e) => {
                tracing::error!(error = %e, "the store is reachable again but cannot be prepared");
                return;
            }
        }
    }
    match store.seal_in_place().await {
        Ok(n) => tracing::info!(sealed = n, "the store is reachable again"),
        Err(e) => tracing::warn!(error = %e, "cannot seal the secrets in the store"),
    }
}

/// Drops audit entries older than the retention, at start and hourly after.
async fn prune_audit_log(service: Arc<Service>, retention: std::time::Duration, mut stop: watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = every.tick() => match service.prune_audit_log(retention).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(entries = n, "old audit entries pruned"),
                Err(e) => tracing::warn!(error = %e.message, "cannot prune the audit log"),
            },
            _ = stop.changed() => break,
        }
    }
}

/// The installation's secret key, sealing the store's secret fields.
struct StoreCipher(Arc<causeway_tls::Sealer>);

impl causeway_store::Cipher for StoreCipher {
    fn seal(&self, clear: &[u8]) -> Result<String, String> {
        self.0.seal(clear)
    }

    fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        self.0.open(sealed)
    }
}

/// The admin API's debug calls, run by the gateway's debugger.
fn debug_calls(debugger: causeway_gateway::Debugger) -> causeway_admin::service::ApiDebugger {
    Arc::new(move |call| {
        let debugger = debugger.clone();
        Box::pin(async move { debugger.run(call).await })
    })
}
