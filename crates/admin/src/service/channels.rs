//! Load-balance channels and their members. Members live in their channel's
//! document; a member is told apart by its place (host and port): adding one
//! at a place already in the channel updates it, as on the cloud gateways.
//! A channel that APIs (drafts or published versions) use cannot be deleted.

use std::sync::Arc;

use causeway_model::api::{Api, BackendDef};
use causeway_model::channel::{self, BUILTIN, Channel, ChannelInput, HealthConfig, HealthInput, Member, MemberInput, MemberSpec, Strategy};
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
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub host: Option<String>,
    pub paging: Paging,
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
        let member = Member { port: None, ..m.clone() };
        MemberView { port: m.port.unwrap_or(ch.port), vpc_id: ch.id.clone(), health_status, member }
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
        let ch = Channel {
            id: ids::new_id(),
            name: spec.name,
            kind: BUILTIN,
            member_type: spec.member_type,
            port: spec.port,
            balance_strategy: spec.balance_strategy,
            vpc_health_config: spec.vpc_health_config,
            members: spec.members.unwrap_or_default().into_iter().map(|m| m.into_member(ids::new_id(), now.clone())).collect(),
            create_time: now,
        };
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
        let members = match spec.members {
            Some(list) => merge(&[], list, &old.members),
            None => old.members.clone(),
        };
        let ch = Channel {
            name: spec.name,
            member_type: spec.member_type,
            port: spec.port,
            balance_strategy: spec.balance_strategy,
            vpc_health_config: spec.vpc_health_config,
            members,
            ..old
        };
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
                ch.members = merge(&kept, specs, &ch.members);
                Ok(())
            })
            .await?;
        let members = view.members.unwrap_or_default();
        Ok(Page { total: members.len(), items: members })
    }

    /// `PUT /vpc-channels/{id}/members`: the channel's members become the list.
    pub async fn replace_members(&self, id: &str, list: Vec<MemberInput>, field: &str) -> Result<Page<MemberView>> {
        let view = self
            .change_channel(id, |ch| {
                let specs = channel::validate_members(field, list, &ch.member_type)?;
                ch.members = merge(&[], specs, &ch.members);
                Ok(())
            })
            .await?;
        let members = view.members.unwrap_or_default();
        Ok(Page { total: members.len(), items: members })
    }

    pub async fn list_members(&self, id: &str, f: &MemberFilter) -> Result<Page<MemberView>> {
        let ch: Channel = self.load(kinds::CHANNEL, id, c::CHANNEL_NOT_FOUND).await?;
        let matching = ch.members.iter().filter(|m| text_matches(&m.host, f.host.as_deref(), false)).map(|m| self.member_view(&ch, m)).collect();
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
/// the member at its place in `old`, if any.
fn merge(kept: &[Member], specs: Vec<MemberSpec>, old: &[Member]) -> Vec<Member> {
    let now = ids::now();
    let mut out = kept.to_vec();
    for s in specs {
        let (id, created) = match old.iter().find(|m| s.same_place(m)) {
            Some(m) => (m.id.clone(), m.create_time.clone()),
            None => (ids::new_id(), now.clone()),
        };
        out.push(s.into_member(id, created));
    }
    out
}
