//! The published state a node mirrors from the store: every document of the
//! kinds the data plane serves, by id, plus the API versions publications
//! name and the JWK sets fetched for IAM issuers. The served kinds are
//! listed once, in [`served_kinds!`]: a new kind is one line there and the
//! code that compiles it in `Snapshot::build`.

use std::collections::HashMap;
use std::sync::Arc;

use causeway_model::acl::{Acl, AclBinding};
use causeway_model::app::{App, AppAuth, AppCode};
use causeway_model::authorizer::Authorizer;
use causeway_model::channel::Channel;
use causeway_model::domain::Domain;
use causeway_model::env::{Env, EnvVariable};
use causeway_model::function::{Function, FunctionAlias, FunctionVersion};
use causeway_model::group::Group;
use causeway_model::iam::IamIssuer;
use causeway_model::kinds;
use causeway_model::publish::{ApiVersion, Publication};
use causeway_model::response::GatewayResponse;
use causeway_model::sign_key::{SignBinding, SignKey};
use causeway_model::throttle::{Throttle, ThrottleBinding, ThrottleSpecial};
use causeway_store::{Document, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Declares [`Source`] with a map per served kind, [`SERVED_KINDS`], and
/// the lookup of a kind's map.
macro_rules! served_kinds {
    ($($field:ident: $ty:ty = $kind:path,)+) => {
        /// Everything a snapshot is built from (also what a node saves to
        /// start from while the store is down: a kind missing in a saved one is empty).
        #[derive(Debug, Default, Clone, Serialize, Deserialize)]
        #[serde(default)]
        pub struct Source {
            $(pub $field: HashMap<String, $ty>,)+
            /// The API versions publications refer to, by id (read as publications name them).
            pub versions: HashMap<String, Arc<ApiVersion>>,
            /// JWK sets fetched from issuers' URLs, by URL.
            pub fetched_jwks: HashMap<String, serde_json::Value>,
        }

        /// The kinds a snapshot is built from; changes to others (drafts,
        /// asynchronous invocations) are not even read.
        pub const SERVED_KINDS: &[&str] = &[$($kind),+];

        impl Source {
            /// The map that mirrors `kind`, if the data plane serves it.
            fn mirror(&mut self, kind: &str) -> Option<&mut dyn Mirror> {
                match kind {
                    $($kind => Some(&mut self.$field),)+
                    _ => None,
                }
            }
        }
    };
}

served_kinds! {
    groups: Group = kinds::GROUP,
    envs: Env = kinds::ENV,
    variables: EnvVariable = kinds::ENV_VARIABLE,
    publications: Publication = kinds::PUBLICATION,
    responses: GatewayResponse = kinds::GATEWAY_RESPONSE,
    apps: App = kinds::APP,
    app_codes: AppCode = kinds::APP_CODE,
    app_auths: AppAuth = kinds::APP_AUTH,
    sign_keys: SignKey = kinds::SIGN_KEY,
    sign_bindings: SignBinding = kinds::SIGN_BINDING,
    iam_issuers: IamIssuer = kinds::IAM_ISSUER,
    functions: Function = kinds::FUNCTION,
    function_versions: FunctionVersion = kinds::FUNCTION_VERSION,
    function_aliases: FunctionAlias = kinds::FUNCTION_ALIAS,
    authorizers: Authorizer = kinds::AUTHORIZER,
    acls: Acl = kinds::ACL,
    acl_bindings: AclBinding = kinds::ACL_BINDING,
    throttles: Throttle = kinds::THROTTLE,
    throttle_bindings: ThrottleBinding = kinds::THROTTLE_BINDING,
    throttle_specials: ThrottleSpecial = kinds::THROTTLE_SPECIAL,
    channels: Channel = kinds::CHANNEL,
    domains: Domain = kinds::DOMAIN,
}

/// A map of documents of one kind, by id.
trait Mirror {
    /// Sets or (with `None`, or a document that does not decode) removes one.
    fn set(&mut self, id: &str, doc: Option<Document>);
}

impl<T: DeserializeOwned> Mirror for HashMap<String, T> {
    fn set(&mut self, id: &str, doc: Option<Document>) {
        match doc.and_then(decode) {
            Some(v) => {
                self.insert(id.to_string(), v);
            }
            None => {
                self.remove(id);
            }
        }
    }
}

pub(crate) fn decode<T: DeserializeOwned>(doc: Document) -> Option<T> {
    match serde_json::from_value(doc.body) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(kind = %doc.kind, id = %doc.id, error = %e, "skipping a stored document that does not decode");
            None
        }
    }
}

impl Source {
    /// Every served document, read from the store (versions are read by [`Source::load_versions`]).
    pub async fn load(store: &dyn Store) -> Result<Self, StoreError> {
        let mut source = Source::default();
        for &kind in SERVED_KINDS {
            for doc in store.list(kind, None).await? {
                if let Some(map) = source.mirror(kind) {
                    let id = doc.id.clone();
                    map.set(&id, Some(doc));
                }
            }
        }
        Ok(source)
    }

    /// Mirrors one document (`None`: deleted); false for kinds not served.
    pub fn apply(&mut self, kind: &str, id: &str, doc: Option<Document>) -> bool {
        match self.mirror(kind) {
            Some(map) => {
                map.set(id, doc);
                true
            }
            None => false,
        }
    }

    /// Reads the versions publications refer to and drops those no longer referred to.
    pub async fn load_versions(&mut self, store: &dyn Store) -> Result<(), StoreError> {
        let wanted: std::collections::HashSet<String> = self.publications.values().map(|p| p.version_id.clone()).collect();
        for id in &wanted {
            if !self.versions.contains_key(id)
                && let Some(doc) = store.get(kinds::API_VERSION, id).await?
                && let Some(v) = decode(doc)
            {
                self.versions.insert(id.clone(), Arc::new(v));
            }
        }
        self.versions.retain(|id, _| wanted.contains(id));
        Ok(())
    }
}
