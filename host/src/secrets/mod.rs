//! Secret values for templates (`{{ secrets.NAME }}`), from providers chained in a fixed
//! order. Every value handed out is remembered in a [`Redactor`] so it can be removed
//! from everything the host returns or logs.
//!
//! The standard chain ([`SecretResolver::standard`]), first match wins:
//! 1. the environment: `NOETL_SECRET_<NAME>` ([`EnvironmentProvider`]);
//! 2. a directory with one file per secret, the shape of a mounted Kubernetes Secret
//!    ([`DirectoryProvider`]);
//! 3. keys of one Kubernetes Secret read through the API ([`KubernetesProvider`] over a
//!    [`KubernetesSecrets`] source: [`crate::capability::PolicyScopedSecret`] reads the
//!    Secret named by `--secrets-k8s` once per run, under the template plugin's grant).
//!
//! A provider that is not configured still appears in the chain, so a missing secret's
//! error lists every place the host could have looked and which of them were off.
//! A provider that *fails* (unreadable file, API error) stops the chain: falling through
//! could silently return a different value than the one the operator configured.

mod directory;
mod environment;
mod kubernetes;
mod name;

use std::future::Future;
use std::pin::Pin;

pub use directory::{DirectoryProvider, MAX_SECRET_FILE_BYTES};
pub use environment::{ENV_PREFIX, EnvironmentProvider};
pub use kubernetes::{KubernetesProvider, KubernetesSecrets, SecretRef};
pub use name::validate_name;

use crate::redact::Redactor;

/// What a provider's lookup yields: `Ok(Some(value))` found, `Ok(None)` not here (try the
/// next provider), `Err(message)` the provider failed (stop; the message must not contain
/// the value).
pub type Lookup<'a> = Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>>;

/// One source of secret values.
pub trait SecretProvider: Send + Sync {
    /// Where this provider looks for `name`, for error messages: for example
    /// `environment variable NOETL_SECRET_API_KEY`.
    fn describe(&self, name: &str) -> String;

    /// Look `name` up. `name` has already passed [`validate_name`].
    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a>;
}

/// Why a secret could not be resolved. Messages name the secret, never its value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("secret `{name}` has an invalid name: {reason}")]
    InvalidName { name: String, reason: String },
    /// Maps to the WIT `capability-error.not-found`.
    #[error(
        "secret `{name}` was not found; tried, in order: {}. Provide it in one of these places",
        tried.join("; ")
    )]
    NotFound { name: String, tried: Vec<String> },
    #[error("secret `{name}` could not be read from {provider}: {message}")]
    ProviderFailed {
        name: String,
        provider: String,
        message: String,
    },
}

/// Resolves secret names through a chain of providers and remembers every value it returns.
pub struct SecretResolver {
    providers: Vec<Box<dyn SecretProvider>>,
    redactor: Redactor,
}

impl SecretResolver {
    /// A resolver over `providers`, tried in the order given.
    pub fn new(redactor: Redactor, providers: Vec<Box<dyn SecretProvider>>) -> Self {
        SecretResolver {
            providers,
            redactor,
        }
    }

    /// The standard chain: process environment, then `directory`, then `kubernetes`
    /// (both listed as "not configured" in errors when absent).
    pub fn standard(
        redactor: Redactor,
        directory: Option<DirectoryProvider>,
        kubernetes: Option<std::sync::Arc<dyn KubernetesSecrets>>,
    ) -> Self {
        let directory: Box<dyn SecretProvider> = match directory {
            Some(directory) => Box::new(directory),
            None => Box::new(NotConfigured(
                "secret directory (not configured: no secrets directory was given)",
            )),
        };
        let providers: Vec<Box<dyn SecretProvider>> = vec![
            Box::new(EnvironmentProvider::from_process()),
            directory,
            Box::new(KubernetesProvider::new(kubernetes)),
        ];
        Self::new(redactor, providers)
    }

    /// The value of secret `name`, from the first provider that has it. The value is
    /// remembered for redaction before it is returned.
    pub async fn resolve(&self, name: &str) -> Result<String, SecretError> {
        validate_name(name).map_err(|reason| SecretError::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })?;
        for provider in &self.providers {
            match provider.get(name).await {
                Ok(Some(value)) => {
                    self.redactor.remember(&value);
                    tracing::debug!(secret = name, provider = %provider.describe(name), "secret resolved");
                    return Ok(value);
                }
                Ok(None) => continue,
                Err(message) => {
                    return Err(SecretError::ProviderFailed {
                        name: name.to_string(),
                        provider: provider.describe(name),
                        message,
                    });
                }
            }
        }
        Err(SecretError::NotFound {
            name: name.to_string(),
            tried: self
                .providers
                .iter()
                .map(|provider| provider.describe(name))
                .collect(),
        })
    }

    /// The redactor every resolved value is remembered in.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }
}

