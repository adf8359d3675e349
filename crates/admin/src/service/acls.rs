//! Access-control policies and their bindings to published APIs. A
//! publication has at most one PERMIT and one DENY policy; a policy may be
//! bound to many. Bindings go when the publication goes (offline); a bound
//! policy cannot be deleted.

use std::collections::{HashMap, HashSet};

use causeway_model::acl::{Acl, AclBinding, AclBindingInput, AclInput, AclType};
use causeway_model::api::{Api, Method};
use causeway_model::publish::Publication;
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::bindings::{BatchDeleted, BatchFailure};
use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

#[derive(Debug, Clone, Default)]
pub struct AclFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub precise_name: bool,
    pub acl_type: Option<String>,
    pub acl_id: Option<String>,
    pub api_id: Option<String>,
    pub env_id: Option<String>,
    pub api_name: Option<String>,
    pub paging: Paging,
}

/// A policy as listed: with how many publications it is bound to.
#[derive(Debug, Clone, Serialize)]
pub struct AclView {
    #[serde(flatten)]
    pub acl: Acl,
    pub bind_num: usize,
}

/// A binding with the names around it.
#[derive(Debug, Clone, Serialize)]
pub struct AclBindingView {
    pub id: String,
    pub acl_id: String,
    pub acl_name: String,
    pub acl_type: AclType,
    pub acl_value: String,
    pub publish_id: String,
    pub api_id: String,
    pub api_name: String,
    pub group_id: String,
    pub group_name: String,
    pub req_method: Method,
    pub req_uri: String,
    pub env_id: String,
    pub env_name: String,
    pub create_time: String,
}

/// A published API the policy is not bound to.
#[derive(Debug, Clone, Serialize)]
pub struct AclFreeApi {
    pub api_id: String,
    pub api_name: String,
    pub publish_id: String,
    pub group_id: String,
    pub group_name: String,
    pub env_id: String,
    pub env_name: String,
    pub req_method: Method,
    pub req_uri: String,
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

/// One policy of each type per publication.
fn slot_key(publish_id: &str, t: AclType) -> String {
    format!("publish:{publish_id}:{}", t.as_str())
}

impl Service {
    async fn put_acl(&self, tx: &mut Tx, a: &Acl) -> Result<()> {
        if tx.key_taken(kinds::ACL, &name_key(&a.acl_name), &a.id).await? {
            return Err(ApiError::field(c::ACL_NAME_EXISTS, "acl_name"));
        }
        let body = encode(a)?;
        let doc = NewDocument { kind: kinds::ACL, id: &a.id, parent: None, keys: vec![name_key(&a.acl_name)], body: &body };
        tx.put_unique(doc, c::ACL_NAME_EXISTS, "acl_name").await
    }

    pub async fn create_acl(&self, input: AclInput) -> Result<Acl> {
        let spec = input.validate()?;
        let now = ids::now();
        let a = Acl {
            id: ids::new_id(),
            acl_name: spec.acl_name,
            acl_type: spec.acl_type,
            entity_type: spec.entity_type,
            acl_value: spec.acl_value,
            create_time: now.clone(),
            update_time: now,
        };
        let mut tx = self.begin().await?;
        self.put_acl(&mut tx, &a).await?;
        self.commit(tx).await?;
        Ok(a)
    }

    pub async fn list_acls(&self, f: &AclFilter) -> Result<Page<AclView>> {
        let mut all: Vec<Acl> = self.load_all(kinds::ACL, None).await?;
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        let bindings: Vec<AclBinding> = self.load_all(kinds::ACL_BINDING, None).await?;
        let matching = all
            .into_iter()
            .filter(|a| f.id.as_deref().is_none_or(|id| a.id == id))
            .filter(|a| text_matches(&a.acl_name, f.name.as_deref(), f.precise_name))
            .filter(|a| f.acl_type.as_deref().is_none_or(|t| a.acl_type.as_str().eq_ignore_ascii_case(t)))
            .map(|acl| AclView { bind_num: bindings.iter().filter(|b| b.acl_id == acl.id).count(), acl })
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn get_acl(&self, id: &str) -> Result<AclView> {
        let acl: Acl = self.load(kinds::ACL, id, c::ACL_NOT_FOUND).await?;
        let bind_num = self.count(kinds::ACL_BINDING, Some(id)).await?;
        Ok(AclView { acl, bind_num })
    }

    /// Changes a policy; a bound policy keeps its type (its bindings hold a slot of that type).
    pub async fn update_acl(&self, id: &str, input: AclInput) -> Result<Acl> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let old: Acl = tx.load(kinds::ACL, id, c::ACL_NOT_FOUND).await?;
        if spec.acl_type != old.acl_type && !tx.list(kinds::ACL_BINDING, Some(id)).await?.is_empty() {
            let mut e = ApiError::invalid("acl_type");
            e.message = "Invalid parameter value,parameterName:acl_type. The policy is bound to APIs; unbind it before changing its type".into();
            return Err(e);
        }
        let a = Acl { acl_name: spec.acl_name, acl_type: spec.acl_type, entity_type: spec.entity_type, acl_value: spec.acl_value, update_time: ids::now(), ..old };
        self.put_acl(&mut tx, &a).await?;
        self.commit(tx).await?;
        Ok(a)
    }

