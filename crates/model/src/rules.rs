//! Primitive value rules shared by every resource: lengths, character sets,
//! names, integer flags and enumerations. Each check names the field it
//! rejects, so the caller sees `parameterName:<field>`.

use crate::error::{ApiError, Result};

/// Length in characters (the documents count characters, not bytes).
pub fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// Rejects a value whose length is outside `min..=max` characters.
pub fn check_len(field: &str, s: &str, min: usize, max: usize) -> Result<()> {
    let n = char_len(s);
    if n < min || n > max { Err(ApiError::invalid(field)) } else { Ok(()) }
}

/// Same as [`check_len`] for an optional value (absent is fine).
pub fn check_opt_len(field: &str, s: Option<&str>, max: usize) -> Result<()> {
    match s {
        Some(s) => check_len(field, s, 0, max),
        None => Ok(()),
    }
}

/// CJK ideographs, which the cloud gateways accept in display names.
pub fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Rules for names: length, what may start them, what may follow.
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    pub min: usize,
    pub max: usize,
    /// Chinese characters allowed (anywhere a letter is).
    pub cjk: bool,
    /// A digit may start the name.
    pub digit_first: bool,
    /// Characters allowed after the first besides ASCII letters and digits.
    pub extra: &'static [char],
}

impl NameRule {
    pub fn accepts(&self, s: &str) -> bool {
        let n = char_len(s);
        if n < self.min || n > self.max {
            return false;
        }
        let mut chars = s.chars();
        let Some(first) = chars.next() else { return false };
        let first_ok = first.is_ascii_alphabetic()
            || (self.digit_first && first.is_ascii_digit())
            || (self.cjk && is_cjk(first));
        first_ok
            && chars.all(|c| c.is_ascii_alphanumeric() || self.extra.contains(&c) || (self.cjk && is_cjk(c)))
    }

    pub fn check(&self, field: &str, s: &str) -> Result<()> {
        if self.accepts(s) { Ok(()) } else { Err(ApiError::invalid(field)) }
    }
}

/// Group, app and gateway display names: 3–64, letters, digits, `_`, Chinese; starts with a letter or Chinese.
pub const DISPLAY_NAME: NameRule = NameRule { min: 3, max: 64, cjk: true, digit_first: false, extra: &['_'] };
/// API names (seed 002): 3–64, letters, digits, `_` (and Chinese, as the consoles allow); starts with a letter.
pub const API_NAME: NameRule = DISPLAY_NAME;
/// Group and API names in the V2 and ROMA families: 3–255, letters, digits,
/// Chinese, `_ - . / ( ) :` (and the full-width colon and enumeration comma);
/// starts with a letter, digit or Chinese character.
pub const WIDE_NAME: NameRule = NameRule { min: 3, max: 255, cjk: true, digit_first: true, extra: &['_', '-', '.', '/', '(', ')', ':', '：', '、'] };

/// Whose rules a group or API body is checked by: v1.0's (names 3–64,
/// remarks ≤ 255) or V2's and ROMA's (names 3–255, remarks ≤ 1000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dialect {
    #[default]
    Apig,
    Wide,
    /// V2's rules, and remarks without `<` or `>` (ROMA Connect).
    Roma,
}

impl Dialect {
    pub fn name_rule(self, v1: NameRule) -> NameRule {
        match self {
            Dialect::Apig => v1,
            Dialect::Wide | Dialect::Roma => WIDE_NAME,
        }
    }

    pub fn max_remark(self) -> usize {
        match self {
            Dialect::Apig => 255,
            Dialect::Wide | Dialect::Roma => 1000,
        }
    }

    /// A remark by this dialect's rules: its length, printable, and (ROMA) no `<>`.
    pub fn check_remark(self, field: &str, remark: Option<&str>) -> Result<()> {
        check_text(field, remark, self.max_remark())?;
        if self == Dialect::Roma && remark.is_some_and(|r| r.contains(['<', '>'])) {
            return Err(ApiError::invalid(field));
        }
        Ok(())
    }
}

/// Environment and backend-policy names: 3–64, letters, digits, `_`; starts with a letter.
pub const PLAIN_NAME: NameRule = NameRule { min: 3, max: 64, cjk: false, digit_first: false, extra: &['_'] };
/// Request and backend parameter names: 1–32, letters, digits, `.`, `-`, `_`; starts with a letter.
pub const PARAM_NAME: NameRule = NameRule { min: 1, max: 32, cjk: false, digit_first: false, extra: &['.', '-', '_'] };
/// Environment variable names (also inside `#name#`): 3–32, letters, digits, `_`, `-`; starts with a letter.
pub const VARIABLE_NAME: NameRule = NameRule { min: 3, max: 32, cjk: false, digit_first: false, extra: &['_', '-'] };

/// A required value: present, else `APIG.2001` naming the field.
pub fn required<T>(field: &str, v: Option<T>) -> Result<T> {
    v.ok_or_else(|| ApiError::required(field))
}

/// A required, non-empty string.
pub fn required_str(field: &str, v: Option<String>) -> Result<String> {
    match v {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::required(field)),
    }
}

