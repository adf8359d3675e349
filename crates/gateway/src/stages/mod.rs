//! The request stages between routing and the backend call, one module per
//! concern: access control (`access`), reading the body (`body`),
//! authentication (`authn`), throttling (`throttle`), input parameters
//! (`params`) and the choice of a backend policy (`policies`). Each has a
//! build half, compiled from the published state (per snapshot, or per
//! route for parameters and policies, kept while the route is), and a
//! per-request half that reads the request and the snapshot. The pipeline
//! calls them in order.

pub(crate) mod access;
pub(crate) mod authn;
pub(crate) mod body;
pub(crate) mod params;
pub(crate) mod policies;
pub(crate) mod throttle;
