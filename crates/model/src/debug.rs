//! Debugging an API (`POST .../apis/debug/{api_id}`): what the management
//! API hands the data plane to run, and what comes back. The admin API and
//! the gateway meet here; the binary joins them.

use crate::api::Api;
use crate::env::Env;
use crate::publish::Publication;

/// One request to run through the pipeline, as if `api` were published by
/// `publication` in `env` (the draft for DEVELOPER mode, the published
/// version for CONSUMER mode).
#[derive(Debug, Clone)]
pub struct DebugCall {
    pub api: Api,
    pub publication: Publication,
    pub env: Env,
    /// Over the HTTPS listener (`scheme` HTTPS).
    pub https: bool,
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// Headers as sent, `Host` first.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What a debug call answers: the request and the response as raw HTTP
/// text, the time taken, and what the gateway did, step by step.
#[derive(Debug, Clone, Default)]
pub struct DebugOutcome {
    pub request: String,
    pub response: String,
    pub latency_ms: u64,
    pub log: Vec<String>,
}
