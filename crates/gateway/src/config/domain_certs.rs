//! The certificates of bound domains, kept in the HTTPS listener's store:
//! rebuilt with each snapshot, each certificate parsed (and its key opened)
//! once, not on every rebuild.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_model::domain::Domain;
use causeway_tls::{CertStore, Certs, Sealer};
use rustls::sign::CertifiedKey;

/// What the watcher keeps to fill the listener's certificate store.
pub struct DomainCerts {
    store: Arc<CertStore>,
    sealer: Arc<Sealer>,
    /// The certificate for names no domain claims (the self-signed `*.<base-domain>` one by default).
    default: Option<Arc<CertifiedKey>>,
    default_without_sni: bool,
    /// Parsed certificates by certificate id (a replaced certificate gets a new id).
    parsed: HashMap<String, Arc<CertifiedKey>>,
}

impl DomainCerts {
    pub fn new(store: Arc<CertStore>, sealer: Arc<Sealer>, default: Option<Arc<CertifiedKey>>, default_without_sni: bool) -> Self {
        Self { store, sealer, default, default_without_sni, parsed: HashMap::new() }
    }

    /// Serves the certificates of `domains` from the next handshake on.
    pub fn update<'a>(&mut self, domains: impl Iterator<Item = &'a Domain>) {
        let mut certs = Certs::new(self.default.clone(), self.default_without_sni);
        let mut live = HashMap::new();
        for d in domains {
            let Some(c) = &d.certificate else { continue };
            let key = match self.parsed.get(&c.id) {
                Some(k) => k.clone(),
                None => match self.open(d) {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::error!(domain = %d.url_domain, certificate = %c.name, error = %e, "cannot serve the domain's certificate");
                        continue;
                    }
                },
            };
            certs.insert(&d.url_domain, key.clone());
            live.insert(c.id.clone(), key);
        }
        self.parsed = live;
        self.store.replace(certs);
    }

    fn open(&self, d: &Domain) -> Result<Arc<CertifiedKey>, String> {
        let c = d.certificate.as_ref().ok_or("no certificate")?;
        let key = self.sealer.open(&c.sealed_private_key)?;
        let key = String::from_utf8(key).map_err(|_| "the opened private key is not text")?;
        let cert = causeway_tls::Certificate::from_pem(&c.cert_content, &key).map_err(|e| e.to_string())?;
        cert.certified_key().map_err(|e| e.to_string())
    }
}
