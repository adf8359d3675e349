//! The function registry (a Causeway endpoint): functions with their draft
//! (`latest`), published versions and aliases. Names are unique per package;
//! JavaScript must parse before it is stored; a function that a published
//! API calls cannot be deleted.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use causeway_model::function::{
    AliasInput, Function, FunctionAlias, FunctionFields, FunctionInput, FunctionInvocation, FunctionRuntime, FunctionSpec, FunctionVersion, InvocationStatus, LATEST, Urn,
    is_version,
};
use causeway_model::api::BackendDef;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use serde::Serialize;

use super::tx::Tx;
use super::{Page, Paging, Service, c, decode, encode, text_matches};

/// Parses JavaScript without running it: `Err((line, message))` when it does not.
/// Given by the binary, which holds the engine.
pub type SyntaxCheck = fn(name: &str, source: &str) -> std::result::Result<(), (u32, String)>;

/// Runs a function once with a given event (given by the binary, which holds the runtime).
pub type TestInvoker = Arc<dyn Fn(TestInvocation) -> Pin<Box<dyn Future<Output = TestOutcome> + Send>> + Send + Sync>;

/// What a test invocation runs.
#[derive(Debug, Clone)]
pub struct TestInvocation {
    /// Identifies the code (instances are reused for the same key).
    pub key: String,
    pub name: String,
    pub version: String,
    pub spec: FunctionSpec,
    /// The event as JSON text.
    pub event: String,
    pub request_id: String,
}

/// A console line of a test invocation.
#[derive(Debug, Clone, Serialize)]
pub struct TestLog {
    pub level: String,
    pub message: String,
}

/// The answer to `POST /functions/{id}/invocations`.
#[derive(Debug, Clone, Serialize)]
pub struct TestOutcome {
    /// `success` or `failed`.
    pub status: &'static str,
    /// The handler's value (absent when it returned `undefined` or failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub logs: Vec<TestLog>,
    pub duration_ms: f64,
    pub request_id: String,
}

/// A function as the API shows it: the stored draft plus its URN.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionView {
    #[serde(flatten)]
    pub function: Function,
    pub urn: String,
    pub version: &'static str,
}

impl From<Function> for FunctionView {
    fn from(function: Function) -> Self {
        Self { urn: function.urn(), function, version: LATEST }
    }
}

/// A published version with its URN.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    #[serde(flatten)]
    pub version: FunctionVersion,
    pub urn: String,
}

/// An alias with its URN.
#[derive(Debug, Clone, Serialize)]
pub struct AliasView {
    #[serde(flatten)]
    pub alias: FunctionAlias,
    pub alias_urn: String,
}

#[derive(Debug, Default)]
pub struct FunctionFilter {
    pub name: Option<String>,
    pub package: Option<String>,
}

fn not_found(what: &str) -> ApiError {
    ApiError::detail(c::FUNCTION_NOT_FOUND, &format!("the {what} does not exist"))
}

fn name_key(package: &str, name: &str) -> String {
    format!("fn:{package}:{name}")
}

impl Service {
    /// The functions an API calls exist (seed 004: `404 APIG.3019` "The function URN does not exist"),
    /// and so do the aliases it names.
    pub(crate) async fn check_api_functions(&self, tx: &mut Tx, api: &causeway_model::api::Api) -> Result<()> {
        use causeway_model::function::Urn;
        // (field of the URN, URN, alias URN)
        let mut targets: Vec<(String, &String, Option<&String>)> = Vec::new();
        if let Some(f) = &api.func_info {
            targets.push(("func_info.function_urn".into(), &f.function_urn, f.alias_urn.as_ref()));
            if let Some(urn) = &f.websocket_register_urn {
                targets.push(("func_info.websocket_register_urn".into(), urn, None));
            }
            if let Some(urn) = &f.websocket_cleanup_urn {
                targets.push(("func_info.websocket_cleanup_urn".into(), urn, None));
            }
        }
        for (i, p) in api.policy_functions.iter().enumerate() {
            targets.push((format!("policy_functions[{i}].function_urn"), &p.function_urn, p.alias_urn.as_ref()));
        }
        for (field, urn, alias) in targets {
            let missing = |name: &str| ApiError::field(c::FUNCTION_NOT_FOUND, name);
            let alias_field = field.replace("function_urn", "alias_urn");
            let function = Urn::parse(urn).ok_or_else(|| missing(&field))?;
            let doc = tx.find_key(kinds::FUNCTION, &name_key(&function.package, &function.name)).await?.ok_or_else(|| missing(&field))?;
            if let Some(alias) = alias {
                let a = Urn::parse(alias).filter(|a| a.package == function.package && a.name == function.name).ok_or_else(|| missing(&alias_field))?;
                let name = a.qualifier.ok_or_else(|| missing(&alias_field))?;
                if tx.find_key(kinds::FUNCTION_ALIAS, &format!("fnalias:{}:{name}", doc.id)).await?.is_none() {
                    return Err(missing(&alias_field));
                }
            }
        }
        Ok(())
    }
}

