//! Load-balance channels on the request path: each channel compiled to a
//! pool of members with their health, and the choice of a member per
//! request by the channel's strategy. Health lives in [`MemberState`]s kept
//! in a [`Health`] registry across snapshots, so a new snapshot (any
//! management change) neither forgets nor resets what checks found.
//!
//! A member is *usable* when it is healthy, or when it was ejected by
//! request failures alone (no active check) and its time out is over: the
//! next request tries it again. Backup members take requests only when no
//! other member is usable.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use causeway_model::channel::{Channel, HealthConfig, Strategy};
use rustc_hash::FxHashMap;

/// Consecutive request failures that eject a member when the channel has no active check.
const PASSIVE_THRESHOLD: u32 = 3;
/// How long a member ejected by request failures alone stays out.
const PASSIVE_TIMEOUT: Duration = Duration::from_secs(10);

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// One member's place and health, shared by every request and snapshot.
#[derive(Debug)]
pub struct MemberState {
    pub host: Box<str>,
    pub port: u16,
    /// `host:port`, the key of its idle connections.
    pub authority: Box<str>,
    healthy: AtomicBool,
    /// Requests in flight (for least connections).
    active: AtomicUsize,
    /// Consecutive failures (requests and checks alike).
    failures: AtomicU32,
    /// Consecutive successful checks while unhealthy.
    successes: AtomicU32,
    /// For an ejection by request failures alone: when it may be tried again (seconds since the epoch).
    retry_at_secs: AtomicU64,
    /// A check is running (checks never overlap).
    pub(crate) checking: AtomicBool,
    /// When the last check started (ms since the epoch).
    pub(crate) checked_at_ms: AtomicU64,
}

impl MemberState {
    fn new(host: &str, port: u16) -> Self {
        let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
        Self {
            host: host.into(),
            port,
            authority: authority.into(),
            healthy: AtomicBool::new(true),
            active: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            successes: AtomicU32::new(0),
            retry_at_secs: AtomicU64::new(0),
            checking: AtomicBool::new(false),
            checked_at_ms: AtomicU64::new(0),
        }
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    fn usable(&self, passive_only: bool, now_secs: u64) -> bool {
        self.is_healthy() || (passive_only && now_secs >= self.retry_at_secs.load(Ordering::Relaxed))
    }

    /// A request or check got an answer: a passively ejected member is back.
    pub fn succeeded(&self, threshold_normal: Option<u32>) {
        if self.failures.load(Ordering::Relaxed) != 0 {
            self.failures.store(0, Ordering::Relaxed);
        }
        if self.is_healthy() {
            return;
        }
        match threshold_normal {
            // Active checks readmit after their threshold.
            Some(n) => {
                if self.successes.fetch_add(1, Ordering::Relaxed) + 1 >= n {
                    self.readmit();
                }
            }
            None => self.readmit(),
        }
    }

    fn readmit(&self) {
        self.successes.store(0, Ordering::Relaxed);
        if !self.healthy.swap(true, Ordering::Relaxed) {
            tracing::info!(member = %self.authority, "load-balance member healthy again");
        }
    }

    /// A request could not reach the member, or a check failed.
    pub fn failed(&self, threshold_abnormal: u32, passive_only: bool) {
        self.successes.store(0, Ordering::Relaxed);
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= threshold_abnormal {
            if passive_only {
                self.retry_at_secs.store(now_secs() + PASSIVE_TIMEOUT.as_secs(), Ordering::Relaxed);
            }
            if self.healthy.swap(false, Ordering::Relaxed) {
                tracing::warn!(member = %self.authority, failures = n, "load-balance member unhealthy: taken out of rotation");
            }
        }
    }
}

/// Member states by channel id and `host:port`, kept across snapshots.
#[derive(Debug, Default)]
pub struct Health {
    states: Mutex<HashMap<(String, String), Arc<MemberState>>>,
}

impl Health {
    /// Whether this node finds the member healthy (`None`: not a member it serves).
    pub fn get(&self, channel: &str, authority: &str) -> Option<bool> {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.get(&(channel.to_string(), authority.to_string())).map(|s| s.is_healthy())
    }
}

#[derive(Debug)]
struct WeightedMember {
    state: Arc<MemberState>,
    weight: u32,
}

/// Members of one tier (primaries or backups) and their round-robin order.
#[derive(Debug, Default)]
struct Tier {
    members: Vec<WeightedMember>,
    /// Smooth weighted round-robin order: indexes into `members`, each as often as its weight.
    order: Vec<u16>,
}

impl Tier {
    fn new(members: Vec<WeightedMember>) -> Self {
        // nginx's smooth weighted round-robin, run once over a whole cycle.
        let total: i64 = members.iter().map(|m| i64::from(m.weight)).sum();
        let mut current = vec![0i64; members.len()];
        let mut order = Vec::with_capacity(total as usize);
        for _ in 0..total {
            let mut best = 0;
            for (i, m) in members.iter().enumerate() {
                current[i] += i64::from(m.weight);
                if current[i] > current[best] {
                    best = i;
                }
            }
            current[best] -= total;
            order.push(best as u16);
        }
        Self { members, order }
    }
}

/// What a strategy may look at.
pub struct PickInput<'a> {
    pub client_ip: IpAddr,
    pub path: &'a str,
    /// The request's clock (seconds since the epoch).
    pub now_secs: u64,
}

