//! The `secrets` variable: resolves `{{ secrets.NAME }}` lazily through the host.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{Error, ErrorKind, Value};

/// Where secret values come from. In the component this calls the host's `secrets.get`
/// import; natively (tests, tools) any map or closure will do.
pub trait SecretLookup: Send + Sync {
    /// The value of secret `name`, or a message for a person saying why there is none
    /// (for a missing secret the host's message names the providers it tried).
    fn get(&self, name: &str) -> Result<String, String>;
}

impl<F> SecretLookup for F
where
    F: Fn(&str) -> Result<String, String> + Send + Sync,
{
    fn get(&self, name: &str) -> Result<String, String> {
        self(name)
    }
}

/// The object bound to `secrets` in every render.
///
/// Only secrets a template actually references are requested from the host, each at most
/// once per render. Two mechanisms keep secrets strict in lenient mode:
/// - a secret that cannot be resolved becomes an *invalid* value: minijinja fails as soon
///   as an invalid value is looked up, before `default`, `is defined` or an `if` could
///   turn it into an empty string;
/// - every failed lookup is also recorded, and the caller fails the template whatever it
///   printed ([`take_failure`](Self::take_failure)): some filters (`attr`, `map`) look
///   attributes up without that check and would print the invalid value as text.
pub(crate) struct SecretsObject {
    lookup: Arc<dyn SecretLookup>,
    resolved: Mutex<BTreeMap<String, Result<String, String>>>,
    failure: Mutex<Option<String>>,
}

impl SecretsObject {
    pub(crate) fn new(lookup: Arc<dyn SecretLookup>) -> Self {
        SecretsObject {
            lookup,
            resolved: Mutex::new(BTreeMap::new()),
            failure: Mutex::new(None),
        }
    }

    /// The first failed secret lookup since the last call, as a message naming the secret.
    pub(crate) fn take_failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    fn record_failure(&self, message: &str) {
        self.failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get_or_insert_with(|| message.to_string());
    }

    fn resolve(&self, name: &str) -> Result<String, String> {
        // A poisoned lock only means another render thread panicked; the cache is still valid.
        let mut resolved = self
            .resolved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        resolved
            .entry(name.to_string())
            .or_insert_with(|| self.lookup.get(name))
            .clone()
    }
}

// Debug output must never show resolved values.
impl fmt::Debug for SecretsObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secrets>")
    }
}

impl Object for SecretsObject {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let Some(name) = key.as_str() else {
            return Some(Value::from(Error::new(
                ErrorKind::InvalidOperation,
                format!("secret names are strings, for example secrets.API_KEY; got {key}"),
            )));
        };
        Some(match self.resolve(name) {
            Ok(value) => Value::from(value),
            Err(message) => {
                let message = format!("secrets.{name}: {message}");
                self.record_failure(&message);
                Value::from(Error::new(ErrorKind::UndefinedError, message))
            }
        })
    }

    // Listing would reveal which secrets exist and resolve all of them.
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::NonEnumerable
    }

    fn is_true(self: &Arc<Self>) -> bool {
        true
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secrets>")
    }
}
