//! Certificates as operators upload them: PEM chain plus private key, parsed
//! once and checked the way the cloud gateways check uploads (key matches,
//! not expired, chain in order, names cover the domain).

use std::fmt;
use std::sync::Arc;

use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use x509_cert::der::Decode;

/// Largest PEM text accepted for a certificate chain or a key.
pub const MAX_PEM_BYTES: usize = 64 * 1024;
/// Most certificates in one chain.
pub const MAX_CHAIN: usize = 10;

/// Why an upload is refused; each maps to one documented `APIG.21xx` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// The private key is not the certificate's (`APIG.2101`).
    KeyMismatch,
    /// The certificate's validity has ended, or not begun (`APIG.2102`).
    Expired { not_after: String },
    /// No name of the certificate covers the domain (`APIG.2103`).
    NameMismatch { domain: String, names: Vec<String> },
    /// The chain's certificates do not issue one another in order (`APIG.2104`).
    ChainMismatch,
    /// The private key is encrypted with a passphrase (`APIG.2105`).
    EncryptedKey,
    /// Not a PEM certificate or key that can be used (`APIG.2106`).
    Invalid(String),
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::KeyMismatch => write!(f, "the private key does not belong to the certificate"),
            CertError::Expired { not_after } => write!(f, "the certificate is not valid now (valid until {not_after})"),
            CertError::NameMismatch { domain, names } => {
                write!(f, "the certificate's names ({}) do not cover {domain}", names.join(", "))
            }
            CertError::ChainMismatch => write!(f, "each certificate of the chain must be issued by the next one"),
            CertError::EncryptedKey => write!(f, "encrypted private keys are not supported: upload the key without a passphrase"),
            CertError::Invalid(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for CertError {}

/// A parsed certificate chain with its key.
#[derive(Debug)]
pub struct Certificate {
    pub chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// The subject's common name, if it has one.
    pub common_name: Option<String>,
    /// DNS names of the subject alternative names extension.
    pub names: Vec<String>,
    /// Validity, in seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
}

impl Certificate {
    /// Parses a PEM chain (leaf first) and a PEM private key (PKCS#8, PKCS#1 or
    /// SEC1), and checks that they belong together and that the chain is in order.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, CertError> {
        if chain_pem.len() > MAX_PEM_BYTES || key_pem.len() > MAX_PEM_BYTES {
            return Err(CertError::Invalid(format!("certificates and keys are limited to {MAX_PEM_BYTES} bytes")));
        }
        let chain = parse_chain(chain_pem)?;
        let key = parse_key(key_pem)?;
        let leaf = x509_cert::Certificate::from_der(&chain[0]).map_err(|e| CertError::Invalid(format!("the certificate cannot be read: {e}")))?;
        let validity = &leaf.tbs_certificate.validity;
        let not_before = validity.not_before.to_unix_duration().as_secs() as i64;
        let not_after = validity.not_after.to_unix_duration().as_secs() as i64;
        let common_name = common_name(&leaf.tbs_certificate.subject);
        let end_entity =
            webpki::EndEntityCert::try_from(&chain[0]).map_err(|e| CertError::Invalid(format!("the certificate cannot be used for TLS: {e:?}")))?;
        let names = end_entity.valid_dns_names().map(str::to_string).collect();
        check_chain_order(&chain)?;
        let cert = Certificate { chain, key, common_name, names, not_before, not_after };
        cert.certified_key()?;
        Ok(cert)
    }

    /// Whether the certificate is valid at `now` (seconds since the Unix epoch).
    pub fn check_validity(&self, now: i64) -> Result<(), CertError> {
        if now < self.not_before || now > self.not_after {
            return Err(CertError::Expired { not_after: rfc3339(self.not_after) });
        }
        Ok(())
    }

    /// Whether the certificate serves `domain`: a host name it is valid for,
    /// or for a wildcard domain (`*.example.com`) the same wildcard name.
    pub fn check_covers(&self, domain: &str) -> Result<(), CertError> {
        let domain = domain.to_ascii_lowercase();
        let covered = if domain.starts_with("*.") {
            self.names.iter().any(|n| n.eq_ignore_ascii_case(&domain))
        } else {
            match (ServerName::try_from(domain.as_str()), webpki::EndEntityCert::try_from(&self.chain[0])) {
                (Ok(name), Ok(cert)) => cert.verify_is_valid_for_subject_name(&name).is_ok(),
                _ => false,
            }
        };
        if covered {
            Ok(())
        } else {
            let mut names = self.names.clone();
            if names.is_empty() {
                names.extend(self.common_name.clone());
            }
            Err(CertError::NameMismatch { domain, names })
        }
    }

    /// The chain and key as rustls serves them.
    pub fn certified_key(&self) -> Result<Arc<CertifiedKey>, CertError> {
        let provider = crate::provider();
        let signing = provider
            .key_provider
            .load_private_key(self.key.clone_key())
            .map_err(|e| CertError::Invalid(format!("the private key cannot be used: {e}")))?;
        let certified = CertifiedKey::new(self.chain.clone(), signing);
        match certified.keys_match() {
            Ok(()) => Ok(Arc::new(certified)),
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(CertError::KeyMismatch),
            Err(e) => Err(CertError::Invalid(format!("the private key cannot be checked against the certificate: {e}"))),
        }
    }

    /// The private key.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The private key, PEM-encoded (to be sealed before it is stored).
    pub fn key_pem(&self) -> String {
        let (label, der): (&str, &[u8]) = match &self.key {
            PrivateKeyDer::Pkcs1(k) => ("RSA PRIVATE KEY", k.secret_pkcs1_der()),
            PrivateKeyDer::Sec1(k) => ("EC PRIVATE KEY", k.secret_sec1_der()),
            PrivateKeyDer::Pkcs8(k) => ("PRIVATE KEY", k.secret_pkcs8_der()),
            _ => ("PRIVATE KEY", &[]),
        };
        to_pem(label, der)
    }

    /// The chain, PEM-encoded.
    pub fn chain_pem(&self) -> String {
        self.chain.iter().map(|c| to_pem("CERTIFICATE", c)).collect()
    }

    /// The end of validity, RFC 3339 UTC.
    pub fn not_after_rfc3339(&self) -> String {
        rfc3339(self.not_after)
    }
}

