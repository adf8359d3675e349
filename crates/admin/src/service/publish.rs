//! Publishing APIs to environments. Publishing copies the draft into an
//! immutable version and makes it the effective one for (API, environment);
//! the gateway serves effective versions only, so editing a draft never
//! changes live traffic until it is published again.

use std::collections::HashSet;

use causeway_model::api::Api;
use causeway_model::env::Env;
use causeway_model::group::Group;
use causeway_model::publish::{
    ApiVersion, BatchPublishInput, MAX_BATCH, PublishInput, Publication, SwitchVersionInput, VERSIONS_KEPT, version_no,
};
use causeway_model::{ApiError, Result, ids, kinds, rules};
use causeway_store::NewDocument;
use serde::Serialize;

use super::apis::ApiView;
use super::variables::variable_key;
use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode};

/// The answer to a publish or a version switch.
#[derive(Debug, Clone, Serialize)]
pub struct PublishView {
    pub publish_id: String,
    pub api_id: String,
    pub api_name: String,
    pub env_id: String,
    pub env_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub publish_time: String,
    pub version_id: String,
}

/// One entry of an API's publishing history.
#[derive(Debug, Clone, Serialize)]
pub struct VersionSummary {
    pub version_id: String,
    pub version_no: String,
    pub api_id: String,
    pub env_id: String,
    pub env_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub publish_time: String,
    /// 1 = the effective version in its environment, 2 = not.
    pub status: i32,
}

/// A version's full definition with where and when it was published.
#[derive(Debug, Clone, Serialize)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub api: ApiView,
    pub version_id: String,
    pub version_no: String,
    pub env_id: String,
    pub env_name: String,
    pub publish_time: String,
    pub version_status: i32,
    /// The group's subdomain(s), where the version is called (as V2 answers it).
    pub sl_domain: String,
    pub sl_domains: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchFailure {
    pub api_id: String,
    pub api_name: String,
    pub error_code: String,
    pub error_msg: String,
}

/// The batch answer: HTTP 200 even when some APIs failed.
#[derive(Debug, Clone, Serialize)]
pub struct BatchResult {
    pub success: Vec<serde_json::Value>,
    pub failure: Vec<BatchFailure>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchAction {
    Online,
    Offline,
}

#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub env_id: Option<String>,
    pub env_name: Option<String>,
    pub paging: Paging,
}

fn publication_key(api_id: &str, env_id: &str) -> String {
    format!("api_env:{api_id}:{env_id}")
}

async fn publication_of(tx: &mut Tx, api_id: &str, env_id: &str) -> Result<Option<Publication>> {
    tx.find_key(kinds::PUBLICATION, &publication_key(api_id, env_id)).await?.map(decode).transpose()
}

async fn put_publication(tx: &mut Tx, p: &Publication) -> Result<()> {
    let body = encode(p)?;
    let doc = NewDocument {
        kind: kinds::PUBLICATION,
        id: &p.publish_id,
        parent: Some(&p.api_id),
        keys: vec![publication_key(&p.api_id, &p.env_id)],
        body: &body,
    };
    tx.put(doc).await
}

/// Every `#variable#` the definition uses must have a value in the environment.
async fn check_variables(tx: &mut Tx, api: &Api, env: &Env) -> Result<()> {
    for name in api.variables() {
        let key = variable_key(&api.group_id, &env.id, &name);
        if tx.find_key(kinds::ENV_VARIABLE, &key).await?.is_none() {
            return Err(ApiError::detail(
                c::VARIABLE_NOT_FOUND,
                &format!("the API uses #{name}#, which has no value in environment {}", env.name),
            ));
        }
    }
    Ok(())
}

/// Makes `version` effective for its (API, environment), keeping the publish id if online already.
async fn make_effective(tx: &mut Tx, version: &ApiVersion, remark: Option<String>, now: &str) -> Result<Publication> {
    let existing = publication_of(tx, &version.api_id, &version.env_id).await?;
    let p = Publication {
        publish_id: existing.map_or_else(ids::new_id, |p| p.publish_id),
        api_id: version.api_id.clone(),
        group_id: version.api.group_id.clone(),
        env_id: version.env_id.clone(),
        version_id: version.version_id.clone(),
        publish_time: now.to_string(),
        remark,
    };
    put_publication(tx, &p).await?;
    Ok(p)
}

/// Drops the oldest versions of (API, environment) beyond [`VERSIONS_KEPT`], never the effective one.
async fn prune_versions(tx: &mut Tx, api_id: &str, env_id: &str, effective: &str) -> Result<()> {
    let mut in_env: Vec<ApiVersion> = tx.load_all(kinds::API_VERSION, Some(api_id)).await?;
    in_env.retain(|v| v.env_id == env_id);
    let excess = in_env.len().saturating_sub(VERSIONS_KEPT);
    for v in in_env.iter().filter(|v| v.version_id != effective).take(excess) {
        tx.delete(kinds::API_VERSION, &v.version_id).await?;
    }
    Ok(())
}

