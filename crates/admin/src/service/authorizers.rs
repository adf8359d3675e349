//! Custom authorizers (`/authorizers`): names are unique, the function must
//! exist in the registry, `type` cannot change, and an authorizer that APIs
//! use cannot be deleted.

use causeway_model::api::Api;
use causeway_model::authorizer::{Authorizer, AuthorizerInput, AuthorizerKind, AuthorizerSpec};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;

use super::apis::api_using;
use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

#[derive(Debug, Default)]
pub struct AuthorizerFilter {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub precise_name: bool,
    pub paging: Paging,
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

/// The authorizer ids an API definition names, with the field that names
/// each: its frontend one, then the backends'.
pub(crate) fn authorizer_refs(api: &Api) -> Vec<(&str, AuthorizerKind, String)> {
    let frontend = api.authorizer_id.as_deref().map(|id| (id, AuthorizerKind::Frontend, "authorizer_id".to_string()));
    let default = api.default_backend().and_then(|d| Some((d.authorizer_id?, AuthorizerKind::Backend, format!("{}.authorizer_id", d.field))));
    let policies = api.policies().filter_map(|p| Some((p.authorizer_id?, AuthorizerKind::Backend, format!("{}[{}].authorizer_id", p.field, p.index))));
    frontend.into_iter().chain(default).chain(policies).collect()
}

impl Service {
    /// The named function must be in the registry (any version may be named).
    async fn check_authorizer_function(&self, tx: &mut Tx, spec: &AuthorizerSpec) -> Result<()> {
        let urn = spec.function_urn().ok_or_else(|| ApiError::invalid("authorizer_uri"))?;
        let key = format!("fn:{}:{}", urn.package, urn.name);
        if tx.find_key(kinds::FUNCTION, &key).await?.is_none() {
            return Err(ApiError::field(c::FUNCTION_NOT_FOUND, "authorizer_uri"));
        }
        Ok(())
    }

    async fn put_authorizer(&self, tx: &mut Tx, a: &Authorizer) -> Result<()> {
        if tx.key_taken(kinds::AUTHORIZER, &name_key(&a.name), &a.id).await? {
            return Err(ApiError::field(c::AUTHORIZER_NAME_EXISTS, "name"));
        }
        let body = encode(a)?;
        let doc = NewDocument { kind: kinds::AUTHORIZER, id: &a.id, parent: None, keys: vec![name_key(&a.name)], body: &body };
        tx.put_unique(doc, c::AUTHORIZER_NAME_EXISTS, "name").await
    }

    pub async fn create_authorizer(&self, input: AuthorizerInput) -> Result<Authorizer> {
        let spec = input.validate(self.config.limits.identities_per_authorizer)?;
        let mut tx = self.begin().await?;
        if tx.count(kinds::AUTHORIZER, None).await? >= self.config.limits.authorizers {
            return Err(ApiError::new(c::AUTHORIZER_QUOTA));
        }
        self.check_authorizer_function(&mut tx, &spec).await?;
        let now = ids::now();
        let a = Authorizer::new(ids::new_id(), spec, now.clone(), now);
        self.put_authorizer(&mut tx, &a).await?;
        self.commit(tx).await?;
        Ok(a)
    }

    pub async fn list_authorizers(&self, f: &AuthorizerFilter) -> Result<Page<Authorizer>> {
        let mut all: Vec<Authorizer> = self.load_all(kinds::AUTHORIZER, None).await?;
        all.retain(|a| text_matches(&a.name, f.name.as_deref(), f.precise_name));
        all.retain(|a| f.kind.as_deref().is_none_or(|k| a.kind.as_str().eq_ignore_ascii_case(k)));
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        Ok(Page::of(all, &f.paging))
    }

    pub async fn get_authorizer(&self, id: &str) -> Result<Authorizer> {
        self.load(kinds::AUTHORIZER, id, c::AUTHORIZER_NOT_FOUND).await
    }

    pub async fn update_authorizer(&self, id: &str, input: AuthorizerInput) -> Result<Authorizer> {
        let spec = input.validate(self.config.limits.identities_per_authorizer)?;
        let mut tx = self.begin().await?;
        let old: Authorizer = tx.load(kinds::AUTHORIZER, id, c::AUTHORIZER_NOT_FOUND).await?;
        // APIs chose the authorizer for its side.
        if spec.kind != old.kind {
            return Err(ApiError::invalid("type"));
        }
        self.check_authorizer_function(&mut tx, &spec).await?;
        let a = Authorizer::new(old.id, spec, old.create_time, ids::now());
        self.put_authorizer(&mut tx, &a).await?;
        self.commit(tx).await?;
        Ok(a)
    }

    pub async fn delete_authorizer(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::AUTHORIZER, id).await? {
            return Err(ApiError::new(c::AUTHORIZER_NOT_FOUND));
        }
        if let Some(api) = api_using(&mut tx, |api| authorizer_refs(api).iter().any(|(a, _, _)| *a == id)).await? {
            return Err(ApiError::detail(c::AUTHORIZER_IN_USE, &format!("the API {} uses it", api.name)));
        }
        tx.delete(kinds::AUTHORIZER, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// An API's authorizers exist and serve the side it names them for.
    pub(crate) async fn check_api_authorizers(&self, tx: &mut Tx, api: &Api) -> Result<()> {
        for (id, kind, field) in authorizer_refs(api) {
            let a: Authorizer = tx.get_as(kinds::AUTHORIZER, id).await?.ok_or_else(|| ApiError::field(c::AUTHORIZER_NOT_FOUND, &field))?;
            if a.kind != kind {
                return Err(ApiError::invalid(&field));
            }
        }
        Ok(())
    }

    /// Whether a custom authorizer calls the function `package:name`.
    pub(crate) async fn authorizer_calls(&self, tx: &mut Tx, urn: &causeway_model::function::Urn) -> Result<bool> {
        for doc in tx.list(kinds::AUTHORIZER, None).await? {
            let a: Authorizer = decode(doc)?;
            if a.calls(urn) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
