//! What an engine is given and answers: the limits one request is counted
//! against ([`Checks`]) and what was taken ([`Taken`]).

use std::future::Future;

/// The most limits one request is counted against.
pub const MAX_CHECKS: usize = 5;

/// One limit: a counter key, how many calls it allows, in windows of how many seconds.
#[derive(Debug, Clone, Copy, Default)]
struct Limit {
    key: (u32, u32),
    limit: u32,
    window_secs: u64,
}

/// The limits one request is counted against, their keys in one buffer.
#[derive(Debug, Default)]
pub struct Checks {
    keys: String,
    list: [Limit; MAX_CHECKS],
    len: usize,
}

impl Checks {
    pub fn with_capacity(key_bytes: usize) -> Self {
        Self { keys: String::with_capacity(key_bytes), ..Default::default() }
    }

    /// Adds a limit whose key `write_key` writes; ignored past [`MAX_CHECKS`].
    pub fn push(&mut self, limit: u32, window_secs: u64, write_key: impl FnOnce(&mut String)) {
        if self.len == MAX_CHECKS {
            debug_assert!(false, "more than {MAX_CHECKS} limits");
            return;
        }
        let start = self.keys.len() as u32;
        write_key(&mut self.keys);
        self.list[self.len] = Limit { key: (start, self.keys.len() as u32), limit, window_secs: window_secs.max(1) };
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&str, u32, u64)> {
        self.list[..self.len].iter().map(|c| (&self.keys[c.key.0 as usize..c.key.1 as usize], c.limit, c.window_secs))
    }
}

/// What an engine did with a request's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// One call taken from every limit; the calls each has left in its window.
    All([u32; MAX_CHECKS]),
    /// The limit at this index is used up; nothing was taken.
    Refused(usize),
}

/// An engine that counts calls against limits.
pub trait Limiter: Send + Sync {
    /// Takes one call from each limit of `checks`, or from none (see [`Taken`]).
    /// `now_secs` is this node's clock; an engine may keep its own.
    fn take(&self, checks: &Checks, now_secs: u64) -> impl Future<Output = Taken> + Send;
}

/// Checks of `(key, limit, window seconds)`, for tests.
#[cfg(test)]
pub(crate) fn checks(list: &[(&str, u32, u64)]) -> Checks {
    let mut c = Checks::default();
    for (key, limit, window) in list {
        c.push(*limit, *window, |k| k.push_str(key));
    }
    c
}
