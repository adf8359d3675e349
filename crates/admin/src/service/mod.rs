//! The service layer: business rules over the store. Every write that checks
//! an invariant (unique names, quotas, references) does so inside one store
//! transaction (`tx::Tx`), so concurrent writers cannot both pass a check.

mod acls;
mod admin_credentials;
mod apis;
mod app_auths;
mod apps;
mod audit;
mod authorizers;
mod bindings;
mod channels;
mod debug;
mod domains;
mod envs;
mod functions;
mod groups;
mod iam_issuers;
mod nodes;
mod openapi;
mod publish;
mod responses;
mod sign_keys;
mod throttles;
mod tx;
mod variables;

use std::collections::HashMap;
use std::sync::Arc;

use causeway_model::env::Env;
use causeway_model::error::Code;
use causeway_model::group::Group;
use causeway_model::{ApiError, Limits, Result, kinds};
use causeway_store::{Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use acls::{AclFilter, AclView};
pub use admin_credentials::{CredentialFilter, CredentialView, IssuedCredential, Principal};
pub use apis::{ApiCheckInput, ApiFilter, ApiView};
pub use app_auths::{AuthFilter, AuthOutcome, AuthView, UnboundApi};
pub use apps::{AppFilter, AppListItem};
pub use audit::{AuditFilter, AuditRecord, AuditView};
pub use authorizers::AuthorizerFilter;
pub use channels::{ChannelFilter, ChannelView, HealthReader, MemberFilter, MemberGroupFilter, MemberGroupView, MemberView};
pub use debug::{ApiDebugger, DebugInput, DebugView};
pub use envs::EnvFilter;
pub use functions::{AliasView, FunctionFilter, FunctionView, SyntaxCheck, TestInvocation, TestInvoker, TestLog, TestOutcome, VersionView};
pub use groups::{GroupFilter, GroupView};
pub use nodes::NodeView;
pub use openapi::{Conflict, ExportRequest, ExportedDocument, ImportRequest, ImportResult};
pub use publish::{BatchResult, HistoryFilter, PublishView, VersionDetail, VersionSummary};
pub use sign_keys::{BindingView, SignFilter, UnsignedApi};
pub use throttles::{BoundThrottle, ThrottleFilter, ThrottledApi};
pub use variables::VariableFilter;

/// Settings the service layer needs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Groups are served at `<group_id>.<base_domain>`.
    pub base_domain: String,
    pub limits: Limits,
    /// The instance this installation is to the V2 and ROMA path families.
    pub instance: Instance,
}

/// What `/v2/{project_id}/apigw/instances` lists: this installation, as one
/// gateway instance; calls to another instance id are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: String,
    pub name: String,
}

impl Default for Instance {
    fn default() -> Self {
        Self { id: DEFAULT_INSTANCE_ID.into(), name: "causeway".into() }
    }
}

/// The instance id the V2 family answers to unless configured otherwise.
pub const DEFAULT_INSTANCE_ID: &str = "causeway";

/// The management operations, shared by every route family.
pub struct Service {
    store: Arc<dyn Store>,
    config: ServiceConfig,
    sync: Option<SnapshotSync>,
    /// Parses function code on upload (given by the binary, which holds the engine).
    syntax_check: Option<SyntaxCheck>,
    /// Runs test invocations (given by the binary, which holds the runtime).
    test_invoker: Option<TestInvoker>,
    /// Reads member health from the gateway of this process, if there is one.
    channel_health: Option<HealthReader>,
    /// Seals certificates' private keys before they are stored.
    sealer: Option<Arc<causeway_tls::Sealer>>,
    /// Runs debug calls (given by the binary, which holds the gateway).
    debugger: Option<ApiDebugger>,
    /// Every API as of a store revision, for listings (see [`apis::ApiCatalog`]).
    catalog: Arc<std::sync::Mutex<Option<Arc<apis::ApiCatalog>>>>,
}

/// Ties writes to a gateway in the same process: after a commit the gateway's
/// watcher is woken, and the answer waits (briefly) until the gateway serves
/// that revision, so what was just published is callable when the call returns.
#[derive(Clone)]
pub struct SnapshotSync {
    pub wake: Arc<tokio::sync::Notify>,
    pub served: tokio::sync::watch::Receiver<i64>,
}

/// Longest a write waits for the local gateway to catch up.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// A page of a listing: `{"total","size","<items>":[...]}`.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub total: usize,
    pub items: Vec<T>,
}

/// Which part of a listing to answer: v1.0 asks by page (`page_no`,
/// `page_size`), V2 by `offset` and `limit`; both come down to these.
#[derive(Debug, Clone)]
pub struct Paging {
    /// Items skipped.
    pub offset: usize,
    /// Items answered at most.
    pub limit: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Self { offset: 0, limit: 20 }
    }
}

impl Paging {
    /// Page `page_no` (from 1) of `page_size` items.
    pub fn page(page_no: usize, page_size: usize) -> Self {
        Self { offset: page_no.saturating_sub(1).saturating_mul(page_size), limit: page_size }
    }
}

impl Service {
    pub fn instance(&self) -> &Instance {
        &self.config.instance
    }

    /// The installation's limits (what definitions are checked against).
    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }
}

/// Largest page a list returns.
pub const MAX_PAGE_SIZE: usize = 500;

impl<T> Page<T> {
    /// Cuts one page out of the filtered items.
    pub fn of(all: Vec<T>, paging: &Paging) -> Self {
        let total = all.len();
        let items = all.into_iter().skip(paging.offset).take(paging.limit).collect();
        Self { total, items }
    }
}

