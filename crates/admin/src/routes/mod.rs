//! Route families. Each maps its paths onto the service layer.

mod shape;
pub mod v1;
pub mod v2;
