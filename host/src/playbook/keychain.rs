//! `{{ keychain.ALIAS.FIELD }}`: playbook credentials, resolved from the host's secret
//! providers as the secret named `ALIAS.FIELD` (environment `NOETL_SECRET_ALIAS_FIELD`, a
//! file `ALIAS.FIELD` in `--secrets-dir`, a key `ALIAS.FIELD` of `--secrets-k8s`).
//!
//! Only the references a tool config spells out are resolved, just before it is rendered;
//! the values go to the sandboxed template engine and are remembered for redaction. They
//! never enter the core's context. A reference that cannot be resolved is an error naming
//! the alias, the field and every provider tried: never an empty string.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::secrets::SecretResolver;

/// Every `keychain.ALIAS.FIELD` written in the strings of `tree`.
pub fn references(tree: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    collect(tree, &mut found);
    found
}

fn collect(value: &Value, found: &mut BTreeSet<(String, String)>) {
    match value {
        Value::String(text) => found.extend(references_in(text)),
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(map) => map.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// `keychain.a.b` occurrences in one string (not preceded by an identifier character, so
/// `mykeychain.a.b` is not one).
pub fn references_in(text: &str) -> Vec<(String, String)> {
    let ident = |s: &str| -> usize { s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(s.len()) };
    let mut found = Vec::new();
    for (at, _) in text.match_indices("keychain.") {
        if text[..at].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let rest = &text[at + "keychain.".len()..];
        let alias_len = ident(rest);
        let Some(after) = rest[alias_len..].strip_prefix('.') else {
            continue;
        };
        let field_len = ident(after);
        if alias_len > 0 && field_len > 0 {
            found.push((rest[..alias_len].to_string(), after[..field_len].to_string()));
        }
    }
    found
}

/// The `keychain` template variable for `references`: `{alias: {field: value}}`.
pub async fn resolve(references: &BTreeSet<(String, String)>, declared: &[String], secrets: &SecretResolver) -> anyhow::Result<Option<Value>> {
    if references.is_empty() {
        return Ok(None);
    }
    let mut keychain = Map::new();
    for (alias, field) in references {
        if !declared.contains(alias) {
            anyhow::bail!(
                "keychain alias `{alias}` is not declared; add `- name: {alias}` under the playbook's `keychain:` (declared: {})",
                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
            );
        }
        let value = secrets.resolve(&format!("{alias}.{field}")).await.map_err(|e| anyhow::anyhow!("keychain `{alias}` field `{field}`: {e}"))?;
        let entry = keychain.entry(alias.clone()).or_insert_with(|| Value::Object(Map::new()));
        entry.as_object_mut().expect("inserted as an object").insert(field.clone(), Value::String(value));
    }
    Ok(Some(Value::Object(keychain)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_found_in_templates_only_as_whole_names() {
        assert_eq!(references_in("Bearer {{ keychain.api.token }}"), vec![("api".to_string(), "token".to_string())]);
        assert_eq!(references_in("{{keychain.pg-main.password|trim}} {{ keychain.x }}"), vec![("pg-main".to_string(), "password".to_string())]);
        assert!(references_in("{{ mykeychain.a.b }} {{ x.keychain.a.b }}").is_empty());
    }
}