/// A chain slot whose provider is switched off; it never has a secret but says so in errors.
struct NotConfigured(&'static str);

impl SecretProvider for NotConfigured {
    fn describe(&self, _name: &str) -> String {
        self.0.to_string()
    }

    fn get<'a>(&'a self, _name: &'a str) -> Lookup<'a> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-resolver-8c1f";

    fn env(vars: &[(&str, &str)]) -> Box<dyn SecretProvider> {
        Box::new(EnvironmentProvider::from_vars(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        ))
    }

    use super::directory::tests::provider as directory_with;

    #[tokio::test]
    async fn first_provider_with_the_secret_wins_and_the_value_is_remembered() {
        let (_dir, directory) = directory_with(&[("API_KEY", b"from-directory\n")]);
        let redactor = Redactor::new();
        let resolver = SecretResolver::new(
            redactor.clone(),
            vec![
                env(&[("NOETL_SECRET_API_KEY", CANARY)]),
                Box::new(directory),
            ],
        );
        assert_eq!(resolver.resolve("API_KEY").await.unwrap(), CANARY);
        assert_eq!(redactor.redact(&format!("key={CANARY}")), "key=<redacted>");
    }

    #[tokio::test]
    async fn falls_through_to_the_directory() {
        let (_dir, directory) = directory_with(&[("API_KEY", b"from-directory\n")]);
        let resolver = SecretResolver::new(Redactor::new(), vec![env(&[]), Box::new(directory)]);
        assert_eq!(resolver.resolve("API_KEY").await.unwrap(), "from-directory");
        assert_eq!(resolver.redactor().len(), 1);
    }

    #[tokio::test]
    async fn missing_secret_names_the_secret_and_every_provider_tried() {
        let (dir, directory) = directory_with(&[]);
        let resolver = SecretResolver::new(
            Redactor::new(),
            vec![
                env(&[]),
                Box::new(directory),
                Box::new(KubernetesProvider::new(None)),
            ],
        );
        let error = resolver.resolve("EXTERNAL_API_KEY").await.unwrap_err();
        assert!(matches!(error, SecretError::NotFound { .. }));
        let message = error.to_string();
        assert!(
            message.contains("secret `EXTERNAL_API_KEY` was not found"),
            "{message}"
        );
        assert!(
            message.contains("environment variable NOETL_SECRET_EXTERNAL_API_KEY"),
            "{message}"
        );
        assert!(
            message.contains(&dir.path().join("EXTERNAL_API_KEY").display().to_string()),
            "{message}"
        );
        assert!(
            message.contains("Kubernetes Secret (not configured"),
            "{message}"
        );
        assert!(resolver.redactor().is_empty());
    }

    #[tokio::test]
    async fn standard_chain_lists_unconfigured_slots() {
        let resolver = SecretResolver::standard(Redactor::new(), None, None);
        let message = resolver
            .resolve("NOETL_TEST_SURELY_UNSET_7f3a")
            .await
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("NOETL_SECRET_NOETL_TEST_SURELY_UNSET_7F3A"),
            "{message}"
        );
        assert!(
            message.contains("secret directory (not configured"),
            "{message}"
        );
        assert!(
            message.contains("Kubernetes Secret (not configured"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn invalid_names_are_refused_before_any_provider_runs() {
        let resolver = SecretResolver::new(Redactor::new(), vec![env(&[])]);
        for name in ["", "../etc/passwd", "a/b", ".hidden", "with space"] {
            let error = resolver.resolve(name).await.unwrap_err();
            assert!(
                matches!(error, SecretError::InvalidName { .. }),
                "{name:?}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn a_failing_provider_stops_the_chain_without_revealing_values() {
        struct Broken;
        impl SecretProvider for Broken {
            fn describe(&self, name: &str) -> String {
                format!("broken store ({name})")
            }
            fn get<'a>(&'a self, _name: &'a str) -> Lookup<'a> {
                Box::pin(std::future::ready(Err("connection refused".to_string())))
            }
        }
        let resolver = SecretResolver::new(
            Redactor::new(),
            vec![Box::new(Broken), env(&[("NOETL_SECRET_API_KEY", CANARY)])],
        );
        let error = resolver.resolve("API_KEY").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "secret `API_KEY` could not be read from broken store (API_KEY): connection refused"
        );
    }
}
