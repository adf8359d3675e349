//! Which connections are taken: at most so many on the node (over every
//! listener and worker thread) and from one client address. A connection
//! over a cap is closed at once, before any byte is read, and counted.
//! This runs once per connection, never per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::AcqRel;
use std::sync::{Arc, Mutex};

use crate::observe::metrics;

/// The connection counts of a node, shared by its listener threads.
#[derive(Debug, Default)]
pub struct Admission {
    max: usize,
    max_per_address: usize,
    open: AtomicUsize,
    /// Open connections by client address (only with a per-address cap).
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// An open connection's place in the counts, given back when it is dropped.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    /// Counted under its address too.
    address: Option<IpAddr>,
    /// Counted as an open connection in the metrics.
    opened: bool,
}

impl Admission {
    /// Caps of 0 mean no cap.
    pub fn new(max: usize, max_per_address: usize) -> Arc<Self> {
        Arc::new(Self { max, max_per_address, ..Self::default() })
    }

    /// A slot for a connection from `ip`, or `None` when a cap is reached.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let open = self.open.fetch_add(1, AcqRel);
        if self.max > 0 && open >= self.max {
            self.open.fetch_sub(1, AcqRel);
            metrics::refused(metrics::Refusal::NodeCap);
            return None;
        }
        let mut slot = Slot { admission: self.clone(), address: None, opened: false };
        if self.max_per_address > 0 {
            let mut by_address = self.by_address.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = by_address.entry(ip).or_default();
            if *count >= self.max_per_address {
                drop(by_address);
                metrics::refused(metrics::Refusal::AddressCap);
                return None; // the slot's drop gives the node count back
            }
            *count += 1;
            slot.address = Some(ip);
        }
        metrics::connection_opened();
        slot.opened = true;
        Some(slot)
    }

    /// Connections open now.
    #[cfg(test)]
    fn open(&self) -> usize {
        self.open.load(std::sync::atomic::Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(ip) = self.address {
            let mut by_address = self.admission.by_address.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(count) = by_address.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    by_address.remove(&ip);
                }
            }
        }
        if self.opened {
            metrics::connection_closed();
        }
        self.admission.open.fetch_sub(1, AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caps_hold_and_closed_connections_free_their_place() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let admission = Admission::new(3, 2);
        let a1 = admission.admit(a).unwrap();
        let _a2 = admission.admit(a).unwrap();
        assert!(admission.admit(a).is_none(), "a third from one address");
        let _b1 = admission.admit(b).unwrap();
        assert!(admission.admit(b).is_none(), "a fourth on the node");
        assert_eq!(admission.open(), 3);
        drop(a1);
        assert_eq!(admission.open(), 2);
        let _a3 = admission.admit(a).unwrap();
        assert_eq!(admission.by_address.lock().unwrap().get(&a), Some(&2));
    }

    #[test]
    fn zero_is_no_cap() {
        let admission = Admission::new(0, 0);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let slots: Vec<_> = (0..100).map(|_| admission.admit(ip).unwrap()).collect();
        assert_eq!(admission.open(), 100);
        drop(slots);
        assert_eq!(admission.open(), 0);
    }
}
