//! HTTP backends compiled from their definition: where they are (one
//! address, a load-balance channel, or a weighted address list), with
//! `#variables#` substituted, and how the caller's request maps onto theirs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use causeway_model::api::{BackendProtocol, HttpBackend};
use http::HeaderValue;

use crate::backend::http::mapping::{Mapping, MappedParam};
use crate::http::error::{GatewayError, errors};
use crate::upstream::balance::{Channels, MemberState, Pool};
use crate::upstream::{self, Endpoint, TlsTo};

/// One HTTP backend (the default one or a policy's).
#[derive(Debug)]
pub struct HttpTarget {
    pub https: bool,
    /// Over HTTPS, present the gateway's client certificate (`enable_client_ssl`).
    pub client_cert: bool,
    /// HTTP/2 to the backend (`http2`).
    pub http2: bool,
    pub reach: Reach,
    /// `retry_count`: -1 retries idempotent requests once, 0 never, 1–10 that many times.
    pub retry_count: i32,
    pub timeout: Duration,
    pub mapping: Mapping,
}

impl HttpTarget {
    /// For debug calls: where requests go (`http://host:port`, a channel, or a weighted address list).
    pub fn describe(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match &self.reach {
            Reach::One(a) => format!("{scheme}://{}:{}", a.host, a.port),
            Reach::Channel(c) if c.addresses.is_some() => format!("{scheme}, weighted address list"),
            Reach::Channel(c) => format!("{scheme}, load-balance channel {}", c.id),
        }
    }
}

/// Where the backend is.
#[derive(Debug)]
pub enum Reach {
    /// One address.
    One(upstream::Address),
    /// The members of a load-balance channel, or of the backend's own weighted address list.
    Channel(ChannelTarget),
}

/// A backend reached through a load-balance channel.
#[derive(Debug)]
pub struct ChannelTarget {
    /// The channel's id (its members are looked up in the snapshot per request).
    pub id: Box<str>,
    /// For a backend's own weighted address list: its pool (kept with the compiled route).
    pub addresses: Option<Arc<Pool>>,
    /// Over HTTPS, the name members' certificates must carry: the proxy host's (else each member's own host).
    pub tls_name: Option<Box<str>>,
}

/// Replaces `#name#` references with their values in the environment.
pub fn substitute(s: &str, vars: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('#') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('#').ok_or_else(|| format!("unclosed variable in {s}"))?;
        let name = &after[..end];
        out.push_str(vars.get(name).ok_or_else(|| format!("variable #{name}# has no value in this environment"))?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl HttpTarget {
    pub fn compile(def: &HttpBackend<'_>, params: Vec<MappedParam>, vars: &HashMap<String, String>) -> Result<Self, String> {
        let https = def.req_protocol == BackendProtocol::Https;
        let default_port = if https { 443 } else { 80 };
        let mut host_header = None;
        let reach = match (def.vpc_status, def.vpc_info) {
            (1, Some(vpc)) => {
                let mut tls_name = None;
                if let Some(h) = vpc.vpc_proxy_host.as_deref() {
                    // `vpc_proxy_host`: the Host the members get (else the caller's).
                    host_header = Some(HeaderValue::from_str(h).map_err(|_| format!("vpc_proxy_host {h:?} is not a valid Host"))?);
                    tls_name = Some(upstream::Address::parse(h, default_port)?.0.into());
                }
                Reach::Channel(ChannelTarget { id: vpc.vpc_id.as_str().into(), addresses: None, tls_name })
            }
            _ if def.url_domains.len() > 1 => {
                let mut addresses = Vec::with_capacity(def.url_domains.len());
                for d in def.url_domains {
                    let (host, port) = upstream::Address::parse(&substitute(&d.url_domain, vars)?, default_port)?;
                    addresses.push((host, port, d.weight));
                }
                let pool = Arc::new(Pool::of_addresses(&addresses));
                Reach::Channel(ChannelTarget { id: def.id.into(), addresses: Some(pool), tls_name: None })
            }
            _ => {
                let (host, port) = upstream::Address::parse(&substitute(def.url_domain.unwrap_or_default(), vars)?, default_port)?;
                Reach::One(upstream::Address::new(&host, port, https.then_some(def.enable_client_ssl), def.http2))
            }
        };
        let mapping = Mapping::compile(def.req_method, &substitute(def.req_uri, vars)?, params).with_host(host_header);
        Ok(Self {
            https,
            client_cert: def.enable_client_ssl,
            http2: def.http2,
            reach,
            retry_count: def.retry_count.unwrap_or(-1),
            timeout: Duration::from_millis(u64::from(def.timeout)),
            mapping,
        })
    }

    /// The pool a channel target's members are in: the backend's own, or the served channel's.
    pub fn pool<'a>(channel: &'a ChannelTarget, channels: &'a Channels) -> Result<&'a Arc<Pool>, GatewayError> {
        match &channel.addresses {
            Some(own) => Ok(own),
            None => channels.get(&channel.id).ok_or(errors::BACKEND_NOT_SERVED),
        }
    }

    /// Where a channel member is reached. Pooled connections over TLS or
    /// HTTP/2 are keyed apart, by the key written into `pool_key`; without
    /// one (a connection of its own) no key is made.
    pub fn member_endpoint<'a>(&self, channel: &'a ChannelTarget, m: &'a MemberState, pool_key: Option<&'a mut Option<String>>) -> Endpoint<'a> {
        let tls = self.https.then_some(TlsTo { server_name: channel.tls_name.as_deref().unwrap_or(&m.host), client_cert: self.client_cert });
        let endpoint = Endpoint { host: &m.host, port: m.port, authority: &m.authority, tls, http2: self.http2 };
        let Some(key) = pool_key else { return endpoint };
        *key = match (tls, self.http2) {
            (Some(t), _) => Some(upstream::tls_pool_key(&m.authority, t.server_name, t.client_cert)),
            (None, true) => Some(format!("h2:{}", m.authority)),
            (None, false) => None,
        };
        Endpoint { authority: key.as_deref().unwrap_or(&m.authority), ..endpoint }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_substituted() {
        let vars = HashMap::from([("host".to_string(), "10.0.0.1".to_string()), ("p".to_string(), "v2".to_string())]);
        assert_eq!(substitute("#host#:8080", &vars).unwrap(), "10.0.0.1:8080");
        assert_eq!(substitute("/#p#/x/#p#", &vars).unwrap(), "/v2/x/v2");
        assert!(substitute("#missing#", &vars).unwrap_err().contains("#missing#"));
    }

    #[test]
    fn addresses() {
        assert_eq!(upstream::Address::parse("a.b:81", 80).unwrap(), ("a.b".into(), 81));
        assert_eq!(upstream::Address::parse("a.b", 443).unwrap(), ("a.b".into(), 443));
        assert_eq!(upstream::Address::parse("[::1]:9", 80).unwrap(), ("::1".into(), 9));
        assert!(upstream::Address::parse("a.b:x", 80).is_err());
    }
}