/// One channel, ready to serve.
#[derive(Debug)]
pub struct Pool {
    strategy: Strategy,
    primaries: Tier,
    backups: Tier,
    cursor: AtomicUsize,
    pub health: Option<HealthConfig>,
}

impl Pool {
    /// A pool of a backend's own weighted addresses (`host`, `port`, `weight`):
    /// round-robin, ejection by request failures only.
    pub fn of_addresses(addresses: &[(String, u16, u32)]) -> Self {
        let members = addresses.iter().map(|(host, port, weight)| WeightedMember { state: Arc::new(MemberState::new(host, *port)), weight: (*weight).max(1) }).collect();
        Pool {
            strategy: Strategy::RoundRobin,
            primaries: Tier::new(members),
            backups: Tier::default(),
            cursor: AtomicUsize::new(0),
            health: None,
        }
    }

    /// Whether only request failures eject members (no active check runs).
    pub fn passive_only(&self) -> bool {
        self.health.as_ref().is_none_or(|h| h.status != 1)
    }

    /// Failures that eject a member.
    pub fn threshold_abnormal(&self) -> u32 {
        match &self.health {
            Some(h) if h.status == 1 => h.threshold_abnormal,
            _ => PASSIVE_THRESHOLD,
        }
    }

    /// Successful checks that readmit a member; `None` when requests readmit it.
    pub fn threshold_normal(&self) -> Option<u32> {
        self.health.as_ref().filter(|h| h.status == 1).map(|h| h.threshold_normal)
    }

    /// Every member, primaries first.
    pub fn members(&self) -> impl Iterator<Item = &Arc<MemberState>> {
        self.primaries.members.iter().chain(&self.backups.members).map(|s| &s.state)
    }

    /// How many members the pool has, usable or not.
    pub fn len(&self) -> usize {
        self.primaries.members.len() + self.backups.members.len()
    }

    /// The member for a request, skipping `tried`; `None` when none is usable.
    pub fn pick(&self, facts: &PickInput<'_>, tried: &[&str]) -> Option<Arc<MemberState>> {
        let (passive, now) = (self.passive_only(), facts.now_secs);
        let ok = |s: &WeightedMember| s.state.usable(passive, now) && !tried.contains(&&*s.state.authority);
        self.pick_in(&self.primaries, facts, &ok).or_else(|| self.pick_in(&self.backups, facts, &ok))
    }

