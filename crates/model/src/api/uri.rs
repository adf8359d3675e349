//! Request paths, backend paths and backend addresses: their syntax, their
//! `{param}` segments and their `#variable#` references.

use crate::error::{ApiError, Result, codes};
use crate::rules::{PARAM_NAME, VARIABLE_NAME};

/// Longest request or backend path, in characters.
pub const MAX_URI_LEN: usize = 512;
/// Longest backend address.
pub const MAX_DOMAIN_LEN: usize = 255;

/// Characters RFC 3986 allows in a path besides `%XX` escapes.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/".contains(c)
}

/// Checks a frontend request path (`/test/{project_id}`) and returns the names
/// of its `{param}` segments in order.
pub fn parse_req_uri(field: &str, s: &str) -> Result<Vec<String>> {
    parse_path(field, s, false).map(|(params, _)| params)
}

/// Checks a REGEX-mode request path: a regular expression the whole path
/// must match, starting with `/` (or `^/`). Returns the names of its named
/// groups (`(?<id>[0-9]+)`), which PATH parameters read.
pub fn parse_req_regex(field: &str, s: &str) -> Result<Vec<String>> {
    let invalid = || ApiError::invalid(field);
    if !s.strip_prefix('^').unwrap_or(s).starts_with('/') || s.chars().count() > MAX_URI_LEN || s.chars().any(char::is_control) {
        return Err(invalid());
    }
    let re = compile_path_regex(s).ok_or_else(invalid)?;
    let mut names = Vec::new();
    for name in re.capture_names().flatten() {
        // A group name is a parameter name, or the path is rejected rather than half-usable.
        if !PARAM_NAME.accepts(name) {
            return Err(invalid());
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// Size limit of a compiled REGEX path.
const PATH_REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A REGEX path compiled to match whole paths only.
pub fn compile_path_regex(s: &str) -> Option<regex::Regex> {
    regex::RegexBuilder::new(&anchored(s)).size_limit(PATH_REGEX_SIZE_LIMIT).build().ok()
}

/// `s` anchored at both ends (harmless if it already is).
pub fn anchored(s: &str) -> String {
    format!("^(?:{s})$")
}

/// Checks a backend path, which may also hold `#variable#` references; returns
/// the `{param}` names and the variable names.
pub fn parse_backend_uri(field: &str, s: &str) -> Result<(Vec<String>, Vec<String>)> {
    parse_path(field, &braces(s), true)
}

/// Baidu writes path parameters as whole `[name]` segments: read as `{name}`.
pub fn braces(path: &str) -> std::borrow::Cow<'_, str> {
    if !path.contains('[') {
        return std::borrow::Cow::Borrowed(path);
    }
    let segments: Vec<String> = path
        .split('/')
        .map(|seg| match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(name) if !name.is_empty() => format!("{{{name}}}"),
            _ => seg.to_string(),
        })
        .collect();
    std::borrow::Cow::Owned(segments.join("/"))
}

/// Checks a request path already in canonical form (see
/// [`super::route::canonical`]; its written length was checked): `{param}`
/// segments and path characters.
pub fn parse_canonical_path(field: &str, s: &str) -> Result<Vec<String>> {
    parse_path_within(field, s, false, usize::MAX).map(|(params, _)| params)
}

fn parse_path(field: &str, s: &str, allow_vars: bool) -> Result<(Vec<String>, Vec<String>)> {
    parse_path_within(field, s, allow_vars, MAX_URI_LEN)
}

fn parse_path_within(field: &str, s: &str, allow_vars: bool, max_len: usize) -> Result<(Vec<String>, Vec<String>)> {
    let invalid = || ApiError::invalid(field);
    if !s.starts_with('/') || s.chars().count() > max_len {
        return Err(invalid());
    }
    let (vars, plain) = if allow_vars { split_variables(field, s)? } else { (Vec::new(), s.to_string()) };
    if plain.contains("//") {
        return Err(invalid());
    }
    let mut params: Vec<String> = Vec::new();
    for segment in plain.split('/').skip(1) {
        if let Some(inner) = segment.strip_prefix('{') {
            let name = inner.strip_suffix('}').ok_or_else(invalid)?;
            if !PARAM_NAME.accepts(name) || params.iter().any(|p| p == name) {
                return Err(invalid());
            }
            params.push(name.to_string());
            continue;
        }
        // Backend paths may be written unescaped in UTF-8 (Baidu: "the escape is not necessary").
        check_segment(segment, allow_vars).ok_or_else(invalid)?;
    }
    Ok((params, vars))
}

/// A literal path segment: path characters and well-formed `%XX` escapes
/// (and, with `utf8`, any other printable character, sent percent-encoded).
fn check_segment(segment: &str, utf8: bool) -> Option<()> {
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c == '%' {
            let hex = bytes.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            i += 3;
            continue;
        }
        if c == '/' {
            return None;
        }
        if !c.is_ascii() && utf8 {
            let ch = segment[i..].chars().next()?;
            if ch.is_control() {
                return None;
            }
            i += ch.len_utf8();
            continue;
        }
        if !is_path_char(c) {
            return None;
        }
        i += 1;
    }
    Some(())
}

