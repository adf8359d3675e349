//! The snapshot: every published API of every group and environment, with a
//! compiled router per (group, environment). Immutable once built; the
//! watcher builds a new one and swaps it in, and requests in flight keep the
//! one they started with.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_model::acl::{Acl, AclBinding};
use causeway_model::app::{App, AppAuth, AppCode};
use causeway_model::authorizer::Authorizer;
use causeway_model::env::{Env, EnvVariable, RELEASE_ENV_NAME};
use causeway_model::function::{Function, FunctionAlias, FunctionVersion};
use causeway_model::group::Group;
use causeway_model::iam::IamIssuer;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::response::GatewayResponse;
use causeway_model::sign_key::{SignBinding, SignKey};
use causeway_model::throttle::{Throttle, ThrottleBinding, ThrottleSpecial};

use crate::access::AccessControl;
use crate::auth::Credentials;
use crate::authorizer::{Authorizers, DecisionCache};
use crate::backend_sign::BackendSigners;
use crate::function_backend::Functions;
use crate::iam::Issuers;
use crate::route::Route;
use crate::router::{Match, Router};
use crate::limiter::Engine;
use crate::throttle::Throttles;

/// The published state a snapshot is built from (what the watcher mirrors from the store).
#[derive(Debug, Default, Clone)]
pub struct Source {
    pub groups: HashMap<String, Group>,
    pub envs: HashMap<String, Env>,
    pub variables: HashMap<String, EnvVariable>,
    pub publications: HashMap<String, Publication>,
    pub versions: HashMap<String, Arc<ApiVersion>>,
    pub responses: HashMap<String, GatewayResponse>,
    pub apps: HashMap<String, App>,
    pub app_codes: HashMap<String, AppCode>,
    pub app_auths: HashMap<String, AppAuth>,
    pub sign_keys: HashMap<String, SignKey>,
    pub sign_bindings: HashMap<String, SignBinding>,
    pub iam_issuers: HashMap<String, IamIssuer>,
    /// JWK sets fetched from issuers' URLs, by URL.
    pub fetched_jwks: HashMap<String, serde_json::Value>,
    pub functions: HashMap<String, Function>,
    pub function_versions: HashMap<String, FunctionVersion>,
    pub function_aliases: HashMap<String, FunctionAlias>,
    pub authorizers: HashMap<String, Authorizer>,
    pub acls: HashMap<String, Acl>,
    pub acl_bindings: HashMap<String, AclBinding>,
    pub throttles: HashMap<String, Throttle>,
    pub throttle_bindings: HashMap<String, ThrottleBinding>,
    pub throttle_specials: HashMap<String, ThrottleSpecial>,
    pub channels: HashMap<String, causeway_model::channel::Channel>,
    /// Domains bound to groups.
    pub domains: HashMap<String, causeway_model::domain::Domain>,
    /// Member health, kept from one snapshot to the next.
    pub channel_health: Arc<crate::balance::Health>,
    /// The throttling engine (and its counters), kept from one snapshot to the next.
    pub limiter: Engine,
    /// Custom authorizers' cached answers, kept from one snapshot to the next.
    pub authorizer_cache: Arc<DecisionCache>,
    /// The function runtime, when this process runs one.
    pub function_runtime: Option<Arc<causeway_functions::Pool>>,
    /// Where asynchronous invocations are queued, when this process runs them.
    pub function_queue: Option<crate::function_async::AsyncQueue>,
}

/// The routes of one (group, environment).
#[derive(Debug)]
pub struct EnvRoutes {
    pub env_id: String,
    pub env_name: Arc<str>,
    router: Router,
    routes: Vec<Arc<Route>>,
}

