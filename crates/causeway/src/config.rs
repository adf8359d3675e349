//! Settings: command-line flags, each also a `CAUSEWAY_<NAME>` environment
//! variable, over an optional TOML file, over the defaults of DESIGN.md.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use causeway_model::Limits;
use causeway_model::limits::BACKEND_TIMEOUT_CEILING_MS;
use clap::{Args, ValueEnum};
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Admin API, gateway and function runtime in one process.
    All,
    /// Only the admin API (management and console).
    Admin,
    /// Only the data plane.
    Gateway,
}

/// Flags of `causeway serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long, env = "CAUSEWAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite store, the admin token and generated certificates.
    #[arg(long, env = "CAUSEWAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Gateway HTTP listener.
    #[arg(long, env = "CAUSEWAY_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Gateway HTTPS listener.
    #[arg(long, env = "CAUSEWAY_LISTEN_TLS", value_name = "ADDR")]
    pub listen_tls: Option<SocketAddr>,
    /// Admin API, console and metrics listener.
    #[arg(long, env = "CAUSEWAY_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// Store URL: sqlite://PATH or postgres://...
    #[arg(long, env = "CAUSEWAY_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Redis for cluster-wide throttling: redis://, rediss:// (TLS), or redis-sentinel:// / rediss-sentinel:// (the primary Sentinel names).
    #[arg(long, env = "CAUSEWAY_REDIS", value_name = "URL")]
    pub redis: Option<String>,
    /// PEM certificates a rediss:// Redis (or its Sentinels) is trusted by, instead of the system's roots.
    #[arg(long, env = "CAUSEWAY_REDIS_CA", value_name = "FILE")]
    pub redis_ca: Option<PathBuf>,
    /// What this process runs.
    #[arg(long, env = "CAUSEWAY_ROLE", value_enum)]
    pub role: Option<Role>,
    /// Groups are served at <group_id>.<base-domain>.
    #[arg(long, env = "CAUSEWAY_BASE_DOMAIN", value_name = "DOMAIN")]
    pub base_domain: Option<String>,
    /// Gateway worker threads (one listener and runtime each); default: one per core.
    #[arg(long, env = "CAUSEWAY_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
    /// Threads that run functions (FUNCTION backends); default: one per core.
    #[arg(long, env = "CAUSEWAY_FUNCTION_WORKERS", value_name = "N")]
    pub function_workers: Option<usize>,
    /// How long finished asynchronous invocations are kept, in seconds (default 7 days).
    #[arg(long, env = "CAUSEWAY_INVOCATION_RETENTION", value_name = "SECONDS")]
    pub invocation_retention: Option<u64>,
    /// The instance id the V2 management family answers to (`/v2/{project_id}/apigw/instances/{instance_id}`).
    #[arg(long, env = "CAUSEWAY_INSTANCE_ID", value_name = "ID")]
    pub instance_id: Option<String>,
    /// The instance's name, as `GET /v2/{project_id}/apigw/instances` lists it.
    #[arg(long, env = "CAUSEWAY_INSTANCE_NAME", value_name = "NAME")]
    pub instance_name: Option<String>,
    /// Days the audit log keeps management writes (default 90; 0 keeps them all).
    #[arg(long, env = "CAUSEWAY_AUDIT_RETENTION_DAYS", value_name = "DAYS")]
    pub audit_retention_days: Option<u64>,
    /// Revisions of the store's change feed kept (older ones are deleted; 0 keeps them all).
    #[arg(long, env = "CAUSEWAY_CHANGE_FEED_KEEP", value_name = "REVISIONS")]
    pub change_feed_keep: Option<i64>,
    /// How often a gateway checks the store for published changes, in milliseconds.
    #[arg(long, env = "CAUSEWAY_WATCH_INTERVAL", value_name = "MS")]
    pub watch_interval: Option<u64>,
    /// How often the node records itself in the store (the node list marks it silent after three missed), in milliseconds.
    #[arg(long, env = "CAUSEWAY_HEARTBEAT_INTERVAL", value_name = "MS")]
    pub heartbeat_interval: Option<u64>,
    /// On stop or hand-over, how long open connections get to finish; WebSocket connections are closed (1001) when it ends (seconds; default 10).
    #[arg(long, env = "CAUSEWAY_DRAIN_TIMEOUT", value_name = "SECONDS")]
    pub drain_timeout: Option<u64>,
    /// Export each request's span over OTLP/HTTP to this collector (`http://collector:4318`).
    #[arg(long, env = "CAUSEWAY_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Gateway access log: `stdout` (default), `off`, or a file to append to.
    #[arg(long, env = "CAUSEWAY_ACCESS_LOG", value_name = "TARGET")]
    pub access_log: Option<String>,
    /// Accept `X-Apig-AppCode` on plain HTTP too (AppCodes travel in clear text: use only on trusted networks).
    #[arg(long, env = "CAUSEWAY_ALLOW_APP_CODE_OVER_HTTP")]
    pub allow_app_code_over_http: bool,
    /// Behind trusted proxies: take the caller's address from this entry of
    /// `X-Forwarded-For` (0 the first, -1 the last, -2 the one before, ...).
    #[arg(long, env = "CAUSEWAY_REAL_IP_FROM_XFF", value_name = "INDEX", allow_negative_numbers = true)]
    pub real_ip_from_xff: Option<i32>,
    /// Serve the default certificate to TLS clients that send no server name (SNI); by default they are refused.
    #[arg(long, env = "CAUSEWAY_TLS_DEFAULT_WITHOUT_SNI")]
    pub tls_default_without_sni: bool,
    /// WebSocket connections with no data either way for this long are closed (seconds; default 300).
    #[arg(long, env = "CAUSEWAY_WEBSOCKET_IDLE_TIMEOUT", value_name = "SECONDS")]
    pub websocket_idle_timeout: Option<u64>,
    /// The largest WebSocket message a caller may send (bytes; default 16 MiB).
    #[arg(long, env = "CAUSEWAY_WEBSOCKET_MAX_MESSAGE", value_name = "BYTES")]
    pub websocket_max_message: Option<u64>,
    /// Longest wait for a complete request head, on a new or an idle kept-alive connection (seconds; default 30).
    #[arg(long, env = "CAUSEWAY_HEADER_TIMEOUT", value_name = "SECONDS")]
    pub header_timeout: Option<u64>,
    /// Longest wait for the next piece of a request body (seconds; default 60).
    #[arg(long, env = "CAUSEWAY_BODY_TIMEOUT", value_name = "SECONDS")]
    pub body_timeout: Option<u64>,
    /// Bytes per second a request body must average after its first body timeout (default 500; 0: no minimum).
    #[arg(long, env = "CAUSEWAY_BODY_MIN_RATE", value_name = "BYTES")]
    pub body_min_rate: Option<u32>,
    /// Longest TLS handshake (seconds; default 10).
    #[arg(long, env = "CAUSEWAY_TLS_HANDSHAKE_TIMEOUT", value_name = "SECONDS")]
    pub tls_handshake_timeout: Option<u64>,
    /// Client connections open at once on the gateway (default 512 per worker; 0: no cap).
    #[arg(long, env = "CAUSEWAY_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Client connections open at once from one address (default 0: no cap).
    #[arg(long, env = "CAUSEWAY_MAX_CONNECTIONS_PER_ADDRESS", value_name = "N")]
    pub max_connections_per_address: Option<usize>,
    /// Longest request target, path and query (bytes; default 8192; longer is 414).
    #[arg(long, env = "CAUSEWAY_MAX_URI_LENGTH", value_name = "BYTES")]
    pub max_uri_length: Option<usize>,
    /// Largest request head, request line and headers (bytes; default 32768; larger is 431).
    #[arg(long, env = "CAUSEWAY_MAX_HEADER_SIZE", value_name = "BYTES")]
    pub max_header_size: Option<usize>,
    /// Most header fields in a request (default 100; more is 431).
    #[arg(long, env = "CAUSEWAY_MAX_HEADERS", value_name = "N")]
    pub max_headers: Option<usize>,
    /// Most concurrent streams on an HTTP/2 connection (default 128).
    #[arg(long, env = "CAUSEWAY_HTTP2_MAX_CONCURRENT_STREAMS", value_name = "N")]
    pub http2_max_concurrent_streams: Option<u32>,
    /// Largest request body (bytes; default 12 MiB; larger is 413).
    #[arg(long, env = "CAUSEWAY_MAX_BODY_SIZE", value_name = "BYTES")]
    pub max_body_size: Option<usize>,
    /// PEM certificates trusted for HTTPS backends besides the public roots.
    #[arg(long, env = "CAUSEWAY_UPSTREAM_CA", value_name = "FILE")]
    pub upstream_ca: Option<PathBuf>,
    /// The client certificate (PEM chain) presented to backends with `enable_client_ssl`.
    #[arg(long, env = "CAUSEWAY_UPSTREAM_CLIENT_CERT", value_name = "FILE", requires = "upstream_client_key")]
    pub upstream_client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "CAUSEWAY_UPSTREAM_CLIENT_KEY", value_name = "FILE", requires = "upstream_client_cert")]
    pub upstream_client_key: Option<PathBuf>,
}

