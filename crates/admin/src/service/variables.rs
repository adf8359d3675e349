//! Environment variables: values per (group, environment), referenced as `#name#`.

use causeway_model::env::{EnvVariable, EnvVariableInput, check_variable_value};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;

use super::tx::Tx;
use super::{Page, Paging, Service, c, encode, text_matches};

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
    async fn put_variable(&self, tx: &mut Tx, v: &EnvVariable) -> Result<()> {
        let body = encode(v)?;
        let doc = NewDocument { kind: kinds::ENV_VARIABLE, id: &v.id, parent: Some(&v.group_id), keys: vec![name_key(v)], body: &body };
        tx.put_unique(doc, c::VARIABLE_EXISTS, "variable_name").await
    }

    pub async fn create_variable(&self, input: EnvVariableInput) -> Result<EnvVariable> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::GROUP, &spec.group_id).await? {
            return Err(ApiError::new(c::GROUP_NOT_FOUND));
        }
        if !tx.exists(kinds::ENV, &spec.env_id).await? {
            return Err(ApiError::new(c::ENV_NOT_FOUND));
        }
        if tx.count(kinds::ENV_VARIABLE, Some(&spec.group_id)).await? >= self.config.limits.variables_per_group {
            return Err(ApiError::new(c::VARIABLE_QUOTA));
        }
        let v = EnvVariable {
            id: ids::new_id(),
            group_id: spec.group_id,
            env_id: spec.env_id,
            variable_name: spec.variable_name,
            variable_value: spec.variable_value,
        };
        if tx.find_key(kinds::ENV_VARIABLE, &name_key(&v)).await?.is_some() {
            return Err(ApiError::field(c::VARIABLE_EXISTS, "variable_name"));
        }
        self.put_variable(&mut tx, &v).await?;
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
        let mut tx = self.begin().await?;
        let mut v: EnvVariable = tx.load(kinds::ENV_VARIABLE, id, c::VARIABLE_NOT_FOUND).await?;
        v.variable_value = value;
        self.put_variable(&mut tx, &v).await?;
        self.commit(tx).await?;
        Ok(v)
    }

    pub async fn delete_variable(&self, id: &str) -> Result<()> {
        self.delete_doc(kinds::ENV_VARIABLE, c::VARIABLE_NOT_FOUND, id).await
    }
}
