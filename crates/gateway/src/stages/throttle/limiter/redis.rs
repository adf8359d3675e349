//! The engine shared by every node: one Lua script per request takes the
//! calls from all its limits atomically in Redis, in windows of Redis's own
//! clock, so nodes count together whatever their clocks say. When Redis
//! fails or is slow, the node limits on its own for a second before it asks
//! Redis again, and says so in the log once: requests are never refused or
//! held up because Redis is away.
//!
//! Redis is reached directly (`redis://`, or `rediss://` over TLS, with a
//! password or ACL user in the URL), or as the primary that Redis Sentinel
//! names (`redis-sentinel://` / `rediss-sentinel://`): then a failover is
//! followed — the primary is asked for again whenever the one in use fails
//! or has become a replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwapOption;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ConnectionAddr, TlsCertificates, TlsMode};

use super::checks::{Checks, Limiter, MAX_CHECKS, Taken};
use super::local::Local;

/// KEYS: the counters; ARGV: limit and window seconds of each, in turn.
/// Answers `{refused, left...}`: `refused` is the 1-based index of the used-up
/// limit (nothing taken) or 0 (one call taken from each; `left` per limit).
const TAKE: &str = r"
local now = tonumber(redis.call('TIME')[1])
local names, left = {}, {0}
for i, key in ipairs(KEYS) do
  local limit, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local name = key .. ':' .. math.floor(now / window)
  local used = tonumber(redis.call('GET', name) or '0')
  if used >= limit then return {i} end
  names[i] = name
  left[i + 1] = limit - used - 1
end
for i, name in ipairs(names) do
  if redis.call('INCR', name) == 1 then
    redis.call('EXPIRE', name, tonumber(ARGV[2 * i]) + 1)
  end
end
return left
";

/// Every counter key starts with this, so Causeway's keys are easy to find.
const PREFIX: &str = "causeway:throttle:";
/// The longest a request waits for Redis before it is counted on the node.
const TIMEOUT: Duration = Duration::from_millis(250);
/// How long the node limits on its own after Redis failed.
const BACK_OFF_MS: u64 = 1_000;
/// Sentinel's default port.
const SENTINEL_PORT: u16 = 26379;

pub struct Redis {
    /// The connection to the Redis that counts (none yet: the Sentinel has not named the primary).
    connection: Arc<ArcSwapOption<ConnectionManager>>,
    /// With Sentinel: asks it for the primary again.
    sentinel: Option<Arc<Primary>>,
    script: redis::Script,
    /// Counts while Redis is away.
    local: Local,
    /// Until when (ms since the epoch) the node counts on its own.
    local_until_ms: AtomicU64,
    /// Whether the last answer came from the node (to log changes once).
    degraded: AtomicBool,
}

/// The primary of a Sentinel-monitored service, asked for whenever needed.
struct Primary {
    client: tokio::sync::Mutex<SentinelClient>,
    service: String,
    /// A question to the Sentinels is under way.
    asking: AtomicBool,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("degraded", &self.degraded.load(Ordering::Relaxed)).finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

fn manager_config() -> ConnectionManagerConfig {
    ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_millis(BACK_OFF_MS))
}

impl Redis {
    /// An engine on the Redis a URL names: `redis://[user:password@]host:port[/db]`,
    /// `rediss://…` (TLS: the system's roots, or `ca_pem`'s certificates), or
    /// `redis-sentinel://[user:password@]host:port[,host:port…]/service[/db][?sentinel_password=…]`
    /// (`rediss-sentinel://` over TLS). It connects on first use and reconnects
    /// by itself; a bad URL is an error now.
    pub fn new(url: &str, ca_pem: Option<&[u8]>) -> Result<Self, String> {
        let certificates = || TlsCertificates { client_tls: None, root_cert: ca_pem.map(<[u8]>::to_vec) };
        let (connection, sentinel) = match SentinelUrl::parse(url)? {
            Some(s) => (None, Some(Arc::new(s.primary(certificates())?))),
            None => {
                let client = match ca_pem {
                    Some(_) if url.starts_with("rediss://") => redis::Client::build_with_tls(url, certificates()),
                    Some(_) => return Err("a CA for Redis needs a rediss:// URL".into()),
                    None => redis::Client::open(url),
                }
                .map_err(|e| format!("bad Redis URL: {e}"))?;
                let connection = ConnectionManager::new_lazy_with_config(client, manager_config()).map_err(|e| format!("cannot use Redis: {e}"))?;
                (Some(Arc::new(connection)), None)
            }
        };
        let engine = Self {
            connection: Arc::new(ArcSwapOption::new(connection)),
            sentinel,
            script: redis::Script::new(TAKE),
            local: Local::default(),
            local_until_ms: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
        };
        // Ask the Sentinels at once where there is a runtime to ask on (else on first use).
        if tokio::runtime::Handle::try_current().is_ok() {
            engine.find_primary();
        }
        Ok(engine)
    }