/// Fuzzy (substring) or precise matching of a text filter.
pub fn text_matches(value: &str, filter: Option<&str>, precise: bool) -> bool {
    match filter {
        None => true,
        Some(f) if precise => value == f,
        Some(f) => value.contains(f),
    }
}

/// Names by id (of groups or environments).
pub(crate) struct Names(HashMap<String, String>);

impl Names {
    /// The name of `id`; empty if there is no such document (any more).
    fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_default()
    }
}

/// Logs a store failure and answers it: `503 APIG.9998` when the store
/// cannot be reached (try again), else `500 APIG.9999` (the cause is in the log).
pub(crate) fn system(e: StoreError) -> ApiError {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "the store cannot be reached");
        return ApiError::new(causeway_model::error::codes::STORE_UNAVAILABLE);
    }
    tracing::error!(error = %e, "store failure");
    ApiError::system()
}

pub(crate) fn decode<T: DeserializeOwned>(doc: causeway_store::Document) -> Result<T> {
    serde_json::from_value(doc.body).map_err(|e| {
        tracing::error!(kind = %doc.kind, id = %doc.id, error = %e, "stored document does not decode");
        ApiError::system()
    })
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!(error = %e, "document does not encode");
        ApiError::system()
    })
}

impl Service {
    pub fn new(store: Arc<dyn Store>, config: ServiceConfig) -> Self {
        Self { store, config, sync: None, syntax_check: None, test_invoker: None, channel_health: None, sealer: None, debugger: None, catalog: Arc::default() }
    }

    /// Runs `POST /functions/{id}/invocations` with `invoker`.
    pub fn with_test_invoker(mut self, invoker: TestInvoker) -> Self {
        self.test_invoker = Some(invoker);
        self
    }

    /// Seals uploaded private keys with `sealer` (without one, certificates cannot be uploaded).
    pub fn with_sealer(mut self, sealer: Arc<causeway_tls::Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }

    /// Shows member health as the gateway of this process sees it.
    pub fn with_channel_health(mut self, reader: HealthReader) -> Self {
        self.channel_health = Some(reader);
        self
    }

    /// Checks JavaScript functions with `check` before storing them.
    pub fn with_syntax_check(mut self, check: SyntaxCheck) -> Self {
        self.syntax_check = Some(check);
        self
    }

    /// Makes writes wait for the gateway of this process (see [`SnapshotSync`]).
    pub fn with_snapshot_sync(mut self, sync: SnapshotSync) -> Self {
        self.sync = Some(sync);
        self
    }

    /// Waits (briefly) until the gateway of this process serves `revision`.
    async fn settle(&self, revision: i64) {
        if let Some(sync) = &self.sync {
            sync.wake.notify_one();
            let mut served = sync.served.clone();
            let caught_up = tokio::time::timeout(SETTLE_TIMEOUT, served.wait_for(|r| *r >= revision)).await;
            if !matches!(caught_up, Ok(Ok(_))) {
                tracing::warn!(revision, "the gateway has not picked the change up yet");
            }
        }
    }

    /// The store's revision, and the one the gateway of this process serves (if it runs one).
    pub async fn revisions(&self) -> Result<(i64, Option<i64>)> {
        let store = self.store.revision().await.map_err(system)?;
        Ok((store, self.sync.as_ref().map(|s| *s.served.borrow())))
    }

    /// Creates what exists from the start: the `DEFAULT` group and the `RELEASE` environment.
    pub async fn bootstrap(&self) -> Result<()> {
        self.ensure_default_group().await?;
        self.ensure_release_env().await?;
        let rekeyed = self.rekey_app_codes().await?;
        if rekeyed > 0 {
            tracing::info!(app_codes = rekeyed, "AppCodes re-keyed by their hash");
        }
        Ok(())
    }

    // Reads outside a transaction: like `Tx`'s, they answer `ApiError`, a
    // store failure logged and hidden behind `APIG.9999` by the first two.

    /// A document of a kind decoded, if there is one.
    async fn get_as<T: DeserializeOwned>(&self, kind: &str, id: &str) -> Result<Option<T>> {
        self.store.get(kind, id).await.map_err(system)?.map(decode).transpose()
    }

    /// Documents of a kind (of one parent if given), oldest first.
    async fn list(&self, kind: &str, parent: Option<&str>) -> Result<Vec<causeway_store::Document>> {
        self.store.list(kind, parent).await.map_err(system)
    }

    /// Loads a document of a kind, or the not-found error given.
    async fn load<T: DeserializeOwned>(&self, kind: &str, id: &str, not_found: Code) -> Result<T> {
        self.get_as(kind, id).await?.ok_or_else(|| ApiError::new(not_found))
    }

    /// Documents of a kind (of one parent if given), decoded.
    async fn load_all<T: DeserializeOwned>(&self, kind: &str, parent: Option<&str>) -> Result<Vec<T>> {
        self.list(kind, parent).await?.into_iter().map(decode).collect()
    }

    /// How many documents of a kind (of one parent if given) there are.
    async fn count(&self, kind: &str, parent: Option<&str>) -> Result<usize> {
        Ok(self.list(kind, parent).await?.len())
    }

    /// Every group's name, for views that show it beside the id.
    async fn group_names(&self) -> Result<Names> {
        Ok(Names(self.load_all::<Group>(kinds::GROUP, None).await?.into_iter().map(|g| (g.id, g.name)).collect()))
    }

    /// Every environment's name, for views that show it beside the id.
    async fn env_names(&self) -> Result<Names> {
        Ok(Names(self.load_all::<Env>(kinds::ENV, None).await?.into_iter().map(|e| (e.id, e.name)).collect()))
    }
}

/// Catalogue codes used across the service modules.
pub(crate) use causeway_model::error::codes as c;
