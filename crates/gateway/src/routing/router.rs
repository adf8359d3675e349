//! Routing inside one (group, environment): method + path → route id.
//!
//! * NORMAL paths without parameters sit in a hash map (exact; a trailing `/` matters).
//! * NORMAL paths with `{param}` segments are leaves of a segment trie.
//! * SWA (prefix) paths mark trie nodes; a prefix matches on segment boundaries.
//! * `^~` and PREFIX paths are string prefixes, in two byte tries.
//! * REGEX paths are compiled into one `RegexSet`, so one pass over the path
//!   tests all of them; the longest pattern wins (ties: the pattern text).
//!
//! Priority is fixed ([`PathMatch`]): exact > `^~` prefix (longest first) >
//! template > SWA and PREFIX prefixes (longest first; a segment prefix at
//! equal length) > regex; at each level a specific method beats `ANY`, and a
//! route whose method does not fit lets the next level try. Within templates
//! a literal segment beats a parameter at the same depth. Matching walks the
//! path once per level (with backtracking only where a literal and a
//! parameter both fit), so its cost depends on the path, not on how many
//! routes there are. It allocates nothing.

use rustc_hash::FxHashMap as HashMap;

use causeway_model::api::Method;
use causeway_model::api::route::{PathMatch, RoutePath};

/// Index of a route in its environment's route table.
pub type RouteId = u32;

/// Which rule matched, for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    /// A `^~` string prefix.
    PriorityPrefix,
    Template,
    /// An SWA or PREFIX prefix.
    Prefix,
    Regex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    pub route: RouteId,
    pub kind: MatchKind,
}

/// Routes per method, and the `ANY` route.
#[derive(Debug, Clone, Default)]
struct Methods {
    specific: [Option<RouteId>; 9],
    any: Option<RouteId>,
}

fn method_slot(m: &http::Method) -> Option<usize> {
    Some(match *m {
        http::Method::GET => 0,
        http::Method::POST => 1,
        http::Method::PUT => 2,
        http::Method::DELETE => 3,
        http::Method::HEAD => 4,
        http::Method::PATCH => 5,
        http::Method::OPTIONS => 6,
        http::Method::TRACE => 7,
        http::Method::CONNECT => 8,
        _ => return None,
    })
}

fn model_slot(m: Method) -> Option<usize> {
    Some(match m {
        Method::Get => 0,
        Method::Post => 1,
        Method::Put => 2,
        Method::Delete => 3,
        Method::Head => 4,
        Method::Patch => 5,
        Method::Options => 6,
        Method::Trace => 7,
        Method::Connect => 8,
        Method::Any => return None,
    })
}

impl Methods {
    fn get(&self, m: &http::Method) -> Option<RouteId> {
        method_slot(m).and_then(|i| self.specific[i]).or(self.any)
    }

    /// Adds a route; false if that method already has one (the first stays).
    fn set(&mut self, m: Method, id: RouteId) -> bool {
        let slot = match model_slot(m) {
            Some(i) => &mut self.specific[i],
            None => &mut self.any,
        };
        if slot.is_some() {
            return false;
        }
        *slot = Some(id);
        true
    }
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<Box<str>, Node>,
    param: Option<Box<Node>>,
    /// A NORMAL template ends here.
    template: Option<Methods>,
    /// An SWA prefix ends here.
    prefix: Option<Methods>,
}

/// String prefixes: a byte trie whose nodes may end a prefix.
#[derive(Debug, Default)]
struct StringPrefixes {
    /// Node 0 is the root (the empty prefix).
    nodes: Vec<ByteNode>,
}

#[derive(Debug, Default)]
struct ByteNode {
    children: Vec<(u8, u32)>,
    methods: Option<Methods>,
}