    /// With Sentinel: asks for the primary (once at a time) and connects to it.
    fn find_primary(&self) {
        let Some(primary) = &self.sentinel else { return };
        if primary.asking.swap(true, Ordering::AcqRel) {
            return;
        }
        let (primary, connection) = (primary.clone(), self.connection.clone());
        tokio::spawn(async move {
            let found = tokio::time::timeout(Duration::from_secs(5), async { primary.client.lock().await.async_get_client().await }).await;
            match found {
                Ok(Ok(client)) => {
                    let addr = client.get_connection_info().addr().to_string();
                    match ConnectionManager::new_lazy_with_config(client, manager_config()) {
                        Ok(manager) => {
                            connection.store(Some(Arc::new(manager)));
                            tracing::info!(service = %primary.service, primary = %addr, "Redis Sentinel: counting on this primary");
                        }
                        Err(e) => tracing::warn!(error = %e, "Redis Sentinel: cannot use the primary it names"),
                    }
                }
                Ok(Err(e)) => tracing::warn!(service = %primary.service, error = %e, "Redis Sentinel: no primary named"),
                Err(_) => tracing::warn!(service = %primary.service, "Redis Sentinel: no answer within 5 s"),
            }
            primary.asking.store(false, Ordering::Release);
        });
    }

    /// Takes the calls in Redis, or on this node if Redis does not answer in time.
    pub async fn take_shared(&self, checks: &Checks, now_secs: u64) -> Taken {
        if checks.is_empty() {
            return Taken::All([0; MAX_CHECKS]);
        }
        if now_ms() < self.local_until_ms.load(Ordering::Relaxed) {
            return self.local.take_now(checks, now_secs);
        }
        let answer = match self.connection.load_full() {
            Some(connection) => self.ask(checks, &connection).await,
            None => Err("the Sentinels have not named a primary yet".to_string()),
        };
        match answer {
            Ok(taken) => {
                if self.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis answers again: throttling counts across nodes again");
                }
                taken
            }
            Err(error) => {
                self.local_until_ms.store(now_ms() + BACK_OFF_MS, Ordering::Relaxed);
                if !self.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(%error, "Redis throttling failed: counting on this node until Redis answers again");
                }
                // The primary may have changed (a failover): ask the Sentinels again.
                self.find_primary();
                metrics::counter!(crate::observe::metrics::THROTTLE_FALLBACKS).increment(1);
                self.local.take_now(checks, now_secs)
            }
        }
    }

    async fn ask(&self, checks: &Checks, connection: &ConnectionManager) -> Result<Taken, String> {
        let mut invocation = self.script.prepare_invoke();
        let mut name = String::with_capacity(PREFIX.len() + 64);
        for (key, limit, window_secs) in checks.iter() {
            name.clear();
            name.push_str(PREFIX);
            name.push_str(key);
            invocation.key(name.as_str()).arg(limit).arg(window_secs);
        }
        let mut connection = connection.clone();
        match tokio::time::timeout(TIMEOUT, invocation.invoke_async::<Vec<i64>>(&mut connection)).await {
            Ok(Ok(answer)) => read(&answer, checks.len()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", TIMEOUT.as_millis())),
        }
    }
}

/// A `redis-sentinel://` URL, taken apart.
#[derive(Debug, PartialEq, Eq)]
struct SentinelUrl {
    tls: bool,
    sentinels: Vec<(String, u16)>,
    service: String,
    db: i64,
    username: Option<String>,
    password: Option<String>,
    sentinel_password: Option<String>,
}

