//! Follows the store's change feed: mirrors what is published, rebuilds the
//! snapshot when it changes, and swaps it in atomically. The request path
//! only ever reads the swapped-in snapshot.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use causeway_store::{ChangeOp, Store, StoreError};

use crate::config::Shared;
use crate::config::domain_certs::DomainCerts;
use crate::config::runtime::Runtime;
use crate::config::saved::{SavedSnapshot, ToSave};
use crate::config::snapshot::Snapshot;
use crate::config::source::{SERVED_KINDS, Source};
use crate::observe::metrics::{ROUTES_LOADED, SNAPSHOT_BUILDS, SNAPSHOT_REVISION};
use crate::routing::table::RouteCache;
use crate::stages::authn::jwks::{self, JwksCache};

/// Changes read from the feed per query.
const BATCH: i64 = 5_000;

/// Revisions of the change feed kept by default: a node that falls further
/// behind (stopped, or cut off from the store) loads everything again.
pub const DEFAULT_KEEP_CHANGES: i64 = 100_000;
/// How often the feed is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub struct Watcher {
    store: Arc<dyn Store>,
    base_domain: String,
    source: Source,
    runtime: Runtime,
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
    domain_certs: Option<DomainCerts>,
    /// Each new published state, for the copy kept in the data directory.
    to_save: Option<(SavedSnapshot, tokio::sync::watch::Sender<ToSave>)>,
}

impl Watcher {
    /// Loads everything published and builds the first snapshot with `runtime`;
    /// keeps the last `keep_changes` revisions of the feed (0: all of them).
    /// With `saved`, each new published state is saved there, and a store that
    /// cannot be reached is started from what was saved (then caught up from
    /// its revision once it can be).
    pub async fn start(
        store: Arc<dyn Store>,
        base_domain: String,
        runtime: Runtime,
        domain_certs: Option<DomainCerts>,
        keep_changes: i64,
        saved: Option<SavedSnapshot>,
    ) -> Result<Self, StoreError> {
        let (revision, source, from_store) = match Self::load(&*store).await {
            Ok((revision, source)) => (revision, source, true),
            Err(e) if e.is_unavailable() => match saved.as_ref().map(SavedSnapshot::load) {
                Some(Ok(Some(loaded))) => {
                    tracing::warn!(error = %e, revision = loaded.revision, saved_at = %loaded.saved_at,
                        "the store cannot be reached: serving the published snapshot saved in the data directory until it can");
                    (loaded.revision, loaded.source, false)
                }
                Some(Err(read)) => {
                    tracing::error!(error = %read, "the store cannot be reached and the saved snapshot cannot be read");
                    return Err(e);
                }
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        let mut cache = RouteCache::default();
        let started = std::time::Instant::now();
        let first = Snapshot::build(&source, &runtime, &base_domain, &mut cache);
        tracing::info!(revision, routes = first.routes.routes(), build_ms = started.elapsed().as_millis() as u64, "snapshot ready");
        let mut watcher = Self {
            store,
            base_domain,
            source,
            runtime,
            cache,
            revision,
            shared: Arc::new(ArcSwap::from_pointee(first)),
            wake: Arc::new(tokio::sync::Notify::new()),
            served: tokio::sync::watch::Sender::new(revision),
            jwks: Arc::new(JwksCache::default()),
            jwks_wanted: tokio::sync::watch::Sender::new(Vec::new()),
            jwks_changed: Arc::new(tokio::sync::Notify::new()),
            keep_changes,
            domain_certs,
            to_save: saved.map(|s| (s, tokio::sync::watch::Sender::new(None))),
        };
        watcher.published();
        if from_store {
            watcher.save();
        }
        Ok(watcher)
    }

    /// Every served document and the store's revision.
    async fn load(store: &dyn Store) -> Result<(i64, Source), StoreError> {
        // Read the revision first: changes made while loading are applied again later, harmlessly.
        let revision = store.revision().await?;
        let mut source = Source::load(store).await?;
        source.load_versions(store).await?;
        Ok((revision, source))
    }

    /// Hands the published state to the saver (which writes the latest at most once a second).
    fn save(&self) {
        if let Some((_, latest)) = &self.to_save {
            latest.send_replace(Some(Arc::new((self.revision, self.source.clone()))));
        }
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

    fn rebuild(&mut self) {
        let started = std::time::Instant::now();
        self.source.fetched_jwks = self.jwks.snapshot();
        let snapshot = Snapshot::build(&self.source, &self.runtime, &self.base_domain, &mut self.cache);
        tracing::info!(revision = self.revision, routes = snapshot.routes.routes(), build_ms = started.elapsed().as_millis() as u64, "snapshot ready");
        self.shared.store(Arc::new(snapshot));
        self.published();
        self.save();
    }

    /// What follows a new snapshot: its gauges, the listener's certificates, the JWK sets to fetch.
    fn published(&mut self) {
        let snapshot = self.shared.load();
        metrics::gauge!(ROUTES_LOADED).set(snapshot.routes.routes() as f64);
        metrics::gauge!(SNAPSHOT_REVISION).set(self.revision as f64);
        metrics::counter!(SNAPSHOT_BUILDS).increment(1);
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
        let current = self.store.revision().await?;
        if current < self.revision {
            // The store is behind what this node serves (restored from a backup, or
            // another database): its feed cannot bring this node there, so load it all.
            tracing::warn!(serving = self.revision, store = current, "the store is at an earlier revision than this node's snapshot");
            self.reload().await?;
            return Ok(true);
        }
        if current == self.revision {
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
            tracing::warn!(from, "the change feed was pruned past this node's revision");
            self.reload().await?;
            return Ok(true);
        }
        if relevant {
            self.source.load_versions(&*self.store).await?;
            self.rebuild();
        }
        self.served.send_replace(self.revision);
        metrics::gauge!(SNAPSHOT_REVISION).set(self.revision as f64);
        Ok(relevant)
    }

    /// Loads every served document anew (the feed no longer has what this node missed).
    async fn reload(&mut self) -> Result<(), StoreError> {
        let revision = self.store.revision().await?;
        let fresh = Source::load(&*self.store).await?;
        tracing::warn!(from = self.revision, to = revision, "loaded everything published again");
        let s = &mut self.source;
        // Versions already read are kept; those of new publications are read.
        *s = Source { versions: std::mem::take(&mut s.versions), fetched_jwks: std::mem::take(&mut s.fetched_jwks), ..fresh };
        self.revision = revision;
        self.source.load_versions(&*self.store).await?;
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
        Ok(self.source.apply(kind, id, doc))
    }

    /// Checks the store every `interval` (and whenever woken) until `stop` changes.
    pub async fn run(mut self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        if let Some((saved, latest)) = &self.to_save {
            tokio::spawn(saved.clone().run(latest.subscribe()));
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::acl::{Acl, AclEntity, AclType};
    use causeway_model::kinds;
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
        let mut watcher = Watcher::start(store.clone(), "apigw.localhost".into(), Runtime::default(), None, DEFAULT_KEEP_CHANGES, None).await.unwrap();
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
