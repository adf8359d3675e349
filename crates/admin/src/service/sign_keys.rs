//! Signature keys for backends and their bindings to published APIs. A
//! published API (one publication) has at most one key; a key may be bound
//! to many. Bindings go when the publication goes (offline).

use std::collections::HashMap;

use causeway_model::publish::Publication;
use causeway_model::sign_key::{SignBinding, SignBindingInput, SignKey, SignKeyInput, generate};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

#[derive(Debug, Clone, Default)]
pub struct SignFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub precise_name: bool,
    pub sign_id: Option<String>,
    pub api_id: Option<String>,
    pub env_id: Option<String>,
    pub api_name: Option<String>,
    pub paging: Paging,
}

/// A binding with the names around it.
#[derive(Debug, Clone, Serialize)]
pub struct BindingView {
    pub id: String,
    pub publish_id: String,
    pub sign_id: String,
    pub sign_name: String,
    pub sign_type: causeway_model::sign_key::SignType,
    pub api_id: String,
    pub api_name: String,
    pub api_type: i32,
    pub group_id: String,
    pub group_name: String,
    pub env_id: String,
    pub env_name: String,
    pub binding_time: String,
}

/// A published API without the given key.
#[derive(Debug, Clone, Serialize)]
pub struct UnsignedApi {
    pub id: String,
    pub name: String,
    pub publish_id: String,
    pub group_id: String,
    pub group_name: String,
    pub run_env_id: String,
    pub run_env_name: String,
    pub req_method: causeway_model::api::Method,
    pub req_uri: String,
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

fn publication_key(publish_id: &str) -> String {
    format!("publish:{publish_id}")
}

impl Service {
    async fn put_sign_key(&self, tx: &mut Tx, k: &SignKey) -> Result<()> {
        let body = encode(k)?;
        let doc = NewDocument { kind: kinds::SIGN_KEY, id: &k.id, parent: None, keys: vec![name_key(&k.name)], body: &body };
        tx.put_unique(doc, c::SIGN_KEY_NAME_EXISTS, "name").await
    }

    pub async fn create_sign_key(&self, input: SignKeyInput) -> Result<SignKey> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if tx.find_key(kinds::SIGN_KEY, &name_key(&spec.name)).await?.is_some() {
            return Err(ApiError::field(c::SIGN_KEY_NAME_EXISTS, "name"));
        }
        let now = ids::now();
        let k = SignKey {
            id: ids::new_id(),
            name: spec.name,
            sign_type: spec.sign_type,
            sign_key: spec.sign_key.unwrap_or_else(|| generate::key(spec.sign_type)),
            sign_secret: spec.sign_secret.unwrap_or_else(generate::secret),
            create_time: now.clone(),
            update_time: now,
        };
        self.put_sign_key(&mut tx, &k).await?;
        self.commit(tx).await?;
        Ok(k)
    }

    pub async fn list_sign_keys(&self, f: &SignFilter) -> Result<Page<SignKey>> {
        let mut all: Vec<SignKey> = self.load_all(kinds::SIGN_KEY, None).await?;
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        let matching = all
            .into_iter()
            .filter(|k| f.id.as_deref().is_none_or(|id| k.id == id))
            .filter(|k| text_matches(&k.name, f.name.as_deref(), f.precise_name))
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// Changes the name, type, key and secret (a key or secret left out is generated anew).
    pub async fn update_sign_key(&self, id: &str, input: SignKeyInput) -> Result<SignKey> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let mut k: SignKey = tx.load(kinds::SIGN_KEY, id, c::SIGN_KEY_NOT_FOUND).await?;
        if tx.key_taken(kinds::SIGN_KEY, &name_key(&spec.name), &k.id).await? {
            return Err(ApiError::field(c::SIGN_KEY_NAME_EXISTS, "name"));
        }
        k.name = spec.name;
        k.sign_type = spec.sign_type;
        k.sign_key = spec.sign_key.unwrap_or_else(|| generate::key(spec.sign_type));
        k.sign_secret = spec.sign_secret.unwrap_or_else(generate::secret);
        k.update_time = ids::now();
        self.put_sign_key(&mut tx, &k).await?;
        self.commit(tx).await?;
        Ok(k)
    }

    pub async fn delete_sign_key(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::SIGN_KEY, id).await? {
            return Err(ApiError::new(c::SIGN_KEY_NOT_FOUND));
        }
        if !tx.list(kinds::SIGN_BINDING, Some(id)).await?.is_empty() {
            return Err(ApiError::new(c::SIGN_KEY_BOUND));
        }
        tx.delete(kinds::SIGN_KEY, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn bind_sign_key(&self, input: SignBindingInput) -> Result<Vec<BindingView>> {
        let (sign_id, publish_ids) = input.validate()?;
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::SIGN_KEY, &sign_id).await? {
            return Err(ApiError::new(c::SIGN_KEY_NOT_FOUND));
        }
        let mut created = Vec::new();
        for publish_id in &publish_ids {
            let p: Publication = tx.load(kinds::PUBLICATION, publish_id, c::PUBLICATION_NOT_FOUND).await?;
            let binding = match tx.find_key(kinds::SIGN_BINDING, &publication_key(publish_id)).await? {
                Some(doc) => {
                    let existing: SignBinding = decode(doc)?;
                    if existing.sign_id != sign_id {
                        let mut e = ApiError::invalid("publish_ids");
                        e.message = format!(
                            "Invalid parameter value,parameterName:publish_ids. The API of publication {publish_id} already has a signature key in this environment; unbind it first"
                        );
                        return Err(e);
                    }
                    existing
                }
                None => {
                    let b = SignBinding {
                        id: ids::new_id(),
                        sign_id: sign_id.clone(),
                        publish_id: publish_id.clone(),
                        api_id: p.api_id.clone(),
                        env_id: p.env_id.clone(),
                        binding_time: ids::now(),
                    };
                    let body = encode(&b)?;
                    let doc = NewDocument { kind: kinds::SIGN_BINDING, id: &b.id, parent: Some(&sign_id), keys: vec![publication_key(publish_id)], body: &body };
                    tx.put(doc).await?;
                    b
                }
            };
            created.push(binding.id);
        }
        self.commit(tx).await?;
        let views = self.binding_views(|b| created.contains(&b.id)).await?;
        Ok(views)
    }