impl SentinelUrl {
    /// `None` for a URL that does not name Sentinels.
    fn parse(url: &str) -> Result<Option<Self>, String> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis-sentinel://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss-sentinel://") {
            (true, rest)
        } else {
            return Ok(None);
        };
        let bad = |why: &str| format!("bad Redis Sentinel URL: {why} (redis-sentinel://[user:password@]host:port[,host:port…]/service[/db])");
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (credentials, rest) = match rest.rsplit_once('@') {
            Some((c, r)) => (Some(c), r),
            None => (None, rest),
        };
        // Percent-decoded (a `+` stays a `+`, as in URLs' user info).
        let decode = |s: &str| -> String { form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default() };
        let (username, password) = match credentials {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => ((!u.is_empty()).then(|| decode(u)), Some(decode(p))),
                None => (Some(decode(c)), None),
            },
            None => (None, None),
        };
        let (hosts, path) = rest.split_once('/').ok_or_else(|| bad("no service name"))?;
        let mut path = path.split('/').filter(|p| !p.is_empty());
        let service = path.next().ok_or_else(|| bad("no service name"))?.to_string();
        let db = match path.next() {
            Some(db) => db.parse().map_err(|_| bad("the database is not a number"))?,
            None => 0,
        };
        let mut sentinels = Vec::new();
        for host in hosts.split(',').filter(|h| !h.is_empty()) {
            let (name, port) = match host.rsplit_once(':') {
                Some((n, p)) if !n.ends_with(']') || n.starts_with('[') => (n, p.parse().map_err(|_| bad("a port is not a number"))?),
                _ => (host, SENTINEL_PORT),
            };
            sentinels.push((name.trim_start_matches('[').trim_end_matches(']').to_string(), port));
        }
        if sentinels.is_empty() {
            return Err(bad("no Sentinel address"));
        }
        let sentinel_password = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "sentinel_password").map(|(_, v)| v.into_owned());
        Ok(Some(Self { tls, sentinels, service, db, username, password, sentinel_password }))
    }

    fn primary(self, certificates: TlsCertificates) -> Result<Primary, String> {
        let addrs = self.sentinels.iter().map(|(host, port)| match self.tls {
            true => ConnectionAddr::TcpTls { host: host.clone(), port: *port, insecure: false, tls_params: None },
            false => ConnectionAddr::Tcp(host.clone(), *port),
        });
        let mut builder = SentinelClientBuilder::new(addrs, &self.service, SentinelServerType::Master).map_err(|e| e.to_string())?.set_client_to_redis_db(self.db);
        if let Some(u) = &self.username {
            builder = builder.set_client_to_redis_username(u);
        }
        if let Some(p) = &self.password {
            builder = builder.set_client_to_redis_password(p);
        }
        if let Some(p) = &self.sentinel_password {
            builder = builder.set_client_to_sentinel_password(p);
        }
        if self.tls {
            builder = builder
                .set_client_to_redis_tls_mode(TlsMode::Secure)
                .set_client_to_sentinel_tls_mode(TlsMode::Secure)
                .set_client_to_redis_certificates(TlsCertificates { client_tls: None, root_cert: certificates.root_cert.clone() })
                .set_client_to_sentinel_certificates(certificates);
        }
        let client = builder.build().map_err(|e| format!("bad Redis Sentinel settings: {e}"))?;
        Ok(Primary { client: tokio::sync::Mutex::new(client), service: self.service, asking: AtomicBool::new(false) })
    }
}

/// Reads the script's answer.
fn read(answer: &[i64], checks: usize) -> Result<Taken, String> {
    match answer.first() {
        Some(0) if answer.len() == checks + 1 => {
            let mut left = [0; MAX_CHECKS];
            for (l, a) in left.iter_mut().zip(&answer[1..]) {
                *l = u32::try_from(*a).unwrap_or_default();
            }
            Ok(Taken::All(left))
        }
        Some(&i) if i >= 1 && (i as usize) <= checks => Ok(Taken::Refused(i as usize - 1)),
        _ => Err(format!("unexpected answer from the throttling script: {answer:?}")),
    }
}

