//! Load-balance channels and their members. Members live in their channel's
//! document; a member is told apart by its place (host and port): adding one
//! at a place already in the channel updates it, as on the cloud gateways.
//! A channel that APIs (drafts or published versions) use cannot be deleted.

use std::sync::Arc;

use causeway_model::api::{Api, BackendDef};
use causeway_model::channel::{
    self, BUILTIN, Channel, ChannelInput, HealthConfig, HealthInput, Member, MemberGroup, MemberGroupInput, MemberGroupSpec, MemberInput, MemberSpec, Strategy,
};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::apis::api_using;
use super::tx::Tx;
use super::{Page, Paging, Service, c, encode, text_matches};

/// What this node's gateway knows of a member's health: `Some(true)` healthy,
/// `Some(false)` unhealthy, `None` not known here (no gateway in this process,
/// or not checked yet). Given the channel id and the member's `host:port`.
pub type HealthReader = Arc<dyn Fn(&str, &str) -> Option<bool> + Send + Sync>;

#[derive(Debug, Clone, Default)]
pub struct ChannelFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub precise_name: bool,
    /// Channels with a member at this host (exact) and port.
    pub member_host: Option<String>,
    pub member_port: Option<u16>,
    /// Channels with a member group of this name (fuzzy unless precise) or id.
    pub member_group_name: Option<String>,
    pub precise_member_group_name: bool,
    pub member_group_id: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub host: Option<String>,
    /// Members of the group of this name or id.
    pub member_group_name: Option<String>,
    pub member_group_id: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct MemberGroupFilter {
    pub name: Option<String>,
    pub precise_name: bool,
    pub paging: Paging,
}

/// A member group as answered (V2's `MemberGroupInfo`).
#[derive(Debug, Clone, Serialize)]
pub struct MemberGroupView {
    pub member_group_id: String,
    pub member_group_name: String,
    pub member_group_remark: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_group_weight: Option<u32>,
    pub dict_code: &'static str,
    pub microservice_version: &'static str,
    pub microservice_port: u16,
    pub microservice_labels: [(); 0],
    pub create_time: String,
    pub update_time: String,
}

impl From<&MemberGroup> for MemberGroupView {
    fn from(g: &MemberGroup) -> Self {
        MemberGroupView {
            member_group_id: g.id.clone(),
            member_group_name: g.name.clone(),
            member_group_remark: g.remark.clone().unwrap_or_default(),
            member_group_weight: g.weight,
            dict_code: "",
            microservice_version: "",
            microservice_port: 0,
            microservice_labels: [],
            create_time: g.create_time.clone(),
            update_time: g.update_time.clone(),
        }
    }
}

/// A channel as answered: its settings, `status` 1, and its members.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: i32,
    pub member_type: String,
    pub port: u16,
    pub balance_strategy: Strategy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_health_config: Option<HealthConfig>,
    pub status: i32,
    pub member_count: usize,
    pub member_groups: Vec<MemberGroupView>,
    pub create_time: String,
    /// The members (not in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberView>>,
    /// The same, under the v1.0 name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_instances: Option<Vec<MemberView>>,
}

/// A member as answered, with its health as this node sees it.
#[derive(Debug, Clone, Serialize)]
pub struct MemberView {
    #[serde(flatten)]
    pub member: Member,
    /// The port used (the member's or the channel's).
    pub port: u16,
    /// The channel's id (v1.0 name).
    pub vpc_id: String,
    /// The same (V2 name).
    pub vpc_channel_id: String,
    /// The member group it is in (`""`: none).
    pub member_group_id: String,
    pub member_group_name: String,
    /// `healthy`, `unhealthy`, `disabled` (status 2) or `unknown`.
    pub health_status: &'static str,
}

fn name_key(name: &str) -> String {
    format!("name:{}", name.to_ascii_lowercase())
}

