//! Domains bound to API groups, and their certificates.
//!
//! A bound domain routes requests to its group (besides the group's own
//! subdomain). With a certificate it is served over HTTPS; optionally plain
//! HTTP requests are redirected to HTTPS.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, Result, codes};
use crate::rules::{self, NameRule};

/// TLS versions a domain may ask for as its minimum.
pub const SSL_VERSIONS: &[&str] = &["TLSv1.1", "TLSv1.2"];
/// The default minimum, as on the cloud gateways.
pub const DEFAULT_SSL_VERSION: &str = "TLSv1.1";
/// CNAME status "resolved": a self-hosted gateway does not check DNS.
pub const CNAME_RESOLVED: i32 = 3;

/// Certificate names: 4–50, letters, digits, `_`; starts with a letter.
pub const CERT_NAME: NameRule = NameRule { min: 4, max: 50, cjk: false, digit_first: false, extra: &['_'] };

/// A stored domain binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    pub id: String,
    pub group_id: String,
    /// Lower case; `*.example.com` binds every name one label below.
    pub url_domain: String,
    pub status: i32,
    pub min_ssl_version: String,
    pub is_http_redirect_to_https: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<DomainCertificate>,
    pub create_time: String,
    pub update_time: String,
}

/// A certificate of a domain. The private key is sealed (encrypted with the
/// installation's secret key) and never returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainCertificate {
    pub id: String,
    pub name: String,
    /// The PEM chain, leaf first.
    pub cert_content: String,
    /// The sealed PEM private key.
    pub sealed_private_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    #[serde(default)]
    pub san: Vec<String>,
    pub not_after: String,
    pub create_time: String,
    pub update_time: String,
}

/// A domain as bind / update / certificate calls answer it.
#[derive(Debug, Clone, Serialize)]
pub struct DomainView {
    pub id: String,
    pub url_domain: String,
    pub status: i32,
    pub min_ssl_version: String,
    pub is_http_redirect_to_https: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_name: Option<String>,
}

/// A domain as a group's `url_domains` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupDomain {
    pub id: String,
    pub domain: String,
    pub cname_status: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssl_name: Option<String>,
    pub min_ssl_version: String,
    pub is_http_redirect_to_https: bool,
}

/// A certificate as `GET .../certificate/{id}` answers it (without the key).
#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    pub id: String,
    pub name: String,
    pub url_domain: String,
    pub cert_content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub common_name: Option<String>,
    pub san: Vec<String>,
    pub not_after: String,
    pub create_time: String,
    pub update_time: String,
}

impl Domain {
    pub fn view(&self) -> DomainView {
        DomainView {
            id: self.id.clone(),
            url_domain: self.url_domain.clone(),
            status: self.status,
            min_ssl_version: self.min_ssl_version.clone(),
            is_http_redirect_to_https: self.is_http_redirect_to_https,
            ssl_id: self.certificate.as_ref().map(|c| c.id.clone()),
            ssl_name: self.certificate.as_ref().map(|c| c.name.clone()),
        }
    }

    pub fn group_view(&self) -> GroupDomain {
        GroupDomain {
            id: self.id.clone(),
            domain: self.url_domain.clone(),
            cname_status: self.status,
            ssl_id: self.certificate.as_ref().map(|c| c.id.clone()),
            ssl_name: self.certificate.as_ref().map(|c| c.name.clone()),
            min_ssl_version: self.min_ssl_version.clone(),
            is_http_redirect_to_https: self.is_http_redirect_to_https,
        }
    }

    pub fn certificate_view(&self) -> Option<CertificateView> {
        let c = self.certificate.as_ref()?;
        Some(CertificateView {
            id: c.id.clone(),
            name: c.name.clone(),
            url_domain: self.url_domain.clone(),
            cert_content: c.cert_content.clone(),
            common_name: c.common_name.clone(),
            san: c.san.clone(),
            not_after: c.not_after.clone(),
            create_time: c.create_time.clone(),
            update_time: c.update_time.clone(),
        })
    }
}

/// Body of `POST /api-groups/{group_id}/domains` (and `PUT .../domains/{id}`).
#[derive(Debug, Default, Deserialize)]
pub struct DomainInput {
    pub url_domain: Option<String>,
    pub min_ssl_version: Option<String>,
    pub is_http_redirect_to_https: Option<bool>,
}