fn fields(f: &Function) -> FunctionFields {
    FunctionFields { name: f.name.clone(), package: f.package.clone(), description: f.description.clone(), spec: f.spec.clone() }
}

fn urn_of(f: &Function, qualifier: &str) -> String {
    Urn { package: f.package.clone(), name: f.name.clone(), qualifier: Some(qualifier.to_string()) }.to_string()
}

impl Service {
    /// Parses the code off the async workers (a large file takes milliseconds).
    async fn check_code(&self, fields: &FunctionFields) -> Result<()> {
        if fields.spec.runtime != FunctionRuntime::Javascript {
            return Ok(());
        }
        let (Some(check), Some(code)) = (self.syntax_check, fields.spec.code.clone()) else { return Ok(()) };
        let name = fields.name.clone();
        let checked = tokio::task::spawn_blocking(move || check(&name, &code)).await.map_err(|e| {
            tracing::error!(error = %e, "syntax check failed to run");
            ApiError::system()
        })?;
        checked.map_err(|(line, message)| {
            let mut e = ApiError::invalid("code");
            e.message = format!("Invalid parameter value,parameterName:code. SyntaxError at line {line}: {message}");
            e
        })
    }

    async fn put_function(&self, tx: &mut Tx, f: &Function) -> Result<()> {
        let body = encode(f)?;
        let doc = NewDocument { kind: kinds::FUNCTION, id: &f.id, parent: None, keys: vec![name_key(&f.package, &f.name)], body: &body };
        tx.put_unique(doc, c::FUNCTION_NAME_EXISTS, "name").await
    }

    pub async fn create_function(&self, input: FunctionInput) -> Result<FunctionView> {
        let checked = input.validate(None)?;
        self.check_code(&checked).await?;
        let now = ids::now();
        let f = Function {
            id: ids::new_id(),
            name: checked.name,
            package: checked.package,
            description: checked.description,
            spec: checked.spec,
            revision: 1,
            create_time: now.clone(),
            update_time: now,
        };
        let mut tx = self.begin().await?;
        self.put_function(&mut tx, &f).await?;
        self.commit(tx).await?;
        Ok(f.into())
    }

    pub async fn list_functions(&self, filter: &FunctionFilter, paging: &Paging) -> Result<Page<FunctionView>> {
        let mut all: Vec<Function> = self.load_all(kinds::FUNCTION, None).await?;
        all.retain(|f| text_matches(&f.name, filter.name.as_deref(), false) && text_matches(&f.package, filter.package.as_deref(), true));
        all.sort_by(|a, b| a.create_time.cmp(&b.create_time).then_with(|| a.id.cmp(&b.id)));
        let page = Page::of(all, paging);
        Ok(Page { total: page.total, items: page.items.into_iter().map(FunctionView::from).collect() })
    }

    async fn function(&self, tx: &mut Tx, id: &str) -> Result<Function> {
        tx.get_as(kinds::FUNCTION, id).await?.ok_or_else(|| not_found("function"))
    }

    pub async fn get_function(&self, id: &str) -> Result<FunctionView> {
        let f: Function = self.get_as(kinds::FUNCTION, id).await?.ok_or_else(|| not_found("function"))?;
        Ok(f.into())
    }

    pub async fn update_function(&self, id: &str, input: FunctionInput) -> Result<FunctionView> {
        let mut tx = self.begin().await?;
        let old = self.function(&mut tx, id).await?;
        let renamed = input.name.as_ref().is_some_and(|n| *n != old.name) || input.package.as_ref().is_some_and(|p| *p != old.package);
        let checked = input.validate(Some(&fields(&old)))?;
        self.check_code(&checked).await?;
        // Published APIs name functions by URN: a referenced function keeps its name.
        if renamed && self.referenced(&mut tx, &old).await? {
            return Err(ApiError::detail(c::FUNCTION_IN_USE, "published APIs or custom authorizers call the function by its URN; it cannot be renamed"));
        }
        let f = Function {
            name: checked.name,
            package: checked.package,
            description: checked.description,
            spec: checked.spec,
            revision: old.revision + 1,
            update_time: ids::now(),
            ..old
        };
        self.put_function(&mut tx, &f).await?;
        self.commit(tx).await?;
        Ok(f.into())
    }

