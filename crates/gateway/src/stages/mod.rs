//! The request stages between routing and the backend call, one module per
//! concern, each with a build half (compiled from the published state once
//! per snapshot) and a per-request half (reading the request, never the
//! store): access control (`access`), reading the body (`body`),
//! authentication (`authn`), throttling (`throttle`), input parameters
//! (`params`) and the choice of a backend policy (`policies`). The pipeline
//! calls them in order.

pub(crate) mod access;
pub(crate) mod authn;
pub(crate) mod body;
pub(crate) mod params;
pub(crate) mod policies;
pub(crate) mod throttle;
