//! Custom authorizers (`/authorizers`): names are unique, the function must
//! exist in the registry, `type` cannot change, and an authorizer that APIs
//! use cannot be deleted.

use causeway_model::api::Api;
use causeway_model::authorizer::{Authorizer, AuthorizerInput, AuthorizerKind, AuthorizerSpec};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::{NewDocument, StoreError, Txn};

use super::{Page, Paging, Service, c, decode, encode, system, text_matches};

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
    let mut refs: Vec<(&str, AuthorizerKind, String)> = Vec::new();
    if let Some(id) = &api.authorizer_id {
        refs.push((id.as_str(), AuthorizerKind::Frontend, "authorizer_id".to_string()));
    }
    fn backend<'a>(refs: &mut Vec<(&'a str, AuthorizerKind, String)>, id: Option<&'a String>, field: String) {
        if let Some(id) = id {
            refs.push((id.as_str(), AuthorizerKind::Backend, field));
        }
    }
    backend(&mut refs, api.backend_api.as_ref().and_then(|b| b.authorizer_id.as_ref()), "backend_api.authorizer_id".into());
    backend(&mut refs, api.mock_info.as_ref().and_then(|m| m.authorizer_id.as_ref()), "mock_info.authorizer_id".into());
    backend(&mut refs, api.func_info.as_ref().and_then(|f| f.authorizer_id.as_ref()), "func_info.authorizer_id".into());
    for (i, p) in api.policy_https.iter().enumerate() {
        backend(&mut refs, p.authorizer_id.as_ref(), format!("policy_https[{i}].authorizer_id"));
    }
    for (i, p) in api.policy_mocks.iter().enumerate() {
        backend(&mut refs, p.authorizer_id.as_ref(), format!("policy_mocks[{i}].authorizer_id"));
    }
    for (i, p) in api.policy_functions.iter().enumerate() {
        backend(&mut refs, p.authorizer_id.as_ref(), format!("policy_functions[{i}].authorizer_id"));
    }
    refs
}

impl Service {
    /// The named function must be in the registry (any version may be named).
    async fn check_authorizer_function(&self, tx: &mut dyn Txn, spec: &AuthorizerSpec) -> Result<()> {
        let urn = spec.function_urn().ok_or_else(|| ApiError::invalid("authorizer_uri"))?;
        let key = format!("fn:{}:{}", urn.package, urn.name);
        if tx.find_key(kinds::FUNCTION, &key).await.map_err(system)?.is_none() {
            return Err(ApiError::field(c::FUNCTION_NOT_FOUND, "authorizer_uri"));
        }
        Ok(())
    }

    async fn put_authorizer(&self, tx: &mut dyn Txn, a: &Authorizer) -> Result<()> {
        let taken = || ApiError::field(c::AUTHORIZER_NAME_EXISTS, "name");
        if tx.find_key(kinds::AUTHORIZER, &name_key(&a.name)).await.map_err(system)?.is_some_and(|d| d.id != a.id) {
            return Err(taken());
        }
        let body = encode(a)?;
        tx.put(NewDocument { kind: kinds::AUTHORIZER, id: &a.id, parent: None, keys: vec![name_key(&a.name)], body: &body })
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => taken(),
                other => system(other),
            })?;
        Ok(())
    }

    pub async fn create_authorizer(&self, input: AuthorizerInput) -> Result<Authorizer> {
        let spec = input.validate(self.config.limits.identities_per_authorizer)?;
        let mut tx = self.store.begin().await.map_err(system)?;
        if tx.count(kinds::AUTHORIZER, None).await.map_err(system)? as usize >= self.config.limits.authorizers {
            return Err(ApiError::new(c::AUTHORIZER_QUOTA));
        }
        self.check_authorizer_function(&mut *tx, &spec).await?;
        let now = ids::now();
        let a = Authorizer::new(ids::new_id(), spec, now.clone(), now);
        self.put_authorizer(&mut *tx, &a).await?;
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
        let mut tx = self.store.begin().await.map_err(system)?;
        let old: Authorizer = match tx.get(kinds::AUTHORIZER, id).await.map_err(system)? {
            Some(doc) => decode(doc)?,
            None => return Err(ApiError::new(c::AUTHORIZER_NOT_FOUND)),
        };
        // APIs chose the authorizer for its side.
        if spec.kind != old.kind {
            return Err(ApiError::invalid("type"));
        }
        self.check_authorizer_function(&mut *tx, &spec).await?;
        let a = Authorizer::new(old.id, spec, old.create_time, ids::now());
        self.put_authorizer(&mut *tx, &a).await?;
        self.commit(tx).await?;
        Ok(a)
    }

    pub async fn delete_authorizer(&self, id: &str) -> Result<()> {
        let mut tx = self.store.begin().await.map_err(system)?;
        if tx.get(kinds::AUTHORIZER, id).await.map_err(system)?.is_none() {
            return Err(ApiError::new(c::AUTHORIZER_NOT_FOUND));
        }
        // Drafts and published versions alike: a published version without its authorizer could not be served.
        for kind in [kinds::API, kinds::API_VERSION] {
            for doc in tx.list(kind, None).await.map_err(system)? {
                let api: Api = if kind == kinds::API {
                    decode(doc)?
                } else {
                    decode::<causeway_model::publish::ApiVersion>(doc)?.api
                };
                if authorizer_refs(&api).iter().any(|(a, _, _)| *a == id) {
                    return Err(ApiError::detail(c::AUTHORIZER_IN_USE, &format!("the API {} uses it", api.name)));
                }
            }
        }
        tx.delete(kinds::AUTHORIZER, id).await.map_err(system)?;
        self.commit(tx).await?;
        Ok(())
    }

    /// An API's authorizers exist and serve the side it names them for.
    pub(crate) async fn check_api_authorizers(&self, tx: &mut dyn Txn, api: &Api) -> Result<()> {
        for (id, kind, field) in authorizer_refs(api) {
            let a: Authorizer = match tx.get(kinds::AUTHORIZER, id).await.map_err(system)? {
                Some(doc) => decode(doc)?,
                None => return Err(ApiError::field(c::AUTHORIZER_NOT_FOUND, &field)),
            };
            if a.kind != kind {
                return Err(ApiError::invalid(&field));
            }
        }
        Ok(())
    }

    /// Whether a custom authorizer calls the function `package:name`.
    pub(crate) async fn authorizer_calls(&self, tx: &mut dyn Txn, urn: &causeway_model::function::Urn) -> Result<bool> {
        for doc in tx.list(kinds::AUTHORIZER, None).await.map_err(system)? {
            let a: Authorizer = decode(doc)?;
            if a.calls(urn) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
