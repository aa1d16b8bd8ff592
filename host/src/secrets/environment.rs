//! Secrets from environment variables `NOETL_SECRET_<NAME>`.

use std::collections::BTreeMap;

use super::{Lookup, SecretProvider};

/// Prefix of the environment variables this provider reads.
pub const ENV_PREFIX: &str = "NOETL_SECRET_";

/// Reads secret `name` from `NOETL_SECRET_<NAME>`, where `<NAME>` is `name` upper-cased
/// with every character other than a letter or digit replaced by `_` (so `api-key` and
/// `API_KEY` both read `NOETL_SECRET_API_KEY`).
pub struct EnvironmentProvider {
    /// `None`: read the process environment at lookup time.
    fixed: Option<BTreeMap<String, String>>,
}

impl EnvironmentProvider {
    /// Read the process environment (at each lookup, so a variable set later is seen).
    pub fn from_process() -> Self {
        EnvironmentProvider { fixed: None }
    }

    /// Read only `vars` (tests, embedders that pass their own environment).
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        EnvironmentProvider {
            fixed: Some(vars.into_iter().collect()),
        }
    }

    /// The variable that holds secret `name`.
    pub fn variable(name: &str) -> String {
        let suffix: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("{ENV_PREFIX}{suffix}")
    }

    fn lookup(&self, name: &str) -> Result<Option<String>, String> {
        let variable = Self::variable(name);
        match &self.fixed {
            Some(vars) => Ok(vars.get(&variable).cloned()),
            None => match std::env::var(&variable) {
                Ok(value) => Ok(Some(value)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(format!("{variable} is not valid UTF-8"))
                }
            },
        }
    }
}

impl SecretProvider for EnvironmentProvider {
    fn describe(&self, name: &str) -> String {
        format!("environment variable {}", Self::variable(name))
    }

    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a> {
        Box::pin(std::future::ready(self.lookup(name)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_are_upper_cased_with_non_alphanumerics_replaced() {
        assert_eq!(
            EnvironmentProvider::variable("api-key.v2"),
            "NOETL_SECRET_API_KEY_V2"
        );
        assert_eq!(
            EnvironmentProvider::variable("EXTERNAL_API_KEY"),
            "NOETL_SECRET_EXTERNAL_API_KEY"
        );
    }

    #[tokio::test]
    async fn reads_the_mapped_variable_only() {
        let provider =
            EnvironmentProvider::from_vars([("NOETL_SECRET_DB_PASS".to_string(), "v".to_string())]);
        assert_eq!(provider.get("db-pass").await, Ok(Some("v".to_string())));
        assert_eq!(provider.get("other").await, Ok(None));
    }
}
