//! How the fetcher is configured: timeouts, the redirect bound, and the environment the
//! cloud credential chains and endpoint overrides read.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// Settings of a [`HostFetcher`](super::HostFetcher).
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Bound on establishing one connection (TCP + TLS). Default 10 s.
    pub connect_timeout: Duration,
    /// Bound on one whole fetch: every redirect hop, credential lookups and the body. Default 60 s.
    pub total_timeout: Duration,
    /// Most redirects followed for one HTTP fetch. Default 5.
    pub max_redirects: usize,
    /// What the S3 and GCS credential chains and endpoint overrides read.
    pub environment: CloudEnvironment,
}

impl FetchOptions {
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(60);
    pub const DEFAULT_MAX_REDIRECTS: usize = 5;

    /// Default bounds; cloud settings from this process's environment (what the CLI uses).
    pub fn from_env() -> Self {
        Self::with_environment(std::env::vars())
    }

    /// Default bounds; cloud settings from `vars` only (tests, embedding hosts that keep
    /// credentials elsewhere). Variables the fetcher does not read are dropped.
    pub fn with_environment<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        FetchOptions {
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            total_timeout: Self::DEFAULT_TOTAL_TIMEOUT,
            max_redirects: Self::DEFAULT_MAX_REDIRECTS,
            environment: CloudEnvironment::from_vars(vars),
        }
    }
}

/// A snapshot of the environment variables the object-store side reads: `AWS_*`,
/// `GOOGLE_*`, `GCE_METADATA_*`, `NOETL_S3_ENDPOINT`, `NOETL_GCS_ENDPOINT`,
/// `STORAGE_EMULATOR_HOST`, `SERVICE_ACCOUNT` and `HOME` (for gcloud's default credentials
/// file). A snapshot rather than live reads, so one process can hold fetchers with
/// different settings and tests need not mutate the process environment.
#[derive(Clone, Default)]
pub struct CloudEnvironment {
    vars: BTreeMap<String, String>,
}

impl CloudEnvironment {
    fn from_vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, v)| !v.is_empty() && is_read(k))
            .collect();
        CloudEnvironment { vars }
    }

    /// A set, non-empty variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The first of `names` that is set, with its name.
    pub fn first_of<'a>(&'a self, names: &[&'a str]) -> Option<(&'a str, &'a str)> {
        names.iter().find_map(|name| self.get(name).map(|value| (*name, value)))
    }

    /// Variables whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.vars.iter().filter(move |(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether a boolean-ish variable is set to true (`true`, `1`, `yes`, any case).
    pub fn is_true(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    }
}

fn is_read(name: &str) -> bool {
    ["AWS_", "GOOGLE_", "GCE_METADATA_"].iter().any(|prefix| name.starts_with(prefix))
        || matches!(name, "NOETL_S3_ENDPOINT" | "NOETL_GCS_ENDPOINT" | "STORAGE_EMULATOR_HOST" | "SERVICE_ACCOUNT" | "HOME")
}

/// Names only: the values include secret keys.
impl fmt::Debug for CloudEnvironment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_read_variables_and_never_prints_values() {
        let options = FetchOptions::with_environment([
            ("AWS_SECRET_ACCESS_KEY", "canary-secret-value"),
            ("PATH", "/bin"),
            ("NOETL_S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("AWS_REGION", ""),
        ]);
        let env = &options.environment;
        assert_eq!(env.get("NOETL_S3_ENDPOINT"), Some("http://127.0.0.1:9000"));
        assert_eq!(env.get("PATH"), None);
        assert_eq!(env.get("AWS_REGION"), None, "empty means unset");
        let printed = format!("{options:?}");
        assert!(printed.contains("AWS_SECRET_ACCESS_KEY") && !printed.contains("canary-secret-value"), "{printed}");
    }
}
