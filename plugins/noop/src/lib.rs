//! The NoETL `noop` tool: a step that only passes data on. Its `data` is `result` when
//! given (upstream's field), else its `args` (alias `input`), else upstream's
//! `{"status": "ok", "message": message or "noop"}`. Nothing runs: `plan` answers at once.

#[cfg(target_arch = "wasm32")]
mod component;

use serde_json::{Value, json};

use noetl_protocol::fields::reader::ObjectReader;
use noetl_protocol::fields::{Errors, FieldError};

pub(crate) const FIELDS: [&str; 5] = ["kind", "message", "result", "args", "input"];

/// The response for a noop step, or every bad field.
pub fn respond(config: &Value) -> Result<Value, Vec<FieldError>> {
    let mut errors = Errors::default();
    let Some(tool) = ObjectReader::open_tool(config, "noop", &FIELDS, &mut errors) else {
        return Err(errors.into_vec());
    };
    let message = tool.string("message", "\"nothing to do\"", &mut errors);
    let given: Vec<(&str, &Value)> = ["result", "args", "input"]
        .into_iter()
        .filter_map(|field| tool.get(field).map(|value| (field, value)))
        .collect();
    if let [(first, _), (second, _), ..] = given.as_slice() {
        errors.push(
            &format!("tool.{second}"),
            format!("both `{first}` and `{second}` are given; the step's data is one of them"),
            format!("keep one of {first} and {second}"),
        );
    }
    if !errors.is_empty() {
        return Err(errors.into_vec());
    }
    let data = match given.first() {
        Some((_, value)) => (*value).clone(),
        None => json!({"status": "ok", "message": message.as_deref().unwrap_or("noop")}),
    };
    Ok(json!({"status": "success", "data": data}))
}

pub fn config_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "NoETL noop tool",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "kind": {"const": "noop"},
            "message": {"type": "string", "description": "data is {status: ok, message} when neither result nor args is given"},
            "result": {"description": "the step's data, as given"},
            "args": {"description": "the step's data, as given (when no result)"},
            "input": {"description": "alias of args"}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_result_or_args_or_the_upstream_default() {
        let data = |config: Value| respond(&config).unwrap()["data"].clone();
        assert_eq!(
            data(json!({"kind": "noop", "args": {"a": [1, 2]}})),
            json!({"a": [1, 2]})
        );
        assert_eq!(
            data(json!({"kind": "noop", "input": "text"})),
            json!("text")
        );
        assert_eq!(data(json!({"kind": "noop", "result": 7})), json!(7));
        assert_eq!(
            data(json!({"kind": "noop"})),
            json!({"status": "ok", "message": "noop"})
        );
        assert_eq!(
            data(json!({"kind": "noop", "message": "hi"})),
            json!({"status": "ok", "message": "hi"})
        );
        assert_eq!(
            respond(&json!({"kind": "noop"})).unwrap()["status"],
            "success"
        );
    }

    #[test]
    fn bad_configs_name_the_field_and_the_fix() {
        let errors = |config: Value| respond(&config).unwrap_err();
        let e = errors(json!({"kind": "noop", "arg": 1}));
        assert_eq!(
            (e[0].field.as_str(), e[0].fix.as_str()),
            ("tool.arg", "did you mean `args`?")
        );
        let e = errors(json!({"kind": "noop", "args": 1, "input": 2}));
        assert_eq!(e[0].field, "tool.input");
        assert!(e[0].fix.contains("keep one of args and input"), "{e:?}");
        let e = errors(json!({"kind": "noop", "message": {"text": "hi"}}));
        assert_eq!(e[0].field, "tool.message");
        let e = errors(json!({"kind": "shell"}));
        assert_eq!(e[0].field, "tool.kind");
        assert_eq!(errors(json!("noop"))[0].field, "tool");
    }

    #[test]
    fn schema_lists_exactly_the_parsed_fields() {
        assert!(noetl_protocol::fields::reader::schema_lists(&config_schema(), &FIELDS));
    }
}
