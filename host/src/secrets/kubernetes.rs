//! The Kubernetes Secret slot of the chain. The Kubernetes capability implements
//! [`KubernetesSecrets`] (reading one configured Secret through the API, under the
//! template plugin's policy grant); until a Secret is configured the slot reports itself
//! as not configured.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use noetl_protocol::names::{is_dns1123_label, is_dns1123_subdomain};

use super::{Lookup, SecretProvider};

/// Which Secret the chain reads: `NAMESPACE/NAME`, as given to `--secrets-k8s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub namespace: String,
    pub name: String,
}

impl FromStr for SecretRef {
    type Err = String;

    /// Parses `NAMESPACE/NAME`: the namespace a DNS-1123 label, the name a DNS-1123
    /// subdomain (what the API server accepts), so a typo fails before any request.
    fn from_str(text: &str) -> Result<Self, String> {
        const FORM: &str = "write it as NAMESPACE/NAME, for example noetl/noetl-secrets";
        let Some((namespace, name)) = text.split_once('/') else {
            return Err(format!("{text:?} has no `/`; {FORM}"));
        };
        if !is_dns1123_label(namespace) {
            return Err(format!(
                "namespace {namespace:?} is not a valid namespace (lowercase letters, digits and `-`, \
                 starting and ending with a letter or digit, at most 63 characters); {FORM}"
            ));
        }
        if !is_dns1123_subdomain(name) {
            return Err(format!(
                "Secret name {name:?} is not a valid object name (dot-separated lowercase letters, digits \
                 and `-`, at most 253 characters); {FORM}"
            ));
        }
        Ok(SecretRef { namespace: namespace.to_string(), name: name.to_string() })
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

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
                "Kubernetes Secret (not configured: no Secret was given with --secrets-k8s)"
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

    #[test]
    fn secret_refs_parse_namespace_and_name() {
        let parsed: SecretRef = "noetl/app.secrets-1".parse().unwrap();
        assert_eq!(parsed, SecretRef { namespace: "noetl".into(), name: "app.secrets-1".into() });
        assert_eq!(parsed.to_string(), "noetl/app.secrets-1");
    }

    #[test]
    fn bad_secret_refs_say_what_is_wrong_and_the_form() {
        for (text, wrong) in [
            ("noetl-secrets", "has no `/`"),
            ("/name", "namespace \"\""),
            ("Noetl/name", "namespace \"Noetl\""),
            ("noetl/", "Secret name \"\""),
            ("noetl/a/b", "Secret name \"a/b\""),
            ("noetl/-x", "Secret name \"-x\""),
            ("noetl/a..b", "Secret name \"a..b\""),
        ] {
            let error = text.parse::<SecretRef>().unwrap_err();
            assert!(error.contains(wrong), "{text}: {error}");
            assert!(error.contains("write it as NAMESPACE/NAME"), "{text}: {error}");
        }
        assert!(format!("noetl/{}", "a".repeat(64)).parse::<SecretRef>().is_err());
        assert!(format!("{}/x", "a".repeat(64)).parse::<SecretRef>().is_err());
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