/// The channels an API's backends use, with the field naming each.
pub(crate) fn channel_refs(api: &Api) -> Vec<(&str, String)> {
    fn channel<'a>(b: BackendDef<'a>) -> Option<&'a str> {
        match b {
            BackendDef::Http(h) if h.vpc_status == 1 => h.vpc_info.map(|v| v.vpc_id.as_str()),
            _ => None,
        }
    }
    let default = api.default_backend().and_then(|d| Some((channel(d.backend)?, format!("{}.vpc_info.vpc_id", d.field))));
    let policies = api.policies().filter_map(|p| Some((channel(p.backend)?, format!("{}[{}].vpc_info.vpc_id", p.field, p.index))));
    default.into_iter().chain(policies).collect()
}

impl Service {
    fn member_view(&self, ch: &Channel, m: &Member) -> MemberView {
        let address = m.address(ch.port);
        let health_status = if m.status == 2 {
            "disabled"
        } else {
            match self.channel_health.as_ref().and_then(|read| read(&ch.id, &address)) {
                Some(true) => "healthy",
                Some(false) => "unhealthy",
                None => "unknown",
            }
        };
        // The port used is answered once, whether the member's own or the channel's.
        let member = Member { port: None, member_group_id: None, ..m.clone() };
        let group = m.member_group_id.as_deref().and_then(|g| ch.member_group(g));
        MemberView {
            port: m.port.unwrap_or(ch.port),
            vpc_id: ch.id.clone(),
            vpc_channel_id: ch.id.clone(),
            member_group_id: group.map(|g| g.id.clone()).unwrap_or_default(),
            member_group_name: group.map(|g| g.name.clone()).unwrap_or_default(),
            health_status,
            member,
        }
    }

    fn channel_view(&self, ch: &Channel, with_members: bool) -> ChannelView {
        let members = with_members.then(|| ch.members.iter().map(|m| self.member_view(ch, m)).collect::<Vec<_>>());
        ChannelView {
            id: ch.id.clone(),
            name: ch.name.clone(),
            kind: ch.kind,
            member_type: ch.member_type.clone(),
            port: ch.port,
            balance_strategy: ch.balance_strategy,
            vpc_health_config: ch.vpc_health_config.clone(),
            status: 1,
            member_count: ch.members.len(),
            member_groups: ch.member_groups.iter().map(MemberGroupView::from).collect(),
            create_time: ch.create_time.clone(),
            vpc_instances: members.clone(),
            members,
        }
    }

    async fn put_channel(&self, tx: &mut Tx, ch: &Channel) -> Result<()> {
        if tx.key_taken(kinds::CHANNEL, &name_key(&ch.name), &ch.id).await? {
            return Err(ApiError::field(c::CHANNEL_NAME_EXISTS, "name"));
        }
        let body = encode(ch)?;
        let doc = NewDocument { kind: kinds::CHANNEL, id: &ch.id, parent: None, keys: vec![name_key(&ch.name)], body: &body };
        tx.put_unique(doc, c::CHANNEL_NAME_EXISTS, "name").await
    }

    pub async fn create_channel(&self, input: ChannelInput) -> Result<ChannelView> {
        let spec = input.validate()?;
        let now = ids::now();
        let mut ch = Channel {
            id: ids::new_id(),
            name: spec.name,
            kind: BUILTIN,
            member_type: spec.member_type,
            port: spec.port,
            balance_strategy: spec.balance_strategy,
            vpc_health_config: spec.vpc_health_config,
            members: vec![],
            member_groups: vec![],
            create_time: now,
        };
        set_groups(&mut ch, spec.member_groups.unwrap_or_default(), true);
        ch.members = merge(&[], spec.members.unwrap_or_default(), &[], &ch.member_groups, "members")?;
        let mut tx = self.begin().await?;
        if tx.count(kinds::CHANNEL, None).await? >= self.config.limits.channels {
            return Err(ApiError::new(c::CHANNEL_QUOTA));
        }
        self.put_channel(&mut tx, &ch).await?;
        self.commit(tx).await?;
        Ok(self.channel_view(&ch, true))
    }