impl EnvRoutes {
    pub fn find(&self, method: &http::Method, path: &str) -> Option<(&Arc<Route>, Match)> {
        let m = self.router.find(method, path)?;
        self.routes.get(m.route as usize).map(|r| (r, m))
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[derive(Debug)]
pub struct GroupRoutes {
    pub id: Arc<str>,
    pub name: String,
    /// The environments the group has APIs in (a handful): found by name,
    /// ignoring case as callers type it in `X-Stage`, without allocating.
    envs: Vec<EnvRoutes>,
    /// The group's gateway responses by id, and its default set.
    responses: HashMap<String, Arc<GatewayResponse>>,
    default_response: Option<Arc<GatewayResponse>>,
    /// The cap on all the group's APIs together, if it has one.
    pub limit: Option<crate::throttle::GroupLimit>,
}

impl GroupRoutes {
    /// The response set for an error: the API's `response_id`, else the group's default.
    pub fn responses(&self, route: Option<&Route>) -> Option<&GatewayResponse> {
        route
            .and_then(|r| r.def().response_id.as_ref())
            .and_then(|id| self.responses.get(id))
            .or(self.default_response.as_ref())
            .map(|r| &**r)
    }

    pub fn env(&self, stage: Option<&str>) -> Option<&EnvRoutes> {
        let name = stage.unwrap_or(RELEASE_ENV_NAME);
        self.envs.iter().find(|e| e.env_name.eq_ignore_ascii_case(name))
    }
}

/// Everything a gateway node serves.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: i64,
    groups: Vec<GroupRoutes>,
    /// `<group_id>.<base-domain>` and bound domains (lower case) → group.
    hosts: rustc_hash::FxHashMap<String, Host>,
    /// Bound wildcard domains by their parent (`*.example.com` → `example.com`).
    wildcard_hosts: rustc_hash::FxHashMap<String, Host>,
    default_group: Option<usize>,
    routes: usize,
    /// Apps, AppCodes and authorizations, for APP authentication.
    pub credentials: Credentials,
    /// Signature keys of the publications bound to one.
    pub backend_signers: BackendSigners,
    /// JWT issuers, for IAM authentication.
    pub issuers: Issuers,
    /// Functions by URN, for FUNCTION backends.
    pub functions: Functions,
    /// Custom authorizers by id.
    pub authorizers: Authorizers,
    /// Access-control lists by publication.
    pub access: AccessControl,
    /// Throttling policies by publication.
    pub throttles: Throttles,
    /// Load-balance channels by id.
    pub channels: crate::balance::Channels,
}

/// What a host name selects.
#[derive(Debug, Clone, Copy)]
struct Host {
    /// Index in `groups`.
    group: usize,
    /// Plain HTTP requests are redirected to HTTPS (a bound domain's setting).
    redirect_https: bool,
}

/// The group a request's host selects.
pub struct HostMatch<'s> {
    pub group: Option<&'s GroupRoutes>,
    /// The host is a bound domain whose plain HTTP requests go to HTTPS.
    pub redirect_https: bool,
}

/// Compiled routes kept between builds, so an unchanged publication is not compiled again.
#[derive(Debug, Default)]
pub struct RouteCache {
    routes: HashMap<String, Cached>,
}

#[derive(Debug)]
struct Cached {
    version_id: String,
    /// The variables the version uses, with the values it was compiled with.
    variables: Vec<(String, Option<String>)>,
    route: Arc<Route>,
}

impl RouteCache {
    fn get_or_compile(&mut self, p: &Publication, env_name: &Arc<str>, v: &Arc<ApiVersion>, vars: &HashMap<String, String>) -> Arc<Route> {
        if let Some(c) = self.routes.get(&p.publish_id)
            && c.version_id == v.version_id
            && c.route.env_name == *env_name
            && c.variables.iter().all(|(name, value)| vars.get(name) == value.as_ref())
        {
            return c.route.clone();
        }
        let route = Arc::new(Route::compile(p, env_name.clone(), v.clone(), vars));
        let variables = v.api.variables().into_iter().map(|n| { let value = vars.get(&n).cloned(); (n, value) }).collect();
        self.routes.insert(p.publish_id.clone(), Cached { version_id: v.version_id.clone(), variables, route: route.clone() });
        route
    }

    fn retain(&mut self, live: &Source) {
        self.routes.retain(|id, _| live.publications.contains_key(id));
    }
}

