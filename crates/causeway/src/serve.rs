//! `causeway serve`: opens the store, prepares the built-in resources and
//! runs the listeners until SIGINT or SIGTERM.

use std::sync::Arc;

use causeway_admin::service::SnapshotSync;
use causeway_admin::{AdminAuth, Service, ServiceConfig};
use causeway_gateway::{GatewayConfig, Watcher};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Role, Settings, redact};
use crate::{metrics, token};

pub async fn run(settings: Settings) -> Result<(), String> {
    std::fs::create_dir_all(&settings.data_dir)
        .map_err(|e| format!("cannot create data directory {}: {e}", settings.data_dir.display()))?;
    let store = causeway_store::open(&settings.store)
        .await
        .map_err(|e| format!("cannot open store {}: {e}", redact(&settings.store)))?;
    tracing::info!(backend = store.backend(), store = %redact(&settings.store), "store ready");

    let mut service = Service::new(
        store.clone(),
        ServiceConfig { base_domain: settings.base_domain.clone(), limits: settings.limits.clone() },
    );
    service.bootstrap().await.map_err(|e| format!("cannot prepare built-in resources: {e}"))?;
    // Private keys of uploaded certificates are sealed with the installation's secret key.
    let (sealer, source) = causeway_tls::Sealer::load_or_create(&settings.data_dir)?;
    let sealer = Arc::new(sealer);
    let secret_file = settings.data_dir.join(causeway_tls::seal::SECRET_KEY_FILE);
    match source {
        causeway_tls::seal::KeySource::Environment => tracing::info!("secret key taken from CAUSEWAY_SECRET_KEY"),
        causeway_tls::seal::KeySource::File => tracing::info!(file = %secret_file.display(), "secret key loaded"),
        causeway_tls::seal::KeySource::Generated => tracing::info!(file = %secret_file.display(), "secret key created (nodes sharing a store need the same key: set CAUSEWAY_SECRET_KEY)"),
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

    // The data plane: a snapshot of what is published, kept current by the watcher.
    let gateway = if settings.role == Role::Admin {
        None
    } else {
        causeway_gateway::access_log::open(&settings.access_log)
            .map_err(|e| format!("cannot open the access log {:?}: {e}", settings.access_log))?;
        let queue = causeway_gateway::function_async::AsyncQueue {
            store: store.clone(),
            wake: Arc::new(tokio::sync::Notify::new()),
            retention: settings.invocation_retention,
        };
        let watcher = Watcher::start(store.clone(), settings.base_domain.clone())
            .await
            .map_err(|e| format!("cannot load published APIs: {e}"))?
            .with_function_runtime(functions.clone(), Some(queue.clone()))
            .with_change_retention(settings.change_feed_keep);
        let watcher = match &settings.redis {
            Some(url) => {
                let engine = causeway_gateway::limiter::Redis::new(url).map_err(|e| format!("--redis {}: {e}", redact(url)))?;
                watcher.with_limiter(causeway_gateway::limiter::Engine::Redis(Arc::new(engine)))
            }
            None => watcher,
        };
        // Stored asynchronous invocations run from start-up on, left-overs of a previous run first.
        tokio::spawn(causeway_gateway::function_async::run(queue, watcher.shared(), stopping.clone()));
        // With the admin API in this process, a write answers once the gateway serves it.
        service = service.with_snapshot_sync(SnapshotSync { wake: watcher.wake(), served: watcher.served() });
        let health = watcher.channel_health();
        service = service.with_channel_health(Arc::new(move |channel: &str, member: &str| health.get(channel, member)));
        let connections = causeway_gateway::pipeline::ConnOptions {
            app_code_over_http: settings.allow_app_code_over_http,
            real_ip_from_xff: settings.real_ip_from_xff,
            https_port: None,
            websocket: settings.websocket,
        };
        // Towards backends: the public roots and the operator's CA; a client certificate if given.
        let read = |p: &std::path::Path| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let trust = causeway_tls::UpstreamTrust {
            extra_roots_pem: settings.upstream_ca.as_deref().map(read).transpose()?,
            client_cert_pem: match &settings.upstream_client_cert {
                Some((cert, key)) => Some((read(cert)?, read(key)?)),
                None => None,
            },
        };
        causeway_gateway::upstream::configure_tls(&trust)?;
        // HTTPS: bound domains' certificates by SNI, else the default one.
        let default = causeway_tls::self_signed::load_or_create(&settings.data_dir, &settings.base_domain)?;
        if default.created {
            tracing::info!(
                file = %default.cert_path.display(),
                names = %default.certificate.names.join(","),
                "created a self-signed default certificate: HTTPS works now for testing (curl -k); bind domains with certificates, or replace this file, for real clients"
            );
        }
        let default_key = default.certificate.certified_key().map_err(|e| format!("{}: {e}", default.cert_path.display()))?;
        let certs = causeway_tls::CertStore::new(causeway_tls::Certs::new(Some(default_key.clone()), settings.tls_default_without_sni));
        let tls_config = causeway_tls::store::server_config(certs.clone()).map_err(|e| format!("cannot configure TLS: {e}"))?;
        let watcher = watcher.with_domain_certs(causeway_gateway::tls_certs::DomainCerts::new(certs, sealer.clone(), Some(default_key), settings.tls_default_without_sni));
        let config = GatewayConfig { listen: settings.listen, tls: Some((settings.listen_tls, tls_config)), workers: settings.workers, connections };
        let gateway = causeway_gateway::server::start(&config, watcher.shared())
            .map_err(|e| format!("cannot listen on {} / {}: {e}", settings.listen, settings.listen_tls))?;
        tokio::spawn(causeway_gateway::health_check::run(watcher.shared(), stopping.clone()));
        tokio::spawn(watcher.run(settings.watch_interval, stopping.clone()));
        Some(gateway)
    };

    // The admin listener: management API and /metrics (only /metrics for a gateway-only node).
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
            causeway_admin::router(Arc::new(service), AdminAuth { token: token.into(), access_key: access_key.into(), secret_key: secret_key.into() })
        };
        let app = app.route("/metrics", axum::routing::get(move || std::future::ready(metrics.render())));
        let listener = TcpListener::bind(settings.admin_listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", settings.admin_listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%addr, "admin API listening");
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopping.changed().await;
                })
                .await
        })
    };

    tokio::spawn(reopen_logs_on_hangup());
    shutdown_signal().await;
    let _ = stop.send(true);
    match admin.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "admin listener failed"),
        Err(e) => tracing::error!(error = %e, "admin listener task failed"),
    }
    if let Some(gateway) = gateway {
        let _ = tokio::task::spawn_blocking(move || gateway.stop()).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
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
        match causeway_gateway::access_log::reopen() {
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
