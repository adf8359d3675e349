//! What a custom authorizer returned in its `context`: scalar values as
//! text, by key. Backend parameters (`$context.authorizer.frontend.<key>`),
//! backend policy conditions and gateway response templates read them.

/// What an authorizer returned in `context`: scalar values as text.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AuthContext {
    entries: Vec<(Box<str>, Box<str>)>,
}

impl AuthContext {
    pub fn new(entries: Vec<(Box<str>, Box<str>)>) -> Self {
        Self { entries }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
    }

    /// Its size in bytes, roughly, for the answer cache.
    pub fn weight(&self) -> usize {
        self.entries.iter().map(|(k, v)| k.len() + v.len() + 32).sum()
    }
}

