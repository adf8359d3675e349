//! TLS towards backends: the public roots plus the operator's own CA, and
//! optionally a client certificate for backends that require two-way TLS
//! (`enable_client_ssl`).

use std::sync::Arc;

use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};

use crate::certificate::Certificate;

/// What the gateway trusts and presents towards backends.
#[derive(Debug, Default, Clone)]
pub struct UpstreamTrust {
    /// PEM certificates trusted besides the public roots (`--upstream-ca`).
    pub extra_roots_pem: Option<String>,
    /// The client certificate and key (`--upstream-client-cert`, `--upstream-client-key`).
    pub client_cert_pem: Option<(String, String)>,
}

/// Client configurations for backend connections, built once.
#[derive(Debug, Clone)]
pub struct UpstreamTls {
    /// Without a client certificate.
    pub plain: Arc<ClientConfig>,
    /// With the client certificate, when one is configured.
    pub with_client_cert: Option<Arc<ClientConfig>>,
}

impl UpstreamTls {
    pub fn new(trust: &UpstreamTrust) -> Result<Self, String> {
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(pem) = &trust.extra_roots_pem {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let cert = cert.map_err(|e| format!("the upstream CA file is not valid PEM: {e}"))?;
                roots.add(cert).map_err(|e| format!("the upstream CA file holds a certificate that cannot be a trust anchor: {e}"))?;
                added += 1;
            }
            if added == 0 {
                return Err("the upstream CA file holds no PEM certificate".into());
            }
        }
        let roots = Arc::new(roots);
        let builder = || ClientConfig::builder_with_provider(crate::provider()).with_safe_default_protocol_versions();
        let plain = builder().map_err(|e| e.to_string())?.with_root_certificates(roots.clone()).with_no_client_auth();
        let with_client_cert = match &trust.client_cert_pem {
            None => None,
            Some((chain, key)) => {
                let cert = Certificate::from_pem(chain, key).map_err(|e| format!("the upstream client certificate: {e}"))?;
                let config = builder()
                    .map_err(|e| e.to_string())?
                    .with_root_certificates(roots)
                    .with_client_auth_cert(cert.chain.clone(), cert.key_der())
                    .map_err(|e| format!("the upstream client certificate: {e}"))?;
                Some(Arc::new(config))
            }
        };
        Ok(Self { plain: Arc::new(plain), with_client_cert })
    }

    /// The configuration for a backend, with or without the client certificate, speaking `alpn`.
    pub fn config(&self, client_cert: bool, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, String> {
        let base = match (client_cert, &self.with_client_cert) {
            (false, _) => &self.plain,
            (true, Some(c)) => c,
            (true, None) => return Err("enable_client_ssl is set but the gateway has no client certificate (--upstream-client-cert)".into()),
        };
        if alpn.is_empty() {
            return Ok(base.clone());
        }
        let mut config = (**base).clone();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

/// Accepts any certificate: for health checks, which ask whether a member
/// answers, not whether to trust it (requests themselves verify).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls_pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A configuration that accepts any certificate: for health checks, and for
/// `causeway call -k`.
pub fn accept_any_config() -> Result<Arc<ClientConfig>, String> {
    let config = ClientConfig::builder_with_provider(crate::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(crate::provider())))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name a backend's certificate must carry.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string()).map_err(|e| format!("{host:?} is not a valid TLS server name: {e}"))
}
