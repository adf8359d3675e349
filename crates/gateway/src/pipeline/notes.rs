//! What the pipeline notes as it goes, for debug calls: the pipeline is
//! generic over [`Notes`], so on the listeners' path ([`Silent`]) a note is
//! no code at all, and a debug call ([`Steps`]) keeps every step.

use std::sync::Mutex;

pub trait Notes: Sync {
    /// Notes a step; `what` runs only when the steps are kept.
    fn note(&self, what: impl FnOnce() -> String);
}

/// The listeners' requests: nothing noted.
pub struct Silent;

impl Notes for Silent {
    #[inline(always)]
    fn note(&self, _what: impl FnOnce() -> String) {}
}

/// A debug call's steps, in order.
#[derive(Default)]
pub struct Steps(Mutex<Vec<String>>);

impl Steps {
    pub fn taken(&self) -> Vec<String> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Notes for Steps {
    fn note(&self, what: impl FnOnce() -> String) {
        if let Ok(mut steps) = self.0.lock() {
            steps.push(what());
        }
    }
}