impl Limiter for Redis {
    fn take(&self, checks: &Checks, now_secs: u64) -> impl Future<Output = Taken> + Send {
        self.take_shared(checks, now_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::throttle::limiter::checks::checks;

    #[test]
    fn answers_are_read_strictly() {
        assert_eq!(read(&[0, 4, 9], 2), Ok(Taken::All([4, 9, 0, 0, 0])));
        assert_eq!(read(&[2], 2), Ok(Taken::Refused(1)));
        assert!(read(&[0, 4], 2).is_err());
        assert!(read(&[3], 2).is_err());
        assert!(read(&[], 2).is_err());
    }

    /// Against the real Redis of `CAUSEWAY_TEST_REDIS`.
    #[tokio::test]
    async fn counts_in_redis_all_or_nothing() {
        let Ok(url) = std::env::var("CAUSEWAY_TEST_REDIS") else {
            // Under CI every test service must be there.
            assert!(std::env::var_os("CI").is_none(), "CAUSEWAY_TEST_REDIS is not set, and CI is");
            eprintln!("CAUSEWAY_TEST_REDIS is not set: skipping");
            return;
        };
        let engine = Redis::new(&url, None).unwrap();
        let run = uuid_like();
        let (a, b) = (format!("{run}:a"), format!("{run}:b"));
        // A long window, so the test cannot straddle two.
        let both = checks(&[(&a, 2, 3600), (&b, 3, 3600)]);
        assert_eq!(engine.take_shared(&both, 0).await, Taken::All([1, 2, 0, 0, 0]));
        assert_eq!(engine.take_shared(&both, 0).await, Taken::All([0, 1, 0, 0, 0]));
        assert_eq!(engine.take_shared(&both, 0).await, Taken::Refused(0));
        assert_eq!(engine.take_shared(&checks(&[(&b, 3, 3600)]), 0).await, Taken::All([0, 0, 0, 0, 0]), "the refused call took nothing from b");
        assert!(!engine.degraded.load(Ordering::Relaxed));
    }

    #[tokio::test]
    async fn without_redis_the_node_counts_on_its_own() {
        // Nothing listens on port 1.
        let engine = Redis::new("redis://127.0.0.1:1", None).unwrap();
        let one = checks(&[("k", 2, 3600)]);
        assert_eq!(engine.take_shared(&one, 0).await, Taken::All([1, 0, 0, 0, 0]));
        assert!(engine.degraded.load(Ordering::Relaxed));
        assert_eq!(engine.take_shared(&one, 0).await, Taken::All([0, 0, 0, 0, 0]));
        assert_eq!(engine.take_shared(&one, 0).await, Taken::Refused(0));
    }

    #[test]
    fn sentinel_urls_are_read_whole() {
        assert_eq!(SentinelUrl::parse("redis://h:6379").unwrap(), None, "not a Sentinel URL");
        let url = SentinelUrl::parse("rediss-sentinel://app:p%40ss@s1:26380,s2,[::1]:5000/mymaster/2?sentinel_password=sp").unwrap().unwrap();
        assert_eq!(
            url,
            SentinelUrl {
                tls: true,
                sentinels: vec![("s1".into(), 26380), ("s2".into(), 26379), ("::1".into(), 5000)],
                service: "mymaster".into(),
                db: 2,
                username: Some("app".into()),
                password: Some("p@ss".into()),
                sentinel_password: Some("sp".into()),
            }
        );
        let plain = SentinelUrl::parse("redis-sentinel://:pw@10.0.0.1/cache").unwrap().unwrap();
        assert_eq!((plain.tls, plain.username, plain.password.as_deref(), plain.db), (false, None, Some("pw"), 0));
        for bad in ["redis-sentinel://h:1", "redis-sentinel:///svc", "redis-sentinel://h:x/svc", "redis-sentinel://h/svc/db"] {
            assert!(SentinelUrl::parse(bad).is_err(), "{bad}");
        }
    }

    fn uuid_like() -> String {
        format!("test:{}:{}", std::process::id(), now_ms())
    }
}
