//! Apps and their AppCodes. App names and app keys are unique in the
//! installation (the gateway finds an app by its key); AppCodes are unique
//! too, because a call carrying one names no app.

use causeway_model::app::{App, AppCode, AppCodeInput, AppInput, AppSummary, MAX_APP_CODES, SecretInput, generate};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_sign::sdk::sha256_hex;
use causeway_store::NewDocument;

use super::tx::Tx;
use super::{Page, Paging, Service, c, encode, text_matches};

/// An app in a list, with how many API authorizations it has (`bind_num`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AppListItem {
    #[serde(flatten)]
    pub app: App,
    pub bind_num: usize,
}

#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    pub id: Option<String>,
    pub name: Option<String>,
    pub precise_name: bool,
    pub app_key: Option<String>,
    pub paging: Paging,
}

fn name_key(name: &str) -> String {
    format!("name:{name}")
}

pub(crate) fn app_key_key(app_key: &str) -> String {
    format!("key:{app_key}")
}

/// An AppCode is found by its SHA-256, so the store's keys do not give it away.
pub(crate) fn app_code_key(code: &str) -> String {
    format!("code-sha256:{}", sha256_hex(code.as_bytes()))
}

/// The key AppCodes were found by before: the code itself.
const CLEAR_CODE_KEY: &str = "code:";

impl Service {
    /// Re-keys AppCodes stored by their clear value (before codes were
    /// sealed) by their hash; returns how many it re-keyed.
    pub(crate) async fn rekey_app_codes(&self) -> Result<usize> {
        let mut tx = self.begin().await?;
        let clear: Vec<String> = tx.list_keys(kinds::APP_CODE).await?.into_iter().filter(|(key, _)| key.starts_with(CLEAR_CODE_KEY)).map(|(_, id)| id).collect();
        for id in &clear {
            let Some(doc) = tx.get(kinds::APP_CODE, id).await? else { continue };
            let Some(code) = doc.body.get("app_code").and_then(|c| c.as_str()) else { continue };
            let new = NewDocument { kind: kinds::APP_CODE, id, parent: doc.parent.as_deref(), keys: vec![app_code_key(code)], body: &doc.body };
            tx.put(new).await?;
        }
        self.commit(tx).await?;
        Ok(clear.len())
    }

    async fn put_app(&self, tx: &mut Tx, app: &App) -> Result<()> {
        let body = encode(app)?;
        let doc = NewDocument { kind: kinds::APP, id: &app.id, parent: None, keys: vec![name_key(&app.name), app_key_key(&app.app_key)], body: &body };
        // A concurrent writer took the name or the key between our check and this write.
        tx.put_or(doc, |key| {
            if key.starts_with("key:") {
                ApiError::field(c::APP_KEY_EXISTS, "app_key")
            } else {
                ApiError::field(c::APP_NAME_EXISTS, "name")
            }
        })
        .await
    }

    /// Fails with the documented duplicate codes when another app has the name or key.
    async fn check_app_unique(&self, tx: &mut Tx, id: &str, name: &str, app_key: &str) -> Result<()> {
        if tx.key_taken(kinds::APP, &name_key(name), id).await? {
            return Err(ApiError::field(c::APP_NAME_EXISTS, "name"));
        }
        if tx.key_taken(kinds::APP, &app_key_key(app_key), id).await? {
            return Err(ApiError::field(c::APP_KEY_EXISTS, "app_key"));
        }
        Ok(())
    }

