//! The engine shared by every node: one Lua script per request takes the
//! calls from all its limits atomically in Redis, in windows of Redis's own
//! clock, so nodes count together whatever their clocks say. When Redis
//! fails or is slow, the node limits on its own for a second before it asks
//! Redis again, and says so in the log once: requests are never refused or
//! held up because Redis is away.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

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

pub struct Redis {
    connection: ConnectionManager,
    script: redis::Script,
    /// Counts while Redis is away.
    local: Local,
    /// Until when (ms since the epoch) the node counts on its own.
    local_until_ms: AtomicU64,
    /// Whether the last answer came from the node (to log changes once).
    degraded: AtomicBool,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("degraded", &self.degraded.load(Ordering::Relaxed)).finish()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or_default()
}

impl Redis {
    /// An engine on the Redis at `url` (`redis://[user:password@]host:port[/db]`).
    /// It connects on first use and reconnects by itself; a bad URL is an error now.
    pub fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("bad Redis URL: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(BACK_OFF_MS));
        let connection = ConnectionManager::new_lazy_with_config(client, config).map_err(|e| format!("cannot use Redis: {e}"))?;
        Ok(Self {
            connection,
            script: redis::Script::new(TAKE),
            local: Local::default(),
            local_until_ms: AtomicU64::new(0),
            degraded: AtomicBool::new(false),
        })
    }

    /// Takes the calls in Redis, or on this node if Redis does not answer in time.
    pub async fn take_shared(&self, checks: &Checks, now_secs: u64) -> Taken {
        if checks.is_empty() {
            return Taken::All([0; MAX_CHECKS]);
        }
        if now_ms() < self.local_until_ms.load(Ordering::Relaxed) {
            return self.local.take_now(checks, now_secs);
        }
        let mut invocation = self.script.prepare_invoke();
        let mut name = String::with_capacity(PREFIX.len() + 64);
        for (key, limit, window_secs) in checks.iter() {
            name.clear();
            name.push_str(PREFIX);
            name.push_str(key);
            invocation.key(name.as_str()).arg(limit).arg(window_secs);
        }
        let mut connection = self.connection.clone();
        let answer = match tokio::time::timeout(TIMEOUT, invocation.invoke_async::<Vec<i64>>(&mut connection)).await {
            Ok(Ok(answer)) => read(&answer, checks.len()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no answer within {} ms", TIMEOUT.as_millis())),
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
                metrics::counter!(crate::observe::metrics::THROTTLE_FALLBACKS).increment(1);
                self.local.take_now(checks, now_secs)
            }
        }
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
        let engine = Redis::new(&url).unwrap();
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
        let engine = Redis::new("redis://127.0.0.1:1").unwrap();
        let one = checks(&[("k", 2, 3600)]);
        assert_eq!(engine.take_shared(&one, 0).await, Taken::All([1, 0, 0, 0, 0]));
        assert!(engine.degraded.load(Ordering::Relaxed));
        assert_eq!(engine.take_shared(&one, 0).await, Taken::All([0, 0, 0, 0, 0]));
        assert_eq!(engine.take_shared(&one, 0).await, Taken::Refused(0));
    }

    fn uuid_like() -> String {
        format!("test:{}:{}", std::process::id(), now_ms())
    }
}
