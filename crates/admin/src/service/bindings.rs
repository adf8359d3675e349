//! What the binding families (ACL, throttling and signature-key bindings, app
//! authorizations) share: the published APIs they bind to, and deleting
//! several bindings where each succeeds or fails on its own
//! (`{"success_count", "failure"}`).

use causeway_model::error::Code;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::{ApiError, Result, kinds};
use serde::Serialize;

use super::{Service, c};

/// The outcome of a batch delete: `{"success_count", "failure": [...]}`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BatchDeleted {
    pub success_count: usize,
    pub failure: Vec<BatchFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BatchFailure {
    pub id: String,
    pub error_code: &'static str,
    pub error_msg: String,
}

impl BatchFailure {
    pub fn new(id: String, e: ApiError) -> Self {
        Self { id, error_code: e.code, error_msg: e.message }
    }
}

impl Service {
    /// The publications that `keep` selects, each with the version it serves;
    /// one whose version cannot be read is left out of the listing.
    pub(super) async fn published(&self, keep: impl Fn(&Publication) -> bool) -> Result<Vec<(Publication, ApiVersion)>> {
        let mut out = Vec::new();
        for p in self.load_all::<Publication>(kinds::PUBLICATION, None).await? {
            if !keep(&p) {
                continue;
            }
            if let Ok(v) = self.load::<ApiVersion>(kinds::API_VERSION, &p.version_id, c::VERSION_NOT_FOUND).await {
                out.push((p, v));
            }
        }
        Ok(out)
    }

    /// Deletes several bindings, each on its own: one that is not there is a
    /// failure of the batch; any other error ends it.
    pub(super) async fn delete_bindings(&self, kind: &str, not_found: Code, ids: Vec<String>) -> Result<BatchDeleted> {
        let mut out = BatchDeleted::default();
        for id in ids {
            match self.delete_doc(kind, not_found, &id).await {
                Ok(()) => out.success_count += 1,
                Err(e) if e.code == not_found.code => out.failure.push(BatchFailure::new(id, e)),
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }
}
