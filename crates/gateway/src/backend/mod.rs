//! Backends: what a route calls once the stages have passed the request —
//! a canned answer (`mock`), an HTTP service (`http`: mapping, signing,
//! forwarding with retries, WebSocket connections) or a function
//! (`function`; `function_websocket` for WebSocket APIs served by functions). Each is compiled once from its definition, with the
//! backend parameters that map the caller's request onto it.

pub(crate) mod function;
pub(crate) mod function_websocket;
pub(crate) mod http;
pub(crate) mod mock;

use std::collections::HashMap;

use causeway_model::api::BackendDef;

use crate::backend::function::FunctionBackend;
use crate::backend::http::mapping::MappedParam;
use crate::backend::http::target::HttpTarget;
use crate::backend::mock::MockResponse;

/// What a route (or one of its backend policies) calls.
#[derive(Debug)]
pub enum Backend {
    Mock(MockResponse),
    Http(HttpTarget),
    Function(FunctionBackend),
    /// A definition this gateway cannot serve (a variable with no value, a
    /// malformed address or URN); requests get `APIG.0105` saying why.
    Unservable(String),
}

impl Backend {
    /// Compiles a backend with its mapped parameters; `vars` are the
    /// environment's variables, substituted into HTTP addresses and paths.
    pub fn compile(def: &BackendDef<'_>, params: Vec<MappedParam>, vars: &HashMap<String, String>) -> Self {
        let compiled = match def {
            BackendDef::Mock(m) => return Backend::Mock(MockResponse::compile(m)),
            BackendDef::Http(h) => HttpTarget::compile(h, params, vars).map(Backend::Http),
            BackendDef::Function(f) => FunctionBackend::compile(f, params).map(Backend::Function),
        };
        compiled.unwrap_or_else(Backend::Unservable)
    }

    /// Whether an HTTP backend's body is built from the caller's (BODY parameters).
    pub fn maps_body(&self) -> bool {
        matches!(self, Backend::Http(h) if h.mapping.maps_body())
    }

    /// Whether calling it runs a function (whose event carries the body).
    pub fn calls_function(&self) -> bool {
        matches!(self, Backend::Function(_))
    }
}