/// Splits `#name#` references out of `s`: returns the names and `s` with each
/// reference replaced by `x`, so the remainder can be checked as usual.
fn split_variables(field: &str, s: &str) -> Result<(Vec<String>, String)> {
    let mut names = Vec::new();
    let mut plain = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('#') {
        plain.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('#').ok_or_else(|| ApiError::invalid(field))?;
        let name = &after[..end];
        if !VARIABLE_NAME.accepts(name) {
            return Err(ApiError::invalid(field));
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        plain.push('x');
        rest = &after[end + 1..];
    }
    plain.push_str(rest);
    Ok((names, plain))
}

/// Variable names referenced in an already validated value.
pub fn variables(s: &str) -> Vec<String> {
    split_variables("", s).map(|(names, _)| names).unwrap_or_default()
}

/// Replaces `{name}` segments by `{}`: the shape that decides whether two routes collide.
pub fn route_shape(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') && seg.ends_with('}') { "{}" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks a backend address `host[:port]`, which may hold `#variable#`
/// references; returns the variable names. Bad syntax is `APIG.2024`, a bad
/// port `APIG.2025`.
pub fn parse_url_domain(field: &str, s: &str) -> Result<Vec<String>> {
    let bad_domain = || ApiError::field(codes::INVALID_URL_DOMAIN, field);
    if s.is_empty() || s.chars().count() > MAX_DOMAIN_LEN {
        return Err(bad_domain());
    }
    let (vars, plain) = split_variables(field, s).map_err(|_| bad_domain())?;
    if plain.contains('/') {
        return Err(bad_domain());
    }
    let (host, port) = split_host_port(&plain).ok_or_else(bad_domain)?;
    let host_ok = if vars.is_empty() {
        is_hostname(host) || host.parse::<std::net::Ipv4Addr>().is_ok() || is_bracketed_ipv6(host)
    } else {
        host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    };
    if !host_ok {
        return Err(bad_domain());
    }
    match port {
        // A port made of a variable is checked when the variable's value is known.
        Some("x") if !vars.is_empty() => Ok(vars),
        Some(port) => match port.parse::<u32>() {
            Ok(p) if (1..=65535).contains(&p) && !port.starts_with('0') => Ok(vars),
            _ => Err(ApiError::field(codes::INVALID_PORT, field)),
        },
        None => Ok(vars),
    }
}

/// Splits `host:port`, `[v6]:port`, `host` or `[v6]`.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.starts_with('[') {
        let end = s.find(']')?;
        let (host, rest) = s.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => Some((host, Some(rest.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port))),
        Some(_) => None,
        None => Some((s, None)),
    }
}

fn is_bracketed_ipv6(s: &str) -> bool {
    s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
}

