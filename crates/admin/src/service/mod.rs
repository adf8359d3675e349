//! The service layer: business rules over the store. Every write that checks
//! an invariant (unique names, quotas, references) does so inside one store
//! transaction, so concurrent writers cannot both pass a check.

mod acls;
mod apis;
mod app_auths;
mod apps;
mod authorizers;
mod channels;
mod domains;
mod envs;
mod functions;
mod groups;
mod iam_issuers;
mod publish;
mod responses;
mod sign_keys;
mod throttles;
mod variables;

use std::sync::Arc;

use causeway_model::error::Code;
use causeway_model::{ApiError, Limits, Result};
use causeway_store::{Store, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use acls::{AclFilter, AclView};
pub use apis::{ApiFilter, ApiView};
pub use app_auths::{AuthFilter, AuthOutcome, AuthView, UnboundApi};
pub use apps::AppFilter;
pub use authorizers::AuthorizerFilter;
pub use channels::{ChannelFilter, ChannelView, HealthReader, MemberFilter, MemberView};
pub use envs::EnvFilter;
pub use functions::{AliasView, FunctionFilter, FunctionView, SyntaxCheck, TestInvocation, TestInvoker, TestLog, TestOutcome, VersionView};
pub use groups::{GroupFilter, GroupView};
pub use publish::{BatchResult, HistoryFilter, PublishView, VersionDetail, VersionSummary};
pub use sign_keys::{BindingView, SignFilter, UnsignedApi};
pub use throttles::ThrottleFilter;
pub use variables::VariableFilter;

/// Settings the service layer needs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Groups are served at `<group_id>.<base_domain>`.
    pub base_domain: String,
    pub limits: Limits,
}

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

/// Paging and name matching shared by the list operations.
#[derive(Debug, Clone)]
pub struct Paging {
    /// 1-based.
    pub page_no: usize,
    pub page_size: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Self { page_no: 1, page_size: 20 }
    }
}

/// Largest page a list returns.
pub const MAX_PAGE_SIZE: usize = 500;

impl<T> Page<T> {
    /// Cuts one page out of the filtered items.
    pub fn of(all: Vec<T>, paging: &Paging) -> Self {
        let total = all.len();
        let start = (paging.page_no - 1).saturating_mul(paging.page_size);
        let items = all.into_iter().skip(start).take(paging.page_size).collect();
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

/// Logs a store failure and hides it behind `APIG.9999`.
pub(crate) fn system(e: StoreError) -> ApiError {
    tracing::error!(error = %e, "store failure");
    ApiError::system()
}

/// A store failure, where a unique-key conflict (a concurrent writer won) is
/// reported as the given duplicate code.
pub(crate) fn store_err(conflict: Code, field: &'static str) -> impl Fn(StoreError) -> ApiError {
    move |e| match e {
        StoreError::Conflict { .. } => ApiError::field(conflict, field),
        other => system(other),
    }
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
        Self { store, config, sync: None, syntax_check: None, test_invoker: None, channel_health: None, sealer: None }
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

    /// Commits a write transaction and lets the local gateway catch up.
    async fn commit(&self, tx: Box<dyn causeway_store::Txn>) -> Result<i64> {
        let revision = Self::commit_quietly(tx).await?;
        self.settle(revision).await;
        Ok(revision)
    }

    /// Commits without waiting for the gateway (for steps of a batch).
    async fn commit_quietly(tx: Box<dyn causeway_store::Txn>) -> Result<i64> {
        tx.commit().await.map_err(system)
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

    /// Creates what exists from the start: the `DEFAULT` group and the `RELEASE` environment.
    pub async fn bootstrap(&self) -> Result<()> {
        self.ensure_default_group().await?;
        self.ensure_release_env().await
    }

    /// Loads a document of a kind, or the not-found error given.
    async fn load<T: DeserializeOwned>(&self, kind: &str, id: &str, not_found: Code) -> Result<T> {
        match self.store.get(kind, id).await.map_err(system)? {
            Some(doc) => decode(doc),
            None => Err(ApiError::new(not_found)),
        }
    }

    async fn load_all<T: DeserializeOwned>(&self, kind: &str, parent: Option<&str>) -> Result<Vec<T>> {
        self.store.list(kind, parent).await.map_err(system)?.into_iter().map(decode).collect()
    }
}

/// Catalogue codes used across the service modules.
pub(crate) use causeway_model::error::codes as c;
