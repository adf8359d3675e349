//! One view of an API's backends, whatever their kind: the default backend
//! (`backend_api`, `mock_info` or `func_info`, by `backend_type`) and the
//! backend policies (`policy_https`, `policy_mocks`, `policy_functions`).
//! The gateway compiles backends from these views, and the management API
//! reports references (authorizers, channels, functions) by their `field`.

use super::{
    Api, BackendParam, BackendProtocol, BackendType, Condition, EffectMode, InvocationType, Method, VpcInfo, WeightedDomain,
};

/// Backend timeout when an API names none, in milliseconds.
pub const DEFAULT_BACKEND_TIMEOUT_MS: u32 = 5000;

/// An HTTP backend, with the defaults a policy takes from the API applied.
#[derive(Debug, Clone, Copy)]
pub struct HttpBackend<'a> {
    /// Names the pool of a weighted address list (the default backend's id).
    pub id: &'a str,
    pub url_domain: Option<&'a str>,
    /// Weighted addresses (the default backend only).
    pub url_domains: &'a [WeightedDomain],
    pub vpc_status: i32,
    pub vpc_info: Option<&'a VpcInfo>,
    pub req_protocol: BackendProtocol,
    pub req_method: Method,
    pub req_uri: &'a str,
    pub timeout: u32,
    pub retry_count: Option<i32>,
    pub enable_client_ssl: bool,
    pub http2: bool,
}

/// A canned answer.
#[derive(Debug, Clone, Copy)]
pub struct MockBackend<'a> {
    pub status_code: u16,
    pub header: Option<&'a str>,
    pub result_content: Option<&'a str>,
}

/// A function from the registry.
#[derive(Debug, Clone, Copy)]
pub struct FunctionBackend<'a> {
    pub function_urn: &'a str,
    pub version: Option<&'a str>,
    pub alias_urn: Option<&'a str>,
    pub timeout: u32,
    pub invocation_type: InvocationType,
    /// A WEBSOCKET API's functions run on connect and on close (the default backend's only).
    pub websocket_register_urn: Option<&'a str>,
    pub websocket_cleanup_urn: Option<&'a str>,
}

/// A backend of any kind.
#[derive(Debug, Clone, Copy)]
pub enum BackendDef<'a> {
    Http(HttpBackend<'a>),
    Mock(MockBackend<'a>),
    Function(FunctionBackend<'a>),
}

/// The default backend and its custom authorizer.
#[derive(Debug, Clone, Copy)]
pub struct DefaultBackend<'a> {
    /// `backend_api`, `mock_info` or `func_info`.
    pub field: &'static str,
    pub backend: BackendDef<'a>,
    pub authorizer_id: Option<&'a str>,
}

/// A backend policy: its conditions, its own backend parameters, and its backend.
#[derive(Debug, Clone, Copy)]
pub struct PolicyDef<'a> {
    /// `policy_https`, `policy_mocks` or `policy_functions`.
    pub field: &'static str,
    /// Its place in that list.
    pub index: usize,
    pub name: &'a str,
    pub effect_mode: EffectMode,
    pub conditions: &'a [Condition],
    pub backend_params: &'a [BackendParam],
    pub authorizer_id: Option<&'a str>,
    pub backend: BackendDef<'a>,
}

