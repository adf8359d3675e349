//! How an API's request path is matched: the three clouds' path syntaxes,
//! written in `req_uri` (and kept as written), read into one form.
//!
//! | written | with `match_mode` | matches | cloud |
//! |---|---|---|---|
//! | `/user`, `/user/{id}` | `NORMAL` (default) | the path exactly; `{id}` one segment | Huawei |
//! | `/user/[id]` | `NORMAL` | the same as `{id}` | Baidu |
//! | `=/user` | `NORMAL` | the path exactly | Tencent |
//! | `^~/user` | `NORMAL` | every path starting with `/user` (`/usertest` too), before templates | Tencent |
//! | `/user` | `SWA` | `/user` and paths below it, on segment boundaries | Huawei, Baidu |
//! | `/user` | `PREFIX` | every path starting with `/user` (`/usertest` too) | Tencent's plain paths |
//! | a regular expression | `REGEX` | paths it matches whole | Causeway |
//!
//! The order in which they are tried is [`PathMatch`]'s.

use super::MatchMode;
use crate::error::{ApiError, Result, codes};

/// How a route matches, in the order the router tries them: exact paths,
/// then `^~` prefixes (longest first), then templates (a literal segment
/// before a parameter), then prefixes — `SWA` and `PREFIX` together, longest
/// first, a segment prefix first at equal length — then regular expressions
/// (longest first). At each step a specific method beats `ANY`, and a route
/// whose method does not fit lets the next step try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PathMatch {
    /// `NORMAL`: exact without parameters, a template with them.
    Normal,
    /// `^~/path`: a string prefix tried before templates.
    PriorityPrefix,
    /// `SWA`: a prefix on segment boundaries.
    SegmentPrefix,
    /// `PREFIX`: a string prefix.
    StringPrefix,
    Regex,
}

/// A request path in the form routing uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePath {
    /// The path with `{name}` parameters and non-ASCII characters
    /// percent-encoded (upper-case hex), as requests carry them.
    pub path: String,
    pub kind: PathMatch,
}

/// The marker of a Tencent exact path.
const EXACT: &str = "=";
/// The marker of a Tencent priority prefix.
const PRIORITY_PREFIX: &str = "^~";

/// Splits a written `req_uri` into its marker and path: `=/a` → (`=`, `/a`).
pub fn split_marker(req_uri: &str) -> (Option<&'static str>, &str) {
    if let Some(rest) = req_uri.strip_prefix(PRIORITY_PREFIX) {
        (Some(PRIORITY_PREFIX), rest)
    } else if let Some(rest) = req_uri.strip_prefix(EXACT) {
        (Some(EXACT), rest)
    } else {
        (None, req_uri)
    }
}

/// How a validated `req_uri` with its `match_mode` is routed.
pub fn route_path(req_uri: &str, mode: MatchMode) -> RoutePath {
    if mode == MatchMode::Regex {
        return RoutePath { path: req_uri.to_string(), kind: PathMatch::Regex };
    }
    let (marker, path) = split_marker(req_uri);
    let kind = match (marker, mode) {
        (Some(PRIORITY_PREFIX), _) => PathMatch::PriorityPrefix,
        (_, MatchMode::Swa) => PathMatch::SegmentPrefix,
        (_, MatchMode::Prefix) => PathMatch::StringPrefix,
        _ => PathMatch::Normal,
    };
    RoutePath { path: canonical(path), kind }
}

/// Checks a written `req_uri` (not a REGEX one) with its `match_mode` and
/// returns the names of its path parameters. `=` and `^~` go with `NORMAL`
/// and, like `PREFIX` paths, take no parameters.
pub fn parse_req_path(field: &str, req_uri: &str, mode: MatchMode) -> Result<Vec<String>> {
    let because = |why: &str| ApiError::field_because(codes::INVALID_VALUE, field, why);
    if req_uri.chars().count() > super::uri::MAX_URI_LEN || req_uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(ApiError::invalid(field));
    }
    let (marker, path) = split_marker(req_uri);
    let params = super::uri::parse_canonical_path(field, &canonical(path))?;
    match (marker, mode) {
        (Some(m), MatchMode::Normal) if !params.is_empty() => Err(because(&format!("A path written {m}/… takes no parameters"))),
        (Some(m), MatchMode::Swa | MatchMode::Prefix) => Err(because(&format!("A path written {m}/… goes with match_mode NORMAL"))),
        (None, MatchMode::Prefix) if !params.is_empty() => Err(because("A PREFIX path takes no parameters")),
        _ => Ok(params),
    }
}

/// `[name]` segments as `{name}`, non-ASCII characters percent-encoded and
/// escapes in upper case: the form a request's path is compared in.
pub fn canonical(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        match segment.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(name) if !name.is_empty() => {
                out.push('{');
                out.push_str(name);
                out.push('}');
            }
            _ => push_encoded(&mut out, segment),
        }
    }
    out
}

fn push_encoded(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' && bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            out.push('%');
            out.push(bytes[i + 1].to_ascii_uppercase() as char);
            out.push(bytes[i + 2].to_ascii_uppercase() as char);
            i += 3;
        } else if b.is_ascii() {
            out.push(b as char);
            i += 1;
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xF)] as char);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syntaxes_read_into_one_form() {
        let r = |uri: &str, mode| route_path(uri, mode);
        assert_eq!(r("/user", MatchMode::Normal), RoutePath { path: "/user".into(), kind: PathMatch::Normal });
        assert_eq!(r("=/user", MatchMode::Normal), RoutePath { path: "/user".into(), kind: PathMatch::Normal });
        assert_eq!(r("^~/user", MatchMode::Normal), RoutePath { path: "/user".into(), kind: PathMatch::PriorityPrefix });
        assert_eq!(r("/user/[id]/x", MatchMode::Normal), RoutePath { path: "/user/{id}/x".into(), kind: PathMatch::Normal });
        assert_eq!(r("/user", MatchMode::Swa).kind, PathMatch::SegmentPrefix);
        assert_eq!(r("/user", MatchMode::Prefix).kind, PathMatch::StringPrefix);
        assert_eq!(r("/用户/列表", MatchMode::Normal).path, "/%E7%94%A8%E6%88%B7/%E5%88%97%E8%A1%A8");
        assert_eq!(r("/a%2fb%e7", MatchMode::Normal).path, "/a%2Fb%E7");
        assert_eq!(r("/a[b]", MatchMode::Normal).path, "/a[b]", "only whole segments are parameters");
        assert_eq!(r("^/v[0-9]+", MatchMode::Regex), RoutePath { path: "^/v[0-9]+".into(), kind: PathMatch::Regex });
    }
}
