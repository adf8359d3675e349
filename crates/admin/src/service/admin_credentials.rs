//! Named admin credentials: created, listed, changed, rotated and revoked
//! without a restart. A token is stored as its SHA-256 (found by it, never
//! read back); an access key's secret is sealed with the installation's
//! secret key. A secret is shown once, in the answer that issues it.

use causeway_model::admin::{AdminCredential, AdminCredentialInput, AdminRole, CredentialType};
use causeway_model::app::generate;
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_sign::sdk::sha256_hex;
use causeway_store::NewDocument;
use serde::Serialize;

use super::tx::Tx;
use super::{Page, Paging, Service, c, encode, text_matches};

/// A credential as the API shows it (no secret, sealed or hashed).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialView {
    pub id: String,
    pub name: String,
    pub role: AdminRole,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    pub remark: String,
    pub create_time: String,
    pub update_time: String,
    pub secret_time: String,
}

/// A credential with the secret just issued: the only time it is shown.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedCredential {
    #[serde(flatten)]
    pub credential: CredentialView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
}

/// Who a presented credential is.
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: AdminRole,
}

#[derive(Debug, Clone, Default)]
pub struct CredentialFilter {
    pub name: Option<String>,
    pub precise_name: bool,
    pub role: Option<String>,
    pub paging: Paging,
}

