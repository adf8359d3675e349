//! Swagger 2.0 / OpenAPI 3.0 documents with Huawei APIG's `x-apigateway-*`
//! extensions (and Causeway's own `x-causeway-*` ones for what APIG has no
//! extension for): reading one into API definitions ([`import`]) and writing
//! a group's APIs as one ([`export`]). No I/O: the service layer resolves the
//! names a document uses (channels, authorizers, gateway responses) and writes.

pub mod export;
pub mod import;
mod schema;

use serde_json::Value;

use crate::error::{ApiError, Result, codes};

/// Largest document read (the management body limit).
pub const MAX_DOCUMENT_BYTES: usize = 4 << 20;

/// Text format of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Yaml,
}

impl Format {
    /// `json`, `yaml` or `yml`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Yaml => "application/yaml",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }
}

/// Which OpenAPI version a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OasVersion {
    /// Swagger 2.0.
    V2,
    /// OpenAPI 3.0.
    V3,
}

impl OasVersion {
    /// `2.0` or `3.0` (V2's `oas_version`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "2.0" | "2" => Some(OasVersion::V2),
            "3.0" | "3" => Some(OasVersion::V3),
            _ => None,
        }
    }
}

/// How much an export writes (v1.0 `define`: `base|full|all`; V2: `spec|proxy|all|dev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Define {
    /// The frontend: request, parameters, authentication and the gateway's request extensions.
    Base,
    /// The frontend and the backend (default backend, mapping, policies).
    Full,
    /// Everything: also throttling and access-control policies, custom authorizers and gateway responses.
    All,
    /// Like `All`, but the drafts of the group's APIs instead of the versions published in an environment.
    Dev,
}

impl Define {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "base" | "spec" => Some(Define::Base),
            "full" | "proxy" => Some(Define::Full),
            "all" | "extended" => Some(Define::All),
            "dev" => Some(Define::Dev),
            _ => None,
        }
    }

    /// Whether backends are written.
    pub fn backends(self) -> bool {
        self != Define::Base
    }

    /// Whether policies (throttling, ACLs, authorizers, gateway responses) are written.
    pub fn policies(self) -> bool {
        matches!(self, Define::All | Define::Dev)
    }
}

/// Reads a document: JSON when its first character is `{`, YAML otherwise.
/// Empty → `APIG.3609`; too large → `APIG.3603`; unreadable → `APIG.3600`;
/// not an object → `APIG.3602`.
pub fn parse(bytes: &[u8]) -> Result<Value> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ApiError::new(codes::SWAGGER_TOO_LONG));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ApiError::detail(codes::SWAGGER_FORMAT, "the file is not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(ApiError::new(codes::SWAGGER_EMPTY));
    }
    let value: Value = if trimmed.starts_with('{') {
        serde_json::from_str(trimmed).map_err(|e| ApiError::detail(codes::SWAGGER_FORMAT, &format!("JSON: {e}")))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| ApiError::detail(codes::SWAGGER_FORMAT, &format!("YAML: {}", first_line(&e.to_string()))))?
    };
    match value {
        Value::Object(_) => Ok(value),
        Value::Null => Err(ApiError::new(codes::SWAGGER_EMPTY)),
        _ => Err(ApiError::detail(codes::SWAGGER_SYNTAX, "the document is not an object")),
    }
}

/// Writes a document as text.
pub fn to_text(doc: &Value, format: Format) -> Result<String> {
    match format {
        Format::Json => serde_json::to_string_pretty(doc).map_err(|_| ApiError::system()),
        Format::Yaml => serde_saphyr::to_string(doc).map_err(|_| ApiError::system()),
    }
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or(s);
    match line.char_indices().nth(300) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_yaml_and_refuses_the_rest() {
        assert_eq!(parse(br#"{"swagger":"2.0"}"#).unwrap()["swagger"], "2.0");
        let y = parse(b"swagger: '2.0'\npaths:\n  /a:\n    get:\n      responses:\n        200:\n          description: ok\n").unwrap();
        assert_eq!(y["paths"]["/a"]["get"]["responses"]["200"]["description"], "ok");
        assert_eq!(parse(b"  \n").unwrap_err().code, "APIG.3609");
        assert_eq!(parse(b"{\"a\":").unwrap_err().code, "APIG.3600");
        assert_eq!(parse(b"a: [1, 2\n").unwrap_err().code, "APIG.3600");
        assert_eq!(parse(b"- 1\n- 2\n").unwrap_err().code, "APIG.3602");
        assert_eq!(parse(&vec![b' '; MAX_DOCUMENT_BYTES + 1]).unwrap_err().code, "APIG.3603");
        assert_eq!(parse(&[0xff, 0xfe]).unwrap_err().code, "APIG.3600");
    }

    #[test]
    fn yaml_alias_bombs_are_refused() {
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_string() } else { format!("b{}", i - 1) };
            doc.push_str(&format!("b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert_eq!(parse(doc.as_bytes()).unwrap_err().code, "APIG.3600");
    }

    #[test]
    fn written_text_reads_back() {
        let doc = serde_json::json!({"swagger": "2.0", "paths": {"/a": {"get": {"x-n": 1, "x-s": "yes", "x-b": true}}}});
        for f in [Format::Json, Format::Yaml] {
            assert_eq!(parse(to_text(&doc, f).unwrap().as_bytes()).unwrap(), doc);
        }
    }
}
