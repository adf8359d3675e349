//! Named admin credentials (a Causeway resource): each is a token or an
//! access key and secret for signed calls, with a role that says what the
//! management API lets it do. The bootstrap credentials of the first start
//! stay outside the store, as the first `admin`.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result};
use crate::rules::{self, DISPLAY_NAME};

crate::wire_enum!(
    /// What a credential may do: `admin` everything, `editor` every resource
    /// but admin credentials and the audit log, `viewer` read only.
    AdminRole { Admin => "admin", Editor => "editor", Viewer => "viewer" }
);

crate::wire_enum!(
    /// How a credential is presented: `X-Auth-Token`, or an SDK-HMAC-SHA256 signature.
    CredentialType { Token => "TOKEN", Aksk => "AKSK" }
);

/// A stored credential. Its secret is never stored in clear: a token as its
/// SHA-256 (only checked), an access key's secret sealed with the
/// installation's secret key (needed to check signatures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminCredential {
    pub id: String,
    pub name: String,
    pub role: AdminRole,
    #[serde(rename = "type")]
    pub credential_type: CredentialType,
    /// The access key (AKSK credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// SHA-256 of the token, hex (TOKEN credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_sha256: Option<String>,
    /// The secret key, sealed (AKSK credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_secret: Option<String>,
    pub remark: String,
    pub create_time: String,
    pub update_time: String,
    /// When the secret was last issued (at creation or rotation).
    pub secret_time: String,
}

/// Body of `POST`/`PUT /admin-credentials`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminCredentialInput {
    pub name: Option<String>,
    pub role: Option<String>,
    #[serde(rename = "type")]
    pub credential_type: Option<String>,
    pub remark: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCredentialSpec {
    pub name: String,
    pub role: AdminRole,
    pub credential_type: CredentialType,
    pub remark: String,
}

impl AdminCredentialInput {
    /// `name` (3–64 letters, digits, `_`, starting with a letter), `role`
    /// (required), `type` (`TOKEN` by default), `remark` (≤ 255, no `<>`).
    pub fn validate(self) -> Result<AdminCredentialSpec> {
        let name = rules::required_str("name", self.name)?;
        DISPLAY_NAME.check("name", &name)?;
        let role = AdminRole::parse_field("role", &rules::required_str("role", self.role)?)?;
        let credential_type = match rules::optional_str(self.credential_type) {
            None => CredentialType::Token,
            Some(t) => CredentialType::parse_field("type", &t)?,
        };
        let remark = self.remark.unwrap_or_default();
        rules::check_len("remark", &remark, 0, 255)?;
        if remark.contains(['<', '>']) {
            return Err(ApiError::invalid("remark"));
        }
        Ok(AdminCredentialSpec { name, role, credential_type, remark })
    }
}

impl AdminRole {
    /// Whether this role may make a call of `method` to a management path
    /// (relative to the family's prefix, e.g. `/apis/{id}`).
    pub fn allows(self, method: &str, path: &str) -> bool {
        // Exports are POSTs that only read.
        let reads = matches!(method, "GET" | "HEAD") || (method == "POST" && matches!(path, "/openapi/export" | "/openapi/apis"));
        let restricted = ["/admin-credentials", "/audit-logs"]
            .iter()
            .any(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')));
        match self {
            AdminRole::Admin => true,
            AdminRole::Editor => !restricted,
            AdminRole::Viewer => reads && !restricted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_their_names_say() {
        assert!(AdminRole::Admin.allows("POST", "/admin-credentials"));
        assert!(AdminRole::Editor.allows("POST", "/apis"));
        assert!(AdminRole::Editor.allows("DELETE", "/apps/1"));
        assert!(!AdminRole::Editor.allows("GET", "/admin-credentials"));
        assert!(!AdminRole::Editor.allows("POST", "/admin-credentials/1/secret"));
        assert!(!AdminRole::Editor.allows("GET", "/audit-logs"));
        assert!(AdminRole::Editor.allows("GET", "/admin-credentialsx"));
        assert!(AdminRole::Viewer.allows("GET", "/apis"));
        assert!(!AdminRole::Viewer.allows("POST", "/apis"));
        assert!(!AdminRole::Viewer.allows("PUT", "/apis/1"));
        assert!(!AdminRole::Viewer.allows("GET", "/audit-logs"));
        assert!(AdminRole::Viewer.allows("POST", "/openapi/export"));
        assert!(!AdminRole::Viewer.allows("POST", "/openapi/import"));
    }

    #[test]
    fn input_is_checked_field_by_field() {
        let ok = AdminCredentialInput { name: Some("ci_deployer".into()), role: Some("EDITOR".into()), ..Default::default() }.validate().unwrap();
        assert_eq!((ok.role, ok.credential_type), (AdminRole::Editor, CredentialType::Token));
        let refused = |input: AdminCredentialInput| input.validate().unwrap_err().message;
        assert!(refused(AdminCredentialInput { role: Some("admin".into()), ..Default::default() }).contains("parameterName:name."));
        assert!(refused(AdminCredentialInput { name: Some("ok_name".into()), ..Default::default() }).contains("parameterName:role."));
        assert!(refused(AdminCredentialInput { name: Some("ok_name".into()), role: Some("root".into()), ..Default::default() }).contains("parameterName:role."));
        let bad_type = AdminCredentialInput { name: Some("ok_name".into()), role: Some("viewer".into()), credential_type: Some("PASSWORD".into()), ..Default::default() };
        assert!(refused(bad_type).contains("parameterName:type."));
    }
}
