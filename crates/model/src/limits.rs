//! Quotas and value limits that an operator may change in the configuration.

use serde::{Deserialize, Serialize};

/// Per-installation limits. Defaults follow the cloud gateways' defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// API groups in the installation (`APIG.3101`).
    pub groups: usize,
    /// APIs in one group (`APIG.3102`).
    pub apis_per_group: usize,
    /// Apps in the installation (`APIG.3103`).
    pub apps: usize,
    /// Environments besides `RELEASE` (`APIG.3104`).
    pub environments: usize,
    /// Environment variables in one group (`APIG.3106`).
    pub variables_per_group: usize,
    /// Request parameters of one API (`APIG.3111`).
    pub params_per_api: usize,
    /// Backend policies of one API (`APIG.3113`).
    pub policies_per_api: usize,
    /// Conditions of one backend policy (`APIG.3114`).
    pub conditions_per_policy: usize,
    /// Request throttling policies in the installation (`APIG.3107`).
    pub throttles: usize,
    /// Load-balance channels in the installation (`APIG.3109`).
    pub channels: usize,
    /// Domains bound to one group (`APIG.3108`).
    pub domains_per_group: usize,
    /// Custom authorizers in the installation (`APIG.3116`).
    pub authorizers: usize,
    /// Identity sources of one custom authorizer (`APIG.3117`).
    pub identities_per_authorizer: usize,
    /// Largest backend timeout in milliseconds: 300000 as Baidu allows (the
    /// shared Huawei gateway's is 60000, ROMA's up to 600000); up to Tencent's
    /// 30 minutes.
    pub max_backend_timeout_ms: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            groups: 1000,
            apis_per_group: 1000,
            apps: 1000,
            environments: 50,
            variables_per_group: 200,
            params_per_api: 50,
            policies_per_api: 5,
            conditions_per_policy: 5,
            throttles: 100,
            channels: 100,
            domains_per_group: 5,
            authorizers: 50,
            identities_per_authorizer: 5,
            max_backend_timeout_ms: 300_000,
        }
    }
}

/// The ceiling an operator may raise `max_backend_timeout_ms` to: Tencent's
/// "up to 30 minutes" (seed 000).
pub const BACKEND_TIMEOUT_CEILING_MS: u32 = 1_800_000;

/// An HTTP backend's timeout when the API names none: Baidu's default (seed 003: "its default value is 90000").
pub const DEFAULT_HTTP_TIMEOUT_MS: u32 = 90_000;
/// A function backend's timeout when the API names none: SCF's default (seed 001: "The default value is 15 (seconds)").
pub const DEFAULT_FUNCTION_TIMEOUT_MS: u32 = 15_000;
