//! Environment variables: values per (group, environment), referenced as `#name#`.

use causeway_model::env::{EnvVariable, EnvVariableInput, check_variable_value};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;

use super::{Page, Paging, Service, c, decode, encode, store_err, system, text_matches};

#[derive(Debug, Clone, Default)]
pub struct VariableFilter {
    pub group_id: Option<String>,
    pub env_id: Option<String>,
    pub variable_name: Option<String>,
    pub precise_name: bool,
    pub paging: Paging,
}

/// Names are case-sensitive and unique per (group, environment).
pub(super) fn variable_key(group_id: &str, env_id: &str, name: &str) -> String {
    format!("name:{group_id}:{env_id}:{name}")
}

fn name_key(v: &EnvVariable) -> String {
    variable_key(&v.group_id, &v.env_id, &v.variable_name)
}

impl Service {
    async fn put_variable(&self, tx: &mut dyn causeway_store::Txn, v: &EnvVariable) -> Result<()> {
        let body = encode(v)?;
        let doc = NewDocument { kind: kinds::ENV_VARIABLE, id: &v.id, parent: Some(&v.group_id), keys: vec![name_key(v)], body: &body };
        tx.put(doc).await.map_err(store_err(c::VARIABLE_EXISTS, "variable_name"))?;
        Ok(())
    }

    pub async fn create_variable(&self, input: EnvVariableInput) -> Result<EnvVariable> {
        let spec = input.validate()?;
        let mut tx = self.store.begin().await.map_err(system)?;
        if tx.get(kinds::GROUP, &spec.group_id).await.map_err(system)?.is_none() {
            return Err(ApiError::new(c::GROUP_NOT_FOUND));
        }
        if tx.get(kinds::ENV, &spec.env_id).await.map_err(system)?.is_none() {
            return Err(ApiError::new(c::ENV_NOT_FOUND));
        }
        if tx.count(kinds::ENV_VARIABLE, Some(&spec.group_id)).await.map_err(system)? as usize
            >= self.config.limits.variables_per_group
        {
            return Err(ApiError::new(c::VARIABLE_QUOTA));
        }
        let v = EnvVariable {
            id: ids::new_id(),
            group_id: spec.group_id,
            env_id: spec.env_id,
            variable_name: spec.variable_name,
            variable_value: spec.variable_value,
        };
        if tx.find_key(kinds::ENV_VARIABLE, &name_key(&v)).await.map_err(system)?.is_some() {
            return Err(ApiError::field(c::VARIABLE_EXISTS, "variable_name"));
        }
        self.put_variable(&mut *tx, &v).await?;
        self.commit(tx).await?;
        Ok(v)
    }

    pub async fn get_variable(&self, id: &str) -> Result<EnvVariable> {
        self.load(kinds::ENV_VARIABLE, id, c::VARIABLE_NOT_FOUND).await
    }

    pub async fn list_variables(&self, f: &VariableFilter) -> Result<Page<EnvVariable>> {
        let all: Vec<EnvVariable> = self.load_all(kinds::ENV_VARIABLE, f.group_id.as_deref()).await?;
        let matching = all
            .into_iter()
            .filter(|v| f.env_id.as_deref().is_none_or(|e| v.env_id == e))
            .filter(|v| text_matches(&v.variable_name, f.variable_name.as_deref(), f.precise_name))
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// Changes a variable's value (the name, group and environment stay).
    pub async fn update_variable(&self, id: &str, value: Option<String>) -> Result<EnvVariable> {
        let value = causeway_model::rules::required_str("variable_value", value)?;
        check_variable_value("variable_value", &value)?;
        let mut tx = self.store.begin().await.map_err(system)?;
        let doc = tx.get(kinds::ENV_VARIABLE, id).await.map_err(system)?.ok_or_else(|| ApiError::new(c::VARIABLE_NOT_FOUND))?;
        let mut v: EnvVariable = decode(doc)?;
        v.variable_value = value;
        self.put_variable(&mut *tx, &v).await?;
        self.commit(tx).await?;
        Ok(v)
    }

    pub async fn delete_variable(&self, id: &str) -> Result<()> {
        let mut tx = self.store.begin().await.map_err(system)?;
        if !tx.delete(kinds::ENV_VARIABLE, id).await.map_err(system)? {
            return Err(ApiError::new(c::VARIABLE_NOT_FOUND));
        }
        self.commit(tx).await?;
        Ok(())
    }
}
