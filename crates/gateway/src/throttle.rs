//! Request throttling on one node: fixed time windows (`time_interval` ×
//! `time_unit`, aligned to the Unix epoch), one counter per limited key — the
//! API (or all APIs of a shared policy), and within it each user, app and
//! client address. A counter is one atomic word holding its window and count,
//! so a request takes no lock once it has the counter; counters live in a
//! cache bounded in entries (idle keys go first), kept across snapshots.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use causeway_model::throttle::{SHARED, SpecialType, Throttle, ThrottleBinding, ThrottleSpecial, TimeUnit};
use http::{HeaderName, HeaderValue};
use rustc_hash::FxHashMap;

use crate::response::{GatewayError, errors};

/// Counters kept per node: one per (policy scope, key) seen in its window.
const COUNTERS: usize = 1 << 20;

/// The counters of every node-local limit, shared by all snapshots.
pub struct Counters {
    cache: quick_cache::sync::Cache<String, Arc<AtomicU64>>,
}

impl Default for Counters {
    fn default() -> Self {
        Self::with_capacity(COUNTERS)
    }
}

impl std::fmt::Debug for Counters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counters").field("keys", &self.cache.len()).finish()
    }
}

/// `window << 32 | count` in one word.
fn pack(window: u64, count: u64) -> u64 {
    (window << 32) | (count & 0xFFFF_FFFF)
}

impl Counters {
    pub fn with_capacity(keys: usize) -> Self {
        Self { cache: quick_cache::sync::Cache::new(keys) }
    }

    fn counter(&self, key: &str) -> Arc<AtomicU64> {
        if let Some(c) = self.cache.get(key) {
            return c;
        }
        match self.cache.get_or_insert_with(key, || Ok::<_, std::convert::Infallible>(Arc::new(AtomicU64::new(0)))) {
            Ok(c) => c,
            Err(never) => match never {},
        }
    }

    /// Takes one call in `window` if fewer than `limit` were taken: the calls left, or `None`.
    fn take(counter: &AtomicU64, window: u64, limit: u32) -> Option<u32> {
        let window = window & 0xFFFF_FFFF;
        let mut current = counter.load(Ordering::Relaxed);
        loop {
            let (w, n) = (current >> 32, current & 0xFFFF_FFFF);
            let used = if w == window { n } else { 0 };
            if used >= u64::from(limit) {
                return None;
            }
            match counter.compare_exchange_weak(current, pack(window, used + 1), Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(limit - used as u32 - 1),
                Err(seen) => current = seen,
            }
        }
    }

    /// Gives back a call taken in `window` (another limit refused the request).
    fn give_back(counter: &AtomicU64, window: u64) {
        let window = window & 0xFFFF_FFFF;
        let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| {
            (c >> 32 == window && c & 0xFFFF_FFFF > 0).then(|| c - 1)
        });
    }
}

/// One publication's policy, compiled.
#[derive(Debug)]
struct Limits {
    /// The counter key of the API limit: the policy's (shared) or the publication's.
    scope: Box<str>,
    window_secs: u64,
    api: u32,
    user: Option<u32>,
    app: Option<u32>,
    ip: Option<u32>,
    /// The policy's special limits, by app id and by user.
    specials: Arc<Specials>,
    /// `time:1 second` as the debug headers say it.
    time: Box<str>,
}

#[derive(Debug, Default)]
struct Specials {
    apps: FxHashMap<Box<str>, u32>,
    users: FxHashMap<Box<str>, u32>,
}

/// Who a request comes from, for the per-caller limits.
pub struct Caller<'a> {
    pub user: Option<&'a str>,
    pub app: Option<&'a str>,
    pub ip: IpAddr,
}

const RATE_API: HeaderName = HeaderName::from_static("x-apig-ratelimit-api");
const RATE_USER: HeaderName = HeaderName::from_static("x-apig-ratelimit-user");
const RATE_APP: HeaderName = HeaderName::from_static("x-apig-ratelimit-app");
const RATE_IP: HeaderName = HeaderName::from_static("x-apig-ratelimit-ip");

