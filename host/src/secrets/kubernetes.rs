//! The Kubernetes Secret slot of the chain. The Kubernetes capability implements
//! [`KubernetesSecrets`] (reading one configured Secret through the API); until a cluster
//! is configured the slot reports itself as not configured.

use std::sync::Arc;

use super::{Lookup, SecretProvider};

/// Reads keys of one Kubernetes Secret chosen by host configuration (for example Secret
/// `noetl-secrets` in namespace `noetl`). The secret name in a template is the key.
pub trait KubernetesSecrets: Send + Sync {
    /// Which Secret is read, for error messages: `Kubernetes Secret noetl/noetl-secrets`.
    fn location(&self) -> String;

    /// The decoded value of `key` (from `data`, base64-decoded, as UTF-8), `Ok(None)` when the
    /// Secret exists but has no such key. A missing Secret, a denied read or an API error is
    /// `Err` with a message naming the Secret and the cause.
    fn get<'a>(&'a self, key: &'a str) -> Lookup<'a>;
}

/// The chain's adapter around an optional [`KubernetesSecrets`] source.
pub struct KubernetesProvider {
    source: Option<Arc<dyn KubernetesSecrets>>,
}

impl KubernetesProvider {
    /// `None`: no cluster is configured for secrets; the slot never has a secret and says so.
    pub fn new(source: Option<Arc<dyn KubernetesSecrets>>) -> Self {
        KubernetesProvider { source }
    }
}

impl SecretProvider for KubernetesProvider {
    fn describe(&self, name: &str) -> String {
        match &self.source {
            Some(source) => format!("key {name} of {}", source.location()),
            None => {
                "Kubernetes Secret (not configured: the host has no cluster configured for secrets)"
                    .to_string()
            }
        }
    }

    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a> {
        match &self.source {
            Some(source) => source.get(name),
            None => Box::pin(std::future::ready(Ok(None))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct FakeSecret(BTreeMap<&'static str, &'static str>);

    impl KubernetesSecrets for FakeSecret {
        fn location(&self) -> String {
            "Kubernetes Secret noetl/noetl-secrets".to_string()
        }
        fn get<'a>(&'a self, key: &'a str) -> Lookup<'a> {
            Box::pin(std::future::ready(Ok(self
                .0
                .get(key)
                .map(|v| v.to_string()))))
        }
    }

    #[tokio::test]
    async fn not_configured_never_has_a_secret_and_says_why() {
        let provider = KubernetesProvider::new(None);
        assert_eq!(provider.get("API_KEY").await, Ok(None));
        assert!(provider.describe("API_KEY").contains("not configured"));
    }

    #[tokio::test]
    async fn configured_source_is_asked_for_the_key() {
        let provider = KubernetesProvider::new(Some(Arc::new(FakeSecret(BTreeMap::from([(
            "API_KEY", "v",
        )])))));
        assert_eq!(provider.get("API_KEY").await, Ok(Some("v".to_string())));
        assert_eq!(provider.get("OTHER").await, Ok(None));
        assert_eq!(
            provider.describe("API_KEY"),
            "key API_KEY of Kubernetes Secret noetl/noetl-secrets"
        );
    }
}
