//! API definitions (drafts; publishing comes on top of these).

use std::collections::HashMap;
use std::sync::Arc;

use causeway_model::api::{Api, ApiInput};
use causeway_model::group::Group;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

/// An API as returned: the stored definition plus its group's name and
/// where it is published.
#[derive(Debug, Clone, Serialize)]
pub struct ApiView {
    #[serde(flatten)]
    pub api: Api,
    pub group_name: String,
    /// The kind of group it is in: every Causeway group is a global (`V1`) one.
    pub group_version: &'static str,
    #[serde(flatten)]
    pub published: RunEnvs,
}

/// The environments an API is published in, as the vendors' answers show
/// them: ids, names, publication ids and times, each joined by `|` in the
/// order published; absent when it is published nowhere.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunEnvs {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_env_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_env_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub publish_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub publish_time: String,
}

/// Body of V2's `POST /apis/check`: would an API of this name (`type`
/// `name`) or route (`type` `path`) be free in the group?
#[derive(Debug, Default, serde::Deserialize)]
pub struct ApiCheckInput {
    pub group_id: Option<String>,
    #[serde(rename = "type")]
    pub check: Option<String>,
    pub name: Option<String>,
    pub req_method: Option<String>,
    pub req_uri: Option<String>,
    pub match_mode: Option<String>,
    /// The API being edited (its own name and route do not count).
    pub api_id: Option<String>,
}

impl Service {
    /// `Ok` if free; `APIG.3202` for a taken name, `APIG.3301` for a taken route.
    pub async fn check_api(&self, input: ApiCheckInput) -> Result<()> {
        use causeway_model::api::{MatchMode, Method};
        use causeway_model::rules;
        let group_id = rules::required_str("group_id", input.group_id)?;
        let own = rules::optional_str(input.api_id);
        let check = rules::optional_str(input.check).unwrap_or_else(|| "path".into()).to_ascii_lowercase();
        let (key, taken) = match check.as_str() {
            "name" => (format!("name:{group_id}:{}", rules::required_str("name", input.name)?), ApiError::field(c::API_NAME_EXISTS, "name")),
            "path" => {
                let method = Method::parse_field("req_method", &rules::required_str("req_method", input.req_method)?)?;
                let req_uri = rules::required_str("req_uri", input.req_uri)?;
                let mode = match rules::optional_str(input.match_mode) {
                    Some(m) => MatchMode::parse_field("match_mode", &m)?,
                    None => MatchMode::Normal,
                };
                (format!("route:{group_id}:{}", causeway_model::api::route_key(method, &req_uri, mode)), ApiError::new(c::API_EXISTS))
            }
            _ => return Err(ApiError::invalid("type")),
        };
        match self.store.find_key(kinds::API, &key).await.map_err(super::system)? {
            Some(doc) if own.as_deref() != Some(doc.id.as_str()) => Err(taken),
            _ => Ok(()),
        }
    }

    /// `Ok` if no group has this name; `APIG.3201` if one does.
    pub async fn check_group_name(&self, name: Option<String>) -> Result<()> {
        let name = causeway_model::rules::required_str("group_name", name)?;
        match self.store.find_key(kinds::GROUP, &format!("name:{name}")).await.map_err(super::system)? {
            Some(_) => Err(ApiError::field(c::GROUP_NAME_EXISTS, "group_name")),
            None => Ok(()),
        }
    }

    /// Where each API (of `api_id`, or all) is published.
    async fn run_envs(&self, api_id: Option<&str>) -> Result<std::collections::HashMap<String, RunEnvs>> {
        let mut pubs: Vec<Publication> = self.load_all(kinds::PUBLICATION, api_id).await?;
        pubs.sort_by(|a, b| a.publish_time.cmp(&b.publish_time));
        let envs = self.env_names().await?;
        let mut out: std::collections::HashMap<String, RunEnvs> = std::collections::HashMap::new();
        for p in pubs {
            let r = out.entry(p.api_id.clone()).or_default();
            for (field, value) in [(&mut r.run_env_id, p.env_id.clone()), (&mut r.run_env_name, envs.of(&p.env_id)), (&mut r.publish_id, p.publish_id.clone()), (&mut r.publish_time, p.publish_time.clone())] {
                if !field.is_empty() {
                    field.push('|');
                }
                field.push_str(&value);
            }
        }
        Ok(out)
    }
}