/// A DNS host name: dot-separated labels of 1–63 letters, digits and inner hyphens.
pub fn is_hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A proxy host for a load-balance channel: `host[:port]` without variables.
pub fn check_proxy_host(field: &str, s: &str) -> Result<()> {
    let vars = parse_url_domain(field, s)?;
    if vars.is_empty() { Ok(()) } else { Err(ApiError::field(codes::INVALID_URL_DOMAIN, field)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_paths() {
        assert_eq!(parse_req_uri("req_uri", "/test/{project_id}").unwrap(), vec!["project_id"]);
        assert_eq!(parse_req_uri("req_uri", "/").unwrap(), Vec::<String>::new());
        assert!(parse_req_uri("req_uri", "/a/b/").is_ok());
        assert!(parse_req_uri("req_uri", "/a%20b/c-d_e.f~").is_ok());
        for bad in ["test", "/a b", "/a?x=1", "/a#b", "/a//b", "/{x}/{x}", "/{1x}", "/a{x}", "/{x", "/%zz", "/%2"] {
            assert!(parse_req_uri("req_uri", bad).is_err(), "{bad}");
        }
        assert!(parse_req_uri("req_uri", &format!("/{}", "a".repeat(511))).is_ok());
        assert!(parse_req_uri("req_uri", &format!("/{}", "a".repeat(512))).is_err());
    }

    #[test]
    fn regex_paths() {
        assert_eq!(parse_req_regex("req_uri", "/users/(?<id>[0-9]+)/(?P<tab>[a-z]+)").unwrap(), vec!["id", "tab"]);
        assert_eq!(parse_req_regex("req_uri", "^/files/.*\\.png$").unwrap(), Vec::<String>::new());
        for bad in ["users/.*", "/a(", "/(?<1x>a)", "/a\n", "/(?<a>x)(?<a>y)"] {
            assert!(parse_req_regex("req_uri", bad).is_err(), "{bad}");
        }
        let re = compile_path_regex("/a/[0-9]+").unwrap();
        assert!(re.is_match("/a/12"));
        assert!(!re.is_match("/a/12/b"), "whole paths only");
        assert!(!re.is_match("/x/a/12"));
    }

    #[test]
    fn backend_paths_with_variables() {
        let (params, vars) = parse_backend_uri("backend_api.req_uri", "/#path#/{id}").unwrap();
        assert_eq!(params, vec!["id"]);
        assert_eq!(vars, vec!["path"]);
        assert!(parse_backend_uri("f", "/#ab#/x").is_err(), "variable name too short");
        assert!(parse_backend_uri("f", "/#path/x").is_err(), "unclosed variable");
    }

    #[test]
    fn backend_addresses() {
        assert!(parse_url_domain("f", "apig.example.com:7443").unwrap().is_empty());
        assert!(parse_url_domain("f", "10.10.10.156:12346").is_ok());
        assert!(parse_url_domain("f", "xxxxxxxxxxx").is_ok());
        assert!(parse_url_domain("f", "[::1]:8080").is_ok());
        assert_eq!(parse_url_domain("f", "#address#:8080").unwrap(), vec!["address"]);
        assert_eq!(parse_url_domain("f", "#ipaddress##test#").unwrap(), vec!["ipaddress", "test"]);
        assert_eq!(parse_url_domain("f", "host:0").unwrap_err().code, "APIG.2025");
        assert_eq!(parse_url_domain("f", "host:65536").unwrap_err().code, "APIG.2025");
        assert_eq!(parse_url_domain("f", "host:abc").unwrap_err().code, "APIG.2025");
        assert_eq!(parse_url_domain("f", "http://host").unwrap_err().code, "APIG.2024");
        assert_eq!(parse_url_domain("f", "-bad-.com").unwrap_err().code, "APIG.2024");
        assert_eq!(parse_url_domain("f", "").unwrap_err().code, "APIG.2024");
    }

    #[test]
    fn route_shapes_ignore_parameter_names() {
        assert_eq!(route_shape("/a/{x}/b"), route_shape("/a/{y}/b"));
        assert_ne!(route_shape("/a/{x}/b"), route_shape("/a/{x}/b/"));
    }
}