/// An optional string: an empty string counts as absent, as the consoles send it.
pub fn optional_str(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Integer "boolean" flags: 1 = yes, 2 = no.
pub fn flag(field: &str, v: Option<i64>, default: i32) -> Result<i32> {
    match v {
        None => Ok(default),
        Some(1) => Ok(1),
        Some(2) => Ok(2),
        Some(_) => Err(ApiError::invalid(field)),
    }
}

/// An integer within `min..=max`.
pub fn int_range(field: &str, v: i64, min: i64, max: i64) -> Result<i64> {
    if v < min || v > max { Err(ApiError::invalid(field)) } else { Ok(v) }
}

/// Printable text: no control characters other than tab, CR and LF.
pub fn check_printable(field: &str, s: &str) -> Result<()> {
    if s.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n')) {
        Err(ApiError::invalid(field))
    } else {
        Ok(())
    }
}

/// A description-like field: at most `max` characters, printable.
pub fn check_text(field: &str, s: Option<&str>, max: usize) -> Result<()> {
    if let Some(s) = s {
        check_len(field, s, 0, max)?;
        check_printable(field, s)?;
    }
    Ok(())
}

/// An opaque identifier given by the caller (ids of authorizers, responses, ...): 1–65 of `[A-Za-z0-9_-]`.
pub fn check_ref_id(field: &str, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) if (1..=65).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => Ok(()),
        Some(_) => Err(ApiError::invalid(field)),
        None => Ok(()),
    }
}

/// Enumerations accepted in any case and returned in their documented case.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        #[allow(dead_code)]
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The documented spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Any spelling, ignoring case.
            pub fn parse(s: &str) -> Option<Self> {
                $(if s.eq_ignore_ascii_case($wire) { return Some($name::$variant); })+
                None
            }

            /// Parses a field, rejecting unknown values with `APIG.2011` naming the field.
            pub fn parse_field(field: &str, s: &str) -> $crate::error::Result<Self> {
                Self::parse(s).ok_or_else(|| $crate::error::ApiError::invalid(field))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).ok_or_else(|| ::serde::de::Error::unknown_variant(&s, &[$($wire),+]))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// An optional integer sent as a JSON number or as a string holding one
/// (V2's SDK types some integer fields as strings, e.g. `retry_count: "-1"`).
pub fn int_or_string<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        Int(i64),
        Text(String),
    }
    match <Option<Either> as serde::Deserialize>::deserialize(d)? {
        None => Ok(None),
        Some(Either::Int(n)) => Ok(Some(n)),
        Some(Either::Text(s)) if s.trim().is_empty() => Ok(None),
        Some(Either::Text(s)) => s.trim().parse().map(Some).map_err(|_| serde::de::Error::custom("not an integer")),
    }
}

/// `Debug` for a type holding secrets: its other fields as usual, each secret
/// as `<redacted>`, so no log line or panic message shows one.
#[macro_export]
macro_rules! redacted_debug {
    ($name:ident { $($field:ident),* } secret { $($secret:ident),+ }) => {
        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.debug_struct(stringify!($name))
                    $(.field(stringify!($field), &self.$field))*
                    $(.field(stringify!($secret), &"<redacted>"))+
                    .finish()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_names() {
        assert!(API_NAME.accepts("test"));
        assert!(API_NAME.accepts("Api_http"));
        assert!(API_NAME.accepts("接口_一"));
        assert!(!API_NAME.accepts("ab"));
        assert!(!API_NAME.accepts("1abc"));
        assert!(!API_NAME.accepts("_abc"));
        assert!(!API_NAME.accepts("ab-c"));
        assert!(!API_NAME.accepts(&"a".repeat(65)));
        assert!(API_NAME.accepts(&"a".repeat(64)));
    }

    #[test]
    fn param_and_variable_names() {
        assert!(PARAM_NAME.accepts("x"));
        assert!(PARAM_NAME.accepts("header-demo"));
        assert!(PARAM_NAME.accepts("a.b_c-d"));
        assert!(!PARAM_NAME.accepts("-a"));
        assert!(!PARAM_NAME.accepts(""));
        assert!(!PARAM_NAME.accepts(&"a".repeat(33)));
        assert!(VARIABLE_NAME.accepts("address"));
        assert!(VARIABLE_NAME.accepts("my-var_1"));
        assert!(!VARIABLE_NAME.accepts("ab"));
        assert!(!VARIABLE_NAME.accepts("9abc"));
        assert!(!VARIABLE_NAME.accepts("a.bc"));
    }

    #[test]
    fn flags() {
        assert_eq!(flag("f", None, 2).unwrap(), 2);
        assert_eq!(flag("f", Some(1), 2).unwrap(), 1);
        assert_eq!(flag("f", Some(3), 2).unwrap_err().message,
            "Invalid parameter value,parameterName:f. Please refer to the support documentation");
    }

    wire_enum!(Sample { Get => "GET", Async => "async" });

    #[test]
    fn enums_any_case_in_documented_case_out() {
        assert_eq!(Sample::parse("get"), Some(Sample::Get));
        assert_eq!(Sample::parse("ASYNC"), Some(Sample::Async));
        assert_eq!(Sample::parse("post"), None);
        assert_eq!(serde_json::to_string(&Sample::Async).unwrap(), "\"async\"");
        assert_eq!(serde_json::from_str::<Sample>("\"Get\"").unwrap(), Sample::Get);
    }
}