/// Validated domain fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    pub url_domain: String,
    pub min_ssl_version: String,
    pub is_http_redirect_to_https: bool,
}

impl DomainInput {
    /// For binding: `url_domain` is required.
    pub fn validate(self) -> Result<DomainSpec> {
        let url_domain = rules::required_str("url_domain", self.url_domain)?.to_ascii_lowercase();
        check_domain("url_domain", &url_domain)?;
        Ok(DomainSpec {
            url_domain,
            min_ssl_version: ssl_version(self.min_ssl_version)?,
            is_http_redirect_to_https: self.is_http_redirect_to_https.unwrap_or(false),
        })
    }
}

fn ssl_version(v: Option<String>) -> Result<String> {
    match rules::optional_str(v) {
        None => Ok(DEFAULT_SSL_VERSION.to_string()),
        Some(v) => SSL_VERSIONS
            .iter()
            .find(|s| s.eq_ignore_ascii_case(&v))
            .map(|s| s.to_string())
            .ok_or_else(|| ApiError::invalid("min_ssl_version")),
    }
}

/// A domain name callers use: a host name of at least two labels, not an IP
/// address, optionally a wildcard `*.` in front.
pub fn check_domain(field: &str, d: &str) -> Result<()> {
    let host = d.strip_prefix("*.").unwrap_or(d);
    let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()));
    if d.len() > 255 || !crate::api::uri::is_hostname(host) || !host.contains('.') || is_ip {
        return Err(ApiError::field(codes::INVALID_URL_DOMAIN, field));
    }
    Ok(())
}

/// Body of `POST .../domains/{domain_id}/certificate`.
#[derive(Debug, Default, Deserialize)]
pub struct CertificateInput {
    pub name: Option<String>,
    pub cert_content: Option<String>,
    pub private_key: Option<String>,
}

/// Validated certificate fields (the PEM content is checked by the TLS layer).
#[derive(Debug, Clone)]
pub struct CertificateSpec {
    pub name: String,
    pub cert_content: String,
    pub private_key: String,
}

impl CertificateInput {
    pub fn validate(self) -> Result<CertificateSpec> {
        let name = rules::required_str("name", self.name)?;
        CERT_NAME.check("name", &name)?;
        let cert_content = rules::required_str("cert_content", self.cert_content)?;
        let private_key = rules::required_str("private_key", self.private_key)?;
        Ok(CertificateSpec { name, cert_content, private_key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_rules() {
        let ok = DomainInput { url_domain: Some("API.Example.com".into()), ..Default::default() }.validate().unwrap();
        assert_eq!(ok.url_domain, "api.example.com");
        assert_eq!(ok.min_ssl_version, "TLSv1.1");
        assert!(!ok.is_http_redirect_to_https);
        let wild = DomainInput { url_domain: Some("*.example.com".into()), min_ssl_version: Some("tlsv1.2".into()), ..Default::default() };
        assert_eq!(wild.validate().unwrap().min_ssl_version, "TLSv1.2");
        for bad in ["example", "1.2.3.4", "a..com", "*.com", "-a.com", "a.*.com", "http://a.com", "a.com:80", "::1"] {
            let e = DomainInput { url_domain: Some(bad.into()), ..Default::default() }.validate().unwrap_err();
            assert_eq!(e.code, "APIG.2024", "{bad}");
            assert!(e.message.contains("parameterName:url_domain"), "{bad}");
        }
        assert_eq!(DomainInput::default().validate().unwrap_err().code, "APIG.2001");
        let e = DomainInput { url_domain: Some("a.com".into()), min_ssl_version: Some("SSLv3".into()), ..Default::default() }.validate().unwrap_err();
        assert!(e.message.contains("parameterName:min_ssl_version"));
    }

    #[test]
    fn certificate_rules() {
        let input = |name: &str| CertificateInput { name: Some(name.into()), cert_content: Some("c".into()), private_key: Some("k".into()) };
        input("cert_01").validate().unwrap();
        for bad in ["abc", "1cert", "cert-01", &"c".repeat(51)] {
            assert!(input(bad).validate().unwrap_err().message.contains("parameterName:name"), "{bad}");
        }
        let missing = CertificateInput { name: Some("cert_01".into()), ..Default::default() }.validate().unwrap_err();
        assert_eq!(missing.code, "APIG.2001");
        assert!(missing.message.contains("parameterName:cert_content"));
    }
}