/// The TOML file: the same names as the flags (with `_`), plus `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    listen_tls: Option<SocketAddr>,
    admin_listen: Option<SocketAddr>,
    store: Option<String>,
    redis: Option<String>,
    redis_ca: Option<PathBuf>,
    role: Option<Role>,
    base_domain: Option<String>,
    workers: Option<usize>,
    function_workers: Option<usize>,
    invocation_retention: Option<u64>,
    audit_retention_days: Option<u64>,
    instance_id: Option<String>,
    instance_name: Option<String>,
    change_feed_keep: Option<i64>,
    watch_interval: Option<u64>,
    heartbeat_interval: Option<u64>,
    drain_timeout: Option<u64>,
    otlp_endpoint: Option<String>,
    access_log: Option<String>,
    allow_app_code_over_http: Option<bool>,
    real_ip_from_xff: Option<i32>,
    tls_default_without_sni: Option<bool>,
    websocket_idle_timeout: Option<u64>,
    websocket_max_message: Option<u64>,
    header_timeout: Option<u64>,
    body_timeout: Option<u64>,
    body_min_rate: Option<u32>,
    tls_handshake_timeout: Option<u64>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    max_uri_length: Option<usize>,
    max_header_size: Option<usize>,
    max_headers: Option<usize>,
    http2_max_concurrent_streams: Option<u32>,
    max_body_size: Option<usize>,
    upstream_ca: Option<PathBuf>,
    upstream_client_cert: Option<PathBuf>,
    upstream_client_key: Option<PathBuf>,
    #[serde(default)]
    limits: Limits,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub listen_tls: SocketAddr,
    pub admin_listen: SocketAddr,
    pub store: String,
    pub redis: Option<String>,
    pub redis_ca: Option<PathBuf>,
    pub role: Role,
    pub base_domain: String,
    pub workers: usize,
    pub function_workers: usize,
    pub invocation_retention: std::time::Duration,
    /// How long audit entries are kept (`None`: for ever).
    pub audit_retention: Option<std::time::Duration>,
    /// What the V2 family calls this installation.
    pub instance: causeway_admin::service::Instance,
    pub change_feed_keep: i64,
    pub watch_interval: std::time::Duration,
    pub heartbeat_interval: std::time::Duration,
    pub drain_timeout: std::time::Duration,
    /// The OTLP/HTTP collector spans are exported to.
    pub otlp_endpoint: Option<String>,
    pub access_log: causeway_gateway::AccessLogTarget,
    pub allow_app_code_over_http: bool,
    pub real_ip_from_xff: Option<i32>,
    pub tls_default_without_sni: bool,
    pub websocket: causeway_gateway::WebSocketLimits,
    /// What clients may send, how slowly, and how many connections they may hold (every listener).
    pub client_limits: causeway_gateway::ConnLimits,
    pub upstream_ca: Option<PathBuf>,
    /// Client certificate and key files.
    pub upstream_client_cert: Option<(PathBuf, PathBuf)>,
    pub limits: Limits,
}

