//! Follows the store's change feed: mirrors what is published, rebuilds the
//! snapshot when it changes, and swaps it in atomically. The request path
//! only ever reads the swapped-in snapshot.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use causeway_model::kinds;
use causeway_store::{ChangeOp, Store, StoreError};
use serde::de::DeserializeOwned;

use crate::jwks::{self, JwksCache};
use crate::observe;
use crate::snapshot::{RouteCache, Snapshot, Source};

/// Changes read from the feed per query.
const BATCH: i64 = 5_000;

/// The shared, swappable snapshot.
pub type Shared = Arc<ArcSwap<Snapshot>>;

/// The kinds a snapshot is built from.
const SERVED_KINDS: &[&str] = &[
    kinds::GROUP,
    kinds::ENV,
    kinds::ENV_VARIABLE,
    kinds::PUBLICATION,
    kinds::GATEWAY_RESPONSE,
    kinds::APP,
    kinds::APP_CODE,
    kinds::APP_AUTH,
    kinds::SIGN_KEY,
    kinds::SIGN_BINDING,
    kinds::IAM_ISSUER,
    kinds::FUNCTION,
    kinds::FUNCTION_VERSION,
    kinds::FUNCTION_ALIAS,
    kinds::AUTHORIZER,
    kinds::ACL,
    kinds::ACL_BINDING,
    kinds::THROTTLE,
    kinds::THROTTLE_BINDING,
    kinds::THROTTLE_SPECIAL,
    kinds::CHANNEL,
    kinds::DOMAIN,
];

pub struct Watcher {
    store: Arc<dyn Store>,
    base_domain: String,
    source: Source,
    cache: RouteCache,
    revision: i64,
    shared: Shared,
    wake: Arc<tokio::sync::Notify>,
    served: tokio::sync::watch::Sender<i64>,
    /// JWK sets of issuers that publish them at a URL, fetched in the background.
    jwks: Arc<JwksCache>,
    jwks_wanted: tokio::sync::watch::Sender<jwks::Wanted>,
    jwks_changed: Arc<tokio::sync::Notify>,
    /// Revisions of the change feed kept when it is pruned (0: never pruned).
    keep_changes: i64,
    /// The HTTPS listener's certificates, when this node serves HTTPS.
    domain_certs: Option<crate::tls_certs::DomainCerts>,
}

/// Revisions of the change feed kept by default: a node that falls further
/// behind (stopped, or cut off from the store) loads everything again.
pub const DEFAULT_KEEP_CHANGES: i64 = 100_000;
/// How often the feed is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

fn decode<T: DeserializeOwned>(doc: causeway_store::Document) -> Option<T> {
    match serde_json::from_value(doc.body) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(kind = %doc.kind, id = %doc.id, error = %e, "skipping a stored document that does not decode");
            None
        }
    }
}

impl Watcher {
    /// Loads everything published and builds the first snapshot.
    pub async fn start(store: Arc<dyn Store>, base_domain: String) -> Result<Self, StoreError> {
        // Read the revision first: changes made while loading are applied again later, harmlessly.
        let revision = store.revision().await?;
        let source = load_source(&*store).await?;
        let mut watcher = Self {
            store,
            base_domain,
            source,
            cache: RouteCache::default(),
            revision,
            shared: Arc::new(ArcSwap::from_pointee(Snapshot::default())),
            wake: Arc::new(tokio::sync::Notify::new()),
            served: tokio::sync::watch::Sender::new(revision),
            jwks: Arc::new(JwksCache::default()),
            jwks_wanted: tokio::sync::watch::Sender::new(Vec::new()),
            jwks_changed: Arc::new(tokio::sync::Notify::new()),
            keep_changes: DEFAULT_KEEP_CHANGES,
            domain_certs: None,
        };
        watcher.load_versions().await?;
        watcher.rebuild();
        Ok(watcher)
    }

    /// Serves FUNCTION backends with `runtime` from now on, queueing
    /// asynchronous invocations in `queue`.
    pub fn with_function_runtime(mut self, runtime: Arc<causeway_functions::Pool>, queue: Option<crate::function_async::AsyncQueue>) -> Self {
        self.source.function_runtime = Some(runtime);
        self.source.function_queue = queue;
        self.rebuild();
        self
    }

    /// Keeps the HTTPS listener's certificates up to date with the bound domains.
    pub fn with_domain_certs(mut self, certs: crate::tls_certs::DomainCerts) -> Self {
        self.domain_certs = Some(certs);
        self.rebuild();
        self
    }

