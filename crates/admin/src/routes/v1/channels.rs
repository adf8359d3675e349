//! `/vpc-channels`: load-balance channels and their members.

use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::ApiError;
use causeway_model::channel::{ChannelInput, HealthInput, MemberInput};
use serde::Deserialize;

use crate::http::{JsonBody, Query, Reply, created, no_content, ok, page};
use crate::service::{ChannelFilter, MemberFilter, Service};

pub async fn create(State(s): State<Arc<Service>>, JsonBody(input): JsonBody<ChannelInput>) -> Reply {
    created(s.create_channel(input).await?)
}

/// v1.0 lists channels under `vpcs`.
pub async fn list(State(s): State<Arc<Service>>, q: Query) -> Reply {
    let f = ChannelFilter { id: q.owned("id"), name: q.owned("name"), precise_name: q.precise("name"), paging: q.paging()? };
    page("vpcs", s.list_channels(&f).await?)
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

/// `{"members": [...]}` (V2) or `{"vpc_instances": [...]}` (v1.0).
#[derive(Debug, Default, Deserialize)]
pub struct Members {
    members: Option<Vec<MemberInput>>,
    vpc_instances: Option<Vec<MemberInput>>,
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

pub async fn replace_members(State(s): State<Arc<Service>>, Path(id): Path<String>, JsonBody(input): JsonBody<Members>) -> Reply {
    let (list, field) = input.list()?;
    page("members", s.replace_members(&id, list, field).await?)
}

pub async fn list_members(State(s): State<Arc<Service>>, Path(id): Path<String>, q: Query) -> Reply {
    let f = MemberFilter { host: q.owned("host").or_else(|| q.owned("name")), paging: q.paging()? };
    page("members", s.list_members(&id, &f).await?)
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
