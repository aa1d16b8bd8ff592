//! Kubernetes object-name rules, shared by the script plugin (validating a step's config)
//! and the host (validating `--secrets-k8s`), so both accept exactly what the API server does.

/// A character that may start or end a DNS-1123 label.
pub fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 chars: namespaces, Job names.
pub fn is_dns1123_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text.chars().all(|c| is_lower_alnum(c) || c == '-')
        && text.starts_with(is_lower_alnum)
        && text.ends_with(is_lower_alnum)
}

/// Dot-separated DNS-1123 labels, at most 253 chars: ConfigMap, Secret, service account names.
pub fn is_dns1123_subdomain(text: &str) -> bool {
    text.len() <= 253 && text.split('.').all(is_dns1123_label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        assert!(is_dns1123_label("noetl-1"));
        for bad in ["", "-a", "a-", "A", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad:?}");
        }
        assert!(is_dns1123_subdomain("app.secrets-1"));
        for bad in ["a..b", ".a", "a/b", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad:?}");
        }
    }
}
