//! Request throttling: each publication's policy compiled to the limits a
//! request is counted against — its group's cap, the API (or all APIs of a
//! shared policy), and within it each user, app and client address — in
//! fixed windows of `time_interval` × `time_unit`. The counting is the
//! [`limiter`] engine's, on this node or in Redis.

use std::net::IpAddr;
use std::ops::Not;
use std::sync::Arc;

use causeway_model::throttle::{SHARED, SpecialType, Throttle, ThrottleBinding, ThrottleSpecial, TimeUnit};
use http::{HeaderName, HeaderValue};
use rustc_hash::FxHashMap;

pub(crate) mod limiter;

use crate::http::error::{GatewayError, errors};
use crate::http::headers::{X_APIG_RATELIMIT_API, X_APIG_RATELIMIT_APP, X_APIG_RATELIMIT_IP, X_APIG_RATELIMIT_USER};
use limiter::{Checks, Engine, MAX_CHECKS, Taken};

/// One publication's policy, compiled.
#[derive(Debug)]
struct PolicyLimits {
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
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub user: Option<&'a str>,
    pub app: Option<&'a str>,
    pub ip: IpAddr,
}

/// One request to count: who calls which publication of which group, when.
pub struct Call<'a> {
    /// The group's cap, if it has one.
    pub group: Option<&'a GroupLimit>,
    pub publish_id: &'a str,
    pub caller: Caller<'a>,
    pub now_secs: u64,
    /// `X-Apig-Mode: debug`: the `X-Apig-RateLimit-*` headers are wanted.
    pub debug: bool,
}

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
    by_publication: FxHashMap<Box<str>, PolicyLimits>,
    engine: Engine,
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
        engine: Engine,
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
                PolicyLimits {
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
        Self { by_publication, engine }
    }

    /// Counts the request against its group's cap and its publication's
    /// limits, all or none. Over one → 429 `APIG.0308`. With `debug`, the
    /// `X-Apig-RateLimit-*` headers of the publication's limits are pushed to `headers`.
    pub async fn check(&self, call: &Call<'_>, headers: &mut Vec<(HeaderName, HeaderValue)>) -> Result<(), GatewayError> {
        match self.check_now(call, headers) {
            Some(done) => done,
            None => {
                let Some((checks, what)) = self.prepare(call) else { return Ok(()) };
                let taken = self.engine.take(&checks, call.now_secs).await;
                finish(taken, &what[..checks.len()], call.debug, headers)
            }
        }
    }

    /// [`check`](Self::check) without waiting: the answer, or `None` when the
    /// engine must be waited for (Redis). Most requests end here, so the
    /// request's future does not carry the check's state.
    pub fn check_now(&self, call: &Call<'_>, headers: &mut Vec<(HeaderName, HeaderValue)>) -> Option<Result<(), GatewayError>> {
        let Engine::Local(local) = &self.engine else {
            return self.applies(call.group, call.publish_id).not().then_some(Ok(()));
        };
        let Some((checks, what)) = self.prepare(call) else { return Some(Ok(())) };
        Some(finish(local.take_now(&checks, call.now_secs), &what[..checks.len()], call.debug, headers))
    }

    /// Whether any limit applies to a request of `publish_id`.
    fn applies(&self, group: Option<&GroupLimit>, publish_id: &str) -> bool {
        group.is_some() || (!self.by_publication.is_empty() && self.by_publication.contains_key(publish_id))
    }

    /// The limits a request is counted against, and what each is; `None` when none applies.
    fn prepare<'s>(&'s self, call: &Call<'s>) -> Option<(Checks, [What<'s>; MAX_CHECKS])> {
        let (group, publish_id, caller) = (call.group, call.publish_id, &call.caller);
        let policy = if self.by_publication.is_empty() { None } else { self.by_publication.get(publish_id) };
        if group.is_none() && policy.is_none() {
            return None;
        }
        let mut what: [What<'s>; MAX_CHECKS] = Default::default();
        let mut checks = Checks::with_capacity(192);
        if let Some(g) = group {
            what[checks.len()] = (None, "group", g.limit, &g.time);
            checks.push(g.limit, g.window_secs, |k| k.push_str(&g.scope));
        }
        if let Some(l) = policy {
            let limits = [
                (X_APIG_RATELIMIT_IP, "ip", l.ip.map(|n| (n, CallerKey::Ip(caller.ip)))),
                (X_APIG_RATELIMIT_APP, "app", caller.app.and_then(|a| Some((l.specials.apps.get(a).copied().or(l.app)?, CallerKey::Name(a))))),
                (X_APIG_RATELIMIT_USER, "user", caller.user.and_then(|u| Some((l.specials.users.get(u).copied().or(l.user)?, CallerKey::Name(u))))),
                (X_APIG_RATELIMIT_API, "api", Some((l.api, CallerKey::None))),
            ];
            for (header, name, limit) in limits {
                let Some((limit, who)) = limit else { continue };
                what[checks.len()] = (Some(header), name, limit, &l.time);
                checks.push(limit, l.window_secs, |key| {
                    key.push_str(&l.scope);
                    key.push('|');
                    key.push_str(name);
                    who.append(key);
                });
            }
        }
        Some((checks, what))
    }
}

