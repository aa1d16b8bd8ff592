//! Object names and label values derived from the execution: always valid for Kubernetes,
//! whatever the execution id or step name looks like.

use std::hash::{BuildHasher, Hasher};

use sha2::{Digest, Sha256};

const JOB_PREFIX: &str = "noetl-script-";
const SUFFIX_LEN: usize = 5;
/// A Job name is a DNS-1123 label (≤ 63) because the Job controller copies it into the
/// `batch.kubernetes.io/job-name` label of its pods.
const MAX_JOB_NAME: usize = 63;
const MAX_LABEL_VALUE: usize = 63;
const HASH_LEN: usize = 8;

/// The names of the objects one execution creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobNames {
    pub job: String,
}

impl JobNames {
    /// `noetl-script-{execution-id}-{suffix}`; the suffix comes from `seed` when given
    /// (reproducible plans), else from the platform's randomness.
    pub fn new(execution_id: &str, seed: Option<u64>) -> Self {
        let id_budget = MAX_JOB_NAME - JOB_PREFIX.len() - 1 - SUFFIX_LEN;
        let id = fit(
            &execution_id.to_ascii_lowercase(),
            id_budget,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
            execution_id,
        );
        let seed = seed.unwrap_or_else(random_u64);
        JobNames {
            job: format!("{JOB_PREFIX}{id}-{}", suffix(seed)),
        }
    }

    /// The ConfigMap holding the script and `args.json`.
    pub fn script_config_map(&self) -> String {
        format!("{}-script", self.job)
    }

    /// The Secret holding `job.env`.
    pub fn env_secret(&self) -> String {
        format!("{}-env", self.job)
    }
}

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

/// Keep `candidate` if every char is `allowed`, it fits `max` and starts and ends
/// alphanumeric; else replace bad chars with `-`, trim, cut, and append `-{hash(original)}`.
fn fit(candidate: &str, max: usize, allowed: fn(char) -> bool, original: &str) -> String {
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

/// Five `[a-z0-9]` chars from `seed`, mixed (splitmix64) so nearby seeds differ everywhere.
fn suffix(seed: u64) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (0..SUFFIX_LEN)
        .map(|_| {
            let c = ALPHABET[(z % 36) as usize] as char;
            z /= 36;
            c
        })
        .collect()
}

/// Randomness without a crate: std seeds `RandomState` from the OS natively and from
/// `wasi:random` in a wasm32-wasip2 component, so this works in both places.
fn random_u64() -> u64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::names::{is_dns1123_label, is_label_value};

    #[test]
    fn job_names_are_dns_labels() {
        let names = JobNames::new("exec-123", Some(7));
        assert!(names.job.starts_with("noetl-script-exec-123-"));
        assert_eq!(names.job.len(), "noetl-script-exec-123-".len() + 5);
        assert_eq!(names, JobNames::new("exec-123", Some(7)));
        assert_ne!(names, JobNames::new("exec-123", Some(8)));
        for id in [
            "Exec_ID/with spaces",
            "9".repeat(200).as_str(),
            "---",
            "",
            "ünïcode",
        ] {
            let job = JobNames::new(id, None).job;
            assert!(is_dns1123_label(&job), "{job:?}");
        }
        assert_ne!(JobNames::new("a b", Some(1)), JobNames::new("a/b", Some(1)));
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
