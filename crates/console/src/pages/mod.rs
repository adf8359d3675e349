//! One module per page family; `layout` holds what they share.

pub mod apis;
pub mod apps;
pub mod envs;
pub mod groups;
pub mod layout;
pub mod overview;
pub mod publish;
pub mod sign_in;
pub mod throttles;
pub mod variables;
pub mod versions;
pub mod wizard;