    fn pick_in(&self, tier: &Tier, facts: &PickInput<'_>, ok: &dyn Fn(&WeightedMember) -> bool) -> Option<Arc<MemberState>> {
        let n = tier.members.len();
        if n == 0 {
            return None;
        }
        let chosen = match self.strategy {
            Strategy::RoundRobin => {
                let len = tier.order.len();
                let start = self.cursor.fetch_add(1, Ordering::Relaxed) % len;
                (0..len).map(|k| &tier.members[tier.order[(start + k) % len] as usize]).find(|s| ok(s))
            }
            Strategy::LeastConnections => {
                // Fewest in flight per weight; ties go round in turn.
                let start = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
                let mut best: Option<&WeightedMember> = None;
                for s in (0..n).map(|k| &tier.members[(start + k) % n]).filter(|s| ok(s)) {
                    let load = |s: &WeightedMember| s.state.active.load(Ordering::Relaxed) as u64;
                    if best.is_none_or(|b| load(s) * u64::from(b.weight) < load(b) * u64::from(s.weight)) {
                        best = Some(s);
                    }
                }
                best
            }
            Strategy::SourceHash => rendezvous(tier, ok, |h| facts.client_ip.hash(h)),
            Strategy::UriHash => rendezvous(tier, ok, |h| facts.path.hash(h)),
        };
        chosen.map(|s| s.state.clone())
    }
}

/// Weighted rendezvous hashing: each key goes to the usable member with the
/// highest weighted score, so a key sticks to its member, and when a member
/// leaves only its keys move.
fn rendezvous<'t>(tier: &'t Tier, ok: &dyn Fn(&WeightedMember) -> bool, key: impl Fn(&mut std::collections::hash_map::DefaultHasher)) -> Option<&'t WeightedMember> {
    let mut best: Option<(&WeightedMember, f64)> = None;
    for s in tier.members.iter().filter(|s| ok(s)) {
        // DefaultHasher::new() has fixed keys: every node picks alike.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key(&mut h);
        s.state.authority.hash(&mut h);
        // A uniform value in (0, 1), then -w / ln(u).
        let u = ((h.finish() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let score = -f64::from(s.weight) / u.ln();
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((s, score));
        }
    }
    best.map(|(s, _)| s)
}

/// A request in flight on a member (for least connections); ends on drop.
pub struct Lease(Arc<MemberState>);

impl Lease {
    pub fn new(state: Arc<MemberState>) -> Self {
        state.active.fetch_add(1, Ordering::Relaxed);
        Self(state)
    }

