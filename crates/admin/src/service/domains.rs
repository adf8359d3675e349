//! Domains bound to groups, and their certificates. A domain is unique across
//! groups (a store key); the certificate's private key is sealed before it
//! is stored.

use causeway_model::domain::{CNAME_RESOLVED, CertificateInput, CertificateView, Domain, DomainCertificate, DomainInput, DomainView};
use causeway_model::group::Group;
use causeway_model::{ApiError, Result, ids, kinds};
use causeway_store::NewDocument;
use causeway_tls::CertError;

use super::tx::Tx;
use super::{Service, c, encode};

fn domain_key(domain: &str) -> String {
    format!("domain:{domain}")
}

async fn put_domain(tx: &mut Tx, d: &Domain) -> Result<()> {
    let body = encode(d)?;
    let doc = NewDocument { kind: kinds::DOMAIN, id: &d.id, parent: Some(&d.group_id), keys: vec![domain_key(&d.url_domain)], body: &body };
    tx.put_unique(doc, c::DOMAIN_EXISTS, "url_domain").await
}

/// The documented code for a refused certificate, with the reason.
fn cert_error(e: CertError) -> ApiError {
    let code = match &e {
        CertError::KeyMismatch => c::CERT_KEY_MISMATCH,
        CertError::Expired { .. } => c::CERT_EXPIRED,
        CertError::NameMismatch { .. } => c::CERT_NAME_MISMATCH,
        CertError::ChainMismatch => c::CERT_CHAIN_MISMATCH,
        CertError::EncryptedKey => c::CERT_KEY_ENCRYPTED,
        CertError::Invalid(_) => c::CERT_INVALID,
    };
    ApiError::detail(code, &e.to_string())
}

impl Service {
    /// The domains bound to a group, oldest first.
    pub(super) async fn group_domains(&self, group_id: &str) -> Result<Vec<Domain>> {
        let mut all: Vec<Domain> = self.load_all(kinds::DOMAIN, Some(group_id)).await?;
        all.sort_by(|a, b| (&a.create_time, &a.id).cmp(&(&b.create_time, &b.id)));
        Ok(all)
    }

    async fn domain_of(&self, tx: &mut Tx, group_id: &str, domain_id: &str) -> Result<Domain> {
        if !tx.exists(kinds::GROUP, group_id).await? {
            return Err(ApiError::new(c::GROUP_NOT_FOUND));
        }
        let d: Domain = tx.load(kinds::DOMAIN, domain_id, c::DOMAIN_NOT_FOUND).await?;
        if d.group_id != group_id {
            return Err(ApiError::new(c::DOMAIN_NOT_FOUND));
        }
        Ok(d)
    }

    pub async fn bind_domain(&self, group_id: &str, input: DomainInput) -> Result<DomainView> {
        let spec = input.validate()?;
        // The groups' own subdomains belong to the gateway.
        let base = self.config.base_domain.to_ascii_lowercase();
        let host = spec.url_domain.strip_prefix("*.").unwrap_or(&spec.url_domain);
        if host == base || host.ends_with(&format!(".{base}")) {
            return Err(ApiError::detail(c::INVALID_URL_DOMAIN, &format!("{} is under the gateway's base domain {base}; bind a domain of your own", spec.url_domain)));
        }
        if spec.is_http_redirect_to_https {
            return Err(ApiError::field_because(c::INVALID_VALUE, "is_http_redirect_to_https", "The redirect needs a certificate: upload one first"));
        }
        let mut tx = self.begin().await?;
        let _group: Group = tx.load(kinds::GROUP, group_id, c::GROUP_NOT_FOUND).await?;
        if tx.count(kinds::DOMAIN, Some(group_id)).await? >= self.config.limits.domains_per_group {
            return Err(ApiError::new(c::DOMAIN_QUOTA));
        }
        if tx.find_key(kinds::DOMAIN, &domain_key(&spec.url_domain)).await?.is_some() {
            return Err(ApiError::field(c::DOMAIN_EXISTS, "url_domain"));
        }
        let now = ids::now();
        let d = Domain {
            id: ids::new_id(),
            group_id: group_id.to_string(),
            url_domain: spec.url_domain,
            status: CNAME_RESOLVED,
            min_ssl_version: spec.min_ssl_version,
            is_http_redirect_to_https: false,
            certificate: None,
            create_time: now.clone(),
            update_time: now,
        };
        put_domain(&mut tx, &d).await?;
        self.commit(tx).await?;
        Ok(d.view())
    }

