//! What the pipeline notes as it goes, for debug calls. A connection of a
//! debug call carries [`Steps`]; on every other connection a note is one
//! test of an empty option, and what a note says is built out of line
//! (cold), so the request path's code stays as it was.

use std::sync::Mutex;

/// A debug call's steps, in order.
#[derive(Debug, Default)]
pub struct Steps(Mutex<Vec<String>>);

impl Steps {
    pub fn taken(&self) -> Vec<String> {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn push_with(&self, what: &mut dyn FnMut() -> Option<String>) {
        if let (Some(step), Ok(mut steps)) = (what(), self.0.lock()) {
            steps.push(step);
        }
    }
}
