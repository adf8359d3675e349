//! API groups.

use causeway_model::domain::Domain;
use causeway_model::group::{self, DEFAULT_GROUP_NAME, Group, GroupInput};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::tx::Tx;
use super::{Page, Paging, Service, c, encode, text_matches};

/// A group as the API returns it (its subdomain follows the current base
/// domain), with V2's `version` — every Causeway group is what Huawei calls a
/// global (`V1`) group — and its subdomain always enabled.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    #[serde(flatten)]
    pub group: Group,
    pub version: &'static str,
    pub sl_domain_access_enabled: bool,
}

#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub precise_name: bool,
    pub paging: Paging,
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

async fn put_group(tx: &mut Tx, g: &Group) -> Result<()> {
    let body = encode(g)?;
    let doc = NewDocument { kind: kinds::GROUP, id: &g.id, parent: None, keys: vec![name_key(&g.name)], body: &body };
    tx.put_unique(doc, c::GROUP_NAME_EXISTS, "name").await
}

fn split_limit(limit: Option<(u32, u32, causeway_model::throttle::TimeUnit)>) -> (Option<u32>, Option<u32>, Option<causeway_model::throttle::TimeUnit>) {
    match limit {
        Some((calls, interval, unit)) => (Some(calls), Some(interval), Some(unit)),
        None => (None, None, None),
    }
}

const DEFAULT_GROUP_REMARK: &str = "The default group: receives requests for hosts no group claims";

impl Service {
    fn new_group(&self, name: String, remark: Option<String>, is_default: bool) -> Group {
        let now = ids::now();
        let id = ids::new_id();
        Group {
            sl_domain: group::sl_domain(&id, &self.config.base_domain),
            sl_domains: Vec::new(),
            id,
            name,
            status: 1,
            register_time: now.clone(),
            update_time: now,
            remark,
            on_sell_status: 2,
            url_domains: Vec::new(),
            is_default: if is_default { 1 } else { 2 },
            call_limits: None,
            time_interval: None,
            time_unit: None,
        }
    }

    fn group_view(&self, mut g: Group, domains: &[Domain]) -> GroupView {
        g.sl_domain = group::sl_domain(&g.id, &self.config.base_domain);
        g.sl_domains = vec![g.sl_domain.clone()];
        g.url_domains = domains.iter().filter(|d| d.group_id == g.id).filter_map(|d| serde_json::to_value(d.group_view()).ok()).collect();
        GroupView { group: g, version: "V1", sl_domain_access_enabled: true }
    }

    pub(super) async fn ensure_default_group(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        if tx.find_key(kinds::GROUP, &name_key(DEFAULT_GROUP_NAME)).await?.is_some() {
            return Ok(());
        }
        let g = self.new_group(DEFAULT_GROUP_NAME.to_string(), Some(DEFAULT_GROUP_REMARK.to_string()), true);
        put_group(&mut tx, &g).await?;
        super::responses::create_default(&mut tx, &g.id).await?;
        self.commit(tx).await?;
        tracing::info!(group_id = %g.id, "created the DEFAULT group");
        Ok(())
    }

    pub async fn create_group(&self, input: GroupInput) -> Result<GroupView> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if tx.count(kinds::GROUP, None).await? >= self.config.limits.groups {
            return Err(ApiError::new(c::GROUP_QUOTA));
        }
        if tx.find_key(kinds::GROUP, &name_key(&spec.name)).await?.is_some() {
            return Err(ApiError::field(c::GROUP_NAME_EXISTS, "name"));
        }
        let mut g = self.new_group(spec.name, spec.remark, false);
        (g.call_limits, g.time_interval, g.time_unit) = split_limit(spec.limit);
        put_group(&mut tx, &g).await?;
        super::responses::create_default(&mut tx, &g.id).await?;
        self.commit(tx).await?;
        Ok(self.group_view(g, &[]))
    }

    pub async fn get_group(&self, id: &str) -> Result<GroupView> {
        let g = self.load::<Group>(kinds::GROUP, id, c::GROUP_NOT_FOUND).await?;
        let domains = self.group_domains(id).await?;
        Ok(self.group_view(g, &domains))
    }

    pub async fn list_groups(&self, f: &GroupFilter) -> Result<Page<GroupView>> {
        let all: Vec<Group> = self.load_all(kinds::GROUP, None).await?;
        let domains: Vec<Domain> = self.load_all(kinds::DOMAIN, None).await?;
        let matching = all
            .into_iter()
            .filter(|g| f.id.as_deref().is_none_or(|id| g.id == id))
            .filter(|g| text_matches(&g.name, f.name.as_deref(), f.precise_name))
            .map(|g| self.group_view(g, &domains))
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// Every group as answered, by id (for V2's `api_group_info`).
    pub async fn groups_by_id(&self) -> Result<std::collections::HashMap<String, GroupView>> {
        let domains: Vec<Domain> = self.load_all(kinds::DOMAIN, None).await?;
        let all: Vec<Group> = self.load_all(kinds::GROUP, None).await?;
        Ok(all.into_iter().map(|g| (g.id.clone(), self.group_view(g, &domains))).collect())
    }

    pub async fn update_group(&self, id: &str, input: GroupInput) -> Result<GroupView> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let mut g: Group = tx.load(kinds::GROUP, id, c::GROUP_NOT_FOUND).await?;
        if g.is_default() && spec.name != g.name {
            return Err(ApiError::detail(c::NO_PERMISSION_GROUP, "the DEFAULT group cannot be renamed"));
        }
        if tx.key_taken(kinds::GROUP, &name_key(&spec.name), &g.id).await? {
            return Err(ApiError::field(c::GROUP_NAME_EXISTS, "name"));
        }
        g.name = spec.name;
        g.remark = spec.remark;
        (g.call_limits, g.time_interval, g.time_unit) = split_limit(spec.limit);
        g.update_time = ids::now();
        put_group(&mut tx, &g).await?;
        self.commit(tx).await?;
        let domains = self.group_domains(id).await?;
        Ok(self.group_view(g, &domains))
    }

    /// Deletes an empty group with its environment variables, gateway responses and bound domains.
    pub async fn delete_group(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let g: Group = tx.load(kinds::GROUP, id, c::GROUP_NOT_FOUND).await?;
        if g.is_default() {
            return Err(ApiError::detail(c::NO_PERMISSION_GROUP, "the DEFAULT group cannot be deleted"));
        }
        if tx.count(kinds::API, Some(id)).await? > 0 {
            return Err(ApiError::new(c::GROUP_HAS_APIS));
        }
        for kind in [kinds::ENV_VARIABLE, kinds::GATEWAY_RESPONSE, kinds::DOMAIN] {
            tx.delete_children(kind, id).await?;
        }
        tx.delete(kinds::GROUP, id).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
