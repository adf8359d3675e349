//! The certificates the TLS listener serves, chosen per handshake by the
//! name the client asks for (SNI): the exact name, then a wildcard one label
//! up, then the default certificate. The set is swapped atomically when
//! domains or certificates change; handshakes in progress keep the set they
//! started with, and open connections are not touched.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// One set of served certificates.
#[derive(Debug, Default, Clone)]
pub struct Certs {
    /// By lower-case host name.
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// By the lower-case parent of a wildcard (`*.example.com` → `example.com`).
    wildcard: HashMap<String, Arc<CertifiedKey>>,
    /// For names no certificate claims.
    default: Option<Arc<CertifiedKey>>,
    /// Whether a handshake without SNI gets the default certificate (else it is refused).
    default_without_sni: bool,
}

impl Certs {
    pub fn new(default: Option<Arc<CertifiedKey>>, default_without_sni: bool) -> Self {
        Self { default, default_without_sni, ..Default::default() }
    }

    /// Serves `key` for `name` (`host.example.com` or `*.example.com`).
    pub fn insert(&mut self, name: &str, key: Arc<CertifiedKey>) {
        let name = name.to_ascii_lowercase();
        match name.strip_prefix("*.") {
            Some(parent) => self.wildcard.insert(parent.to_string(), key),
            None => self.exact.insert(name, key),
        };
    }

    /// The certificate for a handshake that asked for `sni`.
    pub fn choose(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = sni else {
            return if self.default_without_sni { self.default.clone() } else { None };
        };
        let lower;
        let name = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            lower = name.to_ascii_lowercase();
            lower.as_str()
        } else {
            name
        };
        if let Some(k) = self.exact.get(name) {
            return Some(k.clone());
        }
        if let Some((_, parent)) = name.split_once('.')
            && let Some(k) = self.wildcard.get(parent)
        {
            return Some(k.clone());
        }
        self.default.clone()
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.wildcard.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The swappable set, shared by every TLS listener thread.
#[derive(Debug, Default)]
pub struct CertStore {
    current: ArcSwap<Certs>,
}

impl CertStore {
    pub fn new(certs: Certs) -> Arc<Self> {
        Arc::new(Self { current: ArcSwap::from_pointee(certs) })
    }

    /// Serves `certs` from the next handshake on.
    pub fn replace(&self, certs: Certs) {
        self.current.store(Arc::new(certs));
    }

    pub fn current(&self) -> Arc<Certs> {
        self.current.load_full()
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let chosen = self.current.load().choose(hello.server_name());
        if chosen.is_none() {
            tracing::debug!(sni = ?hello.server_name(), "TLS handshake refused: no server name (SNI) or no certificate for it");
        }
        chosen
    }
}

/// The listener's configuration: certificates from `store`, HTTP/2 or HTTP/1.1 by ALPN.
pub fn server_config(store: Arc<CertStore>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let mut config = rustls::ServerConfig::builder_with_provider(crate::provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // Resumption without a full handshake, across the listener threads.
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::self_signed;

    fn key(name: &str) -> Arc<CertifiedKey> {
        self_signed::generate(&[name.to_string()]).unwrap().certified_key().unwrap()
    }

    #[test]
    fn exact_then_wildcard_then_default() {
        let (a, w, d) = (key("a.example.com"), key("*.example.com"), key("default.test"));
        let mut certs = Certs::new(Some(d.clone()), false);
        certs.insert("A.example.com", a.clone());
        certs.insert("*.example.com", w.clone());
        let pick = |sni: Option<&str>| certs.choose(sni).map(|k| Arc::as_ptr(&k));
        assert_eq!(pick(Some("a.example.com")), Some(Arc::as_ptr(&a)));
        assert_eq!(pick(Some("B.Example.com")), Some(Arc::as_ptr(&w)), "names compare without case");
        assert_eq!(pick(Some("b.example.com")), Some(Arc::as_ptr(&w)));
        // A wildcard covers one label only.
        assert_eq!(pick(Some("x.b.example.com")), Some(Arc::as_ptr(&d)));
        assert_eq!(pick(Some("example.com")), Some(Arc::as_ptr(&d)));
        assert_eq!(pick(None), None);
        let lenient = Certs { default_without_sni: true, ..certs.clone() };
        assert_eq!(lenient.choose(None).map(|k| Arc::as_ptr(&k)), Some(Arc::as_ptr(&d)));
    }
}
