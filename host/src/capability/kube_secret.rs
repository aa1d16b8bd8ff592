//! The Kubernetes Secret provider of the secret chain: keys of one configured Secret, read
//! through the `kubernetes` capability under the grant of the template engine plugin (the
//! plugin that receives `{{ secrets.NAME }}`), so the policy decides whether the host may
//! read that Secret at all.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use tokio::sync::OnceCell;

use super::{Capabilities, KubeApi};
use crate::bindings::types::CapabilityError;
use crate::execute::capability_message;
use crate::secrets::{KubernetesSecrets, Lookup, SecretRef};

/// The raw bytes of each key of the Secret's `data`, or why the Secret could not be read.
type Fetched = Result<BTreeMap<String, Vec<u8>>, String>;

/// One Secret read at most once per run: the first lookup fetches it, later lookups (and
/// lookups that find nothing) answer from the same copy, so N secrets cost one GET.
pub struct PolicyScopedSecret {
    secret: SecretRef,
    api: Arc<dyn KubeApi>,
    /// A failure is kept as well, so a Secret that is missing or forbidden is not asked
    /// for again for every template that names a secret.
    fetched: OnceCell<Fetched>,
}

impl PolicyScopedSecret {
    /// Checks that `template` (the template engine's capabilities: plugin name and grant)
    /// may `get` kind `Secret` in the Secret's namespace. Call before connecting, so a
    /// policy that does not allow it is refused without touching the cluster.
    pub fn check_grant(template: &Capabilities, secret: &SecretRef) -> Result<(), String> {
        template.check_kube_grant("get", "Secret", &secret.namespace).map_err(|e| capability_message(&e))
    }

    /// A provider reading `secret` through `api`. The grant must have been checked with
    /// [`PolicyScopedSecret::check_grant`].
    pub fn new(secret: SecretRef, api: Arc<dyn KubeApi>) -> Self {
        PolicyScopedSecret { secret, api, fetched: OnceCell::new() }
    }

    async fn fetch(&self) -> Fetched {
        let SecretRef { namespace, name } = &self.secret;
        let text = self.api.get("Secret", namespace, name).await.map_err(|error| match error {
            // A GET in a missing namespace is a plain 404 too, so both causes are named.
            CapabilityError::NotFound(_) => format!(
                "Secret {name:?} does not exist in namespace {namespace:?} (or the namespace does not exist); \
                 create it (kubectl create secret generic {name} -n {namespace} --from-literal=KEY=VALUE) \
                 or point --secrets-k8s at an existing Secret"
            ),
            other => capability_message(&other),
        })?;
        let secret: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("the API server returned a Secret that is not JSON: {e}"))?;
        decode_data(&secret)
    }
}

/// The Secret's `data` (base64 values) decoded. `stringData` is write-only: the API server
/// folds it into `data` and never returns it.
fn decode_data(secret: &serde_json::Value) -> Fetched {
    let Some(data) = secret.get("data").and_then(serde_json::Value::as_object) else {
        return Ok(BTreeMap::new());
    };
    data.iter()
        .map(|(key, value)| {
            let bytes = value
                .as_str()
                .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
                .ok_or_else(|| format!("key {key} of the Secret's data is not base64 (a malformed Secret)"))?;
            Ok((key.clone(), bytes))
        })
        .collect()
}

impl KubernetesSecrets for PolicyScopedSecret {
    fn location(&self) -> String {
        format!("Kubernetes Secret {}", self.secret)
    }