/// Takes a publication offline: it goes with its bindings (signature key,
/// access control, throttling), which belong to it alone.
async fn drop_publication(tx: &mut Tx, p: &Publication) -> Result<()> {
    tx.delete(kinds::PUBLICATION, &p.publish_id).await?;
    Service::drop_sign_bindings(tx, &p.publish_id).await?;
    Service::drop_acl_bindings(tx, &p.publish_id).await?;
    Service::drop_throttle_binding(tx, &p.publish_id).await
}

fn view(p: &Publication, api_name: &str, env_name: &str) -> PublishView {
    PublishView {
        publish_id: p.publish_id.clone(),
        api_id: p.api_id.clone(),
        api_name: api_name.to_string(),
        env_id: p.env_id.clone(),
        env_name: env_name.to_string(),
        remark: p.remark.clone(),
        publish_time: p.publish_time.clone(),
        version_id: p.version_id.clone(),
    }
}

impl Service {
    /// Publishes the API's current definition to an environment.
    pub async fn publish(&self, api_id: &str, input: PublishInput) -> Result<PublishView> {
        let (view, revision) = self.publish_quietly(api_id, input).await?;
        self.settle(revision).await;
        Ok(view)
    }

    async fn publish_quietly(&self, api_id: &str, input: PublishInput) -> Result<(PublishView, i64)> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let api: Api = tx.load(kinds::API, api_id, c::API_NOT_FOUND).await?;
        let env: Env = tx.load(kinds::ENV, &spec.env_id, c::ENV_NOT_FOUND).await?;
        check_variables(&mut tx, &api, &env).await?;
        let now = ids::now();
        let version = ApiVersion {
            version_id: ids::new_id(),
            version_no: version_no(&now),
            api_id: api.id.clone(),
            env_id: env.id.clone(),
            remark: spec.remark.clone(),
            publish_time: now.clone(),
            api: api.clone(),
        };
        let body = encode(&version)?;
        let doc = NewDocument { kind: kinds::API_VERSION, id: &version.version_id, parent: Some(&api.id), keys: vec![], body: &body };
        tx.put(doc).await?;
        let p = make_effective(&mut tx, &version, spec.remark, &now).await?;
        prune_versions(&mut tx, &api.id, &env.id, &version.version_id).await?;
        let revision = tx.commit().await?;
        Ok((view(&p, &api.name, &env.name), revision))
    }

    /// Takes an API offline in one environment; its versions stay in the history.
    pub async fn offline(&self, api_id: &str, env_id: Option<String>) -> Result<()> {
        let revision = self.offline_quietly(api_id, env_id).await?;
        self.settle(revision).await;
        Ok(())
    }

    async fn offline_quietly(&self, api_id: &str, env_id: Option<String>) -> Result<i64> {
        let env_id = rules::required_str("env_id", env_id)?;
        let mut tx = self.begin().await?;
        let _: Api = tx.load(kinds::API, api_id, c::API_NOT_FOUND).await?;
        let p = publication_of(&mut tx, api_id, &env_id).await?.ok_or_else(|| ApiError::new(c::PUBLICATION_NOT_FOUND))?;
        drop_publication(&mut tx, &p).await?;
        tx.commit().await
    }

    /// Publishes or takes offline several APIs; each succeeds or fails on its own.
    pub async fn batch_publish(&self, action: Option<&str>, input: BatchPublishInput) -> Result<BatchResult> {
        let action = match action {
            Some(a) if a.eq_ignore_ascii_case("online") => BatchAction::Online,
            Some(a) if a.eq_ignore_ascii_case("offline") => BatchAction::Offline,
            Some(_) => return Err(ApiError::invalid("action")),
            None => return Err(ApiError::required("action")),
        };
        // The APIs named, or (V2) every API of a group.
        let apis = match (input.apis.filter(|a| !a.is_empty()), rules::optional_str(input.group_id)) {
            (Some(apis), _) => apis,
            (None, Some(group_id)) => {
                let _: Group = self.load(kinds::GROUP, &group_id, c::GROUP_NOT_FOUND).await?;
                let in_group: Vec<Api> = self.load_all(kinds::API, Some(&group_id)).await?;
                in_group.into_iter().map(|a| a.id).collect()
            }
            (None, None) => return Err(ApiError::required("apis")),
        };
        if apis.len() > MAX_BATCH {
            return Err(ApiError::invalid("apis"));
        }
        let env_id = rules::required_str("env_id", input.env_id)?;
        let mut result = BatchResult { success: Vec::new(), failure: Vec::new() };
        let mut last_revision = 0;
        let mut seen = HashSet::new();
        for api_id in apis.into_iter().filter(|id| seen.insert(id.clone())) {
            let outcome = match action {
                BatchAction::Online => {
                    let input = PublishInput { env_id: Some(env_id.clone()), remark: input.remark.clone() };
                    self.publish_quietly(&api_id, input).await.and_then(|(v, r)| {
                        last_revision = last_revision.max(r);
                        encode(&v)
                    })
                }
                BatchAction::Offline => self.offline_quietly(&api_id, Some(env_id.clone())).await.map(|r| {
                    last_revision = last_revision.max(r);
                    serde_json::Value::Null
                }),
            };
            let api_name = match self.store.get(kinds::API, &api_id).await {
                Ok(Some(doc)) => doc.body.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string(),
                _ => String::new(),
            };
            match outcome {
                Ok(serde_json::Value::Null) => result.success.push(serde_json::json!({"api_id": api_id, "api_name": api_name})),
                Ok(v) => result.success.push(v),
                Err(e) => result.failure.push(BatchFailure { api_id, api_name, error_code: e.code.to_string(), error_msg: e.message }),
            }
        }
        // The gateway catches up once, after the whole batch.
        self.settle(last_revision).await;
        Ok(result)
    }

    async fn effective_versions(&self, api_id: &str) -> Result<HashSet<String>> {
        let pubs: Vec<Publication> = self.load_all(kinds::PUBLICATION, Some(api_id)).await?;
        Ok(pubs.into_iter().map(|p| p.version_id).collect())
    }

    /// An API's versions, newest first.
    pub async fn history(&self, api_id: &str, f: &HistoryFilter) -> Result<Page<VersionSummary>> {
        let _: Api = self.load(kinds::API, api_id, c::API_NOT_FOUND).await?;
        let envs = self.env_names().await?;
        let effective = self.effective_versions(api_id).await?;
        let mut versions: Vec<ApiVersion> = self.load_all(kinds::API_VERSION, Some(api_id)).await?;
        versions.reverse();
        let items = versions
            .into_iter()
            .map(|v| VersionSummary {
                env_name: envs.of(&v.env_id),
                status: if effective.contains(&v.version_id) { 1 } else { 2 },
                version_id: v.version_id,
                version_no: v.version_no,
                api_id: v.api_id,
                env_id: v.env_id,
                remark: v.remark,
                publish_time: v.publish_time,
            })
            .filter(|v| f.env_id.as_deref().is_none_or(|e| v.env_id == e))
            .filter(|v| f.env_name.as_deref().is_none_or(|n| v.env_name == n))
            .collect();
        Ok(Page::of(items, &f.paging))
    }

    pub async fn get_version(&self, version_id: &str) -> Result<VersionDetail> {
        let v: ApiVersion = self.load(kinds::API_VERSION, version_id, c::VERSION_NOT_FOUND).await?;
        let effective = self.effective_versions(&v.api_id).await?;
        let env_name = self.env_names().await?.of(&v.env_id);
        let group = self.get_as::<Group>(kinds::GROUP, &v.api.group_id).await?;
        let (group_name, sl_domain) = group.map(|g| (g.name, causeway_model::group::sl_domain(&g.id, &self.config.base_domain))).unwrap_or_default();
        let sl_domains = vec![sl_domain.clone()];
        Ok(VersionDetail {
            sl_domain,
            sl_domains,
            version_status: if effective.contains(&v.version_id) { 1 } else { 2 },
            api: ApiView { api: v.api, group_name, group_version: "V1", published: Default::default() },
            version_id: v.version_id,
            version_no: v.version_no,
            env_id: v.env_id,
            env_name,
            publish_time: v.publish_time,
        })
    }

    /// Takes a version offline: if it is the effective one, the API goes
    /// offline in that environment; otherwise there is nothing to do.
    pub async fn offline_version(&self, version_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let v: ApiVersion = tx.load(kinds::API_VERSION, version_id, c::VERSION_NOT_FOUND).await?;
        if let Some(p) = publication_of(&mut tx, &v.api_id, &v.env_id).await?
            && p.version_id == v.version_id
        {
            drop_publication(&mut tx, &p).await?;
        }
        self.commit(tx).await?;
        Ok(())
    }

    /// Makes an earlier version the effective one in its environment.
    pub async fn switch_version(&self, api_id: &str, input: SwitchVersionInput) -> Result<PublishView> {
        let version_id = rules::required_str("version_id", input.version_id)?;
        let mut tx = self.begin().await?;
        let api: Api = tx.load(kinds::API, api_id, c::API_NOT_FOUND).await?;
        let v: ApiVersion = tx.load(kinds::API_VERSION, &version_id, c::VERSION_NOT_FOUND).await?;
        if v.api_id != api.id {
            return Err(ApiError::detail(c::VERSION_NOT_FOUND, "the version belongs to another API"));
        }
        let env: Env = tx.load(kinds::ENV, &v.env_id, c::ENV_NOT_FOUND).await?;
        check_variables(&mut tx, &v.api, &env).await?;
        let p = make_effective(&mut tx, &v, v.remark.clone(), &ids::now()).await?;
        self.commit(tx).await?;
        Ok(view(&p, &api.name, &env.name))
    }

    /// Publications of an API (where it is online).
    pub(super) async fn publications_in(tx: &mut Tx, api_id: &str) -> Result<Vec<Publication>> {
        tx.load_all(kinds::PUBLICATION, Some(api_id)).await
    }
}
