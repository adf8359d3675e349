//! App authorizations: which apps may call which APP-authenticated APIs in
//! which environment. Only an API published in the environment with
//! `auth_type` APP (in its published version) can be authorized.

use std::collections::HashMap;

use causeway_model::api::AuthType;
use causeway_model::app::{App, AppAuth, AppAuthInput};
use causeway_model::env::Env;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

/// One (API, app) pair of a `POST /app-auths`.
#[derive(Debug, Clone, Serialize)]
pub struct AuthOutcome {
    pub id: String,
    pub api_id: String,
    pub app_id: String,
    pub auth_time: String,
    pub auth_role: String,
    pub auth_result: AuthResult,
}

/// `SUCCESS` for a new authorization, `SKIPPED` when it already existed.
#[derive(Debug, Clone, Serialize)]
pub struct AuthResult {
    pub status: &'static str,
    pub error_code: String,
    pub error_msg: String,
    pub api_name: String,
    pub app_name: String,
}

/// An authorization with the names around it, as the binding queries list it.
#[derive(Debug, Clone, Serialize)]
pub struct AuthView {
    pub id: String,
    pub api_id: String,
    pub api_name: String,
    pub api_type: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_remark: Option<String>,
    pub group_id: String,
    pub group_name: String,
    pub env_id: String,
    pub env_name: String,
    pub app_id: String,
    pub app_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_remark: Option<String>,
    pub app_type: String,
    pub app_creator: String,
    pub auth_role: String,
    pub auth_time: String,
    /// The API's publication in the environment, when it is online there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_id: Option<String>,
}

/// A published APP API an app is not yet authorized for.
#[derive(Debug, Clone, Serialize)]
pub struct UnboundApi {
    pub id: String,
    pub name: String,
    pub group_id: String,
    pub group_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    pub run_env_id: String,
    pub run_env_name: String,
    pub publish_id: String,
    pub auth_type: AuthType,
    pub req_method: causeway_model::api::Method,
    pub req_uri: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuthFilter {
    pub app_id: Option<String>,
    pub api_id: Option<String>,
    pub env_id: Option<String>,
    pub group_id: Option<String>,
    pub api_name: Option<String>,
    pub app_name: Option<String>,
    pub paging: Paging,
}

fn pair_key(api_id: &str, app_id: &str, env_id: &str) -> String {
    format!("pair:{api_id}:{app_id}:{env_id}")
}

/// The definition an API serves in an environment, if it is published there.
async fn published_api(tx: &mut Tx, api_id: &str, env_id: &str) -> Result<Option<(Publication, ApiVersion)>> {
    let key = format!("api_env:{api_id}:{env_id}");
    let Some(doc) = tx.find_key(kinds::PUBLICATION, &key).await? else { return Ok(None) };
    let publication: Publication = decode(doc)?;
    Ok(tx.get_as(kinds::API_VERSION, &publication.version_id).await?.map(|v| (publication, v)))
}

impl Service {
    pub async fn create_app_auths(&self, input: AppAuthInput) -> Result<Vec<AuthOutcome>> {
        let spec = input.validate()?;
        let mut tx = self.begin().await?;
        if !tx.exists(kinds::ENV, &spec.env_id).await? {
            return Err(ApiError::new(c::ENV_NOT_FOUND));
        }
        let mut apps = Vec::with_capacity(spec.app_ids.len());
        for id in &spec.app_ids {
            apps.push(tx.load::<App>(kinds::APP, id, c::APP_NOT_FOUND).await?);
        }
        let mut apis = Vec::with_capacity(spec.api_ids.len());
        for id in &spec.api_ids {
            if !tx.exists(kinds::API, id).await? {
                return Err(ApiError::new(c::API_NOT_FOUND));
            }
            let (_, version) = published_api(&mut tx, id, &spec.env_id).await?.ok_or_else(|| ApiError::new(c::PUBLICATION_NOT_FOUND))?;
            if version.api.auth_type != AuthType::App {
                let mut e = ApiError::invalid("api_ids");
                e.message = format!("Invalid parameter value,parameterName:api_ids. The API {id} does not use APP authentication in this environment");
                return Err(e);
            }
            apis.push(version.api);
        }
        let mut out = Vec::with_capacity(apis.len() * apps.len());
        for api in &apis {
            for app in &apps {
                let key = pair_key(&api.id, &app.id, &spec.env_id);
                let (auth, status) = match tx.find_key(kinds::APP_AUTH, &key).await? {
                    Some(doc) => (decode::<AppAuth>(doc)?, "SKIPPED"),
                    None => {
                        let auth = AppAuth {
                            id: ids::new_id(),
                            api_id: api.id.clone(),
                            app_id: app.id.clone(),
                            env_id: spec.env_id.clone(),
                            auth_time: ids::now(),
                            auth_role: "PROVIDER".to_string(),
                        };
                        let body = encode(&auth)?;
                        tx.put(NewDocument { kind: kinds::APP_AUTH, id: &auth.id, parent: Some(&app.id), keys: vec![key], body: &body }).await?;
                        (auth, "SUCCESS")
                    }
                };
                out.push(AuthOutcome {
                    id: auth.id,
                    api_id: auth.api_id,
                    app_id: auth.app_id,
                    auth_time: auth.auth_time,
                    auth_role: auth.auth_role,
                    auth_result: AuthResult {
                        status,
                        error_code: String::new(),
                        error_msg: String::new(),
                        api_name: api.name.clone(),
                        app_name: app.name.clone(),
                    },
                });
            }
        }
        self.commit(tx).await?;
        Ok(out)
    }

    pub async fn delete_app_auth(&self, id: &str) -> Result<()> {
        self.delete_doc(kinds::APP_AUTH, c::APP_AUTH_NOT_FOUND, id).await
    }