/// What a check is, for the answer: its debug header, name, limit and window.
type What<'s> = (Option<HeaderName>, &'static str, u32, &'s str);

/// The answer to a request from what the engine took.
fn finish(taken: Taken, what: &[What<'_>], debug: bool, headers: &mut Vec<(HeaderName, HeaderValue)>) -> Result<(), GatewayError> {
    if debug {
        for (i, (header, _, limit, time)) in what.iter().enumerate() {
            let Some(header) = header else { continue };
            let left = match taken {
                Taken::All(left) => left[i],
                Taken::Refused(r) if r == i => 0,
                // Not taken from, and not counted as refusing.
                Taken::Refused(_) => continue,
            };
            if let Ok(v) = HeaderValue::from_str(&format!("remain:{left},limit:{limit},time:{time}")) {
                headers.push((header.clone(), v));
            }
        }
    }
    match taken {
        Taken::All(_) => Ok(()),
        Taken::Refused(i) => {
            let (_, name, limit, time) = &what[i];
            Err(errors::THROTTLED.with_message(format!("The throttling threshold has been reached: the {name} limit of {limit} per {time}")))
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
            // Dotted IPv4 without the formatting machinery: this runs on every limited request.
            CallerKey::Ip(IpAddr::V4(ip)) => {
                for (i, octet) in ip.octets().into_iter().enumerate() {
                    key.push(if i == 0 { ':' } else { '.' });
                    if octet >= 100 {
                        key.push(char::from(b'0' + octet / 100));
                    }
                    if octet >= 10 {
                        key.push(char::from(b'0' + octet / 10 % 10));
                    }
                    key.push(char::from(b'0' + octet % 10));
                }
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

    fn call<'a>(group: Option<&'a GroupLimit>, publish_id: &'a str, caller: &Caller<'a>, now_secs: u64, debug: bool) -> Call<'a> {
        Call { group, publish_id, caller: *caller, now_secs, debug }
    }

    fn caller(ip: &str, app: Option<&'static str>) -> Caller<'static> {
        Caller { user: None, app, ip: ip.parse().unwrap() }
    }

    async fn accepted(t: &Throttles, publish: &str, c: &Caller<'_>, now: u64, n: usize) -> usize {
        let mut ok = 0;
        for _ in 0..n {
            ok += usize::from(t.check(&call(None, publish, c, now, false), &mut Vec::new()).await.is_ok());
        }
        ok
    }

    #[tokio::test]
    async fn each_window_takes_the_limit_and_no_more() {
        let t = Throttles::build([throttle("p", 10, None, None, 1)].iter(), [bind("p", "x"), bind("p", "y")].iter(), [].iter(), Default::default());
        let c = caller("10.0.0.1", None);
        assert_eq!(accepted(&t, "x", &c, 100, 30).await, 10);
        // Exclusive: the other API counts on its own; a new window starts afresh.
        assert_eq!(accepted(&t, "y", &c, 100, 30).await, 10);
        assert_eq!(accepted(&t, "x", &c, 101, 30).await, 10);
        assert_eq!(accepted(&t, "z", &c, 101, 30).await, 30, "no policy, no limit");
        let e = t.check(&call(None, "x", &c, 101, false), &mut Vec::new()).await.unwrap_err();
        assert_eq!((e.code, e.status), ("APIG.0308", 429));
    }

    #[tokio::test]
    async fn shared_policies_count_their_apis_together() {
        let t = Throttles::build([throttle("p", 10, None, None, SHARED)].iter(), [bind("p", "x"), bind("p", "y")].iter(), [].iter(), Default::default());
        let c = caller("10.0.0.1", None);
        assert_eq!(accepted(&t, "x", &c, 7, 6).await + accepted(&t, "y", &c, 7, 6).await, 10);
    }

    #[tokio::test]
    async fn per_caller_limits_and_refused_calls_give_back_what_they_took() {
        let t = Throttles::build([throttle("p", 10, Some(4), Some(3), 1)].iter(), [bind("p", "x")].iter(), [].iter(), Default::default());
        assert_eq!(accepted(&t, "x", &caller("10.0.0.1", None), 5, 10).await, 4);
        assert_eq!(accepted(&t, "x", &caller("10.0.0.2", Some("app1")), 5, 10).await, 3);
        // 7 of 10 taken: the API limit still has 3, whatever the refused calls tried.
        assert_eq!(accepted(&t, "x", &caller("10.0.0.3", None), 5, 10).await, 3);
        let mut headers = Vec::new();
        assert!(t.check(&call(None, "x", &caller("10.0.0.4", None), 6, true), &mut headers).await.is_ok());
        let text: Vec<String> = headers.iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap())).collect();
        assert_eq!(text, ["x-apig-ratelimit-ip: remain:3,limit:4,time:1 second", "x-apig-ratelimit-api: remain:9,limit:10,time:1 second"]);
    }

    #[tokio::test]
    async fn special_limits_replace_the_policys_for_their_app_or_user() {
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
        assert_eq!(accepted(&t, "x", &caller("10.0.0.1", Some("vip")), 3, 10).await, 6);
        assert_eq!(accepted(&t, "x", &caller("10.0.0.1", Some("other")), 3, 10).await, 2);
        let ann = Caller { user: Some("ann"), app: None, ip: "10.0.0.2".parse().unwrap() };
        assert_eq!(accepted(&t, "x", &ann, 3, 10).await, 1, "a special limit applies even where the policy has none");
    }

    #[tokio::test]
    async fn a_group_cap_counts_only_calls_its_apis_accept() {
        let group = GroupLimit { scope: "g".into(), window_secs: 1, limit: 5, time: "1 second".into() };
        let t = Throttles::build([throttle("p", 2, None, None, 1)].iter(), [bind("p", "x")].iter(), [].iter(), Default::default());
        let c = caller("10.0.0.1", None);
        let mut ok = 0;
        for _ in 0..10 {
            ok += usize::from(t.check(&call(Some(&group), "x", &c, 1, false), &mut Vec::new()).await.is_ok());
        }
        assert_eq!(ok, 2, "the API's limit");
        // The 8 calls the API refused left the group's cap alone: 3 more for the other API.
        for _ in 0..10 {
            ok += usize::from(t.check(&call(Some(&group), "y", &c, 1, false), &mut Vec::new()).await.is_ok());
        }
        assert_eq!(ok, 5);
        let e = t.check(&call(Some(&group), "y", &c, 1, false), &mut Vec::new()).await.unwrap_err();
        assert!(e.message.contains("group limit of 5 per 1 second"), "{}", e.message);
    }

    #[test]
    fn address_keys_are_the_dotted_form() {
        for ip in ["0.0.0.0", "1.20.255.100", "10.0.9.99", "255.255.255.255", "2001:db8::1"] {
            let mut key = String::new();
            CallerKey::Ip(ip.parse().unwrap()).append(&mut key);
            assert_eq!(key, format!(":{ip}"));
        }
    }
}