fn parse_chain(pem: &str) -> Result<Vec<CertificateDer<'static>>, CertError> {
    let mut chain = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = item.map_err(|e| CertError::Invalid(format!("the certificate is not valid PEM: {e}")))?;
        chain.push(cert);
        if chain.len() > MAX_CHAIN {
            return Err(CertError::Invalid(format!("a chain holds at most {MAX_CHAIN} certificates")));
        }
    }
    if chain.is_empty() {
        return Err(CertError::Invalid("no PEM certificate (-----BEGIN CERTIFICATE-----) found".into()));
    }
    Ok(chain)
}

fn parse_key(pem: &str) -> Result<PrivateKeyDer<'static>, CertError> {
    // Sections in order; an encrypted key is its own PEM label.
    for item in <(SectionKind, Vec<u8>)>::pem_slice_iter(pem.as_bytes()) {
        let (kind, der) = item.map_err(|e| CertError::Invalid(format!("the private key is not valid PEM: {e}")))?;
        match kind {
            SectionKind::PrivateKey => return Ok(PrivateKeyDer::Pkcs8(der.into())),
            SectionKind::RsaPrivateKey => return Ok(PrivateKeyDer::Pkcs1(der.into())),
            SectionKind::EcPrivateKey => return Ok(PrivateKeyDer::Sec1(der.into())),
            _ => {}
        }
    }
    if pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(CertError::EncryptedKey);
    }
    Err(CertError::Invalid("no PEM private key (-----BEGIN PRIVATE KEY-----) found".into()))
}

