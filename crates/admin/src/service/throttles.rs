//! Request throttling policies and their bindings to published APIs. A
//! publication has at most one policy; a policy may be bound to many.
//! Bindings go when the publication goes (offline); a bound policy cannot be
//! deleted.

use std::collections::{HashMap, HashSet};

use causeway_model::api::{Api, Method};
use causeway_model::app::App;
use causeway_model::publish::Publication;
use causeway_model::throttle::{SpecialType, Throttle, ThrottleBinding, ThrottleBindingInput, ThrottleInput, ThrottleSpec, ThrottleSpecial, ThrottleSpecialInput};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::bindings::BatchDeleted;
use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

#[derive(Debug, Clone, Default)]
pub struct ThrottleFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub precise_name: bool,
    pub throttle_id: Option<String>,
    pub api_id: Option<String>,
    pub env_id: Option<String>,
    pub api_name: Option<String>,
    pub paging: Paging,
}

/// A policy as shown: with its number of bindings.
#[derive(Debug, Clone, Serialize)]
pub struct ThrottleView {
    #[serde(flatten)]
    pub throttle: Throttle,
    pub bind_num: usize,
    /// 1: has special (per app or user) limits; 2: has none.
    pub is_inclu_special_throttle: i32,
}

/// A published API with its binding to a policy.
#[derive(Debug, Clone, Serialize)]
pub struct ThrottledApi {
    pub api_id: String,
    pub api_name: String,
    pub publish_id: String,
    pub group_id: String,
    pub group_name: String,
    pub env_id: String,
    pub env_name: String,
    pub req_method: Method,
    pub req_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle_apply_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_time: Option<String>,
}

/// A policy as bound to an API in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct BoundThrottle {
    #[serde(flatten)]
    pub throttle: Throttle,
    pub env_id: String,
    pub env_name: String,
    pub bind_id: String,
    pub bind_time: String,
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

fn publication_key(publish_id: &str) -> String {
    format!("publish:{publish_id}")
}

/// One special limit per (policy, instance).
fn special_key(strategy_id: &str, instance_type: SpecialType, instance_id: &str) -> String {
    format!("special:{strategy_id}:{}:{instance_id}", instance_type.as_str())
}

fn build(id: String, spec: ThrottleSpec, create_time: String) -> Throttle {
    Throttle {
        id,
        name: spec.name,
        api_call_limits: spec.api_call_limits,
        user_call_limits: spec.user_call_limits,
        app_call_limits: spec.app_call_limits,
        ip_call_limits: spec.ip_call_limits,
        time_interval: spec.time_interval,
        time_unit: spec.time_unit,
        kind: spec.kind,
        remark: spec.remark,
        enable_adaptive_control: "FALSE".into(),
        create_time,
    }
}

impl Service {
    async fn put_throttle(&self, tx: &mut Tx, t: &Throttle) -> Result<()> {
        if tx.key_taken(kinds::THROTTLE, &name_key(&t.name), &t.id).await? {
            return Err(ApiError::field(c::THROTTLE_NAME_EXISTS, "name"));
        }
        let body = encode(t)?;
        let doc = NewDocument { kind: kinds::THROTTLE, id: &t.id, parent: None, keys: vec![name_key(&t.name)], body: &body };
        tx.put_unique(doc, c::THROTTLE_NAME_EXISTS, "name").await
    }

    async fn throttle_view(&self, throttle: Throttle) -> Result<ThrottleView> {
        let bind_num = self.count(kinds::THROTTLE_BINDING, Some(&throttle.id)).await?;
        let specials = self.count(kinds::THROTTLE_SPECIAL, Some(&throttle.id)).await?;
        Ok(ThrottleView { throttle, bind_num, is_inclu_special_throttle: if specials > 0 { 1 } else { 2 } })
    }