impl StringPrefixes {
    fn insert(&mut self, prefix: &str, method: Method, id: RouteId) -> bool {
        if self.nodes.is_empty() {
            self.nodes.push(ByteNode::default());
        }
        let mut at = 0usize;
        for &b in prefix.as_bytes() {
            at = match self.nodes[at].children.iter().find(|(c, _)| *c == b) {
                Some(&(_, next)) => next as usize,
                None => {
                    let next = self.nodes.len();
                    self.nodes.push(ByteNode::default());
                    self.nodes[at].children.push((b, next as u32));
                    next
                }
            };
        }
        self.nodes[at].methods.get_or_insert_with(Methods::default).set(method, id)
    }

    /// The longest prefix of `path` whose methods fit: its length and route.
    fn longest(&self, path: &str, method: &http::Method) -> Option<(usize, RouteId)> {
        let mut node = self.nodes.first()?;
        let mut best = node.methods.as_ref().and_then(|m| m.get(method)).map(|r| (0, r));
        for (i, &b) in path.as_bytes().iter().enumerate() {
            let Some(&(_, next)) = node.children.iter().find(|(c, _)| *c == b) else { break };
            node = &self.nodes[next as usize];
            if let Some(route) = node.methods.as_ref().and_then(|m| m.get(method)) {
                best = Some((i + 1, route));
            }
        }
        best
    }
}

/// The routes of one (group, environment).
#[derive(Debug, Default)]
pub struct Router {
    exact: HashMap<Box<str>, Methods>,
    trie: Node,
    /// `^~` prefixes, tried before templates.
    priority_prefixes: StringPrefixes,
    /// PREFIX paths, tried with SWA ones.
    string_prefixes: StringPrefixes,
    /// REGEX routes, in priority order once [`Router::finish`] has run.
    regex: Vec<(Box<str>, Methods)>,
    regex_set: Option<regex::RegexSet>,
}

/// Size limit of the compiled set of an environment's REGEX paths.
const REGEX_SET_SIZE_LIMIT: usize = 32 << 20;

/// Segments of a path after its leading `/` (`/a/b/` → `a`, `b`, ``).
fn segments(path: &str) -> std::str::Split<'_, char> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

