//! Frontend authentication, by the API's `auth_type`: APP APIs by a
//! signature or AppCode and the app's authorization (`app`), IAM APIs by a
//! JWT from a configured issuer (`iam`, keys fetched by `jwks`), AUTHORIZER
//! APIs by their custom authorizer function (`authorizer`), whose answer
//! (`context`) later stages read. Backend authorizers, which run after the
//! backend policy is chosen, are the same `authorizer` asked again.

pub(crate) mod app;
pub(crate) mod authorizer;
pub(crate) mod context;
pub(crate) mod iam;
pub(crate) mod jwks;