    pub async fn create_throttle(&self, input: ThrottleInput) -> Result<ThrottleView> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if tx.count(kinds::THROTTLE, None).await? >= self.config.limits.throttles {
            return Err(ApiError::new(c::THROTTLE_QUOTA));
        }
        let t = build(ids::new_id(), spec, ids::now());
        self.put_throttle(&mut tx, &t).await?;
        self.commit(tx).await?;
        Ok(ThrottleView { throttle: t, bind_num: 0, is_inclu_special_throttle: 2 })
    }

    pub async fn list_throttles(&self, f: &ThrottleFilter) -> Result<Page<ThrottleView>> {
        let mut all: Vec<Throttle> = self.load_all(kinds::THROTTLE, None).await?;
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        let bindings: Vec<ThrottleBinding> = self.load_all(kinds::THROTTLE_BINDING, None).await?;
        let specials: HashSet<String> = self.load_all::<ThrottleSpecial>(kinds::THROTTLE_SPECIAL, None).await?.into_iter().map(|s| s.strategy_id).collect();
        let matching = all
            .into_iter()
            .filter(|t| f.id.as_deref().is_none_or(|id| t.id == id))
            .filter(|t| text_matches(&t.name, f.name.as_deref(), f.precise_name))
            .map(|throttle| ThrottleView {
                bind_num: bindings.iter().filter(|b| b.strategy_id == throttle.id).count(),
                is_inclu_special_throttle: if specials.contains(&throttle.id) { 1 } else { 2 },
                throttle,
            })
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn get_throttle(&self, id: &str) -> Result<ThrottleView> {
        let t: Throttle = self.load(kinds::THROTTLE, id, c::THROTTLE_NOT_FOUND).await?;
        self.throttle_view(t).await
    }

    pub async fn update_throttle(&self, id: &str, input: ThrottleInput) -> Result<ThrottleView> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let old: Throttle = tx.load(kinds::THROTTLE, id, c::THROTTLE_NOT_FOUND).await?;
        let t = build(old.id, spec, old.create_time);
        self.put_throttle(&mut tx, &t).await?;
        self.commit(tx).await?;
        self.throttle_view(t).await
    }

    async fn delete_throttle_in(tx: &mut Tx, id: &str) -> Result<()> {
        if !tx.exists(kinds::THROTTLE, id).await? {
            return Err(ApiError::new(c::THROTTLE_NOT_FOUND));
        }
        if !tx.list(kinds::THROTTLE_BINDING, Some(id)).await?.is_empty() {
            return Err(ApiError::new(c::THROTTLE_BOUND));
        }
        tx.delete_children(kinds::THROTTLE_SPECIAL, id).await?;
        tx.delete(kinds::THROTTLE, id).await?;
        Ok(())
    }

    pub async fn delete_throttle(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        Service::delete_throttle_in(&mut tx, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    pub async fn bind_throttle(&self, input: ThrottleBindingInput) -> Result<Vec<ThrottleBinding>> {
        let (strategy_id, publish_ids) = input.validate()?;
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::THROTTLE, &strategy_id).await? {
            return Err(ApiError::new(c::THROTTLE_NOT_FOUND));
        }
        let mut out = Vec::new();
        for (i, publish_id) in publish_ids.iter().enumerate() {
            let field = format!("publish_ids[{i}]");
            let p: Publication = tx.get_as(kinds::PUBLICATION, publish_id).await?.ok_or_else(|| ApiError::field(c::PUBLICATION_NOT_FOUND, &field))?;
            let binding = match tx.find_key(kinds::THROTTLE_BINDING, &publication_key(publish_id)).await? {
                Some(doc) => {
                    let existing: ThrottleBinding = decode(doc)?;
                    if existing.strategy_id != strategy_id {
                        let mut e = ApiError::invalid(&field);
                        e.message = format!(
                            "Invalid parameter value,parameterName:{field}. The API of publication {publish_id} already has a throttling policy in this environment; unbind it first"
                        );
                        return Err(e);
                    }
                    existing
                }
                None => {
                    let b = ThrottleBinding {
                        id: ids::new_id(),
                        strategy_id: strategy_id.clone(),
                        publish_id: publish_id.clone(),
                        api_id: p.api_id.clone(),
                        env_id: p.env_id.clone(),
                        scope: 1,
                        apply_time: ids::now(),
                    };
                    let body = encode(&b)?;
                    tx.put(NewDocument {
                        kind: kinds::THROTTLE_BINDING,
                        id: &b.id,
                        parent: Some(&strategy_id),
                        keys: vec![publication_key(publish_id)],
                        body: &body,
                    })
                    .await?;
                    b
                }
            };
            out.push(binding);
        }
        self.commit(tx).await?;
        Ok(out)
    }

    pub async fn unbind_throttle(&self, id: &str) -> Result<()> {
        self.delete_doc(kinds::THROTTLE_BINDING, c::THROTTLE_BINDING_NOT_FOUND, id).await
    }

    /// `PUT /throttle-bindings?action=delete` `{"throttle_bindings": [ids]}`.
    pub async fn unbind_throttles(&self, ids: Vec<String>) -> Result<BatchDeleted> {
        self.delete_bindings(kinds::THROTTLE_BINDING, c::THROTTLE_BINDING_NOT_FOUND, ids).await
    }

    /// Published APIs (publications that `keep` selects), with their binding if they have one.
    async fn throttled_apis(&self, f: &ThrottleFilter, bound: &HashMap<String, ThrottleBinding>, keep: impl Fn(&Publication) -> bool) -> Result<Vec<ThrottledApi>> {
        let (groups, envs) = (self.group_names().await?, self.env_names().await?);
        let mut out = Vec::new();
        for (p, v) in self.published(|p| keep(p) && f.env_id.as_deref().is_none_or(|e| e == p.env_id)).await? {
            if !text_matches(&v.api.name, f.api_name.as_deref(), false) {
                continue;
            }
            let binding = bound.get(&p.publish_id);
            out.push(ThrottledApi {
                group_name: groups.of(&v.api.group_id),
                env_name: envs.of(&p.env_id),
                throttle_apply_id: binding.map(|b| b.id.clone()),
                apply_time: binding.map(|b| b.apply_time.clone()),
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
        Ok(out)
    }

    /// `GET /throttle-bindings/binded-apis?throttle_id=`: the published APIs a policy limits.
    pub async fn throttle_bound_apis(&self, f: &ThrottleFilter) -> Result<Page<ThrottledApi>> {
        let id = f.throttle_id.clone().ok_or_else(|| ApiError::required("throttle_id"))?;
        self.load::<Throttle>(kinds::THROTTLE, &id, c::THROTTLE_NOT_FOUND).await?;
        let bound: HashMap<String, ThrottleBinding> =
            self.load_all::<ThrottleBinding>(kinds::THROTTLE_BINDING, Some(&id)).await?.into_iter().map(|b| (b.publish_id.clone(), b)).collect();
        let apis = self.throttled_apis(f, &bound, |p| bound.contains_key(&p.publish_id)).await?;
        Ok(Page::of(apis, &f.paging))
    }

    /// `GET /throttle-bindings/unbinded-apis?throttle_id=`: published APIs without any policy.
    pub async fn throttle_unbound_apis(&self, f: &ThrottleFilter) -> Result<Page<ThrottledApi>> {
        let id = f.throttle_id.clone().ok_or_else(|| ApiError::required("throttle_id"))?;
        self.load::<Throttle>(kinds::THROTTLE, &id, c::THROTTLE_NOT_FOUND).await?;
        let taken: HashSet<String> = self.load_all::<ThrottleBinding>(kinds::THROTTLE_BINDING, None).await?.into_iter().map(|b| b.publish_id).collect();
        let apis = self.throttled_apis(f, &HashMap::new(), |p| !taken.contains(&p.publish_id)).await?;
        Ok(Page::of(apis, &f.paging))
    }

    /// `GET /throttle-bindings/binded-throttles?api_id=`: the policies of an API, per environment.
    pub async fn api_bound_throttles(&self, f: &ThrottleFilter) -> Result<Page<BoundThrottle>> {
        let api_id = f.api_id.clone().ok_or_else(|| ApiError::required("api_id"))?;
        self.load::<Api>(kinds::API, &api_id, c::API_NOT_FOUND).await?;
        let throttles: HashMap<String, Throttle> = self.load_all::<Throttle>(kinds::THROTTLE, None).await?.into_iter().map(|t| (t.id.clone(), t)).collect();
        let envs = self.env_names().await?;
        let mut out: Vec<BoundThrottle> = self
            .load_all::<ThrottleBinding>(kinds::THROTTLE_BINDING, None)
            .await?
            .into_iter()
            .filter(|b| b.api_id == api_id && f.env_id.as_deref().is_none_or(|e| b.env_id == e))
            .filter_map(|b| {
                Some(BoundThrottle {
                    throttle: throttles.get(&b.strategy_id)?.clone(),
                    env_name: envs.of(&b.env_id),
                    env_id: b.env_id,
                    bind_id: b.id,
                    bind_time: b.apply_time,
                })
            })
            .collect();
        out.sort_by(|a, b| a.bind_time.cmp(&b.bind_time).then_with(|| a.bind_id.cmp(&b.bind_id)));
        Ok(Page::of(out, &f.paging))
    }

    /// `POST /throttle-specials`: an app's or user's own limit under a policy (one each).
    pub async fn create_throttle_special(&self, input: ThrottleSpecialInput) -> Result<ThrottleSpecial> {
        let (strategy_id, instance_id, instance_type, call_limits) = input.validate()?;
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::THROTTLE, &strategy_id).await? {
            return Err(ApiError::new(c::THROTTLE_NOT_FOUND));
        }
        let instance_name = match instance_type {
            SpecialType::App => tx.get_as::<App>(kinds::APP, &instance_id).await?.ok_or_else(|| ApiError::field(c::APP_NOT_FOUND, "instance_id"))?.name,
            SpecialType::User => instance_id.clone(),
        };
        let key = special_key(&strategy_id, instance_type, &instance_id);
        if tx.find_key(kinds::THROTTLE_SPECIAL, &key).await?.is_some() {
            let mut e = ApiError::invalid("instance_id");
            e.message = "Invalid parameter value,parameterName:instance_id. It already has a special limit under this policy".into();
            return Err(e);
        }
        let special = ThrottleSpecial { id: ids::new_id(), strategy_id: strategy_id.clone(), instance_id, instance_name, instance_type, call_limits, apply_time: ids::now() };
        let body = encode(&special)?;
        tx.put(NewDocument { kind: kinds::THROTTLE_SPECIAL, id: &special.id, parent: Some(&strategy_id), keys: vec![key], body: &body }).await?;
        self.commit(tx).await?;
        Ok(special)
    }

    /// `GET /throttle-specials/{strategy_id}`: a policy's special limits.
    pub async fn list_throttle_specials(&self, strategy_id: &str, instance_type: Option<&str>, paging: &Paging) -> Result<Page<ThrottleSpecial>> {
        self.load::<Throttle>(kinds::THROTTLE, strategy_id, c::THROTTLE_NOT_FOUND).await?;
        let all: Vec<ThrottleSpecial> = self.load_all(kinds::THROTTLE_SPECIAL, Some(strategy_id)).await?;
        let matching = all.into_iter().filter(|s| instance_type.is_none_or(|t| s.instance_type.as_str().eq_ignore_ascii_case(t))).collect();
        Ok(Page::of(matching, paging))
    }

    /// `PUT /throttle-specials/{id}`: a new `call_limits`.
    pub async fn update_throttle_special(&self, id: &str, input: ThrottleSpecialInput) -> Result<ThrottleSpecial> {
        let call_limits = input.limits()?;
        let mut tx = self.begin().await?;
        let mut special: ThrottleSpecial = tx.load(kinds::THROTTLE_SPECIAL, id, c::THROTTLE_SPECIAL_NOT_FOUND).await?;
        special.call_limits = call_limits;
        special.apply_time = ids::now();
        let body = encode(&special)?;
        let keys = vec![special_key(&special.strategy_id, special.instance_type, &special.instance_id)];
        tx.put(NewDocument { kind: kinds::THROTTLE_SPECIAL, id: &special.id, parent: Some(&special.strategy_id), keys, body: &body }).await?;
        self.commit(tx).await?;
        Ok(special)
    }

    pub async fn delete_throttle_special(&self, id: &str) -> Result<()> {
        self.delete_doc(kinds::THROTTLE_SPECIAL, c::THROTTLE_SPECIAL_NOT_FOUND, id).await
    }

    /// Removes the policy of a publication that is going away.
    pub(super) async fn drop_throttle_binding(tx: &mut Tx, publish_id: &str) -> Result<()> {
        tx.delete_key(kinds::THROTTLE_BINDING, &publication_key(publish_id)).await
    }
}
