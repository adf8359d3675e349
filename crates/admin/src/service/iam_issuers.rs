//! JWT issuers for IAM APIs (a Causeway endpoint: the cloud gateways use
//! their own IAM). Names and `iss` values are unique; key material must load.

use causeway_model::iam::{IamIssuer, IamIssuerInput, IamIssuerSpec};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;

use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode};

fn taken(field: &str, what: &str) -> ApiError {
    let mut e = ApiError::invalid(field);
    e.message = format!("Invalid parameter value,parameterName:{field}. {what} is already used by another issuer");
    e
}

fn not_found() -> ApiError {
    ApiError::detail(c::RESOURCE_NOT_FOUND, "the IAM issuer does not exist")
}

/// The issuer as it would be stored, if its keys load.
fn build(id: String, spec: IamIssuerSpec, create_time: String) -> Result<IamIssuer> {
    let issuer = IamIssuer {
        id,
        name: spec.name,
        issuer: spec.issuer,
        audiences: spec.audiences,
        algorithm: spec.algorithm,
        secret: spec.secret,
        public_key: spec.public_key,
        jwks: spec.jwks,
        jwks_uri: spec.jwks_uri,
        jwks_refresh_secs: spec.jwks_refresh_secs,
        token_cookie: spec.token_cookie,
        create_time,
        update_time: ids::now(),
    };
    // Keys behind a JWKS URL are fetched by the gateway; the others must load now.
    if issuer.jwks_uri.is_none()
        && let Err(why) = causeway_sign::jwt::decoding_keys(&issuer, None)
    {
        let field = if issuer.public_key.is_some() { "public_key" } else { "jwks" };
        let mut e = ApiError::invalid(field);
        e.message = format!("Invalid parameter value,parameterName:{field}. {why}");
        return Err(e);
    }
    Ok(issuer)
}

impl Service {
    async fn put_issuer(&self, tx: &mut Tx, i: &IamIssuer) -> Result<()> {
        for other in tx.list(kinds::IAM_ISSUER, None).await? {
            let other: IamIssuer = decode(other)?;
            if other.id != i.id && other.name == i.name {
                return Err(taken("name", "The name"));
            }
            if other.id != i.id && other.issuer == i.issuer {
                return Err(taken("issuer", "The issuer"));
            }
        }
        let body = encode(i)?;
        let doc = NewDocument { kind: kinds::IAM_ISSUER, id: &i.id, parent: None, keys: vec![format!("iss:{}", i.issuer)], body: &body };
        tx.put_or(doc, |_| taken("issuer", "The issuer")).await
    }

    pub async fn create_issuer(&self, input: IamIssuerInput) -> Result<IamIssuer> {
        let now = ids::now();
        let issuer = build(ids::new_id(), input.validate()?, now)?;
        let mut tx = self.begin().await?;
        self.put_issuer(&mut tx, &issuer).await?;
        self.commit(tx).await?;
        Ok(issuer)
    }

    pub async fn list_issuers(&self, paging: &Paging) -> Result<Page<IamIssuer>> {
        let mut all: Vec<IamIssuer> = self.load_all(kinds::IAM_ISSUER, None).await?;
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        Ok(Page::of(all, paging))
    }

    pub async fn get_issuer(&self, id: &str) -> Result<IamIssuer> {
        self.get_as(kinds::IAM_ISSUER, id).await?.ok_or_else(not_found)
    }

    pub async fn update_issuer(&self, id: &str, input: IamIssuerInput) -> Result<IamIssuer> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let old: IamIssuer = tx.get_as(kinds::IAM_ISSUER, id).await?.ok_or_else(not_found)?;
        let issuer = build(old.id, spec, old.create_time)?;
        self.put_issuer(&mut tx, &issuer).await?;
        self.commit(tx).await?;
        Ok(issuer)
    }

    pub async fn delete_issuer(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.delete(kinds::IAM_ISSUER, id).await? {
            return Err(not_found());
        }
        self.commit(tx).await?;
        Ok(())
    }
}