    /// Changes the minimum TLS version and the HTTP → HTTPS redirect (the name stays).
    pub async fn update_domain(&self, group_id: &str, domain_id: &str, input: DomainInput) -> Result<DomainView> {
        let mut tx = self.begin().await?;
        let mut d = self.domain_of(&mut tx, group_id, domain_id).await?;
        // The name cannot change; the other fields validate as on binding.
        let spec = DomainInput { url_domain: Some(d.url_domain.clone()), ..input }.validate()?;
        if spec.is_http_redirect_to_https && d.certificate.is_none() {
            return Err(ApiError::field_because(c::INVALID_VALUE, "is_http_redirect_to_https", "The redirect needs a certificate: upload one first"));
        }
        d.min_ssl_version = spec.min_ssl_version;
        d.is_http_redirect_to_https = spec.is_http_redirect_to_https;
        d.update_time = ids::now();
        put_domain(&mut tx, &d).await?;
        self.commit(tx).await?;
        Ok(d.view())
    }

    pub async fn unbind_domain(&self, group_id: &str, domain_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let d = self.domain_of(&mut tx, group_id, domain_id).await?;
        tx.delete(kinds::DOMAIN, &d.id).await?;
        self.commit(tx).await?;
        Ok(())
    }

    /// Adds or replaces the domain's certificate, after checking it (key, dates, names, chain).
    pub async fn set_certificate(&self, group_id: &str, domain_id: &str, input: CertificateInput) -> Result<DomainView> {
        let spec = input.validate()?;
        let sealer = self.sealer.as_ref().ok_or_else(|| ApiError::detail(c::SYSTEM, "this node has no secret key to seal private keys with"))?;
        let cert = causeway_tls::Certificate::from_pem(&spec.cert_content, &spec.private_key).map_err(cert_error)?;
        cert.check_validity(causeway_tls::certificate::now()).map_err(cert_error)?;
        let mut tx = self.begin().await?;
        let mut d = self.domain_of(&mut tx, group_id, domain_id).await?;
        cert.check_covers(&d.url_domain).map_err(cert_error)?;
        let sealed = sealer.seal(cert.key_pem().as_bytes()).map_err(|e| ApiError::detail(c::SYSTEM, &e))?;
        let now = ids::now();
        let create_time = d.certificate.as_ref().map(|c| c.create_time.clone()).unwrap_or_else(|| now.clone());
        d.certificate = Some(DomainCertificate {
            id: ids::new_id(),
            name: spec.name,
            cert_content: cert.chain_pem(),
            sealed_private_key: sealed,
            common_name: cert.common_name.clone(),
            san: cert.names.clone(),
            not_after: cert.not_after_rfc3339(),
            create_time,
            update_time: now.clone(),
        });
        d.update_time = now;
        put_domain(&mut tx, &d).await?;
        self.commit(tx).await?;
        Ok(d.view())
    }

    pub async fn get_certificate(&self, group_id: &str, domain_id: &str, certificate_id: &str) -> Result<CertificateView> {
        let mut tx = self.begin().await?;
        let d = self.domain_of(&mut tx, group_id, domain_id).await?;
        match d.certificate_view() {
            Some(v) if v.id == certificate_id => Ok(v),
            _ => Err(ApiError::new(c::CERTIFICATE_NOT_FOUND)),
        }
    }

    /// Removes the certificate (the domain is then served over HTTP only, and its redirect is turned off).
    pub async fn delete_certificate(&self, group_id: &str, domain_id: &str, certificate_id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut d = self.domain_of(&mut tx, group_id, domain_id).await?;
        if d.certificate.as_ref().is_none_or(|c| c.id != certificate_id) {
            return Err(ApiError::new(c::CERTIFICATE_NOT_FOUND));
        }
        d.certificate = None;
        d.is_http_redirect_to_https = false;
        d.update_time = ids::now();
        put_domain(&mut tx, &d).await?;
        self.commit(tx).await?;
        Ok(())
    }
}
