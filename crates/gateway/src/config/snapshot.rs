//! The snapshot: everything a gateway node serves, compiled from the
//! published state — the routing table, and each stage's and backend's
//! build half (apps and credentials, IAM issuers, custom authorizers, access
//! lists, throttling policies, backend signers, functions, channels).
//! Immutable once built; the watcher builds a new one and swaps it in, and
//! requests in flight keep the one they started with.

use std::sync::Arc;

use crate::backend::http::signing::BackendSigners;
use crate::config::runtime::Runtime;
use crate::config::source::Source;
use crate::functions::registry::Functions;
use crate::routing::table::{Published, RouteCache, RouteTable};
use crate::stages::access::AccessControl;
use crate::stages::authn::app::Credentials;
use crate::stages::authn::authorizer::Authorizers;
use crate::stages::authn::iam::Issuers;
use crate::stages::throttle::Throttles;
use crate::upstream::balance::Channels;

#[derive(Debug)]
pub struct Snapshot {
    /// Groups, hosts and routes.
    pub routes: RouteTable,
    /// Apps, AppCodes and authorizations, for APP authentication.
    pub credentials: Credentials,
    /// JWT issuers, for IAM authentication.
    pub issuers: Issuers,
    /// Custom authorizers by id.
    pub authorizers: Authorizers,
    /// Access-control lists by publication.
    pub access: AccessControl,
    /// Throttling policies by publication.
    pub throttles: Throttles,
    /// Signature keys of the publications bound to one.
    pub backend_signers: BackendSigners,
    /// Functions by URN, for FUNCTION backends and authorizers (shared with the asynchronous runner).
    pub functions: Arc<Functions>,
    /// Load-balance channels by id (shared with the health checker).
    pub channels: Arc<Channels>,
}

impl Snapshot {
    /// Builds the snapshot of `source`, with the node's `runtime`.
    pub fn build(source: &Source, runtime: &Runtime, base_domain: &str, cache: &mut RouteCache) -> Snapshot {
        let published = Published {
            groups: &source.groups,
            envs: &source.envs,
            variables: &source.variables,
            publications: &source.publications,
            versions: &source.versions,
            responses: &source.responses,
            domains: &source.domains,
        };
        Snapshot {
            routes: RouteTable::build(&published, base_domain, cache),
            credentials: Credentials::build(
                source.apps.values(),
                source.app_codes.values(),
                source.app_auths.values(),
                &source.versions.values().map(|v| (v.api_id.as_str(), v.api.group_id.as_str())).collect(),
            ),
            issuers: Issuers::build(source.iam_issuers.values(), &source.fetched_jwks),
            authorizers: Authorizers::build(source.authorizers.values(), runtime.authorizer_cache.clone()),
            access: AccessControl::build(source.acls.values(), source.acl_bindings.values()),
            throttles: Throttles::build(
                source.throttles.values(),
                source.throttle_bindings.values(),
                source.throttle_specials.values(),
                runtime.limiter.clone(),
            ),
            backend_signers: BackendSigners::build(source.sign_keys.values(), source.sign_bindings.values()),
            functions: Arc::new(Functions::build(
                runtime.function_pool.clone(),
                runtime.async_queue.clone(),
                source.functions.values(),
                source.function_versions.values(),
                source.function_aliases.values(),
            )),
            channels: Arc::new(Channels::build(source.channels.values(), &runtime.channel_health)),
        }
    }
}