    fn get<'a>(&'a self, key: &'a str) -> Lookup<'a> {
        Box::pin(async move {
            let data = self.fetched.get_or_init(|| self.fetch()).await.as_ref().map_err(Clone::clone)?;
            let Some(bytes) = data.get(key) else { return Ok(None) };
            let text = String::from_utf8(bytes.clone()).map_err(|_| {
                format!("the value of key {key} is not UTF-8 text; templates take secrets as text, so store it as UTF-8")
            })?;
            Ok(Some(text))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::capability::kubernetes::KubeFuture;
    use crate::policy::Policy;
    use crate::redact::Redactor;
    use crate::secrets::{KubernetesProvider, SecretError, SecretResolver};

    const CANARY: &str = "canary-kube-secret-51e0";

    /// A scripted API: answers every `get` with `answer` and records what was asked.
    struct ScriptedApi {
        answer: Result<serde_json::Value, CapabilityError>,
        asked: Mutex<Vec<String>>,
    }

    impl ScriptedApi {
        fn new(answer: Result<serde_json::Value, CapabilityError>) -> Arc<Self> {
            Arc::new(ScriptedApi { answer, asked: Mutex::default() })
        }
        fn asked(&self) -> Vec<String> {
            self.asked.lock().unwrap().clone()
        }
    }

    impl KubeApi for ScriptedApi {
        fn get<'a>(&'a self, kind: &'a str, namespace: &'a str, name: &'a str) -> KubeFuture<'a, String> {
            self.asked.lock().unwrap().push(format!("get {kind} {namespace}/{name}"));
            Box::pin(std::future::ready(self.answer.clone().map(|v| v.to_string())))
        }
        fn list<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> KubeFuture<'a, Vec<String>> {
            unreachable!("the secret provider only reads one object")
        }
        fn create<'a>(&'a self, _: &'a str, _: &'a str) -> KubeFuture<'a, String> {
            unreachable!("the secret provider only reads one object")
        }
        fn delete<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str) -> KubeFuture<'a, ()> {
            unreachable!("the secret provider only reads one object")
        }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn secret_ref() -> SecretRef {
        "noetl/app-secrets".parse().unwrap()
    }

    /// The chain with only this provider, reading through `api`.
    fn resolver(api: Arc<ScriptedApi>) -> SecretResolver {
        let source = PolicyScopedSecret::new(secret_ref(), api);
        SecretResolver::new(Redactor::new(), vec![Box::new(KubernetesProvider::new(Some(Arc::new(source))))])
    }

    fn secret_with(data: serde_json::Value) -> Result<serde_json::Value, CapabilityError> {
        Ok(serde_json::json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secrets"}, "data": data}))
    }

    #[tokio::test]
    async fn many_keys_cost_one_request_and_values_are_decoded() {
        let api = ScriptedApi::new(secret_with(serde_json::json!({
            "API_KEY": b64(CANARY.as_bytes()),
            "DB_PASS": b64("pässword\n".as_bytes()),
        })));
        let resolver = resolver(api.clone());
        assert_eq!(resolver.resolve("API_KEY").await.unwrap(), CANARY);
        assert_eq!(resolver.resolve("DB_PASS").await.unwrap(), "pässword\n", "values are kept byte for byte");
        assert_eq!(resolver.resolve("API_KEY").await.unwrap(), CANARY);
        assert!(resolver.resolve("MISSING").await.is_err());
        assert_eq!(api.asked(), vec!["get Secret noetl/app-secrets"]);
        assert_eq!(resolver.redactor().redact(&format!("k={CANARY}")), "k=<redacted>");
    }

    #[tokio::test]
    async fn a_missing_key_falls_through_to_the_not_found_error_listing_the_secret() {
        let resolver = resolver(ScriptedApi::new(secret_with(serde_json::json!({"OTHER": b64(CANARY.as_bytes())}))));
        let error = resolver.resolve("API_KEY").await.unwrap_err();
        assert!(matches!(error, SecretError::NotFound { .. }), "{error}");
        assert!(error.to_string().contains("key API_KEY of Kubernetes Secret noetl/app-secrets"), "{error}");
        assert!(!error.to_string().contains(CANARY));
    }

    #[tokio::test]
    async fn a_secret_without_data_has_no_keys() {
        let resolver = resolver(ScriptedApi::new(Ok(serde_json::json!({"kind": "Secret", "metadata": {}}))));
        assert!(matches!(resolver.resolve("API_KEY").await, Err(SecretError::NotFound { .. })));
    }

    #[tokio::test]
    async fn non_utf8_values_are_refused_without_showing_them() {
        let resolver = resolver(ScriptedApi::new(secret_with(serde_json::json!({"BIN": b64(&[0xff, 0xfe, 0x00, 0x41])}))));
        let error = resolver.resolve("BIN").await.unwrap_err().to_string();
        assert!(error.contains("secret `BIN` could not be read from key BIN of Kubernetes Secret noetl/app-secrets"), "{error}");
        assert!(error.contains("not UTF-8 text"), "{error}");
    }

    #[tokio::test]
    async fn a_missing_secret_is_named_with_the_fix_and_asked_for_once() {
        let api = ScriptedApi::new(Err(CapabilityError::NotFound("secrets \"app-secrets\" not found".into())));
        let resolver = resolver(api.clone());
        for _ in 0..2 {
            let error = resolver.resolve("API_KEY").await.unwrap_err();
            assert!(matches!(error, SecretError::ProviderFailed { .. }), "{error}");
            let error = error.to_string();
            assert!(
                error.contains("Secret \"app-secrets\" does not exist in namespace \"noetl\""),
                "{error}"
            );
            assert!(error.contains("kubectl create secret generic app-secrets -n noetl"), "{error}");
            assert!(error.contains("--secrets-k8s"), "{error}");
        }
        assert_eq!(api.asked().len(), 1, "a failed read is not repeated for every secret");
    }

    #[tokio::test]
    async fn api_failures_keep_their_explanation() {
        let forbidden = "Kubernetes forbids the host to get secrets \"app-secrets\" in namespace \"noetl\"; bind ...";
        let resolver = resolver(ScriptedApi::new(Err(CapabilityError::Failed(forbidden.into()))));
        let error = resolver.resolve("API_KEY").await.unwrap_err().to_string();
        assert_eq!(
            error,
            format!("secret `API_KEY` could not be read from key API_KEY of Kubernetes Secret noetl/app-secrets: {forbidden}")
        );
    }

    #[test]
    fn the_template_plugins_grant_decides() {
        let granted = Policy::parse("plugins:\n  template:\n    kubernetes: {namespaces: [noetl], kinds: [Secret]}\n").unwrap();
        let caps = |policy: &Policy| Capabilities { plugin: "template".into(), grant: policy.grant("template", crate::policy::PluginSource::BuiltIn), ..Default::default() };
        assert!(PolicyScopedSecret::check_grant(&caps(&granted), &secret_ref()).is_ok());

        let other_namespace: SecretRef = "prod/app-secrets".parse().unwrap();
        let only_configmaps = Policy::parse("plugins:\n  template:\n    kubernetes: {namespaces: [noetl], kinds: [ConfigMap]}\n").unwrap();
        for (policy, secret) in [
            (&Policy::default_policy(), secret_ref()),
            (&granted, other_namespace),
            (&only_configmaps, secret_ref()),
        ] {
            let message = PolicyScopedSecret::check_grant(&caps(policy), &secret).unwrap_err();
            assert_eq!(
                message,
                format!(
                    "denied: plugin `template` may not use kubernetes on `get Secret` in namespace `{}`: the policy grants \
                     no such access (add it under plugins.template.kubernetes (namespaces and kinds) in the policy file)",
                    secret.namespace
                )
            );
        }
    }
}