pub const DEFAULT_DATA_DIR: &str = "./causeway-data";
pub const DEFAULT_BASE_DOMAIN: &str = "apigw.localhost";
pub const DEFAULT_AUDIT_RETENTION_DAYS: u64 = 90;
/// Writes through this node's admin API wake its gateway at once; the poll is
/// for changes made through other nodes, and each poll costs a store query.
pub const DEFAULT_WATCH_INTERVAL_MS: u64 = 250;
/// Nodes record themselves this often.
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 5_000;
/// On PostgreSQL other nodes' commits are announced (`LISTEN`/`NOTIFY`): the
/// poll is only the fallback for an announcement lost with a connection.
pub const DEFAULT_WATCH_INTERVAL_ANNOUNCED_MS: u64 = 2_000;

fn addr(s: &str) -> SocketAddr {
    // The literals below are valid socket addresses.
    s.parse().unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)))
}

impl Settings {
    pub fn resolve(args: ServeArgs) -> Result<Self, String> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let workers = match args.workers.or(file.workers) {
            Some(0) => return Err("workers must be at least 1".into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let client_limits = client_limits(&args, &file, workers)?;
        let data_dir = args.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let store = args.store.or(file.store).unwrap_or_else(|| format!("sqlite://{}", data_dir.join("causeway.db").display()));
        let base_domain = args.base_domain.or(file.base_domain).unwrap_or_else(|| DEFAULT_BASE_DOMAIN.to_string());
        if !causeway_model::api::uri::is_hostname(&base_domain) {
            return Err(format!("base domain {base_domain:?} is not a valid host name"));
        }
        let function_workers = match args.function_workers.or(file.function_workers) {
            Some(0) => return Err("function_workers must be at least 1".into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let invocation_retention = match args.invocation_retention.or(file.invocation_retention).unwrap_or(7 * 24 * 3600) {
            s @ 1..=31_536_000 => std::time::Duration::from_secs(s),
            _ => return Err("invocation_retention must be within 1..=31536000 seconds".into()),
        };
        let audit_retention = match args.audit_retention_days.or(file.audit_retention_days).unwrap_or(DEFAULT_AUDIT_RETENTION_DAYS) {
            0 => None,
            days @ 1..=36_500 => Some(std::time::Duration::from_secs(days * 86_400)),
            _ => return Err("audit_retention_days must be 0 (keep everything) or within 1..=36500".into()),
        };
        let defaults = causeway_admin::service::Instance::default();
        let instance = causeway_admin::service::Instance {
            id: args.instance_id.or(file.instance_id).unwrap_or(defaults.id),
            name: args.instance_name.or(file.instance_name).unwrap_or(defaults.name),
        };
        let id_ok = (1..=64).contains(&instance.id.len()) && instance.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err("instance_id must be 1 to 64 letters, digits, '-' or '_'".into());
        }
        if instance.name.is_empty() || instance.name.chars().count() > 64 || instance.name.chars().any(char::is_control) {
            return Err("instance_name must be 1 to 64 characters".into());
        }
        let change_feed_keep = match args.change_feed_keep.or(file.change_feed_keep).unwrap_or(causeway_gateway::DEFAULT_KEEP_CHANGES) {
            n @ 0.. => n,
            _ => return Err("change_feed_keep must be 0 (keep everything) or more".into()),
        };
        let announced = store.starts_with("postgres:") || store.starts_with("postgresql:");
        let default_interval = if announced { DEFAULT_WATCH_INTERVAL_ANNOUNCED_MS } else { DEFAULT_WATCH_INTERVAL_MS };
        let watch_interval = match args.watch_interval.or(file.watch_interval).unwrap_or(default_interval) {
            ms @ 1..=3_600_000 => std::time::Duration::from_millis(ms),
            _ => return Err("watch_interval must be within 1..=3600000 milliseconds".into()),
        };
        let heartbeat_interval = match args.heartbeat_interval.or(file.heartbeat_interval).unwrap_or(DEFAULT_HEARTBEAT_INTERVAL_MS) {
            ms @ 100..=600_000 => std::time::Duration::from_millis(ms),
            _ => return Err("heartbeat_interval must be within 100..=600000 milliseconds".into()),
        };
        let drain_timeout = match args.drain_timeout.or(file.drain_timeout) {
            None => causeway_gateway::DEFAULT_DRAIN,
            Some(s @ 1..=3_600) => std::time::Duration::from_secs(s),
            Some(_) => return Err("drain_timeout must be within 1..=3600 seconds".into()),
        };
        let otlp_endpoint = args.otlp_endpoint.or(file.otlp_endpoint);
        if let Some(url) = &otlp_endpoint
            && !(url.starts_with("http://") && url.parse::<http::Uri>().is_ok_and(|u| u.host().is_some()))
        {
            return Err(format!("otlp_endpoint {url:?} must be an http:// URL (the collector's OTLP/HTTP address)"));
        }
        let access_log = args
            .access_log
            .or(file.access_log)
            .map_or(causeway_gateway::AccessLogTarget::Stdout, |t| causeway_gateway::AccessLogTarget::from_setting(&t));
        let limits = file.limits;
        if limits.max_backend_timeout_ms == 0 || limits.max_backend_timeout_ms > BACKEND_TIMEOUT_CEILING_MS {
            return Err(format!("limits.max_backend_timeout_ms must be within 1..={BACKEND_TIMEOUT_CEILING_MS}"));
        }
        Ok(Self {
            client_limits,
            data_dir,
            listen: args.listen.or(file.listen).unwrap_or_else(|| addr("0.0.0.0:8080")),
            listen_tls: args.listen_tls.or(file.listen_tls).unwrap_or_else(|| addr("0.0.0.0:8443")),
            admin_listen: args.admin_listen.or(file.admin_listen).unwrap_or_else(|| addr("127.0.0.1:9180")),
            store,
            redis: args.redis.or(file.redis),
            redis_ca: args.redis_ca.or(file.redis_ca),
            role: args.role.or(file.role).unwrap_or(Role::All),
            base_domain,
            workers,
            function_workers,
            invocation_retention,
            audit_retention,
            instance,
            change_feed_keep,
            watch_interval,
            heartbeat_interval,
            drain_timeout,
            otlp_endpoint,
            access_log,
            allow_app_code_over_http: args.allow_app_code_over_http || file.allow_app_code_over_http.unwrap_or(false),
            real_ip_from_xff: args.real_ip_from_xff.or(file.real_ip_from_xff),
            tls_default_without_sni: args.tls_default_without_sni || file.tls_default_without_sni.unwrap_or(false),
            websocket: {
                let defaults = causeway_gateway::WebSocketLimits::default();
                let idle = args.websocket_idle_timeout.or(file.websocket_idle_timeout).map_or(defaults.idle_timeout, std::time::Duration::from_secs);
                let max_message = args.websocket_max_message.or(file.websocket_max_message).unwrap_or(defaults.max_message);
                if idle.is_zero() || max_message == 0 {
                    return Err("websocket_idle_timeout and websocket_max_message must be above 0".into());
                }
                causeway_gateway::WebSocketLimits { idle_timeout: idle, max_message, ..defaults }
            },
            upstream_ca: args.upstream_ca.or(file.upstream_ca),
            upstream_client_cert: match (args.upstream_client_cert.or(file.upstream_client_cert), args.upstream_client_key.or(file.upstream_client_key)) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => return Err("upstream_client_cert and upstream_client_key go together".into()),
            },
            limits,
        })
    }
}

/// The client limits: flags over the file over the defaults, each within its range.
fn client_limits(args: &ServeArgs, file: &FileConfig, workers: usize) -> Result<causeway_gateway::ConnLimits, String> {
    use std::time::Duration;
    let defaults = causeway_gateway::ConnLimits::default();
    let seconds = |name: &str, flag: Option<u64>, file: Option<u64>, default: Duration| match flag.or(file) {
        None => Ok(default),
        Some(s @ 1..=86_400) => Ok(Duration::from_secs(s)),
        Some(_) => Err(format!("{name} must be within 1..=86400 seconds")),
    };
    let within = |name: &str, value: Option<usize>, min: usize, max: usize, default: usize| match value {
        None => Ok(default),
        Some(n) if (min..=max).contains(&n) => Ok(n),
        Some(_) => Err(format!("{name} must be within {min}..={max}")),
    };
    Ok(causeway_gateway::ConnLimits {
        header_timeout: seconds("header_timeout", args.header_timeout, file.header_timeout, defaults.header_timeout)?,
        body_timeout: seconds("body_timeout", args.body_timeout, file.body_timeout, defaults.body_timeout)?,
        handshake_timeout: seconds("tls_handshake_timeout", args.tls_handshake_timeout, file.tls_handshake_timeout, defaults.handshake_timeout)?,
        body_min_rate: args.body_min_rate.or(file.body_min_rate).unwrap_or(defaults.body_min_rate),
        // nginx's worker_connections: 512 per worker.
        max_connections: args.max_connections.or(file.max_connections).unwrap_or(512 * workers),
        max_connections_per_address: args.max_connections_per_address.or(file.max_connections_per_address).unwrap_or(defaults.max_connections_per_address),
        max_uri_length: within("max_uri_length", args.max_uri_length.or(file.max_uri_length), 256, 1 << 20, defaults.max_uri_length)?,
        // hyper reads heads into a buffer of at least 8 KiB.
        max_header_size: within("max_header_size", args.max_header_size.or(file.max_header_size), 8192, 1 << 20, defaults.max_header_size)?,
        max_headers: within("max_headers", args.max_headers.or(file.max_headers), 1, 10_000, defaults.max_headers)?,
        http2_max_concurrent_streams: within(
            "http2_max_concurrent_streams",
            args.http2_max_concurrent_streams.or(file.http2_max_concurrent_streams).map(|n| n as usize),
            1,
            10_000,
            defaults.http2_max_concurrent_streams as usize,
        )? as u32,
        max_body_size: within("max_body_size", args.max_body_size.or(file.max_body_size), 1, 1 << 30, defaults.max_body_size)?,
    })
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_configuration_file_is_accepted() {
        let doc = include_str!("../../../docs/operations.md");
        let toml_block = doc.split("```toml\n").nth(1).and_then(|rest| rest.split("```").next()).expect("a TOML example in docs/operations.md");
        let file: FileConfig = toml::from_str(toml_block).unwrap_or_else(|e| panic!("docs/operations.md's example: {e}"));
        assert_eq!(file.limits.domains_per_group, 5);
        assert_eq!(file.websocket_idle_timeout, Some(300));
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = Settings::resolve(ServeArgs::default()).unwrap();
        assert_eq!(s.admin_listen.to_string(), "127.0.0.1:9180");
        assert_eq!(s.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(s.listen_tls.to_string(), "0.0.0.0:8443");
        assert_eq!(s.store, "sqlite://./causeway-data/causeway.db");
        assert_eq!(s.base_domain, "apigw.localhost");
        assert_eq!(s.role, Role::All);
        assert_eq!(s.access_log, causeway_gateway::AccessLogTarget::Stdout);
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "base_domain = \"file.example\"\nadmin_listen = \"127.0.0.1:1\"\n[limits]\napis_per_group = 3\n").unwrap();
        let args = ServeArgs { config: Some(path.clone()), admin_listen: Some(addr("127.0.0.1:2")), ..Default::default() };
        let s = Settings::resolve(args).unwrap();
        assert_eq!(s.base_domain, "file.example");
        assert_eq!(s.admin_listen.to_string(), "127.0.0.1:2");
        assert_eq!(s.limits.apis_per_group, 3);

        std::fs::write(&path, "no_such_setting = 1\n").unwrap();
        let err = Settings::resolve(ServeArgs { config: Some(path), ..Default::default() }).unwrap_err();
        assert!(err.contains("no_such_setting"), "{err}");
    }

}
