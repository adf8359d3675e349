//! The routing table of a snapshot: every group with its environments' routers,
//! and the hosts that select a group (`<group_id>.<base-domain>` and bound
//! domains, exact or wildcard; else the DEFAULT group). Built from the
//! published state; compiled routes are kept between builds while their
//! version and variables are unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_model::domain::Domain;
use causeway_model::env::{Env, EnvVariable, RELEASE_ENV_NAME};
use causeway_model::group::Group;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::response::GatewayResponse;
use rustc_hash::FxHashMap;

use crate::http::error::{GatewayError, errors};
use crate::http::headers::X_STAGE;
use crate::routing::route::Route;
use crate::http::query::query_pairs;
use crate::routing::router::{Match, RouteId, Router};
use crate::stages::throttle::GroupLimit;

/// The routes of one (group, environment).
#[derive(Debug)]
pub struct EnvRoutes {
    pub env_id: String,
    pub env_name: Arc<str>,
    router: Router,
    routes: Vec<Arc<Route>>,
    /// APIs sharing a method and path that differ in their required query
    /// parameters (Baidu's rule): by the route the router holds, each with
    /// those names, most names first.
    alternatives: FxHashMap<RouteId, Vec<Alternative>>,
}

/// A route, with the names of its required query parameters.
type Alternative = (Vec<Box<str>>, RouteId);

impl EnvRoutes {
    fn new(env_id: String, env_name: Arc<str>) -> Self {
        Self { env_id, env_name, router: Router::new(), routes: Vec::new(), alternatives: FxHashMap::default() }
    }

    pub fn find(&self, method: &http::Method, path: &str, query: &str) -> Option<(&Arc<Route>, Match)> {
        let mut m = self.router.find(method, path)?;
        if !self.alternatives.is_empty()
            && let Some(alts) = self.alternatives.get(&m.route)
        {
            // The first whose required query parameters are all there, else the one requiring none (if any).
            let present = |name: &str| query_pairs(query).any(|(k, _)| k == name);
            let chosen = alts.iter().find(|(names, _)| names.iter().all(|n| present(n))).or_else(|| alts.last());
            if let Some(&(_, id)) = chosen {
                m.route = id;
            }
        }
        self.routes.get(m.route as usize).map(|r| (r, m))
    }
}

#[derive(Debug)]
pub struct GroupRoutes {
    pub id: Arc<str>,
    /// The environments the group has APIs in (a handful): found by name,
    /// ignoring case as callers type it in `X-Stage`, without allocating.
    envs: Vec<EnvRoutes>,
    /// The group's gateway responses by id, and its default set.
    responses: HashMap<String, Arc<GatewayResponse>>,
    default_response: Option<Arc<GatewayResponse>>,
    /// The cap on all the group's APIs together, if it has one.
    pub limit: Option<GroupLimit>,
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

    /// The environment a request asks for (`X-Stage`), then its route for
    /// `method` and the path → `APIG.0101`. Also gives the environment's name.
    pub fn find(&self, parts: &http::request::Parts, method: &http::Method) -> Result<(&Arc<Route>, &str), GatewayError> {
        let stage = parts.headers.get(X_STAGE).and_then(|v| v.to_str().ok());
        let env = self.env(stage).ok_or(errors::NOT_FOUND)?;
        let (route, _) = env.find(method, parts.uri.path(), parts.uri.query().unwrap_or_default()).ok_or(errors::NOT_FOUND)?;
        Ok((route, &env.env_name))
    }
}

/// Every group's routes, and the hosts that select them.
#[derive(Debug, Default)]
pub struct RouteTable {
    groups: Vec<GroupRoutes>,
    /// `<group_id>.<base-domain>` and bound domains (lower case) → group.
    hosts: FxHashMap<String, Host>,
    /// Bound wildcard domains by their parent (`*.example.com` → `example.com`).
    wildcard_hosts: FxHashMap<String, Host>,
    default_group: Option<usize>,
    routes: usize,
}

/// What a table is built from: the published state of the groups.
pub struct Published<'a> {
    pub groups: &'a HashMap<String, Group>,
    pub envs: &'a HashMap<String, Env>,
    pub variables: &'a HashMap<String, EnvVariable>,
    pub publications: &'a HashMap<String, Publication>,
    pub versions: &'a HashMap<String, Arc<ApiVersion>>,
    pub responses: &'a HashMap<String, GatewayResponse>,
    pub domains: &'a HashMap<String, Domain>,
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

    fn retain(&mut self, live: &HashMap<String, Publication>) {
        self.routes.retain(|id, _| live.contains_key(id));
    }
}

