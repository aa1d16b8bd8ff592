//! Kubernetes name rules: DNS-1123 labels and subdomains, label keys and values, and
//! environment variable names.

pub(crate) use noetl_protocol::names::{is_dns1123_label, is_dns1123_subdomain, is_label_value, is_lower_alnum};

use crate::error::Invalid;

pub(crate) fn namespace(text: &str) -> Result<(), Invalid> {
    if is_dns1123_label(text) {
        return Ok(());
    }
    Err(Invalid::new(
        format!("{text:?} is not a valid namespace (a DNS-1123 label)"),
        format!(
            "use lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters, e.g. {:?}",
            suggest_dns_label(text)
        ),
    ))
}

/// An object name (service account, pull secret).
pub(crate) fn object_name(text: &str) -> Result<(), Invalid> {
    if is_dns1123_subdomain(text) {
        return Ok(());
    }
    Err(Invalid::new(
        format!("{text:?} is not a valid Kubernetes object name (a DNS-1123 subdomain)"),
        format!(
            "use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, e.g. {:?}",
            suggest_dns_label(text)
        ),
    ))
}

/// A best-effort valid spelling of `text`, for fix messages.
fn suggest_dns_label(text: &str) -> String {
    let cleaned: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if is_lower_alnum(c) { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    let short: String = trimmed.chars().take(63).collect();
    let short = short.trim_end_matches('-');
    if short.is_empty() {
        "my-name".into()
    } else {
        short.to_owned()
    }
}

pub(crate) fn label_value(text: &str) -> Result<(), Invalid> {
    if is_label_value(text) {
        return Ok(());
    }
    let why = if text.len() > 63 {
        "is longer than 63 characters"
    } else {
        "has characters a label value may not have"
    };
    Err(Invalid::new(
        format!("label value {text:?} {why}"),
        "use at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit (put longer text in an annotation)",
    ))
}

/// A label or annotation key: `[prefix/]name`, prefix a DNS subdomain, name ≤ 63 chars.
pub(crate) fn qualified_name(text: &str) -> Result<(), Invalid> {
    let (prefix, name) = match text.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, text),
    };
    let fix = "write `name` or `prefix/name`: name is at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit; prefix is a lowercase DNS name such as example.com";
    if let Some(prefix) = prefix
        && !is_dns1123_subdomain(prefix)
    {
        return Err(Invalid::new(
            format!("key prefix {prefix:?} is not a lowercase DNS subdomain"),
            fix,
        ));
    }
    if name.is_empty() || !is_label_value(name) {
        return Err(Invalid::new(
            format!("key {text:?} is not a valid qualified name"),
            fix,
        ));
    }
    Ok(())
}

/// An environment variable name: a C identifier, so every shell and runtime can read it.
pub(crate) fn env_var_name(text: &str) -> Result<(), Invalid> {
    let valid = text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        return Ok(());
    }
    Err(Invalid::new(
        format!("{text:?} is not a valid environment variable name"),
        "start with a letter or '_', then use only letters, digits and '_' (e.g. API_KEY)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_and_label_rules() {
        assert!(is_dns1123_label("noetl"));
        assert!(!is_dns1123_label("Noetl"));
        assert!(!is_dns1123_label("-a"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("a.b-c"));
        assert!(is_label_value("") && is_label_value("A_b.c") && !is_label_value("a b"));
        assert!(qualified_name("example.com/team").is_ok());
        assert!(qualified_name("Example.com/team").is_err());
        assert!(qualified_name("a/").is_err());
        assert!(
            env_var_name("_X1").is_ok()
                && env_var_name("1BAD").is_err()
                && env_var_name("A-B").is_err()
        );
    }
}