fn is_param(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

impl Router {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route. Returns false when the same method, path shape and kind
    /// already has a route: the earlier one keeps it.
    pub fn insert(&mut self, method: Method, route: &RoutePath, id: RouteId) -> bool {
        let path = route.path.as_str();
        let templated = segments(path).any(is_param);
        match (route.kind, templated) {
            (PathMatch::Normal, false) => self.exact.entry(path.into()).or_default().set(method, id),
            (PathMatch::Normal, true) => {
                let node = Self::node_for(&mut self.trie, segments(path));
                node.template.get_or_insert_with(Methods::default).set(method, id)
            }
            (PathMatch::PriorityPrefix, _) => self.priority_prefixes.insert(path, method, id),
            (PathMatch::StringPrefix, _) => self.string_prefixes.insert(path, method, id),
            (PathMatch::Regex, _) => match self.regex.iter_mut().find(|(p, _)| &**p == path) {
                Some((_, methods)) => methods.set(method, id),
                None => {
                    let mut methods = Methods::default();
                    methods.set(method, id);
                    self.regex.push((path.into(), methods));
                    true
                }
            },
            (PathMatch::SegmentPrefix, _) => {
                // `/a/` and `/a` are the same prefix; `/` matches everything.
                let trimmed = path.trim_end_matches('/');
                let node = if trimmed.is_empty() { &mut self.trie } else { Self::node_for(&mut self.trie, segments(trimmed)) };
                node.prefix.get_or_insert_with(Methods::default).set(method, id)
            }
        }
    }

    /// Compiles the REGEX paths; call once every route is inserted.
    pub fn finish(&mut self) {
        if self.regex.is_empty() {
            return;
        }
        self.regex.sort_by(|(a, _), (b, _)| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        let patterns = self.regex.iter().map(|(p, _)| causeway_model::api::uri::anchored(p));
        match regex::RegexSetBuilder::new(patterns).size_limit(REGEX_SET_SIZE_LIMIT).build() {
            Ok(set) => self.regex_set = Some(set),
            Err(e) => tracing::error!(error = %e, "the REGEX paths of an environment do not compile together; they are not served"),
        }
    }

    fn node_for<'a>(mut node: &'a mut Node, segs: std::str::Split<'_, char>) -> &'a mut Node {
        for seg in segs {
            node = if is_param(seg) {
                node.param.get_or_insert_with(Box::default)
            } else {
                node.literal.entry(seg.into()).or_default()
            };
        }
        node
    }

    /// Finds the route for a request.
    pub fn find(&self, method: &http::Method, path: &str) -> Option<Match> {
        if let Some(route) = self.exact.get(path).and_then(|m| m.get(method)) {
            return Some(Match { route, kind: MatchKind::Exact });
        }
        if let Some((_, route)) = self.priority_prefixes.longest(path, method) {
            return Some(Match { route, kind: MatchKind::PriorityPrefix });
        }
        if let Some(route) = Self::template(&self.trie, segments(path), method) {
            return Some(Match { route, kind: MatchKind::Template });
        }
        // SWA and PREFIX prefixes together: the longer match, a segment prefix at equal length.
        let mut best = None;
        Self::prefix(&self.trie, segments(path), method, 0, 0, &mut best);
        let segment = best.map(|(_, len, route)| (len, route));
        let string = self.string_prefixes.longest(path, method);
        let chosen = match (segment, string) {
            (Some((a, r)), Some((b, _))) if a >= b => Some(r),
            (_, Some((_, r))) => Some(r),
            (Some((_, r)), None) => Some(r),
            (None, None) => None,
        };
        if let Some(route) = chosen {
            return Some(Match { route, kind: MatchKind::Prefix });
        }
        let set = self.regex_set.as_ref()?;
        // Matches come in pattern order, which is priority order.
        set.matches(path)
            .iter()
            .find_map(|i| self.regex.get(i).and_then(|(_, m)| m.get(method)))
            .map(|route| Match { route, kind: MatchKind::Regex })
    }

    fn template(node: &Node, mut segs: std::str::Split<'_, char>, method: &http::Method) -> Option<RouteId> {
        let Some(seg) = segs.next() else {
            return node.template.as_ref().and_then(|m| m.get(method));
        };
        if let Some(child) = node.literal.get(seg)
            && let Some(route) = Self::template(child, segs.clone(), method)
        {
            return Some(route);
        }
        match &node.param {
            Some(child) if !seg.is_empty() => Self::template(child, segs, method),
            _ => None,
        }
    }

    /// Depth-first search for the deepest prefix whose methods fit (with the
    /// bytes of the path it covers); a literal branch is explored first and
    /// kept on ties.
    fn prefix(node: &Node, mut segs: std::str::Split<'_, char>, method: &http::Method, depth: usize, len: usize, best: &mut Option<(usize, usize, RouteId)>) {
        if let Some(route) = node.prefix.as_ref().and_then(|m| m.get(method))
            && best.is_none_or(|(d, _, _)| depth > d)
        {
            *best = Some((depth, len, route));
        }
        let Some(seg) = segs.next() else { return };
        let covered = len + 1 + seg.len();
        if let Some(child) = node.literal.get(seg) {
            Self::prefix(child, segs.clone(), method, depth + 1, covered, best);
        }
        if let Some(child) = &node.param
            && !seg.is_empty()
        {
            Self::prefix(child, segs, method, depth + 1, covered, best);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_model::api::MatchMode;
    use http::Method as M;

    fn routed(p: &str, mode: MatchMode) -> RoutePath {
        causeway_model::api::route::route_path(p, mode)
    }

    fn router(routes: &[(Method, &str, MatchMode)]) -> Router {
        let mut r = Router::new();
        for (i, (m, p, mode)) in routes.iter().enumerate() {
            assert!(r.insert(*m, &routed(p, *mode), i as RouteId), "duplicate {p}");
        }
        r.finish();
        r
    }

    fn hit(r: &Router, m: M, p: &str) -> Option<(RouteId, MatchKind)> {
        r.find(&m, p).map(|x| (x.route, x.kind))
    }

    use MatchMode::{Normal, Regex, Swa};

    #[test]
    fn regex_paths_come_last_longest_pattern_first() {
        let r = router(&[
            (Method::Get, "/img/.*\\.png", Regex),
            (Method::Get, "/img/(?<name>[a-z]+)\\.png", Regex),
            (Method::Any, "/img/(?<name>[a-z]+)\\.png", Regex),
            (Method::Get, "/img/logo.png", Normal),
            (Method::Get, "/v[0-9]+/.*", Regex),
            (Method::Get, "/v1", Swa),
        ]);
        assert_eq!(hit(&r, M::GET, "/img/logo.png"), Some((3, MatchKind::Exact)));
        assert_eq!(hit(&r, M::GET, "/img/cat.png"), Some((1, MatchKind::Regex)), "the longer pattern first");
        assert_eq!(hit(&r, M::POST, "/img/cat.png"), Some((2, MatchKind::Regex)), "ANY of the same pattern");
        assert_eq!(hit(&r, M::GET, "/img/Cat9.png"), Some((0, MatchKind::Regex)));
        assert_eq!(hit(&r, M::GET, "/img/cat.png/x"), None, "whole paths only");
        assert_eq!(hit(&r, M::GET, "/v1/x"), Some((5, MatchKind::Prefix)), "a prefix beats a regex");
        assert_eq!(hit(&r, M::GET, "/v2/x"), Some((4, MatchKind::Regex)));
        assert_eq!(hit(&r, M::DELETE, "/v2/x"), None);
        let mut dup = router(&[(Method::Get, "/a+", Regex)]);
        assert!(!dup.insert(Method::Get, &routed("/a+", Regex), 9));
    }

    #[test]
    fn exact_paths_and_trailing_slashes() {
        let r = router(&[(Method::Get, "/test", Normal), (Method::Get, "/test/", Normal)]);
        assert_eq!(hit(&r, M::GET, "/test"), Some((0, MatchKind::Exact)));
        assert_eq!(hit(&r, M::GET, "/test/"), Some((1, MatchKind::Exact)));
        assert_eq!(hit(&r, M::GET, "/test/x"), None);
        assert_eq!(hit(&r, M::GET, "/tes"), None);
        assert_eq!(hit(&r, M::POST, "/test"), None);
    }

    #[test]
    fn specific_methods_beat_any() {
        let r = router(&[(Method::Any, "/a", Normal), (Method::Post, "/a", Normal)]);
        assert_eq!(hit(&r, M::POST, "/a"), Some((1, MatchKind::Exact)));
        assert_eq!(hit(&r, M::GET, "/a"), Some((0, MatchKind::Exact)));
        assert_eq!(hit(&r, M::from_bytes(b"PURGE").unwrap(), "/a"), Some((0, MatchKind::Exact)), "other methods reach ANY");
    }

    #[test]
    fn templates_bind_whole_segments_and_literals_win() {
        let r = router(&[
            (Method::Get, "/users/{id}", Normal),
            (Method::Get, "/users/{id}/orders/{order}", Normal),
            (Method::Get, "/users/me/orders/{order}", Normal),
            (Method::Get, "/users/{id}/", Normal),
        ]);
        assert_eq!(hit(&r, M::GET, "/users/42"), Some((0, MatchKind::Template)));
        assert_eq!(hit(&r, M::GET, "/users/42/"), Some((3, MatchKind::Template)));
        assert_eq!(hit(&r, M::GET, "/users/42/orders/7"), Some((1, MatchKind::Template)));
        assert_eq!(hit(&r, M::GET, "/users/me/orders/7"), Some((2, MatchKind::Template)));
        assert_eq!(hit(&r, M::GET, "/users//orders/7"), None, "a parameter is never empty");
        assert_eq!(hit(&r, M::GET, "/users"), None);
        // Backtracking: the literal branch fails deeper, the parameter branch fits.
        let r = router(&[(Method::Get, "/a/b/c", Normal), (Method::Get, "/a/{x}/d", Normal)]);
        assert_eq!(hit(&r, M::GET, "/a/b/d"), Some((1, MatchKind::Template)));
    }

    #[test]
    fn prefixes_match_on_segment_boundaries_longest_first() {
        let r = router(&[(Method::Any, "/", Swa), (Method::Get, "/prefix", Swa), (Method::Get, "/prefix/deeper/", Swa)]);
        assert_eq!(hit(&r, M::GET, "/prefix"), Some((1, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/prefix/"), Some((1, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/prefix/foo"), Some((1, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/prefix/deeper/x/y"), Some((2, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/prefixpart"), Some((0, MatchKind::Prefix)), "not inside a segment");
        assert_eq!(hit(&r, M::POST, "/prefix/foo"), Some((0, MatchKind::Prefix)), "method misfit falls to a shorter prefix");
        assert_eq!(hit(&r, M::GET, "/"), Some((0, MatchKind::Prefix)));
    }

    #[test]
    fn priority_exact_then_template_then_prefix() {
        let r = router(&[(Method::Get, "/a/{x}", Normal), (Method::Get, "/a", Swa), (Method::Get, "/a/b", Normal)]);
        assert_eq!(hit(&r, M::GET, "/a/b"), Some((2, MatchKind::Exact)));
        assert_eq!(hit(&r, M::GET, "/a/c"), Some((0, MatchKind::Template)));
        assert_eq!(hit(&r, M::GET, "/a/c/d"), Some((1, MatchKind::Prefix)));
        // A level whose method does not fit lets the next level answer.
        assert_eq!(hit(&r, M::DELETE, "/a/b"), None);
        let r = router(&[(Method::Post, "/a/b", Normal), (Method::Any, "/a", Swa)]);
        assert_eq!(hit(&r, M::GET, "/a/b"), Some((1, MatchKind::Prefix)));
    }

    #[test]
    fn templated_prefixes() {
        let r = router(&[(Method::Get, "/t/{tenant}", Swa), (Method::Get, "/t/admin/x", Swa)]);
        assert_eq!(hit(&r, M::GET, "/t/acme/files/1"), Some((0, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/t/admin/x/1"), Some((1, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/t/admin/y"), Some((0, MatchKind::Prefix)));
    }

    #[test]
    fn duplicates_keep_the_first() {
        let mut r = Router::new();
        assert!(r.insert(Method::Get, &routed("/a/{x}", Normal), 0));
        assert!(!r.insert(Method::Get, &routed("/a/{y}", Normal), 1));
        assert!(r.insert(Method::Post, &routed("/a/{y}", Normal), 2));
        assert_eq!(hit(&r, M::GET, "/a/1"), Some((0, MatchKind::Template)));
        assert_eq!(hit(&r, M::POST, "/a/1"), Some((2, MatchKind::Template)));
    }

    /// The priority of the three clouds' syntaxes (docs/groups-and-apis.md has this table):
    /// which route answers `/user`, `/usertest`, `/user/5` and `/user/5/x` for each set.
    #[test]
    fn the_clouds_syntaxes_in_one_order() {
        // name, written path, match mode
        let all = [("=", "=/user", Normal), ("^~", "^~/user", Normal), ("{id}", "/user/{id}", Normal), ("[id]", "/user/[id]", Normal),
                   ("PREFIX", "/user", MatchMode::Prefix), ("SWA", "/user", Swa), ("REGEX", "/user.*", Regex)];
        let paths = ["/user", "/usertest", "/user/5", "/user/5/x"];
        let table: &[(&[&str], [Option<&str>; 4])] = &[
            (&["=", "^~", "{id}", "PREFIX"], [Some("="), Some("^~"), Some("^~"), Some("^~")]),
            (&["=", "{id}", "PREFIX"], [Some("="), Some("PREFIX"), Some("{id}"), Some("PREFIX")]),
            (&["{id}", "PREFIX"], [Some("PREFIX"), Some("PREFIX"), Some("{id}"), Some("PREFIX")]),
            (&["[id]", "SWA"], [Some("SWA"), None, Some("[id]"), Some("SWA")]),
            (&["PREFIX", "SWA"], [Some("SWA"), Some("PREFIX"), Some("SWA"), Some("SWA")]),
            (&["^~", "[id]"], [Some("^~"), Some("^~"), Some("^~"), Some("^~")]),
            (&["="], [Some("="), None, None, None]),
            (&["{id}", "REGEX"], [Some("REGEX"), Some("REGEX"), Some("{id}"), Some("REGEX")]),
            (&["SWA", "REGEX"], [Some("SWA"), Some("REGEX"), Some("SWA"), Some("SWA")]),
        ];
        for (set, expected) in table {
            let routes: Vec<(Method, &str, MatchMode)> = set.iter().map(|n| {
                let (_, p, m) = all.iter().find(|(name, _, _)| name == n).unwrap();
                (Method::Get, *p, *m)
            }).collect();
            let r = router(&routes);
            for (path, want) in paths.iter().zip(expected) {
                let got = r.find(&M::GET, path).map(|m| set[m.route as usize]);
                assert_eq!(got, *want, "{set:?} {path}");
            }
        }
        // `=/user` and `/user` are one route; `[id]` and `{id}` one shape.
        let mut r = Router::new();
        assert!(r.insert(Method::Get, &routed("=/user", Normal), 0));
        assert!(!r.insert(Method::Get, &routed("/user", Normal), 1));
        assert!(r.insert(Method::Get, &routed("/u/[id]", Normal), 2));
        assert!(!r.insert(Method::Get, &routed("/u/{x}", Normal), 3));
        // Non-ASCII paths match the percent-encoded request path; TRACE and CONNECT have their own slots.
        let r = router(&[(Method::Get, "/用户/列表", Normal), (Method::Trace, "/t", Normal), (Method::Any, "/t", Normal)]);
        assert_eq!(hit(&r, M::GET, "/%E7%94%A8%E6%88%B7/%E5%88%97%E8%A1%A8"), Some((0, MatchKind::Exact)));
        assert_eq!(hit(&r, M::TRACE, "/t"), Some((1, MatchKind::Exact)));
        assert_eq!(hit(&r, M::CONNECT, "/t"), Some((2, MatchKind::Exact)));
    }

    #[test]
    fn string_prefixes_longest_first_and_by_method() {
        let r = router(&[(Method::Get, "^~/a", Normal), (Method::Get, "^~/ab", Normal), (Method::Post, "^~/abc", Normal), (Method::Any, "/", MatchMode::Prefix)]);
        assert_eq!(hit(&r, M::GET, "/abcd"), Some((1, MatchKind::PriorityPrefix)), "the longest whose method fits");
        assert_eq!(hit(&r, M::POST, "/abcd"), Some((2, MatchKind::PriorityPrefix)));
        assert_eq!(hit(&r, M::GET, "/a"), Some((0, MatchKind::PriorityPrefix)));
        assert_eq!(hit(&r, M::GET, "/b"), Some((3, MatchKind::Prefix)), "`/` as a PREFIX takes everything else");
        assert_eq!(hit(&r, M::DELETE, "/abc"), Some((3, MatchKind::Prefix)));
    }

    #[test]
    fn cost_does_not_depend_on_the_number_of_routes() {
        let mut r = Router::new();
        for i in 0..10_000u32 {
            let (path, mode) = match i % 3 {
                0 => (format!("/svc{i}/items"), Normal),
                1 => (format!("/svc{i}/items/{{id}}"), Normal),
                _ => (format!("/svc{i}/static"), Swa),
            };
            assert!(r.insert(Method::Get, &routed(&path, mode), i));
        }
        assert_eq!(hit(&r, M::GET, "/svc9999/items"), Some((9999, MatchKind::Exact)));
        assert_eq!(hit(&r, M::GET, "/svc9997/items/5"), Some((9997, MatchKind::Template)));
        assert_eq!(hit(&r, M::GET, "/svc9998/static/a/b"), Some((9998, MatchKind::Prefix)));
        assert_eq!(hit(&r, M::GET, "/svc9999/items/x"), None);
        assert_eq!(hit(&r, M::GET, "/svc0/items"), Some((0, MatchKind::Exact)));
    }
}
