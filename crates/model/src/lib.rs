//! Causeway's resource model: the wire types of the management API, their
//! validation rules and the `APIG.xxxx` error catalogue. No I/O.

pub mod acl;
pub mod admin;
pub mod api;
pub mod app;
pub mod authorizer;
pub mod channel;
pub mod debug;
pub mod domain;
pub mod env;
pub mod error;
pub mod function;
#[doc(hidden)]
pub mod fuzz;
pub mod group;
pub mod iam;
pub mod ids;
pub mod ip;
pub mod limits;
pub mod openapi;
pub mod publish;
pub mod response;
pub mod rules;
pub mod sign_key;
pub mod throttle;

pub use error::{ApiError, Result};
pub use limits::Limits;

/// Document kinds as the store keys them.
pub mod kinds {
    pub const GROUP: &str = "group";
    pub const ENV: &str = "env";
    pub const ENV_VARIABLE: &str = "env_variable";
    pub const API: &str = "api";
    pub const API_VERSION: &str = "api_version";
    pub const PUBLICATION: &str = "publication";
    pub const GATEWAY_RESPONSE: &str = "gateway_response";
    pub const APP: &str = "app";
    pub const APP_CODE: &str = "app_code";
    pub const APP_AUTH: &str = "app_auth";
    pub const SIGN_KEY: &str = "sign_key";
    pub const SIGN_BINDING: &str = "sign_binding";
    pub const IAM_ISSUER: &str = "iam_issuer";
    pub const FUNCTION: &str = "function";
    pub const FUNCTION_VERSION: &str = "function_version";
    pub const FUNCTION_ALIAS: &str = "function_alias";
    pub const FUNCTION_INVOCATION: &str = "function_invocation";
    pub const AUTHORIZER: &str = "authorizer";
    pub const ACL: &str = "acl";
    pub const ACL_BINDING: &str = "acl_binding";
    pub const THROTTLE: &str = "throttle";
    pub const THROTTLE_BINDING: &str = "throttle_binding";
    pub const THROTTLE_SPECIAL: &str = "throttle_special";
    pub const CHANNEL: &str = "vpc_channel";
    pub const DOMAIN: &str = "domain";
    pub const ADMIN_CREDENTIAL: &str = "admin_credential";
}
