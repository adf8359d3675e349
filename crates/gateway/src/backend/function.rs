//! FUNCTION backends: the caller's request mapped as for an HTTP backend
//! (backend parameters, forwarding headers), its headers and query put in
//! the function's event, and the function's answer made the response.

use causeway_model::api::{FunctionBackend as FunctionDef, Method};
use http::Response;

use crate::backend::http::mapping::{MappedParam, Mapping};
use crate::functions::event::FunctionAnswer;
use crate::functions::target::FunctionTarget;
use crate::http::body::Body;

/// A function a route calls, and how the caller's request maps into its event.
#[derive(Debug)]
pub struct FunctionBackend {
    pub target: FunctionTarget,
    /// Only its headers and query are used: they become the event's.
    pub mapping: Mapping,
    /// A WebSocket API's functions run on connect and on close.
    pub register: Option<FunctionTarget>,
    pub cleanup: Option<FunctionTarget>,
}

impl FunctionBackend {
    pub fn compile(def: &FunctionDef<'_>, params: Vec<MappedParam>) -> Result<Self, String> {
        let target = FunctionTarget::compile(def.function_urn, def.version, def.alias_urn, def.timeout, def.invocation_type)?;
        let other = |urn: Option<&str>| urn.map(|u| FunctionTarget::compile(u, None, None, def.timeout, def.invocation_type)).transpose();
        Ok(Self { target, mapping: Mapping::compile(Method::Any, "/", params), register: other(def.websocket_register_urn)?, cleanup: other(def.websocket_cleanup_urn)? })
    }
}

/// The function's answer as the caller's response.
pub fn respond(answer: FunctionAnswer) -> Response<Body> {
    let mut res = Response::new(Body::full(answer.body));
    *res.status_mut() = answer.status;
    let headers = res.headers_mut();
    for (k, v) in answer.headers {
        headers.append(k, v);
    }
    res
}
