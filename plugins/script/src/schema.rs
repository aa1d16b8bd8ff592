//! The JSON Schema of the `tool` object, returned by `describe` for editors and docs.
//! The tests below keep its field lists equal to the parser's.

use serde_json::{Value, json};

pub fn config_schema() -> Value {
    let string = json!({"type": "string"});
    // Text values; a number or boolean is taken as its text (contract 0.2.0 renders a lone
    // `{{ expr }}` to its JSON type).
    let string_map = json!({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}});
    let quantity = json!({"type": ["string", "number"], "examples": ["100m", "1", "128Mi", "1Gi"]});
    let quantities = json!({"type": "object", "additionalProperties": false, "properties": {"cpu": quantity, "memory": quantity, "ephemeral-storage": quantity}});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NoETL script tool",
        "type": "object",
        "additionalProperties": false,
        "required": ["script"],
        "properties": {
            "kind": {"const": "script"},
            "script": {
                "type": "object",
                "additionalProperties": false,
                "required": ["type"],
                "properties": {
                    "type": {"enum": ["inline", "local", "http", "gcs", "s3"]},
                    "content": string,
                    "path": string,
                    "uri": string,
                    "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                    "runtime": {"enum": ["python", "node", "bash", "sh"]}
                }
            },
            "args": {"description": "any JSON value; the script receives it as JSON text in its first argument"},
            "job": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "image": {"type": "string", "default": "python:3.11-slim"},
                    "namespace": {"type": "string", "default": "noetl"},
                    "timeout": {"type": "integer", "minimum": 1, "default": 600},
                    "backoff_limit": {"type": "integer", "minimum": 0, "default": 3},
                    "ttl_seconds_after_finished": {"type": "integer", "minimum": 0, "default": 300},
                    "install_dependencies": {"type": "array", "items": string, "default": []},
                    "image_pull_policy": {"enum": ["Always", "IfNotPresent", "Never"], "default": "IfNotPresent"},
                    "resources": {"type": "object", "additionalProperties": false, "properties": {"requests": quantities, "limits": quantities}},
                    "env": string_map,
                    "labels": string_map,
                    "annotations": string_map,
                    "service_account": string,
                    "node_selector": string_map,
                    "tolerations": {"type": "array", "items": {"type": "object"}},
                    "image_pull_secrets": {"type": "array", "items": string}
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(value: &Value) -> Vec<String> {
        let mut keys: Vec<String> = value["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(fields: &[&str]) -> Vec<String> {
        let mut fields: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        fields.sort();
        fields
    }

    #[test]
    fn schema_lists_exactly_the_parsed_fields() {
        let schema = config_schema();
        assert_eq!(keys(&schema), sorted(&crate::config::TOOL_FIELDS));
        assert_eq!(
            keys(&schema["properties"]["script"]),
            sorted(&crate::config::SCRIPT_FIELDS)
        );
        assert_eq!(
            keys(&schema["properties"]["job"]),
            sorted(&crate::config::JOB_FIELDS)
        );
    }
}
