//! Console sessions: a random id in an `HttpOnly`, `SameSite=Strict` cookie,
//! kept in this process for eight hours, each with its own CSRF token that
//! every form carries. A session holds who signed in, never the secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use causeway_admin::service::Principal;
use subtle::ConstantTimeEq;

/// The session cookie's name.
pub const COOKIE: &str = "causeway_session";
/// How long a session lasts.
pub const LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Most sessions kept at once (the oldest go first).
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    expires: Instant,
}

#[derive(Default)]
pub struct Sessions(Mutex<HashMap<String, Session>>);

/// 256 random bits as hex (two v4 UUIDs' random parts).
fn random_token() -> String {
    format!("{}{}", causeway_model::ids::new_id(), causeway_model::ids::new_id())
}

impl Sessions {
    /// A new session for `principal`: its id.
    pub fn open(&self, principal: Principal) -> String {
        let id = random_token();
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if all.len() >= MAX_SESSIONS {
            let now = Instant::now();
            all.retain(|_, s| s.expires > now);
            if all.len() >= MAX_SESSIONS
                && let Some(oldest) = all.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| k.clone())
            {
                all.remove(&oldest);
            }
        }
        all.insert(id.clone(), Session { principal, csrf: random_token(), expires: Instant::now() + LIFETIME });
        id
    }

    /// The live session of `id`.
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match all.get(id) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                all.remove(id);
                None
            }
            None => None,
        }
    }

    pub fn close(&self, id: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

impl Session {
    /// Whether a form's token is this session's (compared in constant time).
    pub fn csrf_ok(&self, given: &str) -> bool {
        !given.is_empty() && bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
}

/// The session id in a `Cookie` header.
pub fn cookie_id(header: &str) -> Option<&str> {
    header.split(';').map(str::trim).find_map(|c| c.strip_prefix(COOKIE).and_then(|v| v.strip_prefix('='))).filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value that starts a session (`Secure` over HTTPS).
pub fn set_cookie(id: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={id}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={}{secure}", LIFETIME.as_secs())
}

/// The `Set-Cookie` value that ends it.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::admin::AdminRole;

    #[test]
    fn sessions_open_close_and_check_their_token() {
        let s = Sessions::default();
        let id = s.open(Principal { name: "ops".into(), role: AdminRole::Viewer });
        assert_eq!(id.len(), 64);
        let session = s.get(&id).unwrap();
        assert!(session.csrf_ok(&session.csrf));
        assert!(!session.csrf_ok("") && !session.csrf_ok("nope"));
        assert_eq!(cookie_id(&format!("a=1; {COOKIE}={id}; b=2")), Some(id.as_str()));
        assert_eq!(cookie_id("causeway_sessionx=1"), None);
        s.close(&id);
        assert!(s.get(&id).is_none());
        assert!(set_cookie(&id, true).contains("HttpOnly; SameSite=Strict") && set_cookie(&id, true).ends_with("; Secure"));
    }
}