    /// Whether a published API or a custom authorizer calls `f` (any version or alias).
    async fn referenced(&self, tx: &mut Tx, f: &Function) -> Result<bool> {
        let urn = Urn { package: f.package.clone(), name: f.name.clone(), qualifier: None };
        Ok(self.referenced_by(tx, |u| u.package == f.package && u.name == f.name).await? || self.authorizer_calls(tx, &urn).await?)
    }

    /// Whether a published API names a URN that `matches`.
    async fn referenced_by(&self, tx: &mut Tx, matches: impl Fn(&Urn) -> bool) -> Result<bool> {
        let calls_it = |urn: &str| Urn::parse(urn).is_some_and(|u| matches(&u));
        for doc in tx.list(kinds::PUBLICATION, None).await? {
            let p: Publication = decode(doc)?;
            let Some(v) = tx.get_as::<ApiVersion>(kinds::API_VERSION, &p.version_id).await? else { continue };
            let api = &v.api;
            let calls = |b: BackendDef<'_>| match b {
                BackendDef::Function(f) => calls_it(f.function_urn) || f.alias_urn.is_some_and(calls_it),
                _ => false,
            };
            if api.default_backend().is_some_and(|d| calls(d.backend)) || api.policies().any(|p| calls(p.backend)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    pub async fn delete_function(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        if self.referenced(&mut tx, &f).await? {
            return Err(ApiError::new(c::FUNCTION_IN_USE));
        }
        for kind in [kinds::FUNCTION_VERSION, kinds::FUNCTION_ALIAS] {
            tx.delete_children(kind, id).await?;
        }
        tx.delete(kinds::FUNCTION, id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    async fn versions(&self, tx: &mut Tx, id: &str) -> Result<Vec<FunctionVersion>> {
        let mut all: Vec<FunctionVersion> = tx.load_all(kinds::FUNCTION_VERSION, Some(id)).await?;
        all.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(0));
        Ok(all)
    }

    /// Freezes the draft as the next numbered version.
    pub async fn publish_function_version(&self, id: &str, description: Option<String>) -> Result<VersionView> {
        let description = description.unwrap_or_default();
        causeway_model::rules::check_text("description", Some(&description), 1024)?;
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let next = self.versions(&mut tx, id).await?.last().and_then(|v| v.version.parse::<u64>().ok()).unwrap_or(0) + 1;
        let v = FunctionVersion {
            id: ids::new_id(),
            function_id: f.id.clone(),
            version: next.to_string(),
            description,
            spec: f.spec.clone(),
            create_time: ids::now(),
        };
        let body = encode(&v)?;
        let doc = NewDocument { kind: kinds::FUNCTION_VERSION, id: &v.id, parent: Some(&f.id), keys: vec![format!("fnver:{}:{}", f.id, v.version)], body: &body };
        tx.put(doc).await?;
        self.commit(tx).await?;
        Ok(VersionView { urn: urn_of(&f, &v.version), version: v })
    }

    pub async fn list_function_versions(&self, id: &str, paging: &Paging) -> Result<Page<VersionView>> {
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let all = self.versions(&mut tx, id).await?;
        let page = Page::of(all, paging);
        Ok(Page { total: page.total, items: page.items.into_iter().map(|v| VersionView { urn: urn_of(&f, &v.version), version: v }).collect() })
    }

    async fn alias(&self, tx: &mut Tx, function_id: &str, name: &str) -> Result<FunctionAlias> {
        for doc in tx.list(kinds::FUNCTION_ALIAS, Some(function_id)).await? {
            let a: FunctionAlias = decode(doc)?;
            if a.name == name {
                return Ok(a);
            }
        }
        Err(not_found("alias"))
    }

    async fn put_alias(&self, tx: &mut Tx, f: &Function, a: &FunctionAlias) -> Result<AliasView> {
        if a.version != LATEST && !self.versions(tx, &f.id).await?.iter().any(|v| v.version == a.version) {
            return Err(ApiError::field(c::FUNCTION_NOT_FOUND, "version"));
        }
        let body = encode(a)?;
        let doc = NewDocument { kind: kinds::FUNCTION_ALIAS, id: &a.id, parent: Some(&f.id), keys: vec![format!("fnalias:{}:{}", f.id, a.name)], body: &body };
        tx.put_unique(doc, c::FUNCTION_NAME_EXISTS, "name").await?;
        Ok(AliasView { alias_urn: urn_of(f, &a.name), alias: a.clone() })
    }

    pub async fn create_function_alias(&self, id: &str, input: AliasInput) -> Result<AliasView> {
        let (name, version, description) = input.validate(None)?;
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let now = ids::now();
        let a = FunctionAlias { id: ids::new_id(), function_id: f.id.clone(), name, version, description, create_time: now.clone(), update_time: now };
        let view = self.put_alias(&mut tx, &f, &a).await?;
        self.commit(tx).await?;
        Ok(view)
    }

    pub async fn list_function_aliases(&self, id: &str) -> Result<Vec<AliasView>> {
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let mut all: Vec<FunctionAlias> = tx.load_all(kinds::FUNCTION_ALIAS, Some(id)).await?;
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all.into_iter().map(|a| AliasView { alias_urn: urn_of(&f, &a.name), alias: a }).collect())
    }

    pub async fn get_function_alias(&self, id: &str, name: &str) -> Result<AliasView> {
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let a = self.alias(&mut tx, id, name).await?;
        Ok(AliasView { alias_urn: urn_of(&f, &a.name), alias: a })
    }

    /// Points an alias at another version (its name stays).
    pub async fn update_function_alias(&self, id: &str, name: &str, input: AliasInput) -> Result<AliasView> {
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let old = self.alias(&mut tx, id, name).await?;
        let (_, version, description) = AliasInput { name: None, ..input }.validate(Some(name))?;
        let a = FunctionAlias { version, description, update_time: ids::now(), ..old };
        let view = self.put_alias(&mut tx, &f, &a).await?;
        self.commit(tx).await?;
        Ok(view)
    }

    pub async fn delete_function_alias(&self, id: &str, name: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let a = self.alias(&mut tx, id, name).await?;
        let names_it = |u: &Urn| u.package == f.package && u.name == f.name && u.qualifier.as_deref() == Some(name);
        if self.referenced_by(&mut tx, names_it).await? {
            return Err(ApiError::detail(c::FUNCTION_IN_USE, "published APIs call the alias"));
        }
        let urn = Urn { package: f.package.clone(), name: f.name.clone(), qualifier: Some(name.to_string()) };
        if self.authorizer_calls(&mut tx, &urn).await? {
            return Err(ApiError::detail(c::FUNCTION_IN_USE, "a custom authorizer calls the alias"));
        }
        tx.delete(kinds::FUNCTION_ALIAS, &a.id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Runs the draft, a version or an alias once with `event` (a JSON object).
    pub async fn test_invoke_function(&self, id: &str, qualifier: Option<&str>, event: serde_json::Value) -> Result<TestOutcome> {
        let Some(invoker) = self.test_invoker.clone() else {
            return Err(ApiError::detail(c::SYSTEM, "this process runs no function runtime"));
        };
        if !event.is_object() {
            return Err(ApiError::malformed("body"));
        }
        let mut tx = self.begin().await?;
        let f = self.function(&mut tx, id).await?;
        let qualifier = qualifier.unwrap_or(LATEST);
        let version = if is_version(qualifier) { qualifier.to_string() } else { self.alias(&mut tx, id, qualifier).await?.version };
        let (spec, key) = if version == LATEST {
            (f.spec.clone(), format!("{}:latest:{}", f.id, f.revision))
        } else {
            let v = self.versions(&mut tx, id).await?.into_iter().find(|v| v.version == version).ok_or_else(|| not_found("version"))?;
            (v.spec, format!("{}:{}", f.id, v.version))
        };
        drop(tx);
        if spec.runtime != FunctionRuntime::Javascript {
            return Err(ApiError::detail(c::SYSTEM, "test invocations run javascript functions only"));
        }
        let call = TestInvocation { key, name: f.name.clone(), version, spec, event: event.to_string(), request_id: ids::new_id() };
        Ok(invoker(call).await)
    }

    /// An asynchronous invocation by its request id.
    pub async fn get_function_invocation(&self, request_id: &str) -> Result<FunctionInvocation> {
        self.get_as(kinds::FUNCTION_INVOCATION, request_id).await?.ok_or_else(|| not_found("invocation"))
    }

    /// Asynchronous invocations in one state (`pending`, `running`, `succeeded`, `failed`), oldest first.
    pub async fn list_function_invocations(&self, status: &str, paging: &Paging) -> Result<Page<FunctionInvocation>> {
        let status = InvocationStatus::parse_field("status", status)?;
        let all: Vec<FunctionInvocation> = self.load_all(kinds::FUNCTION_INVOCATION, Some(status.as_str())).await?;
        Ok(Page::of(all, paging))
    }
}
