//! One module per page family; `layout` holds what they share.

pub mod acls;
pub mod apis;
pub mod app_codes;
pub mod apps;
pub mod authorizers;
pub mod bindings;
pub mod channels;
pub mod domains;
pub mod envs;
pub mod functions;
pub mod group;
pub mod groups;
pub mod layout;
pub mod openapi;
pub mod overview;
pub mod publish;
pub mod responses;
pub mod sign_in;
pub mod sign_keys;
pub mod throttles;
pub mod variables;
pub mod versions;
pub mod wizard;
