//! The default certificate: on first start, a self-signed certificate for the
//! groups' subdomains (`*.<base-domain>`) is created in the data directory, so
//! HTTPS works out of the box (`curl -k`). Operators replace it by putting
//! their own `default.crt` / `default.key` there.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::certificate::{Certificate, to_pem};

pub const DIR: &str = "tls";
pub const CERT_FILE: &str = "default.crt";
pub const KEY_FILE: &str = "default.key";
/// How long a generated certificate is valid.
const VALID_DAYS: i64 = 3650;

/// A new self-signed certificate (ECDSA P-256) for `names`.
pub fn generate(names: &[String]) -> Result<Certificate, String> {
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(|e| format!("cannot make a certificate for {names:?}: {e}"))?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(VALID_DAYS);
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(rcgen::DnType::CommonName, names.first().cloned().unwrap_or_default());
    dn.push(rcgen::DnType::OrganizationName, "Causeway self-signed");
    params.distinguished_name = dn;
    let key = rcgen::KeyPair::generate().map_err(|e| format!("cannot generate a key: {e}"))?;
    let cert = params.self_signed(&key).map_err(|e| format!("cannot sign the certificate: {e}"))?;
    Certificate::from_pem(&to_pem("CERTIFICATE", cert.der()), &to_pem("PRIVATE KEY", &key.serialize_der())).map_err(|e| e.to_string())
}

/// What `load_or_create` found.
pub struct Default {
    pub certificate: Certificate,
    pub cert_path: PathBuf,
    /// Whether it was created just now.
    pub created: bool,
}

/// The data directory's default certificate, created for `*.<base_domain>` if there is none.
pub fn load_or_create(data_dir: &Path, base_domain: &str) -> Result<Default, String> {
    let dir = data_dir.join(DIR);
    let (cert_path, key_path) = (dir.join(CERT_FILE), dir.join(KEY_FILE));
    if cert_path.exists() || key_path.exists() {
        let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let certificate = Certificate::from_pem(&read(&cert_path)?, &read(&key_path)?)
            .map_err(|e| format!("{} / {}: {e}", cert_path.display(), key_path.display()))?;
        return Ok(Default { certificate, cert_path, created: false });
    }
    let names = vec![format!("*.{base_domain}"), base_domain.to_string(), "localhost".to_string()];
    let certificate = generate(&names)?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    write(&key_path, &certificate.key_pem(), 0o600)?;
    write(&cert_path, &certificate.chain_pem(), 0o644)?;
    Ok(Default { certificate, cert_path, created: true })
}

fn write(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path(), "apigw.localhost").unwrap();
        assert!(first.created);
        assert!(first.certificate.names.contains(&"*.apigw.localhost".to_string()));
        first.certificate.check_covers("0123.apigw.localhost").unwrap();
        first.certificate.check_validity(crate::certificate::now()).unwrap();
        let again = load_or_create(dir.path(), "apigw.localhost").unwrap();
        assert!(!again.created);
        assert_eq!(again.certificate.chain, first.certificate.chain);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(DIR).join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
