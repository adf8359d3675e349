//! TLS for Causeway: the certificates operators upload (parsed, checked and
//! sealed at rest), the SNI certificate store the HTTPS listener serves from,
//! the self-signed default certificate, and client configurations for
//! backends. Cryptography is rustls with the `ring` provider only.

pub mod certificate;
pub mod client;
pub mod seal;
pub mod self_signed;
pub mod store;

use std::sync::Arc;

pub use certificate::{CertError, Certificate};
pub use client::{UpstreamTls, UpstreamTrust};
pub use seal::Sealer;
pub use store::{CertStore, Certs};

/// The one cryptography provider (`ring`), for every configuration we build.
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<Arc<rustls::crypto::CryptoProvider>> = std::sync::OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}