/// Every API, its group's name and where it is published, as of one store
/// revision: listing 10,000 APIs reads and decodes them once per change,
/// not once per page.
pub(crate) struct ApiCatalog {
    revision: i64,
    /// In the store's order (creation).
    apis: Vec<Arc<Api>>,
    /// Position in `apis` by id.
    index: HashMap<String, usize>,
    groups: Arc<super::Names>,
    published: Arc<HashMap<String, RunEnvs>>,
}

#[derive(Debug, Clone, Default)]
pub struct ApiFilter {
    pub id: Option<String>,
    pub group_id: Option<String>,
    pub name: Option<String>,
    pub req_method: Option<String>,
    pub req_uri: Option<String>,
    pub backend_type: Option<String>,
    pub auth_type: Option<String>,
    pub precise_name: bool,
    pub precise_uri: bool,
    /// Published in this environment.
    pub env_id: Option<String>,
    pub req_protocol: Option<String>,
    pub api_type: Option<i32>,
    /// A tag the API has (comma-separated: any of them), or `#no_tags#` for APIs without tags.
    pub tags: Option<String>,
    /// Its backend or an HTTP policy goes through the load-balance channel of this name.
    pub vpc_channel_name: Option<String>,
    /// Published somewhere (`true`) or nowhere (`false`).
    pub published: Option<bool>,
    pub paging: Paging,
}

/// An API's name and its route are each unique in its group.
fn keys(api: &Api) -> [String; 2] {
    [format!("name:{}:{}", api.group_id, api.name), format!("route:{}:{}", api.group_id, api.route_key())]
}

/// The first API, draft or published version, that `uses` something: a
/// published version without what it uses could not be served, so either
/// keeps it from being deleted.
pub(super) async fn api_using(tx: &mut Tx, uses: impl Fn(&Api) -> bool) -> Result<Option<Api>> {
    for kind in [kinds::API, kinds::API_VERSION] {
        for doc in tx.list(kind, None).await? {
            let api: Api = if kind == kinds::API { decode(doc)? } else { decode::<ApiVersion>(doc)?.api };
            if uses(&api) {
                return Ok(Some(api));
            }
        }
    }
    Ok(None)
}

impl Service {
    /// Checks the group-level rules for `api` (group exists, quota, unique
    /// name and route) and writes it.
    async fn put_api(&self, tx: &mut Tx, api: &Api, moving_in: bool) -> Result<Group> {
        let group: Group = tx.load(kinds::GROUP, &api.group_id, c::GROUP_NOT_FOUND).await?;
        if moving_in && tx.count(kinds::API, Some(&api.group_id)).await? >= self.config.limits.apis_per_group {
            return Err(ApiError::new(c::API_QUOTA));
        }
        if let Some(rid) = &api.response_id {
            let belongs = tx
                .get(kinds::GATEWAY_RESPONSE, rid)
                .await?
                .is_some_and(|d| d.parent.as_deref() == Some(api.group_id.as_str()));
            if !belongs {
                return Err(ApiError::field(c::RESPONSE_NOT_FOUND, "response_id"));
            }
        }
        self.check_api_authorizers(tx, api).await?;
        self.check_api_channels(tx, api).await?;
        self.check_api_functions(tx, api).await?;
        let [name_key, route_key] = keys(api);
        if tx.key_taken(kinds::API, &name_key, &api.id).await? {
            return Err(ApiError::field(c::API_NAME_EXISTS, "name"));
        }
        if tx.key_taken(kinds::API, &route_key, &api.id).await? {
            return Err(ApiError::field(c::API_EXISTS, "req_uri"));
        }
        let body = encode(api)?;
        let doc = NewDocument { kind: kinds::API, id: &api.id, parent: Some(&api.group_id), keys: vec![name_key, route_key], body: &body };
        tx.put_unique(doc, c::API_EXISTS, "req_uri").await?;
        Ok(group)
    }

    pub async fn create_api(&self, input: ApiInput) -> Result<ApiView> {
        let mut api = input.validate(&self.config.limits)?;
        api.assign_ids(ids::new_id(), None, &ids::now());
        let mut tx = self.begin().await?;
        let group = self.put_api(&mut tx, &api, true).await?;
        self.commit(tx).await?;
        Ok(ApiView { api, group_name: group.name, group_version: "V1", published: RunEnvs::default() })
    }

