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
}

impl FunctionBackend {
    pub fn compile(def: &FunctionDef<'_>, params: Vec<MappedParam>) -> Result<Self, String> {
        let target = FunctionTarget::compile(def.function_urn, def.version, def.alias_urn, def.timeout, def.invocation_type)?;
        Ok(Self { target, mapping: Mapping::compile(Method::Any, "/", params) })
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
