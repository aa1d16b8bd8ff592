//! Kubernetes object-name rules, shared by the script plugin (validating a step's config)
//! and the host (validating `--secrets-k8s`), so both accept exactly what the API server does;
//! and the label values both derive from an execution id or step name.

use sha2::{Digest, Sha256};

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


/// A valid label value: empty, or at most 63 of `[A-Za-z0-9-_.]` starting and ending
/// alphanumeric.
pub fn is_label_value(text: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    text.is_empty()
        || (text.len() <= 63
            && text.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
            && text.starts_with(alnum)
            && text.ends_with(alnum))
}

/// Longest label value.
const MAX_LABEL_VALUE: usize = 63;
/// Hex digits of the hash [`fit`] appends to a name it had to change.
const HASH_LEN: usize = 8;

/// `raw` as a valid label value: unchanged when already valid, otherwise cleaned, cut and
/// tagged with a hash of the original so two different ids never share a label value.
pub fn label_value(raw: &str) -> String {
    fit(
        raw,
        MAX_LABEL_VALUE,
        |c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'),
        raw,
    )
}

/// Keep `candidate` (derived from `original`) if every char is `allowed`, it fits `max` and starts and ends
/// alphanumeric; else replace bad chars with `-`, trim, cut, and append `-{hash(original)}`.
pub fn fit(candidate: &str, max: usize, allowed: fn(char) -> bool, original: &str) -> String {
    let edge_ok = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphanumeric())
            && s.ends_with(|c: char| c.is_ascii_alphanumeric())
    };
    if candidate == original
        && candidate.len() <= max
        && candidate.chars().all(allowed)
        && edge_ok(candidate)
    {
        return candidate.to_owned();
    }
    let cleaned: String = candidate
        .chars()
        .map(|c| if allowed(c) && c.is_ascii() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let cut: String = trimmed.chars().take(max - HASH_LEN - 1).collect();
    let cut = cut.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    let hash = short_hash(original);
    if cut.is_empty() {
        hash
    } else {
        format!("{cut}-{hash}")
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))[..HASH_LEN].to_owned()
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

    #[test]
    fn label_values_are_valid_and_stable() {
        assert_eq!(label_value("run_analysis"), "run_analysis");
        for raw in ["a b", "x".repeat(100).as_str(), "-x-", "", "ä"] {
            let value = label_value(raw);
            assert!(
                is_label_value(&value) && !value.is_empty(),
                "{raw:?} -> {value:?}"
            );
        }
        assert_ne!(label_value("a b"), label_value("a/b"));
    }
}
