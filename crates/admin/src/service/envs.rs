//! Environments. `RELEASE` is stored like any other but cannot be renamed or deleted.

use causeway_model::env::{Env, EnvInput, RELEASE_ENV_ID, RELEASE_ENV_NAME};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;

use super::tx::Tx;
use super::{Page, Paging, Service, c, encode, text_matches};

#[derive(Debug, Clone, Default)]
pub struct EnvFilter {
    pub name: Option<String>,
    pub precise_name: bool,
    pub paging: Paging,
}

/// Environment names are unique ignoring case: callers name them in `X-Stage`.
fn name_key(name: &str) -> String {
    format!("name:{}", name.to_ascii_lowercase())
}

impl Service {
    pub(super) async fn ensure_release_env(&self) -> Result<()> {
        let mut tx = self.begin().await?;
        if tx.exists(kinds::ENV, RELEASE_ENV_ID).await? {
            return Ok(());
        }
        let env = Env {
            id: RELEASE_ENV_ID.to_string(),
            name: RELEASE_ENV_NAME.to_string(),
            remark: Some("Production environment".to_string()),
            create_time: ids::now(),
        };
        self.put_env(&mut tx, &env).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn put_env(&self, tx: &mut Tx, env: &Env) -> Result<()> {
        let body = encode(env)?;
        let doc = NewDocument { kind: kinds::ENV, id: &env.id, parent: None, keys: vec![name_key(&env.name)], body: &body };
        tx.put_unique(doc, c::ENV_NAME_EXISTS, "name").await
    }

    pub async fn create_env(&self, input: EnvInput) -> Result<Env> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        // RELEASE does not count against the quota.
        if tx.count(kinds::ENV, None).await? > self.config.limits.environments {
            return Err(ApiError::new(c::ENV_QUOTA));
        }
        if tx.find_key(kinds::ENV, &name_key(&spec.name)).await?.is_some() {
            return Err(ApiError::field(c::ENV_NAME_EXISTS, "name"));
        }
        let env = Env { id: ids::new_id(), name: spec.name, remark: spec.remark, create_time: ids::now() };
        self.put_env(&mut tx, &env).await?;
        self.commit(tx).await?;
        Ok(env)
    }

    pub async fn get_env(&self, id: &str) -> Result<Env> {
        self.load(kinds::ENV, id, c::ENV_NOT_FOUND).await
    }

    pub async fn list_envs(&self, f: &EnvFilter) -> Result<Page<Env>> {
        let all: Vec<Env> = self.load_all(kinds::ENV, None).await?;
        let matching = all.into_iter().filter(|e| text_matches(&e.name, f.name.as_deref(), f.precise_name)).collect();
        Ok(Page::of(matching, &f.paging))
    }

    pub async fn update_env(&self, id: &str, input: EnvInput) -> Result<Env> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let mut env: Env = tx.load(kinds::ENV, id, c::ENV_NOT_FOUND).await?;
        if env.id == RELEASE_ENV_ID && spec.name != env.name {
            return Err(ApiError::detail(c::NO_PERMISSION_ENV, "the RELEASE environment cannot be renamed"));
        }
        if tx.key_taken(kinds::ENV, &name_key(&spec.name), &env.id).await? {
            return Err(ApiError::field(c::ENV_NAME_EXISTS, "name"));
        }
        env.name = spec.name;
        env.remark = spec.remark;
        self.put_env(&mut tx, &env).await?;
        self.commit(tx).await?;
        Ok(env)
    }

    /// Deletes an environment no API is published in, with its variables and version history.
    pub async fn delete_env(&self, id: &str) -> Result<()> {
        if id == RELEASE_ENV_ID {
            return Err(ApiError::detail(c::NO_PERMISSION_ENV, "the RELEASE environment cannot be deleted"));
        }
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::ENV, id).await? {
            return Err(ApiError::new(c::ENV_NOT_FOUND));
        }
        let in_env = |doc: &causeway_store::Document| doc.body.get("env_id").and_then(|v| v.as_str()) == Some(id);
        if tx.list(kinds::PUBLICATION, None).await?.iter().any(in_env) {
            return Err(ApiError::new(c::ENV_HAS_APIS));
        }
        // Variables, version history and app authorizations of the environment go with it.
        for kind in [kinds::ENV_VARIABLE, kinds::API_VERSION, kinds::APP_AUTH] {
            for doc in tx.list(kind, None).await? {
                if in_env(&doc) {
                    tx.delete(kind, &doc.id).await?;
                }
            }
        }
        tx.delete(kinds::ENV, id).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
