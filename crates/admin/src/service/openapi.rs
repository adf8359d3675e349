//! OpenAPI (Swagger) import and export over the service operations: an
//! import creates or updates each API on its own and answers per API, as
//! Huawei APIG's does; an export writes what is published in an
//! environment (or the drafts).

use std::collections::HashMap;

use causeway_model::acl::{Acl, AclBinding, AclBindingInput};
use causeway_model::api::{Api, ApiInput};
use causeway_model::app::App;
use causeway_model::authorizer::Authorizer;
use causeway_model::channel::Channel;
use causeway_model::env::Env;
use causeway_model::group::{Group, GroupInput};
use causeway_model::openapi::{self, Define, Format, OasVersion, export, import};
use causeway_model::publish::{ApiVersion, PublishInput, Publication};
use causeway_model::response::GatewayResponse;
use causeway_model::rules::Dialect;
use causeway_model::throttle::{Throttle, ThrottleBinding, ThrottleBindingInput, ThrottleSpecial, ThrottleSpecialInput};
use causeway_model::{ApiError, Result, ids, kinds};
use serde::Serialize;

use super::{Service, c};

/// What to do with something that already exists (`merge` keeps it, `override` replaces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Conflict {
    #[default]
    Merge,
    Override,
}

impl Conflict {
    pub fn parse(field: &str, s: Option<&str>) -> Result<Self> {
        match s.map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("merge") => Ok(Conflict::Merge),
            Some("override") => Ok(Conflict::Override),
            Some(_) => Err(ApiError::invalid(field)),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    pub document: Vec<u8>,
    /// The group to import into; a new group named by `info.title` when absent.
    pub group_id: Option<String>,
    /// APIs of the group with the same method, path and match mode.
    pub api_mode: Conflict,
    /// Throttling and access-control policies, authorizers and gateway responses of the same name.
    pub extend_mode: Conflict,
    pub mock_mode: bool,
    pub dialect: Dialect,
    /// Causeway: publish every imported API in this environment and bind the policies it names.
    pub publish_env_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ImportResult {
    pub group_id: String,
    pub success: Vec<ImportSuccess>,
    pub failure: Vec<ImportFailure>,
    pub ignore: Vec<ImportIgnore>,
    pub swagger: SwaggerRecord,
}

#[derive(Debug, Serialize)]
pub struct ImportSuccess {
    pub id: String,
    /// `create` or `update`.
    pub action: &'static str,
    pub method: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct ImportFailure {
    /// An API that was created but could not be published or bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub error_code: &'static str,
    pub error_msg: String,
    pub method: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct ImportIgnore {
    pub method: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct SwaggerRecord {
    pub id: String,
    /// `Success` when every API was imported, `Failure` otherwise.
    pub result: &'static str,
}

#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub group_id: String,
    /// Required unless `define` is `dev`.
    pub env_id: Option<String>,
    pub define: Define,
    pub oas: OasVersion,
    pub format: Format,
    /// `info.version`; the current time when absent.
    pub version: Option<String>,
    /// Only these APIs (all of the group when absent).
    pub api_ids: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct ExportedDocument {
    pub text: String,
    pub format: Format,
    /// `<group>-<env>-<define>-<version>.<json|yaml>`.
    pub file_name: String,
}

/// Names → ids of what imported APIs may refer to.
struct Refs {
    channels: HashMap<String, String>,
    authorizers: HashMap<String, String>,
    responses: HashMap<String, String>,
    throttles: HashMap<String, String>,
    acls: HashMap<String, String>,
}

impl Refs {
    /// The id of `name_or_id` in `map` (by name, or an id that exists).
    fn find(map: &HashMap<String, String>, name_or_id: &str) -> Option<String> {
        map.get(name_or_id).cloned().or_else(|| map.values().find(|id| *id == name_or_id).cloned())
    }
}

impl Service {
    pub async fn import_openapi(&self, req: ImportRequest) -> Result<ImportResult> {
        let doc = openapi::parse(&req.document)?;
        let opts = import::Options {
            mock_mode: req.mock_mode,
                        max_apis: self.config.limits.apis_per_group,
            dialect: req.dialect,
        };
        let imported = import::read(&doc, &opts)?;
        if let Some(env) = &req.publish_env_id {
            self.load::<Env>(kinds::ENV, env, c::ENV_NOT_FOUND).await?;
        }
        let group_id = match &req.group_id {
            Some(id) => self.load::<Group>(kinds::GROUP, id, c::GROUP_NOT_FOUND).await?.id,
            None => {
                let title = imported.title.clone().filter(|t| !t.trim().is_empty()).ok_or_else(|| ApiError::required("info.title"))?;
                let rule = req.dialect.name_rule(causeway_model::rules::DISPLAY_NAME);
                let name = if rule.accepts(&title) { title } else { import::fit(&rule, title.trim()) };
                let remark = imported.description.clone().map(|d| d.chars().take(req.dialect.max_remark()).collect());
                let input = GroupInput { name: Some(name), remark, dialect: req.dialect, ..Default::default() };
                self.create_group(input).await?.group.id
            }
        };
        let mut failure = Vec::new();
        self.import_policies(&imported, &group_id, req.extend_mode, &mut failure).await?;
        let refs = self.import_refs(&group_id).await?;
        let existing: HashMap<String, String> =
            self.load_all::<Api>(kinds::API, Some(&group_id)).await?.into_iter().map(|a| (a.route_key(), a.id)).collect();
        let (mut success, mut ignore) = (Vec::new(), Vec::new());
        for item in imported.apis {
            let fail = |e: ApiError, item: &import::ImportedApi| ImportFailure { id: None, error_code: e.code, error_msg: e.message, method: item.method.clone(), path: item.path.clone() };
            let draft = match &item.draft {
                Ok(_) => item.draft.as_ref().ok(),
                Err(e) => {
                    failure.push(fail(e.clone(), &item));
                    continue;
                }
            };
            let Some(draft) = draft else { continue };
            let mut input = draft.input.clone();
            input.group_id = Some(group_id.clone());
            if let Err(e) = resolve_refs(&mut input, &refs) {
                failure.push(fail(e, &item));
                continue;
            }
            // The route decides whether the API exists already (validation errors are reported by create).
            let route = input.clone().validate(&self.config.limits).map(|a| a.route_key()).ok();
            let outcome = match route.as_ref().and_then(|r| existing.get(r)) {
                Some(_) if req.api_mode == Conflict::Merge => {
                    ignore.push(ImportIgnore { method: item.method.clone(), path: item.path.clone() });
                    continue;
                }
                Some(id) => self.update_api(id, input).await.map(|v| ("update", v.api.id)),
                None => self.create_api(input).await.map(|v| ("create", v.api.id)),
            };
            let (action, id) = match outcome {
                Ok(done) => done,
                Err(e) => {
                    failure.push(fail(e, &item));
                    continue;
                }
            };
            if let Some(env) = &req.publish_env_id
                && let Err(e) = self.publish_imported(&id, env, draft, &refs).await
            {
                failure.push(ImportFailure { id: Some(id), ..fail(e, &item) });
                continue;
            }
            success.push(ImportSuccess { id, action, method: item.method.clone(), path: item.path.clone() });
        }
        let result = if failure.is_empty() { "Success" } else { "Failure" };
        Ok(ImportResult { group_id, success, failure, ignore, swagger: SwaggerRecord { id: ids::new_id(), result } })
    }

    /// Creates the throttling and access-control policies, custom authorizers
    /// and gateway responses the document declares; one that exists is kept
    /// (`merge`) or replaced (`override`). A refused one is reported with its name.
    async fn import_policies(&self, imported: &import::Imported, group_id: &str, mode: Conflict, failure: &mut Vec<ImportFailure>) -> Result<()> {
        let report = |failure: &mut Vec<ImportFailure>, at: String, e: ApiError| {
            failure.push(ImportFailure { id: None, error_code: e.code, error_msg: e.message, method: String::new(), path: at })
        };
        let throttles: HashMap<String, String> = self.load_all::<Throttle>(kinds::THROTTLE, None).await?.into_iter().map(|t| (t.name, t.id)).collect();
        let apps: Vec<App> = self.load_all(kinds::APP, None).await?;
        for t in &imported.throttles {
            let name = t.input.name.clone().unwrap_or_default();
            let input = t.input.clone();
            let done = match throttles.get(&name) {
                // Kept as it is, special limits included.
                Some(_) if mode == Conflict::Merge => continue,
                Some(id) => self.update_throttle(id, input).await.map(|v| v.throttle.id),
                None => self.create_throttle(input).await.map(|v| v.throttle.id),
            };
            let id = match done {
                Ok(id) => id,
                Err(e) => {
                    report(failure, format!("x-apigateway-ratelimits.{name}"), e);
                    continue;
                }
            };
            let have: Vec<ThrottleSpecial> = self.load_all(kinds::THROTTLE_SPECIAL, Some(&id)).await?;
            for (kind, instance, limit) in &t.specials {
                // An app may be named by its id or its name.
                let instance_id = apps.iter().find(|a| &a.id == instance || &a.name == instance).map_or(instance.clone(), |a| a.id.clone());
                if have.iter().any(|s| s.instance_id == instance_id) {
                    continue;
                }
                let input = ThrottleSpecialInput { strategy_id: Some(id.clone()), instance_id: Some(instance_id), instance_type: Some(kind.clone()), call_limits: Some(*limit) };
                if let Err(e) = self.create_throttle_special(input).await {
                    report(failure, format!("x-apigateway-ratelimits.{name}.special"), e);
                }
            }
        }
        let acls: HashMap<String, String> = self.load_all::<Acl>(kinds::ACL, None).await?.into_iter().map(|a| (a.acl_name, a.id)).collect();
        for a in &imported.acls {
            let name = a.acl_name.clone().unwrap_or_default();
            let input = a.clone();
            let done = match acls.get(&name) {
                Some(_) if mode == Conflict::Merge => Ok(()),
                Some(id) => self.update_acl(id, input).await.map(|_| ()),
                None => self.create_acl(input).await.map(|_| ()),
            };
            if let Err(e) = done {
                report(failure, format!("x-apigateway-access-controls.{name}"), e);
            }
        }
        let authorizers: HashMap<String, String> = self.load_all::<Authorizer>(kinds::AUTHORIZER, None).await?.into_iter().map(|a| (a.name, a.id)).collect();
        for a in &imported.authorizers {
            let name = a.name.clone().unwrap_or_default();
            let input = a.clone();
            let done = match authorizers.get(&name) {
                Some(_) if mode == Conflict::Merge => Ok(()),
                Some(id) => self.update_authorizer(id, input).await.map(|_| ()),
                None => self.create_authorizer(input).await.map(|_| ()),
            };
            if let Err(e) = done {
                report(failure, format!("securityDefinitions.{name}"), e);
            }
        }
        let responses: HashMap<String, String> = self.list_responses(group_id).await?.into_iter().map(|r| (r.name, r.id)).collect();
        for r in &imported.responses {
            let name = r.name.clone().unwrap_or_default();
            let input = r.clone();
            let done = match responses.get(&name) {
                Some(_) if mode == Conflict::Merge => Ok(()),
                Some(id) => self.update_response(group_id, id, input).await.map(|_| ()),
                None => self.create_response(group_id, input).await.map(|_| ()),
            };
            if let Err(e) = done {
                report(failure, format!("x-apigateway-responses.{name}"), e);
            }
        }
        Ok(())
    }

    async fn import_refs(&self, group_id: &str) -> Result<Refs> {
        let by_name = |pairs: Vec<(String, String)>| pairs.into_iter().collect::<HashMap<_, _>>();
        Ok(Refs {
            channels: by_name(self.load_all::<Channel>(kinds::CHANNEL, None).await?.into_iter().map(|c| (c.name, c.id)).collect()),
            authorizers: by_name(self.load_all::<Authorizer>(kinds::AUTHORIZER, None).await?.into_iter().map(|a| (a.name, a.id)).collect()),
            responses: by_name(self.list_responses(group_id).await?.into_iter().map(|r| (r.name, r.id)).collect()),
            throttles: by_name(self.load_all::<Throttle>(kinds::THROTTLE, None).await?.into_iter().map(|t| (t.name, t.id)).collect()),
            acls: by_name(self.load_all::<Acl>(kinds::ACL, None).await?.into_iter().map(|a| (a.acl_name, a.id)).collect()),
        })
    }

    /// Publishes an imported API and binds the policies its operation names.
    async fn publish_imported(&self, api_id: &str, env_id: &str, draft: &import::ApiDraft, refs: &Refs) -> Result<()> {
        let p = self.publish(api_id, PublishInput { env_id: Some(env_id.to_string()), remark: None }).await?;
        if let Some(name) = &draft.throttle {
            let id = Refs::find(&refs.throttles, name).ok_or_else(|| ApiError::field(c::THROTTLE_NOT_FOUND, "x-apigateway-ratelimit"))?;
            let bound: Vec<ThrottleBinding> = self.load_all(kinds::THROTTLE_BINDING, Some(&id)).await?;
            if !bound.iter().any(|b| b.publish_id == p.publish_id) {
                self.bind_throttle(ThrottleBindingInput { strategy_id: Some(id), publish_ids: Some(vec![p.publish_id.clone()]) }).await?;
            }
        }
        for name in &draft.acls {
            let id = Refs::find(&refs.acls, name).ok_or_else(|| ApiError::field(c::ACL_NOT_FOUND, "x-apigateway-access-control"))?;
            let bound: Vec<AclBinding> = self.load_all(kinds::ACL_BINDING, Some(&id)).await?;
            if !bound.iter().any(|b| b.publish_id == p.publish_id) {
                self.bind_acl(AclBindingInput { acl_id: Some(id), publish_ids: Some(vec![p.publish_id.clone()]) }).await?;
            }
        }
        Ok(())
    }

    pub async fn export_openapi(&self, req: ExportRequest) -> Result<ExportedDocument> {
        let group: Group = self.load(kinds::GROUP, &req.group_id, c::GROUP_NOT_FOUND).await?;
        let env: Option<Env> = match &req.env_id {
            Some(id) => Some(self.load(kinds::ENV, id, c::ENV_NOT_FOUND).await?),
            None if req.define == Define::Dev => None,
            None => return Err(ApiError::required("env_id")),
        };
        let drafts: Vec<Api> = self.load_all(kinds::API, Some(&group.id)).await?;
        let wanted = |id: &str| req.api_ids.as_ref().is_none_or(|ids| ids.iter().any(|w| w == id));
        // What is exported, with the publication each was found by (for its bindings).
        let mut apis: Vec<(Api, Option<String>)> = Vec::new();
        for draft in drafts.into_iter().filter(|a| wanted(&a.id)) {
            let publication = match &env {
                Some(env) => self.load_all::<Publication>(kinds::PUBLICATION, Some(&draft.id)).await?.into_iter().find(|p| p.env_id == env.id),
                None => None,
            };
            if req.define == Define::Dev {
                apis.push((draft, publication.map(|p| p.publish_id)));
            } else if let Some(p) = publication {
                let version: ApiVersion = self.load(kinds::API_VERSION, &p.version_id, c::API_NOT_FOUND).await?;
                apis.push((version.api, Some(p.publish_id)));
            }
        }
        apis.sort_by(|a, b| (&a.0.req_uri, a.0.req_method.as_str(), a.0.match_mode.as_str()).cmp(&(&b.0.req_uri, b.0.req_method.as_str(), b.0.match_mode.as_str())));
        let throttles: Vec<Throttle> = self.load_all(kinds::THROTTLE, None).await?;
        let specials: Vec<ThrottleSpecial> = self.load_all(kinds::THROTTLE_SPECIAL, None).await?;
        let acls: Vec<Acl> = self.load_all(kinds::ACL, None).await?;
        let throttle_bindings: HashMap<String, String> =
            self.load_all::<ThrottleBinding>(kinds::THROTTLE_BINDING, None).await?.into_iter().map(|b| (b.publish_id, b.strategy_id)).collect();
        let acl_bindings: Vec<AclBinding> = self.load_all(kinds::ACL_BINDING, None).await?;
        let authorizers: Vec<Authorizer> = self.load_all(kinds::AUTHORIZER, None).await?;
        let channels: Vec<Channel> = self.load_all(kinds::CHANNEL, None).await?;
        let responses = self.list_responses(&group.id).await?;
        let exported: Vec<export::ExportedApi> = apis
            .iter()
            .map(|(api, publish_id)| {
                let publish_id = publish_id.as_deref().unwrap_or_default();
                export::ExportedApi {
                    api,
                    throttle: throttle_bindings.get(publish_id).and_then(|id| throttles.iter().find(|t| &t.id == id)).map(|t| t.name.as_str()),
                    acls: acl_bindings
                        .iter()
                        .filter(|b| b.publish_id == publish_id)
                        .filter_map(|b| acls.iter().find(|a| a.id == b.acl_id).map(|a| a.acl_name.as_str()))
                        .collect(),
                }
            })
            .collect();
        // Only the policies the exported APIs use.
        let used_throttles: Vec<(&Throttle, Vec<&ThrottleSpecial>)> = throttles
            .iter()
            .filter(|t| exported.iter().any(|e| e.throttle == Some(t.name.as_str())))
            .map(|t| (t, specials.iter().filter(|s| s.strategy_id == t.id).collect()))
            .collect();
        let used_acls: Vec<&Acl> = acls.iter().filter(|a| exported.iter().any(|e| e.acls.contains(&a.acl_name.as_str()))).collect();
        let version = req.version.clone().unwrap_or_else(export_version);
        let host = group
            .url_domains
            .iter()
            .find_map(|d| d.get("domain").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_else(|| group.sl_domain.clone());
        let doc = export::write(&export::Export {
            oas: req.oas,
            define: req.define,
            title: &group.name,
            description: group.remark.as_deref(),
            version: &version,
            host: &host,
            apis: exported,
            context: export::Context {
                channels: channels.iter().map(|c| (c.id.clone(), c.name.clone())).collect(),
                authorizers: authorizers.iter().map(|a| (a.id.clone(), a)).collect(),
                responses: responses.iter().collect::<Vec<&GatewayResponse>>(),
                throttles: used_throttles,
                acls: used_acls,
            },
        });
        let text = openapi::to_text(&doc, req.format)?;
        let env_name = env.as_ref().map_or("DEV", |e| e.name.as_str());
        let define = match req.define {
            Define::Base => "base",
            Define::Full => "full",
            Define::All => "all",
            Define::Dev => "dev",
        };
        let file_name = format!("{}-{env_name}-{define}-{version}.{}", group.name, req.format.extension()).replace(['/', '\\', '"', ':'], "_");
        Ok(ExportedDocument { text, format: req.format, file_name })
    }
}

/// `info.version` of an export: now, as `YYYY-MM-DD-HH:MM:SS`.
fn export_version() -> String {
    let now = ids::now();
    // `ids::now()` is RFC 3339 (`2024-01-02T03:04:05Z`).
    now.get(..19).map(|s| s.replacen('T', "-", 1)).unwrap_or(now)
}

/// Replaces the names an imported API uses for channels, authorizers and
/// its gateway response by their ids.
fn resolve_refs(input: &mut ApiInput, refs: &Refs) -> Result<()> {
    let authorizer = |slot: &mut Option<String>, field: &str| -> Result<()> {
        if let Some(name) = slot.as_deref() {
            *slot = Some(Refs::find(&refs.authorizers, name).ok_or_else(|| ApiError::field(c::AUTHORIZER_NOT_FOUND, field))?);
        }
        Ok(())
    };
    let channel = |slot: Option<&mut causeway_model::api::input::VpcInfoInput>, field: &str| -> Result<()> {
        if let Some(info) = slot
            && let Some(name) = info.vpc_id.as_deref()
        {
            info.vpc_id = Some(Refs::find(&refs.channels, name).ok_or_else(|| ApiError::field(c::CHANNEL_NOT_FOUND, field))?);
        }
        Ok(())
    };
    authorizer(&mut input.authorizer_id, "authorizer_id")?;
    if let Some(b) = &mut input.backend_api {
        authorizer(&mut b.authorizer_id, "backend_api.authorizer_id")?;
        channel(b.vpc_info.as_mut(), "backend_api.vpc_info.vpc_id")?;
    }
    if let Some(f) = &mut input.func_info {
        authorizer(&mut f.authorizer_id, "func_info.authorizer_id")?;
    }
    if let Some(m) = &mut input.mock_info {
        authorizer(&mut m.authorizer_id, "mock_info.authorizer_id")?;
    }
    for (i, p) in input.policy_https.iter_mut().flatten().enumerate() {
        authorizer(&mut p.common.authorizer_id, &format!("policy_https[{i}].authorizer_id"))?;
        channel(p.vpc_info.as_mut(), &format!("policy_https[{i}].vpc_info.vpc_id"))?;
    }
    for (i, p) in input.policy_functions.iter_mut().flatten().enumerate() {
        authorizer(&mut p.common.authorizer_id, &format!("policy_functions[{i}].authorizer_id"))?;
    }
    for (i, p) in input.policy_mocks.iter_mut().flatten().enumerate() {
        authorizer(&mut p.common.authorizer_id, &format!("policy_mocks[{i}].authorizer_id"))?;
    }
    if let Some(name) = input.response_id.as_deref() {
        input.response_id = Some(Refs::find(&refs.responses, name).ok_or_else(|| ApiError::field(c::RESPONSE_NOT_FOUND, "x-apigateway-response"))?);
    }
    Ok(())
}