    pub async fn list_channels(&self, f: &ChannelFilter) -> Result<Page<ChannelView>> {
        let mut all: Vec<Channel> = self.load_all(kinds::CHANNEL, None).await?;
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        let matching = all
            .iter()
            .filter(|ch| f.id.as_deref().is_none_or(|id| ch.id == id))
            .filter(|ch| text_matches(&ch.name, f.name.as_deref(), f.precise_name))
            .filter(|ch| {
                f.member_host.is_none() && f.member_port.is_none()
                    || ch.members.iter().any(|m| {
                        f.member_host.as_deref().is_none_or(|h| m.host.eq_ignore_ascii_case(h)) && f.member_port.is_none_or(|p| m.port.unwrap_or(ch.port) == p)
                    })
            })
            .filter(|ch| f.member_group_id.as_deref().is_none_or(|g| ch.member_group(g).is_some()))
            .filter(|ch| {
                f.member_group_name.is_none()
                    || ch.member_groups.iter().any(|g| text_matches(&g.name, f.member_group_name.as_deref(), f.precise_member_group_name))
            })
            .map(|ch| self.channel_view(ch, false))
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn get_channel(&self, id: &str) -> Result<ChannelView> {
        let ch: Channel = self.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        Ok(self.channel_view(&ch, true))
    }

    /// Replaces a channel's settings; its members too when the body lists them
    /// (members at an unchanged place keep their id).
    pub async fn update_channel(&self, id: &str, input: ChannelInput) -> Result<ChannelView> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let old: Channel = tx.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        let mut ch = Channel {
            name: spec.name,
            member_type: spec.member_type,
            port: spec.port,
            balance_strategy: spec.balance_strategy,
            vpc_health_config: spec.vpc_health_config,
            ..old.clone()
        };
        // Groups the body lists are kept or added (by name), the others go with their members.
        if let Some(groups) = spec.member_groups {
            set_groups(&mut ch, groups, true);
        }
        if let Some(list) = spec.members {
            ch.members = merge(&[], list, &old.members, &ch.member_groups, "members")?;
        }
        self.put_channel(&mut tx, &ch).await?;
        self.commit(tx).await?;
        Ok(self.channel_view(&ch, true))
    }