impl Api {
    /// The default backend, by `backend_type`; `None` when its definition is missing.
    pub fn default_backend(&self) -> Option<DefaultBackend<'_>> {
        Some(match self.backend_type {
            BackendType::Http => {
                let b = self.backend_api.as_ref()?;
                DefaultBackend {
                    field: "backend_api",
                    authorizer_id: b.authorizer_id.as_deref(),
                    backend: BackendDef::Http(HttpBackend {
                        id: &b.id,
                        url_domain: b.url_domain.as_deref(),
                        url_domains: &b.url_domains,
                        vpc_status: b.vpc_status,
                        vpc_info: b.vpc_info.as_ref(),
                        req_protocol: b.req_protocol,
                        req_method: b.req_method,
                        req_uri: &b.req_uri,
                        timeout: b.timeout,
                        retry_count: b.retry_count,
                        enable_client_ssl: b.enable_client_ssl,
                        http2: b.http2,
                    }),
                }
            }
            BackendType::Mock => {
                let m = self.mock_info.as_ref()?;
                DefaultBackend {
                    field: "mock_info",
                    authorizer_id: m.authorizer_id.as_deref(),
                    backend: BackendDef::Mock(MockBackend { status_code: m.status_code, header: m.header.as_deref(), result_content: m.result_content.as_deref() }),
                }
            }
            BackendType::Function => {
                let f = self.func_info.as_ref()?;
                DefaultBackend {
                    field: "func_info",
                    authorizer_id: f.authorizer_id.as_deref(),
                    backend: BackendDef::Function(FunctionBackend {
                        function_urn: &f.function_urn,
                        version: f.version.as_deref(),
                        alias_urn: f.alias_urn.as_deref(),
                        timeout: f.timeout,
                        invocation_type: f.invocation_type,
                        websocket_register_urn: f.websocket_register_urn.as_deref(),
                        websocket_cleanup_urn: f.websocket_cleanup_urn.as_deref(),
                    }),
                }
            }
        })
    }

    /// The HTTP backend's timeout, which policies without their own take.
    fn http_timeout(&self) -> u32 {
        self.backend_api.as_ref().map_or(DEFAULT_BACKEND_TIMEOUT_MS, |b| b.timeout)
    }

    /// Every backend policy, in evaluation order: HTTP policies, then MOCK, then FUNCTION.
    pub fn policies(&self) -> impl Iterator<Item = PolicyDef<'_>> {
        let http_timeout = self.http_timeout();
        let function_timeout = self.func_info.as_ref().map_or(http_timeout, |f| f.timeout);
        let https = self.policy_https.iter().enumerate().map(move |(index, p)| PolicyDef {
            field: "policy_https",
            index,
            name: &p.name,
            effect_mode: p.effect_mode,
            conditions: &p.conditions,
            backend_params: &p.backend_params,
            authorizer_id: p.authorizer_id.as_deref(),
            backend: BackendDef::Http(HttpBackend {
                id: &p.id,
                url_domain: p.url_domain.as_deref(),
                url_domains: &[],
                vpc_status: p.vpc_status,
                vpc_info: p.vpc_info.as_ref(),
                req_protocol: p.req_protocol,
                req_method: p.req_method,
                req_uri: &p.req_uri,
                timeout: p.timeout.unwrap_or(http_timeout),
                retry_count: p.retry_count,
                enable_client_ssl: p.enable_client_ssl,
                http2: p.http2,
            }),
        });
        let mocks = self.policy_mocks.iter().enumerate().map(|(index, p)| PolicyDef {
            field: "policy_mocks",
            index,
            name: &p.name,
            effect_mode: p.effect_mode,
            conditions: &p.conditions,
            backend_params: &p.backend_params,
            authorizer_id: p.authorizer_id.as_deref(),
            backend: BackendDef::Mock(MockBackend { status_code: p.status_code, header: p.header.as_deref(), result_content: p.result_content.as_deref() }),
        });
        let functions = self.policy_functions.iter().enumerate().map(move |(index, p)| PolicyDef {
            field: "policy_functions",
            index,
            name: &p.name,
            effect_mode: p.effect_mode,
            conditions: &p.conditions,
            backend_params: &p.backend_params,
            authorizer_id: p.authorizer_id.as_deref(),
            backend: BackendDef::Function(FunctionBackend {
                function_urn: &p.function_urn,
                version: p.version.as_deref(),
                alias_urn: p.alias_urn.as_deref(),
                timeout: p.timeout.unwrap_or(function_timeout),
                invocation_type: p.invocation_type,
                websocket_register_urn: None,
                websocket_cleanup_urn: None,
            }),
        });
        https.chain(mocks).chain(functions)
    }
}