    pub async fn create_app(&self, input: AppInput) -> Result<App> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if tx.count(kinds::APP, None).await? >= self.config.limits.apps {
            return Err(ApiError::new(c::APP_QUOTA));
        }
        let now = ids::now();
        let app = App {
            id: ids::new_id(),
            name: spec.name,
            status: 1,
            app_key: spec.app_key.unwrap_or_else(generate::app_key),
            app_secret: spec.app_secret.unwrap_or_else(generate::app_secret),
            creator: "USER".to_string(),
            register_time: now.clone(),
            update_time: now,
            remark: spec.remark,
            app_type: "apig".to_string(),
        };
        self.check_app_unique(&mut tx, &app.id, &app.name, &app.app_key).await?;
        self.put_app(&mut tx, &app).await?;
        self.commit(tx).await?;
        Ok(app)
    }

    pub async fn get_app(&self, id: &str) -> Result<App> {
        self.load(kinds::APP, id, c::APP_NOT_FOUND).await
    }

    /// Name, id and remark only: what a caller who does not own the app may learn.
    pub async fn validate_app(&self, id: &str) -> Result<AppSummary> {
        let app = self.get_app(id).await?;
        Ok(AppSummary { id: app.id, name: app.name, remark: app.remark })
    }

    pub async fn list_apps(&self, f: &AppFilter) -> Result<Page<AppListItem>> {
        let mut all: Vec<App> = self.load_all(kinds::APP, None).await?;
        all.sort_by(|a, b| b.register_time.cmp(&a.register_time).then_with(|| a.id.cmp(&b.id)));
        let auths = self.list(kinds::APP_AUTH, None).await?;
        let matching = all
            .into_iter()
            .filter(|a| f.id.as_deref().is_none_or(|id| a.id == id))
            .filter(|a| f.app_key.as_deref().is_none_or(|k| a.app_key == k))
            .filter(|a| text_matches(&a.name, f.name.as_deref(), f.precise_name))
            .map(|app| AppListItem { bind_num: auths.iter().filter(|d| d.parent.as_deref() == Some(app.id.as_str())).count(), app })
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// Changes the name and remark, and the key or secret when given.
    pub async fn update_app(&self, id: &str, input: AppInput) -> Result<App> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        let mut app: App = tx.load(kinds::APP, id, c::APP_NOT_FOUND).await?;
        app.name = spec.name;
        app.remark = spec.remark;
        if let Some(k) = spec.app_key {
            app.app_key = k;
        }
        if let Some(s) = spec.app_secret {
            app.app_secret = s;
        }
        app.update_time = ids::now();
        self.check_app_unique(&mut tx, &app.id, &app.name, &app.app_key).await?;
        self.put_app(&mut tx, &app).await?;
        self.commit(tx).await?;
        Ok(app)
    }

    /// `PUT /apps/secret/{id}`: the given secret, or a new random one.
    pub async fn reset_app_secret(&self, id: &str, input: SecretInput) -> Result<App> {
        let secret = input.validate()?;
        let mut tx = self.begin().await?;
        let mut app: App = tx.load(kinds::APP, id, c::APP_NOT_FOUND).await?;
        app.app_secret = secret.unwrap_or_else(generate::app_secret);
        app.update_time = ids::now();
        self.put_app(&mut tx, &app).await?;
        self.commit(tx).await?;
        Ok(app)
    }

    /// Deletes an app with its AppCodes and authorizations.
    pub async fn delete_app(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::APP, id).await? {
            return Err(ApiError::new(c::APP_NOT_FOUND));
        }
        // Its AppCodes and authorizations go with it.
        for kind in [kinds::APP_CODE, kinds::APP_AUTH] {
            tx.delete_children(kind, id).await?;
        }
        tx.delete(kinds::APP, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// `POST` (given code) or `PUT` (generated, `None`) `/apps/{app_id}/app-codes`.
    pub async fn create_app_code(&self, app_id: &str, input: Option<AppCodeInput>) -> Result<AppCode> {
        let code = match input {
            Some(i) => i.validate()?,
            None => generate::app_code(),
        };
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::APP, app_id).await? {
            return Err(ApiError::new(c::APP_NOT_FOUND));
        }
        if tx.count(kinds::APP_CODE, Some(app_id)).await? >= MAX_APP_CODES {
            return Err(ApiError::new(c::APP_CODE_QUOTA));
        }
        // A code identifies its app on its own: no two apps may share one.
        let in_use = || {
            let mut e = ApiError::invalid("app_code");
            e.message = "Invalid parameter value,parameterName:app_code. The AppCode is already in use".to_string();
            e
        };
        if tx.find_key(kinds::APP_CODE, &app_code_key(&code)).await?.is_some() {
            return Err(in_use());
        }
        let record = AppCode { id: ids::new_id(), app_code: code, app_id: app_id.to_string(), create_time: ids::now() };
        let body = encode(&record)?;
        let doc = NewDocument { kind: kinds::APP_CODE, id: &record.id, parent: Some(app_id), keys: vec![app_code_key(&record.app_code)], body: &body };
        tx.put_or(doc, |_| in_use()).await?;
        self.commit(tx).await?;
        Ok(record)
    }

    pub async fn list_app_codes(&self, app_id: &str, paging: &Paging) -> Result<Page<AppCode>> {
        self.get_app(app_id).await?;
        let mut all: Vec<AppCode> = self.load_all(kinds::APP_CODE, Some(app_id)).await?;
        all.sort_by(|a, b| b.create_time.cmp(&a.create_time).then_with(|| a.id.cmp(&b.id)));
        Ok(Page::of(all, paging))
    }

    pub async fn get_app_code(&self, app_id: &str, id: &str) -> Result<AppCode> {
        self.get_app(app_id).await?;
        let code: AppCode = self.load(kinds::APP_CODE, id, c::APP_CODE_NOT_FOUND).await?;
        if code.app_id != app_id {
            return Err(ApiError::new(c::APP_CODE_NOT_FOUND));
        }
        Ok(code)
    }

    pub async fn delete_app_code(&self, app_id: &str, id: &str) -> Result<()> {
        self.get_app_code(app_id, id).await?;
        self.delete_doc(kinds::APP_CODE, c::APP_CODE_NOT_FOUND, id).await
    }
}