    pub async fn delete_channel(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.load::<Channel>(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        if let Some(api) = api_using(&mut tx, |api| channel_refs(api).iter().any(|(c, _)| *c == id)).await? {
            return Err(ApiError::detail(c::CHANNEL_IN_USE, &format!("the API {} uses it", api.name)));
        }
        tx.delete(kinds::CHANNEL, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// `PUT /vpc-channels/{id}/health-config`.
    pub async fn update_channel_health(&self, id: &str, input: HealthInput) -> Result<ChannelView> {
        let config = input.validate("vpc_health_config")?;
        self.change_channel(id, |ch| {
            ch.vpc_health_config = Some(config);
            Ok(())
        })
        .await
    }

    /// Adds members, or updates those at a place already in the channel.
    pub async fn add_members(&self, id: &str, list: Vec<MemberInput>, field: &str) -> Result<Page<MemberView>> {
        let view = self
            .change_channel(id, |ch| {
                let specs = channel::validate_members(field, list, &ch.member_type)?;
                let kept: Vec<Member> = ch.members.iter().filter(|m| !specs.iter().any(|s| s.same_place(m))).cloned().collect();
                if kept.len() + specs.len() > channel::MAX_MEMBERS {
                    return Err(ApiError::detail(c::INVALID_VALUE, &format!("a channel has at most {} members", channel::MAX_MEMBERS)));
                }
                ch.members = merge(&kept, specs, &ch.members, &ch.member_groups, field)?;
                Ok(())
            })
            .await?;
        let members = view.members.unwrap_or_default();
        Ok(Page { total: members.len(), items: members })
    }

    /// `PUT /vpc-channels/{id}/members`: the channel's members become the list
    /// (with `member_group_name`, only that group's members do).
    pub async fn replace_members(&self, id: &str, list: Vec<MemberInput>, field: &str, group_name: Option<String>) -> Result<Page<MemberView>> {
        let view = self
            .change_channel(id, |ch| {
                let mut specs = channel::validate_members(field, list, &ch.member_type)?;
                let kept: Vec<Member> = match &group_name {
                    Some(name) => {
                        let group = ch.member_groups.iter().find(|g| &g.name == name).ok_or_else(|| ApiError::field(c::MEMBER_GROUP_NOT_FOUND, "member_group_name"))?;
                        // Entries for other groups are left out; the group's members are replaced.
                        specs.retain(|s| s.member_group_name.as_deref().is_none_or(|n| n == name));
                        specs.iter_mut().for_each(|s| s.member_group_name = Some(name.clone()));
                        ch.members.iter().filter(|m| m.member_group_id.as_deref() != Some(group.id.as_str())).cloned().collect()
                    }
                    None => vec![],
                };
                ch.members = merge(&kept, specs, &ch.members, &ch.member_groups, field)?;
                Ok(())
            })
            .await?;
        let members = view.members.unwrap_or_default();
        Ok(Page { total: members.len(), items: members })
    }

    pub async fn list_members(&self, id: &str, f: &MemberFilter) -> Result<Page<MemberView>> {
        let ch: Channel = self.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        let group_id = match (&f.member_group_id, &f.member_group_name) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(name)) => Some(ch.member_groups.iter().find(|g| &g.name == name).map_or_else(String::new, |g| g.id.clone())),
            (None, None) => None,
        };
        let matching = ch
            .members
            .iter()
            .filter(|m| text_matches(&m.host, f.host.as_deref(), false))
            .filter(|m| group_id.as_deref().is_none_or(|g| m.member_group_id.as_deref() == Some(g)))
            .map(|m| self.member_view(&ch, m))
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn delete_member(&self, id: &str, member_id: &str) -> Result<()> {
        self.change_channel(id, |ch| {
            let before = ch.members.len();
            ch.members.retain(|m| m.id != member_id);
            if ch.members.len() == before { Err(ApiError::new(c::MEMBER_NOT_FOUND)) } else { Ok(()) }
        })
        .await
        .map(|_| ())
    }

    /// `POST .../members/batch-enable` / `batch-disable` `{"member_ids": [...]}`.
    pub async fn set_members_status(&self, id: &str, member_ids: Vec<String>, status: i32) -> Result<()> {
        if member_ids.is_empty() {
            return Err(ApiError::required("member_ids"));
        }
        self.change_channel(id, |ch| {
            for (i, mid) in member_ids.iter().enumerate() {
                let m = ch.members.iter_mut().find(|m| m.id == *mid).ok_or_else(|| ApiError::field(c::MEMBER_NOT_FOUND, &format!("member_ids[{i}]")))?;
                m.status = status;
            }
            Ok(())
        })
        .await
        .map(|_| ())
    }

    async fn change_channel(&self, id: &str, change: impl FnOnce(&mut Channel) -> Result<()>) -> Result<ChannelView> {
        let mut tx = self.begin().await?;
        let mut ch: Channel = tx.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        change(&mut ch)?;
        self.put_channel(&mut tx, &ch).await?;
        self.commit(tx).await?;
        Ok(self.channel_view(&ch, true))
    }

    /// `POST .../member-groups` `{"member_groups": [...]}`: added, or updated by name.
    pub async fn add_member_groups(&self, id: &str, list: Vec<MemberGroupInput>) -> Result<Page<MemberGroupView>> {
        if list.is_empty() {
            return Err(ApiError::required("member_groups"));
        }
        let specs = channel::validate_member_groups("member_groups", list)?;
        let view = self
            .change_channel(id, |ch| {
                set_groups(ch, specs, false);
                if ch.member_groups.len() > channel::MAX_MEMBER_GROUPS {
                    return Err(ApiError::detail(c::INVALID_VALUE, &format!("a channel has at most {} member groups", channel::MAX_MEMBER_GROUPS)));
                }
                Ok(())
            })
            .await?;
        Ok(Page { total: view.member_groups.len(), items: view.member_groups })
    }

    pub async fn list_member_groups(&self, id: &str, f: &MemberGroupFilter) -> Result<Page<MemberGroupView>> {
        let ch: Channel = self.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        let matching = ch.member_groups.iter().filter(|g| text_matches(&g.name, f.name.as_deref(), f.precise_name)).map(MemberGroupView::from).collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn get_member_group(&self, id: &str, group_id: &str) -> Result<MemberGroupView> {
        let ch: Channel = self.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        ch.member_group(group_id).map(MemberGroupView::from).ok_or_else(|| ApiError::new(c::MEMBER_GROUP_NOT_FOUND))
    }

    /// `PUT .../member-groups/{id}`: its name (a new one must be free), remark and weight.
    pub async fn update_member_group(&self, id: &str, group_id: &str, input: MemberGroupInput) -> Result<MemberGroupView> {
        let spec = input.validate("")?;
        let view = self
            .change_channel(id, |ch| {
                if ch.member_groups.iter().any(|g| g.name == spec.name && g.id != group_id) {
                    return Err(ApiError::field(c::INVALID_VALUE, "member_group_name"));
                }
                let g = ch.member_groups.iter_mut().find(|g| g.id == group_id).ok_or_else(|| ApiError::new(c::MEMBER_GROUP_NOT_FOUND))?;
                (g.name, g.remark, g.weight, g.update_time) = (spec.name, spec.remark, spec.weight, ids::now());
                Ok(())
            })
            .await?;
        view.member_groups.into_iter().find(|g| g.member_group_id == group_id).ok_or_else(|| ApiError::new(c::MEMBER_GROUP_NOT_FOUND))
    }

    /// Deletes a member group with its members.
    pub async fn delete_member_group(&self, id: &str, group_id: &str) -> Result<()> {
        self.change_channel(id, |ch| {
            if ch.member_group(group_id).is_none() {
                return Err(ApiError::new(c::MEMBER_GROUP_NOT_FOUND));
            }
            ch.member_groups.retain(|g| g.id != group_id);
            ch.members.retain(|m| m.member_group_id.as_deref() != Some(group_id));
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Every channel an API names must exist (`APIG.3023` on the field).
    pub(crate) async fn check_api_channels(&self, tx: &mut Tx, api: &Api) -> Result<()> {
        for (id, field) in channel_refs(api) {
            if !tx.exists(kinds::CHANNEL, id).await? {
                return Err(ApiError::field(c::CHANNEL_NOT_FOUND, &field));
            }
        }
        Ok(())
    }
}

/// `kept` followed by `specs`, each spec keeping the id and creation time of
/// the member at its place in `old`, if any, and put in the group it names
/// (which must be one of `groups`: `APIG.2012` on `<field>.member_group_name`).
fn merge(kept: &[Member], specs: Vec<MemberSpec>, old: &[Member], groups: &[MemberGroup], field: &str) -> Result<Vec<Member>> {
    let now = ids::now();
    let mut out = kept.to_vec();
    for s in specs {
        let (id, created) = match old.iter().find(|m| s.same_place(m)) {
            Some(m) => (m.id.clone(), m.create_time.clone()),
            None => (ids::new_id(), now.clone()),
        };
        let group = match &s.member_group_name {
            Some(name) => Some(groups.iter().find(|g| &g.name == name).map(|g| g.id.clone()).ok_or_else(|| ApiError::malformed(&format!("{field}.member_group_name")))?),
            None => None,
        };
        out.push(s.into_member(id, created, group));
    }
    Ok(out)
}

/// Adds the member groups of `specs`, updating those of the same name; with
/// `replace`, the groups `specs` does not name go, with their members.
fn set_groups(ch: &mut Channel, specs: Vec<MemberGroupSpec>, replace: bool) {
    let now = ids::now();
    if replace {
        let gone: Vec<String> = ch.member_groups.iter().filter(|g| !specs.iter().any(|s| s.name == g.name)).map(|g| g.id.clone()).collect();
        ch.member_groups.retain(|g| !gone.contains(&g.id));
        ch.members.retain(|m| m.member_group_id.as_ref().is_none_or(|g| !gone.contains(g)));
    }
    for s in specs {
        match ch.member_groups.iter_mut().find(|g| g.name == s.name) {
            Some(g) => (g.remark, g.weight, g.update_time) = (s.remark, s.weight, now.clone()),
            None => ch.member_groups.push(MemberGroup { id: ids::new_id(), name: s.name, remark: s.remark, weight: s.weight, create_time: now.clone(), update_time: now.clone() }),
        }
    }
}
