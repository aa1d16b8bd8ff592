//! The JSON Schema of the `tool` object, returned by `describe` for editors and docs.

use serde_json::{Value, json};

pub fn config_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NoETL shell tool",
        "type": "object",
        "additionalProperties": false,
        "required": ["command"],
        "properties": {
            "kind": {"const": "shell"},
            "command": {
                "oneOf": [
                    {"type": "string", "description": "a command line, run with `shell -c`"},
                    {"type": "array", "items": {"type": "string"}, "minItems": 1, "description": "an exact argv, run without a shell"}
                ]
            },
            "shell": {"type": "string", "default": "sh"},
            "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}, "description": "environment variables, delivered through a Secret; a number or boolean is taken as its text"},
            "cwd": {"type": "string", "description": "absolute working directory inside the sandbox"},
            "timeout_seconds": {"type": "integer", "minimum": 1, "default": 600},
            "capture": {"type": "boolean", "default": true, "description": "return stdout and stderr"},
            "job": noetl_plugin_script::generated::job_schema()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use noetl_protocol::fields::reader::schema_lists;

    #[test]
    fn schema_lists_exactly_the_parsed_fields() {
        assert!(schema_lists(&config_schema(), &crate::config::FIELDS));
    }
}