/// Each certificate must be issued by the one after it.
fn check_chain_order(chain: &[CertificateDer<'static>]) -> Result<(), CertError> {
    let parsed: Vec<x509_cert::Certificate> = chain
        .iter()
        .map(|c| x509_cert::Certificate::from_der(c).map_err(|e| CertError::Invalid(format!("a certificate of the chain cannot be read: {e}"))))
        .collect::<Result<_, _>>()?;
    for pair in parsed.windows(2) {
        if pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject {
            return Err(CertError::ChainMismatch);
        }
    }
    Ok(())
}

fn common_name(name: &x509_cert::name::Name) -> Option<String> {
    const CN: x509_cert::der::asn1::ObjectIdentifier = x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.4.3");
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find(|atv| atv.oid == CN).and_then(|atv| {
        use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
        if let Ok(s) = Utf8StringRef::try_from(&atv.value) {
            return Some(s.as_str().to_string());
        }
        PrintableStringRef::try_from(&atv.value).ok().map(|s| s.as_str().to_string())
    })
}

/// DER as PEM text under `label` (`CERTIFICATE`, `PRIVATE KEY`, ...).
pub fn to_pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Seconds since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Issuer = rcgen::Issuer<'static, rcgen::KeyPair>;

    fn mint(names: &[&str], days: (i64, i64), issuer: Option<&Issuer>) -> (rcgen::Certificate, rcgen::KeyPair) {
        let mut params = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(days.0);
        params.not_after = now + time::Duration::days(days.1);
        params.distinguished_name.push(rcgen::DnType::CommonName, names.first().copied().unwrap_or("leaf"));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = match issuer {
            None => params.self_signed(&key).unwrap(),
            Some(issuer) => params.signed_by(&key, issuer).unwrap(),
        };
        (cert, key)
    }

    fn ca(name: &str) -> (rcgen::Certificate, Issuer) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert, rcgen::Issuer::new(params, key))
    }

    #[test]
    fn good_upload_parses_with_names_and_dates() {
        let (cert, key) = mint(&["api.example.com", "*.example.org"], (-1, 30), None);
        let c = Certificate::from_pem(&to_pem("CERTIFICATE", cert.der()), &to_pem("PRIVATE KEY", &key.serialize_der())).unwrap();
        assert_eq!(c.names, ["api.example.com", "*.example.org"]);
        assert_eq!(c.common_name.as_deref(), Some("api.example.com"));
        c.check_validity(now()).unwrap();
        c.check_covers("API.example.com").unwrap();
        c.check_covers("x.example.org").unwrap();
        c.check_covers("*.example.org").unwrap();
        assert!(matches!(c.check_covers("other.example.com"), Err(CertError::NameMismatch { .. })));
        assert!(matches!(c.check_covers("a.b.example.org"), Err(CertError::NameMismatch { .. })));
        // The key goes out and comes back the same.
        let again = Certificate::from_pem(&c.chain_pem(), &c.key_pem()).unwrap();
        assert_eq!(again.chain, c.chain);
    }

    #[test]
    fn refusals_carry_their_reason() {
        let (cert, key) = mint(&["api.example.com"], (-1, 30), None);
        let (_, other_key) = mint(&["api.example.com"], (-1, 30), None);
        assert_eq!(Certificate::from_pem(&to_pem("CERTIFICATE", cert.der()), &to_pem("PRIVATE KEY", &other_key.serialize_der())).unwrap_err(), CertError::KeyMismatch);
        let (old, old_key) = mint(&["api.example.com"], (-30, -1), None);
        let expired = Certificate::from_pem(&to_pem("CERTIFICATE", old.der()), &to_pem("PRIVATE KEY", &old_key.serialize_der())).unwrap();
        assert!(matches!(expired.check_validity(now()), Err(CertError::Expired { .. })));
        assert!(matches!(Certificate::from_pem("not pem", &to_pem("PRIVATE KEY", &key.serialize_der())), Err(CertError::Invalid(_))));
        assert!(matches!(Certificate::from_pem(&to_pem("CERTIFICATE", cert.der()), "not pem"), Err(CertError::Invalid(_))));
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(Certificate::from_pem(&to_pem("CERTIFICATE", cert.der()), encrypted).unwrap_err(), CertError::EncryptedKey);
        let huge = "x".repeat(MAX_PEM_BYTES + 1);
        assert!(matches!(Certificate::from_pem(&huge, &to_pem("PRIVATE KEY", &key.serialize_der())), Err(CertError::Invalid(_))));
    }

    #[test]
    fn chains_must_be_in_order() {
        let (ca_cert, issuer) = ca("Test CA");
        let (leaf, leaf_key) = mint(&["api.example.com"], (-1, 30), Some(&issuer));
        let in_order = format!("{}{}", to_pem("CERTIFICATE", leaf.der()), to_pem("CERTIFICATE", ca_cert.der()));
        let c = Certificate::from_pem(&in_order, &to_pem("PRIVATE KEY", &leaf_key.serialize_der())).unwrap();
        assert_eq!(c.chain.len(), 2);
        let (other_ca, _) = ca("Other CA");
        let wrong = format!("{}{}", to_pem("CERTIFICATE", leaf.der()), to_pem("CERTIFICATE", other_ca.der()));
        assert_eq!(Certificate::from_pem(&wrong, &to_pem("PRIVATE KEY", &leaf_key.serialize_der())).unwrap_err(), CertError::ChainMismatch);
    }
}
