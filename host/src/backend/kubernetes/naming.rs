//! Renaming a bundle when its Job name is taken: the Job and every supporting object get
//! the same new suffix, and every reference inside the manifests follows.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use crate::backend::JobBundle;

/// Longest valid Job name: it becomes the pods' `job-name` label value (DNS-1123 label).
const MAX_JOB_NAME: usize = 63;
const SUFFIX_LEN: usize = 5;

/// Five random characters from `[a-z0-9]`, like the script plugin's own suffix.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    // RandomState is seeded from the OS per instance: enough entropy for a name suffix
    // without another dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    let mut bits = hasher.finish();
    (0..SUFFIX_LEN)
        .map(|_| {
            let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize];
            bits /= ALPHABET.len() as u64;
            c as char
        })
        .collect()
}

/// The Job name with its trailing `-xxxxx` suffix replaced by `suffix` (or `-suffix`
/// appended when there is none), shortened so the result stays a ≤63-char DNS-1123 label.
pub fn renamed_job(job_name: &str, suffix: &str) -> String {
    let stem = match job_name.rsplit_once('-') {
        Some((stem, tail))
            if tail.len() == SUFFIX_LEN
                && tail
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            stem
        }
        _ => job_name,
    };
    let keep = stem.len().min(MAX_JOB_NAME - suffix.len() - 1);
    format!("{}-{suffix}", stem[..keep].trim_end_matches('-'))
}

/// A copy of `bundle` whose Job is named with `suffix`; supporting objects named after the
/// Job (`{job}-script`, `{job}-env`) are renamed alike, and every string in any manifest
/// body equal to an old object name (metadata.name, volume and env references) follows.
pub fn with_suffix(bundle: &JobBundle, suffix: &str) -> JobBundle {
    let old_job = bundle.job_name.as_str();
    let new_job = renamed_job(old_job, suffix);
    let renames: HashMap<String, String> = bundle
        .manifests
        .iter()
        .filter_map(|m| {
            m.name
                .strip_prefix(old_job)
                .map(|rest| (m.name.clone(), format!("{new_job}{rest}")))
        })
        .collect();
    let mut renamed = bundle.clone();
    renamed.job_name = new_job;
    for manifest in &mut renamed.manifests {
        if let Some(new) = renames.get(&manifest.name) {
            manifest.name = new.clone();
        }
        rename_strings(&mut manifest.body, &renames);
    }
    renamed
}

fn rename_strings(value: &mut serde_json::Value, renames: &HashMap<String, String>) {
    match value {
        serde_json::Value::String(s) => {
            if let Some(new) = renames.get(s.as_str()) {
                *s = new.clone();
            }
        }
        serde_json::Value::Array(items) => {
            items.iter_mut().for_each(|v| rename_strings(v, renames))
        }
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| rename_strings(v, renames)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Manifest;
    use serde_json::json;

    #[test]
    fn suffix_is_five_lowercase_alphanumerics() {
        let s = random_suffix();
        assert_eq!(s.len(), 5);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
            "{s}"
        );
    }

    #[test]
    fn long_names_stay_within_63() {
        let long = format!("noetl-script-{}-abcde", "x".repeat(60));
        let renamed = renamed_job(&long, "zzzzz");
        assert!(
            renamed.len() <= 63 && renamed.ends_with("-zzzzz"),
            "{renamed}"
        );
        assert_eq!(
            renamed_job("noetl-script-e1-abcde", "zzzzz"),
            "noetl-script-e1-zzzzz"
        );
    }

    #[test]
    fn every_object_and_reference_gets_the_new_suffix() {
        let job = "noetl-script-e1-abcde";
        let bundle = JobBundle {
            namespace: "noetl".into(),
            job_name: job.into(),
            timeout_seconds: 60,
            manifests: vec![
                Manifest {
                    kind: "ConfigMap".into(),
                    name: format!("{job}-script"),
                    body: json!({"metadata": {"name": format!("{job}-script")}}),
                },
                Manifest {
                    kind: "Secret".into(),
                    name: format!("{job}-env"),
                    body: json!({"metadata": {"name": format!("{job}-env")}}),
                },
                Manifest {
                    kind: "Job".into(),
                    name: job.into(),
                    body: json!({
                    "metadata": {"name": job, "labels": {"noetl.io/step": "abcde"}},
                    "spec": {"template": {"spec": {
                        "volumes": [{"name": "script", "configMap": {"name": format!("{job}-script")}}],
                        "containers": [{"env": [{"valueFrom": {"secretKeyRef": {"name": format!("{job}-env"), "key": "K"}}}]}]}}}}),
                },
            ],
        };
        let renamed = with_suffix(&bundle, "zzzzz");
        let new = "noetl-script-e1-zzzzz";
        assert_eq!(renamed.job_name, new);
        let names: Vec<&str> = renamed.manifests.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            [format!("{new}-script").as_str(), &format!("{new}-env"), new]
        );
        let body = &renamed.job().unwrap().body;
        assert_eq!(body["metadata"]["name"], new);
        assert_eq!(
            body["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"],
            format!("{new}-script")
        );
        assert_eq!(
            body["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]
                ["name"],
            format!("{new}-env")
        );
        assert_eq!(
            body["metadata"]["labels"]["noetl.io/step"], "abcde",
            "unrelated strings are untouched"
        );
        assert_eq!(
            renamed.manifests[0].body["metadata"]["name"],
            format!("{new}-script")
        );
    }
}