    /// Replaces an API's definition; ids of parameters, backends and policies that remain are kept.
    pub async fn update_api(&self, id: &str, input: ApiInput) -> Result<ApiView> {
        let mut api = input.validate(&self.config.limits)?;
        let mut tx = self.begin().await?;
        let prev: Api = tx.load(kinds::API, id, c::API_NOT_FOUND).await?;
        api.assign_ids(prev.id.clone(), Some(&prev), &ids::now());
        let group = self.put_api(&mut tx, &api, api.group_id != prev.group_id).await?;
        self.commit(tx).await?;
        let published = self.run_envs(Some(&api.id)).await?.remove(&api.id).unwrap_or_default();
        Ok(ApiView { api, group_name: group.name, group_version: "V1", published })
    }

    pub async fn get_api(&self, id: &str) -> Result<ApiView> {
        let api: Api = self.load(kinds::API, id, c::API_NOT_FOUND).await?;
        let group: Group = self.load(kinds::GROUP, &api.group_id, c::GROUP_NOT_FOUND).await?;
        let published = self.run_envs(Some(&api.id)).await?.remove(&api.id).unwrap_or_default();
        Ok(ApiView { api, group_name: group.name, group_version: "V1", published })
    }

    /// The names of the APIs among `ids` that exist, by id (a few lookups, for labelling).
    pub async fn api_names(&self, ids: &[&str]) -> Result<HashMap<String, String>> {
        let mut names = HashMap::new();
        for id in ids {
            match self.load::<Api>(kinds::API, id, c::API_NOT_FOUND).await {
                Ok(api) => {
                    names.insert(api.id, api.name);
                }
                Err(e) if e.status == 404 => {}
                Err(e) => return Err(e),
            }
        }
        Ok(names)
    }

    /// Every API with its group's name and where it is published, brought
    /// up to date from the store's change feed when the store has changed
    /// since the last listing (read whole the first time, or when the feed
    /// was pruned past it or holds too many changes).
    async fn api_catalog(&self) -> Result<Arc<ApiCatalog>> {
        // The revision is read first: a change committed meanwhile makes the next listing look again.
        let revision = self.store.revision().await.map_err(super::system)?;
        let cached = self.catalog.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let catalog = match cached {
            Some(c) if c.revision == revision => return Ok(c),
            Some(c) => match self.catalog_since(&c, revision).await? {
                Some(updated) => updated,
                None => self.whole_catalog(revision).await?,
            },
            None => self.whole_catalog(revision).await?,
        };
        let catalog = Arc::new(catalog);
        *self.catalog.lock().unwrap_or_else(|p| p.into_inner()) = Some(catalog.clone());
        Ok(catalog)
    }

    async fn whole_catalog(&self, revision: i64) -> Result<ApiCatalog> {
        let apis: Vec<Arc<Api>> = self.load_all::<Api>(kinds::API, None).await?.into_iter().map(Arc::new).collect();
        let index = apis.iter().enumerate().map(|(i, a)| (a.id.clone(), i)).collect();
        Ok(ApiCatalog { revision, apis, index, groups: Arc::new(self.group_names().await?), published: Arc::new(self.run_envs(None).await?) })
    }

    /// `old` with the changes up to `revision` applied; `None` when the feed cannot tell them.
    async fn catalog_since(&self, old: &ApiCatalog, revision: i64) -> Result<Option<ApiCatalog>> {
        const MOST: usize = 1000;
        if self.store.pruned().await.map_err(super::system)? > old.revision {
            return Ok(None);
        }
        let changes = self.store.changes_since(old.revision, MOST as i64 + 1).await.map_err(super::system)?;
        if changes.len() > MOST {
            return Ok(None);
        }
        let changes: Vec<_> = changes.into_iter().filter(|c| c.revision <= revision).collect();
        let touched = |kind: &str| changes.iter().any(|c| c.kind == kind);
        let mut apis = old.apis.clone();
        let mut index = old.index.clone();
        let mut removed = false;
        for change in changes.iter().filter(|c| c.kind == kinds::API) {
            // The document as it is now (a later change is applied again at the next listing).
            match self.store.get(kinds::API, &change.id).await.map_err(super::system)? {
                Some(doc) => {
                    let api = Arc::new(super::decode::<Api>(doc)?);
                    match index.get(&api.id) {
                        Some(&at) => apis[at] = api,
                        None => {
                            index.insert(api.id.clone(), apis.len());
                            apis.push(api);
                        }
                    }
                }
                None => removed |= index.remove(&change.id).is_some(),
            }
        }
        if removed {
            apis.retain(|a| index.contains_key(&a.id));
            index = apis.iter().enumerate().map(|(i, a)| (a.id.clone(), i)).collect();
        }
        let published = if touched(kinds::PUBLICATION) || touched(kinds::ENV) { Arc::new(self.run_envs(None).await?) } else { old.published.clone() };
        let groups = if touched(kinds::GROUP) { Arc::new(self.group_names().await?) } else { old.groups.clone() };
        Ok(Some(ApiCatalog { revision, apis, index, groups, published }))
    }