    /// Keeps the last `keep` revisions of the change feed (0: keeps it all).
    /// Member health of the load-balance channels, as this node's checks and requests find it.
    pub fn channel_health(&self) -> Arc<crate::balance::Health> {
        self.source.channel_health.clone()
    }

    /// Counts throttled calls with `engine` (the node's own counters by default).
    pub fn with_limiter(mut self, engine: crate::limiter::Engine) -> Self {
        self.source.limiter = engine;
        self.rebuild();
        self
    }

    pub fn with_change_retention(mut self, keep: i64) -> Self {
        self.keep_changes = keep;
        self
    }

    pub fn shared(&self) -> Shared {
        self.shared.clone()
    }

    /// Notifying this makes the watcher look at the store now instead of at its next poll.
    pub fn wake(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    /// The revision the served snapshot reflects.
    pub fn served(&self) -> tokio::sync::watch::Receiver<i64> {
        self.served.subscribe()
    }

    /// Fetches versions that publications refer to and drops those no longer referred to.
    async fn load_versions(&mut self) -> Result<(), StoreError> {
        let wanted: std::collections::HashSet<String> = self.source.publications.values().map(|p| p.version_id.clone()).collect();
        for id in &wanted {
            if !self.source.versions.contains_key(id)
                && let Some(doc) = self.store.get(kinds::API_VERSION, id).await?
                && let Some(v) = decode(doc)
            {
                self.source.versions.insert(id.clone(), Arc::new(v));
            }
        }
        self.source.versions.retain(|id, _| wanted.contains(id));
        Ok(())
    }

    fn rebuild(&mut self) {
        let started = std::time::Instant::now();
        self.source.fetched_jwks = self.jwks.snapshot();
        let snapshot = Snapshot::build(&self.source, self.revision, &self.base_domain, &mut self.cache);
        tracing::info!(revision = self.revision, routes = snapshot.routes(), build_ms = started.elapsed().as_millis() as u64, "snapshot ready");
        metrics::gauge!(observe::ROUTES_LOADED).set(snapshot.routes() as f64);
        metrics::gauge!(observe::SNAPSHOT_REVISION).set(self.revision as f64);
        metrics::counter!(observe::SNAPSHOT_BUILDS).increment(1);
        self.shared.store(Arc::new(snapshot));
        if let Some(certs) = &mut self.domain_certs {
            certs.update(self.source.domains.values());
        }
        let wanted: jwks::Wanted = self
            .source
            .iam_issuers
            .values()
            .filter_map(|i| Some((i.jwks_uri.clone()?, Duration::from_secs(u64::from(i.jwks_refresh_secs)))))
            .collect();
        self.jwks_wanted.send_if_modified(|w| {
            let changed = *w != wanted;
            *w = wanted;
            changed
        });
    }

    /// Applies new changes, if any; returns whether the snapshot was rebuilt.
    pub async fn poll(&mut self) -> Result<bool, StoreError> {
        if self.store.revision().await? <= self.revision {
            return Ok(false);
        }
        let from = self.revision;
        let mut relevant = false;
        loop {
            let changes = self.store.changes_since(self.revision, BATCH).await?;
            let Some(last) = changes.last().map(|c| c.revision) else { break };
            for c in &changes {
                relevant |= self.apply(&c.kind, &c.id, c.op).await?;
            }
            self.revision = last;
            if (changes.len() as i64) < BATCH {
                break;
            }
        }
        // Changes after `from` were pruned before they were read: what was
        // read may have gaps, so load everything again.
        if self.store.pruned().await? > from {
            self.reload().await?;
            return Ok(true);
        }
        if relevant {
            self.load_versions().await?;
            self.rebuild();
        }
        self.served.send_replace(self.revision);
        metrics::gauge!(observe::SNAPSHOT_REVISION).set(self.revision as f64);
        Ok(relevant)
    }

    /// Loads every served document anew (the feed no longer has what this node missed).
    async fn reload(&mut self) -> Result<(), StoreError> {
        let revision = self.store.revision().await?;
        let fresh = load_source(&*self.store).await?;
        tracing::warn!(from = self.revision, to = revision, "the change feed was pruned past this node's revision; loaded everything again");
        let s = &mut self.source;
        // What the process runs keeps going; the versions are fetched for the new publications.
        *s = Source {
            versions: std::mem::take(&mut s.versions),
            fetched_jwks: std::mem::take(&mut s.fetched_jwks),
            function_runtime: s.function_runtime.take(),
            function_queue: s.function_queue.take(),
            authorizer_cache: s.authorizer_cache.clone(),
            limiter: s.limiter.clone(),
            channel_health: s.channel_health.clone(),
            ..fresh
        };
        self.revision = revision;
        self.load_versions().await?;
        self.rebuild();
        self.served.send_replace(self.revision);
        Ok(())
    }

    /// Mirrors one change; false for kinds the data plane does not serve (drafts).
    async fn apply(&mut self, kind: &str, id: &str, op: ChangeOp) -> Result<bool, StoreError> {
        // Drafts and asynchronous invocations change often and are not served: not even read.
        if !SERVED_KINDS.contains(&kind) {
            return Ok(false);
        }
        let doc = match op {
            ChangeOp::Put => self.store.get(kind, id).await?,
            ChangeOp::Delete => None,
        };
        let s = &mut self.source;
        match kind {
            kinds::GROUP => set(&mut s.groups, id, doc.and_then(decode)),
            kinds::ENV => set(&mut s.envs, id, doc.and_then(decode)),
            kinds::ENV_VARIABLE => set(&mut s.variables, id, doc.and_then(decode)),
            kinds::PUBLICATION => set(&mut s.publications, id, doc.and_then(decode)),
            kinds::GATEWAY_RESPONSE => set(&mut s.responses, id, doc.and_then(decode)),
            kinds::APP => set(&mut s.apps, id, doc.and_then(decode)),
            kinds::APP_CODE => set(&mut s.app_codes, id, doc.and_then(decode)),
            kinds::APP_AUTH => set(&mut s.app_auths, id, doc.and_then(decode)),
            kinds::SIGN_KEY => set(&mut s.sign_keys, id, doc.and_then(decode)),
            kinds::SIGN_BINDING => set(&mut s.sign_bindings, id, doc.and_then(decode)),
            kinds::IAM_ISSUER => set(&mut s.iam_issuers, id, doc.and_then(decode)),
            kinds::FUNCTION => set(&mut s.functions, id, doc.and_then(decode)),
            kinds::FUNCTION_VERSION => set(&mut s.function_versions, id, doc.and_then(decode)),
            kinds::FUNCTION_ALIAS => set(&mut s.function_aliases, id, doc.and_then(decode)),
            kinds::AUTHORIZER => set(&mut s.authorizers, id, doc.and_then(decode)),
            kinds::ACL => set(&mut s.acls, id, doc.and_then(decode)),
            kinds::ACL_BINDING => set(&mut s.acl_bindings, id, doc.and_then(decode)),
            kinds::THROTTLE => set(&mut s.throttles, id, doc.and_then(decode)),
            kinds::THROTTLE_BINDING => set(&mut s.throttle_bindings, id, doc.and_then(decode)),
            kinds::THROTTLE_SPECIAL => set(&mut s.throttle_specials, id, doc.and_then(decode)),
            kinds::CHANNEL => set(&mut s.channels, id, doc.and_then(decode)),
            kinds::DOMAIN => set(&mut s.domains, id, doc.and_then(decode)),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Checks the store every `interval` (and whenever woken) until `stop` changes.
    pub async fn run(mut self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        tokio::spawn(jwks::run(self.jwks.clone(), self.jwks_wanted.subscribe(), self.jwks_changed.clone(), stop.clone()));
        let mut failing = false;
        let mut next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
        loop {
            if self.keep_changes > 0 && tokio::time::Instant::now() >= next_prune {
                next_prune = tokio::time::Instant::now() + PRUNE_EVERY;
                match self.store.prune_changes(self.keep_changes).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(changes = n, keep = self.keep_changes, "pruned the change feed"),
                    Err(e) => tracing::warn!(error = %e, "cannot prune the change feed"),
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.wake.notified() => {}
                _ = self.jwks_changed.notified() => {
                    self.rebuild();
                    continue;
                }
                _ = stop.changed() => return,
            }
            match self.poll().await {
                Ok(_) if failing => {
                    tracing::info!("store reachable again; snapshot up to date");
                    failing = false;
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    tracing::error!(error = %e, "cannot read the store's changes; serving the last snapshot");
                    failing = true;
                }
                Err(_) => {}
            }
        }
    }
}

/// Everything a snapshot is built from, read from the store.
async fn load_source(store: &dyn Store) -> Result<Source, StoreError> {
    Ok(Source {
        groups: load(store, kinds::GROUP).await?,
        envs: load(store, kinds::ENV).await?,
        variables: load(store, kinds::ENV_VARIABLE).await?,
        publications: load(store, kinds::PUBLICATION).await?,
        versions: Default::default(),
        responses: load(store, kinds::GATEWAY_RESPONSE).await?,
        apps: load(store, kinds::APP).await?,
        app_codes: load(store, kinds::APP_CODE).await?,
        app_auths: load(store, kinds::APP_AUTH).await?,
        sign_keys: load(store, kinds::SIGN_KEY).await?,
        sign_bindings: load(store, kinds::SIGN_BINDING).await?,
        iam_issuers: load(store, kinds::IAM_ISSUER).await?,
        fetched_jwks: Default::default(),
        functions: load(store, kinds::FUNCTION).await?,
        function_versions: load(store, kinds::FUNCTION_VERSION).await?,
        function_aliases: load(store, kinds::FUNCTION_ALIAS).await?,
        authorizers: load(store, kinds::AUTHORIZER).await?,
        authorizer_cache: Default::default(),
        acls: load(store, kinds::ACL).await?,
        acl_bindings: load(store, kinds::ACL_BINDING).await?,
        throttles: load(store, kinds::THROTTLE).await?,
        throttle_bindings: load(store, kinds::THROTTLE_BINDING).await?,
        throttle_specials: load(store, kinds::THROTTLE_SPECIAL).await?,
        channels: load(store, kinds::CHANNEL).await?,
        domains: load(store, kinds::DOMAIN).await?,
        channel_health: Default::default(),
        limiter: Default::default(),
        function_runtime: None,
        function_queue: None,
    })
}

/// Every document of a kind, by id (documents are stored under their resource's id).
async fn load<T: DeserializeOwned>(store: &dyn Store, kind: &str) -> Result<std::collections::HashMap<String, T>, StoreError> {
    let mut out = std::collections::HashMap::new();
    for doc in store.list(kind, None).await? {
        let id = doc.id.clone();
        if let Some(v) = decode(doc) {
            out.insert(id, v);
        }
    }
    Ok(out)
}

fn set<T>(map: &mut std::collections::HashMap<String, T>, id: &str, value: Option<T>) {
    match value {
        Some(v) => {
            map.insert(id.to_string(), v);
        }
        None => {
            map.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::acl::{Acl, AclEntity, AclType};
    use causeway_store::NewDocument;

    async fn put_acl(store: &dyn Store, id: &str) {
        let acl = Acl {
            id: id.into(),
            acl_name: id.into(),
            acl_type: AclType::Deny,
            entity_type: AclEntity::Ip,
            acl_value: "10.0.0.1".into(),
            create_time: String::new(),
            update_time: String::new(),
        };
        let body = serde_json::to_value(&acl).unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.put(NewDocument { kind: kinds::ACL, id, parent: None, keys: Vec::new(), body: &body }).await.unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test]
    async fn a_node_behind_a_pruned_feed_loads_everything_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = causeway_store::open(&format!("sqlite://{}/c.db", dir.path().display())).await.unwrap();
        put_acl(&*store, "first").await;
        let mut watcher = Watcher::start(store.clone(), "apigw.localhost".into()).await.unwrap();
        assert!(watcher.source.acls.contains_key("first"));

        // Followed through the feed.
        put_acl(&*store, "second").await;
        assert!(watcher.poll().await.unwrap());
        assert!(watcher.source.acls.contains_key("second"));

        // Changes the node never saw are pruned away: it reloads, and misses nothing.
        let mut tx = store.begin().await.unwrap();
        tx.delete(kinds::ACL, "first").await.unwrap();
        tx.commit().await.unwrap();
        put_acl(&*store, "third").await;
        assert!(store.prune_changes(0).await.unwrap() > 0);
        assert!(store.changes_since(0, 100).await.unwrap().is_empty());
        assert!(watcher.poll().await.unwrap());
        let mut ids: Vec<&String> = watcher.source.acls.keys().collect();
        ids.sort();
        assert_eq!(ids, ["second", "third"]);
        assert_eq!(watcher.revision, store.revision().await.unwrap());
        assert_eq!(*watcher.served.borrow(), watcher.revision);
    }
}
