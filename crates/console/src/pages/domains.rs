//! Domains on a group's page: bound (errors on their field), given a
//! certificate (chain and key as PEM; the key is sealed before it is
//! stored), the certificate removed, unbound — removals after a confirmation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use causeway_model::domain::{CertificateInput, DomainInput};

use super::{group, layout};
use crate::{Console, Signed, forbidden, forms};

/// `POST /console/groups/{id}/domains` (`url_domain`, `min_ssl_version`, `is_http_redirect_to_https`).
pub async fn bind(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let input = DomainInput {
        url_domain: form.text("url_domain"),
        min_ssl_version: form.text("min_ssl_version"),
        is_http_redirect_to_https: Some(form.text("is_http_redirect_to_https").as_deref() == Some("1")),
    };
    let outcome = console.service.bind_domain(&id, input).await.map(|_| ());
    console.audit(&signed, "POST", &format!("/console/groups/{id}/domains"), "domains", &id, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "domains", &form, outcome).await
}

/// `POST /console/groups/{id}/certificate` (`domain_id`, `name`, `cert_content`, `private_key`).
pub async fn upload(State(console): State<Console>, signed: Signed, Path(id): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "POST", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let domain = form.text("domain_id").unwrap_or_default();
    let input = CertificateInput { name: form.text("name"), cert_content: form.text("cert_content"), private_key: form.text("private_key") };
    let outcome = console.service.set_certificate(&id, &domain, input).await.map(|_| ());
    console.audit(&signed, "POST", &format!("/console/groups/{id}/domains/{domain}/certificate"), "domains", &domain, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "domains", &form, outcome).await
}

/// `GET /console/groups/{id}/domains/{domain}/{what}`: asks before unbinding (`delete`) or removing the certificate (`certificate/delete`).
async fn ask(console: &Console, signed: &Signed, id: &str, domain: &str, certificate: bool) -> Response {
    if !signed.may("DELETE", "/api-groups") {
        return forbidden();
    }
    let group = match console.service.get_group(id).await {
        Ok(g) => g.group,
        Err(e) => return layout::failed(e),
    };
    let name = group.url_domains.iter().find(|d| d["id"] == domain).and_then(|d| d["domain"].as_str()).unwrap_or(domain).to_string();
    let back = format!("/console/groups/{id}#domains");
    let (question, warning, action, button) = if certificate {
        (
            format!("Remove the certificate of {name}?"),
            "HTTPS callers of this domain get the gateway's default certificate, which their clients will not trust.",
            format!("/console/groups/{id}/domains/{domain}/certificate/delete"),
            "Remove the certificate",
        )
    } else {
        (format!("Unbind {name}?"), "Callers using this domain get 404 at once; the group's subdomain keeps working.", format!("/console/groups/{id}/domains/{domain}/delete"), "Unbind")
    };
    layout::confirm(signed, layout::Confirm { title: button, question: &question, warning, action: &action, fields: &[], button, cancel: &back }, "/console/groups")
}

pub async fn confirm_unbind(State(console): State<Console>, signed: Signed, Path((id, domain)): Path<(String, String)>) -> Response {
    ask(&console, &signed, &id, &domain, false).await
}

pub async fn confirm_remove_certificate(State(console): State<Console>, signed: Signed, Path((id, domain)): Path<(String, String)>) -> Response {
    ask(&console, &signed, &id, &domain, true).await
}

/// `POST /console/groups/{id}/domains/{domain}/delete`.
pub async fn unbind(State(console): State<Console>, signed: Signed, Path((id, domain)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let outcome = console.service.unbind_domain(&id, &domain).await;
    console.audit(&signed, "DELETE", &format!("/console/groups/{id}/domains/{domain}"), "domains", &domain, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "domains", &form, outcome).await
}

/// `POST /console/groups/{id}/domains/{domain}/certificate/delete`.
pub async fn remove_certificate(State(console): State<Console>, signed: Signed, Path((id, domain)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    let form = match forms::posted(&signed, &headers, &body, "DELETE", "/api-groups") {
        Ok(f) => f,
        Err(denied) => return denied.into_response(),
    };
    let certificate = match console.service.get_group(&id).await {
        Ok(g) => g.group.url_domains.iter().find(|d| d["id"] == domain.as_str()).and_then(|d| d["ssl_id"].as_str()).unwrap_or_default().to_string(),
        Err(e) => return layout::failed(e),
    };
    let outcome = console.service.delete_certificate(&id, &domain, &certificate).await;
    console.audit(&signed, "DELETE", &format!("/console/groups/{id}/domains/{domain}/certificate"), "domains", &domain, outcome.as_ref().map(|_| ())).await;
    group::done(&console, &signed, &id, "domains", &form, outcome).await
}
