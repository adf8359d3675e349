//! The request path, made unambiguous before routing: a path whose meaning a
//! backend could read differently from the gateway is either normalised (and
//! the normalised path is what routing, policies and the backend see) or
//! refused. Dot-segments are resolved (RFC 3986 §5.2.4), `%2e` counting as a
//! dot as it does for browsers and most servers; repeated slashes are merged,
//! as nginx does; a path that climbs above its root, or that hides a slash or
//! backslash behind `%2f` / `%5c`, is refused with 400.

use crate::http::error::{GatewayError, errors};

/// The path as routed, when it differs from `path`; `None` when it is already plain.
pub fn normalize(path: &str) -> Result<Option<String>, GatewayError> {
    if is_plain(path.as_bytes()) {
        return Ok(None);
    }
    let refused = |why: &str| errors::BAD_PARAMETER.with_message(format!("The request path {why}"));
    let lower = path.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") || path.contains('\\') {
        return Err(refused("hides a slash or backslash in an escape"));
    }
    let bytes = path.as_bytes();
    if bytes.iter().enumerate().any(|(i, &b)| b == b'%' && !matches!(bytes.get(i + 1..i + 3), Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())) {
        return Err(refused("has a malformed percent-escape"));
    }
    let mut kept: Vec<&str> = Vec::new();
    let mut segments = path.strip_prefix('/').unwrap_or(path).split('/').peekable();
    // A path that ends in `/`, `/.` or `/..` names a directory: it keeps its trailing slash.
    let mut trailing = false;
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match dots(segment) {
            Some(1) => trailing = last,
            Some(_) => {
                if kept.pop().is_none() {
                    return Err(refused("climbs above its root"));
                }
                trailing = last;
            }
            // Repeated slashes are one; the empty last segment is the trailing slash.
            None if segment.is_empty() => trailing = last,
            None => {
                kept.push(segment);
                trailing = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &kept {
        out.push('/');
        out.push_str(segment);
    }
    if trailing || kept.is_empty() {
        out.push('/');
    }
    Ok((out != path).then_some(out))
}

/// No `//`, no segment that starts with a dot, no escaped dot, slash or
/// backslash, no backslash: nothing to do (most paths).
fn is_plain(path: &[u8]) -> bool {
    // The leading `/` is no repeated slash.
    let mut previous = 0;
    for (i, &b) in path.iter().enumerate() {
        match b {
            b'/' | b'.' if previous == b'/' => return false,
            b'\\' => return false,
            b'%' => match path.get(i + 1..i + 3) {
                Some([b'2', b'e' | b'E' | b'f' | b'F'] | [b'5', b'c' | b'C']) => return false,
                Some([h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {}
                // A malformed escape: backends decode it in different ways.
                _ => return false,
            },
            _ => {}
        }
        previous = b;
    }
    true
}

/// How many dots a dot-segment has (`.` → 1, `..` → 2, `%2e` counting as a dot); `None` for other segments.
fn dots(segment: &str) -> Option<usize> {
    let mut rest = segment.as_bytes();
    let mut n = 0;
    while !rest.is_empty() {
        rest = match rest {
            [b'.', tail @ ..] => tail,
            [b'%', b'2', b'e' | b'E', tail @ ..] => tail,
            _ => return None,
        };
        n += 1;
    }
    matches!(n, 1 | 2).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> Result<String, String> {
        normalize(p).map(|n| n.unwrap_or_else(|| p.to_string())).map_err(|e| e.message.to_string())
    }

    #[test]
    fn plain_paths_are_left_alone() {
        for p in ["/", "/a", "/a/b/", "/a.b/c.txt", "/v1/orders/42", "/a-b_c~d", "/a%20b/c%2Bd", "/a/%C3%28"] {
            assert_eq!(normalize(p).unwrap(), None, "{p}");
            assert!(is_plain(p.as_bytes()), "{p} takes the fast path");
        }
        for p in ["//a", "/./a", "/a/..", "/a%2e", "/a\\b", "/a/b%2", "/a%zz"] {
            assert!(!is_plain(p.as_bytes()), "{p} is looked at");
        }
    }

    #[test]
    fn dot_segments_are_resolved() {
        assert_eq!(norm("/public/../admin/users").unwrap(), "/admin/users");
        assert_eq!(norm("/a/./b").unwrap(), "/a/b");
        assert_eq!(norm("/a/b/..").unwrap(), "/a/");
        assert_eq!(norm("/a/b/.").unwrap(), "/a/b/");
        assert_eq!(norm("/a/%2e%2E/b").unwrap(), "/b");
        assert_eq!(norm("/a/.%2e/b").unwrap(), "/b");
        assert_eq!(norm("/a/..").unwrap(), "/");
        assert_eq!(norm("/.hidden/x").unwrap(), "/.hidden/x", "a name that starts with a dot is a name");
        assert_eq!(norm("/a/.../b").unwrap(), "/a/.../b");
        assert_eq!(norm("/a/b%20c/../d").unwrap(), "/a/d", "other escapes stay as sent");
    }

    #[test]
    fn repeated_slashes_are_merged() {
        assert_eq!(norm("//a///b/").unwrap(), "/a/b/");
        assert_eq!(norm("/a//").unwrap(), "/a/");
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        assert!(norm("/../etc/passwd").unwrap_err().contains("climbs above its root"));
        assert!(norm("/a/../../b").is_err());
        assert!(norm("/%2e%2e/b").is_err());
        assert!(norm("/files/a%2fb").unwrap_err().contains("slash"));
        for p in ["/a/b%2", "/a%zz/b", "/a/%", "/%g0"] {
            assert!(norm(p).unwrap_err().contains("malformed percent-escape"), "{p}");
        }
        assert!(norm("/files/a%5Cb").is_err());
        assert!(norm("/files\\..\\admin").is_err());
        assert_eq!(normalize("/../x").unwrap_err().status, 400);
    }
}