    async fn delete_acl_in(&self, tx: &mut Tx, id: &str) -> Result<()> {
        if !tx.exists(kinds::ACL, id).await? {
            return Err(ApiError::new(c::ACL_NOT_FOUND));
        }
        if !tx.list(kinds::ACL_BINDING, Some(id)).await?.is_empty() {
            return Err(ApiError::new(c::ACL_BOUND));
        }
        tx.delete(kinds::ACL, id).await?;
        Ok(())
    }

    pub async fn delete_acl(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        self.delete_acl_in(&mut tx, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// `PUT /acls?action=delete` `{"acls": [ids]}`: each one on its own.
    pub async fn delete_acls(&self, ids: Vec<String>) -> Result<BatchDeleted> {
        let mut out = BatchDeleted::default();
        for id in ids {
            let mut tx = self.begin().await?;
            match self.delete_acl_in(&mut tx, &id).await {
                Ok(()) => {
                    self.commit(tx).await?;
                    out.success_count += 1;
                }
                Err(e) => out.failure.push(BatchFailure::new(id, e)),
            }
        }
        Ok(out)
    }

    pub async fn bind_acl(&self, input: AclBindingInput) -> Result<Vec<AclBinding>> {
        let (acl_id, publish_ids) = input.validate()?;
        let mut tx = self.begin().await?;
        let acl: Acl = tx.load(kinds::ACL, &acl_id, c::ACL_NOT_FOUND).await?;
        let mut out = Vec::new();
        for (i, publish_id) in publish_ids.iter().enumerate() {
            let p: Publication = tx
                .get_as(kinds::PUBLICATION, publish_id)
                .await?
                .ok_or_else(|| ApiError::field(c::PUBLICATION_NOT_FOUND, &format!("publish_ids[{i}]")))?;
            let slot = slot_key(publish_id, acl.acl_type);
            let binding = match tx.find_key(kinds::ACL_BINDING, &slot).await? {
                Some(doc) => {
                    let existing: AclBinding = decode(doc)?;
                    if existing.acl_id != acl_id {
                        let mut e = ApiError::invalid(&format!("publish_ids[{i}]"));
                        e.message = format!(
                            "Invalid parameter value,parameterName:publish_ids[{i}]. The API of publication {publish_id} already has a {} policy in this environment; unbind it first",
                            acl.acl_type.as_str()
                        );
                        return Err(e);
                    }
                    existing
                }
                None => {
                    let b = AclBinding {
                        id: ids::new_id(),
                        acl_id: acl_id.clone(),
                        publish_id: publish_id.clone(),
                        api_id: p.api_id.clone(),
                        env_id: p.env_id.clone(),
                        create_time: ids::now(),
                    };
                    let body = encode(&b)?;
                    tx.put(NewDocument { kind: kinds::ACL_BINDING, id: &b.id, parent: Some(&acl_id), keys: vec![slot], body: &body }).await?;
                    b
                }
            };
            out.push(binding);
        }
        self.commit(tx).await?;
        Ok(out)
    }

    pub async fn unbind_acl(&self, id: &str) -> Result<()> {
        self.delete_doc(kinds::ACL_BINDING, c::ACL_BINDING_NOT_FOUND, id).await
    }

    /// `PUT /acl-bindings?action=delete` `{"acl_bindings": [ids]}`.
    pub async fn unbind_acls(&self, ids: Vec<String>) -> Result<BatchDeleted> {
        self.delete_bindings(kinds::ACL_BINDING, c::ACL_BINDING_NOT_FOUND, ids).await
    }

    async fn acl_binding_views(&self, keep: impl Fn(&AclBinding) -> bool) -> Result<Vec<AclBindingView>> {
        let bindings: Vec<AclBinding> = self.load_all::<AclBinding>(kinds::ACL_BINDING, None).await?.into_iter().filter(|b| keep(b)).collect();
        if bindings.is_empty() {
            return Ok(Vec::new());
        }
        let acls: HashMap<String, Acl> = self.load_all::<Acl>(kinds::ACL, None).await?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let apis: HashMap<String, Api> = self.load_all::<Api>(kinds::API, None).await?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let (groups, envs) = (self.group_names().await?, self.env_names().await?);
        let mut views: Vec<AclBindingView> = bindings
            .into_iter()
            .filter_map(|b| {
                let (acl, api) = (acls.get(&b.acl_id)?, apis.get(&b.api_id)?);
                Some(AclBindingView {
                    acl_name: acl.acl_name.clone(),
                    acl_type: acl.acl_type,
                    acl_value: acl.acl_value.clone(),
                    api_name: api.name.clone(),
                    group_id: api.group_id.clone(),
                    group_name: groups.of(&api.group_id),
                    req_method: api.req_method,
                    req_uri: api.req_uri.clone(),
                    env_name: envs.of(&b.env_id),
                    id: b.id,
                    acl_id: b.acl_id,
                    publish_id: b.publish_id,
                    api_id: b.api_id,
                    env_id: b.env_id,
                    create_time: b.create_time,
                })
            })
            .collect();
        views.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        Ok(views)
    }

    /// `GET /acl-bindings/binded-apis?acl_id=`: the published APIs a policy applies to.
    pub async fn acl_bound_apis(&self, f: &AclFilter) -> Result<Page<AclBindingView>> {
        let acl_id = f.acl_id.clone().ok_or_else(|| ApiError::required("acl_id"))?;
        self.load::<Acl>(kinds::ACL, &acl_id, c::ACL_NOT_FOUND).await?;
        let views = self.acl_binding_views(|b| b.acl_id == acl_id && f.env_id.as_deref().is_none_or(|e| b.env_id == e)).await?;
        let matching = views.into_iter().filter(|v| text_matches(&v.api_name, f.api_name.as_deref(), false)).collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// `GET /acl-bindings/binded-acls?api_id=`: the policies of an API (per environment).
    pub async fn api_bound_acls(&self, f: &AclFilter) -> Result<Page<AclBindingView>> {
        let api_id = f.api_id.clone().ok_or_else(|| ApiError::required("api_id"))?;
        self.load::<Api>(kinds::API, &api_id, c::API_NOT_FOUND).await?;
        let views = self.acl_binding_views(|b| b.api_id == api_id && f.env_id.as_deref().is_none_or(|e| b.env_id == e)).await?;
        Ok(Page::of(views, &f.paging))
    }

    /// `GET /acl-bindings/unbinded-apis?acl_id=`: published APIs that have no policy of its type.
    pub async fn acl_unbound_apis(&self, f: &AclFilter) -> Result<Page<AclFreeApi>> {
        let acl_id = f.acl_id.clone().ok_or_else(|| ApiError::required("acl_id"))?;
        let acl: Acl = self.load(kinds::ACL, &acl_id, c::ACL_NOT_FOUND).await?;
        let acl_types: HashMap<String, AclType> = self.load_all::<Acl>(kinds::ACL, None).await?.into_iter().map(|a| (a.id, a.acl_type)).collect();
        let taken: HashSet<String> = self
            .load_all::<AclBinding>(kinds::ACL_BINDING, None)
            .await?
            .into_iter()
            .filter(|b| acl_types.get(&b.acl_id) == Some(&acl.acl_type))
            .map(|b| b.publish_id)
            .collect();
        let (groups, envs) = (self.group_names().await?, self.env_names().await?);
        let mut out = Vec::new();
        for (p, v) in self.published(|p| !taken.contains(&p.publish_id) && f.env_id.as_deref().is_none_or(|e| e == p.env_id)).await? {
            if !text_matches(&v.api.name, f.api_name.as_deref(), false) {
                continue;
            }
            out.push(AclFreeApi {
                group_name: groups.of(&v.api.group_id),
                env_name: envs.of(&p.env_id),
                api_id: v.api.id,
                api_name: v.api.name,
                publish_id: p.publish_id,
                group_id: v.api.group_id,
                env_id: p.env_id,
                req_method: v.api.req_method,
                req_uri: v.api.req_uri,
            });
        }
        out.sort_by(|a, b| a.api_name.cmp(&b.api_name).then_with(|| a.publish_id.cmp(&b.publish_id)));
        Ok(Page::of(out, &f.paging))
    }

    /// Removes the policies of a publication that is going away.
    pub(super) async fn drop_acl_bindings(tx: &mut Tx, publish_id: &str) -> Result<()> {
        for t in [AclType::Permit, AclType::Deny] {
            tx.delete_key(kinds::ACL_BINDING, &slot_key(publish_id, t)).await?;
        }
        Ok(())
    }
}