impl Snapshot {
    /// Builds the snapshot of `source` at `revision`.
    pub fn build(source: &Source, revision: i64, base_domain: &str, cache: &mut RouteCache) -> Snapshot {
        cache.retain(source);
        // Oldest publication first: when two published versions claim the same
        // route, the one published earlier keeps it.
        let mut pubs: Vec<&Publication> = source.publications.values().collect();
        pubs.sort_by(|a, b| (&a.publish_time, &a.publish_id).cmp(&(&b.publish_time, &b.publish_id)));

        let mut groups: Vec<GroupRoutes> = Vec::with_capacity(source.groups.len());
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(source.groups.len());
        let mut sorted_groups: Vec<&Group> = source.groups.values().collect();
        sorted_groups.sort_by(|a, b| a.id.cmp(&b.id));
        for g in sorted_groups {
            index.insert(&g.id, groups.len());
            groups.push(GroupRoutes {
                id: g.id.as_str().into(),
                name: g.name.clone(),
                envs: Vec::new(),
                responses: HashMap::new(),
                default_response: None,
                limit: crate::throttle::GroupLimit::of(g),
            });
        }
        let mut vars: HashMap<(&str, &str), HashMap<String, String>> = HashMap::new();
        for v in source.variables.values() {
            vars.entry((&v.group_id, &v.env_id)).or_default().insert(v.variable_name.clone(), v.variable_value.clone());
        }
        let no_vars = HashMap::new();
        let mut routes = 0;
        for p in pubs {
            let (Some(&gi), Some(env), Some(version)) =
                (index.get(p.group_id.as_str()), source.envs.get(&p.env_id), source.versions.get(&p.version_id))
            else {
                continue;
            };
            let env_vars = vars.get(&(p.group_id.as_str(), p.env_id.as_str())).unwrap_or(&no_vars);
            let envs = &mut groups[gi].envs;
            let at = match envs.iter().position(|e| e.env_id == env.id) {
                Some(i) => i,
                None => {
                    envs.push(EnvRoutes { env_id: env.id.clone(), env_name: env.name.as_str().into(), router: Router::new(), routes: Vec::new() });
                    envs.len() - 1
                }
            };
            let env_routes = &mut envs[at];
            let route = cache.get_or_compile(p, &env_routes.env_name, version, env_vars);
            let id = env_routes.routes.len() as u32;
            let api = route.def();
            if env_routes.router.insert(api.req_method, &api.req_uri, api.match_mode, id) {
                env_routes.routes.push(route);
                routes += 1;
            } else {
                tracing::warn!(api_id = %api.id, env = %env.name, path = %api.req_uri, "a route published earlier already serves this method and path; this publication is not served");
            }
        }
        for env in groups.iter_mut().flat_map(|g| g.envs.iter_mut()) {
            env.router.finish();
        }
        for r in source.responses.values() {
            if let Some(&gi) = index.get(r.group_id.as_str()) {
                let r = Arc::new(r.clone());
                if r.default {
                    groups[gi].default_response = Some(r.clone());
                }
                groups[gi].responses.insert(r.id.clone(), r);
            }
        }
        let mut hosts: rustc_hash::FxHashMap<String, Host> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (causeway_model::group::sl_domain(&g.id, base_domain).to_ascii_lowercase(), Host { group: i, redirect_https: false }))
            .collect();
        let mut wildcard_hosts = rustc_hash::FxHashMap::default();
        for d in source.domains.values() {
            let Some(&group) = index.get(d.group_id.as_str()) else { continue };
            let host = Host { group, redirect_https: d.is_http_redirect_to_https && d.certificate.is_some() };
            match d.url_domain.strip_prefix("*.") {
                Some(parent) => wildcard_hosts.insert(parent.to_ascii_lowercase(), host),
                None => hosts.insert(d.url_domain.to_ascii_lowercase(), host),
            };
        }
        let default_group = source.groups.values().find(|g| g.is_default()).and_then(|g| index.get(g.id.as_str()).copied());
        let credentials = Credentials::build(source.apps.values(), source.app_codes.values(), source.app_auths.values());
        let backend_signers = BackendSigners::build(source.sign_keys.values(), source.sign_bindings.values());
        let issuers = Issuers::build(source.iam_issuers.values(), &source.fetched_jwks);
        let functions = Functions::build(
            source.function_runtime.clone(),
            source.function_queue.clone(),
            source.functions.values(),
            source.function_versions.values(),
            source.function_aliases.values(),
        );
        let authorizers = Authorizers::build(source.authorizers.values(), source.authorizer_cache.clone());
        let access = AccessControl::build(source.acls.values(), source.acl_bindings.values());
        let throttles = Throttles::build(source.throttles.values(), source.throttle_bindings.values(), source.throttle_specials.values(), source.limiter.clone());
        let channels = crate::balance::Channels::build(source.channels.values(), &source.channel_health);
        Snapshot { revision, groups, hosts, wildcard_hosts, default_group, routes, credentials, backend_signers, issuers, functions, authorizers, access, throttles, channels }
    }

    /// The group a `Host` (without port, any case) selects: its subdomain or
    /// a bound domain (exact, then wildcard), else the DEFAULT group.
    pub fn host(&self, host: &str) -> HostMatch<'_> {
        let found = match self.hosts.get(host) {
            Some(h) => Some(*h),
            // Callers by address (the DEFAULT group) miss here: no allocation unless the case differs.
            None if host.bytes().any(|b| b.is_ascii_uppercase()) => self.find_host(&host.to_ascii_lowercase()),
            None => self.find_host(host),
        };
        match found {
            Some(h) => HostMatch { group: self.groups.get(h.group), redirect_https: h.redirect_https },
            None => HostMatch { group: self.default_group.and_then(|i| self.groups.get(i)), redirect_https: false },
        }
    }

    fn find_host(&self, lower: &str) -> Option<Host> {
        if let Some(h) = self.hosts.get(lower) {
            return Some(*h);
        }
        if self.wildcard_hosts.is_empty() {
            return None;
        }
        let (_, parent) = lower.split_once('.')?;
        self.wildcard_hosts.get(parent).copied()
    }

    /// The group a `Host` selects (see [`Snapshot::host`]).
    pub fn group(&self, host: &str) -> Option<&GroupRoutes> {
        self.host(host).group
    }

    /// Number of routes served.
    pub fn routes(&self) -> usize {
        self.routes
    }
}
