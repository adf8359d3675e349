//! `/vpc-channels`: load-balance channels and their members.

use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::ApiError;
use causeway_model::channel::{ChannelInput, HealthInput, MemberGroupInput, MemberInput};
use serde::Deserialize;

use crate::http::{Family, JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{ChannelFilter, MemberFilter, MemberGroupFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<ChannelInput>) -> Reply {
    created(s.create_channel(input).await?)
}

/// v1.0 lists channels under `vpcs`, V2 and ROMA under `vpc_channels`.
pub async fn list(State(s): State<Arc<Service>>, family: Family, q: Query) -> Reply {
    let member_port = q.get("member_port").map(|p| p.parse::<u16>().map_err(|_| ApiError::invalid("member_port"))).transpose()?;
    let f = ChannelFilter {
        id: q.owned("id"),
        name: q.owned("name"),
        precise_name: q.precise("name"),
        member_host: q.owned("member_host"),
        member_port,
        member_group_name: q.owned("member_group_name"),
        precise_member_group_name: q.precise("member_group_name"),
        member_group_id: q.owned("member_group_id"),
        paging: q.paging()?,
    };
    page(if family == Family::V1 { "vpcs" } else { "vpc_channels" }, s.list_channels(&f).await?)
}

pub async fn get(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    ok(s.get_channel(&id).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<ChannelInput>) -> Reply {
    ok(s.update_channel(&id, input).await?)
}

pub async fn delete(State(s): State<Arc<Service>>, Path(id): Path<String>) -> Reply {
    s.delete_channel(&id).await?;
    no_content()
}

pub async fn update_health(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<HealthInput>) -> Reply {
    ok(s.update_channel_health(&id, input).await?)
}

/// `{"members": [...]}` (V2) or `{"vpc_instances": [...]}` (v1.0); V2's
/// `PUT` may name the one `member_group_name` whose members it replaces.
#[derive(Debug, Default, Deserialize)]
pub struct Members {
    members: Option<Vec<MemberInput>>,
    vpc_instances: Option<Vec<MemberInput>>,
    member_group_name: Option<String>,
}

impl Members {
    fn list(self) -> Result<(Vec<MemberInput>, &'static str), ApiError> {
        match (self.members, self.vpc_instances) {
            (Some(m), _) if !m.is_empty() => Ok((m, "members")),
            (_, Some(m)) if !m.is_empty() => Ok((m, "vpc_instances")),
            _ => Err(ApiError::required("members")),
        }
    }
}

pub async fn add_members(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<Members>) -> Reply {
    let (list, field) = input.list()?;
    let mut reply = page("members", s.add_members(&id, list, field).await?)?;
    *reply.status_mut() = axum::http::StatusCode::CREATED;
    Ok(reply)
}

pub async fn replace_members(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(mut input): JsonBody<Members>) -> Reply {
    let group = input.member_group_name.take().filter(|g| !g.is_empty());
    let (list, field) = input.list()?;
    page("members", s.replace_members(&id, list, field, group).await?)
}

pub async fn list_members(State(s): State<Arc<Service>>, Path(id): Path<String>, q: Query) -> Reply {
    let f = MemberFilter {
        host: q.owned("host").or_else(|| q.owned("name")),
        member_group_name: q.owned("member_group_name"),
        member_group_id: q.owned("member_group_id"),
        paging: q.paging()?,
    };
    page("members", s.list_members(&id, &f).await?)
}

/// `{"member_groups": [...]}`.
#[derive(Debug, Default, Deserialize)]
pub struct MemberGroups {
    member_groups: Option<Vec<MemberGroupInput>>,
}

/// `POST /vpc-channels/{id}/member-groups`: added, or updated by name; answers the channel's groups.
pub async fn add_member_groups(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<MemberGroups>) -> Reply {
    let mut reply = page("member_groups", s.add_member_groups(&id, input.member_groups.unwrap_or_default()).await?)?;
    *reply.status_mut() = axum::http::StatusCode::CREATED;
    Ok(reply)
}

pub async fn list_member_groups(State(s): State<Arc<Service>>, Path(id): Path<String>, q: Query) -> Reply {
    let f = MemberGroupFilter { name: q.owned("member_group_name"), precise_name: q.precise("member_group_name"), paging: q.paging()? };
    page("member_groups", s.list_member_groups(&id, &f).await?)
}

pub async fn get_member_group(State(s): State<Arc<Service>>, Path((id, group_id)): Path<(String, String)>) -> Reply {
    ok(s.get_member_group(&id, &group_id).await?)
}

pub async fn update_member_group(State(s): State<Arc<Service>>, Path((id, group_id)): Path<(String, String)>, JsonBody(input): JsonBody<MemberGroupInput>) -> Reply {
    ok(s.update_member_group(&id, &group_id, input).await?)
}

pub async fn delete_member_group(State(s): State<Arc<Service>>, Path((id, group_id)): Path<(String, String)>) -> Reply {
    s.delete_member_group(&id, &group_id).await?;
    no_content()
}

pub async fn delete_member(State(s): State<Arc<Service>>, Path((id, member_id)): Path<(String, String)>) -> Reply {
    s.delete_member(&id, &member_id).await?;
    no_content()
}

#[derive(Debug, Default, Deserialize)]
pub struct MemberIds {
    member_ids: Option<Vec<String>>,
}

pub async fn enable_members(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<MemberIds>) -> Reply {
    s.set_members_status(&id, input.member_ids.unwrap_or_default(), 1).await?;
    no_content()
}

pub async fn disable_members(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<MemberIds>) -> Reply {
    s.set_members_status(&id, input.member_ids.unwrap_or_default(), 2).await?;
    no_content()
}
