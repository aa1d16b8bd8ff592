//! The legacy script shape of upstream's end-to-end fixture (`k8s_job_python_gcs.yaml`),
//! translated to the canonical one before the plugin sees it. Decided per key (README,
//! "Legacy config shape"):
//!
//! | legacy key | decision |
//! |---|---|
//! | `input` | alias of `args` (upstream's own alias), with a warning; `args` wins when both are given, as in upstream's worker |
//! | `script.source.type` | alias of `script.type`, with a warning; both given is a field error |
//! | `script.source.auth` | ignored with a warning: the host fetches `gs://` and `s3://` with its own credentials, never a step's |
//! | any other `script.source.*` | field error naming `script.<key>` |
//! | `job.ttlSecondsAfterFinished`, `job.backoffLimit`, `job.imagePullPolicy`, `job.installDependencies` | alias of the snake_case key, with a warning; both given is a field error |
//!
//! The translation lives here, not in the script plugin: it is upstream's shape arriving
//! through upstream's `ToolConfig`, and the plugin keeps one canonical shape (its unknown
//! field errors still catch every other key).

use noetl_host::bindings::types::FieldError;
use serde_json::{Map, Value};

/// camelCase job keys upstream's fixture uses, and their canonical names.
const JOB_ALIASES: [(&str, &str); 4] = [
    ("ttlSecondsAfterFinished", "ttl_seconds_after_finished"),
    ("backoffLimit", "backoff_limit"),
    ("imagePullPolicy", "image_pull_policy"),
    ("installDependencies", "install_dependencies"),
];

/// Rewrites the legacy keys of a `script` config in place. Returns the warnings to log
/// (each names the canonical key), or the field errors when a key cannot be translated.
pub fn translate(config: &mut Map<String, Value>) -> Result<Vec<String>, Vec<FieldError>> {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    if let Some(input) = config.remove("input") {
        match config.get("args") {
            None => {
                warnings.push("tool.input is upstream's alias of `args`; write `args`".to_string());
                config.insert("args".into(), input);
            }
            Some(args) if *args == input => {}
            Some(_) => warnings.push("tool.input is ignored because tool.args is given (as upstream's worker does); keep only `args`".to_string()),
        }
    }
    if let Some(Value::Object(script)) = config.get_mut("script") {
        translate_source(script, &mut warnings, &mut errors);
    }
    if let Some(Value::Object(job)) = config.get_mut("job") {
        for (legacy, canonical) in JOB_ALIASES {
            rename(
                job,
                "tool.job",
                legacy,
                canonical,
                &mut warnings,
                &mut errors,
            );
        }
    }
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(errors)
    }
}

fn translate_source(
    script: &mut Map<String, Value>,
    warnings: &mut Vec<String>,
    errors: &mut Vec<FieldError>,
) {
    let Some(source) = script.remove("source") else {
        return;
    };
    let Value::Object(mut source) = source else {
        errors.push(field_error(
            "tool.script.source",
            "is not a mapping",
            "write the source type as script.type (inline, local, http, gcs or s3)",
        ));
        return;
    };
    if source.remove("auth").is_some() {
        warnings.push(
            "tool.script.source.auth is ignored: the host fetches gs:// and s3:// scripts with its own credentials \
             (the fetch capability's, from the host's environment), never a step's; remove it"
                .to_string(),
        );
    }
    for (key, value) in source {
        let field = format!("tool.script.source.{key}");
        match (key.as_str(), script.contains_key(&key)) {
            ("type", false) => {
                warnings.push("tool.script.source.type is the legacy place of `script.type`; write script.type".to_string());
                script.insert(key, value);
            }
            ("type", true) => errors.push(field_error(
                &field,
                "both script.source.type and script.type are given",
                "keep only script.type",
            )),
            _ => errors.push(field_error(
                &field,
                "is not part of the script source",
                &format!("write it as script.{key}"),
            )),
        }
    }
}

fn rename(
    map: &mut Map<String, Value>,
    path: &str,
    legacy: &str,
    canonical: &str,
    warnings: &mut Vec<String>,
    errors: &mut Vec<FieldError>,
) {
    let Some(value) = map.remove(legacy) else {
        return;
    };
    if map.contains_key(canonical) {
        errors.push(field_error(
            &format!("{path}.{legacy}"),
            &format!("both `{legacy}` and `{canonical}` are given"),
            &format!("keep only {path}.{canonical}"),
        ));
        return;
    }
    warnings.push(format!("{path}.{legacy} is upstream's camelCase spelling of `{canonical}`; write {path}.{canonical}"));
    map.insert(canonical.into(), value);
}

pub fn field_error(field: &str, message: &str, fix: &str) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
        fix: fix.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn translated(config: Value) -> (Value, Result<Vec<String>, Vec<FieldError>>) {
        let mut map = config.as_object().unwrap().clone();
        let result = translate(&mut map);
        (Value::Object(map), result)
    }

    #[test]
    fn the_fixture_shape_becomes_the_canonical_one_with_a_warning_per_key() {
        let (config, result) = translated(json!({
            "kind": "script",
            "script": {"uri": "https://example.com/p.py", "source": {"type": "http", "auth": "gcs_service_account"}},
            "input": {"mode": "batch"},
            "job": {"ttlSecondsAfterFinished": 300, "backoffLimit": 3, "image": "python:3.11-slim"}
        }));
        let warnings = result.unwrap();
        assert_eq!(
            config,
            json!({
                "kind": "script",
                "script": {"uri": "https://example.com/p.py", "type": "http"},
                "args": {"mode": "batch"},
                "job": {"ttl_seconds_after_finished": 300, "backoff_limit": 3, "image": "python:3.11-slim"}
            })
        );
        for canonical in [
            "`args`",
            "script.type",
            "its own credentials",
            "tool.job.ttl_seconds_after_finished",
            "tool.job.backoff_limit",
        ] {
            assert!(
                warnings.iter().any(|w| w.contains(canonical)),
                "no warning names {canonical}: {warnings:?}"
            );
        }
        assert_eq!(warnings.len(), 5);
    }

    #[test]
    fn args_win_over_input_as_in_upstreams_worker() {
        let (config, result) = translated(json!({"args": {"a": 1}, "input": {"a": 2}}));
        assert_eq!(config, json!({"args": {"a": 1}}));
        assert!(result.unwrap()[0].contains("keep only `args`"));
    }

    #[test]
    fn a_key_given_both_ways_is_a_field_error_naming_the_canonical_key() {
        let (_, result) = translated(json!({
            "script": {"type": "http", "source": {"type": "gcs", "uri": "gs://b/x.py"}},
            "job": {"backoffLimit": 1, "backoff_limit": 2}
        }));
        let errors = result.unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "tool.script.source.type",
                "tool.script.source.uri",
                "tool.job.backoffLimit"
            ]
        );
        assert_eq!(errors[0].fix, "keep only script.type");
        assert_eq!(errors[1].fix, "write it as script.uri");
        assert_eq!(errors[2].fix, "keep only tool.job.backoff_limit");
    }
}
