//! Gateway responses of a group: the `default` set (created with the group)
//! and up to three more that APIs select with `response_id`.

use causeway_model::response::{DEFAULT_NAME, GatewayResponse, GatewayResponseInput, MAX_PER_GROUP};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;

use super::tx::Tx;
use super::{Service, c, encode};

fn name_key(group_id: &str, name: &str) -> String {
    format!("name:{group_id}:{name}")
}

pub(super) async fn put_response(tx: &mut Tx, r: &GatewayResponse) -> Result<()> {
    let body = encode(r)?;
    let doc = NewDocument { kind: kinds::GATEWAY_RESPONSE, id: &r.id, parent: Some(&r.group_id), keys: vec![name_key(&r.group_id, &r.name)], body: &body };
    tx.put_unique(doc, c::RESPONSE_NAME_EXISTS, "name").await
}

/// The `default` set every group has, created with the group.
pub(super) async fn create_default(tx: &mut Tx, group_id: &str) -> Result<()> {
    let now = ids::now();
    let r = GatewayResponse {
        id: ids::new_id(),
        name: DEFAULT_NAME.to_string(),
        group_id: group_id.to_string(),
        default: true,
        responses: Default::default(),
        create_time: now.clone(),
        update_time: now,
    };
    put_response(tx, &r).await
}

async fn load_in(tx: &mut Tx, group_id: &str, id: &str) -> Result<GatewayResponse> {
    let r: GatewayResponse = tx.load(kinds::GATEWAY_RESPONSE, id, c::RESPONSE_NOT_FOUND).await?;
    if r.group_id != group_id {
        return Err(ApiError::new(c::RESPONSE_NOT_FOUND));
    }
    Ok(r)
}

impl Service {
    pub async fn create_response(&self, group_id: &str, input: GatewayResponseInput) -> Result<GatewayResponse> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::GROUP, group_id).await? {
            return Err(ApiError::new(c::GROUP_NOT_FOUND));
        }
        if tx.count(kinds::GATEWAY_RESPONSE, Some(group_id)).await? >= MAX_PER_GROUP {
            return Err(ApiError::new(c::RESPONSE_QUOTA));
        }
        if tx.find_key(kinds::GATEWAY_RESPONSE, &name_key(group_id, &spec.name)).await?.is_some() {
            return Err(ApiError::field(c::RESPONSE_NAME_EXISTS, "name"));
        }
        let now = ids::now();
        let r = GatewayResponse {
            id: ids::new_id(),
            name: spec.name,
            group_id: group_id.to_string(),
            default: false,
            responses: spec.responses,
            create_time: now.clone(),
            update_time: now,
        };
        put_response(&mut tx, &r).await?;
        self.commit(tx).await?;
        Ok(r)
    }

    pub async fn list_responses(&self, group_id: &str) -> Result<Vec<GatewayResponse>> {
        let _: causeway_model::group::Group = self.load(kinds::GROUP, group_id, c::GROUP_NOT_FOUND).await?;
        self.load_all(kinds::GATEWAY_RESPONSE, Some(group_id)).await
    }

    pub async fn get_response(&self, group_id: &str, id: &str) -> Result<GatewayResponse> {
        let r: GatewayResponse = self.load(kinds::GATEWAY_RESPONSE, id, c::RESPONSE_NOT_FOUND).await?;
        if r.group_id != group_id {
            return Err(ApiError::new(c::RESPONSE_NOT_FOUND));
        }
        Ok(r)
    }

    /// Replaces the name and the customised types.
    pub async fn update_response(&self, group_id: &str, id: &str, input: GatewayResponseInput) -> Result<GatewayResponse> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let mut r = load_in(&mut tx, group_id, id).await?;
        if r.default && spec.name != r.name {
            return Err(ApiError::new(c::DEFAULT_RESPONSE_UNRENAMABLE));
        }
        if tx.key_taken(kinds::GATEWAY_RESPONSE, &name_key(group_id, &spec.name), &r.id).await? {
            return Err(ApiError::field(c::RESPONSE_NAME_EXISTS, "name"));
        }
        r.name = spec.name;
        r.responses = spec.responses;
        r.update_time = ids::now();
        put_response(&mut tx, &r).await?;
        self.commit(tx).await?;
        Ok(r)
    }

    pub async fn delete_response(&self, group_id: &str, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let r = load_in(&mut tx, group_id, id).await?;
        if r.default {
            return Err(ApiError::new(c::DEFAULT_RESPONSE_UNDELETABLE));
        }
        tx.delete(kinds::GATEWAY_RESPONSE, id).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
