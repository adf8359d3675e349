//! Which function a backend or an authorizer calls: the URN it names,
//! resolved once (alias, then qualifier, then `version`, else `latest`) to
//! the registry key it is found by on each call.

use std::time::Duration;

use causeway_model::api::InvocationType;
use causeway_model::function::{LATEST, Urn, qualifier};

/// The registry key of a function version or alias.
pub(super) fn key(package: &str, name: &str, qualifier: &str) -> String {
    format!("{package}:{name}:{qualifier}")
}

/// A function to call: which version, within what time, waiting for it or not.
#[derive(Debug, Clone)]
pub struct FunctionTarget {
    /// `package:name:qualifier`.
    key: String,
    /// The URN called, for messages and logs.
    pub urn: String,
    pub timeout: Duration,
    /// `invocation_type` async: stored and answered 202 at once.
    pub asynchronous: bool,
}

impl FunctionTarget {
    /// The alias URN wins over the function URN and `version` (default `latest`).
    pub fn compile(
        function_urn: &str,
        version: Option<&str>,
        alias_urn: Option<&str>,
        timeout_ms: u32,
        invocation: InvocationType,
    ) -> Result<Self, String> {
        let alias = alias_urn.and_then(Urn::parse).filter(|u| u.qualifier.is_some());
        let urn = match alias {
            Some(a) => a,
            None => {
                let u = Urn::parse(function_urn).ok_or_else(|| format!("{function_urn} is not the URN of a Causeway function"))?;
                match (&u.qualifier, version) {
                    (Some(_), _) => u,
                    (None, Some(v)) => u.with(qualifier(v)),
                    (None, None) => u.with(LATEST),
                }
            }
        };
        let qualifier = urn.qualifier.clone().unwrap_or_else(|| LATEST.to_string());
        Ok(Self {
            key: key(&urn.package, &urn.name, &qualifier),
            urn: urn.to_string(),
            timeout: Duration::from_millis(u64::from(timeout_ms.max(1))),
            asynchronous: invocation == InvocationType::Async,
        })
    }

    /// Its registry key.
    pub(super) fn key(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_alias_then_qualifier_then_version() {
        let base = "urn:fss:local:causeway:function:default:hello";
        let t = |urn: &str, v: Option<&str>, a: Option<&str>| FunctionTarget::compile(urn, v, a, 1000, InvocationType::Sync).map(|t| t.key);
        assert_eq!(t(base, None, None).unwrap(), "default:hello:latest");
        assert_eq!(t(base, Some("$LATEST"), None).unwrap(), "default:hello:latest", "SCF's name for it");
        assert_eq!(t(&format!("{base}:$LATEST"), None, None).unwrap(), "default:hello:latest");
        assert_eq!(t(base, Some("3"), None).unwrap(), "default:hello:3");
        assert_eq!(t(&format!("{base}:2"), Some("3"), None).unwrap(), "default:hello:2");
        assert_eq!(t(base, Some("3"), Some(&format!("{base}:prod"))).unwrap(), "default:hello:prod");
        assert!(t("urn:fss:cn-north-4:abc:function:default:hello", None, None).is_err());
        assert!(FunctionTarget::compile(base, None, None, 1000, InvocationType::Async).unwrap().asynchronous);
    }
}
