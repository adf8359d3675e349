//! The engine on one node: fixed windows aligned to the Unix epoch, one
//! counter per key. A counter is one atomic word holding its window and its
//! count, so taking a call takes no lock once the counter is found; counters
//! live in a cache bounded in entries (idle keys go first), so a client
//! spraying keys (source addresses) cannot grow it without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{Checks, Limiter, MAX_CHECKS, Taken};

/// Counters kept per node: one per key seen in its window.
const COUNTERS: usize = 1 << 20;

pub struct Local {
    cache: quick_cache::sync::Cache<String, Arc<AtomicU64>>,
}

impl Default for Local {
    fn default() -> Self {
        Self::with_capacity(COUNTERS)
    }
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("keys", &self.cache.len()).finish()
    }
}

/// `window << 32 | count` in one word.
fn pack(window: u64, count: u64) -> u64 {
    (window << 32) | (count & 0xFFFF_FFFF)
}

impl Local {
    pub fn with_capacity(keys: usize) -> Self {
        Self { cache: quick_cache::sync::Cache::new(keys) }
    }

    /// How many counters are kept.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
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

    /// Takes the calls now (this engine never waits).
    pub fn take_now(&self, checks: &Checks, now_secs: u64) -> Taken {
        let mut taken: [Option<(Arc<AtomicU64>, u64)>; MAX_CHECKS] = Default::default();
        let mut left = [0; MAX_CHECKS];
        for (i, (key, limit, window_secs)) in checks.iter().enumerate() {
            let counter = self.counter(key);
            let window = now_secs / window_secs;
            match take(&counter, window, limit) {
                Some(l) => {
                    left[i] = l;
                    taken[i] = Some((counter, window));
                }
                None => {
                    for (counter, window) in taken.iter().flatten() {
                        give_back(counter, *window);
                    }
                    return Taken::Refused(i);
                }
            }
        }
        Taken::All(left)
    }
}

impl Limiter for Local {
    fn take(&self, checks: &Checks, now_secs: u64) -> impl Future<Output = Taken> + Send {
        std::future::ready(self.take_now(checks, now_secs))
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
    let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| (c >> 32 == window && c & 0xFFFF_FFFF > 0).then(|| c - 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(list: &[(&str, u32, u64)]) -> Checks {
        let mut c = Checks::default();
        for (key, limit, window) in list {
            c.push(*limit, *window, |k| k.push_str(key));
        }
        c
    }

    #[test]
    fn takes_from_all_or_from_none() {
        let l = Local::default();
        let both = checks(&[("a", 3, 1), ("b", 5, 1)]);
        assert_eq!(l.take_now(&both, 10), Taken::All([2, 4, 0, 0, 0]));
        assert_eq!(l.take_now(&both, 10), Taken::All([1, 3, 0, 0, 0]));
        assert_eq!(l.take_now(&both, 10), Taken::All([0, 2, 0, 0, 0]));
        assert_eq!(l.take_now(&both, 10), Taken::Refused(0));
        // b gave nothing to the refused call: 2 left.
        assert_eq!(l.take_now(&checks(&[("b", 5, 1)]), 10), Taken::All([1, 0, 0, 0, 0]));
        let reversed = checks(&[("c", 9, 1), ("a", 3, 1)]);
        assert_eq!(l.take_now(&reversed, 10), Taken::Refused(1));
        assert_eq!(l.take_now(&checks(&[("c", 9, 1)]), 10), Taken::All([8, 0, 0, 0, 0]), "c gave back what the refused call took");
        // A new window starts afresh; windows are per check.
        assert_eq!(l.take_now(&both, 11), Taken::All([2, 4, 0, 0, 0]));
        assert_eq!(l.take_now(&checks(&[("m", 1, 60)]), 60), Taken::All([0, 0, 0, 0, 0]));
        assert_eq!(l.take_now(&checks(&[("m", 1, 60)]), 119), Taken::Refused(0));
        assert_eq!(l.take_now(&checks(&[("m", 1, 60)]), 120), Taken::All([0, 0, 0, 0, 0]));
    }

    #[test]
    fn counters_are_bounded() {
        const KEYS: usize = 10_000;
        let l = Local::with_capacity(KEYS);
        for i in 0..(KEYS * 10) {
            let _ = l.take_now(&checks(&[(&format!("ip:{i}"), 1, 1)]), 1);
        }
        assert!(l.len() <= KEYS + KEYS / 8, "{} counters", l.len());
    }
}