    /// Authorizations with their API, app, group and environment names.
    async fn auth_views(&self, keep: impl Fn(&AppAuth) -> bool) -> Result<Vec<AuthView>> {
        let auths: Vec<AppAuth> = self.load_all(kinds::APP_AUTH, None).await?;
        let auths: Vec<AppAuth> = auths.into_iter().filter(|a| keep(a)).collect();
        if auths.is_empty() {
            return Ok(Vec::new());
        }
        let apps: HashMap<String, App> = self.load_all::<App>(kinds::APP, None).await?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let apis: HashMap<String, causeway_model::api::Api> =
            self.load_all::<causeway_model::api::Api>(kinds::API, None).await?.into_iter().map(|a| (a.id.clone(), a)).collect();
        let (groups, envs) = (self.group_names().await?, self.env_names().await?);
        let pubs: HashMap<(String, String), String> = self
            .load_all::<Publication>(kinds::PUBLICATION, None)
            .await?
            .into_iter()
            .map(|p| ((p.api_id, p.env_id), p.publish_id))
            .collect();
        let mut views: Vec<AuthView> = auths
            .into_iter()
            .filter_map(|a| {
                let (api, app) = (apis.get(&a.api_id)?, apps.get(&a.app_id)?);
                Some(AuthView {
                    api_name: api.name.clone(),
                    api_type: api.api_type,
                    api_remark: api.remark.clone(),
                    group_id: api.group_id.clone(),
                    group_name: groups.of(&api.group_id),
                    env_name: envs.of(&a.env_id),
                    app_name: app.name.clone(),
                    app_remark: app.remark.clone(),
                    app_type: app.app_type.clone(),
                    app_creator: app.creator.clone(),
                    publish_id: pubs.get(&(a.api_id.clone(), a.env_id.clone())).cloned(),
                    id: a.id,
                    api_id: a.api_id,
                    env_id: a.env_id,
                    app_id: a.app_id,
                    auth_role: a.auth_role,
                    auth_time: a.auth_time,
                })
            })
            .collect();
        views.sort_by(|a, b| b.auth_time.cmp(&a.auth_time).then_with(|| a.id.cmp(&b.id)));
        Ok(views)
    }

    /// `GET /app-auths/binded-apis`: the APIs an app may call.
    pub async fn bound_apis(&self, f: &AuthFilter) -> Result<Page<AuthView>> {
        let app_id = f.app_id.clone().ok_or_else(|| ApiError::required("app_id"))?;
        self.get_app(&app_id).await?;
        let views = self.auth_views(|a| a.app_id == app_id && f.env_id.as_deref().is_none_or(|e| a.env_id == e)).await?;
        let matching = views
            .into_iter()
            .filter(|v| f.group_id.as_deref().is_none_or(|g| v.group_id == g))
            .filter(|v| text_matches(&v.api_name, f.api_name.as_deref(), false))
            .collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// `GET /app-auths/binded-apps`: the apps that may call an API.
    pub async fn bound_apps(&self, f: &AuthFilter) -> Result<Page<AuthView>> {
        let api_id = f.api_id.clone().ok_or_else(|| ApiError::required("api_id"))?;
        self.load::<causeway_model::api::Api>(kinds::API, &api_id, c::API_NOT_FOUND).await?;
        let views = self.auth_views(|a| a.api_id == api_id && f.env_id.as_deref().is_none_or(|e| a.env_id == e)).await?;
        let matching = views.into_iter().filter(|v| text_matches(&v.app_name, f.app_name.as_deref(), false)).collect();
        Ok(Page::of(matching, &f.paging))
    }

    /// `GET /app-auths/unbinded-apis`: APP APIs published in the environment the app may not call yet.
    pub async fn unbound_apis(&self, f: &AuthFilter) -> Result<Page<UnboundApi>> {
        let app_id = f.app_id.clone().ok_or_else(|| ApiError::required("app_id"))?;
        let env_id = f.env_id.clone().ok_or_else(|| ApiError::required("env_id"))?;
        self.get_app(&app_id).await?;
        let env: Env = self.load(kinds::ENV, &env_id, c::ENV_NOT_FOUND).await?;
        let authorized: std::collections::HashSet<String> = self
            .load_all::<AppAuth>(kinds::APP_AUTH, Some(&app_id))
            .await?
            .into_iter()
            .filter(|a| a.env_id == env_id)
            .map(|a| a.api_id)
            .collect();
        let groups = self.group_names().await?;
        let mut out = Vec::new();
        let keep = |p: &Publication| p.env_id == env_id && !authorized.contains(&p.api_id) && f.group_id.as_deref().is_none_or(|g| g == p.group_id);
        for (p, version) in self.published(keep).await? {
            let api = version.api;
            if api.auth_type != AuthType::App || !text_matches(&api.name, f.api_name.as_deref(), false) {
                continue;
            }
            out.push(UnboundApi {
                group_name: groups.of(&api.group_id),
                id: api.id,
                name: api.name,
                group_id: api.group_id,
                remark: api.remark,
                run_env_id: env.id.clone(),
                run_env_name: env.name.clone(),
                publish_id: p.publish_id,
                auth_type: api.auth_type,
                req_method: api.req_method,
                req_uri: api.req_uri,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        Ok(Page::of(out, &f.paging))
    }

    /// Removes the authorizations matching `drop` (when their API, app or environment goes).
    pub(super) async fn drop_app_auths(tx: &mut Tx, drop: impl Fn(&AppAuth) -> bool) -> Result<()> {
        for doc in tx.list(kinds::APP_AUTH, None).await? {
            let id = doc.id.clone();
            if drop(&decode::<AppAuth>(doc)?) {
                tx.delete(kinds::APP_AUTH, &id).await?;
            }
        }
        Ok(())
    }
}
