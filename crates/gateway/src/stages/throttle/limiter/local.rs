//! The engine on one node: fixed windows aligned to the Unix epoch, one
//! counter per key in a table of fixed size allocated once, so memory stays
//! flat whatever callers do (a client spraying source addresses cannot grow
//! it). The table is set-associative: a key hashes (with a per-process
//! secret, so callers cannot aim at a bucket) to a bucket of four slots — one
//! cache line — and takes a free slot, a slot whose window is over, or the
//! slot with the fewest calls. Busy counters (an API's) survive any number of
//! one-call keys; an evicted idle key only forgets its count. Taking a call is
//! a few atomic operations on that line, with no lock and no allocation.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

use super::checks::{Checks, Limiter, MAX_CHECKS, Taken};

/// Slots in the table (2^20: 16 MiB, committed by the system as they are touched).
const SLOTS: usize = 1 << 20;
/// Slots per bucket: 4 × 16 bytes, one cache line.
const WAYS: usize = 4;

#[repr(C, align(16))]
struct Slot {
    /// The key's hash (never 0); 0 = free.
    key: AtomicU64,
    /// `window_end_secs << 32 | count`.
    value: AtomicU64,
}

pub struct Local {
    slots: Box<[Slot]>,
    hasher: foldhash::quality::RandomState,
}

impl Default for Local {
    fn default() -> Self {
        Self::with_capacity(SLOTS)
    }
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("slots", &self.slots.len()).finish()
    }
}

/// A table of free slots from zeroed memory: the system commits its pages
/// only as slots are used, so an idle table costs no resident memory.
fn zeroed_slots(n: usize) -> Box<[Slot]> {
    let Ok(layout) = std::alloc::Layout::array::<Slot>(n) else { return Box::default() };
    // SAFETY: a Slot is two AtomicU64s, for which all-zero bytes are a valid
    // value (0: a free slot). The allocation has the layout of `[Slot; n]`,
    // is checked for failure, and is owned (and freed) by the returned box.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<Slot>();
        if ptr.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, n))
    }
}

fn pack(end: u64, count: u64) -> u64 {
    (end << 32) | (count & 0xFFFF_FFFF)
}

impl Local {
    /// A table of at least `slots` slots (rounded up to a power of two buckets).
    pub fn with_capacity(slots: usize) -> Self {
        let buckets = slots.clamp(WAYS, 1 << 28).div_ceil(WAYS).next_power_of_two();
        Self { slots: zeroed_slots(buckets * WAYS), hasher: foldhash::quality::RandomState::default() }
    }

    /// How many slots hold a key.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.key.load(Ordering::Relaxed) != 0).count()
    }

    /// The slot of `key`, claiming one in its bucket if it has none.
    fn slot(&self, key: &str, now_secs: u64) -> usize {
        let h = self.hasher.hash_one(key) | 1;
        let buckets = self.slots.len() / WAYS;
        let first = ((h >> 32) as usize & (buckets - 1)) * WAYS;
        let bucket = &self.slots[first..first + WAYS];
        if let Some(i) = bucket.iter().position(|s| s.key.load(Ordering::Relaxed) == h) {
            return first + i;
        }
        // A free slot, else one whose window is over, else the one with the fewest calls.
        let rank = |s: &Slot| {
            let (key, value) = (s.key.load(Ordering::Relaxed), s.value.load(Ordering::Relaxed));
            if key == 0 {
                0
            } else if value >> 32 <= now_secs {
                1
            } else {
                2 + (value & 0xFFFF_FFFF)
            }
        };
        let victim = (0..WAYS).min_by_key(|&i| rank(&bucket[i])).unwrap_or(0);
        let slot = &bucket[victim];
        // The window end 0 means "over": the new key starts from nothing.
        slot.value.store(0, Ordering::Relaxed);
        slot.key.store(h, Ordering::Relaxed);
        first + victim
    }

    /// Takes the calls now (this engine never waits).
    pub fn take_now(&self, checks: &Checks, now_secs: u64) -> Taken {
        let mut taken: [Option<(usize, u64)>; MAX_CHECKS] = [None; MAX_CHECKS];
        let mut left = [0; MAX_CHECKS];
        for (i, (key, limit, window_secs)) in checks.iter().enumerate() {
            let slot = self.slot(key, now_secs);
            let end = (now_secs / window_secs + 1).saturating_mul(window_secs);
            match take(&self.slots[slot].value, end, limit) {
                Some(l) => {
                    left[i] = l;
                    taken[i] = Some((slot, end));
                }
                None => {
                    for (slot, end) in taken.iter().flatten() {
                        give_back(&self.slots[*slot].value, *end);
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

/// Takes one call in the window ending at `end` if fewer than `limit` were taken: the calls left, or `None`.
fn take(counter: &AtomicU64, end: u64, limit: u32) -> Option<u32> {
    let end = end & 0xFFFF_FFFF;
    let mut current = counter.load(Ordering::Relaxed);
    loop {
        let (e, n) = (current >> 32, current & 0xFFFF_FFFF);
        let used = if e == end { n } else { 0 };
        if used >= u64::from(limit) {
            return None;
        }
        match counter.compare_exchange_weak(current, pack(end, used + 1), Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return Some(limit - used as u32 - 1),
            Err(seen) => current = seen,
        }
    }
}

/// Gives back a call taken in the window ending at `end` (another limit refused the request).
fn give_back(counter: &AtomicU64, end: u64) {
    let end = end & 0xFFFF_FFFF;
    let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |c| (c >> 32 == end && c & 0xFFFF_FFFF > 0).then(|| c - 1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::throttle::limiter::checks::checks;

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
    fn busy_counters_survive_a_spray_of_one_call_keys() {
        // A small table, sprayed with 50 times its size in distinct keys.
        const SLOTS: usize = 4096;
        let l = Local::with_capacity(SLOTS);
        let api = checks(&[("api", 1_000_000, 3600)]);
        for _ in 0..100 {
            assert!(matches!(l.take_now(&api, 10), Taken::All(_)));
        }
        for i in 0..(SLOTS * 50) {
            let _ = l.take_now(&checks(&[(&format!("ip:{i}"), 1, 3600)]), 10);
        }
        assert_eq!(l.take_now(&api, 10), Taken::All([1_000_000 - 101, 0, 0, 0, 0]), "the API's count is intact");
        assert!(l.len() <= SLOTS);
    }
}
