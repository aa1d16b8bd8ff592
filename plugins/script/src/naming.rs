//! Object names and label values derived from the execution: always valid for Kubernetes,
//! whatever the execution id or step name looks like.

use std::hash::{BuildHasher, Hasher};

use noetl_protocol::names::fit;
pub use noetl_protocol::names::label_value;

const JOB_PREFIX: &str = "noetl-script-";
const SUFFIX_LEN: usize = 5;
/// A Job name is a DNS-1123 label (≤ 63) because the Job controller copies it into the
/// `batch.kubernetes.io/job-name` label of its pods.
const MAX_JOB_NAME: usize = 63;

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
    use crate::validate::names::is_dns1123_label;

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
}
