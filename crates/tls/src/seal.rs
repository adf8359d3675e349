//! Private keys at rest: sealed with AES-256-GCM under the installation's
//! secret key, so a copy of the store alone does not give them away.
//!
//! The secret key comes from `CAUSEWAY_SECRET_KEY` (any text of 16 or more
//! characters; its SHA-256 is the key), else from `secret-key` in the data
//! directory, created on first start (mode 0600). Nodes that share a store
//! must share the secret key.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sha2::{Digest, Sha256};

pub const SECRET_KEY_FILE: &str = "secret-key";
/// Prefix of sealed values, naming the scheme so it can change later.
const PREFIX: &str = "v1:";

/// Where the secret key came from, for the start-up log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File,
    Generated,
}

/// Seals and opens secrets with the installation's key.
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer whose key is the SHA-256 of `secret`.
    pub fn from_secret(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        // A 32-byte key is always valid for AES-256-GCM.
        let key = UnboundKey::new(&AES_256_GCM, &digest).map(LessSafeKey::new).unwrap_or_else(|_| unreachable!("32-byte AES key"));
        Self { key, rng: SystemRandom::new() }
    }

    /// The key from `CAUSEWAY_SECRET_KEY`, else the data directory's file, else a new one there.
    pub fn load_or_create(data_dir: &Path) -> Result<(Self, KeySource), String> {
        if let Ok(secret) = std::env::var("CAUSEWAY_SECRET_KEY") {
            let secret = secret.trim();
            if secret.len() < 16 {
                return Err("CAUSEWAY_SECRET_KEY must be at least 16 characters".into());
            }
            return Ok((Self::from_secret(secret), KeySource::Environment));
        }
        let path = data_dir.join(SECRET_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) if t.trim().len() >= 16 => return Ok((Self::from_secret(t.trim()), KeySource::File)),
            Ok(_) => return Err(format!("{} holds no usable secret key (16 or more characters)", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        }
        let secret = new_secret()?;
        write_secret_file(&path, &secret)?;
        Ok((Self::from_secret(&secret), KeySource::Generated))
    }

    /// The key in use, without creating one: `CAUSEWAY_SECRET_KEY`, else the data directory's file.
    pub fn load_existing(data_dir: &Path) -> Result<(Self, KeySource), String> {
        let from_env = std::env::var("CAUSEWAY_SECRET_KEY").is_ok();
        if !from_env && !data_dir.join(SECRET_KEY_FILE).exists() {
            return Err(format!("no secret key: neither CAUSEWAY_SECRET_KEY nor {}", data_dir.join(SECRET_KEY_FILE).display()));
        }
        Self::load_or_create(data_dir)
    }
}

/// A new random secret key (64 hex digits).
pub fn new_secret() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).map_err(|_| "the system's random number generator failed".to_string())?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes a secret key to a new file readable by its owner only, flushed to disk.
pub fn write_secret_file(path: &Path, secret: &str) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(secret.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    file.sync_all().map_err(|e| format!("cannot write {}: {e}", path.display()))
}

impl Sealer {
    /// `plain` sealed: `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, plain: &[u8]) -> Result<String, String> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| "the system's random number generator failed".to_string())?;
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
            .map_err(|_| "cannot seal the secret".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", STANDARD.encode(out)))
    }

    /// The plain text of a sealed value; an error if another key sealed it or it was altered.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, String> {
        let b64 = sealed.strip_prefix(PREFIX).ok_or("not a sealed value")?;
        let raw = STANDARD.decode(b64).map_err(|_| "a sealed value that is not base64")?;
        if raw.len() < NONCE_LEN {
            return Err("a sealed value too short".into());
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "a sealed value with a bad nonce")?;
        let mut data = data.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| "cannot open a sealed secret: it was sealed with another secret key (CAUSEWAY_SECRET_KEY or the data directory's secret-key), or altered")?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_same_key_only() {
        let a = Sealer::from_secret("a-secret-of-sixteen+");
        let sealed = a.seal(b"private key").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("private"));
        assert_eq!(a.open(&sealed).unwrap(), b"private key");
        // A fresh nonce each time.
        assert_ne!(a.seal(b"private key").unwrap(), sealed);
        let b = Sealer::from_secret("another-secret-of-16");
        assert!(b.open(&sealed).unwrap_err().contains("another secret key"));
        let mut altered = sealed.clone();
        altered.pop();
        altered.push('A');
        assert!(a.open(&altered).is_err());
        assert!(a.open("plain").is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        // The environment variable would take precedence; tests run without it.
        if std::env::var_os("CAUSEWAY_SECRET_KEY").is_some() {
            return;
        }
        let (first, source) = Sealer::load_or_create(dir.path()).unwrap();
        assert_eq!(source, KeySource::Generated);
        let sealed = first.seal(b"x").unwrap();
        let (second, source) = Sealer::load_or_create(dir.path()).unwrap();
        assert_eq!(source, KeySource::File);
        assert_eq!(second.open(&sealed).unwrap(), b"x");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(SECRET_KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