/// A group's cap on all its APIs together.
#[derive(Debug)]
pub struct GroupLimit {
    scope: Box<str>,
    window_secs: u64,
    limit: u32,
    time: Box<str>,
}

impl GroupLimit {
    pub fn of(g: &causeway_model::group::Group) -> Option<Self> {
        let (limit, interval, unit) = (g.call_limits?, g.time_interval?, g.time_unit?);
        Some(Self {
            // A changed limit starts afresh.
            scope: format!("group:{}@{limit}.{interval}.{}", g.id, unit.as_str()).into(),
            window_secs: u64::from(interval).saturating_mul(unit.seconds()).max(1),
            limit,
            time: format!("{interval} {}", unit_name(unit)).into(),
        })
    }
}

/// The policies of every publication that has one.
#[derive(Debug, Default)]
pub struct Throttles {
    by_publication: FxHashMap<Box<str>, Limits>,
    counters: Arc<Counters>,
}

fn unit_name(u: TimeUnit) -> &'static str {
    match u {
        TimeUnit::Second => "second",
        TimeUnit::Minute => "minute",
        TimeUnit::Hour => "hour",
        TimeUnit::Day => "day",
    }
}

impl Throttles {
    pub fn build<'a>(
        throttles: impl Iterator<Item = &'a Throttle>,
        bindings: impl Iterator<Item = &'a ThrottleBinding>,
        specials: impl Iterator<Item = &'a ThrottleSpecial>,
        counters: Arc<Counters>,
    ) -> Self {
        let throttles: FxHashMap<&str, &Throttle> = throttles.map(|t| (t.id.as_str(), t)).collect();
        let mut by_policy: FxHashMap<&str, Specials> = FxHashMap::default();
        for s in specials {
            let entry = by_policy.entry(s.strategy_id.as_str()).or_default();
            let map = match s.instance_type {
                SpecialType::App => &mut entry.apps,
                SpecialType::User => &mut entry.users,
            };
            map.insert(s.instance_id.as_str().into(), s.call_limits);
        }
        let by_policy: FxHashMap<&str, Arc<Specials>> = by_policy.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        let none = Arc::new(Specials::default());
        let mut by_publication = FxHashMap::default();
        for b in bindings {
            let Some(t) = throttles.get(b.strategy_id.as_str()) else { continue };
            // A changed policy starts its counts afresh (its limits or window may differ).
            let policy = format!("{}@{}.{}.{}", t.id, t.api_call_limits, t.time_interval, t.time_unit.as_str());
            let scope = if t.kind == SHARED { policy } else { format!("{policy}/{}", b.publish_id) };
            by_publication.insert(
                b.publish_id.as_str().into(),
                Limits {
                    scope: scope.into(),
                    window_secs: t.window_seconds().max(1),
                    api: t.api_call_limits,
                    user: t.user_call_limits,
                    app: t.app_call_limits,
                    ip: t.ip_call_limits,
                    specials: by_policy.get(t.id.as_str()).cloned().unwrap_or_else(|| none.clone()),
                    time: format!("{} {}", t.time_interval, unit_name(t.time_unit)).into(),
                },
            );
        }
        Self { by_publication, counters }
    }

    /// Counts the request against its publication's limits. Over one → 429
    /// `APIG.0308`. With `debug`, the `X-Apig-RateLimit-*` headers are pushed to `headers`.
    pub fn check(&self, publish_id: &str, caller: &Caller<'_>, now_secs: u64, debug: bool, headers: &mut Vec<(HeaderName, HeaderValue)>) -> Result<(), GatewayError> {
        if self.by_publication.is_empty() {
            return Ok(());
        }
        let Some(l) = self.by_publication.get(publish_id) else { return Ok(()) };
        let window = now_secs / l.window_secs;
        let mut key = String::with_capacity(l.scope.len() + 48);
        let mut taken: Vec<Arc<AtomicU64>> = Vec::with_capacity(4);
        let limits = [
            (RATE_IP, "ip", l.ip.map(|n| (n, CallerKey::Ip(caller.ip)))),
            (RATE_APP, "app", caller.app.and_then(|a| Some((l.specials.apps.get(a).copied().or(l.app)?, CallerKey::Name(a))))),
            (RATE_USER, "user", caller.user.and_then(|u| Some((l.specials.users.get(u).copied().or(l.user)?, CallerKey::Name(u))))),
            (RATE_API, "api", Some((l.api, CallerKey::None))),
        ];
        for (header, what, limit) in limits {
            let Some((limit, who)) = limit else { continue };
            key.clear();
            key.push_str(&l.scope);
            key.push('|');
            key.push_str(what);
            who.append(&mut key);
            let counter = self.counters.counter(&key);
            match Counters::take(&counter, window, limit) {
                Some(left) => {
                    if debug && let Ok(v) = HeaderValue::from_str(&format!("remain:{left},limit:{limit},time:{}", l.time)) {
                        headers.push((header, v));
                    }
                    taken.push(counter);
                }
                None => {
                    for c in &taken {
                        Counters::give_back(c, window);
                    }
                    if debug && let Ok(v) = HeaderValue::from_str(&format!("remain:0,limit:{limit},time:{}", l.time)) {
                        headers.push((header, v));
                    }
                    return Err(errors::THROTTLED.with_message(format!("The throttling threshold has been reached: the {what} limit of {limit} per {}", l.time)));
                }
            }
        }
        Ok(())
    }
}

