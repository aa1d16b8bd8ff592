//! The JSON Schema of the `tool` object, returned by `describe` for editors and docs.
//! The test below keeps its field lists equal to the parser's.

use serde_json::{Value, json};

pub fn config_schema() -> Value {
    let string = json!({"type": "string"});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NoETL python tool",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "kind": {"const": "python"},
            "code": {"type": "string", "description": "the Python code; its value is the `result` global, the return value of main(...), or of a top-level return"},
            "script": {
                "type": "object",
                "additionalProperties": false,
                "description": "where to read the code instead of `code`",
                "properties": {
                    "uri": {"type": "string", "description": "file path relative to the playbook (type file), gs://, s3://, or http(s):// URL"},
                    "source": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "type": {"enum": ["inline", "file", "gcs", "s3", "http"], "default": "inline"},
                            "code": string,
                            "endpoint": string,
                            "method": {"const": "GET"},
                            "timeout": {"type": "integer", "description": "accepted for upstream compatibility; the host's fetch timeout applies"},
                            "auth": {"description": "refused: the host's fetch capability brings its own credentials"}
                        }
                    }
                }
            },
            "args": {"type": "object", "description": "names and values the code receives as `args`, `input_data`, globals, and main(...) parameters"},
            "input": {"type": "object", "description": "alias of args"},
            "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}, "description": "environment variables, delivered through a Secret; a number or boolean is taken as its text"},
            "timeout_seconds": {"type": "integer", "minimum": 1, "default": 600},
            "dependencies": {"type": "array", "items": string, "description": "pip requirement specs installed before the code runs"},
            "cwd": {"type": "string", "description": "absolute working directory inside the sandbox"},
            "python": {"enum": ["python3", "python"], "description": "accepted for upstream compatibility; the interpreter is the job image's"},
            "job": noetl_plugin_script::generated::job_schema()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FIELDS, SCRIPT_FIELDS, SOURCE_FIELDS};
    use noetl_protocol::fields::reader::schema_lists;

    #[test]
    fn schema_lists_exactly_the_parsed_fields() {
        let schema = config_schema();
        assert!(schema_lists(&schema, &FIELDS));
        let script = &schema["properties"]["script"];
        assert!(schema_lists(script, &SCRIPT_FIELDS));
        assert!(schema_lists(&script["properties"]["source"], &SOURCE_FIELDS));
    }
}
