//! The JSON Schema of the `tool` object, returned by `describe` for editors and docs.

use serde_json::{Value, json};

use crate::config::{DEFAULT_MAX_RESPONSE_BYTES, METHODS, RESPONSE_TYPES};

pub fn config_schema() -> Value {
    let scalars = json!({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}});
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NoETL http tool",
        "type": "object",
        "additionalProperties": false,
        "required": ["url"],
        "properties": {
            "kind": {"const": "http"},
            "url": {"type": "string", "pattern": "^https?://"},
            "method": {"enum": METHODS, "default": "GET"},
            "headers": scalars,
            "params": scalars,
            "body": {"description": "a string is sent as is; any other value as JSON"},
            "json": {"description": "sent as JSON (Content-Type: application/json)"},
            "form": scalars,
            "auth": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "type": {"enum": ["bearer", "basic", "api_key", "none"]},
                    "token": {"type": "string", "description": "bearer or api_key value, e.g. \"{{ secrets.API_TOKEN }}\""},
                    "username": {"type": "string"},
                    "password": {"type": "string"},
                    "header": {"type": "string", "default": "X-API-Key"}
                }
            },
            "timeout_seconds": {"type": "integer", "minimum": 1},
            "follow_redirects": {"type": "boolean", "default": true},
            "response_type": {"enum": RESPONSE_TYPES, "default": "json"},
            "max_response_bytes": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_RESPONSE_BYTES}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AUTH_FIELDS, FIELDS};
    use noetl_protocol::fields::reader::schema_lists;

    #[test]
    fn schema_lists_exactly_the_parsed_fields() {
        let schema = config_schema();
        assert!(schema_lists(&schema, &FIELDS));
        assert!(schema_lists(&schema["properties"]["auth"], &AUTH_FIELDS));
    }
}
