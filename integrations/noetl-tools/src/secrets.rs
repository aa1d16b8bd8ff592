//! `ExecutionContext.secrets` as the secret provider of one call, and the redactor that
//! removes those values from everything the call returns or logs.

use std::collections::HashMap;
use std::sync::Arc;

use noetl_host::redact::Redactor;
use noetl_host::secrets::{Lookup, SecretProvider, SecretResolver};
use noetl_tools::ExecutionContext;
use serde_json::Value;

/// Serves `{{ secrets.NAME }}` from the call's `ExecutionContext.secrets`, by exact name.
struct ContextSecrets(HashMap<String, String>);

impl SecretProvider for ContextSecrets {
    fn describe(&self, name: &str) -> String {
        format!("ExecutionContext.secrets[{name:?}] of this call")
    }

    fn get<'a>(&'a self, name: &'a str) -> Lookup<'a> {
        Box::pin(std::future::ready(Ok(self.0.get(name).cloned())))
    }
}

/// The secret resolver of one call. Every value of `ctx.secrets`, and every string under
/// `ctx.variables.keychain` (the credentials upstream's worker resolved for the step), is
/// remembered for redaction before anything runs, so a value is redacted even where no
/// template asked for it (a script that prints its environment). The values are also
/// remembered in `log_redactor`, the host's process-wide one for log writers.
pub fn for_call(ctx: &ExecutionContext, log_redactor: &Redactor) -> Arc<SecretResolver> {
    let redactor = Redactor::new();
    for target in [&redactor, log_redactor] {
        ctx.secrets
            .values()
            .for_each(|value| target.remember(value));
        if let Some(keychain) = ctx.variables.get("keychain") {
            remember_strings(target, keychain);
        }
    }
    Arc::new(SecretResolver::new(
        redactor,
        vec![Box::new(ContextSecrets(ctx.secrets.clone()))],
    ))
}

fn remember_strings(redactor: &Redactor, value: &Value) {
    match value {
        Value::String(text) => redactor.remember(text),
        Value::Array(items) => items
            .iter()
            .for_each(|item| remember_strings(redactor, item)),
        Value::Object(map) => map
            .values()
            .for_each(|item| remember_strings(redactor, item)),
        _ => {}
    }
}