impl RouteTable {
    /// Builds the table of what is published, compiling only routes `cache` does not have.
    pub fn build(source: &Published<'_>, base_domain: &str, cache: &mut RouteCache) -> RouteTable {
        cache.retain(source.publications);
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
                envs: Vec::new(),
                responses: HashMap::new(),
                default_response: None,
                limit: GroupLimit::of(g),
            });
        }
        let mut vars: HashMap<(&str, &str), HashMap<String, String>> = HashMap::new();
        for v in source.variables.values() {
            vars.entry((&v.group_id, &v.env_id)).or_default().insert(v.variable_name.clone(), v.variable_value.clone());
        }
        let no_vars = HashMap::new();
        let mut routes = 0;
        // The route holding each (group, environment, method and path) in the router.
        let mut firsts: HashMap<(usize, usize, String), RouteId> = HashMap::new();
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
                    envs.push(EnvRoutes::new(env.id.clone(), env.name.as_str().into()));
                    envs.len() - 1
                }
            };
            let env_routes = &mut envs[at];
            let route = cache.get_or_compile(p, &env_routes.env_name, version, env_vars);
            let id = env_routes.routes.len() as u32;
            let api = route.def();
            let base = causeway_model::api::route_key(api.req_method, &api.req_uri, api.match_mode);
            let required: Vec<Box<str>> = api.required_query().into_iter().map(Into::into).collect();
            if env_routes.router.insert(api.req_method, &api.route_path(), id) {
                firsts.insert((gi, at, base), id);
                env_routes.routes.push(route);
                routes += 1;
            } else if let Some(&holder) = firsts.get(&(gi, at, base)) {
                // Same method and path: routed by the required query parameters, when they differ.
                let routes_so_far = &env_routes.routes;
                let alts = env_routes.alternatives.entry(holder).or_insert_with(|| {
                    let first = routes_so_far[holder as usize].def().required_query().into_iter().map(Into::into).collect();
                    vec![(first, holder)]
                });
                if alts.iter().any(|(names, _)| *names == required) {
                    tracing::warn!(api_id = %api.id, env = %env.name, path = %api.req_uri, "a route published earlier already serves this method, path and required query parameters; this publication is not served");
                } else {
                    alts.push((required, id));
                    alts.sort_by_key(|a| std::cmp::Reverse(a.0.len()));
                    env_routes.routes.push(route);
                    routes += 1;
                }
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
        let mut hosts: FxHashMap<String, Host> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (causeway_model::group::sl_domain(&g.id, base_domain).to_ascii_lowercase(), Host { group: i, redirect_https: false }))
            .collect();
        let mut wildcard_hosts = FxHashMap::default();
        for d in source.domains.values() {
            let Some(&group) = index.get(d.group_id.as_str()) else { continue };
            let host = Host { group, redirect_https: d.is_http_redirect_to_https && d.certificate.is_some() };
            match d.url_domain.strip_prefix("*.") {
                Some(parent) => wildcard_hosts.insert(parent.to_ascii_lowercase(), host),
                None => hosts.insert(d.url_domain.to_ascii_lowercase(), host),
            };
        }
        let default_group = source.groups.values().find(|g| g.is_default()).and_then(|g| index.get(g.id.as_str()).copied());
        RouteTable { groups, hosts, wildcard_hosts, default_group, routes }
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

    /// Number of routes served.
    pub fn routes(&self) -> usize {
        self.routes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, name: &str) -> Group {
        serde_json::from_value(serde_json::json!({
            "id": id, "name": name, "status": 1, "sl_domain": format!("{id}.apigw.localhost"), "sl_domains": [],
            "register_time": "2026-01-01T00:00:00Z", "update_time": "2026-01-01T00:00:00Z",
            "on_sell_status": 2, "url_domains": [], "is_default": if name == "DEFAULT" { 1 } else { 2 }
        }))
        .unwrap()
    }

    #[test]
    fn hosts_select_groups_by_subdomain_then_default() {
        let groups = HashMap::from([("g1".to_string(), group("g1", "shop")), ("g0".to_string(), group("g0", "DEFAULT"))]);
        let (envs, variables, publications, versions, responses, domains) = (HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new(), HashMap::new());
        let published = Published { groups: &groups, envs: &envs, variables: &variables, publications: &publications, versions: &versions, responses: &responses, domains: &domains };
        let table = RouteTable::build(&published, "apigw.localhost", &mut RouteCache::default());
        assert_eq!(&*table.host("g1.apigw.localhost").group.unwrap().id, "g1");
        assert_eq!(&*table.host("G1.APIGW.localhost").group.unwrap().id, "g1", "hosts ignore case");
        assert_eq!(&*table.host("127.0.0.1").group.unwrap().id, "g0", "other hosts reach the DEFAULT group");
    }
}