    pub async fn unbind_sign_key(&self, id: &str) -> Result<()> {
        self.delete_doc(kinds::SIGN_BINDING, c::SIGN_BINDING_NOT_FOUND, id).await
    }

    async fn binding_views(&self, keep: impl Fn(&SignBinding) -> bool) -> Result<Vec<BindingView>> {
        let bindings: Vec<SignBinding> = self.load_all::<SignBinding>(kinds::SIGN_BINDING, None).await?.into_iter().filter(|b| keep(b)).collect();
        if bindings.is_empty() {
            return Ok(Vec::new());
        }
        let keys: HashMap<String, SignKey> = self.load_all::<SignKey>(kinds::SIGN_KEY, None).await?.into_iter().map(|k| (k.id.clone(), k)).collect();
        let apis: HashMap<String, causeway_model::api::Api> =
            self.load_all::<causeway_model::api::Api>(kinds::API, None).await?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let (groups, envs) = (self.group_names().await?, self.env_names().await?);
        let mut views: Vec<BindingView> = bindings
            .into_iter()
            .filter_map(|b| {
                let (key, api) = (keys.get(&b.sign_id)?, apis.get(&b.api_id)?);
                Some(BindingView {
                    sign_name: key.name.clone(),
                    sign_type: key.sign_type,
                    api_name: api.name.clone(),
                    api_type: api.api_type,
                    group_id: api.group_id.clone(),
                    group_name: groups.of(&api.group_id),
                    env_name: envs.of(&b.env_id),
                    id: b.id,
                    publish_id: b.publish_id,
                    sign_id: b.sign_id,
                    api_id: b.api_id,
                    env_id: b.env_id,
                    binding_time: b.binding_time,
                })
            })
            .collect();
        views.sort_by(|a, b| a.binding_time.cmp(&b.binding_time).then_with(|| a.id.cmp(&b.id)));
        Ok(views)
    }

    /// `GET /sign-bindings/binded-apis?sign_id=`: the published APIs a key signs for.
    pub async fn sign_bound_apis(&self, f: &SignFilter) -> Result<Page<BindingView>> {
        let sign_id = f.sign_id.clone().ok_or_else(|| ApiError::required("sign_id"))?;
        self.load::<SignKey>(kinds::SIGN_KEY, &sign_id, c::SIGN_KEY_NOT_FOUND).await?;
        let views = self.binding_views(|b| b.sign_id == sign_id && f.env_id.as_deref().is_none_or(|e| b.env_id == e)).await?;
        let matching = views.into_iter().filter(|v| text_matches(&v.api_name, f.api_name.as_deref(), false)).collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// `GET /sign-bindings/binded-signs?api_id=`: the keys bound to an API (one per environment).
    pub async fn api_bound_signs(&self, f: &SignFilter) -> Result<Page<BindingView>> {
        let api_id = f.api_id.clone().ok_or_else(|| ApiError::required("api_id"))?;
        self.load::<causeway_model::api::Api>(kinds::API, &api_id, c::API_NOT_FOUND).await?;
        let views = self.binding_views(|b| b.api_id == api_id && f.env_id.as_deref().is_none_or(|e| b.env_id == e)).await?;
        Ok(Page::of(views, &f.paging))
    }

    /// `GET /sign-bindings/unbinded-apis?sign_id=`: published APIs without a key.
    pub async fn sign_unbound_apis(&self, f: &SignFilter) -> Result<Page<UnsignedApi>> {
        let sign_id = f.sign_id.clone().ok_or_else(|| ApiError::required("sign_id"))?;
        self.load::<SignKey>(kinds::SIGN_KEY, &sign_id, c::SIGN_KEY_NOT_FOUND).await?;
        let bound: std::collections::HashSet<String> =
            self.load_all::<SignBinding>(kinds::SIGN_BINDING, None).await?.into_iter().map(|b| b.publish_id).collect();
        let (groups, envs) = (self.group_names().await?, self.env_names().await?);
        let mut out = Vec::new();
        for (p, v) in self.published(|p| !bound.contains(&p.publish_id) && f.env_id.as_deref().is_none_or(|e| e == p.env_id)).await? {
            if !text_matches(&v.api.name, f.api_name.as_deref(), false) {
                continue;
            }
            out.push(UnsignedApi {
                group_name: groups.of(&v.api.group_id),
                run_env_name: envs.of(&p.env_id),
                id: v.api.id,
                name: v.api.name,
                publish_id: p.publish_id,
                group_id: v.api.group_id,
                run_env_id: p.env_id,
                req_method: v.api.req_method,
                req_uri: v.api.req_uri,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.publish_id.cmp(&b.publish_id)));
        Ok(Page::of(out, &f.paging))
    }

    /// Removes the bindings of publications that are going away.
    pub(super) async fn drop_sign_bindings(tx: &mut Tx, publish_id: &str) -> Result<()> {
        tx.delete_key(kinds::SIGN_BINDING, &publication_key(publish_id)).await
    }
}