    pub fn member(&self) -> &Arc<MemberState> {
        &self.0
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Every channel, by id.
#[derive(Debug, Default)]
pub struct Channels {
    by_id: FxHashMap<Box<str>, Arc<Pool>>,
}

impl Channels {
    /// Compiles the channels, taking each member's state from `health` (new members start healthy);
    /// states of members no channel has any more are dropped.
    pub fn build<'a>(channels: impl Iterator<Item = &'a Channel>, health: &Health) -> Self {
        let mut states = health.states.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept = HashMap::new();
        let mut by_id = FxHashMap::default();
        for ch in channels {
            let (mut primaries, mut backups) = (Vec::new(), Vec::new());
            // Weight 0 (a member group drained to 0) takes no new requests while
            // another member has weight; if none has, all share equally.
            let weighted = ch.members.iter().any(|m| m.status == 1 && ch.effective_weight(m) > 0);
            for m in ch.members.iter().filter(|m| m.status == 1 && (!weighted || ch.effective_weight(m) > 0)) {
                let port = m.port.unwrap_or(ch.port);
                let state = MemberState::new(&m.host, port);
                let key = (ch.id.clone(), state.authority.to_string());
                let state = states.get(&key).cloned().unwrap_or_else(|| Arc::new(state));
                kept.insert(key, state.clone());
                let slot = WeightedMember { state, weight: ch.effective_weight(m).max(1) };
                if m.is_backup { backups.push(slot) } else { primaries.push(slot) }
            }
            let pool = Pool {
                strategy: ch.balance_strategy,
                primaries: Tier::new(primaries),
                backups: Tier::new(backups),
                cursor: AtomicUsize::new(0),
                health: ch.vpc_health_config.clone(),
            };
            by_id.insert(ch.id.as_str().into(), Arc::new(pool));
        }
        *states = kept;
        Self { by_id }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Pool>> {
        self.by_id.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Pool>> {
        self.by_id.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::channel::Member;

    fn channel(strategy: Strategy, members: &[(&str, u32, bool)]) -> Channel {
        Channel {
            id: "ch".into(),
            name: "ch".into(),
            kind: 2,
            member_type: "ip".into(),
            port: 80,
            balance_strategy: strategy,
            vpc_health_config: None,
            members: members
                .iter()
                .map(|(host, weight, backup)| Member {
                    id: host.to_string(),
                    host: host.to_string(),
                    port: None,
                    weight: *weight,
                    is_backup: *backup,
                    status: 1,
                    instance_id: None,
                    instance_name: None,
                    member_group_id: None,
                    create_time: String::new(),
                })
                .collect(),
            member_groups: vec![],
            create_time: String::new(),
        }
    }

    fn facts(ip: &str, path: &'static str) -> PickInput<'static> {
        PickInput { client_ip: ip.parse().unwrap(), path, now_secs: now_secs() }
    }

    fn counts(pool: &Pool, n: usize, f: impl Fn(usize) -> PickInput<'static>) -> HashMap<String, usize> {
        let mut out = HashMap::new();
        for i in 0..n {
            *out.entry(pool.pick(&f(i), &[]).unwrap().authority.to_string()).or_default() += 1;
        }
        out
    }

    #[test]
    fn round_robin_follows_the_weights_exactly() {
        let health = Health::default();
        let ch = Channels::build([channel(Strategy::RoundRobin, &[("10.0.0.1", 5, false), ("10.0.0.2", 3, false), ("10.0.0.3", 2, false)])].iter(), &health);
        let pool = ch.get("ch").unwrap();
        let c = counts(pool, 1000, |_| facts("1.1.1.1", "/"));
        assert_eq!((c["10.0.0.1:80"], c["10.0.0.2:80"], c["10.0.0.3:80"]), (500, 300, 200));
        // Smooth: the heavy member is not picked five times in a row.
        let first: Vec<String> = (0..10).map(|_| pool.pick(&facts("1.1.1.1", "/"), &[]).unwrap().authority.to_string()).collect();
        assert!(first.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])), "{first:?}");
    }

    #[test]
    fn a_member_groups_weight_is_its_members_and_zero_drains_it() {
        use causeway_model::channel::MemberGroup;
        let group = |id: &str, weight: Option<u32>| MemberGroup { id: id.into(), name: id.into(), remark: None, weight, create_time: String::new(), update_time: String::new() };
        let mut ch = channel(Strategy::RoundRobin, &[("10.0.0.1", 50, false), ("10.0.0.2", 1, false), ("10.0.0.3", 7, false)]);
        ch.member_groups = vec![group("blue", Some(3)), group("green", Some(1))];
        ch.members[0].member_group_id = Some("blue".into());
        ch.members[1].member_group_id = Some("green".into());
        // The third is in no group: its own weight counts.
        let built = Channels::build([ch.clone()].iter(), &Health::default());
        let c = counts(built.get("ch").unwrap(), 1100, |_| facts("1.1.1.1", "/"));
        assert_eq!((c["10.0.0.1:80"], c["10.0.0.2:80"], c["10.0.0.3:80"]), (300, 100, 700));
        // Drained to 0: no new requests while others have weight.
        ch.member_groups[0].weight = Some(0);
        let built = Channels::build([ch.clone()].iter(), &Health::default());
        let c = counts(built.get("ch").unwrap(), 80, |_| facts("1.1.1.1", "/"));
        assert_eq!(c.get("10.0.0.1:80"), None, "{c:?}");
        assert_eq!(c["10.0.0.2:80"] + c["10.0.0.3:80"], 80);
        // A group without a weight leaves its members' own.
        ch.member_groups[0].weight = None;
        let built = Channels::build([ch].iter(), &Health::default());
        let c = counts(built.get("ch").unwrap(), 580, |_| facts("1.1.1.1", "/"));
        assert_eq!(c["10.0.0.1:80"], 500);
    }

    #[test]
    fn unhealthy_members_are_skipped_and_backups_stand_in() {
        let health = Health::default();
        let ch = Channels::build([channel(Strategy::RoundRobin, &[("10.0.0.1", 1, false), ("10.0.0.2", 1, false), ("10.0.0.9", 1, true)])].iter(), &health);
        let pool = ch.get("ch").unwrap();
        let c = counts(pool, 100, |_| facts("1.1.1.1", "/"));
        assert_eq!(c.get("10.0.0.9:80"), None, "backups wait");
        let one = pool.members().next().unwrap().clone();
        for _ in 0..PASSIVE_THRESHOLD {
            one.failed(pool.threshold_abnormal(), pool.passive_only());
        }
        assert!(!one.is_healthy());
        assert_eq!(counts(pool, 10, |_| facts("1.1.1.1", "/")), HashMap::from([("10.0.0.2:80".to_string(), 10)]));
        assert_eq!(pool.pick(&facts("1.1.1.1", "/"), &["10.0.0.2:80"]).unwrap().authority.as_ref(), "10.0.0.9:80", "tried members are skipped; then the backup");
        // Health survives a new snapshot.
        let again = Channels::build([channel(Strategy::RoundRobin, &[("10.0.0.1", 1, false), ("10.0.0.2", 1, false)])].iter(), &health);
        assert!(!again.get("ch").unwrap().members().next().unwrap().is_healthy());
        assert_eq!(health.get("ch", "10.0.0.1:80"), Some(false));
        assert_eq!(health.get("ch", "10.0.0.9:80"), None, "the removed backup is forgotten");
        // A request that gets through readmits a passively ejected member.
        one.succeeded(None);
        assert!(one.is_healthy());
    }

    #[test]
    fn hashes_stick_and_move_only_the_keys_of_a_member_that_leaves() {
        let health = Health::default();
        let members = [("10.0.0.1", 1, false), ("10.0.0.2", 1, false), ("10.0.0.3", 1, false)];
        let ch = Channels::build([channel(Strategy::SourceHash, &members)].iter(), &health);
        let pool = ch.get("ch").unwrap();
        let ip = |i: usize| format!("192.168.{}.{}", i / 250, i % 250);
        let before: Vec<String> = (0..3000).map(|i| pool.pick(&PickInput { client_ip: ip(i).parse().unwrap(), path: "/", now_secs: now_secs() }, &[]).unwrap().authority.to_string()).collect();
        let again: Vec<String> = (0..3000).map(|i| pool.pick(&PickInput { client_ip: ip(i).parse().unwrap(), path: "/", now_secs: now_secs() }, &[]).unwrap().authority.to_string()).collect();
        assert_eq!(before, again, "the same address goes to the same member");
        for m in ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"] {
            let n = before.iter().filter(|b| *b == m).count();
            assert!((800..1200).contains(&n), "{m}: {n} of 3000");
        }
        let gone = pool.members().nth(1).unwrap().clone();
        for _ in 0..PASSIVE_THRESHOLD {
            gone.failed(PASSIVE_THRESHOLD, true);
        }
        for (i, b) in before.iter().enumerate() {
            let now = pool.pick(&PickInput { client_ip: ip(i).parse().unwrap(), path: "/", now_secs: now_secs() }, &[]).unwrap().authority.to_string();
            if b != "10.0.0.2:80" {
                assert_eq!(&now, b, "keys of the members that stayed do not move");
            }
        }
        let uri = Channels::build([channel(Strategy::UriHash, &members)].iter(), &Health::default());
        let pool = uri.get("ch").unwrap();
        let a = pool.pick(&facts("1.1.1.1", "/items/1"), &[]).unwrap().authority.clone();
        assert!((0..20).all(|i| pool.pick(&facts(&format!("10.9.9.{i}"), "/items/1"), &[]).unwrap().authority == a), "the URI decides, not the caller");
    }

    #[test]
    fn least_connections_prefers_the_idle_member() {
        let health = Health::default();
        let ch = Channels::build([channel(Strategy::LeastConnections, &[("10.0.0.1", 1, false), ("10.0.0.2", 1, false)])].iter(), &health);
        let pool = ch.get("ch").unwrap();
        let busy = Lease::new(pool.pick(&facts("1.1.1.1", "/"), &[]).unwrap());
        let other = pool.pick(&facts("1.1.1.1", "/"), &[]).unwrap();
        assert_ne!(other.authority, busy.member().authority);
        let c = counts(pool, 10, |_| facts("1.1.1.1", "/"));
        assert_eq!(c.get(&*busy.member().authority), None, "{c:?}");
        drop(busy);
        assert_eq!(counts(pool, 10, |_| facts("1.1.1.1", "/")).len(), 2);
    }
}
