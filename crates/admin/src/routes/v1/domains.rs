use std::sync::Arc;

use axum::extract::{Path, State};
use causeway_model::domain::{CertificateInput, DomainInput};

use crate::http::{JsonBody, Reply, created, no_content, ok};
use crate::service::Service;

pub async fn bind(State(s): State<Arc<Service>>, Path(group_id): Path<String>, JsonBody(input): JsonBody<DomainInput>) -> Reply {
    created(s.bind_domain(&group_id, input).await?)
}

pub async fn update(State(s): State<Arc<Service>>, Path((group_id, domain_id)): Path<(String, String)>, JsonBody(input): JsonBody<DomainInput>) -> Reply {
    ok(s.update_domain(&group_id, &domain_id, input).await?)
}

pub async fn unbind(State(s): State<Arc<Service>>, Path((group_id, domain_id)): Path<(String, String)>) -> Reply {
    s.unbind_domain(&group_id, &domain_id).await?;
    no_content()
}

pub async fn set_certificate(
    State(s): State<Arc<Service>>,
    Path((group_id, domain_id)): Path<(String, String)>,
    JsonBody(input): JsonBody<CertificateInput>,
) -> Reply {
    created(s.set_certificate(&group_id, &domain_id, input).await?)
}

pub async fn get_certificate(State(s): State<Arc<Service>>, Path((group_id, domain_id, id)): Path<(String, String, String)>) -> Reply {
    ok(s.get_certificate(&group_id, &domain_id, &id).await?)
}

pub async fn delete_certificate(State(s): State<Arc<Service>>, Path((group_id, domain_id, id)): Path<(String, String, String)>) -> Reply {
    s.delete_certificate(&group_id, &domain_id, &id).await?;
    no_content()
}