    pub async fn list_apis(&self, f: &ApiFilter) -> Result<Page<ApiView>> {
        let catalog = self.api_catalog().await?;
        let published = &catalog.published;
        let same = |value: &str, filter: &Option<String>| filter.as_deref().is_none_or(|f| value.eq_ignore_ascii_case(f));
        let channel_ids: Option<Vec<String>> = match &f.vpc_channel_name {
            Some(name) => Some(
                self.load_all::<causeway_model::channel::Channel>(kinds::CHANNEL, None).await?.into_iter().filter(|c| &c.name == name).map(|c| c.id).collect(),
            ),
            None => None,
        };
        let uses_channel = |a: &Api, ids: &[String]| {
            let vpc = a.backend_api.iter().filter_map(|b| b.vpc_info.as_ref()).chain(a.policy_https.iter().filter_map(|p| p.vpc_info.as_ref()));
            vpc.into_iter().any(|v| ids.contains(&v.vpc_id))
        };
        let tagged = |a: &Api| match f.tags.as_deref() {
            None => true,
            Some("#no_tags#") => a.tags.is_empty(),
            Some(wanted) => wanted.split(',').map(str::trim).any(|t| a.tags.iter().any(|have| have == t)),
        };
        let in_env = |id: &str| match &f.env_id {
            None => true,
            Some(env) => published.get(id).is_some_and(|r| r.run_env_id.split('|').any(|e| e == env)),
        };
        // Filtered by reference; only the page asked for is copied into views.
        let matching: Vec<&Api> = catalog
            .apis
            .iter()
            .map(|a| &**a)
            .filter(|a| f.group_id.as_deref().is_none_or(|g| a.group_id == g))
            .filter(|a| in_env(&a.id))
            .filter(|a| f.published.is_none_or(|p| published.get(&a.id).is_some_and(|r| !r.run_env_id.is_empty()) == p))
            .filter(|a| same(a.req_protocol.as_str(), &f.req_protocol))
            .filter(|a| f.api_type.is_none_or(|t| a.api_type == t))
            .filter(|a| tagged(a))
            .filter(|a| channel_ids.as_deref().is_none_or(|ids| uses_channel(a, ids)))
            .filter(|a| f.id.as_deref().is_none_or(|id| a.id == id))
            .filter(|a| text_matches(&a.name, f.name.as_deref(), f.precise_name))
            .filter(|a| text_matches(&a.req_uri, f.req_uri.as_deref(), f.precise_uri))
            .filter(|a| same(a.req_method.as_str(), &f.req_method))
            .filter(|a| same(a.backend_type.as_str(), &f.backend_type))
            .filter(|a| same(a.auth_type.as_str(), &f.auth_type))
            .collect();
        let total = matching.len();
        let items = matching
            .into_iter()
            .skip(f.paging.offset)
            .take(f.paging.limit)
            .map(|api| ApiView {
                group_name: catalog.groups.of(&api.group_id),
                group_version: "V1",
                published: published.get(&api.id).cloned().unwrap_or_default(),
                api: api.clone(),
            })
            .collect();
        Ok(Page { total, items })
    }

    /// Deletes an API that is offline everywhere, with its version history.
    pub async fn delete_api(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::API, id).await? {
            return Err(ApiError::new(c::API_NOT_FOUND));
        }
        if !Service::publications_in(&mut tx, id).await?.is_empty() {
            return Err(ApiError::new(c::API_PUBLISHED));
        }
        tx.delete_children(kinds::API_VERSION, id).await?;
        Service::drop_app_auths(&mut tx, |a| a.api_id == id).await?;
        tx.delete(kinds::API, id).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