impl Throttles {
    /// Counts the request against its group's cap, if the group has one.
    pub fn check_group(&self, limit: &GroupLimit, now_secs: u64) -> Result<(), GatewayError> {
        let counter = self.counters.counter(&limit.scope);
        match Counters::take(&counter, now_secs / limit.window_secs, limit.limit) {
            Some(_) => Ok(()),
            None => Err(errors::THROTTLED.with_message(format!("The throttling threshold has been reached: the group limit of {} per {}", limit.limit, limit.time))),
        }
    }
}

enum CallerKey<'a> {
    None,
    Name(&'a str),
    Ip(IpAddr),
}

impl CallerKey<'_> {
    fn append(&self, key: &mut String) {
        use std::fmt::Write;
        match self {
            CallerKey::None => {}
            CallerKey::Name(n) => {
                key.push(':');
                key.push_str(n);
            }
            CallerKey::Ip(ip) => {
                let _ = write!(key, ":{ip}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(id: &str, api: u32, ip: Option<u32>, app: Option<u32>, kind: i32) -> Throttle {
        Throttle {
            id: id.into(),
            name: id.into(),
            api_call_limits: api,
            user_call_limits: None,
            app_call_limits: app,
            ip_call_limits: ip,
            time_interval: 1,
            time_unit: TimeUnit::Second,
            kind,
            remark: None,
            enable_adaptive_control: "FALSE".into(),
            create_time: String::new(),
        }
    }

    fn bind(policy: &str, publish: &str) -> ThrottleBinding {
        ThrottleBinding { id: format!("{policy}{publish}"), strategy_id: policy.into(), publish_id: publish.into(), api_id: "a".into(), env_id: "e".into(), scope: 1, apply_time: String::new() }
    }

    fn caller(ip: &str, app: Option<&'static str>) -> Caller<'static> {
        Caller { user: None, app, ip: ip.parse().unwrap() }
    }

    fn accepted(t: &Throttles, publish: &str, c: &Caller<'_>, now: u64, n: usize) -> usize {
        (0..n).filter(|_| t.check(publish, c, now, false, &mut Vec::new()).is_ok()).count()
    }

    #[test]
    fn each_window_takes_the_limit_and_no_more() {
        let t = Throttles::build([throttle("p", 10, None, None, 1)].iter(), [bind("p", "x"), bind("p", "y")].iter(), [].iter(), Default::default());
        let c = caller("10.0.0.1", None);
        assert_eq!(accepted(&t, "x", &c, 100, 30), 10);
        // Exclusive: the other API counts on its own; a new window starts afresh.
        assert_eq!(accepted(&t, "y", &c, 100, 30), 10);
        assert_eq!(accepted(&t, "x", &c, 101, 30), 10);
        assert_eq!(accepted(&t, "z", &c, 101, 30), 30, "no policy, no limit");
        let e = t.check("x", &c, 101, false, &mut Vec::new()).unwrap_err();
        assert_eq!((e.code, e.status), ("APIG.0308", 429));
    }

    #[test]
    fn shared_policies_count_their_apis_together() {
        let t = Throttles::build([throttle("p", 10, None, None, SHARED)].iter(), [bind("p", "x"), bind("p", "y")].iter(), [].iter(), Default::default());
        let c = caller("10.0.0.1", None);
        assert_eq!(accepted(&t, "x", &c, 7, 6) + accepted(&t, "y", &c, 7, 6), 10);
    }

    #[test]
    fn per_caller_limits_and_refused_calls_give_back_what_they_took() {
        let t = Throttles::build([throttle("p", 10, Some(4), Some(3), 1)].iter(), [bind("p", "x")].iter(), [].iter(), Default::default());
        assert_eq!(accepted(&t, "x", &caller("10.0.0.1", None), 5, 10), 4);
        assert_eq!(accepted(&t, "x", &caller("10.0.0.2", Some("app1")), 5, 10), 3);
        // 7 of 10 taken: the API limit still has 3, whatever the refused calls tried.
        assert_eq!(accepted(&t, "x", &caller("10.0.0.3", None), 5, 10), 3);
        let mut headers = Vec::new();
        assert!(t.check("x", &caller("10.0.0.4", None), 6, true, &mut headers).is_ok());
        let text: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap())).collect();
        assert_eq!(text, ["x-apig-ratelimit-ip: remain:3,limit:4,time:1 second", "x-apig-ratelimit-api: remain:9,limit:10,time:1 second"]);
    }

    #[test]
    fn special_limits_replace_the_policys_for_their_app_or_user() {
        let special = |who: &str, t: SpecialType, n: u32| ThrottleSpecial {
            id: who.into(),
            strategy_id: "p".into(),
            instance_id: who.into(),
            instance_name: who.into(),
            instance_type: t,
            call_limits: n,
            apply_time: String::new(),
        };
        let specials = [special("vip", SpecialType::App, 6), special("ann", SpecialType::User, 1)];
        let t = Throttles::build([throttle("p", 20, None, Some(2), 1)].iter(), [bind("p", "x")].iter(), specials.iter(), Default::default());
        assert_eq!(accepted(&t, "x", &caller("10.0.0.1", Some("vip")), 3, 10), 6);
        assert_eq!(accepted(&t, "x", &caller("10.0.0.1", Some("other")), 3, 10), 2);
        let ann = Caller { user: Some("ann"), app: None, ip: "10.0.0.2".parse().unwrap() };
        assert_eq!(accepted(&t, "x", &ann, 3, 10), 1, "a special limit applies even where the policy has none");
    }

    #[test]
    fn counters_are_bounded() {
        const KEYS: usize = 10_000;
        let t = Throttles::build([throttle("p", 10, Some(1), None, 1)].iter(), [bind("p", "x")].iter(), [].iter(), Arc::new(Counters::with_capacity(KEYS)));
        for i in 0..(KEYS as u32 * 10) {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
            let _ = t.check("x", &Caller { user: None, app: None, ip: IpAddr::V4(ip) }, 1, false, &mut Vec::new());
        }
        assert!(t.counters.cache.len() <= KEYS + KEYS / 8, "{} counters", t.counters.cache.len());
    }
}