fn view(k: &AdminCredential) -> CredentialView {
    CredentialView {
        id: k.id.clone(),
        name: k.name.clone(),
        role: k.role,
        credential_type: k.credential_type,
        access_key: k.access_key.clone(),
        remark: k.remark.clone(),
        create_time: k.create_time.clone(),
        update_time: k.update_time.clone(),
        secret_time: k.secret_time.clone(),
    }
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

fn token_key(sha256: &str) -> String {
    format!("token:{sha256}")
}

fn access_key_key(ak: &str) -> String {
    format!("ak:{ak}")
}

fn not_found() -> ApiError {
    ApiError::new(c::ADMIN_CREDENTIAL_NOT_FOUND)
}

impl Service {
    fn keys_of(k: &AdminCredential) -> Vec<String> {
        let mut keys = vec![name_key(&k.name)];
        keys.extend(k.token_sha256.as_deref().map(token_key));
        keys.extend(k.access_key.as_deref().map(access_key_key));
        keys
    }

    async fn put_credential(&self, tx: &mut Tx, k: &AdminCredential) -> Result<()> {
        let body = encode(k)?;
        let doc = NewDocument { kind: kinds::ADMIN_CREDENTIAL, id: &k.id, parent: None, keys: Self::keys_of(k), body: &body };
        tx.put_unique(doc, c::ADMIN_CREDENTIAL_NAME_EXISTS, "name").await
    }

    /// A fresh secret for `k`: a token (stored as its hash) or an access key and secret (sealed).
    fn issue(&self, k: &mut AdminCredential) -> Result<(Option<String>, Option<String>)> {
        k.secret_time = ids::now();
        match k.credential_type {
            CredentialType::Token => {
                let token = format!("{}{}", generate::app_secret(), generate::app_secret());
                k.token_sha256 = Some(sha256_hex(token.as_bytes()));
                Ok((Some(token), None))
            }
            CredentialType::Aksk => {
                let sealer = self.sealer.as_ref().ok_or_else(|| ApiError::detail(c::SYSTEM, "no secret key to seal secrets with"))?;
                let secret = format!("{}{}", generate::app_secret(), generate::app_secret());
                k.sealed_secret = Some(sealer.seal(secret.as_bytes()).map_err(|e| ApiError::detail(c::SYSTEM, &e))?);
                if k.access_key.is_none() {
                    k.access_key = Some(generate::app_key().to_uppercase());
                }
                Ok((None, Some(secret)))
            }
        }
    }

    pub async fn create_admin_credential(&self, input: AdminCredentialInput) -> Result<IssuedCredential> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if tx.find_key(kinds::ADMIN_CREDENTIAL, &name_key(&spec.name)).await?.is_some() {
            return Err(ApiError::field(c::ADMIN_CREDENTIAL_NAME_EXISTS, "name"));
        }
        let now = ids::now();
        let mut k = AdminCredential {
            id: ids::new_id(),
            name: spec.name,
            role: spec.role,
            credential_type: spec.credential_type,
            access_key: None,
            token_sha256: None,
            sealed_secret: None,
            remark: spec.remark,
            create_time: now.clone(),
            update_time: now,
            secret_time: String::new(),
        };
        let (token, secret_key) = self.issue(&mut k)?;
        self.put_credential(&mut tx, &k).await?;
        self.commit(tx).await?;
        Ok(IssuedCredential { credential: view(&k), token, secret_key })
    }

    pub async fn list_admin_credentials(&self, f: &CredentialFilter) -> Result<Page<CredentialView>> {
        let role = f.role.as_deref().map(|r| AdminRole::parse_field("role", r)).transpose()?;
        let all: Vec<AdminCredential> = self.load_all(kinds::ADMIN_CREDENTIAL, None).await?;
        let matching = all
            .iter()
            .filter(|k| text_matches(&k.name, f.name.as_deref(), f.precise_name) && role.is_none_or(|r| k.role == r))
            .map(view)
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn get_admin_credential(&self, id: &str) -> Result<CredentialView> {
        self.load::<AdminCredential>(kinds::ADMIN_CREDENTIAL, id, c::ADMIN_CREDENTIAL_NOT_FOUND).await.map(|k| view(&k))
    }

    /// Changes the name, role or remark (the type cannot change: create another credential).
    pub async fn update_admin_credential(&self, id: &str, input: AdminCredentialInput) -> Result<CredentialView> {
        let given_type = input.credential_type.clone();
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let mut k: AdminCredential = tx.load(kinds::ADMIN_CREDENTIAL, id, c::ADMIN_CREDENTIAL_NOT_FOUND).await?;
        if given_type.is_some() && spec.credential_type != k.credential_type {
            return Err(ApiError::invalid("type"));
        }
        if spec.name != k.name && tx.find_key(kinds::ADMIN_CREDENTIAL, &name_key(&spec.name)).await?.is_some() {
            return Err(ApiError::field(c::ADMIN_CREDENTIAL_NAME_EXISTS, "name"));
        }
        k.name = spec.name;
        k.role = spec.role;
        k.remark = spec.remark;
        k.update_time = ids::now();
        self.put_credential(&mut tx, &k).await?;
        self.commit(tx).await?;
        Ok(view(&k))
    }

    /// A new secret; the old one stops working at once.
    pub async fn rotate_admin_credential(&self, id: &str) -> Result<IssuedCredential> {
        let mut tx = self.begin().await?;
        let mut k: AdminCredential = tx.load(kinds::ADMIN_CREDENTIAL, id, c::ADMIN_CREDENTIAL_NOT_FOUND).await?;
        let (token, secret_key) = self.issue(&mut k)?;
        k.update_time = k.secret_time.clone();
        self.put_credential(&mut tx, &k).await?;
        self.commit(tx).await?;
        Ok(IssuedCredential { credential: view(&k), token, secret_key })
    }

    pub async fn delete_admin_credential(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.delete(kinds::ADMIN_CREDENTIAL, id).await? {
            return Err(not_found());
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Whose token this is, if any credential's.
    /// The role the named credential has now (`None`: revoked). The console
    /// asks before each page, so a revoked or changed credential's session ends.
    pub async fn credential_role(&self, name: &str) -> Result<Option<AdminRole>> {
        let found = self.store.find_key(kinds::ADMIN_CREDENTIAL, &name_key(name)).await.map_err(super::system)?;
        Ok(found.map(super::decode::<AdminCredential>).transpose()?.map(|k| k.role))
    }

    pub async fn principal_by_token(&self, token: &str) -> Result<Option<Principal>> {
        let key = token_key(&sha256_hex(token.as_bytes()));
        let found = self.store.find_key(kinds::ADMIN_CREDENTIAL, &key).await.map_err(super::system)?;
        Ok(found.map(super::decode::<AdminCredential>).transpose()?.map(|k| Principal { name: k.name, role: k.role }))
    }

    /// Whose access key this is, with its secret opened, if any credential's.
    pub async fn principal_by_access_key(&self, access_key: &str) -> Result<Option<(Principal, String)>> {
        let found = self.store.find_key(kinds::ADMIN_CREDENTIAL, &access_key_key(access_key)).await.map_err(super::system)?;
        let Some(k) = found.map(super::decode::<AdminCredential>).transpose()? else { return Ok(None) };
        let (Some(sealed), Some(sealer)) = (k.sealed_secret.as_deref(), self.sealer.as_ref()) else { return Ok(None) };
        let secret = sealer.open(sealed).map_err(|e| ApiError::detail(c::SYSTEM, &e))?;
        let secret = String::from_utf8(secret).map_err(|_| ApiError::detail(c::SYSTEM, "a sealed secret that is not text"))?;
        Ok(Some((Principal { name: k.name, role: k.role }, secret)))
    }
}
